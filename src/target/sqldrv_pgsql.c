/*
 * sqldrv_pgsql.c - the SQL target's PostgreSQL driver, through libpq.
 *
 * The URL (postgresql://user@host:port/db?sslmode=...) goes to libpq as
 * it is, so every libpq URI parameter works.  There is no password key:
 * libpq takes it from PGPASSWORD, PGPASSFILE or ~/.pgpass (see
 * docs/mail-server.md), which keeps it out of the config and of `check`.
 *
 * Statements are prepared once per connection and cached by the address
 * of their text (sqldrv.h).  Parameters travel as text with types left
 * to the server, so '1'/'0' fit both a SMALLINT `active` (ours) and an
 * existing Postfixadmin BOOLEAN one; boolean results come back as '1'/'0'.
 *
 * A connection-class failure (server restarted, backend killed, network
 * gone) is retried once on a new connection, but only when no
 * transaction was open: inside one, the work done so far is lost with
 * the connection, so the call fails with a retryable error instead.
 *
 * Inside a transaction, queue() uses libpq's pipeline mode: statements go
 * out without waiting for each answer, and the answers are checked (error
 * or row count) every PG_PIPE_BATCH statements and before anything else
 * runs (COMMIT included).  A round trip per statement would otherwise
 * cost more than the server's own work on a first sync of 100k users.
 */
#include "target/sqldrv.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/thread.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/xalloc.h"

#define PG_BOOLOID 16
#define PG_TEXTOID 25
/* Statements in flight before their answers are read.  Small enough that
 * neither side's socket buffer fills while the other is still writing. */
#define PG_PIPE_BATCH 256
/* Rows per multi-row INSERT (pg_queue). */
#define PG_INSERT_ROWS 64

/* A statement sent in pipeline mode whose answer is not read yet. */
struct pg_pending {
	long want;            /* rows it must change; -1 any */
	char what[160];       /* its first parameter, for messages */
};

/* Rows of one plain INSERT statement held back to go out together. */
struct pg_batch {
	const char *sql;      /* key: the single-row statement */
	int nparams;
	char *multi;          /* owned: PG_INSERT_ROWS rows; NULL = not batched */
	char **vals;          /* owned: nrows * nparams copies (NULL = NULL) */
	size_t nrows;
	long want;            /* per row */
};

struct pg_stmt {
	const char *sql;      /* key: borrowed, outlives the connection */
	char name[24];        /* server-side prepared statement name */
};

/*
 * A deadline on every call into the server, kept by a thread of its own:
 * a stopped backend (SIGSTOP, a frozen VM) still has the kernel answer
 * TCP, so neither keepalives nor the server's statement_timeout end the
 * wait.  When a call runs past its deadline the thread shuts the socket
 * down; libpq then returns "connection lost" and the caller reports it.
 */
struct pg_watch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	bool started, stop, fired;
	int fd;                 /* the socket while armed */
	double deadline;        /* clock_seconds(); 0: disarmed */
};

struct sqldrv {
	PGconn *conn;
	long timeout;         /* statement_timeout, seconds */
	struct pg_watch w;
	char *url;            /* owned, kept for messages */
	char server[300];     /* "host:port/db" for messages */
	struct pg_stmt *stmts;
	size_t nstmts, capstmts;
	unsigned next_id;
	long changes;
	bool readonly;
	bool piped;           /* in pipeline mode (inside a transaction) */
	struct pg_pending *pend;
	size_t npend, cappend;
	struct pg_batch *batches;
	size_t nbatches, capbatches;
	bool order_known;     /* strict_order was looked up */
	bool strict_order;    /* inserts may not pass each other */
};

/*
 * Postfixadmin's tables.  active is SMALLINT so Postfix's `active=1`
 * queries work unchanged; an existing BOOLEAN column works too.  Each
 * table is created only when missing, inside one DO block: a plain
 * CREATE TABLE IF NOT EXISTS still needs CREATE on the schema, which a
 * user granted only row rights on existing Postfixadmin tables lacks
 * (PostgreSQL 15 no longer grants it on `public` by default).
 * Only the primary keys are indexed: every lookup by Postfix, Dovecot and
 * dirsync is by address, and an index on `domain` (Postfixadmin's web
 * UI lists by domain) costs a first sync of 100k users a third of its
 * time; docs/mail-server.md shows how to add it.
 */
static const char pg_ddl[] =
	"DO $dirsync$ BEGIN\n"
	"IF to_regclass('domain') IS NULL THEN\n"
	"  CREATE TABLE domain (\n"
	"    domain VARCHAR(255) PRIMARY KEY,\n"
	"    description VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    aliases INTEGER NOT NULL DEFAULT 0,\n"
	"    mailboxes INTEGER NOT NULL DEFAULT 0,\n"
	"    maxquota BIGINT NOT NULL DEFAULT 0,\n"
	"    quota BIGINT NOT NULL DEFAULT 0,\n"
	"    transport VARCHAR(255) DEFAULT NULL,\n"
	"    backupmx SMALLINT NOT NULL DEFAULT 0,\n"
	"    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    active SMALLINT NOT NULL DEFAULT 1);\n"
	"END IF;\n"
	"IF to_regclass('mailbox') IS NULL THEN\n"
	"  CREATE TABLE mailbox (\n"
	"    username VARCHAR(255) PRIMARY KEY,\n"
	"    password VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    name VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    maildir VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    quota BIGINT NOT NULL DEFAULT 0,\n"
	"    local_part VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    domain VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    active SMALLINT NOT NULL DEFAULT 1);\n"
	"END IF;\n"
	"IF to_regclass('alias') IS NULL THEN\n"
	"  CREATE TABLE alias (\n"
	"    address VARCHAR(255) PRIMARY KEY,\n"
	"    goto TEXT NOT NULL,\n"
	"    domain VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    active SMALLINT NOT NULL DEFAULT 1);\n"
	"END IF;\n"
	"IF to_regclass('alias_domain') IS NULL THEN\n"
	"  CREATE TABLE alias_domain (\n"
	"    alias_domain VARCHAR(255) PRIMARY KEY,\n"
	"    target_domain VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    active SMALLINT NOT NULL DEFAULT 1);\n"
	"END IF;\n"
	"END $dirsync$;\n";

/* Copies at most one line of libpq's message, without the trailing
 * newline and the "ERROR:  " / "FATAL:  " prefixes. */
static void
pg_oneline(char *dst, size_t len, const char *msg)
{
	const char *p = msg ? msg : "";
	size_t n;

	/* connect errors read "connection to server at ... failed: FATAL:
	 * ..."; keep the part that says why */
	for (;;) {
		const char *f = strstr(p, "FATAL:  ");

		if (f == NULL)
			f = strstr(p, "ERROR:  ");
		if (f == NULL)
			break;
		p = f + 8;
	}
	/* "connection to server at "h", port N failed: why": the server
	 * is named elsewhere in the message */
	if (strncmp(p, "connection to server ", 21) == 0 &&
	    strstr(p, " failed: ") != NULL)
		p = strstr(p, " failed: ") + 9;
	n = strcspn(p, "\n");
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r'))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

static void
pg_set_server(struct sqldrv *db)
{
	const char *host = PQhost(db->conn);
	const char *port = PQport(db->conn);
	const char *name = PQdb(db->conn);

	snprintf(db->server, sizeof(db->server), "%s%s%s/%s",
		 host && *host ? host : "localhost",
		 port && *port ? ":" : "", port ? port : "",
		 name ? name : "");
}

/* Quoted-string contents between the first pair of '"' in msg. */
static void
pg_quoted(char *dst, size_t len, const char *msg)
{
	const char *a = msg ? strchr(msg, '"') : NULL;
	const char *b = a ? strchr(a + 1, '"') : NULL;
	size_t n;

	if (a == NULL || b == NULL) {
		snprintf(dst, len, "?");
		return;
	}
	n = (size_t)(b - a - 1);
	if (n >= len)
		n = len - 1;
	memcpy(dst, a + 1, n);
	dst[n] = '\0';
}

/*
 * "No password supplied": which password file libpq read, the line it
 * looked for and why it found none.  libpq's rules (PostgreSQL docs
 * 34.16, The Password File): PGPASSFILE, else ~/.pgpass ($HOME, else the
 * passwd entry); lines hostname:port:database:username:password, where a
 * Unix-socket connection matches "localhost"; a file group or others can
 * read is ignored (with a warning on stderr).
 */
static int
pg_no_password(struct sqldrv *db, struct err *err)
{
	const char *user = PQuser(db->conn), *host = PQhost(db->conn);
	const char *file = getenv("PGPASSFILE"), *from = "PGPASSFILE";
	char path[PATH_MAX], why[96];
	struct passwd *pw;
	struct stat st;

	if (file == NULL || *file == '\0') {
		const char *home = getenv("HOME");

		if ((home == NULL || *home == '\0') &&
		    (pw = getpwuid(geteuid())) != NULL)
			home = pw->pw_dir;
		snprintf(path, sizeof(path), "%s/.pgpass", home ? home : "~");
		file = path;
		from = "PGPASSFILE is not set";
	}
	if (host == NULL || *host == '\0' || host[0] == '/')
		host = "localhost"; /* a Unix socket */
	if (stat(file, &st) != 0)
		snprintf(why, sizeof(why), "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, sizeof(why), "not a regular file");
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		snprintf(why, sizeof(why), "ignored by libpq: group or others "
			 "may read it (chmod 600)");
	else
		snprintf(why, sizeof(why), "no line matches");
	return err_set(err, DS_E_AUTH,
		       "the server wants a password for user %s and none was "
		       "found: set PGPASSWORD, or add the line "
		       "%s:%s:%s:%s:PASSWORD to %s (%s; mode 0600): %s",
		       user ? user : "?", host, PQport(db->conn),
		       PQdb(db->conn), user ? user : "?", file, from, why);
}

/*
 * A failed connection: libpq gives no SQLSTATE before the session
 * exists, so the server's (English) wording is matched to pick the code
 * and a hint; the server's own line always follows.
 */
static int
pg_connect_error(struct sqldrv *db, struct err *err)
{
	const char *m = PQerrorMessage(db->conn);
	char line[400], what[128];
	const char *user = PQuser(db->conn);

	pg_set_server(db);
	pg_oneline(line, sizeof(line), m);
	err_where(err, "connect");
	err_object(err, db->server);
	if (PQconnectionNeedsPassword(db->conn))
		return pg_no_password(db, err);
	if (strstr(m, "database \"") && strstr(m, "does not exist")) {
		pg_quoted(what, sizeof(what), strstr(m, "database \""));
		return err_set(err, DS_E_TARGET,
			       "database %s does not exist on %s:%s; create "
			       "it with: createdb -h %s -p %s -O %s %s",
			       what, PQhost(db->conn), PQport(db->conn),
			       PQhost(db->conn), PQport(db->conn),
			       user ? user : "USER", what);
	}
	if (strstr(m, "no pg_hba.conf entry") && strstr(m, "no encryption"))
		return err_set(err, DS_E_TLS,
			       "the server accepts user %s only over TLS: add "
			       "sslmode=verify-full&sslrootcert=CA-FILE to the "
			       "URL (%s)", user ? user : "?", line);
	if (strstr(m, "password authentication failed") ||
	    strstr(m, "authentication failed") ||
	    strstr(m, "no pg_hba.conf entry") ||
	    (strstr(m, "role \"") && strstr(m, "does not exist")))
		return err_set(err, DS_E_AUTH,
			       "authentication failed for user %s: %s",
			       user ? user : "?", line);
	if (strstr(m, "SSL") || strstr(m, "certificate"))
		return err_set(err, DS_E_TLS, "TLS: %s", line);
	return err_set(err, DS_E_CONNECT, "cannot connect: %s", line);
}

/*
 * Every wait is bounded (issue 13), so a sync never hangs holding the run
 * lock:
 *  - lock_timeout 10 s, as SQLite's busy timeout: a row or table lock
 *    held by another session fails the statement with SQLSTATE 55P03;
 *  - statement_timeout ([target] statement_timeout, default 300 s): a
 *    statement the server runs for longer fails with 57014;
 *  - TCP keepalives after 10 s idle, every 5 s, 3 probes, and
 *    tcp_user_timeout 30 s: a host gone or a network cut is seen within
 *    about 30 s (libpq's connection parameters, PostgreSQL docs 34.1.2);
 *  - connect_timeout 10 s;
 *  - a backend that stops answering altogether (stopped, frozen) is cut
 *    off by the watchdog PG_WATCH_GRACE seconds after statement_timeout.
 * The transaction is rolled back by the server in each case: nothing is
 * applied.  Values in the URL come later and win (an "options=" in the
 * URL replaces ours entirely).
 */
#define PG_LOCK_TIMEOUT "10s"
#define PG_WATCH_GRACE 10

/*
 * The server's notices: a NOTICE ("relation ... already exists,
 * skipping" from our CREATE TABLE IF NOT EXISTS) is for -v only; a
 * WARNING reaches the log.  libpq's default prints both to stderr, which
 * is a cron mail every run.
 */
static void
pg_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	(void)arg;
	if (msg == NULL)
		return;
	if (sev != NULL && strcmp(sev, "WARNING") == 0)
		log_warn("PostgreSQL: %s", msg);
	else
		log_debug("PostgreSQL %s: %s", sev != NULL ? sev : "notice",
			  msg);
}

static int
pg_connect(struct sqldrv *db, struct err *err)
{
	/* Defaults first: values in the URL come later and win. */
	const char *const keys[] = {
		"connect_timeout", "fallback_application_name",
		"client_encoding", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"options", "password", "dbname", NULL,
	};
	/* PGPASSWORD was taken out of the environment (util/secret.h) */
	const char *pw = secret_env("PGPASSWORD");
	char opts[160];
	const char *vals[] = {
		"10", "dirsync", "UTF8", "1", "10", "5", "3", "30000",
		opts, pw, db->url, NULL,
	};

	/* plan, test: the server itself refuses any write (kept by PQreset) */
	snprintf(opts, sizeof(opts),
		 "-c lock_timeout=%s -c statement_timeout=%lds%s",
		 PG_LOCK_TIMEOUT, db->timeout,
		 db->readonly ? " -c default_transaction_read_only=on" : "");
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL)
		return err_set(err, DS_E_NOMEM, "libpq: out of memory");
	if (PQstatus(db->conn) != CONNECTION_OK)
		return pg_connect_error(db, err);
	PQsetNoticeReceiver(db->conn, pg_notice, NULL);
	pg_set_server(db);
	return 0;
}

static void *
pg_watch_main(void *arg)
{
	struct pg_watch *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		struct timespec ts;

		if (w->deadline > 0 && clock_seconds() >= w->deadline &&
		    !w->fired) {
			shutdown(w->fd, SHUT_RDWR);
			w->fired = true;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Arms the watchdog for one call into the server. */
static void
pg_watch_arm(struct sqldrv *db)
{
	struct pg_watch *w = &db->w;

	if (!w->started) {
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		if (thread_spawn(&w->th, pg_watch_main, w) != 0) {
			pthread_cond_destroy(&w->cv);
			pthread_mutex_destroy(&w->mu);
			return;     /* no thread: the server-side bounds only */
		}
		w->started = true;
	}
	pthread_mutex_lock(&w->mu);
	w->fd = PQsocket(db->conn);
	w->fired = false;
	w->deadline = clock_seconds() + (double)db->timeout + PG_WATCH_GRACE;
	pthread_mutex_unlock(&w->mu);
}

/* Disarms it; when it fired, err says so (the call failed meanwhile). */
static int
pg_watch_disarm(struct sqldrv *db, int rc, struct err *err)
{
	struct pg_watch *w = &db->w;
	bool fired;

	if (!w->started)
		return rc;
	pthread_mutex_lock(&w->mu);
	w->deadline = 0;
	fired = w->fired;
	w->fired = false;
	pthread_mutex_unlock(&w->mu);
	if (!fired || rc == 0)
		return rc;      /* done just in time: the next call fails */
	err->code = DS_OK;
	err_where(err, "statement");
	err_object(err, db->server);
	return err_set(err, DS_E_TARGET,
		       "no answer from the server within statement_timeout "
		       "(%lds) + %ds: the connection was closed; the server "
		       "rolls the transaction back, nothing applied (a "
		       "stopped or frozen backend?)",
		       db->timeout, PG_WATCH_GRACE);
}

static void
pg_watch_stop(struct sqldrv *db)
{
	struct pg_watch *w = &db->w;

	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->started = false;
}

static void
pg_forget_statements(struct sqldrv *db)
{
	db->nstmts = 0;
}

static void pg_close(struct sqldrv *db);

/* True when none of the Postfixadmin tables exists yet. */
static bool
pg_no_tables(struct sqldrv *db)
{
	PGresult *res = PQexec(db->conn,
			       "SELECT to_regclass('domain') IS NULL AND"
			       " to_regclass('mailbox') IS NULL AND"
			       " to_regclass('alias') IS NULL");
	bool none = PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';

	PQclear(res);
	return none;
}

static int
pg_open(struct sqldrv **out, const char *url, const struct conf *conf,
	bool readonly, struct err *err)
{
	struct sqldrv *db;

	*out = NULL;
	db = xcalloc(1, sizeof(*db));
	db->timeout = conf != NULL && conf->target.statement_timeout > 0
			      ? conf->target.statement_timeout
			      : 300;
	db->url = xstrdup(url);
	db->readonly = readonly;
	snprintf(db->server, sizeof(db->server), "%s", url);
	if (pg_connect(db, err) < 0)
		goto fail;
	if (readonly && pg_no_tables(db)) {
		/* nothing synced into this database yet: reads as empty */
		pg_close(db);
		return 0;
	}
	*out = db;
	return 0;
fail:
	PQfinish(db->conn);
	free(db->url);
	free(db);
	return -1;
}

static void pg_batch_clear(struct pg_batch *b);

static void
pg_close(struct sqldrv *db)
{
	size_t i;

	if (db == NULL)
		return;
	pg_watch_stop(db);
	PQfinish(db->conn);
	for (i = 0; i < db->nbatches; i++) {
		pg_batch_clear(&db->batches[i]);
		free(db->batches[i].vals);
		free(db->batches[i].multi);
	}
	free(db->batches);
	free(db->stmts);
	free(db->pend);
	free(db->url);
	free(db);
}

static bool
pg_sqlstate_is(const PGresult *res, const char *prefix)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return st != NULL && strncmp(st, prefix, strlen(prefix)) == 0;
}

/* Is the failure about the connection rather than the statement? */
static bool
pg_conn_failed(struct sqldrv *db, const PGresult *res)
{
	if (PQstatus(db->conn) == CONNECTION_BAD)
		return true;
	/* class 08, and 57P01..03: the server ended or refused the session */
	return pg_sqlstate_is(res, "08") || pg_sqlstate_is(res, "57P0");
}

/*
 * A statement failed: SQLSTATE picks the code; the server's message is
 * kept whole so a caller naming table and column reads clearly.
 */
static int
pg_stmt_why(struct sqldrv *db, PGresult *res, bool in_tx, struct err *err)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *prim = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			       : NULL;
	const char *detail = res ? PQresultErrorField(res,
						      PG_DIAG_MESSAGE_DETAIL)
				 : NULL;
	const char *user = PQuser(db->conn);
	char line[400], what[128];

	if (prim == NULL) {
		pg_oneline(line, sizeof(line), PQerrorMessage(db->conn));
		prim = line;
	}
	err->lib_rc = res ? (long)PQresultStatus(res) : -1;
	if (st == NULL)
		st = "";
	if (pg_conn_failed(db, res)) {
		if (in_tx)
			return err_set(err, DS_E_TARGET,
				       "connection lost inside the "
				       "transaction, which the server rolls "
				       "back; the next run retries: %s (%s)",
				       prim, db->server);
		return err_set(err, DS_E_CONNECT, "connection lost: %s (%s)",
			       prim, db->server);
	}
	if (strcmp(st, "42501") == 0) {
		if (strstr(prim, "for schema"))
			return err_set(err, DS_E_TARGET,
				       "%s (user %s); create the tables as "
				       "the database owner, or: GRANT CREATE "
				       "ON SCHEMA public TO %s", prim,
				       user ? user : "?", user ? user : "?");
		if (strstr(prim, "for table ")) {
			snprintf(what, sizeof(what), "%s",
				 strstr(prim, "for table ") + 10);
			return err_set(err, DS_E_TARGET,
				       "permission denied on table %s for "
				       "user %s; GRANT SELECT, INSERT, UPDATE, "
				       "DELETE ON domain, mailbox, alias, "
				       "alias_domain TO %s",
				       what, user ? user : "?",
				       user ? user : "?");
		}
		return err_set(err, DS_E_TARGET, "%s (user %s, SQLSTATE 42501)",
			       prim, user ? user : "?");
	}
	if (strncmp(st, "28", 2) == 0)
		return err_set(err, DS_E_AUTH, "%s", prim);
	if (strcmp(st, "55P03") == 0)
		return err_set(err, DS_E_TARGET,
			       "another session holds a lock dirsync needs "
			       "(waited lock_timeout = %s; SQLSTATE 55P03): "
			       "rolled back; the next run retries (%s)",
			       PG_LOCK_TIMEOUT, db->server);
	if (strcmp(st, "57014") == 0)
		return err_set(err, DS_E_TARGET,
			       "%s (statement_timeout = %lds, SQLSTATE 57014): "
			       "rolled back; the next run retries (%s)",
			       prim, db->timeout, db->server);
	/* undefined table/column, wrong type: the schema is not ours */
	if (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0 ||
	    strcmp(st, "42804") == 0 || strcmp(st, "42883") == 0)
		return err_set(err, DS_E_SCHEMA, "%s", prim);
	if (detail != NULL)
		return err_set(err, DS_E_TARGET, "%s: %s (SQLSTATE %s)", prim,
			       detail, st);
	return err_set(err, DS_E_TARGET, "%s (SQLSTATE %s)", prim, st);
}

/*
 * pg_stmt_why(), and the server ("host:port/db") after the message when
 * it does not name it yet: every statement error says which database
 * refused, as the SQLite driver names its file.
 */
static int
pg_stmt_error(struct sqldrv *db, PGresult *res, bool in_tx, struct err *err)
{
	int rc = pg_stmt_why(db, res, in_tx, err);
	size_t n = strlen(err->msg);

	if (strstr(err->msg, db->server) == NULL && n + 1 < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, " (%s)",
			 db->server);
	return rc;
}

/* Replaces a dead connection.  Prepared statements died with it. */
static int
pg_reconnect(struct sqldrv *db, struct err *err)
{
	pg_forget_statements(db);
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK)
		return pg_connect_error(db, err);
	return 0;
}

static struct pg_stmt *
pg_stmt_find(struct sqldrv *db, const char *sql)
{
	size_t i;

	for (i = 0; i < db->nstmts; i++)
		if (db->stmts[i].sql == sql)
			return &db->stmts[i];
	return NULL;
}

/* Returns the cached statement, preparing it first when needed; NULL
 * with res_out set to the failed result (caller clears) on error. */
static struct pg_stmt *
pg_prepare(struct sqldrv *db, const char *sql, int nparams,
	   PGresult **res_out)
{
	struct pg_stmt *s = pg_stmt_find(db, sql);
	bool in_tx = PQtransactionStatus(db->conn) == PQTRANS_INTRANS;
	PGresult *res = NULL;
	Oid *types = NULL;
	char name[24];
	int attempt;

	*res_out = NULL;
	if (s != NULL)
		return s;
	snprintf(name, sizeof(name), "ds_%u", db->next_id++);
	/*
	 * The server infers each parameter's type from where it is used.
	 * One used both as a VARCHAR and a TEXT ("SET address = $2, goto =
	 * CASE ... THEN $2") is refused with 42P08; that parameter is then
	 * declared TEXT, which assigns to either.  Inside a transaction a
	 * savepoint keeps the refusal from aborting it.
	 */
	for (attempt = 0; attempt <= nparams; attempt++) {
		const char *st, *dollar;
		long k;

		if (in_tx)
			PQclear(PQexec(db->conn, "SAVEPOINT ds_prepare"));
		res = PQprepare(db->conn, name, sql, nparams, types);
		if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK)
			break;
		if (in_tx)
			PQclear(PQexec(db->conn,
				       "ROLLBACK TO SAVEPOINT ds_prepare"));
		st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		dollar = res ? strchr(PQresultErrorMessage(res), '$') : NULL;
		k = dollar ? strtol(dollar + 1, NULL, 10) : 0;
		if (st == NULL || strcmp(st, "42P08") != 0 || k < 1 ||
		    k > nparams || (types != NULL && types[k - 1] == PG_TEXTOID))
			break;
		if (types == NULL)
			types = xcalloc((size_t)nparams, sizeof(*types));
		types[k - 1] = PG_TEXTOID;
		PQclear(res);
		res = NULL;
	}
	free(types);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		*res_out = res;
		return NULL;
	}
	PQclear(res);
	if (in_tx)
		PQclear(PQexec(db->conn, "RELEASE SAVEPOINT ds_prepare"));
	db->stmts = xgrow(db->stmts, &db->capstmts, db->nstmts + 1,
			  sizeof(*db->stmts));
	s = &db->stmts[db->nstmts++];
	s->sql = sql;
	snprintf(s->name, sizeof(s->name), "%s", name);
	return s;
}

static bool
pg_result_ok(const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Row callbacks; booleans normalised to '1'/'0'.  Returns 0/-1. */
static int
pg_rows(PGresult *res, sqldrv_row_cb cb, void *ctx, struct err *err)
{
	int nrows = PQntuples(res), ncols = PQnfields(res);
	const char *small[32];
	const char **cols = small;
	int r, c, rc = 0;

	if (cb == NULL || nrows == 0)
		return 0;
	if (ncols > 32)
		cols = xcalloc((size_t)ncols, sizeof(*cols));
	for (r = 0; r < nrows && rc == 0; r++) {
		for (c = 0; c < ncols; c++) {
			const char *v;

			if (PQgetisnull(res, r, c)) {
				cols[c] = NULL;
				continue;
			}
			v = PQgetvalue(res, r, c);
			if (PQftype(res, c) == PG_BOOLOID)
				v = (v[0] == 't') ? "1" : "0";
			cols[c] = v;
		}
		if (cb(ctx, ncols, cols) < 0) {
			if (err != NULL && err->code == DS_OK)
				err_set(err, DS_E_INTERNAL,
					"row callback failed");
			rc = -1;
		}
	}
	if (cols != small)
		free(cols);
	return rc;
}

static void
pg_note_changes(struct sqldrv *db, PGresult *res)
{
	const char *n = PQcmdTuples(res);
	char *end;
	long v;

	errno = 0;
	v = strtol(n, &end, 10);
	db->changes = (errno == 0 && end != n && *end == '\0') ? v : 0;
}

/* Only a session without an open transaction may be silently replaced. */
static bool
pg_may_retry(struct sqldrv *db)
{
	return PQtransactionStatus(db->conn) == PQTRANS_IDLE;
}

/* Names the queued statement an error belongs to, after the message. */
static void
pg_blame(struct err *err, const struct pg_pending *p)
{
	size_t n = strlen(err->msg);

	if (p->what[0] != '\0' && n + 1 < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n,
			 " [statement for %s]", p->what);
}

static void
pg_pend_push(struct sqldrv *db, long want, const char *what, size_t rows)
{
	struct pg_pending *p;

	db->pend = xgrow(db->pend, &db->cappend, db->npend + 1,
			 sizeof(*db->pend));
	p = &db->pend[db->npend++];
	p->want = want;
	if (rows > 1)
		snprintf(p->what, sizeof(p->what), "%.100s and %zu more rows",
			 what ? what : "?", rows - 1);
	else
		snprintf(p->what, sizeof(p->what), "%s", what ? what : "");
}

/*
 * Sends one statement, prepared beforehand (pg_queue), in pipeline mode;
 * its answer is read by pg_pipe_drain.  Returns 0, or -1 when libpq
 * could not send (the connection is gone); err is not set then.
 */
static int
pg_send(struct sqldrv *db, const char *sql, int nparams,
	const char *const *params, long want, size_t rows)
{
	struct pg_stmt *s = pg_stmt_find(db, sql);
	const char *what = nparams > 0 ? params[0] : NULL;

	if (s == NULL ||
	    !PQsendQueryPrepared(db->conn, s->name, nparams, params, NULL,
				 NULL, 0))
		return -1;
	pg_pend_push(db, want, what, rows);
	return 0;
}

/*
 * "INSERT INTO t (...) VALUES (tuple)" with nothing after the tuple
 * becomes the same with PG_INSERT_ROWS tuples, parameters renumbered
 * ($1 of row k is $(1 + k * nparams)).  Returns NULL for any other form.
 */
static char *
pg_multi_insert(const char *sql, int nparams)
{
	const char *v, *tuple, *end, *p;
	struct buf b = BUF_INIT;
	int k;

	if (nparams <= 0 || nparams * PG_INSERT_ROWS > 60000 ||
	    strncasecmp(sql, "INSERT INTO ", 12) != 0)
		return NULL;
	v = strcasestr(sql, " VALUES (");
	if (v == NULL)
		return NULL;
	tuple = v + 8;
	end = tuple + strlen(tuple);
	while (end > tuple && (end[-1] == ' ' || end[-1] == '\n'))
		end--;
	if (end - tuple < 2 || end[-1] != ')' || strchr(tuple, ';'))
		return NULL;
	buf_add(&b, sql, (size_t)(tuple - sql));
	for (k = 0; k < PG_INSERT_ROWS; k++) {
		bool quoted = false;

		if (k > 0)
			buf_adds(&b, ", ");
		for (p = tuple; p < end; p++) {
			if (*p == '\'')
				quoted = !quoted;
			if (!quoted && *p == '$' && p[1] >= '0' && p[1] <= '9') {
				char *num_end;
				long n = strtol(p + 1, &num_end, 10);

				if (n < 1 || n > nparams) {
					buf_free(&b);
					return NULL;
				}
				buf_printf(&b, "$%ld", n + (long)k * nparams);
				p = num_end - 1;
				continue;
			}
			buf_addc(&b, *p);
		}
	}
	return buf_steal(&b);
}

/* The row accumulator for sql, or NULL when sql is not a plain INSERT. */
static struct pg_batch *
pg_batch_get(struct sqldrv *db, const char *sql, int nparams)
{
	struct pg_batch *b;
	size_t i;

	for (i = 0; i < db->nbatches; i++)
		if (db->batches[i].sql == sql)
			return db->batches[i].multi ? &db->batches[i] : NULL;
	db->batches = xgrow(db->batches, &db->capbatches, db->nbatches + 1,
			    sizeof(*db->batches));
	b = &db->batches[db->nbatches++];
	memset(b, 0, sizeof(*b));
	b->sql = sql;
	b->nparams = nparams;
	b->multi = pg_multi_insert(sql, nparams);
	if (b->multi == NULL)
		return NULL;
	b->vals = xcalloc((size_t)nparams * PG_INSERT_ROWS, sizeof(char *));
	return b;
}

static void
pg_batch_clear(struct pg_batch *b)
{
	size_t i;

	for (i = 0; i < b->nrows * (size_t)b->nparams; i++) {
		free(b->vals[i]);
		b->vals[i] = NULL;
	}
	b->nrows = 0;
}

/* Sends the rows held for b: one multi-row INSERT when full, else one
 * statement per row.  Returns 0 or -1 (connection gone). */
static int
pg_batch_send(struct sqldrv *db, struct pg_batch *b)
{
	size_t r;
	int rc = 0;

	if (b->nrows == PG_INSERT_ROWS) {
		rc = pg_send(db, b->multi, b->nparams * PG_INSERT_ROWS,
			     (const char *const *)b->vals,
			     b->want >= 0 ? b->want * PG_INSERT_ROWS : -1,
			     b->nrows);
	} else {
		for (r = 0; r < b->nrows && rc == 0; r++)
			rc = pg_send(db, b->sql, b->nparams,
				     (const char *const *)b->vals +
					     r * (size_t)b->nparams,
				     b->want, 1);
	}
	pg_batch_clear(b);
	return rc;
}

/* Sends (or, discard: drops) every row held back, but keep's. */
static int
pg_batches_flush(struct sqldrv *db, bool discard, const struct pg_batch *keep)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < db->nbatches; i++) {
		if (db->batches[i].nrows == 0 || &db->batches[i] == keep)
			continue;
		if (discard || rc != 0)
			pg_batch_clear(&db->batches[i]);
		else
			rc = pg_batch_send(db, &db->batches[i]);
	}
	return rc;
}

/*
 * Reads the answers to every queued statement, up to a sync point.
 * Returns 0, or -1 with err describing the first failure (a statement's
 * error or a wrong row count); all answers are consumed either way.
 */
static int
pg_pipe_drain(struct sqldrv *db, struct err *err)
{
	size_t k = 0;
	int rc = 0;

	if (!db->piped)
		return 0;
	if (pg_batches_flush(db, false, NULL) != 0)
		rc = pg_stmt_error(db, NULL, true, err);
	if (db->npend == 0)
		return rc;
	if (!PQpipelineSync(db->conn)) {
		db->npend = 0;
		return rc ? rc : pg_stmt_error(db, NULL, true, err);
	}
	for (;;) {
		PGresult *res = PQgetResult(db->conn);
		ExecStatusType st;

		if (res == NULL) {
			/* the end of one statement's answer */
			if (PQstatus(db->conn) == CONNECTION_BAD) {
				if (rc == 0)
					rc = pg_stmt_error(db, NULL, true, err);
				break;
			}
			if (++k > db->npend + 1) {
				if (rc == 0)
					rc = err_set(err, DS_E_INTERNAL,
						     "pipeline out of step");
				break;
			}
			continue;
		}
		st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (rc == 0 && k < db->npend) {
			const struct pg_pending *p = &db->pend[k];

			if (st == PGRES_PIPELINE_ABORTED) {
				/* follows an error already reported */
			} else if (!pg_result_ok(res)) {
				rc = pg_stmt_error(db, res, true, err);
				pg_blame(err, p);
			} else if (p->want >= 0) {
				pg_note_changes(db, res);
				if (db->changes != p->want) {
					rc = err_set(err, DS_E_TARGET,
						     "expected %ld row(s) "
						     "changed, got %ld: the row "
						     "changed under us; nothing "
						     "applied (%s)", p->want,
						     db->changes, db->server);
					pg_blame(err, p);
				}
			}
		}
		PQclear(res);
	}
	db->npend = 0;
	return rc;
}

/* Back to one statement at a time, after reading every queued answer
 * (discard: rows still held back are dropped, for a ROLLBACK). */
static int
pg_pipe_leave(struct sqldrv *db, bool discard, struct err *err)
{
	int rc;

	if (!db->piped)
		return 0;
	pg_batches_flush(db, discard, NULL);
	rc = pg_pipe_drain(db, err);
	if (PQexitPipelineMode(db->conn))
		db->piped = false;
	else if (rc == 0)
		rc = err_set(err, DS_E_INTERNAL, "cannot leave pipeline mode: "
			     "%s", PQerrorMessage(db->conn));
	return rc;
}

/* One statement, its answer checked now: outside a transaction. */
static int pg_query(struct sqldrv *db, const char *sql, int nparams,
		    const char *const *params, sqldrv_row_cb cb, void *ctx,
		    struct err *err);

static int
pg_query_now(struct sqldrv *db, const char *sql, int nparams,
	     const char *const *params, long want, struct err *err)
{
	if (pg_query(db, sql, nparams, params, NULL, NULL, err) != 0)
		return -1;
	if (want >= 0 && db->changes != want)
		return err_set(err, DS_E_TARGET,
			       "expected %ld row(s) changed, got %ld: the "
			       "row changed under us; nothing applied (%s)",
			       want, db->changes, db->server);
	return 0;
}

/*
 * Whether inserts into different tables must keep their order: when a
 * foreign key or a trigger of someone else's schema (Postfixadmin's
 * `domain` references) ties the tables together.  dirsync's own schema
 * has neither (its change counter's trigger, sql_changes.c, counts a
 * transaction once, whatever the order).
 */
static bool
pg_order_matters(struct sqldrv *db)
{
	static const char q[] =
		"WITH t(oid) AS (SELECT to_regclass(n) FROM (VALUES"
		" ('domain'), ('mailbox'), ('alias'), ('alias_domain')) v(n))"
		" SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f'"
		"  AND (conrelid IN (SELECT oid FROM t)"
		"       OR confrelid IN (SELECT oid FROM t)))"
		" OR EXISTS (SELECT 1 FROM pg_trigger WHERE NOT tgisinternal"
		"  AND tgname <> 'dirsync_chg' AND tgrelid IN (SELECT oid FROM t))";
	PGresult *res = PQexec(db->conn, q);
	/* when in doubt, keep the order */
	bool strict = PQresultStatus(res) != PGRES_TUPLES_OK ||
		      PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 'f';

	PQclear(res);
	return strict;
}

/*
 * Rows for a plain INSERT are held back and go out PG_INSERT_ROWS at a
 * time as one statement; anything else first sends what is held back, so
 * every statement still sees the ones queued before it.  Only INSERTs of
 * different statements may pass each other, and inserts of distinct keys
 * commute: the outcome is the same, only which duplicate is reported
 * first could differ.  Where foreign keys or triggers make the order
 * matter (pg_order_matters), a statement's rows are sent before another
 * statement's rows are taken: batches then only form from runs of the
 * same statement.
 */
static int
pg_queue(struct sqldrv *db, const char *sql, int nparams,
	 const char *const *params, long want, struct err *err)
{
	struct pg_batch *b;
	int i, rc;

	if (!db->piped) {
		/* only a transaction's work is worth pipelining; failing
		 * to enter the mode just costs the round trips */
		if (PQtransactionStatus(db->conn) != PQTRANS_INTRANS)
			return pg_query_now(db, sql, nparams, params, want,
					    err);
		if (!db->order_known) {
			db->strict_order = pg_order_matters(db);
			db->order_known = true;
		}
		if (!PQenterPipelineMode(db->conn))
			return pg_query_now(db, sql, nparams, params, want,
					    err);
		db->piped = true;
	}
	b = pg_batch_get(db, sql, nparams);
	if (pg_stmt_find(db, sql) == NULL ||
	    (b != NULL && pg_stmt_find(db, b->multi) == NULL)) {
		/* a new statement: prepared on its own, its errors seen now */
		PGresult *res;

		if (pg_pipe_leave(db, false, err) != 0)
			return -1;
		if (pg_prepare(db, sql, nparams, &res) == NULL ||
		    (b != NULL &&
		     pg_prepare(db, b->multi, nparams * PG_INSERT_ROWS,
				&res) == NULL)) {
			pg_stmt_error(db, res, true, err);
			PQclear(res);
			return -1;
		}
		if (!PQenterPipelineMode(db->conn))
			return pg_query_now(db, sql, nparams, params, want,
					    err);
		db->piped = true;
	}
	if (b != NULL && b->nrows > 0 && b->want != want)
		rc = pg_batch_send(db, b);
	else if (b == NULL || db->strict_order)
		rc = pg_batches_flush(db, false, b);
	else
		rc = 0;
	if (rc == 0 && b != NULL) {
		for (i = 0; i < nparams; i++)
			b->vals[b->nrows * (size_t)nparams + (size_t)i] =
				params[i] ? xstrdup(params[i]) : NULL;
		b->nrows++;
		b->want = want;
		if (b->nrows == PG_INSERT_ROWS)
			rc = pg_batch_send(db, b);
	} else if (rc == 0) {
		rc = pg_send(db, sql, nparams, params, want, 1);
	}
	if (rc != 0) {
		struct err first;

		/* an earlier statement's failure explains this one best */
		err_clear(&first);
		if (pg_pipe_drain(db, &first) != 0) {
			err->code = first.code;
			err->lib_rc = first.lib_rc;
			memcpy(err->msg, first.msg, sizeof(err->msg));
			return -1;
		}
		return pg_stmt_error(db, NULL, true, err);
	}
	if (db->npend >= PG_PIPE_BATCH)
		return pg_pipe_drain(db, err);
	return 0;
}

static int
pg_exec(struct sqldrv *db, const char *sql, struct err *err)
{
	PGresult *res;
	bool retry;
	int attempt;

	if (db->piped) {
		struct err scratch;

		/* a ROLLBACK goes ahead whatever the queued work said */
		err_clear(&scratch);
		bool rollback = strcmp(sql, "ROLLBACK") == 0;

		if (pg_pipe_leave(db, rollback, rollback ? &scratch : err) !=
			    0 &&
		    !rollback)
			return -1;
	}
	retry = pg_may_retry(db);

	for (attempt = 0;; attempt++) {
		res = PQexec(db->conn, sql);
		if (pg_result_ok(res)) {
			pg_note_changes(db, res);
			PQclear(res);
			return 0;
		}
		if (attempt == 0 && retry && pg_conn_failed(db, res)) {
			PQclear(res);
			if (pg_reconnect(db, err) < 0)
				return -1;
			continue;
		}
		break;
	}
	pg_stmt_error(db, res, !retry, err);
	PQclear(res);
	return -1;
}

/*
 * A query whose rows go to a callback, one row at a time (libpq's
 * single-row mode): loading 400k alias rows then costs no more memory
 * than one row.  Retried on a new connection only when no row was handed
 * out yet.
 */
static int
pg_query_rows(struct sqldrv *db, const char *sql, int nparams,
	      const char *const *params, sqldrv_row_cb cb, void *ctx,
	      bool retry, struct err *err)
{
	int attempt;

	for (attempt = 0;; attempt++) {
		PGresult *res = NULL, *failed = NULL;
		struct pg_stmt *s = pg_prepare(db, sql, nparams, &failed);
		long rows = 0;
		int rc = 0;

		if (s != NULL) {
			if (PQsendQueryPrepared(db->conn, s->name, nparams,
						params, NULL, NULL, 0))
				PQsetSingleRowMode(db->conn);
			else
				s = NULL;
		}
		/* read every result, even after a failure, to stay in step */
		while (s != NULL && (res = PQgetResult(db->conn)) != NULL) {
			ExecStatusType st = PQresultStatus(res);

			if (st == PGRES_SINGLE_TUPLE) {
				if (rc == 0 && failed == NULL)
					rc = pg_rows(res, cb, ctx, err);
				rows++;
			} else if (st != PGRES_TUPLES_OK &&
				   st != PGRES_COMMAND_OK && failed == NULL) {
				failed = res;
				continue;
			}
			PQclear(res);
		}
		if (failed == NULL && s != NULL) {
			db->changes = rows;
			return rc;
		}
		if (attempt == 0 && retry && rows == 0 &&
		    pg_conn_failed(db, failed)) {
			PQclear(failed);
			if (pg_reconnect(db, err) < 0)
				return -1;
			continue;
		}
		pg_stmt_error(db, failed, !retry, err);
		PQclear(failed);
		return -1;
	}
}

static int
pg_query(struct sqldrv *db, const char *sql, int nparams,
	 const char *const *params, sqldrv_row_cb cb, void *ctx,
	 struct err *err)
{
	PGresult *res = NULL;
	struct pg_stmt *s;
	bool retry;
	int attempt, rc;

	if (db->piped && pg_pipe_leave(db, false, err) != 0)
		return -1;
	retry = pg_may_retry(db);
	db->changes = 0;
	if (cb != NULL)
		return pg_query_rows(db, sql, nparams, params, cb, ctx, retry,
				     err);
	for (attempt = 0;; attempt++) {
		s = pg_prepare(db, sql, nparams, &res);
		if (s != NULL)
			res = PQexecPrepared(db->conn, s->name, nparams,
					     params, NULL, NULL, 0);
		if (pg_result_ok(res))
			break;
		if (attempt == 0 && retry && pg_conn_failed(db, res)) {
			PQclear(res);
			res = NULL;
			if (pg_reconnect(db, err) < 0)
				return -1;
			continue;
		}
		pg_stmt_error(db, res, !retry, err);
		PQclear(res);
		return -1;
	}
	pg_note_changes(db, res);
	rc = pg_rows(res, cb, ctx, err);
	PQclear(res);
	return rc;
}

static long
pg_changes(struct sqldrv *db)
{
	return db->changes;
}

/* The entry points, each under the watchdog. */
static int
pg_exec_w(struct sqldrv *db, const char *sql, struct err *err)
{
	pg_watch_arm(db);
	return pg_watch_disarm(db, pg_exec(db, sql, err), err);
}

static int
pg_query_w(struct sqldrv *db, const char *sql, int nparams,
	   const char *const *params, sqldrv_row_cb cb, void *ctx,
	   struct err *err)
{
	pg_watch_arm(db);
	return pg_watch_disarm(
		db, pg_query(db, sql, nparams, params, cb, ctx, err), err);
}

static int
pg_queue_w(struct sqldrv *db, const char *sql, int nparams,
	   const char *const *params, long want, struct err *err)
{
	pg_watch_arm(db);
	return pg_watch_disarm(
		db, pg_queue(db, sql, nparams, params, want, err), err);
}

const struct sqldrv_ops sqldrv_pgsql_ops = {
	.name = "postgresql",
	.scheme = "postgresql://",
	.ddl = pg_ddl,
	.open = pg_open,
	.exec = pg_exec_w,
	.query = pg_query_w,
	.changes = pg_changes,
	.close = pg_close,
	.queue = pg_queue_w,
};

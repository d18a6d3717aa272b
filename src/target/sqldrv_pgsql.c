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
 */
#include "target/sqldrv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "util/xalloc.h"

#define PG_BOOLOID 16

struct pg_stmt {
	const char *sql;      /* key: borrowed, outlives the connection */
	char name[24];        /* server-side prepared statement name */
};

struct sqldrv {
	PGconn *conn;
	char *url;            /* owned, kept for messages */
	char server[300];     /* "host:port/db" for messages */
	struct pg_stmt *stmts;
	size_t nstmts, capstmts;
	unsigned next_id;
	long changes;
	bool readonly;
};

/*
 * Postfixadmin's tables.  active is SMALLINT so Postfix's `active=1`
 * queries work unchanged; an existing BOOLEAN column works too.  Each
 * table is created only when missing, inside one DO block: a plain
 * CREATE TABLE IF NOT EXISTS still needs CREATE on the schema, which a
 * user granted only row rights on existing Postfixadmin tables lacks
 * (PostgreSQL 15 no longer grants it on `public` by default).
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
	"  CREATE INDEX mailbox_domain_idx ON mailbox (domain);\n"
	"END IF;\n"
	"IF to_regclass('alias') IS NULL THEN\n"
	"  CREATE TABLE alias (\n"
	"    address VARCHAR(255) PRIMARY KEY,\n"
	"    goto TEXT NOT NULL,\n"
	"    domain VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    active SMALLINT NOT NULL DEFAULT 1);\n"
	"  CREATE INDEX alias_domain_idx ON alias (domain);\n"
	"END IF;\n"
	"IF to_regclass('alias_domain') IS NULL THEN\n"
	"  CREATE TABLE alias_domain (\n"
	"    alias_domain VARCHAR(255) PRIMARY KEY,\n"
	"    target_domain VARCHAR(255) NOT NULL DEFAULT '',\n"
	"    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    active SMALLINT NOT NULL DEFAULT 1);\n"
	"  CREATE INDEX alias_domain_target_idx\n"
	"    ON alias_domain (target_domain);\n"
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
		return err_set(err, DS_E_AUTH,
			       "the server wants a password for user %s and "
			       "none was found: set PGPASSWORD, or PGPASSFILE "
			       "or ~/.pgpass (mode 0600)", user ? user : "?");
	if (strstr(m, "database \"") && strstr(m, "does not exist")) {
		pg_quoted(what, sizeof(what), strstr(m, "database \""));
		return err_set(err, DS_E_TARGET,
			       "database %s does not exist on %s:%s; create "
			       "it with: createdb -h %s -p %s -O %s %s",
			       what, PQhost(db->conn), PQport(db->conn),
			       PQhost(db->conn), PQport(db->conn),
			       user ? user : "USER", what);
	}
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

static int
pg_connect(struct sqldrv *db, struct err *err)
{
	/* Defaults first: values in the URL come later and win. */
	const char *const keys[] = {
		"connect_timeout", "fallback_application_name",
		"client_encoding", "dbname", NULL,
	};
	const char *vals[] = {"10", "dirsync", "UTF8", db->url, NULL};
	/* plan, test: the server itself refuses any write (kept by PQreset) */
	const char *ro_keys[] = {
		"connect_timeout", "fallback_application_name",
		"client_encoding", "options", "dbname", NULL,
	};
	const char *ro_vals[] = {
		"10", "dirsync", "UTF8", "-c default_transaction_read_only=on",
		db->url, NULL,
	};

	db->conn = db->readonly ? PQconnectdbParams(ro_keys, ro_vals, 1)
				: PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL)
		return err_set(err, DS_E_NOMEM, "libpq: out of memory");
	if (PQstatus(db->conn) != CONNECTION_OK)
		return pg_connect_error(db, err);
	pg_set_server(db);
	return 0;
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

	(void)conf;
	*out = NULL;
	db = xcalloc(1, sizeof(*db));
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

static void
pg_close(struct sqldrv *db)
{
	if (db == NULL)
		return;
	PQfinish(db->conn);
	free(db->stmts);
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
pg_stmt_error(struct sqldrv *db, PGresult *res, bool in_tx, struct err *err)
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
		pg_quoted(what, sizeof(what), strstr(prim, "\""));
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
	/* undefined table/column, wrong type: the schema is not ours */
	if (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0 ||
	    strcmp(st, "42804") == 0 || strcmp(st, "42883") == 0)
		return err_set(err, DS_E_SCHEMA, "%s", prim);
	if (detail != NULL)
		return err_set(err, DS_E_TARGET, "%s: %s (SQLSTATE %s)", prim,
			       detail, st);
	return err_set(err, DS_E_TARGET, "%s (SQLSTATE %s)", prim, st);
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
	PGresult *res;
	char name[24];

	*res_out = NULL;
	if (s != NULL)
		return s;
	snprintf(name, sizeof(name), "ds_%u", db->next_id++);
	res = PQprepare(db->conn, name, sql, nparams, NULL);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		*res_out = res;
		return NULL;
	}
	PQclear(res);
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
	const char **cols;
	bool *isbool;
	int r, c, rc = 0;

	if (cb == NULL || nrows == 0)
		return 0;
	cols = xcalloc((size_t)ncols + 1, sizeof(*cols));
	isbool = xcalloc((size_t)ncols + 1, sizeof(*isbool));
	for (c = 0; c < ncols; c++)
		isbool[c] = PQftype(res, c) == PG_BOOLOID;
	for (r = 0; r < nrows && rc == 0; r++) {
		for (c = 0; c < ncols; c++) {
			const char *v;

			if (PQgetisnull(res, r, c)) {
				cols[c] = NULL;
				continue;
			}
			v = PQgetvalue(res, r, c);
			if (isbool[c])
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
	free(isbool);
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

static int
pg_exec(struct sqldrv *db, const char *sql, struct err *err)
{
	PGresult *res;
	bool retry = pg_may_retry(db);
	int attempt;

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

static int
pg_query(struct sqldrv *db, const char *sql, int nparams,
	 const char *const *params, sqldrv_row_cb cb, void *ctx,
	 struct err *err)
{
	PGresult *res = NULL;
	struct pg_stmt *s;
	bool retry = pg_may_retry(db);
	int attempt, rc;

	db->changes = 0;
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

const struct sqldrv_ops sqldrv_pgsql_ops = {
	.name = "postgresql",
	.scheme = "postgresql://",
	.ddl = pg_ddl,
	.open = pg_open,
	.exec = pg_exec,
	.query = pg_query,
	.changes = pg_changes,
	.close = pg_close,
};

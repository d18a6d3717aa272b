/*
 * sqldrv_sqlite.c - SQLite driver for the SQL target.
 *
 * Tables are created WITHOUT ROWID: every lookup Postfix and Dovecot make
 * is by the primary key, which then is the table itself (one B-tree per
 * table instead of two).  Existing Postfixadmin tables are used as they
 * are.  The mail database keeps SQLite's default rollback journal: Postfix and
 * Dovecot read it as other users, and WAL would need them to write the
 * -shm file next to it.
 */
#include "target/sqldrv.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsro.h"
#include "util/xalloc.h"

/* How long a statement waits for another process's lock (ms), as the
 * PostgreSQL driver's lock_timeout. */
#define SQ_BUSY_MS 10000

#define MAX_STMTS 32

/*
 * A prepared statement kept for the connection's life, found by the
 * address of its SQL text (the callers' strings are static or cached).
 * idx[i] is the bind index of "$(i+1)", 0 when the statement does not
 * use it: sqlite3_bind_parameter_index() searches the names one by one,
 * and the 200 of a batched IN list (sql_in_query) made that 200 x 200
 * string compares a batch, a tenth of an incremental run's target load.
 */
struct stmt {
	const char *sql;
	sqlite3_stmt *st;
	int *idx;
	int nidx;
};

struct sqldrv {
	sqlite3 *db;
	char *path;
	struct stmt cache[MAX_STMTS];
	int ncache;
};

static const char sqlite_ddl[] =
	"CREATE TABLE IF NOT EXISTS domain ("
	" domain VARCHAR(255) NOT NULL PRIMARY KEY,"
	" description VARCHAR(255) NOT NULL DEFAULT '',"
	" aliases INTEGER NOT NULL DEFAULT 0,"
	" mailboxes INTEGER NOT NULL DEFAULT 0,"
	" maxquota BIGINT NOT NULL DEFAULT 0,"
	" quota BIGINT NOT NULL DEFAULT 0,"
	" transport VARCHAR(255) NOT NULL DEFAULT 'virtual',"
	" backupmx INTEGER NOT NULL DEFAULT 0,"
	" created DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00',"
	" modified DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00',"
	" active INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS mailbox ("
	" username VARCHAR(255) NOT NULL PRIMARY KEY,"
	" password VARCHAR(255) NOT NULL DEFAULT '',"
	" name VARCHAR(255) NOT NULL DEFAULT '',"
	" maildir VARCHAR(255) NOT NULL DEFAULT '',"
	" quota BIGINT NOT NULL DEFAULT 0,"
	" local_part VARCHAR(255) NOT NULL DEFAULT '',"
	" domain VARCHAR(255) NOT NULL DEFAULT '',"
	" created DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00',"
	" modified DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00',"
	" active INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS mailbox_domain_idx ON mailbox(domain);"
	"CREATE TABLE IF NOT EXISTS alias ("
	" address VARCHAR(255) NOT NULL PRIMARY KEY,"
	" goto TEXT NOT NULL,"
	" domain VARCHAR(255) NOT NULL DEFAULT '',"
	" created DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00',"
	" modified DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00',"
	" active INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS alias_domain_idx ON alias(domain);"
	"CREATE TABLE IF NOT EXISTS alias_domain ("
	" alias_domain VARCHAR(255) NOT NULL PRIMARY KEY,"
	" target_domain VARCHAR(255) NOT NULL,"
	" created DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00',"
	" modified DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00',"
	" active INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;";

/*
 * The message of a failed call, always naming the database file: a run
 * touches two SQLite files (the mail database and the state), and
 * SQLite's own words ("attempt to write a readonly database", "disk I/O
 * error") say neither which nor why.  A storage error adds the OS error.
 * SQLITE_FULL comes from a short write and carries no errno: on a local
 * file that is ENOSPC (or a quota: EDQUOT gives SQLITE_IOERR with its
 * errno).  SQLITE_READONLY / SQLITE_CANTOPEN: the file, or the directory
 * where SQLite creates its journal, is not writable by this user.
 * SQLITE_BUSY / SQLITE_LOCKED: another process kept the file locked for
 * the whole busy timeout; said so, with the file, as a failure to read
 * or write, never as a missing table.  A missing table or column is
 * DS_E_SCHEMA, as SQLSTATE 42P01 / 42703 are for PostgreSQL: callers
 * that treat a missing table as "not created yet" test for that code.
 */
static int
sq_fail(struct sqldrv *d, struct err *err, int rc, const char *msg)
{
	int sys = sqlite3_system_errno(d->db);

	err->lib_rc = rc;
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return err_set(err, DS_E_TARGET, "%s: %s: another process "
			       "(or connection) held it locked for longer than the busy "
			       "timeout (%d s); the next attempt retries",
			       d->path, msg, SQ_BUSY_MS / 1000);
	case SQLITE_ERROR:
		if (strncmp(msg, "no such table", 13) == 0 ||
		    strncmp(msg, "no such column", 14) == 0)
			return err_set(err, DS_E_SCHEMA, "%s: %s", d->path,
				       msg);
		break;
	case SQLITE_FULL:
		return err_set(err, DS_E_TARGET, "%s: %s (ENOSPC: %s)", d->path,
			       msg, strerror(ENOSPC));
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		if (d->path != NULL && fs_readonly(d->path))
			return err_set(err, DS_E_TARGET, "%s: %s: the file "
				       "system holding it is mounted "
				       "read-only", d->path, msg);
		if (d->path != NULL && fs_immutable(d->path))
			return err_set(err, DS_E_TARGET, "%s: %s: the file "
				       "or its directory is marked immutable "
				       "or append-only (lsattr shows it; "
				       "chattr -i undoes it)", d->path, msg);
		return err_set(err, DS_E_TARGET, "%s: %s%s%s (uid %ld must be "
			       "able to write the file and, for its journal, "
			       "the directory that holds it)", d->path, msg,
			       sys != 0 ? ": " : "", sys != 0 ? strerror(sys)
							  : "",
			       (long)geteuid());
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return err_set(err, DS_E_TARGET, "%s: %s: the mail database "
			       "is damaged.  Restore it "
			       "from a backup (or rebuild it with sqlite3's "
			       ".recover); the next run compares the whole "
			       "database and puts back what dirsync manages",
			       d->path, msg);
	case SQLITE_IOERR:
		if (sys != 0)
			return err_set(err, DS_E_TARGET, "%s: %s (%s)", d->path,
				       msg, strerror(sys));
		break;
	default:
		break;
	}
	return err_set(err, DS_E_TARGET, "%s: %s", d->path, msg);
}

static int
db_err(struct sqldrv *d, struct err *err, int rc)
{
	return sq_fail(d, err, rc, sqlite3_errmsg(d->db));
}

/*
 * A new mail database is made 0640 whatever the umask: Postfix and
 * Dovecot read it through their group, nobody else may (it holds
 * password hashes).  An existing file keeps the mode its admin chose.
 */
static int
sq_create(const char *path, struct err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      0640);

	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		err->lib_rc = errno;
		return err_set(err, DS_E_TARGET,
			       "cannot create SQLite database %s: %s", path,
			       strerror(errno));
	}
	if (fchmod(fd, 0640) < 0) {
		err->lib_rc = errno;
		close(fd);
		return err_set(err, DS_E_TARGET, "chmod 0640 %s: %s", path,
			       strerror(errno));
	}
	close(fd);
	return 0;
}

static int
sq_open(struct sqldrv **out, const char *url, const struct conf *conf,
	bool readonly, struct err *err)
{
	struct sqldrv *d;
	const char *path = url;
	struct stat st;
	int rc, flags;

	*out = NULL;
	if (strncmp(path, "sqlite://", 9) == 0)
		path += 9;
	if (*path == '\0')
		return err_set(err, DS_E_CONFIG, "target url '%s' names no "
			       "file", url);
	if (readonly && stat(path, &st) != 0 && errno == ENOENT)
		return 0;   /* nothing synced yet: reads as empty */
	if (!readonly && sq_create(path, err) < 0)
		return -1;
	d = xcalloc(1, sizeof(*d));
	d->path = xstrdup(path);
	flags = readonly ? SQLITE_OPEN_READONLY
			 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &d->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err->lib_rc = rc;
		err_set(err, DS_E_TARGET, "cannot open SQLite database %s: %s",
			path, d->db ? sqlite3_errmsg(d->db)
				    : sqlite3_errstr(rc));
		sqlite3_close(d->db);
		free(d->path);
		free(d);
		return -1;
	}
	sqlite3_busy_timeout(d->db, SQ_BUSY_MS);
	sqlite3_extended_result_codes(d->db, 1);

	*out = d;
	return 0;
}

/*
 * A statement with a trigger program (the change counter's on every
 * mail table, where a site's own triggers keep them on for dirsync's
 * connection: sql_changes.c) runs inside a statement transaction even
 * when the trigger's WHEN is false: every page it changes is copied to a
 * statement journal first, so that the statement alone can be undone.
 * SQLite keeps that journal in memory until one statement's outgrows
 * 64 KiB (SQLITE_STMTJRNL_SPILL), and from then on, for the rest of the
 * transaction, in a temporary file (/var/tmp/etilqs_*): at 1M users some
 * statement outgrew it, and from there every row cost eight pwrite()s (a
 * first sync at 1M took 25 times the 100k one).  In memory, a journal is
 * as big as the pages one statement changes (a few, for dirsync's
 * one-row statements), and it is emptied after each statement.
 * https://sqlite.org/c3ref/c_config_covering_index_scan.html
 */
void
sqldrv_sqlite_config(void)
{
	sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);
}

static int
sq_exec(struct sqldrv *d, const char *sql, struct err *err)
{
	char *msg = NULL;
	int rc;

	/*
	 * A first sync writes the whole database in one transaction; with
	 * the default 2 MiB cache SQLite spills and re-reads pages all the
	 * way.  Reads (load) stay on the small cache: they scan once.
	 */
	if (strcmp(sql, "BEGIN") == 0)
		sqlite3_exec(d->db, "PRAGMA cache_size = -8192", NULL, NULL,
			     NULL);
	rc = sqlite3_exec(d->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		sq_fail(d, err, sqlite3_extended_errcode(d->db),
			msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* The kept statement of sql, prepared now if new; NULL failed.  A
 * statement past MAX_STMTS is prepared into *tmp (idx NULL), the
 * caller finalizes it. */
static struct stmt *
prepared(struct sqldrv *d, const char *sql, struct stmt *tmp,
	 struct err *err)
{
	sqlite3_stmt *st = NULL;
	struct stmt *c;
	int i, rc;

	for (i = 0; i < d->ncache; i++)
		if (d->cache[i].sql == sql)
			return &d->cache[i];
	rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		db_err(d, err, rc);
		return NULL;
	}
	c = d->ncache < MAX_STMTS ? &d->cache[d->ncache++] : tmp;
	memset(c, 0, sizeof(*c));
	c->sql = sql;
	c->st = st;
	return c;
}

/* "$n" into buf (16 bytes): snprintf's format parsing, per parameter
 * per row, was a few percent of a first sync */
static void
param_name(char *buf, int n)
{
	char digits[12];
	int k = 0;

	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10) > 0 && k < 11);
	*buf++ = '$';
	while (k > 0)
		*buf++ = digits[--k];
	*buf = '\0';
}

/* The bind index of "$(i+1)" in c, 0 when unused (see struct stmt). */
static int
param_index(struct stmt *c, int i)
{
	char pname[16];

	if (i >= c->nidx) {
		c->idx = xrealloc(c->idx, (size_t)(i + 1) * sizeof(*c->idx));
		for (; c->nidx <= i; c->nidx++) {
			param_name(pname, c->nidx + 1);
			c->idx[c->nidx] =
				sqlite3_bind_parameter_index(c->st, pname);
		}
	}
	return c->idx[i];
}

static int
sq_query(struct sqldrv *d, const char *sql, int nparams,
	 const char *const *params, sqldrv_row_cb cb, void *ctx,
	 struct err *err)
{
	struct stmt tmp, *c = prepared(d, sql, &tmp, err);
	sqlite3_stmt *st;
	const char *cols[16];
	int i, rc, ncols, ret = 0;

	if (c == NULL)
		return -1;
	st = c->st;
	for (i = 0; i < nparams; i++) {
		/* To SQLite "$2" is a name, numbered by first appearance:
		 * "SET a = $2 WHERE b = $1" binds $2 at index 1. */
		int idx = param_index(c, i);

		if (idx == 0)
			continue;   /* not used by this statement */
		rc = params[i] != NULL
			     ? sqlite3_bind_text(st, idx, params[i], -1,
						 SQLITE_STATIC)
			     : sqlite3_bind_null(st, idx);
		if (rc != SQLITE_OK) {
			ret = db_err(d, err, rc);
			goto done;
		}
	}
	ncols = sqlite3_column_count(st);
	if (ncols > 16)
		ncols = 16;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb == NULL)
			continue;
		for (i = 0; i < ncols; i++)
			cols[i] = (const char *)sqlite3_column_text(st, i);
		if (cb(ctx, ncols, cols) != 0) {
			ret = -1;
			goto done;
		}
	}
	if (rc != SQLITE_DONE)
		ret = db_err(d, err, rc);
done:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (c == &tmp) {
		sqlite3_finalize(st);
		free(tmp.idx);
	}
	return ret;
}

/*
 * SQLITE_DBCONFIG_ENABLE_TRIGGER (https://sqlite.org/c3ref/c_dbconfig_
 * defensive.html): a flag of this connection, no schema change (Dovecot's
 * open connection does not see "database schema has changed").  Flipping
 * it expires this connection's prepared statements; SQLite prepares them
 * again on their next step.
 */
static int
sq_triggers(struct sqldrv *d, bool on)
{
	int now = -1;

	if (sqlite3_db_config(d->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, on ? 1 : 0,
			      &now) != SQLITE_OK ||
	    now != (on ? 1 : 0))
		return -1;
	return 0;
}

static long
sq_changes(struct sqldrv *d)
{
	return sqlite3_changes(d->db);
}

static void
sq_close(struct sqldrv *d)
{
	int i;

	if (d == NULL)
		return;
	for (i = 0; i < d->ncache; i++) {
		sqlite3_finalize(d->cache[i].st);
		free(d->cache[i].idx);
	}
	sqlite3_close(d->db);
	free(d->path);
	free(d);
}

const struct sqldrv_ops sqldrv_sqlite_ops = {
	"sqlite", "sqlite://", sqlite_ddl,
	sq_open, sq_exec, sq_query, sq_changes, sq_close, NULL, sq_triggers,
	" WITHOUT ROWID",
};

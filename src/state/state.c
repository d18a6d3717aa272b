#include "state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsro.h"
#include "util/xalloc.h"

struct state {
	sqlite3 *db;   /* NULL: read-only and no database yet */
	char *path;
};

/* The schema this version writes; older ones are migrated on open. */
#define STATE_SCHEMA_VERSION 10

static const char state_ddl[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
	"INSERT OR IGNORE INTO meta VALUES ('schema_version', '1');"
	"CREATE TABLE IF NOT EXISTS runs ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" started TEXT NOT NULL, mode TEXT NOT NULL,"
	" seconds REAL, exit_code INTEGER, applied INTEGER NOT NULL DEFAULT 0,"
	" adds INTEGER DEFAULT 0, updates INTEGER DEFAULT 0,"
	" disables INTEGER DEFAULT 0, deletes INTEGER DEFAULT 0,"
	" conflicts INTEGER DEFAULT 0, errors INTEGER DEFAULT 0,"
	" report TEXT);"
	"CREATE TABLE IF NOT EXISTS managed ("
	" address TEXT PRIMARY KEY, kind TEXT NOT NULL, anchor TEXT,"
	" disabled_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;";

static int db_err(struct state *st, struct err *err, const char *where);

/*
 * Migrations, in order: migrations[v - 1] takes schema v to v + 1.  A
 * database of a newer schema than this dirsync writes is refused, never
 * written to.
 */
static const char *const migrations[] = {
	/* 1 -> 2: the target's own id per managed object (SCIM "id") */
	"ALTER TABLE managed ADD COLUMN target_id TEXT;",
	/* 2 -> 3: runs applied past a safety limit (--force-limits) */
	"ALTER TABLE runs ADD COLUMN forced INTEGER NOT NULL DEFAULT 0;",
	/* 3 -> 4: the plan a limit stopped, for `dirsync approve` */
	"ALTER TABLE runs ADD COLUMN plan TEXT;",
	/* 4 -> 5: the fast path (issue 16): the last verified run's digests
	 * and target fingerprint, and which runs took the fast path */
	"ALTER TABLE runs ADD COLUMN fast_path INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE IF NOT EXISTS verified ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" run_id INTEGER NOT NULL, digest TEXT NOT NULL,"
	" config TEXT NOT NULL, fingerprint TEXT NOT NULL,"
	" verified_at INTEGER NOT NULL, due INTEGER NOT NULL);"
	/* apart: rewriting the small row must not copy the big blob */
	"CREATE TABLE IF NOT EXISTS verified_objects ("
	" id INTEGER PRIMARY KEY CHECK (id = 1), objects BLOB NOT NULL);",
	/* 5 -> 6: the partial compare (issue 16): whether the verified run
	 * allows one, and the addresses of its objects (NUL-terminated, in
	 * the order of the pairs, a blob of their own, written a chunk at a
	 * time), so that a later run can name the gone */
	"ALTER TABLE verified ADD COLUMN partial_ok INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE verified ADD COLUMN frozen TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE IF NOT EXISTS verified_names ("
	" id INTEGER PRIMARY KEY CHECK (id = 1), addresses BLOB NOT NULL);",
	/* 6 -> 7: a run over a delta (issue 10) patches the verified
	 * record at the addresses it touched instead of rewriting both
	 * blobs: the object now at each (its pair), or none */
	"CREATE TABLE IF NOT EXISTS verified_patch ("
	" address TEXT NOT NULL PRIMARY KEY, ah INTEGER NOT NULL,"
	" ch INTEGER NOT NULL, gone INTEGER NOT NULL) WITHOUT ROWID;",
	/* 7 -> 8: runs a signal stopped (a daemon's SIGTERM mid-run):
	 * status judges the run before them */
	"ALTER TABLE runs ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;",
	/* 8 -> 9: the applied plan's objects as the count limits count
	 * them (alias rows apart), for [safety] limit_window */
	"ALTER TABLE runs ADD COLUMN lim_adds INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN lim_updates INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN lim_removals INTEGER NOT NULL DEFAULT 0;",
	/* 9 -> 10: the conflicts the verified run left with rows of other
	 * objects, which a fast path or a partial compare reports again
	 * (a lasting conflict made every run a full compare) */
	"ALTER TABLE verified ADD COLUMN clashes TEXT NOT NULL DEFAULT '';",
};

static long
schema_version(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	long v = 0;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = "
			       "'schema_version'", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = strtol((const char *)sqlite3_column_text(q, 0), NULL, 10);
	sqlite3_finalize(q);
	return v;
}

/* Brings a writable database to STATE_SCHEMA_VERSION, in one transaction. */
static int
migrate(struct state *st, struct err *err)
{
	long v = schema_version(st->db);
	char sql[96];

	if (v > STATE_SCHEMA_VERSION) {
		err_object(err, st->path);
		return err_set(err, DS_E_STATE,
			       "state database schema version %ld is newer "
			       "than this dirsync writes (%d): use the newer "
			       "dirsync, or a backup of the state",
			       v, STATE_SCHEMA_VERSION);
	}
	if (v == STATE_SCHEMA_VERSION)
		return 0;
	if (v < 1 || sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL,
				  NULL) != SQLITE_OK)
		return db_err(st, err, "migrate state schema");
	for (; v < STATE_SCHEMA_VERSION; v++)
		if (sqlite3_exec(st->db, migrations[v - 1], NULL, NULL,
				 NULL) != SQLITE_OK)
			goto fail;
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = '%d' WHERE key = "
		 "'schema_version'", STATE_SCHEMA_VERSION);
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	db_err(st, err, "migrate state schema");
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * The message of a failed call, naming the state database file in the
 * message itself (callers that log only err->msg keep it): SQLite's own
 * words ("attempt to write a readonly database", "disk I/O error") say
 * neither which of a run's two SQLite files failed nor why.  A storage
 * error adds the OS error; SQLITE_FULL comes from a short write and
 * carries no errno: on a local file that is ENOSPC.
 */
bool
state_file_foreign(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	unsigned char head[512];
	ssize_t n, i;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n <= 0 || ((size_t)n >= sizeof(magic) &&
		       memcmp(head, magic, sizeof(magic)) == 0))
		return false;
	/* text (an export, a config): no control bytes but tab, CR, LF;
	 * a damaged database (a bad header, random bytes) has them */
	for (i = 0; i < n; i++)
		if ((head[i] < 0x20 && head[i] != '\t' && head[i] != '\n' &&
		     head[i] != '\r') || head[i] == 0x7f)
			return false;
	return true;
}

static int
state_fail(struct state *st, struct err *err, int rc, const char *msg)
{
	int sys = sqlite3_system_errno(st->db);

	err->lib_rc = rc;
	if ((rc & 0xff) == SQLITE_FULL)
		return err_set(err, DS_E_STATE, "%s: %s (ENOSPC: %s)", st->path,
			       msg, strerror(ENOSPC));
	if (((rc & 0xff) == SQLITE_READONLY ||
	     (rc & 0xff) == SQLITE_CANTOPEN) && fs_readonly(st->path))
		return err_set(err, DS_E_STATE, "%s: %s: the file system "
			       "holding it is mounted read-only", st->path,
			       msg);
	if (((rc & 0xff) == SQLITE_READONLY ||
	     (rc & 0xff) == SQLITE_CANTOPEN) && fs_immutable(st->path))
		return err_set(err, DS_E_STATE, "%s: %s: the file or its "
			       "directory is marked immutable or append-only "
			       "(lsattr shows it; chattr -i undoes it)",
			       st->path, msg);
	if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN)
		return err_set(err, DS_E_STATE, "%s: %s%s%s (uid %ld must be "
			       "able to write the file and, for its WAL and "
			       "journal, the directory that holds it)",
			       st->path, msg, sys != 0 ? ": " : "",
			       sys != 0 ? strerror(sys) : "", (long)geteuid());
	if ((rc & 0xff) == SQLITE_IOERR && sys != 0)
		return err_set(err, DS_E_STATE, "%s: %s (%s)", st->path, msg,
			       strerror(sys));
	/* another file named by [state] path: not to be moved aside */
	if ((rc & 0xff) == SQLITE_NOTADB && state_file_foreign(st->path))
		return err_set(err, DS_E_STATE, "%s: %s: this is a text "
			       "file, not an SQLite database; is [state] path "
			       "right? (it must name dirsync's own state "
			       "database, which a first run creates)",
			       st->path, msg);
	/* every later run would fail the same way: say the way out */
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		return err_set(err, DS_E_STATE, "%s: %s: the state database "
			       "is damaged; `dirsync rebuild-state` starts a "
			       "new one and keeps this file aside (dirsync(8))",
			       st->path, msg);
	return err_set(err, DS_E_STATE, "%s: %s", st->path, msg);
}

static int
db_err(struct state *st, struct err *err, const char *where)
{
	err_where(err, where);
	return state_fail(st, err, sqlite3_extended_errcode(st->db),
			  sqlite3_errmsg(st->db));
}

int
state_open(struct state **out, const char *path, bool readonly,
	   struct err *err)
{
	struct state *st = xcalloc(1, sizeof(*st));
	struct stat sb;
	char *msg = NULL;
	int rc;

	*out = NULL;
	st->path = xstrdup(path);
	if (readonly && stat(path, &sb) != 0 && errno == ENOENT) {
		*out = st;
		return 0;
	}
	rc = sqlite3_open_v2(path, &st->db,
			     readonly ? SQLITE_OPEN_READONLY
				      : SQLITE_OPEN_READWRITE |
						SQLITE_OPEN_CREATE,
			     NULL);
	if (rc != SQLITE_OK) {
		int sys = st->db ? sqlite3_system_errno(st->db) : 0;
		char why[160] = "";

		/* SQLite's "unable to open database file" says not why */
		if (sys == EACCES || sys == EPERM)
			snprintf(why, sizeof(why), ": %s (uid %ld must be able "
				 "to %s it and its directory)", strerror(sys),
				 (long)geteuid(), readonly ? "read" : "write");
		else if (sys != 0)
			snprintf(why, sizeof(why), ": %s", strerror(sys));
		err_object(err, path);
		err->lib_rc = rc;
		err_set(err, DS_E_STATE, "cannot open state database: %s%s",
			st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc),
			why);
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 10000);
	if (!readonly) {
		rc = sqlite3_exec(st->db, state_ddl, NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			char *m = xasprintf("cannot set up state database: %s",
					    msg ? msg : sqlite3_errstr(rc));

			state_fail(st, err, sqlite3_extended_errcode(st->db),
				   m);
			free(m);
			sqlite3_free(msg);
			goto fail;
		}
		if (migrate(st, err) != 0)
			goto fail;
	}
	*out = st;
	return 0;
fail:
	state_close(st);
	return -1;
}

int
state_open_file_only(struct state **out, const char *path, struct err *err)
{
	static const char keep[] = "-._~/";
	struct state *st;
	size_t i, n = 0;
	char *uri;
	int rc;

	*out = NULL;
	/* "file:" URI (https://www.sqlite.org/uri.html): the path
	 * percent-encoded but for unreserved bytes and '/' */
	uri = xmalloc(strlen(path) * 3 + 32);
	n += (size_t)sprintf(uri, "file:");
	for (i = 0; path[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)path[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr(keep, ch) != NULL)
			uri[n++] = (char)ch;
		else
			n += (size_t)sprintf(uri + n, "%%%02X", ch);
	}
	strcpy(uri + n, "?immutable=1");
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	rc = sqlite3_open_v2(uri, &st->db,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	free(uri);
	if (rc != SQLITE_OK) {
		err_object(err, path);
		err->lib_rc = rc;
		err_set(err, DS_E_STATE, "cannot open state database: %s",
			st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		state_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

/* Read-only callers on a database nothing has written yet. */
static bool
has_table(struct state *st, const char *name)
{
	sqlite3_stmt *q = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT 1 FROM sqlite_master WHERE type = "
			       "'table' AND name = ?",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		found = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	return found;
}

/* Read-only callers on a database of an older schema. */
static bool
has_column(struct state *st, const char *table, const char *column)
{
	sqlite3_stmt *q = NULL;
	char sql[128];
	bool found = false;

	snprintf(sql, sizeof(sql), "SELECT name FROM pragma_table_info('%s')",
		 table);
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK)
		while (!found && sqlite3_step(q) == SQLITE_ROW)
			found = strcmp((const char *)sqlite3_column_text(q, 0),
				       column) == 0;
	sqlite3_finalize(q);
	return found;
}

int
state_load_managed(struct state *st, struct managed *m,
		   const struct mset *current, const struct mset *desired,
		   struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (st->db == NULL || !has_table(st, "managed"))
		return 0;
	/* (the target's own id is read where it is used:
	 * state_target_id_of) */
	rc = sqlite3_prepare_v2(st->db,
				"SELECT address, kind, anchor, disabled_at "
				"FROM managed",
				-1, &q, NULL);
	if (rc != SQLITE_OK) {
		/* read-only on a database without tables: nothing managed */
		if (sqlite3_db_readonly(st->db, "main") == 1)
			return 0;
		return db_err(st, err, "load managed");
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *addr = (const char *)sqlite3_column_text(q, 0);
		const char *kind = (const char *)sqlite3_column_text(q, 1);
		const char *anchor = (const char *)sqlite3_column_text(q, 2);
		enum mkind k;

		if (addr == NULL || kind == NULL || mkind_parse(kind, &k) != 0)
			continue;
		if (current != NULL && desired != NULL) {
			uint32_t h = strmap_hash(addr);

			managed_add_known(m, addr,
					  mset_get_h(current, addr, h),
					  mset_get_h(desired, addr, h), k,
					  anchor, sqlite3_column_int64(q, 3));
		} else {
			managed_add(m, addr, k, anchor,
				    sqlite3_column_int64(q, 3));
		}
	}
	sqlite3_finalize(q);
	managed_seal(m);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "load managed");
	return 0;
}

static long count_rows(struct state *st, const char *table);

int
state_bind_target(struct state *st, const char *identity, bool readonly,
		  struct err *err)
{
	sqlite3_stmt *q = NULL;
	char *had = NULL;

	if (st->db == NULL || !has_table(st, "meta"))
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = "
			       "'target'", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		had = xstrdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	if (had != NULL && strcmp(had, identity) != 0 &&
	    count_rows(st, "managed") > 0) {
		/*
		 * Its records say which rows of that target are dirsync's:
		 * read against another target they would claim rows dirsync
		 * never made there.  A state without records (the SQL target
		 * keeps them itself) only follows a changed URL.
		 */
		err_object(err, st->path);
		err_set(err, DS_E_STATE,
			"this state database belongs to target '%.150s', not "
			"to '%.150s', and lists objects dirsync manages there: "
			"point [state] path at this target's state, or start "
			"one with `dirsync rebuild-state`",
			had, identity);
		free(had);
		return -1;
	}
	if (had != NULL && strcmp(had, identity) == 0) {
		free(had);
		return 0;
	}
	free(had);
	if (readonly)
		return 0;
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO meta VALUES "
			       "('target', ?)", -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "record target");
	sqlite3_bind_text(q, 1, identity, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		sqlite3_finalize(q);
		return db_err(st, err, "record target");
	}
	sqlite3_finalize(q);
	return 0;
}

int
state_run_begin(struct state *st, const char *started, const char *mode,
		long long *run_id, struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (st->db == NULL)
		return err_set(err, DS_E_INTERNAL, "state opened read-only");
	rc = sqlite3_prepare_v2(st->db,
				"INSERT INTO runs (started, mode) VALUES (?, ?)",
				-1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, started, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, mode, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "record run");
	*run_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
state_applied_since(struct state *st, const char *since, const char *until,
		    long *adds,
		    long *updates, long *removals, struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*adds = *updates = *removals = 0;
	if (st->db == NULL)
		return 0;       /* no state yet: no run before */
	rc = sqlite3_prepare_v2(st->db,
				"SELECT total(lim_adds), total(lim_updates),"
				" total(lim_removals) FROM runs"
				" WHERE applied = 1 AND started >= ?"
				" AND started <= ?",
				-1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, since, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, until, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
	}
	if (rc == SQLITE_ROW) {
		*adds = (long)sqlite3_column_int64(q, 0);
		*updates = (long)sqlite3_column_int64(q, 1);
		*removals = (long)sqlite3_column_int64(q, 2);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return db_err(st, err, "runs of the limit window");
	return 0;
}

int
state_latest_start(struct state *st, time_t *when, struct err *err)
{
	sqlite3_stmt *q = NULL;
	const char *s, *end;
	struct tm tm;
	int rc;

	*when = 0;
	if (st->db == NULL || !has_table(st, "runs"))
		return 0;
	rc = sqlite3_prepare_v2(st->db,
				has_table(st, "meta")
					? "SELECT max(coalesce((SELECT"
					  " max(started) FROM runs WHERE"
					  " seconds IS NOT NULL), ''),"
					  " coalesce((SELECT value FROM meta"
					  " WHERE key = 'pruned_latest_start'),"
					  " ''))"
					: "SELECT max(started) FROM runs"
					  " WHERE seconds IS NOT NULL",
				-1, &q, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(q);
	if (rc == SQLITE_ROW &&
	    (s = (const char *)sqlite3_column_text(q, 0)) != NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (end != NULL && *end == '\0')
			*when = timegm(&tm);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return db_err(st, err, "the latest run");
	return 0;
}

/* By address; for one address, in plan order (a delete before an add). */
static int
cmp_change_addr(const void *a, const void *b)
{
	const struct change *x = *(const struct change *const *)a;
	const struct change *y = *(const struct change *const *)b;
	int c = strcmp(x->address, y->address);

	if (c != 0)
		return c;
	return x < y ? -1 : x > y;
}

int
state_record_plan(struct state *st, const struct plan *p,
		  const char *const *forget, size_t nforget, time_t now,
		  struct err *err)
{
	if (state_record_prepare(st, p, forget, nforget, now, err) != 0)
		return -1;
	return state_record_finish(st, true, err);
}

int
state_record_finish(struct state *st, bool commit, struct err *err)
{
	if (!commit) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return 0;
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(st, err, "record managed objects");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int
state_record_prepare(struct state *st, const struct plan *p,
		     const char *const *forget, size_t nforget, time_t now,
		     struct err *err)
{
	sqlite3_stmt *put = NULL, *del = NULL, *dis = NULL;
	const struct change **order;
	size_t i;
	int rc;

	/* in key order: B-tree appends instead of random inserts */
	order = xmalloc((p->n ? p->n : 1) * sizeof(*order));
	for (i = 0; i < p->n; i++)
		order[i] = &p->v[i];
	qsort(order, p->n, sizeof(*order), cmp_change_addr);

	/* a bigger cache for a big write; loads scan once with the default */
	sqlite3_exec(st->db, "PRAGMA cache_size = -8192", NULL, NULL, NULL);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		free(order);
		return db_err(st, err, "record managed objects");
	}
	rc = sqlite3_prepare_v2(st->db,
				"INSERT OR REPLACE INTO managed (address, "
				"kind, anchor, disabled_at) VALUES (?, ?, ?, 0)",
				-1, &put, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db,
					"DELETE FROM managed WHERE address = ?",
					-1, &del, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db,
					"UPDATE managed SET disabled_at = ? "
					"WHERE address = ? AND disabled_at = 0",
					-1, &dis, NULL);
	if (rc != SQLITE_OK)
		goto fail;
#define STEP(stmt)                                                      \
	do {                                                            \
		rc = sqlite3_step(stmt);                                \
		sqlite3_reset(stmt);                                    \
		sqlite3_clear_bindings(stmt);                           \
		if (rc != SQLITE_DONE)                                  \
			goto fail;                                      \
	} while (0)
	for (i = 0; i < nforget; i++) {
		sqlite3_bind_text(del, 1, forget[i], -1, SQLITE_STATIC);
		STEP(del);
	}
	/* addresses renamed away first: an alias may take one over */
	for (i = 0; i < p->n; i++) {
		if (p->v[i].op != OP_UPDATE || !(p->v[i].fields & CH_ADDRESS))
			continue;
		sqlite3_bind_text(del, 1, p->v[i].old_address, -1,
				  SQLITE_STATIC);
		STEP(del);
	}
	for (i = 0; i < p->n; i++) {
		const struct change *ch = order[i];

		switch (ch->op) {
		case OP_ADD:
		case OP_UPDATE:
			sqlite3_bind_text(put, 1, ch->address, -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(put, 2, mkind_name(ch->kind), -1,
					  SQLITE_STATIC);
			if (ch->anchor != NULL)
				sqlite3_bind_text(put, 3, ch->anchor, -1,
						  SQLITE_STATIC);
			else
				sqlite3_bind_null(put, 3);
			STEP(put);
			break;
		case OP_DISABLE:
			sqlite3_bind_int64(dis, 1, (sqlite3_int64)now);
			sqlite3_bind_text(dis, 2, ch->address, -1,
					  SQLITE_STATIC);
			STEP(dis);
			break;
		case OP_DELETE:
			sqlite3_bind_text(del, 1, ch->address, -1,
					  SQLITE_STATIC);
			STEP(del);
			break;
		default:
			break;
		}
	}
#undef STEP
	sqlite3_finalize(put);
	sqlite3_finalize(del);
	sqlite3_finalize(dis);
	free(order);
	return 0;
fail:
	db_err(st, err, "record managed objects");
	free(order);
	sqlite3_finalize(put);
	sqlite3_finalize(del);
	sqlite3_finalize(dis);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
state_record_change(struct state *st, const struct change *ch,
		    const char *target_id, time_t now, struct err *err)
{
	struct plan one;
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_DONE;

	plan_init(&one);
	one.v = (struct change *)ch;   /* read only */
	one.n = 1;
	if (state_record_prepare(st, &one, NULL, 0, now, err) != 0)
		return -1;
	if (target_id != NULL && *target_id &&
	    (ch->op == OP_ADD || ch->op == OP_UPDATE)) {
		rc = sqlite3_prepare_v2(st->db,
					"UPDATE managed SET target_id = ? "
					"WHERE address = ?",
					-1, &q, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(q, 1, target_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, ch->address, -1,
					  SQLITE_STATIC);
			rc = sqlite3_step(q);
		}
		sqlite3_finalize(q);
	}
	if (rc != SQLITE_DONE) {
		db_err(st, err, "record managed object");
		state_record_finish(st, false, err);
		return -1;
	}
	return state_record_finish(st, true, err);
}

int
state_target_id_of(struct state *st, const char *address, char **tid,
		   struct err *err)
{
	sqlite3_stmt *q = NULL;

	*tid = NULL;
	if (st->db == NULL || !has_table(st, "managed") ||
	    !has_column(st, "managed", "target_id"))
		return 0;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT target_id FROM managed WHERE address = ?",
			       -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "find target id");
	sqlite3_bind_text(q, 1, address, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL)
		*tid = xstrdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return 0;
}

void
state_quick_commits(struct state *st, bool quick)
{
	if (st->db != NULL)
		sqlite3_exec(st->db, quick ? "PRAGMA synchronous = NORMAL"
					   : "PRAGMA synchronous = FULL",
			     NULL, NULL, NULL);
}

int
state_forget_managed(struct state *st, struct err *err)
{
	if (st->db == NULL)
		return 0;
	if (sqlite3_exec(st->db, "DELETE FROM managed", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_err(st, err, "forget managed objects");
	return 0;
}

/*
 * keep_runs: the latest start among the runs pruned is kept, then they
 * go.  The time guards' "last run" must not go with the history (a run
 * whose clock was ahead, pruned, let a clock behind bring an expired
 * account back: a user trial).  ?1 the run, ?2 keep_runs.
 */
static const char *const prune_runs[] = {
	"INSERT OR REPLACE INTO meta (key, value)"
	" SELECT 'pruned_latest_start', max(s, coalesce("
	"(SELECT value FROM meta"
	" WHERE key = 'pruned_latest_start'), ''))"
	" FROM (SELECT max(started) AS s FROM runs"
	" WHERE id <= ?1 - ?2 AND seconds IS NOT NULL)"
	" WHERE s IS NOT NULL",
	"DELETE FROM runs WHERE id <= ?1 - ?2",
};

int
state_run_finish(struct state *st, long long run_id,
		 const struct run_summary *s, const char *report_json,
		 long keep_runs, struct err *err)
{
	sqlite3_stmt *q = NULL;
	size_t i;
	int rc;

	rc = sqlite3_prepare_v2(
		st->db,
		"UPDATE runs SET seconds = ?, exit_code = ?, applied = ?,"
		" adds = ?, updates = ?, disables = ?, deletes = ?,"
		" conflicts = ?, errors = ?, report = ?, forced = ?, plan = ?,"
		" fast_path = ?, interrupted = ?, lim_adds = ?,"
		" lim_updates = ?, lim_removals = ? WHERE id = ?",
		-1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_double(q, 1, s->seconds);
		sqlite3_bind_int(q, 2, s->exit_code);
		sqlite3_bind_int(q, 3, s->applied);
		sqlite3_bind_int64(q, 4, s->adds);
		sqlite3_bind_int64(q, 5, s->updates);
		sqlite3_bind_int64(q, 6, s->disables);
		sqlite3_bind_int64(q, 7, s->deletes);
		sqlite3_bind_int64(q, 8, s->conflicts);
		sqlite3_bind_int64(q, 9, s->errors);
		sqlite3_bind_text(q, 10, report_json, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 11, s->forced);
		if (s->plan != NULL)
			sqlite3_bind_text(q, 12, s->plan, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 12);
		sqlite3_bind_int(q, 13, s->fast_path);
		sqlite3_bind_int(q, 14, s->interrupted);
		sqlite3_bind_int64(q, 15, s->lim_adds);
		sqlite3_bind_int64(q, 16, s->lim_updates);
		sqlite3_bind_int64(q, 17, s->lim_removals);
		sqlite3_bind_int64(q, 18, run_id);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "record run");
	for (i = 0; keep_runs > 0 &&
		    i < sizeof(prune_runs) / sizeof(*prune_runs);
	     i++) {
		rc = sqlite3_prepare_v2(st->db, prune_runs[i], -1, &q, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(q, 1, run_id);
			sqlite3_bind_int64(q, 2, keep_runs);
			rc = sqlite3_step(q);
		}
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			return db_err(st, err, "prune runs");
	}
	return 0;
}

/* How a run read, from its stored report (SQLite's JSON1, built in):
 * no column of its own, so no migration. */
#define READ_COLS                                                       \
	"CASE WHEN json_valid(report) THEN"                             \
	" json_extract(report, '$.read_detail.mode') END,"              \
	" CASE WHEN json_valid(report) THEN"                            \
	" json_extract(report, '$.read_detail.entries') END,"           \
	" CASE WHEN json_valid(report) THEN"                            \
	" json_extract(report, '$.trigger') END,"                       \
	" CASE WHEN json_valid(report) THEN"                            \
	" json_extract(report, '$.read_detail.done') END,"              \
	" CASE WHEN json_valid(report) THEN"                            \
	" json_extract(report, '$.read_detail.deleted') END,"           \
	" CASE WHEN json_valid(report) THEN"                            \
	" json_extract(report, '$.limit_exceeded.held') END,"           \
	" CASE WHEN json_valid(report) THEN"                            \
	" json_extract(report, '$.read_detail.rules') END,"             \
	" CASE WHEN json_valid(report) THEN"                            \
	" json_extract(report, '$.limit_exceeded.planned') END,"        \
	" CASE WHEN json_valid(report) THEN"                            \
	" json_extract(report, '$.limit_exceeded.limit') END"

/* NULL in place of READ_COLS: no report parsed */
#define NO_READ_COLS "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"

static int
history(struct state *st, long n, bool read_cols, state_run_cb cb,
	void *ctx, struct err *err)
{
	sqlite3_stmt *q = NULL;
	char sql[2048];
	int rc;

	if (st->db == NULL)
		return 0;
	/* a file that is not a database, or a damaged schema, is an error,
	 * not an empty history */
	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master",
				-1, &q, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(q);
	sqlite3_finalize(q);
	q = NULL;
	if (rc != SQLITE_ROW)
		return db_err(st, err, "history");
	if (!has_table(st, "runs"))
		return 0;
	/* a read-only open of an older schema lacks "forced" (3),
	 * "fast_path" (5) or "interrupted" (8) */
	snprintf(sql, sizeof(sql),
		 "SELECT id, started, mode, seconds, exit_code, applied,"
		 " adds, updates, disables, deletes, conflicts, errors,"
		 " %s, %s, %s, %s FROM runs WHERE seconds IS NOT NULL"
		 " ORDER BY id DESC LIMIT ?",
		 has_column(st, "runs", "forced") ? "forced" : "0",
		 has_column(st, "runs", "fast_path") ? "fast_path" : "0",
		 has_column(st, "runs", "interrupted") ? "interrupted" : "0",
		 read_cols ? READ_COLS : NO_READ_COLS);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return db_err(st, err, "history");
	sqlite3_bind_int64(q, 1, n > 0 ? n : -1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct run_row r;

		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(q, 0);
		r.started = (const char *)sqlite3_column_text(q, 1);
		r.mode = (const char *)sqlite3_column_text(q, 2);
		r.s.seconds = sqlite3_column_double(q, 3);
		r.s.exit_code = sqlite3_column_int(q, 4);
		r.s.applied = sqlite3_column_int(q, 5) != 0;
		r.s.adds = sqlite3_column_int64(q, 6);
		r.s.updates = sqlite3_column_int64(q, 7);
		r.s.disables = sqlite3_column_int64(q, 8);
		r.s.deletes = sqlite3_column_int64(q, 9);
		r.s.conflicts = sqlite3_column_int64(q, 10);
		r.s.errors = sqlite3_column_int64(q, 11);
		r.s.forced = sqlite3_column_int(q, 12) != 0;
		r.s.fast_path = sqlite3_column_int(q, 13) != 0;
		r.s.interrupted = sqlite3_column_int(q, 14) != 0;
		r.read_mode = (const char *)sqlite3_column_text(q, 15);
		r.read_entries = sqlite3_column_type(q, 16) == SQLITE_NULL
					 ? -1
					 : sqlite3_column_int64(q, 16);
		r.trigger = (const char *)sqlite3_column_text(q, 17);
		r.read_done = sqlite3_column_type(q, 18) == SQLITE_NULL
				      ? -1
				      : sqlite3_column_int(q, 18);
		r.read_deleted = sqlite3_column_type(q, 19) == SQLITE_NULL
					 ? 0
					 : sqlite3_column_int64(q, 19);
		r.s.held = sqlite3_column_int(q, 20) != 0;
		r.read_skipped = sqlite3_column_text(q, 21) != NULL &&
				 strcmp((const char *)sqlite3_column_text(q, 21),
					"skipped") == 0;
		r.limit_planned = sqlite3_column_int64(q, 22);
		r.limit = (const char *)sqlite3_column_text(q, 23);
		if (cb(ctx, &r) != 0)
			break;
	}
	/* a damaged page part way: an error, not a shorter history */
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_err(st, err, "history");
		sqlite3_finalize(q);
		return -1;
	}
	sqlite3_finalize(q);
	return 0;
}

int
state_history(struct state *st, long n, state_run_cb cb, void *ctx,
	      struct err *err)
{
	return history(st, n, true, cb, ctx, err);
}

int
state_history_brief(struct state *st, long n, state_run_cb cb, void *ctx,
		    struct err *err)
{
	return history(st, n, false, cb, ctx, err);
}

int
state_run_report(struct state *st, long long run_id, char **json,
		 struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*json = NULL;
	if (st->db == NULL || !has_table(st, "runs")) {
		err_set(err, DS_E_STATE, "there is no run %lld: no state "
			"database %s yet", run_id, st->path);
		return 1;
	}
	rc = sqlite3_prepare_v2(st->db,
				"SELECT report FROM runs WHERE id = ?", -1, &q,
				NULL);
	if (rc != SQLITE_OK)
		return db_err(st, err, "show");
	sqlite3_bind_int64(q, 1, run_id);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		*json = xstrdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	if (*json == NULL) {
		err_set(err, DS_E_STATE, "there is no run %lld in %s "
			"(`dirsync history` lists the runs)", run_id,
			st->path);
		return 1;
	}
	return 0;
}

static long
count_rows(struct state *st, const char *table)
{
	sqlite3_stmt *q = NULL;
	char sql[64];
	long n = 0;

	if (!has_table(st, table))
		return 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

int
state_counts(struct state *st, long *managed, long *runs, struct err *err)
{
	*managed = *runs = 0;
	if (st->db == NULL)
		return 0;
	*managed = count_rows(st, "managed");
	*runs = count_rows(st, "runs");
	return 0;
}

/* Is there a file (or anything) at path? */
static bool
path_taken(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 || errno != ENOENT;
}

/*
 * Moves from to the new name to, never replacing a file there: link(2)
 * fails with EEXIST where rename(2) would silently replace it.  On a
 * file system without hard links, an empty file made with O_EXCL holds
 * the name, and the rename replaces only that.  0, or -1 with errno.
 */
static int
move_new(const char *from, const char *to)
{
	int fd, e;

	if (link(from, to) == 0)
		return unlink(from) == 0 || errno == ENOENT ? 0 : -1;
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS &&
	    errno != EMLINK)
		return -1;
	if ((fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		       0600)) < 0)
		return -1;
	close(fd);
	if (rename(from, to) != 0) {
		e = errno;
		unlink(to);
		errno = e;
		return -1;
	}
	return 0;
}

int
state_archive(const char *path, const char *stem, char *backup, size_t n,
	      struct err *err)
{
	static const char *const sides[] = {"-wal", "-shm"};
	sqlite3 *db = NULL;
	char side[4096], to[4200];
	bool whole;
	size_t i;
	int k, rc = -1;

	/* folds the WAL into the file; a corrupt file is moved with its
	 * side files as they are */
	whole = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ==
			SQLITE_OK &&
		sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
			     NULL) == SQLITE_OK;
	sqlite3_close(db);
	/* the first of stem, stem.1, stem.2 ... free with its side files:
	 * an earlier backup (rebuild-state twice in one second) is never
	 * replaced */
	for (k = 0; k < 1000 && rc != 0; k++) {
		if (k == 0)
			snprintf(backup, n, "%s", stem);
		else
			snprintf(backup, n, "%s.%d", stem, k);
		for (i = 0; i < 2; i++) {
			snprintf(to, sizeof(to), "%s%s", backup, sides[i]);
			if (path_taken(to))
				break;
		}
		if (i < 2 || path_taken(backup))
			continue;
		if ((rc = move_new(path, backup)) != 0 && errno != EEXIST) {
			err_object(err, path);
			return err_set(err, DS_E_IO, "cannot move it to %s: "
				       "%s", backup, strerror(errno));
		}
	}
	if (rc != 0) {
		err_object(err, path);
		return err_set(err, DS_E_IO, "cannot move it aside: %s and "
			       "999 numbered names after it are taken", stem);
	}
	for (i = 0; i < 2; i++) {
		snprintf(side, sizeof(side), "%s%s", path, sides[i]);
		snprintf(to, sizeof(to), "%s%s", backup, sides[i]);
		if (whole || move_new(side, to) != 0)
			unlink(side);
	}
	return 0;
}

/* The first id of a one-column query on run_id (and plan), 0 if none. */
static long long
later_id(struct state *st, const char *sql, long long run_id,
	 const char *plan, struct err *err)
{
	sqlite3_stmt *q = NULL;
	long long id = 0;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
		db_err(st, err, "approve");
		return -1;
	}
	sqlite3_bind_int64(q, 1, run_id);
	if (plan != NULL)
		sqlite3_bind_text(q, 2, plan, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_err(st, err, "approve");
		return -1;
	}
	return id;
}

/*
 * The runs after the one approved (struct run_approval): a run that
 * applied its plan by approval says so in its report (forced_limit.
 * approved_run, and approved_run since a run within every limit says
 * it too), of this run or of another that kept the same plan.
 * Only forced runs are looked at, so that the reports of the many
 * ordinary runs are not parsed.
 */
static int
approval_later(struct state *st, long long run_id, struct run_approval *a,
	       struct err *err)
{
	static const char by_sql[] =
		"SELECT r.id FROM runs r WHERE r.id > ?1 AND r.seconds IS "
		"NOT NULL AND r.applied != 0 AND r.forced != 0 AND "
		"json_valid(r.report) AND EXISTS (SELECT 1 FROM runs k "
		"WHERE k.id = json_extract(r.report, "
		"'$.forced_limit.approved_run') AND (k.id = ?1 OR k.plan = "
		"?2)) ORDER BY r.id LIMIT 1";
	/* an approval within every limit by then is not forced: its
	 * report's approved_run says it; only the first run that synced
	 * after the stop can be that run (any other is out of date), so
	 * one report is parsed */
	static const char within_sql[] =
		"SELECT r.id FROM runs r WHERE r.id = (SELECT id FROM runs "
		"WHERE id > ?1 AND seconds IS NOT NULL AND (exit_code = 0 OR "
		"applied != 0) ORDER BY id LIMIT 1) AND r.applied != 0 AND "
		"json_valid(r.report) AND EXISTS (SELECT 1 FROM runs k WHERE "
		"k.id = json_extract(r.report, '$.approved_run') AND (k.id = "
		"?1 OR k.plan = ?2))";
	static const char synced_sql[] =
		"SELECT id FROM runs WHERE id > ?1 AND seconds IS NOT NULL "
		"AND (exit_code = 0 OR applied != 0) ORDER BY id LIMIT 1";
	static const char stop_sql[] =
		"SELECT id FROM runs WHERE id > ?1 AND seconds IS NOT NULL "
		"AND exit_code = 3 AND applied = 0 ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *q = NULL;

	if ((a->applied_by = later_id(st, by_sql, run_id, a->plan, err)) < 0 ||
	    (a->applied_by == 0 &&
	     (a->applied_by = later_id(st, within_sql, run_id, a->plan,
				       err)) < 0) ||
	    (a->synced_by = later_id(st, synced_sql, run_id, NULL, err)) < 0 ||
	    (a->newer_stop = later_id(st, stop_sql, run_id, NULL, err)) < 0)
		return -1;
	if (a->newer_stop == 0)
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT plan IS ?2 FROM runs WHERE "
			       "id = ?1", -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "approve");
	sqlite3_bind_int64(q, 1, a->newer_stop);
	sqlite3_bind_text(q, 2, a->plan, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		a->newer_same = sqlite3_column_int(q, 0) != 0;
	sqlite3_finalize(q);
	return 0;
}

int
state_run_approval(struct state *st, long long run_id,
		   struct run_approval *a, struct err *err)
{
	sqlite3_stmt *q = NULL;
	bool plans;

	memset(a, 0, sizeof(*a));
	a->exit_code = -1;
	if (st->db == NULL || !has_table(st, "runs"))
		return 0;
	plans = has_column(st, "runs", "plan");
	if (sqlite3_prepare_v2(st->db,
			       plans ? "SELECT exit_code, plan, applied, "
				       "CASE WHEN json_valid(report) THEN "
				       "json_extract(report, "
				       "'$.limit_exceeded.limit') END, "
				       "CASE WHEN json_valid(report) THEN "
				       "json_extract(report, "
				       "'$.limit_exceeded.held') END FROM "
				       "runs WHERE id = ? AND seconds IS NOT "
				       "NULL"
				     : "SELECT exit_code, NULL, applied, NULL, NULL "
				       "FROM runs WHERE id = ? AND seconds IS "
				       "NOT NULL",
			       -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "approve");
	sqlite3_bind_int64(q, 1, run_id);
	if (sqlite3_step(q) == SQLITE_ROW) {
		a->found = true;
		a->exit_code = sqlite3_column_int(q, 0);
		a->applied = sqlite3_column_int(q, 2) != 0;
		if (sqlite3_column_type(q, 1) != SQLITE_NULL)
			a->plan = xstrdup((const char *)sqlite3_column_text(q, 1));
		if (sqlite3_column_type(q, 3) == SQLITE_TEXT)
			a->limit = xstrdup((const char *)sqlite3_column_text(q, 3));
		a->held = sqlite3_column_int(q, 4) != 0;
	}
	sqlite3_finalize(q);
	if (!a->found || a->plan == NULL)
		return 0;
	return approval_later(st, run_id, a, err);
}

void
run_approval_free(struct run_approval *a)
{
	free(a->plan);
	free(a->limit);
	memset(a, 0, sizeof(*a));
}

int
state_approval_set(struct state *st, long long run_id, struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR REPLACE INTO meta VALUES "
			       "('approved_run', ?)",
			       -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "approve");
	sqlite3_bind_int64(q, 1, run_id);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "approve");
}

int
state_approval_take(struct state *st, long long *run_id, struct err *err)
{
	sqlite3_stmt *q = NULL;

	*run_id = 0;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_err(st, err, "approval");
	if (sqlite3_prepare_v2(st->db,
			       "SELECT value FROM meta WHERE key = "
			       "'approved_run'",
			       -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		*run_id = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (sqlite3_exec(st->db,
			 "DELETE FROM meta WHERE key = 'approved_run'; COMMIT",
			 NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		*run_id = 0;
		return db_err(st, err, "approval");
	}
	return 0;
}

int
state_meta_get(struct state *st, const char *key, char **out,
		struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*out = NULL;
	if (st == NULL || st->db == NULL || !has_table(st, "meta"))
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?",
			       -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "meta");
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL)
		*out = xstrdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, err, "meta");
	return 0;
}

int
state_meta_put(struct state *st, const char *key, const char *value,
		struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       value != NULL
				       ? "INSERT OR REPLACE INTO meta VALUES (?, ?)"
				       : "DELETE FROM meta WHERE key = ?",
			       -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "meta");
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (value != NULL)
		sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "meta");
}

void
state_close(struct state *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int
state_mailbox_of(struct state *st, const char *anchor, char **address,
		 long long *disabled_at, struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*address = NULL;
	*disabled_at = 0;
	if (st->db == NULL || !has_table(st, "managed"))
		return 0;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT address, disabled_at FROM managed "
			       "WHERE anchor = ? AND kind = 'mailbox'",
			       -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "find mailbox");
	sqlite3_bind_text(q, 1, anchor, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL) {
		*address = xstrdup((const char *)sqlite3_column_text(q, 0));
		*disabled_at = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, err, "find mailbox");
	return 0;
}

int
state_verified_get(struct state *st, struct state_verified *v, bool *found,
		   struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(v, 0, sizeof(*v));
	*found = false;
	if (st->db == NULL || !has_table(st, "verified"))
		return 0;
	if (sqlite3_prepare_v2(st->db,
			       has_column(st, "verified", "clashes")
				       ? "SELECT run_id, digest, config,"
					 " fingerprint, verified_at, due,"
					 " partial_ok, frozen, clashes"
					 " FROM verified WHERE id = 1"
				       : "SELECT run_id, digest, config,"
					 " fingerprint, verified_at, due,"
					 " partial_ok, frozen, ''"
					 " FROM verified WHERE id = 1",
			       -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "read verified run");
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*found = true;
		v->run_id = sqlite3_column_int64(q, 0);
		snprintf(v->digest, sizeof(v->digest), "%s",
			 (const char *)sqlite3_column_text(q, 1));
		snprintf(v->config, sizeof(v->config), "%s",
			 (const char *)sqlite3_column_text(q, 2));
		snprintf(v->fingerprint, sizeof(v->fingerprint), "%s",
			 (const char *)sqlite3_column_text(q, 3));
		v->verified_at = sqlite3_column_int64(q, 4);
		v->due = sqlite3_column_int64(q, 5);
		v->partial_ok = sqlite3_column_int(q, 6) != 0;
		snprintf(v->frozen, sizeof(v->frozen), "%s",
			 (const char *)sqlite3_column_text(q, 7));
		if (sqlite3_column_bytes(q, 8) > 0)
			v->clashes = xstrdup(
				(const char *)sqlite3_column_text(q, 8));
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, err, "read verified run");
	return 0;
}

static int
raw_pairs(struct state *st, uint64_t **pairs, size_t *n, struct err *err)
{
	sqlite3_stmt *q = NULL;
	const void *blob;
	size_t len;
	int rc;

	*pairs = NULL;
	*n = 0;
	if (st->db == NULL || !has_table(st, "verified_objects"))
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT objects FROM verified_objects"
			       " WHERE id = 1", -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "read verified objects");
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		blob = sqlite3_column_blob(q, 0);
		len = (size_t)sqlite3_column_bytes(q, 0);
		if (blob != NULL && len > 0 &&
		    len % (2 * sizeof(uint64_t)) == 0) {
			*pairs = xmalloc(len);
			memcpy(*pairs, blob, len);
			*n = len / (2 * sizeof(uint64_t));
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, err, "read verified objects");
	return 0;
}

static int
raw_addresses(struct state *st, char **addrs, size_t *len, struct err *err)
{
	sqlite3_blob *b = NULL;
	char *v;
	int n;

	*addrs = NULL;
	*len = 0;
	if (st->db == NULL || !has_table(st, "verified_names"))
		return 0;
	if (sqlite3_blob_open(st->db, "main", "verified_names", "addresses",
			      1, 0, &b) != SQLITE_OK) {
		sqlite3_blob_close(b);
		return 0;   /* no row: none kept */
	}
	n = sqlite3_blob_bytes(b);
	v = xmalloc(n > 0 ? (size_t)n : 1);
	if (n > 0 && sqlite3_blob_read(b, v, n, 0) != SQLITE_OK) {
		free(v);
		sqlite3_blob_close(b);
		return db_err(st, err, "read verified addresses");
	}
	sqlite3_blob_close(b);
	/* every address ends in its NUL, the last one too */
	if (n <= 0 || v[n - 1] != '\0') {
		free(v);
		return 0;
	}
	*addrs = v;
	*len = (size_t)n;
	return 0;
}

/* The patch rows (state_verified_patch); -1 on a read error. */
struct patches {
	struct state_patch *v;
	size_t n, cap;
	struct strmap at;          /* address -> patch */
};

static void
patches_free(struct patches *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free((char *)p->v[i].address);
	free(p->v);
	strmap_free(&p->at);
	memset(p, 0, sizeof(*p));
}

static int
patches_read(struct state *st, struct patches *p, struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!has_table(st, "verified_patch"))
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT address, ah, ch, gone FROM"
			       " verified_patch", -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "read verified patch");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct state_patch *e;

		p->v = xgrow(p->v, &p->cap, p->n + 1, sizeof(*p->v));
		e = &p->v[p->n++];
		e->address = xstrdup((const char *)sqlite3_column_text(q, 0));
		e->pair[0] = (uint64_t)sqlite3_column_int64(q, 1);
		e->pair[1] = (uint64_t)sqlite3_column_int64(q, 2);
		e->gone = sqlite3_column_int(q, 3) != 0;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		patches_free(p);
		return db_err(st, err, "read verified patch");
	}
	for (size_t i = 0; i < p->n; i++)
		strmap_put(&p->at, p->v[i].address, &p->v[i]);
	return 0;
}

/*
 * The stored pairs and addresses (*pairs, *n, *addrs, *len, malloc'd)
 * with the patches p applied: the objects at patched addresses dropped,
 * the patches' own (not gone) appended.  Without addresses, or when
 * they do not match the pairs, a patched record is none (the next run
 * compares everything).
 */
static void
apply_patches(const struct patches *p, uint64_t **pairs, size_t *n,
	      char **addrs, size_t *len)
{
	uint64_t *np;
	char *na, *cur = *addrs;
	size_t i, k = 0, off = 0, extra = 0;
	bool whole;

	for (i = 0; i < p->n; i++)
		extra += strlen(p->v[i].address) + 1;
	np = xmalloc((*n + p->n + 1) * 2 * sizeof(*np));
	na = xmalloc(*len + extra + 1);
	for (i = 0; cur != NULL && i < *n && cur < *addrs + *len; i++) {
		size_t l = strlen(cur) + 1;

		if (strmap_get(&p->at, cur) == NULL) {
			np[2 * k] = (*pairs)[2 * i];
			np[2 * k + 1] = (*pairs)[2 * i + 1];
			memcpy(na + off, cur, l);
			off += l;
			k++;
		}
		cur += l;
	}
	/* no base to patch, or it does not add up: none */
	whole = *pairs != NULL && cur != NULL && i == *n &&
		cur == *addrs + *len;
	if (!whole)
		k = off = 0;
	for (i = 0; whole && i < p->n; i++) {
		size_t l = strlen(p->v[i].address) + 1;

		if (p->v[i].gone)
			continue;
		np[2 * k] = p->v[i].pair[0];
		np[2 * k + 1] = p->v[i].pair[1];
		memcpy(na + off, p->v[i].address, l);
		off += l;
		k++;
	}
	free(*pairs);
	free(*addrs);
	*pairs = k > 0 ? np : NULL;
	*addrs = off > 0 ? na : NULL;
	*n = k;
	*len = off;
	if (k == 0)
		free(np);
	if (off == 0)
		free(na);
}

int
state_verified_objects(struct state *st, uint64_t **pairs, size_t *n,
		       char **addrs, size_t *len, struct err *err)
{
	struct patches p;
	char *a = NULL;
	size_t l = 0;
	int rc;

	*pairs = NULL;
	*n = 0;
	if (addrs != NULL) {
		*addrs = NULL;
		*len = 0;
	}
	if (st->db == NULL)
		return 0;
	if (patches_read(st, &p, err) != 0)
		return -1;
	if (p.n == 0) {     /* the record as written */
		patches_free(&p);
		if (raw_pairs(st, pairs, n, err) != 0)
			return -1;
		return addrs == NULL ? 0 : raw_addresses(st, addrs, len, err);
	}
	rc = raw_pairs(st, pairs, n, err) == 0 &&
		     raw_addresses(st, &a, &l, err) == 0
	     ? 0 : -1;
	if (rc == 0)
		apply_patches(&p, pairs, n, &a, &l);
	patches_free(&p);
	if (rc != 0) {
		free(*pairs);
		*pairs = NULL;
		*n = 0;
	}
	if (rc == 0 && addrs != NULL) {
		*addrs = a;
		*len = l;
	} else {
		free(a);
	}
	return rc;
}

size_t
state_verified_npatches(struct state *st)
{
	sqlite3_stmt *q = NULL;
	size_t n = 0;

	if (st->db == NULL || !has_table(st, "verified_patch"))
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM verified_patch",
			       -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		n = (size_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* The names into the zeroblob the record was given, 64 KiB at a time. */
static int
write_names(struct state *st, state_name_cb name, void *ctx, size_t n)
{
	enum { CHUNK = 65536 };
	char *buf = xmalloc(CHUNK);
	sqlite3_blob *b = NULL;
	size_t i, used = 0, off = 0, l;
	int rc;

	rc = sqlite3_blob_open(st->db, "main", "verified_names", "addresses",
			       1, 1, &b);
	for (i = 0; rc == SQLITE_OK && i <= n; i++) {
		const char *a = i < n ? name(ctx, i) : NULL;

		l = a != NULL ? strlen(a) + 1 : 0;
		if (used > 0 && (a == NULL || used + l > CHUNK)) {
			rc = sqlite3_blob_write(b, buf, (int)used, (int)off);
			off += used;
			used = 0;
		}
		if (a == NULL)
			continue;
		if (l > CHUNK) {   /* never: addresses are short */
			rc = SQLITE_TOOBIG;
			break;
		}
		memcpy(buf + used, a, l);
		used += l;
	}
	sqlite3_blob_close(b);
	free(buf);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The pairs into the zeroblob the record was given, a chunk at a time. */
static int
write_pairs(struct state *st, state_pairs_cb pairs, void *ctx, size_t n)
{
	enum { CHUNK = 4096 };   /* pairs: 64 KiB */
	uint64_t *buf = xmalloc(2 * CHUNK * sizeof(*buf));
	sqlite3_blob *b = NULL;
	size_t from, k;
	int rc;

	rc = sqlite3_blob_open(st->db, "main", "verified_objects", "objects",
			       1, 1, &b);
	for (from = 0; rc == SQLITE_OK && from < n; from += k) {
		k = n - from < CHUNK ? n - from : CHUNK;
		pairs(ctx, from, k, buf);
		rc = sqlite3_blob_write(b, buf, (int)(k * sizeof(buf[0]) * 2),
					(int)(from * sizeof(buf[0]) * 2));
	}
	sqlite3_blob_close(b);
	free(buf);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * The names' blob: replaced by one of their total size, then written a
 * chunk at a time; without a name callback (or past a blob's size) the
 * old one goes, so that no stale names outlive their pairs.
 */
static int
put_names(struct state *st, state_name_cb name, void *ctx, size_t n)
{
	sqlite3_stmt *q = NULL;
	size_t i, total = 0;
	int rc;

	for (i = 0; name != NULL && i < n; i++)
		total += strlen(name(ctx, i)) + 1;
	if (name == NULL || total == 0 || total > 0x7fffffffUL)
		return sqlite3_exec(st->db, "DELETE FROM verified_names", NULL,
				    NULL, NULL);
	rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO"
				" verified_names VALUES (1, ?)", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_zeroblob(q, 1, (int)total);
		rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_OK && write_names(st, name, ctx, n) != 0)
		rc = SQLITE_ERROR;
	return rc;
}

/* The verified row (inside the caller's transaction): SQLITE_OK or not. */
static int
put_row(struct state *st, const struct state_verified *v)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_prepare_v2(
		st->db,
		"INSERT OR REPLACE INTO verified (id, run_id, digest, config,"
		" fingerprint, verified_at, due, partial_ok, frozen, clashes)"
		" VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		-1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, v->run_id);
		sqlite3_bind_text(q, 2, v->digest, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, v->config, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, v->fingerprint, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 5, v->verified_at);
		sqlite3_bind_int64(q, 6, v->due);
		sqlite3_bind_int(q, 7, v->partial_ok ? 1 : 0);
		sqlite3_bind_text(q, 8, v->frozen, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 9, v->clashes != NULL ? v->clashes : "",
				  -1, SQLITE_STATIC);
		rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(q);
	return rc;
}

/* The record's transaction: committed when rc is SQLITE_OK, else undone. */
static int
record_end(struct state *st, int rc, struct err *err)
{
	if (rc != SQLITE_OK ||
	    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(st, err, "record verified run");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int
state_verified_patch(struct state *st, const struct state_verified *v,
		     const struct state_patch *p, size_t n, struct err *err)
{
	sqlite3_stmt *q = NULL;
	size_t i;
	int rc;

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_err(st, err, "record verified run");
	rc = put_row(st, v);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO"
					" verified_patch VALUES (?, ?, ?, ?)",
					-1, &q, NULL);
	for (i = 0; rc == SQLITE_OK && i < n; i++) {
		sqlite3_bind_text(q, 1, p[i].address, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)p[i].pair[0]);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)p[i].pair[1]);
		sqlite3_bind_int(q, 4, p[i].gone ? 1 : 0);
		rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	return record_end(st, rc, err);
}

int
state_verified_put(struct state *st, const struct state_verified *v,
		   state_pairs_cb pairs, state_name_cb name, void *ctx,
		   size_t npairs, struct err *err)
{
	sqlite3_stmt *q = NULL;
	size_t bytes = npairs * 2 * sizeof(uint64_t);
	int rc;

	if (pairs != NULL && bytes > 0x7fffffffUL)
		pairs = NULL;   /* past a blob's size: keep none */
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_err(st, err, "record verified run");
	rc = put_row(st, v);
	/* new pairs replace the stored ones and their patches */
	if (rc == SQLITE_OK && pairs != NULL)
		rc = sqlite3_exec(st->db, "DELETE FROM verified_patch", NULL,
				  NULL, NULL);
	if (rc == SQLITE_OK && pairs != NULL) {
		rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO"
					" verified_objects (id, objects) VALUES (1, ?)",
					-1, &q, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_zeroblob(q, 1, (int)bytes);
			rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK
							    : SQLITE_ERROR;
		}
		sqlite3_finalize(q);
	}
	if (rc == SQLITE_OK && pairs != NULL)
		rc = put_names(st, name, ctx, npairs);
	if (rc == SQLITE_OK && pairs != NULL && bytes > 0 &&
	    write_pairs(st, pairs, ctx, npairs) != 0)
		rc = SQLITE_ERROR;
	return record_end(st, rc, err);
}

int
state_verified_clear(struct state *st, struct err *err)
{
	if (st->db == NULL || !has_table(st, "verified"))
		return 0;
	if (sqlite3_exec(st->db, "DELETE FROM verified;"
			 " DELETE FROM verified_objects;"
			 " DELETE FROM verified_names;"
			 " DELETE FROM meta WHERE key = 'unverified_why'",
			 NULL, NULL, NULL) !=
		    SQLITE_OK ||
	    (has_table(st, "verified_patch") &&
	     sqlite3_exec(st->db, "DELETE FROM verified_patch", NULL, NULL,
			  NULL) != SQLITE_OK))
		return db_err(st, err, "clear verified run");
	return 0;
}

/*
 * syncsnap.c - the snapshot of the last read (see syncsnap.h).
 */
#include "state/syncsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "conf/conf.h"
#include "util/buf.h"
#include "util/i64sort.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/thread.h"
#include "util/xalloc.h"

/*
 * The layout this version writes; any other is not used (a full read).
 * 2: the containers (OUs) are kept too (engine/read.c).
 * 3: the key index (ref) and each row's keys.
 * 4: each row's data ends in a checksum of the rest (row_seal): bytes
 *    changed inside a row whose page is intact are found, not taken for
 *    the directory's.
 */
#define SYNCSNAP_VERSION "4"

/* The checksum ending a row's data: XXH3-64 of the bytes before it. */
#define ROW_SUM 8

/* Bounds checked when decoding (a blob is ours, but a file may rot). */
#define SNAP_MAX_ATTRS 4096
#define SNAP_MAX_VALS 10000000UL

struct syncsnap {
	sqlite3 *db;
	char *path;        /* the snapshot's file */
	char *tmp;         /* created: "<path>.new"; NULL otherwise */
	bool in_tx;
	bool holding;               /* syncsnap_hold(): a read transaction */
	sqlite3_stmt *put, *del, *keys, *unref, *ref, *find, *get;
	/* the first failed syncsnap_get (its SQLite error), else 0 */
	int get_rc;
	char get_msg[200];
	/*
	 * While held for reading (syncsnap_hold, no write yet): the rows
	 * syncsnap_get found or did not find, uuid -> struct memo.  An
	 * incremental run asks for a changed entry's row three times (its
	 * DN for a rename, its existence, its content for the rules): each
	 * a B-tree descent and a copy.  Dropped at the first write.
	 */
	struct strmap memo;
	/* the same for syncsnap_find: key -> struct fmemo.  The rules over
	 * a delta ask for the same key again and again (at 1M entries,
	 * 1% changed: 69,555 lookups of 39,369 keys) */
	struct strmap fmemo;
	size_t memo_bytes;
	/* rows the file's last commit said it left, as opened; 0: not
	 * checked (a file this handle created or committed) */
	long long entries;
};

struct memo {
	void *blob;                /* NULL: no such row */
	size_t len;
};

struct fmemo {
	size_t n;
	char *uuid[];              /* n of them, the strings after */
};

/* Past this the rows read are no longer kept (bytes). */
#define MEMO_MAX (64u << 20)

static void
memo_free(struct syncsnap *s)
{
	const char *k;
	void *v;
	size_t it = 0;

	while (strmap_next(&s->memo, &it, &k, &v)) {
		free(((struct memo *)v)->blob);
		free(v);
		free((char *)k);
	}
	strmap_free(&s->memo);
	it = 0;
	while (strmap_next(&s->fmemo, &it, &k, &v)) {
		free(v);
		free((char *)k);
	}
	strmap_free(&s->fmemo);
	s->memo_bytes = 0;
}

/*
 * entry.keys: the row's key hashes (syncsnap_key_hash), 8 bytes each,
 * native order (the file never leaves the machine that wrote it: a
 * snapshot of another layout is not read, see SYNCSNAP_VERSION), so
 * that a replaced or deleted row's refs can be found and dropped.
 * ref: one row per (key hash, uuid), WITHOUT ROWID so that a lookup by
 * hash is one b-tree descent.  A created snapshot collects its refs in
 * a temporary table and sorts them into ref at commit (random-order
 * inserts into a large b-tree rewrite its pages over and over).
 */
static const char snap_ddl[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);"
	"CREATE TABLE IF NOT EXISTS entry (uuid TEXT PRIMARY KEY,"
	" data BLOB NOT NULL, keys BLOB);"
	"CREATE TABLE IF NOT EXISTS ref (h INTEGER NOT NULL,"
	" uuid TEXT NOT NULL, PRIMARY KEY (h, uuid)) WITHOUT ROWID;";

int64_t
syncsnap_key_hash(const char *key)
{
	return (int64_t)XXH3_64bits(key, strlen(key));
}

char *
syncsnap_path(const char *state_path)
{
	return xasprintf("%s.snapshot", state_path);
}

static int
snap_err(struct syncsnap *s, struct err *err, const char *where)
{
	err->lib_rc = s->db != NULL ? sqlite3_errcode(s->db) : 0;
	err_where(err, where);
	/* the file in the message: callers may log err->msg alone */
	return err_set(err, DS_E_STATE, "%s: %s",
		       s->tmp != NULL ? s->tmp : s->path,
		       s->db != NULL ? sqlite3_errmsg(s->db) : "no database");
}

static void
meta_text(sqlite3 *db, const char *key, char *out, size_t len)
{
	sqlite3_stmt *q = NULL;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1,
			       &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW &&
		    sqlite3_column_text(q, 0) != NULL)
			snprintf(out, len, "%s", sqlite3_column_text(q, 0));
	}
	sqlite3_finalize(q);
}

static void
meta_read(sqlite3 *db, struct syncsnap_meta *m)
{
	sqlite3_stmt *q = NULL;
	char num[32];

	memset(m, 0, sizeof(*m));
	meta_text(db, "server", m->server, sizeof(m->server));
	meta_text(db, "conf_hash", m->conf_hash, sizeof(m->conf_hash));
	meta_text(db, "full_at", num, sizeof(num));
	m->full_at = strtoll(num, NULL, 10);
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = "
			       "'cookie'", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW &&
	    sqlite3_column_type(q, 0) == SQLITE_BLOB) {
		int n = sqlite3_column_bytes(q, 0);

		m->cookie = xmalloc((size_t)n + 1);
		memcpy(m->cookie, sqlite3_column_blob(q, 0), (size_t)n);
		m->cookie[n] = '\0';
		m->cookie_len = (size_t)n;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = "
			       "'summary'", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW &&
	    sqlite3_column_type(q, 0) == SQLITE_TEXT)
		m->summary = xstrdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	q = NULL;
	/* the count kept at commit; counting a million rows is a scan */
	meta_text(db, "entries", num, sizeof(num));
	if (num[0] != '\0') {
		m->entries = strtoll(num, NULL, 10);
		return;
	}
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM entry", -1, &q,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		m->entries = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
}

void
syncsnap_meta_free(struct syncsnap_meta *m)
{
	free(m->cookie);
	m->cookie = NULL;
	m->cookie_len = 0;
	free(m->summary);
	m->summary = NULL;
}

int
syncsnap_open(struct syncsnap **out, const char *path, bool readonly,
	      struct syncsnap_meta *m, const char **why, struct err *err)
{
	struct syncsnap *s;
	struct stat sb;
	char ver[16];

	*out = NULL;
	memset(m, 0, sizeof(*m));
	if (stat(path, &sb) != 0) {
		*why = "no snapshot of an earlier read (a first run, or the "
		       "snapshot was removed)";
		return 1;
	}
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	if (sqlite3_open_v2(path, &s->db,
			    readonly ? SQLITE_OPEN_READONLY
				     : SQLITE_OPEN_READWRITE,
			    NULL) != SQLITE_OK) {
		snap_err(s, err, "open snapshot");
		syncsnap_close(s);
		return -1;
	}
	sqlite3_busy_timeout(s->db, 10000);
	meta_text(s->db, "version", ver, sizeof(ver));
	if (strcmp(ver, SYNCSNAP_VERSION) != 0) {
		*why = "the snapshot of the last read is unreadable or of "
		       "another version";
		syncsnap_close(s);
		return 1;
	}
	meta_text(s->db, "pending", ver, sizeof(ver));
	if (strcmp(ver, "1") == 0) {
		*why = "the last run wrote the snapshot's rows but did not "
		       "confirm its read (its mail database changes failed, "
		       "or it was stopped)";
		syncsnap_close(s);
		return 1;
	}
	meta_read(s->db, m);
	/* an empty cookie is none: sent, a server would answer as to a
	 * first read, every entry "add" and no delete */
	if (m->cookie == NULL || m->cookie_len == 0) {
		*why = "the last read left no cookie";
		syncsnap_close(s);
		return 1;
	}
	s->entries = m->entries;
	*out = s;
	return 0;
}

int
syncsnap_create(struct syncsnap **out, const char *path, struct err *err)
{
	struct syncsnap *s = xcalloc(1, sizeof(*s));

	*out = NULL;
	s->path = xstrdup(path);
	s->tmp = xasprintf("%s.new", path);
	unlink(s->tmp);
	if (sqlite3_open_v2(s->tmp, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK ||
	    /* the directory's names and addresses: for dirsync only */
	    chmod(s->tmp, 0600) != 0 ||
	    /* built on the side and renamed into place: no journal needed */
	    sqlite3_exec(s->db, "PRAGMA journal_mode=OFF;"
			 "PRAGMA synchronous=OFF;", NULL, NULL, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(s->db, snap_ddl, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, "CREATE TEMP TABLE ref0 (h INTEGER, uuid "
			 "TEXT)", NULL, NULL, NULL) != SQLITE_OK ||
	    syncsnap_begin(s, err) != 0) {
		snap_err(s, err, "create snapshot");
		syncsnap_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
syncsnap_hold(struct syncsnap *s, struct err *err)
{
	/*
	 * 4 MiB of pages for the upper levels of the key and reference
	 * indexes; the rows an incremental run visits are kept by the memo
	 * (syncsnap_get).  Measured at 1M entries (docs/benchmarks.md): a
	 * cache of 64 MiB cost 0.3 s more CPU than 4 MiB, its fresh pages
	 * dearer than reading a page again from the OS's cache.
	 */
	long long kib = 4096;
	char sql[64];

	if (s->in_tx || s->holding)
		return 0;
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%lld; BEGIN", kib);
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot read");
	s->holding = true;
	return 0;
}

int
syncsnap_begin(struct syncsnap *s, struct err *err)
{
	if (s->in_tx)
		return 0;
	memo_free(s);
	/* a held read transaction becomes the write one at its first
	 * write (the snapshot has one writer: the run holding the lock) */
	if ((!s->holding &&
	     sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		     SQLITE_OK) ||
	    /* an update in place: REPLACE deleted the row and appended it
	     * under a new rowid, a page more to write for each */
	    sqlite3_prepare_v2(s->db, "INSERT INTO entry VALUES (?, ?, ?)"
			       " ON CONFLICT (uuid) DO UPDATE SET"
			       " data = excluded.data, keys = excluded.keys",
			       -1, &s->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM entry WHERE uuid = ?", -1,
			       &s->del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "SELECT keys FROM entry WHERE uuid = ?",
			       -1, &s->keys, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM ref WHERE h = ? AND "
			       "uuid = ?", -1, &s->unref, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, s->tmp != NULL
				   ? "INSERT INTO temp.ref0 VALUES (?, ?)"
				   : "INSERT OR IGNORE INTO ref VALUES (?, ?)",
			       -1, &s->ref, NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot transaction");
	s->in_tx = true;
	s->holding = false;
	return 0;
}

/*
 * Drops the refs of uuid's current row that are not among h[0 .. n)
 * (sorted; NULL, 0: all of them), and marks in had[] the ones of h the
 * row has already (they need no insert).  An incremental change mostly
 * keeps its keys: only the difference touches the index.
 */
static int
unref_row(struct syncsnap *s, const char *uuid, const int64_t *h, size_t n,
	  bool *had)
{
	const unsigned char *k;
	size_t nk, i, j = 0;
	int rc;

	if (s->tmp != NULL)
		return 0;      /* a created snapshot: every row is new */
	sqlite3_bind_text(s->keys, 1, uuid, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s->keys)) == SQLITE_ROW &&
	    sqlite3_column_type(s->keys, 0) == SQLITE_BLOB) {
		int64_t *old;

		k = sqlite3_column_blob(s->keys, 0);
		nk = (size_t)sqlite3_column_bytes(s->keys, 0) / 8;
		old = xmalloc((nk ? nk : 1) * sizeof(*old));
		if (nk > 0)     /* an empty blob is a NULL pointer */
			memcpy(old, k, nk * 8);
		if (nk > 1)
			i64sort(old, nk);
		for (i = 0; i < nk && rc == SQLITE_ROW; i++) {
			while (j < n && h[j] < old[i])
				j++;
			if (j < n && h[j] == old[i]) {
				had[j] = true;
				continue;
			}
			sqlite3_bind_int64(s->unref, 1, old[i]);
			sqlite3_bind_text(s->unref, 2, uuid, -1,
					  SQLITE_STATIC);
			if (sqlite3_step(s->unref) != SQLITE_DONE)
				rc = SQLITE_ERROR;
			sqlite3_reset(s->unref);
		}
		free(old);
		if (rc == SQLITE_ROW)
			rc = SQLITE_DONE;
	}
	sqlite3_reset(s->keys);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A row's data as stored: blob, then its checksum (malloc'd). */
static void *
row_seal(const void *blob, size_t len)
{
	unsigned char *out = xmalloc(len + ROW_SUM);
	uint64_t sum = XXH3_64bits(blob, len);

	memcpy(out, blob, len);
	memcpy(out + len, &sum, ROW_SUM);
	return out;
}

/* The length of a stored row's blob, or -1 when its checksum fails. */
static long long
row_open(const void *data, size_t len)
{
	uint64_t sum;

	if (data == NULL || len < ROW_SUM)
		return -1;
	memcpy(&sum, (const unsigned char *)data + len - ROW_SUM, ROW_SUM);
	if (XXH3_64bits(data, len - ROW_SUM) != sum)
		return -1;
	return (long long)(len - ROW_SUM);
}

int64_t *
syncsnap_key_hashes(const char *const *keys, size_t nkeys, size_t *nout)
{
	int64_t *h = xmalloc((nkeys ? nkeys : 1) * sizeof(*h));
	size_t i, n = 0;

	for (i = 0; i < nkeys; i++)
		h[i] = syncsnap_key_hash(keys[i]);
	if (nkeys > 1)
		i64sort(h, nkeys);
	for (i = 0; i < nkeys; i++)     /* two keys of one hash: one ref */
		if (n == 0 || h[i] != h[n - 1])
			h[n++] = h[i];
	*nout = n;
	return h;
}

int
syncsnap_put(struct syncsnap *s, const char *uuid, const void *blob,
	     size_t len, const char *const *keys, size_t nkeys,
	     struct err *err)
{
	size_t n;
	int64_t *h = syncsnap_key_hashes(keys, nkeys, &n);
	int rc = syncsnap_put_hashed(s, uuid, blob, len, h, n, err);

	free(h);
	return rc;
}

int
syncsnap_put_hashed(struct syncsnap *s, const char *uuid, const void *blob,
		    size_t len, const int64_t *h, size_t n, struct err *err)
{
	bool *had = xcalloc(n ? n : 1, sizeof(*had));
	void *sealed;
	size_t i;
	int rc;

	if (unref_row(s, uuid, h, n, had) != 0) {
		free(had);
		return snap_err(s, err, "snapshot write");
	}
	sealed = row_seal(blob, len);
	sqlite3_bind_text(s->put, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s->put, 2, sealed, (int)(len + ROW_SUM),
			  SQLITE_STATIC);
	sqlite3_bind_blob(s->put, 3, h, (int)(n * sizeof(*h)),
			  SQLITE_STATIC);
	rc = sqlite3_step(s->put);
	sqlite3_reset(s->put);
	free(sealed);
	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		if (had[i])
			continue;
		sqlite3_bind_int64(s->ref, 1, h[i]);
		sqlite3_bind_text(s->ref, 2, uuid, -1, SQLITE_STATIC);
		rc = sqlite3_step(s->ref);
		sqlite3_reset(s->ref);
	}
	free(had);
	if (rc != SQLITE_DONE)
		return snap_err(s, err, "snapshot write");
	return 0;
}

int
syncsnap_del(struct syncsnap *s, const char *uuid, struct err *err)
{
	int rc;

	if (unref_row(s, uuid, NULL, 0, NULL) != 0)
		return snap_err(s, err, "snapshot delete");
	sqlite3_bind_text(s->del, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(s->del);
	sqlite3_reset(s->del);
	if (rc != SQLITE_DONE)
		return snap_err(s, err, "snapshot delete");
	return 0;
}

int
syncsnap_find(struct syncsnap *s, const char *key,
	      void (*each)(void *arg, const char *uuid), void *arg,
	      struct err *err)
{
	struct fmemo *m;
	bool keep = s->holding && !s->in_tx && s->memo_bytes <= MEMO_MAX;
	struct buf b = BUF_INIT;   /* the uuids found, NUL after each */
	size_t i, n = 0, off;
	int rc;

	if (keep && (m = strmap_get(&s->fmemo, key)) != NULL) {
		for (i = 0; i < m->n; i++)
			each(arg, m->uuid[i]);
		return 0;
	}
	if (s->find == NULL &&
	    sqlite3_prepare_v2(s->db, "SELECT uuid FROM ref WHERE h = ?", -1,
			       &s->find, NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot index");
	sqlite3_bind_int64(s->find, 1, syncsnap_key_hash(key));
	while ((rc = sqlite3_step(s->find)) == SQLITE_ROW) {
		const char *u = (const char *)sqlite3_column_text(s->find, 0);

		each(arg, u);
		if (keep) {
			buf_adds(&b, u);
			buf_addc(&b, '\0');
			n++;
		}
	}
	sqlite3_reset(s->find);
	if (rc != SQLITE_DONE) {
		buf_free(&b);
		return snap_err(s, err, "snapshot index");
	}
	if (keep) {
		m = xmalloc(sizeof(*m) + n * sizeof(m->uuid[0]) + b.len);
		m->n = n;
		if (b.len > 0)	/* b.p is NULL when nothing was found */
			memcpy(&m->uuid[n], b.p, b.len);
		for (i = 0, off = 0; i < n; i++) {
			m->uuid[i] = (char *)&m->uuid[n] + off;
			off += strlen(m->uuid[i]) + 1;
		}
		s->memo_bytes += sizeof(*m) + n * sizeof(m->uuid[0]) + b.len +
				 strlen(key) + 64;
		strmap_put(&s->fmemo, xstrdup(key), m);
	}
	buf_free(&b);
	return 0;
}

static int
meta_put(struct syncsnap *s, const char *key, const char *text,
	 const void *blob, size_t len)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta VALUES "
			       "(?, ?)", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (blob != NULL)
		sqlite3_bind_blob(q, 2, blob, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
stmts_free(struct syncsnap *s)
{
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->del);
	sqlite3_finalize(s->keys);
	sqlite3_finalize(s->unref);
	sqlite3_finalize(s->ref);
	sqlite3_finalize(s->find);
	sqlite3_finalize(s->get);
	s->put = s->del = s->keys = s->unref = s->ref = s->find = NULL;
	s->get = NULL;
}

/* fsync the new file and rename it over the old one. */
static int
snap_publish(struct syncsnap *s, struct err *err)
{
	int fd = open(s->tmp, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	if (rename(s->tmp, s->path) != 0) {
		err->lib_rc = errno;
		return err_set(err, DS_E_IO, "cannot put the new snapshot %s "
			       "in place as %s: %s", s->tmp, s->path,
			       strerror(errno));
	}
	free(s->tmp);
	s->tmp = NULL;
	return 0;
}

int
syncsnap_commit(struct syncsnap *s, const struct syncsnap_meta *m,
		struct err *err)
{
	char num[32], entries[32];

	/* scan()'s count check is for a file as opened: no longer */
	s->entries = 0;

	if (syncsnap_begin(s, err) != 0)
		return -1;
	snprintf(num, sizeof(num), "%lld", m->full_at);
	snprintf(entries, sizeof(entries), "%lld", m->entries);
	if (meta_put(s, "version", SYNCSNAP_VERSION, NULL, 0) != 0 ||
	    meta_put(s, "pending", "0", NULL, 0) != 0 ||
	    meta_put(s, "server", m->server, NULL, 0) != 0 ||
	    meta_put(s, "conf_hash", m->conf_hash, NULL, 0) != 0 ||
	    meta_put(s, "full_at", num, NULL, 0) != 0 ||
	    meta_put(s, "cookie", NULL, m->cookie, m->cookie_len) != 0 ||
	    meta_put(s, "entries", entries, NULL, 0) != 0 ||
	    meta_put(s, "summary", m->summary, NULL, 0) != 0)
		return snap_err(s, err, "snapshot meta");
	stmts_free(s);
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot commit");
	s->in_tx = false;
	if (s->tmp == NULL)
		return 0;
	/*
	 * The index, sorted, as a statement of its own (the file is not
	 * published before it is done).  temp.ref0 is not dropped: the
	 * close discards the temp database whole, while DROP TABLE
	 * journaled each of its pages, and the temp database's journal
	 * stays in memory (SQLITE_CONFIG_STMTJRNL_SPILL -1, set for the
	 * mail database: sqldrv_sqlite.c): 285 MiB at 1M entries.
	 */
	if (sqlite3_exec(s->db, "INSERT OR IGNORE INTO ref SELECT h, uuid "
			 "FROM temp.ref0 ORDER BY h, uuid", NULL, NULL,
			 NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot index");
	sqlite3_close(s->db);
	s->db = NULL;
	return snap_publish(s, err);
}

void
syncsnap_close(struct syncsnap *s)
{
	if (s == NULL)
		return;
	memo_free(s);
	stmts_free(s);
	if (s->db != NULL && (s->in_tx || s->holding))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (s->db != NULL)
		sqlite3_close(s->db);
	if (s->tmp != NULL)
		unlink(s->tmp);
	free(s->tmp);
	free(s->path);
	free(s);
}

int
syncsnap_bulk_begin(struct syncsnap *s, struct err *err)
{
	if (s->tmp != NULL || s->in_tx)
		return err_set(err, DS_E_INTERNAL, "snapshot: no bulk write "
			       "into a new file or an open transaction");
	if (s->holding) {
		s->holding = false;
		if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK)
			return snap_err(s, err, "snapshot read");
	}
	/* the mark, journaled and synced, before any row goes to disk */
	if (syncsnap_begin(s, err) != 0)
		return -1;
	if (meta_put(s, "pending", "1", NULL, 0) != 0)
		return snap_err(s, err, "snapshot meta");
	stmts_free(s);
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot commit");
	s->in_tx = false;
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=OFF", NULL, NULL,
			 NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot journal");
	return syncsnap_begin(s, err);
}

int
syncsnap_bulk_commit(struct syncsnap *s, struct err *err)
{
	if (!s->in_tx)
		return err_set(err, DS_E_INTERNAL, "snapshot: no bulk write "
			       "open");
	stmts_free(s);
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot commit");
	s->in_tx = false;
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=DELETE", NULL, NULL,
			 NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot journal");
	return 0;
}

int
syncsnap_remove(const char *path, struct err *err)
{
	char *journal = xasprintf("%s-journal", path), *copy, *dir;
	int fd, had = 1;

	if (unlink(path) != 0) {
		if (errno != ENOENT) {
			err->lib_rc = errno;
			err_set(err, DS_E_STATE, "%s: cannot remove the "
				"snapshot: %s", path, strerror(errno));
			free(journal);
			return -1;
		}
		had = 0;
	}
	if (unlink(journal) == 0)
		had = 1;
	free(journal);
	if (!had)
		return 0;
	copy = xstrdup(path);
	dir = dirname(copy);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(fd) != 0)
			log_warn("%s: cannot sync the directory: %s", dir,
				 strerror(errno));
		close(fd);
	}
	free(copy);
	return 1;
}

void
syncsnap_discard(struct syncsnap *s)
{
	char *path;

	if (s == NULL)
		return;
	path = s->tmp == NULL ? xstrdup(s->path) : NULL;
	syncsnap_close(s);
	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		log_warn("%s: cannot remove the snapshot: %s", path,
			 strerror(errno));
	free(path);
}

/* rows (counted) against what the file's last commit left: 0, or -1
 * (DS_E_STATE naming both); 0 for a snapshot that does not say. */
static int
rows_check(struct syncsnap *s, long long rows, struct err *err)
{
	if (s->entries <= 0 || rows == s->entries)
		return 0;
	return err_set(err, DS_E_STATE, "%s: the snapshot holds %lld rows, "
		       "its last read left %lld", s->path, rows, s->entries);
}

int
syncsnap_scan(struct syncsnap *s, syncsnap_row_cb cb, void *ctx,
	      struct err *err)
{
	sqlite3_stmt *q = NULL;
	struct entry e;
	void *scratch = NULL;
	size_t cap = 0;
	long long rows = 0;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT uuid, data FROM entry", -1, &q,
			       NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot read");
	while (ret == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *uuid = (const char *)sqlite3_column_text(q, 0);
		const void *blob = sqlite3_column_blob(q, 1);
		long long len = row_open(blob,
					 (size_t)sqlite3_column_bytes(q, 1));

		rows++;
		if (len < 0) {
			ret = err_set(err, DS_E_STATE, "%s: snapshot row %s "
				      "fails its checksum", s->path, uuid);
			break;
		}
		if (syncsnap_decode(blob, (size_t)len, &e, &scratch,
				    &cap) != 0) {
			ret = err_set(err, DS_E_STATE, "%s: snapshot row %s "
				      "is malformed", s->path, uuid);
			break;
		}
		ret = cb(ctx, uuid, &e, err);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = snap_err(s, err, "snapshot read");
	/* rows gone from the file, or come into it, since its commit */
	if (ret == 0 && !s->in_tx)
		ret = rows_check(s, rows, err);
	sqlite3_finalize(q);
	free(scratch);
	return ret;
}

int
syncsnap_count_check(struct syncsnap *s, struct err *err)
{
	sqlite3_stmt *q = NULL;
	long long rows = -1;

	if (s->entries <= 0 || s->in_tx)
		return 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM entry", -1, &q,
			       NULL) != SQLITE_OK)
		return snap_err(s, err, "snapshot read");
	if (sqlite3_step(q) == SQLITE_ROW)
		rows = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rows < 0)
		return snap_err(s, err, "snapshot read");
	return rows_check(s, rows, err);
}

struct syncsnap_counter {
	pthread_t th;
	bool running;
	char *path;
	long long rows;      /* -1: not counted */
};

static void *
counter_main(void *arg)
{
	struct syncsnap_counter *c = arg;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READONLY, NULL) ==
		    SQLITE_OK &&
	    sqlite3_busy_timeout(db, 10000) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM entry", -1, &q,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		c->rows = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return NULL;
}

struct syncsnap_counter *
syncsnap_count_start(struct syncsnap *s)
{
	struct syncsnap_counter *c = xcalloc(1, sizeof(*c));

	c->rows = -1;
	c->path = xstrdup(s->path);
	if (s->entries > 0 && !s->in_tx && s->tmp == NULL)
		c->running = thread_spawn(&c->th, counter_main, c) == 0;
	return c;
}

int
syncsnap_count_join(struct syncsnap_counter *c, struct syncsnap *s,
		    struct err *err)
{
	long long rows;

	if (c == NULL)
		return 0;
	if (c->running)
		pthread_join(c->th, NULL);
	rows = c->rows;
	free(c->path);
	free(c);
	if (s->entries <= 0)
		return 0;
	if (rows < 0)     /* not started, or failed there: count here */
		return syncsnap_count_check(s, err);
	return rows_check(s, rows, err);
}

/* The row as SQLite has it: malloc'd, NULL when none or failed. */
static void *
get_row(struct syncsnap *s, const char *uuid, size_t *len)
{
	void *out = NULL;
	char msg[120] = "";
	int rc;

	/* prepared once: the rules over a delta ask row by row */
	if (s->get == NULL &&
	    sqlite3_prepare_v2(s->db, "SELECT data FROM entry WHERE uuid = ?",
			       -1, &s->get, NULL) != SQLITE_OK) {
		rc = sqlite3_errcode(s->db);
		goto failed;
	}
	sqlite3_bind_text(s->get, 1, uuid, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s->get)) == SQLITE_ROW) {
		const void *data = sqlite3_column_blob(s->get, 0);
		long long n = row_open(data,
				       (size_t)sqlite3_column_bytes(s->get, 0));

		if (n < 0) {
			sqlite3_reset(s->get);
			rc = SQLITE_CORRUPT;
			snprintf(msg, sizeof(msg), "snapshot row %.64s fails "
				 "its checksum", uuid);
			goto failed;
		}
		*len = (size_t)n;
		out = xmalloc(*len + 1);
		memcpy(out, data, *len);
	}
	sqlite3_reset(s->get);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return out;
failed:
	if (s->get_rc == 0) {
		s->get_rc = rc != SQLITE_OK ? rc : SQLITE_ERROR;
		snprintf(s->get_msg, sizeof(s->get_msg), "%s",
			 msg[0] != '\0' ? msg : sqlite3_errmsg(s->db));
	}
	return NULL;
}

void *
syncsnap_get(struct syncsnap *s, const char *uuid, size_t *len)
{
	struct memo *m;
	void *out;
	int failed;

	if (!s->holding || s->in_tx)
		return get_row(s, uuid, len);
	if ((m = strmap_get(&s->memo, uuid)) != NULL) {
		if (m->blob == NULL)
			return NULL;
		*len = m->len;
		out = xmalloc(m->len + 1);
		memcpy(out, m->blob, m->len);
		return out;
	}
	failed = s->get_rc;
	out = get_row(s, uuid, len);
	/* a failure is not "no such row": asked again, SQLite answers */
	if (s->get_rc != failed || s->memo_bytes > MEMO_MAX)
		return out;
	m = xmalloc(sizeof(*m));
	m->len = out != NULL ? *len : 0;
	m->blob = NULL;
	if (out != NULL) {
		m->blob = xmalloc(m->len + 1);
		memcpy(m->blob, out, m->len);
	}
	s->memo_bytes += m->len + strlen(uuid) + 64;
	strmap_put(&s->memo, xstrdup(uuid), m);
	return out;
}

int
syncsnap_get_check(const struct syncsnap *s, struct err *err)
{
	if (s == NULL || s->get_rc == 0)
		return 0;
	err->lib_rc = s->get_rc;
	err_where(err, "snapshot read");
	return err_set(err, DS_E_STATE, "%s: %s", s->path, s->get_msg);
}

/* ---- blobs: u32 little-endian lengths and counts ------------------- */

static void
put_u32(unsigned char **w, size_t v)
{
	(*w)[0] = (unsigned char)v;
	(*w)[1] = (unsigned char)(v >> 8);
	(*w)[2] = (unsigned char)(v >> 16);
	(*w)[3] = (unsigned char)(v >> 24);
	*w += 4;
}

static void
put_bytes(unsigned char **w, const void *p, size_t n)
{
	put_u32(w, n);
	memcpy(*w, p, n);
	*w += n;
}

void *
syncsnap_encode(const struct entry *e, size_t *len)
{
	size_t n = 8 + strlen(e->dn), i, j;
	unsigned char *b, *w;

	for (i = 0; i < e->nattrs; i++) {
		n += 8 + strlen(e->attrs[i].name);
		for (j = 0; j < e->attrs[i].nvals; j++)
			n += 4 + e->attrs[i].vals[j].len;
	}
	b = w = xmalloc(n);
	put_bytes(&w, e->dn, strlen(e->dn));
	put_u32(&w, e->nattrs);
	for (i = 0; i < e->nattrs; i++) {
		put_bytes(&w, e->attrs[i].name, strlen(e->attrs[i].name));
		put_u32(&w, e->attrs[i].nvals);
		for (j = 0; j < e->attrs[i].nvals; j++)
			put_bytes(&w, e->attrs[i].vals[j].p,
				  e->attrs[i].vals[j].len);
	}
	*len = n;
	return b;
}

struct rd {
	const unsigned char *p, *end;
	char *text;        /* strings copied here, NUL-terminated */
};

static int
get_u32(struct rd *r, size_t *v)
{
	if (r->end - r->p < 4)
		return -1;
	*v = (size_t)r->p[0] | (size_t)r->p[1] << 8 | (size_t)r->p[2] << 16 |
	     (size_t)r->p[3] << 24;
	r->p += 4;
	return 0;
}

static int
get_str(struct rd *r, const char **s, size_t *n)
{
	if (get_u32(r, n) != 0 || (size_t)(r->end - r->p) < *n)
		return -1;
	memcpy(r->text, r->p, *n);
	r->text[*n] = '\0';
	*s = r->text;
	r->text += *n + 1;
	r->p += *n;
	return 0;
}

/*
 * The attributes and values a blob holds, counted without copying: -1
 * when it does not parse.  Strings need no more than the blob (each has
 * a 4-byte length word where the copy puts one NUL).
 */
static int
count_blob(const unsigned char *p, const unsigned char *end, size_t *nattrs,
	   size_t *nvals)
{
	struct rd r = {p, end, NULL};
	size_t n, na, nv, i, j;

	*nvals = 0;
	if (get_u32(&r, &n) != 0 || (size_t)(r.end - r.p) < n)
		return -1;
	r.p += n;
	if (get_u32(&r, &na) != 0 || na > SNAP_MAX_ATTRS)
		return -1;
	for (i = 0; i < na; i++) {
		if (get_u32(&r, &n) != 0 || (size_t)(r.end - r.p) < n)
			return -1;
		r.p += n;
		if (get_u32(&r, &nv) != 0 || nv > SNAP_MAX_VALS)
			return -1;
		for (j = 0; j < nv; j++) {
			if (get_u32(&r, &n) != 0 || (size_t)(r.end - r.p) < n)
				return -1;
			r.p += n;
		}
		*nvals += nv;
	}
	*nattrs = na;
	return r.p == r.end ? 0 : -1;
}

char *
syncsnap_dn(const void *blob, size_t len)
{
	struct rd r = {blob, (const unsigned char *)blob + len, NULL};
	size_t n;

	if (get_u32(&r, &n) != 0 || n > (size_t)(r.end - r.p))
		return NULL;
	return xstrndup((const char *)r.p, n);
}

int
syncsnap_decode(const void *blob, size_t len, struct entry *e,
		void **scratch, size_t *cap)
{
	struct rd r = {blob, (const unsigned char *)blob + len, NULL};
	size_t need, nattrs, i, j, n, nvals = 0, maxa, maxv;
	struct attr *attrs;
	struct val *vals;

	/* sized from a first pass: a big group's blob (50,000 members)
	 * took ten times its size when sized for the worst case */
	if (count_blob(r.p, r.end, &maxa, &maxv) != 0)
		return -1;
	need = (maxa + 1) * sizeof(struct attr) +
	       (maxv + 1) * sizeof(struct val) + len + 16;
	if (*cap < need) {
		free(*scratch);
		*scratch = xmalloc(need);
		*cap = need;
	}
	attrs = *scratch;
	vals = (struct val *)(attrs + maxa + 1);
	r.text = (char *)(vals + maxv + 1);
	if (get_str(&r, &e->dn, &n) != 0 || get_u32(&r, &nattrs) != 0 ||
	    nattrs > maxa)
		return -1;
	for (i = 0; i < nattrs; i++) {
		size_t nv;

		if (get_str(&r, &attrs[i].name, &n) != 0 ||
		    get_u32(&r, &nv) != 0 || nvals + nv > maxv)
			return -1;
		attrs[i].nvals = nv;
		attrs[i].vals = &vals[nvals];
		for (j = 0; j < nv; j++, nvals++)
			if (get_str(&r, &vals[nvals].p, &vals[nvals].len) != 0)
				return -1;
	}
	if (r.p != r.end)
		return -1;
	e->nattrs = nattrs;
	e->attrs = attrs;
	e->origin = "snapshot";
	return 0;
}

/* ---- which settings the snapshot depends on ---------------------- */

static bool
hashed_line(const char *section, const char *line)
{
	static const char *const source_keys[] = {
		"type", "bind_dn", "base_dn", "filter", "flavor", "path", NULL,
	};
	size_t i, n;

	if (strcmp(section, "[scope]") == 0 ||
	    strcmp(section, "[mapping]") == 0)
		return true;
	if (strcmp(section, "[source]") != 0)
		return false;
	for (i = 0; source_keys[i] != NULL; i++) {
		n = strlen(source_keys[i]);
		if (strncmp(line, source_keys[i], n) == 0 &&
		    (line[n] == ' ' || line[n] == '='))
			return true;
	}
	return false;
}

void
syncsnap_conf_hash(const struct conf *c, char *out, size_t len)
{
	char *text = NULL, *line, *save = NULL, section[64] = "";
	size_t size = 0;
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a, 64 bits */
	FILE *fp = open_memstream(&text, &size);
	const char *p;

	if (fp != NULL) {
		conf_dump(c, fp);
		fclose(fp);
	}
	for (line = text != NULL ? strtok_r(text, "\n", &save) : NULL;
	     line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '[') {
			snprintf(section, sizeof(section), "%s", line);
			continue;
		}
		if (!hashed_line(section, line))
			continue;
		for (p = section; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		for (p = line; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ '\n') * 1099511628211ULL;
	}
	free(text);
	snprintf(out, len, "%016llx", (unsigned long long)h);
}

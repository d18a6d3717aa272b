/*
 * syncsnap.h - what the last read saw, for incremental runs: every entry
 * the source delivered (only the attributes the rules ask for), keyed by
 * its entryUUID, with the server's cookie and where it came from.
 *
 * It lives in its own SQLite file beside the state database
 * ("<state path>.snapshot"), not in it: at a million entries it is a few
 * hundred MB that a full read rewrites, which would bloat and lock the
 * run history the web page and `status` read; and losing it costs only
 * a full read (the next run makes a new one), so `rebuild-state` and
 * backups of the history need not care.
 *
 * Two ways to write it, both committed only when the caller says so (the
 * run got through):
 *   - a full read builds a new file ("<path>.new", no journal) that
 *     syncsnap_commit() renames over the old one;
 *   - an incremental run opens the file and changes it in one
 *     transaction (syncsnap_begin .. syncsnap_commit).
 * syncsnap_close() without a commit leaves the old snapshot exactly as it
 * was, so the next run re-reads the same delta.
 *
 * Entry blobs are a small length-prefixed binary format written and read
 * only here (hand-written: no library offers "a struct entry as bytes";
 * every length is checked against the blob on the way back).
 */
#ifndef DS_SYNCSNAP_H
#define DS_SYNCSNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/entry.h"
#include "util/err.h"

struct syncsnap;

/* What a snapshot says about the read that made it. */
struct syncsnap_meta {
	unsigned char *cookie;   /* malloc'd; NULL: none */
	size_t cookie_len;
	char server[512];        /* URI the cookie came from */
	char conf_hash[32];      /* syncsnap_conf_hash() of that run */
	long long full_at;       /* time of the last full read (Unix) */
	/* rows: syncsnap_commit() keeps the caller's count (the engine's
	 * entries fed from the snapshot); an older snapshot without one
	 * is counted at open */
	long long entries;
	/*
	 * What the rules made of these rows at the last commit, for a run
	 * that reads no change (engine/shortcut.c): opaque text, malloc'd;
	 * NULL: none.
	 */
	char *summary;
};

/* The file for a state database path; malloc'd. */
char *syncsnap_path(const char *state_path);

/*
 * Opens an existing snapshot and reads its meta.  Returns 0, 1 when there
 * is none or it cannot be used (*why says why, a static string; *out is
 * NULL), or -1 on an I/O error (err set).  readonly: never written.
 */
int syncsnap_open(struct syncsnap **out, const char *path, bool readonly,
		  struct syncsnap_meta *m, const char **why, struct err *err);
/*
 * Removes the snapshot at path and its rollback journal, and syncs the
 * directory, so that no crash brings them back: for a run about to apply
 * a plain read because the server offers no content sync at all.  Its
 * cookie would otherwise outlive that read: a server that comes back
 * with syncprov answers it with the changes it logged, not those made
 * while it had none, and the next run would undo them (a deleted user's
 * mailbox re-enabled).  1 when there was one, 0 when there was none, -1
 * (err) when it stays.
 */
int syncsnap_remove(const char *path, struct err *err);
/* A new, empty snapshot at "<path>.new" (a full read). */
int syncsnap_create(struct syncsnap **out, const char *path,
		    struct err *err);

/*
 * Whether the snapshot holds as many rows as its last commit left (0),
 * or not (-1, DS_E_STATE naming both counts): rows deleted or added
 * behind dirsync's back, which a run reading only some rows would not
 * see.  SQLite counts the smallest index (the uuids': ~54 MB at 1M
 * entries).  0 for a snapshot that does not say (older, or created).
 */
int syncsnap_count_check(struct syncsnap *s, struct err *err);
/*
 * The same count on a thread of its own with a read-only connection of
 * its own, while the caller waits for the server: start before the
 * incremental read (nothing may write the snapshot until the join),
 * join after it.  The join gives syncsnap_count_check()'s answer and
 * frees c; a thread that cannot start counts at the join.
 */
struct syncsnap_counter;
struct syncsnap_counter *syncsnap_count_start(struct syncsnap *s);
int syncsnap_count_join(struct syncsnap_counter *c, struct syncsnap *s,
			struct err *err);

/* Every row, decoded; the entry is borrowed for the call. */
typedef int (*syncsnap_row_cb)(void *ctx, const char *uuid,
			       const struct entry *e, struct err *err);
int syncsnap_scan(struct syncsnap *s, syncsnap_row_cb cb, void *ctx,
		  struct err *err);

/* One row's blob (malloc'd, *len bytes), or NULL when there is none. */
void *syncsnap_get(struct syncsnap *s, const char *uuid, size_t *len);
/*
 * A syncsnap_get that failed (a damaged page: "database disk image is
 * malformed") also returns NULL, as for a row not there, and is kept:
 * -1 with err (DS_E_STATE, the first failure) if one did since the open,
 * else 0.  Whoever took NULL for "not there" checks this before using
 * what it derived.
 */
int syncsnap_get_check(const struct syncsnap *s, struct err *err);

/*
 * Keeps one read transaction open over the lookups that follow
 * (syncsnap_get, syncsnap_find, syncsnap_scan) with a page cache of
 * 4 MiB (syncsnap_get keeps the rows it gave meanwhile, up to 64 MiB),
 * until syncsnap_begin() makes it the write transaction or
 * syncsnap_close() ends it.  Without it each lookup is a transaction of
 * its own: SQLite locks the file, looks for a hot journal and reads its
 * header again every time, which at 1M entries and 100k lookups was
 * most of an incremental run.  For the run that owns the snapshot: a
 * read-only command must not hold it (the owner's commit would wait).
 */
int syncsnap_hold(struct syncsnap *s, struct err *err);
/* Incremental: opens the transaction that the writes below go into. */
int syncsnap_begin(struct syncsnap *s, struct err *err);
/*
 * Adds or replaces the row for uuid (a blob from syncsnap_encode) with
 * its keys (rules_keys, rules/rules_delta.h), which replace the row's
 * old ones in the index.
 */
int syncsnap_put(struct syncsnap *s, const char *uuid, const void *blob,
		 size_t len, const char *const *keys, size_t nkeys,
		 struct err *err);
/*
 * syncsnap_put() with the keys hashed already: h[0 .. n) as
 * syncsnap_key_hashes() makes them (sorted, each once), borrowed.
 */
int syncsnap_put_hashed(struct syncsnap *s, const char *uuid,
			const void *blob, size_t len, const int64_t *h,
			size_t n, struct err *err);
/* keys[0 .. nkeys) as the index keeps them: hashed (syncsnap_key_hash),
 * sorted, each once; malloc'd, *n of them. */
int64_t *syncsnap_key_hashes(const char *const *keys, size_t nkeys,
			     size_t *n);
/* Drops the row for uuid and its keys. */
int syncsnap_del(struct syncsnap *s, const char *uuid, struct err *err);
/*
 * The index: each(arg, uuid) for every row having key, in any order.
 * Keys are kept as 64-bit hashes (XXH3, syncsnap_key_hash): two keys of
 * one hash give the rows of both, which a caller using the index to
 * widen a set (rules_delta) may take as a few rows too many.  Within a
 * transaction the index answers with its writes.  0, or -1 (err).
 */
int syncsnap_find(struct syncsnap *s, const char *key,
		  void (*each)(void *arg, const char *uuid), void *arg,
		  struct err *err);
int64_t syncsnap_key_hash(const char *key);
/*
 * Writes m (cookie, server, conf_hash, full_at) and commits: the
 * transaction, or for a created snapshot the rename over the old file.
 */
int syncsnap_commit(struct syncsnap *s, const struct syncsnap_meta *m,
		    struct err *err);
/* Rolls back anything not committed (a created file is removed). */
void syncsnap_close(struct syncsnap *s);
/*
 * Rows written without a rollback journal, for an opened snapshot whose
 * rows a run has decided to change: syncsnap_bulk_begin() ends a held
 * read, commits the meta marked pending (a journaled transaction, synced:
 * until a syncsnap_commit() of the same snapshot clears the mark,
 * syncsnap_open() refuses the file, *why: the read was not confirmed),
 * and opens a transaction with journal_mode=OFF; syncsnap_bulk_commit()
 * commits it and turns the journal back on.  A crash or an error between
 * the two may leave the file damaged, but it is marked pending: the next
 * run reads the whole directory and makes it anew.  Without the journal
 * an incremental run at 1M entries makes ~66,000 fewer writes (each page
 * it changes went to the journal first, in three writes).  Nothing can
 * be rolled back in between: an error means syncsnap_discard().  Both 0
 * or -1 with err (DS_E_STATE).  Not for a created snapshot.
 */
int syncsnap_bulk_begin(struct syncsnap *s, struct err *err);
int syncsnap_bulk_commit(struct syncsnap *s, struct err *err);
/*
 * Closes without a commit and removes the snapshot's file (one that a
 * write failed on: the next run reads the whole directory and makes a
 * new one).  NULL is a no-op.
 */
void syncsnap_discard(struct syncsnap *s);
void syncsnap_meta_free(struct syncsnap_meta *m);

/* An entry as a blob (malloc'd, *len bytes). */
void *syncsnap_encode(const struct entry *e, size_t *len);
/*
 * A blob back into *e; e's strings point into scratch (grown as needed:
 * *scratch, *cap; free(*scratch) after the last use) and into the blob.
 * Returns 0, or -1 if the blob is malformed.
 */
int syncsnap_decode(const void *blob, size_t len, struct entry *e,
		    void **scratch, size_t *cap);
/* A blob's DN alone (malloc'd), without decoding the rest (a group's
 * 50,000 members); NULL if the blob is malformed. */
char *syncsnap_dn(const void *blob, size_t len);

/*
 * The settings a snapshot depends on ([source] but its connection
 * details, [scope], [mapping]) as a hash, hex.  out: 17 bytes or more.
 */
struct conf;
void syncsnap_conf_hash(const struct conf *c, char *out, size_t len);

#endif

/*
 * sql_owner.h - the record of what dirsync manages, kept in the mail
 * database itself (table dirsync_managed), so that it is written in the
 * same transaction as the rows it describes: a crash, a kill or a full
 * disk between "the mailbox was created" and "dirsync knows it is its
 * own" is impossible.  Postfix and Dovecot never read this table.
 *
 * Internal to the SQL target (sql.c); works on any sqldrv.
 */
#ifndef DS_SQL_OWNER_H
#define DS_SQL_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "model/managed.h"
#include "plan/plan.h"
#include "target/target.h"
#include "target/sqldrv.h"
#include "util/err.h"

/* CREATE TABLE IF NOT EXISTS, for both engines (with the driver's
 * keyed_table after it: an older SQLite database keeps the table with
 * rowids it was made with, which works the same, a page more per
 * lookup). */
extern const char sql_owner_ddl[];
/* an index on its anchors (the partial compare's renames); optional */
extern const char sql_owner_index_ddl[];
/* an index on its kinds (a partial compare's count); optional */
extern const char sql_owner_kind_index_ddl[];
/*
 * An index on mailbox (lower(maildir)), optional; and $1 a maildir: a row
 * if a mailbox row has that path, letter case aside.
 */
extern const char sql_maildir_index_ddl[];
extern const char sql_maildir_taken[];
/*
 * dirsync_retired_maildir: the maildir of every mailbox row dirsync
 * deleted.  The files stay on disk, so a later mailbox must never get
 * that path (it would inherit the old mail).
 */
extern const char sql_retired_ddl[];
extern const char sql_retired_load[];     /* SELECT maildir ... */
/* $1 username, $2 unix time: its maildir, before the row goes. */
extern const char sql_retired_put[];

/*
 * The records into m, matched with the current and desired sets (see
 * managed_add_known).  A missing table reads as empty.
 */
int sql_owner_load(const struct sqldrv_ops *drv, struct sqldrv *db,
		   struct managed *m, const struct mset *current,
		   const struct mset *desired, struct err *err);

/*
 * `prefix` (a SELECT ending in "... IN (") run for keys[0 .. n) in
 * batches of SQL_IN_BATCH, each result row to cb (a short last batch
 * repeats its last key).  prefix must be a string that outlives the
 * connection (a literal): the batch statement is built once per prefix
 * and cached for the life of the process, so the driver prepares it
 * once.
 */
#define SQL_IN_BATCH 200
int sql_in_query(const struct sqldrv_ops *drv, struct sqldrv *db,
		 const char *prefix, const char *const *keys, size_t n,
		 sqldrv_row_cb cb, void *ctx, struct err *err);

/*
 * For the partial compare (target_ops.load_part).  anchor_addrs(): the
 * address of every record (mailboxes and their alias rows) of
 * anchors[0 .. na) into addrs (keys
 * copied into m's arena, values m).  load_part(): sql_owner_load for the
 * records at keys[0 .. n) only, and, when nobjects is not NULL, *nobjects:
 * the records of objects (not alias rows, not domains) in the whole table.
 */
int sql_owner_anchor_addrs(const struct sqldrv_ops *drv, struct sqldrv *db,
			   struct managed *m, struct strmap *addrs,
			   const char *const *anchors, size_t na,
			   struct err *err);
int sql_owner_load_part(const struct sqldrv_ops *drv, struct sqldrv *db,
			struct managed *m, const char *const *keys, size_t n,
			const struct mset *current,
			const struct mset *desired, size_t *nobjects,
			struct err *err);

/*
 * Inside the caller's transaction: first every record of `import` (NULL:
 * none; records moving here from an older state database), then what the
 * plan did, and `forget` (records whose rows vanished) dropped.
 */
int sql_owner_record(const struct sqldrv_ops *drv, struct sqldrv *db,
		     const struct managed *import,
		     const struct managed *known, const struct plan *p,
		     const char *const *forget, size_t nforget, time_t now,
		     struct err *err);

/*
 * The mailbox recorded for a directory object: *address (malloc'd) or
 * NULL when there is none, and when it was disabled (0: active).
 * DS_E_CONNECT when the database is not there, the driver's error when
 * it cannot answer: the record is unreachable, which is not "none".
 */
int sql_owner_mailbox_of(const struct sqldrv_ops *drv, struct sqldrv *db,
			 const char *anchor, char **address,
			 long long *disabled_at, struct err *err);

/*
 * The change counter (sql_changes.c): the target's fingerprint for the
 * fast path.  setup(): on a writable open, creates the counter table and
 * its triggers when any is missing or an older dirsync's (no token), with
 * a new epoch (nothing is known about the writes before); -1 when this
 * role cannot (logged at debug: the target then never vouches for
 * itself).  read(): "epoch:token:n" (PostgreSQL "epoch/xmins:token:n")
 * into buf (TARGET_FP_MAX bytes); 1 when the counter or one of its
 * triggers is missing, disabled or an older dirsync's (or the text would
 * not fit); -1 with err when the query fails.
 */
int sql_changes_setup(const struct sqldrv_ops *drv, struct sqldrv *db);
int sql_changes_read(const struct sqldrv_ops *drv, struct sqldrv *db,
		     char *buf, struct err *err);
/*
 * Inside dirsync's own transaction: quiet() right after BEGIN (SQLite:
 * the row triggers are switched off on dirsync's connection and the
 * counter's quiet flag set, so that dirsync's rows are not counted one
 * by one; PostgreSQL: dirsync_managed's trigger is disabled where dirsync
 * owns the table; *quiet says whether anything was switched off), loud()
 * right before COMMIT (switched back on, the counter raised once for the
 * transaction, a new token drawn) and the counter as the transaction
 * leaves it into buf, as read().  A failure of either fails the transaction.  rollback(): after
 * a ROLLBACK of a quiet transaction, the connection's triggers on again
 * (the flag went with the rollback).
 */
int sql_changes_quiet(const struct sqldrv_ops *drv, struct sqldrv *db,
		      bool *quiet, struct err *err);
int sql_changes_loud(const struct sqldrv_ops *drv, struct sqldrv *db,
		     bool quiet, char *buf, struct err *err);
void sql_changes_rollback(const struct sqldrv_ops *drv, struct sqldrv *db,
			  bool quiet);
/*
 * True when fingerprint `after` is `before` moved on by exactly one
 * writing transaction, dirsync's own, with no other writer in between:
 * the same epoch (and xmins), counter + 1 and another token (the one
 * that commit drew).  `before`: read before the load; `after`: read by
 * loud() inside dirsync's transaction.  Empty or malformed texts (an
 * older dirsync's "epoch:n" too): false.
 */
bool sql_changes_next(const char *before, const char *after);

#endif

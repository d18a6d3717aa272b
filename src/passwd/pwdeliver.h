/*
 * pwdeliver.h - moves queued password hashes (pwqueue.h) to the target.
 *
 * For every row (or the one of `only`): a pending row is confirmed when the
 * account's pwdLastSet (pwdChangedTime) has moved past the value the hook
 * saw, dropped when the account no longer resolves to the same anchor or
 * when PW_PENDING_TTL passed without the change happening (the DC refused
 * it after the hook said yes: history, minimum age); a confirmed row is
 * written with the target's set_password() and removed.  A target that
 * cannot be reached leaves the row for the next call (the next sync).
 *
 * Called by the hook's background confirmer and before every sync.  Logs
 * one line per row it settles (info) or drops (warning); never a hash.
 */
#ifndef DS_PWDELIVER_H
#define DS_PWDELIVER_H

#include <stdbool.h>

#include "conf/conf.h"
#include "util/err.h"

struct target;
struct target_ops;

/*
 * The mailbox dirsync manages for a directory object, as a sync sees it:
 * the target's own records (load_managed), or the state database's when
 * the target keeps none.  *address (malloc'd) is NULL when there is no
 * such mailbox; *in_scope false when it is disabled (out of scope).
 */
int pw_mailbox_of(const struct conf *c, const struct target_ops *tops,
		  struct target *t, const char *anchor, char **address,
		  bool *in_scope, struct err *err);

/* How long a change may take to show in the directory (seconds). */
#define PW_PENDING_TTL 900

struct pw_deliver_result {
	long delivered;   /* written to the target and removed */
	long dropped;     /* never confirmed, or no longer resolvable */
	long left;        /* still queued: pending, or target unreachable */
};

/*
 * only: NULL, or the anchor of the one row to look at.
 * Returns 0 when every row was settled or left for a reason that is not
 * an error (still pending); -1 with err when the directory or the target
 * could not be reached (rows stay queued).  No queue file: 0, all zero.
 */
int pw_deliver(const struct conf *c, const char *only,
	       struct pw_deliver_result *res, struct err *err);

/*
 * Before a sync (sync, daemon): pw_deliver() on every row, a failure
 * logged as a warning (the sync goes on; rows stay queued).
 */
void pw_deliver_before_sync(const struct conf *c);

/* Whether `now` (a pwdLastSet/pwdChangedTime value) is after `before`. */
bool pw_changed_after(const char *before, const char *now);

#endif

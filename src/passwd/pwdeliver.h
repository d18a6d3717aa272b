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
#include "engine/engine.h"
#include "util/err.h"

/* How long a change may take to show in the directory (seconds). */
#define PW_PENDING_TTL 900

struct pw_deliver_result {
	long delivered;   /* written to the target and removed */
	long dropped;     /* never confirmed, or no longer resolvable */
	long left;        /* still queued: pending, or target unreachable */
	/* the delivered[0..delivered) rows: which mailbox, for the run's
	 * report (owned; pw_deliver_result_free) */
	struct engine_password *v;
};

void pw_deliver_result_free(struct pw_deliver_result *res);

/*
 * Returns 0 when every row was settled or left for a reason that is not
 * an error (still pending); -1 with err when the directory or the target
 * could not be reached (rows stay queued).  No queue file: 0, all zero.
 */
int pw_deliver(const struct conf *c, const char *only,
	       struct pw_deliver_result *res, struct err *err);

/*
 * Before a sync (sync, daemon): pw_deliver() on every row, a failure
 * logged as a warning (the sync goes on; rows stay queued).  res says
 * what was written, for the run's report (engine_opts.passwords); the
 * caller pw_deliver_result_free()s it.
 */
void pw_deliver_before_sync(const struct conf *c,
			    struct pw_deliver_result *res);

/* Whether `now` (a pwdLastSet/pwdChangedTime value) is after `before`. */
bool pw_changed_after(const char *before, const char *now);

#endif

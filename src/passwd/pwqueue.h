/*
 * pwqueue.h - password hashes waiting to reach the mail system.
 *
 * A small SQLite file next to the state database, `<[state] path>.passwords`,
 * created mode 0600 and refused when any group or other permission bit is
 * set.  It holds final hashes only ({SCHEME}$...), never plaintext, one
 * row per mailbox address (a newer change replaces an older one).
 *
 * A row is "pending" until the directory confirms the change happened (the
 * account's pwdLastSet, or pwdChangedTime on OpenLDAP, differs from the
 * value read when the hook ran: Samba runs the hook before it commits, and
 * may still refuse the change for its history or minimum age), then
 * "confirmed" until the target took it; delivered rows are removed.
 */
#ifndef DS_PWQUEUE_H
#define DS_PWQUEUE_H

#include <stdbool.h>

#include "util/err.h"

struct pwq;

struct pwq_row {
	const char *address;   /* the mailbox, lower-case */
	const char *account;   /* what the hook was given, for the re-lookup */
	const char *anchor;    /* the directory object's anchor */
	const char *hash;      /* {SCHEME}... */
	const char *before;    /* pwdLastSet when the hook ran ("" = none) */
	bool confirmed;
	long long queued_at;   /* unix seconds */
};

/*
 * The queue key of a hash whose mailbox is not known yet (the target was
 * unreachable when the hook ran): "anchor:<anchor>", malloc'd.  Delivery
 * resolves it to the mailbox first.
 */
char *pw_anchor_key(const char *anchor);
bool pw_is_anchor_key(const char *address);

/* `<state_path>.passwords`, malloc'd. */
char *pwq_path(const char *state_path);

/*
 * Opens the queue.  create: make the file (0600) when missing; else a
 * missing file gives 0 with *out = NULL (nothing queued).  DS_E_STATE
 * when the file is group/other accessible or not a regular file.
 */
int pwq_open(struct pwq **out, const char *state_path, bool create,
	     struct err *err);
/* Inserts or replaces the row for r->address. */
int pwq_put(struct pwq *q, const struct pwq_row *r, struct err *err);

/* Rows are borrowed for the duration of the callback; return 0 or -1. */
typedef int (*pwq_cb)(void *ctx, const struct pwq_row *r);
/* Every row (only = NULL) or the row of one address, oldest first. */
int pwq_each(struct pwq *q, const char *only, pwq_cb cb, void *ctx,
	     struct err *err);
/* Marks the row confirmed, if it still holds `hash`. */
int pwq_confirm(struct pwq *q, const char *address, const char *hash,
		struct err *err);
/* Removes the row, if it still holds `hash` (a newer change stays). */
int pwq_remove(struct pwq *q, const char *address, const char *hash,
	       struct err *err);
/*
 * Removes whatever is queued for the address or for the directory object
 * `anchor` (NULL: the address only): a newer change supersedes them,
 * also one queued under "anchor:..." while the mailbox was not known.
 */
int pwq_forget(struct pwq *q, const char *address, const char *anchor,
	       struct err *err);
/* Rows left (for tests and `dirsync check`-like reporting). */
long pwq_count(struct pwq *q);
void pwq_close(struct pwq *q);

#endif

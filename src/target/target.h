/*
 * target.h - the mail side: a table of functions per target type, and the
 * registry that maps `[target] type` to one.
 *
 * A target is one file (sql.c, memory.c, ...) exporting one
 * `const struct target_ops`, plus one line in target.c's registry.  The
 * engine (engine/engine.c) drives it; nothing else calls a target.
 *
 * open() connects, creates the tables when missing and checks the schema
 * (every statement the target will run is validated here, so a wrong
 * schema fails before any change).  load() reports what the target holds
 * as mail objects.  What the engine then does depends on the capabilities
 * the target declares:
 *
 *  - TCAP_TRANSACTIONAL: begin(), apply() for every change, commit();
 *    rollback() on any failure.  Either every change of a run lands or
 *    none does.
 *  - TCAP_PER_OBJECT (no transaction, e.g. a REST API): each apply()
 *    lands on its own.  The engine records every success as it happens
 *    and goes on after a per-object failure (DS_E_TARGET with
 *    err->object set); a failure without an object (server gone, auth)
 *    stops the run with what was done recorded.  begin/commit/rollback
 *    may be NULL.
 *
 * Ownership: the ops never keep pointers to the conf or to changes past
 * the call, except the conf, which outlives the target.
 */
#ifndef DS_TARGET_H
#define DS_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "model/mail.h"
#include "model/managed.h"
#include "plan/plan.h"
#include "util/err.h"
#include "util/strmap.h"

struct target;

/* What a target declares about itself (target_ops.caps). */
#define TCAP_TRANSACTIONAL 0x01  /* all-or-nothing begin/commit/rollback */
#define TCAP_PER_OBJECT 0x02     /* partial success: one object at a time */
#define TCAP_PASSWORDS 0x04      /* set_password() stores a password hash */
#define TCAP_TARGET_ID 0x08      /* apply() returns a target-side id */
#define TCAP_DOMAINS 0x10        /* wants a domain object per used domain */
#define TCAP_PASSWORDS_PLAIN 0x20 /* set_password_plain(): the service
				   * hashes it (SCIM `password`) */

/* Longest target-side id (SCIM "id" values are short opaque strings). */
#define TARGET_ID_MAX 256

/*
 * apply_batch()'s report of one finished change: v[i] of the batch.  rc
 * as apply() returns it (0 landed, target_id as for apply; 1 skipped;
 * -1 that object's failure, err->object set).  Returns nonzero when the
 * engine wants no further change started (the state cannot record).
 */
typedef int (*target_done_fn)(void *arg, size_t i, int rc,
			      const char *target_id, const struct err *err);

struct target_ops {
	const char *name;       /* `[target] type` value */
	unsigned caps;          /* TCAP_* */
	bool hidden;            /* not offered to users (test targets) */
	/*
	 * readonly (plan, dry runs): create nothing, change nothing; a
	 * database or table that does not exist yet reads as empty.
	 */
	int (*open)(struct target **out, const struct conf *conf,
		    bool readonly, struct err *err);
	int (*load)(struct target *t, struct mset *current, struct err *err);
	int (*begin)(struct target *t, struct err *err);
	/*
	 * One change.  target_id: NULL, or (TCAP_TARGET_ID) a buffer of
	 * TARGET_ID_MAX bytes that receives the object's id on the target
	 * ("" when it has none).  On failure err->object names the object
	 * when the failure is that object's alone.  1 (TCAP_PER_OBJECT
	 * only): the change has no meaning on this target and was skipped,
	 * err->object and err->msg say which and why; counted as skipped,
	 * reported, planned again by the next run.
	 */
	int (*apply)(struct target *t, const struct change *ch,
		     char *target_id, struct err *err);
	int (*commit)(struct target *t, struct err *err);
	int (*rollback)(struct target *t, struct err *err);
	void (*close)(struct target *t);
	/*
	 * Optional (NULL: every change has rank 0).  The engine applies the
	 * plan in ascending rank, plan order within a rank: the SQL target
	 * puts domain rows first (mailboxes and aliases refer to them).
	 */
	int (*apply_rank)(const struct change *ch);
	/*
	 * Optional, TCAP_PER_OBJECT: v[0..n) at once (e.g. several HTTP
	 * requests in flight).  The engine passes only changes that are
	 * independent of each other: one apply_rank and one op, no address
	 * (address or old_address) twice, none whose gotos names another's
	 * address; the batch order is the plan's.  done() is called exactly
	 * once for each change the target finished, as it lands (any
	 * order); a change that needs another request after a surprising
	 * answer (a 409, a lost answer) is finished later in the same call.
	 * Returns 0 when every change was reported, or -1 with err (no
	 * object: the target itself failed, or done() asked to stop): the
	 * changes not reported may or may not have landed, the next run
	 * plans them from what the target then holds.  v and its changes
	 * are borrowed for the call.
	 */
	int (*apply_batch)(struct target *t, const struct change *const *v,
			   size_t n, target_done_fn done, void *arg,
			   struct err *err);
	/*
	 * Optional, TCAP_PASSWORDS: store `hash` (a crypt(3) string with
	 * its {SCHEME} prefix) as the password of mailbox `address`, in a
	 * transaction of its own.  DS_E_TARGET when there is no such row.
	 */
	int (*set_password)(struct target *t, const char *address,
			    const char *hash, struct err *err);
	/*
	 * Optional, TCAP_PASSWORDS_PLAIN: send the cleartext pw[0..len) as
	 * the password of mailbox `address` (whose id on the target is
	 * target_id; NULL: the target looks it up), over a channel the
	 * target deems safe for it, at once: nothing is queued or kept.
	 * Every copy the target makes is wiped; no error message holds it.
	 * DS_E_TARGET with err->object for a refused password or no such
	 * User; DS_E_CONFIG when the channel is not safe for passwords.
	 */
	int (*set_password_plain)(struct target *t, const char *address,
				  const char *target_id, const char *pw,
				  size_t len, struct err *err);
	/*
	 * Optional: the target keeps the record of which of its objects are
	 * dirsync's (and for which directory object), so that the record
	 * changes in the same transaction as the objects.  NULL: the engine
	 * keeps it in the state database.  load_managed() fills m after
	 * load() (current and desired as for managed_add_known); a target
	 * that never had records reads as empty; it returns 1 when this
	 * target cannot keep records after all (the SQL target whose role
	 * may not create its table): the engine then uses the state.  record_managed() runs
	 * inside begin()..commit(): first the records of `import` (NULL:
	 * none; records moving here from an older state database), then
	 * what plan p did, then `forget` (records whose rows vanished).
	 * `known` (may be NULL) holds records as load_managed() or
	 * load_part() read them: an update whose record there already has
	 * its kind and anchor and is active need not be written again.
	 */
	int (*load_managed)(struct target *t, struct managed *m,
			    const struct mset *current,
			    const struct mset *desired, struct err *err);
	int (*record_managed)(struct target *t, const struct managed *import,
			      const struct managed *known,
			      const struct plan *p, const char *const *forget,
			      size_t nforget, time_t now, struct err *err);
	/*
	 * With load_managed: the mailbox recorded for one directory object
	 * (`dirsync passwd-hook`), without loading them all.  *address is
	 * malloc'd, NULL when there is none; *disabled_at 0 when active.
	 * 1 as for load_managed: ask the state.
	 */
	int (*managed_mailbox)(struct target *t, const char *anchor,
			       char **address, long long *disabled_at,
			       struct err *err);
	/*
	 * Optional (NULL: the target holds whatever the rules want).  What
	 * of the desired set d it cannot hold at all, decided before the
	 * plan (engine.c, stage_unheld): such an object, or member of a
	 * list, is never planned, so that no run plans it, has it skipped
	 * and plans it again (every run a run with changes).  unheld(o, d):
	 * NULL when it can hold o, else why not (a static string) and o is
	 * left out.  unheld_member(list, member, d), for a list it holds
	 * (NULL: every member): NULL or why `member`, an address of the
	 * list's gotos, cannot be a member, and it is left out of them.
	 * Pure: they look at d only, never at the target.
	 */
	const char *(*unheld)(const struct mobj *o, const struct mset *d);
	const char *(*unheld_member)(const struct mobj *list,
				     const char *member,
				     const struct mset *d);
	/*
	 * Optional (NULL: every run compares the whole target; the fast
	 * path of engine/fastpath.c is never taken).  A short text
	 * (TARGET_FP_MAX bytes with its NUL) that changes whenever any
	 * writer, dirsync or not, changes what load() or load_managed()
	 * would read.  Called after open() and before load(): the target
	 * as it is now; after a commit() on this connection: the target as
	 * that transaction left it, read inside it, so that a write by
	 * someone else after the commit still shows as a change.  0 with
	 * buf filled; 1 when the target cannot vouch for itself (no change
	 * counter: a role that may not create one); -1 with err on failure.
	 * A counter created anew must not match any earlier fingerprint,
	 * nor a copy of the target restored from before dirsync's last
	 * commit the fingerprint that commit left.
	 */
	int (*fingerprint)(struct target *t, char *buf, struct err *err);
	/*
	 * Optional, with load_managed and fingerprint (NULL: every compare
	 * loads the whole target): load() and load_managed() for some
	 * addresses only, for engine/fastpath.c's partial compare.  First
	 * the addresses of the mailbox records of `anchors` (directory
	 * objects) are added to `addrs` (keys copied into m's arena; values
	 * are m); then current and m are filled as load() and
	 * load_managed() would fill them, for the addresses in addrs only
	 * (the target's other rows and records are left out).  Keys match
	 * exactly: the caller knows every row key is lower case.
	 * *nmanaged: the records of objects (not alias rows, not domains)
	 * the whole target keeps, as load_managed() would have loaded them.
	 * 0; 1 when this target cannot (use the full load); -1 with err.
	 */
	int (*load_part)(struct target *t, struct strmap *addrs,
			 const struct strmap *anchors, struct mset *current,
			 struct managed *m, const struct mset *desired,
			 size_t *nmanaged, struct err *err);
};

/* Longest fingerprint text, NUL included. */
#define TARGET_FP_MAX 128

/* Every target in this version, NULL-terminated (target.c). */
extern const struct target_ops *const target_registry[];

extern const struct target_ops target_sql_ops;
extern const struct target_ops target_scim_ops;
extern const struct target_ops target_memory_ops;
extern const struct target_ops target_memory_po_ops;
extern const struct target_ops target_memory_pb_ops;
extern const struct target_ops target_memory_fp_ops;

/*
 * Which target a configuration points at, as the state database records
 * it: "TYPE URL", with any password in the URL left out (user:pw@ and a
 * password= parameter).  Truncated to len.
 */
void target_identity(const struct conf *conf, char *buf, size_t len);

/* The ops named `type`, or NULL. */
const struct target_ops *target_lookup(const char *type);
/* The ops for conf->target.type, or NULL (with a reason in err). */
const struct target_ops *target_ops_for(const struct conf *conf,
					struct err *err);

#endif

/*
 * plan.h - the pure diff: (desired, current, managed) -> changes.
 *
 * No I/O here: everything the planner needs comes in through plan_input,
 * so it can be unit-tested and fuzzed as plain code.
 */
#ifndef DS_PLAN_H
#define DS_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "model/mail.h"
#include "model/managed.h"
#include "model/scope.h"
#include "util/arena.h"
#include "util/idxmap.h"
#include "util/strmap.h"

enum op { OP_ADD, OP_UPDATE, OP_DISABLE, OP_DELETE, OP_NOPS };

/* what an OP_UPDATE changes */
#define CH_NAME 0x1
#define CH_GOTO 0x2
#define CH_ACTIVE 0x4     /* re-enable: active 0 -> 1 */
#define CH_ADDRESS 0x8    /* rename: old_address -> address, data kept;
			   * also a row key normalised to lower case */
#define CH_ADOPT 0x10     /* an unmanaged row taken over (adopt = yes) */
#define CH_KIND 0x20      /* alias-table row changes kind (alias -> list) */
/* a mailbox's rows repaired after a change behind dirsync's back (the
 * current object's MD_* drift); old_gotos holds the self-alias's goto as
 * found, NULL when the row is missing */
#define CH_REPAIR_SELF 0x40      /* self-alias restored */
#define CH_REPAIR_KEY 0x80       /* local_part and domain set again */
#define CH_REPAIR_MAILDIR 0x100  /* an unsafe maildir replaced */
#define CH_REPAIR (CH_REPAIR_SELF | CH_REPAIR_KEY | CH_REPAIR_MAILDIR)
#define CH_ATTRS 0x200          /* a mailbox's further attributes (mobj.attrs) */

/*
 * Why a disable or delete is planned.  Only WHY_GONE and WHY_EXPIRED are
 * deprovisioning, which the time guards of guard.h may hold back; the
 * others free an address or drop an alias whose owner stays, and hold
 * no mail.
 */
enum why {
	WHY_NONE,          /* adds and updates */
	WHY_GONE,          /* the object is no longer wanted: disable */
	WHY_EXPIRED,       /* disabled for delete_after: delete */
	WHY_ALIAS_DROPPED, /* the owner stays, the alias went */
	WHY_IN_THE_WAY     /* an alias-table row deleted to make room for
			    * a rename or a new mailbox in the same plan */
};

/*
 * One change.  Its strings point into the desired set (adds, updates),
 * the current set and the managed records (disables, deletes, the old_*
 * of updates), the rules' left_out or the plan's arena: a change never
 * copies them.  Pointers first and the small fields packed at the end
 * (112 bytes became 96): an initial sync plans one change per mail
 * object, a few hundred thousand of them.
 */
struct change {
	const char *address;
	const char *old_address;  /* CH_ADDRESS, else NULL */
	const char *anchor;
	const char *name, *old_name;
	const char *attrs;        /* mailboxes: mobj.attrs of the desired */
	const char *gotos, *old_gotos;
	const char *dn;           /* source DN when known */
	const char *account;      /* sAMAccountName/uid when known */
	/*
	 * The target row's key as stored when it differs from address (or
	 * old_address, for a rename) in letter case; NULL otherwise.  The
	 * target finds the row by it, and writes `address` (lower case).
	 */
	const char *row;
	unsigned fields;          /* CH_* for updates */
	enum op op : 8;
	enum mkind kind : 8;
	enum why why : 8;         /* disables and deletes */
	/*
	 * WHY_GONE and WHY_EXPIRED: why the object is out of scope now
	 * (from plan_input.left_out; LR_NOT_READ when it was not read,
	 * LR_ADDRESS_GONE when it stays but without this address).
	 */
	enum leave_reason left : 8;
};

struct plan_input {
	const struct mset *desired;
	const struct mset *current;
	const struct managed *managed;
	/* objects and addresses the planner must leave alone (conflicts) */
	const struct strmap *frozen_anchors;
	const struct strmap *frozen_addresses;
	/* anchor -> struct left_out (rules_result.left_out); may be NULL */
	const struct strmap *left_out;
	/*
	 * NULL: plan every object.  Else the partial compare: only the
	 * desired objects and managed records whose address is a key here
	 * are planned (current and managed then hold the rows and records
	 * of exactly these addresses; desired stays whole, for lookups).
	 */
	const struct strmap *only;
	/*
	 * With only: the addresses the verified run left in conflict with
	 * rows of other objects (its kept clashes, engine/fastpath.c); those
	 * outside only still do not reach their claimant, so no list is
	 * given them.  May be NULL.
	 */
	const struct strmap *kept_clashes;
	/*
	 * `sync --handover ADDRESS`: addresses (lower case, keys) whose
	 * mailbox, dirsync's for another directory object (a leaver's:
	 * a re-created account's old one), goes with its mail to the
	 * object that claims the address now, instead of staying a clash
	 * until that mailbox is deleted.  May be NULL.
	 */
	const struct strmap *handover;
	bool adopt;
	enum deprovision deprovision;
	long delete_after;        /* seconds */
	time_t now;
};

/*
 * A target row that blocks a desired object.  other: the anchor of the
 * object dirsync keeps the row for, or NULL when dirsync does not manage
 * the row (adopt = no).  reason: one line for the report.
 */
struct plan_clash {
	const char *address;
	const char *anchor;
	const char *other;
	const char *reason;
	/* the DN and account of anchor and of other, when known */
	const char *dn, *account;
	const char *other_dn, *other_account;
};

/*
 * A list member (or a contact's target) in one of our accepted domains
 * that no desired object has and that does not deliver after this run:
 * no row there, or a row that is disabled or deprovisioned by this run.
 * A list leaves it out; a contact's forwarder row stays as the
 * directory says.  Reported as a warning, one per address
 * (plan_note_text).  address: the member; by: the list or contact
 * naming it; why: what is at the address (NOTE_WHY_*).
 */
enum note_kind { NOTE_LIST, NOTE_CONTACT };

struct plan_note {
	const char *address;
	const char *by;
	const char *why;
	enum note_kind kind;
};

#define NOTE_WHY_NONE "is in an accepted domain but no mailbox, alias or " \
		      "list has it"

struct plan {
	struct arena arena;       /* list gotos the planner writes itself */
	struct change *v;
	size_t n, cap;
	struct plan_clash *clashes;
	size_t nclashes, capclashes;
	/* sorted by address, then kind, then by (plan_finish) */
	struct plan_note *notes;
	size_t nnotes, capnotes;
	size_t count[OP_NOPS];          /* non-alias objects */
	size_t alias_count[OP_NOPS];    /* alias rows */
};

void plan_init(struct plan *p);
/*
 * Computes the changes, ordered deletes, disables, updates, adds (then
 * by kind and address), except that a mailbox rename into an address
 * another rename frees comes after that one (an address that changes
 * hands between two people in one run): applied in plan order, every
 * address is free when a change takes it.
 */
void plan_build(struct plan *p, const struct plan_input *in);
/*
 * Keeps only the adoptions (updates with CH_ADOPT), each reduced to the
 * record of ownership (fields = CH_ADOPT: no row changes); for
 * rebuild-state.
 */
void plan_keep_adoptions(struct plan *p);
/*
 * Drops every disable and delete ([safety] hold_removals), and a held
 * object's removal from the lists it is in.  held, when not NULL (an
 * empty plan_init'ed plan), gets what was dropped: the disables and
 * deletes, and of each list update cut, the update from the members
 * kept to the whole list (what the next plan has for that list once the
 * rest is applied).  held's strings point into p's arena and input: it
 * is valid while they are; free it with plan_free().
 */
void plan_drop_removals(struct plan *p, struct plan *held);
/*
 * Adds a conflict a plan built over part of the addresses did not see (a
 * partial compare, a fast path: the verified run's, kept in the state),
 * its strings copied into the plan, and keeps the conflicts in address
 * order, as plan_build() leaves them.  NULL members stay NULL.
 */
void plan_add_clash(struct plan *p, const struct plan_clash *c);
/*
 * Adds a note a plan built over part of the addresses did not make (the
 * verified run's, kept in the state), its strings copied, in order.
 */
void plan_add_note(struct plan *p, const struct plan_note *n);
/*
 * The warnings of p's notes, one per address and kind, each naming the
 * lists (or contacts) in order: calls fn with each line (a temporary
 * string).
 */
void plan_note_text(const struct plan *p,
		    void (*fn)(void *ctx, const char *line), void *ctx);
void plan_free(struct plan *p);
const char *op_name(enum op op);

/* Which safety limit a plan exceeds. */
/* One list over max_member_removal_percent (strings borrowed from the
 * plan). */
struct limit_list {
	const char *address;
	const char *dn;      /* NULL when unknown */
	long members;        /* members it has now */
	long lost;           /* members this run would remove */
	long allowed;        /* the most it may lose */
};

struct limit_hit {
	const char *limit;   /* config key, e.g. "max_deletes"; NULL = none */
	long allowed;
	long planned;
	/*
	 * max_member_removal_percent: every list over it, the one losing
	 * most first (allowed and planned are its); borrowed from the plan
	 * (its arena).  NULL otherwise.
	 */
	const struct limit_list *lists;
	size_t nlists;
	/*
	 * Whether `sync --force-limits` may override it.  allow_empty may
	 * not: an empty scope is a broken read or a broken filter, never
	 * an intended change.
	 */
	bool forceable;
	/*
	 * [safety] limit_window: what the runs of the last `window` seconds
	 * applied of the limit's kind (planned stays this run's own), 0
	 * when none counted.
	 */
	long earlier;
	long window;
};

/*
 * What the runs of the last [safety] limit_window applied (sums over
 * their recorded counts; state_applied_since), weighed by the count
 * limits with a run's plan: a limit stops a run that plans changes of
 * its kind when earlier + planned exceeds it.  Aliases are not counted
 * (the state keeps no per-alias counts), nor lists (max_member_removal
 * _percent is per run).
 */
struct limit_earlier {
	long adds, updates, removals;   /* removals: disables + deletes */
	long window;                    /* seconds; 0: none counted */
};

/*
 * 0 when within the [safety] limits, else 1 with *hit describing the
 * first limit exceeded.  managed_count: non-alias objects dirsync
 * manages; in_scope: directory objects in scope (allow_empty).
 */
int plan_check_limits(const struct plan *p, const struct conf_safety *lim,
		      size_t managed_count, size_t in_scope,
		      const struct limit_earlier *earlier,
		      struct limit_hit *hit);

#endif

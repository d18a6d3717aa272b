/*
 * mail.h - mail objects: what the target holds or should hold.
 *
 * The rules turn directory entries into a set of these (the desired set);
 * a target's load() turns its rows into the same shape (the current set);
 * the planner diffs the two.  Objects are keyed by address, lower-case.
 *
 * In the Postfixadmin schema a mailbox is a `mailbox` row plus its
 * self-alias; aliases, lists and contacts are `alias` rows whose goto is
 * the mailbox, the members, or the contact's external address.  A target's
 * load() cannot tell alias, list and contact rows apart: it reports them as
 * MK_ALIAS and the planner takes the kind from the state database.
 */
#ifndef DS_MAIL_H
#define DS_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/idxmap.h"
#include "util/strmap.h"

enum mkind { MK_MAILBOX, MK_ALIAS, MK_LIST, MK_CONTACT, MK_DOMAIN, MK_NKINDS };

struct mobj {
	const char *address;  /* key; for domains, the domain */
	const char *anchor;   /* owner's anchor; NULL when unknown */
	const char *name;     /* mailbox or list display name, may be NULL */
	const char *gotos;    /* alias-table kinds: comma-joined, sorted */
	const char *dn;       /* source DN (desired set only), for messages */
	const char *account;  /* sAMAccountName, else uid (desired set only) */
	/*
	 * Mailboxes, for a target that carries a user's further directory
	 * attributes (SPEC's SCIM attribute table; today the SCIM target):
	 * a JSON object, directory attribute name -> first value, keys
	 * sorted, compact (json_dumps JSON_SORT_KEYS | JSON_COMPACT), or
	 * NULL for none.  In the current set NULL means the target does not
	 * carry them (nothing to compare); "" that it carries none.
	 */
	const char *attrs;
	/*
	 * (A current row's key as the target stores it, when it differs
	 * from `address` in letter case, is not here but in the set's
	 * `stored` map, mset_stored(): rare, and 8 bytes in every object of
	 * both sets were 55 MB at 1M users.)
	 */
	/* strmap_hash(address), set by mset_add and mset_add_ref: the one
	 * hash that keys this address in the desired, current and managed
	 * sets (mset_get_h, managed_get_h) */
	uint32_t hash;
	enum mkind kind : 8;   /* a byte: the hash fits beside it */
	bool active;
	/*
	 * Current set only: what a target found wrong with a row dirsync
	 * writes whole (MD_*), e.g. a mailbox whose self-alias was deleted
	 * or pointed elsewhere by hand.  The planner repairs it (CH_REPAIR_*)
	 * when the object is still wanted.
	 */
	unsigned char drift;
	/*
	 * Desired set of rules_delta() only (rules/rules_delta.h): a list
	 * the run did not expand whole, whose gotos hold only what the
	 * members in the run's closure give it (NULL: none of them).  The
	 * caller merges it into the list as the target holds it
	 * (rules_patch_gotos()) before anything compares it.  Also, after
	 * rules_patch_want(), another object of such a list's owner that
	 * is alike before and after: the list says whether a full run has
	 * it.
	 */
	bool partial;
};

/* mobj.drift */
#define MD_SELF_ALIAS 0x1  /* a mailbox's self-alias missing, inactive
			    * while the mailbox is active, or its goto
			    * without the mailbox's own address */
#define MD_KEY 0x2         /* mailbox local_part/domain not its username */
#define MD_MAILDIR 0x4     /* maildir empty, absolute or with a ".." step */

struct mset {
	struct arena arena;   /* owns the objects and their strings */
	struct mobj **v;
	size_t n, cap;
	struct idxmap by_addr;   /* address -> index in v */
	/*
	 * Optional, set before a target's load() fills this set: a set
	 * whose strings the loader may borrow where it would copy an equal
	 * one (mset_twin()): the object at the same address usually has
	 * the same address, name and goto.  It must outlive this set.  The
	 * first add sizes this set for as many objects as it has (a target
	 * that holds anything usually holds what is wanted; an empty one
	 * costs nothing).  NULL: none (mset_init).
	 */
	const struct mset *share;
	/*
	 * Current set only: lower-case address -> the row's key as the
	 * target stores it, for the rows whose key differs from the address
	 * in letter case (a row another tool wrote as
	 * "Pia.Kern@example.com"); empty in a set dirsync wrote.  Addresses
	 * compare without regard to case, so the set is keyed by the lower
	 * case.  Keys and values borrowed (the loader's arena).
	 */
	struct strmap stored;
};

void mset_init(struct mset *s);
/*
 * Adds a copy of *o (strings copied into the set's arena).  Returns the
 * stored object, or NULL if the address is already present (nothing added).
 */
struct mobj *mset_add(struct mset *s, const struct mobj *o);
/* Like mset_add, but the strings are borrowed: they must outlive the set. */
struct mobj *mset_add_ref(struct mset *s, const struct mobj *o);
/* The same with hash = strmap_hash(o->address) computed by the caller. */
struct mobj *mset_add_ref_h(struct mset *s, const struct mobj *o,
			    uint32_t hash);
struct mobj *mset_get(const struct mset *s, const char *address);
/* With hash = strmap_hash(address), for one address in several sets. */
struct mobj *mset_get_h(const struct mset *s, const char *address,
			uint32_t hash);
/*
 * Is the domain of address (after its last '@') one of s's MK_DOMAIN
 * objects?  Of the desired set: one of our accepted domains.
 */
bool mset_has_domain_of(const struct mset *s, const char *address);
/*
 * Makes room for n objects in all (v and the index), so that a set whose
 * size is known or well estimated grows without rehashing.
 */
void mset_reserve(struct mset *s, size_t n);
/*
 * The object of s->share at this (lower-case) address, or NULL (no
 * share set, or none there): its strings may be borrowed for equal ones.
 * hash = strmap_hash(address).
 */
const struct mobj *mset_twin(const struct mset *s, const char *address,
			     uint32_t hash);
/*
 * The row key of o (an object of s) as the target stores it, or NULL
 * when it is o's address (see mset.stored).  mset_set_stored() records
 * it: address and stored are borrowed and must outlive s.
 */
const char *mset_stored(const struct mset *s, const struct mobj *o);
void mset_set_stored(struct mset *s, const char *address,
		     const char *stored);
/* After the last add: give back the spare room of v. */
void mset_seal(struct mset *s);
/* Keeps v[0..n) (the caller compacted v) and rebuilds the index. */
void mset_truncate(struct mset *s, size_t n);
void mset_free(struct mset *s);

/*
 * Gotos: a list's members, a contact's target, an alias's mailbox, as
 * the alias table's goto column holds them: addresses joined by commas
 * ("a@x,b@y").  These two walk one; the goto is borrowed, unchanged,
 * and must stay so while it is walked.
 *
 * goto_next() yields its items without copying them.  *cursor starts
 * at the goto (NULL or "": no items); each call returns the start of
 * the next item, not NUL-terminated, with its length in *len, and moves
 * *cursor past the item and its comma; NULL when none is left.  Items
 * are as they are written: no blanks trimmed, no length limit, and an
 * empty one (",a", "a,,b") is yielded, with *len 0; a comma at the very
 * end only ends the last item (no empty one after it).
 */
const char *goto_next(const char **cursor, size_t *len);
/*
 * The next non-empty item, copied NUL-terminated into buf (bufsize >=
 * 1 bytes): 1, an item in buf; 0, none left (buf "").  -1: the next
 * non-empty item does not fit (bufsize bytes or more): it is passed
 * over (*cursor after it) and buf holds "": an address is never cut
 * into another one.  The caller says whether that item counts.
 */
int goto_next_addr(const char **cursor, char *buf, size_t bufsize);
/*
 * fn(ctx, addr) for each non-empty item of a goto (a list's members, a
 * contact's target), as goto_next_addr() copies it; an item of 512 bytes
 * or more is passed over.  Stops at the first true, and returns true.
 */
bool goto_each(const char *gotos, bool (*fn)(void *ctx, const char *addr),
	       void *ctx);
/*
 * Two gotos' non-empty items compared, when both are sorted, each item
 * once (byte order, as dirsync writes a goto): fn(arg, '-', item, len)
 * for each item only old has, '+' for each only now has, in item order
 * (items borrowed, not NUL-terminated); *nold (NULL: not wanted) = old's
 * items.  Returns 0; -1 without calling fn when either is not sorted so:
 * the caller compares them another way.  Linear, no allocation.
 */
int goto_diff_sorted(const char *old, const char *now,
		     void (*fn)(void *arg, char sign, const char *item,
				size_t len),
		     void *arg, size_t *nold);

const char *mkind_name(enum mkind k);   /* "mailbox", "alias", ... */
int mkind_parse(const char *s, enum mkind *out);
/* Aliases, lists and contacts all live in the alias table. */
bool mkind_alias_row(enum mkind k);

#endif

/*
 * rules_delta.h - the rules over what a delta touches (issue 10: "the
 * rules re-derive only what the change touches").
 *
 * An incremental read knows which entries changed or went since the last
 * read (the snapshot, state/syncsnap.h, keeps every entry the last read
 * saw).  Feeding the whole snapshot through the rules costs a full pass;
 * instead the rules run twice over a closed part S of the directory:
 * once with S as the last read had it ("before") and once as it is now
 * ("after").  The full result of this run is then
 *
 *     the verified run's result  -  before  +  after
 *
 * object by object (the desired set, by address), count by count (scope
 * counts, in_scope) and item by item (warnings as a multiset, conflicts
 * by address, left_out by anchor, frozen keys).  That holds when S is
 * closed under everything that couples one entry's result to another's:
 *
 *   - addresses: every entry claiming an address some entry of S claims
 *     (before or after) is in S, to a fixpoint, so conflicts and frozen
 *     objects over S's addresses are settled as a full run settles them;
 *   - lists, upwards: every group naming (member, uniqueMember, AD
 *     primary group) an entry of S, before or after, and its parents, to
 *     the top;
 *   - lists, downwards: every member of a group of S, through nested
 *     groups and AD primary-group members, so that its expansion is the
 *     full one;
 *   - [scope] member_of: the member_of groups and their nested groups
 *     are always in S; a change to one of them (or a group joining or
 *     leaving that tree) makes rules_delta() decline (1);
 *   - time: the caller declines itself when an account's expiry (the
 *     last result's next_expiry) has passed.
 * S is found through keys (rules_keys): what an entry claims or names,
 * which the caller indexes for the last read (a lookup by key gives the
 * entries having it).
 */
#ifndef DS_RULES_DELTA_H
#define DS_RULES_DELTA_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "model/entry.h"
#include "rules/rules.h"
#include "util/err.h"

/*
 * Keys of one entry, as the last read's index holds them.  Each key is a
 * type letter, ':' and a normalised value:
 *   "d:<ndn>"      the entry's own DN (dn_normalize)
 *   "a:<address>"  every address the rules could give it (primary and
 *                  aliases, normalised as the rules do, whatever its
 *                  scope)
 *   "m:<ndn>"      groups: every member / uniqueMember value
 *   "s:<sid>"      AD groups: objectSid as text
 *   "p:<sid>"      AD users: their primary group's SID
 * The exact set is rules_delta.c's business: only it asks for keys
 * (through rules_lookup.find) and only rules_keys() makes them.
 *
 * A keyer is made once per run (it holds the parsed mapping); keys are
 * handed to cb one by one, borrowed for the call.  An entry the rules
 * take no interest in (a computer, a container) gets its "d:" key only.
 */
struct rules_keyer;
struct rules_keyer *rules_keyer_new(const struct conf *c, struct err *err);
void rules_keys(struct rules_keyer *k, const struct entry *e,
		void (*cb)(void *arg, const char *key), void *arg);
void rules_keyer_free(struct rules_keyer *k);

/* The last read, as the caller keeps it (the snapshot). */
struct rules_lookup {
	void *ctx;
	/*
	 * The last read's entry under its snapshot key (uuid), or NULL when
	 * it had none.  Borrowed until the next call of get().
	 */
	const struct entry *(*get)(void *ctx, const char *uuid);
	/*
	 * Calls each(arg, uuid) for every entry of the last read having
	 * key (see rules_keys), in any order.  0, or -1 with err set.
	 */
	int (*find)(void *ctx, const char *key,
		    void (*each)(void *arg, const char *uuid), void *arg,
		    struct err *err);
	size_t nentries;       /* entries in the last read */
};

/* One entry that changed since the last read. */
struct rules_change {
	const char *uuid;
	const struct entry *now;   /* NULL: gone */
};

struct rules_delta {
	struct rules_result before, after;   /* the rules over S */
	size_t nset;                         /* entries in S */
};

/*
 * The rules over the closure of changes[0 .. n) (see above), before and
 * after, into *out (rules_init'ed here; rules_delta_free it).  now: the
 * clock expiry is judged against (both runs use it).  max: the most
 * entries S may hold; larger, and the caller should feed everything
 * through the rules instead.
 * Returns 0 done, 1 declined (S over max, a member_of group changed:
 * *why, a static string, says which; *out is empty), -1 with err set.
 */
int rules_delta(const struct conf *c, const struct rules_lookup *lk,
		const struct rules_change *changes, size_t n, time_t now,
		size_t max, struct rules_delta *out, const char **why,
		struct err *err);
void rules_delta_free(struct rules_delta *d);

#endif

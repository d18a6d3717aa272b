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
 *   - lists, downwards: for a group expanded whole (new, gone or with
 *     another face, or asked for whole), every member, through nested
 *     groups and AD primary-group members, so that its expansion is the
 *     full one; for a group whose members alone changed, the member
 *     values it gained or lost (F_DIFF), and what is under a lost one is
 *     followed UP as well (F_CUT); every other list of S is patched, not
 *     expanded (see "Lists" at rules_delta() below).  So "before" and
 *     "after" hold a patched list's object partial (mobj.partial), and
 *     the formula above holds for it through rules_patch_gotos().  An
 *     unchanged member that is no group and that nothing
 *     else pulls in is a "stand-in": it is in the runs only to give its
 *     lists its address (its scope judged as usual, its address
 *     contested or not as the last full result had it: rules_lookup.
 *     contested) and yields nothing itself, so its own claimants need
 *     not join (its own result cannot change: were one of its
 *     addresses' claimants in play, ADDR would have pulled it in whole);
 *     another giver of an address (GIVE below) is a stand-in too;
 *   - [scope] member_of: the member_of groups and their nested groups
 *     are always in S; a change to one of them (or a group joining or
 *     leaving that tree) makes rules_delta() decline (1);
 *   - time: the caller declines itself when an account's expiry (the
 *     last result's next_expiry) has passed.
 * S is found through keys (rules_keys): what an entry claims or names,
 * which the caller indexes for the last read (a lookup by key gives the
 * entries having it).
 *
 * Exactly, the closure (rules_delta.c) follows from each entry of S, in
 * both worlds (the entry as the last read had it and as it is now):
 *   ADDR  every entry having one of its "a:" keys joins S (all entries of
 *         S but the member_of tree's groups, to a fixpoint);
 *   UP    the groups naming its DN ("m:" = its "d:") and the groups whose
 *         objectSid is its primary group's or Domain Users' SID ("s:" =
 *         its "p:") join, followed UP in turn.  From: the changes, the
 *         entries sharing an address with a change, and the groups naming
 *         a member value in play (below);
 *   DOWN  a group's members ("d:" = its "m:", and the change now having
 *         that DN) and primary-group members ("p:" = its "s:") join,
 *         followed DOWN in turn; an unchanged one that is no group joins
 *         as a stand-in (no ADDR; its keys are never made).  From:
 *         groups new, gone or reshaped (another face), lists the caller
 *         wants whole, and groups reached DOWN.  A changed group whose
 *         face is the same follows only the member values one world
 *         has (DIFF), and those it lost with CUT: what is under them is
 *         followed UP too;
 *   TREE  [scope] member_of: the groups ("g:") named by the member_of
 *         DNs and by those groups' member values, as the last read has
 *         them; they join S as read-only members of the walk (a "ghost"
 *         in the rules: it yields nothing) unless something above pulls
 *         them in for real;
 *   GIVE  a leaf of the lists' walk (a user or contact without member
 *         values) followed UP may stop giving a list the address it
 *         gives (a user's primary, a contact's external address), while
 *         another member of the list gives the same one: contacts claim
 *         no external address, so two contacts, or a contact and a user,
 *         may give one address without a conflict.  A patched list
 *         would lose it.  So every entry giving that address as the
 *         leaf had it (an "a:" key, and the address is the one it gives)
 *         joins as a stand-in, followed UP: every list it is in, through
 *         every path, is in S, with its address on both sides.  A user
 *         changed (not local) needs no more: ADDR joined every entry
 *         with its primary as an "a:" key, UP.
 * A change is "local" when the entry's keys and what else other entries
 * read of it (its kind, list_ok, scope verdict at `now`, anchor, DN as
 * spelt, primary and external address) are the same before and after:
 * a display name, a profile attribute, an account lock of an entry out
 * of scope anyway...  Nothing another entry's result reads changed, so it
 * is followed ADDR only (not UP, its DN not in play, the co-claimants of
 * its addresses not UP), and a member_of group changed so is no tree
 * change.
 * Further couplings in the rules and how they are met:
 *   - a member value naming no entry is warned about once, naming the
 *     group with the least normalised DN among the groups reached (the
 *     rules do so in every run, so the order of the read does not
 *     matter).  Member values "in play" (a change's old or new DN, and
 *     the values of a group followed DOWN that name no entry in one
 *     world) pull every group naming them, UP; the runs over S warn only
 *     about values in play (the others name entries outside S);
 *   - "the same DN twice: first one wins" (rules_add) and two groups
 *     with one objectSid (primary groups): S holds every entry with the
 *     DN of an entry of S (a change's new DN is looked up too) and every
 *     group with the SID of a group of S; two of them in one world:
 *     declined;
 *   - two entries with one anchor (objectGUID, entryUUID, nsUniqueId)
 *     fail rules_end() in a full run: every entry of S followed ADDR
 *     pulls in the entries with its anchor ("u:"), so the run over S
 *     fails the same way (a DN anchor is covered by the DN above);
 *   - member_of_missing and its warning come out the same in both runs.
 * rules_delta() declines (returns 1, *why says which) when:
 *   - S would hold more than max entries;
 *   - a member_of group or one of its nested groups is among the changes
 *     (not local), or a changed group now has a DN the member_of tree
 *     names;
 *   - two entries of S have the same DN, or two groups of S the same
 *     objectSid, in one world.
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
 * type letter, ':' and a value normalised exactly as the rules do
 * (rules_classify / rules_build: the same slots, mapping and DN form):
 *   "d:<ndn>"      the entry's own DN (dn_normalize); every entry
 *   "g:<ndn>"      the same, for the entries whose members nest (groups,
 *                  and any entry with member values): the member_of walk
 *   "a:<address>"  every address the rules could give it, whatever its
 *                  scope: a user's or group's primary (SMTP:, mail, or
 *                  userPrincipalName when mail_enabled_only = no) and
 *                  aliases in accepted domains; a contact's forwarding
 *                  addresses and its external one (claimed by none, but
 *                  given to its lists: GIVE above)
 *   "m:<ndn>"      every member / uniqueMember value (as the rules cut
 *                  "#'0101'B")
 *   "u:<anchor>"   the anchor (rules_anchor: objectGUID, entryUUID or
 *                  nsUniqueId; none for a DN anchor): two entries with
 *                  one anchor fail the rules
 *   "s:<sid>"      groups: objectSid as text
 *   "p:<sid>"      users: their primary group's SID, and Domain Users'
 *                  (the domain's RID 513) when their primary group is
 *                  another
 * No key is repeated for one entry; the order is sorted.  Only
 * rules_delta.c asks for keys (through rules_lookup.find) and only
 * rules_keys() makes them.
 *
 * A keyer is made once per run (it holds the parsed mapping; it fails as
 * rules_begin() does, DS_E_CONFIG); keys are handed to cb one by one,
 * borrowed for the call.  An entry the rules take no interest in (a
 * computer, a container) gets its "d:" key only.
 */
/*
 * The version of the keys above: a snapshot indexed with other keys is
 * read whole once (the engine hashes this into the snapshot's settings),
 * so that the rules over a delta never look for a key its rows lack.
 * 2: a contact's external address became an "a:" key.
 * 3: the anchor became a "u:" key.
 */
#define RULES_KEYS_VERSION "3"

struct rules_keyer;
struct rules_keyer *rules_keyer_new(const struct conf *c, struct err *err);
void rules_keys(struct rules_keyer *k, const struct entry *e,
		void (*cb)(void *arg, const char *key), void *arg);
void rules_keyer_free(struct rules_keyer *k);
/*
 * rules_add() that also hands e's keys to cb (the same keys as
 * rules_keys(), from the object rules_add() builds: a full read indexes
 * as it goes at no second pass).  An entry rules_add() skips as a second
 * one with its DN gets its "d:" key only.
 */
void rules_add_keyed(struct rules_ctx *x, const struct entry *e,
		     void (*cb)(void *arg, const char *key), void *arg);

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
	/*
	 * Was address contested (two entries claiming it: a conflict) in
	 * the last full result?  A stand-in (below) gives its lists its
	 * address as that result had it.  NULL: no conflicts.  Called
	 * from two threads at once (the runs over "before" and "after" go
	 * side by side), while get and find are not: it must only read.
	 */
	bool (*contested)(void *ctx, const char *address);
	/*
	 * Optional (NULL: not called).  When rules_delta() returns 0, once
	 * per change still there: its keys now (as rules_keys() makes them,
	 * sorted, each once; borrowed for the call), so that the caller can
	 * index the changed rows without making the keys again (for a list
	 * of 50,000 members, 50,000 normalised DNs and a sort).
	 */
	void (*keys_now)(void *ctx, const char *uuid,
			 const char *const *keys, size_t n);
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
 * Returns 0 done, 1 declined (the cases listed at the top: *why, a
 * static string, says which; *out is empty), -1 with err set (a
 * lk->find() failure, or the conf refused as rules_begin() refuses it;
 * *out empty).  Its cost follows |S| and the member values of S's
 * groups: lk->get() once per entry of S, lk->find() once per key of S;
 * with [scope] member_of, once per member value of the member_of groups.
 * A decline over max costs up to max entries read: keep max well under
 * the entries of a full read.
 *
 * Lists.  A list whose own entry changed (more than a re-read with the
 * same keys and face) is expanded whole: every member joins S, most as
 * stand-ins.  Any other list in S is patched: only the members in S give
 * it their addresses, and its mail object is partial (mobj.partial,
 * robj.patch).  This is exact because every path from a list to a member
 * whose contribution may go lies in S: a changed entry is followed UP
 * through every group naming it, and so is everything under a member
 * value a changed group lost (F_CUT), and so is every other member
 * giving the same address (GIVE: the list keeps an address another
 * member still gives it); paths that only appear add addresses, which
 * a patch may add twice.  The caller makes a partial
 * list whole where before and after differ, from the list the target
 * holds (rules_patch_want(), rules_patch_lists() below).  When it cannot
 * (a list the last run did not create, one that would be left empty,
 * one that is a list on one side only...), it calls again with those
 * lists' ndns in whole (NULL: none), and they are expanded whole.
 * Thanks to this, 1% of 1,000,000 users changed in
 * bench/incremental_bench.sh no longer brings the 50,000 members of the
 * list of all staff into S.
 */
int rules_delta(const struct conf *c, const struct rules_lookup *lk,
		const struct rules_change *changes, size_t n, time_t now,
		size_t max, const struct strmap *whole,
		struct rules_delta *out, const char **why, struct err *err);
void rules_delta_free(struct rules_delta *d);

/*
 * Partial lists made whole (rules_patch.c), after rules_delta() returned
 * 0: the engine (engine/rdelta.c, the rows from the target's load_part)
 * and tests/unit/test_rules_delta.c (the rows from the last full result)
 * call these, so both decide alike.
 *
 * The rule.  A list rules_delta() patched (mobj.partial) holds only what
 * the closure's members give it.  A list alike before and after (every
 * field a plan reads) stays partial: it is not touched, and nothing
 * reads it.  One that differs is made whole from the list as the target
 * holds it (the current row: the last run's result, which the fast
 * path's fingerprint vouches for): the row is before, and before less
 * what the members no longer give plus what they now give is after
 * (rules_patch_gotos).  Lists that cannot be patched are to be expanded
 * whole by calling rules_delta() again with them in `whole`: one the
 * last run did not create (no row), one whose row holds a frozen member
 * (an address in conflict the plan kept in it: plan.c
 * keep_frozen_members; not the last result's list), one left without
 * members, one partial on one side only or a list on one side only,
 * and one whose owner's other objects (aliases) differ between before
 * and after (whether they are wanted depends on the list having
 * members, which only the whole list says).  Such an object alike on
 * both sides is marked partial too, on both sides: whether a full run
 * has it is the list's to say, and nothing reads it.  A row that is a
 * mailbox, inactive, or lacks an address the members gave before is not
 * what the last run left: declined.
 *
 * The lists to expand whole: normalised DNs (dn_normalize) as keys of
 * ndns, keys and values the same string, owned by a (the caller hands
 * &ndns to rules_delta() as `whole`).  Zero it to start; free it with
 * rules_whole_free().  A list is added once.
 *
 * Cost: phase one a pass over both desired sets (S's objects, not the
 * directory's), phase two a lookup per wanted list and a merge of its
 * gotos; the caller's load between them is one batch.
 */
struct rules_whole {
	struct strmap ndns;
	struct arena a;
};
void rules_whole_free(struct rules_whole *w);

/*
 * Phase one: the addresses of the partial lists that differ between
 * d->before and d->after into want (keys and values borrowed from
 * d->before: valid until rules_delta_free(d)), whose rows phase two
 * needs: the caller loads them all at once.  Lists that cannot be
 * patched whatever the rows say go into w; objects of a partial list's
 * owner alike on both sides are marked partial (above).  Nothing to
 * load when want stays empty.
 */
void rules_patch_want(struct rules_delta *d, struct strmap *want,
		      struct rules_whole *w);
/*
 * Phase two: every list of want (as phase one left it) made whole from
 * current (the rows, by address; a missing one: not created last time)
 * in place: its before takes the row's gotos and its after the merged
 * ones, copied into d->before.arena and d->after.arena, and both lose
 * partial; or it goes into w (above).  frozen: the last result's
 * addresses in conflict (keys; NULL: none).  current and frozen are
 * borrowed for the call.  0 done; 1 declined (*why, a static string:
 * a row is not as the last run left it); 2 call rules_delta() again
 * with w->ndns (w not empty).
 */
int rules_patch_lists(struct rules_delta *d, const struct strmap *want,
		      const struct mset *current, const struct strmap *frozen,
		      struct rules_whole *w, const char **why);

/*
 * A partial list (mobj.partial) made whole: the list as the target holds
 * it (current: the last run's result, which the target vouches for),
 * less the addresses the closure's members gave it before and no longer
 * give, plus those they give now and did not.  All three are gotos
 * strings (comma-joined; NULL or "" for none).  0 with *merged = the
 * list's gotos sorted and comma-joined as the rules join them (malloc'd),
 * or NULL when none is left; -1 (*merged NULL) when current lacks an
 * address of before: the list is not what the last run left.
 */
int rules_patch_gotos(const char *current, const char *before,
		      const char *after, char **merged);
/*
 * The same by sets of the three (any gotos: unsorted, with an item twice
 * or empty ones).  rules_patch_gotos() merges gotos whose items are
 * sorted and each once, in one pass, and takes this for the others;
 * test_rules_patch checks both agree.
 */
int rules_patch_gotos_sets(const char *current, const char *before,
			   const char *after, char **merged);

#endif

/*
 * rdelta.c - an incremental run whose rules re-derive only what the
 * delta touches (issue 10).
 *
 * read.c hands over the changed and gone entries; the rules run over
 * their closure twice, as the last read had it and as it is now
 * (rules/rules_delta.h), and the run's result is the last one's (the
 * summary the snapshot keeps: in scope, warnings, conflicts, the
 * digest's sums) less "before" plus "after".  The desired set then holds
 * only the objects "after" gives: the fast path (fastpath.c) plans just
 * the addresses either side gave, which is the partial compare's
 * machinery with the rules' own list of what changed instead of a digest
 * of every object.
 *
 * It is taken only when it can be exact, and otherwise the whole
 * snapshot goes through the rules as before (read.c's delta_merge), with
 * the reason logged at -v:
 *   - the snapshot's summary carries the sums (a snapshot of this
 *     version, written by a run that computed its digest);
 *   - the verified run is the one that left the snapshot, no full
 *     compare is due, and the target can compare part of itself
 *     (engine_fastpath_delta_ok);
 *   - no account expiry has passed since (the summary's next_expiry);
 *   - the closure is at most a quarter of the directory (and 1,000
 *     entries), and no [scope] member_of group changed (rules_delta
 *     declines);
 *   - the rules froze the same keys before and after (a conflict that
 *     starts or ends freezes or frees objects the fast path's record
 *     cannot follow);
 *   - the touched addresses are at most the partial compare's share.
 */
#include "engine/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_delta.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* rules_lookup over the snapshot. */
struct snap_lookup {
	struct syncsnap *s;
	void *blob, *scratch;
	size_t cap;
	struct entry e;
	bool bad;            /* a row that does not decode */
	const struct rules_result *prev;   /* the last full result */
	struct strmap in;    /* uuid -> struct rdelta_in *: keys_now's */
};

static const struct entry *
lk_get(void *ctx, const char *uuid)
{
	struct snap_lookup *l = ctx;
	size_t len;

	free(l->blob);
	if ((l->blob = syncsnap_get(l->s, uuid, &len)) == NULL)
		return NULL;
	if (syncsnap_decode(l->blob, len, &l->e, &l->scratch, &l->cap) != 0) {
		l->bad = true;
		return NULL;
	}
	return &l->e;
}

static int
lk_find(void *ctx, const char *key, void (*each)(void *, const char *),
	void *arg, struct err *err)
{
	return syncsnap_find(((struct snap_lookup *)ctx)->s, key, each, arg,
			     err);
}

/* A change's keys now, hashed as the snapshot indexes them. */
static void
lk_keys_now(void *ctx, const char *uuid, const char *const *keys, size_t n)
{
	struct rdelta_in *in = strmap_get(&((struct snap_lookup *)ctx)->in,
					  uuid);

	if (in == NULL)
		return;
	free(in->keys);
	in->keys = syncsnap_key_hashes(keys, n, &in->nkeys);
}

static int cmp_conflict(const void *a, const void *b);

/* Was address a conflict of the last result (sorted by address)? */
static bool
lk_contested(void *ctx, const char *address)
{
	const struct rules_result *prev = ((struct snap_lookup *)ctx)->prev;
	struct conflict key;

	if (prev->nconflicts == 0)
		return false;
	key.address = address;
	return bsearch(&key, prev->conflicts, prev->nconflicts,
		       sizeof(*prev->conflicts), cmp_conflict) != NULL;
}

static void
add_warning(struct rules_result *r, const char *w)
{
	r->warnings = xgrow(r->warnings, &r->capwarnings, r->nwarnings + 1,
			    sizeof(*r->warnings));
	r->warnings[r->nwarnings++] = xstrdup(w);
}

/*
 * Warnings: the last run's, less one of each "before" gave, then
 * "after"'s (a multiset: the same text may come from two entries).
 */
static void
patch_warnings(struct rules_result *out, const struct rules_result *prev,
	       const struct rules_result *before)
{
	struct strmap drop = STRMAP_INIT;
	char **mine = out->warnings;
	size_t nmine = out->nwarnings, i;

	for (i = 0; i < before->nwarnings; i++) {
		uintptr_t c = (uintptr_t)strmap_get(&drop, before->warnings[i]);

		strmap_put(&drop, before->warnings[i], (void *)(c + 1));
	}
	out->warnings = NULL;
	out->nwarnings = out->capwarnings = 0;
	for (i = 0; i < prev->nwarnings; i++) {
		uintptr_t c = (uintptr_t)strmap_get(&drop, prev->warnings[i]);

		if (c > 0) {
			strmap_put(&drop, prev->warnings[i], (void *)(c - 1));
			continue;
		}
		add_warning(out, prev->warnings[i]);
	}
	for (i = 0; i < nmine; i++) {
		add_warning(out, mine[i]);
		free(mine[i]);
	}
	free(mine);
	strmap_free(&drop);
}

static const char **
copy_strings(struct arena *a, const char *const *v, size_t n)
{
	const char **out = arena_alloc(a, (n ? n : 1) * sizeof(*out));
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = v != NULL && v[i] != NULL ? arena_strdup(a, v[i])
						   : NULL;
	return out;
}

/*
 * Conflicts: the last run's at addresses neither side settled, then
 * "after"'s (every claimant of a touched address is in the closure, so
 * "after" settles those whole).
 */
static void
patch_conflicts(struct rules_result *out, const struct rules_result *prev,
		const struct rules_result *before)
{
	struct strmap settled = STRMAP_INIT;
	size_t i, n = out->nconflicts;

	for (i = 0; i < before->nconflicts; i++)
		strmap_put(&settled, before->conflicts[i].address, &settled);
	for (i = 0; i < n; i++)
		strmap_put(&settled, out->conflicts[i].address, &settled);
	for (i = 0; i < prev->nconflicts; i++) {
		const struct conflict *p = &prev->conflicts[i];
		struct conflict *c;

		if (strmap_get(&settled, p->address) != NULL)
			continue;
		out->conflicts = xgrow(out->conflicts, &out->capconflicts,
				       out->nconflicts + 1,
				       sizeof(*out->conflicts));
		c = &out->conflicts[out->nconflicts++];
		c->address = arena_strdup(&out->arena, p->address);
		c->n = p->n;
		c->claimed_by = copy_strings(&out->arena, p->claimed_by, p->n);
		c->dns = copy_strings(&out->arena, p->dns, p->n);
		c->accounts = copy_strings(&out->arena, p->accounts, p->n);
	}
	strmap_free(&settled);
	/* in the order a full run gives them */
	if (out->nconflicts > 1)
		qsort(out->conflicts, out->nconflicts,
		      sizeof(*out->conflicts), cmp_conflict);
}

static int
cmp_conflict(const void *a, const void *b)
{
	return strcmp(((const struct conflict *)a)->address,
		      ((const struct conflict *)b)->address);
}

/* The last full result's frozen anchors into out (the closure's are in
 * it: take_delta() declined unless they are the same before and after). */
static void
frozen_of_prev(struct rules_result *out, const struct rules_result *prev)
{
	const char *k;
	void *v;
	size_t it = 0;

	while (strmap_next(&prev->frozen_anchors, &it, &k, &v))
		if (strmap_get(&out->frozen_anchors, k) == NULL) {
			const char *c = arena_strdup(&out->arena, k);

			strmap_put(&out->frozen_anchors, c, (void *)c);
		}
}

/* The earlier of two expiries, 0 meaning none. */
static time_t
earlier(time_t a, time_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* The changed entries decoded, each into its own scratch. */
struct changes {
	struct rules_change *v;
	struct entry *e;
	void **scratch;
	size_t n;
};

static void
changes_free(struct changes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->scratch[i]);
	free(c->scratch);
	free(c->e);
	free(c->v);
}

static int
changes_fill(struct changes *c, const struct rdelta_in *in, size_t n,
	     const char *origin, struct err *err)
{
	size_t i, cap;

	c->v = xcalloc(n ? n : 1, sizeof(*c->v));
	c->e = xcalloc(n ? n : 1, sizeof(*c->e));
	c->scratch = xcalloc(n ? n : 1, sizeof(*c->scratch));
	for (i = 0; i < n; i++, c->n++) {
		c->v[i].uuid = in[i].uuid;
		if (in[i].blob == NULL)
			continue;       /* gone */
		cap = 0;
		if (syncsnap_decode(in[i].blob, in[i].len, &c->e[i],
				    &c->scratch[i], &cap) != 0)
			return err_set(err, DS_E_INTERNAL, "changed entry %s "
				       "does not decode", in[i].uuid);
		c->e[i].origin = origin;
		c->v[i].now = &c->e[i];
	}
	c->n = n;
	return 0;
}

/* Entries in the directory after the delta, from the last read's count. */
static size_t
count_after(struct snap_lookup *lk, const struct changes *c,
	    size_t before, size_t *gone)
{
	size_t i, n = before;

	*gone = 0;
	for (i = 0; i < c->n; i++) {
		bool had = lk_get(lk, c->v[i].uuid) != NULL;

		if (had && c->v[i].now == NULL) {
			n--;
			(*gone)++;
		} else if (!had && c->v[i].now != NULL) {
			n++;
		}
	}
	return n;
}

/*
 * *fz: the addresses in conflict (frozen), and those of the mail objects
 * of the people whose primary address is in conflict (the records of
 * d's frozen anchors, loaded by anchor; keys malloc'd):
 * the planner keeps both in the lists they were in (plan.c,
 * frozen_member), so a list row naming one is not the last result's
 * list (rules_patch_lists).  0, 1 declined (*why), -1 with err.
 */
static int
frozen_people(struct run *x, struct rules_delta *d,
	      const struct strmap *frozen, struct strmap *fz,
	      const char **why)
{
	struct strmap none = STRMAP_INIT;
	struct mset cur;
	struct managed man;
	const char *k;
	void *v;
	size_t it = 0, i, nm = 0;
	int rc = 0;

	while (strmap_next(frozen, &it, &k, &v))
		strmap_put(fz, xstrdup(k), fz);
	if (d->after.frozen_anchors.len == 0)
		return 0;
	mset_init(&cur);
	managed_init(&man);
	rc = x->tops->load_part(x->tgt, &none, &d->after.frozen_anchors,
				&cur, &man, &d->after.desired, &nm,
				&x->r->err);
	if (rc > 0)
		*why = "the target cannot load part of itself";
	for (i = 0; rc == 0 && i < man.n; i++)
		if (man.v[i].anchor != NULL &&
		    strmap_get(&d->after.frozen_anchors, man.v[i].anchor) &&
		    strmap_get(fz, man.v[i].address) == NULL)
			strmap_put(fz, xstrdup(man.v[i].address), fz);
	mset_free(&cur);
	managed_free(&man);
	strmap_free(&none);
	return rc;
}

/*
 * The lists the rules patched from their changed members made whole
 * where before and after differ (rules_patch_want, rules_patch_lists:
 * rules_delta.h says the rule), from the target's rows of them, loaded
 * in one load_part.  0; 1 declined (*why); 2 call the rules again with
 * w; -1 with err.
 */
static int
whole_lists(struct run *x, struct rules_delta *d, const struct strmap *frozen,
	    struct rules_whole *w, const char **why)
{
	struct strmap want = STRMAP_INIT, none = STRMAP_INIT;
	struct strmap fz = STRMAP_INIT;
	struct mset cur;
	struct managed man;
	const char *k;
	void *v;
	size_t nm = 0, it = 0;
	int rc;

	rules_patch_want(d, &want, w);
	if (want.len == 0) {
		strmap_free(&want);
		return w->ndns.len > 0 ? 2 : 0;
	}
	mset_init(&cur);
	managed_init(&man);
	rc = x->tops->load_part(x->tgt, &want, &none, &cur, &man,
				&d->after.desired, &nm, &x->r->err);
	if (rc > 0)
		*why = "the target cannot load part of itself";
	if (rc == 0)
		rc = frozen_people(x, d, frozen, &fz, why);
	if (rc == 0)
		rc = rules_patch_lists(d, &want, &cur, &fz, w, why);
	it = 0;
	while (strmap_next(&fz, &it, &k, &v))
		free((char *)k);
	strmap_free(&fz);
	mset_free(&cur);
	managed_free(&man);
	strmap_free(&want);
	strmap_free(&none);
	return rc;
}

/* The last result's addresses in conflict (borrowed from prev). */
static void
frozen_of(struct strmap *m, const struct summary *prev)
{
	size_t i;

	for (i = 0; i < prev->rules.nconflicts; i++)
		strmap_put(m, prev->rules.conflicts[i].address,
			   (void *)prev->rules.conflicts[i].address);
}

/*
 * The checks after the rules (frozen keys, share of the set) and the
 * result put together into r->rules: 0, or 1 declined (*why).
 */
static int
take_delta(struct run *x, struct summary *prev, struct rules_delta *d,
	   struct rules_whole *w, const char **why)
{
	struct run_result *r = x->r;
	uint64_t sums[FASTPATH_NSUMS];
	size_t touched, i;
	struct rules_result out;
	struct strmap frozen = STRMAP_INIT;
	int rc;

	if (!strmap_same_keys(&d->before.frozen_anchors,
			      &d->after.frozen_anchors) ||
	    !strmap_same_keys(&d->before.frozen_addresses,
			      &d->after.frozen_addresses)) {
		*why = "a conflict began or ended: the frozen objects changed";
		return 1;
	}
	if (engine_fastpath_kept_touched(x, &d->before.desired,
					 &d->after.desired)) {
		*why = "the delta touches a conflict the last run kept";
		return 1;
	}
	/* the addresses in conflict: the last result's (a conflict that
	 * began or ended has declined above) */
	frozen_of(&frozen, prev);
	rc = whole_lists(x, d, &frozen, w, why);
	strmap_free(&frozen);
	if (rc != 0)
		return rc;
	memcpy(sums, prev->sums, sizeof(sums));
	engine_fastpath_set_sums(sums, &d->before, -1);
	engine_fastpath_set_sums(sums, &d->after, +1);
	engine_fastpath_delta(x, sums, &d->before.desired, &d->after.desired);
	touched = engine_fastpath_touched(x);
	if (touched > 64 && touched * 10 > (size_t)sums[2]) {
		*why = "the delta touches more than a tenth of the mail objects";
		return 1;
	}
	out = d->after;
	rules_init(&d->after);
	/* the people held by a conflict outside the closure stay held: a
	 * newcomer claiming the mailbox one of them keeps (its primary in
	 * conflict elsewhere) had it disabled as if its owner were gone, as
	 * the closure holds no object of that owner (a user trial) */
	frozen_of_prev(&out, &prev->rules);
	out.in_scope = prev->rules.in_scope - d->before.in_scope +
		       out.in_scope;
	out.next_expiry = earlier(prev->next_expiry, out.next_expiry);
	patch_warnings(&out, &prev->rules, &d->before);
	patch_conflicts(&out, &prev->rules, &d->before);
	/* every address in conflict is frozen, also one whose claimants
	 * are not in the closure (a stand-in claims nothing): the plan
	 * keeps a list's frozen members by this set (keep_frozen_members) */
	for (i = 0; i < out.nconflicts; i++)
		strmap_put(&out.frozen_addresses, out.conflicts[i].address,
			   (void *)out.conflicts[i].address);
	rules_free(&r->rules);
	r->rules = out;
	return 0;
}

int
engine_rules_delta(struct run *x, struct syncsnap *old,
		   const struct syncsnap_meta *meta,
		   struct rdelta_in *in, size_t n)
{
	struct run_result *r = x->r;
	struct snap_lookup sl;
	struct rules_lookup lk;
	struct summary prev;
	struct changes ch;
	struct rules_delta d;
	struct rules_whole w;
	const char *why = NULL;
	size_t entries, gone, max, i;
	int rc, attempt;

	memset(&sl, 0, sizeof(sl));
	memset(&lk, 0, sizeof(lk));
	memset(&ch, 0, sizeof(ch));
	memset(&d, 0, sizeof(d));
	memset(&w, 0, sizeof(w));
	rules_init(&d.before);
	rules_init(&d.after);
	if (engine_summary_parse(meta->summary, &prev) != 0) {
		log_debug("rules over the whole snapshot: no summary with "
			  "sums from the last read");
		return 1;
	}
	rc = 1;
	if (prev.next_expiry != 0 && x->expiry_now >= prev.next_expiry) {
		why = "an account expired since the last read";
		goto out;
	}
	if (!prev.have_frozen) {
		why = "the last read's summary does not name the people its "
		      "conflicts hold";
		goto out;
	}
	if ((rc = engine_fastpath_delta_ok(x, prev.digest, &why)) <= 0) {
		rc = rc < 0 ? -1 : 1;
		goto out;
	}
	if (prev.rules.nconflicts > 1)    /* lk_contested() bsearches */
		qsort(prev.rules.conflicts, prev.rules.nconflicts,
		      sizeof(*prev.rules.conflicts), cmp_conflict);
	sl.s = old;
	sl.prev = &prev.rules;
	lk.ctx = &sl;
	lk.get = lk_get;
	lk.find = lk_find;
	lk.contested = lk_contested;
	lk.keys_now = lk_keys_now;
	for (i = 0; i < n; i++)
		strmap_put(&sl.in, in[i].uuid, &in[i]);
	lk.nentries = (size_t)meta->entries;
	rc = -1;
	if (changes_fill(&ch, in, n, r->info.server, &r->err) != 0)
		goto out;
	entries = count_after(&sl, &ch, (size_t)meta->entries, &gone);
	/* each entry of the closure costs two runs of the rules and a
	 * lookup by key; past a quarter of the directory the whole
	 * snapshot in one scan costs less */
	max = lk.nentries / 4 + 1000;
	/* a second time when some lists must be expanded whole */
	for (attempt = 0;; attempt++) {
		rc = rules_delta(x->c, &lk, ch.v, ch.n, x->expiry_now, max,
				 attempt > 0 ? &w.ndns : NULL, &d, &why,
				 &r->err);
		if (rc == 0 && sl.bad) {
			rc = 1;
			why = "a snapshot row does not decode";
		}
		if (rc == 0)
			rc = take_delta(x, &prev, &d, &w, &why);
		if (rc != 2)
			break;
		rules_delta_free(&d);
		if (attempt > 0) {
			rc = 1;
			why = "a list patched from its members must still be "
			      "expanded whole";
			break;
		}
		log_debug("rules over the delta again: %zu lists expanded "
			  "whole", w.ndns.len);
	}
	if (rc == 0) {
		r->read = entries;
		r->read_deleted = gone;
		r->rules_delta = true;
		r->rules_entries = d.nset;
		log_msg(x->lvl, "rules over the delta: %zu entries re-derived, "
			"%zu mail objects touched (%.2fs)", d.nset,
			engine_fastpath_touched(x), clock_seconds() - x->t0);
	}
out:
	if (rc != 0)
		engine_fastpath_free(x);
	if (rc > 0)
		log_msg(x->lvl, "rules over the whole snapshot: %s",
			why != NULL ? why : "declined");
	rules_delta_free(&d);
	rules_whole_free(&w);
	rules_free(&prev.rules);
	changes_free(&ch);
	free(sl.blob);
	free(sl.scratch);
	strmap_free(&sl.in);
	return rc;
}

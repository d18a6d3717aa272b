/*
 * engine.c - one run, stage by stage: read -> rules -> target load ->
 * managed set -> plan -> limits, then apply.c applies and records and
 * result.c counts and reports.
 *
 * A stage returns 0, or -1 with x->r->err set; the run then goes straight
 * to engine_finish(), so a failed read or load never reaches the plan and
 * a failed limit never reaches the target.
 */
#include "engine/stage.h"

#include "report/report.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "plan/guard.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/heap.h"
#include "util/progress.h"
#include "util/xalloc.h"

volatile sig_atomic_t engine_stop_requested;

/*
 * Gives the pages of freed memory back to the system when the heap holds
 * more than 16 MiB free; called after the target's rows are loaded and
 * again after the managed records.  The read and the rules free a great
 * deal (the source's buffers, the rules' working tables: 45 MB at 100k
 * users, 370 MB at 1M) in the middle of the heap, where free() cannot
 * return it.  The load of the rows reuses much of it (a trim before it
 * would only cost page faults: 0.2 s of CPU at 100k); what is left
 * would stay resident under the managed records, the plan and the apply
 * (at 1M the peak of a full compare was 117 MB above what the run then
 * held), and all of it after an empty target's load (an initial sync).
 * fastpath.c calls it too, before naming a partial compare's objects.
 */
void
engine_trim(void)
{
#ifdef __GLIBC__
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks > 16u << 20)
		malloc_trim(0);
#endif
}

/* clock_seconds() as engine_run() began: the wall times below */
static double rss_t0;

void
engine_log_rss(const char *stage)
{
	unsigned long now, peak;

	clock_rss(&now, &peak);
	log_debug("memory: after %s: resident %lu KiB, peak %lu KiB (cpu "
		  "%.2fs, wall %.2fs)", stage, now, peak, clock_cpu_seconds(),
		  clock_seconds() - rss_t0);
}

static int
stage_read(struct run *x)
{
	struct run_result *r = x->r;
	const struct source_ops *sops = x->o->source_ops != NULL
						? x->o->source_ops
						: source_ops_for(x->c);

	if (engine_read(x, sops) != 0)
		return -1;
	r->have_rules = true;
	if (x->r->rules_skipped) {
		log_msg(x->lvl, "%s: nothing changed since the last read "
			"(%zu entries, %zu in scope): rules skipped (%.2fs)",
			r->info.server, r->read, r->rules.in_scope,
			clock_seconds() - x->t0);
		return 0;
	}
	log_msg(x->lvl, "read %zu entries from %s in %.2fs (%s read, %zu "
		"entries from the %s)", r->read, r->info.server,
		clock_seconds() - x->t0, r->read_mode, r->read_entries,
		x->c->source.type == SRC_LDIF ? "file" : "server");
	log_msg(x->lvl, "rules: %zu in scope, %zu mail objects (%.2fs)",
		r->rules.in_scope, r->rules.desired.n,
		clock_seconds() - x->t0);
	log_debug("memory: rules %zu KiB, desired %zu KiB",
		  r->rules.arena.used / 1024,
		  r->rules.desired.arena.used / 1024);
	engine_log_rss("rules");
	return 0;
}

/* A target without domain rows is not offered the rules' domain objects. */
static void
drop_domains(struct mset *desired)
{
	size_t i, n = 0;

	for (i = 0; i < desired->n; i++)
		if (desired->v[i]->kind != MK_DOMAIN)
			desired->v[n++] = desired->v[i];
	if (n != desired->n)
		mset_truncate(desired, n);
}

/*
 * Which of the target's objects are dirsync's: the target's own record
 * where it keeps one; the state database's otherwise, and also once when
 * the target has no record yet but the state has (a database written by
 * an older dirsync: the records then move into the target with the next
 * applied transaction).
 */
static int
load_managed(struct run *x)
{
	struct run_result *r = x->r;

	int rc = 1;

	if (x->tops->load_managed != NULL) {
		rc = x->tops->load_managed(x->tgt, &r->managed, &r->current,
					   &r->rules.desired, &r->err);
		if (rc < 0)
			return -1;
		if (rc == 0 && r->managed.n > 0)
			return 0;
	}
	x->owner_in_state = rc == 1;
	if (state_load_managed(x->st, &r->managed, &r->current,
			       &r->rules.desired, &r->err) != 0)
		return -1;
	if (!x->owner_in_state && r->managed.n > 0) {
		x->import = true;
		log_msg(x->lvl, "moving %zu managed records from the state "
			"database into the target", r->managed.n);
	}
	return 0;
}

struct orphans {
	const struct mset *d;
	const struct strmap *sought;  /* rules over a delta: only these */
	const char **v;
	size_t n, cap;
};

static bool
orphan_add(void *ctx, const char *a)
{
	struct orphans *o = ctx;

	/* sought first: over a delta, few of a big list's members are */
	if ((o->sought == NULL || strmap_get(o->sought, a) != NULL) &&
	    mset_get(o->d, a) == NULL && mset_has_domain_of(o->d, a)) {
		o->v = xgrow(o->v, &o->cap, o->n + 1, sizeof(*o->v));
		o->v[o->n++] = xstrdup(a);
	}
	return false;
}

/*
 * The partial compare: the members of the part's lists, and the targets
 * of its contacts, that are in one of our accepted domains and that no
 * desired object has join it, so that the planner sees the row there,
 * or that there is none (plan.c, orphan_delivers): what a full compare
 * sees.  How many joined.  When the rules ran over the delta, only the
 * addresses they sought (rules_result.sought: every entry claiming them
 * is in the closure): the desired set then holds only what the delta
 * touched, so another address it lacks may well be wanted (and its
 * record, loaded, would be disabled); the planner takes one outside the
 * part as the verified run left it, which kept no notes
 * (engine_fastpath_delta_ok): it delivered, and neither the directory
 * nor the target changed there since.
 */
static size_t
part_add_members(struct run *x, const struct strmap *only)
{
	struct orphans o = {&x->r->rules.desired,
			    x->r->rules_delta ? &x->r->rules.sought : NULL,
			    NULL, 0, 0};
	const struct mobj *w;
	const char *k;
	void *v;
	size_t it = 0, i, n = 0;

	while (strmap_next(only, &it, &k, &v))
		if ((w = mset_get(o.d, k)) != NULL &&
		    (w->kind == MK_LIST || w->kind == MK_CONTACT))
			(void)goto_each(w->gotos, orphan_add, &o);
	for (i = 0; i < o.n; i++) {
		if (engine_fastpath_part_add(x, o.v[i]) != NULL)
			n++;
		free((void *)o.v[i]);
	}
	free(o.v);
	return n;
}

/*
 * The partial compare: the objects of a list this plan creates or
 * enables that the part lacks.  A list without members is not created,
 * or disabled, and its other objects (its aliases) are left as they are
 * (plan.c, list_goto): an alias given to it meanwhile has no row, and
 * unchanged in the directory, it stayed outside the part when the list
 * came back (a user trial's randomized tester).  How many joined.  A
 * pass over the desired set, only when the plan has such a list.
 */
static size_t
part_add_owned(struct run *x)
{
	const struct plan *p = &x->r->plan;
	struct strmap back = STRMAP_INIT;
	size_t i, n;

	for (i = 0; i < p->n; i++) {
		const struct change *ch = &p->v[i];

		if (ch->kind == MK_LIST && ch->anchor != NULL &&
		    (ch->op == OP_ADD ||
		     (ch->op == OP_UPDATE && (ch->fields & CH_ACTIVE))))
			strmap_put(&back, ch->anchor, (void *)ch->anchor);
	}
	n = engine_fastpath_part_add_objects_of(x, &back);
	strmap_free(&back);
	return n;
}

/*
 * The part's rows and records dropped, to load it again: its addresses
 * become x->fp's own first, as those the load added live in the managed
 * set (engine_fastpath_part_own).
 */
static void
part_unload(struct run *x)
{
	struct run_result *r = x->r;

	engine_fastpath_part_own(x);
	mset_free(&r->current);
	mset_init(&r->current);
	managed_free(&r->managed);
	managed_init(&r->managed);
}

/*
 * The partial compare (fastpath.c): the rows and records of the changed
 * addresses only (and of the part's members part_add_members() adds).
 * A target that finds it cannot falls back to the whole load.
 */
static int
load_part(struct run *x)
{
	struct run_result *r = x->r;
	const struct strmap *anchors;
	struct strmap *only = engine_fastpath_part(x, &anchors);
	int rc, tries;

	(void)part_add_members(x, only);

	for (tries = 0;; tries++) {
		rc = x->tops->load_part(x->tgt, only, anchors, &r->current,
					&r->managed, &r->rules.desired,
					&x->managed_total, &r->err);
		/* a conflict the records loaded touch: its people too */
		if (rc != 0 || tries == 8 || !engine_fastpath_part_kept(x))
			break;
		part_unload(x);
		only = engine_fastpath_part(x, &anchors);
		/* the lists that joined: their members too (a user trial's
		 * list of a contact reaching nobody was made with it) */
		(void)part_add_members(x, only);
	}
	if (rc < 0)
		return -1;
	if (rc > 0) {
		log_msg(x->lvl, "full compare: the target cannot load part "
			"of itself after all");
		x->partial = false;
		return 1;
	}
	r->compare = "partial";
	r->compare_addresses = only->len;
	log_msg(x->lvl, "target: %zu objects and %zu managed records at %zu "
		"addresses loaded, %zu objects managed in all (%.2fs)",
		r->current.n, r->managed.n, only->len, x->managed_total,
		clock_seconds() - x->t0);
	return 0;
}

/* What the target holds, and which of it dirsync manages. */
static int
stage_load(struct run *x)
{
	struct run_result *r = x->r;
	int rc;

	if (!(x->tops->caps & TCAP_DOMAINS))
		drop_domains(&r->rules.desired);
	if (x->partial && (rc = load_part(x)) <= 0)
		return rc;
	r->compare = "full";
	/* the rows' strings equal to the desired objects' are borrowed,
	 * and the set is sized for them (mset.share): the whole target */
	r->current.share = &r->rules.desired;
	/* the fast path's check may have opened it already */
	if ((x->tgt == NULL &&
	     x->tops->open(&x->tgt, x->c, x->o->readonly, &r->err) != 0) ||
	    x->tops->load(x->tgt, &x->r->current, &r->err) != 0)
		return -1;
	engine_trim();
	/* about a record for each row: the usual run */
	if (r->current.n > 0)
		managed_reserve(&r->managed, r->current.n);
	if (load_managed(x) != 0)
		return -1;
	log_msg(x->lvl, "target holds %zu objects, %zu managed (%.2fs)",
		x->r->current.n, x->r->managed.n, clock_seconds() - x->t0);
	log_debug("memory: current %zu KiB, managed %zu KiB",
		  x->r->current.arena.used / 1024,
		  x->r->managed.arena.used / 1024);
	engine_trim();
	engine_log_rss("target load");
	return 0;
}

/*
 * A read that lost the anchor attribute: objects dirsync manages under a
 * stable anchor (objectGUID, entryUUID, nsUniqueId) come back anchored by
 * their DN, as from an ldapsearch export without operational attributes
 * ('+').  Planned as they are, every such mailbox would be disabled and a
 * new one wanted: refuse the run, as for any read that is not whole.
 */
static int
stage_anchors(struct run *x)
{
	const struct mset *d = &x->r->rules.desired;
	const struct mobj *first = NULL;
	size_t i, n = 0;

	for (i = 0; i < d->n && x->r->managed.n > 0; i++) {
		const struct mobj *o = d->v[i];
		const struct managed_rec *m;

		if (o->anchor == NULL || strncmp(o->anchor, "dn:", 3) != 0 ||
		    (m = managed_get(&x->r->managed, o->address)) == NULL ||
		    m->anchor == NULL || strncmp(m->anchor, "dn:", 3) == 0)
			continue;
		if (first == NULL)
			first = o;
		n++;
	}
	if (n == 0)
		return 0;
	err_object(&x->r->err, first->dn != NULL ? first->dn : first->address);
	return err_set(&x->r->err, DS_E_SOURCE,
		       "%zu mail objects came without the anchor attribute "
		       "(objectGUID, entryUUID or nsUniqueId) that dirsync "
		       "manages them by, e.g. %s: an export without "
		       "operational attributes (ldapsearch ... '*' '+')? "
		       "nothing applied",
		       n, first->address);
}

/* One thing the target cannot hold, for the report (r->skips). */
static void
unheld_note(struct run_result *r, const struct mobj *o, const char *member,
	    const char *why)
{
	struct err e;
	size_t cap = r->nskips;

	err_clear(&e);
	err_object(&e, o->address);
	if (member != NULL)
		err_set(&e, DS_E_TARGET, "member %s: %s", member, why);
	else
		err_set(&e, DS_E_TARGET, "%s", why);
	r->skips = xgrow(r->skips, &cap, r->nskips + 1, sizeof(*r->skips));
	r->skips[r->nskips++] = e;
	r->counts.skipped++;
}

/* A list member the planner leaves as it is (plan.c, frozen_member). */
static bool
member_frozen(const struct run_result *r, const char *addr)
{
	const struct managed_rec *m;

	if (strmap_get(&r->rules.frozen_addresses, addr) != NULL)
		return true;
	m = r->rules.frozen_anchors.len > 0 ? managed_get(&r->managed, addr)
					    : NULL;
	return m != NULL && m->anchor != NULL &&
	       strmap_get(&r->rules.frozen_anchors, m->anchor) != NULL;
}

/*
 * o's gotos without the members the target cannot hold (each noted);
 * o->gotos itself when it keeps them all, NULL when it keeps none.
 */
static const char *
held_members(struct run *x, const struct mobj *o)
{
	struct run_result *r = x->r;
	const struct mset *d = &r->rules.desired;
	struct buf b = BUF_INIT;
	const char *p = o->gotos, *m, *why, *kept;
	size_t len;
	bool dropped = false;

	while ((m = goto_next(&p, &len)) != NULL) {
		char *a = xstrndup(m, len);

		why = member_frozen(r, a) ? NULL
					  : x->tops->unheld_member(o, a, d);
		if (why != NULL) {
			unheld_note(r, o, a, why);
			dropped = true;
		} else {
			buf_printf(&b, "%s%s", b.len ? "," : "", a);
		}
		free(a);
	}
	kept = !dropped ? o->gotos
	       : b.len > 0 ? arena_strdup(&r->rules.desired.arena, buf_str(&b))
			   : NULL;
	buf_free(&b);
	return kept;
}

/*
 * What the target cannot hold (target_ops.unheld) leaves the desired set
 * before the plan, each reported as skipped with the reason: planned, a
 * target could only skip it, and the next run would plan it again, so
 * that no run were ever without changes (a list with a contact among its
 * members planned "+contact" on every run, and counted it as applied).
 * What is in conflict is the planner's to leave alone, never dropped.
 */
static void
stage_unheld(struct run *x)
{
	struct run_result *r = x->r;
	struct mset *d = &r->rules.desired;
	bool *drop;
	size_t i, n = 0;
	const char *why;

	if (x->tops->unheld == NULL && x->tops->unheld_member == NULL)
		return;
	/* decided first, left out after: unheld() looks objects up in d */
	drop = xcalloc(d->n ? d->n : 1, sizeof(*drop));
	for (i = 0; i < d->n; i++) {
		struct mobj *o = d->v[i];
		bool frozen = strmap_get(&r->rules.frozen_addresses,
					 o->address) != NULL ||
			      (o->anchor != NULL &&
			       strmap_get(&r->rules.frozen_anchors,
					  o->anchor) != NULL);

		why = frozen || x->tops->unheld == NULL
			      ? NULL
			      : x->tops->unheld(o, d);
		if (why == NULL && !frozen && o->kind == MK_LIST &&
		    o->gotos != NULL && x->tops->unheld_member != NULL) {
			o->gotos = held_members(x, o);
			if (o->gotos == NULL)
				why = "no member it can hold";
		}
		if (why != NULL) {
			unheld_note(r, o, NULL, why);
			drop[i] = true;
		}
	}
	for (i = 0; i < d->n; i++)
		if (!drop[i])
			d->v[n++] = d->v[i];
	free(drop);
	if (n != d->n)
		mset_truncate(d, n);
	if (r->nskips > 0)
		log_msg(x->lvl, "%zu things the target cannot hold: not "
			"planned, reported as skipped", r->nskips);
}

/*
 * `--handover`: each address asked for that the plan did not hand over
 * (a mailbox of another object that the address's claimant now owns) is
 * logged, with what holds it if the plan knows.
 */
static void
handover_check(struct run *x, char **keys)
{
	const struct plan *p = &x->r->plan;
	size_t i, j;

	for (i = 0; i < x->o->nhandover; i++) {
		bool done = false;

		for (j = 0; j < p->n && !done; j++)
			done = p->v[j].op == OP_UPDATE &&
			       p->v[j].kind == MK_MAILBOX &&
			       (p->v[j].fields & CH_KIND) &&
			       strcmp(p->v[j].address, keys[i]) == 0;
		if (done)
			log_info("--handover %s: the mailbox, with its mail, "
				 "goes to the directory object that claims "
				 "the address now", keys[i]);
		else
			log_warn("--handover %s: nothing to hand over (no "
				 "mailbox of another directory object is "
				 "claimed at this address by a mailbox of the "
				 "directory read)", keys[i]);
	}
}

static void
plan_now(struct run *x)
{
	struct run_result *r = x->r;
	struct plan_input in;
	struct strmap handover = STRMAP_INIT;
	char **keys = NULL;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.desired = &r->rules.desired;
	in.current = &x->r->current;
	in.managed = &x->r->managed;
	in.frozen_anchors = &r->rules.frozen_anchors;
	in.frozen_addresses = &r->rules.frozen_addresses;
	in.left_out = &r->rules.left_out;
	in.only = x->partial ? engine_fastpath_part(x, NULL) : NULL;
	in.kept_clashes = x->partial ? engine_fastpath_kept(x) : NULL;
	in.adopt = x->c->target.adopt || x->o->readopt;
	in.deprovision = x->c->safety.deprovision;
	in.delete_after = x->c->safety.delete_after;
	in.now = x->now;
	if (x->o->nhandover > 0) {
		keys = xcalloc(x->o->nhandover, sizeof(*keys));
		for (i = 0; i < x->o->nhandover; i++) {
			char *k = keys[i] = xstrdup(x->o->handover[i]);

			for (; *k != '\0'; k++)   /* addresses: lower case */
				*k = (char)tolower((unsigned char)*k);
			strmap_put(&handover, keys[i], keys[i]);
		}
		in.handover = &handover;
	}
	plan_build(&r->plan, &in);
	if (x->o->readopt)
		plan_keep_adoptions(&r->plan);
	if (keys != NULL) {
		handover_check(x, keys);
		for (i = 0; i < x->o->nhandover; i++)
			free(keys[i]);
		free(keys);
	}
	strmap_free(&handover);
}

static bool
member_held(void *ctx, const char *a)
{
	return strmap_get(ctx, a) != NULL;
}

/*
 * Adds to a partial compare's part the lists of the desired set outside
 * it (and the contacts, whose targets the report's notes name) that
 * name an address whose delivery this run may change, unchanged since
 * the verified run and so neither loaded nor planned; how many.  Such
 * an address: one the plan holds back (its clashes), disables or
 * deletes; one of the part in an accepted domain that no desired object
 * has (gone from the directory: plan.c, orphan_delivers); one the
 * verified run's notes name (left out then, it may reach somebody now).
 */
static size_t
part_add_lists(struct run *x, struct strmap *only)
{
	const struct plan *p = &x->r->plan;
	const struct mset *d = &x->r->rules.desired;
	const struct strmap *noted = engine_fastpath_noted(x);
	struct strmap held = STRMAP_INIT;
	const char *k;
	void *v;
	size_t i, it = 0, n = 0;

	for (i = 0; i < p->nclashes; i++)
		strmap_put(&held, p->clashes[i].address,
			   (void *)p->clashes[i].address);
	for (i = 0; i < p->n; i++)
		if (p->v[i].op == OP_DISABLE || p->v[i].op == OP_DELETE)
			strmap_put(&held, p->v[i].address,
				   (void *)p->v[i].address);
	while (strmap_next(only, &it, &k, &v))
		if ((mset_get(d, k) == NULL && mset_has_domain_of(d, k)) ||
		    (noted != NULL && strmap_get(noted, k) != NULL))
			strmap_put(&held, k, (void *)k);
	for (i = 0; held.len > 0 && i < d->n; i++) {
		const struct mobj *o = d->v[i];

		if ((o->kind != MK_LIST && o->kind != MK_CONTACT) ||
		    o->gotos == NULL ||
		    strmap_get(only, o->address) != NULL)
			continue;
		if (goto_each(o->gotos, member_held, &held)) {
			strmap_put(only, o->address, (void *)o->address);
			n++;
		}
	}
	strmap_free(&held);
	return n;
}

/*
 * The lists part_add_lists() took in, when the rules ran over the delta
 * (rdelta.c): their gotos hold only what the closure's members give,
 * alike before and after (else they were patched or expanded whole), so
 * the list is as the target holds it.
 */
static size_t
part_whole_lists(struct run *x, const struct strmap *only)
{
	struct mset *d = &x->r->rules.desired;
	size_t i, n = 0;

	for (i = 0; i < d->n; i++) {
		struct mobj *o = d->v[i];
		const struct mobj *c;

		if (o->kind != MK_LIST || !o->partial ||
		    strmap_get(only, o->address) == NULL ||
		    (c = mset_get(&x->r->current, o->address)) == NULL ||
		    c->gotos == NULL)
			continue;
		o->gotos = arena_strdup(&d->arena, c->gotos);
		o->partial = false;
		n++;
	}
	return n;
}

/*
 * The plan.  A partial compare's plan that holds back an object (a
 * clash: its address is a leaver's mailbox, a row dirsync does not
 * manage, ...) must keep its address out of every list (plan.c,
 * member_delivers), also of a list the part does not hold: unchanged
 * since the verified run, which did not have this clash (its own are
 * kept, plan_input.kept_clashes), such a list was neither loaded nor
 * planned.  So must a plan that disables or deletes an address a
 * contact forwards to, or whose object left the directory: a list
 * naming it leaves it out (or takes it back when the verified run had
 * left it out, and an object has it now).  Those lists join the part
 * (part_add_lists), which is loaded again with their members
 * (part_add_members), and the plan made again, until no list joins.
 * Rare: a leaver named by a contact, a new clash.
 */
static int
stage_plan(struct run *x)
{
	struct run_result *r = x->r;
	struct strmap *only;
	size_t n, owned;
	int rc;

	stage_unheld(x);
	plan_now(x);
	while (x->partial) {
		n = part_add_lists(x, only = engine_fastpath_part(x, NULL));
		owned = part_add_owned(x);
		if (n + owned == 0)
			break;
		if (n > 0)
			log_msg(x->lvl, "partial compare: %zu list%s naming "
				"an address held back, gone or disabled "
				"join%s the part", n, n == 1 ? "" : "s",
				n == 1 ? "s" : "");
		if (owned > 0)
			log_msg(x->lvl, "partial compare: %zu object%s of "
				"lists that come back join%s the part", owned,
				owned == 1 ? "" : "s", owned == 1 ? "s" : "");
		part_unload(x);
		plan_free(&r->plan);
		plan_init(&r->plan);
		rc = load_part(x);
		if (rc > 0)
			rc = stage_load(x);
		if (rc != 0 || stage_anchors(x) != 0)
			return -1;
		/* those lists' desired gotos are the target's now, not the
		 * rules': not a record for the next run to trust */
		if (part_whole_lists(x, only) > 0)
			x->unverifiable = true;
		plan_now(x);
	}
	r->have_plan = true;
	log_msg(x->lvl, "plan: %zu changes (%.2fs)", r->plan.n,
		clock_seconds() - x->t0);
	engine_log_rss("plan");
	return 0;
}

/* Objects (not alias rows or domains) dirsync manages. */
static size_t
managed_objects(const struct managed *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n; i++)
		if (m->v[i].kind != MK_ALIAS && m->v[i].kind != MK_DOMAIN)
			n++;
	return n;
}

/*
 * The lines of whole (report_plan_text) that are not in rest: what a run
 * that applies rest leaves for the next plan to do, when nothing else
 * changes.  Both are sorted; a line is taken out once per match.
 */
static char *
plan_lines_minus(const char *whole, const char *rest)
{
	struct buf b = BUF_INIT;
	const char *p = whole, *q = rest;

	buf_adds(&b, "");
	while (*p != '\0') {
		size_t lp = strcspn(p, "\n"), lq;
		int c = 1;

		while (*q != '\0') {
			lq = strcspn(q, "\n");
			c = strncmp(q, p, lp < lq ? lp : lq);
			if (c == 0)
				c = lq < lp ? -1 : lq > lp ? 1 : 0;
			if (c >= 0)
				break;
			q += lq + (q[lq] == '\n');
		}
		if (*q != '\0' && c == 0) {
			lq = strcspn(q, "\n");
			q += lq + (q[lq] == '\n');
		} else {
			buf_printf(&b, "%.*s\n", (int)lp, p);
		}
		p += lp + (p[lp] == '\n');
	}
	return buf_steal(&b);
}

/* Whether a line of report_plan_text() is a disable or a delete. */
static bool
line_is_removal(const char *line, size_t len)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *op = json_string_value(json_object_get(o, "op"));
	bool yes = op == NULL || strcmp(op, "disable") == 0 ||
		   strcmp(op, "delete") == 0;

	json_decref(o);
	return yes;
}

/*
 * The approval of a held run (engine_opts.approve_held): the plan now has
 * every held line, and what it has beyond them adds or updates only.
 */
static bool
held_plan_covered(const char *held, const char *now)
{
	char *missing = plan_lines_minus(held, now);
	char *extra = plan_lines_minus(now, held);
	const char *p;
	bool ok = missing[0] == '\0';

	for (p = extra; ok && *p != '\0';) {
		size_t n = strcspn(p, "\n");

		ok = !line_is_removal(p, n);
		p += n + (p[n] == '\n');
	}
	free(missing);
	free(extra);
	return ok;
}

/*
 * `dirsync approve`: the plan must be the one kept with the approved run,
 * line for line (of a held run: those lines, and other adds and updates
 * beside them); then its limit is lifted as --force-limits would.
 */
static bool
stage_approved(struct run *x)
{
	struct run_result *r = x->r;
	char *now = report_plan_text(&r->plan);

	r->drift = report_plan_diff(x->o->approve_plan, now, 20);
	if (r->drift != NULL && x->o->approve_held &&
	    held_plan_covered(x->o->approve_plan, now)) {
		log_info("the plan has changes beyond the %s run %lld held "
			 "back: applied if within their own limits",
			 "disables and deletes", x->o->approve_run);
		free(r->drift);
		r->drift = NULL;
		x->approve_extra = true;
	}
	free(now);
	if (r->drift == NULL) {
		r->approved_run = x->o->approve_run;
		return true;
	}
	err_set(&r->err, DS_E_LIMIT, "the plan differs from the one run "
		"%lld kept: the directory or the target changed since; "
		"nothing applied",
		x->o->approve_run);
	return false;
}

/* The count limits of s over this run's plan (plan_check_limits). */
static int
plan_limits(struct run *x, const struct conf_safety *s, struct limit_hit *hit)
{
	return plan_check_limits(&x->r->plan, s,
				 x->partial ? x->managed_total
					    : managed_objects(&x->r->managed),
				 x->r->rules.in_scope, &x->earlier, hit);
}

/* Safety limits, and the member-removal limit per list. */
static int
check_limits(struct run *x, const char **list)
{
	struct run_result *r = x->r;

	*list = NULL;
	if (plan_limits(x, &x->c->safety, &r->limit) == 0 &&
	    plan_check_members(&r->plan,
			       x->c->safety.max_member_removal_percent,
			       &r->limit, list) == 0)
		return 0;
	return -1;
}

/*
 * [safety] limit_window: what the runs of the window applied, for the
 * count limits (a daemon that watches applies a change or a few per run;
 * a user trial deleted ten users a second apart past max_deletes = 5).
 */
static int
limit_window_counts(struct run *x)
{
	long w = x->c->safety.limit_window;
	time_t since = x->now - w, until = x->now + w;
	struct tm tm, tu;
	char from[32], to[32];

	memset(&x->earlier, 0, sizeof(x->earlier));
	if (w <= 0)
		return 0;
	/* runs recorded by a clock that was ahead count only within the
	 * window either side of now: else, the clock put right, every run
	 * stopped at the limit until it passed them (a user trial: a
	 * leaver kept a working mailbox for the two hours the clock had
	 * been ahead) */
	if (gmtime_r(&since, &tm) == NULL || gmtime_r(&until, &tu) == NULL ||
	    strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 ||
	    strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", &tu) == 0)
		return err_set(&x->r->err, DS_E_INTERNAL, "limit_window: "
			       "time out of range");
	x->earlier.window = w;
	return state_applied_since(x->st, from, to, &x->earlier.adds,
				   &x->earlier.updates,
				   &x->earlier.removals, &x->r->err);
}

/* Safety limits: nothing applied when one is exceeded, unless forced. */
/* Limits that count disables and deletes only. */
static bool
removal_limit(const char *limit)
{
	return strcmp(limit, "max_deletes") == 0 ||
	       strcmp(limit, "max_delete_percent") == 0 ||
	       strcmp(limit, "max_alias_deletes") == 0;
}

/*
 * [safety] hold_removals: over a removal limit, drop the disables and
 * deletes from the plan and apply the rest when it is then within every
 * limit (new hires are not blocked by a batch of leavers).  The run
 * still ends with exit 3 and names the limit.
 */
/*
 * Whether a removal limit is exceeded too when the first limit found is
 * another (a leaver's list updates count under max_updates, which is
 * checked first: one leaver in five lists stopped the run at
 * max_updates = 1 instead of holding the leaver); *hit is that one then.
 */
static bool
removal_over(struct run *x, struct limit_hit *hit)
{
	struct conf_safety s = x->c->safety;
	struct limit_hit h;

	s.max_adds = s.max_updates = s.max_alias_adds = s.max_total = -1;
	if (plan_limits(x, &s, &h) == 0 || !h.forceable ||
	    !removal_limit(h.limit))
		return false;
	*hit = h;
	return true;
}

static int
hold_removals(struct run *x)
{
	struct run_result *r = x->r;
	struct limit_hit over = r->limit;
	const char *list = NULL;
	char win[120];
	struct plan held;

	if (!x->c->safety.hold_removals || x->o->force_limits ||
	    !over.forceable)
		return -1;
	if (!removal_limit(over.limit) && !removal_over(x, &over))
		return -1;
	plan_init(&held);
	plan_drop_removals(&r->plan, &held);
	/* what `dirsync approve` of this run must find: the held part
	 * (found by a user trial: the run kept the plan it applied, and
	 * an approval always found that the plan differed; and of a list
	 * a new hire joined while a leaver was held, only the leaver's
	 * removal: the whole update was kept, and never found again) */
	free(x->held_plan);
	x->held_plan = report_plan_text(&held);
	plan_free(&held);
	if (check_limits(x, &list) != 0)
		return -1;   /* the rest is over a limit too: stop */
	log_warn("safety limit %s exceeded (allowed %ld, planned %ld%s): "
		 "disables and deletes held back, the other changes %s "
		 "(hold_removals)", over.limit, over.allowed, over.planned,
		 plan_limit_window(&over, win, sizeof(win)),
		 x->o->readonly ? "would be applied" : "applied");
	r->limit = over;
	r->held = true;
	return 0;
}

/*
 * An approval of a held run whose plan has other changes beside the held
 * ones: it lifts the removal limits only; the rest must be within the
 * others (max_total and the member-removal limit as the held run's
 * approval lifts them).  True, with the stop set, when it is not.
 */
static bool
approved_extra_over(struct run *x)
{
	struct run_result *r = x->r;
	struct conf_safety s = x->c->safety;
	struct limit_hit hit;
	char win[120];

	if (!removal_limit(r->limit.limit))
		goto stop;
	s.max_deletes = s.max_alias_deletes = s.max_delete_percent = -1;
	s.max_total = -1;
	if (plan_limits(x, &s, &hit) == 0)
		return false;
	r->limit = hit;
stop:
	r->approved_run = 0;
	err_set(&r->err, DS_E_LIMIT, "the plan of run %lld (disables and "
		"deletes held back) is approved, but the changes beside it "
		"exceed safety limit %s: allowed %ld, planned %ld%s; nothing "
		"applied", x->o->approve_run, r->limit.limit, r->limit.allowed,
		r->limit.planned,
		plan_limit_window(&r->limit, win, sizeof(win)));
	return true;
}

static int
stage_limits(struct run *x)
{
	struct run_result *r = x->r;
	struct limit_hit *hit = &r->limit;
	const char *list = NULL;
	bool approved = x->o->approve_plan != NULL;
	char lists[600], win[120];
	size_t i;

	if (x->o->readopt)
		return 0;   /* records of ownership only: no row changes */
	if (limit_window_counts(x) != 0)
		return -1;
	if (approved && !stage_approved(x)) {
		if (r->plan.n == 0) {
			/* nothing left to change: not a stop to record
			 * (status would warn of a limit stop on a database
			 * in sync), a run with no change */
			log_warn("the plan of run %lld is not the plan any "
				 "more: the directory and the mail system "
				 "agree now, nothing is left to apply",
				 x->o->approve_run);
			free(r->drift);
			r->drift = NULL;
			err_clear(&r->err);
			return 0;
		}
		/* the current plan's own limit, so that the report names it
		 * and this run keeps that plan for the next approval */
		if (check_limits(x, &list) == 0)
			err_set(&r->err, DS_E_LIMIT, "the plan differs from "
				"the one run %lld kept: the directory or the "
				"target changed since; nothing applied.  The "
				"plan now is within every safety limit: "
				"review it with `dirsync plan`, apply it with "
				"`dirsync sync`",
				x->o->approve_run);
		return -1;
	}
	if (check_limits(x, &list) == 0)
		return 0;
	for (i = 0; list != NULL && i < hit->nlists; i++)
		log_warn("list %s%s%s%s would lose %ld of its %ld members in "
			 "this run (allowed %ld)", hit->lists[i].address,
			 hit->lists[i].dn != NULL ? " (" : "",
			 hit->lists[i].dn != NULL ? hit->lists[i].dn : "",
			 hit->lists[i].dn != NULL ? ")" : "",
			 hit->lists[i].lost, hit->lists[i].members,
			 hit->lists[i].allowed);
	if (approved && hit->forceable && x->approve_extra &&
	    approved_extra_over(x))
		return -1;
	if (approved && hit->forceable) {
		log_warn("safety limit %s exceeded (allowed %ld, planned "
			 "%ld%s): applying the plan approved with run %lld",
			 hit->limit, hit->allowed, hit->planned,
			 plan_limit_window(hit, win, sizeof(win)),
			 r->approved_run);
		r->forced = *hit;
		memset(hit, 0, sizeof(*hit));
		return 0;
	}
	if (hold_removals(x) == 0)
		return 0;
	if (strcmp(hit->limit, "allow_empty") == 0)
		return err_set(&r->err, DS_E_LIMIT,
			       "the directory read has no object in scope "
			       "(allow_empty = no); nothing applied");
	if (!x->o->force_limits || !hit->forceable)
		return err_set(&r->err, DS_E_LIMIT,
			       "safety limit %s exceeded: allowed %ld, "
			       "planned %ld%s%s; nothing applied",
			       hit->limit, hit->allowed, hit->planned,
			       plan_limit_window(hit, win, sizeof(win)),
			       plan_limit_lists(hit, lists, sizeof(lists)));
	log_warn("safety limit %s exceeded (allowed %ld, planned %ld%s): "
		 "applying anyway (--force-limits)",
		 hit->limit, hit->allowed, hit->planned,
		 plan_limit_window(hit, win, sizeof(win)));
	r->forced = *hit;
	memset(hit, 0, sizeof(*hit));
	return 0;
}

/* Opens the state and, for a real sync, starts the run's row. */
static int
stage_begin(struct run *x)
{
	struct run_result *r = x->r;
	char ident[1024];

	x->tops = x->o->target_ops;
	if (x->tops == NULL && (x->tops = target_ops_for(x->c, &r->err)) == NULL)
		return -1;
	if (state_open(&x->st, x->c->state.path, x->o->readonly,
		       &r->err) != 0)
		return -1;
	target_identity(x->c, ident, sizeof(ident));
	if (state_bind_target(x->st, ident, x->o->readonly, &r->err) != 0)
		return -1;
	r->per_object = (x->tops->caps & TCAP_PER_OBJECT) != 0;
	if (state_latest_start(x->st, &x->latest, &r->err) != 0)
		return -1;
	if (x->latest > x->now) {
		x->expiry_now = x->latest;
		log_debug("the clock reads earlier than the last run: "
			  "expiry judged as of that run");
	}
	if (x->o->readonly)
		return 0;
	return state_run_begin(x->st, r->started, "sync", &r->run_id,
			       &r->err);
}

int
engine_run(const struct conf *c, const struct engine_opts *o,
	   struct run_result *r)
{
	struct run x;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.o = o;
	x.r = r;
	x.now = time(NULL);
	x.stamp = x.now;
	x.expiry_now = x.now;
	x.t0 = clock_seconds();
	rss_t0 = x.t0;
	/* the daemon (quiet) logs one line per run: timings at debug */
	x.lvl = o->quiet ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	engine_result_init(r, o, x.now);
	if (o->npasswords > 0)
		log_msg(x.lvl, "%zu queued password%s written ahead of the "
			"run", o->npasswords, o->npasswords == 1 ? "" : "s");

	if (stage_begin(&x) == 0 && stage_read(&x) == 0 &&
	    engine_fastpath(&x) == 0 && stage_load(&x) == 0 &&
	    stage_anchors(&x) == 0 && stage_plan(&x) == 0) {
		if (engine_fastpath_clashes(&x) == 0 &&
		    engine_time_guard(&x) == 0 && stage_limits(&x) == 0 &&
		    !o->readonly) {
			engine_read_confirm(&x);
			/* the report's changes, made while the apply waits
			 * on the disk */
			r->render = report_render_start(&r->plan);
			engine_apply(&x);
		}
	}
	if (r->applied)
		engine_log_rss("apply");
	engine_finish(&x);
	engine_log_rss("finish");
	engine_fastpath_record(&x);
	engine_read_wait(&x);
	engine_log_rss("record");
	engine_fastpath_free(&x);
	free(x.held_plan);
	if (x.tgt != NULL)
		x.tops->close(x.tgt);
	state_close(x.st);
	heap_hugepages_end();
	engine_log_rss("close");
	return r->exit_code;
}

void
run_result_free(struct run_result *r)
{
	json_decref(r->report);
	free(r->obj_errors);
	free(r->skips);
	free(r->drift);
	report_render_free(r->render);
	plan_free(&r->plan);
	managed_free(&r->managed);
	mset_free(&r->current);
	rules_free(&r->rules);
	memset(r, 0, sizeof(*r));
}

/*
 * apply.c - the plan onto the target, and what dirsync now manages into
 * the state database.
 *
 * A transactional target (TCAP_TRANSACTIONAL) takes every change in one
 * transaction; the managed objects are written to the state database on
 * a second thread meanwhile (two files, two cores), and the state's
 * transaction is committed only after the target's, so the order of the
 * commits stays (mail first).
 *
 * A per-object target (TCAP_PER_OBJECT) takes one change at a time; each
 * success is recorded in the state as it happens, a failure of one object
 * is reported and the others go on, and a failure of the target itself
 * stops the run with what was done recorded.  The next run plans what is
 * left from what the target then holds, so nothing is repeated or lost.
 * A per-object target that offers apply_batch() gets batches of
 * independent changes at once (see "batches" below), each success still
 * recorded as it lands.
 */
#include "engine/stage.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/clock.h"
#include "util/progress.h"
#include "util/strmap.h"
#include "util/thread.h"
#include "util/xalloc.h"

struct recorder {
	struct state *st;
	const struct plan *p;
	const char *const *forget;
	size_t nforget;
	time_t now;
	struct err err;
	int rc;
	pthread_t thread;
	bool running;
};

static void *
recorder_main(void *arg)
{
	struct recorder *r = arg;

	r->rc = state_record_prepare(r->st, r->p, r->forget, r->nforget,
				     r->now, &r->err);
	return NULL;
}

static void
recorder_start(struct recorder *r)
{
	err_clear(&r->err);
	if (thread_spawn(&r->thread, recorder_main, r) == 0)
		r->running = true;
	else
		recorder_main(r);   /* no thread: do it here */
}

static void
recorder_join(struct recorder *r)
{
	if (r->running) {
		pthread_join(r->thread, NULL);
		r->running = false;
	}
}

/* The plan's indexes in the order the target wants them (apply_rank). */
static size_t *
apply_order(const struct target_ops *tops, const struct plan *p)
{
	size_t *ord = xmalloc((p->n ? p->n : 1) * sizeof(*ord));
	size_t i, n = 0;
	int rank, lo = 0, hi = 0;

	for (i = 0; i < p->n && tops->apply_rank != NULL; i++) {
		rank = tops->apply_rank(&p->v[i]);
		if (rank < lo)
			lo = rank;
		if (rank > hi)
			hi = rank;
	}
	/* a handful of ranks: one stable pass per rank */
	for (rank = lo; rank <= hi; rank++)
		for (i = 0; i < p->n; i++)
			if ((tops->apply_rank ? tops->apply_rank(&p->v[i])
					      : 0) == rank)
				ord[n++] = i;
	return ord;
}

/* Every change, all or nothing.  Stops at the first failure or signal. */
static int
apply_all(struct run *x, const size_t *ord, struct err *err)
{
	const struct plan *plan = &x->r->plan;
	size_t i;

	for (i = 0; i < plan->n; i++) {
		if (engine_stop_requested)
			return err_set(err, DS_E_TARGET,
				       "interrupted by a signal: "
				       "rolled back, nothing applied");
		if (x->tops->apply(x->tgt, &plan->v[ord[i]], NULL, err) != 0)
			return -1;
		progress_update(i + 1);
	}
	return 0;
}

/* Managed rows whose target row is gone and that are not wanted again. */
static const char **
vanished(const struct managed *m, const struct mset *cur,
	 const struct mset *want, size_t *n)
{
	const char **v = NULL;
	size_t i, cap = 0;

	*n = 0;
	for (i = 0; i < m->n; i++) {
		const struct managed_rec *r = &m->v[i];

		if (r->kind == MK_DOMAIN ||
		    mset_get_h(cur, r->address, r->hash) != NULL ||
		    mset_get_h(want, r->address, r->hash) != NULL)
			continue;
		v = xgrow(v, &cap, *n + 1, sizeof(*v));
		v[(*n)++] = r->address;
	}
	return v;
}

/* The state could not record an applied plan: say what that means. */
static void
note_unrecorded(struct err *err)
{
	char msg[sizeof(err->msg)];

	snprintf(msg, sizeof(msg),
		 "%.300s (the mail database WAS updated; the next run "
		 "reports those rows as unmanaged)",
		 err->msg);
	memcpy(err->msg, msg, sizeof(msg));
}

/*
 * The target keeps the managed records itself: the plan and the record
 * in one transaction.  Also for a plan with no change when records
 * vanish or move in from the state.
 */
static int
apply_with_record(struct run *x, const char *const *forget, size_t nforget)
{
	struct run_result *r = x->r;
	size_t *ord = NULL;
	struct err e2;

	if (x->tops->begin(x->tgt, &r->err) != 0)
		return -1;
	if (r->plan.n > 0) {
		ord = apply_order(x->tops, &r->plan);
		progress_start("applying changes");
		progress_total(r->plan.n);
	}
	if ((r->plan.n > 0 && apply_all(x, ord, &r->err) != 0) ||
	    x->tops->record_managed(x->tgt, x->import ? &r->managed : NULL,
				    &r->managed, &r->plan, forget, nforget,
				    x->stamp,
				    &r->err) != 0 ||
	    x->tops->commit(x->tgt, &r->err) != 0) {
		if (r->plan.n > 0)
			progress_done();
		free(ord);
		err_clear(&e2);
		x->tops->rollback(x->tgt, &e2);
		return -1;
	}
	if (r->plan.n > 0) {
		progress_done();
		r->applied = true;
		log_msg(x->lvl, "applied %zu changes (%.2fs)", r->plan.n,
			clock_seconds() - x->t0);
	}
	free(ord);
	if (x->import && state_forget_managed(x->st, &e2) != 0)
		log_warn("the managed records moved into the target, but the "
			 "state database still lists them: %s", e2.msg);
	return 0;
}

static int
apply_transaction(struct run *x, const char *const *forget, size_t nforget)
{
	struct run_result *r = x->r;
	struct recorder rec;
	size_t *ord;
	struct err e2;
	bool ok;

	if (x->tops->record_managed != NULL && !x->owner_in_state)
		return apply_with_record(x, forget, nforget);
	if (x->tops->begin(x->tgt, &r->err) != 0)
		return -1;
	memset(&rec, 0, sizeof(rec));
	rec.st = x->st;
	rec.p = &r->plan;
	rec.forget = forget;
	rec.nforget = nforget;
	rec.now = x->stamp;
	recorder_start(&rec);
	ord = apply_order(x->tops, &r->plan);
	progress_start("applying changes");
	progress_total(r->plan.n);
	ok = apply_all(x, ord, &r->err) == 0;
	progress_done();
	free(ord);
	recorder_join(&rec);
	if (ok && rec.rc != 0)
		r->err = rec.err;   /* the state cannot take it: apply nothing */
	if (!ok || rec.rc != 0 || x->tops->commit(x->tgt, &r->err) != 0) {
		err_clear(&e2);
		x->tops->rollback(x->tgt, &e2);
		if (rec.rc == 0)
			state_record_finish(x->st, false, &e2);
		return -1;
	}
	r->applied = true;
	log_msg(x->lvl, "applied %zu changes (%.2fs)", r->plan.n,
		clock_seconds() - x->t0);
	if (state_record_finish(x->st, true, &r->err) != 0) {
		note_unrecorded(&r->err);
		return -1;
	}
	return 0;
}

/* A failure that is one object's alone: report it and go on. */
static bool
object_failure(const struct err *e)
{
	return e->code == DS_E_TARGET && e->object[0] != '\0';
}

static void
add_err(struct err **v, size_t *n, const struct err *e)
{
	size_t cap = *n;

	*v = xgrow(*v, &cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = *e;
}

/*
 * One change's outcome on a per-object target (rc as apply() returns
 * it; a failure here is that object's).  -1: the state could not record
 * a landed change (r->err set): the run stops.
 */
static int
landed(struct run *x, const struct change *ch, int rc, const char *tid,
       const struct err *e)
{
	struct run_result *r = x->r;

	if (rc == 0) {
		r->counts.applied++;
		r->applied = true;
		if (state_record_change(x->st, ch, tid, x->stamp,
					&r->err) != 0) {
			note_unrecorded(&r->err);
			return -1;
		}
	} else if (rc > 0) {
		add_err(&r->skips, &r->nskips, e);
	} else {
		r->counts.failed++;
		add_err(&r->obj_errors, &r->nobj_errors, e);
	}
	return 0;
}

/*
 * ---- batches (target_ops.apply_batch) ----
 *
 * Consecutive changes of the apply order go into one batch while they
 * are independent: the same rank and op (so removals still land before
 * updates before adds, and domains before what is in them), no address
 * twice, and none naming in its gotos an address of the batch or named
 * by it (a list after the members it references, an alias after its
 * mailbox).
 */
#define BATCH_MAX 256

struct batch {
	struct run *x;
	const struct change *v[BATCH_MAX];
	bool reported[BATCH_MAX];
	size_t n;
	struct strmap addrs;      /* addresses of the batch */
	struct strmap named;      /* addresses its gotos name */
	struct arena arena;       /* the keys of named */
	size_t done;              /* of the whole plan, for the progress */
	bool stop;
};

static int
rank_of(const struct target_ops *tops, const struct change *ch)
{
	return tops->apply_rank != NULL ? tops->apply_rank(ch) : 0;
}

/*
 * add: each address of a comma-joined gotos into b->named; else whether
 * one of them is an address of the batch.
 */
static bool
gotos_any(struct batch *b, const char *gotos, bool add)
{
	const char *p = gotos, *m;
	size_t len;

	while ((m = goto_next(&p, &len)) != NULL) {
		char *a = arena_strndup(&b->arena, m, len);

		if (add)
			strmap_put(&b->named, a, a);
		else if (strmap_get(&b->addrs, a) != NULL)
			return true;
	}
	return false;
}

static bool
batch_fits(struct batch *b, const struct change *ch)
{
	const struct change *first = b->v[0];
	const struct target_ops *tops = b->x->tops;

	if (b->n == 0)
		return true;
	if (b->n >= BATCH_MAX || ch->op != first->op ||
	    rank_of(tops, ch) != rank_of(tops, first))
		return false;
	if (strmap_get(&b->addrs, ch->address) != NULL ||
	    strmap_get(&b->named, ch->address) != NULL)
		return false;
	if (ch->old_address != NULL &&
	    (strmap_get(&b->addrs, ch->old_address) != NULL ||
	     strmap_get(&b->named, ch->old_address) != NULL))
		return false;
	return !gotos_any(b, ch->gotos, false);
}

static void
batch_put(struct batch *b, const struct change *ch)
{
	b->reported[b->n] = false;
	b->v[b->n++] = ch;
	strmap_put(&b->addrs, ch->address, (void *)ch);
	if (ch->old_address != NULL)
		strmap_put(&b->addrs, ch->old_address, (void *)ch);
	gotos_any(b, ch->gotos, true);
}

static void
batch_reset(struct batch *b)
{
	b->n = 0;
	strmap_free(&b->addrs);
	strmap_free(&b->named);
	arena_free(&b->arena);
}

static int
batch_done(void *arg, size_t i, int rc, const char *tid,
	   const struct err *e)
{
	struct batch *b = arg;
	struct err own;

	if (i >= b->n || b->reported[i])
		return b->stop;   /* a target bug: never counted twice */
	b->reported[i] = true;
	own = *e;
	if (rc != 0 && own.object[0] == '\0')
		err_object(&own, b->v[i]->address);
	if (rc < 0 && own.code == DS_OK)
		own.code = DS_E_TARGET;
	if (landed(b->x, b->v[i], rc, tid, &own) != 0)
		b->stop = true;
	progress_update(++b->done);
	return b->stop;
}

/* Runs the batch; -1 when the run stops (r->err set). */
static int
batch_run(struct batch *b)
{
	struct run_result *r = b->x->r;
	struct err e;

	if (b->n == 0)
		return 0;
	err_clear(&e);
	if (b->x->tops->apply_batch(b->x->tgt, b->v, b->n, batch_done, b,
				    &e) != 0 || b->stop) {
		if (!b->stop)
			r->err = e;
		return -1;
	}
	batch_reset(b);
	return 0;
}

static int
apply_batches(struct run *x, const size_t *ord)
{
	struct run_result *r = x->r;
	struct batch *b = xcalloc(1, sizeof(*b));
	size_t i;
	int ret = 0;

	b->x = x;
	for (i = 0; i < r->plan.n && ret == 0; i++) {
		const struct change *ch = &r->plan.v[ord[i]];

		if (engine_stop_requested)
			break;
		if (!batch_fits(b, ch))
			ret = batch_run(b);
		if (ret == 0)
			batch_put(b, ch);
	}
	if (ret == 0 && !engine_stop_requested)
		ret = batch_run(b);
	if (ret == 0 && engine_stop_requested)
		ret = err_set(&r->err, DS_E_TARGET,
			      "interrupted by a signal after %ld of %zu "
			      "changes", r->counts.applied, r->plan.n);
	batch_reset(b);
	free(b);
	return ret;
}

/* One change at a time. */
static int
apply_singly(struct run *x, const size_t *ord)
{
	struct run_result *r = x->r;
	char tid[TARGET_ID_MAX];
	size_t i;
	struct err e;
	int ret = 0, rc;

	for (i = 0; i < r->plan.n && ret == 0; i++) {
		const struct change *ch = &r->plan.v[ord[i]];

		err_clear(&e);
		tid[0] = '\0';
		if (engine_stop_requested)
			return err_set(&r->err, DS_E_TARGET,
				       "interrupted by a signal after %ld of "
				       "%zu changes", r->counts.applied,
				       r->plan.n);
		rc = x->tops->apply(x->tgt, ch, tid, &e);
		if (rc < 0 && !object_failure(&e)) {
			r->err = e;
			return -1;
		}
		ret = landed(x, ch, rc, tid, &e);
		progress_update(i + 1);
	}
	return ret;
}

/*
 * Each success recorded as it lands: in batches when the target takes
 * them (apply_batch), else one change at a time.
 */
static int
apply_each(struct run *x, const char *const *forget, size_t nforget)
{
	struct run_result *r = x->r;
	size_t *ord;
	int ret;

	ord = apply_order(x->tops, &r->plan);
	progress_start("applying changes");
	progress_total(r->plan.n);
	/* one commit per change: an fsync each would cap the rate at ~100/s */
	state_quick_commits(x->st, true);
	if (x->tops->apply_batch != NULL)
		ret = apply_batches(x, ord);
	else
		ret = apply_singly(x, ord);
	state_quick_commits(x->st, false);
	progress_done();
	free(ord);
	/* not tried, and skipped by the target (added to what the target
	 * cannot hold at all: stage_unheld) */
	r->counts.skipped += (long)r->plan.n - r->counts.applied -
			    r->counts.failed;
	if (ret == 0 && nforget > 0) {
		struct plan none;

		plan_init(&none);
		if (state_record_plan(x->st, &none, forget, nforget, x->stamp,
				      &r->err) != 0)
			log_debug("forgetting vanished rows failed");
	}
	log_msg(x->lvl, "applied %ld of %zu changes, %ld failed, %ld "
		"skipped (%.2fs)", r->counts.applied, r->plan.n,
		r->counts.failed, r->counts.skipped,
		clock_seconds() - x->t0);
	return ret;
}

int
engine_apply(struct run *x)
{
	struct run_result *r = x->r;
	const char **forget;
	size_t nforget = 0;
	int ret = 0;

	forget = vanished(&x->r->managed, &x->r->current, &r->rules.desired,
			  &nforget);
	if (r->plan.n > 0 && r->per_object) {
		ret = apply_each(x, forget, nforget);
	} else if (r->plan.n > 0) {
		ret = apply_transaction(x, forget, nforget);
	} else if (x->tops->record_managed != NULL && !x->owner_in_state) {
		if (nforget > 0 || x->import)
			ret = apply_with_record(x, forget, nforget);
	} else if (nforget > 0 &&
		   state_record_plan(x->st, &r->plan, forget, nforget, x->stamp,
				     &r->err) != 0) {
		log_debug("forgetting vanished rows failed");
	}
	free(forget);
	return ret;
}

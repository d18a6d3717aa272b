#include "cli/sync.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "plan/plan.h"
#include "report/report.h"
#include "rules/rules.h"
#include "source/source.h"
#include "state/state.h"
#include "target/target.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/thread.h"
#include "util/xalloc.h"

volatile sig_atomic_t sync_stop_requested;

/* Entries per run: far above any real directory, far below exhaustion. */
#define MAX_ENTRIES 20000000UL
/* Changes kept in the stored/mailed report; stdout gets them all. */
#define REPORT_KEEP_CHANGES 2000

struct read_ctx {
	struct rules_ctx *rules;
	size_t read;
};

/* Each entry goes straight into the rules, which keep what they need. */
static int
on_entry(void *arg, const struct entry *e, struct err *err)
{
	struct read_ctx *rc = arg;

	if (sync_stop_requested)
		return err_set(err, DS_E_SOURCE, "interrupted by a signal");
	if (rc->read >= MAX_ENTRIES)
		return err_set(err, DS_E_SOURCE,
			       "more than %lu entries: refusing to go on",
			       MAX_ENTRIES);
	rc->read++;
	rules_add(rc->rules, e);
	progress_update(rc->read);
	return 0;
}

/*
 * The managed objects are written to the state database on a second
 * thread while the mail database takes the changes (two files, two
 * cores); the state transaction is committed only after the mail
 * database's, by the main thread, so the order of the commits stays.
 */
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

/*
 * Every change of the plan, in two passes: domain rows first (mailboxes
 * and aliases refer to them, with foreign keys in a Postfixadmin schema),
 * then the rest in plan order.  Stops at the first failure or signal.
 */
static int
apply_all(const struct target_ops *tops, struct target *tgt,
	  const struct plan *plan, struct err *err)
{
	size_t i, n = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < plan->n; i++) {
			int rank = tops->apply_rank ?
					   tops->apply_rank(&plan->v[i]) : 1;

			if ((rank == 0) != (pass == 0))
				continue;
			if (sync_stop_requested)
				return err_set(err, DS_E_TARGET,
					       "interrupted by a signal: "
					       "rolled back, nothing applied");
			if (tops->apply(tgt, &plan->v[i], NULL, err) != 0)
				return -1;
			progress_update(++n);
		}
	}
	return 0;
}

static int
exit_code_for(const struct err *e)
{
	switch (e->code) {
	case DS_OK:
		return 0;
	case DS_E_CONFIG:
	case DS_E_USAGE:
		return 2;
	case DS_E_LIMIT:
		return 3;
	default:
		return 1;
	}
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
		if (m->v[i]->kind == MK_DOMAIN ||
		    mset_get(cur, m->v[i]->address) != NULL ||
		    mset_get(want, m->v[i]->address) != NULL)
			continue;
		v = xgrow(v, &cap, *n + 1, sizeof(*v));
		v[(*n)++] = m->v[i]->address;
	}
	return v;
}

static size_t
managed_objects(const struct managed *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n; i++)
		if (m->v[i]->kind != MK_ALIAS && m->v[i]->kind != MK_DOMAIN)
			n++;
	return n;
}

int
sync_run(const struct conf *c, const struct sync_opts *o,
	 json_t **report_out)
{
	const bool readonly = o->plan_only || o->dry_run;
	const struct source_ops *sops = source_ops_for(c);
	const struct target_ops *tops;
	struct source *src = NULL;
	struct source_info info;
	struct target *tgt = NULL;
	struct state *st = NULL;
	struct rules_result rules;
	struct mset current;
	struct managed managed;
	struct plan plan;
	struct plan_input in;
	struct limit_hit hit;
	struct report_in rep;
	struct err err;
	const char **keep = NULL, **forget = NULL;
	const char *flavor, *filter;
	char started[32];
	time_t now = time(NULL);
	double t0 = clock_seconds();
	long long run_id = 0;
	size_t nforget = 0, nread = 0;
	bool applied = false, have_rules = false, have_plan = false;
	json_t *report;
	int code;
	/* stage timings: -v for a run by hand; the daemon (quiet) logs its own
	 * one line per run, so they stay at debug there */
	enum log_level stage_lvl = o->quiet ? LOG_LVL_DEBUG : LOG_LVL_INFO;

	memset(&info, 0, sizeof(info));
	memset(&hit, 0, sizeof(hit));
	err_clear(&err);
	rules_init(&rules);
	mset_init(&current);
	managed_init(&managed);
	plan_init(&plan);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ",
		 gmtime(&now));
	progress_quiet(o->quiet || o->json);

	if ((tops = target_ops_for(c, &err)) == NULL)
		goto report;
	if (state_open(&st, c->state.path, readonly, &err) != 0)
		goto report;
	if (!readonly &&
	    state_run_begin(st, started, "sync", &run_id, &err) != 0)
		goto report;

	/* 1. read the whole directory, or nothing at all */
	err_where(&err, "open source");
	if (sops->open(&src, c, &info, &err) != 0)
		goto report;
	err_clear(&err);
	flavor = c->source.flavor == FLAVOR_AD	       ? "ad"
		 : c->source.flavor == FLAVOR_OPENLDAP ? "openldap"
						       : info.flavor;
	filter = c->source.filter != NULL && *c->source.filter
			 ? c->source.filter
			 : source_default_filter(flavor);
	keep = rules_attrs(c);
	{
		struct read_ctx rc = {NULL, 0};

		/* 2. rules, fed entry by entry: what the mail system wants */
		rc.rules = rules_begin(c, &rules, &err);
		if (rc.rules == NULL)
			goto report;
		progress_start("reading directory");
		if (sops->read(src, filter, keep, on_entry, &rc, &err) != 0) {
			progress_done();
			rules_abort(rc.rules);
			nread = rc.read;
			if (err.code == DS_OK)
				err.code = DS_E_SOURCE;
			goto report;
		}
		progress_done();
		nread = rc.read;
		sops->close(src);
		src = NULL;
		log_msg(stage_lvl, "read %zu entries from %s in %.2fs", nread,
			 info.server, clock_seconds() - t0);
		if (rules_end(rc.rules, &err) != 0)
			goto report;
	}
	have_rules = true;
	log_msg(stage_lvl, "rules: %zu in scope, %zu mail objects (%.2fs)",
		 rules.in_scope, rules.desired.n, clock_seconds() - t0);
	log_debug("memory: rules %zu KiB, desired %zu KiB",
		  rules.arena.used / 1024, rules.desired.arena.used / 1024);

	/* 3. what it holds, and what of it is ours */
	if (tops->open(&tgt, c, readonly, &err) != 0 ||
	    tops->load(tgt, &current, &err) != 0)
		goto report;
	if (state_load_managed(st, &managed, &current, &rules.desired,
			       &err) != 0)
		goto report;
	log_msg(stage_lvl, "target holds %zu objects, %zu managed (%.2fs)",
		current.n, managed.n, clock_seconds() - t0);
	log_debug("memory: current %zu KiB, managed %zu KiB",
		  current.arena.used / 1024, managed.arena.used / 1024);

	/* 4. the plan */
	memset(&in, 0, sizeof(in));
	in.desired = &rules.desired;
	in.current = &current;
	in.managed = &managed;
	in.frozen_anchors = &rules.frozen_anchors;
	in.frozen_addresses = &rules.frozen_addresses;
	in.adopt = c->target.adopt;
	in.deprovision = c->safety.deprovision;
	in.delete_after = c->safety.delete_after;
	in.now = now;
	plan_build(&plan, &in);
	have_plan = true;
	log_msg(stage_lvl, "plan: %zu changes (%.2fs)", plan.n,
		clock_seconds() - t0);

	/* 5. safety limits: nothing applied when one is exceeded */
	if (plan_check_limits(&plan, c, managed_objects(&managed),
			      rules.in_scope, &hit) != 0) {
		if (!o->force_limits || strcmp(hit.limit, "allow_empty") == 0) {
			err_set(&err, DS_E_LIMIT,
				"safety limit %s exceeded: allowed %ld, "
				"planned %ld; nothing applied", hit.limit,
				hit.allowed, hit.planned);
			goto report;
		}
		log_warn("safety limit %s exceeded (allowed %ld, planned "
			 "%ld): applying anyway (--force-limits)", hit.limit,
			 hit.allowed, hit.planned);
		memset(&hit, 0, sizeof(hit));
	}
	if (readonly)
		goto report;

	/* 6. apply, all or nothing; the state is written meanwhile */
	forget = vanished(&managed, &current, &rules.desired, &nforget);
	if (plan.n > 0) {
		struct recorder rec;
		bool ok;

		if (tops->begin(tgt, &err) != 0)
			goto report;
		memset(&rec, 0, sizeof(rec));
		rec.st = st;
		rec.p = &plan;
		rec.forget = forget;
		rec.nforget = nforget;
		rec.now = now;
		recorder_start(&rec);
		progress_start("applying changes");
		progress_total(plan.n);
		ok = apply_all(tops, tgt, &plan, &err) == 0;
		progress_done();
		recorder_join(&rec);
		if (ok && rec.rc != 0) {
			/* the state cannot take it: apply nothing either */
			err = rec.err;
		}
		if (!ok || rec.rc != 0 || tops->commit(tgt, &err) != 0) {
			struct err e2;

			err_clear(&e2);
			tops->rollback(tgt, &e2);
			if (rec.rc == 0)
				state_record_finish(st, false, &e2);
			goto report;
		}
		applied = true;
		log_msg(stage_lvl, "applied %zu changes (%.2fs)", plan.n,
			 clock_seconds() - t0);
		if (state_record_finish(st, true, &err) != 0) {
			char msg[sizeof(err.msg)];

			snprintf(msg, sizeof(msg),
				 "%.300s (the mail database WAS updated; the "
				 "next run reports those rows as unmanaged)",
				 err.msg);
			memcpy(err.msg, msg, sizeof(msg));
		}
	} else if (nforget > 0 &&
		   state_record_plan(st, &plan, forget, nforget, now, &err) !=
			   0) {
		log_debug("forgetting vanished rows failed");
	}

report:
	if (src != NULL)
		sops->close(src);
	memset(&rep, 0, sizeof(rep));
	rep.run_id = run_id;
	rep.mode = o->plan_only ? "plan" : o->dry_run ? "dry-run" : "sync";
	rep.started = started;
	rep.seconds = clock_seconds() - t0;
	rep.server = info.server[0] ? info.server : NULL;
	rep.read = nread;
	rep.in_scope = have_rules ? rules.in_scope : 0;
	rep.plan = have_plan ? &plan : NULL;
	rep.rules = have_rules ? &rules : NULL;
	rep.applied = applied;
	rep.limit = &hit;
	rep.error = &err;
	if (err.code == DS_E_LIMIT)
		rep.error = NULL;   /* reported as limit_exceeded */
	report = report_build(&rep, REPORT_KEEP_CHANGES);
	code = exit_code_for(&err);
	if (st != NULL && run_id > 0) {
		struct run_summary s;
		struct err e2;
		char *js = json_dumps(report, JSON_COMPACT);

		memset(&s, 0, sizeof(s));
		s.seconds = rep.seconds;
		s.exit_code = code;
		s.applied = applied;
		s.adds = report_count(report, "add");
		s.updates = report_count(report, "update");
		s.disables = report_count(report, "disable");
		s.deletes = report_count(report, "delete");
		s.conflicts = report_count(report, "conflict");
		s.errors = report_count(report, "error");
		err_clear(&e2);
		if (state_run_finish(st, run_id, &s, js, c->state.keep_runs,
				     &e2) != 0) {
			char buf[1400];

			log_err("%s", err_fmt(&e2, buf, sizeof(buf)));
			if (code == 0)
				code = 1;
		}
		free(js);
	}
	if (!o->quiet) {
		if (o->json)
			report_print_json(report, rep.plan, stdout);
		else
			report_print_text(report, rep.plan, stdout,
					  o->full_text);
		fflush(stdout);
	}
	if (err.code != DS_OK && err.code != DS_E_LIMIT) {
		char buf[1400];

		log_err("%s%s", err_fmt(&err, buf, sizeof(buf)),
			have_plan && !applied && !readonly
				? " (nothing was applied)"
				: "");
	}
	if (report_out != NULL)
		*report_out = report;
	else
		json_decref(report);
	free(forget);
	free(keep);
	if (tgt != NULL)
		tops->close(tgt);
	state_close(st);
	plan_free(&plan);
	managed_free(&managed);
	mset_free(&current);
	rules_free(&rules);
	return code;
}

/*
 * result.c - the end of a run: its counts, exit code, JSON report, and
 * its row in the state's history.
 */
#include "engine/stage.h"

#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "util/clock.h"
#include "util/xalloc.h"

struct run_counts
run_counts(const struct run_result *r)
{
	struct run_counts n = r->counts;   /* applied, failed, skipped */
	size_t i;

	n.add = n.update = n.disable = n.delete = 0;
	n.conflict = n.error = 0;
	if (r->have_plan) {
		/* every change, domain rows included */
		for (i = 0; i < r->plan.n; i++) {
			switch (r->plan.v[i].op) {
			case OP_ADD: n.add++; break;
			case OP_UPDATE: n.update++; break;
			case OP_DISABLE: n.disable++; break;
			case OP_DELETE: n.delete++; break;
			default: break;
			}
		}
		n.conflict += (long)r->plan.nclashes;
	}
	if (r->have_rules)
		n.conflict += (long)r->rules.nconflicts;
	/* the queued passwords written ahead of the run: updates */
	n.update += (long)r->npasswords;
	n.error = (long)r->nobj_errors;
	if (r->err.code != DS_OK && r->err.code != DS_E_LIMIT)
		n.error++;
	return n;
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

/*
 * The target's commit went through but the run's row could not be
 * written (the state's disk full, its file read-only): the run's error
 * says plainly that the changes ARE in the mail database, so that no one
 * restores or re-applies them, and which file failed.  Exit 1 (SPEC: a
 * runtime failure someone must fix, here the state's storage), and the
 * report on stdout and in the notification still lists the applied
 * changes, with this error.  Nothing of the run needs the row: the next
 * one finds the rows in place (the verified record is removed or, when
 * that fails too, names the target before this commit, whose own count
 * moved it), compares and changes nothing.
 */
static void
unrecorded_run(struct run *x, const struct err *e2)
{
	struct run_result *r = x->r;
	char buf[1400];
	long n = (r->per_object ? r->counts.applied : (long)r->plan.n) +
		 (long)r->npasswords;

	if (r->err.code != DS_OK) {   /* the run's own error stays first */
		log_err("the run's record could not be written: %s",
			err_fmt(e2, buf, sizeof(buf)));
		r->exit_code = 1;
		return;
	}
	r->err = *e2;
	snprintf(r->err.msg, sizeof(r->err.msg),
		 "the %ld change%s applied to the mail database (%.150s); "
		 "only writing run %lld to the state database after it "
		 "failed (`dirsync history` may not list it): %.200s",
		 n, n == 1 ? " WAS" : "s WERE", x->c->target.url, r->run_id,
		 e2->msg);
	r->exit_code = 1;
	r->counts = run_counts(r);
	json_decref(r->report);
	r->report = report_build(r, x->o->report_max_changes);
}

/* The run's row in the history: its summary and its report. */
static void
record_run(struct run *x)
{
	struct run_result *r = x->r;
	struct run_summary s;
	struct err e2;
	char *js, *plan = NULL;

	if (x->st == NULL || r->run_id <= 0)
		return;
	memset(&s, 0, sizeof(s));
	s.seconds = r->seconds;
	s.exit_code = r->exit_code;
	/* a run that wrote queued passwords applied them; not a limit
	 * stop, though: its plan is still all to approve (approve.c) */
	s.applied = r->applied || (r->npasswords > 0 && r->exit_code != 3);
	s.forced = r->forced.limit != NULL;
	s.fast_path = r->fast_path;
	s.interrupted = r->interrupted;
	/* a stop `dirsync approve` can lift keeps its plan; a run that
	 * held removals back keeps what it left undone (engine.c,
	 * hold_removals) */
	s.held = r->held;
	if (r->held && x->held_plan != NULL)
		plan = xstrdup(x->held_plan);
	else if (r->limit.limit != NULL && r->limit.forceable &&
		 r->have_plan)
		plan = report_plan_text(&r->plan);
	s.plan = plan;
	s.adds = r->counts.add;
	s.updates = r->counts.update;
	s.disables = r->counts.disable;
	s.deletes = r->counts.delete;
	s.conflicts = r->counts.conflict;
	s.errors = r->counts.error;
	if (r->applied) {       /* what [safety] limit_window weighs */
		s.lim_adds = (long)r->plan.count[OP_ADD];
		s.lim_updates = (long)r->plan.count[OP_UPDATE];
		s.lim_removals = (long)(r->plan.count[OP_DISABLE] +
					r->plan.count[OP_DELETE]);
	}
	js = report_dump_record(r->report, r->have_plan ? &r->plan : NULL,
				r->render);
	err_clear(&e2);
	if (state_run_finish(x->st, r->run_id, &s, js, x->c->state.keep_runs,
			     &e2) == 0)
		r->recorded = true;
	else
		r->record_err = e2;
	if (!r->recorded && (r->applied || r->npasswords > 0)) {
		unrecorded_run(x, &e2);
	} else if (e2.code != DS_OK) {
		char buf[1400];

		log_err("%s", err_fmt(&e2, buf, sizeof(buf)));
		if (r->exit_code == 0)
			r->exit_code = 1;
	}
	free(js);
	free(plan);
}

void
engine_result_init(struct run_result *r, const struct engine_opts *o,
		   time_t now)
{
	memset(r, 0, sizeof(*r));
	r->mode = o->mode;
	r->passwords = o->passwords;
	r->npasswords = o->npasswords;
	err_clear(&r->err);
	rules_init(&r->rules);
	plan_init(&r->plan);
	mset_init(&r->current);
	managed_init(&r->managed);
	strftime(r->started, sizeof(r->started), "%Y-%m-%dT%H:%M:%SZ",
		 gmtime(&now));
}

void
engine_run_refused(const struct engine_opts *o, const struct err *err,
		   struct run_result *r)
{
	engine_result_init(r, o, time(NULL));
	r->err = *err;
	r->exit_code = exit_code_for(&r->err);
	r->trigger = o->trigger;
	r->report = report_build(r, o->report_max_changes);
}

/*
 * A run that failed after a stop was asked for (the daemon's SIGTERM):
 * what failed is the signal's doing.  A blocking call it woke returns
 * its own error (libldap turns EINTR into LDAP_SERVER_DOWN, "Can't
 * contact LDAP server"), which would send an administrator to look at a
 * server that is fine; the run's error says it was interrupted and what
 * reached the target, and the object (the server, the target) stays.
 */
static void
run_interrupted(struct run_result *r)
{
	char was[sizeof(r->err.msg)];

	r->interrupted = true;
	if (strncmp(r->err.msg, "interrupted by a signal", 23) == 0)
		return;   /* said where it stopped (apply, read loop) */
	snprintf(was, sizeof(was), "%s", r->err.msg);
	if (r->applied)
		snprintf(r->err.msg, sizeof(r->err.msg),
			 "interrupted by a signal after %ld of %zu changes "
			 "were applied (the call it stopped said: %.300s)",
			 r->counts.applied, r->have_plan ? r->plan.n : 0,
			 was);
	else
		snprintf(r->err.msg, sizeof(r->err.msg),
			 "interrupted by a signal; nothing was applied (the "
			 "call it stopped said: %.300s)",
			 was);
}

void
engine_finish(struct run *x)
{
	struct run_result *r = x->r;

	r->seconds = clock_seconds() - x->t0;
	r->counts = run_counts(r);
	r->exit_code = exit_code_for(&r->err);
	if (r->exit_code == 1 && engine_stop_requested)
		run_interrupted(r);
	if (r->exit_code == 0 && r->held)
		r->exit_code = 3;   /* a limit held the removals back */
	if (r->exit_code == 0 && r->counts.failed > 0)
		r->exit_code = 1;   /* some objects did not make it */
	engine_read_finish(x);
	r->trigger = x->o->trigger;
	r->report = report_build(r, x->o->report_max_changes);
	record_run(x);
}

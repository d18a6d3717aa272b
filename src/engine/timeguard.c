/*
 * timeguard.c - the time guards of plan/guard.h in a run: the run history
 * comes from the state, the verdict goes to stderr (issue 13).
 */
#include "engine/stage.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/guard.h"
#include "util/xalloc.h"

struct run_times {
	long long self;        /* this run's id: left out */
	time_t *v;             /* starts of successful sync runs */
	size_t n, cap;
};

static int
on_run(void *arg, const struct run_row *r)
{
	struct run_times *t = arg;
	struct tm tm;
	const char *end;
	time_t when;

	if (r->id == t->self || r->started == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(r->started, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	when = timegm(&tm);
	if (r->mode == NULL || strcmp(r->mode, "sync") != 0 ||
	    r->s.exit_code != 0)
		return 0;
	t->v = xgrow(t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n++] = when;
	return 0;
}

int
engine_time_guard(struct run *x)
{
	const struct conf *c = x->c;
	struct run_times t;
	struct time_guard g;
	char when[32];
	bool behind;

	if (x->st == NULL)
		return 0;
	memset(&t, 0, sizeof(t));
	t.self = x->r->run_id;
	/* times and outcomes only: no report parsed (22 MB at 1M users) */
	if (state_history_brief(x->st, 0, on_run, &t, &x->r->err) != 0) {
		free(t.v);
		return -1;
	}
	/*
	 * A clock that reads earlier than the last run: this run's disables
	 * are recorded as of that run (a clock that is behind must not
	 * start delete_after early), and its deletes wait (rule 1), unless
	 * --force-limits says the clock is right now.
	 */
	behind = x->latest > 0 && x->now < x->latest;
	if (behind)
		x->stamp = x->latest;
	x->guard_held = plan_time_guard(&x->r->plan, &x->r->managed, x->now,
					behind && x->o->force_limits ? 0
								     : x->latest,
					t.v, t.n, c->safety.delete_after_runs,
					&g) != 0;
	free(t.v);
	if (behind) {
		struct run_result *r = x->r;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			 gmtime(&x->latest));
		if (x->o->force_limits)
			snprintf(r->guard_warning, sizeof(r->guard_warning),
				 "the clock reads earlier than the last run "
				 "(%s): deletes not held back (--force-limits); "
				 "disables recorded as of that time", when);
		else
			snprintf(r->guard_warning, sizeof(r->guard_warning),
				 "the clock reads earlier than the last run "
				 "(%s): %zu deletes held back until it is past "
				 "that time (if that run's clock was ahead and "
				 "this one is right: `sync --force-limits`); "
				 "disables go on, recorded as of that time",
				 when, g.removals_held);
		/* the text report has it among its warnings; stderr when
		 * no text report is printed (-q, --json, the daemon) */
		if (x->o->quiet || x->o->render_json)
			log_warn("%s", r->guard_warning);
	}
	if (g.deletes_held > 0)
		log_warn("%zu deletes held back: a delete needs %ld successful "
			 "sync runs since the disable as well as delete_after "
			 "(%s: %ld so far)", g.deletes_held,
			 c->safety.delete_after_runs, g.first_held,
			 g.first_runs);
	return 0;
}

/*
 * timeguard.c - the time guards of plan/guard.h in a run: the run history
 * comes from the state, the verdict goes to stderr (issue 13).
 */
#include "engine/stage.h"

#include <stdlib.h>
#include <string.h>

#include "plan/guard.h"
#include "util/xalloc.h"

struct run_times {
	long long self;        /* this run's id: left out */
	time_t last;           /* latest start of any run */
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
	if (when > t->last)
		t->last = when;
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

	if (x->st == NULL)
		return 0;
	memset(&t, 0, sizeof(t));
	t.self = x->r->run_id;
	/* times and outcomes only: no report parsed (22 MB at 1M users) */
	if (state_history_brief(x->st, 0, on_run, &t, &x->r->err) != 0) {
		free(t.v);
		return -1;
	}
	x->guard_held = plan_time_guard(&x->r->plan, &x->r->managed, x->now,
					t.last, t.v, t.n,
					c->safety.delete_after_runs, &g) != 0;
	free(t.v);
	if (g.clock_behind) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			 gmtime(&g.last_run));
		log_warn("the clock reads earlier than the last run (%s): "
			 "%zu disables and deletes held back until it is "
			 "right again; adds and updates go on",
			 when, g.removals_held);
	}
	if (g.deletes_held > 0)
		log_warn("%zu deletes held back: a delete needs %ld successful "
			 "sync runs since the disable as well as delete_after "
			 "(%s: %ld so far)", g.deletes_held,
			 c->safety.delete_after_runs, g.first_held,
			 g.first_runs);
	return 0;
}

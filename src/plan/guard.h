/*
 * guard.h - time guards on destructive steps (issue 13), pure code.
 *
 * A wall clock can jump: a VM restored from a snapshot, a dead RTC
 * battery, an NTP server gone wrong.  Deprovisioning is the only decision
 * taken from the clock (delete_after), and a clock 400 days behind for
 * one run, then right again, turned fresh disables into deletes seconds
 * later.  Two rules, applied to a built plan before the safety limits:
 *
 *  1. A run whose clock is earlier than the latest run recorded in the
 *     state applies no delete: which clock was wrong, this one or the
 *     last run's, cannot be told, and a delete cannot be undone.  Its
 *     disables go on (a leaver must not keep a working mailbox until
 *     the clock passes a run that was ahead, for years after a bogus
 *     2036), recorded by the caller as disabled at the last run's time
 *     rather than its own, so that no delete_after is cut short by a
 *     clock that was behind.
 *  2. A delete after a disable needs both delete_after (in the plan
 *     already) and at least `min_runs` successful sync runs started after
 *     the disable, this one included: time alone is not evidence that the
 *     object is gone.
 *
 * The caller gathers the run times from the state (state_history) and
 * passes them in; nothing here reads a clock or a file.
 */
#ifndef DS_PLAN_GUARD_H
#define DS_PLAN_GUARD_H

#include <stddef.h>
#include <time.h>

#include "plan/plan.h"

/* What the guard did, for the log and the report. */
struct time_guard {
	int clock_behind;      /* rule 1 fired: now < last_run */
	time_t last_run;       /* as passed in */
	size_t removals_held;  /* deletes dropped by rule 1 */
	size_t deletes_held;   /* deletes dropped by rule 2 */
	const char *first_held;  /* address of one held delete (borrowed
				  * from the plan), or NULL */
	long first_runs;       /* runs since that one's disable, this one
				* included */
};

/*
 * Applies both rules to p in place.  now: this run's clock; last_run: the
 * latest start of any run recorded before this one (unix seconds, 0 =
 * none); runs[0, nruns): start times of earlier successful sync runs, any
 * order, the current run excluded.  m: the managed objects (their
 * disabled_at).  min_runs <= 0 turns rule 2 off.  Returns 1 when
 * something was held back, else 0.
 */
int plan_time_guard(struct plan *p, const struct managed *m, time_t now,
		    time_t last_run, const time_t *runs, size_t nruns,
		    long min_runs, struct time_guard *g);

/*
 * Member removals (issue 13): a list can shrink without any object
 * leaving (a cut export, a filter or permission change hiding members),
 * and the max_* limits count objects, not members.  A list that would
 * lose more than `pct` percent of its members, and at least
 * PLAN_MEMBER_MIN of them, in one run trips the limit
 * "max_member_removal_percent" (forceable).  pct < 0: off.  Returns 1
 * with *hit filled (planned: the members lost, allowed: the most allowed,
 * of the list losing most; hit->lists: every list over the limit, in
 * p's arena) and *list that list's address (borrowed from p), else 0.
 */
#define PLAN_MEMBER_MIN 10
int plan_check_members(struct plan *p, long pct, struct limit_hit *hit,
		       const char **list);
/*
 * The lists of a max_member_removal_percent hit for a message line:
 * "; list ADDR (DN) would lose N of M members[; and K more lists]", or
 * "" for another limit.  Returns buf.
 */
const char *plan_limit_lists(const struct limit_hit *hit, char *buf,
			     size_t len);
/*
 * " (and N applied by the runs of the last 5m: [safety] limit_window)"
 * when hit counted earlier runs, else ""; into buf.  Returns buf.
 */
const char *plan_limit_window(const struct limit_hit *hit, char *buf,
			      size_t len);

#endif

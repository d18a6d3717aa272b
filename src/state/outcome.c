/*
 * outcome.c - what became of a recorded run (outcome.h).
 */
#include "state/outcome.h"

static const struct {
	const char *word, *label, *text;
	int severity;
} outcomes[RUN_OUTCOMES] = {
	[RUN_APPLIED] = {"applied", "applied", "applied", 0},
	[RUN_NO_CHANGE] = {"no-change", "no_change", "no change", 0},
	[RUN_FORCED] = {"forced", "forced",
			"applied past a safety limit (--force-limits or dirsync "
			"approve)", 0},
	[RUN_HELD] = {"held", "held",
		      "disables and deletes held back by a safety limit "
		      "(hold_removals), the other changes applied",
		      1},
	[RUN_LIMIT_STOP] = {"limit-stop", "limit_stop",
			    "stopped by a safety limit, nothing applied", 1},
	[RUN_FAILED] = {"failed", "failed", "failed", 2},
	[RUN_INTERRUPTED] = {"interrupted", "interrupted",
			     "interrupted by a signal", 1},
};

enum run_outcome
run_outcome(const struct run_summary *s)
{
	if (s->interrupted)
		return RUN_INTERRUPTED;
	if (s->exit_code == 3)
		return s->applied || s->held ? RUN_HELD : RUN_LIMIT_STOP;
	if (s->exit_code != 0)
		return RUN_FAILED;
	if (s->forced)
		return RUN_FORCED;
	return s->applied ? RUN_APPLIED : RUN_NO_CHANGE;
}

const char *
run_outcome_word(enum run_outcome o)
{
	return outcomes[o].word;
}

const char *
run_outcome_label(enum run_outcome o)
{
	return outcomes[o].label;
}

const char *
run_outcome_text(enum run_outcome o)
{
	return outcomes[o].text;
}

int
run_outcome_severity(enum run_outcome o)
{
	return outcomes[o].severity;
}

enum run_counts_applied
run_counts_applied(const struct run_summary *s)
{
	if (!s->applied)
		return RUN_COUNTS_NONE;
	if (s->interrupted || (s->exit_code != 0 && s->exit_code != 3))
		return RUN_COUNTS_SOME;
	return RUN_COUNTS_ALL;
}

const char *
run_counts_applied_word(enum run_counts_applied a)
{
	static const char *const words[] = {
		[RUN_COUNTS_ALL] = "all",
		[RUN_COUNTS_NONE] = "none",
		[RUN_COUNTS_SOME] = "some",
	};

	return words[a];
}

const char *
run_counts_note(const struct run_summary *s)
{
	if (s->adds + s->updates + s->disables + s->deletes == 0)
		return "";
	switch (run_counts_applied(s)) {
	case RUN_COUNTS_NONE:
		return " planned, none applied";
	case RUN_COUNTS_SOME:
		return " planned, some applied";
	default:
		return "";
	}
}

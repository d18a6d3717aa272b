/*
 * outcome.h - what became of a recorded run, decided once for every
 * place that shows it (`dirsync history`, `dirsync status`, the status
 * page, /metrics), from the row's exit code and flags (state.h, struct
 * run_summary).
 *
 * The rules, in order:
 *   interrupted   a signal stopped it (the daemon's SIGTERM mid-run);
 *                 exit 1, and `applied` says whether some changes went in
 *   held          exit 3 with changes applied: [safety] hold_removals
 *                 held the disables and deletes back, the rest applied
 *   limit_stop    exit 3, nothing applied
 *   failed        any other non-zero exit
 *   forced        exit 0, applied past a safety limit (--force-limits)
 *   applied       exit 0 with changes
 *   no_change     exit 0 without
 */
#ifndef DS_OUTCOME_H
#define DS_OUTCOME_H

#include "state/state.h"

enum run_outcome {
	RUN_APPLIED,
	RUN_NO_CHANGE,
	RUN_FORCED,
	RUN_HELD,
	RUN_LIMIT_STOP,
	RUN_FAILED,
	RUN_INTERRUPTED,
	RUN_OUTCOMES            /* how many there are */
};

enum run_outcome run_outcome(const struct run_summary *s);

/* One word, as `dirsync history` prints it ("limit-stop"); static. */
const char *run_outcome_word(enum run_outcome o);
/* The same as an identifier ("limit_stop"): /metrics' label; static. */
const char *run_outcome_label(enum run_outcome o);
/* A phrase for a sentence ("stopped by a safety limit, nothing
 * applied"), as `dirsync status` says it; static. */
const char *run_outcome_text(enum run_outcome o);
/*
 * How it weighs for a person watching: 0 fine (applied, no change,
 * forced), 1 waits for someone or is redone by itself (held,
 * limit_stop, interrupted), 2 failed.
 */
int run_outcome_severity(enum run_outcome o);

/*
 * What a run's counts (add, update, disable, delete: its plan, as the
 * state records them) say of the mail system:
 *   all    applied (exit 0, or a limit that held removals back)
 *   none   nothing applied: the run failed, stopped at a limit or was
 *          interrupted before its changes went in (`applied` false)
 *   some   some applied, not all: interrupted mid-apply, or failed
 *          after some objects or queued passwords went in
 * so that a run that applied nothing is not shown as if it had.
 */
enum run_counts_applied {
	RUN_COUNTS_ALL,
	RUN_COUNTS_NONE,
	RUN_COUNTS_SOME,
};

enum run_counts_applied run_counts_applied(const struct run_summary *s);
/* "all", "none", "some": history --json's summary_applied; static. */
const char *run_counts_applied_word(enum run_counts_applied a);
/*
 * After the counts in a line ("+1 ~6 !3 -0 planned, none applied"):
 * "" when they were applied or are all zero, else " planned, none
 * applied" / " planned, some applied"; static.
 */
const char *run_counts_note(const struct run_summary *s);

#endif

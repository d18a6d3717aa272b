/*
 * sync.h - one run of the pipeline: read -> rules -> plan -> limits ->
 * apply -> record -> report.  Used by `plan`, `sync` and the daemon.
 */
#ifndef DS_SYNC_H
#define DS_SYNC_H

#include <stdbool.h>

#include "conf/conf.h"
#include "engine/engine.h"

struct sync_opts {
	bool plan_only;     /* `plan`: read-only, nothing recorded */
	bool dry_run;       /* `sync --dry-run`: the same, reported as such */
	bool force_limits;  /* apply even when a safety limit is exceeded */
	bool full;          /* full read and compare (--full) */
	const char *full_why; /* with full: why, if not --full (static) */
	bool json;          /* print the JSON report instead of text */
	bool quiet;         /* no text report on stdout, no progress (a
			     * --json report is still printed) */
	bool full_text;     /* text report: do not shorten long goto lists */
	/* --handover ADDRESS, each (borrowed: argv): engine_opts.handover */
	const char *const *handover;
	size_t nhandover;
	long long approve_run;    /* `approve`: see engine_opts */
	const char *approve_plan;
	bool approve_held;
	/* the daemon: why this run ("interval", "request", "watch"); NULL
	 * for a command's run.  Static string. */
	const char *trigger;
	/* the queued passwords written just before the run, for its report
	 * (engine_opts.passwords; borrowed for the call) */
	const struct engine_password *passwords;
	size_t npasswords;
};

/*
 * One run.  The caller holds the state lock for a real sync.  Prints the
 * report on stdout (JSON, or text unless quiet).  Returns the exit code
 * (0 done, 1 runtime failure, 2 configuration, 3 safety limit) and, if
 * out is not NULL, the run's result (the caller run_result_free()s it).
 * A signal stops a run through engine_stop_requested.
 */
/*
 * A sync (or approve) that could not start (err: the state's lock
 * held, or not openable): the error logged and, with --json, a report
 * holding it printed, as for a run that failed.  Returns the exit code.
 */
int sync_refused(const struct sync_opts *o, const struct err *err);

int sync_run(const struct conf *c, const struct sync_opts *o,
	     struct run_result *out);

/*
 * After a real run (r->mode "sync": sync, approve, the daemon's), with
 * the state's lock still held (lockfd from lock_acquire()): a run not
 * recorded in the history leaves a note in the lock file for `dirsync
 * status` (time, exit code, why); a recorded one clears it.  A failure
 * to write is logged, never fatal.  lockfd < 0: nothing.
 */
void sync_note(int lockfd, const struct run_result *r);

#endif

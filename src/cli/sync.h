/*
 * sync.h - one run of the pipeline: read -> rules -> plan -> limits ->
 * apply -> record -> report.  Used by `plan`, `sync` and the daemon.
 */
#ifndef DS_SYNC_H
#define DS_SYNC_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>

#include "conf/conf.h"

struct sync_opts {
	bool plan_only;     /* `plan`: read-only, nothing recorded */
	bool dry_run;       /* `sync --dry-run`: the same, reported as such */
	bool force_limits;  /* apply even when a safety limit is exceeded */
	bool full;          /* full reconcile (every run is, for now) */
	bool json;          /* print the JSON report instead of text */
	bool quiet;         /* no report on stdout, no progress */
	bool full_text;     /* text report: do not shorten long goto lists */
};

/*
 * Set from a signal handler (SIGTERM) to stop a run: checked while
 * reading and between applied changes; an apply in progress is rolled
 * back, so the mail database is left as it was before the run.
 */
extern volatile sig_atomic_t sync_stop_requested;

/*
 * One run.  The caller holds the state lock for a real sync.  Prints the
 * report (text or JSON) on stdout unless quiet.  Returns the exit code
 * (0 done, 1 runtime failure, 2 configuration, 3 safety limit) and, if
 * report_out is not NULL, the JSON report (the caller json_decref()s it).
 */
int sync_run(const struct conf *c, const struct sync_opts *o,
	     json_t **report_out);

#endif

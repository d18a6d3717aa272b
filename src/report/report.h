/*
 * report.h - the run report: SPEC's JSON, and a text rendering of it.
 *
 * The JSON is the single source: `sync --json` prints it, the state
 * database stores it, `show` re-renders it, notifications attach it.
 */
#ifndef DS_REPORT_H
#define DS_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "plan/plan.h"
#include "rules/rules.h"
#include "util/err.h"

struct report_in {
	long long run_id;             /* 0: not recorded (plan, dry run) */
	const char *mode;             /* "plan", "sync", "dry-run" */
	const char *started;          /* ISO 8601 UTC */
	double seconds;
	const char *server;           /* source actually read */
	size_t read, in_scope;
	const struct plan *plan;      /* may be NULL (read failed) */
	const struct rules_result *rules;  /* may be NULL */
	bool applied;
	const struct limit_hit *limit;     /* NULL or limit == NULL: none */
	const struct err *error;           /* NULL: none */
};

/*
 * New reference.  At most max_changes changes are put in "changes" (a
 * first sync of a big directory plans millions); the rest are counted in
 * "changes_omitted".  The summary always counts them all.
 */
json_t *report_build(const struct report_in *in, size_t max_changes);
/*
 * Human text.  Changes come from `plan` when given, else from the
 * report's own "changes".  Unless full, long goto lists are shortened and
 * at most REPORT_TEXT_CHANGES changes of a plan are listed (the summary
 * counts them all).
 */
#define REPORT_TEXT_CHANGES 1000
void report_print_text(const json_t *r, const struct plan *plan, FILE *fp,
		       bool full);
/* SPEC's JSON, every change of `plan` (if given) streamed into it. */
void report_print_json(const json_t *r, const struct plan *plan, FILE *fp);
/* Count of summary key ("add", "conflict", ...) */
long report_count(const json_t *r, const char *key);

#endif

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

#include "engine/engine.h"
#include "plan/plan.h"
#include "rules/rules.h"
#include "util/err.h"

/*
 * SPEC's JSON report of a run (new reference).  At most max_changes
 * changes are put in "changes" (a first sync of a big directory plans
 * millions); the rest are counted in "changes_omitted".  The summary is
 * r->counts, which counts them all.
 */
json_t *report_build(const struct run_result *r, size_t max_changes);
/*
 * Human text.  Changes come from `plan` when given, else from the
 * report's own "changes".  Each change names its object ("[account,
 * DN]"), a disable or delete says why in parentheses, a list update is a
 * member diff ("members +a -b").  Unless full, long goto lists are shortened and
 * at most REPORT_TEXT_CHANGES changes of a plan are listed (the summary
 * counts them all).
 */
#define REPORT_TEXT_CHANGES 1000
void report_print_text(const json_t *r, const struct plan *plan, FILE *fp,
		       bool full);
/*
 * A plan as canonical text, to keep with a limit stop and compare at
 * `dirsync approve`: one line per change, the change's JSON object
 * (compact, keys sorted) without the keys that only explain it
 * (account, reason, left_scope, members_added, members_removed), lines
 * sorted; "" for an empty plan.  malloc'd.
 */
char *report_plan_text(const struct plan *plan);
/*
 * What differs between two such texts, for a person: each change only
 * one side has as the text report prints it (report_print_change(), a
 * list's members as "+a -b", the first five a side and a count), "- "
 * kept and no longer planned, "+ " newly planned; a list updated on both
 * sides also gets "~ ADDRESS now, against the approved plan: members
 * ...".  The lines of one object stay together; objects with a disable
 * or delete come first, then additions, then updates.  At most max
 * change lines, then "... and N more".  A line that is not a change's
 * JSON is shown as it is, cut at 300 bytes.  NULL when the texts are
 * equal.  malloc'd.
 */
char *report_plan_diff(const char *kept, const char *now, size_t max);

/*
 * A list update whose goto holds more addresses than this on either side
 * reports how many (fields and old "goto_addresses") instead of the goto
 * itself; its members_added and members_removed say what changed.  The
 * plan `approve` compares (report_plan_text) keeps the goto whole.
 */
#define REPORT_LIST_GOTO_MAX 1000

/* One change as the report's JSON has it (new reference). */
json_t *report_change_json(const struct change *ch);
/* One change as the text report has it: one line, indented two spaces. */
void report_print_change(FILE *fp, const struct change *ch, bool full);

/*
 * The changes of a plan rendered ahead, on a thread, while the engine
 * applies the plan: each change's JSON (report_change_json) and its
 * compact text.  At 1M entries a 1% run prints 8 MB of changes, a tenth
 * of a second of jansson's dump that the apply's idle core can take; at
 * 100k, building and dumping them for the report and the run's history
 * was a third of what the run did after the apply.  The plan must not
 * change until report_render_free().  NULL when the plan is too small to
 * be worth a thread, too big to hold its text (more than
 * REPORT_RENDER_AHEAD_MAX changes: a first sync at 1M plans 3.4 million,
 * whose text held ahead added ~840 MB to the run's peak), or none could
 * start (the report is then built, dumped and printed as it was before
 * this thread).
 */
#define REPORT_RENDER_AHEAD_MAX 100000
struct report_render;
struct report_render *report_render_start(const struct plan *plan);
void report_render_free(struct report_render *rr);
/*
 * report_build()'s part: appends the JSON of plan's first max changes to
 * into (an array) when rr holds them (waiting for the thread), each a
 * new reference (rr keeps its own, so a report built again takes them
 * again); returns how many (0: rr is NULL or of another plan).
 */
size_t report_render_take(struct report_render *rr, const struct plan *plan,
			  json_t *into, size_t max);
/*
 * The run's report as the history keeps it: json_dumps(r, JSON_COMPACT),
 * with the changes from rr's text when it holds plan's (malloc'd; NULL
 * only when jansson fails).
 */
char *report_dump_record(const json_t *r, const struct plan *plan,
			 struct report_render *rr);
/*
 * SPEC's JSON, every change of `plan` (if given) streamed into it; from
 * rr (may be NULL) when it holds that plan's changes.
 */
void report_print_json(const json_t *r, const struct plan *plan,
		       struct report_render *rr, FILE *fp);

#endif

/*
 * sync.c - `plan`, `sync` and the daemon's runs: options in, one engine
 * run, the report out (text or JSON on stdout, the error on stderr).
 */
#include "cli/sync.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report/report.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/progress.h"

/* Changes kept in the stored/mailed report; stdout gets them all. */
#define REPORT_KEEP_CHANGES 2000

/* The plan's changes since the approval, one log line each (a log line
 * never holds a line break: syslog and log injection). */
static void
log_drift(const char *drift)
{
	const char *s, *e;

	for (s = drift; *s != '\0'; s = *e ? e + 1 : e) {
		e = s + strcspn(s, "\n");
		if (e > s)
			log_err("  %.*s", (int)(e - s), s);
	}
}

static void
print_report(const struct sync_opts *o, const struct run_result *r)
{
	const struct plan *plan = r->have_plan ? &r->plan : NULL;

	/* -q drops the text report; a JSON report was asked for (dirsync(8)) */
	if (o->quiet && !o->json)
		return;
	if (o->json)
		report_print_json(r->report, plan, r->render, stdout);
	else
		report_print_text(r->report, plan, stdout, o->full_text);
	fflush(stdout);
}

int
sync_refused(const struct sync_opts *o, const struct err *err)
{
	struct engine_opts eo;
	struct run_result r;
	char buf[1400];
	int code;

	memset(&eo, 0, sizeof(eo));
	eo.mode = o->dry_run ? "dry-run" : "sync";
	eo.trigger = o->trigger;
	eo.report_max_changes = REPORT_KEEP_CHANGES;
	engine_run_refused(&eo, err, &r);
	log_err("%s", err_fmt(err, buf, sizeof(buf)));
	if (o->json)
		print_report(o, &r);
	code = r.exit_code;
	run_result_free(&r);
	return code;
}

int
sync_run(const struct conf *c, const struct sync_opts *o,
	 struct run_result *out)
{
	struct engine_opts eo;
	struct run_result local, *r = out != NULL ? out : &local;
	const bool readonly = o->plan_only || o->dry_run;
	int code;

	memset(&eo, 0, sizeof(eo));
	eo.mode = o->plan_only ? "plan" : o->dry_run ? "dry-run" : "sync";
	eo.readonly = readonly;
	eo.force_limits = o->force_limits;
	eo.approve_run = o->approve_run;
	eo.approve_plan = o->approve_plan;
	eo.approve_held = o->approve_held;
	eo.full = o->full;
	eo.full_why = o->full_why;
	eo.handover = o->handover;
	eo.nhandover = o->nhandover;
	if (o->nhandover > 0 && !o->full) {
		/* the fast path would find nothing changed */
		eo.full = true;
		eo.full_why = "--handover";
	}
	eo.quiet = o->quiet;
	eo.trigger = o->trigger;
	eo.report_max_changes = REPORT_KEEP_CHANGES;
	eo.render_json = o->json;
	eo.passwords = o->passwords;
	eo.npasswords = o->npasswords;
	progress_quiet(o->quiet || o->json);
	code = engine_run(c, &eo, r);
	print_report(o, r);
	if (r->drift != NULL && r->limit.limit != NULL && r->run_id > 0) {
		/* `approve` refused: say what changed, and what to do */
		log_err("approve: %s; this run (%lld) kept the current plan: "
			"review it with `dirsync show %lld`, approve it with "
			"`dirsync approve %lld`.  What changed (- approved, + "
			"now):",
			r->err.msg, r->run_id, r->run_id, r->run_id);
		log_drift(r->drift);
	} else if (r->drift != NULL) {
		log_err("approve: %s.  What changed (- approved, + now):",
			r->err.msg);
		log_drift(r->drift);
	} else if (r->err.code == DS_E_LIMIT) {
		/* also with -q or --json: cron mails what reaches stderr */
		log_err("%s", r->err.msg);
	} else if (r->err.code != DS_OK) {
		char buf[1400];

		log_err("%s%s", err_fmt(&r->err, buf, sizeof(buf)),
			r->have_plan && !r->applied && !readonly &&
					strstr(r->err.msg, "nothing applied") ==
						NULL &&
					strstr(r->err.msg,
					       "nothing was applied") == NULL
				? " (nothing was applied)"
				: "");
	}
	if (out == NULL)
		run_result_free(&local);
	return code;
}

/* Why a real run was not recorded, for its note: the run's own error,
 * and the record's when that is another. */
static void
note_text(const struct run_result *r, char *buf, size_t n)
{
	char a[1400], b[1400];
	const struct err *re = &r->record_err;

	if (r->err.code != DS_OK && re->code != DS_OK &&
	    strcmp(r->err.msg, re->msg) != 0)
		snprintf(buf, n, "%s; writing the run to the history failed "
			 "too: %s", err_fmt(&r->err, a, sizeof(a)),
			 err_fmt(re, b, sizeof(b)));
	else if (r->err.code != DS_OK)
		snprintf(buf, n, "%s", err_fmt(&r->err, a, sizeof(a)));
	else if (re->code != DS_OK)
		snprintf(buf, n, "writing the run to the history failed: %s",
			 err_fmt(re, b, sizeof(b)));
	else
		snprintf(buf, n, "the run could not be recorded in the state "
			 "database");
}

void
sync_note(int lockfd, const struct run_result *r)
{
	struct timespec ts;
	struct err err;
	char buf[1400];

	if (lockfd < 0 || r->mode == NULL || strcmp(r->mode, "sync") != 0)
		return;
	err_clear(&err);
	if (r->recorded) {
		if (lock_note_clear(lockfd, &err) != 0)
			log_warn("%s", err_fmt(&err, buf, sizeof(buf)));
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	note_text(r, buf, sizeof(buf));
	if (lock_note_write(lockfd, (double)ts.tv_sec + ts.tv_nsec / 1e9,
			    r->exit_code != 0 ? r->exit_code : 1, buf,
			    &err) != 0)
		log_warn("`dirsync status` cannot learn of this failure: %s",
			 err_fmt(&err, buf, sizeof(buf)));
}

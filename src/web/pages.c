/*
 * pages.c - the status page's HTML: the runs, one run, the configuration.
 *
 * Plain HTML with an inline style sheet and no script, so the
 * Content-Security-Policy can forbid scripts altogether (web.c).  Every
 * string from the state database or the configuration is escaped.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"
#include "state/outcome.h"
#include "state/state.h"
#include "web/web_int.h"

#define PAGE_RUNS 50

void
web_html_esc(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", fp); break;
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default: fputc(*s, fp); break;
		}
	}
}

void
web_html_head(FILE *fp, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<title>", fp);
	web_html_esc(fp, title);
	fputs(" - dirsync</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
	      "nav a{margin-right:1em}\n"
	      "table{border-collapse:collapse}\n"
	      "th,td{padding:.25em .7em;border-bottom:1px solid #ddd;"
	      "text-align:left}\n"
	      "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	      ".ok{color:#176f2c}.warn{color:#9a6700}.bad{color:#b3261e}\n"
	      "pre{background:#f6f6f6;padding:1em;overflow:auto}\n"
	      ".notice{background:#e8f3ff;padding:.5em 1em}\n"
	      "</style></head><body>\n<nav><a href=\"/\">Runs</a>"
	      "<a href=\"/config\">Configuration</a>"
	      "<a href=\"/metrics\">Metrics</a></nav>\n<h1>", fp);
	web_html_esc(fp, title);
	fputs("</h1>\n", fp);
}

void
web_html_foot(FILE *fp)
{
	fputs("</body></html>\n", fp);
}

static int
page_error(FILE *fp, const char *title, struct err *err, int code)
{
	char buf[1400];

	web_html_head(fp, title);
	fputs("<p class=\"bad\">", fp);
	web_html_esc(fp, err_fmt(err, buf, sizeof(buf)));
	fputs("</p>\n", fp);
	web_html_foot(fp);
	return code;
}

static const char *
run_result(const struct run_row *r, const char **cls)
{
	static const char *const cls_of[] = {"ok", "warn", "bad"};
	enum run_outcome o = run_outcome(&r->s);

	*cls = cls_of[run_outcome_severity(o)];
	switch (o) {
	case RUN_HELD:
		return "applied, removals held";
	case RUN_INTERRUPTED:   /* a daemon stopped mid-run: redone */
		return r->s.applied ? "interrupted, partly applied"
				    : "interrupted, nothing applied";
	case RUN_FAILED:        /* its counts are its plan */
		return r->s.applied ? "failed, partly applied"
				    : "failed, nothing applied";
	default:
		return run_outcome_text(o);
	}
}

static int
on_row(void *ctx, const struct run_row *r)
{
	FILE *fp = ctx;
	const char *cls, *res = run_result(r, &cls);

	fprintf(fp, "<tr><td class=\"n\"><a href=\"/run/%lld\">%lld</a></td>"
		    "<td>", r->id, r->id);
	web_html_esc(fp, r->started);
	fprintf(fp, "</td><td class=\"n\">%.2fs</td>"
		    "<td class=\"%s\">%s</td><td class=\"n\">%d</td>"
		    "<td class=\"n\">%ld</td><td class=\"n\">%ld</td>"
		    "<td class=\"n\">%ld</td><td class=\"n\">%ld</td>"
		    "<td class=\"n\">%ld</td><td class=\"n\">%ld</td></tr>\n",
		r->s.seconds, cls, res, r->s.exit_code, r->s.adds,
		r->s.updates, r->s.disables, r->s.deletes, r->s.conflicts,
		r->s.errors);
	return 0;
}

bool
web_unrecorded(const char *state_path, double newest_end,
		struct lock_note *n)
{
	struct err err;

	err_clear(&err);
	return lock_note_read(state_path, n, &err) == LOCK_NOTE_FOUND &&
	       n->when > newest_end;
}

static int
on_newest(void *ctx, const struct run_row *r)
{
	double *end = ctx, e = web_run_ended(r->started, r->s.seconds);

	*end = e > 0 ? e : 0;
	return 1;
}

/* A sync that failed and is not in the table below, first. */
static void
unrecorded_banner(FILE *fp, struct state *st, const char *state_path)
{
	struct lock_note n;
	struct err err;
	double newest = 0;
	time_t t;
	char when[32];

	err_clear(&err);
	if (state_history(st, 1, on_newest, &newest, &err) != 0)
		newest = 0;
	if (!web_unrecorded(state_path, newest, &n))
		return;
	t = (time_t)n.when;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(fp, "<p class=\"bad\" id=\"unrecorded\">The last sync attempt, "
		    "ended %s (exit %d), failed and could not be recorded in "
		    "the state database: ",
		when, n.exit_code);
	web_html_esc(fp, n.msg);
	fputs("</p>\n", fp);
}

/*
 * The daemon's watch, when it is not following changes as configured
 * (util/lock.h, the daemon's record): said first, as `dirsync status`
 * says it.
 */
static void
watch_banner(FILE *fp, const char *state_path)
{
	struct lock_watch w;
	time_t t;
	char when[32];
	const char *what;

	if (!lock_watch_current(state_path, &w))
		return;
	switch (w.state) {
	case LOCK_WATCH_STOPPED:
		what = "stopped until the configuration is reloaded";
		break;
	case LOCK_WATCH_REFUSED:
		what = "refused by the server";
		break;
	case LOCK_WATCH_FAILED:
		what = "not started";
		break;
	case LOCK_WATCH_LOST:
		what = "lost, reconnecting";
		break;
	default:
		return;
	}
	t = (time_t)w.since;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(fp, "<p class=\"%s\" id=\"watch\">The daemon's watch "
		    "([schedule] watch) is %s since %s: ",
		w.state == LOCK_WATCH_STOPPED ? "bad" : "warn", what, when);
	web_html_esc(fp, w.msg);
	fputs("; changes wait for the interval runs.</p>\n", fp);
}

int
web_page_index(FILE *fp, const char *state_path, const char *notice)
{
	struct state *st = NULL;
	struct err err;
	int code = 200;

	err_clear(&err);
	if (state_open(&st, state_path, true, &err) != 0) {
		code = page_error(fp, "dirsync runs", &err, 500);
		goto done;
	}
	web_html_head(fp, "dirsync runs");
	if (notice != NULL) {
		fputs("<p class=\"notice\" id=\"notice\">", fp);
		web_html_esc(fp, notice);
		fputs("</p>\n", fp);
	}
	unrecorded_banner(fp, st, state_path);
	watch_banner(fp, state_path);
	fputs("<form method=\"post\" action=\"/sync\">"
	      "<button type=\"submit\" id=\"sync-now\">Sync now</button> "
	      "asks the daemon for a run at once, as <code>dirsync sync "
	      "--now</code> does.</form>\n", fp);
	fprintf(fp, "<h2>Last runs</h2>\n<table id=\"runs\"><tr><th>Run</th>"
		    "<th>Started (UTC)</th><th>Took</th><th>Result</th>"
		    "<th>Exit</th><th>Added</th><th>Updated</th>"
		    "<th>Disabled</th><th>Deleted</th><th>Conflicts</th>"
		    "<th>Errors</th></tr>\n");
	if (state_history(st, PAGE_RUNS, on_row, fp, &err) != 0) {
		char buf[1400];

		fputs("</table><p class=\"bad\">", fp);
		web_html_esc(fp, err_fmt(&err, buf, sizeof(buf)));
		fputs("</p>\n", fp);
		code = 500;
	} else {
		fputs("</table>\n", fp);
	}
	fprintf(fp, "<p>The last %d runs of the state database ", PAGE_RUNS);
	web_html_esc(fp, state_path);
	fputs("; a run under way shows when it ends.</p>\n", fp);
	web_html_foot(fp);
done:
	state_close(st);
	return code;
}

/* The text of `dirsync show N`, as show prints it (report_print_text). */
static char *
run_text(const json_t *r, long long id)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&text, &len);

	if (mf == NULL)
		return NULL;
	fprintf(mf, "run %lld started %s, took %.2fs\n", id,
		json_string_value(json_object_get(r, "started")),
		json_real_value(json_object_get(r, "seconds")));
	report_print_text(r, NULL, mf, true);
	if (fclose(mf) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int
web_page_run(FILE *fp, const char *state_path, long long run_id)
{
	struct state *st = NULL;
	struct err err;
	char title[64], *js = NULL, *text = NULL;
	json_t *r = NULL;
	int code = 500, rc;

	snprintf(title, sizeof(title), "dirsync run %lld", run_id);
	err_clear(&err);
	if (state_open(&st, state_path, true, &err) != 0) {
		code = page_error(fp, title, &err, 500);
		goto done;
	}
	if ((rc = state_run_report(st, run_id, &js, &err)) != 0) {
		/* no such run: 404; the database failing: 500 */
		code = page_error(fp, title, &err, rc > 0 ? 404 : 500);
		goto done;
	}
	r = json_loads(js, 0, NULL);
	text = r != NULL ? run_text(r, run_id) : NULL;
	if (text == NULL) {
		err_set(&err, DS_E_STATE, "run %lld: the stored report is not "
			"JSON", run_id);
		code = page_error(fp, title, &err, 500);
		goto done;
	}
	web_html_head(fp, title);
	fputs("<pre id=\"report\">", fp);
	web_html_esc(fp, text);
	fputs("</pre>\n", fp);
	web_html_foot(fp);
	code = 200;
done:
	free(text);
	json_decref(r);
	free(js);
	state_close(st);
	return code;
}

int
web_page_config(FILE *fp, const char *dump)
{
	web_html_head(fp, "dirsync configuration");
	fputs("<p>The daemon's effective configuration, defaults included; "
	      "secrets are masked.</p>\n<pre id=\"config\">", fp);
	web_html_esc(fp, dump);
	fputs("</pre>\n", fp);
	web_html_foot(fp);
	return 200;
}

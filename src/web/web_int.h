/*
 * web_int.h - between the web server (web.c) and its pages (pages.c,
 * metrics.c).  Each page writes a whole response body to fp and returns an
 * HTTP status: 200, 404 (no such run) or 500 (state database unreadable;
 * the body then says why).
 */
#ifndef DS_WEB_INT_H
#define DS_WEB_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "util/lock.h"

/* The index page: the last runs, the "Sync now" form; notice may be NULL. */
int web_page_index(FILE *fp, const char *state_path, const char *notice);
/* One run's report, as `dirsync show` prints it. */
int web_page_run(FILE *fp, const char *state_path, long long run_id);
/* The effective configuration (conf_dump's text, secrets masked). */
int web_page_config(FILE *fp, const char *dump);
/* Prometheus metrics from the state database. */
int web_metrics(FILE *fp, const char *state_path);

/* s, HTML-escaped (& < > " '). */
void web_html_esc(FILE *fp, const char *s);
/* The page head and foot shared by the HTML pages. */
void web_html_head(FILE *fp, const char *title);
void web_html_foot(FILE *fp);

/* When a run ended, Unix seconds: started (UTC, "%Y-%m-%dT%H:%M:%SZ")
 * plus seconds; -1 when started does not parse. */
double web_run_ended(const char *started, double seconds);

/*
 * The lock file's note of a sync that failed and could not be recorded
 * (util/lock.h), when it is newer than newest_end (Unix seconds the
 * newest recorded run ended; 0: none): true and *n filled.
 */
bool web_unrecorded(const char *state_path, double newest_end,
		    struct lock_note *n);

#endif

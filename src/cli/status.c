/*
 * `dirsync status [--max-age D] [--nagios]`: the last run, its age and
 * its result, read from the state database.
 *
 * Exit codes as SPEC has them: 0 ok, 1 failed or stale (anything not OK
 * below), 2 usage or configuration error.  With --nagios, as a
 * Nagios/Icinga check following the Monitoring Plugins Development
 * Guidelines (https://www.monitoring-plugins.org/doc/guidelines.html):
 * the exit code is the state, 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, and
 * usage and configuration errors are UNKNOWN (3), since 2 would page
 * someone as CRITICAL for a typo in the check's definition.  Either way
 * one line on stdout, "DIRSYNC STATE: text | perfdata".
 *
 *   OK        the last run finished with exit 0 (changes or none)
 *   WARNING   the last run stopped at a safety limit (exit 3, nothing
 *             applied): it waits for an administrator
 *   CRITICAL  the last run failed (exit 1 or 2), or it ended longer ago
 *             than --max-age; a daemon waiting for a reload after
 *             invalid credentials is named with what to do
 *   UNKNOWN   no run recorded, state database or config unreadable,
 *             bad usage
 *
 * Runs still under way are not in the history (state_history) and so do
 * not count: the last *finished* run is judged.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "state/state.h"
#include "util/lock.h"
#include "util/log.h"

enum { ST_OK = 0, ST_WARNING = 1, ST_CRITICAL = 2, ST_UNKNOWN = 3 };

static const char *const st_names[] = {"OK", "WARNING", "CRITICAL",
				       "UNKNOWN"};

/* What the scan of the history keeps: the newest run and the newest
 * successful one (strings copied: the callback's are borrowed). */
struct status_scan {
	bool have_last, have_ok;
	struct run_row last, ok;
	char last_started[32], ok_started[32];
};

static int
status_on_run(void *ctx, const struct run_row *r)
{
	struct status_scan *s = ctx;

	if (!s->have_last) {
		s->have_last = true;
		s->last = *r;
		snprintf(s->last_started, sizeof(s->last_started), "%s",
			 r->started ? r->started : "");
		s->last.started = s->last_started;
		s->last.mode = NULL;
	}
	if (r->s.exit_code == 0) {
		s->have_ok = true;
		s->ok = *r;
		snprintf(s->ok_started, sizeof(s->ok_started), "%s",
			 r->started ? r->started : "");
		s->ok.started = s->ok_started;
		s->ok.mode = NULL;
		return 1; /* both found: stop */
	}
	return 0;
}

/* When a run ended, in Unix seconds: started ("%Y-%m-%dT%H:%M:%SZ",
 * UTC) plus its duration; -1 if started does not parse. */
static double
status_ended(const struct run_row *r)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = r->started ? strptime(r->started, "%Y-%m-%dT%H:%M:%SZ", &tm)
			 : NULL;
	if (end == NULL || *end != '\0')
		return -1;
	return (double)timegm(&tm) + r->s.seconds;
}

/* "42s", "5m", "3h 20m", "2d 4h": an age for people. */
static void
status_fmt_age(long secs, char *buf, size_t n)
{
	if (secs < 60)
		snprintf(buf, n, "%lds", secs);
	else if (secs < 3600)
		snprintf(buf, n, "%ldm", secs / 60);
	else if (secs < 86400)
		snprintf(buf, n, "%ldh %ldm", secs / 3600, secs % 3600 / 60);
	else
		snprintf(buf, n, "%ldd %ldh", secs / 86400,
			 secs % 86400 / 3600);
}

static const char *
status_result(const struct run_row *r)
{
	if (r->s.exit_code == 3)
		return "stopped by a safety limit, nothing applied";
	if (r->s.exit_code != 0)
		return "failed";
	if (r->s.forced)
		return "applied past a safety limit (--force-limits)";
	return r->s.applied ? "applied" : "no change";
}

static int status_unknown(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int
status_unknown(const char *fmt, ...)
{
	va_list ap;

	printf("DIRSYNC UNKNOWN: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return ST_UNKNOWN;
}

/* "; last success: run N, AGE ago" for a run that did not succeed. */
static void
status_last_ok(const struct status_scan *s, time_t now, char *buf, size_t n)
{
	double ended = s->have_ok ? status_ended(&s->ok) : -1;
	char ab[32];

	if (ended < 0) {
		snprintf(buf, n, "; no successful run kept in the history");
		return;
	}
	status_fmt_age(ended > (double)now ? 0 : (long)((double)now - ended),
		       ab, sizeof(ab));
	snprintf(buf, n, "; last success: run %lld, %s ago", s->ok.id, ab);
}

/*
 * note: appended to the text (e.g. a daemon paused after invalid
 * credentials, which makes no more runs: the last run stays the failed
 * one, and the reason is what an administrator must act on).
 */
static int
status_report(const struct status_scan *s, long max_age, time_t now,
	      const char *note)
{
	const struct run_row *r = &s->last;
	double ended = status_ended(r);
	bool stale;
	long age;
	char agebuf[32], maxbuf[64] = "", okbuf[96] = "", crit[32] = "";
	int state;

	if (ended < 0)
		return status_unknown("run %s has no readable start time",
				      r->started);
	/* a clock stepped back makes a run look new, never stale */
	age = ended > (double)now ? 0 : (long)((double)now - ended);
	stale = max_age > 0 && age > max_age;
	status_fmt_age(age, agebuf, sizeof(agebuf));
	if (r->s.exit_code == 0)
		state = ST_OK;
	else if (r->s.exit_code == 3)
		state = ST_WARNING;
	else
		state = ST_CRITICAL;
	if (stale) {
		char mb[32];

		state = ST_CRITICAL;
		status_fmt_age(max_age, mb, sizeof(mb));
		snprintf(maxbuf, sizeof(maxbuf), "; older than --max-age %s",
			 mb);
	}
	if (r->s.exit_code != 0)
		status_last_ok(s, now, okbuf, sizeof(okbuf));
	if (max_age > 0)
		snprintf(crit, sizeof(crit), ";;%ld", max_age);
	printf("DIRSYNC %s: last run %lld %s, %s ago (started %s, took "
	       "%.1fs, exit %d): +%ld ~%ld !%ld -%ld, %ld conflicts, "
	       "%ld errors%s%s%s | age=%lds%s seconds=%.3fs changes=%ld "
	       "conflicts=%ld errors=%ld\n",
	       st_names[state], r->id, status_result(r), agebuf, r->started,
	       r->s.seconds, r->s.exit_code, r->s.adds, r->s.updates,
	       r->s.disables, r->s.deletes, r->s.conflicts, r->s.errors,
	       maxbuf, okbuf, note, age, crit, r->s.seconds,
	       r->s.adds + r->s.updates + r->s.disables + r->s.deletes,
	       r->s.conflicts, r->s.errors);
	return state;
}

static const char status_usage[] =
	"usage: dirsync [-c FILE] status [--max-age D] [--nagios]";

/* The exit code: SPEC's (0 ok, 1 not ok, 2 usage), or the state itself
 * for a monitoring plugin. */
static int
status_exit(int state, bool nagios, bool usage)
{
	if (nagios)
		return state;
	if (usage)
		return 2;
	return state == ST_OK ? 0 : 1;
}

int
cmd_status(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"max-age", required_argument, NULL, 'a'},
		{"nagios", no_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	bool nagios = false;
	struct status_scan scan;
	struct state *st = NULL;
	struct conf c;
	struct err err;
	char buf[1400];
	long max_age = 0;
	int ch, rc;

	optind = 0;
	opterr = 0;
	for (ch = 1; ch < argc; ch++)   /* before any message is judged */
		if (strcmp(argv[ch], "--nagios") == 0)
			nagios = true;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'n')
			continue;
		if (ch == 'a' && conf_parse_duration(optarg, &max_age) == 0 &&
		    max_age > 0)
			continue;
		if (ch == 'a')
			return status_exit(
				status_unknown("--max-age wants a duration "
					       "like 15m, 2h or 1d, not '%s'",
					       optarg),
				nagios, true);
		return status_exit(status_unknown("%s", status_usage), nagios,
				   true);
	}
	if (optind < argc)
		return status_exit(status_unknown("%s", status_usage), nagios,
				   true);
	err_clear(&err);
	if (conf_load(&c, g->conf_path, &err) != 0) {
		conf_free(&c);
		return status_exit(status_unknown("%s", err_fmt(&err, buf,
								sizeof(buf))),
				   nagios, true);
	}
	memset(&scan, 0, sizeof(scan));
	if (state_open(&st, c.state.path, true, &err) != 0 ||
	    state_history(st, 0, status_on_run, &scan, &err) != 0) {
		rc = status_unknown("%s", err_fmt(&err, buf, sizeof(buf)));
	} else if (!scan.have_last) {
		rc = status_unknown("no run recorded yet in %s", c.state.path);
	} else {
		bool is_daemon, paused;
		pid_t pid = lock_holder_info(c.state.path, &is_daemon, &paused);
		char note[256] = "";

		if (pid > 0 && paused)
			snprintf(note, sizeof(note),
				 "; the daemon (pid %ld) stopped binding after "
				 "invalid credentials: fix the password, then "
				 "reload it (systemctl reload dirsync or kill "
				 "-HUP %ld)",
				 (long)pid, (long)pid);
		rc = status_report(&scan, max_age, time(NULL), note);
	}
	state_close(st);
	conf_free(&c);
	return status_exit(rc, nagios, false);
}

/*
 * metrics.c - GET /metrics: the state database in the Prometheus text
 * exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Every value is a gauge about the last finished run or the runs the state
 * database keeps ([state] keep_runs): runs are pruned, so no counter could
 * stay monotonic across a restart or a prune.  Families with nothing to
 * say (no run yet, no successful run) are left out rather than faked.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state/outcome.h"
#include "state/state.h"
#include "web/web_int.h"

/* The change ops and object kinds of the JSON report (dirsync(8)); each
 * combination is exported, 0 when absent, so a series never vanishes. */
static const char *const m_ops[] = {"add", "update", "disable", "delete"};
static const char *const m_kinds[] = {"mailbox", "alias", "list",
				      "contact", "domain", "password"};
#define M_NOPS (sizeof(m_ops) / sizeof(m_ops[0]))
#define M_NKINDS (sizeof(m_kinds) / sizeof(m_kinds[0]))

struct m_scan {
	bool have_last, have_ok;
	struct run_row last;
	char last_started[32];
	double ok_ended;
	long runs[RUN_OUTCOMES];
};

static int
m_on_run(void *ctx, const struct run_row *r)
{
	struct m_scan *m = ctx;

	m->runs[run_outcome(&r->s)]++;
	/* a run a signal stopped (the daemon stopped mid-run) is counted,
	 * not the last run: `dirsync status` judges the one before too */
	if (r->s.interrupted)
		return 0;
	if (!m->have_last) {
		m->have_last = true;
		m->last = *r;
		snprintf(m->last_started, sizeof(m->last_started), "%s",
			 r->started ? r->started : "");
		m->last.started = m->last_started;
		m->last.mode = NULL;
	}
	if (r->s.exit_code == 0 && !m->have_ok) {
		m->ok_ended = web_run_ended(r->started, r->s.seconds);
		m->have_ok = m->ok_ended >= 0;
	}
	return 0;
}

static void
m_family(FILE *fp, const char *name, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void
m_gauge(FILE *fp, const char *name, const char *help, double v)
{
	m_family(fp, name, help);
	fprintf(fp, "%s %.17g\n", name, v);
}

static long long
m_jint(const json_t *o, const char *k1, const char *k2)
{
	const json_t *v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static int
m_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* Changes by op and kind, conflicts by kind, from the run's report. */
static void
m_report(FILE *fp, const json_t *r)
{
	long long ch[M_NOPS][M_NKINDS], other = 0, conflicts = 0;
	const json_t *v;
	size_t i, j;

	memset(ch, 0, sizeof(ch));
	json_array_foreach(json_object_get(r, "changes"), i, v) {
		int o = m_index(m_ops, M_NOPS,
				json_string_value(json_object_get(v, "op")));
		int k = m_index(m_kinds, M_NKINDS,
				json_string_value(json_object_get(v, "kind")));

		if (o >= 0 && k >= 0)
			ch[o][k]++;
		else
			other++;
	}
	m_gauge(fp, "dirsync_last_run_entries_read",
		"Directory entries the last run read.",
		(double)m_jint(r, "source", "read"));
	m_gauge(fp, "dirsync_last_run_entries_in_scope",
		"Directory entries of the last run in scope.",
		(double)m_jint(r, "source", "in_scope"));
	m_family(fp, "dirsync_last_run_changes",
		 "Changes in the last run's plan by op and object kind "
		 "(applied only if dirsync_last_run_applied is 1).");
	for (i = 0; i < M_NOPS; i++)
		for (j = 0; j < M_NKINDS; j++)
			fprintf(fp,
				"dirsync_last_run_changes{op=\"%s\",kind=\"%s\"}"
				" %lld\n",
				m_ops[i], m_kinds[j], ch[i][j]);
	if (other > 0)
		fprintf(fp, "dirsync_last_run_changes{op=\"other\","
			    "kind=\"other\"} %lld\n", other);
	/* every conflict in the report is an address claimed by several
	 * directory objects; the label leaves room for other kinds */
	conflicts = (long long)json_array_size(json_object_get(r, "conflicts"));
	m_family(fp, "dirsync_last_run_conflicts",
		 "Conflicts in the last run by kind (address: an address "
		 "claimed by several directory objects, given to none).");
	fprintf(fp, "dirsync_last_run_conflicts{kind=\"address\"} %lld\n",
		conflicts);
}

static void
m_runs(FILE *fp, const struct m_scan *m)
{
	const struct run_row *r = &m->last;
	double ended = web_run_ended(r->started, r->s.seconds);
	size_t i;

	m_gauge(fp, "dirsync_last_run_id", "Id of the last finished run.",
		(double)r->id);
	if (ended >= 0)
		m_gauge(fp, "dirsync_last_run_timestamp_seconds",
			"When the last finished run ended (Unix time).",
			ended);
	m_gauge(fp, "dirsync_last_run_duration_seconds",
		"How long the last finished run took.", r->s.seconds);
	m_gauge(fp, "dirsync_last_run_exit_code",
		"Exit code of the last run (0 done, 1 failed, 2 config, "
		"3 limit stop).",
		r->s.exit_code);
	m_gauge(fp, "dirsync_last_run_applied",
		"1 if the last run applied its changes.", r->s.applied);
	m_gauge(fp, "dirsync_last_run_forced",
		"1 if the last run was applied past a safety limit "
		"(--force-limits).",
		r->s.forced);
	m_gauge(fp, "dirsync_last_run_limit_stop",
		"1 if a safety limit stopped the last run (nothing applied).",
		r->s.exit_code == 3);
	m_gauge(fp, "dirsync_last_run_errors",
		"Errors (objects not applied, or the run's failure) in the "
		"last run.",
		(double)r->s.errors);
	if (m->have_ok)
		m_gauge(fp, "dirsync_last_success_timestamp_seconds",
			"When the last run that ended with exit 0 ended (Unix "
			"time).",
			m->ok_ended);
	m_family(fp, "dirsync_recorded_runs",
		 "Runs kept in the state database ([state] keep_runs) by "
		 "result.");
	for (i = 0; i < RUN_OUTCOMES; i++)
		fprintf(fp, "dirsync_recorded_runs{result=\"%s\"} %ld\n",
			run_outcome_label((enum run_outcome)i), m->runs[i]);
}

/* A sync that failed and could not be recorded (util/lock.h): not in
 * the runs above, so said apart; always exported, 0 when there is none. */
static void
m_unrecorded(FILE *fp, const char *state_path, const struct m_scan *m)
{
	double newest = m->have_last ? web_run_ended(m->last.started,
						     m->last.s.seconds)
				     : 0;
	struct lock_note n;
	bool have = web_unrecorded(state_path, newest > 0 ? newest : 0, &n);

	m_gauge(fp, "dirsync_last_attempt_unrecorded",
		"1: the last sync attempt failed and could not be recorded in "
		"the state database (dirsync status names it); the "
		"dirsync_last_run_* series are about the run before it.",
		have);
	if (have)
		m_gauge(fp, "dirsync_last_attempt_unrecorded_timestamp_seconds",
			"When that attempt ended (Unix time).", n.when);
}

/*
 * The daemon's watch ([schedule] watch = yes), as it wrote it into the
 * lock file: one series per state, 1 for the one it is in, and since
 * when; left out when no daemon watches (watch = no, no daemon, paused).
 */
static void
m_watch(FILE *fp, const char *state_path)
{
	struct lock_watch w;
	int i;

	if (!lock_watch_current(state_path, &w))
		return;
	m_family(fp, "dirsync_watch_state",
		 "The daemon's watch ([schedule] watch): 1 for the state it "
		 "is in (stopped: after invalid credentials, until a reload; "
		 "refused: the server cannot be watched; lost: reconnecting).");
	for (i = LOCK_WATCH_STARTING; i < LOCK_WATCH_STATES; i++)
		fprintf(fp, "dirsync_watch_state{state=\"%s\"} %d\n",
			lock_watch_word((enum lock_watch_state)i),
			(int)w.state == i);
	m_gauge(fp, "dirsync_watch_state_since_timestamp_seconds",
		"Since when the watch is in that state (Unix time).", w.since);
}

int
web_metrics(FILE *fp, const char *state_path)
{
	struct state *st = NULL;
	struct m_scan m;
	struct err err;
	char buf[1400], *js = NULL;
	json_t *r = NULL;
	int code = 500;

	memset(&m, 0, sizeof(m));
	err_clear(&err);
	if (state_open(&st, state_path, true, &err) != 0 ||
	    state_history(st, 0, m_on_run, &m, &err) != 0) {
		fprintf(fp, "# %s\n", err_fmt(&err, buf, sizeof(buf)));
		goto done;
	}
	code = 200;
	m_gauge(fp, "dirsync_state_readable",
		"1: the state database was read for these metrics.", 1);
	m_unrecorded(fp, state_path, &m);
	m_watch(fp, state_path);
	if (!m.have_last)
		goto done;
	m_runs(fp, &m);
	if (state_run_report(st, m.last.id, &js, &err) == 0)
		r = json_loads(js, 0, NULL);
	if (r != NULL)
		m_report(fp, r);
done:
	json_decref(r);
	free(js);
	state_close(st);
	return code;
}

double
web_run_ended(const char *started, double seconds)
{
	struct tm tm;
	const char *end;

	if (started == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(started, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	return (double)timegm(&tm) + seconds;
}

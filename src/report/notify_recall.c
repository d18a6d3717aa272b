/*
 * notify_recall.c - a limit stop mailed once, reminded daily, and its end
 * mailed: see notify_recall.h.
 *
 * A reminder is due when the current run is in a later day of the stop
 * than the run before it, counting days from the stop's first run:
 * with runs every 5 minutes that is one mail at the start and one about
 * every 24 hours after it.
 */
#include "report/notify_recall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state/state.h"
#include "util/log.h"

struct recall_scan {
	long long run_id;        /* the run being mailed */
	bool have_prev;
	struct run_row prev;     /* the run before it (started: copied) */
	char prev_started[32];
	long long first_id;      /* the stop's first run, so far */
	char first_started[32];
};

static int
recall_on_run(void *ctx, const struct run_row *r)
{
	struct recall_scan *s = ctx;

	if (r->id >= s->run_id)
		return 0; /* this run, or a later one */
	if (!s->have_prev) {
		s->have_prev = true;
		s->prev = *r;
		snprintf(s->prev_started, sizeof(s->prev_started), "%s",
			 r->started ? r->started : "");
		s->prev.started = s->prev_started;
		s->prev.mode = NULL;
	}
	if (r->s.exit_code != 3)
		return 1;
	s->first_id = r->id;
	snprintf(s->first_started, sizeof(s->first_started), "%s",
		 r->started ? r->started : "");
	return 0;
}

static time_t
recall_time(const char *iso)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	return end != NULL && *end == '\0' ? timegm(&tm) : (time_t)-1;
}

static const char *
recall_limit(const json_t *report)
{
	return json_string_value(json_object_get(
		json_object_get(report, "limit_exceeded"), "limit"));
}

/* Whether the run before stopped at the same limit as report. */
static bool
recall_same_limit(struct state *st, long long prev_id, const json_t *report)
{
	const char *now = recall_limit(report), *then;
	struct err err;
	char *js = NULL;
	json_t *prev;
	bool same = false;

	err_clear(&err);
	if (now == NULL || state_run_report(st, prev_id, &js, &err) != 0)
		return false;
	prev = json_loads(js, 0, NULL);
	then = recall_limit(prev);
	same = then != NULL && strcmp(then, now) == 0;
	json_decref(prev);
	free(js);
	return same;
}

static enum notify_recall_kind
recall_stop(struct state *st, const struct recall_scan *s,
	    const json_t *report)
{
	time_t first = recall_time(s->first_started);
	time_t prev = recall_time(s->prev_started);
	time_t now = recall_time(
		json_string_value(json_object_get(report, "started")));

	if (!recall_same_limit(st, s->prev.id, report))
		return NR_NONE;
	if (first == (time_t)-1 || prev == (time_t)-1 || now == (time_t)-1)
		return NR_NONE;
	if ((now - first) / 86400 > (prev - first) / 86400)
		return NR_REMINDER;
	return NR_REPEAT;
}

void
notify_recall(const struct conf *c, const json_t *report, int exit_code,
	      struct notify_recall *out)
{
	json_t *id = json_object_get(report, "run_id");
	struct recall_scan s;
	struct state *st = NULL;
	struct err err;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.run_id = json_is_integer(id) ? (long long)json_integer_value(id) : 0;
	if (s.run_id <= 0 || (exit_code != 0 && exit_code != 3))
		return;
	err_clear(&err);
	if (state_open(&st, c->state.path, true, &err) != 0 ||
	    state_history(st, 0, recall_on_run, &s, &err) != 0) {
		char buf[1400];

		log_debug("notify: history not read: %s",
			  err_fmt(&err, buf, sizeof(buf)));
		goto done;
	}
	if (!s.have_prev || s.prev.s.exit_code != 3)
		goto done;
	if (exit_code == 0)
		out->kind = NR_RECOVERED;
	else
		out->kind = recall_stop(st, &s, report);
	out->since_run = s.first_id;
	snprintf(out->since, sizeof(out->since), "%s", s.first_started);
done:
	state_close(st);
}

/* `dirsync history` and `dirsync show RUN_ID`. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "report/report.h"
#include "state/outcome.h"
#include "state/state.h"
#include "util/lock.h"
#include "util/log.h"

struct hist {
	bool json;
	json_t *arr;
	double newest_end;   /* Unix seconds; 0: no run listed yet */
};

static int
on_run(void *ctx, const struct run_row *r)
{
	struct hist *h = ctx;
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (h->newest_end == 0 && r->started != NULL &&
	    strptime(r->started, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL)
		h->newest_end = (double)timegm(&tm) + r->s.seconds;

	if (h->json) {
		json_t *o = json_pack(
			"{s:I, s:s, s:s, s:f, s:i, s:b, s:{s:I, s:I, s:I, "
			"s:I, s:I, s:I}}",
			"run_id", (json_int_t)r->id, "started",
			r->started ? r->started : "", "mode",
			r->mode ? r->mode : "", "seconds", r->s.seconds,
			"exit_code", r->s.exit_code, "applied", r->s.applied,
			"summary", "add", (json_int_t)r->s.adds, "update",
			(json_int_t)r->s.updates, "disable",
			(json_int_t)r->s.disables, "delete",
			(json_int_t)r->s.deletes, "conflict",
			(json_int_t)r->s.conflicts, "error",
			(json_int_t)r->s.errors);
		json_object_set_new(o, "forced", json_boolean(r->s.forced));
		/* summary is the run's plan: how much of it went in, and the
		 * result as the text list words it (both added later) */
		json_object_set_new(o, "summary_applied",
				    json_string(run_counts_applied_word(
					    run_counts_applied(&r->s))));
		json_object_set_new(o, "result",
				    json_string(run_outcome_word(
					    run_outcome(&r->s))));
		if (r->s.interrupted)
			json_object_set_new(o, "interrupted", json_true());
		if (r->read_mode != NULL) {
			/* as in the report: "read" is the mode */
			json_object_set_new(o, "read",
					    json_string(r->read_mode));
			json_object_set_new(o, "read_entries",
					    json_integer(r->read_entries));
			json_object_set_new(o, "read_deleted",
					    json_integer(r->read_deleted));
		}
		json_object_set_new(o, "fast_path",
				    json_boolean(r->s.fast_path));
		if (r->trigger != NULL)
			json_object_set_new(o, "trigger",
					    json_string(r->trigger));
		json_array_append_new(h->arr, o);
		return 0;
	}
	printf("%6lld  %-20s %7.2fs  exit %d  %-11s +%ld ~%ld !%ld -%ld%s"
	       "  conflicts %ld  errors %ld",
	       r->id, r->started ? r->started : "", r->s.seconds,
	       r->s.exit_code,
	       run_outcome_word(run_outcome(&r->s)),
	       r->s.adds, r->s.updates, r->s.disables, r->s.deletes,
	       run_counts_note(&r->s), r->s.conflicts, r->s.errors);
	if (r->read_done == 0 && r->read_entries > 0)
		printf("  read %lld, unfinished", r->read_entries);
	else if (r->read_done == 0)
		fputs("  nothing read", stdout);
	else if (r->read_skipped && r->read_entries == 0 &&
		 r->read_mode != NULL && strcmp(r->read_mode, "full") == 0)
		fputs("  read none (unchanged)", stdout);
	else if (r->read_mode != NULL)
		printf("  read %s %lld", r->read_mode, r->read_entries);
	if (r->read_done != 0 && r->read_deleted > 0)
		printf(" (%lld deleted)", r->read_deleted);
	if (r->s.fast_path)
		fputs("  fast path", stdout);
	/* a daemon run a directory change started (watch mode) */
	if (r->trigger != NULL && strcmp(r->trigger, "watch") == 0)
		fputs("  watch", stdout);
	putchar('\n');
	return 0;
}

/*
 * A sync that failed and could not be written here leaves a note in the
 * lock file (util/lock.h): said on stderr, so that the list (text or
 * JSON, unchanged) is not taken for the whole story.
 */
static void
warn_unrecorded(const char *state_path, double newest_end)
{
	struct lock_note note;
	struct err err;
	time_t t;
	char when[32];

	err_clear(&err);
	if (lock_note_read(state_path, &note, &err) != LOCK_NOTE_FOUND ||
	    note.when <= newest_end)
		return;
	t = (time_t)note.when;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	log_warn("the last sync attempt, ended %s (exit %d), failed and is "
		 "not in this history (the state database could not record "
		 "it): %s",
		 when, note.exit_code, note.msg);
}

static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
cmd_history(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct hist h = {false, NULL, 0};
	struct state *st = NULL;
	struct conf c;
	struct err err;
	char buf[1400];
	long n = 20;
	int ch, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (ch == 'j') {
			h.json = true;
		} else if (ch == 'n') {
			if (parse_long(optarg, 1, 1000000, &n) != 0) {
				log_err("history: -n wants a number from 1 "
					"to 1000000, not '%s'", optarg);
				return 2;
			}
		} else {
			log_err("history: unknown option '%s'",
				argv[optind - 1]);
			return 2;
		}
	}
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	err_clear(&err);
	if (state_open(&st, c.state.path, true, &err) != 0) {
		log_err("%s", err_fmt(&err, buf, sizeof(buf)));
		warn_unrecorded(c.state.path, 0);
		conf_free(&c);
		return 1;
	}
	if (h.json)
		h.arr = json_array();
	else
		printf("%6s  %-20s %8s  %-6s  %-11s %s\n", "run", "started (UTC)",
		       "took", "exit", "result",
		       "+add ~update !disable -delete");
	rc = state_history(st, n, on_run, &h, &err) == 0 ? 0 : 1;
	if (rc != 0)
		log_err("%s", err_fmt(&err, buf, sizeof(buf)));
	warn_unrecorded(c.state.path, h.newest_end);
	if (h.json) {
		json_dumpf(h.arr, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(h.arr);
	}
	state_close(st);
	conf_free(&c);
	return rc;
}

int
cmd_show(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct state *st = NULL;
	struct conf c;
	struct err err;
	json_error_t jerr;
	json_t *r;
	char buf[1400], *js = NULL;
	bool json = false;
	long id;
	int ch, rc = 1, got = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j') {
			log_err("show: unknown option '%s'", argv[optind - 1]);
			return 2;
		}
		json = true;
	}
	if (optind != argc - 1 ||
	    parse_long(argv[optind], 1, 0x7fffffffL, &id) != 0) {
		log_err("show: usage: dirsync show RUN_ID [--json]");
		return 2;
	}
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	err_clear(&err);
	rc = 1;
	if (state_open(&st, c.state.path, true, &err) != 0 ||
	    (got = state_run_report(st, id, &js, &err)) != 0) {
		/* a run id that names no run: the argument is wrong, as
		 * `approve` of one says (exit 2) */
		if (got > 0)
			rc = 2;
		log_err("show: %s", err_fmt(&err, buf, sizeof(buf)));
		goto done;
	}
	r = json_loads(js, 0, &jerr);
	if (r == NULL) {
		log_err("show: run %ld: stored report is not JSON: %s", id,
			jerr.text);
		goto done;
	}
	if (json) {
		json_dumpf(r, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(r);
		rc = 0;
		goto done;
	}
	printf("run %ld started %s, took %.2fs\n", id,
	       json_string_value(json_object_get(r, "started")),
	       json_real_value(json_object_get(r, "seconds")));
	report_print_text(r, NULL, stdout, true);
	json_decref(r);
	rc = 0;
done:
	free(js);
	state_close(st);
	conf_free(&c);
	return rc;
}

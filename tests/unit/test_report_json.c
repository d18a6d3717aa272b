/*
 * report_print_json(): the changes rendered ahead on a thread while the
 * plan is applied (report_render_start) print exactly as the changes
 * rendered while printing, big list changes (past the 2 KiB line
 * buffer) included; a small plan gets no thread.  report_build() takes
 * the render's change objects, and the history's record spliced from its
 * text is the report, queued passwords first, cut at the changes kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "report/report.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* A plan of n changes of every op, every 100th a list of 300 members. */
static void
make_plan(struct plan *p, size_t n, char ***strs, size_t *nstrs)
{
	size_t i, j;

	plan_init(p);
	p->v = xcalloc(n, sizeof(*p->v));
	p->n = p->cap = n;
	*strs = xcalloc(2 * n, sizeof(**strs));
	*nstrs = 0;
	for (i = 0; i < n; i++) {
		struct change *ch = &p->v[i];
		char *addr = xasprintf("user%05zu@example.com", i);

		(*strs)[(*nstrs)++] = addr;
		ch->address = addr;
		ch->anchor = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
		ch->name = "Name \"quoted\" \xc3\xa9";
		ch->kind = MK_MAILBOX;
		switch (i % 4) {
		case 0:
			ch->op = OP_ADD;
			break;
		case 1:
			ch->op = OP_UPDATE;
			ch->fields = CH_NAME;
			ch->old_name = "Old Name";
			break;
		case 2:
			ch->op = OP_DISABLE;
			ch->why = WHY_GONE;
			break;
		default:
			ch->op = OP_UPDATE;
			ch->fields = CH_ACTIVE;
			break;
		}
		if (i % 100 == 50) {
			struct buf b = BUF_INIT;

			for (j = 0; j < 300; j++)
				buf_printf(&b, "%smember%03zu@example.com",
					   j ? "," : "", j);
			ch->kind = MK_LIST;
			ch->op = OP_UPDATE;
			ch->fields = CH_GOTO;
			ch->gotos = (*strs)[(*nstrs)++] = buf_steal(&b);
			ch->old_gotos = "member000@example.com";
		}
	}
}

static void
free_plan(struct plan *p, char **strs, size_t nstrs)
{
	size_t i;

	for (i = 0; i < nstrs; i++)
		free(strs[i]);
	free(strs);
	plan_free(p);
}

/* report_print_json's output into a malloc'd string. */
static char *
printed(const json_t *r, const struct plan *p, struct report_render *rr)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	report_print_json(r, p, rr, fp);
	fclose(fp);
	return text;
}

static void
test_ahead_prints_the_same(void **state)
{
	struct plan p;
	char **strs, *inline_text, *ahead_text;
	size_t nstrs;
	json_t *r = json_pack("{s:s, s:[], s:i}", "mode", "sync", "changes",
			      "run_id", 7);
	struct report_render *rr;
	json_error_t e;
	json_t *back;

	(void)state;
	make_plan(&p, 2500, &strs, &nstrs);
	inline_text = printed(r, &p, NULL);
	rr = report_render_start(&p);
	assert_non_null(rr);
	ahead_text = printed(r, &p, rr);
	assert_string_equal(inline_text, ahead_text);
	/* printed twice from the same render: the text is kept */
	free(ahead_text);
	ahead_text = printed(r, &p, rr);
	assert_string_equal(inline_text, ahead_text);
	/* and it is SPEC's JSON with every change */
	back = json_loads(ahead_text, 0, &e);
	assert_non_null(back);
	assert_int_equal(json_array_size(json_object_get(back, "changes")),
			 2500);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(back, "changes"), 50),
		"kind")), "list");
	json_decref(back);
	report_render_free(rr);
	free(inline_text);
	free(ahead_text);
	free_plan(&p, strs, nstrs);
	json_decref(r);
}

static void
test_small_plan_no_thread(void **state)
{
	struct plan p;
	char **strs;
	size_t nstrs;

	(void)state;
	make_plan(&p, 10, &strs, &nstrs);
	assert_null(report_render_start(&p));
	report_render_free(NULL);
	free_plan(&p, strs, nstrs);
}

/* A plan past the cap prints as it renders: its text is not held. */
static void
test_huge_plan_not_held(void **state)
{
	struct plan p;
	char **strs;
	size_t nstrs;
	struct report_render *rr;

	(void)state;
	make_plan(&p, REPORT_RENDER_AHEAD_MAX, &strs, &nstrs);
	rr = report_render_start(&p);
	assert_non_null(rr);
	report_render_free(rr);
	free_plan(&p, strs, nstrs);
	make_plan(&p, REPORT_RENDER_AHEAD_MAX + 1, &strs, &nstrs);
	assert_null(report_render_start(&p));
	free_plan(&p, strs, nstrs);
}

/* A render of another plan is not used: the plan given prints. */
static void
test_other_plan_ignored(void **state)
{
	struct plan a, b;
	char **sa, **sb, *want, *got;
	size_t na, nb;
	json_t *r = json_pack("{s:[]}", "changes");
	struct report_render *rr;

	(void)state;
	make_plan(&a, 1200, &sa, &na);
	make_plan(&b, 1300, &sb, &nb);
	rr = report_render_start(&a);
	want = printed(r, &b, NULL);
	got = printed(r, &b, rr);
	assert_string_equal(want, got);
	report_render_free(rr);
	free(want);
	free(got);
	free_plan(&a, sa, na);
	free_plan(&b, sb, nb);
	json_decref(r);
}


/* The report and its history record, from a render and without one. */
static void
test_record_from_render(void **state)
{
	struct engine_password pw[2] = {
		{"alice@example.com", "alice", "a1"},
		{"bob@example.com", "bob", "b2"},
	};
	size_t max[] = {2000, 3000, 0};
	struct run_result r;
	struct report_render *rr;
	json_t *built, *back, *plain;
	json_error_t e;
	char **strs, *rec;
	size_t nstrs, k, j;

	(void)state;
	for (k = 0; k < sizeof(max) / sizeof(max[0]); k++) {
		memset(&r, 0, sizeof(r));
		r.mode = "sync";
		snprintf(r.started, sizeof(r.started), "2026-12-03T00:00:00Z");
		r.have_plan = true;
		r.passwords = pw;
		r.npasswords = k == 1 ? 0 : 2;
		make_plan(&r.plan, 2500, &strs, &nstrs);
		plain = report_build(&r, max[k]);
		rr = report_render_start(&r.plan);
		assert_non_null(rr);
		r.render = rr;
		built = report_build(&r, max[k]);
		/* the render's objects make the same report, and again (a
		 * run whose history row failed builds it twice) */
		assert_true(json_equal(built, plain));
		back = report_build(&r, max[k]);
		assert_true(json_equal(back, plain));
		json_decref(back);
		assert_int_equal(json_array_size(json_object_get(built,
								 "changes")),
				 r.npasswords + (max[k] < 2500 ? max[k] : 2500));
		/* the record from the render's text, and without it */
		for (j = 0; j < 2; j++) {
			rec = report_dump_record(built, &r.plan,
						 j == 0 ? rr : NULL);
			back = json_loads(rec, 0, &e);
			assert_non_null(back);
			assert_true(json_equal(back, built));
			free(rec);
			json_decref(back);
		}
		json_decref(built);
		json_decref(plain);
		report_render_free(rr);
		free_plan(&r.plan, strs, nstrs);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ahead_prints_the_same),
		cmocka_unit_test(test_small_plan_no_thread),
		cmocka_unit_test(test_huge_plan_not_held),
		cmocka_unit_test(test_other_plan_ignored),
		cmocka_unit_test(test_record_from_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * report_plan_diff(): what `dirsync approve` says changed between the
 * kept plan and the plan now, one short line per change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/report.h"
#include "util/xalloc.h"

/* Plan texts are sorted lines of compact JSON, keys sorted. */
#define DISABLE(a)                                                        \
	"{\"address\":\"" a "\",\"anchor\":\"x-" a "\",\"fields\":"       \
	"{\"active\":false},\"kind\":\"mailbox\",\"op\":\"disable\"}\n"
#define LIST(a, from, to)                                                 \
	"{\"address\":\"" a "\",\"anchor\":\"l\",\"fields\":{\"goto\":\"" \
	to "\"},\"kind\":\"list\",\"old\":{\"goto\":\"" from "\"},"       \
	"\"op\":\"update\"}\n"

/* The line of `text` that starts with `prefix`, or NULL. */
static const char *
line_with(const char *text, const char *prefix)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return p;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NULL;
}

static size_t
longest_line(const char *text)
{
	size_t best = 0, n;

	while (*text != '\0') {
		n = strcspn(text, "\n");
		best = n > best ? n : best;
		text += n + (text[n] == '\n');
	}
	return best;
}

static void
test_equal(void **state)
{
	(void)state;
	assert_null(report_plan_diff(DISABLE("a@example.com"),
				     DISABLE("a@example.com"), 20));
	assert_null(report_plan_diff("", "", 20));
}

/* a big list update: members as +a -b, a few and a count; the new
 * disable first although "zed" sorts after "big" */
static void
test_big_list_and_new_disable(void **state)
{
	char *was, *now, *d;
	size_t i, cap;
	char *old_goto, *goto_was, *goto_now;

	(void)state;
	cap = 3000 * 24;
	old_goto = xcalloc(1, cap);
	goto_was = xcalloc(1, cap);
	goto_now = xcalloc(1, cap);
	for (i = 0; i < 3000; i++) {
		char a[32];

		snprintf(a, sizeof(a), "%su%04zu@example.com",
			 i == 0 ? "" : ",", i);
		strcat(old_goto, a);
		if (i >= 10)
			strcat(goto_was, a + (i == 10));
		if (i >= 11)
			strcat(goto_now, a + (i == 11));
	}
	was = xasprintf("{\"address\":\"big@example.com\",\"anchor\":\"l\","
			"\"fields\":{\"goto\":\"%s\"},\"kind\":\"list\","
			"\"old\":{\"goto\":\"%s\"},\"op\":\"update\"}\n",
			goto_was, old_goto);
	now = xasprintf("{\"address\":\"big@example.com\",\"anchor\":\"l\","
			"\"fields\":{\"goto\":\"%s\"},\"kind\":\"list\","
			"\"old\":{\"goto\":\"%s\"},\"op\":\"update\"}\n"
			DISABLE("zed@example.com"),
			goto_now, old_goto);
	d = report_plan_diff(was, now, 20);
	assert_non_null(d);
	assert_true(strncmp(d, "+ disable mailbox  zed@example.com", 34) == 0);
	assert_non_null(line_with(d, "- update  list     big@example.com "
				     "members -u0000@example.com"));
	assert_non_null(strstr(d, "(and 5 more removed)"));
	assert_non_null(strstr(d, "(and 6 more removed)"));
	assert_non_null(line_with(d, "~ big@example.com now, against the "
				     "approved plan: members "
				     "-u0010@example.com\n"));
	assert_true(longest_line(d) < 300);
	free(d);
	free(was);
	free(now);
	free(old_goto);
	free(goto_was);
	free(goto_now);
}

/* more than max changes: the rest counted */
static void
test_max(void **state)
{
	char *d;

	(void)state;
	d = report_plan_diff("", DISABLE("a@example.com")
			     DISABLE("b@example.com") DISABLE("c@example.com"),
			     2);
	assert_non_null(d);
	assert_non_null(line_with(d, "+ disable mailbox  a@example.com"));
	assert_non_null(line_with(d, "+ disable mailbox  b@example.com"));
	assert_null(strstr(d, "c@example.com"));
	assert_non_null(line_with(d, "... and 1 more\n"));
	free(d);
}

/* a line that is not a change (a kept text from elsewhere) is shown as
 * it is, a long one cut */
static void
test_not_json(void **state)
{
	char long_line[1001], *kept, *d;

	(void)state;
	memset(long_line, 'x', 1000);
	long_line[1000] = '\0';
	kept = xasprintf("%s\n", long_line);
	d = report_plan_diff(kept, "short\n", 20);
	assert_non_null(d);
	assert_non_null(line_with(d, "+ short\n"));
	assert_non_null(strstr(d, "... (1000 bytes)"));
	assert_true(longest_line(d) < 320);
	free(d);
	free(kept);
}

/* both sides changed the same small list: both lines, then the ~ line */
static void
test_small_list(void **state)
{
	char *d;

	(void)state;
	d = report_plan_diff(LIST("l@example.com", "a@x,b@x", "a@x,c@x"),
			     LIST("l@example.com", "a@x,b@x", "a@x,d@x"), 20);
	assert_non_null(d);
	assert_string_equal(
		d, "- update  list     l@example.com members -b@x +c@x\n"
		   "+ update  list     l@example.com members -b@x +d@x\n"
		   "~ l@example.com now, against the approved plan: members "
		   "-c@x +d@x\n");
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_big_list_and_new_disable),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_small_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

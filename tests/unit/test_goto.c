/*
 * test_goto.c - walking a goto (model/mail.h): goto_next() yields each
 * comma-separated item as written, empty ones included, with no trailing
 * empty item; goto_next_addr() copies the non-empty ones and passes over
 * one too long for the buffer whole, never cut into another address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/mail.h"
#include "util/buf.h"

/* The items goto_next() yields for g, each as [item]. */
static char *
items(const char *g)
{
	struct buf b = BUF_INIT;
	const char *c = g, *v;
	size_t len = 99;

	while ((v = goto_next(&c, &len)) != NULL) {
		buf_addc(&b, '[');
		buf_add(&b, v, len);
		buf_addc(&b, ']');
	}
	assert_true(c == NULL || *c == '\0');
	return buf_steal(&b);
}

static void
check_items(const char *g, const char *want)
{
	char *got = items(g);

	assert_string_equal(got, want);
	free(got);
}

static void
test_next(void **state)
{
	check_items(NULL, "");
	check_items("", "");
	check_items("a@x", "[a@x]");
	check_items("a@x,b@y", "[a@x][b@y]");
	/* empty items are yielded; a trailing comma adds none */
	check_items(",a", "[][a]");
	check_items("a,,b", "[a][][b]");
	check_items("a,", "[a]");
	check_items(",", "[]");
	check_items(",,", "[][]");
	/* blanks are part of the item */
	check_items("a, b ,c", "[a][ b ][c]");
}

/* The items goto_next_addr() gives for g with a bufsize buffer. */
static char *
addrs(const char *g, size_t bufsize)
{
	struct buf b = BUF_INIT;
	const char *c = g;
	char *buf = malloc(bufsize);
	int rc;

	assert_non_null(buf);
	while ((rc = goto_next_addr(&c, buf, bufsize)) != 0) {
		if (rc < 0) {
			assert_string_equal(buf, "");
			buf_adds(&b, "<long>");
		} else {
			assert_true(buf[0] != '\0');
			buf_printf(&b, "[%s]", buf);
		}
	}
	assert_string_equal(buf, "");
	free(buf);
	return buf_steal(&b);
}

static void
check_addrs(const char *g, size_t bufsize, const char *want)
{
	char *got = addrs(g, bufsize);

	assert_string_equal(got, want);
	free(got);
}

static void
test_addr(void **state)
{
	check_addrs(NULL, 8, "");
	check_addrs("", 8, "");
	check_addrs(",,", 8, "");
	check_addrs(",a,,b,", 8, "[a][b]");
	/* 3 bytes fit a buffer of 4, 4 do not: passed over, not cut */
	check_addrs("abc", 4, "[abc]");
	check_addrs("abcd", 4, "<long>");
	check_addrs("ab,abcdef,,x", 4, "[ab]<long>[x]");
	check_addrs("abcdef,abc", 4, "<long>[abc]");
	check_addrs("x", 1, "<long>");
}

/* An address past the 512 bytes the callers' buffers hold. */
static void
test_addr_long(void **state)
{
	char g[1200], buf[512];
	const char *c = g;

	memset(g, 'a', 600);
	memcpy(g + 600, "@x,b@y", sizeof("@x,b@y"));
	assert_int_equal(goto_next_addr(&c, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "");
	assert_int_equal(goto_next_addr(&c, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "b@y");
	assert_int_equal(goto_next_addr(&c, buf, sizeof(buf)), 0);
	/* 511 bytes still fit */
	memset(g, 'a', 511);
	g[511] = '\0';
	c = g;
	assert_int_equal(goto_next_addr(&c, buf, sizeof(buf)), 1);
	assert_int_equal(strlen(buf), 511);
}

/* goto_diff_sorted()'s calls as text: "-a +b ..." */
static void
diff_cat(void *arg, char sign, const char *item, size_t len)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s%c%.*s", n ? " " : "", sign, (int)len,
		 item);
}

/* The same diff the slow way: each item of one not in the other. */
static void
diff_slow(const char *old, const char *now, char *out)
{
	const char *g[2] = {old, now}, *p, *q, *c, *d;
	size_t len, l2;
	int k;
	char items[64][32];
	char signs[64];
	size_t n = 0, i, j;

	out[0] = '\0';
	for (k = 0; k < 2; k++) {
		c = g[k];
		while ((p = goto_next(&c, &len)) != NULL) {
			bool found = false;

			if (len == 0)
				continue;
			d = g[1 - k];
			while ((q = goto_next(&d, &l2)) != NULL)
				if (l2 == len && memcmp(p, q, len) == 0)
					found = true;
			if (!found) {
				snprintf(items[n], sizeof(items[n]), "%.*s",
					 (int)len, p);
				signs[n++] = k == 0 ? '-' : '+';
			}
		}
	}
	/* in item order */
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(items[j], items[i]) < 0) {
				char t[32], ts = signs[i];

				memcpy(t, items[i], 32);
				memcpy(items[i], items[j], 32);
				memcpy(items[j], t, 32);
				signs[i] = signs[j];
				signs[j] = ts;
			}
	for (i = 0; i < n; i++)
		snprintf(out + strlen(out), 1024 - strlen(out), "%s%c%s",
			 i ? " " : "", signs[i], items[i]);
}

static void
test_diff_sorted(void **state)
{
	char out[1024], want[1024], g[2][256];
	unsigned seed = 7;
	size_t nold = 99;
	int round, k, i;

	(void)state;
	out[0] = '\0';
	assert_int_equal(goto_diff_sorted("a@x,b@x,d@x", "b@x,c@x,d@x,e@x",
					  diff_cat, out, &nold), 0);
	assert_string_equal(out, "-a@x +c@x +e@x");
	assert_int_equal(nold, 3);
	out[0] = '\0';
	/* empty items and a trailing comma pass; NULL is empty */
	assert_int_equal(goto_diff_sorted(",a@x,,b@x,", NULL, diff_cat, out,
					  &nold), 0);
	assert_string_equal(out, "-a@x -b@x");
	assert_int_equal(nold, 2);
	/* a prefix sorts first ("a@x" < "a@x.org") */
	out[0] = '\0';
	assert_int_equal(goto_diff_sorted("a@x", "a@x.org", diff_cat, out,
					  NULL), 0);
	assert_string_equal(out, "-a@x +a@x.org");
	/* not sorted, or an item twice: -1, fn not called */
	out[0] = '\0';
	assert_int_equal(goto_diff_sorted("b@x,a@x", "a@x", diff_cat, out,
					  NULL), -1);
	assert_int_equal(goto_diff_sorted("a@x", "a@x,a@x", diff_cat, out,
					  NULL), -1);
	assert_string_equal(out, "");
	/* random sorted sets against the slow diff */
	for (round = 0; round < 2000; round++) {
		for (k = 0; k < 2; k++) {
			g[k][0] = '\0';
			for (i = 0; i < 12; i++) {
				seed = seed * 1103515245u + 12345u;
				if ((seed >> 16) % 3 == 0)
					snprintf(g[k] + strlen(g[k]),
						 sizeof(g[k]) - strlen(g[k]),
						 "%su%02d@x", g[k][0] ? "," : "",
						 i);
			}
		}
		out[0] = '\0';
		assert_int_equal(goto_diff_sorted(g[0], g[1], diff_cat, out,
						  NULL), 0);
		diff_slow(g[0], g[1], want);
		assert_string_equal(out, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_addr_long),
		cmocka_unit_test(test_diff_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

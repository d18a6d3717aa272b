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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_addr_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

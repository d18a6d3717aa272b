/*
 * test_buf.c - buf_add_printable() (util/buf.h): control bytes and bytes
 * outside valid UTF-8 (RFC 3629) come out as escapes, valid UTF-8 as it
 * is, and buf_is_printable() says when nothing would change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"

static void
expect(const char *in, const char *want)
{
	struct buf b = BUF_INIT;

	buf_add_printable(&b, in);
	assert_string_equal(buf_str(&b), want);
	assert_int_equal(buf_is_printable(in), strcmp(in, want) == 0);
	/* what comes out needs nothing more */
	assert_true(buf_is_printable(buf_str(&b)));
	buf_free(&b);
}

static void
test_printable(void **state)
{
	(void)state;
	expect("", "");
	expect("plain ascii, \"quoted\"", "plain ascii, \"quoted\"");
	/* é, €, an emoji: 2, 3 and 4 bytes */
	expect("M\xc3\xbcller \xe2\x82\xac \xf0\x9f\x98\x80",
	       "M\xc3\xbcller \xe2\x82\xac \xf0\x9f\x98\x80");
	expect("a\nb\rc\td", "a\\nb\\rc\\td");
	expect("esc\x1b[31m del\x7f", "esc\\x1b[31m del\\x7f");
	/* a Latin-1 byte, a lone continuation byte, bytes never in UTF-8 */
	expect("We\xffird", "We\\xffird");
	expect("\x80x", "\\x80x");
	expect("\xc0\xaf \xf5\x80\x80\x80", "\\xc0\\xaf \\xf5\\x80\\x80\\x80");
	/* overlong, a surrogate, past U+10FFFF */
	expect("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
	expect("\xed\xa0\x80", "\\xed\\xa0\\x80");
	expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	/* a sequence cut short by the end, or by another character */
	expect("end \xe2\x82", "end \\xe2\\x82");
	expect("\xe2\x82x", "\\xe2\\x82x");
	/* the edges that are valid */
	expect("\xc2\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf",
	       "\xc2\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

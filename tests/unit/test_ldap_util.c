/*
 * test_ldap_util.c - the pure parts of the LDAP source: AD range options
 * on attribute names, and AD's bind failure reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "source/ldap_util.h"

static int
range(const char *name, size_t *base, unsigned long *lo, long *hi)
{
	return ldap_util_parse_range(name, strlen(name), base, lo, hi);
}

static void
test_range_valid(void **state)
{
	size_t base = 99;
	unsigned long lo = 99;
	long hi = 99;

	assert_int_equal(range("member;range=0-1499", &base, &lo, &hi), 1);
	assert_int_equal(base, 6);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 1499);
	assert_int_equal(range("member;range=1500-*", &base, &lo, &hi), 1);
	assert_int_equal(lo, 1500);
	assert_int_equal(hi, -1);
	/* case of the option, other options around it */
	assert_int_equal(range("Member;x-opt;RANGE=10-20;lang-en", &base, &lo,
			       &hi), 1);
	assert_int_equal(base, 6);
	assert_int_equal(lo, 10);
	assert_int_equal(hi, 20);
	/* a single value range */
	assert_int_equal(range("member;range=7-7", &base, &lo, &hi), 1);
	assert_int_equal(hi, 7);
}

static void
test_range_absent(void **state)
{
	size_t base = 99;
	unsigned long lo = 5;
	long hi = 5;

	assert_int_equal(range("member", &base, &lo, &hi), 0);
	assert_int_equal(base, 6);
	assert_int_equal(range("userCertificate;binary", &base, &lo, &hi), 0);
	assert_int_equal(base, 15);
	assert_int_equal(range("member;", &base, &lo, &hi), 0);
	assert_int_equal(range("member;ranged", &base, &lo, &hi), 0);
	/* untouched when there is no range */
	assert_int_equal(lo, 5);
	assert_int_equal(hi, 5);
	/* not NUL-terminated: only len bytes count */
	assert_int_equal(ldap_util_parse_range("member;range=0-1", 6, &base,
					       &lo, &hi), 0);
	assert_int_equal(base, 6);
}

static void
test_range_malformed(void **state)
{
	static const char *const bad[] = {
		"member;range=",              /* empty */
		"member;range=1500",          /* no dash */
		"member;range=-5",            /* no low */
		"member;range=5-",            /* no high */
		"member;range=+5-10",         /* signs */
		"member;range= 5-10",         /* spaces */
		"member;range=5-x",
		"member;range=10-5",          /* high below low */
		"member;range=0-**",
		"member;range=0-1234567890123456789", /* 19 digits */
	};
	size_t i, base;
	unsigned long lo;
	long hi;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (range(bad[i], &base, &lo, &hi) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(base, 6);
	}
}

static void
test_ad_hint(void **state)
{
	assert_string_equal(
		ldap_util_ad_bind_hint("80090308: LdapErr: DSID-0C09041C, "
				       "comment: AcceptSecurityContext error, "
				       "data 52e, v4563"),
		"wrong password or unknown account");
	assert_string_equal(ldap_util_ad_bind_hint("... DATA 775, v1db1"),
			    "account locked out");
	assert_string_equal(ldap_util_ad_bind_hint("data 533"),
			    "account disabled");
	assert_null(ldap_util_ad_bind_hint("Invalid credentials"));
	assert_null(ldap_util_ad_bind_hint(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_valid),
		cmocka_unit_test(test_range_absent),
		cmocka_unit_test(test_range_malformed),
		cmocka_unit_test(test_ad_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

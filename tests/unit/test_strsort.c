/*
 * test_strsort.c - strsort() (util/strsort.h) puts any array of strings in
 * the order qsort(3) with strcmp puts it: random strings over a small
 * alphabet (so that prefixes and duplicates are common) with bytes above
 * 0x7f, the empty string, every size around the insertion-sort cut, and
 * parts alike past the depth that goes to qsort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/strsort.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static unsigned long rnd = 12345;

static unsigned
next(void)
{
	rnd = rnd * 6364136223846793005ul + 1442695040888963407ul;
	return (unsigned)(rnd >> 33);
}

/* n strings of up to maxlen bytes from alpha, after a prefix of plen
 * bytes alike; sorted by strsort and by qsort, then compared. */
static void
check(size_t n, size_t maxlen, const char *alpha, size_t plen)
{
	char **s = calloc(n + 1, sizeof(*s));
	const char **a = calloc(n + 1, sizeof(*a)), **b;
	size_t i, j, len, na = strlen(alpha);

	for (i = 0; i < n; i++) {
		len = plen + next() % (maxlen + 1);
		s[i] = malloc(len + 1);
		memset(s[i], 'p', plen);
		for (j = plen; j < len; j++)
			s[i][j] = alpha[next() % na];
		s[i][len] = '\0';
		/* a duplicate now and then */
		if (i > 0 && next() % 7 == 0) {
			free(s[i]);
			s[i] = strdup(s[next() % i]);
		}
		a[i] = s[i];
	}
	b = calloc(n + 1, sizeof(*b));
	memcpy(b, a, n * sizeof(*a));
	strsort(a, n);
	qsort(b, n, sizeof(*b), cmp_str);
	for (i = 0; i < n; i++)
		assert_string_equal(a[i], b[i]);
	for (i = 0; i < n; i++)
		free(s[i]);
	free(s);
	free(a);
	free(b);
}

static void
test_sizes(void **state)
{
	size_t n;

	(void)state;
	for (n = 0; n < 40; n++)
		check(n, 6, "ab", 0);
	check(5000, 8, "abc", 0);
	check(5000, 3, "ab", 0);         /* many equal strings */
	check(20000, 12, "a\x01\x7f\x80\xff,=", 0);
}

static void
test_dns(void **state)
{
	char buf[64];
	const char *v[2000];
	char *s[2000];
	size_t i;

	(void)state;
	/* member DNs: alike at the front and at the end */
	for (i = 0; i < 2000; i++) {
		snprintf(buf, sizeof(buf), "cn=user %05u,ou=staff,dc=example",
			 next() % 3000);
		v[i] = s[i] = strdup(buf);
	}
	strsort(v, 2000);
	for (i = 1; i < 2000; i++)
		assert_true(strcmp(v[i - 1], v[i]) <= 0);
	for (i = 0; i < 2000; i++)
		free(s[i]);
}

static void
test_deep(void **state)
{
	(void)state;
	/* 700 bytes alike: past the depth the recursion hands to qsort */
	check(300, 5, "xyz", 700);
	check(30, 3, "xy", 2000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_deep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_strsort.c - strsort() (util/strsort.h) puts any array of strings in
 * the order qsort(3) with strcmp puts it: random strings over a small
 * alphabet (so that prefixes and duplicates are common) with bytes above
 * 0x7f, the empty string, every size around the insertion-sort cut, and
 * parts alike past the depth that goes to qsort.  i64sort()
 * (util/i64sort.h) likewise, against qsort, negatives and duplicates
 * included, on both sides of the size its radix passes start at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/i64sort.h"
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

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_i64(void **state)
{
	size_t sizes[] = {0, 1, 2, 511, 512, 513, 5000, 70000}, k, i, n;

	(void)state;
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int64_t *a, *b;

		n = sizes[k];
		a = calloc(n + 1, sizeof(*a));
		b = calloc(n + 1, sizeof(*b));
		for (i = 0; i < n; i++) {
			uint64_t x = ((uint64_t)next() << 32) ^ next();

			/* now and then a duplicate, a small or a high byte
			 * alike: passes that move nothing are skipped */
			if (i > 0 && next() % 5 == 0)
				x = (uint64_t)a[next() % i];
			else if (k % 2 == 0)
				x &= 0xffff0000ffffffffu;
			a[i] = (int64_t)x;
		}
		a[n / 2] = INT64_MIN;
		if (n > 1)
			a[n / 3] = INT64_MAX;
		memcpy(b, a, n * sizeof(*a));
		i64sort(a, n);
		if (n > 1)
			qsort(b, n, sizeof(*b), cmp_i64);
		for (i = 0; i < n; i++)
			assert_true(a[i] == b[i]);
		free(a);
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_i64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

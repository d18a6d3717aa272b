/*
 * test_rules_patch.c - rules_patch_gotos(): a partial list made whole
 * from the list as stored (current), less what the run's members gave
 * it before, plus what they give now.  Sorted gotos (the ones dirsync
 * writes) are merged in one pass; anything else (unsorted, an item
 * twice, empty items) takes the sets, rules_patch_gotos_sets().  Both
 * must give the same answer for every input: a few by hand, then random
 * gotos of every shape checked against the sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/rules_delta.h"

/* rules_patch_gotos(cur, before, after) is want_ret with *merged want. */
static void
patch_is(const char *cur, const char *before, const char *after,
	 int want_ret, const char *want)
{
	char *m = (char *)"unset", *s = (char *)"unset";
	int r = rules_patch_gotos(cur, before, after, &m);
	int rs = rules_patch_gotos_sets(cur, before, after, &s);

	if (r != want_ret || (want == NULL ? m != NULL
					   : m == NULL || strcmp(m, want) != 0))
		fail_msg("patch('%s', '%s', '%s'): %d '%s', want %d '%s'",
			 cur ? cur : "(null)", before ? before : "(null)",
			 after ? after : "(null)", r, m ? m : "(null)",
			 want_ret, want ? want : "(null)");
	if (rs != r || (s == NULL) != (m == NULL) ||
	    (s != NULL && strcmp(s, m) != 0))
		fail_msg("patch('%s', '%s', '%s'): %d '%s', sets %d '%s'",
			 cur ? cur : "(null)", before ? before : "(null)",
			 after ? after : "(null)", r, m ? m : "(null)", rs,
			 s ? s : "(null)");
	free(m);
	free(s);
}

static void
test_patch_by_hand(void **state)
{
	(void)state;
	/* sorted: merged */
	patch_is("a,b,c", "b", "", 0, "a,c");
	patch_is("a,b,c", "b", "b", 0, "a,b,c");
	patch_is("a,c", "", "b", 0, "a,b,c");
	patch_is("a,c", NULL, "0,d", 0, "0,a,c,d");
	patch_is("a,b", "a,b", NULL, 0, NULL);
	patch_is("a,b", "a,b", "", 0, NULL);
	patch_is(NULL, NULL, NULL, 0, NULL);
	patch_is("", "", "x", 0, "x");
	patch_is("a,ab,b", "ab", "aa", 0, "a,aa,b");
	patch_is("a,c", "b", "b", -1, NULL);        /* b not in current */
	patch_is("a,c", "d", "", -1, NULL);         /* past its end */
	patch_is("b,c", "a", "", -1, NULL);         /* before its start */
	patch_is(NULL, "a", "a", -1, NULL);
	/* bytes past ASCII sort after it, as strcmp() sorts them */
	patch_is("a,z", "", "\xc3\xa9", 0, "a,z,\xc3\xa9");
	/* not sorted, twice, empty items: the sets, same answers */
	patch_is("c,a,b", "b", "", 0, "a,c");
	patch_is("a,a,b", "b", "", 0, "a");
	patch_is("a,,b,", ",b", "c,", 0, "a,c");
	patch_is("a,c", "b,a", "", -1, NULL);
	patch_is("c,a", "b", "", -1, NULL);
	/* unsorted past the point a merge would give up at: found all the
	 * same by the sets */
	patch_is("a,c,b", "b", "", 0, "a,c");
	patch_is("a,c", "a,b,0", "", -1, NULL);
}

static unsigned
rnd(unsigned *seed, unsigned n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) % n;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define NU 24

/*
 * A goto of the words of u picked by pick[] (u sorted, distinct):
 * sorted and each once, unless shape says otherwise: 1 shuffled, 2 a
 * word twice, 3 empty items, 4 NULL or "" when nothing is picked.
 */
static char *
render(char u[][8], const bool *pick, unsigned shape, unsigned *seed)
{
	const char *v[2 * NU];
	size_t n = 0, i, len = 0;
	char *s;

	for (i = 0; i < NU; i++)
		if (pick[i])
			v[n++] = u[i];
	if (n == 0 && shape == 4)
		return rnd(seed, 2) ? NULL : strdup("");
	if (shape == 2 && n > 0) {
		i = rnd(seed, (unsigned)n);
		memmove(v + i + 1, v + i, (n - i) * sizeof(*v));
		n++;
	}
	if (shape == 1)
		for (i = n; i > 1; i--) {
			size_t j = rnd(seed, (unsigned)i);
			const char *t = v[i - 1];

			v[i - 1] = v[j];
			v[j] = t;
		}
	s = malloc(n * 12 + 8);
	assert_non_null(s);
	s[0] = '\0';
	if (shape == 3 && rnd(seed, 2))
		s[len++] = ',';
	for (i = 0; i < n; i++) {
		if (i > 0)
			s[len++] = ',';
		if (shape == 3 && rnd(seed, 3) == 0)
			s[len++] = ',';
		len += (size_t)sprintf(s + len, "%s", v[i]);
	}
	if (shape == 3 && rnd(seed, 2))
		s[len++] = ',';
	s[len] = '\0';
	return s;
}

static void
test_patch_random(void **state)
{
	/* short words over few letters: equal ones, prefixes of others,
	 * a space, '@', and bytes past ASCII */
	static const char *const letters[] = {"a", "b", "A", "@", " ", ".",
					      "\xc3\xa9", "~"};
	char u[NU][8];
	bool pc[NU], pb[NU], pa[NU];
	unsigned seed = 4242, t, i, k, n;
	size_t sorted = 0, lost = 0, empty = 0;

	(void)state;
	for (t = 0; t < 200000; t++) {
		const char *w[NU];
		char tmp[NU][8];
		char *c, *b, *a, *m, *s;
		unsigned nu = 1 + rnd(&seed, NU), shapes;
		int r, rs;

		/* nu distinct words, sorted */
		for (n = 0; n < nu;) {
			size_t len = 0;

			for (k = 0; k < 1 + rnd(&seed, 3); k++)
				len += (size_t)sprintf(tmp[n] + len, "%s",
						       letters[rnd(&seed, 8)]);
			for (i = 0; i < n && strcmp(tmp[i], tmp[n]); i++)
				;
			if (i == n)
				w[n] = tmp[n], n++;
		}
		qsort(w, nu, sizeof(w[0]), cmp_str);
		memset(u, 0, sizeof(u));
		for (i = 0; i < nu; i++)
			strcpy(u[i], w[i]);
		for (i = 0; i < NU; i++) {
			pc[i] = i < nu && rnd(&seed, 3) > 0;
			/* before within current, mostly */
			pb[i] = i < nu && (pc[i] || rnd(&seed, 40) == 0) &&
				rnd(&seed, 3) == 0;
			pa[i] = i < nu && rnd(&seed, 3) == 0;
		}
		/* mostly all three sorted, the shape of dirsync's gotos */
		shapes = rnd(&seed, 3) ? 0 : rnd(&seed, 125);
		c = render(u, pc, shapes % 5, &seed);
		b = render(u, pb, shapes / 5 % 5, &seed);
		a = render(u, pa, shapes / 25 % 5, &seed);
		sorted += shapes == 0;
		r = rules_patch_gotos(c, b, a, &m);
		rs = rules_patch_gotos_sets(c, b, a, &s);
		lost += r == -1;
		empty += r == 0 && m == NULL;
		if (r != rs || (m == NULL) != (s == NULL) ||
		    (m != NULL && strcmp(m, s) != 0))
			fail_msg("patch('%s', '%s', '%s'): %d '%s', sets %d "
				 "'%s'", c ? c : "(null)", b ? b : "(null)",
				 a ? a : "(null)", r, m ? m : "(null)", rs,
				 s ? s : "(null)");
		free(c);
		free(b);
		free(a);
		free(m);
		free(s);
	}
	/* every outcome, on both paths, many times */
	printf("sorted %zu, -1 %zu, none left %zu of 200000\n", sorted, lost,
	       empty);
	assert_true(sorted > 100000 && sorted < 160000);
	assert_true(lost > 5000);
	assert_true(empty > 1000);
}

/* A list of 20,000 as stored, a few hundred of it changed. */
static void
test_patch_big(void **state)
{
	size_t cap = 20000 * 24, len = 0, blen = 0, alen = 0, i;
	char *c = malloc(cap), *b = malloc(cap), *a = malloc(cap), *m, *s;

	(void)state;
	assert_true(c != NULL && b != NULL && a != NULL);
	c[0] = b[0] = a[0] = '\0';
	for (i = 0; i < 20000; i++) {
		len += (size_t)sprintf(c + len, "%su%05zu@example.com",
				       len ? "," : "", i * 2);
		if (i >= 5000 && i < 5300)
			blen += (size_t)sprintf(b + blen,
						"%su%05zu@example.com",
						blen ? "," : "", i * 2);
		if (i >= 5000 && i < 5300 && i % 3 != 0)
			alen += (size_t)sprintf(a + alen,
						"%su%05zu@example.com",
						alen ? "," : "",
						i % 2 ? i * 2 : i * 2 + 1);
	}
	assert_int_equal(rules_patch_gotos(c, b, a, &m), 0);
	assert_int_equal(rules_patch_gotos_sets(c, b, a, &s), 0);
	assert_non_null(m);
	assert_string_equal(m, s);
	free(m);
	free(s);
	/* one address of before missing from current: -1 either way */
	memcpy(strstr(c, "u10000@") + 5, "1", 1);   /* u10001, sorted still */
	m = s = (char *)"unset";
	assert_int_equal(rules_patch_gotos(c, b, a, &m), -1);
	assert_null(m);
	assert_int_equal(rules_patch_gotos_sets(c, b, a, &s), -1);
	free(c);
	free(b);
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_by_hand),
		cmocka_unit_test(test_patch_random),
		cmocka_unit_test(test_patch_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

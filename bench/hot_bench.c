/*
 * hot_bench.c - the two CPU hot spots of an incremental run where a list
 * of 50,000 members changes, alone: dn_normalize() of plain DNs, a
 * group's members kept (rules_keep_members) and a partial list patched
 * (rules_patch_gotos).  Meant for instruction counts under callgrind,
 * not wall time:
 *
 *   make && cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -o build/hot_bench \
 *     bench/hot_bench.c $(find build/src -name '[a-z]*.o' \
 *     ! -name main.o) $(pkg-config --libs sqlite3 jansson ldap libpq \
 *     libcurl libmicrohttpd libxxhash) -lcrypt -largon2 -lm -pthread
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
 *     build/hot_bench dn|members|gotos
 *   callgrind_annotate --inclusive=yes /tmp/cg.out | grep -E \
 *     'dn_normalize|rules_keep_members|rules_patch_gotos'
 *
 * Prints the calls made and a checksum of the results (the same before
 * and after a change that keeps every result).  Not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/entry.h"
#include "rules/rules_delta.h"
#include "rules/rules_int.h"

#define NMEMBERS 50000

static const char *const given[] = {"amir", "Ann", "jose", "Li", "mary",
				    "Olu", "priya", "Sven"};
static const char *const family[] = {"perez", "Lee", "garcia", "Chen",
				     "smith", "Okafor", "Nair", "Berg"};

/* "uid=amir.perez8,ou=People,dc=example,dc=com" and the like. */
static void
member_dn(char *buf, size_t size, size_t i)
{
	snprintf(buf, size, "%s=%s.%s%zu,ou=%s,dc=example,dc=com",
		 i % 3 ? "uid" : "UID", given[i % 8], family[(i / 8) % 8],
		 i, i % 5 ? "People" : "Staff");
}

static unsigned long
sum(unsigned long h, const char *s)
{
	while (*s)
		h = h * 31 + (unsigned char)*s++;
	return h * 31;
}

static unsigned long
bench_dn(size_t calls)
{
	char dn[128];
	unsigned long h = 0;
	size_t i;

	for (i = 0; i < calls; i++) {
		char *n;

		member_dn(dn, sizeof(dn), i);
		n = dn_normalize(dn);
		h = sum(h, n);
		free(n);
	}
	printf("dn_normalize: %zu calls\n", calls);
	return h;
}

static unsigned long
bench_members(size_t rounds)
{
	static char txt[NMEMBERS][96];
	struct val *v = calloc(NMEMBERS, sizeof(*v));
	struct attr m = {"member", NMEMBERS, v};
	struct entry e = {"cn=all,ou=groups,dc=example,dc=com", 1, &m, NULL};
	struct rules_ctx *x = calloc(1, sizeof(*x));
	struct robj o;
	unsigned long h = 0;
	size_t i, r;

	if (v == NULL || x == NULL)
		abort();
	for (i = 0; i < NMEMBERS; i++) {
		member_dn(txt[i], sizeof(txt[i]), i);
		v[i].p = txt[i];
		v[i].len = strlen(txt[i]);
	}
	x->at[A_MEMBER] = &m;
	for (r = 0; r < rounds; r++) {
		memset(&o, 0, sizeof(o));
		rules_keep_members(x, &e, &o);
		for (i = 0; i < o.nmembers; i++)
			h = sum(h, o.members[i]);
		arena_free(&x->tmp);
	}
	printf("rules_keep_members: %zu calls of %d members\n", rounds,
	       NMEMBERS);
	free(x);
	free(v);
	return h;
}

/* n addresses a<i>@example.com for the i in [from, to) that keep(i). */
static char *
gotos(size_t from, size_t to, size_t step, size_t skip)
{
	size_t cap = (to - from) * 24 + 1, len = 0, i;
	char *s = malloc(cap);

	if (s == NULL)
		abort();
	s[0] = '\0';
	for (i = from; i < to; i += step)
		if (skip == 0 || i % skip != 0)
			len += (size_t)snprintf(s + len, cap - len, "%sa%06zu@"
						"example.com", len ? "," : "",
						i);
	return s;
}

static unsigned long
bench_gotos(size_t rounds)
{
	/* the list as stored; the run's members gave 200 of it before,
	 * and now give them less every 7th, plus 30 new ones */
	char *cur = gotos(0, NMEMBERS, 1, 0);
	char *before = gotos(10000, 10200, 1, 0);
	char *after = gotos(10000, 10200, 1, 7);
	char *gain = gotos(NMEMBERS, NMEMBERS + 30, 1, 0), *both;
	unsigned long h = 0;
	size_t r;

	both = malloc(strlen(after) + strlen(gain) + 2);
	if (both == NULL)
		abort();
	sprintf(both, "%s,%s", after, gain);
	for (r = 0; r < rounds; r++) {
		char *m = NULL;

		if (rules_patch_gotos(cur, before, both, &m) != 0)
			abort();
		h = sum(h, m);
		free(m);
	}
	printf("rules_patch_gotos: %zu calls, current of %d\n", rounds,
	       NMEMBERS);
	free(cur);
	free(before);
	free(after);
	free(gain);
	free(both);
	return h;
}

int
main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "dn";
	unsigned long h;

	if (strcmp(what, "dn") == 0)
		h = bench_dn(238000);
	else if (strcmp(what, "members") == 0)
		h = bench_members(5);
	else if (strcmp(what, "gotos") == 0)
		h = bench_gotos(5);
	else {
		fprintf(stderr, "usage: %s dn|members|gotos\n", argv[0]);
		return 2;
	}
	printf("checksum %lx\n", h);
	return 0;
}

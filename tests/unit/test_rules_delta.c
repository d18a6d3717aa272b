/*
 * test_rules_delta.c - rules_delta() against the full rules: for random
 * small directories and random deltas, full(new) must equal
 *     full(old) - before + after
 * item by item (desired objects by address with every field, scope
 * counts, in_scope, warnings as a multiset, conflicts by address,
 * left_out by anchor, frozen anchors and addresses, member_of_missing),
 * and rules_delta() may decline only for the documented reasons.  Then
 * directed cases, one per coupling.  The last read is an in-memory
 * rules_lookup over arrays, indexed with rules_keys().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "model/entry.h"
#include "rules/rules.h"
#include "rules/rules_delta.h"
#include "util/strmap.h"

#define NOW ((time_t)1800000000)   /* 2027-01-15 */

/* ---- entries ------------------------------------------------------ */

static struct entry *
ent_new(const char *dn)
{
	struct entry *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->dn = strdup(dn);
	e->origin = "test";
	return e;
}

static struct attr *
ent_attr(struct entry *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nattrs; i++)
		if (strcasecmp(e->attrs[i].name, name) == 0)
			return &e->attrs[i];
	return NULL;
}

static void
ent_addb(struct entry *e, const char *name, const void *p, size_t len)
{
	struct attr *a = ent_attr(e, name);
	char *v;

	if (a == NULL) {
		e->attrs = realloc(e->attrs, (e->nattrs + 1) * sizeof(*e->attrs));
		assert_non_null(e->attrs);
		a = &e->attrs[e->nattrs++];
		memset(a, 0, sizeof(*a));
		a->name = strdup(name);
	}
	a->vals = realloc(a->vals, (a->nvals + 1) * sizeof(*a->vals));
	assert_non_null(a->vals);
	v = malloc(len + 1);
	assert_non_null(v);
	memcpy(v, p, len);
	v[len] = '\0';
	a->vals[a->nvals].p = v;
	a->vals[a->nvals++].len = len;
}

static void
ent_add(struct entry *e, const char *name, const char *v)
{
	ent_addb(e, name, v, strlen(v));
}

static void
attr_clear(struct attr *a)
{
	size_t i;

	for (i = 0; i < a->nvals; i++)
		free((char *)a->vals[i].p);
	free(a->vals);
	free((char *)a->name);
}

static void
ent_del(struct entry *e, const char *name)
{
	struct attr *a = ent_attr(e, name);

	if (a == NULL)
		return;
	attr_clear(a);
	*a = e->attrs[--e->nattrs];
}

static void
ent_set(struct entry *e, const char *name, const char *v)
{
	ent_del(e, name);
	ent_add(e, name, v);
}

/* Removes value i of attribute name. */
static void
ent_del_val(struct entry *e, const char *name, size_t i)
{
	struct attr *a = ent_attr(e, name);

	free((char *)a->vals[i].p);
	a->vals[i] = a->vals[--a->nvals];
	if (a->nvals == 0)
		ent_del(e, name);
}

static struct entry *
ent_clone(const struct entry *e, const char *dn)
{
	struct entry *c = ent_new(dn != NULL ? dn : e->dn);
	size_t i, j;

	for (i = 0; i < e->nattrs; i++)
		for (j = 0; j < e->attrs[i].nvals; j++)
			ent_addb(c, e->attrs[i].name, e->attrs[i].vals[j].p,
				 e->attrs[i].vals[j].len);
	return c;
}

static void
ent_free(struct entry *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nattrs; i++)
		attr_clear(&e->attrs[i]);
	free(e->attrs);
	free((char *)e->dn);
	free(e);
}

/* ---- a directory and the last read's index ------------------------ */

struct dir {
	char **uuid;
	struct entry **e;
	size_t n, cap;
	struct strmap pos;         /* uuid -> index + 1 */
};

static void
dir_put(struct dir *d, const char *uuid, struct entry *e)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->uuid = realloc(d->uuid, d->cap * sizeof(*d->uuid));
		d->e = realloc(d->e, d->cap * sizeof(*d->e));
		assert_true(d->uuid != NULL && d->e != NULL);
	}
	d->uuid[d->n] = strdup(uuid);
	d->e[d->n++] = e;
	strmap_put(&d->pos, d->uuid[d->n - 1], (void *)(uintptr_t)d->n);
}

static long
dir_find(const struct dir *d, const char *uuid)
{
	return (long)(uintptr_t)strmap_get(&d->pos, uuid) - 1;
}

/* Takes entry j out (the last one moves into its place). */
static void
dir_take(struct dir *d, size_t j)
{
	strmap_del(&d->pos, d->uuid[j]);
	free(d->uuid[j]);
	d->uuid[j] = d->uuid[d->n - 1];
	d->e[j] = d->e[d->n - 1];
	d->n--;
	if (j < d->n)
		strmap_put(&d->pos, d->uuid[j], (void *)(uintptr_t)(j + 1));
}

static void
dir_free(struct dir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->uuid[i]);
		ent_free(d->e[i]);
	}
	free(d->uuid);
	free(d->e);
	strmap_free(&d->pos);
	memset(d, 0, sizeof(*d));
}

/* key -> uuids having it */
struct posting {
	char *key;
	char **uuid;
	size_t n;
};

struct index {
	const struct dir *d;
	struct strmap by_key;      /* key -> struct posting */
	struct strmap by_uuid;     /* uuid -> entry */
	const char *cur;           /* the uuid rules_keys is at */
	size_t finds, gets;
	const struct rules_result *full;   /* the full rules over d, or NULL */
	/* keys_now: the changes, and what it was told */
	const struct conf *c;
	const struct rules_change *ch;
	size_t nch, keyed, keys_wrong;
};

static void
index_key(void *arg, const char *key)
{
	struct index *ix = arg;
	struct posting *p = strmap_get(&ix->by_key, key);

	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		assert_non_null(p);
		p->key = strdup(key);
		strmap_put(&ix->by_key, p->key, p);
	}
	p->uuid = realloc(p->uuid, (p->n + 1) * sizeof(*p->uuid));
	assert_non_null(p->uuid);
	p->uuid[p->n++] = strdup(ix->cur);
}

static void
index_build(struct index *ix, const struct conf *c, const struct dir *d)
{
	struct rules_keyer *k;
	struct err err;
	size_t i;

	memset(ix, 0, sizeof(*ix));
	ix->d = d;
	err_clear(&err);
	k = rules_keyer_new(c, &err);
	assert_non_null(k);
	for (i = 0; i < d->n; i++) {
		ix->cur = d->uuid[i];
		strmap_put(&ix->by_uuid, d->uuid[i], d->e[i]);
		rules_keys(k, d->e[i], index_key, ix);
	}
	rules_keyer_free(k);
}

static void
index_free(struct index *ix)
{
	const char *key;
	void *v;
	size_t it = 0, i;

	while (strmap_next(&ix->by_key, &it, &key, &v)) {
		struct posting *p = v;

		for (i = 0; i < p->n; i++)
			free(p->uuid[i]);
		free(p->uuid);
		free(p->key);
		free(p);
	}
	strmap_free(&ix->by_key);
	strmap_free(&ix->by_uuid);
}

static const struct entry *
lk_get(void *ctx, const char *uuid)
{
	struct index *ix = ctx;

	ix->gets++;
	return strmap_get(&ix->by_uuid, uuid);
}

static int
lk_find(void *ctx, const char *key, void (*each)(void *, const char *),
	void *arg, struct err *err)
{
	struct index *ix = ctx;
	struct posting *p = strmap_get(&ix->by_key, key);
	size_t i;

	(void)err;
	ix->finds++;
	for (i = 0; p != NULL && i < p->n; i++)
		each(arg, p->uuid[i]);
	return 0;
}

static void
keys_collect_cb(void *arg, const char *key)
{
	struct posting *p = arg;

	p->uuid = realloc(p->uuid, (p->n + 1) * sizeof(*p->uuid));
	assert_non_null(p->uuid);
	p->uuid[p->n++] = strdup(key);
}

/* rules_delta's keys of a change now must be what rules_keys makes of
 * it, in the same order: the engine indexes the row with them. */
static void
lk_keys_now(void *ctx, const char *uuid, const char *const *keys, size_t n)
{
	struct index *ix = ctx;
	struct posting mine = {NULL, NULL, 0};
	struct rules_keyer *k;
	struct err err;
	size_t i;

	ix->keyed++;
	for (i = 0; i < ix->nch; i++)
		if (strcmp(ix->ch[i].uuid, uuid) == 0)
			break;
	if (i == ix->nch || ix->ch[i].now == NULL) {
		ix->keys_wrong++;
		return;
	}
	err_clear(&err);
	k = rules_keyer_new(ix->c, &err);
	assert_non_null(k);
	rules_keys(k, ix->ch[i].now, keys_collect_cb, &mine);
	rules_keyer_free(k);
	if (mine.n != n)
		ix->keys_wrong++;
	for (i = 0; i < mine.n; i++) {
		if (i < n && strcmp(mine.uuid[i], keys[i]) != 0)
			ix->keys_wrong++;
		free(mine.uuid[i]);
	}
	free(mine.uuid);
}

/* The full rules over the indexed directory: was address a conflict? */
static bool
lk_contested(void *ctx, const char *address)
{
	const struct index *ix = ctx;
	size_t i;

	for (i = 0; i < ix->full->nconflicts; i++)
		if (strcmp(ix->full->conflicts[i].address, address) == 0)
			return true;
	return false;
}

/* ---- results as keyed items --------------------------------------- */

/* key -> value and count (warnings: the count is the multiplicity) */
struct item {
	char *key, *val;
	long count;
};

struct bag {
	struct strmap m;
	long counts[SC_NREASONS + 2];   /* scope counts, in_scope, missing */
};

static char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	assert_true(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

#define S(x) ((x) != NULL ? (x) : "(null)")

static void
bag_add(struct bag *b, char *key, char *val, long count)
{
	struct item *it = strmap_get(&b->m, key);

	if (it == NULL) {
		it = calloc(1, sizeof(*it));
		assert_non_null(it);
		it->key = key;
		it->val = val;
		strmap_put(&b->m, key, it);
	} else {
		if (strcmp(it->val, val) != 0)
			fail_msg("%s twice: %s / %s", key, it->val, val);
		free(key);
		free(val);
	}
	it->count += count;
	if (it->count == 0) {
		strmap_del(&b->m, it->key);
		free(it->key);
		free(it->val);
		free(it);
	}
}

static void
bag_of(struct bag *b, const struct rules_result *r)
{
	const char *key;
	void *v;
	size_t i, j, it = 0;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < SC_NREASONS; i++)
		b->counts[i] = (long)r->scope_counts[i];
	b->counts[SC_NREASONS] = (long)r->in_scope;
	b->counts[SC_NREASONS + 1] = (long)r->member_of_missing;
	for (i = 0; i < r->desired.n; i++) {
		const struct mobj *m = r->desired.v[i];

		if (m->partial)         /* alike before and after: untouched */
			continue;
		bag_add(b, fmt("D %s", m->address),
			fmt("%s|%s|%s|%s|%d|%s|%s|%s", mkind_name(m->kind),
			    S(m->anchor), S(m->name), S(m->gotos), m->active,
			    S(m->dn), S(m->account), S(m->attrs)), 1);
	}
	for (i = 0; i < r->nconflicts; i++) {
		const struct conflict *c = &r->conflicts[i];
		char *val = strdup("");

		for (j = 0; j < c->n; j++) {
			char *nv = fmt("%s%s/%s/%s;", val, c->claimed_by[j],
				       S(c->dns[j]), S(c->accounts[j]));

			free(val);
			val = nv;
		}
		bag_add(b, fmt("C %s", c->address), val, 1);
	}
	for (i = 0; i < r->nwarnings; i++)
		bag_add(b, fmt("W %s", r->warnings[i]), strdup(""), 1);
	while (strmap_next(&r->left_out, &it, &key, &v)) {
		const struct left_out *l = v;

		bag_add(b, fmt("L %s", key),
			fmt("%d|%s|%s|%s|%s|%d", (int)l->why, S(l->dn),
			    S(l->account), S(l->address), S(l->detail),
			    l->plain_group), 1);
	}
	it = 0;
	while (strmap_next(&r->frozen_anchors, &it, &key, &v))
		bag_add(b, fmt("FA %s", key), strdup(""), 1);
	it = 0;
	while (strmap_next(&r->frozen_addresses, &it, &key, &v))
		bag_add(b, fmt("FD %s", key), strdup(""), 1);
}

static void
bag_free(struct bag *b)
{
	const char *key;
	void *v;
	size_t it = 0;

	while (strmap_next(&b->m, &it, &key, &v)) {
		struct item *i = v;

		free(i->key);
		free(i->val);
		free(i);
	}
	strmap_free(&b->m);
}

/*
 * full - before + after, into full.  Every item of before must be in full
 * as it is (the closure makes before's items exactly full's); warnings
 * are counted.  0, or -1 with *what saying which item broke the rule.
 */
static int
bag_apply(struct bag *full, const struct bag *before, const struct bag *after,
	  char *what, size_t whatlen)
{
	const char *key;
	void *v;
	size_t it = 0, i;

	for (i = 0; i < SC_NREASONS + 2; i++)
		full->counts[i] += after->counts[i] - before->counts[i];
	while (strmap_next(&before->m, &it, &key, &v)) {
		const struct item *b = v;
		struct item *f = strmap_get(&full->m, key);

		if (f == NULL || strcmp(f->val, b->val) != 0 ||
		    f->count < b->count) {
			snprintf(what, whatlen, "before has %s = %s x%ld, the "
				 "full run %s x%ld", key, b->val, b->count,
				 f != NULL ? f->val : "nothing",
				 f != NULL ? f->count : 0L);
			return -1;
		}
		bag_add(full, strdup(key), strdup(b->val), -b->count);
	}
	it = 0;
	while (strmap_next(&after->m, &it, &key, &v)) {
		const struct item *a = v;
		struct item *f = strmap_get(&full->m, key);

		if (f != NULL && key[0] != 'W') {
			snprintf(what, whatlen, "after adds %s = %s, the full "
				 "run still has %s", key, a->val, f->val);
			return -1;
		}
		bag_add(full, strdup(key), strdup(a->val), a->count);
	}
	return 0;
}

/* Same items and counts?  Prints the differences. */
static bool
bag_equal(const struct bag *x, const struct bag *y, const char *xn,
	  const char *yn)
{
	const struct bag *p[2] = {x, y};
	const char *name[2] = {xn, yn};
	const char *key;
	void *v;
	bool same = true;
	size_t i, k;

	for (i = 0; i < SC_NREASONS + 2; i++)
		if (x->counts[i] != y->counts[i]) {
			print_message("count %zu: %s %ld, %s %ld\n", i, xn,
				      x->counts[i], yn, y->counts[i]);
			same = false;
		}
	for (k = 0; k < 2; k++) {
		size_t it = 0;

		while (strmap_next(&p[k]->m, &it, &key, &v)) {
			const struct item *a = v, *b = strmap_get(&p[1 - k]->m,
								  key);

			if (b != NULL && strcmp(a->val, b->val) == 0 &&
			    a->count == b->count)
				continue;
			if (b != NULL && k == 1)
				continue;   /* printed once */
			print_message("%s: %s %s x%ld, %s %s x%ld\n", key,
				      name[k], a->val, a->count, name[1 - k],
				      b != NULL ? b->val : "-",
				      b != NULL ? b->count : 0L);
			same = false;
		}
	}
	return same;
}

/* ---- running both ways ---------------------------------------------- */

static void
full_rules(const struct conf *c, const struct dir *d, struct rules_result *r)
{
	struct rules_ctx *x;
	struct err err;
	size_t i;

	err_clear(&err);
	rules_init(r);
	r->now = NOW;
	x = rules_begin(c, r, &err);
	assert_non_null(x);
	for (i = 0; i < d->n; i++)
		rules_add(x, d->e[i]);
	assert_int_equal(rules_end(x, &err), 0);
}

/* The delta between two directories (by uuid); entries borrowed. */
static struct rules_change *
diff_dirs(const struct dir *old, const struct dir *new, size_t *n)
{
	struct rules_change *v = calloc(old->n + new->n + 1, sizeof(*v));
	size_t i, k = 0;

	assert_non_null(v);
	for (i = 0; i < new->n; i++) {
		long j = dir_find(old, new->uuid[i]);

		if (j >= 0 && new->e[i] == old->e[j])
			continue;
		v[k].uuid = new->uuid[i];
		v[k++].now = new->e[i];
	}
	for (i = 0; i < old->n; i++)
		if (dir_find(new, old->uuid[i]) < 0) {
			v[k].uuid = old->uuid[i];
			v[k++].now = NULL;
		}
	*n = k;
	return v;
}

/* Item kinds (bag key prefixes) and what a seed changed of them. */
static const char *const kinds[] = {"D ", "C ", "W ", "L ", "FA ", "FD "};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct outcome {
	int rc;                    /* rules_delta's */
	const char *why;
	size_t nset, finds, gets;
	bool equal;
	bool wrong_partial;        /* a partial list the old one lacks */
	/* a conflict began or ended (the frozen keys differ before and
	 * after): engine/rdelta.c declines such a delta, and a list patched
	 * from its members need not be exact then */
	bool frozen_moved;
	bool differs[NKINDS];      /* full(old) and full(new) differ in it */
};

/* Which kinds of items differ between x and y. */
static void
kinds_differing(const struct bag *x, const struct bag *y, bool *out)
{
	const struct bag *p[2] = {x, y};
	const char *key;
	void *v;
	size_t k, j;

	for (k = 0; k < 2; k++) {
		size_t it = 0;

		while (strmap_next(&p[k]->m, &it, &key, &v)) {
			const struct item *a = v, *b = strmap_get(&p[1 - k]->m,
								  key);

			if (b != NULL && strcmp(a->val, b->val) == 0 &&
			    a->count == b->count)
				continue;
			for (j = 0; j < NKINDS; j++)
				if (strncmp(key, kinds[j],
					    strlen(kinds[j])) == 0)
					out[j] = true;
		}
	}
}

/*
 * The partial lists made whole as engine/rdelta.c makes them
 * (rules_patch_want, rules_patch_lists), with the full result of the old
 * directory as the target and its conflicts as the frozen addresses:
 * lists alike on both sides, and their owners' objects alike, stay
 * partial (bag_of() leaves them out).  Lists that cannot be patched go
 * into w (the rules are to run again with them whole).  false: declined,
 * which the old result as the target never should (a partial list
 * before that the old list does not hold).
 */
static bool
whole_lists(const struct rules_result *full, struct rules_delta *rd,
	    struct rules_whole *w, const char *label)
{
	struct strmap want = STRMAP_INIT, frozen = STRMAP_INIT;
	const char *why = NULL;
	size_t i;
	int rc;

	for (i = 0; i < full->nconflicts; i++)
		strmap_put(&frozen, full->conflicts[i].address,
			   (void *)full->conflicts[i].address);
	rules_patch_want(rd, &want, w);
	rc = rules_patch_lists(rd, &want, &full->desired, &frozen, w, &why);
	if (rc == 1)
		print_message("%s: %s\n", label, why);
	strmap_free(&want);
	strmap_free(&frozen);
	return rc != 1;
}

/* After a call: keys_now told of every change still there, exactly
 * once, with rules_keys' keys; of none when the call declined. */
static void
keys_now_check(struct index *ix, int rc, const char *label)
{
	size_t i, there = 0;

	for (i = 0; i < ix->nch; i++)
		there += ix->ch[i].now != NULL;
	if (ix->keys_wrong != 0 || ix->keyed != (rc == 0 ? there : 0))
		print_message("%s: keys_now told %zu of %zu changes, %zu "
			      "wrong\n", label, ix->keyed, there,
			      ix->keys_wrong);
	assert_int_equal(ix->keys_wrong, 0);
	assert_int_equal(ix->keyed, rc == 0 ? there : 0);
	ix->keyed = 0;
}

/*
 * rules_delta over the change from old to new (new shares the entries it
 * did not change with old), checked against the full rules both ways.
 */
static struct outcome
check_delta(const struct conf *c, const struct dir *old, const struct dir *new,
	    size_t max, const char *label)
{
	struct rules_result fo, fn;
	struct rules_delta rd;
	struct rules_lookup lk;
	struct rules_change *ch;
	struct index ix;
	struct bag bo, bb, ba, bn;
	struct outcome out;
	struct err err;
	char what[2048];
	size_t n;

	memset(&out, 0, sizeof(out));
	memset(&lk, 0, sizeof(lk));
	index_build(&ix, c, old);
	full_rules(c, old, &fo);
	ix.full = &fo;
	lk.ctx = &ix;
	lk.get = lk_get;
	lk.find = lk_find;
	lk.contested = lk_contested;
	lk.keys_now = lk_keys_now;
	lk.nentries = old->n;
	ch = diff_dirs(old, new, &n);
	ix.c = c;
	ix.ch = ch;
	ix.nch = n;
	err_clear(&err);
	out.rc = rules_delta(c, &lk, ch, n, NOW, max, NULL, &rd, &out.why,
			     &err);
	assert_int_not_equal(out.rc, -1);
	keys_now_check(&ix, out.rc, label);
	if (out.rc == 0) {
		/* the engine's second call, with the lists to expand whole */
		struct rules_whole w;

		memset(&w, 0, sizeof(w));
		if (!whole_lists(&fo, &rd, &w, label))
			out.wrong_partial = true;
		if (w.ndns.len > 0) {
			struct rules_whole w2;

			memset(&w2, 0, sizeof(w2));
			rules_delta_free(&rd);
			out.rc = rules_delta(c, &lk, ch, n, NOW, max, &w.ndns,
					     &rd, &out.why, &err);
			assert_int_not_equal(out.rc, -1);
			keys_now_check(&ix, out.rc, label);
			if (out.rc == 0 && (!whole_lists(&fo, &rd, &w2, label) ||
					    w2.ndns.len > 0)) {
				print_message("%s: partial lists again\n",
					      label);
				out.wrong_partial = true;
			}
			rules_whole_free(&w2);
		}
		rules_whole_free(&w);
	}
	out.finds = ix.finds;
	out.gets = ix.gets;
	out.equal = true;
	if (out.rc == 0) {
		out.nset = rd.nset;
		full_rules(c, new, &fn);
		if (out.wrong_partial)
			out.equal = false;
		out.frozen_moved =
			!strmap_same_keys(&rd.before.frozen_anchors,
				     &rd.after.frozen_anchors) ||
			!strmap_same_keys(&rd.before.frozen_addresses,
				     &rd.after.frozen_addresses);
		bag_of(&bo, &fo);
		bag_of(&bn, &fn);
		bag_of(&bb, &rd.before);
		bag_of(&ba, &rd.after);
		kinds_differing(&bo, &bn, out.differs);
		if (bag_apply(&bo, &bb, &ba, what, sizeof(what)) != 0) {
			print_message("%s: %s\n", label, what);
			out.equal = false;
		} else if (!bag_equal(&bo, &bn, "full-before+after",
				      "full(new)")) {
			print_message("%s: not equal\n", label);
			out.equal = false;
		}
		bag_free(&bo);
		bag_free(&bn);
		bag_free(&bb);
		bag_free(&ba);
		rules_free(&fn);
		rules_delta_free(&rd);
	}
	rules_free(&fo);
	free(ch);
	index_free(&ix);
	return out;
}

/* ---- the random directories ------------------------------------------ */

struct rng {
	uint64_t s;
};

static unsigned
rnd(struct rng *g, unsigned n)
{
	g->s ^= g->s << 13;
	g->s ^= g->s >> 7;
	g->s ^= g->s << 17;
	return n > 0 ? (unsigned)(g->s % n) : 0;
}

static void
set_list(struct strlist *l, const char *const *items)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->n = 0;
	l->v = NULL;
	for (i = 0; items[i] != NULL; i++)
		;
	l->v = calloc(i ? i : 1, sizeof(char *));
	assert_non_null(l->v);
	for (i = 0; items[i] != NULL; i++)
		l->v[l->n++] = strdup(items[i]);
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

struct world {
	struct rng g;
	struct conf c;
	struct dir old, new;
	bool ad;
	unsigned next;             /* fresh names and uuids */
	char *dns[128];            /* DNs members may name (malloc'd) */
	size_t ndns;
	unsigned rids[32];         /* group RIDs */
	size_t nrids;
};

static const char *const domains[] = {
	"example.com", "example.com", "example.net", "example.local",
	"other.org",
};

/* An address from a small pool: shared and conflicting addresses. */
static char *
pool_addr(struct world *w)
{
	unsigned k = rnd(&w->g, 40);

	if (k == 39)
		return strdup("not an address");
	if (k == 38)
		return strdup("x/../y@example.com");
	return fmt("%s%u@%s", rnd(&w->g, 3) ? "a" : "A", k % 14,
		   domains[rnd(&w->g, 5)]);
}

static void
remember_dn(struct world *w, const char *dn)
{
	if (w->ndns < sizeof(w->dns) / sizeof(w->dns[0]))
		w->dns[w->ndns++] = strdup(dn);
}

/* A member value: mostly an entry's DN, sometimes one of no entry. */
static const char *
pick_dn(struct world *w)
{
	static char buf[128];

	if (w->ndns == 0 || rnd(&w->g, 12) == 0) {
		snprintf(buf, sizeof(buf), "uid=gone%u,ou=people,dc=example,dc=com",
			 rnd(&w->g, 3));
		return buf;
	}
	return w->dns[rnd(&w->g, (unsigned)w->ndns)];
}

static void
add_anchor(struct world *w, struct entry *e, const char *uuid)
{
	unsigned k = rnd(&w->g, 6);

	if (k == 0)
		return;              /* the DN is its anchor */
	if (k == 1 && w->ad) {
		unsigned char guid[16];
		size_t i;

		memset(guid, 0, sizeof(guid));
		for (i = 0; uuid[i] != '\0' && i < 16; i++)
			guid[i] = (unsigned char)uuid[i];
		ent_addb(e, "objectGUID", guid, 16);
		return;
	}
	ent_add(e, "entryUUID", uuid);
}

static void
mutate_mail(struct world *w, struct entry *e)
{
	char *a;

	switch (rnd(&w->g, 5)) {
	case 0:
		ent_del(e, "mail");
		break;
	case 1:
	case 2:
		a = pool_addr(w);
		ent_set(e, "mail", a);
		free(a);
		break;
	case 3:
		a = pool_addr(w);
		ent_add(e, "mail", a);
		free(a);
		break;
	default:
		if (ent_attr(e, "proxyAddresses") != NULL && rnd(&w->g, 3) == 0) {
			/* SMTP: <-> smtp: over the same addresses */
			struct attr *pa = ent_attr(e, "proxyAddresses");
			char *p = (char *)pa->vals[rnd(&w->g,
						       (unsigned)pa->nvals)].p;
			size_t i;

			for (i = 0; i < 4 && strncasecmp(p, "smtp:", 5) == 0;
			     i++)
				p[i] = (char)(p[i] ^ 0x20);   /* case */
		} else if (ent_attr(e, "proxyAddresses") != NULL &&
			   rnd(&w->g, 2))
			ent_del_val(e, "proxyAddresses", 0);
		else {
			char *p;

			a = pool_addr(w);
			p = fmt("%s%s", rnd(&w->g, 3) == 0 ? "SMTP:" : "smtp:",
				a);
			ent_add(e, "proxyAddresses", p);
			free(p);
			free(a);
		}
		break;
	}
}

static void
mutate_flags(struct world *w, struct entry *e)
{
	char buf[32];

	switch (rnd(&w->g, 7)) {
	case 6: {
		/* a computer now, or no more: not an object of the rules */
		struct attr *oc = ent_attr(e, "objectClass");
		size_t i;

		for (i = 0; oc != NULL && i < oc->nvals; i++)
			if (strcmp(oc->vals[i].p, "computer") == 0)
				break;
		if (oc != NULL && i < oc->nvals)
			ent_del_val(e, "objectClass", i);
		else
			ent_add(e, "objectClass", "computer");
		break;
	}
	case 0:
		if (ent_attr(e, "nsAccountLock") != NULL)
			ent_del(e, "nsAccountLock");
		else
			ent_set(e, "nsAccountLock", "TRUE");
		break;
	case 1:
		if (ent_attr(e, "msExchHideFromAddressLists") != NULL)
			ent_del(e, "msExchHideFromAddressLists");
		else
			ent_set(e, "msExchHideFromAddressLists", "TRUE");
		break;
	case 2:
		snprintf(buf, sizeof(buf), "%ld",
			 rnd(&w->g, 2) ? 1L : (long)(NOW / 86400) + 30);
		ent_set(e, "shadowExpire", buf);
		break;
	case 3:
		ent_set(e, "displayName", rnd(&w->g, 2) ? "Pia Kern" : "Ole");
		break;
	case 4:
		ent_set(e, "userAccountControl", rnd(&w->g, 2) ? "514" : "512");
		break;
	default:
		if (w->ad && w->nrids > 0) {
			snprintf(buf, sizeof(buf), "%u",
				 w->rids[rnd(&w->g, (unsigned)w->nrids)]);
			ent_set(e, "primaryGroupID", buf);
		}
		break;
	}
}

/* A DN as another server or tool may spell it (same DN to LDAP). */
static char *
respell(struct world *w, const char *dn, bool unique)
{
	char *s = strdup(dn), *p;

	switch (rnd(&w->g, 6)) {
	case 0:
		for (p = s; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z' && rnd(&w->g, 2))
				*p = (char)(*p - 'a' + 'A');
		break;
	case 1:
		if ((p = strchr(s, ',')) != NULL) {
			char *t = fmt("%.*s, %s", (int)(p - s), s, p + 1);

			free(s);
			s = t;
		}
		break;
	case 2:
		if (unique) {
			char *t = fmt("%s#'0101'B", s);

			free(s);
			s = t;
		}
		break;
	default:
		break;
	}
	return s;
}

static void
mutate_members(struct world *w, struct entry *e)
{
	bool unique = rnd(&w->g, 4) == 0;
	const char *attr = unique ? "uniqueMember" : "member";
	struct attr *a = ent_attr(e, attr);
	char *v;

	if (a != NULL && rnd(&w->g, 2)) {
		ent_del_val(e, attr, rnd(&w->g, (unsigned)a->nvals));
		return;
	}
	v = respell(w, pick_dn(w), unique);
	ent_add(e, attr, v);
	free(v);
}

static struct entry *
gen_user(struct world *w, const char *uuid)
{
	char *dn = fmt("uid=u%u,ou=people,dc=example,dc=com", w->next++);
	struct entry *e = ent_new(dn);
	char buf[64];
	unsigned i, n;

	if (w->ad) {
		ent_add(e, "objectClass", "user");
		snprintf(buf, sizeof(buf), "S-1-5-21-1-2-3-%u", 2000 + w->next);
		ent_add(e, "objectSid", buf);
		if (rnd(&w->g, 3)) {
			snprintf(buf, sizeof(buf), "%u",
				 w->nrids > 0 && rnd(&w->g, 2)
					 ? w->rids[rnd(&w->g, (unsigned)w->nrids)]
					 : 513u);
			ent_add(e, "primaryGroupID", buf);
		}
	} else {
		ent_add(e, "objectClass", "inetOrgPerson");
	}
	ent_add(e, "uid", strchr(dn, '=') + 1);
	ent_add(e, "cn", uuid);
	add_anchor(w, e, uuid);
	n = rnd(&w->g, 3);
	for (i = 0; i < n; i++)
		mutate_mail(w, e);
	if (rnd(&w->g, 3) == 0) {
		snprintf(buf, sizeof(buf), "%s@example.com", uuid);
		ent_add(e, "userPrincipalName", buf);
	}
	if (rnd(&w->g, 3) == 0)
		mutate_flags(w, e);
	remember_dn(w, dn);
	free(dn);
	return e;
}

static struct entry *
gen_contact(struct world *w, const char *uuid)
{
	char *dn = fmt("cn=c%u,ou=contacts,dc=example,dc=com", w->next++);
	struct entry *e = ent_new(dn);
	char *a;

	ent_add(e, "objectClass", "contact");
	ent_add(e, "cn", uuid);
	add_anchor(w, e, uuid);
	if (rnd(&w->g, 3)) {
		a = fmt("SMTP:ext%u@other.org", rnd(&w->g, 4));
		ent_add(e, "targetAddress", a);
		free(a);
	}
	mutate_mail(w, e);
	if (rnd(&w->g, 2))
		mutate_mail(w, e);
	remember_dn(w, dn);
	free(dn);
	return e;
}

static struct entry *
gen_group(struct world *w, const char *uuid)
{
	char *dn = fmt("cn=g%u,ou=groups,dc=example,dc=com", w->next++);
	struct entry *e = ent_new(dn);
	char buf[64];
	unsigned i, n;

	if (w->ad) {
		unsigned rid = rnd(&w->g, 4) == 0 ? 513u : 1100u + w->next;

		ent_add(e, "objectClass", "group");
		snprintf(buf, sizeof(buf), "S-1-5-21-1-2-3-%u", rid);
		/* one Domain Users at most: objectSid is unique */
		for (i = 0; i < w->nrids && rid == 513; i++)
			if (w->rids[i] == 513)
				rid = 1100u + w->next;
		snprintf(buf, sizeof(buf), "S-1-5-21-1-2-3-%u", rid);
		ent_add(e, "objectSid", buf);
		if (w->nrids < sizeof(w->rids) / sizeof(w->rids[0]))
			w->rids[w->nrids++] = rid;
	} else {
		ent_add(e, "objectClass",
			rnd(&w->g, 4) ? "groupOfNames" : "groupOfUniqueNames");
	}
	ent_add(e, "cn", uuid);
	add_anchor(w, e, uuid);
	if (rnd(&w->g, 3))
		mutate_mail(w, e);
	n = rnd(&w->g, 5);
	remember_dn(w, dn);     /* before its members: it may name itself */
	for (i = 0; i < n; i++)
		mutate_members(w, e);
	free(dn);
	return e;
}

static struct entry *
gen_any(struct world *w, const char *uuid)
{
	unsigned k = rnd(&w->g, 10);

	if (k < 5)
		return gen_user(w, uuid);
	if (k < 7)
		return gen_group(w, uuid);
	if (k < 9)
		return gen_contact(w, uuid);
	{
		char *dn = fmt("cn=pc%u,ou=computers,dc=example,dc=com",
			       w->next++);
		struct entry *e = ent_new(dn);

		ent_add(e, "objectClass", "computer");
		ent_add(e, "objectClass", "user");
		ent_add(e, "cn", uuid);
		ent_add(e, "mail", "a1@example.com");
		remember_dn(w, dn);
		free(dn);
		return e;
	}
}

static void
gen_conf(struct world *w)
{
	conf_defaults(&w->c);
	set_list(&w->c.mapping.accepted_domains,
		 LIST("example.com", "example.net"));
	set_list(&w->c.mapping.domain_rewrite,
		 LIST("example.local=example.com"));
	w->c.scope.enabled_only = rnd(&w->g, 4) != 0;
	w->c.scope.visible_only = rnd(&w->g, 2) != 0;
	w->c.scope.mail_enabled_only = rnd(&w->g, 3) != 0;
	if (rnd(&w->g, 8) == 0)
		set_list(&w->c.scope.exclude, LIST("a3@*"));
	if (rnd(&w->g, 8) == 0)
		w->c.scope.object_types &= ~(unsigned)OT_CONTACTS;
	if (rnd(&w->g, 5) == 0) {
		free(w->c.mapping.group_filter);
		w->c.mapping.group_filter =
			strdup("(|(objectClass=groupOfUniqueNames)(mail=a1*)"
			       "(objectClass=group))");
	}
}

/* The old directory: users, contacts, groups (nested, cycles), maybe AD. */
static void
gen_old(struct world *w)
{
	unsigned i, n = 10 + rnd(&w->g, rnd(&w->g, 5) == 0 ? 60 : 20);
	char uuid[32];

	w->ad = rnd(&w->g, 3) == 0;
	for (i = 0; i < n; i++) {
		snprintf(uuid, sizeof(uuid), "id%u", w->next++);
		dir_put(&w->old, uuid, gen_any(w, uuid));
	}
	/* groups once more: they may name what came after them */
	for (i = 0; i < w->old.n; i++)
		if (ent_attr(w->old.e[i], "member") != NULL && rnd(&w->g, 2))
			mutate_members(w, w->old.e[i]);
	if (rnd(&w->g, 4) == 0) {
		/* [scope] member_of: one or two groups, or one not there */
		const char *g[4] = {NULL, NULL, NULL, NULL};
		size_t k = 0;

		for (i = 0; i < w->old.n && k < 2; i++)
			if (strncmp(w->old.e[i]->dn, "cn=g", 4) == 0 &&
			    rnd(&w->g, 2))
				g[k++] = w->old.e[i]->dn;
		if (k == 0 || rnd(&w->g, 5) == 0)
			g[k++] = "cn=nothere,ou=groups,dc=example,dc=com";
		g[k] = NULL;
		set_list(&w->c.scope.member_of, g);
	}
}

/*
 * As AD and OpenLDAP's refint overlay do on a rename: every group naming
 * the old DN names the new one instead (a change of each such group).
 */
static void
refint(struct world *w, const char *from, const char *to)
{
	static const char *const attrs[] = {"member", "uniqueMember"};
	char *nfrom = dn_normalize(from);
	size_t i, j, k;

	for (i = 0; i < w->new.n; i++) {
		struct entry *e = w->new.e[i];
		bool names = false;

		for (k = 0; k < 2 && !names; k++) {
			const struct attr *a = ent_attr(e, attrs[k]);

			for (j = 0; a != NULL && j < a->nvals && !names; j++) {
				char *n = dn_normalize(a->vals[j].p);

				names = strcmp(n, nfrom) == 0;
				free(n);
			}
		}
		if (!names)
			continue;
		if (dir_find(&w->old, w->new.uuid[i]) >= 0 &&
		    w->old.e[dir_find(&w->old, w->new.uuid[i])] == e)
			e = w->new.e[i] = ent_clone(e, NULL);
		for (k = 0; k < 2; k++) {
			struct attr *a = ent_attr(e, attrs[k]);

			for (j = 0; a != NULL && j < a->nvals; j++) {
				char *n = dn_normalize(a->vals[j].p);

				if (strcmp(n, nfrom) == 0) {
					free((char *)a->vals[j].p);
					a->vals[j].p = strdup(to);
					a->vals[j].len = strlen(to);
				}
				free(n);
			}
		}
	}
	free(nfrom);
}

/* A random delta: new starts as old (sharing entries) and changes. */
static void
gen_new(struct world *w)
{
	unsigned i, n = 1 + rnd(&w->g, rnd(&w->g, 4) == 0 ? 10 : 4);
	char uuid[32];
	char *freed = NULL;

	for (i = 0; i < w->old.n; i++)
		dir_put(&w->new, w->old.uuid[i], w->old.e[i]);
	for (i = 0; i < n; i++) {
		unsigned op = rnd(&w->g, 10);
		size_t j = w->new.n > 0 ? rnd(&w->g, (unsigned)w->new.n) : 0;
		struct entry *e;

		if (op < 2 || w->new.n == 0) {
			/* an add, sometimes at a DN just freed */
			snprintf(uuid, sizeof(uuid), "id%u", w->next++);
			e = gen_any(w, uuid);
			if (freed != NULL && rnd(&w->g, 2)) {
				free((char *)e->dn);
				e->dn = freed;
				freed = NULL;
			}
			dir_put(&w->new, uuid, e);
			continue;
		}
		if (dir_find(&w->old, w->new.uuid[j]) < 0 ||
		    w->new.e[j] != w->old.e[dir_find(&w->old, w->new.uuid[j])])
			continue;    /* changed already: one change each */
		if (op < 3) {
			/* a delete */
			free(freed);
			freed = strdup(w->new.e[j]->dn);
			dir_take(&w->new, j);
			continue;
		}
		if (op < 5) {
			/* a rename: the same uuid, another DN (or the same
			 * spelt otherwise) */
			char *dn = freed != NULL && rnd(&w->g, 2)
					   ? freed
				   : rnd(&w->g, 3) == 0
					   ? respell(w, w->new.e[j]->dn, false)
					   : fmt("cn=r%u,ou=moved,dc=example,"
						 "dc=com", w->next++);

			if (dn == freed)
				freed = NULL;
			e = ent_clone(w->new.e[j], dn);
			if (rnd(&w->g, 2))
				mutate_mail(w, e);
			w->new.e[j] = e;
			if (rnd(&w->g, 2))
				refint(w, w->old.e[dir_find(&w->old,
							     w->new.uuid[j])]->dn,
				       dn);
			free(dn);
			continue;
		}
		e = ent_clone(w->new.e[j], NULL);
		if (op < 7)
			mutate_mail(w, e);
		else if (op < 8 || ent_attr(e, "member") == NULL)
			mutate_flags(w, e);
		else
			mutate_members(w, e);
		if (rnd(&w->g, 3) == 0)
			mutate_members(w, e);
		w->new.e[j] = e;
	}
	free(freed);
}

static void
world_free(struct world *w)
{
	size_t i;

	/* entries of new that are not old's are new's own */
	for (i = 0; i < w->new.n; i++) {
		long j = dir_find(&w->old, w->new.uuid[i]);

		if (j < 0 || w->old.e[j] != w->new.e[i])
			ent_free(w->new.e[i]);
		free(w->new.uuid[i]);
	}
	free(w->new.uuid);
	free(w->new.e);
	strmap_free(&w->new.pos);
	dir_free(&w->old);
	for (i = 0; i < w->ndns; i++)
		free(w->dns[i]);
	conf_free(&w->c);
}

/* Declines rules_delta documents, for the case at hand. */
static bool
decline_ok(const struct world *w, const char *why)
{
	if (why == NULL)
		return false;
	if (strstr(why, "member_of") != NULL)
		return w->c.scope.member_of.n > 0;
	return false;
}

#define NSEEDS 600

static void
dump_entry(const char *tag, const char *uuid, const struct entry *e)
{
	size_t i, j;

	print_message("%s %s dn: %s\n", tag, uuid, e->dn);
	for (i = 0; i < e->nattrs; i++)
		for (j = 0; j < e->attrs[i].nvals; j++)
			print_message("    %s: %s\n", e->attrs[i].name,
				      e->attrs[i].vals[j].len == 16 &&
					      strcmp(e->attrs[i].name,
						     "objectGUID") == 0
				      ? "(guid)" : e->attrs[i].vals[j].p);
}

/* RDELTA_SEED=n: the directories and the delta of seed n. */
static void
dump_world(const struct world *w)
{
	size_t i;

	for (i = 0; i < w->c.scope.member_of.n; i++)
		print_message("member_of %s\n", w->c.scope.member_of.v[i]);
	print_message("group_filter %s\n", S(w->c.mapping.group_filter));
	for (i = 0; i < w->old.n; i++)
		dump_entry("old", w->old.uuid[i], w->old.e[i]);
	for (i = 0; i < w->new.n; i++) {
		long j = dir_find(&w->old, w->new.uuid[i]);

		if (j < 0 || w->old.e[j] != w->new.e[i])
			dump_entry("NEW", w->new.uuid[i], w->new.e[i]);
	}
	for (i = 0; i < w->old.n; i++)
		if (dir_find(&w->new, w->old.uuid[i]) < 0)
			print_message("GONE %s\n", w->old.uuid[i]);
}

static void
test_random_equivalence(void **state)
{
	size_t seed, declined = 0, done = 0, bad = 0, moved = 0, sumset = 0, sumdir = 0;
	size_t sumfinds = 0, sumgets = 0;
	size_t differs[NKINDS] = {0}, j;

	const char *only = getenv("RDELTA_SEED");
	/* RDELTA_SEEDS=n: more seeds, by hand */
	size_t nseeds = getenv("RDELTA_SEEDS") != NULL
				? (size_t)atol(getenv("RDELTA_SEEDS"))
				: NSEEDS;

	(void)state;
	for (seed = 1; seed <= nseeds; seed++) {
		struct world w;
		struct outcome o;
		char label[64];

		memset(&w, 0, sizeof(w));
		w.g.s = 0x9e3779b97f4a7c15ULL * seed;
		gen_conf(&w);
		gen_old(&w);
		gen_new(&w);
		if (only != NULL && (size_t)atol(only) != seed) {
			world_free(&w);
			continue;
		}
		if (only != NULL)
			dump_world(&w);
		snprintf(label, sizeof(label), "seed %zu", seed);
		o = check_delta(&w.c, &w.old, &w.new, 100000, label);
		if (o.rc == 1) {
			declined++;
			if (!decline_ok(&w, o.why)) {
				print_message("%s: declined: %s\n", label,
					      o.why);
				bad++;
			}
		} else {
			done++;
			sumset += o.nset;
			sumdir += w.old.n;
			sumfinds += o.finds;
			sumgets += o.gets;
			for (j = 0; j < NKINDS; j++)
				differs[j] += o.differs[j];
			if (!o.equal && o.frozen_moved)
				moved++;    /* the engine declines it */
			else if (!o.equal)
				bad++;
		}
		world_free(&w);
	}
	print_message("%zu seeds: %zu done (S %zu of %zu entries, %zu "
		      "lookups by key, %zu by uuid), %zu declined, %zu wrong, "
		      "%zu not exact with a conflict begun or ended (the "
		      "engine declines those)\n", nseeds, done, sumset, sumdir,
		      sumfinds, sumgets, declined, bad, moved);
	print_message("seeds whose delta changed desired objects %zu, "
		      "conflicts %zu, warnings %zu, left_out %zu, frozen "
		      "anchors %zu, frozen addresses %zu\n", differs[0],
		      differs[1], differs[2], differs[3], differs[4],
		      differs[5]);
	assert_int_equal(bad, 0);
	/* every kind of item changed in some seeds */
	for (j = 0; j < NKINDS && only == NULL; j++)
		assert_true(differs[j] >= 10);
	/* most deltas must be done, not declined */
	assert_true(only != NULL || done > nseeds * 3 / 4);
}

/* ---- directed cases ------------------------------------------------- */

/* mk("dn", "attr", "value", ..., NULL) */
static struct entry *
mk(const char *dn, ...)
{
	struct entry *e = ent_new(dn);
	const char *n, *v;
	va_list ap;

	va_start(ap, dn);
	while ((n = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		ent_add(e, n, v);
	}
	va_end(ap);
	return e;
}

/* The last read and the directory now; new shares old's entries. */
struct pair {
	struct conf c;
	struct dir old, new;
};

static void
pair_init(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	conf_defaults(&p->c);
	set_list(&p->c.mapping.accepted_domains, LIST("example.com"));
}

/* In both. */
static void
both(struct pair *p, const char *uuid, struct entry *e)
{
	dir_put(&p->old, uuid, e);
	dir_put(&p->new, uuid, e);
}

/* Changed (or added when not in old) in new. */
static void
now(struct pair *p, const char *uuid, struct entry *e)
{
	long j = dir_find(&p->new, uuid);

	if (j < 0) {
		dir_put(&p->new, uuid, e);
		return;
	}
	if (dir_find(&p->old, uuid) < 0 ||
	    p->old.e[dir_find(&p->old, uuid)] != p->new.e[j])
		ent_free(p->new.e[j]);
	p->new.e[j] = e;
}

static void
gone(struct pair *p, const char *uuid)
{
	long j = dir_find(&p->new, uuid);

	assert_true(j >= 0);
	dir_take(&p->new, (size_t)j);
}

static void
pair_free(struct pair *p)
{
	struct world w;

	memset(&w, 0, sizeof(w));
	w.old = p->old;
	w.new = p->new;
	w.c = p->c;
	world_free(&w);
}

/* Done, and equal to the full rules; returns S's size. */
static size_t
expect_equal(struct pair *p)
{
	struct outcome o = check_delta(&p->c, &p->old, &p->new, 1000,
				       "directed");

	if (o.rc != 0)
		fail_msg("declined: %s", o.why);
	assert_true(o.equal);
	return o.nset;
}

static const char *
expect_declined(struct pair *p, size_t max)
{
	struct outcome o = check_delta(&p->c, &p->old, &p->new, max,
				       "directed");

	assert_int_equal(o.rc, 1);
	assert_non_null(o.why);
	return o.why;
}

#define PEOPLE(x) "uid=" x ",ou=people,dc=example,dc=com"
#define GROUPS(x) "cn=" x ",ou=groups,dc=example,dc=com"
#define USER(uid, ...) mk(PEOPLE(uid), "objectClass", "inetOrgPerson", \
			  "uid", uid, "entryUUID", uid, __VA_ARGS__, NULL)
#define GROUP(cn, ...) mk(GROUPS(cn), "objectClass", "groupOfNames", \
			  "cn", cn, "entryUUID", cn, __VA_ARGS__, NULL)

/* Has full(new) the warning / the conflict?  For the cases' own sake. */
static bool
full_has(struct pair *p, const char *prefix)
{
	struct rules_result r;
	struct bag b;
	const char *key;
	void *v;
	size_t it = 0;
	bool has = false;

	full_rules(&p->c, &p->new, &r);
	bag_of(&b, &r);
	while (strmap_next(&b.m, &it, &key, &v))
		has |= strncmp(key, prefix, strlen(prefix)) == 0;
	bag_free(&b);
	rules_free(&r);
	return has;
}

/* A conflict appears through a changed address, and goes again. */
static void
test_conflict_through_address(void **state)
{
	struct pair p;

	(void)state;
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com",
			     "proxyAddresses", "smtp:sales@example.com"));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	both(&p, "all", GROUP("all", "mail", "all@example.com",
			      "member", PEOPLE("ann"), "member", PEOPLE("bob")));
	both(&p, "eve", USER("eve", "mail", "eve@example.com"));
	now(&p, "bob", USER("bob", "mail", "bob@example.com",
			    "proxyAddresses", "smtp:sales@example.com"));
	assert_true(full_has(&p, "C sales@example.com"));
	assert_int_equal(expect_equal(&p), 3);   /* not eve */
	pair_free(&p);

	/* the primary itself contested: ann frozen, and out of "all" */
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	both(&p, "all", GROUP("all", "mail", "all@example.com",
			      "member", PEOPLE("ann")));
	now(&p, "bob", USER("bob", "mail", "ann@example.com"));
	assert_true(full_has(&p, "FA ann"));
	expect_equal(&p);
	pair_free(&p);

	/* and gone: bob gives the address back */
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "bob", USER("bob", "mail", "ann@example.com"));
	both(&p, "all", GROUP("all", "mail", "all@example.com",
			      "member", PEOPLE("ann")));
	now(&p, "bob", USER("bob", "mail", "bob@example.com"));
	assert_false(full_has(&p, "C ann@example.com"));
	expect_equal(&p);
	pair_free(&p);
}

/*
 * A list patched from its members (not expanded whole) keeps a member
 * that one path lost and another still gives: ann leaves eng but stays
 * in ops, and both are in all.  Found only by following ann UP from the
 * cut (F_CUT): ops itself did not change.  With bob in all too, all is
 * not left empty (an empty one would be expanded whole again).  And a
 * member that goes from its only path leaves the list.
 */
static void
test_cut_keeps_other_path(void **state)
{
	struct pair p;
	int other;

	(void)state;
	for (other = 0; other < 2; other++) {
		pair_init(&p);
		both(&p, "ann", USER("ann", "mail", "ann@example.com"));
		both(&p, "bob", USER("bob", "mail", "bob@example.com"));
		both(&p, "eng", GROUP("eng", "member", PEOPLE("ann")));
		if (other)
			both(&p, "ops", GROUP("ops", "member", PEOPLE("ann")));
		else
			both(&p, "ops", GROUP("ops", "member", PEOPLE("eve")));
		both(&p, "all", GROUP("all", "mail", "all@example.com",
				      "member", GROUPS("eng"), "member",
				      GROUPS("ops"), "member", PEOPLE("bob")));
		now(&p, "eng", GROUP("eng", "member", PEOPLE("eve")));
		expect_equal(&p);
		pair_free(&p);
	}
}

/*
 * One address given to a list by two members (seed 39725 of the random
 * test).  Contacts claim no external address, so two contacts may share
 * one, and a contact's external address may be a user's primary: both
 * give it to the lists they are in, and no conflict says so.  When one
 * giver (a) stops giving it to a list patched from its members, the
 * other (b), elsewhere in the list, still gives it: b must be in the
 * closure, followed UP, or the patch takes the address out.  Every way
 * a stops: hidden, gone, another address, made a group by a member
 * value (the contact nests u now), both (the seed), cut from its path (an
 * unchanged stand-in), cut with a change nothing else reads, under a
 * group that takes an address (every member cut) and drops a, and the
 * user of a and b no more giving x once another user claims it; a and b
 * reach "all" directly or through a plain group each; contacts and
 * users both ways.
 */
enum give_stop { GS_HIDDEN, GS_GONE, GS_READDRESS, GS_NESTS, GS_CUT,
		 GS_CUT_LOCAL, GS_RESHAPED, GS_CONTESTED, GS_SEED, GS_NSTOPS };

#define CONTACTS(x) "cn=" x ",ou=contacts,dc=example,dc=com"

/* A giver of addr: a contact (its external address) or a user. */
static struct entry *
giver(bool contact, const char *name, const char *addr, const char *n1,
      const char *v1)
{
	char dn[128], smtp[128];

	snprintf(smtp, sizeof(smtp), "SMTP:%s", addr);
	if (contact) {
		snprintf(dn, sizeof(dn), CONTACTS("%s"), name);
		return mk(dn, "objectClass", "contact", "cn", name,
			  "entryUUID", name, "targetAddress", smtp, n1, v1,
			  NULL);
	}
	snprintf(dn, sizeof(dn), PEOPLE("%s"), name);
	return mk(dn, "objectClass", "inetOrgPerson", "uid", name,
		  "entryUUID", name, "mail", addr, n1, v1, NULL);
}

static bool
shared_case(bool a_contact, bool b_contact, bool a_nested, bool b_nested,
	    enum give_stop how)
{
	const char *x = a_contact && b_contact ? "x@other.org"
					       : "x@example.com";
	const char *y = a_contact ? "y@other.org" : "y@example.com";
	char adn[128], bdn[128], label[96];
	struct entry *all, *all_now, *a_now;
	struct outcome o;
	struct pair p;

	snprintf(adn, sizeof(adn), a_contact ? CONTACTS("%s") : PEOPLE("%s"),
		 "a");
	snprintf(bdn, sizeof(bdn), b_contact ? CONTACTS("%s") : PEOPLE("%s"),
		 "b");
	pair_init(&p);
	p.c.scope.visible_only = true;
	both(&p, "a", giver(a_contact, "a", x, NULL, NULL));
	both(&p, "b", giver(b_contact, "b", x, NULL, NULL));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	both(&p, "u", USER("u", "mail", "u@example.com"));
	both(&p, "c", USER("c", "mail", "c@example.com"));
	both(&p, "eng", a_nested ? GROUP("eng", "member", adn)
				 : GROUP("eng", "member", PEOPLE("bob")));
	both(&p, "ops", b_nested ? GROUP("ops", "member", bdn)
				 : GROUP("ops", "member", PEOPLE("bob")));
	all = GROUP("all", "mail", "all@example.com", "member", PEOPLE("bob"),
		    "member", GROUPS("eng"), "member", GROUPS("ops"),
		    a_nested ? NULL : "member", adn);
	if (!b_nested)
		ent_add(all, "member", bdn);
	both(&p, "all", all);
	switch (how) {
	case GS_HIDDEN:
		now(&p, "a", giver(a_contact, "a", x,
				   "msExchHideFromAddressLists", "TRUE"));
		break;
	case GS_GONE:
		gone(&p, "a");
		break;
	case GS_READDRESS:
		now(&p, "a", giver(a_contact, "a", y, NULL, NULL));
		break;
	case GS_NESTS:
		now(&p, "a", giver(a_contact, "a", x, "member", PEOPLE("u")));
		break;
	case GS_SEED:       /* seed 39725: hidden, and nests u */
		a_now = giver(a_contact, "a", x, "msExchHideFromAddressLists",
			      "TRUE");
		ent_add(a_now, "member", PEOPLE("u"));
		now(&p, "a", a_now);
		break;
	case GS_CONTESTED:  /* c claims x: the user of a and b gives it no more */
		now(&p, "c", USER("c", "mail", "c@example.com",
				  "proxyAddresses", "smtp:x@example.com"));
		break;
	case GS_RESHAPED:   /* eng takes an address and drops a */
		now(&p, "eng", GROUP("eng", "mail", "eng@example.com",
				     "member", PEOPLE("u")));
		break;
	case GS_CUT_LOCAL:
		now(&p, "a", giver(a_contact, "a", x, "displayName", "A"));
		/* FALLTHROUGH */
	case GS_CUT:
		if (a_nested) {
			now(&p, "eng", GROUP("eng", "member", PEOPLE("u")));
			break;
		}
		all_now = GROUP("all", "mail", "all@example.com", "member",
				PEOPLE("bob"), "member", GROUPS("eng"),
				"member", GROUPS("ops"));
		if (!b_nested)
			ent_add(all_now, "member", bdn);
		now(&p, "all", all_now);
		break;
	default:
		break;
	}
	snprintf(label, sizeof(label), "a %s%s, b %s%s, stop %d",
		 a_contact ? "contact" : "user", a_nested ? " nested" : "",
		 b_contact ? "contact" : "user", b_nested ? " nested" : "",
		 (int)how);
	assert_true(full_has(&p, "D all@example.com"));
	o = check_delta(&p.c, &p.old, &p.new, 1000, label);
	if (o.rc != 0)
		print_message("%s: declined: %s\n", label, o.why);
	pair_free(&p);
	return o.rc == 0 && o.equal;
}

static void
test_shared_address_other_giver(void **state)
{
	int who, an, bn, how, bad = 0, n = 0;

	(void)state;
	for (who = 0; who < 3; who++)   /* cc, cu, uc */
		for (an = 0; an < 2; an++)
			for (bn = 0; bn < 2; bn++)
				for (how = 0; how < GS_NSTOPS; how++) {
					/* a keeps giving x: no case */
					if ((how == GS_RESHAPED && !an) ||
					    (how == GS_CONTESTED && who == 0))
						continue;
					n++;
					bad += !shared_case(who != 2,
							    who != 1, an, bn,
							    (enum give_stop)how);
				}
	if (bad > 0)
		print_message("%d of %d cases wrong\n", bad, n);
	assert_int_equal(bad, 0);
}

/* A user joins a nested group: the lists above it, to the top, change. */
static void
test_join_nested_group(void **state)
{
	struct pair p;

	(void)state;
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	both(&p, "eng", GROUP("eng", "member", PEOPLE("ann")));   /* plain */
	both(&p, "rnd", GROUP("rnd", "member", GROUPS("eng")));   /* plain */
	both(&p, "all", GROUP("all", "mail", "all@example.com",
			      "member", GROUPS("rnd")));
	both(&p, "other", GROUP("other", "mail", "other@example.com",
				"member", PEOPLE("eve")));
	now(&p, "eng", GROUP("eng", "member", PEOPLE("ann"),
			     "member", PEOPLE("bob")));
	expect_equal(&p);
	pair_free(&p);
}

/* A group renamed: with the groups naming it rewritten, and without. */
static void
test_group_renamed(void **state)
{
	struct pair p;
	int refint;

	(void)state;
	for (refint = 0; refint < 2; refint++) {
		pair_init(&p);
		both(&p, "ann", USER("ann", "mail", "ann@example.com"));
		both(&p, "eng", GROUP("eng", "member", PEOPLE("ann")));
		both(&p, "all", GROUP("all", "mail", "all@example.com",
				      "member", GROUPS("eng")));
		now(&p, "eng", mk(GROUPS("dev"), "objectClass", "groupOfNames",
				  "cn", "dev", "entryUUID", "eng", "member",
				  PEOPLE("ann"), NULL));
		if (refint)
			now(&p, "all", GROUP("all", "mail", "all@example.com",
					     "member", GROUPS("dev")));
		else   /* "all" names nobody now: warned, and not created */
			assert_true(full_has(&p, "W " GROUPS("all")));
		expect_equal(&p);
		pair_free(&p);
	}
}

/*
 * A group renamed onto a DN a list names (dangling until now): the list
 * takes its members in, found by the group's new DN only.
 */
static void
test_renamed_onto_dangling_member(void **state)
{
	struct pair p;

	(void)state;
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "eng", GROUP("eng", "member", PEOPLE("ann")));
	both(&p, "all", GROUP("all", "mail", "all@example.com",
			      "member", GROUPS("dev"), "member",
			      PEOPLE("bob")));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	now(&p, "eng", mk(GROUPS("dev"), "objectClass", "groupOfNames",
			  "cn", "dev", "entryUUID", "eng", "member",
			  PEOPLE("ann"), NULL));
	expect_equal(&p);
	pair_free(&p);
}

/*
 * A user deleted with no refint: two lists (one far from the change
 * through nesting) keep naming it; the warning names the least DN.
 */
static void
test_delete_leaves_dangling(void **state)
{
	struct pair p;

	(void)state;
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	both(&p, "zz", GROUP("zz", "mail", "zz@example.com",
			     "member", PEOPLE("ann"), "member", PEOPLE("bob")));
	both(&p, "aa", GROUP("aa", "member", PEOPLE("ann")));
	both(&p, "top", GROUP("top", "mail", "top@example.com",
			      "member", GROUPS("aa"), "member", PEOPLE("bob")));
	both(&p, "cc", GROUP("cc", "mail", "cc@example.com",
			     "member", PEOPLE("gone"), "member", PEOPLE("bob")));
	gone(&p, "ann");
	assert_true(full_has(&p, "W " GROUPS("aa") ": member " PEOPLE("ann")));
	expect_equal(&p);
	pair_free(&p);
}

/*
 * Changes other entries read though the keys stay: a group's DN spelt
 * otherwise (the warnings name it as spelt), and SMTP: moved to another
 * of the same addresses (the lists take the primary).  And one they do
 * not: a display name, read by no list (S is the user alone).
 */
static void
test_same_keys_changes(void **state)
{
	struct pair p;

	(void)state;
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "eng", GROUP("eng", "member", PEOPLE("ann"), "member",
			      PEOPLE("gone")));
	both(&p, "all", GROUP("all", "mail", "all@example.com",
			      "member", GROUPS("eng")));
	now(&p, "eng", mk("CN=Eng,OU=Groups,DC=example,DC=com", "objectClass",
			  "groupOfNames", "cn", "eng", "entryUUID", "eng",
			  "member", PEOPLE("ann"), "member", PEOPLE("gone"),
			  NULL));
	expect_equal(&p);
	pair_free(&p);

	pair_init(&p);
	both(&p, "ann", USER("ann", "proxyAddresses", "SMTP:ann@example.com",
			     "proxyAddresses", "smtp:a.k@example.com"));
	both(&p, "all", GROUP("all", "mail", "all@example.com",
			      "member", PEOPLE("ann")));
	now(&p, "ann", USER("ann", "proxyAddresses", "smtp:ann@example.com",
			    "proxyAddresses", "SMTP:a.k@example.com"));
	expect_equal(&p);
	pair_free(&p);

	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	both(&p, "all", GROUP("all", "mail", "all@example.com",
			      "member", PEOPLE("ann"), "member", PEOPLE("bob")));
	now(&p, "ann", USER("ann", "mail", "ann@example.com", "displayName",
			    "Ann K"));
	assert_int_equal(expect_equal(&p), 1);
	pair_free(&p);
}

/* AD: a user's primaryGroupID moves it into a list (no member value). */
static void
test_primary_group(void **state)
{
	struct pair p;

	(void)state;
	pair_init(&p);
	both(&p, "du", mk(GROUPS("Domain Users"), "objectClass", "group",
			  "objectSid", "S-1-5-21-1-2-3-513", NULL));
	both(&p, "sales", mk(GROUPS("sales"), "objectClass", "group",
			     "objectSid", "S-1-5-21-1-2-3-1105", "mail",
			     "sales@example.com", NULL));
	both(&p, "top", mk(GROUPS("top"), "objectClass", "group", "mail",
			   "top@example.com", "member", GROUPS("Domain Users"),
			   NULL));
	both(&p, "ann", mk(PEOPLE("ann"), "objectClass", "user",
			   "objectSid", "S-1-5-21-1-2-3-1200", "primaryGroupID",
			   "513", "mail", "ann@example.com", NULL));
	both(&p, "bob", mk(PEOPLE("bob"), "objectClass", "user",
			   "objectSid", "S-1-5-21-1-2-3-1201", "primaryGroupID",
			   "513", "mail", "bob@example.com", NULL));
	now(&p, "ann", mk(PEOPLE("ann"), "objectClass", "user",
			  "objectSid", "S-1-5-21-1-2-3-1200", "primaryGroupID",
			  "1105", "mail", "ann@example.com", NULL));
	expect_equal(&p);
	pair_free(&p);
}

/* [scope] member_of: its groups changed or joined: declined. */
static void
test_member_of(void **state)
{
	struct pair p;
	const char *why;

	(void)state;
	pair_init(&p);
	set_list(&p.c.scope.member_of, LIST(GROUPS("mail")));
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	both(&p, "staff", GROUP("staff", "member", PEOPLE("ann")));
	both(&p, "mail", GROUP("mail", "member", GROUPS("staff")));
	both(&p, "x", GROUP("x", "member", PEOPLE("bob")));
	/* bob's address: no tree group changed */
	now(&p, "bob", USER("bob", "mail", "robert@example.com"));
	expect_equal(&p);
	/* bob into a nested group of the tree */
	now(&p, "staff", GROUP("staff", "member", PEOPLE("ann"),
			       "member", PEOPLE("bob")));
	why = expect_declined(&p, 1000);
	assert_non_null(strstr(why, "member_of"));
	pair_free(&p);

	/* a group joining the tree (renamed onto a DN the tree names) */
	pair_init(&p);
	set_list(&p.c.scope.member_of, LIST(GROUPS("mail")));
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "mail", GROUP("mail", "member", GROUPS("staff")));
	both(&p, "x", GROUP("x", "member", PEOPLE("ann")));
	now(&p, "x", mk(GROUPS("staff"), "objectClass", "groupOfNames",
			"cn", "staff", "entryUUID", "x", "member",
			PEOPLE("ann"), NULL));
	why = expect_declined(&p, 1000);
	assert_non_null(strstr(why, "member_of"));
	pair_free(&p);

	/* a user renamed out of the tree (no refint): done, ann out */
	pair_init(&p);
	set_list(&p.c.scope.member_of, LIST(GROUPS("mail")));
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "mail", GROUP("mail", "member", PEOPLE("ann")));
	now(&p, "ann", mk(PEOPLE("anna"), "objectClass", "inetOrgPerson",
			  "uid", "anna", "entryUUID", "ann", "mail",
			  "ann@example.com", NULL));
	expect_equal(&p);
	pair_free(&p);
}

/* Over max, and two entries with one DN: declined. */
static void
test_declines(void **state)
{
	struct pair p;
	const char *why;

	(void)state;
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	both(&p, "all", GROUP("all", "mail", "all@example.com",
			      "member", PEOPLE("ann"), "member", PEOPLE("bob")));
	now(&p, "ann", USER("ann", "mail", "ann2@example.com"));
	why = expect_declined(&p, 1);
	assert_non_null(strstr(why, "limit"));
	/* ann and her list, patched: bob need not be read */
	assert_int_equal(expect_equal(&p), 2);
	pair_free(&p);

	/* a new group with the objectSid of a group in a list */
	pair_init(&p);
	both(&p, "sales", mk(GROUPS("sales"), "objectClass", "group",
			     "objectSid", "S-1-5-21-1-2-3-1105", NULL));
	both(&p, "top", mk(GROUPS("top"), "objectClass", "group", "mail",
			   "top@example.com", "member", GROUPS("sales"), NULL));
	both(&p, "ann", mk(PEOPLE("ann"), "objectClass", "user",
			   "objectSid", "S-1-5-21-1-2-3-1200", "primaryGroupID",
			   "1105", "mail", "ann@example.com", NULL));
	now(&p, "ann", mk(PEOPLE("ann"), "objectClass", "user",
			  "objectSid", "S-1-5-21-1-2-3-1200", "primaryGroupID",
			  "1105", "mail", "ann2@example.com", NULL));
	now(&p, "new", mk(GROUPS("new"), "objectClass", "group",
			  "objectSid", "S-1-5-21-1-2-3-1105", NULL));
	why = expect_declined(&p, 1000);
	assert_non_null(strstr(why, "objectSid"));
	pair_free(&p);

	/* ann renamed onto bob's DN, bob unchanged */
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	both(&p, "bob", USER("bob", "mail", "bob@example.com"));
	now(&p, "ann", mk(PEOPLE("bob"), "objectClass", "inetOrgPerson",
			  "entryUUID", "ann", "mail", "ann@example.com", NULL));
	why = expect_declined(&p, 1000);
	assert_non_null(strstr(why, "same DN"));
	pair_free(&p);
}

/*
 * A change that gives an entry the anchor of an entry outside the
 * change: the run over S fails as the full run does (the other entry
 * joins by its "u:" key), instead of merging the two.
 */
static void
test_anchor_twice(void **state)
{
	static const char *const uuids[] = {"ann", "ANN"};
	struct rules_result fo;
	struct rules_delta rd;
	struct rules_lookup lk;
	struct rules_change *ch;
	struct index ix;
	struct pair p;
	struct err err;
	const char *why;
	size_t n, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		pair_init(&p);
		both(&p, "ann", USER("ann", "mail", "ann@example.com"));
		both(&p, "bob", USER("bob", "mail", "bob@example.com"));
		for (n = 0; n < 40; n++) {
			char uid[16], mail[40], dn[80];

			snprintf(uid, sizeof(uid), "p%zu", n);
			snprintf(mail, sizeof(mail), "p%zu@example.com", n);
			snprintf(dn, sizeof(dn),
				 "uid=%s,ou=people,dc=example,dc=com", uid);
			both(&p, uid, mk(dn, "objectClass",
					 "inetOrgPerson", "uid", uid,
					 "entryUUID", uid, "mail", mail,
					 NULL));
		}
		/* k = 0: a new entry; 1: bob changed, both with ann's
		 * entryUUID (in another case for bob) */
		if (k == 0)
			now(&p, "eve", mk(PEOPLE("eve"), "objectClass",
					  "inetOrgPerson", "uid", "eve",
					  "entryUUID", uuids[k], "mail",
					  "eve@example.com", NULL));
		else
			now(&p, "bob", mk(PEOPLE("bob"), "objectClass",
					  "inetOrgPerson", "uid", "bob",
					  "entryUUID", uuids[k], "mail",
					  "bob@example.com", NULL));
		memset(&lk, 0, sizeof(lk));
		index_build(&ix, &p.c, &p.old);
		full_rules(&p.c, &p.old, &fo);
		ix.full = &fo;
		lk.ctx = &ix;
		lk.get = lk_get;
		lk.find = lk_find;
		lk.contested = lk_contested;
		lk.nentries = p.old.n;
		ch = diff_dirs(&p.old, &p.new, &n);
		err_clear(&err);
		assert_int_equal(rules_delta(&p.c, &lk, ch, n, NOW, 1000, NULL,
					     &rd, &why, &err), -1);
		assert_non_null(strstr(err.msg, "same anchor"));
		assert_non_null(strstr(err.msg, PEOPLE("ann")));
		assert_non_null(strstr(err.msg, k == 0 ? PEOPLE("eve")
						       : PEOPLE("bob")));
		free(ch);
		rules_free(&fo);
		index_free(&ix);
		pair_free(&p);
	}
}

/* 3000 users u0.. and a list of u1..u10. */
static void
many_users(struct pair *p)
{
	char uid[32], mail[64], *dn;
	size_t i;

	pair_init(p);
	for (i = 0; i < 3000; i++) {
		snprintf(uid, sizeof(uid), "u%zu", i);
		snprintf(mail, sizeof(mail), "u%zu@example.com", i);
		dn = fmt("uid=%s,ou=people,dc=example,dc=com", uid);
		both(p, uid, mk(dn, "objectClass", "inetOrgPerson", "uid", uid,
				"mail", mail, NULL));
		free(dn);
	}
	both(p, "ten", GROUP("ten", "mail", "ten@example.com",
			     "member", PEOPLE("u1"), "member", PEOPLE("u2"),
			     "member", PEOPLE("u3"), "member", PEOPLE("u4"),
			     "member", PEOPLE("u5"), "member", PEOPLE("u6"),
			     "member", PEOPLE("u7"), "member", PEOPLE("u8"),
			     "member", PEOPLE("u9"), "member", PEOPLE("u10")));
}

/*
 * The cost follows S, not the directory: of 3000 users, a change of one
 * in no list reads that one; of one in the list of ten, it and the list
 * (patched from her, not expanded: the other nine are not read); of the
 * list's own members, the list and the members that came or went.
 */
static void
test_cost_follows_s(void **state)
{
	struct pair p;
	struct outcome o;

	(void)state;
	many_users(&p);
	now(&p, "u2000", mk(PEOPLE("u2000"), "objectClass", "inetOrgPerson",
			    "uid", "u2000", "mail", "new@example.com", NULL));
	o = check_delta(&p.c, &p.old, &p.new, 1000, "cost");
	assert_int_equal(o.rc, 0);
	assert_true(o.equal);
	assert_int_equal(o.nset, 1);
	assert_true(o.gets <= 1 && o.finds <= 10);
	pair_free(&p);

	many_users(&p);
	now(&p, "u5", mk(PEOPLE("u5"), "objectClass", "inetOrgPerson",
			 "uid", "u5", "mail", "new@example.com", NULL));
	o = check_delta(&p.c, &p.old, &p.new, 1000, "cost");
	assert_int_equal(o.rc, 0);
	assert_true(o.equal);
	assert_int_equal(o.nset, 2);
	assert_true(o.gets <= 2 && o.finds <= 20);
	pair_free(&p);

	/* u5 leaves the list and u11 joins it: the list and those two */
	many_users(&p);
	now(&p, "ten", GROUP("ten", "mail", "ten@example.com",
			     "member", PEOPLE("u1"), "member", PEOPLE("u2"),
			     "member", PEOPLE("u3"), "member", PEOPLE("u4"),
			     "member", PEOPLE("u11"), "member", PEOPLE("u6"),
			     "member", PEOPLE("u7"), "member", PEOPLE("u8"),
			     "member", PEOPLE("u9"), "member", PEOPLE("u10")));
	o = check_delta(&p.c, &p.old, &p.new, 1000, "cost");
	assert_int_equal(o.rc, 0);
	assert_true(o.equal);
	assert_int_equal(o.nset, 3);
	pair_free(&p);
}

/* The warning for a member naming no entry names the least DN. */
static void
test_unmatched_least_dn(void **state)
{
	struct rules_result r;
	struct dir d;
	int order;

	(void)state;
	for (order = 0; order < 2; order++) {
		struct pair p;
		size_t i, n = 0;

		pair_init(&p);
		both(&p, "ann", USER("ann", "mail", "ann@example.com"));
		if (order == 0)
			both(&p, "b", GROUP("b", "mail", "b@example.com",
					    "member", PEOPLE("ann"), "member",
					    PEOPLE("gone")));
		both(&p, "a", GROUP("a", "mail", "a@example.com", "member",
				    PEOPLE("ann"), "member", PEOPLE("gone")));
		if (order == 1)
			both(&p, "b", GROUP("b", "mail", "b@example.com",
					    "member", PEOPLE("ann"), "member",
					    PEOPLE("gone")));
		d = p.old;
		full_rules(&p.c, &d, &r);
		for (i = 0; i < r.nwarnings; i++)
			if (strstr(r.warnings[i], "uid=gone") != NULL) {
				n++;
				assert_true(strncmp(r.warnings[i], GROUPS("a"),
						    strlen(GROUPS("a"))) == 0);
			}
		assert_int_equal(n, 1);
		rules_free(&r);
		pair_free(&p);
	}
}

static int
lk_find_fails(void *ctx, const char *key, void (*each)(void *, const char *),
	      void *arg, struct err *err)
{
	(void)ctx;
	(void)key;
	(void)each;
	(void)arg;
	err_set(err, DS_E_IO, "snapshot index: disk on fire");
	return -1;
}

/* A lookup that fails: -1, its error, nothing left in *out. */
static void
test_lookup_fails(void **state)
{
	struct pair p;
	struct index ix;
	struct rules_lookup lk;
	struct rules_change ch;
	struct rules_delta rd;
	struct err err;
	const char *why;

	(void)state;
	pair_init(&p);
	both(&p, "ann", USER("ann", "mail", "ann@example.com"));
	now(&p, "ann", USER("ann", "mail", "ann2@example.com"));
	index_build(&ix, &p.c, &p.old);
	memset(&lk, 0, sizeof(lk));
	lk.ctx = &ix;
	lk.get = lk_get;
	lk.find = lk_find_fails;
	lk.nentries = p.old.n;
	ch.uuid = "ann";
	ch.now = p.new.e[0];
	err_clear(&err);
	assert_int_equal(rules_delta(&p.c, &lk, &ch, 1, NOW, 100, NULL, &rd, &why,
				     &err), -1);
	assert_non_null(strstr(err.msg, "disk on fire"));
	assert_int_equal(rd.nset, 0);
	assert_int_equal(rd.before.desired.n, 0);
	assert_int_equal(rd.after.nwarnings, 0);
	rules_delta_free(&rd);
	index_free(&ix);
	pair_free(&p);
}

/* The keys of a few entries, exactly. */
static void
key_cat(void *arg, const char *key)
{
	char *s = arg;

	strcat(s, key);
	strcat(s, " ");
}

static void
test_keys(void **state)
{
	struct conf c;
	struct rules_keyer *k;
	struct entry *e;
	struct err err;
	char got[2048];

	(void)state;
	conf_defaults(&c);
	set_list(&c.mapping.accepted_domains, LIST("example.com"));
	set_list(&c.mapping.domain_rewrite, LIST("example.local=example.com"));
	err_clear(&err);
	k = rules_keyer_new(&c, &err);
	assert_non_null(k);

	e = mk("UID=Ann, OU=People,DC=Example,DC=com", "objectClass", "user",
	       "mail", "Ann@Example.LOCAL", "proxyAddresses",
	       "SMTP:ann.k@example.com", "proxyAddresses", "X500:/o=x",
	       "proxyAddresses", "smtp:ann@other.org", "objectSid",
	       "S-1-5-21-1-2-3-1200", "primaryGroupID", "1105", NULL);
	got[0] = '\0';
	rules_keys(k, e, key_cat, got);
	assert_string_equal(got,
		"a:ann.k@example.com a:ann@example.com "
		"d:uid=ann,ou=people,dc=example,dc=com "
		"p:S-1-5-21-1-2-3-1105 p:S-1-5-21-1-2-3-513 ");
	ent_free(e);

	e = mk(GROUPS("g"), "objectClass", "groupOfUniqueNames", "uniqueMember",
	       "uid=Ann,ou=people,dc=example,dc=com#'0101'B", "member",
	       PEOPLE("ann"), "objectSid", "S-1-5-21-1-2-3-1105", NULL);
	got[0] = '\0';
	rules_keys(k, e, key_cat, got);
	assert_string_equal(got,
		"d:cn=g,ou=groups,dc=example,dc=com "
		"g:cn=g,ou=groups,dc=example,dc=com "
		"m:uid=ann,ou=people,dc=example,dc=com "
		"s:S-1-5-21-1-2-3-1105 ");
	ent_free(e);

	/* a contact: its forwarding addresses and its external one */
	e = mk("cn=c,dc=example,dc=com", "objectClass", "contact",
	       "targetAddress", "SMTP:c@other.org", "mail", "c@other.org",
	       "proxyAddresses", "smtp:c@example.com", NULL);
	got[0] = '\0';
	rules_keys(k, e, key_cat, got);
	assert_string_equal(got, "a:c@example.com a:c@other.org "
			    "d:cn=c,dc=example,dc=com ");
	ent_free(e);

	e = mk("cn=pc,dc=example,dc=com", "objectClass", "computer", "mail",
	       "pc@example.com", NULL);
	got[0] = '\0';
	rules_keys(k, e, key_cat, got);
	assert_string_equal(got, "d:cn=pc,dc=example,dc=com ");
	ent_free(e);
	rules_keyer_free(k);
	conf_free(&c);
}

/* rules_add_keyed() gives every entry the keys rules_keys() gives it. */
static void
test_add_keyed(void **state)
{
	size_t seed, i, nkeys = 0;

	(void)state;
	for (seed = 1; seed <= 200; seed++) {
		struct world w;
		struct rules_result r;
		struct rules_keyer *k;
		struct rules_ctx *x;
		struct err err;
		char a[8192], b[8192];

		memset(&w, 0, sizeof(w));
		w.g.s = 0x9e3779b97f4a7c15ULL * seed;
		gen_conf(&w);
		gen_old(&w);
		err_clear(&err);
		k = rules_keyer_new(&w.c, &err);
		assert_non_null(k);
		rules_init(&r);
		r.now = NOW;
		x = rules_begin(&w.c, &r, &err);
		assert_non_null(x);
		for (i = 0; i < w.old.n; i++) {
			a[0] = b[0] = '\0';
			rules_keys(k, w.old.e[i], key_cat, a);
			rules_add_keyed(x, w.old.e[i], key_cat, b);
			assert_string_equal(a, b);
			nkeys += strlen(a) > 0;
		}
		assert_int_equal(rules_end(x, &err), 0);
		rules_free(&r);
		rules_keyer_free(k);
		world_free(&w);
	}
	assert_true(nkeys > 1000);
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * RDELTA_BENCH=n (by hand): n users in n/100 lists of 100 (with
 * RDELTA_BENCH_TOP set, each list also nested in one of ten top lists),
 * 1% of them changed (address, lock, display name); the full rules over
 * the new directory against rules_delta() over an in-memory index.
 */
static void
test_bench(void **state)
{
	const char *env = getenv("RDELTA_BENCH");
	size_t n = env != NULL ? (size_t)atol(env) : 0, i, nl, nch;
	struct rng g = {12345};
	struct pair p;
	struct index ix;
	struct rules_lookup lk;
	struct rules_change *ch;
	struct rules_result r;
	struct rules_delta rd;
	struct err err;
	const char *why;
	double t0, t1, t2, t3;
	char *dn, *mail, *uid, *cn, *mem;
	int rc;

	(void)state;
	if (n < 1000)
		skip();
	pair_init(&p);
	nl = n / 100;
	for (i = 0; i < n; i++) {
		uid = fmt("u%zu", i);
		dn = fmt("uid=%s,ou=people,dc=example,dc=com", uid);
		mail = fmt("%s@example.com", uid);
		both(&p, uid, mk(dn, "objectClass", "inetOrgPerson", "uid", uid,
				 "entryUUID", uid, "mail", mail, NULL));
		free(uid);
		free(dn);
		free(mail);
	}
	for (i = 0; i < nl + (getenv("RDELTA_BENCH_TOP") ? 10 : 0); i++) {
		size_t j;
		struct entry *e;

		cn = fmt(i < nl ? "l%zu" : "top%zu", i);
		dn = fmt("cn=%s,ou=groups,dc=example,dc=com", cn);
		mail = fmt("%s@example.com", cn);
		e = mk(dn, "objectClass", "groupOfNames", "cn", cn, "entryUUID",
		       cn, "mail", mail, NULL);
		for (j = 0; i < nl && j < 100; j++) {
			mem = fmt("uid=u%zu,ou=people,dc=example,dc=com",
				  i * 100 + j);
			ent_add(e, "member", mem);
			free(mem);
		}
		for (j = 0; i >= nl && j < nl; j++)
			if (j % 10 == i - nl) {
				mem = fmt("cn=l%zu,ou=groups,dc=example,dc=com",
					  j);
				ent_add(e, "member", mem);
				free(mem);
			}
		both(&p, cn, e);
		free(cn);
		free(dn);
		free(mail);
	}
	for (i = 0; i < n / 100; i++) {
		size_t u = rnd(&g, (unsigned)n);
		long j = dir_find(&p.new, p.old.uuid[u]);
		struct entry *e;

		if (p.new.e[j] != p.old.e[u])
			continue;
		e = ent_clone(p.old.e[u], NULL);
		switch (rnd(&g, 4)) {
		case 0:
			mail = fmt("x%zu@example.com", u);
			ent_set(e, "mail", mail);
			free(mail);
			break;
		case 1:
			ent_set(e, "nsAccountLock", "TRUE");
			break;
		default:
			ent_set(e, "displayName", "Someone Else");
			break;
		}
		now(&p, p.old.uuid[u], e);
	}
	t0 = seconds();
	full_rules(&p.c, &p.new, &r);
	t1 = seconds();
	rules_free(&r);
	index_build(&ix, &p.c, &p.old);
	full_rules(&p.c, &p.old, &r);
	ix.full = &r;
	memset(&lk, 0, sizeof(lk));
	lk.ctx = &ix;
	lk.get = lk_get;
	lk.find = lk_find;
	lk.contested = lk_contested;
	lk.nentries = p.old.n;
	ch = diff_dirs(&p.old, &p.new, &nch);
	err_clear(&err);
	t2 = seconds();
	rc = rules_delta(&p.c, &lk, ch, nch, NOW, n, NULL, &rd, &why, &err);
	t3 = seconds();
	print_message("%zu entries, %zu changed: full rules %.3f s; "
		      "rules_delta %.3f s (rc %d, S %zu, %zu gets, %zu finds)\n",
		      p.old.n, nch, t1 - t0, t3 - t2, rc, rd.nset, ix.gets,
		      ix.finds);
	rules_delta_free(&rd);
	rules_free(&r);
	free(ch);
	index_free(&ix);
	pair_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_add_keyed),
		cmocka_unit_test(test_unmatched_least_dn),
		cmocka_unit_test(test_conflict_through_address),
		cmocka_unit_test(test_join_nested_group),
		cmocka_unit_test(test_cut_keeps_other_path),
		cmocka_unit_test(test_shared_address_other_giver),
		cmocka_unit_test(test_group_renamed),
		cmocka_unit_test(test_renamed_onto_dangling_member),
		cmocka_unit_test(test_delete_leaves_dangling),
		cmocka_unit_test(test_same_keys_changes),
		cmocka_unit_test(test_primary_group),
		cmocka_unit_test(test_member_of),
		cmocka_unit_test(test_declines),
		cmocka_unit_test(test_lookup_fails),
		cmocka_unit_test(test_cost_follows_s),
		cmocka_unit_test(test_random_equivalence),
		cmocka_unit_test(test_anchor_twice),
		cmocka_unit_test(test_bench),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

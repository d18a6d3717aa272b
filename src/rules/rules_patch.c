/*
 * rules_patch.c - the partial lists of a rules_delta() result made whole
 * (rules_patch_want, rules_patch_lists) from the lists as the target
 * holds them (rules_patch_gotos); rules_delta.h says what and why.
 *
 * Pure: the caller loads the rows (engine/rdelta.c through the target's
 * load_part, tests/unit/test_rules_delta.c from the last full result),
 * so that the engine and its random test decide alike.
 */
#include "rules/rules_delta.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static bool
same_str(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The fields a plan reads alike (those hash_obj() of fastpath.c sums)? */
static bool
same_obj(const struct mobj *a, const struct mobj *b)
{
	return a->kind == b->kind && a->active == b->active &&
	       same_str(a->anchor, b->anchor) && same_str(a->name, b->name) &&
	       same_str(a->gotos, b->gotos) && same_str(a->dn, b->dn);
}

/* o's list into the set to expand whole, by its normalised DN. */
static void
want_whole(struct rules_whole *w, const struct mobj *o)
{
	char *ndn;

	if (o->dn == NULL)
		return;
	ndn = dn_normalize(o->dn);
	if (strmap_get(&w->ndns, ndn) == NULL) {
		const char *k = arena_strdup(&w->a, ndn);

		strmap_put(&w->ndns, k, (void *)k);
	}
	free(ndn);
}

/* Does a gotos string name an address in conflict (frozen)? */
static bool
holds_frozen(const char *gotos, const struct strmap *frozen)
{
	const char *s = gotos, *m;
	size_t len;
	bool found = false;

	if (gotos == NULL || frozen == NULL || frozen->len == 0)
		return false;
	while (!found && (m = goto_next(&s, &len)) != NULL) {
		char *a = xstrndup(m, len);

		found = strmap_get(frozen, a) != NULL;
		free(a);
	}
	return found;
}

/*
 * Another object of a partial list's owner (an alias) that differs
 * between before and after: whether it is wanted at all depends on the
 * list having members (a list without is not created, nor its aliases),
 * which only the whole list says.  One alike on both sides is marked
 * partial, on both sides, like the list.
 */
static void
owned_by_partial(struct mset *bs, struct mset *as, struct rules_whole *w)
{
	struct strmap lists = STRMAP_INIT;
	struct mset *side[2] = {bs, as};
	size_t i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; i < side[k]->n; i++)
			if (side[k]->v[i]->partial &&
			    side[k]->v[i]->anchor != NULL)
				strmap_put(&lists, side[k]->v[i]->anchor,
					   side[k]->v[i]);
	for (k = 0; k < 2 && lists.len > 0; k++)
		for (i = 0; i < side[k]->n; i++) {
			struct mobj *o = side[k]->v[i], *t;
			const struct mobj *l;

			if (o->partial || o->anchor == NULL ||
			    (l = strmap_get(&lists, o->anchor)) == NULL)
				continue;
			t = mset_get(side[1 - k], o->address);
			if (t == NULL || !same_obj(o, t))
				want_whole(w, l);
			else
				o->partial = t->partial = true;
		}
	strmap_free(&lists);
}

void
rules_patch_want(struct rules_delta *d, struct strmap *want,
		 struct rules_whole *w)
{
	struct mset *bs = &d->before.desired, *as = &d->after.desired;
	size_t i;

	for (i = 0; i < bs->n; i++) {
		const struct mobj *b = bs->v[i], *a;

		if (!b->partial)
			continue;
		a = mset_get(as, b->address);
		if (a == NULL || !a->partial) {
			want_whole(w, b);
			if (a != NULL)
				want_whole(w, a);
		} else if (!same_obj(a, b)) {
			/* a name too: touched, so planned whole */
			strmap_put(want, b->address, (void *)b->address);
		}
	}
	for (i = 0; i < as->n; i++)
		if (as->v[i]->partial &&
		    mset_get(bs, as->v[i]->address) == NULL)
			want_whole(w, as->v[i]);
	owned_by_partial(bs, as, w);
}

int
rules_patch_lists(struct rules_delta *d, const struct strmap *want,
		  const struct mset *current, const struct strmap *frozen,
		  struct rules_whole *w, const char **why)
{
	struct mset *bs = &d->before.desired, *as = &d->after.desired;
	const char *k;
	void *v;
	size_t it = 0;
	int rc = 0;

	while (rc == 0 && strmap_next(want, &it, &k, &v)) {
		struct mobj *b = mset_get(bs, k), *a = mset_get(as, k);
		const struct mobj *c = mset_get(current, k);
		char *m = NULL;

		if (b == NULL || a == NULL)
			continue;       /* an anchor's address: none asked */
		if (c == NULL || holds_frozen(c->gotos, frozen)) {
			/* not created last time; or holding a member the
			 * plan kept in it, frozen (plan.c keep_frozen_members):
			 * not the last result's list */
			want_whole(w, a);
		} else if (c->kind == MK_MAILBOX || !c->active ||
			   rules_patch_gotos(c->gotos, b->gotos, a->gotos,
					     &m) != 0) {
			*why = "a list patched from its members is not as the "
			       "last run left it";
			rc = 1;
		} else if (m == NULL) {
			want_whole(w, a);       /* left without members */
		} else {
			b->gotos = arena_strdup(&d->before.arena, c->gotos);
			a->gotos = arena_strdup(&d->after.arena, m);
			b->partial = a->partial = false;
		}
		free(m);
	}
	return rc == 0 && w->ndns.len > 0 ? 2 : rc;
}

void
rules_whole_free(struct rules_whole *w)
{
	strmap_free(&w->ndns);
	arena_free(&w->a);
	memset(w, 0, sizeof(*w));
}

/* The comma-separated items of s (NULL: none) into set, each once. */
static void
goto_set(struct strmap *set, struct arena *a, const char *s)
{
	const char *m;
	size_t len;

	while ((m = goto_next(&s, &len)) != NULL)
		if (len > 0) {
			const char *k = arena_strndup(a, m, len);

			strmap_put(set, k, (void *)k);
		}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
rules_patch_gotos_sets(const char *current, const char *before,
		       const char *after, char **merged)
{
	struct arena a;
	struct strmap cur = STRMAP_INIT, b = STRMAP_INIT, n = STRMAP_INIT;
	const char **v = NULL, *k;
	void *val;
	size_t it = 0, nv = 0, cap = 0, len = 0, i;
	char *out = NULL, *p;
	int ret = -1;

	memset(&a, 0, sizeof(a));
	*merged = NULL;
	goto_set(&cur, &a, current);
	goto_set(&b, &a, before);
	goto_set(&n, &a, after);
	while (strmap_next(&b, &it, &k, &val))
		if (strmap_get(&cur, k) == NULL)
			goto done;     /* not the list the last run left */
	it = 0;
	while (strmap_next(&cur, &it, &k, &val))   /* kept unless lost */
		if (strmap_get(&b, k) == NULL || strmap_get(&n, k) != NULL) {
			v = xgrow(v, &cap, nv + 1, sizeof(*v));
			v[nv++] = k;
		}
	it = 0;
	while (strmap_next(&n, &it, &k, &val))     /* gained */
		if (strmap_get(&b, k) == NULL && strmap_get(&cur, k) == NULL) {
			v = xgrow(v, &cap, nv + 1, sizeof(*v));
			v[nv++] = k;
		}
	if (nv > 0) {
		qsort(v, nv, sizeof(*v), cmp_str);
		for (i = 0; i < nv; i++)
			len += strlen(v[i]) + 1;
		out = p = xmalloc(len);
		for (i = 0; i < nv; i++) {
			size_t l = strlen(v[i]);

			if (i > 0)
				*p++ = ',';
			memcpy(p, v[i], l);
			p += l;
		}
		*p = '\0';
	}
	*merged = out;
	ret = 0;
done:
	free(v);
	strmap_free(&cur);
	strmap_free(&b);
	strmap_free(&n);
	arena_free(&a);
	return ret;
}

/*
 * A goto walked for the merge: its non-empty items one by one (head,
 * len bytes at p, not NUL-terminated; has: one is there), checking on
 * the way that each is greater than the one before (sorted: so far).
 */
struct gwalk {
	const char *cursor;
	const char *p;
	size_t len;
	bool has, sorted;
};

/* strcmp() of the items a and b as NUL-terminated strings (neither holds
 * a NUL nor a comma): the order qsort(cmp_str) puts them in. */
static int
item_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0 || alen == blen)
		return c;
	return alen < blen ? -1 : 1;
}

static int
head_cmp(const struct gwalk *x, const struct gwalk *y)
{
	return item_cmp(x->p, x->len, y->p, y->len);
}

static void
gwalk_next(struct gwalk *w)
{
	const char *prev = w->p;
	size_t plen = w->len;

	do
		w->p = goto_next(&w->cursor, &w->len);
	while (w->p != NULL && w->len == 0);
	w->has = w->p != NULL;
	if (w->has && prev != NULL &&
	    item_cmp(prev, plen, w->p, w->len) >= 0)
		w->sorted = false;
}

static void
gwalk_start(struct gwalk *w, const char *s)
{
	w->cursor = s;
	w->p = NULL;
	w->len = 0;
	w->sorted = true;
	gwalk_next(w);
}

/* The rest of w walked: is the whole of it sorted? */
static bool
gwalk_sorted(struct gwalk *w)
{
	while (w->has && w->sorted)
		gwalk_next(w);
	return w->sorted;
}

/*
 * rules_patch_gotos() as one merge, in order, of (current less before)
 * and after, before being within current: the items come out in the
 * order qsort() gives them in rules_patch_gotos_sets(), so the string
 * is the same.  That holds when the items of each goto are sorted and
 * each there once, which the walk checks as it goes: 1 when they are
 * not (*merged NULL), whatever it found before.
 */
static int
patch_gotos_merge(const char *current, const char *before, const char *after,
		  char **merged)
{
	struct gwalk c, b, a;
	/* at most all items of both: their bytes, the commas between the
	 * two sets of items and one more, a NUL */
	size_t cap = (current != NULL ? strlen(current) : 0) +
		     (after != NULL ? strlen(after) : 0) + 2;
	char *out = xmalloc(cap), *p = out;
	int ret = 0;

	*merged = NULL;
	gwalk_start(&c, current);
	gwalk_start(&b, before);
	gwalk_start(&a, after);
	while ((c.has || a.has) && c.sorted && b.sorted && a.sorted) {
		const struct gwalk *m = c.has ? &c : &a;
		bool cm, bm, am;

		if (a.has && m != &a && head_cmp(&a, m) < 0)
			m = &a;         /* m: the least of current's, after's */
		cm = c.has && (m == &c || head_cmp(&c, m) == 0);
		am = a.has && (m == &a || head_cmp(&a, m) == 0);
		bm = false;
		if (b.has) {
			int k = head_cmp(&b, m);

			/* before's head is not less than current's, nor a
			 * current's that current lacks */
			if (k < 0 || (k == 0 && !cm)) {
				ret = -1;
				break;
			}
			bm = k == 0;
		}
		/* kept unless lost (in before, not in after); or gained */
		if (am || (cm && !bm)) {
			if (p != out)
				*p++ = ',';
			memcpy(p, m->p, m->len);
			p += m->len;
		}
		if (cm)
			gwalk_next(&c);
		if (am)
			gwalk_next(&a);
		if (bm)
			gwalk_next(&b);
	}
	if (b.has)
		ret = -1;               /* before's item not in current */
	if (!gwalk_sorted(&c) || !gwalk_sorted(&b) || !gwalk_sorted(&a))
		ret = 1;
	if (ret != 0 || p == out) {
		free(out);
		return ret;
	}
	*p = '\0';
	*merged = out;
	return 0;
}

int
rules_patch_gotos(const char *current, const char *before, const char *after,
		  char **merged)
{
	/* the gotos dirsync writes are sorted: one merge; one that is not
	 * (written by hand, or by another tool) takes the sets */
	int ret = patch_gotos_merge(current, before, after, merged);

	return ret != 1 ? ret
			: rules_patch_gotos_sets(current, before, after, merged);
}

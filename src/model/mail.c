#include "model/mail.h"

#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/xalloc.h"

/*
 * The desired and the current set hold one object per mail object (3.4M
 * each at 1M users, docs/benchmarks.md): 8 bytes more is 55 MB at the
 * peak of a full compare, which has ~40 MiB of its memory budget left.
 */
_Static_assert(sizeof(void *) != 8 || sizeof(struct mobj) <= 64,
	       "struct mobj grew past 64 bytes: see docs/benchmarks.md, "
	       "memory of the full runs");

static const char *const kind_names[MK_NKINDS] = {
	"mailbox", "alias", "list", "contact", "domain",
};

const char *
mkind_name(enum mkind k)
{
	return (unsigned)k < MK_NKINDS ? kind_names[k] : "unknown";
}

int
mkind_parse(const char *s, enum mkind *out)
{
	int i;

	for (i = 0; i < MK_NKINDS; i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum mkind)i;
			return 0;
		}
	}
	return -1;
}

bool
mkind_alias_row(enum mkind k)
{
	return k == MK_ALIAS || k == MK_LIST || k == MK_CONTACT;
}

void
mset_init(struct mset *s)
{
	memset(s, 0, sizeof(*s));
}

static const char *
dup_or_null(struct arena *a, const char *s)
{
	return s != NULL ? arena_strdup(a, s) : NULL;
}

static const char *
key_of(const void *ctx, uint32_t idx)
{
	return ((const struct mset *)ctx)->v[idx]->address;
}

/*
 * Claims slot n for o's address with one probe.  v[n] holds the caller's
 * object meanwhile (the index never reads slot n while inserting it).
 * Returns false if the address is taken.
 */
static bool
reserve(struct mset *s, const struct mobj *o, uint32_t h)
{
	/* a target that holds anything usually holds what is wanted */
	if (s->n == 0 && s->share != NULL && s->cap < s->share->n)
		mset_reserve(s, s->share->n);
	s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->v[s->n] = (struct mobj *)o;
	return idxmap_put_h(&s->by_addr, o->address, h, (uint32_t)s->n,
			    key_of, s) < 0;
}

struct mobj *
mset_add(struct mset *s, const struct mobj *o)
{
	const uint32_t h = strmap_hash(o->address);
	struct mobj *n;

	if (!reserve(s, o, h))
		return NULL;
	n = arena_alloc(&s->arena, sizeof(*n));
	*n = *o;   /* every field; the strings copied below */
	n->hash = h;
	n->address = arena_strdup(&s->arena, o->address);
	n->anchor = dup_or_null(&s->arena, o->anchor);
	n->name = dup_or_null(&s->arena, o->name);
	n->attrs = dup_or_null(&s->arena, o->attrs);
	n->gotos = dup_or_null(&s->arena, o->gotos);
	n->dn = dup_or_null(&s->arena, o->dn);
	n->account = dup_or_null(&s->arena, o->account);
	s->v[s->n++] = n;
	return n;
}

struct mobj *
mset_add_ref(struct mset *s, const struct mobj *o)
{
	return mset_add_ref_h(s, o, strmap_hash(o->address));
}

struct mobj *
mset_add_ref_h(struct mset *s, const struct mobj *o, uint32_t h)
{
	if (!reserve(s, o, h))
		return NULL;
	s->v[s->n] = arena_memdup(&s->arena, o, sizeof(*o));
	s->v[s->n]->hash = h;
	return s->v[s->n++];
}

void
mset_reserve(struct mset *s, size_t n)
{
	if (n > s->cap) {
		s->v = xrealloc(s->v, n * sizeof(*s->v));
		s->cap = n;
	}
	idxmap_reserve(&s->by_addr, n);
}

const struct mobj *
mset_twin(const struct mset *s, const char *address, uint32_t hash)
{
	return s->share != NULL ? mset_get_h(s->share, address, hash) : NULL;
}

struct mobj *
mset_get_h(const struct mset *s, const char *address, uint32_t hash)
{
	long i = idxmap_get_h(&s->by_addr, address, hash, key_of, s);

	return i >= 0 ? s->v[i] : NULL;
}

struct mobj *
mset_get(const struct mset *s, const char *address)
{
	long i = idxmap_get(&s->by_addr, address, key_of, s);

	return i >= 0 ? s->v[i] : NULL;
}

bool
mset_has_domain_of(const struct mset *s, const char *address)
{
	const char *at = strrchr(address, '@');
	const struct mobj *d;

	return at != NULL && (d = mset_get(s, at + 1)) != NULL &&
	       d->kind == MK_DOMAIN;
}

const char *
goto_next(const char **cursor, size_t *len)
{
	const char *p = *cursor, *e;

	if (p == NULL || *p == '\0')
		return NULL;
	e = strchrnul(p, ',');   /* p + strcspn(p, ","), faster */
	*cursor = *e != '\0' ? e + 1 : e;
	*len = (size_t)(e - p);
	return p;
}

int
goto_next_addr(const char **cursor, char *buf, size_t bufsize)
{
	const char *v;
	size_t len;

	buf[0] = '\0';
	do
		v = goto_next(cursor, &len);
	while (v != NULL && len == 0);
	if (v == NULL)
		return 0;
	if (len >= bufsize)
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return 1;
}

bool
goto_each(const char *gotos, bool (*fn)(void *ctx, const char *addr),
	  void *ctx)
{
	char a[512];
	int rc;

	while ((rc = goto_next_addr(&gotos, a, sizeof(a))) != 0)
		if (rc > 0 && fn(ctx, a))
			return true;
	return false;
}

const char *
mset_stored(const struct mset *s, const struct mobj *o)
{
	return s->stored.len > 0 ? strmap_get(&s->stored, o->address) : NULL;
}

void
mset_set_stored(struct mset *s, const char *address, const char *stored)
{
	strmap_put(&s->stored, address, (void *)stored);
}

void
mset_seal(struct mset *s)
{
	s->v = xshrink(s->v, &s->cap, s->n, sizeof(*s->v));
}

void
mset_truncate(struct mset *s, size_t n)
{
	size_t i;

	s->n = n;
	idxmap_free(&s->by_addr);
	idxmap_reserve(&s->by_addr, n);
	for (i = 0; i < s->n; i++)
		idxmap_put_h(&s->by_addr, s->v[i]->address, s->v[i]->hash,
			     (uint32_t)i, key_of, s);
}

void
mset_free(struct mset *s)
{
	idxmap_free(&s->by_addr);
	strmap_free(&s->stored);
	free(s->v);
	arena_free(&s->arena);
	memset(s, 0, sizeof(*s));
}

/* a before b (byte order), -1/0/1 */
static int
item_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int d = memcmp(a, b, la < lb ? la : lb);

	if (d != 0)
		return d < 0 ? -1 : 1;
	return la == lb ? 0 : la < lb ? -1 : 1;
}

/* The next non-empty item of *cur (goto_next), NULL at the end. */
static const char *
item_next(const char **cur, size_t *len)
{
	const char *p;

	while ((p = goto_next(cur, len)) != NULL && *len == 0)
		;
	return p;
}

/* Are g's non-empty items strictly increasing?  *n: how many. */
static bool
goto_sorted(const char *g, size_t *n)
{
	const char *p, *prev = NULL;
	size_t len, plen = 0;

	*n = 0;
	while ((p = item_next(&g, &len)) != NULL) {
		if (prev != NULL && item_cmp(prev, plen, p, len) >= 0)
			return false;
		prev = p;
		plen = len;
		(*n)++;
	}
	return true;
}

int
goto_diff_sorted(const char *old, const char *now,
		 void (*fn)(void *arg, char sign, const char *item, size_t len),
		 void *arg, size_t *nold)
{
	const char *a, *b;
	size_t la = 0, lb = 0, no, nn;

	if (!goto_sorted(old, &no) || !goto_sorted(now, &nn))
		return -1;
	if (nold != NULL)
		*nold = no;
	a = item_next(&old, &la);
	b = item_next(&now, &lb);
	while (a != NULL || b != NULL) {
		int d = a == NULL ? 1 : b == NULL ? -1 : item_cmp(a, la, b, lb);

		if (d <= 0 && d != 0)
			fn(arg, '-', a, la);
		else if (d > 0)
			fn(arg, '+', b, lb);
		if (d <= 0)
			a = item_next(&old, &la);
		if (d >= 0)
			b = item_next(&now, &lb);
	}
	return 0;
}

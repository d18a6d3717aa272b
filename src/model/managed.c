/*
 * managed.c - the set of objects dirsync manages, keyed by address.
 */
#include "model/managed.h"

#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/xalloc.h"

void
managed_init(struct managed *m)
{
	memset(m, 0, sizeof(*m));
}

static const char *
managed_key(const void *ctx, uint32_t idx)
{
	return ((const struct managed *)ctx)->v[idx].address;
}

struct managed_rec *
managed_get(const struct managed *m, const char *address)
{
	long i = idxmap_get(&m->by_addr, address, managed_key, m);

	return i >= 0 ? &m->v[i] : NULL;
}

struct managed_rec *
managed_get_h(const struct managed *m, const char *address, uint32_t h)
{
	long i = idxmap_get_h(&m->by_addr, address, h, managed_key, m);

	return i >= 0 ? &m->v[i] : NULL;
}

static struct managed_rec *
add_rec(struct managed *m, const char *address, const struct mobj *cur,
	const struct mobj *want, enum mkind kind, const char *anchor,
	long long disabled_at)
{
	/* the set's objects at this address carry its hash */
	const uint32_t h = cur != NULL    ? cur->hash
			   : want != NULL ? want->hash
					  : strmap_hash(address);
	struct managed_rec *r;

	m->v = xgrow(m->v, &m->cap, m->n + 1, sizeof(*m->v));
	/* one probe; slot n is not read while inserting */
	if (idxmap_put_h(&m->by_addr, address, h, (uint32_t)m->n, managed_key,
			 m) >= 0)
		return NULL;
	r = &m->v[m->n++];
	r->address = cur != NULL    ? cur->address
		     : want != NULL ? want->address
				    : arena_strdup(&m->arena, address);
	r->hash = h;
	r->kind = kind;
	/* the desired object of the same owner has the very same anchor */
	if (anchor == NULL)
		r->anchor = NULL;
	else if (want != NULL && want->anchor != NULL &&
		 strcmp(want->anchor, anchor) == 0)
		r->anchor = want->anchor;
	else
		r->anchor = arena_strdup(&m->arena, anchor);
	r->disabled_at = disabled_at;
	return r;
}

struct managed_rec *
managed_add(struct managed *m, const char *address, enum mkind kind,
	    const char *anchor, long long disabled_at)
{
	return add_rec(m, address, NULL, NULL, kind, anchor, disabled_at);
}

struct managed_rec *
managed_add_known(struct managed *m, const char *address,
		  const struct mobj *cur, const struct mobj *want,
		  enum mkind kind, const char *anchor, long long disabled_at)
{
	return add_rec(m, address, cur, want, kind, anchor, disabled_at);
}

void
managed_reserve(struct managed *m, size_t n)
{
	if (n > m->cap) {
		m->v = xrealloc(m->v, n * sizeof(*m->v));
		m->cap = n;
	}
	idxmap_reserve(&m->by_addr, n);
}

void
managed_seal(struct managed *m)
{
	m->v = xshrink(m->v, &m->cap, m->n, sizeof(*m->v));
}

void
managed_free(struct managed *m)
{
	idxmap_free(&m->by_addr);
	free(m->v);
	arena_free(&m->arena);
	memset(m, 0, sizeof(*m));
}

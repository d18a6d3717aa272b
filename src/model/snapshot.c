#include "model/snapshot.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

void
snapshot_init(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
}

/* The kept name (interned: keep[] outlives the snapshot), or NULL. */
static const char *
kept(const char *name, const char *const *keep)
{
	size_t i;

	if (keep == NULL)
		return name;
	for (i = 0; keep[i] != NULL; i++)
		if (strcasecmp(keep[i], name) == 0)
			return keep[i];
	return NULL;
}

int
snapshot_add(struct snapshot *s, const struct entry *e,
	     const char *const *keep)
{
	struct arena *a = &s->arena;
	struct entry *c;
	char *ndn = dn_normalize(e->dn);
	size_t i, n = 0;

	s->read++;
	if (strmap_get(&s->by_ndn, ndn) != NULL) {
		free(ndn);
		return 1;
	}
	c = arena_alloc(a, sizeof(*c));
	c->dn = arena_strdup(a, e->dn);
	c->origin = NULL;
	for (i = 0; i < e->nattrs; i++)
		if (e->attrs[i].nvals > 0 &&
		    kept(e->attrs[i].name, keep) != NULL)
			n++;
	c->nattrs = n;
	c->attrs = arena_alloc(a, n * sizeof(*c->attrs));
	n = 0;
	for (i = 0; i < e->nattrs; i++) {
		const struct attr *src = &e->attrs[i];
		const char *name = kept(src->name, keep);
		struct attr *dst;
		size_t j;

		if (src->nvals == 0 || name == NULL)
			continue;
		dst = &c->attrs[n++];
		dst->name = keep != NULL ? name : arena_strdup(a, name);
		dst->nvals = src->nvals;
		dst->vals = arena_alloc(a, src->nvals * sizeof(*dst->vals));
		for (j = 0; j < src->nvals; j++) {
			char *p = arena_alloc(a, src->vals[j].len + 1);

			memcpy(p, src->vals[j].p, src->vals[j].len);
			p[src->vals[j].len] = '\0';
			dst->vals[j].p = p;
			dst->vals[j].len = src->vals[j].len;
		}
	}
	if (s->n == s->cap) {
		s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
		s->ndn = xrealloc(s->ndn, s->cap * sizeof(*s->ndn));
	}
	s->v[s->n] = c;
	s->ndn[s->n] = arena_strdup(a, ndn);
	strmap_put(&s->by_ndn, s->ndn[s->n], c);
	s->n++;
	free(ndn);
	return 0;
}

void
snapshot_free(struct snapshot *s)
{
	strmap_free(&s->by_ndn);
	free(s->v);
	free(s->ndn);
	arena_free(&s->arena);
	memset(s, 0, sizeof(*s));
}

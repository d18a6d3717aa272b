#include "util/idxmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/xalloc.h"

static struct idxmap_slot *
probe(const struct idxmap *m, const char *key, uint32_t h,
      idxmap_key_fn keyf, const void *ctx)
{
	size_t mask = m->cap - 1, i = h & mask;

	for (;;) {
		struct idxmap_slot *s = &m->slots[i];

		if (s->idx1 == 0)
			return s;
		if (s->hash == h) {
			/* the sets share their strings: often the very key */
			const char *k = keyf(ctx, s->idx1 - 1);

			if (k == key || strcmp(k, key) == 0)
				return s;
		}
		i = (i + 1) & mask;
	}
}

/* Up to 7/8 full (see idxmap_put_h). */
static bool
full(size_t len, size_t cap)
{
	return (len + 1) * 8 >= cap * 7;
}

static void
grow_to(struct idxmap *m, size_t cap)
{
	struct idxmap_slot *old = m->slots;
	size_t oldcap = m->cap, i;

	m->cap = cap;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (old[i].idx1 == 0)
			continue;
		/* keys are unique: no need to compare, find a hole */
		for (j = old[i].hash & (m->cap - 1); m->slots[j].idx1 != 0;
		     j = (j + 1) & (m->cap - 1))
			;
		m->slots[j] = old[i];
	}
	free(old);
}

long
idxmap_get_h(const struct idxmap *m, const char *key, uint32_t hash,
	     idxmap_key_fn keyf, const void *ctx)
{
	struct idxmap_slot *s;

	if (m->cap == 0)
		return -1;
	s = probe(m, key, hash, keyf, ctx);
	return s->idx1 ? (long)s->idx1 - 1 : -1;
}

long
idxmap_get(const struct idxmap *m, const char *key, idxmap_key_fn keyf,
	   const void *ctx)
{
	if (m->cap == 0)
		return -1;
	return idxmap_get_h(m, key, strmap_hash(key), keyf, ctx);
}

void
idxmap_reserve(struct idxmap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 64;

	while (full(n, cap))
		cap *= 2;
	if (cap > m->cap)
		grow_to(m, cap);
}

long
idxmap_put(struct idxmap *m, const char *key, uint32_t idx,
	   idxmap_key_fn keyf, const void *ctx)
{
	return idxmap_put_h(m, key, strmap_hash(key), idx, keyf, ctx);
}

long
idxmap_put_h(struct idxmap *m, const char *key, uint32_t h, uint32_t idx,
	     idxmap_key_fn keyf, const void *ctx)
{
	struct idxmap_slot *s;

	/*
	 * Up to 7/8 full: the slots are 8 bytes, so even a long probe stays
	 * within a cache line or two, and a million-user run keeps its maps
	 * at half the size a 3/4 limit would give them.
	 */
	if (full(m->len, m->cap))
		grow_to(m, m->cap ? m->cap * 2 : 64);
	s = probe(m, key, h, keyf, ctx);
	if (s->idx1 != 0)
		return (long)s->idx1 - 1;
	s->hash = h;
	s->idx1 = idx + 1;
	m->len++;
	return -1;
}

void
idxmap_free(struct idxmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

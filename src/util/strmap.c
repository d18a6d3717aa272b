#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/xalloc.h"

/* Deleted slots keep key == TOMB so probing continues past them. */
static const char TOMB[1];

/*
 * XXH3 (libxxhash), folded to 32 bits: eight bytes a step where FNV-1a
 * took one (a strmap_get of a 60-byte DN was 300 instructions of hash;
 * the rules look up every member value of a list of 50,000).
 */
unsigned
strmap_hash(const char *s)
{
	uint64_t h = XXH3_64bits(s, strlen(s));

	return (unsigned)(h ^ (h >> 32));
}

static struct strmap_slot *
find(const struct strmap *m, const char *key, unsigned h)
{
	size_t mask = m->cap - 1, i = h & mask;
	struct strmap_slot *tomb = NULL;

	for (;;) {
		struct strmap_slot *s = &m->slots[i];

		if (s->key == NULL)
			return tomb ? tomb : s;
		if (s->key == TOMB) {
			if (tomb == NULL)
				tomb = s;
		} else if (s->hash == h && strcmp(s->key, key) == 0) {
			return s;
		}
		i = (i + 1) & mask;
	}
}

static void
grow(struct strmap *m)
{
	struct strmap_slot *old = m->slots;
	size_t oldcap = m->cap, i;

	m->cap = oldcap ? oldcap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	m->len = 0;
	m->tombs = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].key != NULL && old[i].key != TOMB) {
			struct strmap_slot *s =
				find(m, old[i].key, old[i].hash);
			*s = old[i];
			m->len++;
		}
	}
	free(old);
}

void *
strmap_put(struct strmap *m, const char *key, void *val)
{
	unsigned h = strmap_hash(key);
	struct strmap_slot *s;
	void *prev;

	if ((m->len + m->tombs + 1) * 4 >= m->cap * 3)
		grow(m);
	s = find(m, key, h);
	if (s->key != NULL && s->key != TOMB) {
		prev = s->val;
		s->val = val;
		return prev;
	}
	if (s->key == TOMB)
		m->tombs--;
	s->key = key;
	s->hash = h;
	s->val = val;
	m->len++;
	return NULL;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s;

	if (m->cap == 0)
		return NULL;
	s = find(m, key, strmap_hash(key));
	if (s->key == NULL || s->key == TOMB)
		return NULL;
	return s->val;
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_slot *s;
	void *val;

	if (m->cap == 0)
		return NULL;
	s = find(m, key, strmap_hash(key));
	if (s->key == NULL || s->key == TOMB)
		return NULL;
	val = s->val;
	s->key = TOMB;
	s->val = NULL;
	m->len--;
	m->tombs++;
	return val;
}

bool
strmap_next(const struct strmap *m, size_t *iter, const char **key,
	    void **val)
{
	while (*iter < m->cap) {
		struct strmap_slot *s = &m->slots[(*iter)++];

		if (s->key != NULL && s->key != TOMB) {
			if (key)
				*key = s->key;
			if (val)
				*val = s->val;
			return true;
		}
	}
	return false;
}

void
strmap_free(struct strmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = m->tombs = 0;
}

bool
strmap_same_keys(const struct strmap *a, const struct strmap *b)
{
	const char *k;
	void *v;
	size_t it = 0;

	if (a->len != b->len)
		return false;
	while (strmap_next(a, &it, &k, &v))
		if (strmap_get(b, k) == NULL)
			return false;
	return true;
}

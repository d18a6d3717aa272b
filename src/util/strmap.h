/*
 * strmap.h - open-addressing hash map from NUL-terminated keys to pointers.
 *
 * Keys are borrowed: the caller keeps them alive as long as the map (they
 * normally live in an arena next to the value).  Lookups are exact byte
 * comparisons; callers normalise case first.
 */
#ifndef DS_STRMAP_H
#define DS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap_slot {
	const char *key;
	void *val;
	unsigned hash;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap;   /* power of two */
	size_t len;
	size_t tombs; /* deleted slots still in the probe chains */
};

#define STRMAP_INIT {NULL, 0, 0, 0}

/* Returns the previous value for key, or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *val);
void *strmap_get(const struct strmap *m, const char *key);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
void strmap_free(struct strmap *m);
unsigned strmap_hash(const char *s);

/* Do a and b hold the same keys (values not compared)? */
bool strmap_same_keys(const struct strmap *a, const struct strmap *b);

/* Iteration: for (i = 0; strmap_next(m, &i, &k, &v); ) */
bool strmap_next(const struct strmap *m, size_t *iter, const char **key,
		 void **val);

#endif

/*
 * idxmap.h - a compact hash index over an array of records.
 *
 * For the big per-run sets (desired, current, managed: a few hundred
 * thousand to millions of objects) a general map costs 24 bytes a slot;
 * this one stores only a 32-bit hash and a 32-bit index into the caller's
 * array (8 bytes), and asks the caller for the key of an index when the
 * hashes match.  No deletion: the sets are built once per run.
 */
#ifndef DS_IDXMAP_H
#define DS_IDXMAP_H

#include <stddef.h>
#include <stdint.h>

struct idxmap_slot {
	uint32_t hash;
	uint32_t idx1;   /* index + 1; 0 = empty */
};

struct idxmap {
	struct idxmap_slot *slots;
	size_t cap, len;
};

#define IDXMAP_INIT {NULL, 0, 0}

/* The key of record idx in the caller's array. */
typedef const char *(*idxmap_key_fn)(const void *ctx, uint32_t idx);

/* Index of key, or -1. */
long idxmap_get(const struct idxmap *m, const char *key, idxmap_key_fn keyf,
		const void *ctx);
/* The same with hash = strmap_hash(key) computed once by the caller, for
 * one key looked up in several maps. */
long idxmap_get_h(const struct idxmap *m, const char *key, uint32_t hash,
		  idxmap_key_fn keyf, const void *ctx);
/* Adds key -> idx unless present; returns the existing index or -1. */
long idxmap_put(struct idxmap *m, const char *key, uint32_t idx,
		idxmap_key_fn keyf, const void *ctx);
/* The same with hash = strmap_hash(key) computed by the caller. */
long idxmap_put_h(struct idxmap *m, const char *key, uint32_t hash,
		  uint32_t idx, idxmap_key_fn keyf, const void *ctx);
/*
 * Room for n keys in all without growing (the table then rehashes at
 * most never for a known count; an estimate that falls short costs the
 * usual doubling).
 */
void idxmap_reserve(struct idxmap *m, size_t n);
void idxmap_free(struct idxmap *m);

#endif

/*
 * arena.h - bump allocator for the directory snapshot and mail objects.
 *
 * Millions of small strings share a lifetime (one run), so they live in
 * 1 MiB chunks freed at once: no per-string malloc header, no free walk.
 */
#ifndef DS_ARENA_H
#define DS_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used;     /* bytes handed out, for the memory figures */
};

#define ARENA_INIT {NULL, 0}

void *arena_alloc(struct arena *a, size_t n);   /* 8-byte aligned */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void *arena_memdup(struct arena *a, const void *p, size_t n);
void arena_free(struct arena *a);

#endif

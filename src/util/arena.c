#include "util/arena.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define CHUNK (1024 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, off;
	char data[];
};

/* n bytes aligned to `align` (a power of two, at most 8). */
static void *
alloc_aligned(struct arena *a, size_t n, size_t align)
{
	struct arena_chunk *c = a->head;
	size_t off = 0;
	void *p;

	if (c != NULL)
		off = (c->off + align - 1) & ~(align - 1);
	if (c == NULL || off > c->size || c->size - off < n) {
		size_t size = n > CHUNK / 4 ? n : CHUNK;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->off = 0;
		off = 0;
		if (size != CHUNK && a->head != NULL) {
			/* big one-off: keep the current chunk on top */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = c->data + off;
	c->off = off + n;
	a->used += n;
	return p;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	return alloc_aligned(a, n, 8);
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = alloc_aligned(a, n + 1, 1);   /* strings need no padding */

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void *
arena_memdup(struct arena *a, const void *p, size_t n)
{
	void *q = arena_alloc(a, n);

	memcpy(q, p, n);
	return q;
}

void
arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->used = 0;
}

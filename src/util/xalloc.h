/*
 * xalloc.h - allocation that cannot return NULL.
 *
 * dirsync holds a snapshot of the directory in memory; running out of
 * memory half-way through a sync is not something a caller can repair, so
 * these print one line and exit(1) before anything is applied (the apply
 * runs in a transaction, so an exit there rolls back).
 */
#ifndef DS_XALLOC_H
#define DS_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array of `size`-byte items to hold at least `need` items. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);
/* Gives back the room of an array grown by xgrow beyond its n items. */
void *xshrink(void *p, size_t *cap, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

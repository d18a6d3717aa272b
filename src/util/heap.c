/*
 * heap.c - transparent huge pages under the main heap (see heap.h).
 *
 * Written here because no library does it: glibc only offers it as the
 * tunable glibc.malloc.hugetlb, read once at process start (it would need
 * a re-exec of dirsync with GLIBC_TUNABLES set), and for the whole run,
 * a full read's too.
 */
#include "util/heap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "util/log.h"

#define HUGE_PAGE ((uintptr_t)2 << 20)
#define GLIBC_TOP_PAD 131072    /* DEFAULT_TOP_PAD, glibc's malloc */

void
heap_hugepages(size_t bytes)
{
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE)
	uintptr_t lo, hi;
	void *v[64];
	int n = 0;

	if (bytes == 0 || bytes > INT32_MAX ||
	    mallopt(M_TOP_PAD, (int)bytes) == 0)
		return;
	/* allocate until malloc grows the heap (by `bytes` more now) */
	lo = (uintptr_t)sbrk(0);
	while (n < 64 && (uintptr_t)sbrk(0) == lo &&
	       (v[n] = malloc(60u << 10)) != NULL)
		n++;
	while (n > 0)
		free(v[--n]);
	hi = (uintptr_t)sbrk(0);
	lo = (lo + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	if (hi <= lo + HUGE_PAGE) {
		log_debug("memory: the heap did not grow: no huge pages");
		return;
	}
	if (madvise((void *)lo, hi - lo, MADV_HUGEPAGE) != 0)
		log_debug("memory: madvise(MADV_HUGEPAGE): %s",
			  strerror(errno));
#else
	(void)bytes;
#endif
}

void
heap_hugepages_end(void)
{
#ifdef __GLIBC__
	mallopt(M_TOP_PAD, GLIBC_TOP_PAD);
#endif
}

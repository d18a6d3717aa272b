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
#include <pthread.h>
#include <stdbool.h>
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

/* The advised range (0, 0: none) and the prefault thread (heap.h). */
static uintptr_t range_lo, range_hi;
static struct {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uintptr_t want;          /* populate up to here */
	uintptr_t done;          /* populated up to here */
	bool running, stop;
} pf = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

void
heap_hugepages(size_t bytes)
{
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE)
	uintptr_t lo, hi;
	void *v[64];
	int n = 0;

	heap_prefault_stop();    /* a thread of an earlier range */
	range_lo = range_hi = 0;
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
	if (madvise((void *)lo, hi - lo, MADV_HUGEPAGE) != 0) {
		log_debug("memory: madvise(MADV_HUGEPAGE): %s",
			  strerror(errno));
		return;
	}
	range_lo = lo;
	range_hi = hi;
#else
	(void)bytes;
#endif
}

void
heap_hugepages_end(void)
{
	heap_prefault_stop();
	range_lo = range_hi = 0;
#ifdef __GLIBC__
	mallopt(M_TOP_PAD, GLIBC_TOP_PAD);
#endif
}

#ifdef MADV_POPULATE_WRITE
/*
 * Populates [done, want) a huge page at a time, without the lock held;
 * sleeps when it has caught up.  MADV_POPULATE_WRITE faults the pages in
 * as a write would, but writes nothing: malloc may already have handed
 * the memory out.  Any error (a kernel without it: EINVAL; the heap
 * trimmed under it: ENOMEM) ends the thread; the run faults in the rest
 * itself, as without it.
 */
static void *
prefault_main(void *arg)
{
	uintptr_t at;

	(void)arg;
	pthread_mutex_lock(&pf.mu);
	for (;;) {
		while (!pf.stop && pf.done >= pf.want)
			pthread_cond_wait(&pf.cv, &pf.mu);
		if (pf.stop)
			break;
		at = pf.done;
		pthread_mutex_unlock(&pf.mu);
		if (madvise((void *)at, HUGE_PAGE, MADV_POPULATE_WRITE) != 0) {
			pthread_mutex_lock(&pf.mu);
			break;
		}
		pthread_mutex_lock(&pf.mu);
		pf.done = at + HUGE_PAGE;
	}
	pthread_mutex_unlock(&pf.mu);
	return NULL;
}
#endif

void
heap_prefault(size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t want;

	if (range_lo == 0)
		return;
	if (bytes > range_hi - range_lo)
		bytes = range_hi - range_lo;
	want = range_lo + (bytes & ~(HUGE_PAGE - 1));
	pthread_mutex_lock(&pf.mu);
	if (!pf.running) {
		pf.done = pf.want = range_lo;
		pf.stop = false;
		pf.running = pthread_create(&pf.th, NULL, prefault_main,
					    NULL) == 0;
	}
	if (pf.running && want > pf.want) {
		pf.want = want;
		pthread_cond_signal(&pf.cv);
	}
	pthread_mutex_unlock(&pf.mu);
#else
	(void)bytes;
#endif
}

void
heap_prefault_stop(void)
{
	bool running;

	pthread_mutex_lock(&pf.mu);
	running = pf.running;
	pf.stop = true;
	pthread_cond_signal(&pf.cv);
	pthread_mutex_unlock(&pf.mu);
	if (running)
		pthread_join(pf.th, NULL);
	pf.running = false;
}

/*
 * heap.h - transparent huge pages under the main heap, for a run that
 * allocates much in a short time (an incremental run's rules, snapshot
 * rows and page caches).
 *
 * Each 4 KiB page of heap a process touches first costs a page fault.
 * Under a hypervisor that makes faults dear (this project's benchmark
 * machine) the ~49,000 faults of a 1% incremental run at 1M entries cost
 * 0.3-0.9 s of CPU; with the heap advised for huge pages
 * (madvise(2) MADV_HUGEPAGE, honoured when
 * /sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise")
 * the same run takes ~5,700 (docs/benchmarks.md).
 *
 * glibc's malloc takes the main heap from sbrk(2).  heap_hugepages()
 * asks it to grow the heap by `bytes` at once (mallopt M_TOP_PAD: address
 * space only, nothing is touched) and advises that range; what the run
 * then allocates there is backed by 2 MiB pages where the kernel has
 * them, by 4 KiB pages where it has not.  Memory a run frees is reused
 * within the range; heap_hugepages_end() gives glibc its default padding
 * back (131072 bytes), so a daemon keeps no more between runs than
 * without.  Threads' arenas are not advised.
 *
 * Neither fails: without glibc or MADV_HUGEPAGE, or when the kernel
 * refuses, both are no-ops (a debug line says why).  Not thread-safe
 * against another thread's sbrk (there is none: call them from the main
 * thread while no other thread allocates from the main arena).
 */
#ifndef DS_HEAP_H
#define DS_HEAP_H

#include <stddef.h>

/* Grow the main heap by `bytes` (address space) and advise huge pages. */
void heap_hugepages(size_t bytes);
/* glibc's default top padding again; stops the prefault thread. */
void heap_hugepages_end(void);

/*
 * heap_prefault(bytes): the first `bytes` of the range heap_hugepages()
 * advised are populated by a thread of their own (madvise(2)
 * MADV_POPULATE_WRITE, Linux 5.14), a huge page at a time, while the run
 * goes on: under a hypervisor a fresh huge page costs ~4 ms to fault in
 * and zero (a 1% run at 1M faults in ~130 MB: ~0.3 s of the main
 * thread's time, docs/benchmarks.md), and that thread does it on the
 * other core instead.  Nothing is written to the memory.  Called again
 * with more, it goes on to there; capped at the advised range; a no-op
 * without one or without MADV_POPULATE_WRITE.  heap_prefault_stop()
 * joins the thread (pages it populated stay; heap_hugepages_end() calls
 * it).  Main thread only, like heap_hugepages().
 */
void heap_prefault(size_t bytes);
void heap_prefault_stop(void);

#endif

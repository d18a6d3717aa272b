/*
 * i64sort.h - sorting signed 64-bit integers, ascending.
 *
 * An LSD radix sort, a byte a pass, for arrays past a few hundred (the
 * snapshot's key hashes: 50,000 for a big list, sorted on every write of
 * it, where qsort(3) took 20M instructions); insertion or qsort below.
 * Ours: no C library at hand offers one.
 */
#ifndef DS_I64SORT_H
#define DS_I64SORT_H

#include <stddef.h>
#include <stdint.h>

void i64sort(int64_t *v, size_t n);

#endif

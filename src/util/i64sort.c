/*
 * i64sort.c - radix sort of int64_t (i64sort.h).
 */
#include "util/i64sort.h"

#include <stdlib.h>
#include <string.h>

/* Below this many, qsort(3): the radix passes cost 8 * 256 counts. */
#define RADIX_MIN 512

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

void
i64sort(int64_t *v, size_t n)
{
	size_t count[8][256], i, b, sum, t;
	uint64_t *a = (uint64_t *)v, *tmp, *from, *to;

	if (n < RADIX_MIN) {
		if (n > 1)
			qsort(v, n, sizeof(*v), cmp_i64);
		return;
	}
	if ((tmp = malloc(n * sizeof(*tmp))) == NULL) {
		qsort(v, n, sizeof(*v), cmp_i64);
		return;
	}
	/* the sign bit flipped: two's complement then sorts as unsigned */
	memset(count, 0, sizeof(count));
	for (i = 0; i < n; i++) {
		uint64_t x = a[i] ^ (UINT64_C(1) << 63);

		for (b = 0; b < 8; b++)
			count[b][(x >> (8 * b)) & 0xff]++;
	}
	from = a;
	to = tmp;
	for (b = 0; b < 8; b++) {
		uint64_t *sw;

		/* a byte all values share moves nothing */
		if (count[b][((from[0] ^ (UINT64_C(1) << 63)) >> (8 * b)) &
			     0xff] == n)
			continue;
		for (i = sum = 0; i < 256; i++) {
			t = count[b][i];
			count[b][i] = sum;
			sum += t;
		}
		for (i = 0; i < n; i++) {
			uint64_t x = from[i] ^ (UINT64_C(1) << 63);

			to[count[b][(x >> (8 * b)) & 0xff]++] = from[i];
		}
		sw = from;
		from = to;
		to = sw;
	}
	if (from != a)
		memcpy(a, from, n * sizeof(*a));
	free(tmp);
}

/*
 * strsort.c - multikey quicksort of strings (strsort.h says whose).
 */
#include "util/strsort.h"

#include <stdlib.h>
#include <string.h>

/* Below this many strings a part is sorted by insertion. */
#define SMALL 12
/* Past this depth (bytes alike in a whole part) a part goes to qsort:
 * the recursion on the "equal" part is one frame per byte. */
#define DEEP 512

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static inline int
at(const char *s, size_t d)
{
	return (unsigned char)s[d];
}

static inline void
swap(const char **v, size_t i, size_t j)
{
	const char *t = v[i];

	v[i] = v[j];
	v[j] = t;
}

/* The strings of v[0 .. n) share their first d bytes (none ended). */
static void
insertion(const char **v, size_t n, size_t d)
{
	size_t i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(v[j - 1] + d, v[j] + d) > 0; j--)
			swap(v, j - 1, j);
}

static size_t
median3(const char **v, size_t a, size_t b, size_t c, size_t d)
{
	int x = at(v[a], d), y = at(v[b], d), z = at(v[c], d);

	if (x < y)
		return y < z ? b : (x < z ? c : a);
	return y > z ? b : (x > z ? c : a);
}

static void
mkqs(const char **v, size_t n, size_t d)
{
	while (n > 1) {
		size_t lt, gt, i;
		int p;

		if (n < SMALL) {
			insertion(v, n, d);
			return;
		}
		if (d > DEEP) {
			qsort(v, n, sizeof(*v), cmp_str);
			return;
		}
		swap(v, 0, median3(v, 0, n / 2, n - 1, d));
		p = at(v[0], d);
		/* v[0 .. lt) below p, v[lt .. i) at p, v(gt .. n) above */
		lt = 0;
		i = 1;
		gt = n - 1;
		while (i <= gt) {
			int c = at(v[i], d);

			if (c < p)
				swap(v, lt++, i++);
			else if (c > p)
				swap(v, i, gt--);
			else
				i++;
		}
		/* the part at p goes one byte deeper (none when p ended the
		 * strings: they are equal); of the two others, the smaller
		 * recurses, the larger loops, so the stack stays shallow */
		if (p != 0)
			mkqs(v + lt, gt + 1 - lt, d + 1);
		if (lt < n - gt - 1) {
			mkqs(v, lt, d);
			v += gt + 1;
			n -= gt + 1;
		} else {
			mkqs(v + gt + 1, n - gt - 1, d);
			n = lt;
		}
	}
}

void
strsort(const char **v, size_t n)
{
	mkqs(v, n, 0);
}

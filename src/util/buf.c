#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static void
reserve(struct buf *b, size_t more)
{
	b->p = xgrow(b->p, &b->cap, b->len + more + 1, 1);
}

void
buf_add(struct buf *b, const void *data, size_t n)
{
	reserve(b, n);
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	reserve(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

/* The length of the valid UTF-8 sequence at s (RFC 3629), 0 for none;
 * never reads past a NUL. */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) ||    /* overlong */
		    (c == 0xed && s[1] >= 0xa0))     /* a surrogate */
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 ||
		    (c == 0xf0 && s[1] < 0x90) ||    /* overlong */
		    (c == 0xf4 && s[1] >= 0x90))     /* past U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

bool
buf_is_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f || (n = utf8_seq(p)) == 0)
			return false;
		p += n;
	}
	return true;
}

void
buf_add_printable(struct buf *b, const char *s)
{
	size_t n;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 && (n = utf8_seq((const unsigned char *)s)) > 0) {
			buf_add(b, s, n);
			s += n - 1;
		} else if (c >= 0x80)
			buf_printf(b, "\\x%02x", c);
		else if (c >= 0x20 && c != 0x7f)
			buf_addc(b, (char)c);
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else
			buf_printf(b, "\\x%02x", c);
	}
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

const char *
buf_str(struct buf *b)
{
	if (b->p == NULL)
		reserve(b, 0), b->p[0] = '\0';
	return b->p;
}

char *
buf_steal(struct buf *b)
{
	char *p;

	buf_str(b);
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

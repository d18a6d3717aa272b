/*
 * buf.h - a growable byte buffer, always NUL-terminated.
 */
#ifndef DS_BUF_H
#define DS_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *p;
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
/*
 * Adds s with every control byte (0x00-0x1f, 0x7f) written as \n, \r,
 * \t or \xNN, so that a value from the directory can never start a new
 * line in a log, a report or a mail (log injection), and every byte that
 * is not part of a valid UTF-8 sequence (RFC 3629: no overlong form, no
 * surrogate, nothing past U+10FFFF) as \xNN, so that the result is
 * always valid UTF-8 (jansson refuses a string that is not, and a report
 * would lose it).  Valid UTF-8 is copied: it stays readable.
 */
void buf_add_printable(struct buf *b, const char *s);
/* Would buf_add_printable() copy s as it is? */
bool buf_is_printable(const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Returns the string (never NULL); the buffer keeps owning it. */
const char *buf_str(struct buf *b);
/* Hands the string to the caller and empties the buffer. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif

#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
vset(struct err *e, enum ds_rc code, const char *fmt, va_list ap)
{
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int
err_set(struct err *e, enum ds_rc code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_at(struct err *e, enum ds_rc code, const char *file, long line,
       const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
	e->line = line;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	return -1;
}

void
err_where(struct err *e, const char *where)
{
	if (e != NULL)
		snprintf(e->where, sizeof(e->where), "%s", where ? where : "");
}

void
err_object(struct err *e, const char *object)
{
	if (e != NULL)
		snprintf(e->object, sizeof(e->object), "%s",
			 object ? object : "");
}

void
err_clear(struct err *e)
{
	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

bool
err_retryable(enum ds_rc code)
{
	switch (code) {
	case DS_E_CONNECT:
	case DS_E_SOURCE:
	case DS_E_TARGET:
	case DS_E_IO:
	case DS_E_LOCKED:
		return true;
	default:
		return false;
	}
}

const char *
err_code_name(enum ds_rc code)
{
	static const char *const names[] = {
		"ok", "nomem", "usage", "config", "parse", "io", "connect",
		"auth", "tls", "source", "target", "schema", "limit", "state",
		"locked", "internal",
	};

	if ((size_t)code < sizeof(names) / sizeof(names[0]))
		return names[code];
	return "unknown";
}

const char *
err_fmt(const struct err *e, char *buf, size_t len)
{
	size_t off = 0;

#define ADD(...)                                                          \
	do {                                                              \
		int n_ = snprintf(buf + off, len - off, __VA_ARGS__);     \
		if (n_ > 0)                                               \
			off = (size_t)n_ < len - off ? off + (size_t)n_   \
						     : len - 1;           \
	} while (0)
	buf[0] = '\0';
	if (e->file[0] != '\0') {
		if (e->line > 0)
			ADD("%s:%ld: ", e->file, e->line);
		else
			ADD("%s: ", e->file);
	}
	if (e->where[0] != '\0')
		ADD("%s: ", e->where);
	if (e->object[0] != '\0')
		ADD("%s: ", e->object);
	ADD("%s", e->msg[0] ? e->msg : err_code_name(e->code));
#undef ADD
	return buf;
}

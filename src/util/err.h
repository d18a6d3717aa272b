/*
 * err.h - one error enum for all layers, plus a detail struct.
 *
 * Codes never get renumbered: they appear in JSON reports and logs.
 * Library modules fill a struct err and return -1; only the command layer
 * logs.  err_retryable() tells the daemon whether a later run may succeed.
 */
#ifndef DS_ERR_H
#define DS_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum ds_rc {
	DS_OK = 0,
	DS_E_NOMEM = 1,
	DS_E_USAGE = 2,     /* command line */
	DS_E_CONFIG = 3,    /* config file: file/line set */
	DS_E_PARSE = 4,     /* source data (LDIF): file/line set */
	DS_E_IO = 5,        /* local file or socket I/O: lib_rc = errno */
	DS_E_CONNECT = 6,   /* server unreachable / timed out: retryable */
	DS_E_AUTH = 7,      /* bad credentials: never retried */
	DS_E_TLS = 8,       /* certificate or handshake */
	DS_E_SOURCE = 9,    /* directory read failed or was partial */
	DS_E_TARGET = 10,   /* target refused a statement/request */
	DS_E_SCHEMA = 11,   /* target schema differs from what we expect */
	DS_E_LIMIT = 12,    /* a safety limit was exceeded */
	DS_E_STATE = 13,    /* state database */
	DS_E_LOCKED = 14,   /* another instance holds the lock */
	DS_E_INTERNAL = 15,
};

struct err {
	enum ds_rc code;
	long lib_rc;          /* errno, LDAP rc, SQLite rc, HTTP status ... */
	char where[64];       /* "bind", "search page 3", "apply mailbox" */
	char object[512];     /* DN, address or server the error is about */
	char file[256];       /* for parse errors */
	long line;            /* for parse errors, 0 if none */
	char msg[512];
};

/* Set code and message; keeps where/object/file set earlier.  Returns -1. */
int err_set(struct err *e, enum ds_rc code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Parse-style error at file:line.  Returns -1. */
int err_at(struct err *e, enum ds_rc code, const char *file, long line,
	   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void err_where(struct err *e, const char *where);
void err_object(struct err *e, const char *object);
void err_clear(struct err *e);
bool err_retryable(enum ds_rc code);
const char *err_code_name(enum ds_rc code);
/* One line for a human: "file:line: msg" or "where: object: msg". */
const char *err_fmt(const struct err *e, char *buf, size_t len);

#endif

/*
 * source.h - the directory side: a table of functions per source type.
 *
 * A source reads the whole directory (a "full read") and hands each entry
 * that matches the effective filter to a callback.  It reports success only
 * when every entry was delivered: a dropped connection, a failed page, a
 * size or time limit or a malformed file make read() fail with err filled
 * in (server, page, line), and the caller then discards everything it got.
 *
 * Seam for later: incremental reads (DirSync control, RFC 4533 cookies)
 * will be a second entry point next to read(); the callback shape stays.
 */
#ifndef DS_SOURCE_H
#define DS_SOURCE_H

#include "conf/conf.h"
#include "model/entry.h"
#include "util/err.h"

/* Return 0 to go on, -1 (with err set) to abort the read. */
typedef int (*source_entry_cb)(void *ctx, const struct entry *e,
			       struct err *err);

/* Facts about the source after open(), for `dirsync test` and reports. */
struct source_info {
	char server[512];     /* URI actually used, or the LDIF path */
	char flavor[16];      /* "ad", "openldap", "ldif" */
	char naming_context[512];
	char tls[64];         /* "ldaps", "starttls", "none", "n/a" */
};

struct source;

struct source_ops {
	const char *name;
	/* Connect/bind or open the file.  On failure *out is NULL. */
	int (*open)(struct source **out, const struct conf *conf,
		    struct source_info *info, struct err *err);
	/*
	 * Full read.  `filter` is an RFC 4515 filter (never NULL); `attrs`
	 * is a NULL-terminated list of attribute names wanted (others may be
	 * dropped).  Entries are borrowed for the duration of the callback.
	 */
	int (*read)(struct source *src, const char *filter,
		    const char *const *attrs, source_entry_cb cb, void *ctx,
		    struct err *err);
	void (*close)(struct source *src);
};

extern const struct source_ops source_ldif_ops;
extern const struct source_ops source_ldap_ops;
/* Tests only (memory.c): entries set by source_memory_set(). */
extern const struct source_ops source_memory_ops;

/*
 * The in-memory source's entries (borrowed: they must outlive the reads)
 * and, if fail_after >= 0, a read that fails after that many (a partial
 * read).  For unit tests of the engine.
 */
void source_memory_set(const struct entry *const *v, size_t n,
		       long fail_after);

/* The ops for conf->source.type. */
const struct source_ops *source_ops_for(const struct conf *conf);

/*
 * The filter a full read uses: [source] filter if set, else the default
 * for the flavor (users, groups and contacts; never computers).
 */
const char *source_default_filter(const char *flavor);

/*
 * The filter a read of this source uses: [source] filter if set, else the
 * default for the flavor ([source] flavor if set, else the one open()
 * detected in info).  Points into conf or a static string.
 */
const char *source_effective_filter(const struct conf *conf,
				    const struct source_info *info);

#endif

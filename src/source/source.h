/*
 * source.h - the directory side: a table of functions per source type.
 *
 * A source reads the whole directory (a "full read") and hands each entry
 * that matches the effective filter to a callback.  It reports success only
 * when every entry was delivered: a dropped connection, a failed page, a
 * size or time limit or a malformed file make read() fail with err filled
 * in (server, page, line), and the caller then discards everything it got.
 *
 * A source that can read changes (OpenLDAP with syncprov: RFC 4533
 * content synchronization; Active Directory: the DirSync control) also
 * offers sync_read(): with a cookie it
 * delivers what changed since the read that gave the cookie; without
 * one, every entry (a full read that ends with a cookie).
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

/*
 * What sync_read() hands over besides entries.  uuid is the entry's
 * anchor as the rules write it (rules_anchor(): entryUUID in lower
 * case, or objectGUID in its usual text form), borrowed for the call.
 * Each returns 0 to go on, -1 (with err set) to abort the read.
 */
struct source_sync_cb {
	/* added or changed since the cookie (without one: every entry) */
	int (*changed)(void *ctx, const char *uuid, const struct entry *e,
		       struct err *err);
	/* gone: deleted, moved out of the base or out of the filter */
	int (*deleted)(void *ctx, const char *uuid, struct err *err);
	/* unchanged since the cookie (RFC 4533 present phase) */
	int (*present)(void *ctx, const char *uuid, struct err *err);
};

/* sync_read()'s cookie in, and what the read ended with. */
struct source_sync {
	const unsigned char *cookie; /* in: NULL = read everything */
	size_t cookie_len;
	unsigned char *new_cookie;   /* out: malloc'd, NULL if none came */
	size_t new_cookie_len;
	/*
	 * out: the refresh ended in a present phase (RFC 4533 3.3.1): every
	 * entry of the last read that was reported neither present nor
	 * changed is gone.
	 */
	bool present_phase;
	size_t changed, deleted, present;  /* out: counts delivered */
	char reason[320];  /* out, when sync_read() returned 1 */
	bool unsupported;  /* out: the server has no content sync at all
			    * (a setup to report, not an alarm) */
};

/*
 * watch()'s contract with its caller (the daemon's watcher thread,
 * src/cli/watch.c).  The callbacks run on the watching thread.
 */
struct source_watch {
	/* RFC 4533: the cookie of the last run (NULL: none; the refresh
	 * then sends every entry, which is not taken for a change) */
	const unsigned char *cookie;
	size_t cookie_len;
	/* the persistent search is established: changes from now on are seen */
	void (*watching)(void *ctx);
	/* something in scope changed (added, modified, renamed, deleted) */
	void (*changed)(void *ctx);
	/* polled at least once a second: true ends watch() with 0 */
	bool (*stop)(void *ctx);
	void *ctx;
	char reason[256];  /* out, when watch() returned 1 */
};

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
	/*
	 * Optional (NULL: the source can only read everything).  RFC 4533
	 * refreshOnly with sy->cookie.  Returns 0 when the refresh ended
	 * normally (sy's out fields set); 1 when the server refused
	 * (no content synchronization, the cookie refused with
	 * e-syncRefreshRequired, a size limit): sy->reason says why, and
	 * whatever was delivered must be discarded; -1 on any other failure
	 * (err set; discard everything).
	 */
	int (*sync_read)(struct source *src, const char *filter,
			 const char *const *attrs, struct source_sync *sy,
			 const struct source_sync_cb *cb, void *ctx,
			 struct err *err);
	/*
	 * Optional (NULL: cannot say).  An identifier of everything read()
	 * would deliver, as hex text (out: len >= 40), that changes when
	 * any of it does: for an LDIF file, XXH3-128 of its bytes and its
	 * size.  Returns 0, or -1 with err (e.g. unreadable).
	 */
	int (*content_id)(struct source *src, char *out, size_t len,
			  struct err *err);
	/*
	 * Optional (NULL: the source cannot follow changes).  Holds one
	 * persistent search on src (a connection of its own: nothing else
	 * may use src meanwhile) and calls w->changed for each change the
	 * server announces: RFC 4533 refreshAndPersist (OpenLDAP's
	 * syncprov, 389-DS), or Active Directory's change notification
	 * control (LDAP_SERVER_NOTIFICATION_OID, 1.2.840.113556.1.4.528,
	 * MS-ADTS 3.1.1.3.4.1.9).  It only says *that* something changed:
	 * what changed is read by the next run.  Returns 0 when w->stop
	 * said so; 1 when this server cannot be watched at all (no syncprov,
	 * no notification control): w->reason says why, and trying again
	 * would not help; -1 when the search ended otherwise (connection
	 * lost, the server ended it; err set): the caller may reconnect.
	 */
	int (*watch)(struct source *src, const char *filter,
		     struct source_watch *w, struct err *err);
	/*
	 * Optional (NULL: cannot say).  Whether an entry matching filter
	 * lies under dn (at any depth, dn itself not counted): 1 yes, or
	 * dn is gone (no such object: the caller cannot know), 0 no, -1
	 * failed (err set).  For a rename: the server reports only the
	 * renamed entry, though every entry under it has a new DN too.
	 */
	int (*has_under)(struct source *src, const char *dn,
			 const char *filter, struct err *err);
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

/*
 * Tests only (memory.c): the same entries through sync_read().  Without a
 * cookie every entry; with one, the first `changed` entries set by
 * source_memory_set(), then the deleted and present uuids (strings
 * borrowed); the new cookie is `cookie`; refuse != NULL: sync_read()
 * returns 1 with that reason.  A test entry's uuid is its objectGUID
 * value in lower case.  source_memory_cookie_seen(): the cookie the last
 * sync_read() was given ("" for none).
 */
struct source_memory_sync {
	size_t changed;
	const char *const *deleted;
	size_t ndeleted;
	const char *const *present;
	size_t npresent;
	bool present_phase;
	const char *cookie;
	const char *refuse;
	/* read() applies its filter (else it answers every entry) */
	bool filtered;
};
extern const struct source_ops source_memory_sync_ops;
void source_memory_set_sync(const struct source_memory_sync *s);
const char *source_memory_cookie_seen(void);

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

/*
 * The first attribute named by `filter` or by [mapping] group_filter
 * (which the rules evaluate on what is read) that the server changes
 * without a change to the entry itself: memberOf (slapd's memberof
 * overlay, AD's back-link) or isMemberOf (389 DS, OpenDJ).  Such a
 * change gives no new entryCSN (RFC 4533) and DirSync does not name the
 * entry, so incremental reads would miss it.  Named or by OID, with
 * options or not, in any case.  Returns the attribute's name (a static
 * string: "memberOf" or "isMemberOf"), or NULL.  filter may be NULL;
 * an unparsable filter names nothing (conf checks report it).
 */
const char *source_backlink_attr(const struct conf *conf,
				 const char *filter);

#endif

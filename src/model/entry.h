/*
 * entry.h - one directory entry as a source hands it over.
 *
 * Both sources (LDIF, LDAP) produce exactly this shape, so everything after
 * the read is source-agnostic.  Attribute names come without options:
 * "member;range=0-1499" is delivered as "member" with all ranges merged,
 * "userCertificate;binary" as "userCertificate".  Values may be binary
 * (objectGUID), hence the explicit length; each is also NUL-terminated.
 *
 * An entry handed to a callback is borrowed until the callback returns.
 */
#ifndef DS_ENTRY_H
#define DS_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

struct val {
	const char *p;   /* NUL-terminated, may contain NULs if binary */
	size_t len;
};

struct attr {
	const char *name;
	size_t nvals;
	struct val *vals;
};

struct entry {
	const char *dn;
	size_t nattrs;
	struct attr *attrs;
	/* where it came from, for messages: "file.ldif:120" or server URI */
	const char *origin;
};

/* Case-insensitive attribute lookup; NULL when absent. */
const struct attr *entry_attr(const struct entry *e, const char *name);
/*
 * DN normalisation used for every DN comparison (member values, member_of,
 * lookups), by libldap's RFC 4514 parser: attribute types and values
 * lower-cased (non-ASCII letters too), escapes in one form ("\\," and
 * "\\2C" alike), no spaces around separators.  Strings that are not a
 * DN get a byte-wise form.  Returns a malloc'd string.
 */
char *dn_normalize(const char *dn);
/*
 * dn_normalize() into the arena a: the same string, with no malloc and
 * free for the common (plain) DN.  The string is a's, writable (a
 * caller may cut it short), until a is freed.
 */
char *dn_normalize_arena(struct arena *a, const char *dn);
/*
 * The shortcut itself: when dn is a plain DN (ASCII letters, digits and
 * ".-_@ " in its values, no escapes, no spaces around separators), its
 * normal form, as long as dn, into out (room for strlen(dn) + 1): true.
 * false for any other DN (out then holds part of it).  Reads and writes
 * nothing else: safe on any thread.
 */
bool dn_normalize_plain(const char *dn, char *out);
/* The same by libldap alone (no shortcut for plain DNs): for tests. */
char *dn_normalize_ldap(const char *dn);

#endif

/*
 * ldap_util.h - pure helpers of the LDAP source (no libldap, no I/O), kept
 * apart so unit tests can reach them.
 */
#ifndef DS_LDAP_UTIL_H
#define DS_LDAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * An attribute description as a server returns it, `len` bytes (not
 * NUL-terminated).  *baselen is always set to the length of the name
 * without options ("member" in "member;range=0-1499").  Returns 1 when
 * it carries a valid AD range option (*lo and *hi set, *hi = -1 for "*",
 * the last range), 0 when it has no range option, -1 when the range
 * option is malformed (digits only, hi >= lo, at most 18 digits each).
 */
int ldap_util_parse_range(const char *name, size_t len, size_t *baselen,
			  unsigned long *lo, long *hi);

/*
 * AD's reason for a refused bind, from the "data XXX" part of its
 * diagnostic text ("... AcceptSecurityContext error, data 775, v4563"),
 * as a few words; NULL when there is none.  Static string.
 */
const char *ldap_util_ad_bind_hint(const char *diag);

#endif

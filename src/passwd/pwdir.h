/*
 * pwdir.h - the directory side of a password change: which object an
 * account name belongs to, and whether its password change has happened.
 *
 * Uses the configured source ([source], the same TLS, bind and failover
 * as a sync) for one small search per call, the same whatever the flavor
 * (an LDIF file has none, and AD users may come in one): a person, not
 * a computer or contact, whose sAMAccountName, uid, userPrincipalName,
 * [mapping] email_attribute or one of the alias_attributes (bare or
 * "smtp:") is X, every name `dirsync explain` knows an account by; the
 * value escaped per RFC 4515.
 * The anchor is computed exactly as a sync computes it (rules_anchor), so
 * it finds the mailbox in the state database.
 */
#ifndef DS_PWDIR_H
#define DS_PWDIR_H

#include <stdbool.h>

#include "conf/conf.h"
#include "util/err.h"

struct pw_dir;

struct pw_account {
	bool found;        /* exactly one object matched */
	int matches;       /* how many did (0, 1, more: ambiguous) */
	char *dn;          /* malloc'd, NULL unless found */
	char *anchor;      /* malloc'd, NULL unless found */
	/*
	 * pwdLastSet (AD, 100 ns ticks since 1601) or pwdChangedTime
	 * (OpenLDAP ppolicy): "" when the object has neither.  Only compared
	 * for equality.
	 */
	char *changed;
};

/* Opens (connects and binds) the source.  *out NULL on failure. */
int pw_dir_open(struct pw_dir **out, const struct conf *c, struct err *err);
/* Looks `who` up; a > 1 match is not an error (found = false). */
int pw_dir_lookup(struct pw_dir *d, const char *who, struct pw_account *a,
		  struct err *err);
void pw_account_free(struct pw_account *a);
void pw_dir_close(struct pw_dir *d);

#endif

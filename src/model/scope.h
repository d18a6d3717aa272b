/*
 * scope.h - why a directory object has no mail object, or one fewer:
 * the rules' out-of-scope verdicts and what the planner adds to them.
 *
 * The rules record, per anchor of an object they read but left out, a
 * struct left_out (rules_result.left_out); the planner takes that map as
 * input and gives every disable a reason from it, or LR_NOT_READ when
 * the anchor was not read at all.  Keys are SPEC's JSON report values
 * ("reason"); texts are what the text report shows in parentheses.
 */
#ifndef DS_SCOPE_H
#define DS_SCOPE_H

#include <stdbool.h>

enum leave_reason {
	LR_NONE,
	LR_DISABLED,      /* enabled_only: the account is disabled/locked */
	LR_EXPIRED,       /* enabled_only: the account has expired */
	LR_HIDDEN,        /* visible_only */
	LR_NOT_MEMBER,    /* not (or no longer) in a [scope] member_of group */
	LR_EXCLUDED,      /* a [scope] exclude pattern */
	LR_NO_ADDRESS,    /* mail_enabled_only / no usable address */
	LR_DOMAIN,        /* primary address not in accepted_domains */
	LR_TYPE_OFF,      /* [scope] object_types */
	LR_GROUP_FILTER,  /* a group that does not match group_filter */
	LR_LIST_EMPTY,    /* a list none of whose members is in scope */
	LR_NOT_READ,      /* not in the read: deleted in the directory,
			   * moved out of base_dn or outside the filter */
	LR_ADDRESS_GONE,  /* the object stays, this address is no longer its */
	LR_NREASONS
};

/*
 * One object the rules read and left out.  Strings live in the rules'
 * result arena; dn and account may be NULL; detail names the rule that
 * decided ("exclude pattern svc-*", "userAccountControl bit 2") or is
 * NULL.
 */
struct left_out {
	enum leave_reason why;
	const char *dn;
	const char *account;      /* sAMAccountName, else uid */
	const char *address;      /* its primary address, if it has one */
	const char *detail;
	bool plain_group;         /* a group without an address: never a
				   * mail object, not counted as left out */
};

/* "account_disabled", ... ("" for LR_NONE); static strings. */
const char *leave_reason_key(enum leave_reason r);
/* "account disabled in the directory", ...; static strings. */
const char *leave_reason_text(enum leave_reason r);
/* The reason whose key is s; LR_NONE when none is. */
enum leave_reason leave_reason_parse(const char *s);

#endif

/*
 * rules.h - directory snapshot -> desired mail objects.
 *
 * Everything under SPEC's "Objects and rules", [scope] and [mapping]:
 * which entries are in scope, their addresses, aliases, lists (expanded
 * through nested groups) and contacts, and which addresses are claimed by
 * more than one object (conflicts: nobody gets them, and whatever the
 * target holds for them is left alone).
 */
#ifndef DS_RULES_H
#define DS_RULES_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "model/mail.h"
#include "model/scope.h"
#include "model/snapshot.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/strmap.h"

struct conflict {
	const char *address;
	size_t n;
	const char **claimed_by;   /* anchors, sorted */
	const char **dns;          /* the claimants' DNs, same order */
	const char **accounts;     /* their accounts (or NULL), same order */
};

/* Why directory objects were left out, for `dirsync test`. */
enum scope_reason {
	SC_USERS, SC_GROUPS, SC_CONTACTS,     /* seen, by type */
	SC_TYPE_OFF,        /* [scope] object_types */
	SC_DISABLED,        /* enabled_only */
	SC_HIDDEN,          /* visible_only */
	SC_NOT_MEMBER,      /* member_of */
	SC_EXCLUDED,        /* exclude patterns */
	SC_NO_ADDRESS,      /* mail_enabled_only / no usable address */
	SC_DOMAIN,          /* primary not in accepted_domains */
	SC_GROUP_FILTER,    /* a group with an address, not a list */
	SC_EXPIRED,         /* enabled_only: an expired account */
	SC_NREASONS
};

struct rules_result {
	size_t scope_counts[SC_NREASONS];
	struct mset desired;
	struct conflict *conflicts;
	size_t nconflicts, capconflicts;
	char **warnings;           /* malloc'd, one line each */
	size_t nwarnings, capwarnings;
	/* objects whose primary address is in conflict: leave them as is */
	struct strmap frozen_anchors;
	/* addresses in conflict: leave the target's rows as they are */
	struct strmap frozen_addresses;
	/*
	 * Objects read and left out, by anchor -> struct left_out (in
	 * arena): why, with DN and account, for the reasons of disables
	 * (plan_input.left_out) and `dirsync explain`.  Plain groups
	 * without an address are in it too (LR_NO_ADDRESS).
	 */
	struct strmap left_out;
	/*
	 * anchor -> struct left_out (why LR_NONE; address: the external
	 * one): the contacts in scope whose only address is outside the
	 * accepted domains, which yield no mail object of their own (lists
	 * name the external address), for `dirsync explain`.
	 */
	struct strmap external;
	/*
	 * The rules over a delta only (rules_delta.h; empty otherwise): the
	 * addresses whose every claimant, in the last read and now, is in
	 * the closure (their "a:" keys were looked up), keys in arena.  An
	 * address of these that no desired object has is had by nothing
	 * in the directory, as a full result would show.
	 */
	struct strmap sought;
	size_t in_scope;           /* directory objects yielding mail objects */
	size_t member_of_missing;  /* [scope] member_of groups not read */
	/*
	 * The clock expiry is judged against (accountExpires, shadowExpire,
	 * pwdEndTime): 0 (rules_init) means time(NULL) at rules_begin; tests
	 * set it.
	 */
	time_t now;
	/*
	 * The earliest expiry still to come among the accounts read (the
	 * moment this result would change with no change in the
	 * directory); 0: none.
	 */
	time_t next_expiry;
	struct arena arena;
};

/*
 * Attributes the rules read (group_filter's included), NULL-terminated.
 * One malloc'd block: free() it; the names are static, the conf's own, or
 * inside the block, so free it before the conf goes.  Pass it to the
 * source.
 */
const char **rules_attrs(const struct conf *c);

void rules_init(struct rules_result *r);

/*
 * Streaming use (the sync path): rules_begin(), rules_add() for every
 * entry as the source delivers it (only what the rules need is kept, not
 * the entry), then rules_end(), which resolves groups, conflicts and lists
 * and fills r.  rules_begin() fails with DS_E_CONFIG if group_filter does
 * not parse or names more than 64 attributes, or alias_attributes has
 * more than CONF_MAX_ALIAS_ATTRIBUTES.  rules_end() and rules_abort() free the context.
 */
struct rules_ctx;
struct rules_ctx *rules_begin(const struct conf *c, struct rules_result *r,
			      struct err *err);
void rules_add(struct rules_ctx *x, const struct entry *e);
int rules_end(struct rules_ctx *x, struct err *err);
void rules_abort(struct rules_ctx *x);

/* All at once, from a snapshot (tests, `dirsync test`). */
int rules_apply(const struct conf *c, const struct snapshot *s,
		struct rules_result *r, struct err *err);
void rules_free(struct rules_result *r);

/*
 * Address normalisation, exported for tests: trim, lower-case, domain
 * rewrite, basic syntax.  Returns a malloc'd address or NULL if the value
 * is not a usable address.
 */
char *rules_norm_address(const struct conf *c, const char *raw);
/* Anchor of an entry: objectGUID, entryUUID, nsUniqueId, else "dn:<ndn>". */
char *rules_anchor(const struct entry *e, const char *ndn);

#endif

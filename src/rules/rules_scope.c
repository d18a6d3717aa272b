/*
 * rules_scope.c - which objects are in scope: object types, enabled_only,
 * visible_only, exclude, member_of; the counts `dirsync test` shows.
 */
#include "rules/rules_int.h"

#include <fnmatch.h>
#include <ctype.h>
#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

/* The whole string as a decimal integer (sign allowed); false if not. */
static bool
parse_ll(const char *v, long long *out)
{
	char *end;

	if (v == NULL || *v == '\0')
		return false;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno == 0 && *end == '\0';
}

/* GeneralizedTime "YYYYMMDDHHMMSS[.f]" with Z or +-HH[MM] (RFC 4517 3.3.13). */
static bool
parse_gentime(const char *v, time_t *out)
{
	struct tm tm;
	const char *rest;

	memset(&tm, 0, sizeof(tm));
	if (v == NULL || (rest = strptime(v, "%Y%m%d%H%M%S", &tm)) == NULL)
		return false;
	if (*rest == '.' || *rest == ',')
		rest += 1 + strspn(rest + 1, "0123456789");
	*out = timegm(&tm);
	if (strcmp(rest, "Z") == 0)
		return true;
	/* a differential: +HH or +HHMM (RFC 4517), local = UTC + it */
	if ((*rest == '+' || *rest == '-') &&
	    (strspn(rest + 1, "0123456789") == 2 ||
	     strspn(rest + 1, "0123456789") == 4) &&
	    rest[1 + strspn(rest + 1, "0123456789")] == '\0') {
		long hh = (rest[1] - '0') * 10 + (rest[2] - '0');
		long mm = rest[3] != '\0' ? (rest[3] - '0') * 10 +
						     (rest[4] - '0')
					  : 0;
		long off = hh * 3600 + mm * 60;

		if (hh > 23 || mm > 59)
			return false;
		*out -= *rest == '+' ? off : -off;
		return true;
	}
	return false;
}

/*
 * Has the account expired by x->now?  AD accountExpires is a FILETIME
 * (100 ns since 1601-01-01 UTC; 0 and 0x7FFFFFFFFFFFFFFF mean never);
 * AD does not set ACCOUNTDISABLE when it passes.  shadowExpire (RFC 2307)
 * counts days since 1970-01-01; 0 or less means never (shadow(5) calls 0
 * ambiguous; never is the reading that loses no mail).  pwdEndTime
 * (OpenLDAP ppolicy, draft-behera-ppolicy) is a GeneralizedTime after
 * which the account cannot authenticate.  Judged against the clock of the
 * run, so an expiry is noticed without any change in the directory.
 */
/* An expiry still to come: the rules' result changes at `at`. */
static void
expires_at(struct rules_ctx *x, long long at)
{
	if (at > (long long)x->now &&
	    (x->r->next_expiry == 0 || at < (long long)x->r->next_expiry))
		x->r->next_expiry = (time_t)at;
}

/*
 * The values of attribute slot `slot` that say how an account stands are
 * read strictly: a value dirsync cannot read, or more than one value of
 * an attribute the directory holds once, is warned about (DN, attribute,
 * value) and read as the state that gives no mail access: disabled or
 * expired.  Reading it as "enabled" would create or re-enable a mailbox
 * for an account that may be locked ("0x202" is 514, disabled); one that
 * is active is disabled, not deleted (its mail stays), and a directory
 * where many such values appear at once trips the safety limits
 * (max_updates, max_delete_percent) before anything is applied.
 */
static bool
state_values(struct rules_ctx *x, const char *dn, int slot, const char *name)
{
	const struct attr *a = x->at[slot];

	if (a == NULL || a->nvals <= 1)
		return true;
	rules_warn(x, "%s: %s has %zu values ('%s', '%s'%s), the directory "
		   "holds one; the account is taken as unable to log in "
		   "unless every value says it can", dn, name, a->nvals,
		   a->vals[0].p, a->vals[1].p, a->nvals > 2 ? ", ..." : "");
	return false;
}

static void
unreadable(struct rules_ctx *x, const char *dn, const char *name,
	   const char *v, const char *expect, const char *taken)
{
	rules_warn(x, "%s: %s value '%s' is not %s; the account is taken as "
		   "%s", dn, name, v, expect, taken);
}

static const char *
account_expired(struct rules_ctx *x, const char *dn)
{
	const long long never = 0x7FFFFFFFFFFFFFFFLL;
	const struct attr *a;
	const char *why = NULL;
	long long v, at;
	time_t t;
	size_t i;

	(void)state_values(x, dn, A_ACCOUNTEXPIRES, "accountExpires");
	for (i = 0; (a = x->at[A_ACCOUNTEXPIRES]) != NULL && i < a->nvals;
	     i++) {
		if (!parse_ll(a->vals[i].p, &v)) {
			unreadable(x, dn, "accountExpires", a->vals[i].p,
				   "a FILETIME (a decimal number of 100 ns "
				   "ticks; 0 or 9223372036854775807 for "
				   "never)", "expired");
			why = why ? why : "accountExpires unreadable";
			continue;
		}
		if (v <= 0 || v == never)
			continue;
		at = v / 10000000LL - 11644473600LL;
		if (at <= (long long)x->now)
			why = why ? why : "accountExpires in the past";
		else
			expires_at(x, at);
	}
	(void)state_values(x, dn, A_SHADOWEXPIRE, "shadowExpire");
	for (i = 0; (a = x->at[A_SHADOWEXPIRE]) != NULL && i < a->nvals; i++) {
		if (!parse_ll(a->vals[i].p, &v) || v > 1000000000LL) {
			unreadable(x, dn, "shadowExpire", a->vals[i].p,
				   "a number of days since 1970", "expired");
			why = why ? why : "shadowExpire unreadable";
			continue;
		}
		if (v <= 0)
			continue;
		if (v <= (long long)(x->now / 86400))
			why = why ? why : "shadowExpire in the past";
		else
			expires_at(x, v * 86400);
	}
	(void)state_values(x, dn, A_PWDENDTIME, "pwdEndTime");
	for (i = 0; (a = x->at[A_PWDENDTIME]) != NULL && i < a->nvals; i++) {
		if (!parse_gentime(a->vals[i].p, &t)) {
			unreadable(x, dn, "pwdEndTime", a->vals[i].p,
				   "a GeneralizedTime (YYYYMMDDHHMMSSZ)",
				   "expired");
			why = why ? why : "pwdEndTime unreadable";
			continue;
		}
		if (t <= x->now)
			why = why ? why : "pwdEndTime in the past";
		else
			expires_at(x, (long long)t);
	}
	return why;
}

/*
 * SC_DISABLED or SC_EXPIRED, with *detail naming the attribute that says
 * so (a static string); SC_NREASONS for an account that may log in.
 * userAccountControl is a 32-bit integer in decimal (AD writes nothing
 * else; "0x202" or "abc" is not one).
 */
static enum scope_reason
account_state(struct rules_ctx *x, const char *dn, const char **detail)
{
	const struct attr *a = x->at[A_UAC];
	enum scope_reason st = SC_NREASONS;
	long long v;
	size_t i;

	*detail = NULL;
	(void)state_values(x, dn, A_UAC, "userAccountControl");
	for (i = 0; a != NULL && i < a->nvals; i++) {
		if (!parse_ll(a->vals[i].p, &v) || v < -2147483648LL ||
		    v > 4294967295LL) {
			unreadable(x, dn, "userAccountControl", a->vals[i].p,
				   "a 32-bit decimal number", "disabled");
			if (*detail == NULL)
				*detail = "userAccountControl unreadable";
			st = SC_DISABLED;
		} else if (v & 2) {
			if (*detail == NULL)
				*detail = "userAccountControl bit 2 "
					  "(ACCOUNTDISABLE)";
			st = SC_DISABLED;
		}
	}
	if (st != SC_NREASONS)
		return st;
	if (x->at[A_PWDLOCKED] != NULL) {
		*detail = "pwdAccountLockedTime is set";
		return SC_DISABLED;
	}
	if ((*detail = account_expired(x, dn)) != NULL)
		return SC_EXPIRED;
	a = x->at[A_NSACCOUNTLOCK];
	(void)state_values(x, dn, A_NSACCOUNTLOCK, "nsAccountLock");
	for (i = 0; a != NULL && i < a->nvals; i++) {
		const char *s = a->vals[i].p;

		if (rules_is_true(s)) {
			*detail = "nsAccountLock: TRUE";
			return SC_DISABLED;
		}
		if (strcasecmp(s, "FALSE") != 0 && strcmp(s, "0") != 0 &&
		    strcasecmp(s, "no") != 0) {
			unreadable(x, dn, "nsAccountLock", s,
				   "TRUE or FALSE", "locked");
			*detail = "nsAccountLock unreadable";
			return SC_DISABLED;
		}
	}
	return SC_NREASONS;
}

/* The exclude pattern that matches, as "PATTERN (matched WHAT VALUE)". */
static const char *
excluded(struct rules_ctx *x, const char *dn, const char *addr)
{
	static const char *const what[4] = {
		"the DN", "the account", "the address", "userPrincipalName",
	};
	const struct conf *c = x->c;
	const char *cand[4];
	size_t i, j;

	cand[0] = dn;
	cand[1] = rules_first(x->at[A_SAMACCOUNTNAME]);
	if (cand[1] == NULL)
		cand[1] = rules_first(x->at[A_UID]);
	cand[2] = addr;
	cand[3] = rules_first(x->at[A_UPN]);
	for (i = 0; i < c->scope.exclude.n; i++)
		for (j = 0; j < 4; j++)
			if (cand[j] != NULL &&
			    fnmatch(c->scope.exclude.v[i], cand[j],
				    FNM_CASEFOLD) == 0) {
				char buf[600];

				snprintf(buf, sizeof(buf),
					 "exclude pattern %.200s matched %s "
					 "%.300s",
					 c->scope.exclude.v[i], what[j],
					 cand[j]);
				return arena_strdup(x->a, buf);
			}
	return NULL;
}

enum scope_reason
rules_scope_check(struct rules_ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	unsigned bit = o->type == RT_USER    ? OT_USERS
		       : o->type == RT_GROUP ? OT_GROUPS
					     : OT_CONTACTS;

	enum scope_reason st;

	if (!(c->scope.object_types & bit))
		return SC_TYPE_OFF;
	if (o->type == RT_USER && c->scope.enabled_only &&
	    (st = account_state(x, o->dn, &o->why_detail)) != SC_NREASONS)
		return st;
	if (c->scope.visible_only &&
	    rules_is_true(rules_first(x->at[A_HIDE]))) {
		o->why_detail = "msExchHideFromAddressLists: TRUE";
		return SC_HIDDEN;
	}
	if (c->scope.exclude.n > 0 &&
	    (o->why_detail = excluded(
		     x, o->dn,
		     o->type == RT_CONTACT ? o->external : o->primary)) != NULL)
		return SC_EXCLUDED;
	if (o->type == RT_CONTACT)
		return o->external != NULL ? SC_NREASONS : SC_NO_ADDRESS;
	if (o->primary == NULL)
		return SC_NO_ADDRESS;
	if (o->type == RT_GROUP && !o->list_ok)
		return SC_GROUP_FILTER;  /* only nests, never a list */
	if (!rules_domain_accepted(c, o->primary)) {
		rules_warn(x, "%s: primary address %s is not in an accepted "
		     "domain; skipped", o->dn, o->primary);
		o->why_detail = o->primary;
		return SC_DOMAIN;
	}
	return SC_NREASONS;
}


/* The leave reason of each out-of-scope verdict. */
static const enum leave_reason leave_of[SC_NREASONS] = {
	[SC_TYPE_OFF] = LR_TYPE_OFF,     [SC_DISABLED] = LR_DISABLED,
	[SC_EXPIRED] = LR_EXPIRED,       [SC_HIDDEN] = LR_HIDDEN,
	[SC_NOT_MEMBER] = LR_NOT_MEMBER, [SC_EXCLUDED] = LR_EXCLUDED,
	[SC_NO_ADDRESS] = LR_NO_ADDRESS, [SC_DOMAIN] = LR_DOMAIN,
	[SC_GROUP_FILTER] = LR_GROUP_FILTER,
};

void
rules_left_out(struct rules_ctx *x, const struct robj *o,
	       enum leave_reason why, const char *detail)
{
	struct left_out *l = arena_alloc(x->a, sizeof(*l));

	l->why = why;
	l->dn = o->dn;
	l->account = o->account;
	l->address = o->primary != NULL ? o->primary
		     : o->naliases > 0  ? o->aliases[0]
					: NULL;
	l->detail = detail;
	l->plain_group = o->type == RT_GROUP && o->primary == NULL;
	strmap_put(&x->r->left_out, o->anchor, l);
}

static void
member_ok_leaf(void *arg, struct robj *o)
{
	struct rules_ctx *x = arg;

	strmap_put(&x->member_ok, o->ndn, o);
}

/* Is the normalised DN ndn nbase itself or below it? */
static bool
dn_under(const char *ndn, const char *nbase)
{
	size_t n = strlen(ndn), b = strlen(nbase);

	return b == 0 || (n == b && strcmp(ndn, nbase) == 0) ||
	       (n > b && ndn[n - b - 1] == ',' &&
		strcmp(ndn + n - b, nbase) == 0);
}

/* A member_of group the read did not deliver: counted and named. */
static void
missing_group(struct rules_ctx *x, const char *dn, const char *ndn)
{
	const char *base = x->c->source.base_dn;
	char *nbase = base != NULL && *base ? dn_normalize(base) : NULL;

	x->r->member_of_missing++;
	if (nbase != NULL && !dn_under(ndn, nbase))
		rules_warn(x, "[scope] member_of group %s was not found in "
			   "the directory: it is outside base_dn %s", dn,
			   base);
	else
		rules_warn(x, "[scope] member_of group %s was not found in "
			   "the directory", dn);
	free(nbase);
}

void
rules_scope_settle(struct rules_ctx *x, struct walk *w)
{
	struct rules_result *r = x->r;
	const struct conf *c = x->c;
	size_t i;

	/* [scope] member_of: everything reachable through nested groups */
	if (c->scope.member_of.n > 0) {
		x->use_member_of = true;
		w->leaf = member_ok_leaf;
		w->arg = x;
		for (i = 0; i < c->scope.member_of.n; i++) {
			char *ndn = dn_normalize(c->scope.member_of.v[i]);
			const char *k = arena_strdup(&x->tmp, ndn);

			free(ndn);
			if (strmap_get(&x->by_ndn, k) == NULL)
				missing_group(x, c->scope.member_of.v[i], k);
			rules_walk_run(w, k);
		}
		w->arg = NULL;
	}
	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = x->objs[i];

		if (o->ghost) {
			o->in_scope = false;
			continue;
		}
		if (o->primary == NULL && o->type != RT_CONTACT &&
		    o->why == SC_NO_ADDRESS && o->type == RT_GROUP) {
			/* a plain security group: not counted */
			rules_left_out(x, o, LR_NO_ADDRESS, NULL);
			continue;
		}
		if (o->why == SC_NREASONS && o->type != RT_GROUP &&
		    x->use_member_of &&
		    strmap_get(&x->member_ok, o->ndn) == NULL)
			o->why = SC_NOT_MEMBER;
		if (o->standin) {
			o->in_scope = o->why == SC_NREASONS;
			continue;
		}
		if (o->why != SC_NREASONS)
			rules_left_out(x, o, leave_of[o->why], o->why_detail);
		r->scope_counts[o->type == RT_USER    ? SC_USERS
				: o->type == RT_GROUP ? SC_GROUPS
						      : SC_CONTACTS]++;
		if (o->why != SC_NREASONS)
			r->scope_counts[o->why]++;
		o->in_scope = o->why == SC_NREASONS;
	}
}

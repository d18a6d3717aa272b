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

/* GeneralizedTime "YYYYMMDDHHMMSS[.f]Z" (RFC 4517 3.3.13), UTC only. */
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
	if (strcmp(rest, "Z") != 0)
		return false;
	*out = timegm(&tm);
	return true;
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
static bool
account_expired(struct rules_ctx *x)
{
	const long long never = 0x7FFFFFFFFFFFFFFFLL;
	long long v;
	time_t t;

	if (parse_ll(rules_first(x->at[A_ACCOUNTEXPIRES]), &v) && v > 0 &&
	    v != never && v / 10000000LL - 11644473600LL <= (long long)x->now)
		return true;
	if (parse_ll(rules_first(x->at[A_SHADOWEXPIRE]), &v) && v > 0 &&
	    v <= (long long)(x->now / 86400))
		return true;
	return parse_gentime(rules_first(x->at[A_PWDENDTIME]), &t) &&
	       t <= x->now;
}

static bool
account_disabled(struct rules_ctx *x)
{
	const char *uac = rules_first(x->at[A_UAC]);

	if (uac != NULL) {
		char *end;
		long long v = strtoll(uac, &end, 10);

		if (end != uac && (v & 2))
			return true;
	}
	if (x->at[A_PWDLOCKED] != NULL || account_expired(x))
		return true;
	return rules_is_true(rules_first(x->at[A_NSACCOUNTLOCK]));
}

static bool
excluded(struct rules_ctx *x, const char *dn, const char *addr)
{
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
				    FNM_CASEFOLD) == 0)
				return true;
	return false;
}

enum scope_reason
rules_scope_check(struct rules_ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	unsigned bit = o->type == RT_USER    ? OT_USERS
		       : o->type == RT_GROUP ? OT_GROUPS
					     : OT_CONTACTS;

	if (!(c->scope.object_types & bit))
		return SC_TYPE_OFF;
	if (o->type == RT_USER && c->scope.enabled_only && account_disabled(x))
		return SC_DISABLED;
	if (c->scope.visible_only && rules_is_true(rules_first(x->at[A_HIDE])))
		return SC_HIDDEN;
	if (c->scope.exclude.n > 0 &&
	    excluded(x, o->dn,
		     o->type == RT_CONTACT ? o->external : o->primary))
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
		return SC_DOMAIN;
	}
	return SC_NREASONS;
}


static void
member_ok_leaf(void *arg, struct robj *o)
{
	struct rules_ctx *x = arg;

	strmap_put(&x->member_ok, o->ndn, o);
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
				rules_warn(x, "[scope] member_of group %s was not "
				     "found in the directory",
				     c->scope.member_of.v[i]);
			rules_walk_run(w, k);
		}
		w->arg = NULL;
	}
	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = x->objs[i];

		if (o->primary == NULL && o->type != RT_CONTACT &&
		    o->why == SC_NO_ADDRESS && o->type == RT_GROUP)
			continue;   /* a plain security group: not counted */
		if (o->why == SC_NREASONS && o->type != RT_GROUP &&
		    x->use_member_of &&
		    strmap_get(&x->member_ok, o->ndn) == NULL)
			o->why = SC_NOT_MEMBER;
		r->scope_counts[o->type == RT_USER    ? SC_USERS
				: o->type == RT_GROUP ? SC_GROUPS
						      : SC_CONTACTS]++;
		if (o->why != SC_NREASONS)
			r->scope_counts[o->why]++;
		o->in_scope = o->why == SC_NREASONS;
	}
}

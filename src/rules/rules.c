/*
 * rules.c - the pass over the directory: attribute slots, one robj per
 * entry (rules_add), and rules_end's stages (scope, claims, lists).  See
 * rules_int.h for how the rules are split.
 */
#include "rules/rules.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>

#include "rules/rules_int.h"
#include "util/buf.h"
#include "util/xalloc.h"

static const char *const base_attrs[] = {
	"objectClass", "objectGUID", "entryUUID", "nsUniqueId", "cn",
	"displayName", "givenName", "sn", "sAMAccountName", "uid",
	"userPrincipalName", "userAccountControl", "pwdAccountLockedTime",
	"nsAccountLock", "msExchHideFromAddressLists", "member",
	"uniqueMember", "targetAddress", "objectSid", "primaryGroupID",
	"accountExpires", "shadowExpire", "pwdEndTime", NULL,
};

const char **
rules_attrs(const struct conf *c)
{
	const char *fa[RULES_MAX_FILTER_ATTRS];
	size_t nb = sizeof(base_attrs) / sizeof(base_attrs[0]) - 1;
	size_t nf = 0, n, i, k = 0, text = 0;
	struct filter *gf = NULL;
	const char **v;
	char *tail;
	struct err err;

	/* group_filter is evaluated here, on what the source delivers */
	err_clear(&err);
	if (c->mapping.group_filter != NULL && *c->mapping.group_filter &&
	    (gf = filter_parse(c->mapping.group_filter, &err)) != NULL)
		nf = filter_attrs(gf, fa, sizeof(fa) / sizeof(fa[0]));
	for (i = 0; i < nf; i++)
		text += strlen(fa[i]) + 1;
	n = nb + 1 + c->mapping.alias_attributes.n + nf + 1 +
	    RULES_NPROFILE_ATTRS;
	v = xmalloc(n * sizeof(*v) + text);
	tail = (char *)(v + n);

#define ADD_UNIQUE(name, copy)                                          \
	do {                                                            \
		size_t j_;                                              \
		for (j_ = 0; j_ < k; j_++)                              \
			if (strcasecmp(v[j_], (name)) == 0)             \
				break;                                  \
		if (j_ == k) {                                          \
			if (copy) {                                     \
				size_t l_ = strlen(name) + 1;           \
				memcpy(tail, (name), l_);               \
				v[k++] = tail;                          \
				tail += l_;                             \
			} else {                                        \
				v[k++] = (name);                        \
			}                                               \
		}                                                       \
	} while (0)
	for (i = 0; i < nb; i++)
		ADD_UNIQUE(base_attrs[i], false);
	if (c->mapping.email_attribute != NULL)
		ADD_UNIQUE(c->mapping.email_attribute, false);
	for (i = 0; i < c->mapping.alias_attributes.n; i++)
		ADD_UNIQUE(c->mapping.alias_attributes.v[i], false);
	for (i = 0; i < nf; i++)
		ADD_UNIQUE(fa[i], true);
	for (i = 0; rules_profile_wanted(c) && rules_profile_attrs[i]; i++)
		ADD_UNIQUE(rules_profile_attrs[i], false);
#undef ADD_UNIQUE
	v[k] = NULL;
	filter_free(gf);
	return v;
}

void
rules_init(struct rules_result *r)
{
	memset(r, 0, sizeof(*r));
	mset_init(&r->desired);
}

void
rules_free(struct rules_result *r)
{
	size_t i;

	mset_free(&r->desired);
	free(r->conflicts);
	for (i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	strmap_free(&r->frozen_anchors);
	strmap_free(&r->frozen_addresses);
	strmap_free(&r->left_out);
	strmap_free(&r->external);
	strmap_free(&r->sought);
	arena_free(&r->arena);
	memset(r, 0, sizeof(*r));
}


void
rules_warn(struct rules_ctx *x, const char *fmt, ...)
{
	struct rules_result *r = x->r;
	va_list ap;
	char *msg;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	msg = xmalloc((size_t)(n > 0 ? n : 0) + 1);
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
	va_end(ap);
	if (!buf_is_printable(msg)) {
		/* a value from the directory never starts a new line, nor
		 * makes the line invalid UTF-8 (the JSON report drops it) */
		struct buf b = BUF_INIT;

		buf_add_printable(&b, msg);
		free(msg);
		msg = buf_steal(&b);
	}
	r->warnings = xgrow(r->warnings, &r->capwarnings, r->nwarnings + 1,
			    sizeof(*r->warnings));
	r->warnings[r->nwarnings++] = msg;
}

static char
hexdig(unsigned v)
{
	return "0123456789abcdef"[v & 15];
}

static void
guid_str(const unsigned char *g, char out[37])
{
	/* AD stores the first three fields little-endian */
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6,
				      8, 9, 10, 11, 12, 13, 14, 15};
	int i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hexdig(g[order[i]] >> 4);
		out[o++] = hexdig(g[order[i]]);
	}
	out[o] = '\0';
}

const char *
rules_lower_dup(struct arena *a, const char *v)
{
	char *s = arena_strdup(a, v), *p;

	for (p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

const char *
rules_first(const struct attr *a)
{
	return a != NULL && a->nvals > 0 ? a->vals[0].p : NULL;
}

/* Has the value a byte that is not printable ASCII? */
static bool
binary_value(const struct attr *a)
{
	size_t i;

	for (i = 0; i < a->vals[0].len; i++)
		if ((unsigned char)a->vals[0].p[i] < 0x20 ||
		    (unsigned char)a->vals[0].p[i] >= 0x7f)
			return true;
	return false;
}

/*
 * Anchor from the slot table: objectGUID, entryUUID, nsUniqueId, DN.  An
 * objectGUID of 16 bytes is AD's binary GUID; one in text (an export
 * that wrote it as a string) is used lower-cased; any other binary one
 * (not 16 bytes: a damaged export) as "guid:" and its bytes in hex, so
 * that reports and logs can show it.
 */
static const char *
anchor_of(struct arena *a, const struct attr *guid, const struct attr *uuid,
	  const struct attr *nsid, const char *ndn)
{
	const char *v;
	char buf[37];

	if (guid != NULL && guid->nvals > 0 && guid->vals[0].len == 16) {
		guid_str((const unsigned char *)guid->vals[0].p, buf);
		return arena_strdup(a, buf);
	}
	if (guid != NULL && guid->nvals > 0 && binary_value(guid)) {
		const unsigned char *g =
			(const unsigned char *)guid->vals[0].p;
		size_t i, n = guid->vals[0].len;
		char *s = arena_alloc(a, 5 + 2 * n + 1);

		memcpy(s, "guid:", 5);
		for (i = 0; i < n; i++) {
			s[5 + 2 * i] = hexdig(g[i] >> 4);
			s[6 + 2 * i] = hexdig(g[i]);
		}
		s[5 + 2 * n] = '\0';
		return s;
	}
	if ((v = rules_first(guid)) != NULL || (v = rules_first(uuid)) != NULL ||
	    (v = rules_first(nsid)) != NULL)
		return rules_lower_dup(a, v);
	{
		size_t n = strlen(ndn);
		char *s = arena_alloc(a, n + 4);

		memcpy(s, "dn:", 3);
		memcpy(s + 3, ndn, n + 1);
		return s;
	}
}

char *
rules_anchor(const struct entry *e, const char *ndn)
{
	struct arena a = ARENA_INIT;
	char *s = xstrdup(anchor_of(&a, entry_attr(e, "objectGUID"),
				    entry_attr(e, "entryUUID"),
				    entry_attr(e, "nsUniqueId"), ndn));

	arena_free(&a);
	return s;
}

/* ---- per-entry extraction ----------------------------------------- */

bool
rules_has_value(const struct attr *a, const char *v)
{
	size_t i;

	for (i = 0; a != NULL && i < a->nvals; i++)
		if (strcasecmp(a->vals[i].p, v) == 0)
			return true;
	return false;
}

bool
rules_is_true(const char *v)
{
	return v != NULL && (strcasecmp(v, "TRUE") == 0 ||
			     strcmp(v, "1") == 0 ||
			     strcasecmp(v, "yes") == 0);
}

const char *
rules_adup(struct rules_ctx *x, const char *s)
{
	return s != NULL ? arena_strdup(x->a, s) : NULL;
}

/*
 * A text value with a NUL byte inside (LDAP and base64 LDIF can carry
 * one; a directory's syntax checks usually refuse it) would be read as
 * C string cut at the NUL: another account, member DN, class or flag
 * than the one written.  Such values are left out of the slots the
 * rules read, the slot noted for rules_build()'s warning.  Not screened
 * here: the binary slots (objectGUID, objectSid), the names, which
 * clean_name() repairs (a NUL becomes a space, warned), and the address
 * slots, whose values has_nul() (rules_addr.c) refuses one by one.
 */
static bool
nul_screened(size_t slot)
{
	return slot != A_OBJECTGUID && slot != A_OBJECTSID &&
	       slot != A_CN && slot != A_DISPLAYNAME && slot != A_GIVENNAME &&
	       slot != A_SN && slot < A_EMAIL;
}

static void
screen_nul(struct rules_ctx *x)
{
	size_t j, i, n;

	x->nnul = 0;
	for (j = 0; j < A_EMAIL; j++) {
		const struct attr *a = x->at[j];
		struct attr *c;
		struct val *v;

		if (a == NULL || !nul_screened(j))
			continue;
		for (i = 0; i < a->nvals; i++)
			if (memchr(a->vals[i].p, '\0', a->vals[i].len) != NULL)
				break;
		if (i == a->nvals)
			continue;
		x->nul_from[x->nnul] = a;
		c = &x->nul_kept[x->nnul++];
		*c = *a;
		v = arena_alloc(&x->tmp, a->nvals * sizeof(*v));
		for (i = n = 0; i < a->nvals; i++)
			if (memchr(a->vals[i].p, '\0', a->vals[i].len) == NULL)
				v[n++] = a->vals[i];
		c->vals = v;
		c->nvals = n;
		x->at[j] = n > 0 ? c : NULL;
	}
}

static void
fill_slots(struct rules_ctx *x, const struct entry *e)
{
	char name[64];
	size_t i, j;

	memset(x->at, 0, sizeof(x->at));
	for (i = 0; i < e->nattrs; i++) {
		const char *n = e->attrs[i].name;
		uintptr_t slot;

		for (j = 0; n[j] != '\0' && j < sizeof(name) - 1; j++)
			name[j] = (char)tolower((unsigned char)n[j]);
		if (n[j] != '\0')
			continue;
		name[j] = '\0';
		slot = (uintptr_t)strmap_get(&x->slots, name);
		if (slot != 0 && x->at[slot - 1] == NULL)
			x->at[slot - 1] = &e->attrs[i];
	}
	screen_nul(x);
	for (j = A_EMAIL; j < A_NSLOTS; j++)
		if (x->dup_of[j] > 0)
			x->at[j] = x->at[x->dup_of[j] - 1];
}

static bool
entry_is_group(const struct rules_ctx *x)
{
	const struct attr *oc = x->at[A_OBJECTCLASS];

	return x->at[A_MEMBER] != NULL || x->at[A_UNIQUEMEMBER] != NULL ||
	       rules_has_value(oc, "group") || rules_has_value(oc, "groupOfNames") ||
	       rules_has_value(oc, "groupOfUniqueNames");
}

bool
rules_classify(struct rules_ctx *x, const struct entry *e, enum rtype *type,
	       bool *list_ok)
{
	const struct attr *oc;

	fill_slots(x, e);
	oc = x->at[A_OBJECTCLASS];
	*list_ok = false;
	if (rules_has_value(oc, "computer"))
		return false;
	if (rules_has_value(oc, "contact"))
		*type = RT_CONTACT;
	else if ((*list_ok = x->gf != NULL ? filter_match(x->gf, e)
					   : entry_is_group(x)))
		*type = RT_GROUP;
	else if (rules_has_value(oc, "user") || rules_has_value(oc, "person") ||
		 rules_has_value(oc, "inetOrgPerson"))
		*type = RT_USER;
	else if (entry_is_group(x))
		*type = RT_GROUP;    /* not a list; its members still nest */
	else
		return false;
	return true;
}

/* s (x->a's, or NULL), or its buf_add_printable() form in x->a. */
static const char *
printable(struct rules_ctx *x, const char *s)
{
	struct buf b = BUF_INIT;
	const char *out;

	if (s == NULL || buf_is_printable(s))
		return s;
	buf_add_printable(&b, s);
	out = arena_strdup(x->a, buf_str(&b));
	buf_free(&b);
	return out;
}

/* The values screen_nul() left out, one warning per attribute. */
static void
warn_nul(struct rules_ctx *x, const char *dn)
{
	size_t i;

	for (i = 0; i < x->nnul; i++)
		rules_warn(x, "%s: ignoring a value of %s: it holds a NUL "
			   "byte", dn, x->nul_from[i]->name);
}

struct robj *
rules_build(struct rules_ctx *x, const struct entry *e, const char *ndn,
	    enum rtype type, bool list_ok, bool full)
{
	struct robj *o;

	o = arena_alloc(&x->tmp, sizeof(*o));
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->list_ok = list_ok;
	/* dn outlives the run's scratch memory (reports); ndn need not */
	o->dn = arena_strdup(x->a, e->dn);
	o->ndn = strcmp(e->dn, ndn) == 0 ? o->dn : arena_strdup(&x->tmp, ndn);
	/* the DN and account as reports show them: one line of valid UTF-8
	 * (a user trial's account "acc\n\"x" split a report line, and a DN
	 * with a byte 0xff lost its "dn" in the JSON report); ndn, which
	 * matching uses, stays the DN's */
	o->dn = printable(x, o->dn);
	warn_nul(x, o->dn);
	o->anchor = anchor_of(x->a, x->at[A_OBJECTGUID], x->at[A_ENTRYUUID],
			      x->at[A_NSUNIQUEID], o->ndn);
	/* from the objectGUID only: an entryUUID may read "guid:..." too
	 * (a fuzzer's: there is no objectGUID to name then) */
	if (x->at[A_OBJECTGUID] != NULL && x->at[A_OBJECTGUID]->nvals > 0 &&
	    x->at[A_OBJECTGUID]->vals[0].len != 16 &&
	    binary_value(x->at[A_OBJECTGUID]))
		rules_warn(x, "%s: objectGUID is %zu bytes, not the 16 of a "
			   "GUID: a damaged export?  Its bytes are the "
			   "anchor (%s)", o->dn,
			   x->at[A_OBJECTGUID]->vals[0].len, o->anchor);
	o->account = rules_first(x->at[A_SAMACCOUNTNAME]);
	if (o->account == NULL)
		o->account = rules_first(x->at[A_UID]);
	o->account = printable(x, rules_adup(x, o->account));
	if (type == RT_CONTACT)
		rules_map_contact(x, o);
	else
		rules_map_addresses(x, o);
	x->cur_dn = o->dn;
	if (full) {
		o->name = rules_display_name(x);
		if (type == RT_USER)
			o->attrs = rules_profile(x, e);
	}
	if (!x->no_members && (type == RT_GROUP || entry_is_group(x)))
		rules_keep_members(x, e, o);
	rules_keep_sids(x, o);
	if (full)
		o->why = rules_scope_check(x, o);
	return o;
}

struct robj *
rules_add_obj(struct rules_ctx *x, const struct entry *e)
{
	const struct robj *first;
	struct robj *o;
	enum rtype type;
	bool list_ok;
	char *ndn;

	if (!rules_classify(x, e, &type, &list_ok))
		return NULL;
	ndn = dn_normalize(e->dn);
	if (strmap_get(&x->by_ndn, ndn) != NULL) {
		free(ndn);
		return NULL;        /* the same DN twice: first one wins */
	}
	o = rules_build(x, e, ndn, type, list_ok, true);
	free(ndn);
	x->objs = xgrow(x->objs, &x->cap, x->nobjs + 1, sizeof(*x->objs));
	x->objs[x->nobjs++] = o;
	strmap_put(&x->by_ndn, o->ndn, o);
	if ((first = strmap_put(&x->by_anchor, o->anchor, o)) != NULL) {
		strmap_put(&x->by_anchor, o->anchor, (void *)first);
		if (x->dup[0] == NULL) {
			x->dup[0] = first;
			x->dup[1] = o;
		} else {
			x->ndup++;
		}
	}
	return o;
}

void
rules_add(struct rules_ctx *x, const struct entry *e)
{
	(void)rules_add_obj(x, e);
}

/* ---- nested groups ------------------------------------------------ */
struct rules_ctx *
rules_begin(const struct conf *c, struct rules_result *r, struct err *err)
{
	struct rules_ctx *x = xcalloc(1, sizeof(*x));
	size_t i, k;

	x->c = c;
	x->r = r;
	x->a = &r->arena;
	x->now = r->now != 0 ? r->now : time(NULL);
	if (c->mapping.alias_attributes.n > CONF_MAX_ALIAS_ATTRIBUTES) {
		err_set(err, DS_E_CONFIG, "[mapping] alias_attributes: at "
			"most %d attributes, %zu given",
			CONF_MAX_ALIAS_ATTRIBUTES,
			c->mapping.alias_attributes.n);
		free(x);
		return NULL;
	}
	if (c->mapping.group_filter != NULL && *c->mapping.group_filter) {
		const char *fa[RULES_MAX_FILTER_ATTRS + 1];

		x->gf = filter_parse(c->mapping.group_filter, err);
		if (x->gf == NULL) {
			err_where(err, "[mapping] group_filter");
			free(x);
			return NULL;
		}
		/* the source is asked for these: none may be left out */
		if (filter_attrs(x->gf, fa, RULES_MAX_FILTER_ATTRS + 1) >
		    RULES_MAX_FILTER_ATTRS) {
			err_set(err, DS_E_CONFIG, "[mapping] group_filter "
				"names more than %d attributes",
				RULES_MAX_FILTER_ATTRS);
			filter_free(x->gf);
			free(x);
			return NULL;
		}
	}
	for (i = 0; base_attrs[i] != NULL; i++)
		strmap_put(&x->slots, rules_lower_dup(&x->tmp, base_attrs[i]),
			   (void *)(uintptr_t)(i + 1));
	if (c->mapping.email_attribute != NULL) {
		const char *k0 = rules_lower_dup(&x->tmp, c->mapping.email_attribute);
		uintptr_t have = (uintptr_t)strmap_get(&x->slots, k0);

		if (have == 0)
			strmap_put(&x->slots, k0,
				   (void *)(uintptr_t)(A_EMAIL + 1));
		else
			x->dup_of[A_EMAIL] = (int)have;
	}
	for (k = 0; k < c->mapping.alias_attributes.n; k++) {
		const char *k1 =
			rules_lower_dup(&x->tmp, c->mapping.alias_attributes.v[k]);

		uintptr_t have = (uintptr_t)strmap_get(&x->slots, k1);

		if (have == 0)
			strmap_put(&x->slots, k1,
				   (void *)(uintptr_t)(A_ALIAS0 + k + 1));
		else
			x->dup_of[A_ALIAS0 + k] = (int)have;
	}
	x->nalias_slots = k;
	return x;
}

static void
ctx_free(struct rules_ctx *x)
{
	filter_free(x->gf);
	strmap_free(&x->slots);
	strmap_free(&x->by_ndn);
	strmap_free(&x->by_anchor);
	strmap_free(&x->member_ok);
	strmap_free(&x->claims);
	strmap_free(&x->dropped);
	strmap_free(&x->unmatched);
	free(x->objs);
	arena_free(&x->tmp);
	free(x);
}

void
rules_abort(struct rules_ctx *x)
{
	if (x != NULL)
		ctx_free(x);
}

int
rules_end(struct rules_ctx *x, struct err *err)
{
	struct rules_result *r = x->r;
	const struct conf *c = x->c;
	struct walk w;
	size_t i;

	if (x->dup[0] != NULL) {
		/*
		 * As a file holding one DN twice (ldif.c): which entry is the
		 * object the anchor stands for is not for dirsync to guess,
		 * and either guess would move the other's mail objects under
		 * it, or disable them.  Nothing is planned from this read.
		 */
		err_set(err, DS_E_SOURCE, "two directory entries have the same "
			"anchor %s: '%s' and '%s'%s; an anchor (objectGUID, "
			"entryUUID, nsUniqueId) must name one object; nothing "
			"is planned until one of them is corrected or removed",
			x->dup[0]->anchor, x->dup[0]->dn, x->dup[1]->dn,
			x->ndup > 0 ? " (and more pairs)" : "");
		ctx_free(x);
		return -1;
	}
	memset(&w, 0, sizeof(w));
	w.x = x;
	rules_primary_groups(x);
	rules_scope_settle(x, &w);
	rules_claim_all(x);
	rules_fill_lists(x, &w);
	rules_prune(x);
	for (i = 0; i < c->mapping.accepted_domains.n; i++) {
		struct mobj m;

		memset(&m, 0, sizeof(m));
		m.kind = MK_DOMAIN;
		m.address = c->mapping.accepted_domains.v[i];
		m.active = true;
		mset_add_ref(&r->desired, &m);
	}
	mset_seal(&r->desired);
	free(w.stack);
	ctx_free(x);
	return 0;
}

int
rules_apply(const struct conf *c, const struct snapshot *s,
	    struct rules_result *r, struct err *err)
{
	struct rules_ctx *x = rules_begin(c, r, err);
	size_t i;

	if (x == NULL)
		return -1;
	for (i = 0; i < s->n; i++)
		rules_add(x, s->v[i]);
	return rules_end(x, err);
}

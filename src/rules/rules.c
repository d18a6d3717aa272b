#include "rules/rules.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>

#include "util/buf.h"
#include "util/filter.h"
#include "util/xalloc.h"

enum rtype { RT_USER, RT_GROUP, RT_CONTACT };

/*
 * The attributes the rules read, by slot.  Each entry's attributes are
 * looked up once into a slot table, so the rules never scan names.
 */
enum slot {
	A_OBJECTCLASS, A_OBJECTGUID, A_ENTRYUUID, A_NSUNIQUEID, A_CN,
	A_DISPLAYNAME, A_GIVENNAME, A_SN, A_SAMACCOUNTNAME, A_UID, A_UPN,
	A_UAC, A_PWDLOCKED, A_NSACCOUNTLOCK, A_HIDE, A_MEMBER,
	A_UNIQUEMEMBER, A_TARGETADDRESS,
	A_EMAIL,                 /* [mapping] email_attribute */
	A_ALIAS0,                /* [mapping] alias_attributes ... */
	A_NSLOTS = A_ALIAS0 + 16
};

/*
 * One directory object, reduced to what the rules use.  Lives in the
 * result's arena; strings too (ndn and dn are the only per-entry copies
 * besides addresses).
 */
struct robj {
	enum rtype type;
	enum scope_reason why;     /* SC_NREASONS: in scope so far */
	const char *dn;
	const char *ndn;
	const char *anchor;
	const char *primary;       /* NULL: no mail object */
	const char **aliases;
	size_t naliases;
	const char *name;
	const char *external;      /* contacts */
	bool list_ok;              /* groups: matches group_filter */
	const char **members;      /* groups: member ndns */
	size_t nmembers;
	bool in_scope;
};

struct rules_ctx {
	const struct conf *c;
	struct rules_result *r;
	struct arena *a;           /* the result's: strings mail objects use */
	struct arena tmp;          /* freed by rules_end: robj, DNs, members */
	struct filter *gf;
	struct strmap slots;       /* lower-case attribute name -> slot + 1 */
	const struct attr *at[A_NSLOTS];  /* current entry's attributes */
	size_t nalias_slots;
	/* email/alias slots whose name is also a base slot: copy from there */
	int dup_of[A_NSLOTS];
	struct robj **objs;
	size_t nobjs, cap;
	struct strmap by_ndn;      /* ndn -> robj */
	struct strmap member_ok;   /* ndn set from [scope] member_of */
	struct strmap claims;      /* contested address -> struct claim */
	struct strmap dropped;     /* anchors of lists without members */
	bool use_member_of;
};

/* Attribute names by slot; NULL entries come from the conf. */
static const char *const base_attrs[] = {
	"objectClass", "objectGUID", "entryUUID", "nsUniqueId", "cn",
	"displayName", "givenName", "sn", "sAMAccountName", "uid",
	"userPrincipalName", "userAccountControl", "pwdAccountLockedTime",
	"nsAccountLock", "msExchHideFromAddressLists", "member",
	"uniqueMember", "targetAddress", NULL,
};

const char **
rules_attrs(const struct conf *c)
{
	const char *fa[64];
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
	n = nb + 1 + c->mapping.alias_attributes.n + nf + 1;
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
	arena_free(&r->arena);
	memset(r, 0, sizeof(*r));
}


static void warn(struct rules_ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
warn(struct rules_ctx *x, const char *fmt, ...)
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
	r->warnings = xgrow(r->warnings, &r->capwarnings, r->nwarnings + 1,
			    sizeof(*r->warnings));
	r->warnings[r->nwarnings++] = msg;
}

/* ---- addresses ---------------------------------------------------- */

char *
rules_norm_address(const struct conf *c, const char *raw)
{
	const char *s = raw, *e, *at;
	char *out, *p;
	size_t n, i;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n == 0 || n > 254)
		return NULL;
	at = memchr(s, '@', n);
	if (at == NULL || at == s || at == e - 1 ||
	    memchr(at + 1, '@', (size_t)(e - at - 1)) != NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		/*
		 * A comma or space would break Postfix goto lists; quotes,
		 * angle brackets and backslashes need quoting in SMTP.  The
		 * apostrophe is plain atext (o'brien@): Postfix and Dovecot
		 * escape their SQL lookup keys themselves.
		 */
		if (ch <= ' ' || ch == ',' || ch == '"' || ch == '<' ||
		    ch == '>' || ch == '\\' || ch >= 0x7f)
			return NULL;
	}
	out = xstrndup(s, n);
	for (p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	p = strchr(out, '@') + 1;
	for (i = 0; i < c->mapping.domain_rewrite.n; i++) {
		const char *rw = c->mapping.domain_rewrite.v[i];
		const char *eq = strchr(rw, '=');

		if (eq != NULL && strlen(p) == (size_t)(eq - rw) &&
		    strncmp(p, rw, (size_t)(eq - rw)) == 0) {
			char *nout = xasprintf("%.*s@%s", (int)(p - out - 1),
					       out, eq + 1);
			free(out);
			return nout;
		}
	}
	return out;
}

static bool
domain_accepted(const struct conf *c, const char *addr)
{
	const char *d = strchr(addr, '@');
	size_t i;

	if (d == NULL)
		return false;
	d++;
	if (c->mapping.accepted_domains.n == 0)
		return true;
	for (i = 0; i < c->mapping.accepted_domains.n; i++)
		if (strcmp(d, c->mapping.accepted_domains.v[i]) == 0)
			return true;
	return false;
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

static const char *
lower_dup(struct arena *a, const char *v)
{
	char *s = arena_strdup(a, v), *p;

	for (p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static const char *
first(const struct attr *a)
{
	return a != NULL && a->nvals > 0 ? a->vals[0].p : NULL;
}

/* Anchor from the slot table: objectGUID, entryUUID, nsUniqueId, DN. */
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
	if ((v = first(guid)) != NULL || (v = first(uuid)) != NULL ||
	    (v = first(nsid)) != NULL)
		return lower_dup(a, v);
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

static bool
has_value(const struct attr *a, const char *v)
{
	size_t i;

	for (i = 0; a != NULL && i < a->nvals; i++)
		if (strcasecmp(a->vals[i].p, v) == 0)
			return true;
	return false;
}

static bool
is_true(const char *v)
{
	return v != NULL && (strcasecmp(v, "TRUE") == 0 ||
			     strcmp(v, "1") == 0 ||
			     strcasecmp(v, "yes") == 0);
}

static bool
account_disabled(struct rules_ctx *x)
{
	const char *uac = first(x->at[A_UAC]);

	if (uac != NULL) {
		char *end;
		long long v = strtoll(uac, &end, 10);

		if (end != uac && (v & 2))
			return true;
	}
	if (x->at[A_PWDLOCKED] != NULL)
		return true;
	return is_true(first(x->at[A_NSACCOUNTLOCK]));
}

static bool
excluded(struct rules_ctx *x, const char *dn, const char *addr)
{
	const struct conf *c = x->c;
	const char *cand[4];
	size_t i, j;

	cand[0] = dn;
	cand[1] = first(x->at[A_SAMACCOUNTNAME]);
	if (cand[1] == NULL)
		cand[1] = first(x->at[A_UID]);
	cand[2] = addr;
	cand[3] = first(x->at[A_UPN]);
	for (i = 0; i < c->scope.exclude.n; i++)
		for (j = 0; j < 4; j++)
			if (cand[j] != NULL &&
			    fnmatch(c->scope.exclude.v[i], cand[j],
				    FNM_CASEFOLD) == 0)
				return true;
	return false;
}

static const char *
adup(struct rules_ctx *x, const char *s)
{
	return s != NULL ? arena_strdup(x->a, s) : NULL;
}

static const char *
display_name(struct rules_ctx *x)
{
	const char *dn = first(x->at[A_DISPLAYNAME]);
	const char *g = first(x->at[A_GIVENNAME]);
	const char *sn = first(x->at[A_SN]);

	if (dn != NULL && *dn != '\0')
		return adup(x, dn);
	if (g != NULL && sn != NULL) {
		size_t lg = strlen(g), ls = strlen(sn);
		char *s = arena_alloc(x->a, lg + ls + 2);

		memcpy(s, g, lg);
		s[lg] = ' ';
		memcpy(s + lg + 1, sn, ls + 1);
		return s;
	}
	/* SPEC: displayName, else "givenName sn", else cn */
	return adup(x, first(x->at[A_CN]));
}

/* Has "prefix:" (letters/digits/-) before any '@'?  Returns prefix len. */
static size_t
proxy_prefix(const char *v)
{
	size_t i;

	for (i = 0; v[i] != '\0' && v[i] != '@'; i++) {
		if (v[i] == ':')
			return i + 1;
		if (!isalnum((unsigned char)v[i]) && v[i] != '-')
			return 0;
	}
	return 0;
}

static bool
listed(const char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

#define MAX_ALIASES 4096   /* per object; more is a directory error */

/*
 * The primary (SMTP: wins over the email attribute) and the aliases
 * (smtp: values and bare addresses of the alias attributes).
 */
static void
map_addresses(struct rules_ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	const char *mail = first(x->at[A_EMAIL]);
	char *smtp_primary = NULL, *mail_primary = NULL;
	const char *al[MAX_ALIASES];
	size_t nal = 0, i, k;

	if (mail != NULL) {
		mail_primary = rules_norm_address(c, mail);
		if (mail_primary == NULL)
			warn(x, "%s: ignoring %s value '%s': not an address",
			     o->dn, c->mapping.email_attribute, mail);
	}
	for (k = 0; k < x->nalias_slots; k++) {
		const struct attr *a = x->at[A_ALIAS0 + k];

		for (i = 0; a != NULL && i < a->nvals; i++) {
			const char *v = a->vals[i].p;
			size_t pl = proxy_prefix(v);
			bool primary = false;
			char *addr;

			if (pl > 0) {
				if (pl != 5 || strncasecmp(v, "smtp:", 5) != 0)
					continue;   /* X500:, SIP:, x400: ... */
				primary = strncmp(v, "SMTP:", 5) == 0;
				v += 5;
			}
			addr = rules_norm_address(c, v);
			if (addr == NULL) {
				warn(x, "%s: ignoring %s value '%s': not an "
				     "address", o->dn,
				     c->mapping.alias_attributes.v[k],
				     a->vals[i].p);
				continue;
			}
			if (primary && smtp_primary == NULL) {
				smtp_primary = addr;
				continue;
			}
			if (primary)
				warn(x, "%s: more than one SMTP: primary; "
				     "using %s, %s becomes an alias", o->dn,
				     smtp_primary, addr);
			if (!listed(al, nal, addr) && nal < MAX_ALIASES)
				al[nal++] = adup(x, addr);
			free(addr);
		}
	}
	if (smtp_primary != NULL && mail_primary != NULL &&
	    strcmp(smtp_primary, mail_primary) != 0) {
		/* a contact's mail is its external address: no news */
		if (o->type != RT_CONTACT)
			warn(x, "%s: SMTP: primary %s differs from %s %s; "
			     "using %s", o->dn, smtp_primary,
			     c->mapping.email_attribute, mail_primary,
			     smtp_primary);
		if (!listed(al, nal, mail_primary) && nal < MAX_ALIASES)
			al[nal++] = adup(x, mail_primary);
	}
	if (smtp_primary != NULL) {
		o->primary = adup(x, smtp_primary);
	} else if (mail_primary != NULL) {
		o->primary = adup(x, mail_primary);
	} else if (!c->scope.mail_enabled_only && o->type == RT_USER) {
		const char *upn = first(x->at[A_UPN]);
		char *addr = upn != NULL ? rules_norm_address(c, upn) : NULL;

		o->primary = adup(x, addr);
		free(addr);
	}
	free(smtp_primary);

	/* aliases: not the primary, only accepted domains */
	o->naliases = 0;
	o->aliases = NULL;
	if (nal > 0)
		o->aliases = arena_alloc(&x->tmp, nal * sizeof(char *));
	for (i = 0; i < nal; i++) {
		if (o->primary != NULL && strcmp(al[i], o->primary) == 0)
			continue;
		if (!domain_accepted(c, al[i])) {
			/* a contact's own external address is no news */
			if (o->type != RT_CONTACT || mail_primary == NULL ||
			    strcmp(al[i], mail_primary) != 0)
				warn(x, "%s: alias %s dropped: domain not "
				     "accepted", o->dn, al[i]);
			continue;
		}
		o->aliases[o->naliases++] = al[i];
	}
	free(mail_primary);
}

static void
map_contact(struct rules_ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	const char *t = first(x->at[A_TARGETADDRESS]);
	const char *m = first(x->at[A_EMAIL]);
	char *ext = NULL;
	size_t i, n = 0;

	if (t != NULL)
		ext = rules_norm_address(c, t + proxy_prefix(t));
	if (ext == NULL && m != NULL)
		ext = rules_norm_address(c, m + proxy_prefix(m));
	o->external = adup(x, ext);
	free(ext);
	/* the internal addresses are the contact's own "primary" + aliases */
	map_addresses(x, o);
	if (o->primary != NULL && o->external != NULL &&
	    strcmp(o->primary, o->external) != 0 &&
	    domain_accepted(c, o->primary)) {
		/* an internal SMTP: address: keep it as a forwarder */
		const char **al = arena_alloc(
			&x->tmp, (o->naliases + 1) * sizeof(char *));

		al[n++] = o->primary;
		for (i = 0; i < o->naliases; i++)
			al[n++] = o->aliases[i];
		o->aliases = al;
		o->naliases = n;
	}
	o->primary = NULL;  /* a contact is not a local recipient itself */
	n = 0;
	for (i = 0; i < o->naliases; i++)
		if (o->external == NULL ||
		    strcmp(o->aliases[i], o->external) != 0)
			o->aliases[n++] = o->aliases[i];
	o->naliases = n;
}

/* Everything in scope can be decided per entry except member_of. */
static enum scope_reason
scope_check(struct rules_ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	unsigned bit = o->type == RT_USER    ? OT_USERS
		       : o->type == RT_GROUP ? OT_GROUPS
					     : OT_CONTACTS;

	if (!(c->scope.object_types & bit))
		return SC_TYPE_OFF;
	if (o->type == RT_USER && c->scope.enabled_only && account_disabled(x))
		return SC_DISABLED;
	if (c->scope.visible_only && is_true(first(x->at[A_HIDE])))
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
	if (!domain_accepted(c, o->primary)) {
		warn(x, "%s: primary address %s is not in an accepted "
		     "domain; skipped", o->dn, o->primary);
		return SC_DOMAIN;
	}
	return SC_NREASONS;
}

static void
keep_members(struct rules_ctx *x, struct robj *o)
{
	const struct attr *m = x->at[A_MEMBER], *u = x->at[A_UNIQUEMEMBER];
	size_t n = (m ? m->nvals : 0) + (u ? u->nvals : 0), i, k = 0;

	o->nmembers = 0;
	o->members = NULL;
	if (n == 0)
		return;
	o->members = arena_alloc(&x->tmp, n * sizeof(char *));
	for (i = 0; m != NULL && i < m->nvals; i++) {
		char *dn = dn_normalize(m->vals[i].p);

		o->members[k++] = arena_strdup(&x->tmp, dn);
		free(dn);
	}
	for (i = 0; u != NULL && i < u->nvals; i++) {
		char *dn = dn_normalize(u->vals[i].p), *hash;

		/* uniqueMember may carry "#'0101'B" */
		if ((hash = strrchr(dn, '#')) != NULL)
			*hash = '\0';
		o->members[k++] = arena_strdup(&x->tmp, dn);
		free(dn);
	}
	o->nmembers = k;
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
	for (j = A_EMAIL; j < A_NSLOTS; j++)
		if (x->dup_of[j] > 0)
			x->at[j] = x->at[x->dup_of[j] - 1];
}

static bool
entry_is_group(const struct rules_ctx *x)
{
	const struct attr *oc = x->at[A_OBJECTCLASS];

	return x->at[A_MEMBER] != NULL || x->at[A_UNIQUEMEMBER] != NULL ||
	       has_value(oc, "group") || has_value(oc, "groupOfNames") ||
	       has_value(oc, "groupOfUniqueNames");
}

void
rules_add(struct rules_ctx *x, const struct entry *e)
{
	const struct attr *oc;
	struct robj *o;
	enum rtype type;
	bool list_ok = false;
	char *ndn;

	fill_slots(x, e);
	oc = x->at[A_OBJECTCLASS];
	if (has_value(oc, "computer"))
		return;
	if (has_value(oc, "contact"))
		type = RT_CONTACT;
	else if ((list_ok = x->gf != NULL ? filter_match(x->gf, e)
					  : entry_is_group(x)))
		type = RT_GROUP;
	else if (has_value(oc, "user") || has_value(oc, "person") ||
		 has_value(oc, "inetOrgPerson"))
		type = RT_USER;
	else if (entry_is_group(x))
		type = RT_GROUP;    /* not a list; its members still nest */
	else
		return;
	ndn = dn_normalize(e->dn);
	if (strmap_get(&x->by_ndn, ndn) != NULL) {
		free(ndn);
		return;             /* the same DN twice: first one wins */
	}
	o = arena_alloc(&x->tmp, sizeof(*o));
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->list_ok = list_ok;
	/* dn outlives the run's scratch memory (reports); ndn need not */
	o->dn = arena_strdup(x->a, e->dn);
	o->ndn = strcmp(e->dn, ndn) == 0 ? o->dn : arena_strdup(&x->tmp, ndn);
	free(ndn);
	o->anchor = anchor_of(x->a, x->at[A_OBJECTGUID], x->at[A_ENTRYUUID],
			      x->at[A_NSUNIQUEID], o->ndn);
	if (type == RT_CONTACT)
		map_contact(x, o);
	else
		map_addresses(x, o);
	o->name = display_name(x);
	if (type == RT_GROUP || entry_is_group(x))
		keep_members(x, o);
	o->why = scope_check(x, o);
	x->objs = xgrow(x->objs, &x->cap, x->nobjs + 1, sizeof(*x->objs));
	x->objs[x->nobjs++] = o;
	strmap_put(&x->by_ndn, o->ndn, o);
}

/* ---- nested groups ------------------------------------------------ */

/* Iterative DFS over groups, cycle-safe; calls leaf() for non-groups. */
struct walk {
	struct rules_ctx *x;
	struct strmap seen;
	const char **stack;
	size_t n, cap;
	void (*leaf)(void *, struct robj *o);
	void *arg;
};

static void
walk_push(struct walk *w, const char *ndn)
{
	if (strmap_get(&w->seen, ndn) != NULL)
		return;
	strmap_put(&w->seen, ndn, (void *)ndn);
	w->stack = xgrow(w->stack, &w->cap, w->n + 1, sizeof(*w->stack));
	w->stack[w->n++] = ndn;
}

static void
walk_run(struct walk *w, const char *root_ndn)
{
	size_t i;

	walk_push(w, root_ndn);
	while (w->n > 0) {
		struct robj *o = strmap_get(&w->x->by_ndn, w->stack[--w->n]);

		if (o == NULL)
			continue;           /* outside the read: ignore */
		if (o->members != NULL || o->type == RT_GROUP) {
			for (i = 0; i < o->nmembers; i++)
				walk_push(w, o->members[i]);
		} else {
			w->leaf(w->arg, o);
		}
	}
	strmap_free(&w->seen);
}

static void
member_ok_leaf(void *arg, struct robj *o)
{
	struct rules_ctx *x = arg;

	strmap_put(&x->member_ok, o->ndn, o);
}

/* ---- conflicts ---------------------------------------------------- */

struct claim {
	const char *anchor;
	const char **others;   /* further distinct anchors */
	size_t nothers, cap;
};

static bool
conflicted(struct rules_ctx *x, const char *addr)
{
	return x->r->frozen_addresses.len > 0 &&
	       strmap_get(&x->r->frozen_addresses, addr) != NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_conflict(const void *a, const void *b)
{
	return strcmp(((const struct conflict *)a)->address,
		      ((const struct conflict *)b)->address);
}

/*
 * Puts a mail object in the desired set.  The set's address index doubles
 * as the claim table: an address already taken by another anchor is a
 * conflict, recorded in x->claims (rare, so small).
 */
static void
claim_emit(struct rules_ctx *x, enum mkind kind, const char *addr,
	   const struct robj *o, const char *name)
{
	struct mobj m, *have;
	struct claim *cl;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.address = addr;
	m.anchor = o->anchor;
	m.name = name;
	m.gotos = kind == MK_ALIAS ? o->primary
		  : kind == MK_CONTACT ? o->external
				       : NULL;
	m.active = true;
	m.dn = o->dn;
	if (mset_add_ref(&x->r->desired, &m) != NULL)
		return;
	have = mset_get(&x->r->desired, addr);
	if (strcmp(have->anchor, o->anchor) == 0)
		return;               /* the same object twice: one is enough */
	cl = strmap_get(&x->claims, addr);
	if (cl == NULL) {
		cl = arena_alloc(&x->tmp, sizeof(*cl));
		memset(cl, 0, sizeof(*cl));
		cl->anchor = have->anchor;
		strmap_put(&x->claims, addr, cl);
	}
	for (i = 0; i < cl->nothers; i++)
		if (strcmp(cl->others[i], o->anchor) == 0)
			return;
	cl->others = xgrow(cl->others, &cl->cap, cl->nothers + 1,
			   sizeof(*cl->others));
	cl->others[cl->nothers++] = o->anchor;
}

/* Conflicts from the claims; addresses and objects to leave alone. */
static void
settle_conflicts(struct rules_ctx *x)
{
	struct rules_result *r = x->r;
	const char *addr;
	void *val;
	size_t i, j, it = 0;

	while (strmap_next(&x->claims, &it, &addr, &val)) {
		struct claim *cl = val;
		struct conflict *cf;

		r->conflicts = xgrow(r->conflicts, &r->capconflicts,
				     r->nconflicts + 1, sizeof(*r->conflicts));
		cf = &r->conflicts[r->nconflicts++];
		cf->address = addr;      /* strings live in r->arena */
		cf->n = cl->nothers + 1;
		cf->claimed_by = arena_alloc(&r->arena, cf->n * sizeof(char *));
		cf->claimed_by[0] = cl->anchor;
		for (j = 0; j < cl->nothers; j++)
			cf->claimed_by[j + 1] = cl->others[j];
		qsort(cf->claimed_by, cf->n, sizeof(char *), cmp_str);
		strmap_put(&r->frozen_addresses, cf->address,
			   (void *)cf->address);
		free(cl->others);
	}
	if (r->nconflicts > 1)
		qsort(r->conflicts, r->nconflicts, sizeof(*r->conflicts),
		      cmp_conflict);
	if (r->nconflicts == 0)
		return;
	/* an object whose primary is contested is left alone entirely */
	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = x->objs[i];

		if (o->in_scope && o->primary != NULL &&
		    conflicted(x, o->primary))
			strmap_put(&r->frozen_anchors, o->anchor,
				   (void *)o->anchor);
	}
}

/* ---- lists -------------------------------------------------------- */

struct collect {
	struct rules_ctx *x;
	const char **v;
	size_t n, cap;
};

static void
collect_leaf(void *arg, struct robj *o)
{
	struct collect *col = arg;
	const char *addr = NULL;

	if (!o->in_scope)
		return;
	if (o->type == RT_USER && o->primary != NULL &&
	    !conflicted(col->x, o->primary))
		addr = o->primary;
	else if (o->type == RT_CONTACT)
		addr = o->external;
	if (addr == NULL)
		return;
	col->v = xgrow(col->v, &col->cap, col->n + 1, sizeof(*col->v));
	col->v[col->n++] = addr;
}

/* Sorted, unique, comma-joined member addresses (in the arena); NULL if
 * none. */
static const char *
expand_list(struct rules_ctx *x, struct walk *w, struct robj *g)
{
	struct collect col = {x, NULL, 0, 0};
	size_t i, len = 0, off = 0;
	char *s;

	w->leaf = collect_leaf;
	w->arg = &col;
	walk_run(w, g->ndn);
	w->arg = NULL;    /* col is ours, not the walker's */
	if (col.n == 0) {
		free(col.v);
		return NULL;
	}
	qsort(col.v, col.n, sizeof(*col.v), cmp_str);
	for (i = 0; i < col.n; i++)
		len += strlen(col.v[i]) + 1;
	s = arena_alloc(x->a, len);
	for (i = 0; i < col.n; i++) {
		size_t l;

		if (i > 0 && strcmp(col.v[i], col.v[i - 1]) == 0)
			continue;
		if (off > 0)
			s[off++] = ',';
		l = strlen(col.v[i]);
		memcpy(s + off, col.v[i], l);
		off += l;
	}
	s[off] = '\0';
	free(col.v);
	return s;
}

/* ---- the whole pass ----------------------------------------------- */

/* Keep an object unless rules_end decided otherwise. */
static bool
keep_obj(struct rules_ctx *x, const struct mobj *m)
{
	struct rules_result *r = x->r;

	if (r->frozen_addresses.len > 0 &&
	    strmap_get(&r->frozen_addresses, m->address) != NULL)
		return false;
	if (m->anchor == NULL)
		return true;
	if (r->frozen_anchors.len > 0 &&
	    strmap_get(&r->frozen_anchors, m->anchor) != NULL)
		return false;
	return x->dropped.len == 0 ||
	       strmap_get(&x->dropped, m->anchor) == NULL;
}

struct rules_ctx *
rules_begin(const struct conf *c, struct rules_result *r, struct err *err)
{
	struct rules_ctx *x = xcalloc(1, sizeof(*x));
	size_t i, k;

	x->c = c;
	x->r = r;
	x->a = &r->arena;
	if (c->mapping.group_filter != NULL && *c->mapping.group_filter) {
		x->gf = filter_parse(c->mapping.group_filter, err);
		if (x->gf == NULL) {
			err_where(err, "[mapping] group_filter");
			free(x);
			return NULL;
		}
	}
	for (i = 0; base_attrs[i] != NULL; i++)
		strmap_put(&x->slots, lower_dup(&x->tmp, base_attrs[i]),
			   (void *)(uintptr_t)(i + 1));
	if (c->mapping.email_attribute != NULL) {
		const char *k0 = lower_dup(&x->tmp, c->mapping.email_attribute);
		uintptr_t have = (uintptr_t)strmap_get(&x->slots, k0);

		if (have == 0)
			strmap_put(&x->slots, k0,
				   (void *)(uintptr_t)(A_EMAIL + 1));
		else
			x->dup_of[A_EMAIL] = (int)have;
	}
	for (k = 0; k < c->mapping.alias_attributes.n &&
		    k < A_NSLOTS - A_ALIAS0;
	     k++) {
		const char *k1 =
			lower_dup(&x->tmp, c->mapping.alias_attributes.v[k]);

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
	strmap_free(&x->member_ok);
	strmap_free(&x->claims);
	strmap_free(&x->dropped);
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
	size_t i, j;

	(void)err;
	memset(&w, 0, sizeof(w));
	w.x = x;

	/* [scope] member_of: everything reachable through nested groups */
	if (c->scope.member_of.n > 0) {
		x->use_member_of = true;
		w.leaf = member_ok_leaf;
		w.arg = x;
		for (i = 0; i < c->scope.member_of.n; i++) {
			char *ndn = dn_normalize(c->scope.member_of.v[i]);
			const char *k = arena_strdup(&x->tmp, ndn);

			free(ndn);
			if (strmap_get(&x->by_ndn, k) == NULL)
				warn(x, "[scope] member_of group %s was not "
				     "found in the directory",
				     c->scope.member_of.v[i]);
			walk_run(&w, k);
		}
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

	/* every in-scope object claims its addresses */
	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = x->objs[i];

		if (!o->in_scope)
			continue;
		if (o->type == RT_USER)
			claim_emit(x, MK_MAILBOX, o->primary, o, o->name);
		else if (o->type == RT_GROUP)
			claim_emit(x, MK_LIST, o->primary, o, o->name);
		for (j = 0; j < o->naliases; j++)
			claim_emit(x, o->type == RT_CONTACT ? MK_CONTACT
							    : MK_ALIAS,
				   o->aliases[j], o,
				   o->type == RT_CONTACT ? o->name : NULL);
	}
	settle_conflicts(x);

	/* lists get their members once conflicts are known */
	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = x->objs[i];
		struct mobj *list;

		if (!o->in_scope ||
		    (o->primary != NULL && conflicted(x, o->primary)))
			continue;  /* frozen: reported as a conflict */
		if (o->type != RT_GROUP) {
			r->in_scope++;
			continue;
		}
		list = mset_get(&r->desired, o->primary);
		list->gotos = expand_list(x, &w, o);
		if (list->gotos == NULL) {
			warn(x, "%s: list %s has no members in scope; not "
			     "created", o->dn, o->primary);
			strmap_put(&x->dropped, o->anchor, (void *)o->anchor);
			continue;
		}
		r->in_scope++;
	}
	if (r->frozen_addresses.len > 0 || x->dropped.len > 0) {
		size_t n = 0;

		for (i = 0; i < r->desired.n; i++)
			if (keep_obj(x, r->desired.v[i]))
				r->desired.v[n++] = r->desired.v[i];
		mset_truncate(&r->desired, n);
	}
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

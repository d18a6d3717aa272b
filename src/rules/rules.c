#include "rules/rules.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/filter.h"
#include "util/xalloc.h"

enum rtype { RT_USER, RT_GROUP, RT_CONTACT };

/* One directory object on its way to becoming mail objects. */
struct robj {
	enum rtype type;
	const struct entry *e;
	const char *ndn;
	const char *anchor;
	const char *primary;       /* NULL: no mail object */
	const char **aliases;
	size_t naliases;
	const char *name;
	const char *external;      /* contacts */
	bool in_scope;
};

struct ctx {
	const struct conf *c;
	const struct snapshot *s;
	struct rules_result *r;
	struct arena *a;
	struct robj *objs;
	size_t nobjs;
	struct strmap by_ndn;      /* ndn -> robj (in-scope or not) */
	struct strmap member_ok;   /* ndn set from [scope] member_of */
	bool use_member_of;
};

static const char *const base_attrs[] = {
	"objectClass", "objectGUID", "entryUUID", "nsUniqueId", "cn",
	"displayName", "givenName", "sn", "sAMAccountName", "uid",
	"userPrincipalName", "userAccountControl", "pwdAccountLockedTime",
	"nsAccountLock", "msExchHideFromAddressLists", "member",
	"uniqueMember", "targetAddress", "mail", NULL,
};

const char **
rules_attrs(const struct conf *c)
{
	size_t nb = sizeof(base_attrs) / sizeof(base_attrs[0]) - 1;
	size_t n = nb + 1 + c->mapping.alias_attributes.n + 1, i, k = 0;
	const char **v = xcalloc(n, sizeof(*v));

#define ADD_UNIQUE(name)                                              \
	do {                                                          \
		size_t j_;                                            \
		for (j_ = 0; j_ < k; j_++)                            \
			if (strcasecmp(v[j_], (name)) == 0)           \
				break;                                \
		if (j_ == k)                                          \
			v[k++] = (name);                              \
	} while (0)
	for (i = 0; i < nb; i++)
		ADD_UNIQUE(base_attrs[i]);
	if (c->mapping.email_attribute != NULL)
		ADD_UNIQUE(c->mapping.email_attribute);
	for (i = 0; i < c->mapping.alias_attributes.n; i++)
		ADD_UNIQUE(c->mapping.alias_attributes.v[i]);
#undef ADD_UNIQUE
	v[k] = NULL;
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

static void warn(struct ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
warn(struct ctx *x, const char *fmt, ...)
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

		/* a comma or space would break Postfix goto lists */
		if (ch <= ' ' || ch == ',' || ch == '"' || ch == '\'' ||
		    ch == '<' || ch == '>' || ch == '\\' || ch >= 0x7f)
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

char *
rules_anchor(const struct entry *e, const char *ndn)
{
	const struct attr *a = entry_attr(e, "objectGUID");
	const char *v;

	if (a != NULL && a->nvals > 0 && a->vals[0].len == 16) {
		/* AD stores the first three fields little-endian */
		static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6,
					      8, 9, 10, 11, 12, 13, 14, 15};
		const unsigned char *g = (const unsigned char *)a->vals[0].p;
		char out[37];
		int i, o = 0;

		for (i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				out[o++] = '-';
			out[o++] = hexdig(g[order[i]] >> 4);
			out[o++] = hexdig(g[order[i]]);
		}
		out[o] = '\0';
		return xstrdup(out);
	}
	if ((v = entry_first(e, "objectGUID")) != NULL ||
	    (v = entry_first(e, "entryUUID")) != NULL ||
	    (v = entry_first(e, "nsUniqueId")) != NULL) {
		char *s = xstrdup(v), *p;

		for (p = s; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		return s;
	}
	return xasprintf("dn:%s", ndn);
}

/* ---- classification and scope ------------------------------------- */

static bool
has_class(const struct entry *e, const char *cls)
{
	return entry_has_value(e, "objectClass", cls);
}

static bool
is_true(const char *v)
{
	return v != NULL && (strcasecmp(v, "TRUE") == 0 ||
			     strcmp(v, "1") == 0 ||
			     strcasecmp(v, "yes") == 0);
}

static bool
account_disabled(const struct entry *e)
{
	const char *uac = entry_first(e, "userAccountControl");

	if (uac != NULL) {
		char *end;
		long long v = strtoll(uac, &end, 10);

		if (end != uac && (v & 2))
			return true;
	}
	if (entry_attr(e, "pwdAccountLockedTime") != NULL)
		return true;
	return is_true(entry_first(e, "nsAccountLock"));
}

static bool
excluded(const struct conf *c, const struct entry *e, const char *primary)
{
	const char *cand[4];
	size_t i, j;

	cand[0] = e->dn;
	cand[1] = entry_first(e, "sAMAccountName");
	if (cand[1] == NULL)
		cand[1] = entry_first(e, "uid");
	cand[2] = primary;
	cand[3] = entry_first(e, "userPrincipalName");
	for (i = 0; i < c->scope.exclude.n; i++)
		for (j = 0; j < 4; j++)
			if (cand[j] != NULL &&
			    fnmatch(c->scope.exclude.v[i], cand[j],
				    FNM_CASEFOLD) == 0)
				return true;
	return false;
}

/* Member DN values, normalised into the caller's callback. */
static void
for_members(const struct entry *e, void (*fn)(void *, const char *),
	    void *arg)
{
	static const char *const names[] = {"member", "uniqueMember"};
	size_t k, i;

	for (k = 0; k < 2; k++) {
		const struct attr *a = entry_attr(e, names[k]);

		if (a == NULL)
			continue;
		for (i = 0; i < a->nvals; i++) {
			char *dn = dn_normalize(a->vals[i].p), *hash;

			/* uniqueMember may carry "#'0101'B" */
			if (k == 1 && (hash = strrchr(dn, '#')) != NULL)
				*hash = '\0';
			fn(arg, dn);
			free(dn);
		}
	}
}

/* Iterative DFS over groups, cycle-safe; calls leaf() for non-groups. */
struct walk {
	const struct snapshot *s;
	struct strmap seen;
	struct arena a;
	const char **stack;
	size_t n, cap;
	void (*leaf)(void *, const char *ndn, const struct entry *e);
	void *arg;
};

static bool
entry_is_group(const struct entry *e)
{
	return entry_attr(e, "member") != NULL ||
	       entry_attr(e, "uniqueMember") != NULL || has_class(e, "group") ||
	       has_class(e, "groupOfNames") ||
	       has_class(e, "groupOfUniqueNames");
}

static void
walk_push(void *arg, const char *ndn)
{
	struct walk *w = arg;
	const char *k;

	if (strmap_get(&w->seen, ndn) != NULL)
		return;
	k = arena_strdup(&w->a, ndn);
	strmap_put(&w->seen, k, (void *)k);
	w->stack = xgrow(w->stack, &w->cap, w->n + 1, sizeof(*w->stack));
	w->stack[w->n++] = k;
}

static void
walk_run(struct walk *w, const char *root_ndn)
{
	walk_push(w, root_ndn);
	while (w->n > 0) {
		const char *ndn = w->stack[--w->n];
		const struct entry *e = snapshot_get(w->s, ndn);

		if (e == NULL)
			continue;           /* outside the read: ignore */
		if (entry_is_group(e))
			for_members(e, walk_push, w);
		else
			w->leaf(w->arg, ndn, e);
	}
}

static void
walk_reset(struct walk *w)
{
	strmap_free(&w->seen);
	arena_free(&w->a);
	w->n = 0;
}

static void
walk_free(struct walk *w)
{
	walk_reset(w);
	free(w->stack);
}

static void
member_ok_leaf(void *arg, const char *ndn, const struct entry *e)
{
	struct ctx *x = arg;
	const char *k = arena_strdup(x->a, ndn);

	(void)e;
	strmap_put(&x->member_ok, k, (void *)k);
}

/* ---- per-object mapping ------------------------------------------- */

static const char *
adup(struct ctx *x, const char *s)
{
	return s != NULL ? arena_strdup(x->a, s) : NULL;
}

static const char *
display_name(struct ctx *x, const struct entry *e)
{
	const char *dn = entry_first(e, "displayName");
	const char *g = entry_first(e, "givenName");
	const char *sn = entry_first(e, "sn");

	if (dn != NULL && *dn != '\0')
		return adup(x, dn);
	if (g != NULL && sn != NULL) {
		char *s = xasprintf("%s %s", g, sn);
		const char *r = adup(x, s);

		free(s);
		return r;
	}
	if (g != NULL || sn != NULL)
		return adup(x, g != NULL ? g : sn);
	return adup(x, entry_first(e, "cn"));
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

/*
 * Addresses of an entry: the primary (SMTP: wins over the email
 * attribute) and the aliases (smtp: values and bare addresses of the
 * alias attributes).  Returns the number of aliases; *primary may be NULL.
 */
static void
map_addresses(struct ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	const struct entry *e = o->e;
	const char *mail = entry_first(e, c->mapping.email_attribute);
	char *smtp_primary = NULL, *mail_primary = NULL;
	const char **al = NULL;
	size_t nal = 0, cap = 0, i, k;

	if (mail != NULL) {
		/* contacts keep "SMTP:" style targetAddress out of here */
		mail_primary = rules_norm_address(c, mail);
		if (mail_primary == NULL)
			warn(x, "%s: ignoring %s value '%s': not an address",
			     e->dn, c->mapping.email_attribute, mail);
	}
	for (k = 0; k < c->mapping.alias_attributes.n; k++) {
		const struct attr *a =
			entry_attr(e, c->mapping.alias_attributes.v[k]);

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
				     "address", e->dn,
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
				     "using %s, %s becomes an alias", e->dn,
				     smtp_primary, addr);
			if (!listed(al, nal, addr)) {
				al = xgrow(al, &cap, nal + 1, sizeof(*al));
				al[nal++] = adup(x, addr);
			}
			free(addr);
		}
	}
	if (smtp_primary != NULL && mail_primary != NULL &&
	    strcmp(smtp_primary, mail_primary) != 0) {
		warn(x, "%s: SMTP: primary %s differs from %s %s; using %s",
		     e->dn, smtp_primary, c->mapping.email_attribute,
		     mail_primary, smtp_primary);
		if (!listed(al, nal, mail_primary)) {
			al = xgrow(al, &cap, nal + 1, sizeof(*al));
			al[nal++] = adup(x, mail_primary);
		}
	}
	if (smtp_primary != NULL) {
		o->primary = adup(x, smtp_primary);
	} else if (mail_primary != NULL) {
		o->primary = adup(x, mail_primary);
	} else if (!c->scope.mail_enabled_only && o->type == RT_USER) {
		const char *upn = entry_first(e, "userPrincipalName");
		char *addr = upn != NULL ? rules_norm_address(c, upn) : NULL;

		o->primary = adup(x, addr);
		free(addr);
	}
	free(smtp_primary);
	free(mail_primary);

	/* aliases: not the primary, only accepted domains */
	o->aliases = arena_alloc(x->a, (nal ? nal : 1) * sizeof(char *));
	o->naliases = 0;
	for (i = 0; i < nal; i++) {
		if (o->primary != NULL && strcmp(al[i], o->primary) == 0)
			continue;
		if (!domain_accepted(c, al[i])) {
			warn(x, "%s: alias %s dropped: domain not accepted",
			     e->dn, al[i]);
			continue;
		}
		o->aliases[o->naliases++] = al[i];
	}
	free(al);
}

static void
map_contact(struct ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	const struct entry *e = o->e;
	const char *t = entry_first(e, "targetAddress");
	const char *m = entry_first(e, c->mapping.email_attribute);
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
			x->a, (o->naliases + 1) * sizeof(char *));

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

static enum scope_reason
scope_check(struct ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	const struct entry *e = o->e;
	unsigned bit = o->type == RT_USER    ? OT_USERS
		       : o->type == RT_GROUP ? OT_GROUPS
					     : OT_CONTACTS;

	if (!(c->scope.object_types & bit))
		return SC_TYPE_OFF;
	if (o->type == RT_USER && c->scope.enabled_only && account_disabled(e))
		return SC_DISABLED;
	if (c->scope.visible_only &&
	    is_true(entry_first(e, "msExchHideFromAddressLists")))
		return SC_HIDDEN;
	if (o->type != RT_GROUP && x->use_member_of &&
	    strmap_get(&x->member_ok, o->ndn) == NULL)
		return SC_NOT_MEMBER;
	if (c->scope.exclude.n > 0 &&
	    excluded(c, e, o->type == RT_CONTACT ? o->external : o->primary))
		return SC_EXCLUDED;
	if (o->type == RT_CONTACT)
		return o->external != NULL ? SC_NREASONS : SC_NO_ADDRESS;
	if (o->primary == NULL)
		return SC_NO_ADDRESS;
	if (!domain_accepted(c, o->primary)) {
		warn(x, "%s: primary address %s is not in an accepted "
		     "domain; skipped", e->dn, o->primary);
		return SC_DOMAIN;
	}
	return SC_NREASONS;   /* in scope */
}

static bool
in_scope(struct ctx *x, struct robj *o)
{
	enum scope_reason why = scope_check(x, o);

	x->r->scope_counts[o->type == RT_USER	 ? SC_USERS
			   : o->type == RT_GROUP ? SC_GROUPS
						 : SC_CONTACTS]++;
	if (why == SC_NREASONS)
		return true;
	x->r->scope_counts[why]++;
	return false;
}

/* ---- conflicts ---------------------------------------------------- */

struct claim {
	const char *anchor;
	const char **others;   /* further distinct anchors */
	size_t nothers, cap;
};

static void
claim(struct ctx *x, struct strmap *claims, const char *addr,
      const char *anchor)
{
	struct claim *cl = strmap_get(claims, addr);
	size_t i;

	if (cl == NULL) {
		cl = arena_alloc(x->a, sizeof(*cl));
		memset(cl, 0, sizeof(*cl));
		cl->anchor = anchor;
		strmap_put(claims, addr, cl);
		return;
	}
	if (strcmp(cl->anchor, anchor) == 0)
		return;
	for (i = 0; i < cl->nothers; i++)
		if (strcmp(cl->others[i], anchor) == 0)
			return;
	cl->others = xgrow(cl->others, &cl->cap, cl->nothers + 1,
			   sizeof(*cl->others));
	cl->others[cl->nothers++] = anchor;
}

static bool
conflicted(struct ctx *x, const char *addr)
{
	return strmap_get(&x->r->frozen_addresses, addr) != NULL;
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

static void
find_conflicts(struct ctx *x)
{
	struct rules_result *r = x->r;
	struct strmap claims = STRMAP_INIT;
	const char *addr;
	void *val;
	size_t i, j, it = 0;

	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = &x->objs[i];

		if (!o->in_scope)
			continue;
		if (o->primary != NULL)
			claim(x, &claims, o->primary, o->anchor);
		for (j = 0; j < o->naliases; j++)
			claim(x, &claims, o->aliases[j], o->anchor);
	}
	while (strmap_next(&claims, &it, &addr, &val)) {
		struct claim *cl = val;
		struct conflict *cf;

		if (cl->nothers > 0) {
			r->conflicts = xgrow(r->conflicts, &r->capconflicts,
					     r->nconflicts + 1,
					     sizeof(*r->conflicts));
			cf = &r->conflicts[r->nconflicts++];
			cf->address = arena_strdup(&r->arena, addr);
			cf->n = cl->nothers + 1;
			cf->claimed_by = arena_alloc(
				&r->arena, cf->n * sizeof(char *));
			cf->claimed_by[0] = arena_strdup(&r->arena, cl->anchor);
			for (j = 0; j < cl->nothers; j++)
				cf->claimed_by[j + 1] = arena_strdup(
					&r->arena, cl->others[j]);
			qsort(cf->claimed_by, cf->n, sizeof(char *), cmp_str);
			strmap_put(&r->frozen_addresses, cf->address,
				   (void *)cf->address);
		}
		free(cl->others);
	}
	strmap_free(&claims);
	if (r->nconflicts > 1)
		qsort(r->conflicts, r->nconflicts, sizeof(*r->conflicts),
		      cmp_conflict);
	/* an object whose primary is contested is left alone entirely */
	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = &x->objs[i];

		if (o->in_scope && o->primary != NULL &&
		    conflicted(x, o->primary)) {
			const char *k = arena_strdup(&r->arena, o->anchor);

			strmap_put(&r->frozen_anchors, k, (void *)k);
		}
	}
}

/* ---- lists -------------------------------------------------------- */

struct collect {
	struct ctx *x;
	const char **v;
	size_t n, cap;
};

static void
collect_leaf(void *arg, const char *ndn, const struct entry *e)
{
	struct collect *col = arg;
	struct robj *o = strmap_get(&col->x->by_ndn, ndn);
	const char *addr = NULL;

	(void)e;
	if (o == NULL || !o->in_scope)
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

/* Sorted, unique, comma-joined member addresses; NULL if none. */
static char *
expand_list(struct ctx *x, struct walk *w, struct robj *g)
{
	struct collect col = {x, NULL, 0, 0};
	struct buf b = BUF_INIT;
	size_t i;

	w->leaf = collect_leaf;
	w->arg = &col;
	walk_run(w, g->ndn);
	walk_reset(w);
	if (col.n == 0) {
		free(col.v);
		return NULL;
	}
	qsort(col.v, col.n, sizeof(*col.v), cmp_str);
	for (i = 0; i < col.n; i++) {
		if (i > 0 && strcmp(col.v[i], col.v[i - 1]) == 0)
			continue;
		if (b.len > 0)
			buf_addc(&b, ',');
		buf_adds(&b, col.v[i]);
	}
	free(col.v);
	return buf_steal(&b);
}

/* ---- the whole pass ----------------------------------------------- */

static void
emit(struct ctx *x, enum mkind kind, const char *addr, const struct robj *o,
     const char *name, const char *gotos)
{
	struct mobj m;

	if (conflicted(x, addr))
		return;
	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.address = addr;
	m.anchor = o != NULL ? o->anchor : NULL;
	m.name = name;
	m.gotos = gotos;
	m.active = true;
	m.dn = o != NULL ? o->e->dn : NULL;
	mset_add(&x->r->desired, &m);
}

int
rules_apply(const struct conf *c, const struct snapshot *s,
	    struct rules_result *r, struct err *err)
{
	struct ctx x;
	struct filter *gf = NULL;
	struct walk w;
	size_t i, j;
	int rc = -1;

	memset(&x, 0, sizeof(x));
	memset(&w, 0, sizeof(w));
	x.c = c;
	x.s = s;
	x.r = r;
	x.a = &r->arena;
	w.s = s;
	if (c->mapping.group_filter != NULL && *c->mapping.group_filter) {
		gf = filter_parse(c->mapping.group_filter, err);
		if (gf == NULL) {
			err_where(err, "[mapping] group_filter");
			goto done;
		}
	}

	/* [scope] member_of: everything reachable through nested groups */
	if (c->scope.member_of.n > 0) {
		x.use_member_of = true;
		w.leaf = member_ok_leaf;
		w.arg = &x;
		for (i = 0; i < c->scope.member_of.n; i++) {
			char *ndn = dn_normalize(c->scope.member_of.v[i]);

			if (snapshot_get(s, ndn) == NULL)
				warn(&x, "[scope] member_of group %s was not "
				     "found in the directory",
				     c->scope.member_of.v[i]);
			walk_run(&w, ndn);
			walk_reset(&w);
			free(ndn);
		}
	}

	x.objs = xcalloc(s->n ? s->n : 1, sizeof(*x.objs));
	for (i = 0; i < s->n; i++) {
		const struct entry *e = s->v[i];
		struct robj *o = &x.objs[x.nobjs];
		char *anchor;

		if (has_class(e, "computer"))
			continue;
		if (has_class(e, "contact"))
			o->type = RT_CONTACT;
		else if (gf != NULL ? filter_match(gf, e) : entry_is_group(e))
			o->type = RT_GROUP;
		else if (has_class(e, "user") || has_class(e, "person") ||
			 has_class(e, "inetOrgPerson"))
			o->type = RT_USER;
		else
			continue;
		o->e = e;
		o->ndn = s->ndn[i];
		anchor = rules_anchor(e, o->ndn);
		o->anchor = arena_strdup(x.a, anchor);
		free(anchor);
		if (o->type == RT_CONTACT)
			map_contact(&x, o);
		else
			map_addresses(&x, o);
		o->name = display_name(&x, e);
		o->in_scope = in_scope(&x, o);
		strmap_put(&x.by_ndn, o->ndn, o);
		x.nobjs++;
	}

	find_conflicts(&x);

	for (i = 0; i < x.nobjs; i++) {
		struct robj *o = &x.objs[i];
		char *members;

		if (!o->in_scope)
			continue;
		if (o->primary != NULL && conflicted(&x, o->primary))
			continue;  /* frozen: reported as a conflict */
		switch (o->type) {
		case RT_USER:
			r->in_scope++;
			emit(&x, MK_MAILBOX, o->primary, o, o->name, NULL);
			for (j = 0; j < o->naliases; j++)
				emit(&x, MK_ALIAS, o->aliases[j], o, NULL,
				     o->primary);
			break;
		case RT_GROUP:
			members = expand_list(&x, &w, o);
			if (members == NULL) {
				warn(&x, "%s: list %s has no members in "
				     "scope; not created", o->e->dn,
				     o->primary);
				break;
			}
			r->in_scope++;
			emit(&x, MK_LIST, o->primary, o, o->name, members);
			for (j = 0; j < o->naliases; j++)
				emit(&x, MK_ALIAS, o->aliases[j], o, NULL,
				     o->primary);
			free(members);
			break;
		case RT_CONTACT:
			r->in_scope++;
			for (j = 0; j < o->naliases; j++)
				emit(&x, MK_CONTACT, o->aliases[j], o, o->name,
				     o->external);
			break;
		}
	}
	for (i = 0; i < c->mapping.accepted_domains.n; i++)
		emit(&x, MK_DOMAIN, c->mapping.accepted_domains.v[i], NULL,
		     NULL, NULL);
	mset_sort(&r->desired);
	rc = 0;
done:
	filter_free(gf);
	walk_free(&w);
	strmap_free(&x.by_ndn);
	strmap_free(&x.member_ok);
	free(x.objs);
	return rc;
}

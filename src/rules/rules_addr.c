/*
 * rules_addr.c - addresses: normalisation, the primary and the aliases of
 * an object, contacts' external addresses, display names.
 */
#include "rules/rules_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

/* ---- addresses ---------------------------------------------------- */

/*
 * Is the part before '@' safe as a maildir path component and a lookup
 * key?  RFC 5322 dot-atom (atext and single dots, none first or last),
 * minus '/': "x/../bob", "..", "bob/." would resolve into another user's
 * maildir or the mail root (maildir = domain/local_part/).
 */
static bool
local_part_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.' ? s[i + 1] == '.'
			      : !(isalnum(ch) || strchr("!#$%&'*+-=?^_`{|}~",
						      ch) != NULL))
			return false;
	}
	return true;
}

/* A host name: labels of letters, digits and '-', none empty. */
static bool
domain_ok(const char *s)
{
	size_t label = 0;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-') {
			label++;
		} else {
			return false;
		}
	}
	return label > 0;
}

char *
rules_norm_address_why(const struct conf *c, const char *raw,
		       const char **why)
{
	const char *s = raw, *e, *at;
	char *out, *p;
	size_t n, i;

	*why = "not an address";
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
			out = nout;
			p = strchr(out, '@') + 1;
			break;
		}
	}
	if (!local_part_ok(out, (size_t)(p - out - 1))) {
		*why = "unsafe as a maildir path or lookup key (the part "
		       "before @ must be letters, digits, !#$%&'*+-=?^_`{|}~ "
		       "and single dots inside, RFC 5322 dot-atom, no '/')";
		free(out);
		return NULL;
	}
	if (!domain_ok(p)) {
		*why = "the domain is not a host name";
		free(out);
		return NULL;
	}
	*why = NULL;
	return out;
}

char *
rules_norm_address(const struct conf *c, const char *raw)
{
	const char *why;

	return rules_norm_address_why(c, raw, &why);
}

bool
rules_domain_accepted(const struct conf *c, const char *addr)
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

/* Length of the valid UTF-8 character at s (n bytes left), 0 if none. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	k = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (k > n)
		return 0;
	for (i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* no overlong 3/4-byte forms, surrogates or > U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return k;
}

/* Longest name the mail database takes (VARCHAR(255), in bytes). */
#define RULES_NAME_MAX 255

/*
 * A name value as the mail database gets it: valid UTF-8 without control
 * characters (PostgreSQL refuses invalid UTF-8 and NUL; Dovecot,
 * Postfixadmin and webmail choke on them).  A value that is not UTF-8 is
 * read as Latin-1 (ISO 8859-1: every byte is a character, so nothing is
 * lost, and it is what such values almost always are); control
 * characters, NUL included, become a space; spaces are collapsed and
 * trimmed.  Either repair is warned about with the DN.  NULL when nothing
 * is left.
 */
static const char *
clean_name(struct rules_ctx *x, const char *attr, const struct val *v)
{
	const unsigned char *p = (const unsigned char *)v->p;
	size_t i, o = 0, k;
	bool latin1 = false, ctl = false, space = true;
	char *out;

	for (i = 0; i < v->len; i += k)
		if ((k = utf8_len(p + i, v->len - i)) == 0) {
			latin1 = true;
			break;
		}
	out = arena_alloc(x->a, v->len * 2 + 1);
	for (i = 0; i < v->len; i++) {
		unsigned c = p[i];

		if (c < 0x20 || c == 0x7f || (latin1 && c >= 0x80 && c < 0xa0)) {
			ctl = true;
			c = ' ';
		}
		if (c == ' ') {
			if (!space)
				out[o++] = ' ';
			space = true;
			continue;
		}
		space = false;
		if (latin1 && c >= 0x80) {
			out[o++] = (char)(0xc0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)c;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if (o > RULES_NAME_MAX) {
		/* Postfixadmin's name columns are VARCHAR(255): a longer
		 * value would fail every PostgreSQL run; cut it at a
		 * character boundary, warned */
		size_t full = o;

		o = RULES_NAME_MAX;
		while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
			o--;
		while (o > 0 && out[o - 1] == ' ')
			o--;
		out[o] = '\0';
		rules_warn(x, "%s: %s is %zu bytes long; cut to %zu (the mail "
			   "database holds %d)", x->cur_dn, attr, full, o,
			   RULES_NAME_MAX);
	}
	if (o == 0)
		rules_warn(x, "%s: %s has only control characters or spaces; "
			   "not used", x->cur_dn, attr);
	else if (latin1)
		rules_warn(x, "%s: %s is not UTF-8; read as Latin-1: \"%s\"",
			   x->cur_dn, attr, out);
	else if (ctl)
		rules_warn(x, "%s: %s has control characters (NUL, line "
			   "breaks); replaced by spaces: \"%s\"", x->cur_dn,
			   attr, out);
	return o > 0 ? out : NULL;
}

/* SPEC: displayName, else "givenName sn", else cn. */
const char *
rules_display_name(struct rules_ctx *x)
{
	const struct attr *d = x->at[A_DISPLAYNAME], *cn = x->at[A_CN];
	const struct attr *g = x->at[A_GIVENNAME], *sn = x->at[A_SN];
	const char *name;

	if (d != NULL && d->nvals > 0 && d->vals[0].len > 0 &&
	    (name = clean_name(x, "displayName", &d->vals[0])) != NULL)
		return name;
	if (g != NULL && sn != NULL && g->nvals > 0 && sn->nvals > 0) {
		const char *a = clean_name(x, "givenName", &g->vals[0]);
		const char *b = clean_name(x, "sn", &sn->vals[0]);
		size_t la, lb;
		char *s;

		if (a == NULL || b == NULL)
			return a != NULL ? a : b;
		la = strlen(a);
		lb = strlen(b);
		s = arena_alloc(x->a, la + lb + 2);
		memcpy(s, a, la);
		s[la] = ' ';
		memcpy(s + la + 1, b, lb + 1);
		return s;
	}
	if (cn == NULL || cn->nvals == 0)
		return NULL;
	return clean_name(x, "cn", &cn->vals[0]);
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
 * An object's aliases while they are collected (malloc'd array).  The
 * cap of RULES_MAX_ALIASES counts the addresses the object keeps, its
 * primary included, and is applied when they are known
 * (rules_map_addresses); collecting stops a little past it (one more
 * in an accepted domain than it could keep, or twice as many values in
 * all) so that a directory value list cannot make the duplicate check
 * quadratic without bound.
 */
struct aliases {
	const char **v;
	size_t n, cap;
	size_t accepted;    /* of them in an accepted domain */
	bool capped;        /* values left unread */
};

static void
alias_add(struct rules_ctx *x, struct aliases *al, const char *addr)
{
	if (listed(al->v, al->n, addr))
		return;
	if (al->accepted > RULES_MAX_ALIASES ||
	    al->n >= 2 * (size_t)RULES_MAX_ALIASES) {
		al->capped = true;
		return;
	}
	al->v = xgrow(al->v, &al->cap, al->n + 1, sizeof(*al->v));
	al->v[al->n++] = rules_adup(x, addr);
	if (rules_domain_accepted(x->c, addr))
		al->accepted++;
}

/*
 * The email attribute may have several values (RFC 4524 mail is
 * multi-valued).  Every value that is an address is kept, in the order
 * read; values that are not are warned about.  Returns the index of the
 * primary candidate: the first value in an accepted domain, else the
 * first value; -1 when there is none.  The strings in *v are malloc'd.
 */
/*
 * An address value with a NUL byte inside (possible in LDAP and base64
 * LDIF) would be cut at it and become another address: refused, warned.
 */
static bool
has_nul(struct rules_ctx *x, const struct robj *o, const char *attr,
	const struct val *v)
{
	if (strlen(v->p) == v->len)
		return false;
	rules_warn(x, "%s: ignoring %s value '%s...': it holds a NUL byte",
		   o->dn, attr, v->p);
	return true;
}

static long
mail_values(struct rules_ctx *x, const struct robj *o, char ***v, size_t *n)
{
	const struct attr *a = x->at[A_EMAIL];
	size_t i, cap = 0;
	long pick = -1;

	*v = NULL;
	*n = 0;
	for (i = 0; a != NULL && i < a->nvals; i++) {
		const char *why;
		char *addr;

		if (has_nul(x, o, x->c->mapping.email_attribute, &a->vals[i]))
			continue;
		addr = rules_norm_address_why(x->c, a->vals[i].p, &why);

		if (addr == NULL) {
			rules_warn(x, "%s: ignoring %s value '%s': %s", o->dn,
				   x->c->mapping.email_attribute,
				   a->vals[i].p, why);
			continue;
		}
		if (listed((const char **)*v, *n, addr)) {
			free(addr);
			continue;
		}
		*v = xgrow(*v, &cap, *n + 1, sizeof(**v));
		(*v)[(*n)++] = addr;
		if (pick < 0 && rules_domain_accepted(x->c, addr))
			pick = (long)*n - 1;
	}
	return pick >= 0 ? pick : *n > 0 ? 0 : -1;
}

/* smtp: values and bare addresses of the alias attributes. */
static void
alias_values(struct rules_ctx *x, const struct robj *o, struct aliases *al,
	     char **smtp_primary)
{
	size_t i, k;

	for (k = 0; k < x->nalias_slots; k++) {
		const struct attr *a = x->at[A_ALIAS0 + k];

		for (i = 0; a != NULL && i < a->nvals; i++) {
			const char *v = a->vals[i].p, *why;
			size_t pl = proxy_prefix(v);
			bool primary = false;
			char *addr;

			if (has_nul(x, o, x->c->mapping.alias_attributes.v[k],
				    &a->vals[i]))
				continue;
			if (pl > 0) {
				if (pl != 5 || strncasecmp(v, "smtp:", 5) != 0)
					continue;   /* X500:, SIP:, x400: ... */
				primary = strncmp(v, "SMTP:", 5) == 0;
				/*
				 * Exchange marks the primary by the prefix in
				 * capitals: "Smtp:", "sMTP:" ... say neither;
				 * never a primary by guess, an alias as
				 * smtp: is, and said
				 */
				if (!primary && strncmp(v, "smtp:", 5) != 0)
					rules_warn(x, "%s: %s value '%s' has the "
						   "prefix in mixed case: only "
						   "SMTP: marks the primary "
						   "address, smtp: an alias; "
						   "taken as an alias",
						   o->dn,
						   x->c->mapping
							   .alias_attributes.v[k],
						   a->vals[i].p);
				v += 5;
			}
			addr = rules_norm_address_why(x->c, v, &why);
			if (addr == NULL) {
				rules_warn(x, "%s: ignoring %s value '%s': %s",
					   o->dn,
					   x->c->mapping.alias_attributes.v[k],
					   a->vals[i].p, why);
				continue;
			}
			if (primary && *smtp_primary == NULL) {
				*smtp_primary = addr;
				continue;
			}
			if (primary)
				rules_warn(x, "%s: more than one SMTP: primary; "
					   "using %s, %s becomes an alias",
					   o->dn, *smtp_primary, addr);
			alias_add(x, al, addr);
			free(addr);
		}
	}
}

/*
 * The primary and the aliases.  The primary is the SMTP: value of the
 * alias attributes, else the first value of the email attribute in an
 * accepted domain (else its first address), else (mail_enabled_only = no)
 * the userPrincipalName.  Every other address becomes an alias; aliases
 * outside the accepted domains are dropped with a warning.
 */
void
rules_map_addresses(struct rules_ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	char *smtp_primary = NULL, **mv;
	const char *mail_primary;
	struct aliases al = {NULL, 0, 0, 0, false};
	size_t nmv, i;
	long pick = mail_values(x, o, &mv, &nmv);

	mail_primary = pick >= 0 ? mv[pick] : NULL;
	alias_values(x, o, &al, &smtp_primary);
	if (smtp_primary != NULL && mail_primary != NULL &&
	    !listed((const char **)mv, nmv, smtp_primary) &&
	    o->type != RT_CONTACT)
		/* a contact's mail is its external address: no news */
		rules_warn(x, "%s: SMTP: primary %s differs from %s %s; "
			   "using %s", o->dn, smtp_primary,
			   c->mapping.email_attribute, mail_primary,
			   smtp_primary);
	if (smtp_primary != NULL) {
		o->primary = rules_adup(x, smtp_primary);
	} else if (mail_primary != NULL) {
		o->primary = rules_adup(x, mail_primary);
	} else if (!c->scope.mail_enabled_only && o->type == RT_USER) {
		const char *upn = rules_first(x->at[A_UPN]), *why;
		char *addr = upn != NULL ? rules_norm_address_why(c, upn, &why)
					 : NULL;

		if (upn != NULL && addr == NULL)
			rules_warn(x, "%s: ignoring userPrincipalName '%s': %s",
				   o->dn, upn, why);
		o->primary = rules_adup(x, addr);
		free(addr);
	}
	free(smtp_primary);
	/* the other mail values, primary candidate first */
	if (mail_primary != NULL)
		alias_add(x, &al, mail_primary);
	for (i = 0; i < nmv; i++)
		alias_add(x, &al, mv[i]);

	/* aliases: not the primary, only accepted domains; at most
	 * RULES_MAX_ALIASES addresses in all, the primary one of them */
	o->naliases = 0;
	o->aliases = NULL;
	if (al.n > 0)
		o->aliases = arena_alloc(&x->tmp, al.n * sizeof(char *));
	for (i = 0; i < al.n; i++) {
		if (o->primary != NULL && strcmp(al.v[i], o->primary) == 0)
			continue;
		if (!rules_domain_accepted(c, al.v[i])) {
			/* a contact's own external address is no news */
			if (o->type != RT_CONTACT || mail_primary == NULL ||
			    strcmp(al.v[i], mail_primary) != 0)
				rules_warn(x, "%s: alias %s dropped: domain not "
					   "accepted", o->dn, al.v[i]);
			continue;
		}
		if (o->naliases + (o->primary != NULL) >= RULES_MAX_ALIASES) {
			rules_warn(x, "%s: more than %d addresses; %s and any "
				   "after it are dropped", o->dn,
				   RULES_MAX_ALIASES, al.v[i]);
			al.capped = false;
			break;
		}
		o->aliases[o->naliases++] = al.v[i];
	}
	if (al.capped)   /* values past the collecting bound, unread */
		rules_warn(x, "%s: more than %d address values; those after "
			   "the first %zu are dropped", o->dn,
			   2 * RULES_MAX_ALIASES, al.n);
	for (i = 0; i < nmv; i++)
		free(mv[i]);
	free(mv);
	free(al.v);
}

/*
 * A contact's external address from value v of attribute name (an
 * "SMTP:" prefix in any case allowed), malloc'd; NULL with a warning
 * naming the DN and the attribute when v is no address (a list of them,
 * another address type): a contact left without one is left out, and
 * the administrator must hear why, as for a user's bad mail.  name NULL:
 * the email attribute, whose bad values mail_values() warns about.
 */
static char *
contact_address(struct rules_ctx *x, const struct robj *o, const char *name,
		const char *v)
{
	size_t pl = proxy_prefix(v);
	const char *why;
	char *addr;

	if (pl > 0 && (pl != 5 || strncasecmp(v, "smtp:", 5) != 0)) {
		if (name != NULL)
			rules_warn(x, "%s: ignoring %s value '%s': not an "
				   "SMTP address", o->dn, name, v);
		return NULL;
	}
	addr = rules_norm_address_why(x->c, v + pl, &why);
	if (addr == NULL && name != NULL)
		rules_warn(x, "%s: ignoring %s value '%s': %s", o->dn, name, v,
			   why);
	return addr;
}

void
rules_map_contact(struct rules_ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	const char *t = rules_first(x->at[A_TARGETADDRESS]);
	const char *m = rules_first(x->at[A_EMAIL]);
	char *ext = NULL;
	size_t i, n = 0;

	if (t != NULL)
		ext = contact_address(x, o, "targetAddress", t);
	if (ext == NULL && m != NULL)
		ext = contact_address(x, o, NULL, m);
	o->external = rules_adup(x, ext);
	free(ext);
	/* the internal addresses are the contact's own "primary" + aliases */
	rules_map_addresses(x, o);
	if (o->primary != NULL && o->external != NULL &&
	    strcmp(o->primary, o->external) != 0 &&
	    rules_domain_accepted(c, o->primary)) {
		/* an internal SMTP: address: keep it as a forwarder */
		const char **al = arena_alloc(
			&x->tmp, (o->naliases + 1) * sizeof(char *));

		al[n++] = o->primary;
		for (i = 0; i < o->naliases; i++)
			al[n++] = o->aliases[i];
		o->aliases = al;
		o->naliases = n;
	}
	/* its own address as its target, in a domain of ours: nothing to
	 * forward to but itself (a user trial saw it dropped silently) */
	if (o->primary != NULL && o->external != NULL &&
	    strcmp(o->primary, o->external) == 0 &&
	    rules_domain_accepted(c, o->external))
		rules_warn(x, "%s: a contact whose target %s is its own "
			   "address, in an accepted domain: no forwarder is "
			   "made (it would loop); give it an external "
			   "targetAddress, or make it a mailbox", o->dn,
			   o->external);
	o->primary = NULL;  /* a contact is not a local recipient itself */
	n = 0;
	for (i = 0; i < o->naliases; i++)
		if (o->external == NULL ||
		    strcmp(o->aliases[i], o->external) != 0)
			o->aliases[n++] = o->aliases[i];
	o->naliases = n;
}

/* Everything in scope can be decided per entry except member_of. */

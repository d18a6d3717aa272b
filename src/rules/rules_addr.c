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

const char *
rules_display_name(struct rules_ctx *x)
{
	const char *dn = rules_first(x->at[A_DISPLAYNAME]);
	const char *g = rules_first(x->at[A_GIVENNAME]);
	const char *sn = rules_first(x->at[A_SN]);

	if (dn != NULL && *dn != '\0')
		return rules_adup(x, dn);
	if (g != NULL && sn != NULL) {
		size_t lg = strlen(g), ls = strlen(sn);
		char *s = arena_alloc(x->a, lg + ls + 2);

		memcpy(s, g, lg);
		s[lg] = ' ';
		memcpy(s + lg + 1, sn, ls + 1);
		return s;
	}
	/* SPEC: displayName, else "givenName sn", else cn */
	return rules_adup(x, rules_first(x->at[A_CN]));
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
void
rules_map_addresses(struct rules_ctx *x, struct robj *o)
{
	const struct conf *c = x->c;
	const char *mail = rules_first(x->at[A_EMAIL]);
	char *smtp_primary = NULL, *mail_primary = NULL;
	const char *al[MAX_ALIASES];
	size_t nal = 0, i, k;

	if (mail != NULL) {
		mail_primary = rules_norm_address(c, mail);
		if (mail_primary == NULL)
			rules_warn(x, "%s: ignoring %s value '%s': not an address",
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
				rules_warn(x, "%s: ignoring %s value '%s': not an "
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
				rules_warn(x, "%s: more than one SMTP: primary; "
				     "using %s, %s becomes an alias", o->dn,
				     smtp_primary, addr);
			if (!listed(al, nal, addr) && nal < MAX_ALIASES)
				al[nal++] = rules_adup(x, addr);
			free(addr);
		}
	}
	if (smtp_primary != NULL && mail_primary != NULL &&
	    strcmp(smtp_primary, mail_primary) != 0) {
		/* a contact's mail is its external address: no news */
		if (o->type != RT_CONTACT)
			rules_warn(x, "%s: SMTP: primary %s differs from %s %s; "
			     "using %s", o->dn, smtp_primary,
			     c->mapping.email_attribute, mail_primary,
			     smtp_primary);
		if (!listed(al, nal, mail_primary) && nal < MAX_ALIASES)
			al[nal++] = rules_adup(x, mail_primary);
	}
	if (smtp_primary != NULL) {
		o->primary = rules_adup(x, smtp_primary);
	} else if (mail_primary != NULL) {
		o->primary = rules_adup(x, mail_primary);
	} else if (!c->scope.mail_enabled_only && o->type == RT_USER) {
		const char *upn = rules_first(x->at[A_UPN]);
		char *addr = upn != NULL ? rules_norm_address(c, upn) : NULL;

		o->primary = rules_adup(x, addr);
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
		if (!rules_domain_accepted(c, al[i])) {
			/* a contact's own external address is no news */
			if (o->type != RT_CONTACT || mail_primary == NULL ||
			    strcmp(al[i], mail_primary) != 0)
				rules_warn(x, "%s: alias %s dropped: domain not "
				     "accepted", o->dn, al[i]);
			continue;
		}
		o->aliases[o->naliases++] = al[i];
	}
	free(mail_primary);
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
		ext = rules_norm_address(c, t + proxy_prefix(t));
	if (ext == NULL && m != NULL)
		ext = rules_norm_address(c, m + proxy_prefix(m));
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
	o->primary = NULL;  /* a contact is not a local recipient itself */
	n = 0;
	for (i = 0; i < o->naliases; i++)
		if (o->external == NULL ||
		    strcmp(o->aliases[i], o->external) != 0)
			o->aliases[n++] = o->aliases[i];
	o->naliases = n;
}

/* Everything in scope can be decided per entry except member_of. */

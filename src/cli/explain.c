/*
 * `dirsync explain WHO`: why an address, a DN or an account is (or is not)
 * in the mail system.  One read-only engine run, as `dirsync plan` does
 * it (nothing written, nothing recorded); then, for every directory
 * object WHO names: the object (DN, account, anchor), whether it is in
 * scope and which rule decided, its desired mail objects and the lists it
 * is a member of, what the mail database holds for it (rows, active,
 * whose), and what the next sync would do with it and why (the planned
 * changes and the conflicts that touch it).
 *
 * WHO is an address when it has an "@" and no "=", a DN when it has an
 * "=", else an account (sAMAccountName or uid); all compare without
 * regard to case, DNs as LDAP compares them (dn_normalize).
 *
 * Exit codes: 0 something matched, 1 nothing matched (or the run
 * failed), 2 usage or configuration.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "model/entry.h"
#include "report/report.h"
#include "source/source.h"
#include "util/buf.h"
#include "util/filter.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/xalloc.h"

/* Objects one WHO may name (an account in two domains, ...). */
#define MAX_SUBJECTS 16

/* One directory object explained, or an address nobody in it claims. */
struct subject {
	const char *anchor;           /* NULL: an address without owner */
	const char *dn, *account;     /* NULL when not known */
	const struct left_out *out;   /* the rules left it out */
	bool in_scope;                /* it has desired mail objects */
	/* a contact in scope whose only address is outside the accepted
	 * domains (rules_result.external): no mail object of its own */
	const char *external;
	const char *address;          /* WHO, when it is an address */
	const char *primary;          /* its mailbox's or list's address */
	const char **addrs;           /* every address it touches (malloc'd) */
	size_t naddrs, cap;
};

enum who_kind { WHO_ADDRESS, WHO_DN, WHO_ACCOUNT };

static enum who_kind
who_kind(const char *who)
{
	if (strchr(who, '=') != NULL)
		return WHO_DN;
	return strchr(who, '@') != NULL ? WHO_ADDRESS : WHO_ACCOUNT;
}

static bool
same_dn(const char *a, const char *nb)
{
	char *na;
	bool eq;

	if (a == NULL)
		return false;
	na = dn_normalize(a);
	eq = strcmp(na, nb) == 0;
	free(na);
	return eq;
}

/* Does the object (dn, account) match WHO? */
static bool
matches(enum who_kind k, const char *who, const char *nwho, const char *dn,
	const char *account)
{
	if (k == WHO_DN)
		return same_dn(dn, nwho);
	return k == WHO_ACCOUNT && account != NULL &&
	       strcasecmp(account, who) == 0;
}

static struct subject *
add_subject(struct subject *v, size_t *n, const char *anchor)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (anchor != NULL && v[i].anchor != NULL &&
		    strcmp(v[i].anchor, anchor) == 0)
			return &v[i];
	if (*n >= MAX_SUBJECTS)
		return NULL;
	memset(&v[*n], 0, sizeof(v[*n]));
	v[*n].anchor = anchor;
	return &v[(*n)++];
}

/* The objects WHO names: desired objects, left-out objects, rows. */
static size_t
find_subjects(const struct run_result *r, const char *who,
	      struct subject *v)
{
	const enum who_kind k = who_kind(who);
	char *nwho = k == WHO_DN ? dn_normalize(who) : xstrdup(who);
	const struct mset *d = &r->rules.desired;
	const char *key;
	void *val;
	size_t i, n = 0, it = 0;

	if (k == WHO_ADDRESS) {
		const struct mobj *w, *cur;
		const struct managed_rec *m;
		char *p;

		for (p = nwho; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		w = mset_get(d, nwho);
		cur = mset_get(&r->current, nwho);
		m = managed_get(&r->managed, nwho);
		if (w != NULL || cur != NULL || m != NULL) {
			struct subject *s = add_subject(
				v, &n,
				w != NULL && w->anchor	 ? w->anchor
				: m != NULL && m->anchor ? m->anchor
				: cur != NULL		 ? cur->anchor
							 : NULL);
			s->address = w != NULL	 ? w->address
				     : m != NULL ? m->address
						 : cur->address;
		}
		while (strmap_next(&r->rules.left_out, &it, &key, &val)) {
			const struct left_out *l = val;

			if (l->address != NULL && strcmp(l->address, nwho) == 0)
				add_subject(v, &n, key);
		}
		it = 0;
		while (strmap_next(&r->rules.external, &it, &key, &val)) {
			const struct left_out *l = val;

			if (strcmp(l->address, nwho) == 0)
				add_subject(v, &n, key);
		}
		for (i = 0; i < r->rules.nconflicts; i++) {
			const struct conflict *c = &r->rules.conflicts[i];
			size_t j;

			for (j = 0; strcmp(c->address, nwho) == 0 && j < c->n;
			     j++)
				add_subject(v, &n, c->claimed_by[j]);
		}
		free(nwho);
		return n;
	}
	for (i = 0; i < d->n; i++)
		if (d->v[i]->anchor != NULL &&
		    matches(k, who, nwho, d->v[i]->dn, d->v[i]->account))
			add_subject(v, &n, d->v[i]->anchor);
	while (strmap_next(&r->rules.left_out, &it, &key, &val)) {
		const struct left_out *l = val;

		if (matches(k, who, nwho, l->dn, l->account))
			add_subject(v, &n, key);
	}
	it = 0;
	while (strmap_next(&r->rules.external, &it, &key, &val)) {
		const struct left_out *l = val;

		if (matches(k, who, nwho, l->dn, l->account))
			add_subject(v, &n, key);
	}
	for (i = 0; i < r->rules.nconflicts; i++) {
		const struct conflict *c = &r->rules.conflicts[i];
		size_t j;

		for (j = 0; j < c->n; j++)
			if (matches(k, who, nwho, c->dns[j], c->accounts[j]))
				add_subject(v, &n, c->claimed_by[j]);
	}
	free(nwho);
	return n;
}

static void
add_addr(struct subject *s, const char *a)
{
	size_t i;

	for (i = 0; i < s->naddrs; i++)
		if (strcmp(s->addrs[i], a) == 0)
			return;
	s->addrs = xgrow(s->addrs, &s->cap, s->naddrs + 1, sizeof(*s->addrs));
	s->addrs[s->naddrs++] = a;
}

/* DN, account, scope, and every address the object touches. */
static void
fill_subject(const struct run_result *r, struct subject *s)
{
	const struct mset *d = &r->rules.desired;
	const struct left_out *ext;
	size_t i, j;

	if (s->address != NULL)
		add_addr(s, s->address);
	if (s->anchor == NULL)
		return;
	s->out = strmap_get(&r->rules.left_out, s->anchor);
	ext = strmap_get(&r->rules.external, s->anchor);
	if (ext != NULL) {
		s->in_scope = true;
		s->dn = ext->dn;
		s->account = ext->account;
		s->external = s->primary = ext->address;
	}
	if (s->out != NULL) {
		s->dn = s->out->dn;
		s->account = s->out->account;
		s->primary = s->out->address;  /* lists may still have it */
	}
	for (i = 0; i < d->n; i++) {
		const struct mobj *w = d->v[i];

		if (w->anchor == NULL || strcmp(w->anchor, s->anchor) != 0)
			continue;
		s->in_scope = true;
		s->dn = w->dn;
		s->account = w->account;
		if (w->kind == MK_MAILBOX || w->kind == MK_LIST)
			s->primary = w->address;
		add_addr(s, w->address);
	}
	for (i = 0; i < r->rules.nconflicts; i++) {
		const struct conflict *c = &r->rules.conflicts[i];

		for (j = 0; j < c->n; j++)
			if (strcmp(c->claimed_by[j], s->anchor) == 0) {
				s->in_scope = true;
				s->dn = c->dns[j];
				s->account = c->accounts[j];
				add_addr(s, c->address);
			}
	}
	for (i = 0; i < r->managed.n; i++) {
		const struct managed_rec *m = &r->managed.v[i];

		if (m->anchor != NULL && strcmp(m->anchor, s->anchor) == 0)
			add_addr(s, m->address);
	}
}

static bool
has_addr(const struct subject *s, const char *a)
{
	size_t i;

	for (i = 0; a != NULL && i < s->naddrs; i++)
		if (strcmp(s->addrs[i], a) == 0)
			return true;
	return false;
}

/* Is addr one of the comma-separated addresses of g? */
static bool
goto_has(const char *g, const char *addr)
{
	size_t n;

	if (g == NULL || addr == NULL)
		return false;
	n = strlen(addr);
	for (;;) {
		if (strncmp(g, addr, n) == 0 && (g[n] == ',' || g[n] == '\0'))
			return true;
		if ((g = strchr(g, ',')) == NULL)
			return false;
		g++;
	}
}

static size_t
goto_count(const char *g)
{
	size_t n = *g != '\0';

	for (; *g != '\0'; g++)
		n += *g == ',';
	return n;
}

/* Does this planned change touch the subject? */
static bool
change_touches(const struct subject *s, const struct change *ch)
{
	if (s->anchor != NULL && ch->anchor != NULL &&
	    strcmp(ch->anchor, s->anchor) == 0)
		return true;
	if (has_addr(s, ch->address) || has_addr(s, ch->old_address))
		return true;
	/* a list that gains or loses it */
	return ch->kind == MK_LIST && s->primary != NULL &&
	       goto_has(ch->gotos, s->primary) !=
		       goto_has(ch->old_gotos, s->primary);
}

static bool
clash_touches(const struct subject *s, const struct plan_clash *c)
{
	return has_addr(s, c->address) ||
	       (s->anchor != NULL &&
		((c->anchor != NULL && strcmp(c->anchor, s->anchor) == 0) ||
		 (c->other != NULL && strcmp(c->other, s->anchor) == 0)));
}

static bool
conflict_touches(const struct subject *s, const struct conflict *c)
{
	size_t j;

	if (has_addr(s, c->address))
		return true;
	for (j = 0; s->anchor != NULL && j < c->n; j++)
		if (strcmp(c->claimed_by[j], s->anchor) == 0)
			return true;
	return false;
}

static void
fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;

	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", gmtime(&tt));
}

/* ---- text ---------------------------------------------------------- */

static void
text_scope(const struct conf *c, const struct subject *s)
{
	size_t i;

	if (s->anchor == NULL) {
		printf("  scope     no directory object in the read has this "
		       "address\n");
	} else if (s->external != NULL) {
		printf("  scope     in scope: a contact forwarding to %s, "
		       "outside the accepted domains: no row of its own; "
		       "lists name that address\n", s->external);
	} else if (s->in_scope) {
		printf("  scope     in scope\n");
	} else if (s->out != NULL && s->out->plain_group) {
		printf("  scope     a group without a mail address: never a "
		       "list; it still counts for nesting and member_of\n");
	} else if (s->out != NULL) {
		printf("  scope     left out: %s\n",
		       leave_reason_text(s->out->why));
		if (s->out->detail != NULL)
			printf("            rule: %s\n", s->out->detail);
		if (s->out->why == LR_NOT_MEMBER)
			for (i = 0; i < c->scope.member_of.n; i++)
				printf("            member_of %s\n",
				       c->scope.member_of.v[i]);
	} else {
		printf("  scope     %s\n", leave_reason_text(LR_NOT_READ));
	}
}

static void
text_desired(const struct run_result *r, const struct subject *s)
{
	const struct mset *d = &r->rules.desired;
	size_t i, n = 0;

	for (i = 0; s->anchor != NULL && i < d->n; i++) {
		const struct mobj *w = d->v[i];

		if (w->anchor == NULL || strcmp(w->anchor, s->anchor) != 0)
			continue;
		printf("  wants     %-8s %s%s%s%s\n", mkind_name(w->kind),
		       w->address, w->name ? " name=\"" : "",
		       w->name ? w->name : "", w->name ? "\"" : "");
		if (w->gotos != NULL && w->kind == MK_LIST)
			printf("            -> %zu members\n",
			       goto_count(w->gotos));
		else if (w->gotos != NULL)
			printf("            -> %s\n", w->gotos);
		n++;
	}
	for (i = 0; s->primary != NULL && i < d->n; i++)
		if (d->v[i]->kind == MK_LIST &&
		    goto_has(d->v[i]->gotos, s->primary)) {
			printf("  member of %s\n", d->v[i]->address);
			n++;
		}
	if (n == 0)
		printf("  wants     no mail object\n");
}

static void
text_row(const struct run_result *r, const struct subject *s,
	 const char *addr)
{
	const struct mobj *cur = mset_get(&r->current, addr);
	const struct managed_rec *m = managed_get(&r->managed, addr);
	char when[32];

	if (cur == NULL)
		return;
	/* the row as it is: a self-alias left behind by a mailbox row
	 * deleted by hand is an alias row (a user trial read "mailbox") */
	printf("  target    %-8s %s, %s",
	       m != NULL && (m->kind == MK_MAILBOX) == (cur->kind == MK_MAILBOX)
		       ? mkind_name(m->kind)
		       : mkind_name(cur->kind),
	       mset_stored(&r->current, cur) != NULL
		       ? mset_stored(&r->current, cur)
		       : cur->address,
	       cur->active ? "active" : "inactive");
	if (m != NULL && m->kind == MK_MAILBOX && cur->kind != MK_MAILBOX)
		printf(" (the mailbox row is gone, deleted outside dirsync)");
	if (m == NULL) {
		printf(", not managed by dirsync\n");
		return;
	}
	if (s->anchor != NULL && m->anchor != NULL &&
	    strcmp(m->anchor, s->anchor) == 0)
		printf(", managed by dirsync for this object");
	else
		printf(", managed by dirsync for %s",
		       m->anchor ? m->anchor : "no anchor");
	if (m->disabled_at > 0) {
		fmt_time(m->disabled_at, when, sizeof(when));
		printf(", disabled %s", when);
	}
	putchar('\n');
}

static void
text_next(const struct run_result *r, const struct subject *s)
{
	size_t i, j, n = 0;

	for (i = 0; r->have_plan && i < r->plan.n; i++)
		if (change_touches(s, &r->plan.v[i])) {
			if (n++ == 0)
				printf("  next sync\n");
			fputs("  ", stdout);
			report_print_change(stdout, &r->plan.v[i], false);
		}
	for (i = 0; i < r->rules.nconflicts; i++) {
		const struct conflict *c = &r->rules.conflicts[i];

		if (!conflict_touches(s, c))
			continue;
		n++;
		printf("  conflict  %s is claimed by:", c->address);
		for (j = 0; j < c->n; j++)
			printf("%s %s (%s, %s)", j ? "," : "", c->claimed_by[j],
			       c->accounts[j] ? c->accounts[j] : "?",
			       c->dns[j] ? c->dns[j] : "?");
		printf("; nobody gets it, the mail database is left as it "
		       "is\n");
	}
	for (i = 0; r->have_plan && i < r->plan.nclashes; i++) {
		const struct plan_clash *c = &r->plan.clashes[i];

		if (!clash_touches(s, c))
			continue;
		n++;
		printf("  conflict  %s: %s", c->address, c->reason);
		if (c->other != NULL)
			printf(" (%s: %s, %s)", c->other,
			       c->other_account ? c->other_account : "?",
			       c->other_dn ? c->other_dn : "not read");
		putchar('\n');
	}
	if (n == 0)
		printf("  next sync nothing to change\n");
}

static void
text_subject(const struct conf *c, const struct run_result *r,
	     const struct subject *s)
{
	size_t i;

	if (s->anchor != NULL)
		printf("object    %s\n  account   %s\n  anchor    %s\n",
		       s->dn ? s->dn : "(not in the directory read)",
		       s->account ? s->account : "-", s->anchor);
	else
		printf("address   %s\n", s->address);
	text_scope(c, s);
	text_desired(r, s);
	for (i = 0; i < s->naddrs; i++)
		text_row(r, s, s->addrs[i]);
	text_next(r, s);
}

/* ---- JSON ---------------------------------------------------------- */

static json_t *
jstr_or_null(const char *v)
{
	return v != NULL ? json_string(v) : json_null();
}

static json_t *
json_scope(const struct subject *s)
{
	const char *key = s->in_scope	 ? "in_scope"
			  : s->out != NULL ? leave_reason_key(s->out->why)
			  : s->anchor != NULL
				  ? leave_reason_key(LR_NOT_READ)
				  : "no_object";

	return json_pack("{s:b, s:s, s:o, s:o}", "in_scope", s->in_scope,
			 "reason", key, "rule",
			 jstr_or_null(s->out ? s->out->detail : NULL),
			 "external", jstr_or_null(s->external));
}

static json_t *
json_mail(const struct run_result *r, const struct subject *s)
{
	const struct mset *d = &r->rules.desired;
	json_t *want = json_array(), *lists = json_array();
	json_t *rows = json_array();
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct mobj *w = d->v[i];

		if (s->anchor != NULL && w->anchor != NULL &&
		    strcmp(w->anchor, s->anchor) == 0)
			json_array_append_new(
				want, json_pack("{s:s, s:s, s:o, s:o}", "kind",
						mkind_name(w->kind), "address",
						w->address, "name",
						jstr_or_null(w->name), "goto",
						jstr_or_null(w->gotos)));
		if (s->primary != NULL && w->kind == MK_LIST &&
		    goto_has(w->gotos, s->primary))
			json_array_append_new(lists, json_string(w->address));
	}
	for (i = 0; i < s->naddrs; i++) {
		const struct mobj *cur = mset_get(&r->current, s->addrs[i]);
		const struct managed_rec *m =
			managed_get(&r->managed, s->addrs[i]);

		if (cur == NULL)
			continue;
		json_array_append_new(
			rows,
			json_pack("{s:s, s:s, s:b, s:b, s:o, s:I}", "address",
				  cur->address, "kind",
				  mkind_name(m ? m->kind : cur->kind),
				  "active", cur->active, "managed", m != NULL,
				  "owner", jstr_or_null(m ? m->anchor : NULL),
				  "disabled_at",
				  (json_int_t)(m ? m->disabled_at : 0)));
	}
	return json_pack("{s:o, s:o, s:o}", "desired", want, "member_of",
			 lists, "target", rows);
}

static json_t *
json_subject(const struct run_result *r, const struct subject *s)
{
	json_t *o = json_mail(r, s), *changes = json_array();
	json_t *conflicts = json_array();
	size_t i;

	json_object_set_new(o, "anchor", jstr_or_null(s->anchor));
	json_object_set_new(o, "dn", jstr_or_null(s->dn));
	json_object_set_new(o, "account", jstr_or_null(s->account));
	if (s->address != NULL)
		json_object_set_new(o, "address", json_string(s->address));
	json_object_set_new(o, "scope", json_scope(s));
	for (i = 0; r->have_plan && i < r->plan.n; i++)
		if (change_touches(s, &r->plan.v[i]))
			json_array_append_new(
				changes, report_change_json(&r->plan.v[i]));
	json_object_set_new(o, "changes", changes);
	/* the run report's conflicts (claimants named) that touch it */
	for (i = 0; i < r->rules.nconflicts; i++)
		if (conflict_touches(s, &r->rules.conflicts[i]))
			json_array_append(
				conflicts,
				json_array_get(json_object_get(r->report,
							       "conflicts"),
					       i));
	for (i = 0; r->have_plan && i < r->plan.nclashes; i++)
		if (clash_touches(s, &r->plan.clashes[i]))
			json_array_append(
				conflicts,
				json_array_get(
					json_object_get(r->report,
							"conflicts"),
					r->rules.nconflicts + i));
	json_object_set_new(o, "conflicts", conflicts);
	return o;
}

/* ---- an entry the read leaves out ------------------------------------ */

/* At most this many entries outside the filter are named. */
#define MAX_OUTSIDE 8

/* The entries a read without the [source] filter finds for WHO. */
struct outside {
	const struct conf *c;
	enum who_kind kind;
	const char *who;
	char *nwho;                   /* DN kind: dn_normalize(who) */
	struct {
		char *dn, *origin;
		bool no_class;        /* it has no objectClass at all */
	} v[MAX_OUTSIDE];
	size_t n, more;
};

/* Is one of a's values WHO, as an address (proxyAddresses: "smtp:")? */
static bool
has_address(const struct attr *a, const char *who)
{
	size_t i;

	for (i = 0; a != NULL && i < a->nvals; i++) {
		const char *v = a->vals[i].p, *colon = strchr(v, ':');

		if (colon != NULL && strchr(v, '@') > colon)
			v = colon + 1;   /* "smtp:", "SMTP:", "x500:..." */
		if (strcasecmp(v, who) == 0)
			return true;
	}
	return false;
}

static bool
has_value(const struct attr *a, const char *who)
{
	size_t i;

	for (i = 0; a != NULL && i < a->nvals; i++)
		if (strcasecmp(a->vals[i].p, who) == 0)
			return true;
	return false;
}

static int
outside_entry(void *ctx, const struct entry *e, struct err *err)
{
	struct outside *o = ctx;
	const struct conf *c = o->c;
	bool hit = false;
	size_t i;

	(void)err;
	switch (o->kind) {
	case WHO_DN:
		hit = same_dn(e->dn, o->nwho);
		break;
	case WHO_ADDRESS:
		hit = has_address(entry_attr(e, "mail"), o->who) ||
		      has_address(entry_attr(e, "proxyAddresses"), o->who) ||
		      has_address(entry_attr(e, c->mapping.email_attribute),
				  o->who);
		for (i = 0; !hit && i < c->mapping.alias_attributes.n; i++)
			hit = has_address(
				entry_attr(e, c->mapping.alias_attributes.v[i]),
				o->who);
		break;
	case WHO_ACCOUNT:
		hit = has_value(entry_attr(e, "sAMAccountName"), o->who) ||
		      has_value(entry_attr(e, "uid"), o->who);
		break;
	}
	if (!hit)
		return 0;
	if (o->n == MAX_OUTSIDE) {
		o->more++;
		return 0;
	}
	o->v[o->n].dn = xstrdup(e->dn);
	o->v[o->n].origin = e->origin != NULL ? xstrdup(e->origin) : NULL;
	o->v[o->n].no_class = entry_attr(e, "objectClass") == NULL;
	o->n++;
	return 0;
}

/* An LDAP filter naming WHO where the server can match it (malloc'd). */
static char *
outside_filter(const struct conf *c, enum who_kind kind, const char *who,
	       bool ad)
{
	char *esc = filter_escape(who);
	struct buf b = BUF_INIT;
	size_t i;

	switch (kind) {
	case WHO_DN:
		/* AD has no entryDN, slapd no distinguishedName */
		buf_printf(&b, "(%s=%s)", ad ? "distinguishedName" : "entryDN",
			   esc);
		break;
	case WHO_ADDRESS:
		buf_printf(&b, "(|(mail=%s)(proxyAddresses=smtp:%s)", esc,
			   esc);
		if (c->mapping.email_attribute != NULL)
			buf_printf(&b, "(%s=%s)", c->mapping.email_attribute,
				   esc);
		for (i = 0; i < c->mapping.alias_attributes.n; i++)
			buf_printf(&b, "(%s=%s)",
				   c->mapping.alias_attributes.v[i], esc);
		buf_addc(&b, ')');
		break;
	case WHO_ACCOUNT:
		buf_printf(&b, "(|(sAMAccountName=%s)(uid=%s))", esc, esc);
		break;
	}
	free(esc);
	return buf_steal(&b);
}

/*
 * WHO named nothing the run read: is it in the directory all the same,
 * left out by the [source] filter (a computer, a class the filter does
 * not take, an entry without objectClass)?  A read without the filter:
 * narrowed to WHO by the server (LDAP), or the whole file matched here
 * (LDIF).  0 with o filled (o->n 0: not there either), -1 when the
 * source cannot be read (a debug line; the answer stays "nothing").
 */
static int
outside_read(const struct conf *c, const char *who, struct outside *o)
{
	static const char *const all[] = {"*", NULL};
	const struct source_ops *sops = source_ops_for(c);
	struct source_info info;
	struct source *src = NULL;
	struct err err;
	char buf[1400], *filter;
	int rc;

	memset(&info, 0, sizeof(info));
	err_clear(&err);
	if (sops->open(&src, c, &info, &err) != 0) {
		log_debug("explain: %s", err_fmt(&err, buf, sizeof(buf)));
		return -1;
	}
	filter = c->source.type == SRC_LDIF
			 ? xstrdup("(objectClass=*)")
			 : outside_filter(c, o->kind, who,
					  strcmp(info.flavor, "ad") == 0);
	rc = sops->read(src, filter, all, outside_entry, o, &err);
	if (rc != 0)
		log_debug("explain: %s", err_fmt(&err, buf, sizeof(buf)));
	sops->close(src);
	free(filter);
	return rc != 0 ? -1 : 0;
}

static void
outside_free(struct outside *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		free(o->v[i].dn);
		free(o->v[i].origin);
	}
	free(o->nwho);
}

/* ---- the command ---------------------------------------------------- */

static int
parse_args(int argc, char **argv, bool *json, const char **who)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j') {
			log_err("explain: unknown option '%s' (see dirsync "
				"--help)", argv[optind - 1]);
			return 2;
		}
		*json = true;
	}
	if (optind + 1 != argc) {
		log_err("explain: give one address, DN or account name "
			"(dirsync explain WHO [--json])");
		return 2;
	}
	*who = argv[optind];
	return **who != '\0' ? 0 : 2;
}

static int
explain_run(const struct conf *c, const char *who, bool json)
{
	struct subject subs[MAX_SUBJECTS];
	struct outside out;
	struct engine_opts eo;
	struct run_result r;
	size_t i, n = 0;
	char buf[1400];
	int rc = 1;

	memset(&eo, 0, sizeof(eo));
	eo.mode = "plan";
	eo.readonly = true;
	eo.quiet = true;
	eo.report_max_changes = 0;
	progress_quiet(true);
	engine_run(c, &eo, &r);
	if (!r.have_plan) {
		log_err("explain: %s", err_fmt(&r.err, buf, sizeof(buf)));
		goto done;
	}
	n = find_subjects(&r, who, subs);
	for (i = 0; i < n; i++)
		fill_subject(&r, &subs[i]);
	memset(&out, 0, sizeof(out));
	if (n == 0) {
		out.c = c;
		out.who = who;
		out.kind = who_kind(who);
		if (out.kind == WHO_DN)
			out.nwho = dn_normalize(who);
		outside_read(c, who, &out);
	}
	if (json) {
		json_t *arr = json_array(), *o, *left = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_subject(&r, &subs[i]));
		for (i = 0; i < out.n; i++)
			json_array_append_new(
				left, json_pack("{s:s, s:s?, s:b}", "dn",
						out.v[i].dn, "origin",
						out.v[i].origin,
						"no_object_class",
						out.v[i].no_class));
		o = json_pack("{s:s, s:o, s:o, s:o}", "who", who, "found",
			      json_boolean(n > 0), "objects", arr,
			      "outside_filter", left);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
	} else if (n == 0 && out.n > 0) {
		printf("%s: not read by dirsync: the [source] filter leaves "
		       "out what the directory has for it\n  filter %s\n",
		       who, source_effective_filter(c, &r.info));
		for (i = 0; i < out.n; i++) {
			printf("  %s", out.v[i].dn);
			if (out.v[i].origin != NULL)
				printf(" (%s)", out.v[i].origin);
			puts(out.v[i].no_class ? ": it has no objectClass"
					       : "");
		}
		if (out.more > 0)
			printf("  ... and %zu more\n", out.more);
	} else if (n == 0) {
		printf("%s: nothing in the directory read or in the mail "
		       "database matches (an address, a DN or an account "
		       "name)\n", who);
	}
	outside_free(&out);
	for (i = 0; !json && i < n; i++)
		text_subject(c, &r, &subs[i]);
	if (!json && n > 0 && r.limit.limit != NULL)
		printf("note: the next sync stops at safety limit %s "
		       "(allowed %ld, planned %ld) and applies nothing\n",
		       r.limit.limit, r.limit.allowed, r.limit.planned);
	rc = n > 0 ? 0 : 1;
	for (i = 0; i < n; i++)
		free(subs[i].addrs);
done:
	run_result_free(&r);
	return rc;
}

int
cmd_explain(const struct cli_globals *g, int argc, char **argv)
{
	const char *who = NULL;
	bool json = false;
	struct conf c;
	int rc;

	if ((rc = parse_args(argc, argv, &json, &who)) != 0)
		return rc;
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	rc = explain_run(&c, who, json);
	conf_free(&c);
	return rc;
}

#include "passwd/pwdir.h"

#include <stdlib.h>
#include <string.h>

#include "model/entry.h"
#include "rules/rules.h"
#include "source/source.h"
#include "util/buf.h"
#include "util/filter.h"
#include "util/xalloc.h"

struct pw_dir {
	const struct source_ops *ops;
	struct source *src;
	const struct conf *c;
};

int
pw_dir_open(struct pw_dir **out, const struct conf *c, struct err *err)
{
	struct pw_dir *d = xcalloc(1, sizeof(*d));
	struct source_info info;

	*out = NULL;
	memset(&info, 0, sizeof(info));
	d->ops = source_ops_for(c);
	err_where(err, "open source");
	if (d->ops->open(&d->src, c, &info, err) != 0) {
		free(d);
		return -1;
	}
	err_clear(err);
	d->c = c;
	*out = d;
	return 0;
}

static const char *
first_val(const struct entry *e, const char *name)
{
	const struct attr *a = entry_attr(e, name);

	return a != NULL && a->nvals > 0 ? a->vals[0].p : NULL;
}

static int
on_entry(void *ctx, const struct entry *e, struct err *err)
{
	struct pw_account *a = ctx;
	const char *ch;
	char *ndn;

	if (++a->matches > 1)
		return 0;
	ndn = dn_normalize(e->dn);
	a->anchor = rules_anchor(e, ndn);
	free(ndn);
	a->dn = xstrdup(e->dn);
	ch = first_val(e, "pwdLastSet");
	if (ch == NULL)
		ch = first_val(e, "pwdChangedTime");
	a->changed = xstrdup(ch != NULL ? ch : "");
	return 0;
}

int
pw_dir_lookup(struct pw_dir *d, const char *who, struct pw_account *a,
	      struct err *err)
{
	static const char *const attrs[] = {
		"objectGUID", "entryUUID", "nsUniqueId", "pwdLastSet",
		"pwdChangedTime", NULL,
	};
	char *esc = filter_escape(who), *filter;
	struct buf f = BUF_INIT;
	size_t i;
	int rc;

	memset(a, 0, sizeof(*a));
	/*
	 * Whatever the flavor (auto finds none in an LDIF file): every
	 * name `dirsync explain` knows an account by, an attribute the
	 * directory lacks matching nothing.  Persons only: not computers
	 * (AD users too) nor contacts (persons in AD), nor groups.
	 */
	buf_printf(&f, "(&(|(objectClass=user)(objectClass=person)"
		   "(objectClass=inetOrgPerson)(objectClass=posixAccount))"
		   "(!(objectClass=computer))(!(objectClass=contact))"
		   "(|(sAMAccountName=%s)(uid=%s)(userPrincipalName=%s)"
		   "(%s=%s)", esc, esc, esc, d->c->mapping.email_attribute,
		   esc);
	for (i = 0; i < d->c->mapping.alias_attributes.n; i++)
		buf_printf(&f, "(%s=%s)(%s=smtp:%s)",
			   d->c->mapping.alias_attributes.v[i], esc,
			   d->c->mapping.alias_attributes.v[i], esc);
	buf_printf(&f, "))");
	filter = buf_steal(&f);
	rc = d->ops->read(d->src, filter, attrs, on_entry, a, err);
	free(filter);
	free(esc);
	if (rc != 0) {
		pw_account_free(a);
		return -1;
	}
	a->found = a->matches == 1;
	if (!a->found) {
		free(a->dn);
		free(a->anchor);
		free(a->changed);
		a->dn = a->anchor = a->changed = NULL;
	}
	return 0;
}

void
pw_account_free(struct pw_account *a)
{
	free(a->dn);
	free(a->anchor);
	free(a->changed);
	memset(a, 0, sizeof(*a));
}

void
pw_dir_close(struct pw_dir *d)
{
	if (d == NULL)
		return;
	if (d->src != NULL)
		d->ops->close(d->src);
	free(d);
}

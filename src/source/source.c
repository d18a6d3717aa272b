#include "source/source.h"

#include <string.h>
#include <strings.h>

#include "util/filter.h"

const struct source_ops *
source_ops_for(const struct conf *conf)
{
	return conf->source.type == SRC_LDIF ? &source_ldif_ops
					     : &source_ldap_ops;
}

const char *
source_default_filter(const char *flavor)
{
	if (flavor != NULL && strcmp(flavor, "ad") == 0)
		return "(&(|(objectClass=user)(objectClass=group)"
		       "(objectClass=contact))(!(objectClass=computer)))";
	if (flavor != NULL && strcmp(flavor, "openldap") == 0)
		return "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames)"
		       "(objectClass=groupOfUniqueNames)(objectClass=contact))";
	/* LDIF exports and unknown servers: everything either would take */
	return "(&(|(objectClass=user)(objectClass=inetOrgPerson)"
	       "(objectClass=group)(objectClass=groupOfNames)"
	       "(objectClass=groupOfUniqueNames)(objectClass=contact))"
	       "(!(objectClass=computer)))";
}

const char *
source_effective_filter(const struct conf *conf,
			const struct source_info *info)
{
	const char *flavor = conf->source.flavor == FLAVOR_AD ? "ad"
			     : conf->source.flavor == FLAVOR_OPENLDAP
				     ? "openldap"
				     : info->flavor;

	if (conf->source.filter != NULL && *conf->source.filter)
		return conf->source.filter;
	return source_default_filter(flavor);
}

/* Attributes a server keeps up to date on an entry behind its back. */
static const char *const backlink_attrs[] = {"memberOf", "isMemberOf", NULL};

static const char *
filter_backlink(const char *text)
{
	const char *fa[64];
	struct filter *f;
	struct err err;
	size_t n, i, k;

	err_clear(&err);
	if (text == NULL || *text == '\0' ||
	    (f = filter_parse(text, &err)) == NULL)
		return NULL;
	n = filter_attrs(f, fa, sizeof(fa) / sizeof(fa[0]));
	for (i = 0; i < n; i++)
		for (k = 0; backlink_attrs[k] != NULL; k++)
			if (strcasecmp(fa[i], backlink_attrs[k]) == 0) {
				filter_free(f);
				return backlink_attrs[k];
			}
	filter_free(f);
	return NULL;
}

const char *
source_backlink_attr(const struct conf *conf, const char *filter)
{
	const char *a = filter_backlink(filter);

	return a != NULL ? a : filter_backlink(conf->mapping.group_filter);
}

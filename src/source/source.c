#include "source/source.h"

#include <string.h>
#include <strings.h>

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

/*
 * By text, not through filter_parse(): the server evaluates [source]
 * filter, which may use what our evaluator lacks (AD's
 * LDAP_MATCHING_RULE_IN_CHAIN).  In RFC 4515 text an attribute
 * description always follows "(" (a "(" in a value is escaped as \28)
 * and is followed by a filter type or ":" (extensible match).
 */
static const char *
filter_backlink(const char *text)
{
	const char *p;
	size_t k, len;

	for (p = text; p != NULL && (p = strchr(p, '(')) != NULL; p++) {
		for (k = 0; backlink_attrs[k] != NULL; k++) {
			len = strlen(backlink_attrs[k]);
			if (strncasecmp(p + 1, backlink_attrs[k], len) == 0 &&
			    strchr("=~<>:", p[1 + len]) != NULL &&
			    p[1 + len] != '\0')
				return backlink_attrs[k];
		}
	}
	return NULL;
}

const char *
source_backlink_attr(const struct conf *conf, const char *filter)
{
	const char *a = filter_backlink(filter);

	return a != NULL ? a : filter_backlink(conf->mapping.group_filter);
}

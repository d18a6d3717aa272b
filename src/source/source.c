#include "source/source.h"

#include <string.h>

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

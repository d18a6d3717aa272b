#include "source/source.h"

#include <stdbool.h>
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

/*
 * Attributes a server keeps up to date on an entry behind its back, by
 * name and by OID (a filter may name either, RFC 4512 2.5):
 *   memberOf    1.2.840.113556.1.2.102 (AD's schema; slapd's memberof
 *               overlay and 389 DS's memberOf plug-in use the same OID)
 *   isMemberOf  1.3.6.1.4.1.42.2.27.9.1.792 (Sun DS, OpenDJ, Oracle
 *               DSEE) and 1.3.6.1.4.1.5923.1.5.1.1 (Internet2's eduMember
 *               schema, used with Grouper); Debian's slapd and 389 DS
 *               ship no isMemberOf.
 */
static const struct {
	const char *name;
	const char *const oids[3];
} backlink_attrs[] = {
	{"memberOf", {"1.2.840.113556.1.2.102", NULL, NULL}},
	{"isMemberOf",
	 {"1.3.6.1.4.1.42.2.27.9.1.792", "1.3.6.1.4.1.5923.1.5.1.1", NULL}},
};

/*
 * p names `word` (ASCII case ignored) as a whole attribute description:
 * what follows is options (";range=0-9", ";binary") or a filter type
 * (=, ~=, <=, >=) or ":" (an extensible match).
 */
static bool
names_attr(const char *p, const char *word)
{
	size_t len = strlen(word);

	return strncasecmp(p, word, len) == 0 && p[len] != '\0' &&
	       strchr(";=~<>:", p[len]) != NULL;
}

/*
 * By text, not through filter_parse(): the server evaluates [source]
 * filter, which may use what our evaluator lacks (AD's
 * LDAP_MATCHING_RULE_IN_CHAIN, "memberOf:1.2.840.113556.1.4.1941:=").
 * In RFC 4515 text an attribute description always follows "(" (a "("
 * in a value is escaped as \28) and is followed by options, a filter
 * type or ":" (extensible match).
 */
static const char *
filter_backlink(const char *text)
{
	const char *p;
	size_t k, o;

	for (p = text; p != NULL && (p = strchr(p, '(')) != NULL; p++)
		for (k = 0; k < sizeof(backlink_attrs) /
				    sizeof(backlink_attrs[0]); k++) {
			if (names_attr(p + 1, backlink_attrs[k].name))
				return backlink_attrs[k].name;
			for (o = 0; backlink_attrs[k].oids[o] != NULL; o++)
				if (names_attr(p + 1,
					       backlink_attrs[k].oids[o]))
					return backlink_attrs[k].name;
		}
	return NULL;
}

const char *
source_backlink_attr(const struct conf *conf, const char *filter)
{
	const char *a = filter_backlink(filter);

	return a != NULL ? a : filter_backlink(conf->mapping.group_filter);
}

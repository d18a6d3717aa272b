/*
 * rules_profile.c - a user's further directory attributes, for a target
 * that carries them (SPEC, "SCIM 2.0 target": the attribute table; today
 * `[target] type = scim` only, so an SQL run reads and keeps nothing
 * more than before).
 *
 * The result is mobj.attrs: a compact JSON object, directory attribute
 * name -> the attribute's first value, keys sorted, so that the planner
 * compares two of them as strings.  The target maps the names to its own
 * (scim_json.c); displayName and userAccountControl are not here: they
 * are the mailbox's name and active already.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rules_int.h"

/* Longest value kept; a longer one is left out with a warning. */
#define PROFILE_VALUE_MAX 1024

const char *const rules_profile_attrs[RULES_NPROFILE_ATTRS + 1] = {
	"givenName", "sn", "initials", "generationQualifier", "title",
	"telephoneNumber", "mobile", "pager", "homePhone",
	"facsimileTelephoneNumber", "streetAddress", "l", "st", "postalCode",
	"co", "physicalDeliveryOfficeName", "employeeID", "employeeType",
	"department", "company", NULL,
};

bool
rules_profile_wanted(const struct conf *c)
{
	return c->target.type == TGT_SCIM;
}

/* The attribute's canonical name when it is one of the table's. */
static const char *
profile_name(const char *attr)
{
	size_t i;

	for (i = 0; rules_profile_attrs[i] != NULL; i++)
		if (strcasecmp(rules_profile_attrs[i], attr) == 0)
			return rules_profile_attrs[i];
	return NULL;
}

const char *
rules_profile(struct rules_ctx *x, const struct entry *e)
{
	json_t *o;
	const char *r = NULL;
	char *s;
	size_t i;

	if (!rules_profile_wanted(x->c))
		return NULL;
	o = json_object();
	for (i = 0; i < e->nattrs; i++) {
		const struct attr *a = &e->attrs[i];
		const char *name = profile_name(a->name);
		json_t *v;

		if (name == NULL || a->nvals == 0 || a->vals[0].len == 0 ||
		    json_object_get(o, name) != NULL)
			continue;
		if (a->vals[0].len > PROFILE_VALUE_MAX ||
		    memchr(a->vals[0].p, '\0', a->vals[0].len) != NULL ||
		    (v = json_stringn(a->vals[0].p, a->vals[0].len)) == NULL) {
			rules_warn(x, "%s: %s is not sent (longer than %d "
				   "bytes, or not UTF-8)", e->dn, name,
				   PROFILE_VALUE_MAX);
			continue;
		}
		json_object_set_new(o, name, v);
	}
	if (json_object_size(o) > 0 &&
	    (s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT)) != NULL) {
		r = arena_strdup(x->a, s);
		free(s);
	}
	json_decref(o);
	return r;
}

/*
 * scim_json.c - SCIM resources <-> the SCIM target's records, and the
 * request bodies, with jansson.  See scim_json.h for the mapping.
 */
#include "target/scim_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static char *
lower_dup(const char *s)
{
	char *d = xstrdup(s);
	char *p;

	for (p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static char *
str_dup_or_null(const json_t *j)
{
	return json_is_string(j) ? xstrdup(json_string_value(j)) : NULL;
}

void
scim_res_clear(struct scim_res *r)
{
	size_t i;

	free(r->id);
	free(r->version);
	free(r->key);
	free(r->external_id);
	free(r->name);
	free(r->attrs);
	for (i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

bool
scim_res_has(const struct scim_res *r, const char *v)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i], v) == 0)
			return true;
	return false;
}

void
scim_res_push(struct scim_res *r, const char *v)
{
	r->v = xgrow(r->v, &r->cap, r->n + 1, sizeof(*r->v));
	r->v[r->n++] = xstrdup(v);
}

void
scim_res_add(struct scim_res *r, const char *v)
{
	if (!scim_res_has(r, v))
		scim_res_push(r, v);
}

bool
scim_res_drop(struct scim_res *r, const char *v)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i], v) == 0) {
			free(r->v[i]);
			r->v[i] = r->v[--r->n];
			return true;
		}
	return false;
}

int
scim_res_parse(struct scim_res *r, const json_t *j, bool group)
{
	const json_t *id = json_object_get(j, "id");
	const json_t *key = json_object_get(j, group ? "displayName"
						      : "userName");
	const json_t *meta = json_object_get(j, "meta");
	const json_t *arr, *it, *act;
	size_t i;

	scim_res_clear(r);
	if (!json_is_string(id) || !json_is_string(key))
		return -1;
	r->group = group;
	r->id = xstrdup(json_string_value(id));
	r->key = lower_dup(json_string_value(key));
	r->external_id = str_dup_or_null(json_object_get(j, "externalId"));
	r->version = str_dup_or_null(json_object_get(meta, "version"));
	if (group) {
		r->active = true;
		arr = json_object_get(j, "members");
		json_array_foreach(arr, i, it) {
			const json_t *v = json_object_get(it, "value");

			if (json_is_string(v))
				scim_res_push(r, json_string_value(v));
		}
		return 0;
	}
	r->name = str_dup_or_null(json_object_get(j, "displayName"));
	r->attrs = scim_json_profile_of(j);
	act = json_object_get(j, "active");
	r->active = act == NULL || json_is_true(act);  /* absent: active */
	arr = json_object_get(j, "emails");
	json_array_foreach(arr, i, it) {
		const json_t *v = json_object_get(it, "value");
		char *l;

		if (!json_is_string(v))
			continue;
		l = lower_dup(json_string_value(v));
		if (strcmp(l, r->key) != 0)
			scim_res_add(r, l);
		free(l);
	}
	return 0;
}

json_t *
scim_json_emails(const char *primary, char *const *more, size_t n)
{
	json_t *a = json_array();
	size_t i;

	json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", primary,
					   "type", "work", "primary", 1));
	for (i = 0; i < n; i++)
		if (strcmp(more[i], primary) != 0)
			json_array_append_new(
				a, json_pack("{s:s, s:s}", "value", more[i],
					     "type", "other"));
	return a;
}

json_t *
scim_json_user(const struct change *ch)
{
	json_t *u = json_pack("{s:[s], s:s, s:b, s:o}", "schemas",
			      SCIM_USER_SCHEMA, "userName", ch->address,
			      "active", 1, "emails",
			      scim_json_emails(ch->address, NULL, 0));

	if (ch->anchor != NULL)
		json_object_set_new(u, "externalId",
				    json_string(ch->anchor));
	if (ch->name != NULL && *ch->name)
		json_object_set_new(u, "displayName", json_string(ch->name));
	scim_json_put_profile(u, ch->attrs, ch->name);
	return u;
}

/* ---- SPEC's attribute table ------------------------------------------ */

enum pwhere { W_TOP, W_NAME, W_PHONE, W_ADDR, W_ENT };

static const struct pmap {
	const char *dir;     /* directory attribute (mobj.attrs key) */
	enum pwhere w;
	const char *scim;    /* sub-attribute, or phone number type */
} pmap[] = {
	{"givenName", W_NAME, "givenName"},
	{"sn", W_NAME, "familyName"},
	{"initials", W_NAME, "middleName"},
	{"generationQualifier", W_NAME, "honorificSuffix"},
	{"title", W_TOP, "title"},
	{"employeeType", W_TOP, "userType"},
	{"telephoneNumber", W_PHONE, "work"},
	{"mobile", W_PHONE, "mobile"},
	{"pager", W_PHONE, "pager"},
	{"homePhone", W_PHONE, "home"},
	{"facsimileTelephoneNumber", W_PHONE, "fax"},
	{"streetAddress", W_ADDR, "streetAddress"},
	{"l", W_ADDR, "locality"},
	{"st", W_ADDR, "region"},
	{"postalCode", W_ADDR, "postalCode"},
	{"co", W_ADDR, "country"},
	{"physicalDeliveryOfficeName", W_ADDR, "formatted"},
	{"employeeID", W_ENT, "employeeNumber"},
	{"department", W_ENT, "department"},
	{"company", W_ENT, "organization"},
};
#define NPMAP (sizeof(pmap) / sizeof(pmap[0]))

const char *const scim_profile_keys[] = {
	"name", "title", "userType", "phoneNumbers", "addresses",
	SCIM_ENTERPRISE_SCHEMA, NULL,
};

void
scim_json_put_profile(json_t *u, const char *attrs, const char *display)
{
	json_t *a = attrs != NULL ? json_loads(attrs, 0, NULL) : NULL;
	json_t *name = json_object(), *phones = json_array();
	json_t *addr = json_object(), *ent = json_object();
	size_t i;

	if (display != NULL && *display)
		json_object_set_new(name, "formatted", json_string(display));
	for (i = 0; i < NPMAP; i++) {
		json_t *v = json_object_get(a, pmap[i].dir);

		if (!json_is_string(v))
			continue;
		switch (pmap[i].w) {
		case W_TOP:
			json_object_set(u, pmap[i].scim, v);
			break;
		case W_NAME:
			json_object_set(name, pmap[i].scim, v);
			break;
		case W_PHONE:
			json_array_append_new(phones,
					      json_pack("{s:O, s:s}", "value",
							v, "type",
							pmap[i].scim));
			break;
		case W_ADDR:
			json_object_set(addr, pmap[i].scim, v);
			break;
		case W_ENT:
			json_object_set(ent, pmap[i].scim, v);
			break;
		}
	}
	if (json_object_size(name) > 0)
		json_object_set(u, "name", name);
	if (json_array_size(phones) > 0)
		json_object_set(u, "phoneNumbers", phones);
	if (json_object_size(addr) > 0) {
		json_object_set_new(addr, "type", json_string("work"));
		json_object_set_new(u, "addresses", json_pack("[O]", addr));
	}
	if (json_object_size(ent) > 0) {
		json_t *sch = json_object_get(u, "schemas");

		json_object_set(u, SCIM_ENTERPRISE_SCHEMA, ent);
		if (json_is_array(sch))
			json_array_append_new(
				sch, json_string(SCIM_ENTERPRISE_SCHEMA));
	}
	json_decref(name);
	json_decref(phones);
	json_decref(addr);
	json_decref(ent);
	json_decref(a);
}

/* The first element of array arr whose "type" is type (NULL: any). */
static const json_t *
typed(const json_t *arr, const char *type)
{
	const json_t *it;
	size_t i;

	json_array_foreach(arr, i, it) {
		const char *t = json_string_value(json_object_get(it, "type"));

		if (type == NULL || (t != NULL && strcmp(t, type) == 0))
			return it;
	}
	return NULL;
}

char *
scim_json_profile_of(const json_t *u)
{
	const json_t *addr = typed(json_object_get(u, "addresses"), "work");
	json_t *a = json_object();
	char *s;
	size_t i;

	for (i = 0; i < NPMAP; i++) {
		const json_t *v = NULL;

		switch (pmap[i].w) {
		case W_TOP:
			v = json_object_get(u, pmap[i].scim);
			break;
		case W_NAME:
			v = json_object_get(json_object_get(u, "name"),
					    pmap[i].scim);
			break;
		case W_PHONE:
			v = json_object_get(typed(json_object_get(
							  u, "phoneNumbers"),
						  pmap[i].scim),
					    "value");
			break;
		case W_ADDR:
			v = json_object_get(addr, pmap[i].scim);
			break;
		case W_ENT:
			v = json_object_get(json_object_get(
						    u, SCIM_ENTERPRISE_SCHEMA),
					    pmap[i].scim);
			break;
		}
		if (json_is_string(v) && *json_string_value(v))
			json_object_set(a, pmap[i].dir, (json_t *)v);
	}
	s = json_object_size(a) > 0
		    ? json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT)
		    : NULL;
	json_decref(a);
	return s != NULL ? s : xstrdup("");
}

json_t *
scim_json_group(const struct change *ch, char *const *ids, size_t n)
{
	json_t *g = json_pack("{s:[s], s:s}", "schemas", SCIM_GROUP_SCHEMA,
			      "displayName", ch->address);
	json_t *m = json_array();
	size_t i;

	if (ch->anchor != NULL)
		json_object_set_new(g, "externalId",
				    json_string(ch->anchor));
	for (i = 0; i < n; i++)
		json_array_append_new(m, json_pack("{s:s}", "value", ids[i]));
	json_object_set_new(g, "members", m);
	return g;
}

json_t *
scim_json_patch(void)
{
	return json_pack("{s:[s], s:[]}", "schemas", SCIM_PATCH_SCHEMA,
			 "Operations");
}

void
scim_json_op(json_t *patch, const char *op, const char *path, json_t *value)
{
	json_t *o = json_pack("{s:s}", "op", op);

	if (path != NULL)
		json_object_set_new(o, "path", json_string(path));
	if (value != NULL)
		json_object_set_new(o, "value", value);
	json_array_append_new(json_object_get(patch, "Operations"), o);
}

void
scim_json_eq(struct buf *b, const char *attr, const char *value)
{
	json_t *s = json_string(value);
	char *q = json_dumps(s, JSON_ENCODE_ANY);   /* quoted, escaped */

	buf_printf(b, "%s eq %s", attr, q != NULL ? q : "\"\"");
	free(q);
	json_decref(s);
}

void
scim_json_urlenc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_addc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

void
scim_json_detail(char *out, size_t len, long status, const char *body)
{
	json_t *j = body != NULL ? json_loads(body, 0, NULL) : NULL;
	const char *detail = json_string_value(json_object_get(j, "detail"));
	const char *type = json_string_value(json_object_get(j, "scimType"));

	if (detail != NULL)
		snprintf(out, len, "HTTP %ld%s%s: %.300s", status,
			 type != NULL ? " " : "", type != NULL ? type : "",
			 detail);
	else
		snprintf(out, len, "HTTP %ld: %.120s", status,
			 body != NULL && *body ? body : "(no body)");
	json_decref(j);
}

/*
 * scim_json.h - SCIM 2.0 resources (RFC 7643) <-> what the SCIM target
 * keeps of them, and the request bodies it sends (RFC 7644).
 *
 * The mapping (docs/scim.md has the full table):
 *   mailbox  -> User: userName = the address, externalId = the anchor,
 *               displayName and name.formatted = the name, emails[0] =
 *               the address (primary, type work), active.
 *   alias    -> a further entry of the owner User's emails (type other).
 *   further user attributes (mobj.attrs, SPEC's table) -> name.givenName
 *               (givenName), name.familyName (sn), name.middleName
 *               (initials), name.honorificSuffix (generationQualifier),
 *               title, userType (employeeType), phoneNumbers work /
 *               mobile / pager / home / fax (telephoneNumber, mobile,
 *               pager, homePhone, facsimileTelephoneNumber),
 *               addresses[type work] streetAddress, locality (l),
 *               region (st), postalCode, country (co), formatted
 *               (physicalDeliveryOfficeName); the enterprise extension's
 *               employeeNumber (employeeID), department, organization
 *               (company).
 *   list     -> Group: displayName = the list address (the core Group has
 *               no mail attribute; the address is what finds it again),
 *               externalId = the anchor, members = the member Users' ids.
 * Pure code: no I/O, no curl.
 */
#ifndef DS_SCIM_JSON_H
#define DS_SCIM_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "plan/plan.h"
#include "util/buf.h"

#define SCIM_USER_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_GROUP_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_PATCH_SCHEMA "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_LIST_SCHEMA "urn:ietf:params:scim:api:messages:2.0:ListResponse"
/* RFC 7643 4.3: employeeNumber, department, organization ... */
#define SCIM_ENTERPRISE_SCHEMA \
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

/* A User or Group as the target keeps it (all strings owned). */
struct scim_res {
	char *id;
	char *version;     /* meta.version (an ETag), NULL when none */
	char *key;         /* lower-case userName (User), displayName (Group) */
	char *external_id; /* NULL when none */
	char *name;        /* User displayName, NULL when none */
	char *attrs;       /* User: mobj.attrs as read back, "" for none */
	bool active;       /* Groups: true */
	bool group;
	/* User: further emails, lower-case; Group: member ids */
	char **v;
	size_t n, cap;
};

/*
 * Fills *r from a resource object (a POST/PUT/PATCH response or a
 * ListResponse item).  0, or -1 when it has no id or no userName /
 * displayName (*r then empty).  Frees what *r held before.
 */
int scim_res_parse(struct scim_res *r, const json_t *j, bool group);
void scim_res_clear(struct scim_res *r);
bool scim_res_has(const struct scim_res *r, const char *v);
/* Appends a copy of v unless there (linear: for a User's few emails). */
void scim_res_add(struct scim_res *r, const char *v);
/* Appends a copy of v, no check (a Group's members, by the thousand). */
void scim_res_push(struct scim_res *r, const char *v);
/* Removes v from r->v; returns whether it was there. */
bool scim_res_drop(struct scim_res *r, const char *v);

/* POST /Users body for a new mailbox (its attrs included). */
json_t *scim_json_user(const struct change *ch);
/*
 * The User attributes that carry `attrs` (mobj.attrs JSON, may be NULL)
 * and the display name into u: name, title, userType, phoneNumbers,
 * addresses, the enterprise extension (and its URN in schemas).
 */
void scim_json_put_profile(json_t *u, const char *attrs, const char *display);
/* The attributes scim_json_put_profile writes (for PATCH), NULL-ended. */
extern const char *const scim_profile_keys[];
/* A User's mobj.attrs, read back (malloc'd; "" for none). */
char *scim_json_profile_of(const json_t *u);
/* POST /Groups body: members ids[0..n). */
json_t *scim_json_group(const struct change *ch, char *const *ids, size_t n);
/* {"schemas":[PatchOp],"Operations":[]} */
json_t *scim_json_patch(void);
/* Appends an operation; value is stolen (NULL: none, for remove). */
void scim_json_op(json_t *patch, const char *op, const char *path,
		  json_t *value);
/* The User's emails: primary first, then the further ones. */
json_t *scim_json_emails(const char *primary, char *const *more, size_t n);
/* `attr eq "value"` (RFC 7644 3.4.2.2 string escaping) into b. */
void scim_json_eq(struct buf *b, const char *attr, const char *value);
/* Percent-encodes s (RFC 3986 unreserved kept) into b. */
void scim_json_urlenc(struct buf *b, const char *s);
/*
 * An error response's message for a report: "HTTP 400 invalidValue:
 * detail" from an RFC 7644 3.12 Error body, bounded; any body works.
 */
void scim_json_detail(char *out, size_t len, long status, const char *body);

#endif

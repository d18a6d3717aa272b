/*
 * test_scim_json.c - the SCIM target's pure mapping (scim_json.c): a
 * resource into the target's record (case, primary email, members),
 * the bodies it sends, filter and URL escaping, error details.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "target/scim_json.h"

static void
test_parse_user(void **state)
{
	struct scim_res r = {0};
	json_t *j = json_loads(
		"{\"id\":\"42\",\"userName\":\"Ann.Lee@Example.com\","
		"\"externalId\":\"guid-1\",\"displayName\":\"Ann Lee\","
		"\"meta\":{\"version\":\"W/\\\"3\\\"\"},\"emails\":["
		"{\"value\":\"ann.lee@example.com\",\"primary\":true},"
		"{\"value\":\"Ann@Example.com\"},{\"value\":\"ann@example.com\"}"
		"]}", 0, NULL);

	(void)state;
	assert_int_equal(scim_res_parse(&r, j, false), 0);
	assert_string_equal(r.id, "42");
	assert_string_equal(r.key, "ann.lee@example.com");
	assert_string_equal(r.external_id, "guid-1");
	assert_string_equal(r.name, "Ann Lee");
	assert_string_equal(r.version, "W/\"3\"");
	assert_true(r.active);              /* absent: active */
	assert_int_equal(r.n, 1);           /* primary left out, one dup */
	assert_string_equal(r.v[0], "ann@example.com");
	assert_true(scim_res_drop(&r, "ann@example.com"));
	assert_false(scim_res_drop(&r, "ann@example.com"));
	scim_res_clear(&r);
	json_decref(j);

	j = json_loads("{\"userName\":\"x@y\"}", 0, NULL);   /* no id */
	assert_int_equal(scim_res_parse(&r, j, false), -1);
	json_decref(j);
}

static void
test_parse_group(void **state)
{
	struct scim_res r = {0};
	json_t *j = json_loads(
		"{\"id\":\"g\",\"displayName\":\"Sales@Example.com\","
		"\"members\":[{\"value\":\"1\"},{\"value\":\"2\"},{\"x\":1}]}",
		0, NULL);

	(void)state;
	assert_int_equal(scim_res_parse(&r, j, true), 0);
	assert_string_equal(r.key, "sales@example.com");
	assert_null(r.external_id);
	assert_int_equal(r.n, 2);   /* members kept as sent, no O(n^2) */
	assert_true(scim_res_has(&r, "2"));
	scim_res_clear(&r);
	json_decref(j);
}

static void
test_bodies(void **state)
{
	struct change ch;
	char *ids[] = {"a", "b"};
	json_t *j;
	char *s;

	(void)state;
	memset(&ch, 0, sizeof(ch));
	ch.address = "ann@example.com";
	ch.anchor = "guid-1";
	ch.name = "Ann";
	j = scim_json_user(&ch);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
		s, "{\"active\":true,\"displayName\":\"Ann\",\"emails\":[{"
		   "\"primary\":true,\"type\":\"work\",\"value\":\"ann@example."
		   "com\"}],\"externalId\":\"guid-1\",\"name\":{\"formatted\":"
		   "\"Ann\"},\"schemas\":[\"urn:ietf:params:scim:schemas:core:"
		   "2.0:User\"],\"userName\":\"ann@example.com\"}");
	free(s);
	json_decref(j);
	j = scim_json_group(&ch, ids, 2);
	s = json_dumps(json_object_get(j, "members"), JSON_COMPACT);
	assert_string_equal(s, "[{\"value\":\"a\"},{\"value\":\"b\"}]");
	free(s);
	json_decref(j);
	j = scim_json_patch();
	scim_json_op(j, "remove", "emails[value eq \"x\"]", NULL);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"Operations\":[{\"op\":\"remove\",\"path\":"
			       "\"emails[value eq \\\"x\\\"]\"}],\"schemas\":["
			       "\"urn:ietf:params:scim:api:messages:2.0:"
			       "PatchOp\"]}");
	free(s);
	json_decref(j);
}

static void
test_escaping(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	scim_json_eq(&b, "userName", "a\"b\\c@x");
	assert_string_equal(buf_str(&b), "userName eq \"a\\\"b\\\\c@x\"");
	buf_reset(&b);
	scim_json_urlenc(&b, "userName eq \"a b\"&x=1/é");
	assert_string_equal(buf_str(&b),
			    "userName%20eq%20%22a%20b%22%26x%3D1%2F%C3%A9");
	buf_free(&b);
}

static void
test_detail(void **state)
{
	char d[200];

	(void)state;
	scim_json_detail(d, sizeof(d), 409,
			 "{\"status\":\"409\",\"scimType\":\"uniqueness\","
			 "\"detail\":\"userName taken\"}");
	assert_string_equal(d, "HTTP 409 uniqueness: userName taken");
	scim_json_detail(d, sizeof(d), 400, "{\"detail\":\"bad\"}");
	assert_string_equal(d, "HTTP 400: bad");
	scim_json_detail(d, sizeof(d), 502, "<html>gateway</html>");
	assert_string_equal(d, "HTTP 502: <html>gateway</html>");
	scim_json_detail(d, sizeof(d), 500, "");
	assert_string_equal(d, "HTTP 500: (no body)");
}

/* SPEC's attribute table: into a User and back, unchanged. */
static void
test_profile_round_trip(void **state)
{
	const char *attrs =
		"{\"co\":\"Germany\",\"company\":\"Example AG\","
		"\"department\":\"Board\",\"employeeID\":\"E-1\","
		"\"employeeType\":\"Employee\","
		"\"facsimileTelephoneNumber\":\"+1 5\","
		"\"generationQualifier\":\"Jr.\",\"givenName\":\"Ann\","
		"\"homePhone\":\"+1 4\",\"initials\":\"J\",\"l\":\"Berlin\","
		"\"mobile\":\"+1 2\",\"pager\":\"+1 3\","
		"\"physicalDeliveryOfficeName\":\"HQ\","
		"\"postalCode\":\"10115\",\"sn\":\"Lee\",\"st\":\"BE\","
		"\"streetAddress\":\"Main 1\",\"telephoneNumber\":\"+1 1\","
		"\"title\":\"CEO\"}";
	struct change ch = {.op = OP_ADD, .kind = MK_MAILBOX,
			    .address = "ann@example.com", .anchor = "g",
			    .name = "Ann Lee", .attrs = attrs};
	json_t *u = scim_json_user(&ch), *ent;
	struct scim_res r = {0};
	char *back;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(u, "name"), "familyName")),
			    "Lee");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(u, "name"), "formatted")),
			    "Ann Lee");
	assert_string_equal(json_string_value(json_object_get(u, "userType")),
			    "Employee");
	ent = json_object_get(u, SCIM_ENTERPRISE_SCHEMA);
	assert_string_equal(json_string_value(json_object_get(
				    ent, "employeeNumber")),
			    "E-1");
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(u, "schemas"), 1)),
			    SCIM_ENTERPRISE_SCHEMA);
	assert_int_equal(json_array_size(json_object_get(u, "phoneNumbers")),
			 5);
	back = scim_json_profile_of(u);
	assert_string_equal(back, attrs);
	free(back);
	/* what load() keeps: the same string */
	json_object_set_new(u, "id", json_string("1"));
	assert_int_equal(scim_res_parse(&r, u, false), 0);
	assert_string_equal(r.attrs, attrs);
	scim_res_clear(&r);
	json_decref(u);

	/* none: "" (the target carries them, this User has none) */
	ch.attrs = NULL;
	ch.name = NULL;
	u = scim_json_user(&ch);
	assert_null(json_object_get(u, "name"));
	assert_null(json_object_get(u, SCIM_ENTERPRISE_SCHEMA));
	back = scim_json_profile_of(u);
	assert_string_equal(back, "");
	free(back);
	json_decref(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_parse_group),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_detail),
		cmocka_unit_test(test_profile_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

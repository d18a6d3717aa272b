/*
 * test_rules.c - directory entries -> desired mail objects, driven through
 * rules_apply() with snapshots built from struct entry values: address
 * normalisation, anchors, SMTP: vs mail, aliases, conflicts, scope, names,
 * contacts, and cycle-safe list expansion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <strings.h>

#include "conf/conf.h"
#include "model/entry.h"
#include "model/snapshot.h"
#include "rules/rules.h"
#include "util/arena.h"

/* ---- fixtures ----------------------------------------------------- */

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct fx {
	struct conf c;
	struct snapshot s;
	struct rules_result r;
	bool applied;
};

static void
set_list(struct strlist *l, const char *const *items)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->n = 0;
	l->v = NULL;
	for (i = 0; items[i] != NULL; i++)
		;
	l->v = calloc(i ? i : 1, sizeof(char *));
	assert_non_null(l->v);
	for (i = 0; items[i] != NULL; i++)
		l->v[l->n++] = strdup(items[i]);
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	conf_defaults(&f->c);
	set_list(&f->c.mapping.accepted_domains,
		 LIST("example.com", "example.net"));
	set_list(&f->c.mapping.domain_rewrite,
		 LIST("example.local=example.com"));
	snapshot_init(&f->s);
	rules_init(&f->r);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	rules_free(&f->r);
	snapshot_free(&f->s);
	conf_free(&f->c);
	free(f);
	return 0;
}

static int
hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch - 'a' + 10;
}

/*
 * add(f, dn, "attr", "value", ..., NULL): one entry into the snapshot.
 * Consecutive pairs with the same name are one multi-valued attribute.
 * "objectGUID" values are 32 hex digits, stored as the 16 binary bytes
 * an AD export carries.
 */
static void
add(struct fx *f, const char *dn, ...)
{
	struct attr attrs[32];
	struct val vals[32][32];
	unsigned char bin[32][16];
	struct entry e;
	va_list ap;
	const char *name, *v;
	size_t na = 0, nb = 0;

	memset(attrs, 0, sizeof(attrs));
	va_start(ap, dn);
	while ((name = va_arg(ap, const char *)) != NULL) {
		struct attr *a;

		v = va_arg(ap, const char *);
		assert_non_null(v);
		if (na == 0 || strcmp(attrs[na - 1].name, name) != 0) {
			assert_true(na < 32);
			attrs[na].name = name;
			attrs[na].vals = vals[na];
			na++;
		}
		a = &attrs[na - 1];
		assert_true(a->nvals < 32);
		if (strcmp(name, "objectGUID") == 0) {
			size_t i;

			assert_int_equal(strlen(v), 32);
			assert_true(nb < 32);
			for (i = 0; i < 16; i++)
				bin[nb][i] = (unsigned char)(hexval(v[2 * i]) * 16 +
							     hexval(v[2 * i + 1]));
			a->vals[a->nvals].p = (const char *)bin[nb++];
			a->vals[a->nvals].len = 16;
		} else {
			a->vals[a->nvals].p = v;
			a->vals[a->nvals].len = strlen(v);
		}
		a->nvals++;
	}
	va_end(ap);
	memset(&e, 0, sizeof(e));
	e.dn = dn;
	e.nattrs = na;
	e.attrs = attrs;
	e.origin = "test";
	assert_int_equal(snapshot_add(&f->s, &e, NULL), 0);
}

/* An AD user; guid is 32 hex digits, extra pairs may follow. */
#define USER(f, cn, guid, ...)                                             \
	add(f, "CN=" cn ",OU=Staff,DC=example,DC=com", "objectClass", "top", \
	    "objectClass", "person", "objectClass", "organizationalPerson",  \
	    "objectClass", "user", "cn", cn, "objectGUID", guid,             \
	    "userAccountControl", "512", __VA_ARGS__, NULL)
#define GROUP(f, cn, guid, ...)                                            \
	add(f, "CN=" cn ",OU=Groups,DC=example,DC=com", "objectClass", "top", \
	    "objectClass", "group", "cn", cn, "objectGUID", guid,           \
	    __VA_ARGS__, NULL)
#define STAFF(cn) "CN=" cn ",OU=Staff,DC=example,DC=com"
#define GRP(cn) "CN=" cn ",OU=Groups,DC=example,DC=com"

#define G1 "01000000000000000000000000000000"
#define G2 "02000000000000000000000000000000"
#define G3 "03000000000000000000000000000000"
#define G4 "04000000000000000000000000000000"
#define G5 "05000000000000000000000000000000"
#define G6 "06000000000000000000000000000000"
#define G7 "07000000000000000000000000000000"
#define G8 "08000000000000000000000000000000"
/* the anchors rules_anchor() makes of them */
#define A1 "00000001-0000-0000-0000-000000000000"
#define A2 "00000002-0000-0000-0000-000000000000"
#define A3 "00000003-0000-0000-0000-000000000000"

static void
apply(struct fx *f)
{
	struct err err;

	err_clear(&err);
	assert_int_equal(rules_apply(&f->c, &f->s, &f->r, &err), 0);
	f->applied = true;
}

/* The desired object at addr, of the given kind (fails otherwise). */
static const struct mobj *
want(struct fx *f, enum mkind kind, const char *addr)
{
	const struct mobj *o = mset_get(&f->r.desired, addr);

	if (o == NULL)
		fail_msg("no desired object %s", addr);
	if (o->kind != kind)
		fail_msg("%s is a %s, not a %s", addr, mkind_name(o->kind),
			 mkind_name(kind));
	return o;
}

static void
absent(struct fx *f, const char *addr)
{
	if (mset_get(&f->r.desired, addr) != NULL)
		fail_msg("%s should not be desired", addr);
}

/* Number of warnings containing text. */
static size_t
warned(const struct fx *f, const char *text)
{
	size_t i, n = 0;

	for (i = 0; i < f->r.nwarnings; i++)
		if (strstr(f->r.warnings[i], text) != NULL)
			n++;
	return n;
}

/* Desired objects of one kind (domains excluded unless asked). */
static size_t
count_kind(const struct fx *f, enum mkind kind)
{
	size_t i, n = 0;

	for (i = 0; i < f->r.desired.n; i++)
		if (f->r.desired.v[i]->kind == kind)
			n++;
	return n;
}

/* ---- addresses and anchors ---------------------------------------- */

static void
expect_norm(const struct conf *c, const char *raw, const char *want_addr)
{
	char *got = rules_norm_address(c, raw);

	if (want_addr == NULL) {
		if (got != NULL)
			fail_msg("'%s' should be refused, got '%s'", raw, got);
		return;
	}
	if (got == NULL)
		fail_msg("'%s' refused, wanted '%s'", raw, want_addr);
	assert_string_equal(got, want_addr);
	free(got);
}

static void
test_norm_address(void **state)
{
	struct fx *f = *state;
	char buf[300];

	expect_norm(&f->c, "ann@example.com", "ann@example.com");
	expect_norm(&f->c, "  Ann.Lee@Example.COM \t", "ann.lee@example.com");
	/* domain_rewrite: the whole domain, after lower-casing */
	expect_norm(&f->c, "Uma@EXAMPLE.LOCAL", "uma@example.com");
	expect_norm(&f->c, "x@sub.example.local", "x@sub.example.local");
	expect_norm(&f->c, "x@example.localhost", "x@example.localhost");
	/* not addresses, or would break a Postfix goto list */
	expect_norm(&f->c, "", NULL);
	expect_norm(&f->c, "   ", NULL);
	expect_norm(&f->c, "no-at-sign", NULL);
	expect_norm(&f->c, "@example.com", NULL);
	expect_norm(&f->c, "ann@", NULL);
	expect_norm(&f->c, "a@b@example.com", NULL);
	expect_norm(&f->c, "a b@example.com", NULL);
	expect_norm(&f->c, "a,b@example.com", NULL);
	expect_norm(&f->c, "\"a\"@example.com", NULL);
	expect_norm(&f->c, "<a@example.com>", NULL);
	expect_norm(&f->c, "a\\b@example.com", NULL);
	expect_norm(&f->c, "j\xc3\xb6rg@example.com", NULL);
	/* at most 254 characters */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 254 - 12, "@example.com", 13);
	assert_int_equal(strlen(buf), 254);
	expect_norm(&f->c, buf, buf);
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 255 - 12, "@example.com", 13);
	expect_norm(&f->c, buf, NULL);
}

/* A NUL inside an address value (LDAP, base64 LDIF) must not cut it. */
static void
test_nul_in_address_refused(void **state)
{
	struct fx *f = *state;
	static const char mail[] = "x@example.com\0@other.org";
	static const char proxy[] = "smtp:y@example.com\0@other.org";
	struct val oc = {"user", 4}, cn = {"Nul", 3}, uac = {"512", 3};
	struct val m = {mail, sizeof(mail) - 1};
	struct val px[2] = {{proxy, sizeof(proxy) - 1},
			    {"SMTP:nul@example.com", 20}};
	struct attr a[5] = {
		{"objectClass", 1, &oc}, {"cn", 1, &cn}, {"mail", 1, &m},
		{"proxyAddresses", 2, px}, {"userAccountControl", 1, &uac},
	};
	struct entry e = {STAFF("Nul"), 5, a, "test"};

	assert_int_equal(snapshot_add(&f->s, &e, NULL), 0);
	apply(f);
	absent(f, "x@example.com");
	absent(f, "y@example.com");
	want(f, MK_MAILBOX, "nul@example.com");
	assert_true(warned(f, "holds a NUL byte") >= 2);
}

/* A 1 MB displayName is cut to what the mail database holds, warned. */
static void
test_long_name_cut(void **state)
{
	struct fx *f = *state;
	const struct mobj *m;
	char *big = malloc(1 << 20);
	size_t i;

	assert_non_null(big);
	for (i = 0; i + 2 < (1 << 20); i += 2) {   /* "é" repeated */
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	big[i] = '\0';
	USER(f, "Long", G1, "mail", "long@example.com", "displayName", big);
	apply(f);
	m = want(f, MK_MAILBOX, "long@example.com");
	assert_true(strlen(m->name) <= 255);
	assert_int_equal(strlen(m->name) % 2, 0);   /* whole characters */
	assert_true(warned(f, "bytes long; cut to") == 1);
	free(big);
}

static void
test_anchor(void **state)
{
	struct fx *f = *state;
	struct attr a;
	struct val v;
	struct entry e;
	static const unsigned char guid[16] = {0, 1, 2, 3, 4, 5, 6, 7,
					       8, 9, 10, 11, 12, 13, 14, 15};
	char *s;

	(void)f;
	memset(&e, 0, sizeof(e));
	e.dn = "CN=X,DC=example,DC=com";
	e.nattrs = 1;
	e.attrs = &a;
	a.nvals = 1;
	a.vals = &v;
	/* AD objectGUID: the first three fields are little-endian */
	a.name = "objectGUID";
	v.p = (const char *)guid;
	v.len = 16;
	s = rules_anchor(&e, "cn=x,dc=example,dc=com");
	assert_string_equal(s, "03020100-0504-0706-0809-0a0b0c0d0e0f");
	free(s);
	/* attribute names are case-insensitive */
	a.name = "objectguid";
	s = rules_anchor(&e, "cn=x,dc=example,dc=com");
	assert_string_equal(s, "03020100-0504-0706-0809-0a0b0c0d0e0f");
	free(s);
	/* entryUUID (OpenLDAP), lower-cased */
	a.name = "entryUUID";
	v.p = "6F1C3A9E-1B2D-4C8E-9F00-00000000000A";
	v.len = strlen(v.p);
	s = rules_anchor(&e, "cn=x,dc=example,dc=com");
	assert_string_equal(s, "6f1c3a9e-1b2d-4c8e-9f00-00000000000a");
	free(s);
	/* nsUniqueId (389-DS) */
	a.name = "nsUniqueId";
	v.p = "A1B2C3D4-11111111-22222222-33333333";
	v.len = strlen(v.p);
	s = rules_anchor(&e, "cn=x,dc=example,dc=com");
	assert_string_equal(s, "a1b2c3d4-11111111-22222222-33333333");
	free(s);
	/* none: the normalised DN */
	a.name = "cn";
	s = rules_anchor(&e, "cn=x,dc=example,dc=com");
	assert_string_equal(s, "dn:cn=x,dc=example,dc=com");
	free(s);
}

/*
 * Two entries with one anchor fail the read, naming both DNs, whatever
 * the anchor's kind (and however either entry would be mapped): merged
 * silently, the second took the first's mail objects and managed records.
 */
static void
expect_anchor_twice(struct fx *f, const char *dn1, const char *dn2)
{
	struct err err;

	err_clear(&err);
	assert_int_equal(rules_apply(&f->c, &f->s, &f->r, &err), -1);
	assert_int_equal(err.code, DS_E_SOURCE);
	assert_non_null(strstr(err.msg, "same anchor"));
	if (strstr(err.msg, dn1) == NULL || strstr(err.msg, dn2) == NULL)
		fail_msg("'%s' does not name both DNs", err.msg);
	rules_free(&f->r);
	rules_init(&f->r);
	snapshot_free(&f->s);
	snapshot_init(&f->s);
}

static void
test_anchor_twice(void **state)
{
	struct fx *f = *state;

	/* AD: a user carrying another user's objectGUID */
	USER(f, "Ann", G1, "mail", "ann@example.com");
	USER(f, "Test One", G1, "mail", "test.one@example.com");
	expect_anchor_twice(f, "CN=Ann,", "CN=Test One,");
	/* a contact and a group with a user's objectGUID */
	USER(f, "Ann", G1, "mail", "ann@example.com");
	USER(f, "Bob", G2, "mail", "bob@example.com");
	GROUP(f, "Sales", G2, "mail", "sales@example.com");
	expect_anchor_twice(f, "CN=Bob,", "CN=Sales,");
	/* OpenLDAP entryUUID, spelt in another case */
	add(f, "uid=ann,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "uid", "ann", "mail", "ann@example.com",
	    "entryUUID", "6f1c3a9e-1b2d-4c8e-9f00-00000000000a", NULL);
	add(f, "uid=bob,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "uid", "bob", "mail", "bob@example.com",
	    "entryUUID", "6F1C3A9E-1B2D-4C8E-9F00-00000000000A", NULL);
	expect_anchor_twice(f, "uid=ann,", "uid=bob,");
	/* 389-DS nsUniqueId; one of them without an address */
	add(f, "uid=ann,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "uid", "ann", "mail", "ann@example.com",
	    "nsUniqueId", "a1b2c3d4-11111111-22222222-33333333", NULL);
	add(f, "uid=cy,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "uid", "cy",
	    "nsUniqueId", "a1b2c3d4-11111111-22222222-33333333", NULL);
	expect_anchor_twice(f, "uid=ann,", "uid=cy,");
	/* distinct anchors, and a DN anchor each: fine */
	add(f, "uid=ann,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "uid", "ann", "mail", "ann@example.com", NULL);
	add(f, "uid=bob,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "uid", "bob", "mail", "bob@example.com", NULL);
	apply(f);
	want(f, MK_MAILBOX, "ann@example.com");
	want(f, MK_MAILBOX, "bob@example.com");
}

/*
 * Values saying how an account stands are read strictly: one dirsync
 * cannot read, or a second value of a single-valued attribute, is warned
 * about (DN and attribute) and gives no mailbox; it was read as enabled.
 */
static void
expect_state(struct fx *f, const char *attr, const char *v1, const char *v2,
	     bool enabled, const char *warning)
{
	add(f, "CN=Ann,OU=Staff,DC=example,DC=com", "objectClass", "user",
	    "mail", "ann@example.com", "objectGUID", G1,
	    attr, v1, v2 != NULL ? attr : NULL, v2, NULL);
	apply(f);
	if (enabled)
		want(f, MK_MAILBOX, "ann@example.com");
	else
		absent(f, "ann@example.com");
	if (warning != NULL && (warned(f, warning) != 1 ||
				warned(f, "CN=Ann,OU=Staff") != 1))
		fail_msg("%s '%s': no warning '%s'", attr, v1, warning);
	if (warning == NULL && f->r.nwarnings != 0)
		fail_msg("%s '%s': warned '%s'", attr, v1, f->r.warnings[0]);
	rules_free(&f->r);
	rules_init(&f->r);
	snapshot_free(&f->s);
	snapshot_init(&f->s);
}

static void
test_account_state_strict(void **state)
{
	struct fx *f = *state;

	f->r.now = 1700000000;   /* 2023-11-14 */
	expect_state(f, "userAccountControl", "512", NULL, true, NULL);
	expect_state(f, "userAccountControl", "514", NULL, false, NULL);
	expect_state(f, "userAccountControl", "abc", NULL, false,
		     "userAccountControl value 'abc' is not");
	expect_state(f, "userAccountControl", "0x202", NULL, false,
		     "userAccountControl value '0x202' is not");
	expect_state(f, "userAccountControl", "512x", NULL, false,
		     "userAccountControl value '512x'");
	expect_state(f, "userAccountControl", "99999999999", NULL, false,
		     "userAccountControl value '99999999999'");
	expect_state(f, "userAccountControl", "512", "514", false,
		     "userAccountControl has 2 values");
	expect_state(f, "userAccountControl", "514", "512", false,
		     "userAccountControl has 2 values");
	expect_state(f, "userAccountControl", "512", "66048", true,
		     "userAccountControl has 2 values");
	expect_state(f, "accountExpires", "0", NULL, true, NULL);
	expect_state(f, "accountExpires", "9223372036854775807", NULL, true,
		     NULL);
	expect_state(f, "accountExpires", "never", NULL, false,
		     "accountExpires value 'never' is not");
	expect_state(f, "accountExpires", "99999999999999999999999", NULL,
		     false, "accountExpires value '99999999999999999999999'");
	/* 2030 and 2020 */
	expect_state(f, "accountExpires", "139000000000000000", NULL, true,
		     NULL);
	expect_state(f, "accountExpires", "139000000000000000",
		     "132000000000000000", false, "accountExpires has 2");
	expect_state(f, "shadowExpire", "99999", NULL, true, NULL);
	expect_state(f, "shadowExpire", "soon", NULL, false,
		     "shadowExpire value 'soon'");
	expect_state(f, "pwdEndTime", "20300101000000Z", NULL, true, NULL);
	expect_state(f, "pwdEndTime", "20300101000000+0100", NULL, true,
		     NULL);
	expect_state(f, "pwdEndTime", "20200101000000-05", NULL, false, NULL);
	expect_state(f, "pwdEndTime", "tomorrow", NULL, false,
		     "pwdEndTime value 'tomorrow'");
	expect_state(f, "nsAccountLock", "FALSE", NULL, true, NULL);
	expect_state(f, "nsAccountLock", "true", NULL, false, NULL);
	expect_state(f, "nsAccountLock", "maybe", NULL, false,
		     "nsAccountLock value 'maybe'");
	/* enabled_only = no: none of it is read */
	f->c.scope.enabled_only = false;
	expect_state(f, "userAccountControl", "abc", NULL, true, NULL);
}

/* Only SMTP: is a primary, smtp: an alias: other cases are said. */
static void
test_proxy_prefix_case(void **state)
{
	struct fx *f = *state;

	USER(f, "Ann", G1, "mail", "ann@example.com", "proxyAddresses",
	     "Smtp:ann.x@example.com", "proxyAddresses",
	     "sMTP:ann.y@example.com", "proxyAddresses",
	     "smtp:ann.z@example.com", "proxyAddresses",
	     "X500:/o=x/cn=ann");
	apply(f);
	want(f, MK_MAILBOX, "ann@example.com");
	want(f, MK_ALIAS, "ann.x@example.com");
	want(f, MK_ALIAS, "ann.y@example.com");
	want(f, MK_ALIAS, "ann.z@example.com");
	assert_int_equal(warned(f, "mixed case"), 2);
	assert_int_equal(warned(f, "CN=Ann,OU=Staff,DC=example,DC=com: "
				   "proxyAddresses value 'Smtp:ann.x@"), 1);
	assert_int_equal(f->r.nwarnings, 2);
}

/* A contact's targetAddress that is no address is said, like a bad mail. */
static void
test_contact_target_bad(void **state)
{
	struct fx *f = *state;

	add(f, "CN=Pat,OU=Contacts,DC=example,DC=com", "objectClass",
	    "contact", "objectGUID", G1, "targetAddress",
	    "SMTP:a@partner.org,b@evil.org", NULL);
	add(f, "CN=Sip,OU=Contacts,DC=example,DC=com", "objectClass",
	    "contact", "objectGUID", G2, "targetAddress",
	    "SIP:sip@partner.org", "proxyAddresses",
	    "smtp:sip@example.com", NULL);
	add(f, "CN=Mo,OU=Contacts,DC=example,DC=com", "objectClass",
	    "contact", "objectGUID", G3, "targetAddress", "mo at partner",
	    "mail", "mo@partner.org", "proxyAddresses",
	    "smtp:mo@example.com", NULL);
	add(f, "CN=Ok,OU=Contacts,DC=example,DC=com", "objectClass",
	    "contact", "objectGUID", G4, "targetAddress",
	    "smtp:ok@partner.org", "proxyAddresses",
	    "smtp:ok@example.com", NULL);
	apply(f);
	assert_int_equal(warned(f, "CN=Pat,OU=Contacts,DC=example,DC=com: "
				   "ignoring targetAddress value "
				   "'SMTP:a@partner.org,b@evil.org'"), 1);
	assert_int_equal(warned(f, "CN=Sip,OU=Contacts,DC=example,DC=com: "
				   "ignoring targetAddress value "
				   "'SIP:sip@partner.org': not an SMTP"), 1);
	absent(f, "sip@example.com");
	/* the mail value in its place, said */
	assert_int_equal(warned(f, "CN=Mo,OU=Contacts,DC=example,DC=com: "
				   "ignoring targetAddress"), 1);
	assert_string_equal(want(f, MK_CONTACT, "mo@example.com")->gotos,
			    "mo@partner.org");
	assert_string_equal(want(f, MK_CONTACT, "ok@example.com")->gotos,
			    "ok@partner.org");
	assert_int_equal(f->r.nwarnings, 3);
}

/* ---- users: primary, aliases -------------------------------------- */

static void
test_smtp_primary_wins_over_mail(void **state)
{
	struct fx *f = *state;
	const struct mobj *m;

	USER(f, "Bob Stone", G1, "displayName", "Bob Stone", "mail",
	     "bob@example.com", "proxyAddresses",
	     "SMTP:Robert.Stone@example.com", "proxyAddresses",
	     "smtp:rob@example.com");
	apply(f);
	m = want(f, MK_MAILBOX, "robert.stone@example.com");
	assert_string_equal(m->name, "Bob Stone");
	assert_string_equal(m->anchor, A1);
	assert_true(m->active);
	assert_int_equal(warned(f, "differs from mail bob@example.com"), 1);
	/* mail is kept as an alias so its mail still arrives */
	assert_string_equal(want(f, MK_ALIAS, "bob@example.com")->gotos,
			    "robert.stone@example.com");
	assert_string_equal(want(f, MK_ALIAS, "rob@example.com")->gotos,
			    "robert.stone@example.com");
	assert_string_equal(want(f, MK_ALIAS, "rob@example.com")->anchor, A1);
	absent(f, "Robert.Stone@example.com");
	assert_int_equal(f->r.in_scope, 1);
}

static void
test_mail_only_and_case(void **state)
{
	struct fx *f = *state;

	/* no SMTP: value: mail is the primary; case folded everywhere;
	 * a repeated alias and one equal to the primary are not doubled */
	USER(f, "Cal Reed", G1, "mail", "Cal.Reed@Example.COM",
	     "proxyAddresses", "smtp:Cal@Example.NET", "proxyAddresses",
	     "smtp:cal@example.net", "proxyAddresses",
	     "smtp:CAL.REED@example.com");
	apply(f);
	want(f, MK_MAILBOX, "cal.reed@example.com");
	want(f, MK_ALIAS, "cal@example.net");
	assert_int_equal(count_kind(f, MK_ALIAS), 1);
	assert_int_equal(f->r.nwarnings, 0);
}

static void
test_two_smtp_primaries(void **state)
{
	struct fx *f = *state;

	USER(f, "Ann Lee", G1, "mail", "ann@example.com", "proxyAddresses",
	     "SMTP:ann@example.com", "proxyAddresses",
	     "SMTP:ann.lee@example.com");
	apply(f);
	want(f, MK_MAILBOX, "ann@example.com");
	assert_string_equal(want(f, MK_ALIAS, "ann.lee@example.com")->gotos,
			    "ann@example.com");
	assert_int_equal(warned(f, "more than one SMTP: primary"), 1);
}

static void
test_other_prefixes_and_bad_values(void **state)
{
	struct fx *f = *state;

	USER(f, "Dee Hill", G1, "mail", "dee@example.com", "proxyAddresses",
	     "SMTP:dee@example.com", "proxyAddresses",
	     "X500:/o=Example/ou=Exchange/cn=Recipients/cn=dee",
	     "proxyAddresses", "SIP:dee@example.com", "proxyAddresses",
	     "x400:c=GB;a= ;p=Example;o=Exchange;s=Hill;", "proxyAddresses",
	     "EUM:1234;phone-context=example.com", "proxyAddresses",
	     "smtp:no-at-sign", "proxyAddresses", "smtp:a,b@example.com",
	     "proxyAddresses", "smtp:dee@gmail.com", "proxyAddresses",
	     "smtp:dee@sub.example.com", "proxyAddresses",
	     "smtp:dee@example.local");
	apply(f);
	want(f, MK_MAILBOX, "dee@example.com");
	/* example.local is rewritten to example.com: that is the primary */
	assert_int_equal(count_kind(f, MK_ALIAS), 0);
	assert_int_equal(count_kind(f, MK_MAILBOX), 1);
	assert_int_equal(warned(f, "not an address"), 2);
	assert_int_equal(warned(f, "dee@gmail.com dropped"), 1);
	assert_int_equal(warned(f, "dee@sub.example.com dropped"), 1);
	assert_int_equal(warned(f, "SIP"), 0);
	assert_int_equal(warned(f, "X500"), 0);
	assert_int_equal(f->r.nwarnings, 4);
}

static void
test_alias_attributes_configurable(void **state)
{
	struct fx *f = *state;

	/* OpenLDAP style: bare addresses in mailAlternateAddress */
	set_list(&f->c.mapping.alias_attributes,
		 LIST("mailAlternateAddress"));
	add(f, "uid=alice,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "uid", "alice", "cn", "Alice Martin", "mail",
	    "alice.martin@example.com", "mailAlternateAddress",
	    "Alice@Example.com", "proxyAddresses", "smtp:not-used@example.com",
	    "entryUUID", "6F1C3A9E-1B2D-4C8E-9F00-000000000001", NULL);
	apply(f);
	assert_string_equal(want(f, MK_MAILBOX, "alice.martin@example.com")->anchor,
			    "6f1c3a9e-1b2d-4c8e-9f00-000000000001");
	want(f, MK_ALIAS, "alice@example.com");
	absent(f, "not-used@example.com");
}

static void
test_domains_and_rewrite(void **state)
{
	struct fx *f = *state;

	USER(f, "Uma Patel", G1, "mail", "uma.patel@example.local",
	     "proxyAddresses", "smtp:uma@EXAMPLE.LOCAL");
	USER(f, "Vic Olsen", G2, "mail", "vic@other.org", "proxyAddresses",
	     "smtp:vic@example.com");
	apply(f);
	want(f, MK_MAILBOX, "uma.patel@example.com");
	assert_string_equal(want(f, MK_ALIAS, "uma@example.com")->gotos,
			    "uma.patel@example.com");
	/* a primary outside the accepted domains: skipped, with a warning */
	absent(f, "vic@other.org");
	absent(f, "vic@example.com");
	assert_int_equal(warned(f, "vic@other.org is not in an accepted"), 1);
	assert_int_equal(f->r.scope_counts[SC_DOMAIN], 1);
	/* every accepted domain is a domain object */
	want(f, MK_DOMAIN, "example.com");
	want(f, MK_DOMAIN, "example.net");
	assert_int_equal(count_kind(f, MK_DOMAIN), 2);
	assert_int_equal(f->r.in_scope, 1);
}

static void
test_names(void **state)
{
	struct fx *f = *state;

	/* SPEC: displayName, else "givenName sn", else cn */
	USER(f, "Ann Lee", G1, "mail", "ann@example.com", "displayName",
	     "Ann Lee (Sales)", "givenName", "Ann", "sn", "Lee");
	USER(f, "Bob Stone", G2, "mail", "bob@example.com", "givenName",
	     "Robert", "sn", "Stone");
	USER(f, "Cy Young", G3, "mail", "cy@example.com", "sn", "Young");
	USER(f, "Di Lane", G4, "mail", "di@example.com", "givenName",
	     "Diana");
	USER(f, "Ed Wood", G5, "mail", "ed@example.com", "displayName", "");
	apply(f);
	assert_string_equal(want(f, MK_MAILBOX, "ann@example.com")->name,
			    "Ann Lee (Sales)");
	assert_string_equal(want(f, MK_MAILBOX, "bob@example.com")->name,
			    "Robert Stone");
	assert_string_equal(want(f, MK_MAILBOX, "cy@example.com")->name,
			    "Cy Young");
	assert_string_equal(want(f, MK_MAILBOX, "di@example.com")->name,
			    "Di Lane");
	assert_string_equal(want(f, MK_MAILBOX, "ed@example.com")->name,
			    "Ed Wood");
}

/* ---- scope -------------------------------------------------------- */

static void
test_scope_filters(void **state)
{
	struct fx *f = *state;

	/* not the default since the field cases (issue 9): set it here */
	f->c.scope.visible_only = true;
	USER(f, "In", G1, "mail", "in@example.com");
	add(f, "CN=Off,OU=Staff,DC=example,DC=com", "objectClass", "user",
	    "cn", "Off", "mail", "off@example.com", "userAccountControl",
	    "514", NULL);
	add(f, "CN=Off2,OU=Staff,DC=example,DC=com", "objectClass", "user",
	    "cn", "Off2", "mail", "off2@example.com", "userAccountControl",
	    "66050", NULL);
	add(f, "CN=On2,OU=Staff,DC=example,DC=com", "objectClass", "user",
	    "cn", "On2", "mail", "on2@example.com", "userAccountControl",
	    "66048", NULL);
	add(f, "uid=locked,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "cn", "Locked", "mail", "locked@example.com",
	    "pwdAccountLockedTime", "20261101120000Z", NULL);
	add(f, "uid=ns,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "cn", "Ns", "mail", "ns@example.com",
	    "nsAccountLock", "TRUE", NULL);
	USER(f, "Hidden", G2, "mail", "hidden@example.com",
	     "msExchHideFromAddressLists", "TRUE");
	USER(f, "Shown", G3, "mail", "shown@example.com",
	     "msExchHideFromAddressLists", "FALSE");
	USER(f, "No Mail", G4, "userPrincipalName", "nomail@example.com");
	/* a computer is never synced, even with a mail value */
	add(f, "CN=WS1,OU=Computers,DC=example,DC=com", "objectClass", "user",
	    "objectClass", "computer", "cn", "WS1", "mail",
	    "ws1@example.com", "userAccountControl", "4096", NULL);
	apply(f);
	want(f, MK_MAILBOX, "in@example.com");
	want(f, MK_MAILBOX, "on2@example.com");
	want(f, MK_MAILBOX, "shown@example.com");
	absent(f, "off@example.com");
	absent(f, "off2@example.com");
	absent(f, "locked@example.com");
	absent(f, "ns@example.com");
	absent(f, "hidden@example.com");
	absent(f, "nomail@example.com");
	absent(f, "ws1@example.com");
	assert_int_equal(count_kind(f, MK_MAILBOX), 3);
	assert_int_equal(f->r.in_scope, 3);
	assert_int_equal(f->r.scope_counts[SC_DISABLED], 4);
	assert_int_equal(f->r.scope_counts[SC_HIDDEN], 1);
	assert_int_equal(f->r.scope_counts[SC_NO_ADDRESS], 1);
	assert_int_equal(f->r.nwarnings, 0);
}

static void
test_scope_switches_off(void **state)
{
	struct fx *f = *state;

	f->c.scope.enabled_only = false;
	f->c.scope.visible_only = false;
	f->c.scope.mail_enabled_only = false;
	add(f, "CN=Off,OU=Staff,DC=example,DC=com", "objectClass", "user",
	    "cn", "Off", "mail", "off@example.com", "userAccountControl",
	    "514", NULL);
	USER(f, "Hidden", G2, "mail", "hidden@example.com",
	     "msExchHideFromAddressLists", "TRUE");
	/* no mail: the userPrincipalName */
	USER(f, "No Mail", G4, "userPrincipalName", "NoMail@example.com");
	apply(f);
	want(f, MK_MAILBOX, "off@example.com");
	want(f, MK_MAILBOX, "hidden@example.com");
	want(f, MK_MAILBOX, "nomail@example.com");
}

static void
test_exclude(void **state)
{
	struct fx *f = *state;

	set_list(&f->c.scope.exclude,
		 LIST("svc-*", "test??", "*,OU=Contractors,DC=example,DC=com",
		      "*@example.net", "kiosk[0-9]", "[!a-z]*"));
	USER(f, "Ann", G1, "mail", "ann@example.com", "sAMAccountName", "ann",
	     "proxyAddresses", "smtp:ann@example.net");
	USER(f, "Printer", G2, "mail", "printer@example.com",
	     "sAMAccountName", "svc-print");
	USER(f, "Test01", G3, "mail", "t01@example.com", "sAMAccountName",
	     "test01");
	USER(f, "Test1", G4, "mail", "t1@example.com", "sAMAccountName",
	     "test1");
	add(f, "cn=Carl,ou=contractors,dc=example,dc=com", "objectClass",
	    "user", "cn", "Carl", "mail", "carl@example.com",
	    "sAMAccountName", "carl", "objectGUID", G5, NULL);
	USER(f, "Ned", G6, "mail", "ned@example.net", "sAMAccountName", "ned");
	USER(f, "Kiosk7", G7, "mail", "k7@example.com", "sAMAccountName",
	     "kiosk7");
	USER(f, "Nine", G8, "mail", "nine@example.com", "sAMAccountName",
	     "9lives");
	apply(f);
	want(f, MK_MAILBOX, "ann@example.com");
	want(f, MK_ALIAS, "ann@example.net");   /* only primaries excluded */
	want(f, MK_MAILBOX, "t1@example.com");
	assert_int_equal(count_kind(f, MK_MAILBOX), 2);
	assert_int_equal(f->r.scope_counts[SC_EXCLUDED], 6);
}

/* Issue 14: who was left out, why, by which rule; names on objects. */
static void
test_left_out_named(void **state)
{
	struct fx *f = *state;
	const struct left_out *l;

	set_list(&f->c.scope.exclude, LIST("svc-*"));
	USER(f, "Printer", G1, "mail", "printer@example.com",
	     "sAMAccountName", "svc-print");
	add(f, "CN=Off,OU=Staff,DC=example,DC=com", "objectClass", "user",
	    "cn", "Off", "mail", "off@example.com", "sAMAccountName", "off",
	    "userAccountControl", "514", "objectGUID", G2, NULL);
	USER(f, "Ann", G3, "mail", "ann@example.com", "sAMAccountName", "ann",
	     "proxyAddresses", "smtp:shared@example.com");
	add(f, "uid=bo,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "cn", "Bo", "uid", "bo", "mail", "bo@example.com",
	    "mail", "shared@example.com", "entryUUID", "u-bo", NULL);
	apply(f);
	l = strmap_get(&f->r.left_out, A1);
	assert_non_null(l);
	assert_int_equal(l->why, LR_EXCLUDED);
	assert_string_equal(l->account, "svc-print");
	assert_string_equal(l->dn, "CN=Printer,OU=Staff,DC=example,DC=com");
	assert_string_equal(l->address, "printer@example.com");
	assert_string_equal(l->detail, "exclude pattern svc-* matched the "
				       "account svc-print");
	l = strmap_get(&f->r.left_out, A2);
	assert_non_null(l);
	assert_int_equal(l->why, LR_DISABLED);
	assert_string_equal(l->detail,
			    "userAccountControl bit 2 (ACCOUNTDISABLE)");
	assert_null(strmap_get(&f->r.left_out, A3));
	assert_string_equal(want(f, MK_MAILBOX, "ann@example.com")->account,
			    "ann");
	assert_string_equal(want(f, MK_MAILBOX, "bo@example.com")->account,
			    "bo");
	assert_string_equal(want(f, MK_MAILBOX, "bo@example.com")->dn,
			    "uid=bo,ou=people,dc=example,dc=com");
	/* the conflict names both claimants, in claimed_by's order */
	assert_int_equal(f->r.nconflicts, 1);
	assert_int_equal(f->r.conflicts[0].n, 2);
	assert_string_equal(f->r.conflicts[0].claimed_by[0], A3);
	assert_string_equal(f->r.conflicts[0].accounts[0], "ann");
	assert_string_equal(f->r.conflicts[0].claimed_by[1], "u-bo");
	assert_string_equal(f->r.conflicts[0].accounts[1], "bo");
	assert_string_equal(f->r.conflicts[0].dns[1],
			    "uid=bo,ou=people,dc=example,dc=com");
}

/* A member_of group outside base_dn is named as such, and counted. */
static void
test_member_of_outside_base(void **state)
{
	struct fx *f = *state;

	free(f->c.source.base_dn);
	f->c.source.base_dn = strdup("DC=example,DC=com");
	set_list(&f->c.scope.member_of,
		 LIST("CN=Staff,DC=other,DC=org",
		      "CN=Nope,OU=Groups,DC=example,DC=com"));
	USER(f, "Ann", G1, "mail", "ann@example.com");
	apply(f);
	assert_int_equal(f->r.member_of_missing, 2);
	assert_int_equal(f->r.nwarnings, 2);
	assert_non_null(strstr(f->r.warnings[0], "CN=Staff,DC=other,DC=org "
				"was not found in the directory: it is "
				"outside base_dn DC=example,DC=com"));
	assert_null(strstr(f->r.warnings[1], "outside"));
	assert_int_equal(((const struct left_out *)strmap_get(
				  &f->r.left_out, A1))->why,
			 LR_NOT_MEMBER);
}

static void
test_object_types(void **state)
{
	struct fx *f = *state;

	f->c.scope.object_types = OT_USERS;
	USER(f, "Ann", G1, "mail", "ann@example.com");
	GROUP(f, "Team", G2, "mail", "team@example.com", "member",
	      STAFF("Ann"));
	add(f, "CN=P,OU=Contacts,DC=example,DC=com", "objectClass", "contact",
	    "cn", "P", "mail", "p@partner.org", "proxyAddresses",
	    "smtp:p@example.com", "objectGUID", G3, NULL);
	apply(f);
	want(f, MK_MAILBOX, "ann@example.com");
	absent(f, "team@example.com");
	absent(f, "p@example.com");
	assert_int_equal(f->r.scope_counts[SC_TYPE_OFF], 2);
}

static void
test_member_of_nested(void **state)
{
	struct fx *f = *state;

	set_list(&f->c.scope.member_of,
		 LIST("cn=mail users, ou=groups, dc=example, dc=com"));
	USER(f, "Ann", G1, "mail", "ann@example.com");
	USER(f, "Bob", G2, "mail", "bob@example.com");
	USER(f, "Dan", G3, "mail", "dan@example.com");
	GROUP(f, "Mail Users", G4, "member", STAFF("Ann"), "member",
	      GRP("Inner"));
	/* Inner holds Bob and, in a cycle, Mail Users itself */
	GROUP(f, "Inner", G5, "member", STAFF("Bob"), "member",
	      GRP("Mail Users"));
	GROUP(f, "Team", G6, "mail", "team@example.com", "member",
	      STAFF("Ann"), "member", STAFF("Dan"));
	apply(f);
	want(f, MK_MAILBOX, "ann@example.com");
	want(f, MK_MAILBOX, "bob@example.com");
	absent(f, "dan@example.com");
	assert_string_equal(want(f, MK_LIST, "team@example.com")->gotos,
			    "ann@example.com");
	assert_int_equal(f->r.scope_counts[SC_NOT_MEMBER], 1);
}

/* ---- conflicts ---------------------------------------------------- */

static void
test_conflict_alias(void **state)
{
	struct fx *f = *state;

	USER(f, "Emma", G2, "mail", "emma@example.com", "proxyAddresses",
	     "smtp:info@example.com");
	USER(f, "Dan", G1, "mail", "dan@example.com", "proxyAddresses",
	     "smtp:INFO@example.com");
	apply(f);
	/* neither gets it; both keep everything else */
	absent(f, "info@example.com");
	want(f, MK_MAILBOX, "dan@example.com");
	want(f, MK_MAILBOX, "emma@example.com");
	assert_int_equal(f->r.nconflicts, 1);
	assert_string_equal(f->r.conflicts[0].address, "info@example.com");
	assert_int_equal(f->r.conflicts[0].n, 2);
	/* claimants sorted, so reports are stable */
	assert_string_equal(f->r.conflicts[0].claimed_by[0], A1);
	assert_string_equal(f->r.conflicts[0].claimed_by[1], A2);
	assert_non_null(strmap_get(&f->r.frozen_addresses,
				   "info@example.com"));
	/* only an alias is contested: nobody is frozen */
	assert_null(strmap_get(&f->r.frozen_anchors, A1));
	assert_null(strmap_get(&f->r.frozen_anchors, A2));
}

static void
test_conflict_primary(void **state)
{
	struct fx *f = *state;

	USER(f, "Pat", G1, "mail", "shared@example.com", "proxyAddresses",
	     "smtp:pat@example.com");
	USER(f, "Quinn", G2, "mail", "Shared@Example.com");
	/* Sam claims Rita's primary as his alias */
	USER(f, "Rita", G3, "mail", "rita@example.com", "proxyAddresses",
	     "smtp:r.ames@example.com");
	USER(f, "Sam", G4, "mail", "sam@example.com", "proxyAddresses",
	     "smtp:rita@example.com", "proxyAddresses",
	     "smtp:s.cole@example.com");
	GROUP(f, "Team", G5, "mail", "team@example.com", "member",
	      STAFF("Pat"), "member", STAFF("Rita"), "member", STAFF("Sam"));
	apply(f);
	/* the objects whose primary is contested are left alone entirely */
	absent(f, "shared@example.com");
	absent(f, "pat@example.com");
	absent(f, "rita@example.com");
	absent(f, "r.ames@example.com");
	assert_non_null(strmap_get(&f->r.frozen_anchors, A1));
	assert_non_null(strmap_get(&f->r.frozen_anchors, A2));
	assert_non_null(strmap_get(&f->r.frozen_anchors, A3));
	want(f, MK_MAILBOX, "sam@example.com");
	want(f, MK_ALIAS, "s.cole@example.com");
	assert_string_equal(want(f, MK_LIST, "team@example.com")->gotos,
			    "sam@example.com");
	assert_int_equal(f->r.nconflicts, 2);
	assert_string_equal(f->r.conflicts[0].address, "rita@example.com");
	assert_string_equal(f->r.conflicts[1].address, "shared@example.com");
}

static void
test_three_claimants_and_self(void **state)
{
	struct fx *f = *state;

	USER(f, "A", G1, "mail", "a@example.com", "proxyAddresses",
	     "smtp:sales@example.com", "proxyAddresses",
	     "smtp:a@example.com");
	USER(f, "B", G2, "mail", "b@example.com", "proxyAddresses",
	     "smtp:sales@example.com");
	GROUP(f, "Sales", G3, "mail", "sales-team@example.com",
	      "proxyAddresses", "smtp:sales@example.com", "member",
	      STAFF("A"));
	apply(f);
	assert_int_equal(f->r.nconflicts, 1);
	assert_int_equal(f->r.conflicts[0].n, 3);
	/* A's own primary listed as its alias is no conflict */
	want(f, MK_MAILBOX, "a@example.com");
	want(f, MK_LIST, "sales-team@example.com");
}

/* ---- lists and contacts ------------------------------------------- */

static void
test_lists_cycle_safe(void **state)
{
	struct fx *f = *state;

	USER(f, "Ann", G1, "mail", "ann@example.com");
	USER(f, "Bob", G2, "mail", "bob@example.com");
	USER(f, "Cy", G3, "mail", "cy@example.com");
	/* L1 <-> L2, and L3 is its own member */
	GROUP(f, "L1", G4, "mail", "l1@example.com", "member", GRP("L2"),
	      "member", STAFF("Ann"));
	GROUP(f, "L2", G5, "mail", "l2@example.com", "member", GRP("L1"),
	      "member", STAFF("Bob"), "member", STAFF("Ann"));
	GROUP(f, "L3", G6, "mail", "l3@example.com", "member", GRP("L3"),
	      "member", STAFF("Cy"), "member",
	      "CN=Nobody,OU=Staff,DC=example,DC=com");
	apply(f);
	assert_string_equal(want(f, MK_LIST, "l1@example.com")->gotos,
			    "ann@example.com,bob@example.com");
	assert_string_equal(want(f, MK_LIST, "l2@example.com")->gotos,
			    "ann@example.com,bob@example.com");
	assert_string_equal(want(f, MK_LIST, "l3@example.com")->gotos,
			    "cy@example.com");
	assert_string_equal(want(f, MK_LIST, "l1@example.com")->anchor,
			    "00000004-0000-0000-0000-000000000000");
}

static void
test_lists_deep_nesting(void **state)
{
	struct fx *f = *state;
	char dn[64], member[64], cn[16];
	int i;
	const int depth = 2000;

	/* a chain of 2000 groups without an address: no recursion limit */
	USER(f, "Ann", G1, "mail", "ann@example.com");
	for (i = 0; i < depth; i++) {
		snprintf(cn, sizeof(cn), "n%d", i);
		snprintf(dn, sizeof(dn), "CN=n%d,OU=Groups,DC=example,DC=com",
			 i);
		if (i + 1 < depth)
			snprintf(member, sizeof(member),
				 "CN=n%d,OU=Groups,DC=example,DC=com", i + 1);
		else
			snprintf(member, sizeof(member), "%s", STAFF("Ann"));
		add(f, dn, "objectClass", "group", "cn", cn, "member", member,
		    NULL);
	}
	GROUP(f, "Top", G2, "mail", "top@example.com", "member",
	      "CN=n0,OU=Groups,DC=example,DC=com");
	apply(f);
	assert_string_equal(want(f, MK_LIST, "top@example.com")->gotos,
			    "ann@example.com");
	assert_int_equal(count_kind(f, MK_LIST), 1);
}

static void
test_list_members(void **state)
{
	struct fx *f = *state;

	USER(f, "Ann", G1, "mail", "ann@example.com");
	add(f, "CN=Dora,OU=Staff,DC=example,DC=com", "objectClass", "user",
	    "cn", "Dora", "mail", "dora@example.com", "userAccountControl",
	    "514", "objectGUID", G2, NULL);
	add(f, "CN=Paula,OU=Contacts,DC=example,DC=com", "objectClass",
	    "contact", "cn", "Paula", "mail", "partner@partner.org",
	    "targetAddress", "SMTP:Partner@Partner.org", "objectGUID", G3,
	    NULL);
	/* a security group without address: nesting only, not a list */
	GROUP(f, "Nest", G4, "member", STAFF("Ann"));
	GROUP(f, "Mixed", G5, "mail", "mixed@example.com", "proxyAddresses",
	      "SMTP:mixed@example.com", "proxyAddresses",
	      "smtp:mixed@example.net", "member", GRP("Nest"), "member",
	      STAFF("Dora"), "member", "CN=Paula,OU=Contacts,DC=example,DC=com",
	      "member", "cn=ann, ou=staff, dc=example, dc=com");
	GROUP(f, "Empty", G6, "mail", "empty@example.com");
	GROUP(f, "Gone", G7, "mail", "gone@example.com", "member",
	      STAFF("Dora"));
	apply(f);
	/* each member once, sorted; the contact by its external address */
	assert_string_equal(want(f, MK_LIST, "mixed@example.com")->gotos,
			    "ann@example.com,partner@partner.org");
	assert_string_equal(want(f, MK_LIST, "mixed@example.com")->name,
			    "Mixed");
	/* a list's aliases point at the list */
	assert_string_equal(want(f, MK_ALIAS, "mixed@example.net")->gotos,
			    "mixed@example.com");
	absent(f, "empty@example.com");
	absent(f, "gone@example.com");
	assert_int_equal(warned(f, "has no members in scope"), 2);
	assert_int_equal(count_kind(f, MK_LIST), 1);
}

static void
test_contacts(void **state)
{
	struct fx *f = *state;

	/* targetAddress (SMTP: stripped) is the external address; internal
	 * smtp: addresses in accepted domains forward to it */
	add(f, "CN=Paula,OU=Contacts,DC=example,DC=com", "objectClass",
	    "contact", "cn", "Paula", "mail", "partner@partner.org",
	    "targetAddress", "SMTP:partner@partner.org", "proxyAddresses",
	    "SMTP:partner@partner.org", "proxyAddresses",
	    "smtp:partner@example.com", "proxyAddresses",
	    "smtp:partner@example.net", "objectGUID", G1, NULL);
	/* no targetAddress: mail is external */
	add(f, "CN=Mo,OU=Contacts,DC=example,DC=com", "objectClass",
	    "contact", "cn", "Mo", "mail", "mo@vendor.com", "proxyAddresses",
	    "smtp:mo@example.com", "objectGUID", G2, NULL);
	/* external only: no rows; no address at all: out of scope */
	add(f, "CN=Ken,OU=Contacts,DC=example,DC=com", "objectClass",
	    "contact", "cn", "Ken", "mail", "ken@external.org", "objectGUID",
	    G3, NULL);
	add(f, "CN=Nil,OU=Contacts,DC=example,DC=com", "objectClass",
	    "contact", "cn", "Nil", "objectGUID", G4, NULL);
	apply(f);
	assert_string_equal(want(f, MK_CONTACT, "partner@example.com")->gotos,
			    "partner@partner.org");
	assert_string_equal(want(f, MK_CONTACT, "partner@example.net")->gotos,
			    "partner@partner.org");
	assert_string_equal(want(f, MK_CONTACT, "mo@example.com")->gotos,
			    "mo@vendor.com");
	absent(f, "partner@partner.org");
	absent(f, "ken@external.org");
	assert_int_equal(count_kind(f, MK_CONTACT), 3);
	assert_int_equal(count_kind(f, MK_MAILBOX), 0);
	assert_int_equal(f->r.in_scope, 3);
	assert_int_equal(f->r.nwarnings, 0);
}

static void
test_bad_group_filter(void **state)
{
	struct fx *f = *state;
	struct err err;

	free(f->c.mapping.group_filter);
	f->c.mapping.group_filter = strdup("(objectClass=group");
	USER(f, "Ann", G1, "mail", "ann@example.com");
	err_clear(&err);
	assert_int_equal(rules_apply(&f->c, &f->s, &f->r, &err), -1);
	assert_int_equal(err.code, DS_E_CONFIG);
}

static void
test_empty_directory(void **state)
{
	struct fx *f = *state;

	apply(f);
	assert_int_equal(f->r.in_scope, 0);
	assert_int_equal(f->r.nconflicts, 0);
	/* only the accepted domains */
	assert_int_equal(f->r.desired.n, 2);
}

static void
test_rules_attrs(void **state)
{
	struct fx *f = *state;
	const char **v;
	size_t i, n, mail = 0, alt = 0, proxy = 0, member = 0;

	/* the source must fetch the configured attributes, each once */
	free(f->c.mapping.email_attribute);
	f->c.mapping.email_attribute = strdup("userPrincipalName");
	set_list(&f->c.mapping.alias_attributes,
		 LIST("mailAlternateAddress", "proxyAddresses", "MAIL"));
	v = rules_attrs(&f->c);
	for (n = 0; v[n] != NULL; n++) {
		for (i = 0; i < n; i++)
			if (strcasecmp(v[i], v[n]) == 0)
				fail_msg("%s requested twice", v[n]);
		mail += strcasecmp(v[n], "mail") == 0;
		alt += strcasecmp(v[n], "mailAlternateAddress") == 0;
		proxy += strcasecmp(v[n], "proxyAddresses") == 0;
		member += strcasecmp(v[n], "member") == 0;
	}
	assert_int_equal(mail, 1);
	assert_int_equal(alt, 1);
	assert_int_equal(proxy, 1);
	assert_int_equal(member, 1);
	for (i = 0; i < n; i++)
		if (strcasecmp(v[i], "userPrincipalName") == 0)
			break;
	assert_true(i < n);
	free(v);
}

static void
test_rules_attrs_group_filter(void **state)
{
	struct fx *f = *state;
	const char **v;
	size_t n, found = 0;

	/* what group_filter tests must be read, or it never matches */
	free(f->c.mapping.group_filter);
	f->c.mapping.group_filter = strdup(
		"(&(objectClass=group)"
		"(!(groupType:1.2.840.113556.1.4.803:=2147483648)))");
	v = rules_attrs(&f->c);
	for (n = 0; v[n] != NULL; n++)
		found += strcasecmp(v[n], "groupType") == 0;
	free(v);
	assert_int_equal(found, 1);
}

/* Every desired object as one line "kind address anchor goto". */
static char *
desired_text(const struct rules_result *r)
{
	char *s = NULL, *lines[256];
	size_t i, n = 0, len = 0;
	FILE *fp;

	assert_true(r->desired.n < 256);
	for (i = 0; i < r->desired.n; i++) {
		const struct mobj *o = r->desired.v[i];

		if (asprintf(&lines[n++], "%s %s %s %s %s\n",
			     mkind_name(o->kind), o->address,
			     o->anchor ? o->anchor : "-", o->name ? o->name : "-",
			     o->gotos ? o->gotos : "-") < 0)
			abort();
	}
	qsort(lines, n, sizeof(char *), cmp_line);
	fp = open_memstream(&s, &len);
	assert_non_null(fp);
	for (i = 0; i < n; i++) {
		fputs(lines[i], fp);
		free(lines[i]);
	}
	fclose(fp);
	return s;
}

/* The entries of one small directory, in the order given by idx. */
static void
add_directory(struct fx *f, const int *idx)
{
	int i;

	for (i = 0; idx[i] >= 0; i++) {
		switch (idx[i]) {
		case 0:
			USER(f, "Ann", G1, "mail", "ann@example.com",
			     "proxyAddresses", "smtp:info@example.com");
			break;
		case 1:
			USER(f, "Bob", G2, "mail", "bob@example.com",
			     "proxyAddresses", "smtp:info@example.com");
			break;
		case 2:
			GROUP(f, "Outer", G3, "mail", "outer@example.com",
			      "member", GRP("Inner"), "member", STAFF("Ann"));
			break;
		case 3:
			GROUP(f, "Inner", G4, "member", STAFF("Bob"), "member",
			      GRP("Outer"), "member",
			      "CN=Paula,OU=Contacts,DC=example,DC=com");
			break;
		case 4:
			add(f, "CN=Paula,OU=Contacts,DC=example,DC=com",
			    "objectClass", "contact", "cn", "Paula", "mail",
			    "p@partner.org", "proxyAddresses",
			    "smtp:p@example.com", "objectGUID", G5, NULL);
			break;
		}
	}
}

static void
test_order_independent(void **state)
{
	struct fx *f = *state;
	static const int fwd[] = {0, 1, 2, 3, 4, -1};
	static const int rev[] = {4, 3, 2, 1, 0, -1};
	static const int mix[] = {2, 4, 0, 3, 1, -1};
	const int *orders[] = {rev, mix};
	char *first, *other;
	size_t k;

	/* an LDAP server delivers entries in any order: same result */
	add_directory(f, fwd);
	apply(f);
	first = desired_text(&f->r);
	assert_non_null(strstr(first, "list outer@example.com " /* */
				      "00000003-0000-0000-0000-000000000000 "
				      "Outer ann@example.com,bob@example.com,"
				      "p@partner.org\n"));
	for (k = 0; k < 2; k++) {
		rules_free(&f->r);
		snapshot_free(&f->s);
		rules_init(&f->r);
		snapshot_init(&f->s);
		add_directory(f, orders[k]);
		apply(f);
		other = desired_text(&f->r);
		assert_string_equal(other, first);
		assert_int_equal(f->r.nconflicts, 1);
		free(other);
	}
	free(first);
}

/* ---- field cases (issue 9) ----------------------------------------- */

/* Expiry is judged against r.now: the same entries, two clocks. */
static void
test_expiry_clock(void **state)
{
	struct fx *f = *state;
	/* accountExpires 2026-06-30 00:00 UTC; shadowExpire 2026-06-15;
	 * pwdEndTime 2026-06-20 */
	USER(f, "Vic", G1, "mail", "vic@example.com", "accountExpires",
	     "134272512000000000");
	USER(f, "Wen", G2, "mail", "wen@example.com", "accountExpires", "0");
	USER(f, "Xia", G3, "mail", "xia@example.com", "accountExpires",
	     "9223372036854775807");
	add(f, "uid=sam,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "cn", "Sam", "mail", "sam@example.com",
	    "shadowExpire", "20619", NULL);
	add(f, "uid=pat,ou=people,dc=example,dc=com", "objectClass",
	    "inetOrgPerson", "cn", "Pat", "mail", "pat@example.com",
	    "pwdEndTime", "20260620000000Z", NULL);
	f->r.now = 1780315200;          /* 2026-06-01 12:00 UTC */
	apply(f);
	assert_int_equal(count_kind(f, MK_MAILBOX), 5);
	rules_free(&f->r);
	rules_init(&f->r);
	f->r.now = 1782907200;          /* 2026-07-01 12:00 UTC */
	apply(f);
	want(f, MK_MAILBOX, "wen@example.com");
	want(f, MK_MAILBOX, "xia@example.com");
	absent(f, "vic@example.com");
	absent(f, "sam@example.com");
	absent(f, "pat@example.com");
	assert_int_equal(f->r.scope_counts[SC_EXPIRED], 3);
	rules_free(&f->r);
	rules_init(&f->r);
	f->c.scope.enabled_only = false;
	apply(f);
	assert_int_equal(count_kind(f, MK_MAILBOX), 5);
}

/* objectSid: revision 1, 5 sub-authorities 21-1-2-3-rid, authority 5 */
static void
sid_bytes(unsigned char out[28], unsigned rid)
{
	static const unsigned sub[4] = {21, 1, 2, 3};
	int i;

	memset(out, 0, 28);
	out[0] = 1;
	out[1] = 5;
	out[7] = 5;
	for (i = 0; i < 5; i++) {
		unsigned v = i < 4 ? sub[i] : rid;

		out[8 + 4 * i] = (unsigned char)v;
		out[9 + 4 * i] = (unsigned char)(v >> 8);
	}
}

/* One entry with binary objectSid, built by hand (add() takes text). */
static void
add_sid(struct fx *f, const char *dn, const char *cls, const char *mail,
	unsigned rid, const char *pgid, const char *member)
{
	unsigned char sid[28];
	struct val oc[2] = {{"top", 3}, {cls, strlen(cls)}};
	struct val sv = {(const char *)sid, sizeof(sid)};
	struct val mv = {mail, mail ? strlen(mail) : 0};
	struct val pv = {pgid, pgid ? strlen(pgid) : 0};
	struct val memv = {member, member ? strlen(member) : 0};
	struct attr at[5];
	struct entry e;
	size_t n = 0;

	sid_bytes(sid, rid);
	at[n++] = (struct attr){"objectClass", 2, oc};
	at[n++] = (struct attr){"objectSid", 1, &sv};
	if (mail)
		at[n++] = (struct attr){"mail", 1, &mv};
	if (pgid)
		at[n++] = (struct attr){"primaryGroupID", 1, &pv};
	if (member)
		at[n++] = (struct attr){"member", 1, &memv};
	memset(&e, 0, sizeof(e));
	e.dn = dn;
	e.nattrs = n;
	e.attrs = at;
	e.origin = "test";
	assert_int_equal(snapshot_add(&f->s, &e, NULL), 0);
}

/* AD primary groups count for member_of, nesting and lists. */
static void
test_primary_group(void **state)
{
	struct fx *f = *state;
	const struct mobj *l;

	add_sid(f, STAFF("Kim"), "user", "kim@example.com", 1101, "1105",
		NULL);
	add_sid(f, STAFF("Lou"), "user", "lou@example.com", 1102, "513",
		NULL);
	add_sid(f, GRP("Mail Users"), "group", NULL, 1105, NULL, NULL);
	add_sid(f, GRP("Domain Users"), "group", NULL, 513, NULL, NULL);
	add_sid(f, GRP("All"), "group", "all@example.com", 1200, NULL,
		GRP("Mail Users"));
	set_list(&f->c.scope.member_of, LIST(GRP("Mail Users")));
	apply(f);
	want(f, MK_MAILBOX, "kim@example.com");
	absent(f, "lou@example.com");
	l = want(f, MK_LIST, "all@example.com");
	assert_string_equal(l->gotos, "kim@example.com");
	rules_free(&f->r);
	rules_init(&f->r);
	/* Domain Users holds every account of its domain, Kim too (her
	 * former primary group) */
	set_list(&f->c.scope.member_of, LIST(GRP("domain users")));
	apply(f);
	want(f, MK_MAILBOX, "lou@example.com");
	want(f, MK_MAILBOX, "kim@example.com");
}

/* Every spelling of a DN LDAP treats as the same entry matches. */
static void
test_dn_spellings(void **state)
{
	static const char *const same[][2] = {
		{"CN=Gil\\2C Ann,OU=Staff,DC=example,DC=com",
		 "cn=gil\\, ann,ou=staff,dc=example,dc=com"},
		{"CN=Fay Orr, OU=Staff, DC=example, DC=com",
		 "cn=fay orr,ou=staff,dc=example,dc=com"},
		{"CN=\"Doe, John\",OU=Staff", "cn=Doe\\, John,ou=staff"},
		{"CN=J\\C3\\BCRGEN,O=x", "cn=J\xc3\x9crgen,o=x"},
		{"cn=a+uid=b,o=x", "UID=b+CN=a,O=x"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char *a = dn_normalize(same[i][0]), *b = dn_normalize(same[i][1]);

		if (strcmp(a, b) != 0)
			fail_msg("'%s' -> '%s' but '%s' -> '%s'", same[i][0],
				 a, same[i][1], b);
		free(a);
		free(b);
	}
}

/*
 * dn_normalize() builds plain DNs itself and leaves the rest to libldap:
 * on random DNs, plain ones and ones with a character or a space that
 * needs the parser, both must agree with libldap alone.
 */
static unsigned
rnd(unsigned *seed, unsigned n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) % n;
}

/* dn_normalize() and dn_normalize_arena() give libldap's form of dn. */
static void
dn_agree(struct arena *ar, const char *dn)
{
	char *a = dn_normalize(dn), *b = dn_normalize_ldap(dn);
	const char *c = dn_normalize_arena(ar, dn);

	if (strcmp(a, b) != 0)
		fail_msg("'%s': '%s' but libldap '%s'", dn, a, b);
	if (strcmp(c, b) != 0)
		fail_msg("'%s': arena '%s' but libldap '%s'", dn, c, b);
	free(a);
	free(b);
}

static void
test_dn_plain_agrees(void **state)
{
	static const char *const types[] = {"CN", "ou", "Dc", "uid",
					    "ms-Type", "2.5.4.3", "OID.2.5.4.3",
					    " cn", "cn "};
	static const char plain[] = "aZq09-._@";
	static const char *const odd[] = {" ", "  ", "\\,", "\\2C", "+",
					  "\"", "#", ";", "<", "\xc3\x9c",
					  "=", ",", "\\ "};
	struct arena ar = ARENA_INIT;
	char dn[256];
	size_t i, r, k, len;
	unsigned seed = 12345;

	(void)state;
	for (i = 0; i < 100000; i++) {
		len = 0;
		for (r = 0; r < 1 + rnd(&seed, 4); r++) {
			len += (size_t)snprintf(dn + len, sizeof(dn) - len,
						"%s%s=", r ? "," : "",
						types[rnd(&seed, 9)]);
			for (k = 0; k < 1 + rnd(&seed, 8); k++) {
				if (rnd(&seed, 40) == 0)
					len += (size_t)snprintf(
						dn + len, sizeof(dn) - len, "%s",
						odd[rnd(&seed, 13)]);
				else if (rnd(&seed, 6) == 0 && k > 0)
					dn[len++] = ' ';
				else
					dn[len++] = plain[rnd(&seed, 9)];
			}
			dn[len] = '\0';
		}
		dn_agree(&ar, dn);
	}
	arena_free(&ar);
}

/*
 * Every byte at every place of a DN: first or later in a type, first or
 * later in a value, after a space, last; and plain DNs longer than
 * dn_normalize_arena()'s stack buffer (256).
 */
static void
test_dn_plain_bytes(void **state)
{
	/* '*' marks the place */
	static const char *const shapes[] = {
		"*n=a,dc=b", "c*=a,dc=b", "cn*=a", "cn=*", "cn=*b",
		"cn=a*", "cn=a*b", "cn=a *b", "cn=a *", "cn=a,*",
		"cn=a,d*=b", "cn=a*,dc=b", "cn=a*=b", "*",
	};
	struct arena ar = ARENA_INIT;
	char dn[1200];
	size_t i, k, n;
	int c;

	(void)state;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		for (c = 1; c < 256; c++) {
			snprintf(dn, sizeof(dn), "%s", shapes[i]);
			*strchr(dn, '*') = (char)c;
			dn_agree(&ar, dn);
		}
	for (n = 240; n < 1100; n += 7) {
		/* "CN=Aaaa Bbbb...,OU=X1,...": about n bytes, plain */
		k = (size_t)snprintf(dn, sizeof(dn), "CN=Ann Lee %zu", n);
		while (k + 12 < n)
			k += (size_t)snprintf(dn + k, sizeof(dn) - k,
					      ",OU=Unit-%zu", k);
		dn_agree(&ar, dn);
		/* and with a character only libldap takes, at the end */
		snprintf(dn + k, sizeof(dn) - k, ",DC=a\\,b");
		dn_agree(&ar, dn);
	}
	arena_free(&ar);
}

/*
 * An object with N address values, the first nother of them outside the
 * accepted domains; its primary from mail (mail != NULL) or as the
 * SMTP: value first in proxyAddresses.  Returns its alias objects.
 */
static size_t
alias_cap_case(struct fx *f, size_t n, size_t nother, const char *mail)
{
	struct val *v = calloc(n + 1, sizeof(*v));
	char (*txt)[64] = calloc(n + 1, sizeof(*txt));
	struct val oc = {"user", 4}, mv = {mail, mail ? strlen(mail) : 0};
	struct attr at[3];
	struct entry e;
	size_t i, k = 0;

	assert_non_null(v);
	assert_non_null(txt);
	if (mail == NULL) {
		snprintf(txt[k], sizeof(txt[k]), "SMTP:big@example.com");
		v[k].p = txt[k];
		v[k].len = strlen(txt[k]);
		k++;
	}
	for (i = 0; i < n; i++, k++) {
		snprintf(txt[k], sizeof(txt[k]), "smtp:a%zu@%s", i,
			 i < nother ? "elsewhere.org" : "example.com");
		v[k].p = txt[k];
		v[k].len = strlen(txt[k]);
	}
	memset(&e, 0, sizeof(e));
	e.dn = "CN=Big,OU=Staff,DC=example,DC=com";
	e.attrs = at;
	at[e.nattrs++] = (struct attr){"objectClass", 1, &oc};
	if (mail != NULL)
		at[e.nattrs++] = (struct attr){"mail", 1, &mv};
	at[e.nattrs++] = (struct attr){"proxyAddresses", k, v};
	assert_int_equal(snapshot_add(&f->s, &e, NULL), 0);
	apply(f);
	free(v);
	free(txt);
	return count_kind(f, MK_ALIAS);
}

/*
 * More than 4096 addresses: the first 4096 kept, the primary one of
 * them, whether it comes from mail or from an SMTP: value, and those
 * outside the accepted domains (dropped anyway) not counted; warned.
 */
static void
test_alias_cap(void **state)
{
	struct fx *f = *state;

	assert_int_equal(alias_cap_case(f, 4100, 0, "big@example.com"), 4095);
	assert_int_equal(warned(f, "CN=Big,OU=Staff,DC=example,DC=com: more "
				   "than 4096 addresses"), 1);
}

static void
test_alias_cap_smtp_primary(void **state)
{
	struct fx *f = *state;

	assert_int_equal(alias_cap_case(f, 4200, 0, NULL), 4095);
	assert_int_equal(warned(f, "more than 4096 addresses; "
				   "a4095@example.com and any after"), 1);
}

static void
test_alias_cap_exact(void **state)
{
	struct fx *f = *state;

	assert_int_equal(alias_cap_case(f, 4095, 0, NULL), 4095);
	assert_int_equal(warned(f, "more than 4096"), 0);
}

static void
test_alias_cap_counts_accepted(void **state)
{
	struct fx *f = *state;

	/* 100 elsewhere.org values first: 4095 accepted aliases still fit */
	assert_int_equal(alias_cap_case(f, 4195, 100, "big@example.com"),
			 4095);
	assert_int_equal(warned(f, "more than 4096"), 0);
	assert_int_equal(warned(f, "domain not accepted"), 100);
}

/* Caps that would drop data are config errors. */
static void
test_caps_are_config_errors(void **state)
{
	struct fx *f = *state;
	struct rules_ctx *x;
	struct err err;
	char filter[2048];
	size_t i, o = 0;

	set_list(&f->c.mapping.alias_attributes,
		 LIST("a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9",
		      "a10", "a11", "a12", "a13", "a14", "a15", "a16", "a17"));
	err_clear(&err);
	x = rules_begin(&f->c, &f->r, &err);
	assert_null(x);
	assert_int_equal(err.code, DS_E_CONFIG);
	set_list(&f->c.mapping.alias_attributes, LIST("proxyAddresses"));
	o += (size_t)snprintf(filter + o, sizeof(filter) - o, "(|");
	for (i = 0; i < 65; i++)
		o += (size_t)snprintf(filter + o, sizeof(filter) - o,
				      "(x%zu=1)", i);
	snprintf(filter + o, sizeof(filter) - o, ")");
	free(f->c.mapping.group_filter);
	f->c.mapping.group_filter = strdup(filter);
	err_clear(&err);
	x = rules_begin(&f->c, &f->r, &err);
	assert_null(x);
	assert_int_equal(err.code, DS_E_CONFIG);
	assert_non_null(strstr(err.msg, "64"));
}

/* Names: Latin-1 read as such, control characters become spaces. */
static void
test_bad_bytes_names(void **state)
{
	struct fx *f = *state;

	USER(f, "Juergen", G1, "mail", "j@example.com", "displayName",
	     "J\xfcrgen Wei\xdf");
	USER(f, "Ola", G2, "mail", "ola@example.com", "displayName",
	     "Ola\tNord\n");
	apply(f);
	assert_string_equal(want(f, MK_MAILBOX, "j@example.com")->name,
			    "J\xc3\xbcrgen Wei\xc3\x9f");
	assert_string_equal(want(f, MK_MAILBOX, "ola@example.com")->name,
			    "Ola Nord");
	assert_int_equal(warned(f, "read as Latin-1"), 1);
	assert_int_equal(warned(f, "control characters"), 1);
}

/* Addresses unsafe as paths are refused, from any attribute. */
static void
test_unsafe_addresses(void **state)
{
	static const char *const bad[] = {
		"x/../bob@example.com", "..@example.com", "bob/.@example.com",
		".a@example.com", "a.@example.com", "a..b@example.com",
		"a@exa_mple.com", "a@example..com", "a(b)@example.com",
		"a@.example.com",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *got = rules_norm_address(&f->c, bad[i]);

		if (got != NULL)
			fail_msg("'%s' accepted as '%s'", bad[i], got);
	}
}


/*
 * A list of 10,000 members: past the size whose member values two
 * threads normalise (rules_groups.c, members_par), each half holding
 * DNs that are not plain (an escaped comma, spaces around separators,
 * upper case, a uniqueMember with its "#'0101'B" tail) and are left to
 * libldap after the halves: every member is found.
 */
#define BIG_N 10000

static void
test_big_list_members(void **state)
{
	struct fx *f = *state;
	struct attr ga[5], ua[4];
	struct val *mv = calloc(BIG_N, sizeof(*mv)), uv[4][2], gv[5][1];
	char **dns = calloc(BIG_N, sizeof(*dns));
	char **mdn = calloc(BIG_N, sizeof(*mdn));
	char cn[64], mail[64], guid[16];
	struct entry e;
	const struct mobj *o;
	size_t i, nmem = 0, nuniq = 0, n;

	for (i = 0; i < BIG_N; i++) {
		/* the entry's DN, and how the group's value spells it */
		if (i % 997 == 5) {
			snprintf(cn, sizeof(cn), "Smith\\, J%zu", i);
			dns[i] = NULL;
			asprintf(&dns[i], "CN=%s,OU=Staff,DC=example,DC=com",
				 cn);
			asprintf(&mdn[i], "cn=%s , ou=staff,dc=EXAMPLE,dc=com",
				 cn);
		} else {
			snprintf(cn, sizeof(cn), "User %zu", i);
			asprintf(&dns[i], "CN=%s,OU=Staff,DC=example,DC=com",
				 cn);
			if (i % 1009 == 7)
				asprintf(&mdn[i], "CN=%s,OU=Staff,DC=example,"
					 "DC=com#'0101'B", cn);
			else if (i % 1013 == 9)
				asprintf(&mdn[i], "CN = %s,OU=Staff,"
					 "DC=example,DC=com", cn);
			else
				asprintf(&mdn[i], "cN=%s,ou=STAFF,"
					 "DC=example,DC=com", cn);
		}
		snprintf(mail, sizeof(mail), "u%zu@example.com", i);
		memset(guid, 0, sizeof(guid));
		memcpy(guid, &i, sizeof(i));
		guid[15] = 0x42;
		ua[0] = (struct attr){"objectClass", 2, uv[0]};
		uv[0][0] = (struct val){"top", 3};
		uv[0][1] = (struct val){"user", 4};
		ua[1] = (struct attr){"mail", 1, uv[1]};
		uv[1][0] = (struct val){mail, strlen(mail)};
		ua[2] = (struct attr){"objectGUID", 1, uv[2]};
		uv[2][0] = (struct val){guid, 16};
		ua[3] = (struct attr){"userAccountControl", 1, uv[3]};
		uv[3][0] = (struct val){"512", 3};
		memset(&e, 0, sizeof(e));
		e.dn = dns[i];
		e.nattrs = 4;
		e.attrs = ua;
		e.origin = "test";
		assert_int_equal(snapshot_add(&f->s, &e, NULL), 0);
	}
	/* member values first, then uniqueMember's, as an entry has them */
	for (i = 0; i < BIG_N; i++)
		if (strchr(mdn[i], '#') == NULL)
			mv[nmem++] = (struct val){mdn[i], strlen(mdn[i])};
	for (i = 0; i < BIG_N; i++)
		if (strchr(mdn[i], '#') != NULL)
			mv[nmem + nuniq++] = (struct val){mdn[i],
							  strlen(mdn[i])};
	ga[0] = (struct attr){"objectClass", 1, gv[0]};
	gv[0][0] = (struct val){"group", 5};
	ga[1] = (struct attr){"mail", 1, gv[1]};
	gv[1][0] = (struct val){"all@example.com", 15};
	ga[2] = (struct attr){"objectGUID", 1, gv[2]};
	gv[2][0] = (struct val){"\x99\x99\x99\x99\x99\x99\x99\x99"
				"\x99\x99\x99\x99\x99\x99\x99\x99", 16};
	ga[3] = (struct attr){"member", nmem, mv};
	ga[4] = (struct attr){"uniqueMember", nuniq, mv + nmem};
	memset(&e, 0, sizeof(e));
	e.dn = "CN=all,OU=Groups,DC=example,DC=com";
	e.nattrs = 5;
	e.attrs = ga;
	e.origin = "test";
	assert_int_equal(snapshot_add(&f->s, &e, NULL), 0);
	apply(f);
	assert_true(nmem >= 8192);      /* the two-thread size */
	o = want(f, MK_LIST, "all@example.com");
	for (n = 1, i = 0; o->gotos[i] != '\0'; i++)
		n += o->gotos[i] == ',';
	assert_int_equal(n, BIG_N);
	assert_int_equal(warned(f, "is not an entry of this read"), 0);
	for (i = 0; i < BIG_N; i++) {
		free(dns[i]);
		free(mdn[i]);
	}
	free(dns);
	free(mdn);
	free(mv);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_norm_address),
		T(test_big_list_members),
		T(test_nul_in_address_refused),
		T(test_long_name_cut),
		T(test_anchor),
		T(test_anchor_twice),
		T(test_account_state_strict),
		T(test_proxy_prefix_case),
		T(test_contact_target_bad),
		T(test_smtp_primary_wins_over_mail),
		T(test_mail_only_and_case),
		T(test_two_smtp_primaries),
		T(test_other_prefixes_and_bad_values),
		T(test_alias_attributes_configurable),
		T(test_domains_and_rewrite),
		T(test_names),
		T(test_scope_filters),
		T(test_scope_switches_off),
		T(test_exclude),
		T(test_left_out_named),
		T(test_member_of_outside_base),
		T(test_object_types),
		T(test_member_of_nested),
		T(test_conflict_alias),
		T(test_conflict_primary),
		T(test_three_claimants_and_self),
		T(test_lists_cycle_safe),
		T(test_lists_deep_nesting),
		T(test_list_members),
		T(test_contacts),
		T(test_bad_group_filter),
		T(test_empty_directory),
		T(test_rules_attrs),
		T(test_rules_attrs_group_filter),
		T(test_order_independent),
		T(test_expiry_clock),
		T(test_primary_group),
		T(test_dn_spellings),
		T(test_dn_plain_agrees),
		T(test_dn_plain_bytes),
		T(test_alias_cap),
		T(test_alias_cap_smtp_primary),
		T(test_alias_cap_exact),
		T(test_alias_cap_counts_accepted),
		T(test_caps_are_config_errors),
		T(test_bad_bytes_names),
		T(test_unsafe_addresses),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

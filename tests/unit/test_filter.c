/* test_filter.c - RFC 4515 parse errors, evaluation semantics, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/filter.h"

/*
 * A test entry from "name=value" strings (one value each; repeat the name
 * for more), built into fixed arrays.
 */
struct tentry {
	struct entry e;
	struct attr attrs[16];
	struct val vals[16][8];
};

static void
build(struct tentry *t, const char *dn, const char *const *kv)
{
	size_t i, j;

	memset(t, 0, sizeof(*t));
	t->e.dn = dn;
	t->e.attrs = t->attrs;
	t->e.origin = "test";
	for (i = 0; kv[i] != NULL; i++) {
		const char *eq = strchr(kv[i], '=');
		size_t nlen = (size_t)(eq - kv[i]);
		struct attr *a = NULL;

		for (j = 0; j < t->e.nattrs; j++)
			if (strlen(t->attrs[j].name) == nlen &&
			    strncmp(t->attrs[j].name, kv[i], nlen) == 0)
				a = &t->attrs[j];
		if (a == NULL) {
			a = &t->attrs[t->e.nattrs];
			a->name = strndup(kv[i], nlen);
			a->vals = t->vals[t->e.nattrs];
			t->e.nattrs++;
		}
		a->vals[a->nvals].p = eq + 1;
		a->vals[a->nvals].len = strlen(eq + 1);
		a->nvals++;
	}
}

static void
unbuild(struct tentry *t)
{
	size_t i;

	for (i = 0; i < t->e.nattrs; i++)
		free((char *)t->attrs[i].name);
}

/* Parses text (must succeed) and matches it against the entry. */
static bool
m(const struct tentry *t, const char *text)
{
	struct err err;
	struct filter *f;
	bool r;

	memset(&err, 0, sizeof(err));
	f = filter_parse(text, &err);
	if (f == NULL)
		fail_msg("filter '%s' did not parse: %s", text, err.msg);
	r = filter_match(f, &t->e);
	filter_free(f);
	return r;
}

/* Parse must fail with DS_E_CONFIG and a message containing `want`. */
static void
bad(const char *text, const char *want)
{
	struct err err;
	struct filter *f;

	memset(&err, 0, sizeof(err));
	f = filter_parse(text, &err);
	if (f != NULL) {
		filter_free(f);
		fail_msg("filter '%s' parsed, expected error '%s'", text, want);
	}
	assert_int_equal(err.code, DS_E_CONFIG);
	if (strstr(err.msg, want) == NULL)
		fail_msg("filter '%s': message '%s' lacks '%s'", text, err.msg,
			 want);
	assert_non_null(strstr(err.msg, "filter: "));
}

static const char *const user_kv[] = {
	"objectClass=top",
	"objectClass=person",
	"objectClass=organizationalPerson",
	"objectClass=user",
	"cn=Alice Example",
	"sAMAccountName=alice",
	"mail=Alice@Example.COM",
	"userAccountControl=514", /* 512 normal | 2 disabled */
	"memberOf=CN=Staff, OU=Groups,DC=example,DC=com",
	"whenChanged=20240315120000.0Z",
	"uSNChanged=9000",
	"description=a*b(c)d\\e",
	NULL,
};

static void
test_equality_and_presence(void **state)
{
	struct tentry t;

	build(&t, "CN=Alice Example,OU=Users,DC=example,DC=com", user_kv);
	assert_true(m(&t, "(mail=alice@example.com)"));
	assert_true(m(&t, "(MAIL=ALICE@EXAMPLE.COM)"));
	assert_false(m(&t, "(mail=alice@example.co)"));
	assert_false(m(&t, "(mail=alice@example.comm)"));
	assert_true(m(&t, "(objectClass=user)"));
	assert_true(m(&t, "(objectclass=PERSON)"));
	assert_false(m(&t, "(objectClass=computer)"));
	assert_true(m(&t, "(mail=*)"));
	assert_false(m(&t, "(telephoneNumber=*)"));
	assert_false(m(&t, "(telephoneNumber=1)"));
	assert_true(m(&t, "(objectClass=*)"));
	assert_true(m(&t, "(cn~=alice example)"));
	/* options in the filter's attribute are ignored */
	assert_true(m(&t, "(cn;lang-en=Alice Example)"));
	/* whitespace between components, bare item without parentheses */
	assert_true(m(&t, "  (&\n  (cn=Alice Example)\n  (mail=*)\n)  "));
	assert_true(m(&t, "sAMAccountName=ALICE"));
	unbuild(&t);
}

static void
test_escapes(void **state)
{
	struct tentry t;
	static const char *const kv[] = {"cn=star*", "cn=nul", NULL};
	struct val nulv = {"a\0b", 3};

	build(&t, "cn=x", user_kv);
	assert_true(m(&t, "(description=a\\2ab\\28c\\29d\\5ce)"));
	assert_true(m(&t, "(description=A\\2AB\\28C\\29D\\5CE)"));
	/* an escaped '*' is a literal, not a wildcard */
	assert_false(m(&t, "(description=a\\2a)"));
	assert_true(m(&t, "(description=a\\2a*)"));
	unbuild(&t);

	build(&t, "cn=x", kv);
	t.attrs[0].vals[1] = nulv;
	assert_true(m(&t, "(cn=a\\00b)"));
	assert_false(m(&t, "(cn=a)"));
	assert_true(m(&t, "(cn=star\\2a)"));
	assert_false(m(&t, "(cn=starx)"));
	unbuild(&t);
}

static void
test_substrings(void **state)
{
	struct tentry t;

	build(&t, "cn=x", user_kv);
	assert_true(m(&t, "(cn=Ali*)"));
	assert_true(m(&t, "(cn=*example)"));
	assert_true(m(&t, "(cn=*CE EX*)"));
	assert_true(m(&t, "(cn=a*e*x*e)"));
	assert_true(m(&t, "(cn=A*ice*Exa*ple)"));
	assert_false(m(&t, "(cn=a*example*x)"));
	assert_false(m(&t, "(cn=bob*)"));
	assert_false(m(&t, "(cn=*alice)"));
	/* pieces may not overlap: "Alice Example" has one "e" before " " */
	assert_false(m(&t, "(cn=*ce*ce*)"));
	/* initial and final must not overlap either */
	assert_false(m(&t, "(cn=Alice Ex*e Example)"));
	assert_true(m(&t, "(mail=*@example.com)"));
	unbuild(&t);
}

static void
test_ordering(void **state)
{
	struct tentry t;

	build(&t, "cn=x", user_kv);
	/* numeric, not lexical: "9000" >= "10000" lexically */
	assert_false(m(&t, "(uSNChanged>=10000)"));
	assert_true(m(&t, "(uSNChanged>=9000)"));
	assert_true(m(&t, "(uSNChanged<=9000)"));
	assert_true(m(&t, "(uSNChanged<=10000)"));
	assert_false(m(&t, "(uSNChanged<=899)"));
	/* GeneralizedTime compares as text */
	assert_true(m(&t, "(whenChanged>=20240101000000.0Z)"));
	assert_false(m(&t, "(whenChanged>=20250101000000.0Z)"));
	assert_true(m(&t, "(whenChanged<=20250101000000.0Z)"));
	assert_false(m(&t, "(missing>=1)"));
	unbuild(&t);
}

static void
test_ad_bit_rules(void **state)
{
	struct tentry t;
	static const char *const grp[] = {
		"objectClass=group",
		"groupType=-2147483646", /* global security group */
		NULL,
	};

	build(&t, "cn=x", user_kv);
	assert_true(m(&t, "(userAccountControl:1.2.840.113556.1.4.803:=2)"));
	assert_true(m(&t, "(userAccountControl:1.2.840.113556.1.4.803:=514)"));
	assert_false(m(&t, "(userAccountControl:1.2.840.113556.1.4.803:=16)"));
	assert_false(m(&t, "(userAccountControl:1.2.840.113556.1.4.803:=18)"));
	assert_true(m(&t, "(userAccountControl:1.2.840.113556.1.4.804:=18)"));
	assert_false(m(&t, "(userAccountControl:1.2.840.113556.1.4.804:=16)"));
	/* the classic "enabled users" filter */
	assert_false(m(&t, "(&(objectClass=user)"
			   "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"));
	/* bit rule on a non-integer value or absent attribute: no match */
	assert_false(m(&t, "(cn:1.2.840.113556.1.4.804:=1)"));
	assert_false(m(&t, "(nothere:1.2.840.113556.1.4.804:=1)"));
	assert_true(m(&t, "(!(nothere:1.2.840.113556.1.4.804:=1))"));
	/* extensible match without a rule is equality */
	assert_true(m(&t, "(sAMAccountName:=Alice)"));
	unbuild(&t);

	build(&t, "cn=g", grp);
	/* AD flag words are signed 32-bit: bit 31 is "security" */
	assert_true(m(&t, "(groupType:1.2.840.113556.1.4.803:=2147483648)"));
	assert_true(m(&t, "(groupType:1.2.840.113556.1.4.803:=-2147483648)"));
	assert_true(m(&t, "(groupType:1.2.840.113556.1.4.803:=2)"));
	assert_false(m(&t, "(groupType:1.2.840.113556.1.4.803:=4)"));
	assert_true(m(&t, "(groupType:1.2.840.113556.1.4.804:=6)"));
	unbuild(&t);
}

static void
test_boolean_and_nesting(void **state)
{
	struct tentry t;

	build(&t, "cn=x", user_kv);
	assert_true(m(&t, "(&(objectClass=user)(mail=*))"));
	assert_false(m(&t, "(&(objectClass=user)(objectClass=computer))"));
	assert_true(m(&t, "(|(objectClass=computer)(objectClass=user))"));
	assert_false(m(&t, "(|(objectClass=computer)(objectClass=contact))"));
	assert_false(m(&t, "(!(objectClass=user))"));
	assert_true(m(&t, "(!(objectClass=computer))"));
	assert_true(m(&t, "(!(!(objectClass=user)))"));
	/* absent attribute: item false, its negation true */
	assert_true(m(&t, "(!(msExchHideFromAddressLists=TRUE))"));
	/* RFC 4526 absolute true / false */
	assert_true(m(&t, "(&)"));
	assert_false(m(&t, "(|)"));
	assert_true(m(&t, "(&(|(objectClass=user)(objectClass=inetOrgPerson)"
			  "(objectClass=group))(!(objectClass=computer))"
			  "(|(mail=*@example.com)(proxyAddresses=smtp:*))"
			  "(!(&(cn=Bob*)(sn=*))))"));
	assert_false(m(&t, "(&(|(objectClass=user)(objectClass=group))"
			   "(!(|(sAMAccountName=bob)(sAMAccountName=alice))))"));
	unbuild(&t);
}

static void
test_dn_values(void **state)
{
	struct tentry t;

	build(&t, "cn=x", user_kv);
	assert_true(m(&t, "(memberOf=cn=staff,ou=groups,dc=example,dc=com)"));
	assert_true(m(&t, "(memberOf=CN=Staff , OU=Groups, DC=example, "
			  "DC=com)"));
	assert_false(m(&t, "(memberOf=cn=staff,dc=example,dc=com)"));
	assert_true(m(&t, "(memberOf=CN=Staff*)"));
	unbuild(&t);
}

static void
test_parse_errors(void **state)
{
	size_t i;

	bad("(&(a=b)", "unbalanced parenthesis at offset 7 in '(&(a=b)'");
	bad("(a=b", "unbalanced parenthesis");
	bad("(a=b))", "unbalanced parenthesis at offset 5");
	bad("(a=b)(c=d)", "trailing text");
	bad("", "empty filter");
	bad("   ", "empty filter");
	bad("()", "empty filter");
	bad("(ab)", "missing '='");
	bad("(=b)", "bad attribute name");
	bad("(a b=c)", "bad attribute name");
	bad("(a=b\\2)", "bad escape");
	bad("(a=b\\zz)", "bad escape");
	bad("(a=b\\)", "bad escape");
	bad("(a=(b)", "unescaped '('");
	bad("(!(a=b)(c=d))", "'!' takes exactly one");
	bad("(!)", "'!' takes exactly one");
	bad("(&a=b)", "expected '(' or ')'");
	bad("(a>=*)", "'*' not allowed");
	bad("(a=b**c)", "empty substring");
	bad("(member:dn:=cn=x)", "unsupported matching rule");
	bad("(cn:dn:2.5.13.5:=x)", "unsupported matching rule");
	bad("(memberOf:1.2.840.113556.1.4.1941:=cn=g,dc=x)",
	    "unsupported matching rule at offset 10");
	bad("(:1.2.840.113556.1.4.803:=2)", "unsupported matching rule");
	bad("(userAccountControl:1.2.840.113556.1.4.803:=two)",
	    "needs an integer");
	bad("(userAccountControl:1.2.840.113556.1.4.803:=)",
	    "needs an integer");
	bad("a=b)", "expected '('");
	/* 100 nested '(!' ... */
	{
		char *s = malloc(100 * 2 + 10 + 100 + 1), *p = s;

		for (i = 0; i < 100; i++) {
			*p++ = '(';
			*p++ = '!';
		}
		p += sprintf(p, "(a=b)");
		for (i = 0; i < 100; i++)
			*p++ = ')';
		*p = '\0';
		bad(s, "nested too deeply");
		free(s);
	}
}

static void
test_filter_attrs(void **state)
{
	struct err err;
	struct filter *f;
	const char *out[8];
	size_t n;

	memset(&err, 0, sizeof(err));
	f = filter_parse("(&(objectClass=user)(|(Mail=*)(mail=x))"
			 "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
			 "(OBJECTCLASS=person)(cn;binary=a*))",
			 &err);
	assert_non_null(f);
	n = filter_attrs(f, out, 8);
	assert_int_equal(n, 4);
	assert_string_equal(out[0], "objectClass");
	assert_string_equal(out[1], "Mail");
	assert_string_equal(out[2], "userAccountControl");
	assert_string_equal(out[3], "cn");
	/* never more than max */
	assert_int_equal(filter_attrs(f, out, 2), 2);
	filter_free(f);
	assert_int_equal(filter_attrs(NULL, out, 8), 0);
	/* a NULL filter matches everything (no filter = no restriction) */
	assert_true(filter_match(NULL, NULL));
}

static void
test_escape(void **state)
{
	char *s;
	struct err err;
	struct filter *f;
	struct tentry t;
	static const char *const kv[] = {"cn=Smith (Sales) *\\", NULL};

	s = filter_escape("a*b(c)d\\e");
	assert_string_equal(s, "a\\2ab\\28c\\29d\\5ce");
	free(s);
	s = filter_escape("");
	assert_string_equal(s, "");
	free(s);
	s = filter_escape("plain é");
	assert_string_equal(s, "plain é");
	free(s);

	/* round trip: an escaped value matches itself exactly */
	build(&t, "cn=x", kv);
	s = filter_escape(kv[0] + 3);
	{
		char text[128];

		snprintf(text, sizeof(text), "(cn=%s)", s);
		memset(&err, 0, sizeof(err));
		f = filter_parse(text, &err);
		assert_non_null(f);
		assert_true(filter_match(f, &t.e));
		filter_free(f);
	}
	free(s);
	unbuild(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equality_and_presence),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_substrings),
		cmocka_unit_test(test_ordering),
		cmocka_unit_test(test_ad_bit_rules),
		cmocka_unit_test(test_boolean_and_nesting),
		cmocka_unit_test(test_dn_values),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_filter_attrs),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

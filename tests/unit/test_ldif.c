/*
 * test_ldif.c - the LDIF source: every RFC 2849 feature we accept, every
 * error with its line number, attribute selection and filtering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "source/source.h"
#include "util/buf.h"
#include "util/xalloc.h"

static char tmpdir[] = "/tmp/test_ldif.XXXXXX";
static int nfile;

static int
setup(void **state)
{
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes n bytes to a fresh file in tmpdir; returns its malloc'd path. */
static char *
write_file(const void *data, size_t n)
{
	char *path = xasprintf("%s/f%d.ldif", tmpdir, ++nfile);
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	return path;
}

/*
 * What the callback saw, one line per entry:
 *   origin|dn|name=v1,v2|name=v3
 * with bytes outside printable ASCII (and ',' '|' '\') as \xx.
 */
struct seen {
	struct buf out;
	int n;
	int fail_at;   /* callback returns -1 on this entry (1-based) */
};

static void
add_esc(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x7f || c == ',' || c == '|' || c == '\\')
			buf_printf(b, "\\%02x", c);
		else
			buf_addc(b, (char)c);
	}
}

static int
collect(void *ctx, const struct entry *e, struct err *err)
{
	struct seen *s = ctx;
	size_t i, j;

	s->n++;
	if (s->n == s->fail_at)
		return err_set(err, DS_E_TARGET, "callback says stop");
	buf_printf(&s->out, "%s|", e->origin);
	add_esc(&s->out, e->dn, strlen(e->dn));
	for (i = 0; i < e->nattrs; i++) {
		const struct attr *a = &e->attrs[i];

		buf_printf(&s->out, "|%s=", a->name);
		for (j = 0; j < a->nvals; j++) {
			/* every value is NUL-terminated, even binary ones */
			assert_int_equal(a->vals[j].p[a->vals[j].len], '\0');
			if (j > 0)
				buf_addc(&s->out, ',');
			add_esc(&s->out, a->vals[j].p, a->vals[j].len);
		}
	}
	buf_addc(&s->out, '\n');
	return 0;
}

struct run {
	int rc;
	struct err err;
	struct seen seen;
	char *path;
};

static void
run_full(struct run *r, const void *data, size_t n, const char *filter,
	 const char *const *attrs, int fail_at)
{
	struct conf c;
	struct source *src = NULL;
	struct source_info info;

	memset(r, 0, sizeof(*r));
	r->seen.fail_at = fail_at;
	r->path = write_file(data, n);
	conf_defaults(&c);
	c.source.type = SRC_LDIF;
	c.source.path = xstrdup(r->path);
	assert_int_equal(source_ldif_ops.open(&src, &c, &info, &r->err), 0);
	assert_non_null(src);
	assert_string_equal(info.server, r->path);
	assert_string_equal(info.flavor, "ldif");
	assert_string_equal(info.tls, "n/a");
	r->rc = source_ldif_ops.read(src, filter, attrs, collect, &r->seen,
				     &r->err);
	source_ldif_ops.close(src);
	conf_free(&c);
	buf_str(&r->seen.out);
}

static void
run(struct run *r, const char *text, const char *filter,
    const char *const *attrs)
{
	run_full(r, text, strlen(text), filter, attrs, 0);
}

static void
run_done(struct run *r)
{
	unlink(r->path);
	free(r->path);
	buf_free(&r->seen.out);
}

/* Output with "PATH:" origins replaced by "@" for readable expectations. */
static char *
norm(struct run *r)
{
	struct buf b = BUF_INIT;
	const char *p = buf_str(&r->seen.out), *q;
	size_t pl = strlen(r->path);

	buf_add(&b, "", 0);
	while ((q = strstr(p, r->path)) != NULL) {
		buf_add(&b, p, (size_t)(q - p));
		buf_addc(&b, '@');
		p = q + pl + 1; /* path and ':' */
	}
	buf_adds(&b, p);
	return buf_steal(&b);
}

static void
expect(struct run *r, const char *want)
{
	char *got = norm(r);

	if (r->rc != 0)
		fail_msg("read failed: %s (line %ld)", r->err.msg, r->err.line);
	if (strcmp(got, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", got, want);
	free(got);
}

/* The read must fail with DS_E_PARSE at `line`, message containing want. */
static void
expect_err(const char *text, size_t n, long line, const char *want)
{
	struct run r;

	run_full(&r, text, n, "(objectClass=*)", NULL, 0);
	if (r.rc != -1)
		fail_msg("read of %.40s... succeeded, expected '%s'", text,
			 want);
	assert_int_equal(r.err.code, DS_E_PARSE);
	assert_string_equal(r.err.file, r.path);
	if (r.err.line != line || strstr(r.err.msg, want) == NULL)
		fail_msg("got line %ld '%s', want line %ld '%s'", r.err.line,
			 r.err.msg, line, want);
	run_done(&r);
}

#define EXPECT_ERR(text, line, want) \
	expect_err(text, sizeof(text) - 1, line, want)

static void
test_basic(void **state)
{
	struct run r;

	run(&r,
	    "# exported by ldapsearch\n"
	    "version: 1\n"
	    "\n"
	    "# a comment that is\n"
	    "  folded onto a second line\n"
	    "dn: cn=Alice,dc=example,dc=com\n"
	    "objectClass: top\n"
	    "objectClass: inetOrgPerson\n"
	    "cn: Alice\n"
	    "Mail: alice@example.com\n"
	    "sn:Example\n"
	    "MAIL: alice2@example.com\n"
	    "description:   leading spaces go, trailing stay  \n"
	    "\n"
	    "\n"
	    "\n"
	    "dn: cn=Bob,dc=example,dc=com\n"
	    "# comment inside an entry\n"
	    "cn: Bob\n"
	    "empty:\n"
	    "objectClass: inetOrgPerson\n",
	    "(objectClass=*)", NULL);
	expect(&r, "@6|cn=Alice\\2cdc=example\\2cdc=com"
		   "|objectClass=top,inetOrgPerson|cn=Alice"
		   "|Mail=alice@example.com,alice2@example.com|sn=Example"
		   "|description=leading spaces go\\2c trailing stay  \n"
		   "@17|cn=Bob\\2cdc=example\\2cdc=com|cn=Bob|empty="
		   "|objectClass=inetOrgPerson\n");
	assert_int_equal(r.seen.n, 2);
	run_done(&r);
}

static void
test_crlf_and_no_version(void **state)
{
	struct run r;

	run(&r,
	    "dn: cn=a,dc=x\r\n"
	    "cn: a\r\n"
	    "description: folded\r\n"
	    "  across CRLF\r\n"
	    "\r\n"
	    "dn: cn=b,dc=x\r\n"
	    "cn: b\r\n",
	    "(objectClass=*)", NULL);
	expect(&r, "@1|cn=a\\2cdc=x|cn=a|description=folded across CRLF\n"
		   "@6|cn=b\\2cdc=x|cn=b\n");
	run_done(&r);
}

static void
test_folding(void **state)
{
	struct run r;
	struct buf in = BUF_INIT, want = BUF_INIT;
	size_t i;

	/* a 300 kB value folded every 76 columns, and a fold inside a dn */
	buf_adds(&in, "dn: cn=fo\n ld,dc=x\nbig: ");
	buf_adds(&want, "@1|cn=fold\\2cdc=x|big=");
	for (i = 0; i < 300000; i++) {
		char c = (char)('a' + i % 26);

		buf_addc(&want, c);
		if (i > 0 && i % 75 == 0)
			buf_adds(&in, "\n ");
		buf_addc(&in, c);
	}
	buf_adds(&in, "\nafter: x\n\n");
	buf_adds(&want, "|after=x\n");
	/* a folded name, a fold right after the colon, an empty fold */
	buf_adds(&in, "dn: cn=y\nlong\n name: v\nk:\n  v2\nj: a\n \n b\n");
	/* 3 lines, 3999 folds, "after", blank: the dn is on line 4005 */
	buf_adds(&want, "@4005|cn=y|longname=v|k=v2|j=ab\n");
	run(&r, buf_str(&in), "(objectClass=*)", NULL);
	expect(&r, buf_str(&want));
	run_done(&r);
	buf_free(&in);
	buf_free(&want);
}

static void
test_base64(void **state)
{
	struct run r;

	/*
	 * objectGUID with a NUL and high bytes; a UTF-8 dn:: and value; a
	 * folded base64 value; unpadded base64.
	 */
	run(&r,
	    "dn:: Q049SsO8cmdlbixEQz14\n"
	    "objectGUID:: AAECA/8QIDBAUGBwgJCgsA==\n"
	    "displayName:: SsO8cmdl\n"
	    " bg==\n"
	    "sn::  TcO8bGxlcg  \n"
	    "userCertificate;binary:: AA==\n",
	    "(objectClass=*)", NULL);
	expect(&r, "@1|CN=J\\c3\\bcrgen\\2cDC=x"
		   "|objectGUID=\\00\\01\\02\\03\\ff\\10 0@P`p\\80\\90\\a0\\b0"
		   "|displayName=J\\c3\\bcrgen|sn=M\\c3\\bcller"
		   "|userCertificate=\\00\n");
	run_done(&r);
}

static void
test_options_merge(void **state)
{
	struct run r;

	run(&r,
	    "dn: cn=g,dc=x\n"
	    "member;range=0-1: cn=m1,dc=x\n"
	    "member;range=0-1: cn=m2,dc=x\n"
	    "cn: g\n"
	    "Member;range=2-*: cn=m3,dc=x\n"
	    "cn;lang-de: g-de\n"
	    "userCertificate;binary:: AQI=\n",
	    "(objectClass=*)", NULL);
	expect(&r, "@1|cn=g\\2cdc=x"
		   "|member=cn=m1\\2cdc=x,cn=m2\\2cdc=x,cn=m3\\2cdc=x"
		   "|cn=g,g-de|userCertificate=\\01\\02\n");
	/* three values in member, grouped although interleaved */
	run_done(&r);
}

static const char people[] =
	"version: 1\n"
	"\n"
	"dn: cn=alice,ou=people,dc=x\n"
	"objectClass: user\n"
	"cn: alice\n"
	"mail: alice@x\n"
	"userAccountControl: 512\n"
	"telephoneNumber: 1\n"
	"\n"
	"dn: cn=bob,ou=people,dc=x\n"
	"objectClass: user\n"
	"cn: bob\n"
	"mail: bob@x\n"
	"userAccountControl: 514\n"
	"\n"
	"dn: cn=pc1,ou=computers,dc=x\n"
	"objectClass: user\n"
	"objectClass: computer\n"
	"cn: pc1\n"
	"userAccountControl: 4096\n"
	"\n"
	"dn: cn=staff,ou=groups,dc=x\n"
	"objectClass: group\n"
	"cn: staff\n"
	"member: cn=alice,ou=people,dc=x\n";

static void
test_attr_selection(void **state)
{
	struct run r;
	static const char *const attrs[] = {"CN", "Mail", "member;range=0-*",
					    NULL};
	static const char *const none[] = {NULL};
	static const char *const star[] = {"*", NULL};

	/* listed attributes (any case) plus what the filter needs */
	run(&r, people, "(objectClass=user)", attrs);
	expect(&r, "@3|cn=alice\\2cou=people\\2cdc=x|objectClass=user|cn=alice"
		   "|mail=alice@x\n"
		   "@10|cn=bob\\2cou=people\\2cdc=x|objectClass=user|cn=bob"
		   "|mail=bob@x\n"
		   "@16|cn=pc1\\2cou=computers\\2cdc=x"
		   "|objectClass=user,computer"
		   "|cn=pc1\n");
	run_done(&r);

	run(&r, people, "(cn=staff)", attrs);
	expect(&r, "@22|cn=staff\\2cou=groups\\2cdc=x|cn=staff"
		   "|member=cn=alice\\2cou=people\\2cdc=x\n");
	run_done(&r);

	/* an empty list: only the dn and the filter's attributes */
	run(&r, people, "(cn=bob)", none);
	expect(&r, "@10|cn=bob\\2cou=people\\2cdc=x|cn=bob\n");
	run_done(&r);

	run(&r, people, "(cn=bob)", star);
	expect(&r, "@10|cn=bob\\2cou=people\\2cdc=x|objectClass=user|cn=bob"
		   "|mail=bob@x|userAccountControl=514\n");
	run_done(&r);
}

static void
test_filtering(void **state)
{
	struct run r;
	static const char *const attrs[] = {"cn", NULL};

	/* enabled users, not computers */
	run(&r, people,
	    "(&(objectClass=user)(!(objectClass=computer))"
	    "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
	    attrs);
	expect(&r, "@3|cn=alice\\2cou=people\\2cdc=x|objectClass=user"
		   "|cn=alice|userAccountControl=512\n");
	run_done(&r);

	run(&r, people, source_default_filter("ldif"), attrs);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.seen.n, 3); /* alice, bob, staff: not pc1 */
	assert_non_null(strstr(buf_str(&r.seen.out), "cn=staff"));
	assert_null(strstr(buf_str(&r.seen.out), "pc1"));
	run_done(&r);

	run(&r, people, "(member=CN=Alice, OU=People, DC=X)", attrs);
	assert_int_equal(r.seen.n, 1);
	run_done(&r);

	/* a bad filter fails the read before anything is delivered */
	run(&r, people, "(&(cn=a)", attrs);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.err.code, DS_E_CONFIG);
	assert_non_null(strstr(r.err.msg, "unbalanced parenthesis"));
	assert_int_equal(r.seen.n, 0);
	run_done(&r);
}

static void
test_base_dn(void **state)
{
	struct conf c;
	struct source *src = NULL;
	struct source_info info;
	struct seen s;
	struct err err;
	char *path = write_file(people, sizeof(people) - 1);

	memset(&s, 0, sizeof(s));
	memset(&err, 0, sizeof(err));
	conf_defaults(&c);
	c.source.type = SRC_LDIF;
	c.source.path = xstrdup(path);
	c.source.base_dn = xstrdup("OU=People, DC=x");
	assert_int_equal(source_ldif_ops.open(&src, &c, &info, &err), 0);
	assert_string_equal(info.naming_context, "OU=People, DC=x");
	assert_int_equal(source_ldif_ops.read(src, "(objectClass=*)", NULL,
					      collect, &s, &err),
			 0);
	assert_int_equal(s.n, 2);
	assert_null(strstr(buf_str(&s.out), "staff"));
	/* a second read of the same source gives the same entries */
	buf_reset(&s.out);
	s.n = 0;
	assert_int_equal(source_ldif_ops.read(src, "(cn=bob)", NULL, collect,
					      &s, &err),
			 0);
	assert_int_equal(s.n, 1);
	source_ldif_ops.close(src);
	conf_free(&c);
	buf_free(&s.out);
	unlink(path);
	free(path);
}

static void
test_callback_abort(void **state)
{
	struct run r;

	run_full(&r, people, sizeof(people) - 1, "(objectClass=*)", NULL, 2);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.err.code, DS_E_TARGET);
	assert_string_equal(r.err.msg, "callback says stop");
	assert_int_equal(r.seen.n, 2); /* no third call */
	run_done(&r);
}

static void
test_open_errors(void **state)
{
	struct conf c;
	struct source *src = (struct source *)1;
	struct err err;

	memset(&err, 0, sizeof(err));
	conf_defaults(&c);
	c.source.type = SRC_LDIF;
	c.source.path = xstrdup("/nonexistent/dir/export.ldif");
	assert_int_equal(source_ldif_ops.open(&src, &c, NULL, &err), -1);
	assert_null(src);
	assert_int_equal(err.code, DS_E_IO);
	assert_string_equal(err.file, "/nonexistent/dir/export.ldif");
	assert_non_null(strstr(err.msg, "No such file"));
	free(c.source.path);

	memset(&err, 0, sizeof(err));
	c.source.path = xstrdup(tmpdir);
	assert_int_equal(source_ldif_ops.open(&src, &c, NULL, &err), -1);
	assert_int_equal(err.code, DS_E_IO);
	assert_non_null(strstr(err.msg, "directory"));
	free(c.source.path);

	memset(&err, 0, sizeof(err));
	c.source.path = NULL;
	assert_int_equal(source_ldif_ops.open(&src, &c, NULL, &err), -1);
	assert_int_equal(err.code, DS_E_CONFIG);
	conf_free(&c);
}

static void
test_parse_errors(void **state)
{
	EXPECT_ERR("dn: cn=a\ncn: a\nthis line has no colon\n", 3,
		   "line without ':'");
	EXPECT_ERR("dn: cn=a\nobjectGUID:: AAEC*A==\n", 2, "bad base64");
	EXPECT_ERR("dn: cn=a\nobjectGUID:: AAECA\n", 2, "bad base64");
	EXPECT_ERR("dn: cn=a\nobjectGUID:: AA=A\n", 2, "bad base64");
	EXPECT_ERR("dn: cn=a\nobjectGUID:: A===\n", 2, "bad base64");
	/* non-canonical: bits left over after the last byte */
	EXPECT_ERR("dn: cn=a\nobjectGUID:: AB==\n", 2, "bad base64");
	EXPECT_ERR("dn: cn=a\nobjectGUID:: AAB=\n", 2, "bad base64");
	EXPECT_ERR("dn:: ###\n", 1, "bad base64 in value of 'dn'");
	EXPECT_ERR(" continued\ndn: cn=a\n", 1, "continuation line");
	EXPECT_ERR("dn: cn=a\ncn: a\n\n more\n", 4, "continuation line");
	EXPECT_ERR("# c\n\ncn: a\ndn: cn=a\n", 3,
		   "attribute 'cn' before dn:");
	EXPECT_ERR("dn: cn=a\ncn: a\n\nmail: x\n", 4,
		   "attribute 'mail' before dn:");
	EXPECT_ERR("dn: cn=a\ncn: a\nnul: a\0b\n", 3, "NUL byte in value");
	EXPECT_ERR("dn: cn=a\nchangetype: modify\nreplace: cn\n", 2,
		   "change record ('changetype: modify') not supported");
	EXPECT_ERR("dn: cn=a\ncontrol: 1.2.3\n", 2,
		   "'control:' in an entry without 'changetype: add'");
	EXPECT_ERR("dn: cn=a\ncontrol: 1.2.3\ncn: a\n", 2,
		   "'control:' in an entry without 'changetype: add'");
	EXPECT_ERR("dn: cn=a\ncn: a\nchangetype: add\n", 3,
		   "after the entry's attributes");
	EXPECT_ERR("dn: cn=a\nchangetype: add\ncn: a\ncontrol: 1.2.3\n", 4,
		   "'control:' after the entry's attributes");
	EXPECT_ERR("dn: cn=a\njpegPhoto:< file:///etc/passwd\n", 2,
		   "URL value of 'jpegPhoto'");
	EXPECT_ERR("dn: cn=a\ncn: a\ndn: cn=b\n", 3, "second dn:");
	EXPECT_ERR("dn: cn=a\n\nversion: 1\n", 3, "version: after");
	EXPECT_ERR("version: 2\n\ndn: cn=a\n", 1, "unsupported LDIF version");
	EXPECT_ERR("dn:\ncn: a\n", 1, "empty dn");
	EXPECT_ERR("dn:: YQBi\n", 1, "NUL byte in dn");
	EXPECT_ERR("dn: cn=a\nbad name: x\n", 2, "bad attribute name");
	EXPECT_ERR("dn: cn=a\n: x\n", 2, "bad attribute name");
	EXPECT_ERR("dn: cn=a\n;x: x\n", 2, "bad attribute name");
	/* errors after good entries still fail the whole read */
	EXPECT_ERR("dn: cn=a\ncn: a\n\ndn: cn=b\ncn: b\n\ndn: cn=c\n"
		   "oops\n",
		   8, "line without ':'");
}

static void
test_limits(void **state)
{
	struct buf b = BUF_INIT;
	size_t i;
	struct run r;

	/* a value of exactly 1 MiB is fine, one byte more is not */
	buf_adds(&b, "dn: cn=a\nbig: ");
	for (i = 0; i < 1024 * 1024; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\n");
	run(&r, buf_str(&b), "(objectClass=*)", (const char *const[]){NULL});
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.seen.n, 1);
	run_done(&r);
	b.len -= 1;
	buf_adds(&b, "y\n");
	expect_err(b.p, b.len, 2, "value of 'big' longer than 1048576");

	/* base64 that decodes to more than 1 MiB */
	buf_reset(&b);
	buf_adds(&b, "dn: cn=a\n\ncn: x\n");
	b.len = 0;
	buf_adds(&b, "dn: cn=a\nphoto:: ");
	for (i = 0; i < (1024 * 1024 + 3) / 3 * 4; i++)
		buf_addc(&b, 'A');
	buf_adds(&b, "\n");
	expect_err(b.p, b.len, 2, "value of 'photo' longer than");

	/* a logical line of more than 4 MiB stops at its first line */
	buf_reset(&b);
	buf_adds(&b, "dn: cn=a\ncn: a\nhuge: ");
	for (i = 0; i < 5 * 1024 * 1024; i++)
		buf_addc(&b, 'x');
	expect_err(b.p, b.len, 3, "line longer than");

	/* 1,000,000 values are fine, 1,000,001 are not */
	buf_reset(&b);
	buf_adds(&b, "dn: cn=g\n");
	for (i = 0; i < 1000000; i++)
		buf_adds(&b, "m: 1\n");
	run(&r, buf_str(&b), "(objectClass=*)", (const char *const[]){NULL});
	assert_int_equal(r.rc, 0);
	run_done(&r);
	buf_adds(&b, "m: 1\n");
	expect_err(b.p, b.len, 1000002, "more than 1000000 values");
	buf_free(&b);
}

/* Many entries: the reader refills and compacts its buffer many times. */
static void
test_many_entries(void **state)
{
	struct buf b = BUF_INIT;
	struct run r;
	int i;
	char *last;
	static const char *const attrs[] = {"mail", NULL};

	for (i = 0; i < 20000; i++)
		buf_printf(&b,
			   "dn: cn=user%d,dc=x\r\nobjectClass: user\r\n"
			   "mail: u%d@x\r\ndescription: padding padding "
			   "padding\r\n padding padding\r\n\r\n",
			   i, i);
	run(&r, buf_str(&b), "(mail=u1999*)", attrs);
	assert_int_equal(r.rc, 0);
	/* u1999, u19990..u19999 */
	assert_int_equal(r.seen.n, 11);
	last = strrchr(buf_str(&r.seen.out), '@');
	assert_non_null(last);
	{
		char want[64];

		/* entry i starts on line 6 * i + 1 */
		snprintf(want, sizeof(want), ":%d|cn=user19999", 6 * 19999 + 1);
		assert_non_null(strstr(buf_str(&r.seen.out), want));
	}
	run_done(&r);
	buf_free(&b);
}


/* A read is complete or refused (issue 13): cuts, trailers, duplicates. */
static void
test_complete(void **state)
{
	struct run r;
	static const char ldapsearch[] =
		"# extended LDIF\n"
		"#\n"
		"# LDAPv3\n"
		"# base <dc=x> with scope subtree\n"
		"#\n"
		"\n"
		"# a, x\n"
		"dn: cn=a,dc=x\n"
		"cn: a\n"
		"\n"
		"# b, x\n"
		"dn: cn=b,dc=x\n"
		"cn: b\n"
		"\n"
		"# search result\n"
		"search: 2\n"
		"result: 0 Success\n"
		"control: 1.2.840.113556.1.4.319 false MAQCAQAEAA==\n"
		"\n"
		"# numResponses: 3\n"
		"# numEntries: 2\n";
	char *cut;

	/* a whole ldapsearch export, with paging's control line */
	run(&r, ldapsearch, "(objectClass=*)", NULL);
	expect(&r, "@8|cn=a\\2cdc=x|cn=a\n@12|cn=b\\2cdc=x|cn=b\n");
	run_done(&r);
	/* the same without the final newline, then cut at a line end */
	EXPECT_ERR("dn: cn=a\ncn: a\n\ndn: cn=b\nmember: cn=a", 5,
		   "ends inside a line");
	cut = strstr(ldapsearch, "# search result");
	expect_err(ldapsearch, (size_t)(cut - ldapsearch), 14,
		   "without its trailer");
	expect_err("", 0, 1, "the file is empty");
	EXPECT_ERR("# extended LDIF\n\ndn: cn=a\ncn: a\n\n"
		   "search: 2\nresult: 0 Success\n\n"
		   "# numResponses: 3\n# numEntries: 2\n",
		   10, "'# numEntries: 2' but the file holds 1 entries");
	EXPECT_ERR("# extended LDIF\n\ndn: cn=a\ncn: a\n\n# search result\n"
		   "search: 2\nresult: 4 Size limit exceeded\n\n"
		   "# numResponses: 2\n# numEntries: 1\n",
		   8, "'result: 4 Size limit exceeded'");
	EXPECT_ERR("dn: cn=a\n\nsearch: 2\nmail: x\n", 4,
		   "'mail:' in ldapsearch's search result record");
	/* the same DN twice, spelled differently */
	EXPECT_ERR("dn: cn=A,dc=x\ncn: a\n\ndn: cn=b,dc=x\n\n"
		   "dn: CN=a , DC=X\ncn: a2\n",
		   6, "already at line 1");
	/* a change record of a DN the file has is refused as a change
	 * record (a fresh tester was told "duplicate entry"); an add of it,
	 * or the dn alone at the end, is still the duplicate */
	EXPECT_ERR("dn: cn=a,dc=x\ncn: a\n\ndn: cn=a,dc=x\n"
		   "changetype: delete\n",
		   5, "change record ('changetype: delete') not supported");
	EXPECT_ERR("dn: cn=a,dc=x\ncn: a\n\ndn: cn=a,dc=x\n"
		   "changetype: add\ncn: a\n",
		   4, "already at line 1");
	EXPECT_ERR("dn: cn=a,dc=x\ncn: a\n\ndn: cn=a,dc=x\n",
		   4, "already at line 1");
}

/*
 * A paged ldapsearch export (-E pr=1/noprompt), byte for byte as
 * ldapsearch 2.5.13 writes it against slapd: one search result record per
 * page, with the paged results control and "pagedresults: cookie=", the
 * next page's header right after it; the last page's cookie is empty.
 */
#define PAGE_HEAD \
	"# extended LDIF\n" \
	"#\n" \
	"# LDAPv3\n" \
	"# base <dc=x> with scope subtree\n" \
	"# filter: (objectClass=*)\n" \
	"# requesting: ALL\n" \
	"# with pagedResults control: size=1\n" \
	"#\n" \
	"\n"
#define PAGE_A \
	PAGE_HEAD \
	"# a, x\n" \
	"dn: cn=a,dc=x\n" \
	"cn: a\n" \
	"\n" \
	"# search result\n" \
	"search: 2\n" \
	"result: 0 Success\n" \
	"control: 1.2.840.113556.1.4.319 false MA0CAQAECAEAAAAAAAAA\n" \
	"pagedresults: cookie=AQAAAAAAAAA=\n"
#define PAGE_B_ENTRY \
	PAGE_HEAD \
	"# b, x\n" \
	"dn: cn=b,dc=x\n" \
	"cn: b\n" \
	"\n" \
	"# search result\n" \
	"search: 3\n"
#define PAGED_TRAILER "\n# numResponses: 5\n# numEntries: 2\n"

static void
test_paged(void **state)
{
	struct run r;

	(void)state;
	run(&r,
	    PAGE_A PAGE_B_ENTRY
	    "result: 0 Success\n"
	    "control: 1.2.840.113556.1.4.319 false MAUCAQAEAA==\n"
	    "pagedresults: cookie=\n" PAGED_TRAILER,
	    "(objectClass=*)", NULL);
	expect(&r, "@11|cn=a\\2cdc=x|cn=a\n@29|cn=b\\2cdc=x|cn=b\n");
	run_done(&r);
	/* the first page only, with a trailer: the cookie asks for more */
	EXPECT_ERR(PAGE_A "\n# numResponses: 2\n# numEntries: 1\n", 15,
		   "still has a cookie for more");
	/* the first page only, cut before any trailer */
	EXPECT_ERR(PAGE_A, 18, "without its trailer");
	/* a later page failed */
	EXPECT_ERR(PAGE_A PAGE_B_ENTRY "result: 4 Size limit exceeded\n"
		   PAGED_TRAILER, 34, "'result: 4 Size limit exceeded'");
	/* the last record lost its paging lines */
	EXPECT_ERR(PAGE_A PAGE_B_ENTRY "result: 0 Success\n" PAGED_TRAILER,
		   33, "has no 'pagedresults:' line");
	EXPECT_ERR(PAGE_A PAGE_B_ENTRY "result: 0 Success\n"
		   "pagedresults: more\n" PAGED_TRAILER,
		   35, "expected 'cookie=...'");
	/* -L -E pr=N: "version: 1" again on the second page */
	EXPECT_ERR("version: 1\n\ndn: cn=a,dc=x\ncn: a\n\n# search result\n"
		   "# pagedresults: cookie=AQAAAAAAAAA=\nversion: 1\n", 8,
		   "export without -L");
	/* -E pr=N without /noprompt: ldapsearch's prompt is in the file */
	EXPECT_ERR(PAGE_A "Press [size] Enter for the next {1|size} entries.\n",
		   19, "-E pr=N/noprompt");
}

/*
 * Records that are not entries: search references (ldapsearch without -L,
 * with -L, -LLL), extended and intermediate responses; the trailer's
 * counts of both kinds.
 */
static void
test_references(void **state)
{
	struct run r;

	(void)state;
	/* ldapsearch against an AD domain root: two references, two URLs
	 * in one, a control after them */
	run(&r,
	    "# extended LDIF\n#\n# LDAPv3\n#\n\n"
	    "# a, x\ndn: cn=a,dc=x\ncn: a\n\n"
	    "# search reference\nref: ldap://x/DC=ForestDnsZones,dc=x\n"
	    "ref: ldap://y/DC=ForestDnsZones,dc=x\n"
	    "control: 1.2.3 false\n\n"
	    "# search reference\nref: ldap://x/CN=Configuration,dc=x\n\n"
	    "# b, x\ndn: cn=b,dc=x\ncn: b\n\n"
	    "# search result\nsearch: 2\nresult: 0 Success\n\n"
	    "# numResponses: 5\n# numEntries: 2\n# numReferences: 2\n",
	    "(objectClass=*)", NULL);
	expect(&r, "@7|cn=a\\2cdc=x|cn=a\n@19|cn=b\\2cdc=x|cn=b\n");
	run_done(&r);
	/* -L: references are comments, the trailer still counts them */
	run(&r,
	    "version: 1\n\n#\n# LDAPv3\n#\n\n"
	    "# a, x\ndn: cn=a,dc=x\ncn: a\n\n"
	    "# search reference\n# refldap://x/DC=DomainDnsZones,dc=x\n\n"
	    "# search result\n\n"
	    "# numResponses: 3\n# numEntries: 1\n# numReferences: 1\n",
	    "(objectClass=*)", NULL);
	expect(&r, "@8|cn=a\\2cdc=x|cn=a\n");
	run_done(&r);
	/* a reference with no header or trailer (hand-cut, -LLL's record
	 * without its comment) */
	run(&r, "ref: ldap://x/dc=y\n\ndn: cn=a\ncn: a\n", NULL, NULL);
	expect(&r, "@3|cn=a|cn=a\n");
	run_done(&r);
	/* "ref" after dn: is an attribute (a referral object under -M) */
	run(&r, "dn: cn=r\nref: ldap://x/\n", NULL, NULL);
	expect(&r, "@1|cn=r|ref=ldap://x/\n");
	run_done(&r);

	EXPECT_ERR("ref: ldap://x/\ndn: cn=a\n", 2,
		   "dn: inside a search reference record");
	EXPECT_ERR("ref: ldap://x/\ncn: a\n", 2,
		   "'cn:' in a search reference record");
	EXPECT_ERR("# extended LDIF\n\ndn: cn=a\n\n"
		   "# search reference\nref: ldap://x/\n\n"
		   "search: 2\nresult: 0 Success\n\n"
		   "# numResponses: 3\n# numEntries: 1\n# numReferences: 2\n",
		   13, "'# numReferences: 2' but the file holds 1 search");
	/* cut inside the trailer, before its last count */
	EXPECT_ERR("# extended LDIF\n\ndn: cn=a\n\n"
		   "# search reference\nref: ldap://x/\n\n"
		   "search: 2\nresult: 0 Success\n\n"
		   "# numResponses: 3\n# numEntries: 1\n",
		   11, "no '# numReferences:'");
	EXPECT_ERR("# extended LDIF\n\ndn: cn=a\n\n"
		   "search: 2\nresult: 0 Success\n\n# numResponses: 2\n",
		   8, "no '# numEntries:'");
	/* the trailer without the search's result: ldapsearch lost the
	 * server */
	EXPECT_ERR("# extended LDIF\n\ndn: cn=a\n\n# numResponses: 1\n"
		   "# numEntries: 1\n",
		   5, "without the search's result ('result: 0 Success')");
	EXPECT_ERR("version: 1\n\n#\n# LDAPv3\n\ndn: cn=a\n\n"
		   "# numResponses: 1\n# numEntries: 1\n",
		   8, "without the search's result ('# search result')");
	EXPECT_ERR("version: 1\n\n#\n# LDAPv3\n\ndn: cn=a\n\n", 7,
		   "without its trailer");
	EXPECT_ERR("# extended LDIF\n\ndn: cn=a\n\n"
		   "# extended result response\n"
		   "extended: 1.3.6.1.4.1.1466.20036\n"
		   "result: 52 Server is unavailable\n",
		   6, "'extended:' record: ldapsearch got an extended");
	EXPECT_ERR("dn: cn=a\n\n# extended partial response\n"
		   "partial: 1.2.3\n", 4, "an intermediate response");
}

/*
 * The encoding: a UTF-8 byte order mark is skipped; UTF-16 and UTF-32
 * are refused at line 1 naming the encoding and iconv.
 */
static void
test_encoding(void **state)
{
	static const char u16le[] = "\xff\xfe" "d\0n\0:\0 \0a\0\n\0";
	static const char u16be_nobom[] = "\0d\0n\0:\0 \0a\0\n";
	static const char u16le_nobom[] = "d\0n\0:\0 \0a\0\n\0";
	static const char u32le[] = "\xff\xfe\0\0" "d\0\0\0\n\0\0\0";
	struct run r;

	(void)state;
	run(&r, "\xef\xbb\xbfversion: 1\n\ndn: cn=a\ncn: a\n", NULL, NULL);
	expect(&r, "@3|cn=a|cn=a\n");
	run_done(&r);
	EXPECT_ERR(u16le, 1, "is in UTF-16LE with a byte order mark (as "
		   "ldifde -u writes); dirsync reads LDIF in UTF-8: convert "
		   "it, e.g. iconv -f UTF-16 -t UTF-8");
	EXPECT_ERR(u16le_nobom, 1, "is in UTF-16LE (no byte order mark");
	EXPECT_ERR(u16be_nobom, 1, "iconv -f UTF-16BE -t UTF-8");
	EXPECT_ERR(u32le, 1, "UTF-32LE with a byte order mark");
	EXPECT_ERR("dn: cn=a\n\n\xef\xbb\xbf" "dn: cn=b\n", 3,
		   "byte order mark (EF BB BF) starts this line");
}

/*
 * ldifde -f writes "changetype: add" in every entry: read as entries;
 * any other change is refused naming it.
 */
static void
test_changetype_add(void **state)
{
	struct run r;

	(void)state;
	run(&r,
	    "\ndn: CN=a,DC=x\r\nchangetype: add\r\ncn: a\r\n\r\n"
	    "dn: CN=b,DC=x\ncontrol: 1.2.840.113556.1.4.529 true\n"
	    "changetype: add\ncn: b\n\n"
	    "dn: CN=c,DC=x\ncn: c\n",
	    NULL, NULL);
	expect(&r, "@2|CN=a\\2cDC=x|cn=a\n@6|CN=b\\2cDC=x|cn=b\n"
		   "@11|CN=c\\2cDC=x|cn=c\n");
	run_done(&r);
	EXPECT_ERR("dn: cn=a\nchangetype: add\ncn: a\n\n"
		   "dn: cn=b\nchangetype: delete\n", 6,
		   "('changetype: delete') not supported");
	EXPECT_ERR("dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\n", 2,
		   "a modrdn record is a change to an entry");
	EXPECT_ERR("dn: cn=a\nchangetype: add\nchangetype: add\n", 3,
		   "second 'changetype:'");
	EXPECT_ERR("changetype: add\ndn: cn=a\n", 1,
		   "'changetype' before dn:");
}

/* A NUL in a base64 text value keeps it whole, with its length, as the
 * LDAP source does: never cut at the NUL.  The rules refuse it where
 * they read text, with a warning in the report (test_rules). */
static void
test_nul_value(void **state)
{
	struct run r;

	/* "x@example.com<NUL>@other.org", then a good value */
	run(&r,
	    "dn: cn=a,dc=x\n"
	    "mail:: eEBleGFtcGxlLmNvbQBAb3RoZXIub3Jn\n"
	    "mail: a@example.com\n"
	    "displayName:: YQBi\n"
	    "objectGUID:: AAECAwQFBgcICQoLDA0ODw==\n",
	    "(objectClass=*)", NULL);
	expect(&r, "@1|cn=a\\2cdc=x|mail=x@example.com\\00@other.org,"
		   "a@example.com|displayName=a\\00b"
		   "|objectGUID=\\00\\01\\02\\03\\04\\05\\06\\07\\08\\09"
		   "\\0a\\0b\\0c\\0d\\0e\\0f\n");
	run_done(&r);
}

struct grow_ctx {
	const char *path;
	int n;
};

static int
grow_file(void *ctx, const struct entry *e, struct err *err)
{
	struct grow_ctx *g = ctx;
	FILE *fp;

	if (++g->n != 1)
		return 0;
	fp = fopen(g->path, "ab");
	assert_non_null(fp);
	fputs("\ndn: cn=late,dc=x\ncn: late\n", fp);
	assert_int_equal(fclose(fp), 0);
	return 0;
}

/* An export still being written while dirsync reads it is refused. */
static void
test_changed_while_read(void **state)
{
	struct buf b = BUF_INIT;
	struct conf c;
	struct source *src = NULL;
	struct err err;
	struct grow_ctx g = {NULL, 0};
	char *path;
	int i;

	for (i = 0; i < 2000; i++)
		buf_printf(&b, "dn: cn=u%d,dc=x\ncn: u%d\n\n", i, i);
	path = write_file(b.p, b.len);
	g.path = path;
	conf_defaults(&c);
	c.source.type = SRC_LDIF;
	c.source.path = xstrdup(path);
	memset(&err, 0, sizeof(err));
	assert_int_equal(source_ldif_ops.open(&src, &c, NULL, &err), 0);
	assert_int_equal(source_ldif_ops.read(src, "(objectClass=*)", NULL,
					      grow_file, &g, &err),
			 -1);
	assert_int_equal(err.code, DS_E_IO);
	assert_non_null(strstr(err.msg, "changed while it was read"));
	source_ldif_ops.close(src);
	conf_free(&c);
	unlink(path);
	free(path);
	buf_free(&b);
}

/* Filters naming an attribute the server changes behind the entry. */
static void
test_backlink_attr(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	assert_null(source_backlink_attr(&c, NULL));
	assert_null(source_backlink_attr(&c, source_default_filter("ad")));
	assert_null(source_backlink_attr(&c, "(member=cn=x)"));
	assert_string_equal(source_backlink_attr(&c,
		"(&(objectClass=user)(MEMBEROF=cn=staff,dc=x))"), "memberOf");
	assert_string_equal(source_backlink_attr(&c,
		"(|(cn=a)(!(isMemberOf=cn=g)))"), "isMemberOf");
	assert_null(source_backlink_attr(&c, "(cn=memberOf=x)"));
	assert_null(source_backlink_attr(&c, "(cn=\\28memberOf=x)"));
	assert_null(source_backlink_attr(&c, "(memberOfX=1)"));
	/* AD's in-chain rule, which our own evaluator does not know */
	assert_string_equal(source_backlink_attr(&c,
		"(memberOf:1.2.840.113556.1.4.1941:=cn=g)"), "memberOf");
	/* by OID, with options, in any case (RFC 4512 2.5) */
	assert_string_equal(source_backlink_attr(&c,
		"(&(objectClass=inetOrgPerson)"
		"(1.2.840.113556.1.2.102=cn=mailusers,dc=x))"), "memberOf");
	assert_string_equal(source_backlink_attr(&c,
		"(memberOf;range=0-*=cn=g)"), "memberOf");
	assert_string_equal(source_backlink_attr(&c,
		"(1.2.840.113556.1.2.102:1.2.840.113556.1.4.1941:=cn=g)"),
		"memberOf");
	assert_string_equal(source_backlink_attr(&c,
		"(ISMEMBEROF;x-opt>=cn=g)"), "isMemberOf");
	assert_string_equal(source_backlink_attr(&c,
		"(1.3.6.1.4.1.42.2.27.9.1.792=cn=g)"), "isMemberOf");
	assert_string_equal(source_backlink_attr(&c,
		"(1.3.6.1.4.1.5923.1.5.1.1~=g)"), "isMemberOf");
	assert_null(source_backlink_attr(&c,
		"(1.2.840.113556.1.2.1020=cn=g)"));
	assert_null(source_backlink_attr(&c,
		"(cn=1.2.840.113556.1.2.102=x)"));
	/* the rules evaluate group_filter on what is read: the same */
	free(c.mapping.group_filter);
	c.mapping.group_filter = xstrdup("(memberof>=cn=l)");
	assert_string_equal(source_backlink_attr(&c, "(cn=a)"), "memberOf");
	conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_crlf_and_no_version),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_options_merge),
		cmocka_unit_test(test_attr_selection),
		cmocka_unit_test(test_filtering),
		cmocka_unit_test(test_base_dn),
		cmocka_unit_test(test_callback_abort),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_paged),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_changetype_add),
		cmocka_unit_test(test_nul_value),
		cmocka_unit_test(test_changed_while_read),
		cmocka_unit_test(test_backlink_attr),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

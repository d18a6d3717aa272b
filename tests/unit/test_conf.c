/*
 * test_conf.c - the config parser: defaults, every type, comments,
 * continuation lines, errors at the right line, secrets, dump round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"

/* Enough to pass the cross-key checks with defaults everywhere else. */
/* accepted_domains is required; it comes first, so MIN_SRC lines are 3+ */
#define MIN_SRC "[mapping]\naccepted_domains = example.com\n" \
	"[source]\nuri = ldap://127.0.0.1:3890\nbase_dn = dc=x\n"

static char tmpdir[] = "/tmp/test_conf.XXXXXX";
static int nfile;

static char *
write_file(const char *text, mode_t mode)
{
	char *path;
	FILE *fp;

	if (asprintf(&path, "%s/f%d.conf", tmpdir, nfile++) < 0)
		abort();
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* Loads text from a 0600 file; returns conf_load's result. */
static int
load(const char *text, struct conf *c, struct err *e)
{
	char *path = write_file(text, 0600);
	int rc;

	err_clear(e);
	rc = conf_load(c, path, e);
	free(path);
	return rc;
}

static char *
dump(const struct conf *c)
{
	char *s = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&s, &n);

	assert_non_null(fp);
	conf_dump(c, fp);
	fclose(fp);
	return s;
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	unsetenv("DIRSYNC_BIND_PASSWORD");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_defaults(void **state)
{
	struct conf c;
	struct err e;

	(void)state;
	assert_int_equal(load(MIN_SRC, &c, &e), 0);
	assert_int_equal(c.source.type, SRC_LDAP);
	assert_int_equal(c.source.uri.n, 1);
	assert_string_equal(c.source.uri.v[0], "ldap://127.0.0.1:3890");
	assert_int_equal(c.source.starttls, STARTTLS_NO);
	/* hidden is not gone (issue 9): visible_only is opt-in */
	assert_false(c.scope.visible_only);
	assert_string_equal(c.source.tls_ca_file,
			    "/etc/ssl/certs/ca-certificates.crt");
	assert_true(c.source.tls_verify);
	assert_null(c.source.filter);
	assert_null(c.source.bind_password);
	assert_int_equal(c.source.page_size, 1000);
	assert_int_equal(c.source.timeout, 30);
	assert_true(c.scope.mail_enabled_only);
	assert_int_equal(c.scope.object_types,
			 OT_USERS | OT_GROUPS | OT_CONTACTS);
	assert_int_equal(c.scope.member_of.n, 0);
	assert_string_equal(c.mapping.email_attribute, "mail");
	assert_int_equal(c.mapping.alias_attributes.n, 1);
	assert_string_equal(c.mapping.alias_attributes.v[0], "proxyAddresses");
	assert_int_equal(c.target.type, TGT_SQL);
	assert_string_equal(c.target.url, "sqlite:///var/lib/mail/mail.db");
	assert_false(c.target.adopt);
	assert_int_equal(c.passwords.min_length, 8);
	assert_int_equal(c.passwords.min_classes, 3);
	assert_int_equal(c.safety.max_adds, -1);
	assert_int_equal(c.safety.max_total, -1);
	assert_int_equal(c.safety.max_delete_percent, 10);
	assert_int_equal(c.safety.deprovision, DEPROV_DISABLE);
	assert_int_equal(c.safety.delete_after, 30L * 86400);
	assert_false(c.safety.allow_empty);
	assert_int_equal(c.schedule.interval, 300);
	assert_int_equal(c.schedule.full_every, 86400);
	assert_false(c.schedule.watch);
	assert_int_equal(c.notify.when, NOTIFY_CHANGES);
	assert_string_equal(c.state.path, "/var/lib/dirsync/state.db");
	assert_int_equal(c.state.keep_runs, 1000);
	conf_free(&c);
}

static void
test_every_type(void **state)
{
	struct conf c;
	struct err e;
	const char *text =
		"[source]\n"
		"type = ldap\n"
		"uri = ldaps://dc1.example.com ldaps://dc2.example.com\n"
		"tls_verify = off\n"
		"bind_dn = svc-dirsync@example.com\n"
		"base_dn = dc=example,dc=com\n"
		"filter = (&(objectClass=user)(mail=*))\n"
		"flavor = ad\n"
		"page_size = 500\n"
		"timeout = 2m\n"
		"[scope]\n"
		"enabled_only = false\n"
		"visible_only = 0\n"
		"mail_enabled_only = TRUE\n"
		"object_types = contacts users\n"
		"exclude = svc-* test?? [!a]*\n"
		"member_of = cn=Mail Users,ou=Groups,dc=example,dc=com\n"
		"[mapping]\n"
		"accepted_domains = Example.COM example.net\n"
		"domain_rewrite = Example.LOCAL = example.com\n"
		"alias_attributes = proxyAddresses otherMailbox\n"
		"[target]\n"
		"type = sql\n"
		"url = postgresql://dirsync@127.0.0.1:5433/mail\n"
		"adopt = yes\n"
		"[passwords]\n"
		"on_failure = reject\n"
		"min_classes = 4\n"
		"[safety]\n"
		"max_adds = 0\n"
		"max_deletes = 25\n"
		"max_delete_percent =\n"
		"deprovision = delete\n"
		"delete_after = 90d\n"
		"allow_empty = yes\n"
		"[schedule]\n"
		"interval = 90\n"
		"full_every = 12h\n"
		"watch = yes\n"
		"[notify]\n"
		"smtp_url = smtp://127.0.0.1:2525\n"
		"from = dirsync@example.com\n"
		"to = a@example.com b@example.com\n"
		"when = always\n"
		"[state]\n"
		"keep_runs = 5\n";

	(void)state;
	assert_int_equal(load(text, &c, &e), 0);
	assert_int_equal(c.source.uri.n, 2);
	assert_string_equal(c.source.uri.v[1], "ldaps://dc2.example.com");
	assert_false(c.source.tls_verify);
	assert_string_equal(c.source.filter, "(&(objectClass=user)(mail=*))");
	assert_int_equal(c.source.flavor, FLAVOR_AD);
	assert_int_equal(c.source.page_size, 500);
	assert_int_equal(c.source.timeout, 120);
	assert_false(c.scope.enabled_only);
	assert_false(c.scope.visible_only);
	assert_true(c.scope.mail_enabled_only);
	assert_int_equal(c.scope.object_types, OT_USERS | OT_CONTACTS);
	assert_int_equal(c.scope.exclude.n, 3);
	assert_string_equal(c.scope.exclude.v[2], "[!a]*");
	assert_int_equal(c.scope.member_of.n, 1);
	assert_string_equal(c.scope.member_of.v[0],
			    "cn=Mail Users,ou=Groups,dc=example,dc=com");
	assert_int_equal(c.mapping.accepted_domains.n, 2);
	assert_string_equal(c.mapping.accepted_domains.v[0], "example.com");
	assert_int_equal(c.mapping.domain_rewrite.n, 1);
	assert_string_equal(c.mapping.domain_rewrite.v[0],
			    "example.local=example.com");
	assert_int_equal(c.mapping.alias_attributes.n, 2);
	assert_string_equal(c.mapping.alias_attributes.v[1], "otherMailbox");
	assert_true(c.target.adopt);
	assert_int_equal(c.passwords.on_failure, PW_REJECT);
	assert_int_equal(c.passwords.min_classes, 4);
	assert_int_equal(c.safety.max_adds, 0);
	assert_int_equal(c.safety.max_updates, -1);
	assert_int_equal(c.safety.max_deletes, 25);
	assert_int_equal(c.safety.max_delete_percent, -1);
	assert_int_equal(c.safety.deprovision, DEPROV_DELETE);
	assert_int_equal(c.safety.delete_after, 90L * 86400);
	assert_true(c.safety.allow_empty);
	assert_int_equal(c.schedule.interval, 90);
	assert_int_equal(c.schedule.full_every, 12 * 3600);
	assert_true(c.schedule.watch);
	assert_int_equal(c.notify.to.n, 2);
	assert_int_equal(c.notify.when, NOTIFY_ALWAYS);
	assert_int_equal(c.state.keep_runs, 5);
	conf_free(&c);
}

static void
test_comments(void **state)
{
	struct conf c;
	struct err e;
	const char *text =
		"; leading comment\n"
		"# another\n"
		"\xEF\xBB\xBF" /* a BOM mid-file is not special: on a comment */
		"\n"
		"[source]   ; section comment\n"
		"  ; indented comment, no key above yet\n"
		"uri = ldap://h1 ldap://h2   ; tried in order\n"
		"base_dn = dc=x\t# tab before hash\n"
		"filter = (cn=a;b)#notacomment\n"
		"page_size = 1000   ; comment\n"
		"bind_dn =          ; empty with a comment\n"
		"[safety]\n"
		"max_adds =                      ; empty = no limit\n"
		"max_total = 7;\n";

	(void)state;
	/* The stray BOM line is garbage, not a comment: expect it refused. */
	assert_int_equal(load(text, &c, &e), -1);
	assert_int_equal(e.line, 3);
	conf_free(&c);

	text = "\xEF\xBB\xBF; BOM at the start is skipped\n"
	       "[source]   ; section comment\n"
	       "  ; indented comment, no key above yet\n"
	       "uri = ldap://h1 ldap://h2   ; tried in order\n"
	       "base_dn = dc=x\t# tab before hash\n"
	       "filter = (cn=a;b)#notacomment\n"
	       "page_size = 1000   ; comment\n"
	       "bind_dn =          ; empty with a comment\n"
	       "[safety]\n"
	       "max_adds =                      ; empty = no limit\n"
	       "max_deletes = 3\r\n"
	       "[mapping]\naccepted_domains = example.com\n";
	assert_int_equal(load(text, &c, &e), 0);
	assert_int_equal(c.source.uri.n, 2);
	assert_string_equal(c.source.base_dn, "dc=x");
	assert_string_equal(c.source.filter, "(cn=a;b)#notacomment");
	assert_int_equal(c.source.page_size, 1000);
	assert_null(c.source.bind_dn);
	assert_int_equal(c.safety.max_adds, -1);
	assert_int_equal(c.safety.max_deletes, 3);
	conf_free(&c);
}

static void
test_continuation(void **state)
{
	struct conf c;
	struct err e;
	const char *text =
		"[source]\n"
		"uri = ldap://h1\n"
		"      ldap://h2 ldap://h3\n"
		"base_dn = dc=x\n"
		"[scope]\n"
		"member_of =\n"
		"    cn=Mail Users,ou=Groups,dc=x   ; first\n"
		"    ; a comment between items\n"
		"\n"
		"\tcn=Staff,ou=Groups,dc=x\n"
		"enabled_only = no\n"
		"[mapping]\n"
		"domain_rewrite = old.local=example.com\n"
		"    EXAMPLE.lan = example.net\n"
		"accepted_domains = example.com\n";

	(void)state;
	assert_int_equal(load(text, &c, &e), 0);
	assert_int_equal(c.source.uri.n, 3);
	assert_string_equal(c.source.uri.v[2], "ldap://h3");
	assert_int_equal(c.scope.member_of.n, 2);
	assert_string_equal(c.scope.member_of.v[0],
			    "cn=Mail Users,ou=Groups,dc=x");
	assert_string_equal(c.scope.member_of.v[1], "cn=Staff,ou=Groups,dc=x");
	assert_false(c.scope.enabled_only);
	assert_int_equal(c.mapping.domain_rewrite.n, 2);
	assert_string_equal(c.mapping.domain_rewrite.v[0],
			    "old.local=example.com");
	assert_string_equal(c.mapping.domain_rewrite.v[1],
			    "example.lan=example.net");
	conf_free(&c);
}

struct bad_case {
	const char *text;
	long line;
	const char *msg;        /* substring of the message */
};

static void
test_errors(void **state)
{
	static const struct bad_case cases[] = {
		{"[source]\npagesize = 10\n", 2,
		 "unknown key 'pagesize' in [source]; did you mean "
		 "'page_size'?"},
		{"[target]\nuri = ldap://x\n", 2, "it belongs in [source]"},
		{"[scope]\nfrobnicate = 1\n", 2, "known keys: mail_enabled_only"},
		{"[sauce]\n", 1, "unknown section [sauce]; did you mean "
		 "[source]?"},
		{"[general]\n", 1, "sections are source, scope"},
		{"uri = ldap://x\n", 1, "outside any section"},
		{MIN_SRC "page_size = 5\npage_size = 6\n", 7,
		 "duplicate key 'page_size' in [source] (first set on line 6)"},
		{MIN_SRC "tls_verify = maybe\n", 6,
		 "bad value 'maybe' for tls_verify in [source]: expected yes "
		 "or no"},
		{MIN_SRC "page_size = 0\n", 6, "from 1 to 100000"},
		{MIN_SRC "page_size = 100001\n", 6, "from 1 to 100000"},
		{MIN_SRC "page_size = 12abc\n", 6, "bad value '12abc'"},
		{MIN_SRC "page_size = 99999999999999999999999\n", 6,
		 "bad value"},
		{"[safety]\nmax_adds = -1\n", 2,
		 "a whole number >= 0, or empty for no limit"},
		{"[safety]\nmax_delete_percent = 101\n", 2, "from 0 to 100"},
		{MIN_SRC "timeout = 5x\n", 6, "a duration like 30s"},
		{MIN_SRC "timeout = 0\n", 6, "a duration"},
		{MIN_SRC "flavor = novell\n", 6,
		 "expected auto, ad or openldap"},
		{MIN_SRC "starttls = maybe\n", 6, "expected no, yes or demand"},
		{"[source]\ntype = ad\n", 2, "expected ldap or ldif"},
		{"[target]\ntype = ldap\n", 2, "expected sql or scim"},
		{"[passwords]\non_failure = x\n", 2, "expected accept or reject"},
		{"[safety]\ndeprovision = x\n", 2, "expected disable or delete"},
		{"[notify]\nwhen = x\n", 2, "expected changes, errors or always"},
		{"[mapping]\nalias_attributes = a1 a2 a3 a4 a5 a6 a7 a8\n"
		 "  a9 a10 a11 a12 a13 a14 a15 a16 a17\n", 3,
		 "alias_attributes in [mapping] takes at most 16 items; 'a17'"},
		{"[scope]\nobject_types = users people\n", 2,
		 "bad object type 'people'"},
		{"[source]\nuri = ldap://a\n   http://b\n", 3,
		 "bad uri item 'http://b' in [source]: must start with "
		 "ldap://, ldaps:// or ldapi://"},
		{"[mapping]\naccepted_domains = example.com, example.net\n", 2,
		 "bad accepted_domains item 'example.com,'"},
		{"[mapping]\ndomain_rewrite = a.local=b.com\n  nonsense\n", 3,
		 "bad domain_rewrite item 'nonsense'"},
		{"[notify]\nto = postmaster\n", 2, "is not a mail address"},
		{MIN_SRC "bind_dn = a\n  b\n", 7, "takes a single value"},
		{"  uri = ldap://x\n", 1, "indented line with no key above it"},
		{"[source]\njust words\n", 2, "expected 'key = value'"},
		{"[source\n", 1, "bad section header"},
		{"[source]\n= x\n", 2, "missing key name"},
		{"[source]\nbind_password = hunter2\n", 2,
		 "bind_password cannot be written in the config file"},
		/* cross-key checks: at the line of the key that decides */
		{"[source]\ntype = ldif\n", 2, "type = ldif needs path"},
		{"[source]\ntype = ldap\nbase_dn = dc=x\n", 2,
		 "type = ldap needs uri"},
		{"[source]\nuri = ldap://x\n", 0, "type = ldap needs base_dn"},
		{"[source]\nuri = ldaps://x\nbase_dn = dc=x\nstarttls = demand\n",
		 4, "ldaps:// is TLS already"},
		{MIN_SRC "[target]\nurl = mysql://x/y\n", 7,
		 "url 'mysql://x/y' for type = sql must start with sqlite://"},
		{MIN_SRC "[target]\ntype = scim\n", 7,
		 "for type = scim must start with https://"},
		{MIN_SRC "[target]\ntype = scim\nurl = http://x/scim\n", 8,
		 "https://"},
		{MIN_SRC "[target]\ntype = scim\nurl = http://127.0.0.1.x/\n",
		 8, "http:// only for a loopback host"},
		{MIN_SRC "[target]\ntype = scim\nurl = http://u@x/\n", 8,
		 "https://"},
		{MIN_SRC "[notify]\nsmtp_url = mail.example.com\nto = a@b\n", 7,
		 "smtp_url 'mail.example.com' must start with smtp://"},
		{MIN_SRC "[notify]\nto = a@b\n", 7, "to is set but smtp_url"},
		{"[source]\ntype = ldif\npath = /dev/null\n", 0,
		 "[mapping] accepted_domains is required"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf c;
		struct err e;
		int rc = load(cases[i].text, &c, &e);

		if (rc != -1 || e.line != cases[i].line ||
		    strstr(e.msg, cases[i].msg) == NULL)
			fail_msg("case %zu: rc %d line %ld msg '%s'; want line "
				 "%ld msg '%s'",
				 i, rc, e.line, e.msg, cases[i].line,
				 cases[i].msg);
		assert_int_equal(e.code, DS_E_CONFIG);
		assert_string_equal(e.file, c.path);
		conf_free(&c);
	}
}

static void
test_err_fmt(void **state)
{
	struct conf c;
	struct err e;
	char buf[1024], want[600];
	char *path = write_file("[source]\n\npagesize = 1\n", 0600);

	(void)state;
	assert_int_equal(conf_load(&c, path, &e), -1);
	snprintf(want, sizeof(want),
		 "%s:3: unknown key 'pagesize' in [source]; did you mean "
		 "'page_size'?",
		 path);
	assert_string_equal(err_fmt(&e, buf, sizeof(buf)), want);
	assert_string_equal(c.path, path);
	conf_free(&c);
	free(path);
}

static void
test_url_loopback(void **state)
{
	(void)state;
	assert_true(conf_url_loopback("http://127.0.0.1:8080/scim/v2"));
	assert_true(conf_url_loopback("http://127.1.2.3/"));
	assert_true(conf_url_loopback("http://localhost"));
	assert_true(conf_url_loopback("http://LocalHost:80/x"));
	assert_true(conf_url_loopback("http://[::1]:9/scim"));
	assert_true(conf_url_loopback("http://u@127.0.0.1/"));
	assert_false(conf_url_loopback("http://127.0.0.1.example.com/"));
	assert_false(conf_url_loopback("http://localhost.example.com/"));
	assert_false(conf_url_loopback("http://128.0.0.1/"));
	assert_false(conf_url_loopback("http://[::2]/"));
	assert_false(conf_url_loopback("http://x/127.0.0.1"));
	assert_false(conf_url_loopback("http://127.0.0.1@x/"));
}

static void
test_missing_file(void **state)
{
	struct conf c;
	struct err e;
	char buf[512];

	(void)state;
	err_clear(&e);
	assert_int_equal(conf_load(&c, "no/such/dirsync.conf", &e), -1);
	assert_int_equal(e.code, DS_E_CONFIG);
	assert_string_equal(err_fmt(&e, buf, sizeof(buf)),
			    "no/such/dirsync.conf: No such file or directory");
	assert_string_equal(c.path, "no/such/dirsync.conf");
	conf_free(&c);

	assert_int_equal(conf_load(&c, tmpdir, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));
	conf_free(&c);
}

static void
test_durations(void **state)
{
	static const struct {
		const char *s;
		long v;
	} ok[] = {
		{"0", 0},        {"45", 45},         {"30s", 30},
		{"5m", 300},     {"1h", 3600},       {"1d", 86400},
		{"30d", 2592000}, {"1h30m", 5400},   {"1d12h", 129600},
	};
	static const char *const bad[] = {
		"", "s", "5x", "-5s", "1.5h", "1h30", "5 m", "m5",
		"99999999999999999999d", "9223372036854775807d",
	};
	size_t i;
	long v;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -7;
		assert_int_equal(conf_parse_duration(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -7;
		if (conf_parse_duration(bad[i], &v) != -1)
			fail_msg("'%s' accepted as %ld", bad[i], v);
		assert_int_equal(v, -7);
	}
}

static void
test_secret_file(void **state)
{
	struct conf c;
	struct err e;
	char *secret = write_file("s3cret pass\n", 0600);
	char *text, *path, *out;

	(void)state;
	setenv("DIRSYNC_BIND_PASSWORD", "from-env", 1);
	if (asprintf(&text, MIN_SRC "bind_password_file = %s\n", secret) < 0)
		abort();

	/* file wins over the environment; trailing newline stripped */
	assert_int_equal(load(text, &c, &e), 0);
	assert_string_equal(c.source.bind_password, "s3cret pass");
	out = dump(&c);
	assert_null(strstr(out, "s3cret"));
	assert_non_null(strstr(out, "bind_password = ******** (from file "));
	assert_non_null(strstr(out, secret));
	free(out);
	conf_free(&c);

	/* a config naming a secret must not be readable by others */
	path = write_file(text, 0644);
	err_clear(&e);
	assert_int_equal(conf_load(&c, path, &e), -1);
	assert_string_equal(e.file, path);
	assert_non_null(strstr(e.msg, "is readable by group or others"));
	assert_non_null(strstr(e.msg, "chmod 600"));
	conf_free(&c);
	free(path);

	/* nor the secret itself */
	assert_int_equal(chmod(secret, 0640), 0);
	assert_int_equal(load(text, &c, &e), -1);
	assert_string_equal(e.file, secret);
	assert_non_null(strstr(e.msg, "is readable by group or others"));
	conf_free(&c);

	/* a missing secret file names the file */
	assert_int_equal(unlink(secret), 0);
	assert_int_equal(load(text, &c, &e), -1);
	assert_string_equal(e.file, secret);
	assert_non_null(strstr(e.msg, "No such file"));
	conf_free(&c);

	/* an empty one is refused */
	free(secret);
	secret = write_file("\n", 0600);
	free(text);
	if (asprintf(&text, MIN_SRC "bind_password_file = %s\n", secret) < 0)
		abort();
	assert_int_equal(load(text, &c, &e), -1);
	assert_non_null(strstr(e.msg, "empty"));
	conf_free(&c);

	/* token_file also makes the config a secret holder */
	free(text);
	if (asprintf(&text, MIN_SRC "[target]\ntoken_file = %s\n", secret) <
	    0)
		abort();
	path = write_file(text, 0604);
	assert_int_equal(conf_load(&c, path, &e), -1);
	assert_non_null(strstr(e.msg, "names a secret (token_file)"));
	conf_free(&c);
	free(path);

	unsetenv("DIRSYNC_BIND_PASSWORD");
	free(text);
	free(secret);
}

static void
test_no_secret_world_readable(void **state)
{
	struct conf c;
	struct err e;
	char *path = write_file(MIN_SRC "bind_dn = cn=reader\n", 0644);

	(void)state;
	err_clear(&e);
	assert_int_equal(conf_load(&c, path, &e), 0);
	assert_null(c.source.bind_password);
	conf_free(&c);
	free(path);
}

static void
test_env_password(void **state)
{
	struct conf c;
	struct err e;
	char *out;

	(void)state;
	setenv("DIRSYNC_BIND_PASSWORD", "env-Secret-42", 1);
	assert_int_equal(load(MIN_SRC, &c, &e), 0);
	assert_string_equal(c.source.bind_password, "env-Secret-42");
	out = dump(&c);
	assert_null(strstr(out, "env-Secret-42"));
	assert_non_null(
		strstr(out, "bind_password = ******** (from $DIRSYNC_"));
	free(out);
	conf_free(&c);
	unsetenv("DIRSYNC_BIND_PASSWORD");

	assert_int_equal(load(MIN_SRC, &c, &e), 0);
	assert_null(c.source.bind_password);
	conf_free(&c);
}

static void
test_dump_round_trip(void **state)
{
	struct conf a, b;
	struct err e;
	char *secret = write_file("pw\n", 0600);
	char *text, *d1, *d2;

	(void)state;
	if (asprintf(&text,
		     "[source]\n"
		     "uri = ldaps://dc1 ldaps://dc2\n"
		     "base_dn = dc=example,dc=com\n"
		     "bind_password_file = %s\n"
		     "timeout = 90\n"
		     "[scope]\n"
		     "member_of =\n"
		     "  cn=A B,dc=x\n"
		     "  cn=C,dc=x\n"
		     "object_types = groups\n"
		     "exclude = x* y?\n"
		     "[mapping]\n"
		     "accepted_domains = example.com\n"
		     "domain_rewrite = a.local=example.com\n"
		     "[safety]\n"
		     "max_total = 50\n"
		     "max_delete_percent =\n"
		     "delete_after = 36h\n"
		     "[schedule]\n"
		     "interval = 150s\n"
		     "[notify]\n"
		     "smtp_url = smtp://127.0.0.1:25\n"
		     "to = ops@example.com\n",
		     secret) < 0)
		abort();
	assert_int_equal(load(text, &a, &e), 0);
	d1 = dump(&a);
	/* every section and some keys, values as a person writes them */
	assert_non_null(strstr(d1, "[source]\ntype = ldap\n"));
	assert_non_null(strstr(d1, "\n[state]\npath = /var/lib/dirsync/"));
	assert_non_null(strstr(d1, "timeout = 90s\n"));
	assert_non_null(strstr(d1, "delete_after = 36h\n"));
	assert_non_null(strstr(d1, "full_every = 1d\nwatch = no\n"));
	assert_non_null(strstr(d1, "max_adds =\n"));
	assert_non_null(strstr(d1, "max_total = 50\n"));
	assert_non_null(strstr(d1, "object_types = groups\n"));
	assert_non_null(strstr(d1, "member_of =\n\tcn=A B,dc=x\n\tcn=C,dc=x\n"));
	assert_non_null(strstr(d1, "filter =\n"));
	assert_null(strstr(d1, "\npw\n"));

	assert_int_equal(load(d1, &b, &e), 0);
	d2 = dump(&b);
	assert_string_equal(d1, d2);
	assert_string_equal(b.source.bind_password, "pw");
	assert_int_equal(b.scope.member_of.n, 2);
	assert_int_equal(b.safety.max_delete_percent, -1);
	assert_int_equal(b.schedule.interval, 150);
	free(d2);
	conf_free(&b);
	free(d1);
	conf_free(&a);

	/* the defaults round-trip too */
	assert_int_equal(load(MIN_SRC, &a, &e), 0);
	d1 = dump(&a);
	assert_int_equal(load(d1, &b, &e), 0);
	d2 = dump(&b);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	conf_free(&a);
	conf_free(&b);
	free(text);
	free(secret);
}

static void
test_bounds(void **state)
{
	struct conf c;
	struct err e;
	char *text = malloc(70 * 1024);
	static const char nul[] = "[source]\nbind_dn = a\0b\n";
	char *path;
	FILE *fp;

	(void)state;
	strcpy(text, "[source]\nfilter = ");
	memset(text + strlen(text), 'x', 66 * 1024);
	strcpy(text + 18 + 66 * 1024, "\n");
	assert_int_equal(load(text, &c, &e), -1);
	assert_int_equal(e.line, 2);
	assert_non_null(strstr(e.msg, "longer than"));
	conf_free(&c);
	free(text);

	path = write_file("", 0600);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite(nul, 1, sizeof(nul) - 1, fp);
	fclose(fp);
	assert_int_equal(conf_load(&c, path, &e), -1);
	assert_int_equal(e.line, 2);
	assert_non_null(strstr(e.msg, "NUL"));
	conf_free(&c);
	free(path);
}

/*
 * Every one-byte change and every truncation of a full config must load
 * or fail cleanly with a line inside the file: no crash, no leak (ASan).
 */
static void
test_mutations(void **state)
{
	static const char base[] =
		"[source]\nuri = ldap://h ldap://i\nbase_dn = dc=x\n"
		"page_size = 10 ; c\ntimeout = 1h30m\n[scope]\nmember_of =\n"
		"  cn=a\n  cn=b\nobject_types = users\n[mapping]\n"
		"domain_rewrite = a.b=c.d\naccepted_domains = c.d\n"
		"[safety]\nmax_adds =\n"
		"deprovision = delete\n";
	static const char subst[] = {'\n', ' ', '=', '[', ']', ';', '#', 'x',
				     '0', '\t'};
	char buf[sizeof(base)];
	size_t i, j, ok = 0, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(base) - 1; i++) {
		for (j = 0; j <= sizeof(subst); j++) {
			struct conf c;
			struct err e;
			int rc;

			memcpy(buf, base, sizeof(base));
			if (j == sizeof(subst))
				buf[i] = '\0';         /* truncation */
			else
				buf[i] = subst[j];
			rc = load(buf, &c, &e);
			if (rc == 0) {
				ok++;
			} else {
				bad++;
				assert_int_equal(e.code, DS_E_CONFIG);
				assert_true(e.line >= 0 && e.line <= 20);
				assert_true(e.msg[0] != '\0');
			}
			conf_free(&c);
		}
	}
	/* both outcomes occur, so the loop really exercised the parser */
	assert_true(ok > 50);
	assert_true(bad > 50);
}

static void
test_ldif_source(void **state)
{
	struct conf c;
	struct err e;

	(void)state;
	assert_int_equal(load("[source]\ntype = ldif\npath = dir.ldif\n"
			      "[mapping]\naccepted_domains = example.com\n",
			      &c, &e),
			 0);
	assert_int_equal(c.source.type, SRC_LDIF);
	assert_string_equal(c.source.path, "dir.ldif");
	conf_free(&c);

	/* a section may be opened again; its keys still count once */
	assert_int_equal(load("[source]\ntype = ldif\n[state]\n[source]\n"
			      "path = x\n[mapping]\naccepted_domains = a.b\n",
			      &c, &e),
			 0);
	assert_string_equal(c.source.path, "x");
	conf_free(&c);
	assert_int_equal(load("[source]\ntype = ldif\n[source]\n"
			      "type = ldif\n",
			      &c, &e),
			 -1);
	assert_int_equal(e.line, 4);
	conf_free(&c);
}


/* [target] url holding a PostgreSQL password: refused at file:line, never
 * echoed (issue 13); secret files that are not regular files: refused
 * without hanging. */
static void
test_url_password(void **state)
{
	static const char *const bad[] = {
		"postgresql://dirsync:s3cr3t-XY@db.example.com/mail",
		"postgres://u:s3cr3t-XY@h:5432/mail",
		"postgresql://h/mail?sslmode=require&password=s3cr3t-XY",
		"postgresql://h/mail?pass%77ord=s3cr3t-XY",
		"postgresql://h/mail?sslpassword=s3cr3t-XY",
		NULL,
	};
	static const char *const good[] = {
		"postgresql://dirsync@db.example.com/mail",
		"postgresql://h/mail?passfile=/etc/dirsync/pgpass",
		"postgresql://h/mail?user=a%40b",
		"sqlite:///var/lib/dirsync/mail.db",
		NULL,
	};
	struct conf c;
	struct err e;
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(text, sizeof(text), MIN_SRC "[target]\nurl = %s\n",
			 bad[i]);
		assert_int_equal(load(text, &c, &e), -1);
		assert_int_equal(e.code, DS_E_CONFIG);
		assert_int_equal(e.line, 7);
		assert_non_null(strstr(e.msg, "must not hold a password"));
		assert_null(strstr(e.msg, "s3cr3t"));
		conf_free(&c);
	}
	for (i = 0; good[i] != NULL; i++) {
		snprintf(text, sizeof(text), MIN_SRC "[target]\nurl = %s\n",
			 good[i]);
		if (load(text, &c, &e) != 0)
			fail_msg("%s: %s", good[i], e.msg);
		conf_free(&c);
	}
}

static void
test_secret_fifo(void **state)
{
	struct conf c;
	struct err e;
	char *fifo, text[512];

	(void)state;
	if (asprintf(&fifo, "%s/fifo%d", tmpdir, nfile++) < 0)
		abort();
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(text, sizeof(text),
		 MIN_SRC "bind_password_file = %s\n", fifo);
	assert_int_equal(load(text, &c, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));
	conf_free(&c);
	/* the config file itself */
	err_clear(&e);
	assert_int_equal(conf_load(&c, fifo, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));
	conf_free(&c);
	unlink(fifo);
	free(fifo);
}

/* [web] listen: off by default, host:port forms, errors at file:line. */
static void
test_web_listen(void **state)
{
	static const struct {
		const char *in, *host;
		unsigned port;
	} ok[] = {
		{"127.0.0.1:8080", "127.0.0.1", 8080},
		{"8081", "127.0.0.1", 8081},
		{"localhost:9", "127.0.0.1", 9},
		{"[::1]:8080", "::1", 8080},
		{"0.0.0.0:65535", "0.0.0.0", 65535},
	};
	static const char *const bad[] = {
		"", ":8080", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:80x", "::1:8080", "[::1]8080", "[::1:8080",
		"example.com:8080", "127.0.0.1:-1", "[127.0.0.1]:80",
	};
	char host[64], *text;
	unsigned port;
	const char *why;
	struct conf c;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(conf_parse_listen(ok[i].in, host,
						   sizeof(host), &port, &why),
				 0);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(conf_parse_listen(bad[i], host, sizeof(host),
						   &port, &why),
				 -1);
		assert_non_null(why);
	}

	assert_int_equal(load(MIN_SRC, &c, &e), 0);
	assert_true(c.web.listen == NULL || *c.web.listen == '\0');
	conf_free(&c);
	assert_int_equal(load(MIN_SRC "[web]\nlisten = 127.0.0.1:8080\n", &c,
			      &e),
			 0);
	assert_string_equal(c.web.listen, "127.0.0.1:8080");
	text = dump(&c);
	assert_non_null(strstr(text, "[web]\nlisten = 127.0.0.1:8080\n"));
	free(text);
	conf_free(&c);
	assert_int_equal(load(MIN_SRC "[web]\nlisten = www:80\n", &c, &e),
			 -1);
	assert_int_equal(e.line, 7);
	assert_non_null(strstr(e.msg, "[web] listen 'www:80'"));
	conf_free(&c);
}

/* conf_load_all: every error at its line, skipping what follows a bad
 * section or key; the first one is conf_load()'s; good keys still load. */
static void
test_load_all(void **state)
{
	static const char text[] =
		"[source]\n"                          /* 1 */
		"type = ldif\n"                       /* 2 */
		"path = /etc/hostname\n"              /* 3 */
		"page_size = lots\n"                  /* 4: bad number */
		"[sauce]\n"                           /* 5: bad section */
		"foo = bar\n"                         /* 6: skipped */
		"\tmore\n"                            /* 7: skipped */
		"[scope]\n"                           /* 8 */
		"bogus = 1\n"                         /* 9: unknown key */
		"\tcontinued\n"                       /* 10: skipped */
		"enabled_only = maybe\n"              /* 11: bad bool */
		"visible_only = yes\n"                /* 12: good */
		"[mapping]\n"                         /* 13 */
		"accepted_domains = example.com\n"    /* 14 */
		"[target]\n"                          /* 15 */
		"type = postgresql\n"                 /* 16: not a type */
		"url = sqlite:///tmp/x.db\n";         /* 17 */
	static const long lines[] = {4, 5, 9, 11, 16};
	char *path = write_file(text, 0600);
	struct conf_diag d;
	struct conf c;
	struct err e, first;
	char want[64];
	size_t i;

	(void)state;
	err_clear(&first);
	assert_int_equal(conf_load(&c, path, &first), -1);
	conf_free(&c);
	err_clear(&e);
	assert_int_equal(conf_load_all(&c, path, &d, &e), -1);
	assert_int_equal(d.nerr, 5);
	assert_int_equal(d.n, 5);
	for (i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "%s:%ld: ", path, lines[i]);
		assert_non_null(strstr(d.v[i].text, want));
		assert_false(d.v[i].warning);
	}
	assert_non_null(strstr(d.v[4].text, "the only types in this version"));
	assert_int_equal(e.line, first.line);
	assert_string_equal(e.msg, first.msg);
	assert_true(c.scope.visible_only);     /* after the errors: loaded */
	assert_true(c.scope.enabled_only);     /* the bad value: default */
	conf_diag_free(&d);
	conf_free(&c);
	free(path);
}

/*
 * A refused item of a list key is one error: no check built on that key
 * adds a false one ("accepted_domains is required", "type = ldap needs
 * uri", "to is set but smtp_url is empty" ...).
 */
static void
expect_one_error(const char *text, long line, const char *what)
{
	char *path = write_file(text, 0600);
	struct conf_diag d;
	struct conf c;
	struct err e;
	char want[128];

	err_clear(&e);
	assert_int_equal(conf_load_all(&c, path, &d, &e), -1);
	if (d.nerr != 1)
		fail_msg("%zu errors, the second: %s", d.nerr,
			 d.n > 1 ? d.v[1].text : "");
	snprintf(want, sizeof(want), "%s:%ld: ", path, line);
	assert_non_null(strstr(d.v[0].text, want));
	if (strstr(d.v[0].text, what) == NULL)
		fail_msg("'%s' not in '%s'", what, d.v[0].text);
	conf_diag_free(&d);
	conf_free(&c);
	free(path);
}

static void
test_list_item_no_follow_on(void **state)
{
	(void)state;
	expect_one_error("[source]\ntype = ldif\npath = /etc/hostname\n"
			 "[mapping]\naccepted_domains = example.com "
			 "bad..domain\n", 5, "bad accepted_domains item");
	expect_one_error("[source]\ntype = ldif\npath = /etc/hostname\n"
			 "[mapping]\naccepted_domains = bad..domain\n"
			 "\texample.com\n", 5, "bad accepted_domains item");
	expect_one_error("[mapping]\naccepted_domains = example.com\n"
			 "[source]\ntype = ldap\nuri = http://x\n"
			 "base_dn = dc=x\n", 5, "bad uri item");
	expect_one_error(MIN_SRC "[notify]\nsmtp_url = smtp://localhost\n"
			 "to = root@localhost not-an-address\n", 8,
			 "bad to item");
}

/* [scope] exclude patterns are checked at load: fnmatch(3) has no
 * validator and takes an unbalanced '[' as a plain one. */
static void
test_exclude_glob(void **state)
{
	static const char *const bad[] = {
		"[abc", "*@[example.com", "x\\", "[!", "[]", "[[:alpha:]",
		"[[:word:]]", "[[.a]", "a[b]c[", "[\\]",
	};
	static const char *const good[] = {
		"*", "svc-*", "[abc]", "[]abc]", "[!a-z]*", "[^0-9]",
		"\\[literal", "[[:alpha:]]", "[[:digit:][:upper:]]x",
		"CN=*,OU=Service*", "a[\\]]b",
	};
	struct conf c;
	struct err e;
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), MIN_SRC "[scope]\nexclude = "
			 "ok-* %s\n", bad[i]);
		if (load(text, &c, &e) != -1)
			fail_msg("exclude '%s' accepted", bad[i]);
		assert_int_equal(e.line, 7);
		assert_non_null(strstr(e.msg, "bad exclude item"));
		conf_free(&c);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), MIN_SRC "[scope]\nexclude = %s\n",
			 good[i]);
		if (load(text, &c, &e) != 0)
			fail_msg("exclude '%s' refused: %s", good[i], e.msg);
		conf_free(&c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_list_item_no_follow_on),
		cmocka_unit_test(test_exclude_glob),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_err_fmt),
		cmocka_unit_test(test_url_loopback),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_no_secret_world_readable),
		cmocka_unit_test(test_env_password),
		cmocka_unit_test(test_url_password),
		cmocka_unit_test(test_secret_fifo),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_ldif_source),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_web_listen),
		cmocka_unit_test(test_load_all),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

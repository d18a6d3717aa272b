/* notify: when a mail is wanted, and what its summary and subject say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/notify.h"
#include "util/xalloc.h"

static json_t *
report_load(const char *text)
{
	json_error_t je;
	json_t *r = json_loads(text, 0, &je);

	if (r == NULL)
		fail_msg("bad test JSON: %s", je.text);
	return r;
}

static const char *const report_changes =
	"{\"run_id\": 7, \"mode\": \"sync\", \"started\": "
	"\"2026-11-21T12:00:00Z\", \"seconds\": 1.25,"
	" \"source\": {\"read\": 12, \"in_scope\": 9},"
	" \"summary\": {\"add\": 2, \"update\": 2, \"disable\": 0, \"delete\": 0,"
	" \"conflict\": 1, \"error\": 0}, \"applied\": true,"
	" \"limit_exceeded\": null,"
	" \"changes\": ["
	"  {\"op\": \"add\", \"kind\": \"mailbox\", \"address\": "
	"\"ann@example.com\", \"anchor\": \"a1\", \"fields\": {\"name\": "
	"\"Ann\\nLee\"}},"
	"  {\"op\": \"add\", \"kind\": \"alias\", \"address\": "
	"\"sales@example.com\", \"anchor\": \"a1\", \"fields\": {}},"
	"  {\"op\": \"update\", \"kind\": \"mailbox\", \"address\": "
	"\"cy@example.com\", \"fields\": {\"name\": \"Cy Ng\"}, \"old\": "
	"{\"name\": \"Cy\"}},"
	"  {\"op\": \"update\", \"kind\": \"list\", \"address\": "
	"\"all@example.com\", \"fields\": {\"goto_addresses\": 1196}, "
	"\"old\": {\"goto_addresses\": 1200}, \"members_added\": "
	"[\"new@example.com\"], \"members_removed\": [\"a@example.com\", "
	"\"b@example.com\", \"c@example.com\", \"d@example.com\", "
	"\"e@example.com\"]},"
	"  {\"op\": \"update\", \"kind\": \"password\", \"address\": "
	"\"bob@example.com\", \"anchor\": \"b2\", \"fields\": {\"password\": "
	"\"{SHA512-CRYPT}$6$secret\"}}],"
	" \"conflicts\": [{\"address\": \"info@example.com\", \"claimed_by\": "
	"[\"a1\", \"c3\"]}],"
	" \"errors\": []}";

static const char *const report_nothing =
	"{\"run_id\": 8, \"mode\": \"sync\", \"applied\": true,"
	" \"summary\": {\"add\": 0, \"update\": 0, \"disable\": 0, \"delete\": 0,"
	" \"conflict\": 0, \"error\": 0}, \"limit_exceeded\": null,"
	" \"changes\": [], \"conflicts\": [], \"errors\": []}";

static const char *const report_limit =
	"{\"run_id\": 9, \"mode\": \"sync\", \"applied\": false,"
	" \"summary\": {\"add\": 0, \"update\": 0, \"disable\": 40, \"delete\": 0,"
	" \"conflict\": 0, \"error\": 0},"
	" \"limit_exceeded\": {\"limit\": \"max_delete_percent\", "
	"\"allowed\": 10, \"planned\": 40},"
	" \"changes\": [], \"conflicts\": [], \"errors\": []}";

static const char *const report_error =
	"{\"run_id\": 10, \"mode\": \"sync\", \"applied\": false,"
	" \"summary\": {\"add\": 0, \"update\": 0, \"disable\": 0, \"delete\": 0,"
	" \"conflict\": 0, \"error\": 1}, \"limit_exceeded\": null,"
	" \"changes\": [], \"conflicts\": [],"
	" \"errors\": [{\"code\": \"connect\", \"where\": \"bind\", "
	"\"object\": \"ldaps://dc1.example.com\", \"message\": \"bind: "
	"ldaps://dc1.example.com: Can't contact LDAP server\"}]}";

static void
conf_with(struct conf *c, enum notify_when when)
{
	conf_defaults(c);
	c->notify.smtp_url = xstrdup("smtp://127.0.0.1:2525");
	c->notify.when = when;
}

static void
test_wanted(void **state)
{
	json_t *chg = report_load(report_changes);
	json_t *none = report_load(report_nothing);
	json_t *lim = report_load(report_limit);
	json_t *bad = report_load(report_error);
	struct conf c;

	(void)state;
	conf_with(&c, NOTIFY_CHANGES);
	assert_true(notify_wanted(&c, chg, 0));
	assert_false(notify_wanted(&c, none, 0));
	assert_true(notify_wanted(&c, lim, 3));
	assert_true(notify_wanted(&c, bad, 1));
	assert_true(notify_wanted(&c, NULL, 1));
	c.notify.when = NOTIFY_ERRORS;
	assert_false(notify_wanted(&c, chg, 0));
	assert_false(notify_wanted(&c, none, 0));
	assert_true(notify_wanted(&c, lim, 3));
	assert_true(notify_wanted(&c, bad, 1));
	c.notify.when = NOTIFY_ALWAYS;
	assert_true(notify_wanted(&c, none, 0));
	/* no smtp_url: never */
	free(c.notify.smtp_url);
	c.notify.smtp_url = NULL;
	assert_false(notify_wanted(&c, bad, 1));
	conf_free(&c);
	json_decref(chg);
	json_decref(none);
	json_decref(lim);
	json_decref(bad);
}

static void
test_summary_changes(void **state)
{
	json_t *r = report_load(report_changes);
	char *s = notify_summary(r, 0);

	(void)state;
	assert_non_null(strstr(s, "2 added, 2 updated"));
	assert_non_null(strstr(s, "cy@example.com name=Cy Ng (was Cy)"));
	/* a long list: its goto counted, its members by name, five a side */
	assert_non_null(strstr(s, "all@example.com goto_addresses=1196 (was "
				  "1200) members +new@example.com -a@example.com"
				  " -b@example.com -c@example.com -d@example.com "
				  "-e@example.com\n"));
	assert_non_null(strstr(s, "changes applied (exit code 0)"));
	assert_non_null(strstr(s, "12 entries read, 9 in scope"));
	assert_non_null(strstr(s, "mailbox  ann@example.com name=Ann?Lee"));
	assert_non_null(strstr(s, "info@example.com claimed by a1, c3"));
	assert_non_null(strstr(s, "bob@example.com"));
	/* a password hash never reaches a mail */
	assert_null(strstr(s, "SHA512"));
	assert_null(strstr(s, "secret"));
	free(s);
	s = notify_subject(r, 0);
	assert_non_null(strstr(s, "dirsync run 7 on "));
	assert_non_null(strstr(s, ": 2 added, 2 updated"));
	assert_null(strchr(s, '\n'));
	free(s);
	json_decref(r);
}

static void
test_summary_limit(void **state)
{
	json_t *r = report_load(report_limit);
	char *s = notify_summary(r, 3);

	(void)state;
	assert_non_null(strstr(s, "safety limit exceeded, nothing applied"));
	assert_non_null(strstr(s, "max_delete_percent allows 10, the plan "
				  "has 40"));
	assert_non_null(strstr(s, "--force-limits"));
	assert_non_null(strstr(s, "40 disabled"));
	assert_non_null(strstr(s, "(not applied)"));
	free(s);
	json_decref(r);
}

static void
test_summary_error(void **state)
{
	json_t *r = report_load(report_error);
	char *s = notify_summary(r, 1);

	(void)state;
	assert_non_null(strstr(s, "FAILED, 1 error"));
	assert_non_null(strstr(s, "\n  bind: ldaps://dc1.example.com: Can't "
				  "contact LDAP server\n"));
	free(s);
	s = notify_summary(NULL, 2);
	assert_non_null(strstr(s, "FAILED (exit 2)"));
	free(s);
	json_decref(r);
}

static void
test_bad_url(void **state)
{
	struct conf c;
	struct err e = {0};
	json_t *r = report_load(report_changes);

	(void)state;
	conf_with(&c, NOTIFY_ALWAYS);
	c.notify.to.n = 1;
	c.notify.to.v = xcalloc(1, sizeof(char *));
	c.notify.to.v[0] = xstrdup("admin@example.com");
	free(c.notify.smtp_url);
	c.notify.smtp_url = xstrdup("smtp://joe:pw@127.0.0.1:2525");
	assert_int_equal(notify_send(&c, r, 0, &e), -1);
	assert_int_equal(e.code, DS_E_CONFIG);
	assert_null(strstr(e.msg, "pw"));
	free(c.notify.smtp_url);
	c.notify.smtp_url = xstrdup("http://127.0.0.1/");
	assert_int_equal(notify_send(&c, r, 0, &e), -1);
	assert_int_equal(e.code, DS_E_CONFIG);
	conf_free(&c);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_summary_changes),
		cmocka_unit_test(test_summary_limit),
		cmocka_unit_test(test_summary_error),
		cmocka_unit_test(test_bad_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

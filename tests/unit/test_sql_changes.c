/*
 * sql_changes_next(): does fingerprint `after` say that exactly one
 * writing transaction, dirsync's own, came after `before`?  The
 * fingerprint is "epoch:token:n" (PostgreSQL "epoch/xmins:token:n");
 * dirsync's commit raises n by one and draws a new token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "target/sql_owner.h"

static void
test_own_commit(void **st)
{
	(void)st;
	assert_true(sql_changes_next("e1:aaaa:7", "e1:bbbb:8"));
	assert_true(sql_changes_next("e1/1.2.3:aaaa:7", "e1/1.2.3:bbbb:8"));
	assert_true(sql_changes_next("e1:aaaa:0", "e1:b:1"));
}

static void
test_not_own_commit(void **st)
{
	(void)st;
	/* another writer too: n moved by more than one */
	assert_false(sql_changes_next("e1:aaaa:7", "e1:bbbb:9"));
	assert_false(sql_changes_next("e1:aaaa:7", "e1:bbbb:7"));
	assert_false(sql_changes_next("e1:aaaa:8", "e1:bbbb:7"));
	/* no new token: not a commit of dirsync's */
	assert_false(sql_changes_next("e1:aaaa:7", "e1:aaaa:8"));
	/* a new epoch, other trigger rows */
	assert_false(sql_changes_next("e1:aaaa:7", "e2:bbbb:8"));
	assert_false(sql_changes_next("e1/1.2.3:aaaa:7", "e1/1.2.4:bbbb:8"));
	assert_false(sql_changes_next("e1:aaaa:7", "e10:bbbb:8"));
}

static void
test_malformed(void **st)
{
	(void)st;
	/* an older dirsync's "epoch:n" */
	assert_false(sql_changes_next("e1:7", "e1:8"));
	assert_false(sql_changes_next("e1:aaaa:7", "e1:8"));
	assert_false(sql_changes_next("", "e1:bbbb:8"));
	assert_false(sql_changes_next("e1:aaaa:7", ""));
	assert_false(sql_changes_next(":aaaa:7", ":bbbb:8"));
	assert_false(sql_changes_next("e1::7", "e1:bbbb:8"));
	assert_false(sql_changes_next("e1:aaaa:", "e1:bbbb:1"));
	assert_false(sql_changes_next("e1:aaaa:7x", "e1:bbbb:8"));
	assert_false(sql_changes_next("e1:aaaa:7", "e1:bbbb:8x"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_commit),
		cmocka_unit_test(test_not_own_commit),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* passwd: the [passwords] policy, the three hash schemes, stdin reading,
 * the pwdLastSet comparison, and the 0600 queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "passwd/passwd.h"
#include "passwd/pwdeliver.h"
#include "passwd/pwqueue.h"

static int
policy(const char *pw, long len, long classes)
{
	const char *why = "unset";
	int rc = pw_policy_check(pw, strlen(pw), len, classes, &why);

	if (rc == 0)
		assert_null(why);
	else
		assert_non_null(why);
	return rc;
}

static void
test_policy_defaults(void **st)
{
	(void)st;
	/* default: 8 characters, 3 of lower, upper, digit, other */
	assert_int_equal(policy("Abcdefg1", 8, 3), 0);
	assert_int_equal(policy("abcdefg1!", 8, 3), 0);
	assert_int_equal(policy("ABCDEFG1!", 8, 3), 0);
	assert_int_equal(policy("Abcdef1", 8, 3), -1);      /* 7 chars */
	assert_int_equal(policy("abcdefgh1", 8, 3), -1);    /* 2 classes */
	assert_int_equal(policy("abcdefghij", 8, 3), -1);   /* 1 class */
	assert_int_equal(policy("", 8, 3), -1);
	/* a space and non-ASCII letters are "other" */
	assert_int_equal(policy("abc defG", 8, 3), 0);
	assert_int_equal(policy("\xc3\xa9" "t\xc3\xa9" "Abcde", 8, 3), 0);
}

static void
test_policy_counts_characters(void **st)
{
	(void)st;
	/* 4 two-byte characters: 8 bytes, 4 characters */
	assert_int_equal(policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5, 1), -1);
	assert_int_equal(policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4, 1), 0);
	/* min_classes 0 and 4 */
	assert_int_equal(policy("aaaaaaaa", 8, 0), 0);
	assert_int_equal(policy("aA1!aaaa", 8, 4), 0);
	assert_int_equal(policy("aA1aaaaa", 8, 4), -1);
}

static void
test_policy_nul(void **st)
{
	const char *why = NULL;

	(void)st;
	assert_int_equal(pw_policy_check("Abcd\0efg1", 9, 8, 3, &why), -1);
	assert_non_null(strstr(why, "NUL"));
}

static void
test_scheme_names(void **st)
{
	enum pw_scheme s;

	(void)st;
	assert_int_equal(pw_scheme_parse("SHA512-CRYPT", &s), 0);
	assert_int_equal(s, PW_SHA512_CRYPT);
	assert_int_equal(pw_scheme_parse("blf-crypt", &s), 0);
	assert_int_equal(s, PW_BLF_CRYPT);
	assert_int_equal(pw_scheme_parse("ARGON2ID", &s), 0);
	assert_int_equal(s, PW_ARGON2ID);
	assert_int_equal(pw_scheme_parse("MD5-CRYPT", &s), -1);
	assert_int_equal(pw_scheme_parse("PLAIN", &s), -1);
	assert_int_equal(pw_scheme_parse(NULL, &s), -1);
	assert_string_equal(pw_scheme_name(PW_ARGON2ID), "ARGON2ID");
}

/* A secret as pw_secret_read would give it, from a pipe. */
static int
secret_from(const char *data, size_t len, struct pw_secret *s,
	    struct err *e)
{
	int p[2];
	int rc;

	assert_int_equal(pipe(p), 0);
	if (len > 0)
		assert_int_equal(write(p[1], data, len), (ssize_t)len);
	close(p[1]);
	err_clear(e);
	rc = pw_secret_read(p[0], s, e);
	close(p[0]);
	return rc;
}

static void
check_scheme(enum pw_scheme scheme, const char *prefix)
{
	struct pw_secret s;
	struct err e;
	char h1[PW_HASH_MAX], h2[PW_HASH_MAX];

	assert_int_equal(secret_from("Tr0ub4dor&3\n", 12, &s, &e), 0);
	assert_int_equal(pw_hash(scheme, &s, h1, sizeof(h1), &e), 0);
	assert_int_equal(pw_hash(scheme, &s, h2, sizeof(h2), &e), 0);
	pw_secret_free(&s);
	assert_memory_equal(h1, prefix, strlen(prefix));
	/* salted: two hashes of one password differ */
	assert_string_not_equal(h1, h2);
	assert_null(strstr(h1, "Tr0ub4dor"));
	/* the trailing newline was not hashed */
	assert_true(pw_verify(h1, "Tr0ub4dor&3"));
	assert_false(pw_verify(h2, "Tr0ub4dor&3\n"));
}

static void
test_hash_sha512(void **st)
{
	(void)st;
	check_scheme(PW_SHA512_CRYPT, "{SHA512-CRYPT}$6$");
}

static void
test_hash_blf(void **st)
{
	(void)st;
	check_scheme(PW_BLF_CRYPT, "{BLF-CRYPT}$2y$10$");
}

static void
test_hash_argon2id(void **st)
{
	(void)st;
	check_scheme(PW_ARGON2ID, "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$");
}

static void
test_hash_small_buffer(void **st)
{
	struct pw_secret s;
	struct err e;
	char h[20];

	(void)st;
	assert_int_equal(secret_from("Abcdefg1", 8, &s, &e), 0);
	assert_int_equal(pw_hash(PW_SHA512_CRYPT, &s, h, sizeof(h), &e), -1);
	assert_int_equal(e.code, DS_E_INTERNAL);
	pw_secret_free(&s);
}

static void
test_read_bounds(void **st)
{
	struct pw_secret s;
	struct err e;
	char *big = malloc(PW_MAX_BYTES + 10);

	(void)st;
	memset(big, 'a', PW_MAX_BYTES + 10);
	assert_int_equal(secret_from(big, PW_MAX_BYTES, &s, &e), 0);
	assert_int_equal(s.len, PW_MAX_BYTES);
	pw_secret_free(&s);
	pw_secret_free(&s);   /* twice is safe */
	assert_int_equal(secret_from(big, PW_MAX_BYTES + 1, &s, &e), -1);
	assert_int_equal(e.code, DS_E_USAGE);
	assert_non_null(strstr(e.msg, "longer than"));
	assert_null(s.p);
	assert_int_equal(secret_from("", 0, &s, &e), -1);
	assert_non_null(strstr(e.msg, "no password"));
	assert_int_equal(secret_from("\n", 1, &s, &e), -1);
	assert_int_equal(secret_from("ab\0cd", 5, &s, &e), -1);
	assert_non_null(strstr(e.msg, "NUL"));
	assert_int_equal(secret_from("Abc\r\n", 5, &s, &e), 0);
	assert_string_equal(s.p, "Abc");
	pw_secret_free(&s);
	free(big);
}

static void
test_changed_after(void **st)
{
	(void)st;
	assert_true(pw_changed_after("133000000000000000",
				     "133000000010000000"));
	assert_false(pw_changed_after("133000000000000000",
				      "133000000000000000"));
	/* "must change at next logon" is not a change */
	assert_false(pw_changed_after("133000000000000000", "0"));
	assert_false(pw_changed_after("133000000000000000", ""));
	assert_true(pw_changed_after("", "133000000000000000"));
	assert_true(pw_changed_after("0", "133000000000000000"));
	/* shorter numbers compare as numbers, not strings */
	assert_true(pw_changed_after("99", "100"));
	assert_true(pw_changed_after("20261130051500Z", "20261130051501Z"));
	assert_false(pw_changed_after("20261130051500Z", "20261130051500Z"));
}

static int
count_cb(void *ctx, const struct pwq_row *r)
{
	int *n = ctx;

	(*n)++;
	assert_string_equal(r->address, "ann@example.com");
	return 0;
}

static void
test_queue_file(void **st)
{
	char dir[] = "/tmp/dirsync-pwq-XXXXXX";
	char state[64], *path;
	struct pwq *q = NULL;
	struct pwq_row r;
	struct stat sb;
	struct err e;
	int n = 0;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(state, sizeof(state), "%s/state.db", dir);
	path = pwq_path(state);
	err_clear(&e);
	/* no file: nothing queued, nothing created */
	assert_int_equal(pwq_open(&q, state, false, &e), 0);
	assert_null(q);
	assert_int_not_equal(access(path, F_OK), 0);
	umask(022);
	assert_int_equal(pwq_open(&q, state, true, &e), 0);
	assert_non_null(q);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	memset(&r, 0, sizeof(r));
	r.address = "ann@example.com";
	r.account = "ann";
	r.anchor = "a1";
	r.hash = "{SHA512-CRYPT}$6$x$y";
	r.before = "1";
	r.queued_at = 10;
	assert_int_equal(pwq_put(q, &r, &e), 0);
	r.hash = "{SHA512-CRYPT}$6$x$z";   /* a newer change replaces it */
	assert_int_equal(pwq_put(q, &r, &e), 0);
	assert_int_equal(pwq_count(q), 1);
	assert_int_equal(pwq_each(q, NULL, count_cb, &n, &e), 0);
	assert_int_equal(n, 1);
	/* removing the older hash leaves the newer one */
	assert_int_equal(pwq_remove(q, r.anchor, "{SHA512-CRYPT}$6$x$y", &e),
			 0);
	assert_int_equal(pwq_count(q), 1);
	assert_int_equal(pwq_remove(q, r.anchor, r.hash, &e), 0);
	assert_int_equal(pwq_count(q), 0);
	/* a newer change forgets the row whatever its hash */
	assert_int_equal(pwq_put(q, &r, &e), 0);
	assert_int_equal(pwq_forget(q, r.anchor, &e), 0);
	assert_int_equal(pwq_count(q), 0);
	pwq_close(q);
	/* a queue others can read is refused */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(pwq_open(&q, state, false, &e), -1);
	assert_int_equal(e.code, DS_E_STATE);
	assert_non_null(strstr(e.msg, "chmod 600"));
	unlink(path);
	free(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_defaults),
		cmocka_unit_test(test_policy_counts_characters),
		cmocka_unit_test(test_policy_nul),
		cmocka_unit_test(test_scheme_names),
		cmocka_unit_test(test_hash_sha512),
		cmocka_unit_test(test_hash_blf),
		cmocka_unit_test(test_hash_argon2id),
		cmocka_unit_test(test_hash_small_buffer),
		cmocka_unit_test(test_read_bounds),
		cmocka_unit_test(test_changed_after),
		cmocka_unit_test(test_queue_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

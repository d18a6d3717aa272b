/*
 * syncsnap: the snapshot of the last read - entry blobs round-trip and a
 * damaged one is refused; a full read's new file and an incremental
 * transaction are only there after a commit; the config hash follows
 * [scope] but not the connection details.
 */
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
#include <sqlite3.h>

#include "conf/conf.h"
#include "state/syncsnap.h"

static char dir[] = "/tmp/dirsync-syncsnap-XXXXXX";
static char path[sizeof(dir) + 32];

static struct val v_mail[] = {{"ann@example.com", 15}};
static struct val v_bin[] = {{"\x00\x01\x02", 3}, {"", 0}};
static struct attr attrs[] = {
	{"mail", 1, v_mail},
	{"objectGUID", 2, v_bin},
};
static const struct entry ent = {"cn=Ann,dc=example,dc=com", 2, attrs,
				 "test"};

static int
setup(void **st)
{
	(void)st;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/state.db.snapshot", dir);
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
test_blob_roundtrip(void **st)
{
	struct entry e;
	void *scratch = NULL;
	size_t len, cap = 0, cut;
	unsigned char *b = syncsnap_encode(&ent, &len);

	(void)st;
	assert_int_equal(syncsnap_decode(b, len, &e, &scratch, &cap), 0);
	assert_string_equal(e.dn, ent.dn);
	assert_int_equal(e.nattrs, 2);
	assert_string_equal(e.attrs[0].name, "mail");
	assert_string_equal(e.attrs[0].vals[0].p, "ann@example.com");
	assert_int_equal(e.attrs[1].nvals, 2);
	assert_int_equal(e.attrs[1].vals[0].len, 3);
	assert_memory_equal(e.attrs[1].vals[0].p, "\x00\x01\x02", 3);
	assert_int_equal(e.attrs[1].vals[1].len, 0);
	/* every truncation and a trailing byte are refused */
	for (cut = 0; cut < len; cut++)
		assert_int_equal(syncsnap_decode(b, cut, &e, &scratch, &cap),
				 -1);
	b[8 + strlen(ent.dn) - 4] = 0xff;  /* nattrs: absurd */
	assert_int_equal(syncsnap_decode(b, len, &e, &scratch, &cap), -1);
	free(b);
	free(scratch);
}

static int
count_row(void *ctx, const char *uuid, const struct entry *e,
	  struct err *err)
{
	(void)uuid;
	(void)err;
	assert_string_equal(e->dn, ent.dn);
	++*(int *)ctx;
	return 0;
}

static int
rows(struct syncsnap *s)
{
	struct err e;
	int n = 0;

	err_clear(&e);
	assert_int_equal(syncsnap_scan(s, count_row, &n, &e), 0);
	return n;
}

static void
test_commit_only(void **st)
{
	struct syncsnap *s = NULL;
	struct syncsnap_meta m, got;
	struct err e;
	const char *why = NULL;
	struct stat sb;
	size_t len;
	void *b = syncsnap_encode(&ent, &len);

	(void)st;
	err_clear(&e);
	memset(&m, 0, sizeof(m));
	m.cookie = (unsigned char *)"rid=000,csn=1";
	m.cookie_len = 13;
	snprintf(m.server, sizeof(m.server), "ldap://a");
	m.entries = 2;   /* the caller's count, kept with the meta */
	/* a full read that is not committed leaves nothing */
	assert_int_equal(syncsnap_create(&s, path, &e), 0);
	assert_int_equal(syncsnap_put(s, "u1", b, len, NULL, 0, &e), 0);
	syncsnap_close(s);
	assert_int_equal(syncsnap_open(&s, path, true, &got, &why, &e), 1);
	assert_non_null(strstr(why, "no snapshot"));
	/* committed: there, with its cookie */
	assert_int_equal(syncsnap_create(&s, path, &e), 0);
	assert_int_equal(syncsnap_put(s, "u1", b, len, NULL, 0, &e), 0);
	assert_int_equal(syncsnap_put(s, "u2", b, len, NULL, 0, &e), 0);
	assert_int_equal(syncsnap_commit(s, &m, &e), 0);
	syncsnap_close(s);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(syncsnap_open(&s, path, false, &got, &why, &e), 0);
	assert_int_equal(got.cookie_len, 13);
	assert_memory_equal(got.cookie, "rid=000,csn=1", 13);
	assert_string_equal(got.server, "ldap://a");
	assert_int_equal(got.entries, 2);
	syncsnap_meta_free(&got);
	/* an incremental transaction rolled back: unchanged */
	assert_int_equal(syncsnap_begin(s, &e), 0);
	assert_int_equal(syncsnap_del(s, "u1", &e), 0);
	syncsnap_close(s);
	assert_int_equal(syncsnap_open(&s, path, false, &got, &why, &e), 0);
	assert_int_equal(rows(s), 2);
	syncsnap_meta_free(&got);
	/* committed: applied */
	assert_int_equal(syncsnap_begin(s, &e), 0);
	assert_int_equal(syncsnap_del(s, "u1", &e), 0);
	assert_int_equal(syncsnap_commit(s, &m, &e), 0);
	assert_int_equal(rows(s), 1);
	syncsnap_close(s);
	free(b);
}

/* sql run on the committed snapshot at path, by another connection */
static void
tamper(const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/*
 * Bytes changed inside a row (its page intact, so SQLite reads it) are
 * found by the row's checksum: syncsnap_get answers NULL and
 * syncsnap_get_check() says so (a lookup is not taken for "no such
 * row"), and a scan fails.  Rows gone from the file since its commit
 * fail a scan too.  Both are DS_E_STATE: the engine reads whole.
 */
static void
test_damaged_rows(void **st)
{
	struct syncsnap *s = NULL;
	struct syncsnap_meta m, got;
	struct err e;
	const char *why = NULL;
	size_t len, n;
	void *b = syncsnap_encode(&ent, &len), *row;
	int count = 0;

	(void)st;
	err_clear(&e);
	memset(&m, 0, sizeof(m));
	m.cookie = (unsigned char *)"rid=000,csn=1";
	m.cookie_len = 13;
	m.entries = 3;
	assert_int_equal(syncsnap_create(&s, path, &e), 0);
	assert_int_equal(syncsnap_put(s, "u1", b, len, NULL, 0, &e), 0);
	assert_int_equal(syncsnap_put(s, "u2", b, len, NULL, 0, &e), 0);
	assert_int_equal(syncsnap_put(s, "u3", b, len, NULL, 0, &e), 0);
	assert_int_equal(syncsnap_commit(s, &m, &e), 0);
	syncsnap_close(s);
	/* intact: as written */
	assert_int_equal(syncsnap_open(&s, path, true, &got, &why, &e), 0);
	assert_int_equal(rows(s), 3);
	row = syncsnap_get(s, "u2", &n);
	assert_non_null(row);
	assert_int_equal(n, len);
	assert_memory_equal(row, b, len);
	free(row);
	syncsnap_close(s);
	syncsnap_meta_free(&got);
	/* one byte of u2 changed, the same length */
	tamper("UPDATE entry SET data = CAST(replace(CAST(data AS TEXT), "
	       "'example', 'exbmple') AS BLOB) WHERE uuid = 'u2'");
	assert_int_equal(syncsnap_open(&s, path, true, &got, &why, &e), 0);
	row = syncsnap_get(s, "u1", &n);
	assert_non_null(row);
	free(row);
	assert_null(syncsnap_get(s, "u2", &n));
	assert_int_equal(syncsnap_get_check(s, &e), -1);
	assert_int_equal(e.code, DS_E_STATE);
	assert_non_null(strstr(e.msg, "u2 fails its checksum"));
	err_clear(&e);
	assert_int_equal(syncsnap_scan(s, count_row, &count, &e), -1);
	assert_int_equal(e.code, DS_E_STATE);
	assert_non_null(strstr(e.msg, "fails its checksum"));
	syncsnap_close(s);
	syncsnap_meta_free(&got);
	/* u2 gone instead: the scan counts the rows */
	tamper("DELETE FROM entry WHERE uuid = 'u2'");
	err_clear(&e);
	count = 0;
	assert_int_equal(syncsnap_open(&s, path, true, &got, &why, &e), 0);
	assert_int_equal(syncsnap_scan(s, count_row, &count, &e), -1);
	assert_int_equal(e.code, DS_E_STATE);
	assert_non_null(strstr(e.msg, "holds 2 rows, its last read left 3"));
	syncsnap_close(s);
	syncsnap_meta_free(&got);
	free(b);
}

static void
count_uuid(void *arg, const char *uuid)
{
	char *seen = arg;

	strcat(seen, uuid);
	strcat(seen, " ");
}

/* The uuids having key, sorted and joined ("u1 u2 "). */
static const char *
found(struct syncsnap *s, const char *key)
{
	static char seen[256];
	struct err e;
	char *a, *b;

	seen[0] = '\0';
	err_clear(&e);
	assert_int_equal(syncsnap_find(s, key, count_uuid, seen, &e), 0);
	/* two at most here: order them */
	if ((a = strtok(seen, " ")) != NULL && (b = strtok(NULL, " ")) != NULL &&
	    strcmp(a, b) > 0) {
		char t[64];

		snprintf(t, sizeof(t), "%s %s ", b, a);
		snprintf(seen, sizeof(seen), "%s", t);
	} else if (a != NULL) {
		char t[128];

		snprintf(t, sizeof(t), "%s%s%s ", a, b != NULL ? " " : "",
			 b != NULL ? b : "");
		snprintf(seen, sizeof(seen), "%s", t);
	}
	return seen;
}

/*
 * The key index: written by a full read (sorted in at commit), kept by
 * incremental puts and deletes, which replace a row's keys.
 */
static void
test_keys(void **st)
{
	static const char *const k1[] = {"a:x@example.org", "d:uid=1"};
	static const char *const k2[] = {"a:x@example.org", "m:uid=1"};
	static const char *const k1b[] = {"a:y@example.org", "d:uid=1"};
	struct syncsnap *s = NULL;
	struct syncsnap_meta m, got;
	struct err e;
	const char *why = NULL;
	size_t len;
	void *b = syncsnap_encode(&ent, &len);

	(void)st;
	err_clear(&e);
	memset(&m, 0, sizeof(m));
	m.cookie = (unsigned char *)"c";
	m.cookie_len = 1;
	assert_int_equal(syncsnap_create(&s, path, &e), 0);
	assert_int_equal(syncsnap_put(s, "u1", b, len, k1, 2, &e), 0);
	assert_int_equal(syncsnap_put(s, "u2", b, len, k2, 2, &e), 0);
	assert_int_equal(syncsnap_commit(s, &m, &e), 0);
	syncsnap_close(s);
	assert_int_equal(syncsnap_open(&s, path, false, &got, &why, &e), 0);
	syncsnap_meta_free(&got);
	assert_string_equal(found(s, "a:x@example.org"), "u1 u2 ");
	assert_string_equal(found(s, "m:uid=1"), "u2 ");
	assert_string_equal(found(s, "a:nobody@example.org"), "");
	/* u1 replaced: its old keys go, its new ones answer */
	assert_int_equal(syncsnap_begin(s, &e), 0);
	assert_int_equal(syncsnap_put(s, "u1", b, len, k1b, 2, &e), 0);
	assert_string_equal(found(s, "a:x@example.org"), "u2 ");
	assert_string_equal(found(s, "a:y@example.org"), "u1 ");
	/* u2 deleted: none of its keys answer */
	assert_int_equal(syncsnap_del(s, "u2", &e), 0);
	assert_string_equal(found(s, "a:x@example.org"), "");
	assert_string_equal(found(s, "m:uid=1"), "");
	assert_int_equal(syncsnap_commit(s, &m, &e), 0);
	syncsnap_close(s);
	/* as committed */
	assert_int_equal(syncsnap_open(&s, path, true, &got, &why, &e), 0);
	syncsnap_meta_free(&got);
	assert_string_equal(found(s, "d:uid=1"), "u1 ");
	assert_string_equal(found(s, "a:y@example.org"), "u1 ");
	syncsnap_close(s);
	free(b);
}

static void
test_conf_hash(void **st)
{
	struct conf c;
	char h1[32], h2[32], h3[32];

	(void)st;
	conf_defaults(&c);
	syncsnap_conf_hash(&c, h1, sizeof(h1));
	c.source.page_size = 17;          /* how, not what, is read */
	syncsnap_conf_hash(&c, h2, sizeof(h2));
	assert_string_equal(h1, h2);
	c.scope.visible_only = !c.scope.visible_only;
	syncsnap_conf_hash(&c, h3, sizeof(h3));
	assert_string_not_equal(h1, h3);
	conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blob_roundtrip),
		cmocka_unit_test(test_commit_only),
		cmocka_unit_test(test_damaged_rows),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_conf_hash),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

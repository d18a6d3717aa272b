#include "passwd/pwqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

struct pwq {
	sqlite3 *db;
	char *path;
};

static const char pwq_ddl[] =
	"CREATE TABLE IF NOT EXISTS pending ("
	" address TEXT PRIMARY KEY, account TEXT NOT NULL,"
	" anchor TEXT NOT NULL, hash TEXT NOT NULL, before TEXT NOT NULL,"
	" confirmed INTEGER NOT NULL DEFAULT 0,"
	" queued_at INTEGER NOT NULL);";

char *
pw_anchor_key(const char *anchor)
{
	return xasprintf("anchor:%s", anchor);
}

bool
pw_is_anchor_key(const char *address)
{
	return strncmp(address, "anchor:", 7) == 0;
}

char *
pwq_path(const char *state_path)
{
	return xasprintf("%s.passwords", state_path);
}

static int
db_err(struct pwq *q, struct err *err, const char *where)
{
	err->lib_rc = sqlite3_errcode(q->db);
	err_where(err, where);
	err_object(err, q->path);
	return err_set(err, DS_E_STATE, "%s", sqlite3_errmsg(q->db));
}

/*
 * The owner the queue must have: that of the state database, else of its
 * directory (the user the syncs run as).  False when neither is there.
 */
static bool
state_owner(const char *state_path, uid_t *uid, gid_t *gid)
{
	struct stat sb;
	char *dir, *slash;
	bool ok;

	if (stat(state_path, &sb) == 0) {
		*uid = sb.st_uid;
		*gid = sb.st_gid;
		return true;
	}
	dir = xstrdup(state_path);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	ok = stat(slash != NULL ? dir : ".", &sb) == 0;
	free(dir);
	*uid = sb.st_uid;
	*gid = sb.st_gid;
	return ok;
}

/*
 * Creates the file 0600 whatever the umask, owned by the state's owner
 * when root creates it (Samba runs the check password script as root;
 * the syncs run as their own user, which could not read a queue of
 * root's: a user trial's queued password was never written); refuses a
 * loose one, and says so of one the syncs cannot open.
 */
static int
check_file(const char *path, const char *state_path, bool create,
	   bool *exists, struct err *err)
{
	struct stat sb;
	uid_t uid;
	gid_t gid;
	int fd;

	*exists = false;
	if (create) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
				      O_NOFOLLOW, 0600);
		if (fd >= 0) {
			if (geteuid() == 0 &&
			    state_owner(state_path, &uid, &gid) &&
			    uid != 0 && fchown(fd, uid, gid) != 0) {
				close(fd);
				goto io;
			}
			close(fd);
		} else if (errno != EEXIST) {
			goto io;
		}
	}
	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT && !create)
			return 0;
		goto io;
	}
	if (!S_ISREG(sb.st_mode)) {
		err_object(err, path);
		return err_set(err, DS_E_STATE, "password queue is not a "
			       "regular file");
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		err_object(err, path);
		return err_set(err, DS_E_STATE, "password queue is "
			       "accessible to group or others (mode %04o): "
			       "chmod 600 it", (unsigned)(sb.st_mode & 07777));
	}
	if (geteuid() != 0 && sb.st_uid != geteuid()) {
		err_object(err, path);
		return err_set(err, DS_E_STATE, "password queue is owned by "
			       "uid %ld, not by uid %ld that this run is: its "
			       "passwords cannot be written; chown it to the "
			       "state database's owner",
			       (long)sb.st_uid, (long)geteuid());
	}
	*exists = true;
	return 0;
io:
	err->lib_rc = errno;
	err_object(err, path);
	return err_set(err, DS_E_STATE, "password queue: %s",
		       strerror(errno));
}

int
pwq_open(struct pwq **out, const char *state_path, bool create,
	 struct err *err)
{
	struct pwq *q;
	char *path = pwq_path(state_path);
	char *msg = NULL;
	bool exists;

	*out = NULL;
	if (check_file(path, state_path, create, &exists, err) != 0) {
		free(path);
		return -1;
	}
	if (!exists) {
		free(path);
		return 0;
	}
	q = xcalloc(1, sizeof(*q));
	q->path = path;
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		db_err(q, err, "open password queue");
		goto fail;
	}
	sqlite3_busy_timeout(q->db, 10000);
	if (sqlite3_exec(q->db, pwq_ddl, NULL, NULL, &msg) != SQLITE_OK) {
		err_object(err, path);
		err_set(err, DS_E_STATE, "password queue: %s",
			msg ? msg : "cannot create table");
		sqlite3_free(msg);
		goto fail;
	}
	*out = q;
	return 0;
fail:
	pwq_close(q);
	return -1;
}

/* One statement with text/int parameters and no rows. */
static int
pwq_exec(struct pwq *q, const char *sql, const char *const *p, int n,
	 struct err *err, const char *where)
{
	sqlite3_stmt *st = NULL;
	int i, rc;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(q, err, where);
	for (i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(q, err, where);
	return 0;
}

int
pwq_put(struct pwq *q, const struct pwq_row *r, struct err *err)
{
	char conf[2] = {r->confirmed ? '1' : '0', '\0'};
	char at[24];
	const char *p[7];

	snprintf(at, sizeof(at), "%lld", r->queued_at);
	p[0] = r->address;
	p[1] = r->account;
	p[2] = r->anchor;
	p[3] = r->hash;
	p[4] = r->before;
	p[5] = conf;
	p[6] = at;
	return pwq_exec(q,
			"INSERT OR REPLACE INTO pending (address, account, "
			"anchor, hash, before, confirmed, queued_at) VALUES "
			"(?, ?, ?, ?, ?, CAST(? AS INTEGER), "
			"CAST(? AS INTEGER))",
			p, 7, err, "queue password");
}

int
pwq_each(struct pwq *q, const char *only, pwq_cb cb, void *ctx,
	 struct err *err)
{
	sqlite3_stmt *st = NULL;
	struct pwq_row r;
	int rc;

	rc = sqlite3_prepare_v2(q->db,
				"SELECT address, account, anchor, hash, before,"
				" confirmed, queued_at FROM pending"
				" WHERE ?1 IS NULL OR address = ?1"
				" ORDER BY queued_at, address",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_err(q, err, "read password queue");
	sqlite3_bind_text(st, 1, only, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.address = (const char *)sqlite3_column_text(st, 0);
		r.account = (const char *)sqlite3_column_text(st, 1);
		r.anchor = (const char *)sqlite3_column_text(st, 2);
		r.hash = (const char *)sqlite3_column_text(st, 3);
		r.before = (const char *)sqlite3_column_text(st, 4);
		r.confirmed = sqlite3_column_int(st, 5) != 0;
		r.queued_at = sqlite3_column_int64(st, 6);
		if (r.address == NULL || r.account == NULL ||
		    r.anchor == NULL || r.hash == NULL || r.before == NULL)
			continue;
		if (cb(ctx, &r) != 0) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(q, err, "read password queue");
	return 0;
}

int
pwq_confirm(struct pwq *q, const char *address, const char *hash,
	    struct err *err)
{
	const char *p[] = {address, hash};

	return pwq_exec(q,
			"UPDATE pending SET confirmed = 1 WHERE address = ?"
			" AND hash = ?",
			p, 2, err, "confirm queued password");
}

int
pwq_remove(struct pwq *q, const char *address, const char *hash,
	   struct err *err)
{
	const char *p[] = {address, hash};

	return pwq_exec(q, "DELETE FROM pending WHERE address = ? AND "
			   "hash = ?",
			p, 2, err, "remove queued password");
}

int
pwq_forget(struct pwq *q, const char *address, const char *anchor,
	   struct err *err)
{
	const char *p[] = {address, anchor};

	return pwq_exec(q, anchor != NULL
			? "DELETE FROM pending WHERE address = ? OR anchor = ?"
			: "DELETE FROM pending WHERE address = ?",
			p, anchor != NULL ? 2 : 1, err,
			"forget queued password");
}

long
pwq_count(struct pwq *q)
{
	sqlite3_stmt *st = NULL;
	long n = -1;

	if (sqlite3_prepare_v2(q->db, "SELECT count(*) FROM pending", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

void
pwq_close(struct pwq *q)
{
	if (q == NULL)
		return;
	sqlite3_close(q->db);
	free(q->path);
	free(q);
}

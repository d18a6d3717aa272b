/*
 * sql_changes.c - the mail database's change counter: the SQL target's
 * fingerprint for the fast path (issue 16, engine/fastpath.c).
 *
 * dirsync_change_counter holds one row: a random epoch, a random token
 * and a counter n.  The epoch is drawn anew whenever the table or any
 * trigger had to be created: writes made while a trigger was missing
 * were not counted, so the fingerprint must not match one recorded
 * before (a database re-created or restored without the table gets a new
 * epoch too).  Triggers on mailbox, alias, domain and dirsync_managed
 * raise n on every insert, delete and update of a column the SQL target
 * reads, whoever writes: dirsync, Postfixadmin, psql by hand, and draw a
 * new token (8 random bytes in hex); dirsync's own transaction raises n
 * once and draws a token before its commit.  "epoch:token:n" is the
 * fingerprint (on PostgreSQL "epoch/xmins:token:n", below).
 *
 * The token is there for a copy of the mail database restored from a
 * backup (a file copy on SQLite, a cluster restore on PostgreSQL): it
 * carries the epoch and n of its day, and k rows written by hand after
 * the restore bring n back to what the k writes since the backup left,
 * which the last run may have recorded.  Those k writes draw tokens of
 * their own, so the fingerprint does not match however n lines up.  A
 * copy that still holds the recorded token was taken between the last
 * counted write and the next: its rows are the ones the last run saw.  (A token drawn only by
 * dirsync's commits was not enough: a row broken by hand, the backup,
 * the row mended by hand and a run with nothing to do record an old
 * token of dirsync's; tests/cli/restore.sh does both.)  An older
 * dirsync's table (no token column) or trigger (no token drawn) is
 * upgraded by setup(): the fingerprint recorded before no longer
 * matches, one full compare.
 *
 *  - SQLite has row triggers only: n rises by one per row written.  Its
 *    writers take turns (one write lock), so n read inside dirsync's own
 *    write transaction is exactly what that transaction left.  dirsync's
 *    own transaction sets the counter row's `quiet` flag, which the
 *    triggers' WHEN clause reads, switches the triggers off on its own
 *    connection where they are all the counter's (sqlite_triggers_off()
 *    says why) and counts itself once before its commit.  (Dropping and
 *    re-creating the triggers did the same, but a schema change under
 *    Dovecot's open SQLite connection failed its user lookups: "database
 *    schema has changed".)
 *  - PostgreSQL: a statement trigger (INSERT, UPDATE, DELETE and
 *    TRUNCATE) raises n once per transaction (a transaction-local setting
 *    remembers it: one row version per transaction, not one per
 *    statement).  The counter row stays locked by a writing transaction
 *    until it ends, so a concurrent writer's raise waits for dirsync's
 *    commit and then moves n past what dirsync recorded.  The function is
 *    SECURITY DEFINER, so a role that may write the mail tables but not
 *    dirsync's counter still can; every name in it is schema-qualified.
 *    The token is the first half of md5(random() || clock_timestamp())
 *    (the epoch is all of it): no extension, on any version.
 *
 * PostgreSQL's ALTER TABLE ... DISABLE TRIGGER is seen, also after the
 * trigger is enabled again: while it is off it does not count as present,
 * and the trigger rows' xmin (in the fingerprint) changes with every
 * DISABLE and ENABLE (pg_dump --disable-triggers restores do that).
 *
 * What it cannot see: a writer that keeps triggers from firing without
 * touching them (PostgreSQL's session_replication_role = replica; an
 * SQLite connection with SQLITE_DBCONFIG_ENABLE_TRIGGER off, e.g. the
 * sqlite3 shell's ".dbconfig enable_trigger off"), a writer that sets
 * the counter row itself (epoch, token and n as the last run recorded),
 * and a dump loaded back (its rows come before its triggers, its counter
 * row is the old one's) into the same SQLite file or a PostgreSQL
 * database of the old name.  A dump loaded into a new SQLite file moved
 * in place is seen: the file's device and inode follow the epoch
 * (with_file()).  docs/design.md says so; [schedule] full_every bounds
 * the others.
 */
#include "target/sql_owner.h"

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define COUNTED_TABLES 4   /* mailbox, alias, domain, dirsync_managed */

#define SQLITE_TRIG_NAMES                                                  \
	"('dirsync_chg_mailbox_i', 'dirsync_chg_mailbox_u',"               \
	" 'dirsync_chg_mailbox_d', 'dirsync_chg_alias_i',"                 \
	" 'dirsync_chg_alias_u', 'dirsync_chg_alias_d',"                   \
	" 'dirsync_chg_domain_i', 'dirsync_chg_domain_u',"                 \
	" 'dirsync_chg_domain_d', 'dirsync_chg_managed_i',"                \
	" 'dirsync_chg_managed_u', 'dirsync_chg_managed_d')"

/* a new token: 8 random bytes in hex */
#define SQLITE_NEW "lower(hex(randomblob(8)))"

/*
 * Counts only the triggers that draw a token (an older dirsync's raised
 * n alone); an older dirsync's table (no token column) fails the query.
 * Either way setup() puts it right.
 */
static const char SQLITE_CHECK[] =
	"SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
	" AND name IN " SQLITE_TRIG_NAMES " AND sql LIKE '%token%') / 3,"
	" epoch, token, n FROM dirsync_change_counter WHERE id = 1";

/* triggers that are not the counter's: a site's own, which dirsync's
 * writes must fire as anyone's */
static const char SQLITE_OTHERS[] =
	"SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
	" AND name NOT IN " SQLITE_TRIG_NAMES ") + (SELECT count(*) FROM"
	" sqlite_temp_master WHERE type = 'trigger')";

/* (dropped first: an older dirsync's trigger of that name has another
 * body; setup() runs only when something is missing or old) */
#define SQLITE_TRIG(name, op, table)                                       \
	"DROP TRIGGER IF EXISTS dirsync_chg_" name ";"                     \
	"CREATE TRIGGER dirsync_chg_" name " AFTER " op " ON " table        \
	" WHEN (SELECT quiet FROM dirsync_change_counter"                  \
	" WHERE id = 1) = 0 BEGIN UPDATE dirsync_change_counter"            \
	" SET n = n + 1, token = " SQLITE_NEW " WHERE id = 1; END;"
/* updates count only in the columns load() and load_managed() read: a
 * password, a quota or a `modified` stamp changes no plan */
#define SQLITE_TRIGS(name, table, cols)                                    \
	SQLITE_TRIG(name "_i", "INSERT", table)                            \
	SQLITE_TRIG(name "_u", "UPDATE OF " cols, table)                   \
	SQLITE_TRIG(name "_d", "DELETE", table)
/* (the columns of sql.c's SQL_LOAD_* and sql_owner.c's load: keep them
 * in step; existing triggers are found by name, so rename them when a
 * list changes) */
#define MAILBOX_COLS "username, name, active, maildir, local_part, domain"
#define ALIAS_COLS "address, goto, active"
#define DOMAIN_COLS "domain, active"
#define MANAGED_COLS "address, kind, anchor, disabled_at"

/*
 * dirsync's own transaction: the quiet flag is set at its start and
 * cleared, with one raise of the counter, right before its commit.  The
 * flag is a row write in that transaction: the write lock it takes keeps
 * every other writer out until the commit, so nothing goes uncounted, and
 * no other connection ever sees it set (a crash rolls it back).  A row
 * trigger run per written row made an initial sync of 100k users four
 * times slower; a WHEN clause that is false skips the trigger's body.
 */
static const char SQLITE_QUIET[] =
	"UPDATE dirsync_change_counter SET quiet = 1 WHERE id = 1";

/* dirsync's own commit: counted once, with a new token */
static const char SQLITE_LOUD[] =
	"UPDATE dirsync_change_counter SET quiet = 0, n = n + 1,"
	" token = " SQLITE_NEW " WHERE id = 1";
static const char SQLITE_TOKEN[] =
	"UPDATE dirsync_change_counter SET token = " SQLITE_NEW " WHERE id = 1";

/* setup(), in one write transaction: the table, the token column added
 * to an older dirsync's table (SQLite has no ADD COLUMN IF NOT EXISTS),
 * then the row, a new epoch and token, and the triggers */
static const char SQLITE_SETUP_TABLE[] =
	"BEGIN IMMEDIATE;"
	"CREATE TABLE IF NOT EXISTS dirsync_change_counter ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" epoch TEXT NOT NULL, n INTEGER NOT NULL,"
	" quiet INTEGER NOT NULL DEFAULT 0, token TEXT)";
static const char SQLITE_HAS_TOKEN[] =
	"SELECT count(*) FROM pragma_table_info('dirsync_change_counter')"
	" WHERE name = 'token'";
static const char SQLITE_ADD_TOKEN[] =
	"ALTER TABLE dirsync_change_counter ADD COLUMN token TEXT";
static const char SQLITE_SETUP[] =
	"INSERT OR IGNORE INTO dirsync_change_counter (id, epoch, n)"
	" VALUES (1, " SQLITE_NEW ", 0);"
	"UPDATE dirsync_change_counter SET epoch = " SQLITE_NEW ","
	" token = " SQLITE_NEW ";"
	SQLITE_TRIGS("mailbox", "mailbox", MAILBOX_COLS)
	SQLITE_TRIGS("alias", "alias", ALIAS_COLS)
	SQLITE_TRIGS("domain", "domain", DOMAIN_COLS)
	SQLITE_TRIGS("managed", "dirsync_managed", MANAGED_COLS)
	"COMMIT;";

/*
 * The xmin of the mail tables' trigger rows is part of the fingerprint:
 * ALTER TABLE ... DISABLE TRIGGER writes a new pg_trigger row, and so
 * does ENABLE, so rows written while the trigger was off (a pg_dump
 * --disable-triggers restore, a maintenance script) are seen even after
 * it is on again.  dirsync_managed's is left out: dirsync's own
 * transaction switches that one off and on (sql_changes_quiet()).
 */
/* a random text: 32 hex digits (the epoch), or 16 (the token) */
#define PG_RANDOM                                                          \
	"pg_catalog.md5(pg_catalog.random()::text ||"                      \
	" pg_catalog.clock_timestamp()::text)"
#define PG_NEW "pg_catalog.substr(" PG_RANDOM ", 1, 16)"

/* the triggers count only while the function draws a token (an older
 * dirsync's raised n alone) */
static const char PG_CHECK[] =
	"SELECT (SELECT count(*) FROM pg_catalog.pg_trigger g"
	" JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid"
	" WHERE g.tgname = 'dirsync_chg' AND g.tgenabled <> 'D'"
	" AND c.relname IN ('mailbox', 'alias', 'domain', 'dirsync_managed')"
	" AND c.relnamespace = pg_catalog.to_regnamespace("
	"pg_catalog.current_schema()) AND EXISTS (SELECT 1"
	" FROM pg_catalog.pg_proc p WHERE p.oid = g.tgfoid"
	" AND p.prosrc LIKE '%token%')),"
	" epoch, token, n,"
	" (SELECT pg_catalog.string_agg(g.xmin::text, '.' ORDER BY c.relname)"
	" FROM pg_catalog.pg_trigger g"
	" JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid"
	" WHERE g.tgname = 'dirsync_chg'"
	" AND c.relname IN ('mailbox', 'alias', 'domain')"
	" AND c.relnamespace = pg_catalog.to_regnamespace("
	"pg_catalog.current_schema()))"
	" FROM dirsync_change_counter WHERE id = 1";

/* WHEN: after the first statement of a transaction the function is not
 * even called (a PL/pgSQL call per statement cost a third more server
 * time in an initial sync) */
#define PG_TRIG(table, cols)                                               \
	"  DROP TRIGGER IF EXISTS dirsync_chg ON " table ";\n"             \
	"  CREATE TRIGGER dirsync_chg AFTER INSERT OR UPDATE OF " cols     \
	" OR DELETE OR TRUNCATE ON " table " FOR EACH STATEMENT WHEN ("    \
	"pg_catalog.current_setting('dirsync.counted', true) IS DISTINCT"  \
	" FROM pg_catalog.txid_current()::text) EXECUTE"                   \
	" FUNCTION dirsync_count_change();\n"

/*
 * One implicit transaction (PQexec runs a multi-statement string so).
 * ADD COLUMN IF NOT EXISTS upgrades an older dirsync's table.
 */
static const char PG_SETUP[] =
	"CREATE TABLE IF NOT EXISTS dirsync_change_counter ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" epoch TEXT NOT NULL, n BIGINT NOT NULL, token TEXT);\n"
	"ALTER TABLE dirsync_change_counter"
	" ADD COLUMN IF NOT EXISTS token TEXT;\n"
	"INSERT INTO dirsync_change_counter (id, epoch, n) VALUES (1,"
	" " PG_RANDOM ", 0) ON CONFLICT (id) DO NOTHING;\n"
	"UPDATE dirsync_change_counter"
	" SET epoch = " PG_RANDOM ", token = " PG_NEW ";\n"
	"DO $dirsync$ BEGIN\n"
	"EXECUTE format($f$CREATE OR REPLACE FUNCTION"
	" %1$I.dirsync_count_change() RETURNS trigger LANGUAGE plpgsql"
	" SECURITY DEFINER AS $b$ BEGIN"
	" IF pg_catalog.current_setting('dirsync.counted', true)"
	" IS DISTINCT FROM pg_catalog.txid_current()::text THEN"
	" UPDATE %1$I.dirsync_change_counter SET n = n + 1,"
	" token = " PG_NEW " WHERE id = 1;"
	" PERFORM pg_catalog.set_config('dirsync.counted',"
	" pg_catalog.txid_current()::text, true);"
	" END IF; RETURN NULL; END $b$$f$, pg_catalog.current_schema());\n"
	"END $dirsync$;\n"
	PG_TRIG("mailbox", MAILBOX_COLS) PG_TRIG("alias", ALIAS_COLS)
	PG_TRIG("domain", DOMAIN_COLS)
	PG_TRIG("dirsync_managed", MANAGED_COLS);

struct counter {
	long triggers;
	char fp[TARGET_FP_MAX];
	bool found;
};

/* columns: triggers, epoch, token, n[, xmins] (NULL token: not there) */
static int
counter_row(void *ctx, int n, const char *const *c)
{
	struct counter *k = ctx;
	int len;

	if (n < 4 || c[0] == NULL || c[1] == NULL || c[2] == NULL ||
	    c[3] == NULL)
		return 0;
	k->triggers = strtol(c[0], NULL, 10);
	/* "epoch:token:n", on PostgreSQL "epoch/xmins:token:n": the token
	 * second last and n last (sql_changes_next() reads them so) */
	if (n >= 5 && c[4] != NULL)
		len = snprintf(k->fp, sizeof(k->fp), "%s/%s:%s:%s", c[1],
			       c[4], c[2], c[3]);
	else
		len = snprintf(k->fp, sizeof(k->fp), "%s:%s:%s", c[1], c[2],
			       c[3]);
	/* cut short it could match what it is not: no fingerprint */
	k->found = len > 0 && (size_t)len < sizeof(k->fp);
	return 0;
}

static bool
is_pg(const struct sqldrv_ops *drv)
{
	return drv == &sqldrv_pgsql_ops;
}

static int
file_row(void *ctx, int n, const char *const *c)
{
	if (n >= 1 && c[0] != NULL && *c[0] != '\0')
		snprintf(ctx, PATH_MAX, "%s", c[0]);
	return 0;
}

/*
 * SQLite: the mail database file's identity (device and inode) after the
 * epoch, "epoch/dev.ino:token:n".  A copy written anew and moved in place
 * (`sqlite3 new.db < dump.sql`, whose rows come before its triggers and
 * whose counter row is the old one's) is another file.  An in-memory or
 * unnamed database keeps "epoch:token:n".  0, or 1 when it no longer fits
 * (no fingerprint then).
 */
static int
with_file(const struct sqldrv_ops *drv, struct sqldrv *db, struct counter *k,
	  struct err *err)
{
	static const char SQL[] =
		"SELECT file FROM pragma_database_list WHERE name = 'main'";
	char path[PATH_MAX] = "", fp[TARGET_FP_MAX];
	const char *colon = strchr(k->fp, ':');
	struct stat sb;
	int len;

	if (drv->query(db, SQL, 0, NULL, file_row, path, err) != 0)
		return -1;
	if (colon == NULL || *path == '\0' || stat(path, &sb) != 0)
		return 0;
	len = snprintf(fp, sizeof(fp), "%.*s/%llu.%llu%s",
		       (int)(colon - k->fp), k->fp,
		       (unsigned long long)sb.st_dev,
		       (unsigned long long)sb.st_ino, colon);
	if (len < 0 || (size_t)len >= sizeof(fp))
		return 1;
	memcpy(k->fp, fp, sizeof(fp));
	return 0;
}

/* 0 with buf when the counter and every trigger are there, else 1. */
static int
counter_read(const struct sqldrv_ops *drv, struct sqldrv *db, char *buf,
	     struct err *err)
{
	struct counter k;
	int rc;

	memset(&k, 0, sizeof(k));
	if (drv->query(db, is_pg(drv) ? PG_CHECK : SQLITE_CHECK, 0, NULL,
		       counter_row, &k, err) != 0)
		return -1;
	if (!k.found || k.triggers != COUNTED_TABLES)
		return 1;
	if (!is_pg(drv) && (rc = with_file(drv, db, &k, err)) != 0)
		return rc;
	memcpy(buf, k.fp, TARGET_FP_MAX);
	return 0;
}

static int
count_row(void *ctx, int n, const char *const *c)
{
	if (n >= 1 && c[0] != NULL)
		*(long *)ctx = strtol(c[0], NULL, 10);
	return 0;
}

static int
sqlite_setup(const struct sqldrv_ops *drv, struct sqldrv *db,
	     struct err *err)
{
	long has = -1;

	if (drv->exec(db, SQLITE_SETUP_TABLE, err) != 0 ||
	    drv->query(db, SQLITE_HAS_TOKEN, 0, NULL, count_row, &has,
		       err) != 0)
		return -1;
	if (has == 0 && drv->exec(db, SQLITE_ADD_TOKEN, err) != 0)
		return -1;
	return drv->exec(db, SQLITE_SETUP, err);
}

int
sql_changes_setup(const struct sqldrv_ops *drv, struct sqldrv *db)
{
	char fp[TARGET_FP_MAX];
	struct err e;

	err_clear(&e);
	if (counter_read(drv, db, fp, &e) == 0)
		return 0;
	err_clear(&e);
	if ((is_pg(drv) ? drv->exec(db, PG_SETUP, &e)
			: sqlite_setup(drv, db, &e)) != 0) {
		struct err e2;

		err_clear(&e2);
		if (!is_pg(drv))
			drv->exec(db, "ROLLBACK", &e2);
		log_debug("no change counter in the mail database (%s): "
			  "every run compares the whole target", e.msg);
		return -1;
	}
	return 0;
}

int
sql_changes_read(const struct sqldrv_ops *drv, struct sqldrv *db,
		 char *buf, struct err *err)
{
	int rc = counter_read(drv, db, buf, err);

	if (rc < 0)
		err_where(err, "read change counter");
	return rc;
}

/*
 * PostgreSQL: dirsync writes dirsync_managed one row per statement (an
 * upsert), and even a trigger that does nothing costs per statement (a
 * third more server time in an initial sync).  So its trigger is
 * disabled for the transaction where dirsync may (the table's owner; the
 * lock this takes keeps other writers of that table, there are none but
 * dirsync, out until the commit; readers go on), and the transaction is
 * counted once at the end instead.  Elsewhere it stays on.
 */
static const char PG_QUIET[] =
	"SAVEPOINT dirsync_quiet;"
	" ALTER TABLE dirsync_managed DISABLE TRIGGER dirsync_chg;"
	" RELEASE SAVEPOINT dirsync_quiet";
static const char PG_LOUD[] =
	"ALTER TABLE dirsync_managed ENABLE TRIGGER dirsync_chg";
/* dirsync's commit: a new token, and the once-per-transaction raise
 * when no trigger made it yet */
static const char PG_COUNT[] =
	"UPDATE dirsync_change_counter SET token = " PG_NEW ","
	" n = n + CASE WHEN pg_catalog.current_setting('dirsync.counted',"
	" true) IS DISTINCT FROM pg_catalog.txid_current()::text"
	" THEN 1 ELSE 0 END WHERE id = 1";

/*
 * SQLite, inside dirsync's transaction, after its first write: when the
 * counter's are the only triggers in the database, they are switched off
 * on dirsync's connection (sqldrv_ops.triggers) until the transaction
 * ends.  A statement with a trigger program runs in a statement
 * transaction, even when the trigger's WHEN is false: every page it
 * changes is copied to a statement journal first, and the trigger's
 * frame is set up for every row (a first sync of 1M users spent two
 * thirds of its time there).  The count is read under the write lock,
 * so no trigger can come in before the commit; a site's own trigger
 * keeps them all on (they cannot be told apart), and the quiet flag's
 * WHEN keeps the counter's bodies idle.
 */
static int
sqlite_triggers_off(const struct sqldrv_ops *drv, struct sqldrv *db,
		    struct err *err)
{
	long others = -1;

	if (drv->triggers == NULL)
		return 0;
	if (drv->query(db, SQLITE_OTHERS, 0, NULL, count_row, &others,
		       err) != 0) {
		err_where(err, "change counter");
		return -1;
	}
	if (others != 0)
		log_debug("%ld trigger(s) of the site's in the mail database: "
			  "dirsync's writes fire every trigger", others);
	else if (drv->triggers(db, false) != 0)
		log_debug("row triggers stay on for dirsync's own writes");
	return 0;
}

int
sql_changes_quiet(const struct sqldrv_ops *drv, struct sqldrv *db,
		  bool *quiet, struct err *err)
{
	struct err e;

	*quiet = false;
	if (is_pg(drv)) {
		err_clear(&e);
		if (drv->exec(db, PG_QUIET, &e) == 0) {
			*quiet = true;
			return 0;
		}
		/* not the owner: the trigger stays on */
		if (drv->exec(db, "ROLLBACK TO SAVEPOINT dirsync_quiet",
			      err) != 0) {
			err_where(err, "change counter");
			return -1;
		}
		return 0;
	}
	if (drv->exec(db, SQLITE_QUIET, err) != 0) {
		err_where(err, "change counter");
		return -1;
	}
	*quiet = true;
	return sqlite_triggers_off(drv, db, err);
}

void
sql_changes_rollback(const struct sqldrv_ops *drv, struct sqldrv *db,
		     bool quiet)
{
	if (quiet && !is_pg(drv) && drv->triggers != NULL)
		drv->triggers(db, true);
}

int
sql_changes_loud(const struct sqldrv_ops *drv, struct sqldrv *db, bool quiet,
		 char *buf, struct err *err)
{
	int rc;

	sql_changes_rollback(drv, db, quiet);   /* triggers on again */
	if (is_pg(drv))
		rc = (quiet ? drv->exec(db, PG_LOUD, err) : 0) != 0 ||
		     drv->exec(db, PG_COUNT, err) != 0;
	else
		rc = drv->exec(db, quiet ? SQLITE_LOUD : SQLITE_TOKEN, err);
	if (rc != 0) {
		err_where(err, "change counter");
		return -1;
	}
	return sql_changes_read(drv, db, buf, err);
}

/*
 * fp into its three parts: the epoch (with the xmins) of *elen bytes,
 * the token of *tlen at *tok, and n.  False when it is not of that form.
 */
static bool
fp_split(const char *fp, size_t *elen, const char **tok, size_t *tlen,
	 long long *n)
{
	const char *last = strrchr(fp, ':'), *mid;
	char *end;

	if (last == NULL || last == fp)
		return false;
	for (mid = last - 1; mid > fp && *mid != ':'; mid--)
		;
	if (mid == fp || mid + 1 == last || last[1] == '\0')
		return false;
	*elen = (size_t)(mid - fp);
	*tok = mid + 1;
	*tlen = (size_t)(last - *tok);
	*n = strtoll(last + 1, &end, 10);
	return *end == '\0';
}

bool
sql_changes_next(const char *before, const char *after)
{
	size_t eb, ea, tb, ta;
	const char *kb, *ka;
	long long nb, na;

	if (!fp_split(before, &eb, &kb, &tb, &nb) ||
	    !fp_split(after, &ea, &ka, &ta, &na))
		return false;
	/* the same epoch (and xmins), n one up, and a token drawn anew:
	 * the one dirsync's commit draws */
	return eb == ea && strncmp(before, after, eb) == 0 &&
	       !(tb == ta && strncmp(kb, ka, tb) == 0) && na == nb + 1;
}

/*
 * sql.c - the Postfixadmin schema target, once for every SQL engine.
 *
 * What dirsync writes is exactly what Postfixadmin would: a mailbox row
 * plus its self-alias, alias rows whose goto is a mailbox, a list of
 * members or a contact's external address, and a domain row per accepted
 * domain.  Rows are keyed by address; which ones dirsync manages is kept
 * here too, in dirsync's own table (sql_owner.c), written in the same
 * transaction as the rows.
 */
#include "target/target.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "target/sql_owner.h"
#include "target/sqldrv.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/xalloc.h"

static const struct sqldrv_ops *const drivers[] = {
	&sqldrv_sqlite_ops,
	&sqldrv_pgsql_ops,
};

struct target {
	const struct sqldrv_ops *drv;
	struct sqldrv *db;          /* NULL: read-only and nothing there */
	bool readonly;
	bool in_tx;
	char now[32];
	struct mset *loading;       /* load() callbacks */
	/*
	 * Every maildir a mailbox row has, and the ones this run gave out,
	 * as a set of 64-bit FNV-1a hashes of the lower-cased path (open
	 * addressing, 0 = empty slot; about 16 bytes a row): a new mailbox
	 * never gets a maildir another row has.  A hash collision only
	 * makes a path look taken: the next suffix is used.
	 */
	uint64_t *maildirs;
	size_t nmaildirs, capmaildirs;   /* capmaildirs: a power of two */
	bool no_owner_table;        /* dirsync_managed missing, not creatable */
	bool indexed;               /* owner_index() was tried */
	/* maildir_index() was tried in this transaction, and its answer:
	 * the first maildir a partial run gives out and the commit's
	 * owner_index() both want the index, made once */
	bool maildir_tried, maildir_indexed;
	bool no_retired;            /* dirsync_retired_maildir likewise */
	char unix_now[24];          /* time(NULL), for dirsync's own tables */
	/*
	 * Managed mailboxes whose mailbox row is gone (deleted by hand):
	 * address -> anchor, both copied into vanished_a (a load of part
	 * of the records, rules over a delta, frees its set while this
	 * map lives on: a user trial's tester crashed on it).
	 * Their maildir, with its mail, may still be on disk: a mailbox
	 * of another person never gets that path, and a record forgotten
	 * retires it for good.
	 */
	struct strmap vanished;
	struct arena vanished_a;
	/* the change counter (sql_changes.c) */
	bool counter;               /* there, with its triggers */
	bool quiet;                 /* sql_changes_quiet() switched some off */
	char fp_tx[TARGET_FP_MAX];  /* read inside the open transaction */
	char fp_done[TARGET_FP_MAX];/* ... of the last committed one */
	char fp_seen[TARGET_FP_MAX];/* what this connection accounts for */
	bool committed;             /* a transaction committed since open */
	/*
	 * load_part(): only some rows were loaded.  When a first maildir is
	 * given out, the mailbox table is asked path by path through the
	 * dirsync_mailbox_maildir index (maildir_ask), or, where that index
	 * cannot be made, the maildirs of all its rows are read.
	 */
	bool partial;
	bool maildirs_read;
	bool maildir_ask;
	/*
	 * load_part()'s count of the objects managed in all (a scan of
	 * dirsync_managed: 40M instructions at 100k), kept for the run's
	 * second load_part (the partial compare's, then the load's); -1:
	 * not counted, or a transaction began since.
	 */
	long long nmanaged;
};

/* Every column dirsync reads or writes, checked before any change. */
static const struct {
	const char *table;
	const char *check;
} schema[] = {
	{"domain", "SELECT domain, description, aliases, mailboxes, maxquota,"
		   " quota, transport, backupmx, created, modified, active"
		   " FROM domain WHERE 1=0"},
	{"mailbox", "SELECT username, password, name, maildir, quota,"
		    " local_part, domain, created, modified, active"
		    " FROM mailbox WHERE 1=0"},
	{"alias", "SELECT address, goto, domain, created, modified, active"
		  " FROM alias WHERE 1=0"},
};
static const char *const table_probe[] = {
	"SELECT 1 FROM domain WHERE 1=0",
	"SELECT 1 FROM mailbox WHERE 1=0",
	"SELECT 1 FROM alias WHERE 1=0",
};

static const char SQL_LOAD_MAILBOX[] =
	"SELECT username, name, active, maildir, local_part, domain"
	" FROM mailbox";
static const char SQL_LOAD_ALIAS[] =
	"SELECT address, goto, active FROM alias";
static const char SQL_LOAD_DOMAIN[] = "SELECT domain, active FROM domain";

static const char SQL_INS_MAILBOX[] =
	"INSERT INTO mailbox (username, password, name, maildir, quota,"
	" local_part, domain, created, modified, active)"
	" VALUES ($1, '', $2, $3, '0', $4, $5, $6, $6, '1')";
static const char SQL_INS_ALIAS[] =
	"INSERT INTO alias (address, goto, domain, created, modified, active)"
	" VALUES ($1, $2, $3, $4, $4, '1')";
static const char SQL_INS_DOMAIN[] =
	"INSERT INTO domain (domain, description, aliases, mailboxes,"
	" maxquota, quota, transport, backupmx, created, modified, active)"
	" VALUES ($1, 'managed by dirsync', '0', '0', '0', '0', 'virtual',"
	" '0', $2, $2, '1')";
static const char SQL_MAILBOX_NAME[] =
	"UPDATE mailbox SET name = $2, modified = $3 WHERE username = $1";
static const char SQL_MAILBOX_ACTIVE[] =
	"UPDATE mailbox SET active = $2, modified = $3 WHERE username = $1";
static const char SQL_MAILBOX_RENAME[] =
	"UPDATE mailbox SET username = $2, local_part = $3, domain = $4,"
	" modified = $5 WHERE username = $1";
/* $1 and $2 meet both a VARCHAR and a TEXT column: PostgreSQL wants
 * one type per parameter, hence the casts (SQLite takes them too). */
static const char SQL_SELF_ALIAS_RENAME[] =
	"UPDATE alias SET address = CAST($2 AS TEXT),"
	" goto = CASE WHEN goto = CAST($1 AS TEXT) THEN CAST($2 AS TEXT)"
	" ELSE goto END,"
	" domain = $3, modified = $4 WHERE address = CAST($1 AS TEXT)";
static const char SQL_ALIAS_RENAME[] =
	"UPDATE alias SET address = $2, domain = $3, modified = $4"
	" WHERE address = $1";
static const char SQL_ALIAS_GOTO[] =
	"UPDATE alias SET goto = $2, modified = $3 WHERE address = $1";
static const char SQL_ALIAS_ACTIVE[] =
	"UPDATE alias SET active = $2, modified = $3 WHERE address = $1";
/* repairs of a mailbox's rows changed behind dirsync's back (CH_REPAIR_*) */
static const char SQL_MAILBOX_KEY[] =
	"UPDATE mailbox SET local_part = $2, domain = $3, modified = $4"
	" WHERE username = $1";
static const char SQL_MAILBOX_MAILDIR[] =
	"UPDATE mailbox SET maildir = $2, modified = $3 WHERE username = $1";
static const char SQL_SELF_ALIAS_SET[] =
	"UPDATE alias SET goto = $2, active = '1', modified = $3"
	" WHERE address = $1";
static const char SQL_DOMAIN_ACTIVE[] =
	"UPDATE domain SET active = '1', modified = $2 WHERE domain = $1";
static const char SQL_RETIRE_PATH[] =
	"INSERT INTO dirsync_retired_maildir (maildir, retired_at)"
	" VALUES ($1, CAST($2 AS BIGINT)) ON CONFLICT (maildir) DO NOTHING";
static const char SQL_MAILBOX_PASSWORD[] =
	"UPDATE mailbox SET password = $2, modified = $3 WHERE username = $1";
static const char SQL_DEL_MAILBOX[] = "DELETE FROM mailbox WHERE username = $1";
static const char SQL_DEL_ALIAS[] = "DELETE FROM alias WHERE address = $1";

static const struct sqldrv_ops *
driver_for(const char *url)
{
	size_t i;

	if (strncmp(url, "postgres://", 11) == 0)
		return &sqldrv_pgsql_ops;
	for (i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strncmp(url, drivers[i]->scheme,
			    strlen(drivers[i]->scheme)) == 0)
			return drivers[i];
	return NULL;
}

/*
 * Whether a failed read of a table says the table (or a column) is not
 * there, or not ours to read: the schema's answer.  Anything else (a lock
 * held past the timeout, a lost connection) is the database not
 * answering, which must never be taken for "no such table".
 */
static bool
says_missing(const struct err *e)
{
	return e->code == DS_E_SCHEMA ||
	       strstr(e->msg, "permission denied") != NULL;
}

static int
check_schema(struct target *t, struct err *err)
{
	size_t i;

	for (i = 0; i < sizeof(schema) / sizeof(schema[0]); i++) {
		if (t->drv->query(t->db, schema[i].check, 0, NULL, NULL, NULL,
				  err) == 0)
			continue;
		if (says_missing(err) && t->readonly &&
		    t->drv->query(t->db, table_probe[i], 0, NULL, NULL, NULL,
				  err) != 0 && says_missing(err))
			continue;   /* table not created yet: reads empty */
		err_where(err, "check schema");
		err_object(err, schema[i].table);
		if (!says_missing(err))
			return -1;  /* locked, unreachable: said as such */
		err->code = DS_E_SCHEMA;
		{
			char msg[sizeof(err->msg)];

			snprintf(msg, sizeof(msg),
				 "table does not have the Postfixadmin "
				 "columns dirsync uses (%.400s)", err->msg);
			memcpy(err->msg, msg, sizeof(msg));
		}
		return -1;
	}
	err_clear(err);
	return 0;
}

/*
 * dirsync_managed: created when missing.  A role that may not create it
 * (a Postfixadmin role limited to the mail tables) and finds it missing
 * keeps ownership in the state database instead, as before, with a
 * warning that says how to create the table.
 */
static int
owner_table(struct target *t, bool readonly, struct err *err)
{
	static const char probe[] = "SELECT 1 FROM dirsync_managed WHERE 1=0";
	struct err e2;
	char *ddl;
	int rc;

	err_clear(&e2);
	/* the retired maildirs: also dirsync's own, also optional */
	if ((readonly || t->drv->exec(t->db, sql_retired_ddl, &e2) != 0) &&
	    t->drv->query(t->db, "SELECT 1 FROM dirsync_retired_maildir "
			  "WHERE 1=0", 0, NULL, NULL, NULL, &e2) != 0) {
		if (!says_missing(&e2)) {
			*err = e2;
			err_where(err, "open target");
			return -1;
		}
		t->no_retired = true;
		/* said, as for dirsync_managed (a user trial's row-only
		 * grants ran without a word) */
		if (!readonly)
			log_warn("the mail database has no table "
				 "dirsync_retired_maildir and this role "
				 "cannot create it: the maildir of a deleted "
				 "mailbox is not remembered, and a new mailbox "
				 "may be given its path (and the mail left "
				 "there); create it as docs/mail-server.md "
				 "shows");
	}
	err_clear(&e2);
	if (!readonly) {
		ddl = xasprintf("%s%s", sql_owner_ddl,
				t->drv->keyed_table != NULL ? t->drv->keyed_table
							    : "");
		rc = t->drv->exec(t->db, ddl, &e2);
		free(ddl);
		if (rc == 0)
			return 0;   /* its anchor index: owner_index() */
	}
	if (t->drv->query(t->db, probe, 0, NULL, NULL, NULL, err) == 0)
		return 0;
	if (!says_missing(err))
		return -1;   /* could not read it: not "there is none" */
	err_clear(err);
	t->no_owner_table = true;
	if (!readonly)
		log_warn("the mail database has no table dirsync_managed and "
			 "this role cannot create it (%s): which rows are "
			 "dirsync's stays in the state database; create it as "
			 "docs/mail-server.md shows to keep it with the rows",
			 e2.msg);
	return 0;
}

static int
sql_open(struct target **out, const struct conf *conf, bool readonly,
	 struct err *err)
{
	struct target *t;
	const struct sqldrv_ops *drv = driver_for(conf->target.url);
	time_t now = time(NULL);
	struct tm tm;

	*out = NULL;
	if (drv == NULL)
		return err_set(err, DS_E_CONFIG,
			       "target url '%s': expected sqlite:// or "
			       "postgresql://", conf->target.url);
	if (strcmp(conf->target.schema, "postfixadmin") != 0)
		return err_set(err, DS_E_CONFIG,
			       "target schema '%s' is not supported "
			       "(postfixadmin is)", conf->target.schema);
	t = xcalloc(1, sizeof(*t));
	t->nmanaged = -1;
	t->drv = drv;
	t->readonly = readonly;
	gmtime_r(&now, &tm);
	strftime(t->now, sizeof(t->now), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(t->unix_now, sizeof(t->unix_now), "%lld", (long long)now);
	err_where(err, "open target");
	if (drv->open(&t->db, conf->target.url, conf, readonly, err) != 0)
		goto fail;
	if (t->db == NULL) {
		*out = t;
		return 0;
	}
	if (!readonly && drv->exec(t->db, drv->ddl, err) != 0) {
		err_where(err, "create tables");
		goto fail;
	}
	if (owner_table(t, readonly, err) != 0)
		goto fail;
	if (check_schema(t, err) != 0)
		goto fail;
	if (!readonly && !t->no_owner_table)
		t->counter = sql_changes_setup(drv, t->db) == 0;
	*out = t;
	return 0;
fail:
	if (t->db != NULL)
		drv->close(t->db);
	free(t);
	return -1;
}

static bool
truthy(const char *v)
{
	return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "t") == 0 ||
			     strcmp(v, "true") == 0);
}

static uint64_t
maildir_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Adds h; returns true if it was there already. */
static bool
maildir_put(struct target *t, uint64_t h)
{
	size_t i;

	if (h == 0)
		h = 1;
	if (2 * (t->nmaildirs + 1) > t->capmaildirs) {
		size_t ncap = t->capmaildirs ? 2 * t->capmaildirs : 1024, j;
		uint64_t *nv = xcalloc(ncap, sizeof(*nv));

		for (j = 0; j < t->capmaildirs; j++) {
			uint64_t v = t->maildirs[j];

			if (v == 0)
				continue;
			for (i = (size_t)v & (ncap - 1); nv[i] != 0;
			     i = (i + 1) & (ncap - 1))
				;
			nv[i] = v;
		}
		free(t->maildirs);
		t->maildirs = nv;
		t->capmaildirs = ncap;
	}
	for (i = (size_t)h & (t->capmaildirs - 1); t->maildirs[i] != 0;
	     i = (i + 1) & (t->capmaildirs - 1))
		if (t->maildirs[i] == h)
			return true;
	t->maildirs[i] = h;
	t->nmaildirs++;
	return false;
}

static bool
maildir_known(const struct target *t, const char *maildir)
{
	uint64_t h = maildir_hash(maildir);
	size_t i;

	if (h == 0)
		h = 1;
	if (t->capmaildirs == 0)
		return false;
	for (i = (size_t)h & (t->capmaildirs - 1); t->maildirs[i] != 0;
	     i = (i + 1) & (t->capmaildirs - 1))
		if (t->maildirs[i] == h)
			return true;
	return false;
}

static int
found_one(void *ctx, int n, const char *const *c)
{
	(void)n;
	(void)c;
	*(bool *)ctx = true;
	return 0;
}

/*
 * Has a mailbox row, a retired maildir or this run that path?  1 yes,
 * 0 no, -1 with err (the mailbox table asked: maildir_ask).
 */
static int
maildir_taken(struct target *t, const char *maildir, struct err *err)
{
	const char *p[] = {maildir};
	bool found = false;

	if (maildir_known(t, maildir))
		return 1;
	if (!t->maildir_ask)
		return 0;
	if (t->drv->query(t->db, sql_maildir_taken, 1, p, found_one, &found,
			  err) != 0) {
		err_where(err, "read maildirs");
		return -1;
	}
	return found ? 1 : 0;
}

/*
 * Addresses compare without regard to case (RFC 5321 2.4 leaves the
 * local part to the receiving system; Postfix folds lookup keys, every
 * real mail system does): the set is keyed by the lower case, and the
 * stored spelling rides along when it differs, for the WHERE clauses.
 * The key filled in: its hash, and the desired object at it (twin,
 * mset.share) or NULL; the address is the twin's own string when there
 * is one (no copy: in a steady state every row has its twin), else a
 * copy in the set's arena.
 */
struct key {
	const char *address;
	const char *stored;
	const struct mobj *twin;
	uint32_t hash;
};

static void
lower_key(struct target *t, const char *v, struct key *k)
{
	char buf[320], *low, *p;
	size_t len = strlen(v);

	low = len < sizeof(buf) ? memcpy(buf, v, len + 1)
				: arena_strndup(&t->loading->arena, v, len);
	for (p = low; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	k->stored = strcmp(low, v) != 0
			    ? arena_strdup(&t->loading->arena, v)
			    : NULL;
	k->hash = strmap_hash(low);
	k->twin = mset_twin(t->loading, low, k->hash);
	if (k->twin != NULL)
		k->address = k->twin->address;
	else if (low == buf)
		k->address = arena_strndup(&t->loading->arena, buf, len);
	else
		k->address = low;
}

/* o into the set being loaded, with its key as stored (mset.stored);
 * of two rows that differ only in case the first one read is kept. */
static void
add_row(struct target *t, const struct mobj *o, const struct key *k)
{
	if (mset_add_ref_h(t->loading, o, k->hash) != NULL &&
	    k->stored != NULL)
		mset_set_stored(t->loading, k->address, k->stored);
}

/* s, or the twin's equal string (no copy), or a copy in the arena. */
static const char *
share_or_dup(struct target *t, const char *s, const char *twin)
{
	if (s == NULL)
		return NULL;
	if (twin != NULL && strcmp(s, twin) == 0)
		return twin;
	return arena_strdup(&t->loading->arena, s);
}

static int
load_retired(void *ctx, int n, const char *const *c)
{
	struct target *t = ctx;

	if (n >= 1 && c[0] != NULL)
		maildir_put(t, maildir_hash(c[0]));
	return 0;
}

/*
 * A maildir Dovecot would resolve outside the mail root, or to the root
 * itself: empty, absolute, or with a "." or ".." step.  dirsync writes
 * "domain/local_part[.N]/", never such a path.
 */
static bool
maildir_unsafe(const char *m)
{
	const char *s, *e;

	if (m == NULL || *m == '\0' || *m == '/')
		return true;
	for (s = m; *s != '\0'; s = *e ? e + 1 : e) {
		e = s + strcspn(s, "/");
		if ((e - s == 1 && s[0] == '.') ||
		    (e - s == 2 && s[0] == '.' && s[1] == '.'))
			return true;
	}
	return false;
}

/* Do local_part and domain spell the username (case aside)? */
static bool
key_matches(const char *user, const char *local, const char *domain)
{
	const char *at = strrchr(user, '@');
	size_t n;

	if (at == NULL || local == NULL || domain == NULL)
		return false;
	n = (size_t)(at - user);
	return strlen(local) == n && strncasecmp(user, local, n) == 0 &&
	       strcasecmp(at + 1, domain) == 0;
}

static int
load_mailbox(void *ctx, int n, const char *const *c)
{
	struct target *t = ctx;
	struct key k;
	struct mobj o;

	if (n < 6 || c[0] == NULL)
		return 0;
	if (c[3] != NULL)
		maildir_put(t, maildir_hash(c[3]));
	memset(&o, 0, sizeof(o));
	o.kind = MK_MAILBOX;
	lower_key(t, c[0], &k);
	o.address = k.address;
	o.name = share_or_dup(t, c[1], k.twin != NULL ? k.twin->name : NULL);
	o.active = truthy(c[2]);
	/* the self-alias clears MD_SELF_ALIAS when load_alias finds it */
	o.drift = MD_SELF_ALIAS;
	if (maildir_unsafe(c[3]))
		o.drift |= MD_MAILDIR;
	if (!key_matches(c[0], c[4], c[5]))
		o.drift |= MD_KEY;
	/* two rows that differ only in case: the first one read is used */
	add_row(t, &o, &k);
	return 0;
}

/*
 * goto_next() (model/mail.h) with an item's leading blanks skipped: a
 * goto written by hand may read "a, b".
 */
static const char *
goto_item(const char **s, size_t *len)
{
	const char *p = goto_next(s, len);

	for (; p != NULL && *len > 0 && isspace((unsigned char)*p); p++)
		(*len)--;
	return p;
}

/* Is this goto entry the address (case aside)? */
static bool
goto_is(const char *v, size_t len, const char *addr)
{
	return len == strlen(addr) && strncasecmp(v, addr, len) == 0;
}

/*
 * A mailbox's self-alias: kept on the mailbox object as its goto (for a
 * repair), and its drift cleared when it routes the mailbox's own
 * address (forwards besides it are the user's) and is active with it.
 */
static void
self_alias(struct target *t, struct mobj *mb, const char *gotos, bool active)
{
	const char *s, *v;
	size_t len;

	if (mb->kind != MK_MAILBOX)
		return;
	/* the usual self-alias routes the address alone: share it */
	mb->gotos = share_or_dup(t, gotos != NULL ? gotos : "", mb->address);
	if (mb->active && !active)
		return;
	for (s = mb->gotos; (v = goto_item(&s, &len)) != NULL;)
		if (goto_is(v, len, mb->address)) {
			mb->drift &= (unsigned char)~MD_SELF_ALIAS;
			return;
		}
}

static int
load_alias(void *ctx, int n, const char *const *c)
{
	struct target *t = ctx;
	const struct mobj *owner;
	char low[256];
	size_t i;
	struct key k;
	struct mobj o;

	if (n < 3 || c[0] == NULL)
		return 0;
	/* a mailbox's self-alias (or its forwarding) belongs to the mailbox */
	for (i = 0; c[0][i] != '\0' && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)c[0][i]);
	low[i] = '\0';
	if (c[0][i] == '\0' && (owner = mset_get(t->loading, low)) != NULL) {
		self_alias(t, (struct mobj *)owner, c[1], truthy(c[2]));
		return 0;
	}
	memset(&o, 0, sizeof(o));
	o.kind = MK_ALIAS;
	lower_key(t, c[0], &k);
	o.address = k.address;
	/* most aliases point at one mailbox: share its address string */
	if (c[1] != NULL && k.twin != NULL && k.twin->gotos != NULL &&
	    strcmp(c[1], k.twin->gotos) == 0)
		o.gotos = k.twin->gotos;
	else if (c[1] != NULL && strchr(c[1], ',') == NULL &&
		 (owner = mset_get(t->loading, c[1])) != NULL)
		o.gotos = owner->address;
	else if (c[1] != NULL)
		o.gotos = arena_strdup(&t->loading->arena, c[1]);
	o.active = truthy(c[2]);
	add_row(t, &o, &k);
	return 0;
}

static int
load_domain(void *ctx, int n, const char *const *c)
{
	struct target *t = ctx;
	struct key k;
	struct mobj o;

	if (n < 2 || c[0] == NULL)
		return 0;
	memset(&o, 0, sizeof(o));
	o.kind = MK_DOMAIN;
	lower_key(t, c[0], &k);
	o.address = k.address;
	o.active = truthy(c[1]);
	/* a domain and an address never share a key: no '@' in domains */
	add_row(t, &o, &k);
	return 0;
}

static int
sql_load(struct target *t, struct mset *cur, struct err *err)
{
	static const struct {
		const char *sql;
		sqldrv_row_cb cb;
		const char *table;
	} q[] = {
		{SQL_LOAD_MAILBOX, load_mailbox, "mailbox"},
		{SQL_LOAD_ALIAS, load_alias, "alias"},
		{SQL_LOAD_DOMAIN, load_domain, "domain"},
	};
	size_t i;

	if (t->db == NULL)
		return 0;
	t->loading = cur;
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		if (t->drv->query(t->db, q[i].sql, 0, NULL, q[i].cb, t, err) ==
		    0)
			continue;
		if (t->readonly) {
			err_clear(err);
			continue;   /* table not there yet: reads empty */
		}
		err_where(err, "read target");
		err_object(err, q[i].table);
		t->loading = NULL;
		return -1;
	}
	t->loading = NULL;
	if (!t->no_retired &&
	    t->drv->query(t->db, sql_retired_load, 0, NULL, load_retired, t,
			  err) != 0)
		err_clear(err);   /* not there yet (read-only): none */
	mset_seal(cur);
	return 0;
}

static int sql_rollback(struct target *t, struct err *err);

static int
sql_begin(struct target *t, struct err *err)
{
	if (t->readonly || t->db == NULL)
		return err_set(err, DS_E_INTERNAL, "target opened read-only");
	if (t->drv->exec(t->db, "BEGIN", err) != 0)
		return -1;
	t->in_tx = true;
	t->fp_tx[0] = '\0';
	t->nmanaged = -1;
	if (t->counter &&
	    sql_changes_quiet(t->drv, t->db, &t->quiet, err) != 0) {
		sql_rollback(t, NULL);
		return -1;
	}
	return 0;
}

/* Runs one statement that must change exactly `want` rows (-1: any). */
static int
run(struct target *t, const char *sql, int n, const char *const *p,
    long want, struct err *err)
{
	long got;

	if (t->drv->queue != NULL)   /* checked by the driver, maybe later */
		return t->drv->queue(t->db, sql, n, p, want, err);
	if (t->drv->query(t->db, sql, n, p, NULL, NULL, err) != 0)
		return -1;
	got = t->drv->changes(t->db);
	if (want >= 0 && got != want)
		return err_set(err, DS_E_TARGET,
			       "expected %ld row(s) changed, got %ld: the "
			       "row changed under us; nothing applied",
			       want, got);
	return 0;
}

/*
 * The maildir of a new mailbox: "domain/local_part/" (the Postfixadmin
 * convention), unless a mailbox row has that path (a mailbox renamed away
 * from this address keeps its maildir, with its mail): then
 * "domain/local_part.2/", ".3/" ... the first that no row has.  malloc'd;
 * NULL with err (maildir_taken).
 */
static char *
new_maildir(struct target *t, const char *domain, const char *local,
	    struct err *err)
{
	char *m = xasprintf("%s/%s/", domain, local);
	unsigned i;
	int taken;

	for (i = 2; (taken = maildir_taken(t, m, err)) == 1 && i < 100000;
	     i++) {
		free(m);
		m = xasprintf("%s/%s.%u/", domain, local, i);
	}
	if (taken < 0) {
		free(m);
		return NULL;
	}
	maildir_put(t, maildir_hash(m));
	return m;
}

/*
 * The self-alias's goto as it should be: the mailbox's own address first,
 * then the other addresses found (forwards the user set up), found case
 * aside, and drop (a renamed mailbox's old address; NULL: none) left
 * out.  malloc'd.
 */
static char *
self_goto(const char *addr, const char *found, const char *drop)
{
	struct buf b = BUF_INIT;
	const char *s, *v;
	size_t len;

	buf_adds(&b, addr);
	for (s = found != NULL ? found : ""; (v = goto_item(&s, &len));) {
		if (len == 0 || goto_is(v, len, addr) ||
		    (drop != NULL && goto_is(v, len, drop)))
			continue;
		buf_addc(&b, ',');
		buf_add(&b, v, len);
	}
	return buf_steal(&b);
}

/* CH_REPAIR_*: a wanted mailbox's rows as dirsync writes them again. */
static int
repair_mailbox(struct target *t, const struct change *ch, const char *local,
	       const char *domain, struct err *err)
{
	const char *addr = ch->address;
	char *v;
	int rc = 0;

	if (ch->fields & CH_REPAIR_KEY) {
		const char *p[] = {addr, local, domain, t->now};

		if (run(t, SQL_MAILBOX_KEY, 4, p, 1, err) != 0)
			return -1;
	}
	if (ch->fields & CH_REPAIR_MAILDIR) {
		if ((v = new_maildir(t, domain, local, err)) == NULL)
			return -1;
		{
			const char *p[] = {addr, v, t->now};

			log_warn("%s: maildir in the mail database was not a "
				 "safe path; set to %s", addr, v);
			rc = run(t, SQL_MAILBOX_MAILDIR, 3, p, 1, err);
		}
		free(v);
		if (rc != 0)
			return -1;
	}
	if (ch->fields & CH_REPAIR_SELF) {
		if (ch->old_gotos == NULL) {
			const char *p[] = {addr, addr, domain, t->now};

			return run(t, SQL_INS_ALIAS, 4, p, 1, err);
		}
		v = self_goto(addr, ch->old_gotos,
			      (ch->fields & CH_ADDRESS) ? ch->old_address
							: NULL);
		{
			const char *p[] = {addr, v, t->now};

			rc = run(t, SQL_SELF_ALIAS_SET, 3, p, -1, err);
		}
		free(v);
	}
	return rc;
}

/*
 * The maildir a managed mailbox deleted by hand had, most likely
 * "domain/local_part/" (the first path dirsync gives out; the row that
 * knew better is gone): never given to anyone again.
 */
static int
retire_vanished(struct target *t, const char *addr, struct err *err)
{
	const char *at = strchr(addr, '@');
	char *m;
	int rc = 0;

	if (at == NULL)
		return 0;
	m = xasprintf("%s/%.*s/", at + 1, (int)(at - addr), addr);
	maildir_put(t, maildir_hash(m));
	if (!t->no_retired) {
		const char *p[] = {m, t->unix_now};

		rc = run(t, SQL_RETIRE_PATH, 2, p, -1, err);
	}
	free(m);
	return rc;
}

static int
apply_mailbox(struct target *t, const struct change *ch, struct err *err)
{
	const char *addr = ch->address, *at = strchr(addr, '@');
	/* the row as the target has it (letter case, or a rename's source) */
	const char *key = ch->row != NULL ? ch->row : addr;
	char *local, *maildir = NULL;
	int rc = -1;

	if (at == NULL)
		return err_set(err, DS_E_INTERNAL, "not an address");
	local = xstrndup(addr, (size_t)(at - addr));
	switch (ch->op) {
	case OP_ADD: {
		const char *prev = t->vanished.len > 0
					   ? strmap_get(&t->vanished, addr)
					   : NULL;

		/* a mailbox of someone else was here: its mail may be too */
		if (prev != NULL &&
		    (ch->anchor == NULL || strcmp(prev, ch->anchor) != 0) &&
		    retire_vanished(t, addr, err) != 0)
			goto done;
		if ((maildir = new_maildir(t, at + 1, local, err)) == NULL)
			goto done;
		const char *p1[] = {addr, ch->name ? ch->name : "", maildir,
				    local, at + 1, t->now};
		const char *p2[] = {addr, addr, at + 1, t->now};

		if (run(t, SQL_INS_MAILBOX, 6, p1, 1, err) != 0 ||
		    run(t, SQL_INS_ALIAS, 4, p2, 1, err) != 0)
			goto done;
		break;
	}
	case OP_UPDATE:
		if (ch->fields & CH_ADDRESS) {
			const char *from = ch->row != NULL ? ch->row
							   : ch->old_address;
			const char *p1[] = {from, addr, local, at + 1, t->now};
			const char *p2[] = {from, addr, at + 1, t->now};

			if (run(t, SQL_MAILBOX_RENAME, 5, p1, 1, err) != 0 ||
			    run(t, SQL_SELF_ALIAS_RENAME, 4, p2, -1, err) != 0)
				goto done;
		}
		if (ch->fields & CH_NAME) {
			const char *p[] = {addr, ch->name ? ch->name : "",
					   t->now};

			if (run(t, SQL_MAILBOX_NAME, 3, p, 1, err) != 0)
				goto done;
		}
		if (ch->fields & CH_ACTIVE) {
			const char *p[] = {addr, "1", t->now};

			if (run(t, SQL_MAILBOX_ACTIVE, 3, p, 1, err) != 0 ||
			    run(t, SQL_ALIAS_ACTIVE, 3, p, -1, err) != 0)
				goto done;
		}
		if ((ch->fields & CH_REPAIR) &&
		    repair_mailbox(t, ch, local, at + 1, err) != 0)
			goto done;
		break;
	case OP_DISABLE: {
		const char *p[] = {key, "0", t->now};

		if (run(t, SQL_MAILBOX_ACTIVE, 3, p, 1, err) != 0 ||
		    run(t, SQL_ALIAS_ACTIVE, 3, p, -1, err) != 0)
			goto done;
		break;
	}
	case OP_DELETE: {
		const char *p[] = {key};
		const char *r[] = {key, t->unix_now};

		if ((!t->no_retired &&
		     run(t, sql_retired_put, 2, r, -1, err) != 0) ||
		    run(t, SQL_DEL_MAILBOX, 1, p, 1, err) != 0 ||
		    run(t, SQL_DEL_ALIAS, 1, p, -1, err) != 0)
			goto done;
		break;
	}
	default:
		break;
	}
	rc = 0;
done:
	free(local);
	free(maildir);
	return rc;
}

static int
apply_alias(struct target *t, const struct change *ch, struct err *err)
{
	const char *addr = ch->address, *at = strchr(addr, '@');
	const char *key = ch->row != NULL ? ch->row : addr;

	switch (ch->op) {
	case OP_ADD: {
		const char *p[] = {addr, ch->gotos ? ch->gotos : "",
				   at ? at + 1 : "", t->now};

		return run(t, SQL_INS_ALIAS, 4, p, 1, err);
	}
	case OP_UPDATE:
		if ((ch->fields & CH_ADDRESS) && ch->row != NULL) {
			const char *p[] = {ch->row, addr, at ? at + 1 : "",
					   t->now};

			if (run(t, SQL_ALIAS_RENAME, 4, p, 1, err) != 0)
				return -1;
		}
		if (ch->fields & CH_GOTO) {
			const char *p[] = {addr, ch->gotos ? ch->gotos : "",
					   t->now};

			if (run(t, SQL_ALIAS_GOTO, 3, p, 1, err) != 0)
				return -1;
		}
		if (ch->fields & CH_ACTIVE) {
			const char *p[] = {addr, "1", t->now};

			if (run(t, SQL_ALIAS_ACTIVE, 3, p, 1, err) != 0)
				return -1;
		}
		return 0;
	case OP_DISABLE: {
		const char *p[] = {key, "0", t->now};

		return run(t, SQL_ALIAS_ACTIVE, 3, p, 1, err);
	}
	case OP_DELETE: {
		const char *p[] = {key};

		return run(t, SQL_DEL_ALIAS, 1, p, 1, err);
	}
	default:
		return 0;
	}
}

static int
maildir_row(void *ctx, int n, const char *const *c)
{
	struct target *t = ctx;

	if (n >= 1 && c[0] != NULL)
		maildir_put(t, maildir_hash(c[0]));
	return 0;
}

/*
 * The dirsync_mailbox_maildir index, made if it is not there (once: a
 * sort of the table), in a savepoint: a role that may not index the
 * mailbox table (PostgreSQL: not its owner) reads every maildir instead.
 * true if it is there.
 */
static bool
maildir_index(struct target *t)
{
	struct err e;

	if (t->maildir_tried)
		return t->maildir_indexed;
	t->maildir_tried = true;
	err_clear(&e);
	if (t->drv->exec(t->db, "SAVEPOINT dirsync_maildir", &e) != 0)
		return false;
	if (t->drv->exec(t->db, sql_maildir_index_ddl, &e) == 0) {
		t->drv->exec(t->db, "RELEASE SAVEPOINT dirsync_maildir", &e);
		t->maildir_indexed = true;
		return true;
	}
	log_debug("no index on mailbox (lower(maildir)): %s: every maildir "
		  "is read", e.msg);
	err_clear(&e);
	t->drv->exec(t->db, "ROLLBACK TO SAVEPOINT dirsync_maildir", &e);
	t->drv->exec(t->db, "RELEASE SAVEPOINT dirsync_maildir", &e);
	return false;
}

/*
 * After a partial load, before a change first gives a maildir out (a new
 * mailbox never gets a path another row has): the retired maildirs, and
 * either the index to ask the mailbox table by (maildir_ask) or the
 * maildir of every mailbox row (at 1M rows a scan of the table and a
 * million hashes: 0.5 s of a 1% incremental run).
 */
static int
read_maildirs(struct target *t, struct err *err)
{
	static const char SQL_MAILDIRS[] = "SELECT maildir FROM mailbox";

	if (!t->partial || t->maildirs_read)
		return 0;
	t->maildir_ask = maildir_index(t);
	if ((!t->maildir_ask &&
	     t->drv->query(t->db, SQL_MAILDIRS, 0, NULL, maildir_row, t,
			   err) != 0) ||
	    (!t->no_retired &&
	     t->drv->query(t->db, sql_retired_load, 0, NULL, load_retired, t,
			   err) != 0)) {
		err_where(err, "read maildirs");
		return -1;
	}
	t->maildirs_read = true;
	return 0;
}

static int
sql_apply(struct target *t, const struct change *ch, char *target_id,
	  struct err *err)
{
	int rc;

	if (!t->in_tx)
		return err_set(err, DS_E_INTERNAL, "apply outside a transaction");
	if (ch->kind == MK_MAILBOX &&
	    (ch->op == OP_ADD || (ch->fields & CH_REPAIR_MAILDIR)) &&
	    read_maildirs(t, err) != 0)
		return -1;
	if (ch->kind == MK_DOMAIN) {
		const char *p[] = {ch->address, t->now};

		rc = ch->op == OP_ADD ? run(t, SQL_INS_DOMAIN, 2, p, 1, err)
		     : ch->op == OP_UPDATE && (ch->fields & CH_ACTIVE)
			     ? run(t, SQL_DOMAIN_ACTIVE, 2, p, 1, err)
			     : 0;
	} else if (ch->kind == MK_MAILBOX) {
		rc = apply_mailbox(t, ch, err);
	} else {
		rc = apply_alias(t, ch, err);
	}
	if (rc != 0) {
		char where[64];

		snprintf(where, sizeof(where), "%s %s", op_name(ch->op),
			 mkind_name(ch->kind));
		err_where(err, where);
		/* a pipelining driver may name an earlier row: keep it */
		if (err->object[0] == '\0')
			err_object(err, ch->address);
	}
	return rc;
}

/*
 * The indexes on dirsync_managed.anchor (the partial compare finds a
 * person's records by anchor) and .kind (it counts the managed objects
 * without a scan), and on the mailbox table's maildirs (maildir_index),
 * made at the end of the first transaction
 * that writes: made before a first sync's inserts, it took them in
 * random order and spilled SQLite's cache (an initial sync at 100k twice
 * as slow); made after, it is one sort.  A role that may not index the
 * table finds records by a scan.
 */
static void
owner_index(struct target *t)
{
	struct err e;

	if (t->indexed || t->no_owner_table)
		return;
	t->indexed = true;
	(void)maildir_index(t);
	err_clear(&e);
	if (t->drv->exec(t->db, "SAVEPOINT dirsync_index", &e) != 0)
		return;
	if (t->drv->exec(t->db, sql_owner_index_ddl, &e) == 0 &&
	    t->drv->exec(t->db, sql_owner_kind_index_ddl, &e) == 0) {
		t->drv->exec(t->db, "RELEASE SAVEPOINT dirsync_index", &e);
		return;
	}
	log_debug("no index on dirsync_managed.anchor or kind: %s", e.msg);
	err_clear(&e);
	t->drv->exec(t->db, "ROLLBACK TO SAVEPOINT dirsync_index", &e);
	t->drv->exec(t->db, "RELEASE SAVEPOINT dirsync_index", &e);
}

static int
sql_commit(struct target *t, struct err *err)
{
	owner_index(t);
	/* the counter as this transaction leaves it, read inside it */
	if (t->counter &&
	    sql_changes_loud(t->drv, t->db, t->quiet, t->fp_tx, err) < 0)
		return -1;
	if (t->drv->exec(t->db, "COMMIT", err) != 0) {
		err_where(err, "commit");
		return -1;
	}
	t->in_tx = false;
	/*
	 * Ours only if this transaction was the one write since the counter
	 * was read before load(): a writer that came in between (after the
	 * load, before the BEGIN) was never seen, so vouch for nothing.
	 */
	if (!sql_changes_next(t->fp_seen, t->fp_tx))
		t->fp_tx[0] = '\0';
	memcpy(t->fp_done, t->fp_tx, sizeof(t->fp_done));
	memcpy(t->fp_seen, t->fp_tx, sizeof(t->fp_seen));
	t->fp_tx[0] = '\0';
	t->committed = true;
	return 0;
}

static int
sql_rollback(struct target *t, struct err *err)
{
	struct err e2;
	int rc;

	if (!t->in_tx)
		return 0;
	t->in_tx = false;
	t->fp_tx[0] = '\0';
	t->maildir_tried = t->maildir_indexed = false;   /* undone with it */
	err_clear(&e2);
	rc = t->drv->exec(t->db, "ROLLBACK", err ? err : &e2);
	if (t->counter)
		sql_changes_rollback(t->drv, t->db, t->quiet);
	return rc;
}

static void
sql_close(struct target *t)
{
	if (t == NULL)
		return;
	if (t->in_tx)
		sql_rollback(t, NULL);
	if (t->db != NULL)
		t->drv->close(t->db);
	free(t->maildirs);
	strmap_free(&t->vanished);
	arena_free(&t->vanished_a);
	free(t);
}

/* Managed mailboxes whose mailbox row is gone: t->vanished. */
static void
find_vanished(struct target *t, const struct managed *m,
	      const struct mset *current)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct managed_rec *r = &m->v[i];
		const struct mobj *cur;

		if (r->kind != MK_MAILBOX)
			continue;
		cur = mset_get(current, r->address);
		if ((cur == NULL || cur->kind != MK_MAILBOX) &&
		    strmap_get(&t->vanished, r->address) == NULL)
			strmap_put(&t->vanished,
				   arena_strdup(&t->vanished_a, r->address),
				   arena_strdup(&t->vanished_a,
						r->anchor != NULL ? r->anchor
								  : ""));
	}
}

static int
sql_load_managed(struct target *t, struct managed *m,
		 const struct mset *current, const struct mset *desired,
		 struct err *err)
{
	if (t->no_owner_table)
		return 1;
	if (sql_owner_load(t->drv, t->db, m, current, desired, err) != 0)
		return -1;
	find_vanished(t, m, current);
	return 0;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The keys of a strmap, as an array (borrowed; free() the array), in
 * byte order: the order of the tables' text keys (SQLite's BINARY
 * collation), so that the batched IN lists walk each B-tree from one
 * end to the other instead of descending at random places (at 24,000
 * keys over a million rows, about half the page reads).
 */
static const char **
map_keys(const struct strmap *m, size_t *n)
{
	const char **v = xmalloc((m->len ? m->len : 1) * sizeof(*v));
	const char *k;
	void *val;
	size_t it = 0;

	*n = 0;
	while (strmap_next(m, &it, &k, &val))
		v[(*n)++] = k;
	qsort(v, *n, sizeof(*v), cmp_key);
	return v;
}

static int
sql_load_part(struct target *t, struct strmap *addrs,
	      const struct strmap *anchors, struct mset *cur,
	      struct managed *m, const struct mset *desired,
	      size_t *nmanaged, struct err *err)
{
	static const struct {
		const char *sql;
		sqldrv_row_cb cb;
		const char *table;
	} q[] = {
		{"SELECT username, name, active, maildir, local_part, domain"
		 " FROM mailbox WHERE username IN (", load_mailbox, "mailbox"},
		{"SELECT address, goto, active FROM alias WHERE address IN (",
		 load_alias, "alias"},
		{"SELECT domain, active FROM domain WHERE domain IN (",
		 load_domain, "domain"},
	};
	const char **keys;
	size_t i, n;
	int rc = -1;

	if (t->db == NULL || t->readonly || t->no_owner_table)
		return 1;
	keys = map_keys(anchors, &n);
	if (sql_owner_anchor_addrs(t->drv, t->db, m, addrs, keys, n,
				   err) != 0) {
		free(keys);
		err_where(err, "read target");
		return -1;
	}
	free(keys);
	keys = map_keys(addrs, &n);
	t->loading = cur;
	t->partial = true;
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		if (sql_in_query(t->drv, t->db, q[i].sql, keys, n, q[i].cb, t,
				 err) != 0) {
			err_where(err, "read target");
			err_object(err, q[i].table);
			goto done;
		}
	}
	mset_seal(cur);
	if (sql_owner_load_part(t->drv, t->db, m, keys, n, cur, desired,
				t->nmanaged < 0 ? nmanaged : NULL, err) != 0) {
		err_where(err, "read target");
		goto done;
	}
	if (t->nmanaged < 0)
		t->nmanaged = (long long)*nmanaged;
	*nmanaged = (size_t)t->nmanaged;
	find_vanished(t, m, cur);
	rc = 0;
done:
	t->loading = NULL;
	free(keys);
	return rc;
}

static int
sql_record_managed(struct target *t, const struct managed *import,
		   const struct managed *known,
		   const struct plan *p, const char *const *forget,
		   size_t nforget, time_t now, struct err *err)
{
	size_t i;

	if (!t->in_tx)
		return err_set(err, DS_E_INTERNAL,
			       "record outside a transaction");
	for (i = 0; i < nforget; i++)
		if (t->vanished.len > 0 &&
		    strmap_get(&t->vanished, forget[i]) != NULL &&
		    retire_vanished(t, forget[i], err) != 0)
			return -1;
	return sql_owner_record(t->drv, t->db, import, known, p, forget,
				nforget, now, err);
}

static int
sql_fingerprint(struct target *t, char *buf, struct err *err)
{
	int rc;

	if (t->db == NULL || t->readonly || !t->counter || t->in_tx)
		return 1;
	if (t->committed) {
		/* never read after the commit: another writer may be first */
		if (t->fp_done[0] == '\0')
			return 1;
		memcpy(buf, t->fp_done, TARGET_FP_MAX);
		return 0;
	}
	rc = sql_changes_read(t->drv, t->db, buf, err);
	if (rc == 1)
		t->counter = false;   /* a trigger went away since the open */
	if (rc == 0)
		memcpy(t->fp_seen, buf, sizeof(t->fp_seen));
	return rc;
}

/*
 * One mailbox row's password, in a transaction of its own (never inside a
 * sync's: the hook and the queue call it on their own connection).  Not
 * through run(): a pipelining driver would name the statement's
 * parameters in a late error, and the hash must never reach a message.
 * No such row: DS_E_TARGET with lib_rc 0.
 */
static int
sql_set_password(struct target *t, const char *address, const char *hash,
		 struct err *err)
{
	const char *p[] = {address, hash, t->now};
	long got;

	if (t->readonly || t->db == NULL || t->in_tx)
		return err_set(err, DS_E_INTERNAL,
			       "set_password: target read-only or busy");
	err_where(err, "set password");
	if (t->drv->exec(t->db, "BEGIN", err) != 0)
		return -1;
	if (t->drv->query(t->db, SQL_MAILBOX_PASSWORD, 3, p, NULL, NULL,
			  err) != 0)
		goto fail;
	got = t->drv->changes(t->db);
	if (got != 1) {
		err_object(err, address);
		err->lib_rc = 0;
		err_set(err, DS_E_TARGET, "%ld mailbox rows for this address, "
			"expected 1", got);
		goto fail;
	}
	if (t->drv->exec(t->db, "COMMIT", err) != 0)
		goto fail;
	return 0;
fail:
	{
		struct err e2;

		err_clear(&e2);
		t->drv->exec(t->db, "ROLLBACK", &e2);
	}
	err_where(err, "set password");
	if (err->object[0] == '\0')
		err_object(err, address);
	return -1;
}

static int
sql_managed_mailbox(struct target *t, const char *anchor, char **address,
		    long long *disabled_at, struct err *err)
{
	if (t->db != NULL && t->no_owner_table)
		return 1;
	return sql_owner_mailbox_of(t->drv, t->db, anchor, address,
				    disabled_at, err);
}

/* Domain rows first: mailboxes and aliases refer to them (foreign keys
 * in a Postfixadmin schema). */
static int
sql_apply_rank(const struct change *ch)
{
	return ch->kind == MK_DOMAIN ? 0 : 1;
}

const struct target_ops target_sql_ops = {
	.name = "sql",
	.caps = TCAP_TRANSACTIONAL | TCAP_DOMAINS | TCAP_PASSWORDS,
	.open = sql_open,
	.load = sql_load,
	.begin = sql_begin,
	.apply = sql_apply,
	.commit = sql_commit,
	.rollback = sql_rollback,
	.close = sql_close,
	.apply_rank = sql_apply_rank,
	.load_managed = sql_load_managed,
	.record_managed = sql_record_managed,
	.set_password = sql_set_password,
	.managed_mailbox = sql_managed_mailbox,
	.fingerprint = sql_fingerprint,
	.load_part = sql_load_part,
};

/*
 * sql_owner.c - dirsync_managed: which mail rows are dirsync's, in the
 * mail database, written in the transaction of the change.
 */
#include "target/sql_owner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/xalloc.h"

const char sql_owner_ddl[] =
	"CREATE TABLE IF NOT EXISTS dirsync_managed ("
	" address TEXT NOT NULL PRIMARY KEY,"
	" kind VARCHAR(16) NOT NULL,"
	" anchor TEXT,"
	" disabled_at BIGINT NOT NULL DEFAULT 0)";

/* the partial compare finds a person's mailbox records by anchor */
const char sql_owner_index_ddl[] =
	"CREATE INDEX IF NOT EXISTS dirsync_managed_anchor"
	" ON dirsync_managed (anchor)";

/* a partial compare counts the managed objects by kind (the limits'
 * share): from this index, not a scan of every record */
const char sql_owner_kind_index_ddl[] =
	"CREATE INDEX IF NOT EXISTS dirsync_managed_kind"
	" ON dirsync_managed (kind)";

/*
 * A partial compare asks whether a new mailbox's maildir is taken by this
 * index instead of reading every row's maildir.  Both sides folded by
 * lower(): ASCII in SQLite, as maildir_hash() in sql.c folds; PostgreSQL
 * folds more letters, which can only make more paths look taken.
 */
const char sql_maildir_index_ddl[] =
	"CREATE INDEX IF NOT EXISTS dirsync_mailbox_maildir"
	" ON mailbox (lower(maildir))";
const char sql_maildir_taken[] =
	"SELECT 1 FROM mailbox"
	" WHERE lower(maildir) = lower(CAST($1 AS TEXT)) LIMIT 1";

const char sql_retired_ddl[] =
	"CREATE TABLE IF NOT EXISTS dirsync_retired_maildir ("
	" maildir TEXT NOT NULL PRIMARY KEY,"
	" retired_at BIGINT NOT NULL)";
const char sql_retired_load[] = "SELECT maildir FROM dirsync_retired_maildir";
const char sql_retired_put[] =
	"INSERT INTO dirsync_retired_maildir (maildir, retired_at)"
	" SELECT maildir, CAST($2 AS BIGINT) FROM mailbox"
	" WHERE username = $1 AND maildir IS NOT NULL"
	" ON CONFLICT (maildir) DO NOTHING";

static const char SQL_OWN_LOAD[] =
	"SELECT address, kind, anchor, disabled_at FROM dirsync_managed";
/* a record written again starts active: an add or update re-enables */
/*
 * A record already as wanted is left alone: most updates (a new display
 * name, a list's members) keep kind and anchor, and rewriting the row
 * rewrites its anchor and kind index entries too (at 1M records, 10% of
 * a 1% incremental run).  IS DISTINCT FROM: a NULL anchor compares.
 */
static const char SQL_OWN_PUT[] =
	"INSERT INTO dirsync_managed (address, kind, anchor, disabled_at)"
	" VALUES ($1, $2, $3, 0) ON CONFLICT (address) DO UPDATE SET"
	" kind = excluded.kind, anchor = excluded.anchor, disabled_at = 0"
	" WHERE dirsync_managed.kind IS DISTINCT FROM excluded.kind"
	" OR dirsync_managed.anchor IS DISTINCT FROM excluded.anchor"
	" OR dirsync_managed.disabled_at <> 0";
static const char SQL_OWN_IMPORT[] =
	"INSERT INTO dirsync_managed (address, kind, anchor, disabled_at)"
	" VALUES ($1, $2, $3, CAST($4 AS BIGINT)) ON CONFLICT (address)"
	" DO NOTHING";
static const char SQL_OWN_DEL[] =
	"DELETE FROM dirsync_managed WHERE address = $1";
static const char SQL_OWN_DISABLE[] =
	"UPDATE dirsync_managed SET disabled_at = CAST($2 AS BIGINT)"
	" WHERE address = $1 AND disabled_at = 0";

struct loading {
	struct managed *m;
	const struct mset *current, *desired;
};

static int
load_row(void *ctx, int n, const char *const *c)
{
	struct loading *l = ctx;
	long long disabled_at;
	enum mkind k;

	if (n < 4 || c[0] == NULL || c[1] == NULL ||
	    mkind_parse(c[1], &k) != 0)
		return 0;
	disabled_at = c[3] != NULL ? strtoll(c[3], NULL, 10) : 0;
	if (l->current != NULL && l->desired != NULL) {
		uint32_t h = strmap_hash(c[0]);

		managed_add_known(l->m, c[0], mset_get_h(l->current, c[0], h),
				  mset_get_h(l->desired, c[0], h), k, c[2],
				  disabled_at);
	} else {
		managed_add(l->m, c[0], k, c[2], disabled_at);
	}
	return 0;
}

int
sql_owner_load(const struct sqldrv_ops *drv, struct sqldrv *db,
	       struct managed *m, const struct mset *current,
	       const struct mset *desired, struct err *err)
{
	struct loading l = {m, current, desired};

	if (db == NULL)
		return 0;
	if (drv->query(db, SQL_OWN_LOAD, 0, NULL, load_row, &l, err) != 0) {
		/* read-only on a database dirsync never wrote: nothing */
		err_clear(err);
		return 0;
	}
	managed_seal(m);
	return 0;
}

/* Batch statements built from a prefix, for the life of the process. */
static struct {
	const char *prefix;
	char *sql;
} in_cache[8];

static const char *
in_sql(const char *prefix)
{
	size_t i, j, k, len;
	char *s;

	for (i = 0; i < sizeof(in_cache) / sizeof(in_cache[0]); i++) {
		if (in_cache[i].prefix == prefix)
			return in_cache[i].sql;
		if (in_cache[i].prefix != NULL)
			continue;
		len = strlen(prefix) + SQL_IN_BATCH * 8 + 2;
		s = xmalloc(len);
		k = (size_t)snprintf(s, len, "%s", prefix);
		for (j = 1; j <= SQL_IN_BATCH; j++)
			k += (size_t)snprintf(s + k, len - k, "%s$%zu",
					      j > 1 ? ", " : "", j);
		snprintf(s + k, len - k, ")");
		in_cache[i].prefix = prefix;
		in_cache[i].sql = s;
		return s;
	}
	return NULL;
}

int
sql_in_query(const struct sqldrv_ops *drv, struct sqldrv *db,
	     const char *prefix, const char *const *keys, size_t n,
	     sqldrv_row_cb cb, void *ctx, struct err *err)
{
	const char *sql = in_sql(prefix);
	const char *p[SQL_IN_BATCH];
	size_t from, i;

	if (sql == NULL)
		return err_set(err, DS_E_INTERNAL, "too many batch queries");
	for (from = 0; from < n; from += SQL_IN_BATCH) {
		for (i = 0; i < SQL_IN_BATCH; i++)
			p[i] = keys[from + i < n ? from + i : n - 1];
		if (drv->query(db, sql, SQL_IN_BATCH, p, cb, ctx, err) != 0)
			return -1;
	}
	return 0;
}

struct anchored {
	struct managed *m;
	struct strmap *addrs;
};

static int
anchor_row(void *ctx, int n, const char *const *c)
{
	struct anchored *a = ctx;

	if (n >= 1 && c[0] != NULL && strmap_get(a->addrs, c[0]) == NULL)
		strmap_put(a->addrs, arena_strdup(&a->m->arena, c[0]), a->m);
	return 0;
}

int
sql_owner_anchor_addrs(const struct sqldrv_ops *drv, struct sqldrv *db,
		       struct managed *m, struct strmap *addrs,
		       const char *const *anchors, size_t na, struct err *err)
{
	/* every record of the people: a mailbox that comes back drops the
	 * aliases it no longer has, as a full compare would */
	static const char SQL_OWN_BY_ANCHOR[] =
		"SELECT address FROM dirsync_managed WHERE anchor IN (";
	struct anchored a = {m, addrs};

	return sql_in_query(drv, db, SQL_OWN_BY_ANCHOR, anchors, na,
			    anchor_row, &a, err);
}

static int
count_row(void *ctx, int n, const char *const *c)
{
	if (n >= 1 && c[0] != NULL)
		*(size_t *)ctx = (size_t)strtoull(c[0], NULL, 10);
	return 0;
}

int
sql_owner_load_part(const struct sqldrv_ops *drv, struct sqldrv *db,
		    struct managed *m, const char *const *keys, size_t n,
		    const struct mset *current, const struct mset *desired,
		    size_t *nobjects, struct err *err)
{
	static const char SQL_OWN_LOAD_IN[] =
		"SELECT address, kind, anchor, disabled_at FROM"
		" dirsync_managed WHERE address IN (";
	/* the kinds managed_objects() counts: what load_row takes, less
	 * alias rows and domains */
	static const char SQL_OWN_COUNT[] =
		"SELECT count(*) FROM dirsync_managed"
		" WHERE kind IN ('mailbox', 'list', 'contact')";
	struct loading l = {m, current, desired};

	if (nobjects != NULL)
		*nobjects = 0;
	if (sql_in_query(drv, db, SQL_OWN_LOAD_IN, keys, n, load_row, &l,
			 err) != 0 ||
	    (nobjects != NULL &&
	     drv->query(db, SQL_OWN_COUNT, 0, NULL, count_row, nobjects,
			err) != 0))
		return -1;
	managed_seal(m);
	return 0;
}

/* One statement inside the transaction, pipelined where the driver can. */
static int
put(const struct sqldrv_ops *drv, struct sqldrv *db, const char *sql,
    int n, const char *const *p, struct err *err)
{
	int rc = drv->queue != NULL
			 ? drv->queue(db, sql, n, p, -1, err)
			 : drv->query(db, sql, n, p, NULL, NULL, err);

	if (rc != 0) {
		err_where(err, "record managed objects");
		if (err->object[0] == '\0')
			err_object(err, p[0]);
	}
	return rc;
}

static int
import_all(const struct sqldrv_ops *drv, struct sqldrv *db,
	   const struct managed *m, struct err *err)
{
	char when[32];
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct managed_rec *r = &m->v[i];
		const char *p[] = {r->address, mkind_name(r->kind), r->anchor,
				   when};

		snprintf(when, sizeof(when), "%lld", r->disabled_at);
		if (put(drv, db, SQL_OWN_IMPORT, 4, p, err) != 0)
			return -1;
	}
	return 0;
}

/*
 * An update whose record `known` has as SQL_OWN_PUT would leave it: the
 * same kind and anchor, active.  Most changes of an incremental run are
 * such updates (a name, a list's members); each saved statement is a
 * descent of the records' index (about a sixth of the apply at 1M).  A
 * rename is written always: its old record went first.
 */
static bool
record_kept(const struct managed *known, const struct change *ch)
{
	const struct managed_rec *m;

	if (known == NULL || ch->op != OP_UPDATE ||
	    (ch->fields & CH_ADDRESS) ||
	    (m = managed_get(known, ch->address)) == NULL)
		return false;
	return m->kind == ch->kind && m->disabled_at == 0 &&
	       (m->anchor == NULL ? ch->anchor == NULL
				  : ch->anchor != NULL &&
					    strcmp(m->anchor, ch->anchor) == 0);
}

static int
record_change(const struct sqldrv_ops *drv, struct sqldrv *db,
	      const struct managed *known, const struct change *ch,
	      const char *now, struct err *err)
{
	switch (ch->op) {
	case OP_ADD:
	case OP_UPDATE: {
		const char *p[] = {ch->address, mkind_name(ch->kind),
				   ch->anchor};

		if (record_kept(known, ch))
			return 0;

		return put(drv, db, SQL_OWN_PUT, 3, p, err);
	}
	case OP_DISABLE: {
		const char *p[] = {ch->address, now};

		return put(drv, db, SQL_OWN_DISABLE, 2, p, err);
	}
	case OP_DELETE: {
		const char *p[] = {ch->address};

		return put(drv, db, SQL_OWN_DEL, 1, p, err);
	}
	default:
		return 0;
	}
}

int
sql_owner_record(const struct sqldrv_ops *drv, struct sqldrv *db,
		 const struct managed *import, const struct managed *known,
		 const struct plan *p,
		 const char *const *forget, size_t nforget, time_t now,
		 struct err *err)
{
	char when[32];
	size_t i;

	snprintf(when, sizeof(when), "%lld", (long long)now);
	if (import != NULL && import_all(drv, db, import, err) != 0)
		return -1;
	for (i = 0; i < nforget; i++) {
		const char *q[] = {forget[i]};

		if (put(drv, db, SQL_OWN_DEL, 1, q, err) != 0)
			return -1;
	}
	/* addresses renamed away first: an alias may take one over */
	for (i = 0; i < p->n; i++) {
		const char *q[] = {p->v[i].old_address};

		if (p->v[i].op != OP_UPDATE || !(p->v[i].fields & CH_ADDRESS))
			continue;
		if (put(drv, db, SQL_OWN_DEL, 1, q, err) != 0)
			return -1;
	}
	for (i = 0; i < p->n; i++)
		if (record_change(drv, db, known, &p->v[i], when, err) != 0)
			return -1;
	return 0;
}

struct found {
	char *address;
	long long disabled_at;
};

static int
found_row(void *ctx, int n, const char *const *c)
{
	struct found *f = ctx;

	if (n >= 2 && c[0] != NULL && f->address == NULL) {
		f->address = xstrdup(c[0]);
		f->disabled_at = c[1] != NULL ? strtoll(c[1], NULL, 10) : 0;
	}
	return 0;
}

int
sql_owner_mailbox_of(const struct sqldrv_ops *drv, struct sqldrv *db,
		     const char *anchor, char **address,
		     long long *disabled_at, struct err *err)
{
	static const char SQL_OWN_MAILBOX[] =
		"SELECT address, disabled_at FROM dirsync_managed"
		" WHERE anchor = $1 AND kind = 'mailbox'";
	const char *p[] = {anchor};
	struct found f = {NULL, 0};

	*address = NULL;
	*disabled_at = 0;
	if (db == NULL)   /* read-only open of a database not there */
		return err_set(err, DS_E_CONNECT, "the mail database is not "
			       "there: no record of managed mailboxes");
	if (drv->query(db, SQL_OWN_MAILBOX, 1, p, found_row, &f, err) != 0)
		return -1;
	*address = f.address;
	*disabled_at = f.disabled_at;
	return 0;
}

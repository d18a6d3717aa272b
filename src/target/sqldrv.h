/*
 * sqldrv.h - what the SQL target needs from a database library.
 *
 * sql.c holds the Postfixadmin logic once; a driver per engine (SQLite,
 * PostgreSQL) provides these few calls.  Statements use $1..$n
 * placeholders (SQLite accepts them too, numbered by first appearance).
 * Parameters and result columns travel as text; NULL params are SQL NULL.
 *
 * Drivers cache prepared statements keyed by the address of the `sql`
 * string, so callers pass string literals (or other storage that outlives
 * the connection) and never a buffer they reuse.
 */
#ifndef DS_SQLDRV_H
#define DS_SQLDRV_H

#include <stdbool.h>

#include "conf/conf.h"
#include "util/err.h"

/* One result row: ncols text values (NULL for SQL NULL).  Return 0/-1. */
typedef int (*sqldrv_row_cb)(void *ctx, int ncols, const char *const *cols);

struct sqldrv;

struct sqldrv_ops {
	const char *name;        /* "sqlite", "postgresql" */
	/* URL scheme this driver takes, e.g. "sqlite://" */
	const char *scheme;
	/* CREATE TABLE IF NOT EXISTS ... for the Postfixadmin tables */
	const char *ddl;
	/*
	 * readonly: open without creating or writing anything; when the
	 * database does not exist, return 0 with *out = NULL (reads as empty).
	 */
	int (*open)(struct sqldrv **out, const char *url,
		    const struct conf *conf, bool readonly, struct err *err);
	/* Statements without parameters or results: DDL, BEGIN, COMMIT. */
	int (*exec)(struct sqldrv *db, const char *sql, struct err *err);
	/* Parameterised statement; cb may be NULL when no rows matter. */
	int (*query)(struct sqldrv *db, const char *sql, int nparams,
		     const char *const *params, sqldrv_row_cb cb, void *ctx,
		     struct err *err);
	/* Rows changed by the last query (for updates that must hit one). */
	long (*changes)(struct sqldrv *db);
	void (*close)(struct sqldrv *db);
	/*
	 * Optional (NULL: callers use query + changes).  Inside a
	 * transaction, sends a statement that must change exactly `want`
	 * rows (-1: any) without waiting for its answer.  A failure (an
	 * error or another row count) is returned by this call or a later
	 * queue/exec/query, its message naming the statement's first
	 * parameter; exec("COMMIT") reports it instead of committing.
	 */
	int (*queue)(struct sqldrv *db, const char *sql, int nparams,
		     const char *const *params, long want, struct err *err);
	/*
	 * Optional (NULL: not available).  Switches the triggers of this
	 * connection only off (on = false) or back on; other connections'
	 * writes still fire them.  0, or -1 when the library refused (the
	 * triggers then stay as they were).
	 */
	int (*triggers)(struct sqldrv *db, bool on);
	/*
	 * Appended to the CREATE TABLE of dirsync's own tables looked up
	 * by a text primary key (NULL: nothing): SQLite's " WITHOUT ROWID"
	 * keeps such a table in its key's B-tree, so that a lookup by key,
	 * or through an index holding the key, reads one leaf page instead
	 * of two (https://sqlite.org/withoutrowid.html).
	 */
	const char *keyed_table;
};

extern const struct sqldrv_ops sqldrv_sqlite_ops;

/*
 * SQLite's process-wide settings, once, before the process opens any
 * SQLite database (the state's included): sqlite3_config() refuses them
 * after.  Statement journals stay in memory (sqldrv_sqlite.c says why).
 */
void sqldrv_sqlite_config(void);
extern const struct sqldrv_ops sqldrv_pgsql_ops;

#endif

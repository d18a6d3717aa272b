/*
 * pgdrv_probe.c - drives sqldrv_pgsql_ops directly, for
 * test_pgsql_driver.sh: things an end-to-end sync cannot provoke on
 * demand (a killed backend, a missing column, a missing grant).
 *
 *   pgdrv_probe URL ADMIN_CONNINFO STEP
 *
 * Prints one line per step: "ok ..." or "err CODE RETRYABLE: message".
 * ADMIN_CONNINFO is a superuser connection used to kill our backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "conf/conf.h"
#include "target/sqldrv.h"

static const struct sqldrv_ops *ops = &sqldrv_pgsql_ops;

static const char q_pid[] = "SELECT pg_backend_pid()";
static const char q_ins[] =
	"INSERT INTO alias (address, goto, domain, active)"
	" VALUES ($1, $2, $3, $4)";
static const char q_sel[] =
	"SELECT address, goto, active, active = '1' FROM alias"
	" WHERE address = $1";
static const char q_upd[] = "UPDATE alias SET goto = $2 WHERE address = $1";
static const char q_cols[] =
	"SELECT username, password, name, maildir, quota, local_part,"
	" domain, created, modified, active FROM mailbox WHERE 1=0";

static const char q_count[] =
	"SELECT count(*), min(goto) FROM alias WHERE address LIKE 'p%'";
static const char q_goto[] = "SELECT goto FROM alias WHERE address = $1";

/* 150 rows: two full multi-row INSERTs and 22 single ones. */
static int
queue_rows(struct sqldrv *db, int dup_at, struct err *err)
{
	char addr[64];
	int i;

	for (i = 0; i < 150; i++) {
		const char *p[4] = {addr, "g@example.com", "example.com", "1"};

		snprintf(addr, sizeof(addr), "p%03d@example.com",
			 i == dup_at ? 7 : i);
		if (ops->queue(db, q_ins, 4, p, 1, err) != 0)
			return -1;
	}
	return 0;
}

static int
report(int rc, const char *what, struct err *err)
{
	char buf[1200];

	if (rc == 0) {
		printf("ok %s\n", what);
		return 0;
	}
	printf("err %s %s: %s\n", err_code_name(err->code),
	       err_retryable(err->code) ? "retryable" : "final",
	       err_fmt(err, buf, sizeof(buf)));
	return -1;
}

static int
print_row(void *ctx, int ncols, const char *const *cols)
{
	int i;

	(void)ctx;
	printf("row");
	for (i = 0; i < ncols; i++)
		printf(" %s", cols[i] ? cols[i] : "NULL");
	printf("\n");
	return 0;
}

static int
save_first(void *ctx, int ncols, const char *const *cols)
{
	if (ncols > 0 && cols[0] != NULL)
		snprintf(ctx, 32, "%s", cols[0]);
	return 0;
}

static void
kill_backend(const char *admin, struct sqldrv *db)
{
	char pid[32] = "", sql[96];
	struct err err = {0};
	PGconn *c;
	PGresult *r;

	ops->query(db, q_pid, 0, NULL, save_first, pid, &err);
	c = PQconnectdb(admin);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s)", pid);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "terminate: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

int
main(int argc, char **argv)
{
	struct sqldrv *db = NULL;
	struct err err = {0};
	struct conf conf;
	const char *step;
	int rc = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: pgdrv_probe URL ADMIN STEP\n");
		return 2;
	}
	step = argv[3];
	conf_defaults(&conf);
	if (report(ops->open(&db, argv[1], &conf, false, &err), "open", &err) < 0)
		goto done;
	if (strcmp(step, "ddl") == 0) {
		/* twice: creating the tables must be idempotent */
		rc |= report(ops->exec(db, ops->ddl, &err), "ddl", &err);
		rc |= report(ops->exec(db, ops->ddl, &err), "ddl again", &err);
	} else if (strcmp(step, "rows") == 0) {
		const char *p1[] = {"a@example.com", "b@example.com",
				    "example.com", "1"};
		const char *p2[] = {"a@example.com", "c@example.com,d@x.org"};

		rc |= report(ops->exec(db, "BEGIN", &err), "begin", &err);
		rc |= report(ops->query(db, q_ins, 4, p1, NULL, NULL, &err),
			     "insert", &err);
		printf("changes %ld\n", ops->changes(db));
		rc |= report(ops->query(db, q_upd, 2, p2, NULL, NULL, &err),
			     "update", &err);
		printf("changes %ld\n", ops->changes(db));
		rc |= report(ops->exec(db, "COMMIT", &err), "commit", &err);
		rc |= report(ops->query(db, q_sel, 1, p1, print_row, NULL,
					&err), "select", &err);
		/* the same (cached) statement again, and a duplicate key */
		err_clear(&err);
		report(ops->query(db, q_ins, 4, p1, NULL, NULL, &err),
		       "insert duplicate", &err);
	} else if (strcmp(step, "reconnect") == 0) {
		const char *p[] = {"a@example.com"};

		kill_backend(argv[2], db);
		rc |= report(ops->query(db, q_sel, 1, p, print_row, NULL,
					&err), "select after kill", &err);
	} else if (strcmp(step, "reconnect-tx") == 0) {
		const char *p[] = {"a@example.com"};
		const char *p2[] = {"a@example.com", "lost@example.com"};

		rc |= report(ops->exec(db, "BEGIN", &err), "begin", &err);
		rc |= report(ops->query(db, q_upd, 2, p2, NULL, NULL, &err),
			     "update", &err);
		kill_backend(argv[2], db);
		err_clear(&err);
		report(ops->query(db, q_sel, 1, p, print_row, NULL, &err),
		       "select after kill in tx", &err);
		err_clear(&err);
		report(ops->exec(db, "COMMIT", &err), "commit after kill",
		       &err);
	} else if (strcmp(step, "pipeline") == 0) {
		const char *upd[] = {"p005@example.com", "changed@example.com"};
		const char *miss[] = {"missing@example.com", "x@example.com"};
		const char *p5[] = {"p005@example.com"};

		/* a row count that does not match: nothing is committed */
		rc |= report(ops->exec(db, "BEGIN", &err), "begin", &err);
		rc |= report(queue_rows(db, -1, &err), "queue rows", &err);
		rc |= report(ops->queue(db, q_upd, 2, upd, 1, &err),
			     "queue update", &err);
		err_clear(&err);
		if (ops->queue(db, q_upd, 2, miss, 1, &err) == 0)
			report(ops->exec(db, "COMMIT", &err), "commit 1", &err);
		else
			report(-1, "queue missing", &err);
		err_clear(&err);
		report(ops->exec(db, "ROLLBACK", &err), "rollback 1", &err);
		ops->query(db, q_count, 0, NULL, print_row, NULL, &err);
		/* the same, committed; the update sees the held-back row */
		rc |= report(ops->exec(db, "BEGIN", &err), "begin", &err);
		rc |= report(queue_rows(db, -1, &err), "queue rows", &err);
		rc |= report(ops->queue(db, q_upd, 2, upd, 1, &err),
			     "queue update", &err);
		rc |= report(ops->exec(db, "COMMIT", &err), "commit 2", &err);
		ops->query(db, q_count, 0, NULL, print_row, NULL, &err);
		ops->query(db, q_goto, 1, p5, print_row, NULL, &err);
		/* a duplicate inside a multi-row INSERT */
		ops->exec(db, "DELETE FROM alias", &err);
		rc |= report(ops->exec(db, "BEGIN", &err), "begin", &err);
		err_clear(&err);
		if (queue_rows(db, 70, &err) == 0)
			report(ops->exec(db, "COMMIT", &err), "commit 3", &err);
		else
			report(-1, "queue dup", &err);
		err_clear(&err);
		report(ops->exec(db, "ROLLBACK", &err), "rollback 3", &err);
		ops->query(db, q_count, 0, NULL, print_row, NULL, &err);
	} else if (strcmp(step, "columns") == 0) {
		err_where(&err, "check schema");
		err_object(&err, "mailbox");
		rc |= report(ops->query(db, q_cols, 0, NULL, NULL, NULL, &err),
			     "columns", &err);
	} else {
		fprintf(stderr, "unknown step %s\n", step);
		rc = 2;
	}
done:
	ops->close(db);
	conf_free(&conf);
	return rc ? 1 : 0;
}

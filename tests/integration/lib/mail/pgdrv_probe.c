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

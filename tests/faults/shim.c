/*
 * shim.c - an LD_PRELOAD fault injector for the fault suite (tests/faults).
 * Test-only: never linked into dirsync.
 *
 *   FAULT_KILL_AT=N      SIGKILL the process at its Nth SQLite statement
 *                        (sqlite3_step or sqlite3_exec, counted together,
 *                        state and mail database alike), before it runs
 *   FAULT_COUNT_FILE=F   at exit, write the number of statements to F
 *   FAULT_TIME_OFFSET=S  time() returns the real time plus S seconds
 *                        (negative: a clock behind)
 *   FAULT_FAIL_SQL=TEXT  sqlite3_step of a statement whose SQL holds TEXT
 *                        returns SQLITE_IOERR without running it (any
 *                        thread: the snapshot writer's too)
 *
 * dirsync calls these through the PLT, so the dynamic linker resolves them
 * here first; the real ones come from dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sqlite3;
struct sqlite3_stmt;

static long count, kill_at = -1;
static int inited;

static void
write_count(void)
{
	const char *f = getenv("FAULT_COUNT_FILE");
	FILE *fp;

	if (f == NULL || (fp = fopen(f, "w")) == NULL)
		return;
	fprintf(fp, "%ld\n", count);
	fclose(fp);
}

static void
init(void)
{
	const char *k;

	if (inited)
		return;
	inited = 1;
	k = getenv("FAULT_KILL_AT");
	if (k != NULL)
		kill_at = strtol(k, NULL, 10);
	atexit(write_count);
}

static void
tick(void)
{
	init();
	if (++count == kill_at) {
		write_count();
		raise(SIGKILL);
	}
}

int
sqlite3_step(struct sqlite3_stmt *st)
{
	static int (*real)(struct sqlite3_stmt *);
	static const char *(*sql)(struct sqlite3_stmt *);
	const char *fail = getenv("FAULT_FAIL_SQL"), *text;

	if (real == NULL)
		real = (int (*)(struct sqlite3_stmt *))dlsym(RTLD_NEXT,
							     "sqlite3_step");
	tick();
	if (fail != NULL && *fail != '\0') {
		if (sql == NULL)
			sql = (const char *(*)(struct sqlite3_stmt *))dlsym(
				RTLD_NEXT, "sqlite3_sql");
		text = sql != NULL ? sql(st) : NULL;
		if (text != NULL && strstr(text, fail) != NULL)
			return 10;      /* SQLITE_IOERR */
	}
	return real(st);
}

int
sqlite3_exec(struct sqlite3 *db, const char *sql,
	     int (*cb)(void *, int, char **, char **), void *arg, char **err)
{
	static int (*real)(struct sqlite3 *, const char *,
			   int (*)(void *, int, char **, char **), void *,
			   char **);

	if (real == NULL)
		real = (int (*)(struct sqlite3 *, const char *,
				int (*)(void *, int, char **, char **), void *,
				char **))dlsym(RTLD_NEXT, "sqlite3_exec");
	tick();
	return real(db, sql, cb, arg, err);
}

time_t
time(time_t *t)
{
	const char *o = getenv("FAULT_TIME_OFFSET");
	struct timespec ts;
	time_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec + (o != NULL ? strtol(o, NULL, 10) : 0);
	if (t != NULL)
		*t = now;
	return now;
}

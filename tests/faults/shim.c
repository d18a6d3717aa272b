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
 *                        thread: the snapshot writer's too); TEXT may
 *                        hold alternatives separated by '|', and an
 *                        sqlite3_exec() of such SQL fails the same way.
 *                        The connection's error message then reads
 *                        "no such function: injected_fault_FAULT_FAIL_SQL"
 *                        (SQLite's own would be "not an error")
 *   FAULT_FAIL_THREAD=N  pthread_create fails with EAGAIN from its Nth
 *                        call on (1: every thread), as under a thread
 *                        or memory limit (ulimit -u, cgroup pids.max)
 *
 * dirsync calls these through the PLT, so the dynamic linker resolves them
 * here first; the real ones come from dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
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

typedef int (*exec_fn)(struct sqlite3 *, const char *,
		       int (*)(void *, int, char **, char **), void *,
		       char **);

static exec_fn
real_exec(void)
{
	static exec_fn real;

	if (real == NULL)
		real = (exec_fn)dlsym(RTLD_NEXT, "sqlite3_exec");
	return real;
}

/* Whether sql holds one of FAULT_FAIL_SQL's '|'-separated texts. */
static int
fail_sql(const char *sql)
{
	const char *fail = getenv("FAULT_FAIL_SQL"), *p, *bar;
	char one[256];
	size_t n;

	if (fail == NULL || *fail == '\0' || sql == NULL)
		return 0;
	for (p = fail; *p != '\0'; p = *bar != '\0' ? bar + 1 : bar) {
		bar = strchr(p, '|');
		if (bar == NULL)
			bar = p + strlen(p);
		n = (size_t)(bar - p) < sizeof(one) - 1 ? (size_t)(bar - p)
							 : sizeof(one) - 1;
		memcpy(one, p, n);
		one[n] = '\0';
		if (n > 0 && strstr(sql, one) != NULL)
			return 1;
	}
	return 0;
}

/* Leaves a message on the connection that says what failed it. */
static void
fail_msg(struct sqlite3 *db)
{
	real_exec()(db, "SELECT injected_fault_FAULT_FAIL_SQL()", NULL, NULL,
		    NULL);
}

int
sqlite3_step(struct sqlite3_stmt *st)
{
	static int (*real)(struct sqlite3_stmt *);
	static const char *(*sql)(struct sqlite3_stmt *);
	static struct sqlite3 *(*handle)(struct sqlite3_stmt *);

	if (real == NULL)
		real = (int (*)(struct sqlite3_stmt *))dlsym(RTLD_NEXT,
							     "sqlite3_step");
	tick();
	if (getenv("FAULT_FAIL_SQL") != NULL) {
		if (sql == NULL)
			sql = (const char *(*)(struct sqlite3_stmt *))dlsym(
				RTLD_NEXT, "sqlite3_sql");
		if (handle == NULL)
			handle = (struct sqlite3 *(*)(struct sqlite3_stmt *))
				dlsym(RTLD_NEXT, "sqlite3_db_handle");
		if (sql != NULL && fail_sql(sql(st))) {
			if (handle != NULL)
				fail_msg(handle(st));
			return 10;      /* SQLITE_IOERR */
		}
	}
	return real(st);
}

int
sqlite3_exec(struct sqlite3 *db, const char *sql,
	     int (*cb)(void *, int, char **, char **), void *arg, char **err)
{
	tick();
	if (fail_sql(sql)) {
		fail_msg(db);
		if (err != NULL)
			*err = NULL;
		return 10;              /* SQLITE_IOERR */
	}
	return real_exec()(db, sql, cb, arg, err);
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

int
pthread_create(pthread_t *th, const pthread_attr_t *attr,
	       void *(*fn)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *,
			   void *(*)(void *), void *);
	static long calls;
	const char *n = getenv("FAULT_FAIL_THREAD");

	if (real == NULL)
		real = (int (*)(pthread_t *, const pthread_attr_t *,
				void *(*)(void *), void *))dlsym(
			RTLD_NEXT, "pthread_create");
	if (n != NULL && ++calls >= strtol(n, NULL, 10))
		return EAGAIN;
	return real(th, attr, fn, arg);
}

/* lock: one holder per state database, its pid and role visible to others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/lock.h"

static char dir[] = "/tmp/dirsync-lock-XXXXXX";
static char state[sizeof(dir) + 16];

static int
setup(void **st)
{
	(void)st;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(state, sizeof(state), "%s/state.db", dir);
	return 0;
}

static int
teardown(void **st)
{
	char path[sizeof(state) + 8];

	(void)st;
	snprintf(path, sizeof(path), "%s.lock", state);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
test_free_lock(void **st)
{
	struct err e = {0};
	int fd = -1;

	(void)st;
	assert_int_equal(lock_holder(state), 0);
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_true(fd >= 0);
	lock_release(fd);
	assert_int_equal(lock_holder(state), 0);
}

/* A child takes the lock as a daemon and waits for a byte on a pipe. */
static void
test_held_by_other(void **st)
{
	int ready[2], go[2], fd = -1;
	struct err e = {0};
	bool is_daemon = false;
	char c = 0, pidtxt[32];
	pid_t child, holder;
	int status;

	(void)st;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct err ce = {0};
		int cfd;

		if (lock_acquire(state, &cfd, &ce) == -1 ||
		    lock_mark_daemon(cfd, &ce) == -1)
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		lock_release(cfd);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);

	holder = lock_holder_role(state, &is_daemon);
	assert_int_equal(holder, child);
	assert_true(is_daemon);
	assert_int_equal(lock_acquire(state, &fd, &e), -1);
	assert_int_equal(e.code, DS_E_LOCKED);
	assert_int_equal(fd, -1);
	snprintf(pidtxt, sizeof(pidtxt), "pid %ld", (long)child);
	assert_non_null(strstr(e.msg, pidtxt));
	assert_non_null(strstr(e.msg, "daemon"));

	/* the holder goes away: the lock is free again */
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(lock_holder(state), 0);
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	/* we hold it now, as a one-shot run */
	assert_int_equal(lock_holder_role(state, &is_daemon), getpid());
	assert_false(is_daemon);
	lock_release(fd);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* A killed holder leaves its pid in the file, but not the lock. */
static void
test_dead_holder(void **st)
{
	struct err e = {0};
	pid_t child;
	int fd = -1, status;

	(void)st;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int cfd;

		if (lock_acquire(state, &cfd, NULL) == -1)
			_exit(1);
		raise(SIGKILL);	/* not abort(): cmocka catches SIGABRT */
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(lock_holder(state), 0);
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	lock_release(fd);
}

static void
test_bad_dir(void **st)
{
	struct err e = {0};
	int fd = -1;

	(void)st;
	assert_int_equal(lock_acquire("/nonexistent-dir/state.db", &fd, &e),
			 -1);
	assert_int_equal(e.code, DS_E_IO);
	assert_non_null(strstr(e.msg, "/nonexistent-dir/state.db.lock"));
	assert_int_equal(lock_holder("/nonexistent-dir/state.db"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_lock),
		cmocka_unit_test(test_held_by_other),
		cmocka_unit_test(test_dead_holder),
		cmocka_unit_test(test_bad_dir),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

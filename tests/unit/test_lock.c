/* lock: one holder per state database, its pid and role visible to others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
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

static void
lock_path(char *path, size_t n)
{
	snprintf(path, n, "%s.lock", state);
}

/* An older dirsync's file ("PID ROLE\n", or empty): no note, a pid. */
static void
test_old_file(void **st)
{
	struct lock_note note;
	struct err e = {0};
	struct stat sb;
	char path[sizeof(state) + 8];
	int fd;

	(void)st;
	lock_path(path, sizeof(path));
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0640), 0);   /* whatever the umask */
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "4242 daemon\n", 12), 12);
	close(fd);
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_NONE);
	assert_int_equal(lock_holder(state), 0);   /* nobody holds it */
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_holder(state), getpid());
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, LOCK_FILE_SIZE);
	assert_int_equal(sb.st_mode & 0777, 0640);  /* its mode is kept */
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_NONE);
	/* text: "PID sync", then line ends only (no NUL for a shell) */
	{
		char all[LOCK_FILE_SIZE], want[32];
		int rfd = open(path, O_RDONLY), i, len;

		assert_true(rfd >= 0);
		assert_int_equal(read(rfd, all, sizeof(all)), sizeof(all));
		close(rfd);
		len = snprintf(want, sizeof(want), "%ld sync\n",
			       (long)getpid());
		assert_memory_equal(all, want, (size_t)len);
		for (i = len; i < (int)sizeof(all); i++)
			assert_int_equal(all[i], '\n');
	}
	lock_release(fd);
	/* the pid is gone, the size (and blocks) stay */
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, LOCK_FILE_SIZE);
	assert_int_equal(lock_holder(state), 0);
}

/* Written, read back (also after release, and with the pid changed),
 * cleared by a recorded run. */
static void
test_note_roundtrip(void **st)
{
	struct lock_note note;
	struct err e = {0};
	bool is_daemon = false;
	int fd;

	(void)st;
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_note_write(fd, 1764568718.25, 1,
					 "state.db: disk full\nsecond line",
					 &e),
			 0);
	assert_int_equal(lock_mark_daemon(fd, &e), 0);
	assert_int_equal(lock_holder_role(state, &is_daemon), getpid());
	assert_true(is_daemon);
	lock_release(fd);
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_FOUND);
	assert_true(note.when > 1764568718.2 && note.when < 1764568718.3);
	assert_int_equal(note.exit_code, 1);
	/* one line: the line break became a space */
	assert_string_equal(note.msg, "state.db: disk full second line");
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_note_clear(fd, &e), 0);
	lock_release(fd);
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_NONE);
	/* out of range: refused, nothing written */
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_note_write(fd, 1.0, 0, "x", &e), -1);
	assert_int_equal(e.code, DS_E_INTERNAL);
	lock_release(fd);
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_NONE);
}

/* The daemon's watch record: beside the note, neither touching the
 * other; counted only for the daemon holding the lock; blanked. */
static void
test_watch_record(void **st)
{
	struct lock_watch w;
	struct lock_note note;
	struct err e = {0};
	int fd;

	(void)st;
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_watch_read(state, &w, &e), LOCK_NOTE_NONE);
	assert_int_equal(lock_note_write(fd, 1764568718.25, 1, "a note", &e),
			 0);
	assert_int_equal(lock_watch_write(fd, LOCK_WATCH_STOPPED,
					  1764568800.5,
					  "invalid credentials\nfor cn=x", &e),
			 0);
	assert_int_equal(lock_watch_read(state, &w, &e), LOCK_NOTE_FOUND);
	assert_int_equal(w.state, LOCK_WATCH_STOPPED);
	assert_int_equal(w.pid, (long)getpid());
	assert_true(w.since > 1764568800.4 && w.since < 1764568800.6);
	assert_string_equal(w.msg, "invalid credentials for cn=x");
	assert_string_equal(lock_watch_word(w.state), "stopped");
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_FOUND);
	assert_string_equal(note.msg, "a note");
	/* a sync holds the lock, not a daemon: not the current watch */
	assert_false(lock_watch_current(state, &w));
	assert_int_equal(lock_mark_daemon(fd, &e), 0);
	assert_true(lock_watch_current(state, &w));
	/* paused: the record is what the daemon wrote (none when a run's
	 * bind paused it; "stopped" when the watch's did) */
	assert_int_equal(lock_mark_daemon_paused(fd, true, &e), 0);
	assert_true(lock_watch_current(state, &w));
	assert_int_equal(w.state, LOCK_WATCH_STOPPED);
	assert_int_equal(lock_mark_daemon_paused(fd, false, &e), 0);
	assert_int_equal(lock_watch_write(fd, LOCK_WATCH_WATCHING, 1.0, "",
					  &e),
			 0);
	assert_true(lock_watch_current(state, &w));
	assert_int_equal(w.state, LOCK_WATCH_WATCHING);
	assert_string_equal(w.msg, "");
	assert_int_equal(lock_watch_write(fd, LOCK_WATCH_NONE, 0, NULL, &e),
			 0);
	assert_int_equal(lock_watch_read(state, &w, &e), LOCK_NOTE_NONE);
	assert_false(lock_watch_current(state, &w));
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_FOUND);
	assert_int_equal(lock_note_clear(fd, &e), 0);
	/* a record left by an earlier daemon: not this holder's */
	assert_int_equal(lock_watch_write(fd, LOCK_WATCH_STOPPED, 2.0, "x",
					  &e),
			 0);
	lock_release(fd);
	assert_false(lock_watch_current(state, &w));
	assert_int_equal(lock_watch_read(state, &w, &e), LOCK_NOTE_FOUND);
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_watch_write(fd, LOCK_WATCH_NONE, 0, NULL, &e),
			 0);
	lock_release(fd);
}

/* A message longer than a note holds is cut on a character boundary. */
static void
test_note_long(void **st)
{
	struct lock_note note;
	struct err e = {0};
	char msg[3000];
	size_t i, len;
	int fd;

	(void)st;
	/* "é" (2 bytes) after one ASCII byte: every cut point is tried
	 * against both halves of a character over the runs below */
	msg[0] = 'a';
	/* room for one byte more: the memmove below shifts it */
	for (i = 1; i + 3 < sizeof(msg); i += 2)
		memcpy(msg + i, "\xc3\xa9", 2);
	msg[i] = '\0';
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_note_write(fd, 1764568718.0, 2, msg, &e), 0);
	lock_release(fd);
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_FOUND);
	len = strlen(note.msg);
	assert_true(len < LOCK_NOTE_MSG);
	assert_true(len > LOCK_NOTE_MSG - 16);
	assert_string_equal(note.msg + len - 6, " [...]");
	/* what comes before the mark ends with a whole "é" */
	assert_memory_equal(note.msg + len - 8, "\xc3\xa9", 2);
	/* "ab" first: shifted by one byte, the cut falls mid-character */
	memmove(msg + 1, msg, strlen(msg) + 1);
	msg[0] = 'a';
	msg[1] = 'b';
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_note_write(fd, 1764568718.0, 2, msg, &e), 0);
	lock_release(fd);
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_FOUND);
	len = strlen(note.msg);
	assert_string_equal(note.msg + len - 6, " [...]");
	assert_memory_equal(note.msg + len - 8, "\xc3\xa9", 2);
}

/* Flips one byte of the note at off (from the note's start). */
static void
poke(size_t off, char c)
{
	char path[sizeof(state) + 8];
	int fd;

	lock_path(path, sizeof(path));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &c, 1, (off_t)(LOCK_NOTE_OFF + off)), 1);
	close(fd);
}

static char
peek(size_t off)
{
	char path[sizeof(state) + 8], c = 0;
	int fd;

	lock_path(path, sizeof(path));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, (off_t)(LOCK_NOTE_OFF + off)), 1);
	close(fd);
	return c;
}

/* Torn or tampered notes are never taken as valid. */
static void
test_note_torn(void **st)
{
	static const char msg[] = "the state database is full";
	struct lock_note note;
	struct err e = {0};
	size_t nl;
	char was;
	int fd;

	(void)st;
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_note_write(fd, 1764568718.5, 1, msg, &e), 0);
	lock_release(fd);
	for (nl = 0; peek(nl) != '\n'; nl++)
		;
	/* a byte of the message changed: the hash does not match */
	was = peek(nl - 3);
	poke(nl - 3, 'X');
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_TORN);
	poke(nl - 3, was);
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_FOUND);
	/* the line's end not written yet: no complete line */
	poke(nl, '\0');
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_TORN);
	poke(nl, '\n');
	/* bytes after the line (a longer note half overwritten) */
	poke(nl + 5, 'z');
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_TORN);
	poke(nl + 5, '\0');
	/* the start of the region not written yet */
	poke(0, '\0');
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_TORN);
	poke(0, 'd');
	assert_int_equal(lock_note_read(state, &note, &e), LOCK_NOTE_FOUND);
	assert_string_equal(note.msg, msg);
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_note_clear(fd, &e), 0);
	lock_release(fd);
}

/* The first line of the lock file, "" if none. */
static void
lock_line(char *buf, size_t n)
{
	char path[sizeof(state) + 8];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s.lock", state);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fgets(buf, (int)n, f) == NULL)
		buf[0] = '\0';
	fclose(f);
}

/*
 * A lock file deleted under its holder guards nothing: a new acquirer
 * makes a new file and gets a lock on it.  lock_keep() sees that, takes
 * the lock at the path again, and writes its pid back into an emptied
 * file; when another process holds the new file, it reports DS_E_LOCKED
 * and takes it once that one is gone.
 */
static void
test_keep_deleted(void **st)
{
	char path[sizeof(state) + 8], want[64], line[128];
	struct err e = {0};
	bool repaired;
	int fd = -1, other = -1;

	(void)st;
	snprintf(path, sizeof(path), "%s.lock", state);
	snprintf(want, sizeof(want), "%ld daemon\n", (long)getpid());
	assert_int_equal(lock_acquire(state, &fd, &e), 0);
	assert_int_equal(lock_mark_daemon(fd, &e), 0);
	assert_int_equal(lock_keep(state, &fd, "daemon", &repaired, &e), 0);
	assert_false(repaired);

	/* deleted: taken again at the path */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(lock_holder(state), 0);
	assert_int_equal(lock_keep(state, &fd, "daemon", &repaired, &e), 1);
	assert_true(fd >= 0);
	assert_int_equal(lock_holder(state), getpid());
	lock_line(line, sizeof(line));
	assert_string_equal(line, want);
	assert_int_equal(lock_acquire(state, &other, &e), -1);
	assert_int_equal(e.code, DS_E_LOCKED);

	/* emptied: the pid written back, the lock kept */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(lock_keep(state, &fd, "daemon", &repaired, &e), 0);
	assert_true(repaired);
	lock_line(line, sizeof(line));
	assert_string_equal(line, want);

	/* deleted, and another holder took the new file first */
	assert_int_equal(unlink(path), 0);
	err_clear(&e);
	assert_int_equal(lock_acquire(state, &other, &e), 0);
	assert_int_equal(lock_keep(state, &fd, "daemon", &repaired, &e), -1);
	assert_int_equal(e.code, DS_E_LOCKED);
	assert_int_equal(fd, -1);
	assert_int_equal(lock_keep(state, &fd, "daemon", &repaired, &e), -1);
	lock_release(other);
	err_clear(&e);
	assert_int_equal(lock_keep(state, &fd, "daemon", &repaired, &e), 1);
	assert_int_equal(lock_holder(state), getpid());
	lock_release(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_lock),
		cmocka_unit_test(test_held_by_other),
		cmocka_unit_test(test_dead_holder),
		cmocka_unit_test(test_bad_dir),
		cmocka_unit_test(test_old_file),
		cmocka_unit_test(test_note_roundtrip),
		cmocka_unit_test(test_watch_record),
		cmocka_unit_test(test_note_long),
		cmocka_unit_test(test_note_torn),
		cmocka_unit_test(test_keep_deleted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

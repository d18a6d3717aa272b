#include "util/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

/* The pid file is tiny; anything longer than this is not ours. */
#define LOCK_CONTENT_MAX 64

static void
lock_nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Reads "PID ROLE" from an open lock file.  The holder writes its pid just
 * after taking the lock, so an empty file is retried for a moment.
 */
static pid_t
lock_read_pid(int fd, bool *is_daemon, bool *paused)
{
	char buf[LOCK_CONTENT_MAX];
	char *end;
	ssize_t n;
	long pid;
	int tries;

	*is_daemon = false;
	*paused = false;
	for (tries = 0; tries < 50; tries++) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return 0;
		if (n > 0)
			break;
		lock_nap_ms(10);
	}
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || pid <= 0 || pid > 0x7fffffffL)
		return 0;
	while (*end == ' ')
		end++;
	*is_daemon = strncmp(end, "daemon", 6) == 0;
	*paused = *is_daemon && strncmp(end, LOCK_ROLE_PAUSED,
					 strlen(LOCK_ROLE_PAUSED)) == 0;
	return (pid_t)pid;
}

static int
lock_write_pid(int fd, const char *role, struct err *err)
{
	char buf[LOCK_CONTENT_MAX];
	int len;

	len = snprintf(buf, sizeof(buf), "%ld %s\n", (long)getpid(), role);
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, buf, (size_t)len, 0) != (ssize_t)len) {
		if (err != NULL)
			err->lib_rc = errno;
		return err_set(err, DS_E_IO, "cannot write the lock file: %s",
			       strerror(errno));
	}
	return 0;
}

int
lock_acquire(const char *state_path, int *fd_out, struct err *err)
{
	char *path = xasprintf("%s.lock", state_path);
	bool is_daemon, paused;
	pid_t pid;
	int fd, tries, rc = -1;

	*fd_out = -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		if (err != NULL)
			err->lib_rc = errno;
		err_object(err, path);
		err_set(err, DS_E_IO, "cannot open the lock file %s: %s", path,
			strerror(errno));
		goto done;
	}
	/*
	 * lock_holder() probes with a shared lock for an instant; a few quick
	 * retries keep such a probe from looking like a running instance.
	 */
	for (tries = 0; tries < 5; tries++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			if (err != NULL)
				err->lib_rc = errno;
			err_set(err, DS_E_IO, "cannot lock %s: %s", path,
				strerror(errno));
			goto done;
		}
		lock_nap_ms(20);
	}
	if (tries == 5) {
		pid = lock_read_pid(fd, &is_daemon, &paused);
		if (pid > 0 && paused)
			err_set(err, DS_E_LOCKED,
				"state database %s is in use by the dirsync "
				"daemon (pid %ld), which stopped binding "
				"after invalid credentials; fix the password, "
				"then reload it (systemctl reload dirsync or "
				"kill -HUP %ld)",
				state_path, (long)pid, (long)pid);
		else if (pid > 0 && is_daemon)
			err_set(err, DS_E_LOCKED,
				"state database %s is in use by the dirsync "
				"daemon (pid %ld); `dirsync sync --now` asks "
				"it to run",
				state_path, (long)pid);
		else if (pid > 0)
			err_set(err, DS_E_LOCKED,
				"state database %s is in use by another "
				"dirsync run (pid %ld)",
				state_path, (long)pid);
		else
			err_set(err, DS_E_LOCKED,
				"state database %s is in use by another "
				"dirsync process (lock %s)",
				state_path, path);
		goto done;
	}
	if (lock_write_pid(fd, "sync", err) == -1) {
		err_object(err, path);   /* which disk is full */
		goto done;
	}
	*fd_out = fd;
	fd = -1;
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

int
lock_mark_daemon(int fd, struct err *err)
{
	return lock_write_pid(fd, "daemon", err);
}

int
lock_mark_daemon_paused(int fd, bool paused, struct err *err)
{
	return lock_write_pid(fd, paused ? LOCK_ROLE_PAUSED : "daemon", err);
}

void
lock_release(int fd)
{
	if (fd < 0)
		return;
	/* Still holding the lock here, so nobody reads a half-empty file. */
	if (ftruncate(fd, 0) == -1) {
		/* harmless: the pid only counts while the lock is held */
	}
	close(fd);
}

pid_t
lock_holder_role(const char *state_path, bool *is_daemon)
{
	bool paused;

	return lock_holder_info(state_path, is_daemon, &paused);
}

pid_t
lock_holder_info(const char *state_path, bool *is_daemon, bool *paused)
{
	char *path = xasprintf("%s.lock", state_path);
	pid_t pid = 0;
	int fd;

	*is_daemon = false;
	*paused = false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		goto done;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		/* nobody holds it: whatever pid the file names is gone */
		flock(fd, LOCK_UN);
		goto done;
	}
	if (errno != EWOULDBLOCK)
		goto done;
	pid = lock_read_pid(fd, is_daemon, paused);
done:
	if (fd != -1)
		close(fd);
	free(path);
	return pid;
}

pid_t
lock_holder(const char *state_path)
{
	bool is_daemon;

	return lock_holder_role(state_path, &is_daemon);
}

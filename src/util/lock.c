#include "util/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "util/xalloc.h"

/* The pid record: "PID ROLE\n", padded to this size. */
#define LOCK_CONTENT_MAX LOCK_PID_SIZE

/*
 * What fills the file around its lines: line ends, so that it stays text
 * (cat, grep and a shell's $(...) see "PID ROLE" and blank lines, no NUL
 * bytes).  Readers also take NUL (a file that could not be filled).
 */
#define LOCK_PAD '\n'

static bool
lock_is_pad(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != LOCK_PAD && p[i] != '\0')
			return false;
	return true;
}

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
		/* a blank record (lock_release()) is as empty */
		if (n > 0 && !lock_is_pad(buf, (size_t)n))
			break;
		n = 0;
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

/*
 * The whole record, padded, in one pwrite: no truncation, so the
 * file keeps the blocks lock_prepare() gave it.
 */
static int
lock_write_pid(int fd, const char *role, struct err *err)
{
	char buf[LOCK_CONTENT_MAX];

	int len;

	memset(buf, LOCK_PAD, sizeof(buf));
	len = snprintf(buf, sizeof(buf), "%ld %s\n", (long)getpid(), role);
	/* snprintf's NUL back to padding; a role never fills the record */
	if (len > 0 && (size_t)len < sizeof(buf))
		buf[len] = LOCK_PAD;
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		if (err != NULL)
			err->lib_rc = errno;
		return err_set(err, DS_E_IO, "cannot write the lock file: %s",
			       strerror(errno));
	}
	return 0;
}

/*
 * Gives a new or older file its LOCK_FILE_SIZE bytes once: allocated
 * (posix_fallocate), then written with padding after what it holds, so
 * that writing the pid or a note later only overwrites written blocks
 * and needs no new one on a full disk (nor an unwritten extent's
 * conversion).  A file system that cannot allocate now (full already)
 * leaves the file as it is: the pid is still written (lock_write_pid()
 * says if it cannot be), a note may then fail.
 */
static void
lock_prepare(int fd)
{
	char pad[LOCK_FILE_SIZE];
	struct stat sb;
	size_t from;

	if (fstat(fd, &sb) != 0 || sb.st_size >= LOCK_FILE_SIZE)
		return;
	if (posix_fallocate(fd, 0, LOCK_FILE_SIZE) != 0)
		return;   /* see above: the caller's next write says */
	from = (size_t)sb.st_size;
	memset(pad, LOCK_PAD, sizeof(pad));
	if (pwrite(fd, pad, sizeof(pad) - from, (off_t)from) == -1) {
		/* allocated, only not padded: readers take NUL too */
	}
}

/*
 * Whether fd still locks the file the path names: the same inode, and
 * not unlinked.  An unlinked or replaced lock file protects nothing: the
 * next open of the path makes a new file, and a new lock on it.
 */
static bool
lock_same_file(int fd, const char *path)
{
	struct stat a, b;

	if (fstat(fd, &a) != 0 || a.st_nlink == 0)
		return false;
	if (lstat(path, &b) != 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The DS_E_LOCKED message: who holds the lock, and what to do. */
static int
lock_busy(int fd, const char *state_path, const char *path,
	  struct err *err)
{
	bool is_daemon, paused;
	pid_t pid = lock_read_pid(fd, &is_daemon, &paused);

	if (pid > 0 && paused)
		return err_set(err, DS_E_LOCKED,
			       "state database %s is in use by the dirsync "
			       "daemon (pid %ld), which stopped binding "
			       "after invalid credentials; fix the password, "
			       "then reload it (systemctl reload dirsync or "
			       "kill -HUP %ld)",
			       state_path, (long)pid, (long)pid);
	if (pid > 0 && is_daemon)
		return err_set(err, DS_E_LOCKED,
			       "state database %s is in use by the dirsync "
			       "daemon (pid %ld); `dirsync sync --now` asks "
			       "it to run",
			       state_path, (long)pid);
	if (pid > 0)
		return err_set(err, DS_E_LOCKED,
			       "state database %s is in use by another "
			       "dirsync run (pid %ld)",
			       state_path, (long)pid);
	return err_set(err, DS_E_LOCKED,
		       "state database %s is in use by another dirsync "
		       "process, but its lock file %s does not name it (was "
		       "the file emptied?); `fuser -v %s` names it; a dirsync "
		       "daemon writes its pid there again before its next run",
		       state_path, path, path);
}

/*
 * One open and lock of path.  0: locked, *fd set; 1: held by another
 * process (err says who); -1: err.
 */
static int
lock_try(const char *state_path, const char *path, int *fd,
	 struct err *err)
{
	int tries;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd == -1) {
		if (err != NULL)
			err->lib_rc = errno;
		err_object(err, path);
		return err_set(err, DS_E_IO, "cannot open the lock file %s: %s",
			       path, strerror(errno));
	}
	/*
	 * lock_holder() probes with a shared lock for an instant; a few quick
	 * retries keep such a probe from looking like a running instance.
	 */
	for (tries = 0; tries < 5; tries++) {
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			if (err != NULL)
				err->lib_rc = errno;
			return err_set(err, DS_E_IO, "cannot lock %s: %s",
				       path, strerror(errno));
		}
		lock_nap_ms(20);
	}
	lock_busy(*fd, state_path, path, err);
	return 1;
}

/* How often a lock file replaced under us (between open and flock) is
 * opened again before giving up. */
#define LOCK_REOPEN_TRIES 20

int
lock_acquire(const char *state_path, int *fd_out, struct err *err)
{
	char *path = xasprintf("%s.lock", state_path);
	int fd = -1, attempt, trc, rc = -1;

	*fd_out = -1;
	for (attempt = 0;; attempt++) {
		if (fd != -1)
			close(fd);
		trc = lock_try(state_path, path, &fd, err);
		if (trc < 0)
			goto done;
		/*
		 * Locked or held, the file may have been deleted or replaced
		 * since we opened it: its lock then guards nothing, and the
		 * one at the path decides.
		 */
		if (lock_same_file(fd, path)) {
			if (trc == 1)
				goto done;
			break;
		}
		if (attempt == LOCK_REOPEN_TRIES) {
			err_object(err, path);
			err_set(err, DS_E_IO,
				"the lock file %s keeps being deleted or "
				"replaced; not syncing beside whoever does it",
				path);
			goto done;
		}
		err_clear(err);
	}
	lock_prepare(fd);
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
lock_keep(const char *state_path, int *fd, const char *role,
	  bool *repaired, struct err *err)
{
	char *path = xasprintf("%s.lock", state_path);
	char want[LOCK_CONTENT_MAX], have[LOCK_CONTENT_MAX];
	int len, rc = 0;

	*repaired = false;
	if (*fd >= 0 && lock_same_file(*fd, path)) {
		/* ours still; its pid record as we wrote it? */
		len = snprintf(want, sizeof(want), "%ld %s\n",
			       (long)getpid(), role);
		if (pread(*fd, have, sizeof(have), 0) >= len &&
		    memcmp(want, have, (size_t)len) == 0)
			goto done;
		*repaired = true;
		lock_prepare(*fd);
		rc = lock_write_pid(*fd, role, err);
		goto done;
	}
	/* deleted or replaced (or lost before): the old lock guards
	 * nothing; take the one at the path */
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	if (lock_acquire(state_path, fd, err) != 0) {
		rc = -1;
		goto done;
	}
	/* holding it is what counts; "PID sync" stays if this fails */
	(void)lock_write_pid(*fd, role, NULL);
	rc = 1;
done:
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
	char blank[LOCK_PID_SIZE];

	if (fd < 0)
		return;
	/*
	 * Still holding the lock here.  Blanked, not ftruncate(): the note
	 * after the pid must stay, and so must the file's blocks.
	 */
	memset(blank, LOCK_PAD, sizeof(blank));
	if (pwrite(fd, blank, sizeof(blank), 0) == -1) {
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

/*
 * The note.  One line, padded to LOCK_NOTE_SIZE, written in one pwrite
 * at LOCK_NOTE_OFF:
 *
 *   "dirsync-unrecorded/1 " HASH " " BODY "\n"
 *   BODY = WHEN " " EXIT " " MESSAGE
 *
 * HASH: XXH3-64 of BODY, 16 lower-case hex digits; WHEN: Unix seconds
 * with 3 decimals; EXIT: 1 to 255; MESSAGE: printable, no line break.
 * A region that is not exactly that (the hash, the one line, padding
 * after it) is torn: never a valid note.
 */
#define NOTE_MAGIC "dirsync-unrecorded/1 "

/*
 * Copies src into dst (size n) as one printable line: control bytes
 * become spaces; a cut falls on a UTF-8 character's boundary and ends in
 * " [...]".
 */
static void
note_sanitize(char *dst, size_t n, const char *src)
{
	static const char more[] = " [...]";
	size_t len = strlen(src), i, cut = len;

	if (len > n - 1) {
		cut = n - sizeof(more);
		/* back off continuation bytes, then the lead byte they need */
		while (cut > 0 && ((unsigned char)src[cut] & 0xc0) == 0x80)
			cut--;
	}
	for (i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	dst[cut] = '\0';
	if (cut < len)
		memcpy(dst + cut, more, sizeof(more));
}

/* The note's region (LOCK_NOTE_SIZE bytes) written: 0, or -1 with err
 * ("cannot <what> the lock file: ..."). */
static int
note_put(int fd, const char *region, const char *what, struct err *err)
{
	if (pwrite(fd, region, LOCK_NOTE_SIZE, LOCK_NOTE_OFF) ==
	    (ssize_t)LOCK_NOTE_SIZE)
		return 0;
	if (err != NULL)
		err->lib_rc = errno;
	return err_set(err, DS_E_IO, "cannot %s the lock file: %s", what,
		       strerror(errno));
}

int
lock_note_write(int fd, double when, int exit_code, const char *why,
		struct err *err)
{
	/* body: room for the magic, the hash and the line end around it */
	char region[LOCK_NOTE_SIZE], body[LOCK_NOTE_SIZE - 40];
	char msg[LOCK_NOTE_MSG];
	int blen, rlen;

	note_sanitize(msg, sizeof(msg), why);
	blen = snprintf(body, sizeof(body), "%.3f %d %s", when, exit_code,
			msg);
	if (blen < 0 || (size_t)blen >= sizeof(body) || !(when > 0) ||
	    exit_code < 1 || exit_code > 255)
		return err_set(err, DS_E_INTERNAL, "a note with time %.3f and "
			       "exit %d cannot be written", when, exit_code);
	memset(region, LOCK_PAD, sizeof(region));
	/* the line's own '\n' ends it; snprintf's NUL becomes padding */
	rlen = snprintf(region, sizeof(region), NOTE_MAGIC "%016llx %s\n",
			(unsigned long long)XXH3_64bits(body, (size_t)blen),
			body);
	if (rlen > 0 && (size_t)rlen < sizeof(region))
		region[rlen] = LOCK_PAD;
	return note_put(fd, region, "write the note of an unrecorded run "
			"into", err);
}

int
lock_note_clear(int fd, struct err *err)
{
	char region[LOCK_NOTE_SIZE], blank[LOCK_NOTE_SIZE];
	ssize_t n;

	memset(blank, LOCK_PAD, sizeof(blank));
	n = pread(fd, region, sizeof(region), LOCK_NOTE_OFF);
	/* nothing there (an older file, or no note): no write */
	if (n >= 0 && lock_is_pad(region, (size_t)n))
		return 0;
	return note_put(fd, blank, "clear the note of an unrecorded run in",
			err);
}

/* LOCK_NOTE_FOUND and *note, LOCK_NOTE_NONE or LOCK_NOTE_TORN. */
static int
note_parse(const char *region, size_t n, struct lock_note *note)
{
	const char *hash, *body, *nl, *p;
	unsigned long long want;
	char *end;
	long code;

	if (lock_is_pad(region, n))
		return LOCK_NOTE_NONE;
	nl = memchr(region, '\n', n);
	if (nl == NULL || strncmp(region, NOTE_MAGIC, strlen(NOTE_MAGIC)) != 0)
		return LOCK_NOTE_TORN;
	if (!lock_is_pad(nl + 1, (size_t)(region + n - (nl + 1))))
		return LOCK_NOTE_TORN;
	for (p = region; p < nl; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return LOCK_NOTE_TORN;
	hash = region + strlen(NOTE_MAGIC);
	if (nl - hash < 18 || hash[16] != ' ')
		return LOCK_NOTE_TORN;
	body = hash + 17;
	errno = 0;
	want = strtoull(hash, &end, 16);
	if (errno != 0 || end != hash + 16 ||
	    XXH3_64bits(body, (size_t)(nl - body)) != want)
		return LOCK_NOTE_TORN;
	memset(note, 0, sizeof(*note));
	errno = 0;
	note->when = strtod(body, &end);
	if (errno != 0 || end == body || *end != ' ' || !(note->when > 0))
		return LOCK_NOTE_TORN;
	p = end + 1;
	code = strtol(p, &end, 10);
	if (errno != 0 || end == p || *end != ' ' || code < 1 || code > 255)
		return LOCK_NOTE_TORN;
	note->exit_code = (int)code;
	p = end + 1;
	if ((size_t)(nl - p) >= sizeof(note->msg))
		return LOCK_NOTE_TORN;
	memcpy(note->msg, p, (size_t)(nl - p));
	note->msg[nl - p] = '\0';
	return LOCK_NOTE_FOUND;
}

/*
 * Reads the lock file's region [off, off + size) of state_path and
 * parses it with parse(region, n, out), again while it comes out torn (a
 * writer's one pwrite may be under way).  The note and the watcher's
 * record are read so.  LOCK_NOTE_NONE without a lock file.
 */
static int
region_read(const char *state_path, off_t off, size_t size,
	    int (*parse)(const char *, size_t, void *), void *out,
	    struct err *err)
{
	char *path = xasprintf("%s.lock", state_path);
	char *region = xmalloc(size);
	ssize_t n;
	int fd, tries, rc = LOCK_NOTE_NONE;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT)
		goto done;
	if (fd == -1) {
		if (err != NULL)
			err->lib_rc = errno;
		err_object(err, path);
		rc = err_set(err, DS_E_IO, "cannot read the lock file: %s",
			     strerror(errno));
		goto done;
	}
	for (tries = 0; tries < 20; tries++) {
		n = pread(fd, region, size, off);
		if (n < 0) {
			if (err != NULL)
				err->lib_rc = errno;
			err_object(err, path);
			rc = err_set(err, DS_E_IO, "cannot read the lock file: "
				     "%s", strerror(errno));
			goto done;
		}
		rc = parse(region, (size_t)n, out);
		if (rc != LOCK_NOTE_TORN)
			break;
		lock_nap_ms(10);
	}
done:
	if (fd != -1)
		close(fd);
	free(region);
	free(path);
	return rc;
}

static int
note_parse_any(const char *region, size_t n, void *out)
{
	return note_parse(region, n, out);
}

int
lock_note_read(const char *state_path, struct lock_note *note,
	       struct err *err)
{
	memset(note, 0, sizeof(*note));
	return region_read(state_path, LOCK_NOTE_OFF, LOCK_NOTE_SIZE,
			   note_parse_any, note, err);
}

/*
 * The watcher's record.  One line, padded to LOCK_WATCH_SIZE, at
 * LOCK_WATCH_OFF, checked as the note is:
 *
 *   "dirsync-watch/1 " HASH " " BODY "\n"
 *   BODY = PID " " STATE " " SINCE " " MESSAGE
 */
#define WATCH_MAGIC "dirsync-watch/1 "

static const char *const watch_words[LOCK_WATCH_STATES] = {
	[LOCK_WATCH_NONE] = "none",
	[LOCK_WATCH_STARTING] = "starting",
	[LOCK_WATCH_WATCHING] = "watching",
	[LOCK_WATCH_LOST] = "lost",
	[LOCK_WATCH_REFUSED] = "refused",
	[LOCK_WATCH_STOPPED] = "stopped",
	[LOCK_WATCH_UNSUPPORTED] = "unsupported",
	[LOCK_WATCH_FAILED] = "failed",
};

const char *
lock_watch_word(enum lock_watch_state s)
{
	return (unsigned)s < LOCK_WATCH_STATES ? watch_words[s] : "none";
}

int
lock_watch_write(int fd, enum lock_watch_state state, double since,
		 const char *why, struct err *err)
{
	char region[LOCK_WATCH_SIZE], body[LOCK_WATCH_SIZE - 40];
	char msg[LOCK_NOTE_MSG];
	int blen, rlen;

	memset(region, LOCK_PAD, sizeof(region));
	if (state != LOCK_WATCH_NONE) {
		note_sanitize(msg, sizeof(msg), why != NULL ? why : "");
		blen = snprintf(body, sizeof(body), "%ld %s %.3f %s",
				(long)getpid(), lock_watch_word(state), since,
				msg);
		if (blen < 0 || (size_t)blen >= sizeof(body) ||
		    (unsigned)state >= LOCK_WATCH_STATES)
			return err_set(err, DS_E_INTERNAL, "a watch record "
				       "cannot be written");
		rlen = snprintf(region, sizeof(region),
				WATCH_MAGIC "%016llx %s\n",
				(unsigned long long)XXH3_64bits(body,
								(size_t)blen),
				body);
		if (rlen > 0 && (size_t)rlen < sizeof(region))
			region[rlen] = LOCK_PAD;
	}
	if (pwrite(fd, region, sizeof(region), LOCK_WATCH_OFF) ==
	    (ssize_t)sizeof(region))
		return 0;
	if (err != NULL)
		err->lib_rc = errno;
	return err_set(err, DS_E_IO, "cannot write the watch's state into "
		       "the lock file: %s", strerror(errno));
}

/* LOCK_NOTE_FOUND and *w, LOCK_NOTE_NONE or LOCK_NOTE_TORN. */
static int
watch_parse(const char *region, size_t n, struct lock_watch *w)
{
	const char *hash, *body, *nl, *p, *sp;
	unsigned long long want;
	char *end;
	size_t i;

	if (lock_is_pad(region, n))
		return LOCK_NOTE_NONE;
	nl = memchr(region, '\n', n);
	if (nl == NULL || strncmp(region, WATCH_MAGIC, strlen(WATCH_MAGIC)) != 0)
		return LOCK_NOTE_TORN;
	if (!lock_is_pad(nl + 1, (size_t)(region + n - (nl + 1))))
		return LOCK_NOTE_TORN;
	hash = region + strlen(WATCH_MAGIC);
	if (nl - hash < 18 || hash[16] != ' ')
		return LOCK_NOTE_TORN;
	body = hash + 17;
	errno = 0;
	want = strtoull(hash, &end, 16);
	if (errno != 0 || end != hash + 16 ||
	    XXH3_64bits(body, (size_t)(nl - body)) != want)
		return LOCK_NOTE_TORN;
	memset(w, 0, sizeof(*w));
	errno = 0;
	w->pid = strtol(body, &end, 10);
	if (errno != 0 || end == body || *end != ' ' || w->pid <= 0)
		return LOCK_NOTE_TORN;
	p = end + 1;
	sp = memchr(p, ' ', (size_t)(nl - p));
	if (sp == NULL)
		return LOCK_NOTE_TORN;
	w->state = LOCK_WATCH_NONE;
	for (i = 1; i < LOCK_WATCH_STATES; i++)
		if ((size_t)(sp - p) == strlen(watch_words[i]) &&
		    strncmp(p, watch_words[i], (size_t)(sp - p)) == 0)
			w->state = (enum lock_watch_state)i;
	if (w->state == LOCK_WATCH_NONE)
		return LOCK_NOTE_TORN;   /* a newer dirsync's word: unknown */
	p = sp + 1;
	w->since = strtod(p, &end);
	if (errno != 0 || end == p || *end != ' ')
		return LOCK_NOTE_TORN;
	p = end + 1;
	if ((size_t)(nl - p) >= sizeof(w->msg))
		return LOCK_NOTE_TORN;
	memcpy(w->msg, p, (size_t)(nl - p));
	w->msg[nl - p] = '\0';
	return LOCK_NOTE_FOUND;
}

static int
watch_parse_any(const char *region, size_t n, void *out)
{
	return watch_parse(region, n, out);
}

int
lock_watch_read(const char *state_path, struct lock_watch *w,
		struct err *err)
{
	memset(w, 0, sizeof(*w));
	return region_read(state_path, LOCK_WATCH_OFF, LOCK_WATCH_SIZE,
			   watch_parse_any, w, err);
}

bool
lock_watch_current(const char *state_path, struct lock_watch *w)
{
	bool is_daemon;
	pid_t pid = lock_holder_role(state_path, &is_daemon);

	/* a daemon paused by a run's bind publishes no watch state; one
	 * paused by the watch's own bind keeps it (stopped) */
	if (pid <= 0 || !is_daemon ||
	    lock_watch_read(state_path, w, NULL) != LOCK_NOTE_FOUND)
		return false;
	return w->pid == (long)pid && w->state != LOCK_WATCH_NONE;
}

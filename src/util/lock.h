/*
 * lock.h - one dirsync at a time per state database.
 *
 * The lock is flock(2) on `<state.path>.lock`, opened O_CLOEXEC.  The file
 * also serves as the pid file: it holds "PID ROLE\n", ROLE being "sync" for
 * a one-shot run, "daemon" once lock_mark_daemon() was called, and
 * "daemon paused-bind" while the daemon refuses to bind again after
 * invalid credentials (cli/daemon.c) and waits for a reload.  The
 * kernel drops the lock when the holder exits, however it exits, so a stale
 * file never blocks anybody; the pid in it only counts while the lock is
 * held.
 *
 * The file's layout (LOCK_FILE_SIZE bytes, allocated when the lock is
 * taken so that later writes need no new disk block, even on a full
 * disk):
 *
 *   [0, LOCK_PID_SIZE)    "PID ROLE\n", padded; blank once released
 *   [LOCK_NOTE_OFF, +LOCK_NOTE_SIZE)
 *                         the note of a run that failed and could not be
 *                         recorded in the state database's history (see
 *                         lock_note_write()), padded; or blank
 *   [LOCK_WATCH_OFF, +LOCK_WATCH_SIZE)
 *                         the daemon's watcher ([schedule] watch): its
 *                         state and why (lock_watch_write()), or blank
 *   the rest              padding
 *
 * The padding is line ends ('\n'), so the file stays text: `cat` shows
 * "PID ROLE", blank lines and the note's line if there is one, and a
 * shell's "$(cat FILE)" is "PID ROLE" when there is no note.  Readers
 * take NUL bytes as padding too.
 *
 * A file of an older dirsync ("PID ROLE\n", or empty) reads as a pid and
 * no note, and is given the new size the next time the lock is taken.
 * The file keeps the mode it was created with (0644 less the umask, which
 * secret_init() makes 0600), as the state database does: a note may name
 * DNs and servers, as the run history there does.
 *
 * lock_acquire() checks, once it holds the lock, that the path still
 * names the locked file (same device and inode, not unlinked) and opens
 * it again if not: a lock on a file deleted or replaced between open(2)
 * and flock(2) guards nothing.  The daemon checks the same with
 * lock_keep() before each run and while it waits.
 *
 * flock locks belong to the open file description: a process that already
 * holds the lock must not call lock_acquire() again (the second open would
 * conflict with the first).  The daemon takes the lock once at start and
 * holds it until it exits; a one-shot `sync` takes it for the run.
 */
#ifndef DS_LOCK_H
#define DS_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/err.h"

#define LOCK_FILE_SIZE 4096
#define LOCK_PID_SIZE 64
#define LOCK_NOTE_OFF 64
#define LOCK_NOTE_SIZE 1024
/* The longest message a note keeps, with its NUL; longer ones are cut on
 * a UTF-8 boundary and end in " [...]". */
#define LOCK_NOTE_MSG 900
#define LOCK_WATCH_OFF (LOCK_NOTE_OFF + LOCK_NOTE_SIZE)
#define LOCK_WATCH_SIZE 1024

/*
 * Exclusive lock on the state database (a `<state.path>.lock` file, flock,
 * O_CLOEXEC), holds our pid.  Never waits.  Returns 0 and the descriptor in
 * *fd_out, or -1 with err: DS_E_LOCKED if held (the message names the pid
 * and whether it is a daemon), DS_E_IO if the file cannot be opened.
 */
int lock_acquire(const char *state_path, int *fd_out, struct err *err);
/*
 * For a holder that keeps the lock (the daemon), before each run and
 * now and then: is *fd (from lock_acquire(), or -1 after a loss) still
 * the lock on the file at `<state_path>.lock`?  A lock file deleted or
 * replaced under its holder guards nothing (the next dirsync creates a
 * new one and locks that), so it is then taken again at the path.
 * role: "daemon" or LOCK_ROLE_PAUSED, rewritten when the pid record no
 * longer says it (the file was emptied or overwritten; *repaired then).
 * Returns 0: still held; 1: the old lock was lost and the lock was taken
 * anew, *fd is the new descriptor (the old note is gone with the old
 * file); -1 with err: not held, *fd is -1 (DS_E_LOCKED: another process
 * holds the file at the path now; DS_E_IO: it cannot be opened), or the
 * pid record could not be rewritten (*fd kept, still held).
 */
int lock_keep(const char *state_path, int *fd, const char *role,
	      bool *repaired, struct err *err);
/* Records our pid (again: call it after a fork) with the role "daemon". */
int lock_mark_daemon(int fd, struct err *err);
/* The daemon's role: paused (waiting for a reload after invalid
 * credentials) or not. */
int lock_mark_daemon_paused(int fd, bool paused, struct err *err);
#define LOCK_ROLE_PAUSED "daemon paused-bind"
/* Zeroes the pid record (a note stays) and closes fd, which drops the
 * lock.  fd < 0: no-op. */
void lock_release(int fd);
/* pid of a running holder (daemon or sync), or 0 if nobody holds the lock. */
pid_t lock_holder(const char *state_path);
/* Like lock_holder(); *is_daemon tells whether the holder is a daemon. */
pid_t lock_holder_role(const char *state_path, bool *is_daemon);
/* Like lock_holder_role(); *paused: a daemon marked paused. */
pid_t lock_holder_info(const char *state_path, bool *is_daemon, bool *paused);

/*
 * The note of a real run (sync, approve, the daemon's) that failed and
 * whose failure is not in the state database's history: the state could
 * not be opened, or the run's row not written (a full disk, a damaged
 * or read-only database).  `dirsync status` reads it, so that a check
 * does not say OK from the last run that was recorded.
 */
struct lock_note {
	double when;               /* Unix seconds, when the run ended */
	int exit_code;             /* 1 to 255 */
	char msg[LOCK_NOTE_MSG];   /* why; one line, printable */
};

/*
 * Writes the note (when: Unix seconds; exit_code 1 to 255; why: any
 * length, borrowed) in one pwrite(2) into the region allocated when the
 * lock was taken; why is cut to LOCK_NOTE_MSG and its control bytes
 * become spaces.  fd: from lock_acquire(), still held.  0, or -1 with
 * err (DS_E_IO, errno in lib_rc; DS_E_INTERNAL for a when or exit_code
 * out of range).
 */
int lock_note_write(int fd, double when, int exit_code, const char *why,
		    struct err *err);
/* Clears the note (no write when there is none): a run was recorded. */
int lock_note_clear(int fd, struct err *err);

enum { LOCK_NOTE_NONE = 0, LOCK_NOTE_FOUND = 1, LOCK_NOTE_TORN = 2 };
/*
 * Reads the note without taking the lock (a run may hold it).  Returns
 * LOCK_NOTE_FOUND with *note filled; LOCK_NOTE_NONE (no lock file, an
 * older one, or no note); LOCK_NOTE_TORN when the region holds something
 * that is not a whole, valid note after retries for a write under way
 * (never taken as a note: hash, one complete line, padding after it); or -1
 * with err (DS_E_IO, errno in lib_rc) when the file cannot be read.
 */
int lock_note_read(const char *state_path, struct lock_note *note,
		   struct err *err);

/*
 * The daemon's watcher ([schedule] watch = yes, cli/watch.h), for
 * `dirsync status`, the status page and /metrics: a watch that ended for
 * a reason that does not go away by itself (invalid credentials) must be
 * seen at once, not an interval later when a run fails.  Written by the
 * daemon (its main thread) when the state changes; counted only while
 * the daemon whose pid it names holds the lock.
 */
enum lock_watch_state {
	LOCK_WATCH_NONE = 0,     /* no record: not watching by design */
	LOCK_WATCH_STARTING,     /* connecting for the first time */
	LOCK_WATCH_WATCHING,     /* the persistent search is established */
	LOCK_WATCH_LOST,         /* lost, reconnecting with back-off */
	LOCK_WATCH_REFUSED,      /* the server cannot be watched (asked
				  * again later) */
	LOCK_WATCH_STOPPED,      /* invalid credentials: not before a reload */
	LOCK_WATCH_UNSUPPORTED,  /* the source type cannot follow changes */
	LOCK_WATCH_FAILED,       /* the watcher could not start */
	LOCK_WATCH_STATES
};

struct lock_watch {
	long pid;                  /* the daemon that wrote it */
	enum lock_watch_state state;
	double since;              /* Unix seconds: in this state since */
	char msg[LOCK_NOTE_MSG];   /* why; one line, printable; may be "" */
};

/* "watching", "lost", ...: the word status, the page and /metrics use. */
const char *lock_watch_word(enum lock_watch_state s);

/*
 * Writes the record (our pid, state, since, why: cut and cleaned as a
 * note's) in one pwrite(2); LOCK_WATCH_NONE blanks it.  0, or -1 with
 * err (DS_E_IO).
 */
int lock_watch_write(int fd, enum lock_watch_state state, double since,
		     const char *why, struct err *err);

/*
 * Reads the record without taking the lock: LOCK_NOTE_FOUND with *w
 * filled, LOCK_NOTE_NONE (none, blank, or no lock file), LOCK_NOTE_TORN,
 * or -1 with err.  The caller checks w->pid against the lock's holder.
 */
int lock_watch_read(const char *state_path, struct lock_watch *w,
		    struct err *err);
/*
 * The record of the daemon that holds the lock now (a daemon paused by a
 * run's invalid credentials writes none: the pause is said as such; one
 * paused by its watch's keeps "stopped"): true with *w filled; false when
 * there is none, no daemon holds the lock, or the record is another
 * process's.
 */
bool lock_watch_current(const char *state_path, struct lock_watch *w);

#endif

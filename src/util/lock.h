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

/*
 * Exclusive lock on the state database (a `<state.path>.lock` file, flock,
 * O_CLOEXEC), holds our pid.  Never waits.  Returns 0 and the descriptor in
 * *fd_out, or -1 with err: DS_E_LOCKED if held (the message names the pid
 * and whether it is a daemon), DS_E_IO if the file cannot be opened.
 */
int lock_acquire(const char *state_path, int *fd_out, struct err *err);
/* Records our pid (again: call it after a fork) with the role "daemon". */
int lock_mark_daemon(int fd, struct err *err);
/* The daemon's role: paused (waiting for a reload after invalid
 * credentials) or not. */
int lock_mark_daemon_paused(int fd, bool paused, struct err *err);
#define LOCK_ROLE_PAUSED "daemon paused-bind"
/* Empties the pid file and closes fd, which drops the lock.  fd < 0: no-op. */
void lock_release(int fd);
/* pid of a running holder (daemon or sync), or 0 if nobody holds the lock. */
pid_t lock_holder(const char *state_path);
/* Like lock_holder(); *is_daemon tells whether the holder is a daemon. */
pid_t lock_holder_role(const char *state_path, bool *is_daemon);
/* Like lock_holder_role(); *paused: a daemon marked paused. */
pid_t lock_holder_info(const char *state_path, bool *is_daemon, bool *paused);

#endif

/*
 * watch.h - the daemon's watcher ([schedule] watch = yes): a thread that
 * holds a persistent search on a connection of its own (source_ops.watch)
 * and, for each change the directory announces, writes one byte to the
 * daemon's wake-up pipe.  It is only a wake-up signal: the change itself
 * is applied by the daemon's ordinary run (an incremental read with the
 * stored cookie, the same rules, plan, limits, report and history).
 *
 * A lost connection is logged once (warning) and retried with back-off,
 * 1 s doubling up to [schedule] interval; being back is logged (info)
 * and answered with one run, for what changed while nobody watched.
 * Invalid credentials end the watcher (like the daemon, it never binds
 * again with a password the directory refused) until the daemon reloads;
 * so does a server that cannot be watched (no syncprov, no notification
 * control), logged once: the daemon then runs on its interval only.
 */
#ifndef DS_WATCH_H
#define DS_WATCH_H

#include <stddef.h>

#include "conf/conf.h"
#include "util/err.h"
#include "util/lock.h"

struct watcher;

/*
 * Starts watching the directory c names.  c is borrowed: it must outlive
 * watcher_stop().  wake_fd: the write end of a non-blocking pipe; a full
 * pipe already says "changed".  Returns 0 with *out set; 1 with *out NULL
 * when the source type cannot watch at all (an LDIF file: logged here,
 * once); -1 with err set when the thread cannot start.
 */
int watcher_start(struct watcher **out, const struct conf *c, int wake_fd,
		  struct err *err);

/* Ends the search and joins the thread (within about a second). NULL-safe. */
void watcher_stop(struct watcher *w);

/*
 * What the watcher is doing (any thread): starting, watching, lost
 * (reconnecting), refused (the server cannot be watched: asked again
 * later), stopped (invalid credentials: until a reload), unsupported;
 * *since: Unix seconds, in that state since; why: the server watched,
 * or the error (cut to len).  The daemon publishes it in the lock file
 * for `dirsync status` (lock_watch_write()).
 */
enum lock_watch_state watcher_state(struct watcher *w, double *since,
				    char *why, size_t len);

#endif

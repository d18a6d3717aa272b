/* The daemon's watcher thread: see watch.h. */
#include "cli/watch.h"

#include <errno.h>
#include <ldap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "source/source.h"
#include "state/syncsnap.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/xalloc.h"

struct watcher {
	const struct conf *c;        /* borrowed */
	const struct source_ops *ops;
	int wake_fd;
	pthread_t th;
	atomic_bool stop;
	/* the watching thread's own */
	bool watched;                /* a search was ever established */
	bool lost;                   /* lost since, not back yet */
	struct source_info info;
	/* what watcher_state() tells the daemon: set by the watching
	 * thread, read by the daemon's, under mu */
	pthread_mutex_t mu;
	enum lock_watch_state state;
	double since;                /* Unix seconds */
	char why[LOCK_NOTE_MSG];
};

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The state the daemon publishes (watch.h); since: now, unless the
 * state stays the same (a loss that goes on keeps its start). */
static void
watcher_set(struct watcher *w, enum lock_watch_state st, const char *why)
{
	pthread_mutex_lock(&w->mu);
	if (w->state != st)
		w->since = wall_now();
	w->state = st;
	snprintf(w->why, sizeof(w->why), "%s", why != NULL ? why : "");
	pthread_mutex_unlock(&w->mu);
}

static void
watcher_wake(struct watcher *w)
{
	/* EAGAIN: the pipe is full, the daemon knows already */
	if (write(w->wake_fd, "w", 1) == -1 && errno != EAGAIN)
		log_debug("watch: wake-up pipe: %s", strerror(errno));
}

static void
watcher_on_change(void *ctx)
{
	struct watcher *w = ctx;

	log_debug("watch: %s announced a change", w->info.server);
	watcher_wake(w);
}

static void
watcher_on_watching(void *ctx)
{
	struct watcher *w = ctx;

	if (w->lost) {
		log_info("watch: watching %s again; one run for what changed "
			 "meanwhile",
			 w->info.server);
		watcher_wake(w);
	} else if (!w->watched) {
		log_info("watch: following changes on %s (%s)", w->info.server,
			 strcmp(w->info.flavor, "ad") == 0
				 ? "change notifications"
				 : "RFC 4533 refreshAndPersist");
	}
	w->watched = true;
	w->lost = false;
	watcher_set(w, LOCK_WATCH_WATCHING, w->info.server);
}

static bool
watcher_should_stop(void *ctx)
{
	struct watcher *w = ctx;

	return atomic_load(&w->stop);
}

/* Sleeps secs seconds, or less when asked to stop. */
static void
watcher_sleep(struct watcher *w, long secs)
{
	struct timespec ts = {0, 100 * 1000 * 1000};
	long i;

	for (i = 0; i < secs * 10 && !atomic_load(&w->stop); i++)
		nanosleep(&ts, NULL);
}

/* The last run's RFC 4533 cookie from the snapshot, if there is one. */
static void
watcher_cookie(const struct watcher *w, struct syncsnap_meta *m)
{
	struct syncsnap *snap = NULL;
	const char *why = NULL;
	struct err err;
	char *path = syncsnap_path(w->c->state.path);

	memset(m, 0, sizeof(*m));
	err_clear(&err);
	if (syncsnap_open(&snap, path, true, m, &why, &err) != 0)
		log_debug("watch: no cookie from %s: %s", path,
			  why != NULL ? why : err.msg);
	syncsnap_close(snap);
	free(path);
}

/* A server that refused to be watched is asked again after this (s):
 * syncprov may be loaded at run time (cn=config). */
#define WATCH_RETRY_REFUSED 3600

/*
 * One connection: open, watch until it ends.  Returns 0 asked to stop, 1
 * give up (logged), 2 the server refused to be watched (logged: try
 * again after WATCH_RETRY_REFUSED), -1 lost (err set).
 */
static int
watcher_session(struct watcher *w, struct err *err)
{
	struct source *src = NULL;
	struct source_watch sw;
	struct syncsnap_meta meta;
	char buf[1400], *filter;
	int rc;

	memset(&w->info, 0, sizeof(w->info));
	if (w->ops->open(&src, w->c, &w->info, err) != 0) {
		if (err->code == DS_E_AUTH &&
		    err->lib_rc == LDAP_INVALID_CREDENTIALS) {
			log_err("watch: %s; not watching (nor binding for it) "
				"until the configuration is reloaded: each "
				"attempt would count toward the account's "
				"lockout",
				err_fmt(err, buf, sizeof(buf)));
			watcher_set(w, LOCK_WATCH_STOPPED, buf);
			return 1;
		}
		return -1;
	}
	if (w->ops->watch == NULL) {
		log_info("watch: source type %s cannot follow changes; runs "
			 "every %lds",
			 w->ops->name, w->c->schedule.interval);
		snprintf(buf, sizeof(buf), "source type %s cannot follow "
			 "changes", w->ops->name);
		watcher_set(w, LOCK_WATCH_UNSUPPORTED, buf);
		w->ops->close(src);
		return 1;
	}
	watcher_cookie(w, &meta);
	/* what an incremental run reads: the effective filter or an OU */
	filter = engine_sync_filter(source_effective_filter(w->c, &w->info),
				    strcmp(w->info.flavor, "ad") == 0);
	memset(&sw, 0, sizeof(sw));
	sw.cookie = meta.cookie;
	sw.cookie_len = meta.cookie_len;
	sw.watching = watcher_on_watching;
	sw.changed = watcher_on_change;
	sw.stop = watcher_should_stop;
	sw.ctx = w;
	rc = w->ops->watch(src, filter, &sw, err);
	w->ops->close(src);
	free(filter);
	syncsnap_meta_free(&meta);
	if (rc == 1) {
		log_warn("watch: %s; the daemon runs every %lds instead, and "
			 "asks again in %dh",
			 sw.reason, w->c->schedule.interval,
			 WATCH_RETRY_REFUSED / 3600);
		watcher_set(w, LOCK_WATCH_REFUSED, sw.reason);
		rc = 2;
	}
	return rc;
}

static void *
watcher_main(void *arg)
{
	struct watcher *w = arg;
	long backoff = 1;
	struct err err;
	char buf[1400];
	int rc;

	while (!atomic_load(&w->stop)) {
		err_clear(&err);
		rc = watcher_session(w, &err);
		if (rc == 2) {
			watcher_sleep(w, WATCH_RETRY_REFUSED);
			continue;
		}
		if (rc >= 0)
			break;
		if (atomic_load(&w->stop))
			break;
		if (w->watched && !w->lost)
			backoff = 1;   /* a fresh loss starts the back-off over */
		watcher_set(w, LOCK_WATCH_LOST, err_fmt(&err, buf,
							 sizeof(buf)));
		if (!w->lost)
			log_warn("watch: %s; runs go on every %lds; "
				 "reconnecting (after 1s, doubling up to %lds)",
				 err_fmt(&err, buf, sizeof(buf)),
				 w->c->schedule.interval,
				 w->c->schedule.interval);
		else
			log_debug("watch: still lost: %s; next try in %lds",
				  err_fmt(&err, buf, sizeof(buf)), backoff);
		w->lost = true;
		watcher_sleep(w, backoff);
		backoff = backoff * 2 > w->c->schedule.interval
				  ? w->c->schedule.interval
				  : backoff * 2;
	}
	return NULL;
}

int
watcher_start(struct watcher **out, const struct conf *c, int wake_fd,
	      struct err *err)
{
	struct watcher *w;
	int rc;

	*out = NULL;
	if (source_ops_for(c)->watch == NULL) {
		log_info("watch: the %s source cannot follow changes; runs every "
			 "%lds",
			 source_ops_for(c)->name, c->schedule.interval);
		return 1;
	}
	w = xcalloc(1, sizeof(*w));
	w->c = c;
	w->ops = source_ops_for(c);
	w->wake_fd = wake_fd;
	atomic_init(&w->stop, false);
	pthread_mutex_init(&w->mu, NULL);
	w->state = LOCK_WATCH_STARTING;
	w->since = wall_now();
	if ((rc = thread_spawn(&w->th, watcher_main, w)) != 0) {
		pthread_mutex_destroy(&w->mu);
		free(w);
		return err_set(err, DS_E_INTERNAL,
			       "cannot start the watch thread: %s",
			       strerror(rc));
	}
	*out = w;
	return 0;
}

void
watcher_stop(struct watcher *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->th, NULL);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

enum lock_watch_state
watcher_state(struct watcher *w, double *since, char *why, size_t len)
{
	enum lock_watch_state st;

	pthread_mutex_lock(&w->mu);
	st = w->state;
	*since = w->since;
	snprintf(why, len, "%s", w->why);
	pthread_mutex_unlock(&w->mu);
	return st;
}

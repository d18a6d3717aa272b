/* `dirsync daemon`: the run loop, signals, reload, systemd readiness. */
#include "cli/daemon.h"
#include "plan/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <ldap.h>

#include "cli/sync.h"
#include "cli/watch.h"
#include "passwd/pwdeliver.h"
#include "report/notify.h"
#include "state/state.h"
#include "util/lock.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/progress.h"
#include "web/web.h"

/*
 * A run that failed (exit 1: a locked or read-only database, a server
 * gone) is tried again after RETRY_FIRST seconds, doubling after each
 * further failure, never later than the interval: a change the watch
 * announced must not wait for the next interval because one run failed.
 */
#define RETRY_FIRST 10.0

/* Jitter: up to this share of the interval, and never more than 30 s. */
#define DAEMON_JITTER_PCT 5
#define DAEMON_JITTER_MAX 30.0

/*
 * Watch mode: after the first change, wait until none came for this long
 * (a burst - a new hire's account, then its groups - becomes one run),
 * but never longer than the cap under a steady stream.
 */
#define DAEMON_WATCH_QUIET 0.25
#define DAEMON_WATCH_CAP 2.0

/* While waiting, the lock file is checked this often (seconds): deleted
 * or replaced, it is taken again before a one-shot sync takes it. */
#define DAEMON_LOCK_CHECK 1.0

static volatile sig_atomic_t daemon_run_now;
static volatile sig_atomic_t daemon_reload;
static volatile sig_atomic_t daemon_stop;

struct daemon {
	const char *conf_path;
	struct conf c;
	int lockfd;
	unsigned long long seed;    /* jitter PRNG state */
	double next_run;            /* monotonic seconds */
	double last_end;            /* when the last run ended */
	long long runs;             /* runs started, failed ones too */
	/* a run of this daemon read and compared everything (it made its
	 * plan from a full read): until then every run is full, so that
	 * a first run that failed (server down, database locked) or was
	 * interrupted does not leave the daemon without one */
	bool full_done;
	/*
	 * The last run stopped at a safety limit and applied nothing: it
	 * waits for `dirsync approve`.  The changes the watch announces
	 * meanwhile do not make runs (each would read, plan and stop the
	 * same, a whole read when the stopped run was one: a user trial
	 * saw 428 in ten minutes); the interval's runs, a request
	 * (SIGUSR1, `sync --now`, approve) and a reload still do.  Its
	 * run id; 0: none.
	 */
	long long limit_stop;
	bool limit_stop_said;       /* the pause of watch runs was logged */
	int fails;                  /* failed runs in a row (exit 1) */
	/* the state database as the last run left it (st_ino 0: unknown) */
	dev_t state_dev;
	ino_t state_ino;
	sigset_t blocked;           /* the signals we handle */
	sigset_t waitmask;          /* mask in force while waiting or syncing */
	struct web *web;            /* [web] listen; NULL when off */
	/* invalid credentials: no bind (no run) until a reload; the run
	 * that failed */
	bool paused;
	long long paused_run;
	/* [schedule] watch: the watcher thread (NULL: none running) and
	 * the pipe it wakes us through (made at start, watch or not);
	 * watch_tried: it was started for this configuration (a watcher
	 * that gave up is not restarted before a reload) */
	struct watcher *watcher;
	int wake[2];
	bool watch_tried;
	/* the watcher could not be started for this configuration
	 * (unsupported source, no thread): its state, since, why */
	enum lock_watch_state watch_start;
	double watch_start_at;
	char watch_start_why[LOCK_NOTE_MSG];
	/* the watch's state as last written into the lock file for
	 * `dirsync status` (pub_ok false: write it again) */
	bool pub_ok;
	enum lock_watch_state pub_state;
	double pub_since;
	char pub_why[LOCK_NOTE_MSG];
	/* the lock file was deleted or replaced and another process holds
	 * the new one: no run until it is ours again (daemon_keep_lock) */
	bool lock_lost;
};

static void
daemon_on_signal(int sig)
{
	switch (sig) {
	case SIGUSR1:
		daemon_run_now = 1;
		break;
	case SIGHUP:
		daemon_reload = 1;
		break;
	default:
		daemon_stop = 1;
		engine_stop_requested = 1;
		break;
	}
}

/*
 * systemd's notification protocol without libsystemd: one datagram to the
 * unix socket named by $NOTIFY_SOCKET ('@' = abstract namespace).  Silent
 * when not started by systemd; a failure only costs the status line.
 */
static void
daemon_sd_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) ==
	    -1)
		log_debug("sd_notify: %s", strerror(errno));
	close(fd);
}

/* The next wait: interval +- min(5%, 30 s), uniformly. */
static double
daemon_wait_for(struct daemon *d)
{
	double iv = (double)d->c.schedule.interval;
	double j = iv * DAEMON_JITTER_PCT / 100.0;
	double u;

	if (j > DAEMON_JITTER_MAX)
		j = DAEMON_JITTER_MAX;
	/* xorshift64*: jitter needs spread, not secrecy */
	d->seed ^= d->seed >> 12;
	d->seed ^= d->seed << 25;
	d->seed ^= d->seed >> 27;
	u = (double)((d->seed * 2685821657736338717ULL) >> 11) /
	    9007199254740992.0; /* [0, 1) */
	return iv + (2.0 * u - 1.0) * j;
}

static long long
daemon_changes(const struct run_counts *n)
{
	return n->add + n->update + n->disable + n->delete;
}

/*
 * The one line per run.  Errors themselves were logged by sync_run, one
 * line each, naming the object; a limit stop is not an error there, so it
 * is told here.
 */
static void
daemon_log_run(const struct daemon *d, const struct run_result *r, int rc,
	       bool interrupted, const char *trigger)
{
	const struct run_counts *n = &r->counts;
	const struct limit_hit *lim = &r->limit;
	char head[64], how[96], lists[600];

	if (r->run_id > 0)
		snprintf(head, sizeof(head), "run %lld", r->run_id);
	else
		snprintf(head, sizeof(head), "run");
	if (interrupted && rc != 0 && !r->applied) {
		log_warn("%s: interrupted by shutdown after %.1fs; nothing "
			 "was applied",
			 head, r->seconds);
		return;
	}
	if (rc == 3 && r->held) {
		/* exit 3 says the hold; the objects that failed beside it
		 * are named here, not hidden behind it */
		char failed[64] = "";

		if (r->counts.failed > 0)
			snprintf(failed, sizeof(failed), ", %ld failed (see "
				 "`dirsync show %lld`)",
				 r->counts.failed, r->run_id);
		log_warn("%s: safety limit %s (allowed %ld, planned %ld): "
			 "disables and deletes held back (hold_removals); "
			 "%ld added, %ld updated%s; apply them with `dirsync "
			 "approve %lld`",
			 head, lim->limit, lim->allowed, lim->planned,
			 r->counts.add, r->counts.update, failed, r->run_id);
		return;
	}
	if (rc == 3 && lim->limit != NULL &&
	    strcmp(lim->limit, "allow_empty") == 0) {
		log_warn("%s: stopped by safety limit allow_empty: the "
			 "directory read has no object in scope (check "
			 "[source] base_dn and filter, and [scope]); nothing "
			 "applied",
			 head);
		return;
	}
	if (rc == 3 && lim->limit != NULL && lim->forceable) {
		log_warn("%s: stopped by safety limit %s (allowed %ld, "
			 "planned %ld%s): nothing applied; review with "
			 "`dirsync show %lld`, apply with `dirsync approve "
			 "%lld`",
			 head, lim->limit, lim->allowed, lim->planned,
			 plan_limit_lists(lim, lists, sizeof(lists)),
			 r->run_id, r->run_id);
		return;
	}
	if (rc == 3 && lim->limit != NULL) {
		log_warn("%s: stopped by safety limit %s (allowed %ld, "
			 "planned %ld): nothing applied; review with "
			 "`dirsync show %lld`",
			 head, lim->limit, lim->allowed, lim->planned,
			 r->run_id);
		return;
	}
	/* have_rules: the read finished (a failed bind read nothing, a
	 * cut file or a lost connection read part) */
	if (!r->have_rules && r->read > 0)
		snprintf(how, sizeof(how), "the read did not finish");
	else if (!r->have_rules)
		snprintf(how, sizeof(how), "nothing read");
	else
		snprintf(how, sizeof(how), "%s read, %zu entries from the %s",
			 r->read_mode != NULL ? r->read_mode : "full",
			 r->read_entries,
			 d->c.source.type == SRC_LDIF ? "file" : "server");
	log_msg(rc == 0 ? LOG_LVL_INFO : LOG_LVL_ERR,
		"%s: %s in %.1fs, exit %d: read %zu, in scope %zu; "
		"%ld added, %ld updated, %ld disabled, %ld deleted; "
		"%ld conflicts, %ld errors%s; %s%s",
		head, rc == 0 ? "done" : "failed", r->seconds, rc, r->read,
		r->have_rules ? r->rules.in_scope : 0, n->add, n->update,
		n->disable, n->delete, n->conflict, n->error,
		r->applied || daemon_changes(n) == 0 ||
				(r->npasswords > 0 && rc != 3)
			? ""
			: " (nothing applied)",
		how, strcmp(trigger, "watch") == 0
			? "; triggered by a directory change (watch)"
			: "");
}

static void
daemon_status(struct daemon *d, const struct run_result *r, int rc)
{
	char msg[256];

	if (!r->recorded)   /* status names it (sync_note) */
		snprintf(msg, sizeof(msg),
			 "STATUS=last run: exit %d, not recorded in the state "
			 "database (dirsync status says why); next in %lds",
			 rc, (long)(d->next_run - clock_seconds() + 0.5));
	else
		snprintf(msg, sizeof(msg),
			 "STATUS=last run %lld: exit %d, %lld changes, %ld "
			 "errors; next in %lds",
			 r->run_id, rc, daemon_changes(&r->counts),
			 r->counts.error,
			 (long)(d->next_run - clock_seconds() + 0.5));
	daemon_sd_notify(msg);
}

/*
 * Invalid credentials: LDAP result 49 to the bind (RFC 4511 4.2.2), which
 * Active Directory also gives for a locked, disabled or expired account
 * ("data 52e", "775", "533" ... in the diagnostic).  Trying again every
 * interval would count toward the service account's lockout threshold (an
 * AD lockout policy of 5 bad attempts locks it within half an hour at the
 * default 5m), and nothing will change until someone fixes the password:
 * like nslcd, the daemon never retries bad credentials; it binds again
 * only after a reload.  Other bind refusals (TLS required, a method not
 * supported) are not bad passwords and keep the schedule.
 */
static bool
daemon_bad_credentials(const struct run_result *r)
{
	return r->err.code == DS_E_AUTH &&
	       r->err.lib_rc == LDAP_INVALID_CREDENTIALS;
}

/* What met the invalid credentials: "run N", or the watch's bind. */
static const char *
paused_by(const struct daemon *d, char *buf, size_t len)
{
	if (d->paused_run > 0)
		snprintf(buf, len, "run %lld", d->paused_run);
	else
		snprintf(buf, len, "the watch's bind");
	return buf;
}

/*
 * Logs once (a run's error was logged by sync_run, its mail sent).  r:
 * the run that met invalid credentials, or NULL for the watcher's bind
 * (a user trial: after the watcher stopped on them, `sync --now` and the
 * schedule still ran, and each run's bind counted toward the lockout).
 */
static void
daemon_pause(struct daemon *d, const struct run_result *r)
{
	struct err err;
	char buf[1400], who[64];

	d->paused = true;
	d->paused_run = r != NULL ? r->run_id : 0;
	watcher_stop(d->watcher);   /* it must not bind either */
	d->watcher = NULL;
	err_clear(&err);
	if (lock_mark_daemon_paused(d->lockfd, true, &err) != 0)
		log_warn("daemon: %s", err_fmt(&err, buf, sizeof(buf)));
	log_err("%s: the directory refused the bind (invalid credentials); "
		"not binding again, on schedule or on request, until the "
		"configuration is reloaded: each attempt would count toward "
		"the account's lockout.  Fix bind_password_file (or the "
		"account), then `systemctl reload dirsync` or `kill -HUP %ld`",
		paused_by(d, who, sizeof(who)), (long)getpid());
	daemon_sd_notify("STATUS=not binding after invalid credentials; "
			 "waiting for a reload (SIGHUP)");
}

/*
 * An approval `dirsync approve` left in the state for this run: its run id
 * and kept plan (malloc'd), or 0 and NULL.  A failure only costs the
 * approval, which is logged.
 */
static long long
daemon_approval(const struct daemon *d, char **plan, bool *held)
{
	struct state *st = NULL;
	struct err err;
	long long id = 0;
	int rc;
	char buf[1400], why[1024];

	*plan = NULL;
	*held = false;
	err_clear(&err);
	if (state_open(&st, d->c.state.path, false, &err) != 0 ||
	    state_approval_take(st, &id, &err) != 0) {
		/* a state database that cannot be written: the run says so,
		 * and no approval was necessarily asked for */
		log_debug("approvals not looked at: %s",
			  err_fmt(&err, buf, sizeof(buf)));
		id = 0;
	} else if (id > 0 &&
		   (rc = approve_check(st, id, plan, held, why, sizeof(why),
				       &err)) != 0) {
		log_err("approval of run %lld not taken: %s", id,
			rc == 1 ? err_fmt(&err, buf, sizeof(buf)) : why);
		id = 0;
	} else if (id > 0) {
		log_info("applying the plan of run %lld if it is still the "
			 "same (dirsync approve)", id);
	}
	state_close(st);
	return id;
}

/*
 * Before a run: a state database removed or replaced since the last run
 * is said once, since the run silently starts a new one (run ids from 1
 * again, the history gone: an `approve N` from an old mail would name
 * another run).  After the run: what it left.
 */
static void
daemon_state_check(struct daemon *d, bool after)
{
	struct stat sb;
	bool there = stat(d->c.state.path, &sb) == 0;

	if (after) {
		d->state_dev = there ? sb.st_dev : 0;
		d->state_ino = there ? sb.st_ino : 0;
		return;
	}
	if (d->state_ino == 0)
		return;
	if (!there)
		log_warn("the state database %s was removed since the last "
			 "run: a new one starts, its run ids from 1 and no "
			 "history (dirsync(8) rebuild-state)",
			 d->c.state.path);
	else if (sb.st_dev != d->state_dev || sb.st_ino != d->state_ino)
		log_warn("the state database %s was replaced since the last "
			 "run (another file at that path): its run ids and "
			 "history are the new file's",
			 d->c.state.path);
}

/* After a run: a failed one is tried again soon (RETRY_FIRST). */
static void
daemon_retry(struct daemon *d, int rc, const struct run_result *r)
{
	double wait;
	int i;

	if (rc != 1 || daemon_stop || daemon_bad_credentials(r)) {
		d->fails = 0;
		return;
	}
	d->fails++;
	for (wait = RETRY_FIRST, i = 1; i < d->fails && wait < 86400.0; i++)
		wait *= 2.0;
	if (d->last_end + wait >= d->next_run)
		return;
	d->next_run = d->last_end + wait;
	log_info("the run failed: trying again in %.0fs (failure %d in a "
		 "row; the wait doubles, up to the interval)", wait,
		 d->fails);
}

/*
 * One run.  trigger: "interval", "request" (SIGUSR1, `sync --now`, the
 * status page) or "watch" (a change the watcher announced); it goes into
 * the run's report.
 */
static void
daemon_run_once(struct daemon *d, const char *trigger)
{
	struct sync_opts o;
	struct run_result res;
	struct pw_deliver_result pw = {0};
	struct err err;
	char buf[1400], *approval;
	int rc;

	memset(&o, 0, sizeof(o));
	o.quiet = true; /* no report on stdout, no progress line */
	daemon_state_check(d, false);
	o.approve_run = daemon_approval(d, &approval, &o.approve_held);
	o.approve_plan = approval;
	o.trigger = trigger;
	/* full or incremental: the engine decides ([schedule] full_every
	 * against the last full read its snapshot records), but the first
	 * run after a start that gets as far as its plan reads and compares
	 * everything: a restart is what an admin does after a restore or
	 * hand edits.  A run that fails before (the server down) leaves
	 * the next one full (found by a user trial: the flag counted
	 * attempts, and a first run that failed meant no full read) */
	o.full = !d->full_done;
	o.full_why = d->runs == 0
			     ? "the daemon's first run after its start reads "
			       "and compares everything (dirsync.conf(5), "
			       "[schedule])"
			     : "no run since the daemon's start has read and "
			       "compared everything yet (the earlier ones "
			       "failed): the first that gets through does "
			       "(dirsync.conf(5), [schedule])";
	d->runs++;
	daemon_sd_notify("STATUS=syncing");
	log_debug("run starting");

	/* a SIGTERM now must reach sync_run at once */
	sigprocmask(SIG_SETMASK, &d->waitmask, NULL);
	pw_deliver_before_sync(&d->c, &pw);
	o.passwords = pw.v;
	o.npasswords = (size_t)pw.delivered;
	rc = sync_run(&d->c, &o, &res);
	pw_deliver_result_free(&pw);
	daemon_state_check(d, true);
	sigprocmask(SIG_BLOCK, &d->blocked, NULL);
	sync_note(d->lockfd, &res);
	/* the plan was made from a full read and a full compare: whatever
	 * became of it (applied, stopped by a limit, objects failed), the
	 * engine's own records say what the next run must compare again */
	if (o.full && res.have_plan && !res.interrupted)
		d->full_done = true;

	d->last_end = clock_seconds();
	d->next_run = d->last_end + daemon_wait_for(d);
	daemon_log_run(d, &res, rc, daemon_stop != 0, trigger);
	daemon_retry(d, rc, &res);
	if (!daemon_stop) {
		err_clear(&err);
		if (notify_send(&d->c, res.report, rc, &err) != 0)
			log_warn("notification not sent: %s",
				 err_fmt(&err, buf, sizeof(buf)));
	}
	daemon_status(d, &res, rc);
	if (rc != 0 && daemon_bad_credentials(&res))
		daemon_pause(d, &res);
	/* a stop that applied nothing (hold_removals applies the rest) */
	if (rc == 3 && !res.held && !res.applied && res.limit.limit != NULL) {
		if (d->limit_stop == 0)
			d->limit_stop_said = false;
		d->limit_stop = res.run_id;
	} else if (!daemon_stop && !res.interrupted) {
		d->limit_stop = 0;
	}
	run_result_free(&res);
	free(approval);
}

/*
 * SIGHUP: a new config only if it loads cleanly and keeps the state.  A
 * reload that loads, changed or not, lifts a pause after invalid
 * credentials and runs at once: the password may have been fixed in the
 * secret file or in the directory, which the config does not show.  It
 * runs at once too after a failed run (a retry was due).
 */
static void
daemon_do_reload(struct daemon *d)
{
	struct conf nc;
	struct err err;
	char buf[1400], who[64], idn[1024], ido[1024];
	bool was_watching;

	daemon_sd_notify("RELOADING=1");
	err_clear(&err);
	if (conf_load(&nc, d->conf_path, &err) != 0) {
		log_err("reload: %s; keeping the previous configuration%s",
			err_fmt(&err, buf, sizeof(buf)),
			d->paused ? ", and still not binding" : "");
		conf_free(&nc);
		goto done;
	}
	if (strcmp(nc.state.path, d->c.state.path) != 0) {
		log_err("reload: %s: [state] path changed from %s to %s, "
			"which needs a restart; keeping the previous "
			"configuration%s",
			d->conf_path, d->c.state.path, nc.state.path,
			d->paused ? ", and still not binding" : "");
		conf_free(&nc);
		goto done;
	}
	/* another mail database under a running daemon: a restart, as an
	 * admin means it (a user trial: a reload to another database was
	 * taken silently, and only max_delete_percent stopped the run
	 * that would have disabled its 30,000 mailboxes) */
	target_identity(&nc, idn, sizeof(idn));
	target_identity(&d->c, ido, sizeof(ido));
	if (strcmp(idn, ido) != 0) {
		log_err("reload: %s: [target] changed from %s to %s, which "
			"needs a restart (check the plan first: `dirsync "
			"plan`); keeping the previous configuration%s",
			d->conf_path, ido, idn,
			d->paused ? ", and still not binding" : "");
		conf_free(&nc);
		goto done;
	}
	/* the watcher borrows the old configuration */
	was_watching = d->c.schedule.watch;
	watcher_stop(d->watcher);
	d->watcher = NULL;
	d->limit_stop = 0;       /* the limits may have been raised */
	d->watch_tried = false;
	conf_free(&d->c);
	d->c = nc;
	web_set_conf(d->web, &d->c);
	/* a new interval counts from the last run, with a fresh jitter */
	d->next_run = d->last_end + daemon_wait_for(d);
	log_info("configuration reloaded from %s (interval %lds)",
		 d->conf_path, d->c.schedule.interval);
	if (was_watching && !d->c.schedule.watch)
		log_info("watch: off ([schedule] watch = no): changes wait "
			 "for the interval");
	/* the last run failed and a retry was due: the reload may be the
	 * fix, so one run now (the retry's back-off goes on if it fails
	 * again) rather than a whole interval (found by a user trial) */
	if (!d->paused && d->fails > 0) {
		d->next_run = clock_seconds();
		log_info("the last run failed: one run now after the reload");
	}
	if (d->paused) {
		d->paused = false;
		err_clear(&err);
		if (lock_mark_daemon_paused(d->lockfd, false, &err) != 0)
			log_warn("daemon: %s",
				 err_fmt(&err, buf, sizeof(buf)));
		d->next_run = clock_seconds();
		log_info("binding again after the reload (%s had invalid "
			 "credentials): one run now",
			 paused_by(d, who, sizeof(who)));
	}
done:
	daemon_sd_notify("READY=1\nSTATUS=configuration reloaded");
}

/*
 * The status page's "Sync now" (on its thread): the same SIGUSR1 as
 * `dirsync sync --now`, sent to the process, so the main thread takes it
 * in its wait or after the run under way.
 */
static void
daemon_web_sync(void)
{
	kill(getpid(), SIGUSR1);
}

/*
 * Waits until the next run is due (paused: none is), a signal arrives or
 * the watcher writes to the wake-up pipe; at most `cap` seconds when cap
 * >= 0.  Returns true when the pipe is readable.
 */
static bool
daemon_wait(struct daemon *d, double cap)
{
	double left = d->paused ? -1.0 : d->next_run - clock_seconds();
	struct pollfd pfd = {d->wake[0], POLLIN, 0};
	struct timespec ts;
	int n;

	if (cap >= 0 && (left < 0 || left > cap))
		left = cap;
	if (!d->paused && left <= 0 && cap < 0)
		return false;
	if (left < 0)
		left = 0;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	/* atomically unblock and sleep: a signal cannot slip in between */
	n = ppoll(&pfd, 1, d->paused && cap < 0 ? NULL : &ts, &d->waitmask);
	if (n == -1 && errno != EINTR)
		log_debug("ppoll: %s", strerror(errno));
	return n > 0 && (pfd.revents & POLLIN);
}

/* Empties the wake-up pipe; true if the watcher had written to it. */
static bool
daemon_drain(struct daemon *d)
{
	char b[64];
	bool any = false;

	while (read(d->wake[0], b, sizeof(b)) > 0)
		any = true;
	return any;
}

/*
 * A change was announced: gather the burst that follows (until quiet for
 * DAEMON_WATCH_QUIET, at most DAEMON_WATCH_CAP), so one run takes it.
 */
static void
daemon_gather(struct daemon *d)
{
	double t0 = clock_seconds(), left;

	while (!daemon_stop && !daemon_reload) {
		left = t0 + DAEMON_WATCH_CAP - clock_seconds();
		if (left <= 0)
			break;
		if (!daemon_wait(d, left < DAEMON_WATCH_QUIET
					    ? left
					    : DAEMON_WATCH_QUIET))
			break;
		daemon_drain(d);
	}
}

static double
daemon_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* watch = yes: start the watcher once per configuration. */
static void
daemon_watch(struct daemon *d)
{
	struct err err;
	char buf[1400];
	int rc;

	if (!d->c.schedule.watch || d->watch_tried || d->paused)
		return;
	d->watch_tried = true;
	d->watch_start = LOCK_WATCH_NONE;
	err_clear(&err);
	rc = watcher_start(&d->watcher, &d->c, d->wake[1], &err);
	if (rc == 0)
		return;
	d->watch_start_at = daemon_wall_now();
	if (rc > 0) {
		d->watch_start = LOCK_WATCH_UNSUPPORTED;
		snprintf(d->watch_start_why, sizeof(d->watch_start_why),
			 "the %s source cannot follow changes",
			 d->c.source.type == SRC_LDIF ? "ldif" : "configured");
		return;
	}
	err_fmt(&err, buf, sizeof(buf));
	log_err("watch: %s; runs every %lds", buf, d->c.schedule.interval);
	d->watch_start = LOCK_WATCH_FAILED;
	snprintf(d->watch_start_why, sizeof(d->watch_start_why), "%.880s", buf);
}

/*
 * The watch's state into the lock file, when it changed, for `dirsync
 * status`, the status page and /metrics (found by a user trial: a watch
 * that gave up after invalid credentials left status OK until a run
 * failed, an interval later).  Called from the loop about once a
 * second; a failure to write is logged once per state.
 */
/*
 * The watcher stopped on invalid credentials: the daemon pauses as after
 * a run's (no run binds either), and the watch's state is kept for
 * daemon_watch_publish(), which status shows.
 */
static void
daemon_watch_check(struct daemon *d)
{
	double since = 0;
	char why[LOCK_NOTE_MSG] = "";

	if (d->watcher == NULL || d->paused ||
	    watcher_state(d->watcher, &since, why, sizeof(why)) !=
		    LOCK_WATCH_STOPPED)
		return;
	d->watch_start = LOCK_WATCH_STOPPED;
	d->watch_start_at = since;
	snprintf(d->watch_start_why, sizeof(d->watch_start_why), "%s", why);
	daemon_pause(d, NULL);
}

static void
daemon_watch_publish(struct daemon *d)
{
	enum lock_watch_state st = LOCK_WATCH_NONE;
	double since = 0;
	char why[LOCK_NOTE_MSG] = "";
	struct err err;
	char buf[1400];

	if (d->lockfd < 0)
		return;
	if (d->paused && d->paused_run == 0) {
		st = d->watch_start;
		since = d->watch_start_at;
		snprintf(why, sizeof(why), "%s", d->watch_start_why);
	} else if (!d->c.schedule.watch || d->paused) {
		st = LOCK_WATCH_NONE;   /* a pause is said as such */
	} else if (d->watcher != NULL) {
		st = watcher_state(d->watcher, &since, why, sizeof(why));
	} else if (d->watch_tried && d->watch_start != LOCK_WATCH_NONE) {
		st = d->watch_start;
		since = d->watch_start_at;
		snprintf(why, sizeof(why), "%s", d->watch_start_why);
	} else {
		/* not started yet: after the first run */
		st = LOCK_WATCH_STARTING;
		since = d->pub_ok && d->pub_state == st ? d->pub_since
							: daemon_wall_now();
	}
	if (d->pub_ok && st == d->pub_state && since == d->pub_since &&
	    strcmp(why, d->pub_why) == 0)
		return;
	err_clear(&err);
	if (lock_watch_write(d->lockfd, st, since, why, &err) != 0 &&
	    !(d->pub_state == st && !d->pub_ok))
		log_warn("daemon: %s", err_fmt(&err, buf, sizeof(buf)));
	d->pub_ok = err.code == DS_OK;
	d->pub_state = st;
	d->pub_since = since;
	snprintf(d->pub_why, sizeof(d->pub_why), "%s", why);
}

/*
 * The lock must stay on the file at the path: one deleted or replaced
 * (by an admin's rm, a cleanup job, a restore) guards nothing, and the
 * next `dirsync sync` would create a new one and run beside us.  So it
 * is taken again at once (lock_keep()), and the pid record written again
 * if it was emptied, so that `sync --now` finds us.  If another process
 * holds the new file, no sync runs: an error is logged each time a run
 * is due, and the status (systemd) says so, until the lock is ours
 * again.  due: a run is due now.  Returns whether we hold the lock.
 */
static bool
daemon_keep_lock(struct daemon *d, bool due)
{
	const char *path = d->c.state.path;
	struct err err;
	char buf[1400], msg[1500], st[1600];
	bool repaired;
	int rc;

	err_clear(&err);
	rc = lock_keep(path, &d->lockfd,
		       d->paused ? LOCK_ROLE_PAUSED : "daemon", &repaired,
		       &err);
	if (rc == 0 && repaired)
		log_warn("the lock file %s.lock no longer held the daemon's "
			 "pid (emptied or overwritten?): written again",
			 path);
	else if (rc == 1)
		log_warn("the lock file %s.lock was deleted or replaced: "
			 "locked again by the daemon (pid %ld)",
			 path, (long)getpid());
	if (rc == 1)
		d->pub_ok = false;   /* the watch's state went with the file */
	else if (rc < 0 && d->lockfd >= 0 && due)   /* not every second */
		log_warn("the lock file %s.lock: %s", path,
			 err_fmt(&err, buf, sizeof(buf)));
	if (d->lockfd >= 0) {
		if (d->lock_lost)
			daemon_sd_notify("STATUS=lock file taken again");
		d->lock_lost = false;
		return true;
	}
	if (!d->lock_lost || due) {
		snprintf(msg, sizeof(msg),
			 "the lock file %s.lock was deleted or replaced and "
			 "cannot be taken again: %s; no sync runs until the "
			 "daemon holds it",
			 path, err_fmt(&err, buf, sizeof(buf)));
		log_err("%s", msg);
		snprintf(st, sizeof(st), "STATUS=not syncing: %s", msg);
		daemon_sd_notify(st);
	}
	d->lock_lost = true;
	return false;
}

/* A run that is due, if the lock is still ours; else the next one is
 * scheduled (daemon_keep_lock() said why). */
static void
daemon_run_locked(struct daemon *d, const char *trigger)
{
	if (!daemon_keep_lock(d, true)) {
		d->next_run = clock_seconds() + daemon_wait_for(d);
		return;
	}
	daemon_run_once(d, trigger);
}

/*
 * Until SIGTERM: a reload, a run when due, asked for or announced by the
 * watcher, else a wait.  Paused after invalid credentials, nothing runs
 * until a reload.  A change announced during a run leaves a byte in the
 * pipe: one more run follows.
 */
static void
daemon_loop(struct daemon *d)
{
	char who[64];

	d->next_run = clock_seconds(); /* the first run at once */
	while (!daemon_stop) {
		if (daemon_reload) {
			daemon_reload = 0;
			daemon_do_reload(d);
			continue;
		}
		if (daemon_run_now && d->paused) {
			daemon_run_now = 0;
			log_warn("sync requested (SIGUSR1) but not run: %s "
				 "had invalid credentials; fix the password, "
				 "then reload (SIGHUP)",
				 paused_by(d, who, sizeof(who)));
			continue;
		}
		if (daemon_drain(d) && !d->paused) {
			if (d->limit_stop > 0) {
				if (!d->limit_stop_said)
					log_info("watch: changes announced "
						 "while run %lld waits at a "
						 "safety limit make no run "
						 "(each would stop the same); "
						 "the interval's runs read "
						 "them, or `dirsync approve "
						 "%lld`", d->limit_stop,
						 d->limit_stop);
				d->limit_stop_said = true;
			} else {
				daemon_gather(d);
				if (daemon_stop || daemon_reload)
					continue;
				daemon_run_now = 0;
				daemon_run_locked(d, "watch");
				continue;
			}
		}
		if (!d->paused &&
		    (daemon_run_now || clock_seconds() >= d->next_run)) {
			const char *trigger =
				daemon_run_now ? "request" : "interval";

			if (daemon_run_now)
				log_info("sync requested (SIGUSR1)");
			daemon_run_now = 0;
			daemon_run_locked(d, trigger);
			continue;
		}
		/* after the first run, failed or not, and again after a
		 * reload: each watch session takes the cookie the snapshot
		 * holds when it connects, so one that starts after a failed
		 * first run (the server down) watches from the last good
		 * read, and its reconnect when the server is back is
		 * answered with a run */
		if (d->runs > 0)
			daemon_watch(d);
		daemon_keep_lock(d, false);
		daemon_watch_check(d);
		daemon_watch_publish(d);
		daemon_wait(d, DAEMON_LOCK_CHECK);
	}
	watcher_stop(d->watcher);
	d->watcher = NULL;
	if (d->lockfd >= 0)
		(void)lock_watch_write(d->lockfd, LOCK_WATCH_NONE, 0, NULL,
				       NULL);
}

/*
 * Classic detach: fork, setsid, fork, stdio to /dev/null.  The working
 * directory is kept: relative paths in the config (LDIF, SQLite, state)
 * and a relative -c path keep meaning what they meant when started.
 */
static int
daemon_detach(void)
{
	pid_t pid;
	int fd;

	fflush(NULL);
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		return -1;
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1) {
		close(fd);
		return -1;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

static const char daemon_usage[] = "usage: dirsync [-c FILE] [-v] daemon [-f]";

static int
daemon_parse(int argc, char **argv, bool *foreground)
{
	static const struct option opts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (ch != 'f') {
			log_err("daemon: unknown option '%s'; %s",
				argv[optind - 1], daemon_usage);
			return 2;
		}
		*foreground = true;
	}
	if (optind < argc) {
		log_err("daemon: unexpected argument '%s'; %s", argv[optind],
			daemon_usage);
		return 2;
	}
	return 0;
}

int
cmd_daemon(const struct cli_globals *g, int argc, char **argv)
{
	struct daemon d;
	struct sigaction sa;
	struct err err;
	bool foreground = false, systemd;
	char buf[1400];
	int rc;

	memset(&d, 0, sizeof(d));
	d.lockfd = -1;
	d.wake[0] = d.wake[1] = -1;
	d.conf_path = g->conf_path;
	if ((rc = daemon_parse(argc, argv, &foreground)) != 0)
		return rc;
	if ((rc = cli_load_conf(g, &d.c)) != 0)
		return rc;
	cli_warn_root(&d.c);

	/* handlers first: a SIGUSR1 right after start must not kill us */
	/*
	 * SA_RESTART: a signal during a run must not fail the run's reads
	 * with EINTR (sync_run polls engine_stop_requested instead); ppoll()
	 * in the wait is never restarted, so the loop still wakes at once.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&d.blocked);
	sigaddset(&d.blocked, SIGUSR1);
	sigaddset(&d.blocked, SIGHUP);
	sigaddset(&d.blocked, SIGTERM);
	sigaddset(&d.blocked, SIGINT);
	sigprocmask(SIG_BLOCK, &d.blocked, &d.waitmask);
	sigdelset(&d.waitmask, SIGUSR1);
	sigdelset(&d.waitmask, SIGHUP);
	sigdelset(&d.waitmask, SIGTERM);
	sigdelset(&d.waitmask, SIGINT);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* refused here, on the terminal, before detaching */
	err_clear(&err);
	if (lock_acquire(d.c.state.path, &d.lockfd, &err) != 0) {
		log_err("daemon: %s", err_fmt(&err, buf, sizeof(buf)));
		rc = 1;
		goto done;
	}
	/* bound before detaching, so "address in use" reaches the terminal */
	if (web_open(&d.web, &d.c, &err) != 0) {
		log_err("daemon: %s", err_fmt(&err, buf, sizeof(buf)));
		rc = 1;
		goto done;
	}
	systemd = getenv("NOTIFY_SOCKET") != NULL;
	if (!foreground && !systemd && daemon_detach() == -1) {
		log_err("daemon: cannot detach: %s", strerror(errno));
		rc = 1;
		goto done;
	}
	/* run lines are info: shown in the foreground without -v too */
	log_init("dirsync", g->verbose > 1 ? g->verbose : 1, !foreground);
	if (lock_mark_daemon(d.lockfd, &err) != 0) {
		log_err("daemon: %s", err_fmt(&err, buf, sizeof(buf)));
		rc = 1;
		goto done;
	}
	if (web_start(d.web, daemon_web_sync, &err) != 0) {
		log_err("daemon: %s", err_fmt(&err, buf, sizeof(buf)));
		rc = 1;
		goto done;
	}
	progress_quiet(true);
	if (pipe2(d.wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_err("daemon: cannot make the wake-up pipe: %s",
			strerror(errno));
		rc = 1;
		goto done;
	}
	d.seed = ((unsigned long long)getpid() << 32) ^
		 (unsigned long long)time(NULL) ^ 0x9e3779b97f4a7c15ULL;
	log_info("daemon started (pid %ld, config %s, state %s, every %lds%s)",
		 (long)getpid(), d.conf_path, d.c.state.path,
		 d.c.schedule.interval,
		 d.c.schedule.watch ? ", watch = yes" : "");
	daemon_sd_notify("READY=1\nSTATUS=started");

	daemon_loop(&d);
	daemon_sd_notify("STOPPING=1\nSTATUS=stopping");
	log_info("daemon stopping after %lld runs", d.runs);
	rc = 0;
done:
	web_close(d.web);
	if (d.wake[0] != -1) {
		close(d.wake[0]);
		close(d.wake[1]);
	}
	lock_release(d.lockfd);
	conf_free(&d.c);
	return rc;
}

int
daemon_trigger(const struct conf *c)
{
	bool is_daemon = false, paused = false;
	pid_t pid = lock_holder_info(c->state.path, &is_daemon, &paused);

	if (pid <= 0 || !is_daemon)
		return -1;
	if (paused) {
		log_err("the dirsync daemon (pid %ld) stopped binding after "
			"invalid credentials and does not sync on request; "
			"fix the password, then reload it (systemctl reload "
			"dirsync or kill -HUP %ld)",
			(long)pid, (long)pid);
		return 1;
	}
	if (kill(pid, SIGUSR1) == -1) {
		log_warn("cannot signal the dirsync daemon (pid %ld): %s",
			 (long)pid, strerror(errno));
		return -1;
	}
	log_info("asked the dirsync daemon (pid %ld) to sync now",
		 (long)pid);
	return 0;
}

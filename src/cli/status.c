/*
 * `dirsync status [--max-age D] [--nagios]`: the last run, its age and
 * its result, read from the state database.
 *
 * Exit codes as SPEC has them: 0 ok, 1 failed or stale (anything not OK
 * below), 2 usage or configuration error.  With --nagios, as a
 * Nagios/Icinga check following the Monitoring Plugins Development
 * Guidelines (https://www.monitoring-plugins.org/doc/guidelines.html):
 * the exit code is the state, 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, and
 * usage and configuration errors are UNKNOWN (3), since 2 would page
 * someone as CRITICAL for a typo in the check's definition.  Either way
 * one line on stdout, "DIRSYNC STATE: text | perfdata".
 *
 *   OK        the last run finished with exit 0 (changes or none); a
 *             newer run a signal interrupted is named, not judged
 *             (struct status_scan)
 *   WARNING   the last run stopped at a safety limit (exit 3, nothing
 *             applied): it waits for an administrator; or the lock
 *             file's note is damaged (see below); or the lock file is
 *             missing although runs are recorded (deleted); or the
 *             daemon's watch is refused by the server, could not
 *             start, or has been lost longer than the interval
 *             (status_watch())
 *   CRITICAL  the last run failed (exit 1 or 2), or it ended longer ago
 *             than --max-age; a daemon waiting for a reload after
 *             invalid credentials is named with what to do; the last
 *             sync attempt failed and could not be recorded (below); the
 *             state database is damaged (SQLite: corrupt, not a
 *             database); its file system is mounted read-only, or full
 *             (status_read_full()); the lock file is unusable by the
 *             state database's owner, who runs the syncs
 *             (status_lock_check(); said first: it is newer than any
 *             note, which it keeps from being written); the daemon's
 *             watch stopped after invalid credentials (status_watch())
 *   UNKNOWN   no run recorded, state database or config unreadable for
 *             this check (permissions), bad usage
 *
 * Runs still under way are not in the history (state_history) and so do
 * not count: the last *finished* run is judged.  A run that failed and
 * could not be written to the history (a full disk, a damaged or
 * read-only state) leaves a note in the lock file (util/lock.h,
 * sync_note()): newer than the last recorded run, it is the last run,
 * CRITICAL, named with its time, exit code and error, until a run is
 * recorded again.  CRITICAL, not WARNING: it is a failed run, as one in
 * the history is, and every later run fails the same way until someone
 * acts.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "state/outcome.h"
#include "state/state.h"
#include "util/lock.h"
#include "util/fsro.h"
#include "util/log.h"
#include "util/user.h"
#include "util/xalloc.h"

enum { ST_OK = 0, ST_WARNING = 1, ST_CRITICAL = 2, ST_UNKNOWN = 3 };

static const char *const st_names[] = {"OK", "WARNING", "CRITICAL",
				       "UNKNOWN"};
/* run_outcome_severity() 0, 1, 2 */
static const int st_of_severity[] = {ST_OK, ST_WARNING, ST_CRITICAL};

/* What the scan of the history keeps: the newest run and the newest
 * successful one (strings copied: the callback's are borrowed), and the
 * newest run a signal interrupted if it is newer than both.  An
 * interrupted run (a daemon stopped or restarted mid-run) is not judged:
 * the next run redoes it, and the run before it says how syncs go; a
 * daemon that never gets to finish a run goes stale (--max-age). */
struct status_scan {
	bool have_last, have_ok, have_intr;
	struct run_row last, ok, intr;
	char last_started[32], ok_started[32], intr_started[32];
	char last_limit[40], ok_limit[40], intr_limit[40];
};

/*
 * *dst = *r, with its start time copied into buf and its limit's name
 * into lim (40 bytes; r's strings are borrowed).
 */
static void
status_keep(struct run_row *dst, char *buf, size_t len, char *lim,
	    const struct run_row *r)
{
	*dst = *r;
	snprintf(buf, len, "%s", r->started ? r->started : "");
	dst->started = buf;
	dst->mode = NULL;
	dst->read_mode = dst->trigger = NULL;
	snprintf(lim, 40, "%s", r->limit ? r->limit : "");
	dst->limit = r->limit ? lim : NULL;
}

static int
status_on_run(void *ctx, const struct run_row *r)
{
	struct status_scan *s = ctx;

	if (r->s.interrupted) {
		if (!s->have_last && !s->have_intr) {
			s->have_intr = true;
			status_keep(&s->intr, s->intr_started,
				    sizeof(s->intr_started), s->intr_limit, r);
		}
		return 0;
	}
	if (!s->have_last) {
		s->have_last = true;
		status_keep(&s->last, s->last_started,
			    sizeof(s->last_started), s->last_limit, r);
	}
	if (r->s.exit_code == 0) {
		s->have_ok = true;
		status_keep(&s->ok, s->ok_started, sizeof(s->ok_started),
			    s->ok_limit, r);
		return 1; /* both found: stop */
	}
	return 0;
}

/* When a run ended, in Unix seconds: started ("%Y-%m-%dT%H:%M:%SZ",
 * UTC) plus its duration; -1 if started does not parse. */
static double
status_ended(const struct run_row *r)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = r->started ? strptime(r->started, "%Y-%m-%dT%H:%M:%SZ", &tm)
			 : NULL;
	if (end == NULL || *end != '\0')
		return -1;
	return (double)timegm(&tm) + r->s.seconds;
}

/* "42s", "5m", "3h 20m", "2d 4h": an age for people. */
static void
status_fmt_age(long secs, char *buf, size_t n)
{
	if (secs < 60)
		snprintf(buf, n, "%lds", secs);
	else if (secs < 3600)
		snprintf(buf, n, "%ldm", secs / 60);
	else if (secs < 86400)
		snprintf(buf, n, "%ldh %ldm", secs / 3600, secs % 3600 / 60);
	else
		snprintf(buf, n, "%ldd %ldh", secs / 86400,
			 secs % 86400 / 3600);
}

static const char *
status_result(const struct run_row *r)
{
	return run_outcome_text(run_outcome(&r->s));
}

static int status_line(int state, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "DIRSYNC STATE: text", one line; returns state. */
static int
status_line(int state, const char *fmt, ...)
{
	va_list ap;

	printf("DIRSYNC %s: ", st_names[state]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return state;
}

#define status_unknown(...) status_line(ST_UNKNOWN, __VA_ARGS__)

/* "run N was interrupted by a signal AGE ago (...)", or "". */
static void
status_intr_text(const struct status_scan *s, time_t now, char *buf,
		 size_t n)
{
	double ended = s->have_intr ? status_ended(&s->intr) : -1;
	char ab[32];

	buf[0] = '\0';
	if (ended < 0)
		return;
	status_fmt_age(ended > (double)now ? 0 : (long)((double)now - ended),
		       ab, sizeof(ab));
	snprintf(buf, n,
		 "run %lld was interrupted by a signal %s ago (%s; the next "
		 "run does it again)",
		 s->intr.id, ab,
		 s->intr.s.applied ? "some of its changes were applied"
				   : "nothing applied");
}

/* "; last success: run N, AGE ago" for a run that did not succeed. */
static void
status_last_ok(const struct status_scan *s, time_t now, char *buf, size_t n)
{
	double ended = s->have_ok ? status_ended(&s->ok) : -1;
	char ab[32];

	if (ended < 0) {
		snprintf(buf, n, "; no successful run kept in the history");
		return;
	}
	status_fmt_age(ended > (double)now ? 0 : (long)((double)now - ended),
		       ab, sizeof(ab));
	snprintf(buf, n, "; last success: run %lld, %s ago", s->ok.id, ab);
}

/* The worse of two states: CRITICAL > WARNING > UNKNOWN > OK (the
 * Monitoring Plugins' max_state_alt). */
static int
status_worse(int a, int b)
{
	static const int rank[] = {0, 2, 3, 1};

	return rank[a] >= rank[b] ? a : b;
}

/* What is known besides the history: raises the state, adds text. */
struct status_extra {
	int state;                 /* ST_OK: nothing */
	char text[1400];           /* "; ..." clauses */
	bool have_note;            /* an unrecorded run newer than the
				    * last recorded one */
	struct lock_note note;
	/* what keeps every sync from starting now (the lock file unusable):
	 * said first, before a note of an older failure ("...; ") */
	char first[1000];
	bool lock_missing;         /* no lock file (deleted?) */
	bool full;                 /* the state's file system is full */
};

static void status_add(struct status_extra *x, int state, const char *fmt,
		       ...) __attribute__((format(printf, 3, 4)));

/* fmt appended to buf (size bytes); state into x's worst. */
static void
status_vadd(struct status_extra *x, int state, char *buf, size_t size,
	    const char *fmt, va_list ap)
{
	size_t len = strlen(buf);

	x->state = status_worse(x->state, state);
	vsnprintf(buf + len, size - len, fmt, ap);
}

static void
status_add(struct status_extra *x, int state, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_vadd(x, state, x->text, sizeof(x->text), fmt, ap);
	va_end(ap);
}

static void status_first(struct status_extra *x, int state,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like status_add(), into x->first: said before anything else. */
static void
status_first(struct status_extra *x, int state, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	status_vadd(x, state, x->first, sizeof(x->first), fmt, ap);
	va_end(ap);
	len = strlen(x->first);
	snprintf(x->first + len, sizeof(x->first) - len, "; ");
}

/*
 * Whether uid (primary group gid, and its supplementary groups from the
 * group database) may access sb as want says (4 read, 2 write, 1
 * search), by the permission bits alone: ACLs are not read.  Root may.
 */
static bool
status_may(const struct stat *sb, uid_t uid, gid_t gid, int want)
{
	struct passwd *pw;
	gid_t groups[256];
	int ngroups = 256, i, bits;
	bool member = sb->st_gid == gid;

	if (uid == 0)
		return true;
	pw = getpwuid(uid);
	if (!member && pw != NULL &&
	    getgrouplist(pw->pw_name, gid, groups, &ngroups) != -1)
		for (i = 0; i < ngroups && !member; i++)
			member = groups[i] == sb->st_gid;
	if (sb->st_uid == uid)
		bits = (int)(sb->st_mode >> 6) & 7;
	else if (member)
		bits = (int)(sb->st_mode >> 3) & 7;
	else
		bits = (int)sb->st_mode & 7;
	return (bits & want) == want;
}

/*
 * Can a sync use the lock file?  Syncs run as the user that owns the
 * state database (they write it); this check may run as another (root,
 * or a monitoring user), so it judges by owners and modes.  A lock file
 * that user cannot open read-write, or a missing one in a directory that
 * user cannot write, makes every sync fail before it starts: nothing is
 * recorded and no note is left, so the history alone would say OK.
 */
static void
status_lock_check(const char *path, struct status_extra *x)
{
	char *lock = xasprintf("%s.lock", path), *dcopy = xstrdup(path);
	char owner[96], user[96];
	struct stat db, lk, ds;
	const char *dir;

	if (stat(path, &db) != 0)
		goto done;   /* the history read says why */
	user_name(db.st_uid, user, sizeof(user));
	if (lstat(lock, &lk) == 0) {
		if (!status_may(&lk, db.st_uid, db.st_gid, 6))
			status_first(x, ST_CRITICAL,
				     "the lock file %s (owner %s, mode %04o) "
				     "cannot be opened for writing by %s, who "
				     "owns the state database %s: every sync "
				     "as that user fails before it starts and "
				     "records nothing (chown the lock file to "
				     "that user, or remove it)",
				     lock, user_name(lk.st_uid, owner,
						       sizeof(owner)),
				     (unsigned)(lk.st_mode & 07777), user, path);
	} else if (errno == ENOENT) {
		dir = dirname(dcopy);
		if (stat(dir, &ds) == 0 &&
		    !status_may(&ds, db.st_uid, db.st_gid, 3))
			status_first(x, ST_CRITICAL,
				     "the lock file %s is missing and its "
				     "directory %s (owner %s, mode %04o) is not "
				     "writable by %s, who owns the state "
				     "database: every sync as that user fails "
				     "to create it and records nothing",
				     lock, dir,
				     user_name(ds.st_uid, owner,
						 sizeof(owner)),
				     (unsigned)(ds.st_mode & 07777), user);
		else
			x->lock_missing = true;
	}
done:
	free(dcopy);
	free(lock);
}

/* "the last sync attempt ...": the note of a run not in the history. */
static void
status_note_text(const struct lock_note *n, time_t now, char *buf,
		 size_t len)
{
	time_t t = (time_t)n->when;
	char when[32], ab[32];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	status_fmt_age(n->when > (double)now ? 0
					     : (long)((double)now - n->when),
		       ab, sizeof(ab));
	snprintf(buf, len,
		 "last sync attempt failed and could not be recorded in the "
		 "state database, %s ago (ended %s, exit %d): %s",
		 ab, when, n->exit_code, n->msg);
}

/*
 * x: what the lock file and the file system add (a daemon paused after
 * invalid credentials, which makes no more runs: the last run stays the
 * failed one, and the reason is what an administrator must act on; an
 * unrecorded failure, which comes first).
 */
static int
status_report(const struct status_scan *s, long max_age, time_t now,
	      const struct status_extra *x)
{
	const struct run_row *r = &s->last;
	double ended = status_ended(r);
	bool stale;
	long age;
	char agebuf[32], maxbuf[64] = "", okbuf[96] = "", crit[32] = "";
	char lead[1200] = "", intr[160], heldbuf[160] = "", heldperf[32] = "";
	long planned = r->s.adds + r->s.updates + r->s.disables +
		       r->s.deletes;
	int state;

	if (ended < 0)
		return status_unknown("run %s has no readable start time",
				      r->started);
	status_intr_text(s, now, intr, sizeof(intr));
	/* a clock stepped back makes a run look new, never stale */
	age = ended > (double)now ? 0 : (long)((double)now - ended);
	stale = max_age > 0 && age > max_age;
	status_fmt_age(age, agebuf, sizeof(agebuf));
	state = st_of_severity[run_outcome_severity(run_outcome(&r->s))];
	/* ...but is said to be in the future: a daemon that stopped after
	 * the clock was put right must not look fresh for the hours it
	 * was ahead (a user trial) */
	if (ended > (double)now + 60 && !x->have_note) {
		char fb[32];

		status_fmt_age((long)(ended - (double)now), fb, sizeof(fb));
		snprintf(lead, sizeof(lead), "the last run is recorded as "
			 "ending %s in the future (its clock was ahead, or "
			 "this one is behind): its age cannot be judged", fb);
		state = status_worse(state, ST_WARNING);
	}
	if (stale) {
		char mb[32];

		state = ST_CRITICAL;
		status_fmt_age(max_age, mb, sizeof(mb));
		snprintf(maxbuf, sizeof(maxbuf), "; older than --max-age %s",
			 mb);
	}
	if (r->s.exit_code != 0)
		status_last_ok(s, now, okbuf, sizeof(okbuf));
	/* hold_removals: how many wait, beside what was applied (a user
	 * trial: WARNING, and no number of them anywhere) */
	if (r->s.held && r->limit != NULL) {
		snprintf(heldbuf, sizeof(heldbuf), ", %lld disables and "
			 "deletes held back (%s)", r->limit_planned,
			 r->limit);
		snprintf(heldperf, sizeof(heldperf), " held=%lld",
			 r->limit_planned);
	}
	if (max_age > 0)
		snprintf(crit, sizeof(crit), ";;%ld", max_age);
	if (x->have_note) {
		status_note_text(&x->note, now, lead, sizeof(lead));
		state = ST_CRITICAL;
	}
	state = status_worse(state, x->state);
	/* changes= what went into the mail system (0 for a run that
	 * applied nothing), planned= the run's plan */
	printf("DIRSYNC %s: %s%s%s%s%slast %s%srun %lld %s, %s ago (started "
	       "%s, took %.1fs, exit %d): +%ld ~%ld !%ld -%ld%s%s, %ld "
	       "conflicts, %ld errors%s%s%s | age=%lds%s seconds=%.3fs "
	       "changes=%ld conflicts=%ld errors=%ld planned=%ld%s\n",
	       st_names[state], x->first, lead, lead[0] != '\0' ? "; " : "",
	       intr, intr[0] != '\0' ? "; " : "",
	       x->have_note ? "recorded " : "",
	       intr[0] != '\0' ? "finished " : "", r->id, status_result(r),
	       agebuf, r->started,
	       r->s.seconds, r->s.exit_code, r->s.adds, r->s.updates,
	       r->s.disables, r->s.deletes, run_counts_note(&r->s), heldbuf,
	       r->s.conflicts, r->s.errors,
	       maxbuf, okbuf, x->text, age, crit, r->s.seconds,
	       run_counts_applied(&r->s) == RUN_COUNTS_NONE ? 0 : planned,
	       r->s.conflicts, r->s.errors, planned, heldperf);
	return state;
}

/*
 * The daemon's watch ([schedule] watch = yes), as the daemon wrote it
 * into the lock file: a watch that gave up is said at once, not an
 * interval later when a run fails (found by a user trial).  CRITICAL:
 * stopped after invalid credentials (the runs bind with the same ones);
 * WARNING: the server refuses to be watched, the watcher could not
 * start, or the connection has been lost for longer than the interval
 * (the watcher retries at least that often).  Watching, starting, a
 * loss being retried and a source that cannot watch add nothing or a
 * clause without changing the state.
 */
static void
status_watch(const char *path, long interval, struct status_extra *x)
{
	struct lock_watch w;
	time_t now = time(NULL);
	char ab[32];

	if (!lock_watch_current(path, &w))
		return;
	status_fmt_age(w.since > (double)now ? 0
					     : (long)((double)now - w.since),
		       ab, sizeof(ab));
	switch (w.state) {
	case LOCK_WATCH_STOPPED:
		status_add(x, ST_CRITICAL,
			   "; watch stopped %s ago: %s; the daemon neither "
			   "watches nor runs (a run would bind with the same "
			   "credentials) until its configuration is reloaded",
			   ab, w.msg);
		break;
	case LOCK_WATCH_REFUSED:
		status_add(x, ST_WARNING,
			   "; not watching for %s: %s; changes wait for the "
			   "runs every %lds (the daemon asks the server again "
			   "hourly)",
			   ab, w.msg, interval);
		break;
	case LOCK_WATCH_FAILED:
		status_add(x, ST_WARNING,
			   "; not watching for %s: %s; changes wait for the "
			   "runs every %lds",
			   ab, w.msg, interval);
		break;
	case LOCK_WATCH_LOST:
		status_add(x, now - w.since > (double)interval ? ST_WARNING
							       : ST_OK,
			   "; watch connection lost %s ago, reconnecting: %s",
			   ab, w.msg);
		break;
	case LOCK_WATCH_UNSUPPORTED:
		status_add(x, ST_OK, "; watch = yes, but %s", w.msg);
		break;
	default:
		break;
	}
}

/*
 * What the lock file and the file system tell, read before the history:
 * an unrecorded run's note (x->have_note: to be judged against the last
 * recorded run), a damaged note, a paused daemon, a read-only file
 * system under the state.
 */
static void
status_gather(const char *path, long interval, struct status_extra *x)
{
	bool is_daemon, paused;
	struct err err;
	char buf[1400];
	pid_t pid;
	int nrc;

	memset(x, 0, sizeof(*x));
	status_lock_check(path, x);
	err_clear(&err);
	nrc = lock_note_read(path, &x->note, &err);
	x->have_note = nrc == LOCK_NOTE_FOUND;
	if (nrc == LOCK_NOTE_TORN)
		status_add(x, ST_WARNING,
			   "; the lock file %s.lock holds a damaged note of a "
			   "run that could not be recorded (a write cut "
			   "short?): the last sync attempt may have failed; a "
			   "run recorded again clears it",
			   path);
	else if (nrc < 0)
		status_add(x, ST_UNKNOWN,
			   "; %s: cannot tell whether the last sync attempt "
			   "failed unrecorded",
			   err_fmt(&err, buf, sizeof(buf)));
	if (fs_readonly(path))
		status_add(x, ST_CRITICAL,
			   "; the file system holding %s is mounted read-only "
			   "(as this check sees it): no sync can take the lock "
			   "or record a run",
			   path);
	pid = lock_holder_info(path, &is_daemon, &paused);
	if (pid > 0 && paused)
		status_add(x, ST_OK,
			   "; the daemon (pid %ld) stopped binding after "
			   "invalid credentials: fix the password, then reload "
			   "it (systemctl reload dirsync or kill -HUP %ld)",
			   (long)pid, (long)pid);
	status_watch(path, interval, x);
}

/* No run in the history (none yet, or none finished). */
static int
status_no_run(const char *path, const struct status_scan *s,
	      const struct status_extra *x, time_t now)
{
	char lead[1200], intr[160];

	status_intr_text(s, now, intr, sizeof(intr));
	if (!x->have_note && intr[0] != '\0')
		return status_line(status_worse(ST_UNKNOWN, x->state),
				   "%sno run has finished yet in %s: %s%s",
				   x->first, path, intr, x->text);
	if (!x->have_note)
		return status_line(status_worse(ST_UNKNOWN, x->state),
				   "%sno run recorded yet in %s%s", x->first,
				   path, x->text);
	status_note_text(&x->note, now, lead, sizeof(lead));
	return status_line(status_worse(ST_CRITICAL, x->state),
			   "%s%s; no run recorded in %s%s", x->first, lead,
			   path, x->text);
}

/*
 * The history cannot be read.  A damaged file (SQLite: corrupt, not a
 * database) is CRITICAL: syncs fail on it, or cannot record their runs.
 * Anything else (permissions, above all) is this check's own problem:
 * UNKNOWN, as the Monitoring Plugins guidelines have it, unless the lock
 * file says the last run failed.
 */
static int
status_unreadable(const char *path, const struct err *err,
		  const struct status_extra *x, time_t now)
{
	int sqlite_rc = err->code == DS_E_STATE ? (int)(err->lib_rc & 0xff)
						: 0;
	char lead[1200], buf[1400];

	err_fmt(err, buf, sizeof(buf));
	if (x->have_note) {
		status_note_text(&x->note, now, lead, sizeof(lead));
		return status_line(status_worse(ST_CRITICAL, x->state),
				   "%s%s; and the state database cannot be read: "
				   "%s%s",
				   x->first, lead, buf, x->text);
	}
	if (x->full)
		return status_line(status_worse(ST_CRITICAL, x->state),
				   "%scannot read the state database: its file "
				   "system is full: %s; syncs cannot record "
				   "their runs either%s",
				   x->first, buf, x->text);
	if (sqlite_rc == SQLITE_CORRUPT || sqlite_rc == SQLITE_NOTADB)
		return status_line(status_worse(ST_CRITICAL, x->state),
				   "%sthe state database is damaged: %s; syncs "
				   "fail on it or cannot record their runs "
				   "(`dirsync rebuild-state` starts a new one, "
				   "dirsync(8))%s",
				   x->first, buf, x->text);
	return status_line(status_worse(ST_UNKNOWN, x->state), "%s%s%s",
			   x->first, buf, x->text);
}

/*
 * The history could not be read and the state's file system is full: a
 * read of a WAL database writes its -shm file, which needs a block.
 * With the WAL empty (every run checkpointed), the database file alone
 * holds the whole history: it is read as SQLite's immutable file
 * (state_open_file_only()), and the full disk is CRITICAL (no sync can
 * record its run).  0: read into *scan; -1: still unreadable (x->full
 * says whether the disk is why).
 */
static int
status_read_full(const char *path, struct status_scan *scan,
		 struct status_extra *x, struct err *err)
{
	int sqlite_rc = err->code == DS_E_STATE ? (int)(err->lib_rc & 0xff)
						: 0;
	char *dir = xstrdup(path), *wal = xasprintf("%s-wal", path);
	struct statvfs vfs;
	struct state *st = NULL;
	struct stat sb;
	struct err e2;
	int rc = -1;

	if (sqlite_rc != SQLITE_IOERR && sqlite_rc != SQLITE_FULL &&
	    sqlite_rc != SQLITE_CANTOPEN)
		goto done;
	x->full = statvfs(dirname(dir), &vfs) == 0 &&
		  (vfs.f_bavail == 0 || vfs.f_favail == 0);
	/* a WAL with frames holds runs the file alone does not */
	if (!x->full || (stat(wal, &sb) == 0 && sb.st_size > 0))
		goto done;
	err_clear(&e2);
	memset(scan, 0, sizeof(*scan));
	if (state_open_file_only(&st, path, &e2) != 0 ||
	    state_history(st, 0, status_on_run, scan, &e2) != 0)
		goto done;
	status_add(x, ST_CRITICAL,
		   "; the file system holding %s is full: syncs cannot take "
		   "the lock or record their runs (history read from the "
		   "database file alone)",
		   path);
	rc = 0;
done:
	state_close(st);
	free(wal);
	free(dir);
	return rc;
}

static const char status_usage[] =
	"usage: dirsync [-c FILE] status [--max-age D] [--nagios]";

/* The exit code: SPEC's (0 ok, 1 not ok, 2 usage), or the state itself
 * for a monitoring plugin. */
static int
status_exit(int state, bool nagios, bool usage)
{
	if (nagios)
		return state;
	if (usage)
		return 2;
	return state == ST_OK ? 0 : 1;
}

int
cmd_status(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"max-age", required_argument, NULL, 'a'},
		{"nagios", no_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	bool nagios = false;
	struct status_extra x;
	struct status_scan scan;
	struct state *st = NULL;
	struct conf c;
	struct err err;
	char buf[1400];
	long max_age = 0;
	int ch, rc;

	optind = 0;
	opterr = 0;
	for (ch = 1; ch < argc; ch++)   /* before any message is judged */
		if (strcmp(argv[ch], "--nagios") == 0)
			nagios = true;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'n')
			continue;
		if (ch == 'a' && conf_parse_duration(optarg, &max_age) == 0 &&
		    max_age > 0)
			continue;
		if (ch == 'a')
			return status_exit(
				status_unknown("--max-age wants a duration "
					       "like 15m, 2h or 1d, not '%s'",
					       optarg),
				nagios, true);
		return status_exit(status_unknown("%s", status_usage), nagios,
				   true);
	}
	if (optind < argc)
		return status_exit(status_unknown("%s", status_usage), nagios,
				   true);
	err_clear(&err);
	if (conf_load(&c, g->conf_path, &err) != 0) {
		conf_free(&c);
		return status_exit(status_unknown("%s", err_fmt(&err, buf,
								sizeof(buf))),
				   nagios, true);
	}
	memset(&scan, 0, sizeof(scan));
	status_gather(c.state.path, c.schedule.interval, &x);
	if ((state_open(&st, c.state.path, true, &err) != 0 ||
	     state_history(st, 0, status_on_run, &scan, &err) != 0) &&
	    status_read_full(c.state.path, &scan, &x, &err) != 0) {
		rc = status_unreadable(c.state.path, &err, &x, time(NULL));
	} else if (!scan.have_last) {
		rc = status_no_run(c.state.path, &scan, &x, time(NULL));
	} else {
		/* a note older than the last recorded run: a clear that
		 * failed, or a dirsync that does not clear notes */
		if (x.note.when <= status_ended(&scan.last))
			x.have_note = false;
		if (x.lock_missing)
			status_add(&x, ST_WARNING,
				   "; the lock file %s.lock is missing although "
				   "runs were recorded (deleted?): a sync or "
				   "the daemon creates it again; until then a "
				   "failure that cannot be recorded leaves no "
				   "note for this check",
				   c.state.path);
		rc = status_report(&scan, max_age, time(NULL), &x);
	}
	state_close(st);
	conf_free(&c);
	return status_exit(rc, nagios, false);
}

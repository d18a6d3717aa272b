/*
 * engine.h - one run of the pipeline, and its typed result.
 *
 *   read -> rules -> target load -> managed set -> plan -> limits ->
 *   apply -> record
 *
 * The engine drives a source (source/source.h) and a target
 * (target/target.h) through their ops tables; it is the only caller of
 * the planner and of a target.  The commands (cli/) parse options, call
 * engine_run() or engine_inspect(), and print.
 *
 * Everything a run produced is in struct run_result: the JSON report, the
 * text report, the notification mail, the daemon's log line and the
 * state's run summary are all built from it (run_counts() for numbers).
 */
#ifndef DS_ENGINE_H
#define DS_ENGINE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "model/mail.h"
#include "model/managed.h"
#include "plan/plan.h"
#include "rules/rules.h"
#include "source/source.h"
#include "target/target.h"
#include "util/err.h"

/*
 * Set from a signal handler (SIGTERM) to stop a run: checked while
 * reading and between applied changes; a transactional apply in progress
 * is rolled back, a per-object one stops after the object in flight.
 */
extern volatile sig_atomic_t engine_stop_requested;

/*
 * A password hash the sync wrote from passwd-hook's queue just before the
 * run (passwd/pwdeliver.h): the run's report lists it as a change of kind
 * "password", op "update", counted as an update that was applied, so
 * that a run that delivered one is never a run without changes (also on
 * the fast path).  Never the hash.  Strings owned by whoever owns the
 * array (pw_deliver_result).
 */
struct engine_password {
	char *address;   /* the mailbox */
	char *account;   /* the directory account the hook was called for */
	char *anchor;
};

struct engine_opts {
	const char *mode;     /* "plan", "dry-run" or "sync", for reports */
	bool readonly;        /* plan, dry run: nothing written or recorded */
	bool force_limits;    /* apply past a forceable safety limit */
	/*
	 * `dirsync approve`: the run whose kept plan (report_plan_text) is
	 * approve_plan.  The plan is applied past its limit only if it is
	 * still exactly that plan; otherwise nothing is applied (exit 3) and
	 * run_result.drift says what differs.
	 */
	long long approve_run;
	const char *approve_plan;
	/*
	 * The approved run held only its disables and deletes back
	 * (hold_removals), and approve_plan is those: the plan matches when
	 * it still has every line of approve_plan and what it has beyond
	 * them is no disable or delete (what hold_removals applies anyway:
	 * a new hire, an object that failed in that run).  Those other
	 * changes must be within their own limits.
	 */
	bool approve_held;
	/*
	 * rebuild-state on a target that lost its record of ownership: the
	 * plan is made with adopt = yes and only its adoptions are kept,
	 * without their row changes: rows at the address of a desired object
	 * are recorded as that object's, nothing else is written.
	 */
	bool readopt;
	/*
	 * `plan/sync --handover ADDRESS` (repeatable; borrowed for the
	 * call): the mailbox at each address, dirsync's for another
	 * directory object that no longer claims it (a deleted and
	 * re-created account's old one), goes with its mail to the object
	 * that claims the address now (plan_input.handover).  The run
	 * compares the whole target (as with full).
	 */
	const char *const *handover;
	size_t nhandover;
	/* a full read, even if an incremental one is possible, and a
	 * compare of the whole target even when the fast path could skip
	 * it (sync --full) */
	bool full;
	/* with full: why, for the log and the report's fallback_reason
	 * (static string); NULL: "--full" */
	const char *full_why;
	bool quiet;           /* stage timings at debug, not info (daemon) */
	/* the daemon's reason for the run, for the report's "trigger"
	 * ("interval", "request", "watch"); NULL: a command's run */
	const char *trigger;
	/* Changes kept in the stored and mailed report (stdout gets all). */
	size_t report_max_changes;
	/* stdout gets the JSON report (warnings the text report would carry
	 * go to stderr then) */
	bool render_json;
	/* the queued password hashes written just before this run (borrowed
	 * for the call; NULL: none) */
	const struct engine_password *passwords;
	size_t npasswords;
	/* NULL: the ones the config names; tests set the in-memory ones */
	const struct source_ops *source_ops;
	const struct target_ops *target_ops;
};

/* The numbers of a run, counted once (never read back from JSON). */
struct run_counts {
	long add, update, disable, delete;  /* planned changes, by op */
	long conflict;                      /* rules' and planner's */
	long error;
	/* per-object targets: changes that landed, failed, were not tried */
	long applied, failed, skipped;
};

struct run_result {
	long long run_id;          /* 0: not recorded (plan, dry run) */
	const char *mode;
	const char *trigger;       /* engine_opts.trigger */
	char started[32];          /* ISO 8601 UTC */
	double seconds;
	struct source_info info;   /* info.server: what was read */
	size_t read;               /* entries the rules got (the whole
				    * directory, also when read
				    * incrementally) */
	/* how the directory was read: "full" or "incremental"; entries
	 * the server sent (incremental: the changed ones) and, for an
	 * incremental read, how many entries went; why a read that could
	 * have been incremental was full ("" when it was not) */
	const char *read_mode;
	size_t read_entries, read_deleted;
	char fallback_reason[320];
	/* the snapshot of an incremental read could not be written (its
	 * state disk full, read-only...): the report's warnings say so,
	 * the changes were applied all the same ("" when written) */
	char snapshot_warning[400];
	/* the time guard held deletes back, the clock reading earlier than
	 * the last run (engine/timeguard.c); "" when it did not */
	char guard_warning[320];
	bool have_rules, have_plan;
	struct rules_result rules; /* valid when have_rules */
	struct plan plan;          /* valid when have_plan */
	/* what the target held and which of it was dirsync's; the plan's
	 * changes point into these, the rules' desired set and the plan */
	struct mset current;
	struct managed managed;
	bool applied;              /* some change reached the target */
	/* engine_opts.passwords: written ahead of the run (borrowed from
	 * the caller's engine_opts, valid while the report is built) */
	const struct engine_password *passwords;
	size_t npasswords;
	/* engine_stop_requested ended the run (exit 1): err says so, not
	 * what the interrupted call made of the signal (libldap's EINTR is
	 * "Can't contact LDAP server") */
	bool interrupted;
	/* nothing changed since the last verified run: the target load and
	 * the plan were skipped (engine/fastpath.c); the plan is empty */
	bool fast_path;
	/* an incremental read with nothing changed: the snapshot and the
	 * rules were skipped too; counts, warnings and conflicts are those
	 * the rules gave last time (engine/shortcut.c) */
	bool rules_skipped;
	/* an incremental read whose rules ran over what the delta touched
	 * (engine/rdelta.c): rules_entries entries re-derived, twice */
	bool rules_delta;
	size_t rules_entries;
	/* which compare ran: "full", "partial" (only the objects the digest
	 * says changed were loaded and planned: compare_addresses of
	 * them), NULL when none did (fast path, or the run stopped before) */
	const char *compare;
	size_t compare_addresses;
	bool per_object;           /* the target applies object by object */
	struct limit_hit limit;    /* limit == NULL: none */
	struct limit_hit forced;   /* what --force-limits overrode; limit ==
				    * NULL: nothing */
	long long approved_run;    /* forced by approving this run's plan */
	/* [safety] hold_removals: the disables and deletes over a removal
	 * limit (limit) were held back, the rest of the plan applied */
	bool held;
	char *drift;               /* approve: how the plan differs (owned) */
	/* the plan's changes rendered during the apply (report_render_start);
	 * for report_build, the history and report_print_json, freed by
	 * run_result_free */
	struct report_render *render;
	struct err err;            /* the run's error; DS_OK: none */
	struct err *obj_errors;    /* per-object failures (malloc'd) */
	size_t nobj_errors;
	/* changes a per-object target skipped (apply() returned 1): the
	 * object and why; counted in counts.skipped, reported as warnings */
	struct err *skips;
	size_t nskips;
	struct run_counts counts;
	/* a real run's row in the history is complete (state_run_finish()
	 * succeeded); false for plan and dry runs, and for a run whose state
	 * could not be opened or written: record_err then says why when
	 * err does not (err stays the run's own failure) */
	bool recorded;
	struct err record_err;
	int exit_code;             /* 0, 1 runtime, 2 config, 3 limit */
	json_t *report;            /* SPEC's JSON report (owned) */
};

/*
 * One run.  The caller holds the state lock for a real sync.  Fills *r
 * (run_result_free() it afterwards, whatever the outcome) and returns
 * r->exit_code.  Errors are in r->err (and the report), not logged.
 */
/*
 * The filter of an incremental read (read.c) for the effective filter:
 * it or a container (an OU renamed or moved changes the DNs under it),
 * so that the daemon's watch (cli/watch.c) is woken by what a run would
 * read.  ad: Active Directory's container classes.  malloc'd.
 */
char *engine_sync_filter(const char *filter, bool ad);

int engine_run(const struct conf *c, const struct engine_opts *o,
	       struct run_result *r);
void run_result_free(struct run_result *r);
/*
 * A run that failed before engine_run() could start (the state's lock
 * held by another run, say): *r filled as engine_run() fills a failed
 * one, with err and its exit code, and r->report built, so that
 * `--json` still prints a report with the error.  run_result_free() it.
 */
void engine_run_refused(const struct engine_opts *o, const struct err *err,
			struct run_result *r);

/* Counts of a result's plan, conflicts and errors. */
struct run_counts run_counts(const struct run_result *r);

/* What `dirsync test` shows: read, rules and target, nothing changed. */
struct inspect {
	struct source_info info;
	const char *filter;        /* the effective filter (static or conf) */
	size_t read;
	bool read_done, have_rules, have_target;
	struct rules_result rules;
	struct mset current;       /* what the target holds */
	const char *stage;         /* failed: "source", "rules", "read", "target" */
	struct err err;
	/* whether runs can read only what changed: "yes (...)" or
	 * "no: why" (a content sync asked for nothing; "" when the read
	 * failed before) */
	char incremental[400];
};

/*
 * Runs the read, the rules and a read-only target load.  0, or -1 with
 * i->stage and i->err saying what failed; i is filled as far as it got.
 * inspect_free() it in both cases.
 */
int engine_inspect(const struct conf *c, struct inspect *i);
void inspect_free(struct inspect *i);

/* What `dirsync rebuild-state` did. */
struct rebuild {
	size_t owned;          /* objects the target records as dirsync's */
	bool had_state;        /* an old state database was there */
	long runs;             /* runs in its history (not rebuildable) */
	char backup[4200];     /* where the old file went ("" if none) */
	bool unreadable;       /* the old file could not be read (moved as
				* it was) */
	/* the target had no record: re-adopted by address from a read */
	bool readopted;
	size_t adopted;        /* objects recorded as dirsync's */
	long conflicts;        /* desired objects whose row did not fit */
	long long run_id;      /* the run that did it */
};

/*
 * A new, empty state database bound to the configured target; the old
 * one is moved to "<path>.old-<UTC time>", also when it cannot be read
 * (corrupt).  When the target records nothing as dirsync's (its
 * dirsync_managed table lost or emptied), a read of the source re-adopts
 * by address: every row at a desired object's address is recorded as
 * that object's, with no row changed (engine_opts.readopt).  Refused
 * (DS_E_STATE) for a target that keeps no record of ownership, and for an
 * old state whose records have not moved into the target yet.  The caller
 * holds the lock.
 */
int engine_rebuild_state(const struct conf *c, struct rebuild *out,
			 struct err *err);

/*
 * For `dirsync passwd-hook` (password.c).  engine_mailbox_of(): the
 * mailbox dirsync manages for a directory object (anchor), asked of the
 * target's own record, else the state; *address malloc'd or NULL, and
 * *disabled_at 0 when it is active.  engine_set_password(): one hash
 * ({SCHEME} prefix) written now through the target (DS_E_CONFIG for a
 * target that takes no passwords).  engine_probe_target(): the target
 * opens (read-only), nothing else.
 */
int engine_mailbox_of(const struct conf *c, const char *anchor,
		      char **address, long long *disabled_at,
		      struct err *err);
int engine_set_password(const struct conf *c, const char *address,
			const char *hash, struct err *err);
int engine_probe_target(const struct conf *c, struct err *err);
/*
 * A target that takes the cleartext (TCAP_PASSWORDS_PLAIN: SCIM's
 * `password`, which the service hashes) instead of a hash:
 * engine_passwords_plain() says so, engine_set_password_plain() sends
 * pw[0..len) for `address` at once, to the id the state recorded for it.
 */
bool engine_passwords_plain(const struct conf *c);
int engine_set_password_plain(const struct conf *c, const char *address,
			      const char *pw, size_t len, struct err *err);

#endif

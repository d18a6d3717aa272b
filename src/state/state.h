/*
 * state.h - the state database (SQLite, WAL): runs and managed objects.
 *
 * The managed table is how dirsync knows which target rows are its own
 * and which directory object (anchor) each belongs to, with the target's
 * own id where it has one.  Runs keep their full JSON report for
 * `history` and `show`.  The meta table's schema_version says which
 * schema a file has; state_open() migrates older ones and refuses newer
 * ones.
 */
#ifndef DS_STATE_H
#define DS_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "plan/plan.h"
#include "util/err.h"

struct state;

/*
 * readonly: open nothing for writing; a missing database reads as empty
 * (plan, dry runs).  Otherwise the file and tables are created.
 */
int state_open(struct state **out, const char *path, bool readonly,
	       struct err *err);
/*
 * The database file alone, read-only, as SQLite's "immutable" URI
 * parameter has it (https://www.sqlite.org/uri.html): no lock, no WAL,
 * no -shm, so it needs no disk space (a read of a WAL database otherwise
 * writes its -shm, which fails on a full disk).  Only right when the WAL
 * is empty or absent and nothing writes meanwhile: the caller checks.
 * For `status` on a full file system.  0, or -1 with err (DS_E_STATE).
 */
int state_open_file_only(struct state **out, const char *path,
			 struct err *err);
/*
 * current, desired (NULL or both): the target's rows and the rules'
 * objects, built first; each managed row is matched with them once here
 * and shares their strings (see managed_add_known).
 */
int state_load_managed(struct state *st, struct managed *m,
		       const struct mset *current, const struct mset *desired,
		       struct err *err);

/*
 * A state database belongs to one target (target_identity()): a writable
 * open records it.  While the state lists managed objects (a target that
 * keeps no record of its own, or records not moved into the target yet),
 * an open for another target is refused (DS_E_STATE) with both named;
 * without such records a changed URL is simply recorded.
 */
int state_bind_target(struct state *st, const char *identity, bool readonly,
		      struct err *err);

/* A new run row; *run_id receives its id.  Not for read-only states. */
int state_run_begin(struct state *st, const char *started, const char *mode,
		    long long *run_id, struct err *err);

/*
 * The adds, updates and disables + deletes recorded by the runs that
 * applied changes and started at or after `since` and at or before
 * `until` (the runs table's "YYYY-MM-DDTHH:MM:SSZ"), summed: what
 * [safety] limit_window weighs (plan.h, struct limit_earlier).  A run
 * that applied part of its plan counts whole.  0, or -1 with err.
 */
int state_applied_since(struct state *st, const char *since,
			const char *until, long *adds,
			long *updates, long *removals, struct err *err);

/*
 * Records what an applied plan did to the managed set, and forgets the
 * given addresses (managed rows that vanished from the target), in one
 * transaction.
 */
/*
 * The same in two steps, so the caller can commit it right after the mail
 * database: prepare opens the transaction and writes (on failure it rolls
 * back itself), finish commits or rolls back.  prepare may run on another
 * thread than finish, never at the same time.
 */
int state_record_prepare(struct state *st, const struct plan *p,
			 const char *const *forget, size_t nforget, time_t now,
			 struct err *err);
int state_record_finish(struct state *st, bool commit, struct err *err);
int state_record_plan(struct state *st, const struct plan *p,
		      const char *const *forget, size_t nforget, time_t now,
		      struct err *err);

/*
 * One change that a per-object target applied, recorded at once in its
 * own transaction, with the target's id for the object (NULL or "":
 * none).
 */
int state_record_change(struct state *st, const struct change *ch,
			const char *target_id, time_t now, struct err *err);
/*
 * quick: commits that survive the process (kill -9) but not a power
 * loss (SQLite's synchronous = NORMAL under WAL: no fsync per commit);
 * else every commit is synced (the default).  For a per-object target's
 * stream of one-change commits: a record a power loss takes is found
 * again by the target (SCIM: externalId), as one that a kill between
 * the write and its record loses.
 */
void state_quick_commits(struct state *st, bool quick);
/* The target's id recorded for managed `address` (*tid malloc'd, NULL
 * when none). */
int state_target_id_of(struct state *st, const char *address, char **tid,
		       struct err *err);

/*
 * Empties the managed table: its records now live in the target (see
 * target_ops.record_managed).
 */
int state_forget_managed(struct state *st, struct err *err);

struct run_summary {
	double seconds;
	int exit_code;
	bool applied;
	bool forced;    /* applied past a safety limit (--force-limits) */
	bool fast_path; /* nothing changed: target load and plan skipped */
	/* a signal stopped it (SIGTERM to the daemon mid-run): exit 1, and
	 * only what `applied` says reached the target */
	bool interrupted;
	/* hold_removals held disables and deletes back (exit 3, whether or
	 * not anything else was applied); read from the stored report */
	bool held;
	const char *plan; /* a limit stop's plan (report_plan_text), or NULL */
	long adds, updates, disables, deletes, conflicts, errors;
	/* the applied plan's objects as the count limits count them
	 * (plan.h: alias rows apart; disables + deletes together), kept
	 * for [safety] limit_window (state_applied_since); 0 when the run
	 * applied nothing */
	long lim_adds, lim_updates, lim_removals;
};

/* Completes a run row with its report; prunes to keep_runs runs. */
int state_run_finish(struct state *st, long long run_id,
		     const struct run_summary *s, const char *report_json,
		     long keep_runs, struct err *err);

struct run_row {
	long long id;
	const char *started;
	const char *mode;
	struct run_summary s;
	/* from the stored report's "read" (NULL / -1 for runs without) */
	const char *read_mode;     /* "full" or "incremental" */
	long long read_entries;    /* entries the server sent */
	long long read_deleted;    /* of an incremental read: entries the
				    * server said were deleted (0: none or
				    * unknown) */
	/* the source said nothing changed since the last read (an export
	 * unchanged, a content sync with nothing): the rules were skipped */
	bool read_skipped;
	/* the safety limit the run hit (stopped at, or held its removals
	 * back by), and what it counted; NULL / 0 when none */
	const char *limit;
	long long limit_planned;
	/* the read finished: 1, 0 (it failed, e.g. at the bind: nothing
	 * was read), -1 unknown (a run recorded before this was) */
	int read_done;
	/* the report's "trigger": the daemon's "interval", "request" or
	 * "watch"; NULL for a command's run */
	const char *trigger;
};

typedef int (*state_run_cb)(void *ctx, const struct run_row *r);
/* Newest first, at most n rows (n <= 0: all). */
int state_history(struct state *st, long n, state_run_cb cb, void *ctx,
		  struct err *err);
/*
 * The same without what comes from each run's stored report (read_mode,
 * trigger: NULL; read_entries, read_done: -1), which SQLite parses as
 * JSON row by row (up to ~1 MB a report, keep_runs of them): for callers
 * that need only the times and outcomes, such as the time guards of
 * every planned run.
 */
int state_history_brief(struct state *st, long n, state_run_cb cb,
			void *ctx, struct err *err);
/*
 * The latest start (runs.started, UTC) of the runs recorded as finished
 * (those history lists, and those keep_runs pruned: state_run_finish
 * keeps the latest of them), into *when; 0 when there is none.  Not the
 * newest run's: a run whose clock was ahead stays the latest until the
 * clock passes it, however many runs are kept.
 */
int state_latest_start(struct state *st, time_t *when, struct err *err);
/* The stored JSON report of a run (malloc'd): 0; 1 (err DS_E_STATE says
 * so) when there is no such run; -1 when the database fails. */
int state_run_report(struct state *st, long long run_id, char **json,
		     struct err *err);

/*
 * Whether the file at path is text, not an SQLite database (no SQLite
 * header, and no control bytes but tab, CR and LF in its first 512
 * bytes): a [state] path naming another file (an export, the config), as
 * opposed to a damaged database (binary).  False when it cannot be read
 * or is empty.
 */
bool state_file_foreign(const char *path);
/* How many managed records and runs a state holds (0 when none yet). */
int state_counts(struct state *st, long *managed, long *runs,
		 struct err *err);

/*
 * Moves the database at path (with its WAL checkpointed into it) aside,
 * so that the next state_open() starts a new one: to stem, or when a
 * file is there (or its -wal or -shm), to the first free of stem.1,
 * stem.2 ...; never over an existing file.  The name taken is written
 * to backup (n bytes).
 */
int state_archive(const char *path, const char *stem, char *backup, size_t n,
		  struct err *err);
/*
 * The managed mailbox of a directory object: *address (malloc'd) is NULL
 * when the anchor has none; *disabled_at is 0 while it is in scope.
 * A database not created yet has no mailbox.
 */
int state_mailbox_of(struct state *st, const char *anchor, char **address,
		     long long *disabled_at, struct err *err);

/*
 * What `dirsync approve` needs to know of a finished run: its exit code,
 * whether it applied changes (with exit 3: hold_removals held back only
 * the removals), the plan kept with it (a limit stop's, malloc'd; NULL
 * when none was kept), the limit that stopped it (the report's
 * limit_exceeded.limit, malloc'd, NULL when none), and, for a run with a
 * plan, what came after it: the first later run that applied this plan
 * by approval (its own or another stop's with the same plan), the first
 * later run that finished with exit 0 or applied changes, and the newest
 * later limit stop (exit 3, nothing applied) and whether it kept the
 * same plan; 0 when there is none.  found false when there is no such
 * finished run (or no state database yet).
 */
struct run_approval {
	bool found;
	int exit_code;
	bool applied;
	bool held;           /* hold_removals held its removals back */
	char *plan;
	char *limit;
	long long applied_by;
	long long synced_by;
	long long newer_stop;
	bool newer_same;
};
int state_run_approval(struct state *st, long long run_id,
		       struct run_approval *a, struct err *err);
/* Frees what state_run_approval() filled in (NULL-safe members). */
void run_approval_free(struct run_approval *a);
/*
 * `dirsync approve` while the daemon runs: the approval of run_id is left
 * in the state (meta 'approved_run'; a newer one replaces it), and the
 * daemon's next run takes it (read and removed in one transaction; 0 in
 * *run_id when there is none).  Not for read-only states.
 */
int state_approval_set(struct state *st, long long run_id, struct err *err);
int state_approval_take(struct state *st, long long *run_id,
			struct err *err);

/*
 * The fast path (issue 16, engine/fastpath.c): what the last verified
 * run left behind.  A run is verified when it compared the whole desired
 * set with the whole target and left them equal (nothing to do, or all
 * of it applied).  digest: the desired set's whole-set digest (hex);
 * config: the hash of the configuration that shapes the plan; fingerprint:
 * the target's (target_ops.fingerprint) as that run left it;
 * verified_at: that run's clock (unix seconds); due: the earliest time
 * the plan can change with nothing else changing (a disabled object's
 * delete_after), 0 for never.  With it, per object of the desired set,
 * a pair of 64-bit values (address hash, content hash), in no order:
 * what lets a later run say how many objects changed.
 */
struct state_verified {
	long long run_id;
	char digest[72];
	char config[72];
	char fingerprint[256];
	long long verified_at;
	long long due;
	/*
	 * The run allows a later partial compare (engine/fastpath.c): every
	 * target row's key was lower case.  frozen: a hash of the addresses
	 * and anchors the rules froze in a conflict (hex; "" unknown).
	 */
	bool partial_ok;
	char frozen[72];
	/*
	 * The conflicts it left with rows of other objects (plan clashes),
	 * which a later fast path or partial compare reports again: a JSON
	 * array (engine/fastpath.c) or NULL for none.  get: malloc'd, the
	 * caller frees it; put: borrowed.
	 */
	char *clashes;
};

/*
 * *found false when no run is verified (new, migrated or cleared
 * state).  A read-only state of an older schema has none.
 */
int state_verified_get(struct state *st, struct state_verified *v,
		       bool *found, struct err *err);
/*
 * The stored pairs: *pairs malloc'd (2 * *n values), NULL when none; with
 * addrs, the addresses of their objects, in their order, each with its
 * NUL: *addrs malloc'd (*len bytes), NULL when none are kept (a record
 * of an older dirsync).  Patches (state_verified_patch) applied.
 */
int state_verified_objects(struct state *st, uint64_t **pairs, size_t *n,
			   char **addrs, size_t *len, struct err *err);
/*
 * Fills out[0 .. 2 * n) with the pairs of objects [from, from + n): the
 * pairs are written a chunk at a time, never all in memory at once.
 */
typedef void (*state_pairs_cb)(void *ctx, size_t from, size_t n,
			       uint64_t *out);
/* The address of object i (a string that lives until the call ends). */
typedef const char *(*state_name_cb)(void *ctx, size_t i);
/*
 * Replaces the record, in one transaction; with pairs != NULL also the
 * npairs pairs it gives and (name != NULL) their objects' addresses,
 * both written a chunk at a time, never held whole; else the stored
 * pairs and addresses are kept.
 */
int state_verified_put(struct state *st, const struct state_verified *v,
		       state_pairs_cb pairs, state_name_cb name, void *ctx,
		       size_t npairs, struct err *err);
/*
 * A run over a delta (issue 10) records itself without rewriting the
 * stored pairs and addresses: the verified row is replaced and, for
 * every address the run touched, the object now there (its pair) or
 * none (gone) goes into a patch table, one transaction.
 * state_verified_objects() gives the stored
 * ones with the patches applied (patched addresses' objects dropped,
 * the patches' own appended: the order is not the desired set's); a
 * state_verified_put() with pairs drops the patches, one without keeps
 * them, state_verified_clear() drops them.  Strings are borrowed.
 */
struct state_patch {
	const char *address;
	uint64_t pair[2];          /* address hash, content hash */
	bool gone;                 /* no object at address now */
};
int state_verified_patch(struct state *st, const struct state_verified *v,
			 const struct state_patch *p, size_t n,
			 struct err *err);
/* Patch rows kept (0 on any error): a caller rewrites past a share. */
size_t state_verified_npatches(struct state *st);
/* No run is verified any more: the next run takes the full path (the
 * meta record 'unverified_why', the reason, goes too). */
int state_verified_clear(struct state *st, struct err *err);

/*
 * A small record of the meta table by key: *out malloc'd, NULL when
 * there is none (or the database has no meta table yet).  put with
 * value NULL removes it.  0, or -1 with err.
 */
int state_meta_get(struct state *st, const char *key, char **out,
		   struct err *err);
int state_meta_put(struct state *st, const char *key, const char *value,
		   struct err *err);

void state_close(struct state *st);

#endif

/*
 * stage.h - the engine's internal run context, shared by its files
 * (engine.c: the stages; apply.c: applying and recording; result.c:
 * counts, the report and the run's record).  Not for use outside src/engine/.
 */
#ifndef DS_ENGINE_STAGE_H
#define DS_ENGINE_STAGE_H

#include <time.h>

#include "engine/engine.h"
#include "model/managed.h"
#include "state/state.h"
#include "state/syncsnap.h"
#include "target/target.h"
#include "util/log.h"

/* The sums a desired-set digest hashes (fastpath.c's set_digest). */
#define FASTPATH_NSUMS 9

struct run {
	const struct conf *c;
	const struct engine_opts *o;
	struct run_result *r;
	const struct target_ops *tops;
	struct target *tgt;
	struct state *st;
	bool import;               /* managed records move state -> target */
	bool owner_in_state;       /* the state keeps the managed records */
	time_t now;
	/* what this run records as the time of its changes (a disable's
	 * "disabled at"): now, or the last run's start when the clock reads
	 * earlier than that (engine_time_guard) */
	time_t stamp;
	/*
	 * The clock expiry is judged against (accountExpires, shadowExpire,
	 * pwdEndTime; rules.now): now, or the latest run's start when the
	 * clock reads earlier than that (stage_begin): a clock set back
	 * must not bring an expired account back
	 */
	time_t expiry_now;
	/* the latest start of a run recorded before this one (stage_begin;
	 * state_latest_start), 0: none; the time guards' "last run" too */
	time_t latest;
	double t0;                 /* monotonic start */
	enum log_level lvl;        /* stage timings: info, or debug */
	/* read.c: the snapshot this run's read wrote (uncommitted), and
	 * the meta it is committed with; snap NULL: none */
	struct syncsnap *snap;
	struct syncsnap_meta snap_meta;
	/* read.c: the delta's rows being written into snap on a thread of
	 * their own while the mail database is loaded, planned and changed;
	 * joined before snap commits or closes (owned; NULL: none) */
	struct snap_writer *snapw;
	/* read.c: the snapshot's commit, on a thread of its own after the
	 * mail database's; engine_read_wait() joins it (owned; NULL: none) */
	struct snap_committer *snapc;
	bool sync_unsupported;     /* the source has no content sync */
	struct limit_earlier earlier;   /* [safety] limit_window's runs */
	bool guard_held;           /* a time guard held a change back */
	struct fastpath *fp;       /* fastpath.c's (owned) */
	char content_id[96];       /* source_ops.content_id, or "" */
	/* fastpath.c chose the partial compare: only the changed objects
	 * are loaded and planned (engine_fastpath_part); managed_total is
	 * then the count managed_objects() would give for the whole set */
	bool partial;
	size_t managed_total;
	/* hold_removals held removals back: the plan an approval of this
	 * run must find (report_plan_text lines of the whole plan that
	 * this run did not apply: the held removals and the list updates
	 * held with them), malloc'd; NULL: none */
	char *held_plan;
	/* approve_held: the plan has changes beyond the held ones (which
	 * must then be within their own limits) */
	bool approve_extra;
	/* the desired set was patched from the target (engine.c,
	 * part_whole_lists): the run is not verified */
	bool unverifiable;
};

/*
 * The run read and applied what it set out to: exit 0, or exit 3 with
 * the removals held back by hold_removals and the rest applied without
 * error.  Its read is confirmed (the snapshot and cookie are kept: the
 * next read can be incremental), though not verified for the fast path
 * (the held removals must be planned again by a full compare).
 */
static inline bool
engine_run_read_ok(const struct run_result *r)
{
	return r->exit_code == 0 ||
	       (r->exit_code == 3 && r->held && r->err.code == DS_OK &&
		r->counts.failed == 0 && !r->interrupted);
}

/*
 * read.c: the read stage, full or incremental, into r->rules (0, or -1
 * with r->err); engine_read_finish() commits the read's snapshot and
 * cookie when r->exit_code is 0, else drops them.
 */
int engine_read(struct run *x, const struct source_ops *sops);

/*
 * result.c: *r emptied for a run of mode o->mode started at now (its
 * sets and lists ready, "started" set), as engine_run() and
 * engine_run_refused() begin it.
 */
void engine_result_init(struct run_result *r, const struct engine_opts *o,
			time_t now);
void engine_read_finish(struct run *x);
/* The limits let the run apply: the snapshot writer may commit the
 * delta's rows, marked pending until engine_read_finish(). */
void engine_read_confirm(struct run *x);
/* Waits for the snapshot's commit that engine_read_finish() started, if
 * any, and says if it failed.  Before the run returns. */
void engine_read_wait(struct run *x);
/*
 * rdelta.c: the rules over what an incremental read's delta touches.
 * in[0 .. n): the changed entries (blob: syncsnap_encode) and the gone
 * ones (blob NULL), by snapshot key.  0: r->rules holds the run's result
 * (the desired set: only the objects the delta touched; x->fp set up for
 * a partial compare of their addresses), r->read and r->read_deleted
 * set; 1: not taken (why logged), feed the whole snapshot through the
 * rules instead; -1 with r->err.
 */
struct rdelta_in {
	const char *uuid;
	const void *blob;
	size_t len;
	/* out: when the rules ran over the delta, the row's index keys now
	 * (syncsnap_key_hashes; malloc'd, the caller frees); NULL: none
	 * made (a gone row, or the rules took the whole snapshot) */
	int64_t *keys;
	size_t nkeys;
};
int engine_rules_delta(struct run *x, struct syncsnap *old,
		       const struct syncsnap_meta *meta,
		       struct rdelta_in *in, size_t n);

/* engine.c: the resident memory now and at its peak, and the CPU time
 * used so far, at debug level. */
void engine_log_rss(const char *stage);
/* engine.c: freed heap pages back to the system when more than 16 MiB
 * lie free (malloc_trim); a no-op without glibc. */
void engine_trim(void);

/* apply.c: the plan onto the target, and the managed set into the state. */
int engine_apply(struct run *x);
/* timeguard.c: plan/guard.h's time guards on the built plan (0 or -1). */
int engine_time_guard(struct run *x);
/* result.c: counts, report, the run row in the state; sets exit_code. */
void engine_finish(struct run *x);
/*
 * fastpath.c (issue 16).  engine_fastpath(), after the read: 1 when
 * nothing changed since the last verified run (the run is complete: an
 * empty plan, r->fast_path set), 0 for the full path (the target may be
 * open already), -1 with r->err.  engine_fastpath_record(), after
 * engine_finish(): the verified record for the next run, or its removal.
 */
int engine_fastpath(struct run *x);
/*
 * Before the rules, for a read that changed nothing: with the desired
 * set's digest of the run that left the snapshot, 1 when the fast path
 * holds (engine_fastpath() then says so without a digest), 0 not, -1
 * with r->err.
 */
int engine_fastpath_early(struct run *x, const char *digest);
/* This run's desired-set digest (hex), NULL when none was computed. */
const char *engine_fastpath_digest(const struct run *x);
/* The sums under it (FASTPATH_NSUMS), NULL when none were computed. */
const uint64_t *engine_fastpath_sums(const struct run *x);
/*
 * A run over a delta (rdelta.c).  engine_fastpath_delta_ok(), before the
 * rules, with the digest of the summary the last read left: 1 when the
 * verified run is that read's, no full compare is due and the target can
 * compare part of itself (x->fp is then kept for the next call), 0 not
 * (*why says why), -1 with r->err.  engine_fastpath_set_sums() adds
 * (sign > 0) or takes away (sign < 0) a rules result's part of the
 * sums.  engine_fastpath_delta(): the sums of this run, and the rules'
 * before and after desired sets; the addresses where they differ are
 * the only ones planned (engine_fastpath then takes the fast path or
 * compares those addresses).
 * engine_fastpath_touched(): how many addresses that is.
 */
int engine_fastpath_delta_ok(struct run *x, const char *digest,
			     const char **why);
void engine_fastpath_set_sums(uint64_t acc[FASTPATH_NSUMS],
			      const struct rules_result *rr, int sign);
void engine_fastpath_delta(struct run *x,
			   const uint64_t sums[FASTPATH_NSUMS],
			   const struct mset *before,
			   const struct mset *after);
size_t engine_fastpath_touched(const struct run *x);
/*
 * shortcut.c.  engine_shortcut(), for an incremental read whose delta is
 * empty or a source whose content_id did not change: 1 when the summary
 * the last run left and engine_fastpath_early()
 * say the rules would give the verified run's desired set again (r then
 * holds the summary's counts, warnings and conflicts; r->rules_skipped set),
 * else 0.  engine_summary_encode(): this run's summary for the snapshot
 * (malloc'd JSON text), or NULL when its digest was not computed.
 */
int engine_shortcut(struct run *x, const char *summary);
char *engine_summary_encode(const struct run *x);
/* A summary read back whole, for a run over a delta (rdelta.c). */
struct summary {
	char digest[72];
	uint64_t sums[FASTPATH_NSUMS];
	size_t read;
	time_t next_expiry;
	/* in_scope, warnings, conflicts and frozen_anchors only */
	struct rules_result rules;
	bool have_frozen;        /* frozen_anchors known (shortcut.c) */
};
/* 0, or -1 when it is missing, does not parse or has no sums (out
 * empty).  rules_free(&out->rules) after use. */
int engine_summary_parse(const char *summary, struct summary *out);
void engine_fastpath_record(struct run *x);
void engine_fastpath_free(struct run *x);
/*
 * With x->partial: the addresses to load and plan (the load adds the
 * addresses of the anchors' mailbox records) and, into *anchors when not
 * NULL (the load's call), the anchors of the changed mailboxes and of
 * the objects whose primary address is in conflict.  Owned by x->fp.
 * NULL when the run compares everything.
 */
struct strmap *engine_fastpath_part(struct run *x,
				    const struct strmap **anchors);
/*
 * With x->partial, after the plan: the conflicts with rows of other
 * objects the verified run left outside the part, and its notes of the
 * lists and contacts outside it, are added to it (a full compare would
 * report them).  0, or -1 with the run's err set.
 */
int engine_fastpath_clashes(struct run *x);
/* With x->partial: the addresses of the verified run's kept conflicts
 * (plan_input.kept_clashes); owned by x->fp; NULL when none. */
const struct strmap *engine_fastpath_kept(struct run *x);
/*
 * A partial compare: the list members and contact targets the verified
 * run's notes name (plan.notes), NULL when it kept none (or no partial
 * compare).  engine_fastpath_part_add(): addr (copied) joins the part;
 * the key, or NULL when it was in it already (or no partial compare).
 */
const struct strmap *engine_fastpath_noted(struct run *x);
const char *engine_fastpath_part_add(struct run *x, const char *addr);
/*
 * The partial compare: the desired objects of these anchors (any of
 * their kinds) join the part, the addresses copied as by
 * engine_fastpath_part_add().  anchors: keys are directory anchors, the
 * values are not read; borrowed for the call.  How many addresses joined
 * (0 without a partial compare).  A pass over the desired set, none when
 * anchors is empty.
 */
size_t engine_fastpath_part_add_objects_of(struct run *x,
					   const struct strmap *anchors);
/*
 * The part's addresses copied into x->fp's own memory: those the load
 * added point into the managed set's arena (target.h, load_part), so
 * this comes before that set is freed to load the part again.
 */
void engine_fastpath_part_own(struct run *x);
/*
 * After the part's load: the conflicts the verified run kept that the
 * loaded records touch (their anchors) join the part, and those the
 * addresses the load added touch.  true: the part grew (load again).
 */
bool engine_fastpath_part_kept(struct run *x);
/*
 * Does an object of a or b touch a conflict the verified run kept (be
 * at its address, have one of its claimants' anchors, or as a list or
 * contact name its address)?  The rules over a delta then give way to
 * the whole snapshot: the part must load that conflict's claimants
 * (fastpath.c, part_add_kept), whose objects a delta's desired set may
 * lack.
 */
bool engine_fastpath_kept_touched(struct run *x, const struct mset *a,
				  const struct mset *b);

#endif

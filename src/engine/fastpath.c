/*
 * fastpath.c - a full read that changes nothing costs the read and no
 * more (issue 16).
 *
 * After the read and the rules, a sync compares three things with what
 * the last *verified* run left in the state (state_verified): a digest of
 * the desired set, a hash of the configuration that shapes the plan, and
 * the target's fingerprint (target_ops.fingerprint: for the SQL target a
 * trigger-kept change counter in the mail database, sql_changes.c).  When
 * all three match, and nothing else casts a doubt (below), the run skips
 * the target load and the plan: it is recorded as a run with nothing to
 * do and `"fast_path": true`.  Any doubt takes the full path:
 *
 *   --full; [schedule] full_every = 0 or elapsed since the last full
 *   compare; a target without a fingerprint (SCIM, a SQL role that may
 *   not create triggers, the counter just created); no verified run (a
 *   new or migrated state, a failed or stopped last run); the clock
 *   earlier than the verified run; a disabled object whose delete_after
 *   passes (deprovision = delete); `dirsync approve`.
 *
 * A run is verified, and recorded for the next one, when it compared the
 * whole desired set with the whole target and left them equal: it
 * applied its whole plan (or had nothing to do), exit 0, with no
 * planner conflict and nothing held back by a time guard.  Any other run
 * clears the record.
 *
 * Expiry (accountExpires, shadowExpire, pwdEndTime) needs nothing here:
 * the rules run on every read, so an account that expires between runs
 * leaves the desired set and changes the digest.
 *
 * Hashes: XXH3 from libxxhash (Debian libxxhash-dev).  Per object, a
 * 128-bit hash of every field the plan reads (address, kind, anchor,
 * name, gotos, active, dn); the whole-set digest hashes the sums of those
 * (order does not matter), the count and the rules' frozen anchors and
 * addresses.  The per-object pairs (64-bit address hash, 64-bit content
 * hash), 16 bytes an object, are kept in the state (written a chunk at a
 * time, never held whole) so that a full run can say how many objects
 * changed since the verified one.
 */
#include "engine/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* XXH3_state_t on the stack (the library's documented way) */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "util/clock.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* Raise when the planner's output for the same input changes. */
#define FASTPATH_FORMAT "dirsync-fastpath-1"

struct fastpath {
	bool checked;               /* a sync whose digest was computed */
	bool early;                 /* engine_fastpath_early() said yes */
	char digest[72];            /* hex */
	char config[72];            /* hex */
	bool have_fp;
	char fp[TARGET_FP_MAX];     /* the target before load() */
	bool have_old;
	struct state_verified old;
};

static void
hex128(XXH128_hash_t h, char *out, size_t len)
{
	snprintf(out, len, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
}

/* A string field: its length first, so that fields cannot run together. */
static void
put_str(XXH3_state_t *s, const char *v)
{
	uint64_t len = v != NULL ? strlen(v) + 1 : 0;

	XXH3_128bits_update(s, &len, sizeof(len));
	if (v != NULL)
		XXH3_128bits_update(s, v, len - 1);
}

static XXH128_hash_t
hash_obj(XXH3_state_t *s, const struct mobj *o)
{
	unsigned char fixed[2] = {(unsigned char)o->kind,
				  (unsigned char)o->active};

	XXH3_128bits_reset(s);
	XXH3_128bits_update(s, fixed, sizeof(fixed));
	put_str(s, o->address);
	put_str(s, o->anchor);
	put_str(s, o->name);
	put_str(s, o->gotos);
	put_str(s, o->dn);
	return XXH3_128bits_digest(s);
}

/* Order-independent: sums of 64-bit hashes of the keys. */
static void
hash_keys(const struct strmap *m, uint64_t acc[3])
{
	const char *k;
	void *v;
	size_t it = 0;

	while (strmap_next(m, &it, &k, &v)) {
		XXH128_hash_t h = XXH3_128bits(k, strlen(k));

		acc[0] += h.low64;
		acc[1] += h.high64;
		acc[2]++;
	}
}

/* The desired set's digest. */
static void
set_digest(const struct rules_result *rr, struct fastpath *f)
{
	const struct mset *d = &rr->desired;
	XXH3_state_t s;
	uint64_t acc[9];
	size_t i;

	XXH3_INITSTATE(&s);
	memset(acc, 0, sizeof(acc));
	for (i = 0; i < d->n; i++) {
		XXH128_hash_t h = hash_obj(&s, d->v[i]);

		acc[0] += h.low64;
		acc[1] += h.high64;
	}
	acc[2] = d->n;
	hash_keys(&rr->frozen_anchors, acc + 3);
	hash_keys(&rr->frozen_addresses, acc + 6);
	hex128(XXH3_128bits(acc, sizeof(acc)), f->digest, sizeof(f->digest));
}

/*
 * The configuration that shapes the desired set and the plan: [source],
 * [scope], [mapping], [target] and [safety] as `dirsync check` prints
 * them (secrets masked), and the fast path's own format.
 */
static void
config_hash(const struct conf *c, char *out, size_t len)
{
	static const char *const keep[] = {"[source]", "[scope]", "[mapping]",
					   "[target]", "[safety]"};
	XXH3_state_t st, *s = &st;
	char *text = NULL, *line, *save = NULL;
	size_t size = 0, i;
	bool on = false;
	FILE *fp = open_memstream(&text, &size);

	if (fp == NULL) {
		snprintf(out, len, "unknown");   /* matches no stored hash */
		return;
	}
	conf_dump(c, fp);
	fclose(fp);
	XXH3_INITSTATE(s);
	XXH3_128bits_reset(s);
	XXH3_128bits_update(s, FASTPATH_FORMAT, sizeof(FASTPATH_FORMAT));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '[') {
			on = false;
			for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
				on = on || strcmp(line, keep[i]) == 0;
		}
		if (on)
			XXH3_128bits_update(s, line, strlen(line) + 1);
	}
	hex128(XXH3_128bits_digest(s), out, len);
	free(text);
}

static int
cmp_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	if (x[1] != y[1])
		return x[1] < y[1] ? -1 : 1;
	return 0;
}

/*
 * The per-object pairs of desired objects [from, from + n) (a
 * state_pairs_cb; ctx: the desired mset): 64-bit address hash, 64 bits
 * of the content hash.  Computed again when needed rather than kept: 16
 * bytes a mail object is 55 MB at a million users.
 */
static void
fill_pairs(void *ctx, size_t from, size_t n, uint64_t *out)
{
	const struct mset *d = ctx;
	XXH3_state_t s;
	size_t i;

	XXH3_INITSTATE(&s);
	for (i = 0; i < n; i++) {
		const struct mobj *o = d->v[from + i];

		out[2 * i] = XXH3_64bits(o->address, strlen(o->address));
		out[2 * i + 1] = hash_obj(&s, o).low64;
	}
}

/* Objects added, changed and gone between two sorted pair lists. */
static void
count_changed(const uint64_t *a, size_t na, const uint64_t *b, size_t nb,
	      size_t *added, size_t *changed, size_t *gone)
{
	size_t i = 0, j = 0;

	*added = *changed = *gone = 0;
	while (i < na || j < nb) {
		if (j >= nb || (i < na && a[2 * i] < b[2 * j])) {
			(*gone)++;
			i++;
		} else if (i >= na || b[2 * j] < a[2 * i]) {
			(*added)++;
			j++;
		} else {
			if (a[2 * i + 1] != b[2 * j + 1])
				(*changed)++;
			i++;
			j++;
		}
	}
}

/* How many objects changed since the verified run (before the load,
 * while memory holds only the desired set). */
static const char *
digest_reason(struct run *x, char *buf, size_t len)
{
	const struct mset *d = &x->r->rules.desired;
	uint64_t *old = NULL, *now;
	size_t nold = 0, added, changed, gone;
	struct err e;

	err_clear(&e);
	if (state_verified_pairs(x->st, &old, &nold, &e) != 0 || old == NULL)
		return "the directory changed since the verified run";
	now = xmalloc((d->n ? d->n : 1) * 2 * sizeof(uint64_t));
	fill_pairs((void *)d, 0, d->n, now);
	qsort(old, nold, 2 * sizeof(uint64_t), cmp_pair);
	qsort(now, d->n, 2 * sizeof(uint64_t), cmp_pair);
	count_changed(old, nold, now, d->n, &added, &changed, &gone);
	free(old);
	free(now);
	snprintf(buf, len, "the directory changed since the verified run: "
		 "%zu mail objects new, %zu changed, %zu gone",
		 added, changed, gone);
	return buf;
}

/* Why this run must compare everything, or NULL: it need not. */
static const char *
full_reason(struct run *x, struct fastpath *f, char *buf, size_t len)
{
	const struct state_verified *v = &f->old;
	long every = x->c->schedule.full_every;

	if (x->o->full)
		return "--full";
	if (every <= 0)
		return "[schedule] full_every = 0: every run is full";
	if (!f->have_fp)
		return "the target cannot vouch that nobody changed it (no "
		       "change counter in the mail database)";
	if (!f->have_old)
		return "no verified run recorded yet";
	if (strcmp(v->config, f->config) != 0)
		return "the configuration changed since the verified run";
	if (strcmp(v->digest, f->digest) != 0)
		return digest_reason(x, buf, len);
	if (strcmp(v->fingerprint, f->fp) != 0)
		return "the mail database was changed since the verified run "
		       "(by another writer)";
	if ((long long)x->now < v->verified_at)
		return "the clock reads earlier than the verified run";
	if ((long long)x->now - v->verified_at >= every)
		return "[schedule] full_every has passed since the last full "
		       "compare";
	if (v->due > 0 && (long long)x->now >= v->due)
		return "a disabled object's delete_after has passed";
	return NULL;
}

/*
 * The checks after the digest: 1 fast path, 0 full compare (logged), -1
 * with r->err.  f->digest is set.
 */
static int
fastpath_check(struct run *x, struct fastpath *f, bool quiet)
{
	struct run_result *r = x->r;
	const char *why;
	char buf[200];
	bool found = false;
	int rc;

	config_hash(x->c, f->config, sizeof(f->config));
	f->checked = true;
	if (x->tops->fingerprint == NULL) {
		if (!quiet)
			log_msg(x->lvl, "full compare: the target keeps no "
				"change counter");
		return 0;
	}
	if (x->tgt == NULL &&
	    x->tops->open(&x->tgt, x->c, false, &r->err) != 0)
		return -1;
	rc = x->tops->fingerprint(x->tgt, f->fp, &r->err);
	if (rc < 0)
		return -1;
	f->have_fp = rc == 0;
	if (state_verified_get(x->st, &f->old, &found, &r->err) != 0)
		return -1;
	f->have_old = found;
	why = full_reason(x, f, buf, sizeof(buf));
	if (why != NULL) {
		if (!quiet)
			log_msg(x->lvl, "full compare: %s", why);
		return 0;
	}
	return 1;
}

/* Runs that compare everything and record no verified run. */
static bool
never_fast(const struct run *x)
{
	/* read-only runs, an approval's plan and rebuild-state's
	 * re-adoption (which keeps only part of its plan) */
	return x->o->readonly || x->o->approve_plan != NULL || x->o->readopt;
}

int
engine_fastpath_early(struct run *x, const char *digest)
{
	struct fastpath *f;
	int rc;

	if (never_fast(x) || x->fp != NULL)
		return 0;
	f = xcalloc(1, sizeof(*f));
	snprintf(f->digest, sizeof(f->digest), "%s", digest);
	rc = fastpath_check(x, f, true);
	if (rc != 1) {
		free(f);   /* engine_fastpath() checks again, with the rules */
		return rc;
	}
	f->early = true;
	x->fp = f;
	return 1;
}

const char *
engine_fastpath_digest(const struct run *x)
{
	return x->fp != NULL && x->fp->checked ? x->fp->digest : NULL;
}

int
engine_fastpath(struct run *x)
{
	struct run_result *r = x->r;
	struct fastpath *f;
	int rc;

	if (never_fast(x))
		return 0;
	if (x->fp == NULL || !x->fp->early) {
		f = x->fp = xcalloc(1, sizeof(*f));
		set_digest(&r->rules, f);
		if ((rc = fastpath_check(x, f, false)) != 1)
			return rc;
	}
	r->fast_path = true;
	r->have_plan = true;   /* an empty one */
	log_msg(x->lvl, "fast path: the directory and the target are as run "
		"%lld left them; target load and plan skipped (%.2fs)",
		x->fp->old.run_id, clock_seconds() - x->t0);
	return 1;
}

/*
 * Earliest time a disabled object's delete comes due, as this run leaves
 * the managed set (the plan applied); 0: never.
 */
static long long
next_due(const struct run *x)
{
	const struct conf_safety *s = &x->c->safety;
	const struct plan *p = &x->r->plan;
	struct strmap done = STRMAP_INIT;   /* deleted or re-enabled now */
	long long due = 0, d;
	size_t i;

	if (s->deprovision != DEPROV_DELETE)
		return 0;
	for (i = 0; i < p->n; i++) {
		if (p->v[i].op == OP_DELETE ||
		    (p->v[i].op == OP_UPDATE && (p->v[i].fields & CH_ACTIVE)))
			strmap_put(&done, p->v[i].address, &done);
		if (p->v[i].op != OP_DISABLE)
			continue;
		d = (long long)x->now + s->delete_after;
		if (due == 0 || d < due)
			due = d;
	}
	for (i = 0; i < x->r->managed.n; i++) {
		const struct managed_rec *m = x->r->managed.v[i];

		if (m->disabled_at <= 0 || strmap_get(&done, m->address))
			continue;
		d = m->disabled_at + s->delete_after;
		if (due == 0 || d < due)
			due = d;
	}
	strmap_free(&done);
	return due;
}

/* This run compared everything and left the target as desired. */
static bool
verified(const struct run *x)
{
	const struct run_result *r = x->r;

	return r->exit_code == 0 && r->have_plan && !r->fast_path &&
	       r->plan.nclashes == 0 && !x->guard_held && x->tgt != NULL &&
	       x->tops->fingerprint != NULL;
}

void
engine_fastpath_record(struct run *x)
{
	struct fastpath *f = x->fp;
	struct run_result *r = x->r;
	struct state_verified v;
	struct err e;
	bool same;
	int rc = 1;

	if (f == NULL || !f->checked || r->fast_path || x->st == NULL ||
	    r->run_id <= 0)
		return;
	err_clear(&e);
	memset(&v, 0, sizeof(v));
	if (verified(x)) {
		if (r->applied) {   /* as its commit left it */
			rc = x->tops->fingerprint(x->tgt, v.fingerprint, &e);
		} else if (f->have_fp) {
			memcpy(v.fingerprint, f->fp, sizeof(f->fp));
			rc = 0;
		}
	}
	if (rc != 0) {
		if (state_verified_clear(x->st, &e) != 0)
			log_warn("fast path: %s", e.msg);
		return;
	}
	v.run_id = r->run_id;
	memcpy(v.digest, f->digest, sizeof(v.digest));
	memcpy(v.config, f->config, sizeof(v.config));
	v.verified_at = (long long)x->now;
	v.due = next_due(x);
	/* the pairs only when the set changed: they are what it was */
	same = f->have_old && strcmp(f->old.digest, f->digest) == 0;
	if (state_verified_put(x->st, &v, same ? NULL : fill_pairs,
			       &r->rules.desired, r->rules.desired.n,
			       &e) != 0)
		log_warn("fast path: %s (the next run compares everything)",
			 e.msg);
}

void
engine_fastpath_free(struct run *x)
{
	if (x->fp == NULL)
		return;
	free(x->fp);
	x->fp = NULL;
}

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
 * When only the digest differs, the partial compare: the objects new,
 * changed or gone since the verified run are named from the per-object
 * pairs and the addresses kept with them, and when they are few (at
 * most PARTIAL_PERCENT of the objects, or PARTIAL_MIN), only their
 * addresses are loaded (target_ops.load_part) and planned
 * (plan_input.only); the fingerprint vouches for the rest.  Not when the
 * verified run saw a row key in other than lower case (the partial load
 * matches keys exactly) or the rules' frozen keys changed.
 *
 * A run is verified, and recorded for the next one, when it compared the
 * desired set with the target (whole, or the changed part of both) and
 * left them equal: it applied its whole plan (or had nothing to do),
 * exit 0, with no planner conflict and nothing held back by a time
 * guard.  Any other run clears the record.
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
 * time) with the objects' addresses, so that a later run can say which
 * objects changed since the verified one.
 */
#include "engine/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* XXH3_state_t on the stack (the library's documented way) */
#define XXH_STATIC_LINKING_ONLY
#include <jansson.h>
#include <xxhash.h>

#include "util/clock.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* Raise when the planner's output for the same input changes. */
/* 2: lists leave out a member in an accepted domain that reaches
 * nobody, and the record keeps the plan's notes beside its clashes */
#define FASTPATH_FORMAT "dirsync-fastpath-2"

struct fastpath {
	bool checked;               /* a sync whose digest was computed */
	bool early;                 /* engine_fastpath_early() said yes */
	/*
	 * The partial compare: the addresses to load and plan (keys in
	 * the desired set, in old_addrs or, added by the load, in the
	 * managed set's arena) and the anchors of the desired mailboxes
	 * among them (renames).  partial false: compare everything.
	 */
	bool partial;
	struct strmap only, anchors;
	char *old_addrs;            /* the verified run's, as stored */
	size_t added, changed, gone;
	/* a partial compare's pairs of the desired set (npairs objects),
	 * kept for the record rather than computed again */
	uint64_t *pairs;
	size_t npairs;
	char digest[72];            /* hex */
	char frozen[72];            /* hex: the rules' frozen keys */
	char config[72];            /* hex */
	bool have_fp;
	char fp[TARGET_FP_MAX];     /* the target before load() */
	bool have_old;
	struct state_verified old;
	uint64_t sums[FASTPATH_NSUMS];   /* under digest (set_digest) */
	bool have_sums;
	const char *full_why;       /* fastpath_check: full_reason() */
	/* the addresses of old.clashes (engine_fastpath_kept), and the
	 * members its notes name (engine_fastpath_noted), made once */
	struct strmap kept, noted;
	bool kept_made;
	/* old.clashes's conflicts indexed for the part (kclashes_of),
	 * parsed once; NULL until then */
	struct kclashes *kclashes;
	/* why the last run was not verified, as it recorded it */
	char unverified[400];
	/*
	 * A run over a delta (rdelta.c): the digest comes from the verified
	 * run's sums less what the rules' before gave plus their after, and
	 * touched holds the addresses of both (keys in arena), the only
	 * objects that can differ from the verified run's.
	 */
	bool delta;
	struct strmap touched, touched_anchors;
	struct arena arena;
};

static void kclashes_free(struct kclashes *k);

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

static void sums_digest(struct fastpath *f,
			const uint64_t acc[FASTPATH_NSUMS]);

/* The desired set's digest. */
static void
set_digest(const struct rules_result *rr, struct fastpath *f)
{
	const struct mset *d = &rr->desired;
	XXH3_state_t s;
	uint64_t acc[FASTPATH_NSUMS];
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
	sums_digest(f, acc);
}

/* f->digest and f->frozen from the sums, which f keeps. */
static void
sums_digest(struct fastpath *f, const uint64_t acc[FASTPATH_NSUMS])
{
	memcpy(f->sums, acc, sizeof(f->sums));
	f->have_sums = true;
	hex128(XXH3_128bits(acc, FASTPATH_NSUMS * sizeof(acc[0])), f->digest,
	       sizeof(f->digest));
	hex128(XXH3_128bits(acc + 3, 6 * sizeof(acc[0])), f->frozen,
	       sizeof(f->frozen));
}

void
engine_fastpath_set_sums(uint64_t acc[FASTPATH_NSUMS],
			 const struct rules_result *rr, int sign)
{
	const struct mset *d = &rr->desired;
	XXH3_state_t s;
	uint64_t part[FASTPATH_NSUMS];
	size_t i;

	XXH3_INITSTATE(&s);
	memset(part, 0, sizeof(part));
	for (i = 0; i < d->n; i++) {
		XXH128_hash_t h = hash_obj(&s, d->v[i]);

		part[0] += h.low64;
		part[1] += h.high64;
	}
	part[2] = d->n;
	hash_keys(&rr->frozen_anchors, part + 3);
	hash_keys(&rr->frozen_addresses, part + 6);
	for (i = 0; i < FASTPATH_NSUMS; i++)
		acc[i] = sign < 0 ? acc[i] - part[i] : acc[i] + part[i];
}

/*
 * The configuration that shapes the desired set and the plan: [source],
 * [scope], [mapping], [target] and [safety] as `dirsync check` prints
 * them (secrets masked), and the fast path's own format.  Not [safety]
 * limit_window: it weighs earlier runs for a limit stop and shapes no
 * object or change (nor a dirsync that came to know it, a full compare).
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
		if (on && strncmp(line, "limit_window ", 13) != 0)
			XXH3_128bits_update(s, line, strlen(line) + 1);
	}
	hex128(XXH3_128bits_digest(s), out, len);
	free(text);
}

/*
 * The per-object pairs of desired objects [from, from + n) (a
 * state_pairs_cb; ctx: the desired mset): 64-bit address hash, 64 bits
 * of the content hash.  Computed again when needed rather than kept: 16
 * bytes a mail object is 55 MB at a million users.
 */
static void
pair_of(XXH3_state_t *s, const struct mobj *o, uint64_t out[2])
{
	out[0] = XXH3_64bits(o->address, strlen(o->address));
	out[1] = hash_obj(s, o).low64;
}

static void
fill_pairs(void *ctx, size_t from, size_t n, uint64_t *out)
{
	const struct mset *d = ctx;
	XXH3_state_t s;
	size_t i;

	XXH3_INITSTATE(&s);
	for (i = 0; i < n; i++)
		pair_of(&s, d->v[from + i], out + 2 * i);
}

/* The verified run's addresses, by the index of their pair; NULL when
 * they are not kept or do not match the pairs. */
static const char **
old_names(struct fastpath *f, size_t len, size_t n)
{
	const char **v = xmalloc((n ? n : 1) * sizeof(*v));
	const char *p = f->old_addrs, *end = f->old_addrs + len;
	size_t i;

	for (i = 0; i < n && p < end; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	if (i == n && p == end)
		return v;
	free(v);
	return NULL;
}

/*
 * Does a touched object bring its owner's other records (its aliases,
 * disabled ones too) into a partial compare?  Every owner of aliases
 * does: a mailbox, a list or a contact that comes back drops the aliases
 * it no longer has, as a full compare would.
 */
static bool
owner_kind(const struct mobj *o)
{
	return o != NULL && o->anchor != NULL &&
	       (o->kind == MK_MAILBOX || o->kind == MK_LIST ||
		o->kind == MK_CONTACT);
}

static void
touch(struct fastpath *f, const struct mobj *o, const char *addr)
{
	strmap_put(&f->only, addr, (void *)addr);
	if (owner_kind(o))
		strmap_put(&f->anchors, o->anchor, (void *)o->anchor);
}

/*
 * Counts the objects added, changed and gone between the verified run's
 * pairs a[0 .. na) and this run's b[0 .. nb) (the desired set's order),
 * and with names (old: the verified run's addresses, NULL: not kept)
 * collects their addresses in f->only.  The old pairs go into an
 * open-addressing table by address hash (slot: index + 1, 0 empty),
 * which every new pair probes once: no sort.  A changed content hash
 * names both addresses, so that two addresses of one 64-bit hash (the
 * content hash covers the address) are both compared.
 */
static void
diff_pairs(struct fastpath *f, const struct mset *d, const uint64_t *a,
	   size_t na, const uint64_t *b, size_t nb, const char **old)
{
	size_t cap = 16, mask, i, k;
	uint32_t *slot;
	unsigned char *seen = xcalloc(na ? na : 1, 1);

	while (cap < 2 * na)
		cap *= 2;
	mask = cap - 1;
	slot = xcalloc(cap, sizeof(*slot));
	for (i = 0; i < na; i++) {
		for (k = (size_t)a[2 * i] & mask; slot[k] != 0; k = (k + 1) & mask)
			;
		slot[k] = (uint32_t)(i + 1);
	}
	f->added = f->changed = f->gone = 0;
	for (i = 0; i < nb; i++) {
		const struct mobj *o = d->v[i];
		size_t j = 0;

		for (k = (size_t)b[2 * i] & mask; slot[k] != 0; k = (k + 1) & mask) {
			j = slot[k] - 1;
			if (a[2 * j] == b[2 * i] && !seen[j])
				break;
		}
		if (slot[k] == 0) {
			f->added++;
			if (old != NULL)
				touch(f, o, o->address);
			continue;
		}
		seen[j] = 1;
		if (a[2 * j + 1] == b[2 * i + 1])
			continue;
		f->changed++;
		if (old != NULL) {
			touch(f, o, o->address);
			touch(f, NULL, old[j]);
		}
	}
	for (i = 0; i < na; i++) {
		if (seen[i])
			continue;
		f->gone++;
		if (old != NULL)
			touch(f, NULL, old[i]);
	}
	free(slot);
	free(seen);
}

/*
 * How many objects changed since the verified run (before the load,
 * while memory holds only the desired set), and with want_names their
 * addresses, for a partial compare.  *named: they are in f->only.
 */
static const char *
digest_reason(struct run *x, struct fastpath *f, bool want_names,
	      bool *named, char *buf, size_t len)
{
	const struct mset *d = &x->r->rules.desired;
	uint64_t *old = NULL, *now;
	const char **names = NULL;
	size_t nold = 0, alen = 0;
	struct err e;

	*named = false;
	err_clear(&e);
	/*
	 * A partial compare loads little: the heap the read and the rules
	 * freed (370 MB at 1M users) would stay resident under what is
	 * allocated here and kept to the record (the pairs, 16 bytes an
	 * object; the addresses, ~25), and the peak with it (1,199 MiB at
	 * 1M, against 1,058).  Not before a full compare, whose load reuses
	 * that heap.
	 */
	if (want_names)
		engine_trim();
	if (state_verified_objects(x->st, &old, &nold,
				   want_names ? &f->old_addrs : NULL, &alen,
				   &e) != 0 || old == NULL)
		return "the directory changed since the verified run";
	if (f->old_addrs != NULL)
		names = old_names(f, alen, nold);
	now = xmalloc((d->n ? d->n : 1) * 2 * sizeof(uint64_t));
	fill_pairs((void *)d, 0, d->n, now);
	diff_pairs(f, d, old, nold, now, d->n, names);
	*named = names != NULL;
	free(names);
	free(old);
	if (*named) {   /* a partial compare may follow: keep them */
		f->pairs = now;
		f->npairs = d->n;
	} else {
		free(now);
	}
	snprintf(buf, len, "the directory changed since the verified run: "
		 "%zu mail objects new, %zu changed, %zu gone",
		 f->added, f->changed, f->gone);
	return buf;
}

/*
 * Why this run must compare everything, or NULL: it need not, or
 * (*changed) only what the digest says changed.
 */
static const char *
full_reason(struct run *x, struct fastpath *f, bool *changed)
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
	if (!f->have_old && f->unverified[0] != '\0')
		return f->unverified;
	if (!f->have_old)
		return "no verified run recorded (a new state database, or "
		       "the last run did not end with exit 0: it failed, "
		       "stopped at a limit or held removals back)";
	if (strcmp(v->config, f->config) != 0)
		return "the configuration changed since the verified run";
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
	*changed = strcmp(v->digest, f->digest) != 0;
	return NULL;
}

/* A partial compare pays up to this share of the objects (or
 * PARTIAL_MIN of them, whatever the share). */
#define PARTIAL_PERCENT 10
#define PARTIAL_MIN 64

/*
 * Why the changed objects cannot be compared alone, or NULL: they can
 * (f->only and f->anchors then hold what to load and plan).
 */
static const char *
partial_reason(struct run *x, struct fastpath *f, char *buf, size_t len)
{
	const struct rules_result *rr = &x->r->rules;
	const char *no = NULL, *why;
	char more[80];
	bool named;
	size_t n, l;

	if (x->tops->load_part == NULL || x->tops->load_managed == NULL)
		no = "the target cannot load part of itself";
	else if (!f->old.partial_ok)
		no = "the verified run cannot vouch for a partial compare (a "
		     "row key not in lower case, or a record of an older "
		     "dirsync)";
	else if (strcmp(f->old.frozen, f->frozen) != 0)
		no = "the addresses the rules froze in a conflict changed";
	why = digest_reason(x, f, no == NULL, &named, buf, len);
	n = f->only.len;
	if (no == NULL && !named)
		no = "the verified run's addresses are not kept";
	if (no == NULL && n > PARTIAL_MIN &&
	    n * 100 > rr->desired.n * PARTIAL_PERCENT) {
		snprintf(more, sizeof(more), "%zu addresses, more than %d%%: "
			 "a full compare pays", n, PARTIAL_PERCENT);
		no = more;
	}
	if (no == NULL)
		return NULL;
	free(f->pairs);   /* a full compare needs the room */
	f->pairs = NULL;
	if (why != buf)
		snprintf(buf, len, "%s", why);
	l = strlen(buf);
	snprintf(buf + l, len - l, "; %s", no);
	return buf;
}

/*
 * The checks after the digest: 1 fast path, 0 full or partial compare
 * (logged; x->partial says which), -1 with r->err.  f->digest is set.
 * quiet (before the rules, engine_fastpath_early): nothing logged, and
 * no partial compare, which needs the rules' desired set.
 */
static int
fastpath_check(struct run *x, struct fastpath *f, bool quiet)
{
	struct run_result *r = x->r;
	const char *why;
	char buf[300];
	bool found = false, changed = false;
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
	if (!found) {
		char *s = NULL;

		if (state_meta_get(x->st, "unverified_why", &s, &r->err) != 0)
			return -1;
		if (s != NULL)
			snprintf(f->unverified, sizeof(f->unverified), "%s", s);
		free(s);
	}
	why = f->full_why = full_reason(x, f, &changed);
	if (why == NULL && !changed)
		return 1;
	if (quiet)
		return 0;
	if (why == NULL &&
	    (why = partial_reason(x, f, buf, sizeof(buf))) == NULL) {
		f->partial = x->partial = true;
		log_msg(x->lvl, "partial compare: %s; only their %zu addresses "
			"are loaded and planned, the mail database vouches for "
			"the rest (%.2fs)", buf, f->only.len,
			clock_seconds() - x->t0);
		return 0;
	}
	log_msg(x->lvl, "full compare: %s", why);
	return 0;
}

/* Runs that compare everything and record no verified run. */
static bool
never_fast(const struct run *x)
{
	/* read-only runs, an approval's plan and rebuild-state's
	 * re-adoption (which keeps only part of its plan) */
	return x->o->readonly || x->o->approve_plan != NULL || x->o->readopt;
}

/* A check's fastpath that did not become the run's (x->fp). */
static void
fastpath_discard(struct fastpath *f)
{
	free(f->old.clashes);
	kclashes_free(f->kclashes);
	free(f);
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
		fastpath_discard(f);   /* engine_fastpath() checks again */
		return rc;
	}
	f->early = true;
	x->fp = f;
	return 1;
}

int
engine_fastpath_delta_ok(struct run *x, const char *digest,
			 const char **why)
{
	struct fastpath *f;
	int rc;

	*why = NULL;
	if (never_fast(x) || x->fp != NULL) {
		*why = "a read-only run, or one already checked";
		return 0;
	}
	f = xcalloc(1, sizeof(*f));
	snprintf(f->digest, sizeof(f->digest), "%s", digest);
	rc = fastpath_check(x, f, true);
	if (rc < 0) {
		fastpath_discard(f);
		return -1;
	}
	if (x->tops->fingerprint == NULL || !f->have_fp)
		*why = "the target keeps no change counter";
	else if (f->full_why != NULL)
		*why = f->full_why;
	else if (strcmp(f->old.digest, digest) != 0)
		*why = "the last read is not what the verified run compared";
	else if (x->tops->load_part == NULL || x->tops->load_managed == NULL)
		*why = "the target cannot load part of itself";
	else if (!f->old.partial_ok)
		*why = "the verified run cannot vouch for a partial compare";
	else if (f->old.clashes != NULL)
		/* the lists the delta leaves partial are completed from the
		 * target's rows, which leave out an address held back, while
		 * the rules' lists name it (or a member left out, a note):
		 * the record would not be a full run's (test_engine_delta); a
		 * partial compare still follows */
		*why = "the verified run left conflicts with rows of other "
		       "objects, or list members out";
	if (*why != NULL) {
		fastpath_discard(f);
		return 0;
	}
	f->delta = true;     /* engine_fastpath_delta() comes next */
	x->fp = f;
	return 1;
}

static void
touch_obj(struct fastpath *f, const struct mobj *o)
{
	if (strmap_get(&f->touched, o->address) == NULL) {
		const char *k = arena_strdup(&f->arena, o->address);

		strmap_put(&f->touched, k, (void *)k);
	}
	if (owner_kind(o) &&
	    strmap_get(&f->touched_anchors, o->anchor) == NULL) {
		const char *k = arena_strdup(&f->arena, o->anchor);

		strmap_put(&f->touched_anchors, k, (void *)k);
	}
}

/*
 * The addresses where before and after differ (an object on one side
 * only, or with another content hash: hash_obj, every field the plan
 * reads).  An object both sides give alike is the verified run's, which
 * the mail database holds: nothing to compare.  The plan still gets all
 * of after (plan_input.only holds the touched addresses): an alias that
 * went is deleted, not disabled, when its owner's mailbox stays, and
 * the owner of every touched object is in the closure.
 */
void
engine_fastpath_delta(struct run *x, const uint64_t sums[FASTPATH_NSUMS],
		      const struct mset *before, const struct mset *after)
{
	struct fastpath *f = x->fp;
	XXH3_state_t s;
	size_t i;

	sums_digest(f, sums);
	XXH3_INITSTATE(&s);
	for (i = 0; i < before->n; i++) {
		const struct mobj *b = before->v[i];
		const struct mobj *a = mset_get(after, b->address);

		if (a == NULL ||
		    !XXH128_isEqual(hash_obj(&s, a), hash_obj(&s, b)))
			touch_obj(f, b);
	}
	for (i = 0; i < after->n; i++) {
		const struct mobj *a = after->v[i];

		if (mset_get(before, a->address) == NULL ||
		    strmap_get(&f->touched, a->address) != NULL)
			touch_obj(f, a);
	}
}

size_t
engine_fastpath_touched(const struct run *x)
{
	return x->fp != NULL ? x->fp->touched.len : 0;
}

const uint64_t *
engine_fastpath_sums(const struct run *x)
{
	return x->fp != NULL && x->fp->checked && x->fp->have_sums
		       ? x->fp->sums
		       : NULL;
}

/* A run over a delta: the fast path, or the touched addresses alone. */
static int
fastpath_delta(struct run *x, struct fastpath *f)
{
	const char *k;
	void *v;
	size_t it = 0;

	if (strcmp(f->old.digest, f->digest) == 0)
		return 1;
	while (strmap_next(&f->touched, &it, &k, &v))
		strmap_put(&f->only, k, v);
	it = 0;
	while (strmap_next(&f->touched_anchors, &it, &k, &v))
		strmap_put(&f->anchors, k, v);
	f->partial = x->partial = true;
	log_msg(x->lvl, "partial compare: the rules re-derived what the "
		"delta touched; only its %zu addresses are loaded and "
		"planned, the mail database vouches for the rest (%.2fs)",
		f->only.len, clock_seconds() - x->t0);
	return 0;
}

const char *
engine_fastpath_digest(const struct run *x)
{
	return x->fp != NULL && x->fp->checked ? x->fp->digest : NULL;
}

/*
 * What a verified run keeps with it (state_verified.clashes): the
 * conflicts it left with rows of other objects, and the plan's notes (a
 * list member or contact target in an accepted domain that reaches
 * nobody), which a fast path or partial compare reports again.  One
 * JSON array: first a conflict per object, with the members of struct
 * plan_clash that are set ("address" always); then a note per object,
 * with "note" ("list" or "contact"), "address", "by" and "why".  An
 * object with a "note" that is not a string is neither.  NULL for none.
 */
enum kept_kind { KEPT_CLASH, KEPT_NOTE };

struct kept_rec {
	enum kept_kind kind;
	union {
		struct plan_clash clash;   /* KEPT_CLASH */
		struct plan_note note;     /* KEPT_NOTE */
	} u;
};

static const char *const clash_keys[] = {
	"address", "anchor", "other", "reason", "dn", "account",
	"other_dn", "other_account",
};
#define NCLASH_KEYS (sizeof(clash_keys) / sizeof(clash_keys[0]))

/* A conflict's strings in clash_keys order (pointers to its members). */
static void
clash_fields(struct plan_clash *c, const char **v[NCLASH_KEYS])
{
	v[0] = &c->address;
	v[1] = &c->anchor;
	v[2] = &c->other;
	v[3] = &c->reason;
	v[4] = &c->dn;
	v[5] = &c->account;
	v[6] = &c->other_dn;
	v[7] = &c->other_account;
}

/* The JSON object of a record, or NULL (a note lacking a string). */
static json_t *
kept_encode(struct kept_rec *r)
{
	const char **v[NCLASH_KEYS];
	const struct plan_note *n = &r->u.note;
	json_t *o;
	size_t k;

	if (r->kind == KEPT_NOTE)
		return json_pack("{s:s, s:s, s:s, s:s}", "note",
				 n->kind == NOTE_LIST ? "list" : "contact",
				 "address", n->address, "by", n->by, "why",
				 n->why);
	o = json_object();
	clash_fields(&r->u.clash, v);
	for (k = 0; k < NCLASH_KEYS; k++)
		if (*v[k] != NULL)
			json_object_set_new(o, clash_keys[k], json_string(*v[k]));
	return o;
}

/*
 * o as a record of this kind: 1, in *r (strings borrowed from o); 0, o
 * is of another kind; -1, of this kind but lacking a string it must
 * have.
 */
static int
kept_decode(const json_t *o, enum kept_kind kind, struct kept_rec *r)
{
	const json_t *note = json_object_get(o, "note");
	const char **v[NCLASH_KEYS];
	struct plan_note *n = &r->u.note;
	size_t k;

	r->kind = kind;
	if (kind == KEPT_CLASH) {
		if (note != NULL)
			return 0;
		clash_fields(&r->u.clash, v);
		for (k = 0; k < NCLASH_KEYS; k++)
			*v[k] = json_string_value(
				json_object_get(o, clash_keys[k]));
		return r->u.clash.address != NULL ? 1 : -1;
	}
	if (json_string_value(note) == NULL)
		return 0;
	n->kind = strcmp(json_string_value(note), "list") == 0 ? NOTE_LIST
							       : NOTE_CONTACT;
	n->address = json_string_value(json_object_get(o, "address"));
	n->by = json_string_value(json_object_get(o, "by"));
	n->why = json_string_value(json_object_get(o, "why"));
	return n->address != NULL && n->by != NULL && n->why != NULL ? 1 : -1;
}

/* The text to keep for p's conflicts and notes (malloc'd), or NULL. */
static char *
kept_text(const struct plan *p)
{
	struct kept_rec r;
	json_t *a;
	char *s;
	size_t i;

	if (p->nclashes == 0 && p->nnotes == 0)
		return NULL;
	a = json_array();
	r.kind = KEPT_CLASH;
	for (i = 0; i < p->nclashes; i++) {
		r.u.clash = p->clashes[i];
		json_array_append_new(a, kept_encode(&r));
	}
	r.kind = KEPT_NOTE;
	for (i = 0; i < p->nnotes; i++) {
		r.u.note = p->notes[i];
		json_array_append_new(a, kept_encode(&r));
	}
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/*
 * Calls fn for each record of this kind in text, as kept_text() writes
 * it (its strings live until the call returns), in order; stops at one
 * that lacks a string.  Returns how many, or -1 when the text is not
 * that.
 */
static long
kept_each(const char *text, enum kept_kind kind,
	  void (*fn)(void *ctx, const struct kept_rec *r), void *ctx)
{
	struct kept_rec r;
	json_t *a, *o;
	size_t i;
	long n = 0;
	int rc = 1;

	if (text == NULL || text[0] == '\0')
		return 0;
	a = json_loads(text, 0, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		return -1;
	}
	json_array_foreach(a, i, o) {
		if ((rc = kept_decode(o, kind, &r)) < 0)
			break;
		if (rc > 0) {
			fn(ctx, &r);
			n++;
		}
	}
	json_decref(a);
	return rc < 0 ? -1 : n;
}

struct kept_into {
	struct plan *p;
	/* planned again (a partial compare): the conflicts at these
	 * addresses, the notes of these lists and contacts; or NULL */
	const struct strmap *skip;
};

static void
kept_into_plan(void *ctx, const struct kept_rec *r)
{
	struct kept_into *in = ctx;
	const char *key = r->kind == KEPT_CLASH ? r->u.clash.address
						: r->u.note.by;

	if (in->skip != NULL && strmap_get(in->skip, key) != NULL)
		return;
	if (r->kind == KEPT_CLASH)
		plan_add_clash(in->p, &r->u.clash);
	else
		plan_add_note(in->p, &r->u.note);
}

/*
 * Adds the kept conflicts, then the kept notes, to the plan, but those
 * skip names (see struct kept_into); -1 when unreadable (what was read
 * before is added).
 */
static int
kept_restore(const char *text, struct plan *p, const struct strmap *skip)
{
	struct kept_into in = {p, skip};

	if (kept_each(text, KEPT_CLASH, kept_into_plan, &in) < 0 ||
	    kept_each(text, KEPT_NOTE, kept_into_plan, &in) < 0)
		return -1;
	return 0;
}

/* A conflict's address into f->kept, a note's into f->noted. */
static void
kept_address(void *ctx, const struct kept_rec *r)
{
	struct fastpath *f = ctx;
	struct strmap *m = r->kind == KEPT_CLASH ? &f->kept : &f->noted;
	const char *a = r->kind == KEPT_CLASH ? r->u.clash.address
					      : r->u.note.address;

	if (strmap_get(m, a) == NULL)
		strmap_put(m, arena_strdup(&f->arena, a), m);
}

const struct strmap *
engine_fastpath_kept(struct run *x)
{
	struct fastpath *f = x->fp;

	if (f == NULL || !f->partial || f->old.clashes == NULL)
		return NULL;
	if (!f->kept_made) {
		f->kept_made = true;
		/* unreadable: none here; engine_fastpath_clashes() fails */
		(void)kept_each(f->old.clashes, KEPT_CLASH, kept_address, f);
		(void)kept_each(f->old.clashes, KEPT_NOTE, kept_address, f);
	}
	return &f->kept;
}

const struct strmap *
engine_fastpath_noted(struct run *x)
{
	struct fastpath *f = x->fp;

	if (engine_fastpath_kept(x) == NULL)
		return NULL;
	return &f->noted;
}

const char *
engine_fastpath_part_add(struct run *x, const char *addr)
{
	struct fastpath *f = x->fp;
	const char *k;

	if (f == NULL || !f->partial)
		return NULL;
	if (strmap_get(&f->only, addr) != NULL)
		return NULL;
	k = arena_strdup(&f->arena, addr);
	strmap_put(&f->only, k, (void *)k);
	return k;
}

size_t
engine_fastpath_part_add_objects_of(struct run *x, const struct strmap *anchors)
{
	const struct mset *d = &x->r->rules.desired;
	size_t i, n = 0;

	for (i = 0; anchors->len > 0 && i < d->n; i++) {
		const struct mobj *o = d->v[i];

		if (o->anchor != NULL &&
		    strmap_get(anchors, o->anchor) != NULL &&
		    engine_fastpath_part_add(x, o->address) != NULL)
			n++;
	}
	return n;
}

void
engine_fastpath_part_own(struct run *x)
{
	struct fastpath *f = x->fp;
	struct strmap own = STRMAP_INIT;
	const char *k;
	void *v;
	size_t it = 0;

	if (f == NULL || !f->partial)
		return;
	while (strmap_next(&f->only, &it, &k, &v)) {
		const char *c = arena_strdup(&f->arena, k);

		/* a value is its key (touch) or the managed set (the load) */
		strmap_put(&own, c, v == (const void *)k ? (void *)c : v);
	}
	strmap_free(&f->only);
	f->only = own;
}

int
engine_fastpath_clashes(struct run *x)
{
	struct fastpath *f = x->fp;

	if (f == NULL || !f->partial)
		return 0;
	if (kept_restore(f->old.clashes, &x->r->plan, &f->only) < 0)
		return err_set(&x->r->err, DS_E_INTERNAL, "the conflicts kept "
			       "with run %lld are unreadable; run `dirsync "
			       "sync --full`", f->old.run_id);
	return 0;
}

int
engine_fastpath(struct run *x)
{
	struct run_result *r = x->r;
	struct fastpath *f;
	int rc;

	if (never_fast(x))
		return 0;
	/*
	 * Nothing in scope: allow_empty decides, after a compare, as in a
	 * full one.  The desired set may digest as the verified run's (its
	 * objects all left out already, conflicts only), and the fast
	 * path skipped the limit: `sync` said 0, `sync --full` and `plan`
	 * 3 (a user trial).
	 */
	if (!x->c->safety.allow_empty && r->rules.in_scope == 0) {
		log_msg(x->lvl, "full compare: nothing is in scope "
			"(allow_empty = no decides)");
		return 0;
	}
	if (x->fp != NULL && x->fp->delta) {
		if ((rc = fastpath_delta(x, x->fp)) != 1)
			return rc;
	} else if (x->fp == NULL || !x->fp->early) {
		f = x->fp = xcalloc(1, sizeof(*f));
		set_digest(&r->rules, f);
		if ((rc = fastpath_check(x, f, false)) != 1)
			return rc;
	}
	/* the conflicts it left: reported again, as a full compare would;
	 * so are its notes */
	if (kept_restore(x->fp->old.clashes, &r->plan, NULL) < 0) {
		log_warn("fast path: the conflicts kept with run %lld are "
			 "unreadable: a full compare", x->fp->old.run_id);
		return 0;
	}
	r->fast_path = true;
	r->have_plan = true;   /* an empty one, but for the conflicts */
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
		d = (long long)x->stamp + s->delete_after;
		if (due == 0 || d < due)
			due = d;
	}
	for (i = 0; i < x->r->managed.n; i++) {
		const struct managed_rec *m = &x->r->managed.v[i];

		if (m->disabled_at <= 0 || strmap_get(&done, m->address))
			continue;
		d = m->disabled_at + s->delete_after;
		if (due == 0 || d < due)
			due = d;
	}
	strmap_free(&done);
	return due;
}

/*
 * May a later run compare part of the target?  A partial compare vouches
 * for itself (it ran only when the verified run could); a full one when
 * every row key it read was lower case (the partial load matches keys
 * exactly; dirsync writes only lower case).
 */
static bool
partial_ok(const struct run *x)
{
	if (x->partial)
		return true;
	return x->r->current.stored.len == 0;
}

/* What the record's callbacks read: the desired set, and its pairs when
 * the partial compare kept them (NULL: computed again). */
struct record_src {
	const struct mset *d;
	const uint64_t *pairs;
};

/* A state_name_cb: the address of desired object i. */
static const char *
name_of(void *ctx, size_t i)
{
	return ((const struct record_src *)ctx)->d->v[i]->address;
}

/* A state_pairs_cb: kept pairs, or fill_pairs(). */
static void
pairs_of(void *ctx, size_t from, size_t n, uint64_t *out)
{
	const struct record_src *src = ctx;

	if (src->pairs != NULL)
		memcpy(out, src->pairs + 2 * from, n * 2 * sizeof(*out));
	else
		fill_pairs((void *)src->d, from, n, out);
}

/*
 * A run over a delta records the verified run's pairs and addresses
 * less those at touched addresses, plus the desired set's (which holds
 * the touched objects only): *pairs and *names malloc'd, 0; -1 when the
 * verified run's are not there (no record then: the next run compares
 * everything).
 */
static int
delta_pairs(struct run *x, struct fastpath *f, uint64_t **pairs,
	    const char ***names, size_t *n)
{
	const struct mset *d = &x->r->rules.desired;
	uint64_t *old = NULL;
	const char **oldn;
	size_t nold = 0, alen = 0, i, k = 0;
	struct err e;

	err_clear(&e);
	/* a run over a delta never read them (digest_reason does not run) */
	if (state_verified_objects(x->st, &old, &nold, &f->old_addrs, &alen,
				   &e) != 0 || old == NULL ||
	    f->old_addrs == NULL) {
		free(old);
		return -1;
	}
	if ((oldn = old_names(f, alen, nold)) == NULL) {
		free(old);
		return -1;
	}
	*pairs = xmalloc((nold + d->n + 1) * 2 * sizeof(**pairs));
	*names = xmalloc((nold + d->n + 1) * sizeof(**names));
	for (i = 0; i < nold; i++) {
		if (strmap_get(&f->touched, oldn[i]) != NULL)
			continue;
		(*pairs)[2 * k] = old[2 * i];
		(*pairs)[2 * k + 1] = old[2 * i + 1];
		(*names)[k++] = oldn[i];
	}
	/* the desired set holds the closure's objects: the touched ones
	 * are new, the others are among the verified run's already */
	for (i = 0; i < d->n; i++) {
		if (strmap_get(&f->touched, d->v[i]->address) == NULL)
			continue;
		fill_pairs((void *)d, i, 1, *pairs + 2 * k);
		(*names)[k++] = d->v[i]->address;
	}
	*n = k;
	free(old);
	free(oldn);
	return 0;
}

/*
 * A run over a delta records the objects at the addresses it touched as
 * patches (state_verified_patch): the stored pairs and addresses are
 * neither read nor written, so the record costs what the change costs.
 * 0 recorded; 1 when the patches would pass an eighth of the objects
 * (the caller rewrites the record whole, which folds them in); -1 when
 * the write failed (the record is cleared: the next run compares
 * everything).
 */
static int
delta_patch(struct run *x, struct fastpath *f, const struct state_verified *v)
{
	const struct mset *d = &x->r->rules.desired;
	size_t n = 0, objects = f->have_sums ? (size_t)f->sums[2] : 0;
	struct state_patch *p;
	XXH3_state_t s;
	const char *k;
	void *val;
	size_t it = 0;
	struct err e;
	int rc;

	if ((state_verified_npatches(x->st) + f->touched.len) * 8 > objects)
		return 1;
	p = xcalloc(f->touched.len + 1, sizeof(*p));
	XXH3_INITSTATE(&s);
	while (strmap_next(&f->touched, &it, &k, &val)) {
		const struct mobj *o = mset_get(d, k);

		p[n].address = k;
		if (o != NULL)
			pair_of(&s, o, p[n].pair);
		else
			p[n].gone = true;
		n++;
	}
	err_clear(&e);
	rc = state_verified_patch(x->st, v, p, n, &e);
	free(p);
	if (rc != 0) {
		log_warn("fast path: %s (the next run compares everything)",
			 e.msg);
		if (state_verified_clear(x->st, &e) != 0)
			log_warn("fast path: %s", e.msg);
		return -1;
	}
	return 0;
}

struct delta_src {
	const uint64_t *pairs;
	const char **names;
};

static const char *
delta_name(void *ctx, size_t i)
{
	return ((const struct delta_src *)ctx)->names[i];
}

static void
delta_pairs_of(void *ctx, size_t from, size_t n, uint64_t *out)
{
	memcpy(out, ((const struct delta_src *)ctx)->pairs + 2 * from,
	       n * 2 * sizeof(*out));
}

/*
 * Whether this run changed a row at an address it left in conflict: the
 * conflict may end with the next plan (a leaver's mailbox deleted frees
 * its address for the newcomer who claims it, the run after), so it is
 * not one to report again from the record.
 */
static bool
clash_row_changed(const struct plan *p)
{
	struct strmap at = STRMAP_INIT;
	size_t i;
	bool yes = false;

	if (p->nclashes == 0)
		return false;
	for (i = 0; i < p->nclashes; i++)
		strmap_put(&at, p->clashes[i].address, &at);
	for (i = 0; i < p->n && !yes; i++)
		yes = strmap_get(&at, p->v[i].address) != NULL;
	strmap_free(&at);
	return yes;
}

/*
 * Why this run is not verified, for the next run's "full compare:" line
 * (a user trial: a conflict that lasted made every run a full compare,
 * and -v blamed an exit code that was 0); NULL for no reason worth it.
 */
static char *
unverified_why(const struct run *x)
{
	const struct run_result *r = x->r;

	if (r->exit_code != 0)
		return xasprintf("the last run (%lld) ended with exit %d (it "
				 "failed, stopped at a limit or held removals "
				 "back)", r->run_id, r->exit_code);
	if (x->guard_held)
		return xasprintf("the last run (%lld) held disables or deletes "
				 "back (a time guard)", r->run_id);
	if (x->unverifiable)
		return xasprintf("the last run (%lld) planned lists as the "
				 "target holds them (rules over the delta, with "
				 "a new conflict)", r->run_id);
	if (r->have_plan && clash_row_changed(&r->plan))
		return xasprintf("the last run (%lld) changed a row at an "
				 "address it left in conflict: planned again",
				 r->run_id);
	return NULL;
}

/* This run compared everything and left the target as desired. */
static bool
verified(const struct run *x)
{
	const struct run_result *r = x->r;

	return r->exit_code == 0 && r->have_plan && !r->fast_path &&
	       !x->guard_held && !x->unverifiable &&
	       !clash_row_changed(&r->plan) &&
	       x->tgt != NULL &&
	       x->tops->fingerprint != NULL;
}

void
engine_fastpath_record(struct run *x)
{
	struct fastpath *f = x->fp;
	struct run_result *r = x->r;
	struct state_verified v;
	struct record_src src;
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
		char *why = verified(x) ? NULL : unverified_why(x);

		if (state_verified_clear(x->st, &e) != 0 ||
		    state_meta_put(x->st, "unverified_why", why, &e) != 0)
			log_warn("fast path: %s", e.msg);
		free(why);
		return;
	}
	v.run_id = r->run_id;
	memcpy(v.digest, f->digest, sizeof(v.digest));
	memcpy(v.config, f->config, sizeof(v.config));
	v.verified_at = (long long)x->now;
	v.due = next_due(x);
	/* a partial compare saw only part of the managed set: the verified
	 * run's due stays as well (at worst a full compare comes early) */
	if (x->partial && f->old.due > 0 && (v.due == 0 || f->old.due < v.due))
		v.due = f->old.due;
	v.partial_ok = partial_ok(x);
	memcpy(v.frozen, f->frozen, sizeof(v.frozen));
	/* a partial compare's plan has the kept ones outside its part too
	 * (engine_fastpath_clashes) */
	v.clashes = kept_text(&r->plan);
	/* the pairs only when the set changed: they are what it was */
	same = f->have_old && strcmp(f->old.digest, f->digest) == 0;
	if (f->delta && !same && delta_patch(x, f, &v) <= 0)
		goto done;
	if (f->delta && !same) {     /* past the patches' share: whole */
		struct delta_src ds;
		uint64_t *pairs = NULL;
		const char **names = NULL;
		size_t n = 0;

		if (delta_pairs(x, f, &pairs, &names, &n) != 0) {
			if (state_verified_clear(x->st, &e) != 0)
				log_warn("fast path: %s", e.msg);
			goto done;
		}
		ds.pairs = pairs;
		ds.names = names;
		if (state_verified_put(x->st, &v, delta_pairs_of, delta_name,
				       &ds, n, &e) != 0)
			log_warn("fast path: %s (the next run compares "
				 "everything)", e.msg);
		free(pairs);
		free(names);
		goto done;
	}
	src.d = &r->rules.desired;
	src.pairs = f->pairs != NULL && f->npairs == src.d->n ? f->pairs
								 : NULL;
	if (state_verified_put(x->st, &v, same ? NULL : pairs_of, name_of,
			       &src, src.d->n, &e) != 0)
		log_warn("fast path: %s (the next run compares everything)",
			 e.msg);
done:
	free(v.clashes);
}

void
engine_fastpath_free(struct run *x)
{
	if (x->fp == NULL)
		return;
	strmap_free(&x->fp->only);
	strmap_free(&x->fp->anchors);
	strmap_free(&x->fp->touched);
	strmap_free(&x->fp->touched_anchors);
	arena_free(&x->fp->arena);
	free(x->fp->old_addrs);
	free(x->fp->pairs);
	free(x->fp->old.clashes);
	strmap_free(&x->fp->kept);
	strmap_free(&x->fp->noted);
	kclashes_free(x->fp->kclashes);
	free(x->fp);
	x->fp = NULL;
}

/*
 * The verified run's kept conflicts, for the part: a conflict decides
 * more than the row at its address.  The claimant held back keeps its
 * mailbox at its old address and its list places there (plan.c, hold:
 * rn->moved), which the planner only sees with that claimant's records
 * loaded.  A part that leaves them out plans its lists without the
 * member, and never disables the mailbox of a claimant who left (user
 * trials).
 */
struct kclash {
	const char *address, *anchor, *other;    /* in the fast path's arena */
	/* into the part already: for the run, as the part only grows */
	bool taken;
};

struct kclashes {
	struct fastpath *f;
	struct kclash *v;
	size_t n, cap;
	struct strmap by_addr;      /* -> struct kclash * */
	struct strmap by_anchor;    /* -> struct kanchor *: a person may
				     * be in several conflicts */
};

struct kanchor {
	size_t n, cap;
	struct kclash **v;
};

static void
kanchor_put(struct strmap *m, const char *a, struct kclash *e)
{
	struct kanchor *l = strmap_get(m, a);

	if (l == NULL) {
		l = xcalloc(1, sizeof(*l));
		strmap_put(m, a, l);
	}
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = e;
}

/* fn(arg, e) for each kept conflict e with claimant anchor a. */
static void
kclash_of_anchor(const struct kclashes *k, const char *a,
		 void (*fn)(void *arg, struct kclash *e), void *arg)
{
	const struct kanchor *l = a != NULL ? strmap_get(&k->by_anchor, a)
					    : NULL;
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		fn(arg, l->v[i]);
}

static void
kclash_add(void *ctx, const struct kept_rec *r)
{
	struct kclashes *k = ctx;
	const struct plan_clash *c = &r->u.clash;
	struct kclash *e;

	k->v = xgrow(k->v, &k->cap, k->n + 1, sizeof(*k->v));
	e = &k->v[k->n++];
	e->address = arena_strdup(&k->f->arena, c->address);
	e->anchor = c->anchor != NULL ? arena_strdup(&k->f->arena, c->anchor)
				      : NULL;
	e->other = c->other != NULL ? arena_strdup(&k->f->arena, c->other)
				    : NULL;
	e->taken = false;
}

/*
 * The kept conflicts of f (none: n 0), parsed and indexed on the first
 * call; owned by f (engine_fastpath_free).
 */
static struct kclashes *
kclashes_of(struct fastpath *f)
{
	struct kclashes *k = f->kclashes;
	size_t i;

	if (k != NULL)
		return k;
	k = f->kclashes = xcalloc(1, sizeof(*k));
	k->f = f;
	if (!f->have_old || f->old.clashes == NULL ||
	    kept_each(f->old.clashes, KEPT_CLASH, kclash_add, k) <= 0)
		return k;
	for (i = 0; i < k->n; i++) {
		struct kclash *e = &k->v[i];

		strmap_put(&k->by_addr, e->address, e);
		if (e->anchor != NULL)
			kanchor_put(&k->by_anchor, e->anchor, e);
		if (e->other != NULL)
			kanchor_put(&k->by_anchor, e->other, e);
	}
	return k;
}

static void
kclashes_free(struct kclashes *k)
{
	const char *a;
	void *v;
	size_t it = 0;

	if (k == NULL)
		return;
	free(k->v);
	strmap_free(&k->by_addr);
	while (strmap_next(&k->by_anchor, &it, &a, &v)) {
		free(((struct kanchor *)v)->v);
		free(v);
	}
	strmap_free(&k->by_anchor);
	free(k);
}


/* A goto's walk over the kept conflicts: fn for each one named; with
 * taken, only whether a taken one is (true stops the walk). */
struct kclash_walk {
	const struct kclashes *k;
	void (*fn)(void *arg, struct kclash *e);
	void *arg;
	bool taken;
};

static bool
kclash_named(void *ctx, const char *addr)
{
	struct kclash_walk *w = ctx;
	struct kclash *e = strmap_get(&w->k->by_addr, addr);

	if (e == NULL)
		return false;
	if (w->taken)
		return e->taken;
	w->fn(w->arg, e);
	return false;
}

/*
 * fn(arg, e) for each kept conflict e that o touches: o is at its
 * address, o's anchor is one of its claimants', or o (a list or a
 * contact) names its address.
 */
static void
kclash_touched(const struct kclashes *k, const struct mobj *o,
	       void (*fn)(void *arg, struct kclash *e), void *arg)
{
	struct kclash_walk w = {k, fn, arg, false};
	struct kclash *e;

	if ((e = strmap_get(&k->by_addr, o->address)) != NULL)
		fn(arg, e);
	kclash_of_anchor(k, o->anchor, fn, arg);
	if ((o->kind == MK_LIST || o->kind == MK_CONTACT) && o->gotos != NULL)
		(void)goto_each(o->gotos, kclash_named, &w);
}

static void
kclash_take(void *arg, struct kclash *e)
{
	struct fastpath *f = arg;

	if (e->taken)
		return;
	e->taken = true;
	strmap_put(&f->only, e->address, (void *)e->address);
	if (e->anchor != NULL)
		strmap_put(&f->anchors, e->anchor, (void *)e->anchor);
	if (e->other != NULL)
		strmap_put(&f->anchors, e->other, (void *)e->other);
}

/*
 * One pass over the desired set: the objects of the taken conflicts'
 * claimants (their anchors in claimants), and the lists and contacts
 * naming a taken conflict's address, join the part.
 */
static void
part_add_claimed(struct run *x, const struct kclashes *k,
		 const struct strmap *claimants)
{
	const struct mset *d = &x->r->rules.desired;
	struct kclash_walk w = {k, NULL, NULL, true};
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct mobj *o = d->v[i];

		if ((o->anchor != NULL &&
		     strmap_get(claimants, o->anchor) != NULL) ||
		    ((o->kind == MK_LIST || o->kind == MK_CONTACT) &&
		     o->gotos != NULL && goto_each(o->gotos, kclash_named, &w)))
			engine_fastpath_part_add(x, o->address);
	}
}

/*
 * The kept conflicts the part's objects touch join it, to a fixpoint:
 * its addresses' desired objects, its anchors, and the anchors of the
 * records loaded for it.  Whether the part grew.
 */
static bool
part_add_kept(struct run *x, struct fastpath *f)
{
	struct kclashes *k = kclashes_of(f);
	const struct mobj *o;
	const char *key;
	void *v;
	struct strmap claimants = STRMAP_INIT;
	size_t it, i, before, scanned = 0;
	size_t start = f->only.len + f->anchors.len;

	if (k->n == 0)
		return false;
	for (i = 0; i < x->r->managed.n; i++)
		kclash_of_anchor(k, x->r->managed.v[i].anchor, kclash_take,
				 f);
	do {
		before = f->only.len + f->anchors.len;
		it = 0;
		while (strmap_next(&f->only, &it, &key, &v)) {
			struct kclash *e = strmap_get(&k->by_addr, key);

			if (e != NULL)
				kclash_take(f, e);
			if ((o = mset_get(&x->r->rules.desired, key)) != NULL)
				kclash_touched(k, o, kclash_take, f);
		}
		it = 0;
		while (strmap_next(&f->anchors, &it, &key, &v))
			kclash_of_anchor(k, key, kclash_take, f);
		/* the claimants' objects the conflict held back (their
		 * aliases wait), which have no row to load by anchor yet:
		 * when it ends they are planned too (a user trial: a chain
		 * resolved, the alias of the one at its end never came);
		 * and the lists and contacts naming a conflict's address:
		 * the planner puts a held claimant's old address in its
		 * places (hold: rn->moved), which the rules' goto does not
		 * show, so when the conflict ends the list changes with no
		 * change of its own (a user trial: a cycle resolved, a list
		 * kept the old address).  One pass over the desired set,
		 * only when a conflict was taken since the last one */
		for (i = 0; i < k->n; i++) {
			const struct kclash *e = &k->v[i];

			if (!e->taken)
				continue;
			if (e->anchor != NULL)
				strmap_put(&claimants, e->anchor, &claimants);
			if (e->other != NULL)
				strmap_put(&claimants, e->other, &claimants);
		}
		if (claimants.len > scanned)
			part_add_claimed(x, k, &claimants);
		scanned = claimants.len;
	} while (f->only.len + f->anchors.len != before);
	strmap_free(&claimants);
	return f->only.len + f->anchors.len != start;
}

bool
engine_fastpath_part_kept(struct run *x)
{
	return x->fp != NULL && x->fp->partial && part_add_kept(x, x->fp);
}

static void
kclash_seen(void *arg, struct kclash *e)
{
	(void)e;
	*(bool *)arg = true;
}

bool
engine_fastpath_kept_touched(struct run *x, const struct mset *a,
			     const struct mset *b)
{
	const struct kclashes *k;
	bool seen = false;
	size_t i;

	if (x->fp == NULL)
		return false;
	k = kclashes_of(x->fp);
	for (i = 0; k->n > 0 && !seen && i < a->n; i++)
		kclash_touched(k, a->v[i], kclash_seen, &seen);
	for (i = 0; k->n > 0 && !seen && i < b->n; i++)
		kclash_touched(k, b->v[i], kclash_seen, &seen);
	return seen;
}

struct strmap *
engine_fastpath_part(struct run *x, const struct strmap **anchors)
{
	const char *k;
	void *v;
	size_t it = 0;

	if (x->fp == NULL || !x->fp->partial)
		return NULL;
	if (anchors == NULL)
		return &x->fp->only;
	(void)part_add_kept(x, x->fp);
	/*
	 * For the load: the records of the people whose primary address is
	 * in conflict (few) too; the lists they were in keep them while it
	 * holds, which the planner tells from their records (plan.c,
	 * frozen_member), as in a full compare.  Their rows are left as
	 * they are.
	 */
	while (strmap_next(&x->r->rules.frozen_anchors, &it, &k, &v))
		strmap_put(&x->fp->anchors, k, (void *)k);
	*anchors = &x->fp->anchors;
	return &x->fp->only;
}

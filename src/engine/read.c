/*
 * read.c - the read stage: the whole directory, or what changed since the
 * last read merged into what that read saw.  The rules get the whole
 * directory, entry by entry, so an incremental run's plan, limits and
 * report are those of a full run by construction; or, for an
 * incremental run where that can be exact, only the part the delta
 * touches (rdelta.c, through the snapshot's key index).
 *
 *   full         the source's read() (paged), or, for a source with
 *                sync_read() (OpenLDAP with syncprov), the same search
 *                without a cookie; then each entry also goes into a new
 *                snapshot (state/syncsnap.h) with the cookie.
 *   incremental  sync_read() with the snapshot's cookie: the delta is
 *                read whole into memory first (a failed read leaves the
 *                rules untouched), then either the rules run over what
 *                it touches (delta_rules), or the snapshot's rows minus
 *                what changed or went, then the changed entries, go into
 *                the rules (delta_merge); the same delta is written into
 *                the snapshot, with each row's keys, in a transaction.
 * The new snapshot and cookie are committed by engine_read_finish() only
 * when the run ended with exit 0; otherwise the old ones stay and the
 * next run reads the same delta again.  The rules' delta goes into the
 * snapshot on a thread of its own (snap_writer) while the mail database
 * is loaded and changed, its rows committed ahead marked pending once
 * the limits let the run apply; then a run that fails after that point
 * leaves the mark, and the next run reads the whole directory.  The
 * final commit runs on a thread too (snap_committer), after the mail
 * database's, while the run's history is written.
 *
 * A full read happens, with the reason logged and reported, when there
 * is no snapshot or cookie, on `sync --full`, when [schedule] full_every
 * has passed since the last full read (0: every run), when [source]
 * (what is read), [scope] or [mapping] changed, when the server is not
 * the one the cookie came from (failover), and when the server refuses
 * the cookie (e-syncRefreshRequired) or has no content synchronization.
 * Also when the delta shows a container (an OU) new, renamed, moved or
 * gone: the content-sync search reads containers too and the snapshot
 * keeps them, but the rules never see them (is_container), because a
 * subtree rename changes the DN of every entry below without the server
 * reporting those entries.  And always when the filter or group_filter
 * names memberOf/isMemberOf, which the server changes behind the entry.
 */
#include "engine/stage.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_delta.h"
#include "state/syncsnap.h"
#include "util/buf.h"
#include "util/filter.h"
#include "util/heap.h"
#include "util/progress.h"
#include "util/thread.h"
#include "util/xalloc.h"

/* Entries per run: far above any real directory, far below exhaustion. */
#define MAX_ENTRIES 20000000UL

struct read_ctx {
	struct run *x;
	struct rules_ctx *rules;
	size_t read;
	struct syncsnap *snap;   /* a full read's new snapshot, or NULL */
	struct rules_keyer *keyer;   /* with snap: the rows' index keys */
};

/* An entry's index keys (rules_keys), collected for syncsnap_put. */
struct keys {
	char **v;
	size_t n, cap;
};

static void
keys_add(void *arg, const char *key)
{
	struct keys *k = arg;

	k->v = xgrow(k->v, &k->cap, k->n + 1, sizeof(*k->v));
	k->v[k->n++] = xstrdup(key);
}

/* e (as blob) into the snapshot under uuid, with its keys. */
static int
put_keyed(struct syncsnap *s, struct rules_keyer *ky, const char *uuid,
	  const struct entry *e, const void *blob, size_t len,
	  struct err *err)
{
	struct keys k = {NULL, 0, 0};
	int ret;

	rules_keys(ky, e, keys_add, &k);
	ret = syncsnap_put(s, uuid, blob, len, (const char *const *)k.v, k.n,
			   err);
	while (k.n > 0)
		free(k.v[--k.n]);
	free(k.v);
	return ret;
}

/* A changed entry held until the merge: its blob (syncsnap_encode), and
 * its index keys when the rules over the delta made them. */
struct held {
	const char *uuid;
	void *blob;
	size_t len;
	int64_t *keys;           /* syncsnap_key_hashes; NULL: not made */
	size_t nkeys;
};

struct delta {
	struct arena a;          /* uuid strings */
	struct strmap changed;   /* uuid -> struct held * */
	struct held **v;         /* in the order received */
	size_t n, cap;
	struct strmap deleted;   /* uuid -> (void *)1 */
	struct strmap present;
	const char **gone;       /* snapshot rows to delete */
	size_t ngone, capgone;
	bool present_phase;
	size_t bytes;            /* of the blobs received, for heap_prefault */
};

/* ---- containers -------------------------------------------------- */

/*
 * Containers (OUs and the like) are read by the content-sync search too,
 * and kept in the snapshot, though the rules never see them: renaming or
 * moving one changes the DN of every entry under it, yet only the
 * container gets a new entryCSN (RFC 4533) or is named by DirSync.  A
 * container that is new, renamed, moved or gone in a delta means a full
 * read (read_containers).  The classes are those that hold users and
 * groups in practice; an entry of any other class renamed or moved
 * within the base is asked about (delta_renames: does it hold entries
 * of the read?), one moved in with entries under it is bounded by
 * [schedule] full_every.  Samba answers nothing to a filter naming a
 * class its schema lacks, so AD gets its own list.
 */
static const char *const container_classes[] = {
	"organizationalUnit", "container", "organization", "domain",
	"locality", "country", "nsContainer", NULL,
};
static const char *const ad_container_classes[] = {
	"organizationalUnit", "container", "builtinDomain", NULL,
};
/* Classes the rules take (rules_add): never a container. */
static const char *const taken_classes[] = {
	"user", "person", "inetOrgPerson", "contact", "computer", "group",
	"groupOfNames", "groupOfUniqueNames", NULL,
};

static bool
has_class(const struct attr *oc, const char *const *classes)
{
	size_t i, k;

	/* every entry comes through here: the first letter rules out most */
	for (i = 0; oc != NULL && i < oc->nvals; i++)
		for (k = 0; classes[k] != NULL && oc->vals[i].len > 0; k++)
			if ((oc->vals[i].p[0] | 0x20) == (classes[k][0] | 0x20) &&
			    strlen(classes[k]) == oc->vals[i].len &&
			    strncasecmp(oc->vals[i].p, classes[k],
					oc->vals[i].len) == 0)
				return true;
	return false;
}

/* A container, not anything the rules would take (kept from them). */
static bool
is_container(const struct entry *e)
{
	const struct attr *oc = entry_attr(e, "objectClass");

	return (has_class(oc, container_classes) ||
		has_class(oc, ad_container_classes)) &&
	       !has_class(oc, taken_classes) &&
	       entry_attr(e, "member") == NULL &&
	       entry_attr(e, "uniqueMember") == NULL;
}

/* The content-sync filter: the effective one, or a container.  malloc'd */
char *
engine_sync_filter(const char *filter, bool ad)
{
	const char *const *cl = ad ? ad_container_classes : container_classes;
	struct buf b = BUF_INIT;
	size_t i;

	buf_printf(&b, "(|%s", filter);
	for (i = 0; cl[i] != NULL; i++)
		buf_printf(&b, "(objectClass=%s)", cl[i]);
	buf_adds(&b, ")");
	return buf_steal(&b);
}

/* One more entry read, unless a signal asked to stop or there are too
 * many: 0 or -1. */
static int
count_entry(struct read_ctx *rc, struct err *err)
{
	if (engine_stop_requested)
		return err_set(err, DS_E_SOURCE, "interrupted by a signal");
	if (rc->read >= MAX_ENTRIES)
		return err_set(err, DS_E_SOURCE,
			       "more than %lu entries: refusing to go on",
			       MAX_ENTRIES);
	rc->read++;
	return 0;
}

/* Each entry goes straight into the rules, which keep what they need. */
static int
feed(struct read_ctx *rc, const struct entry *e, struct err *err)
{
	if (count_entry(rc, err) != 0)
		return -1;
	if (!is_container(e))
		rules_add(rc->rules, e);
	progress_update(rc->read);
	return 0;
}

static int
on_entry(void *arg, const struct entry *e, struct err *err)
{
	return feed(arg, e, err);
}

/* ---- full reads -------------------------------------------------- */

/*
 * A full read into a new snapshot: the rules take the entry and hand
 * out its keys as they go (rules_add_keyed); containers, which the rules
 * never see, get theirs from the keyer.
 */
static int
full_changed(void *arg, const char *uuid, const struct entry *e,
	     struct err *err)
{
	struct read_ctx *rc = arg;
	struct keys k = {NULL, 0, 0};
	size_t len;
	void *blob;
	int ret;

	if (count_entry(rc, err) != 0)
		return -1;
	if (is_container(e))
		rules_keys(rc->keyer, e, keys_add, &k);
	else
		rules_add_keyed(rc->rules, e, keys_add, &k);
	progress_update(rc->read);
	blob = syncsnap_encode(e, &len);
	ret = syncsnap_put(rc->snap, uuid, blob, len,
			   (const char *const *)k.v, k.n, err);
	free(blob);
	while (k.n > 0)
		free(k.v[--k.n]);
	free(k.v);
	return ret;
}

static int
full_ignore(void *arg, const char *uuid, struct err *err)
{
	(void)arg;
	(void)uuid;
	(void)err;
	return 0;   /* without a cookie there is nothing to delete */
}

static const struct source_sync_cb full_cbs = {
	full_changed, full_ignore, full_ignore,
};

/*
 * A full read through sync_read() (no cookie) into the rules and a new
 * snapshot: 0, 1 (refused: fall back to the paged read), -1.
 */
/* rules_begin() on the run's result, judging expiry at x->expiry_now. */
static struct rules_ctx *
run_rules_begin(struct run *x)
{
	x->r->rules.now = x->expiry_now;
	return rules_begin(x->c, &x->r->rules, &x->r->err);
}

static int
full_sync(struct run *x, struct source *src, const struct source_ops *sops,
	  const char *filter, const char **keep)
{
	struct run_result *r = x->r;
	struct read_ctx rc = {x, NULL, 0, NULL, NULL};
	struct source_sync sy;
	char *path = syncsnap_path(x->c->state.path), *sfilter;
	int ret;

	memset(&sy, 0, sizeof(sy));
	ret = syncsnap_create(&rc.snap, path, &r->err);
	free(path);
	if (ret != 0)
		return -1;
	if ((rc.keyer = rules_keyer_new(x->c, &r->err)) == NULL ||
	    (rc.rules = run_rules_begin(x)) == NULL) {
		rules_keyer_free(rc.keyer);
		syncsnap_close(rc.snap);
		return -1;
	}
	sfilter = engine_sync_filter(filter, strcmp(r->info.flavor, "ad") == 0);
	ret = sops->sync_read(src, sfilter, keep, &sy, &full_cbs, &rc,
			      &r->err);
	free(sfilter);
	rules_keyer_free(rc.keyer);
	if (ret == 0 && sy.new_cookie == NULL)
		ret = 1, snprintf(sy.reason, sizeof(sy.reason),
				  "%.200s sent no cookie", r->info.server);
	if (ret != 0) {
		rules_abort(rc.rules);
		syncsnap_close(rc.snap);
		free(sy.new_cookie);
		r->read = r->read_entries = rc.read;
		x->sync_unsupported = sy.unsupported;
		if (ret > 0) {
			rules_free(&r->rules);
			rules_init(&r->rules);
			err_clear(&r->err);
			snprintf(r->fallback_reason, sizeof(r->fallback_reason),
				 "%s", sy.reason);
		}
		return ret;
	}
	x->snap = rc.snap;
	x->snap_meta.cookie = sy.new_cookie;
	x->snap_meta.cookie_len = sy.new_cookie_len;
	x->snap_meta.full_at = (long long)x->now;
	r->read = r->read_entries = rc.read;
	return rules_end(rc.rules, &r->err);
}

/* The paged read: every entry into the rules, no snapshot. */
static int
full_paged(struct run *x, struct source *src, const struct source_ops *sops,
	   const char *filter, const char **keep)
{
	struct run_result *r = x->r;
	struct read_ctx rc = {x, NULL, 0, NULL, NULL};

	if ((rc.rules = run_rules_begin(x)) == NULL)
		return -1;
	if (sops->read(src, filter, keep, on_entry, &rc, &r->err) != 0) {
		rules_abort(rc.rules);
		r->read = r->read_entries = rc.read;
		return -1;
	}
	r->read = r->read_entries = rc.read;
	return rules_end(rc.rules, &r->err);
}

/* ---- incremental reads ------------------------------------------- */

/* Address space for an incremental run's heap, advised for huge pages
 * (util/heap.h): its peak at 1M entries is ~130 MB. */
#define HEAP_DELTA_PAD ((size_t)256 << 20)
/* The heap a delta's rules, load and apply take, per byte of the
 * changed entries as the snapshot encodes them: ~127 MB for 8.8 MB at
 * 1M (valgrind --tool=massif, docs/benchmarks.md); populated ahead by
 * heap_prefault() as the entries arrive, a MiB of them at a time. */
#define HEAP_PER_DELTA_BYTE 12

static void
delta_free(struct delta *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i]->blob);
		free(d->v[i]->keys);
	}
	free(d->v);
	free(d->gone);
	strmap_free(&d->changed);
	strmap_free(&d->deleted);
	strmap_free(&d->present);
	arena_free(&d->a);
}

static int
delta_changed(void *arg, const char *uuid, const struct entry *e,
	      struct err *err)
{
	struct delta *d = arg;
	struct held *h = strmap_get(&d->changed, uuid);

	(void)err;
	if (engine_stop_requested)
		return err_set(err, DS_E_SOURCE, "interrupted by a signal");
	if (h == NULL) {
		h = arena_alloc(&d->a, sizeof(*h));
		memset(h, 0, sizeof(*h));
		h->uuid = arena_strdup(&d->a, uuid);
		h->blob = NULL;
		d->v = xgrow(d->v, &d->cap, d->n + 1, sizeof(*d->v));
		d->v[d->n++] = h;
		strmap_put(&d->changed, h->uuid, h);
	}
	free(h->blob);
	h->blob = syncsnap_encode(e, &h->len);
	if (d->bytes == 0 || (d->bytes + h->len) >> 20 != d->bytes >> 20)
		heap_prefault((d->bytes + h->len + (1 << 20)) *
			      HEAP_PER_DELTA_BYTE);
	d->bytes += h->len;
	strmap_del(&d->deleted, uuid);
	/* RFC 4533 3.3.2: in a present phase an entry sent as add/modify
	 * is there too; read_containers drops unmoved containers from
	 * `changed`, and they must not then count as gone */
	if (strmap_get(&d->present, h->uuid) == NULL)
		strmap_put(&d->present, h->uuid, d);
	return 0;
}

static int
delta_deleted(void *arg, const char *uuid, struct err *err)
{
	struct delta *d = arg;
	struct held *h = strmap_del(&d->changed, uuid);

	(void)err;
	if (h != NULL) {
		/* changed, then deleted in the same refresh: gone */
		free(h->blob);
		h->blob = NULL;
	}
	strmap_del(&d->present, uuid);
	if (strmap_get(&d->deleted, uuid) == NULL)
		strmap_put(&d->deleted, arena_strdup(&d->a, uuid), d);
	return 0;
}

static int
delta_present(void *arg, const char *uuid, struct err *err)
{
	struct delta *d = arg;

	(void)err;
	if (strmap_get(&d->present, uuid) == NULL)
		strmap_put(&d->present, arena_strdup(&d->a, uuid), d);
	return 0;
}

static const struct source_sync_cb delta_cbs = {
	delta_changed, delta_deleted, delta_present,
};

/*
 * An old row's DN if it is a container (malloc'd, normalised), else NULL.
 */
static char *
old_container_dn(struct syncsnap *old, const char *uuid, void **scratch,
		 size_t *cap)
{
	struct entry e;
	size_t len;
	void *blob = syncsnap_get(old, uuid, &len);
	char *dn = NULL;

	if (blob != NULL && syncsnap_decode(blob, len, &e, scratch, cap) == 0 &&
	    is_container(&e))
		dn = dn_normalize(e.dn);
	free(blob);
	return dn;
}

/*
 * The containers in a delta (see is_container): one that is new, whose
 * DN changed or that went means a full read (1, why set): the entries
 * under it changed DN without the server saying so, and one moved in
 * from outside the base brings entries the server never reports.  The
 * others (an attribute changed) leave the delta, their rows stay as
 * they are.  0 otherwise.
 */
static int
read_containers(struct delta *d, struct syncsnap *old, const char *base,
		char *why, size_t len)
{
	void *scratch = NULL;
	size_t cap = 0, i, k = 0, it = 0;
	const char *uuid;
	void *val;
	struct entry e;
	char *was, *now;
	int ret = 0;

	for (i = 0; i < d->n && ret == 0; i++) {
		struct held *h = d->v[i];

		d->v[k++] = h;
		if (h->blob == NULL || syncsnap_decode(h->blob, h->len, &e,
						       &scratch, &cap) != 0 ||
		    !is_container(&e))
			continue;
		now = dn_normalize(e.dn);
		was = old_container_dn(old, h->uuid, &scratch, &cap);
		if (was == NULL && base != NULL && strcmp(now, base) == 0) {
			snprintf(why, len, "the base entry %.200s is new (made "
				 "again, or the directory reloaded)", now);
			ret = 1;
		} else if (was == NULL) {
			snprintf(why, len, "an OU was created or moved in: "
				 "%.200s is new under the base (moved in, it "
				 "brings what it holds)", now);
			ret = 1;
		} else if (strcmp(was, now) != 0) {
			snprintf(why, len, "an OU was renamed or moved: %.110s "
				 "is now %.110s", was, now);
			ret = 1;
		} else {
			/* same place: as the snapshot has it */
			strmap_del(&d->changed, h->uuid);
			free(h->blob);
			k--;
		}
		free(was);
		free(now);
	}
	for (; i < d->n; i++)
		d->v[k++] = d->v[i];
	d->n = k;
	while (ret == 0 && strmap_next(&d->deleted, &it, &uuid, &val)) {
		if ((was = old_container_dn(old, uuid, &scratch, &cap)) ==
		    NULL)
			continue;
		snprintf(why, len, "an OU was renamed or moved: %.200s left "
			 "the base or was deleted", was);
		free(was);
		ret = 1;
	}
	free(scratch);
	return ret;
}

/*
 * Groups naming a renamed or moved entry, read again.  Their member
 * values were rewritten by the server (slapd's refint or memberof-refint
 * overlay, AD itself), but overlays write with internal operations that
 * syncprov's session log does not see (and memberof-refint does not even
 * give the group a new entryCSN), so the delta may lack them.  One search
 * per 32 new DNs, with the effective filter, for the groups holding the
 * new DN in member or uniqueMember.
 */
#define RENAME_BATCH 32

static int
rename_group(void *arg, const struct entry *e, struct err *err)
{
	/* the key the source uses: entryUUID (RFC 4533) or objectGUID
	 * (DirSync), in the text form of the rules' anchor */
	char *ndn = dn_normalize(e->dn);
	char *uuid = rules_anchor(e, ndn);
	int ret = strncmp(uuid, "dn:", 3) != 0
			  ? delta_changed(arg, uuid, e, err)
			  : 0;

	free(uuid);
	free(ndn);
	return ret;
}

/* Where groups are read again from (read_delta's connection). */
struct reread {
	struct source *src;
	const struct source_ops *sops;
	const char *filter;
	const char **keep;
	bool ad;
};

/*
 * The groups (within the effective filter) where one of attrs holds one
 * of dns[0..n), read again into the delta: 0 or -1.  what: for the log.
 */
static int
group_search(const struct reread *rr, const char *const *attrs,
	     const char *what, char **dns, size_t n, struct delta *d,
	     struct err *err)
{
	struct buf b = BUF_INIT;
	size_t i, k;
	int ret;

	buf_printf(&b, "(&%s(|", rr->filter);
	for (i = 0; i < n; i++) {
		char *v = filter_escape(dns[i]);

		for (k = 0; attrs[k] != NULL; k++)
			buf_printf(&b, "(%s=%s)", attrs[k], v);
		free(v);
	}
	buf_printf(&b, "))");
	log_debug("groups naming %zu %s entries: %s", n, what, buf_str(&b));
	ret = rr->sops->read(rr->src, buf_str(&b), rr->keep, rename_group, d,
			     err);
	buf_free(&b);
	return ret;
}

/*
 * DNs gathered for one search per RENAME_BATCH: batch_add() searches
 * when the batch is full, batch_end() searches for the rest (unless an
 * earlier step failed) and frees the DNs.  search: rename_search or
 * reread_groups, into d.
 */
struct batch {
	const struct reread *rr;
	int (*search)(const struct reread *rr, char **dns, size_t n,
		      struct delta *d, struct err *err);
	struct delta *d;
	char *dns[RENAME_BATCH];
	size_t n;
};

static void
batch_clear(struct batch *b)
{
	while (b->n > 0)
		free(b->dns[--b->n]);
}

/* dn (copied) into the batch; a full batch is searched: 0 or -1. */
static int
batch_add(struct batch *b, const char *dn, struct err *err)
{
	int ret = 0;

	b->dns[b->n++] = xstrdup(dn);
	if (b->n == RENAME_BATCH) {
		ret = b->search(b->rr, b->dns, b->n, b->d, err);
		batch_clear(b);
	}
	return ret;
}

/* The last search, when ret (the caller's result so far) is 0: ret. */
static int
batch_end(struct batch *b, int ret, struct err *err)
{
	if (b->n > 0 && ret == 0)
		ret = b->search(b->rr, b->dns, b->n, b->d, err);
	batch_clear(b);
	return ret;
}

/* Groups holding the new DNs of renamed entries in a member value. */
static int
rename_search(const struct reread *rr, char **dns, size_t n,
	      struct delta *d, struct err *err)
{
	/* Samba answers nothing at all to a filter naming an attribute
	 * its schema lacks (uniqueMember) */
	static const char *const ad[] = {"member", NULL};
	static const char *const ldap[] = {"member", "uniqueMember", NULL};

	return group_search(rr, rr->ad ? ad : ldap, "renamed", dns, n, d,
			    err);
}

/*
 * The renamed or moved entries of a delta: the groups naming their new
 * DNs read again (rename_search), and a full read (2, why set) when one
 * of them has entries of the read under it, whatever its class: the
 * server reports the entry renamed, not those under it, whose DNs
 * changed too (a person entry holding others, an OU of a class
 * is_container does not know).  Containers were dealt with before
 * (read_containers).  0, or -1 (err).
 */
static int
delta_renames(const struct reread *rr, struct syncsnap *old,
	      struct delta *d, char *why, size_t whylen, struct err *err)
{
	struct batch b = {.rr = rr, .search = rename_search, .d = d};
	size_t i, nchanged = d->n, len;
	void *blob;
	int ret = 0, under;

	for (i = 0; i < nchanged && ret == 0; i++) {
		char *was, *now, *nwas, *nnow;

		if (d->v[i]->blob == NULL ||
		    (blob = syncsnap_get(old, d->v[i]->uuid, &len)) == NULL)
			continue;     /* a new entry: no group names it yet */
		was = syncsnap_dn(blob, len);
		free(blob);
		now = syncsnap_dn(d->v[i]->blob, d->v[i]->len);
		/* the same spelling: the same DN (most changes) */
		if (was != NULL && now != NULL && strcmp(was, now) != 0) {
			nwas = dn_normalize(was);
			nnow = dn_normalize(now);
			if (strcmp(nwas, nnow) != 0 &&
			    rr->sops->has_under != NULL) {
				under = rr->sops->has_under(rr->src, now,
							    rr->filter, err);
				if (under < 0)
					ret = -1;
				if (under > 0) {
					snprintf(why, whylen,
						 "an entry with entries under "
						 "it was renamed or moved: "
						 "%.110s is now %.110s",
						 was, now);
					ret = 2;
				}
			}
			if (ret == 0 && strcmp(nwas, nnow) != 0)
				ret = batch_add(&b, now, err);
			free(nwas);
			free(nnow);
		}
		free(was);
		free(now);
	}
	if (ret == 2) {
		batch_clear(&b);
		return 2;
	}
	return batch_end(&b, ret, err);
}

struct merge {
	struct read_ctx rc;
	struct delta *d;
	size_t kept, gone;
	/* with deletes: group rows held back, and the DNs that went */
	bool hold_groups;
	const char **groups;     /* uuids, in d->a */
	size_t ngroups, capgroups;
	struct strmap gone_dns;  /* normalised DN -> (void *)1, keys in d->a */
	char *container_gone;    /* a container's DN, malloc'd: full read */
	/* present phase: entries reported present and not changed, as
	 * read (before held_groups adds groups read again), and the
	 * snapshot rows among them */
	size_t present_only, present_kept;
};

static bool
is_group_row(const struct entry *e)
{
	return entry_attr(e, "member") != NULL ||
	       entry_attr(e, "uniqueMember") != NULL;
}

/* A snapshot row: kept, replaced by its changed version, or gone. */
static int
merge_row(void *arg, const char *uuid, const struct entry *e,
	  struct err *err)
{
	struct merge *m = arg;
	struct delta *d = m->d;

	if (strmap_get(&d->changed, uuid) != NULL)
		return 0;      /* fed with the changed entries */
	if (strmap_get(&d->deleted, uuid) != NULL ||
	    (d->present_phase && strmap_get(&d->present, uuid) == NULL)) {
		d->gone = xgrow(d->gone, &d->capgone, d->ngone + 1,
				sizeof(*d->gone));
		d->gone[d->ngone++] = arena_strdup(&d->a, uuid);
		m->gone++;
		if (m->container_gone == NULL && is_container(e))
			m->container_gone = dn_normalize(e->dn);
		if (m->hold_groups) {
			char *ndn = dn_normalize(e->dn);

			strmap_put(&m->gone_dns, arena_strdup(&d->a, ndn), d);
			free(ndn);
		}
		return 0;
	}
	m->kept++;
	if (d->present_phase)
		m->present_kept++;
	if (m->hold_groups && is_group_row(e)) {
		m->groups = xgrow(m->groups, &m->capgroups, m->ngroups + 1,
				  sizeof(*m->groups));
		m->groups[m->ngroups++] = arena_strdup(&d->a, uuid);
		return 0;
	}
	return feed(&m->rc, e, err);
}

/* Does e name, in member or uniqueMember, a DN that went? */
static bool
names_gone(const struct entry *e, const struct strmap *gone)
{
	static const char *const attrs[] = {"member", "uniqueMember"};
	size_t k, i;

	for (k = 0; k < 2; k++) {
		const struct attr *a = entry_attr(e, attrs[k]);

		for (i = 0; a != NULL && i < a->nvals; i++) {
			char *v = xstrndup(a->vals[i].p, a->vals[i].len);
			char *ndn = dn_normalize(v);
			bool hit = strmap_get(gone, ndn) != NULL;

			free(ndn);
			free(v);
			if (hit)
				return true;
		}
	}
	return false;
}

/* Groups by their own DN, read again into the delta: 0 or -1. */
static int
reread_groups(const struct reread *rr, char **dns, size_t n,
	      struct delta *d, struct err *err)
{
	/* AD has no entryDN; its distinguishedName matches DNs */
	static const char *const ad[] = {"distinguishedName", NULL};
	static const char *const ldap[] = {"entryDN", NULL};

	return group_search(rr, rr->ad ? ad : ldap, "deleted", dns, n, d,
			    err);
}

/*
 * The held group rows, after the scan: those naming a DN that went are
 * read again from the server (slapd's memberof-refint drops the value
 * with an internal operation that syncprov's session log never sees, so
 * the snapshot's copy would keep naming the DN, and a new entry with
 * that DN would join a group it is not in); the others, and those the
 * server no longer returns, go into the rules as the snapshot has them.
 * The groups read again join the delta, so the merge feeds them and
 * writes them into the snapshot.  0 or -1.
 */
static int
held_groups(struct merge *m, struct syncsnap *old, const struct reread *rr,
	    struct err *err)
{
	struct batch b = {.rr = rr, .search = reread_groups, .d = m->d};
	const char **again = NULL;
	size_t i, nagain = 0, capagain = 0, len, cap = 0;
	void *blob, *scratch = NULL;
	struct entry e;
	int ret = 0;

	for (i = 0; i < m->ngroups && ret == 0; i++) {
		if ((blob = syncsnap_get(old, m->groups[i], &len)) == NULL)
			continue;
		if (syncsnap_decode(blob, len, &e, &scratch, &cap) != 0) {
			free(blob);
			ret = err_set(err, DS_E_INTERNAL, "snapshot row %s "
				      "does not decode", m->groups[i]);
			break;
		}
		if (m->gone_dns.len == 0 || !names_gone(&e, &m->gone_dns)) {
			e.origin = m->rc.x->r->info.server;
			ret = feed(&m->rc, &e, err);
			free(blob);
			continue;
		}
		again = xgrow(again, &capagain, nagain + 1, sizeof(*again));
		again[nagain++] = m->groups[i];
		ret = batch_add(&b, e.dn, err);
		free(blob);
	}
	ret = batch_end(&b, ret, err);
	/* not returned: left the filter meanwhile; as the snapshot has it */
	for (i = 0; i < nagain && ret == 0; i++) {
		if (strmap_get(&m->d->changed, again[i]) != NULL ||
		    (blob = syncsnap_get(old, again[i], &len)) == NULL)
			continue;
		if (syncsnap_decode(blob, len, &e, &scratch, &cap) == 0) {
			e.origin = m->rc.x->r->info.server;
			ret = feed(&m->rc, &e, err);
		}
		free(blob);
	}
	if (nagain > 0)
		log_info("%zu groups naming a deleted entry read again",
			 nagain);
	free(again);
	free(scratch);
	return ret;
}

/* The delta into the old snapshot's transaction (committed later). */
static int
delta_write(const struct conf *c, struct syncsnap *s, const struct delta *d,
	    struct err *err)
{
	struct rules_keyer *ky;
	void *scratch = NULL;
	size_t i, cap = 0;
	struct entry e;
	int ret = -1;

	if (syncsnap_begin(s, err) != 0 ||
	    (ky = rules_keyer_new(c, err)) == NULL)
		return -1;
	for (i = 0; i < d->ngone; i++)
		if (syncsnap_del(s, d->gone[i], err) != 0)
			goto done;
	for (i = 0; i < d->n; i++) {
		if (d->v[i]->blob == NULL)
			continue;
		if (d->v[i]->keys != NULL) {
			/* made by the rules over the delta */
			if (syncsnap_put_hashed(s, d->v[i]->uuid,
						d->v[i]->blob, d->v[i]->len,
						d->v[i]->keys, d->v[i]->nkeys,
						err) != 0)
				goto done;
			continue;
		}
		if (syncsnap_decode(d->v[i]->blob, d->v[i]->len, &e, &scratch,
				    &cap) != 0) {
			err_set(err, DS_E_INTERNAL, "changed entry %s does not "
				"decode", d->v[i]->uuid);
			goto done;
		}
		if (put_keyed(s, ky, d->v[i]->uuid, &e, d->v[i]->blob,
			      d->v[i]->len, err) != 0)
			goto done;
	}
	ret = 0;
done:
	free(scratch);
	rules_keyer_free(ky);
	return ret;
}

/*
 * The delta's rows written into the snapshot on a thread of their own,
 * while the mail database is changed.  The thread alone uses the
 * snapshot until snap_join(); the delta is its own (moved in, freed at
 * the join).  It waits until the limits let the run apply
 * (engine_read_confirm), then marks the snapshot pending and writes the
 * rows without a rollback journal (syncsnap_bulk_begin): a third of the
 * page writes, all off the run's time.  The pending mark is cleared by
 * the final commit after the mail database's; a run that fails or dies
 * in between leaves it, and the next run reads the whole directory.  A
 * run the limits stop never writes the rows: its snapshot stays as it
 * was, and the next run reads the same changes.  A run that succeeds
 * without applying (nothing to apply) has them written by snap_join(),
 * journaled, for the final commit.  A write that fails removes the
 * snapshot (the next run reads whole).
 */
struct snap_writer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go;          /* 0 undecided, 1 write the rows pending, -1 not */
	bool wrote;      /* the rows were written (or their write failed) */
	bool pending;    /* the snapshot was marked pending */
	bool inline_;    /* no thread: the rows were written by the caller */
	const struct conf *c;
	struct syncsnap *s;
	struct delta d;
	struct err err;
	int rc;
};

static void *
snap_write_main(void *arg)
{
	struct snap_writer *w = arg;
	int go;

	pthread_mutex_lock(&w->mu);
	while (w->go == 0)
		pthread_cond_wait(&w->cv, &w->mu);
	go = w->go;
	pthread_mutex_unlock(&w->mu);
	if (go <= 0)
		return NULL;
	w->wrote = true;
	if ((w->rc = syncsnap_bulk_begin(w->s, &w->err)) != 0)
		return NULL;
	w->pending = true;
	if ((w->rc = delta_write(w->c, w->s, &w->d, &w->err)) == 0)
		w->rc = syncsnap_bulk_commit(w->s, &w->err);
	return NULL;
}

static void
snap_decide(struct snap_writer *w, int go)
{
	pthread_mutex_lock(&w->mu);
	if (w->go == 0)
		w->go = go;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Starts the write of *d (moved into the writer; *d left empty).
 * When no thread can be started (EAGAIN: a thread or memory limit),
 * the rows are written here and now, as before the writer had a
 * thread, and never committed ahead pending: snap_join() reports
 * the write's result as the thread's.
 */
static void
snap_write_start(struct run *x, struct syncsnap *s, struct delta *d)
{
	struct snap_writer *w = xcalloc(1, sizeof(*w));
	int e;

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->c = x->c;
	w->s = s;
	w->d = *d;
	memset(d, 0, sizeof(*d));
	err_clear(&w->err);
	if ((e = thread_spawn(&w->th, snap_write_main, w)) != 0) {
		log_info("snapshot writer: no thread (%s): the rows are "
			 "written before the mail database is loaded",
			 strerror(e));
		w->inline_ = true;
		w->go = -1;
		w->wrote = true;
		w->rc = delta_write(w->c, w->s, &w->d, &w->err);
	}
	x->snapw = w;
}

void
engine_read_confirm(struct run *x)
{
	if (x->snapw != NULL)
		snap_decide(x->snapw, 1);
}

/*
 * Waits for the snapshot writer, if any: 0, or -1 with err (its error).
 * Undecided, it writes nothing; the rows are then written here, into
 * the transaction the final commit ends, when want_rows.  *pending: the
 * snapshot was marked pending.
 */
static int
snap_join(struct run *x, bool want_rows, bool *pending, struct err *err)
{
	struct snap_writer *w = x->snapw;
	int rc;

	*pending = false;
	if (w == NULL)
		return 0;
	snap_decide(w, -1);
	if (!w->inline_)
		pthread_join(w->th, NULL);
	x->snapw = NULL;
	if (!w->wrote && want_rows)
		w->rc = delta_write(w->c, w->s, &w->d, &w->err);
	rc = w->rc;
	*pending = w->pending;
	if (rc != 0)
		*err = w->err;
	delta_free(&w->d);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	return rc;
}

/* ---- the rules over the delta (rdelta.c) --------------------------- */

static void
uuid_add(void *arg, const char *uuid)
{
	struct strmap *m = arg;

	if (strmap_get(m, uuid) == NULL)
		strmap_put(m, xstrdup(uuid), m);
}

/*
 * What held_groups() does for a merge, through the snapshot's index
 * (rules_keys' "m:" keys) instead of a scan: the groups naming a DN that
 * went are read again from the server into the delta.  Those the server
 * no longer returns stay as the snapshot has them (the closure of the
 * rules over the delta takes them from there).  0 or -1.
 */
static int
gone_groups(struct syncsnap *old, struct delta *d, const struct reread *rr,
	    struct err *err)
{
	struct strmap groups = STRMAP_INIT;
	struct batch b = {.rr = rr, .search = reread_groups, .d = d};
	void *blob;
	size_t len, it = 0;
	const char *uuid;
	void *v;
	int ret = 0;

	while (ret == 0 && strmap_next(&d->deleted, &it, &uuid, &v)) {
		char *dn, *ndn, *key;

		if ((blob = syncsnap_get(old, uuid, &len)) == NULL)
			continue;
		if ((dn = syncsnap_dn(blob, len)) != NULL) {
			ndn = dn_normalize(dn);
			key = xasprintf("m:%s", ndn);
			ret = syncsnap_find(old, key, uuid_add, &groups, err);
			free(key);
			free(ndn);
			free(dn);
		}
		free(blob);
	}
	it = 0;
	while (ret == 0 && strmap_next(&groups, &it, &uuid, &v)) {
		char *dn;

		if (strmap_get(&d->changed, uuid) != NULL ||
		    strmap_get(&d->deleted, uuid) != NULL ||
		    (blob = syncsnap_get(old, uuid, &len)) == NULL)
			continue;
		if ((dn = syncsnap_dn(blob, len)) != NULL)
			ret = batch_add(&b, dn, err);
		free(dn);
		free(blob);
	}
	ret = batch_end(&b, ret, err);
	if (groups.len > 0)
		log_info("%zu groups naming a deleted entry read again",
			 groups.len);
	it = 0;
	while (strmap_next(&groups, &it, &uuid, &v))
		free((char *)uuid);
	strmap_free(&groups);
	return ret;
}

/*
 * The rules over what the delta touches: 0 done (the snapshot's
 * transaction holds the delta), 1 not taken (the whole snapshot goes
 * through the rules: delta_merge), -1.
 */
static int
delta_rules(struct run *x, struct syncsnap *old,
	    const struct syncsnap_meta *meta, struct delta *d,
	    const struct reread *rr)
{
	struct run_result *r = x->r;
	struct rdelta_in *in;
	size_t i, n = 0, it = 0;
	const char *uuid;
	void *v;
	int rc;

	if (x->o->readonly || d->present_phase || meta->summary == NULL)
		return 1;
	if (d->deleted.len > 0 && gone_groups(old, d, rr, &r->err) != 0)
		return -1;
	in = xcalloc(d->n + d->deleted.len + 1, sizeof(*in));
	for (i = 0; i < d->n; i++) {
		in[n].uuid = d->v[i]->uuid;
		in[n].blob = d->v[i]->blob;
		in[n++].len = d->v[i]->len;
	}
	while (strmap_next(&d->deleted, &it, &uuid, &v))
		if (strmap_get(&d->changed, uuid) == NULL) {
			in[n].uuid = uuid;
			in[n++].blob = NULL;
		}
	rc = engine_rules_delta(x, old, meta, in, n);
	for (i = 0; i < n; i++) {
		if (rc == 0 && i < d->n) {
			d->v[i]->keys = in[i].keys;
			d->v[i]->nkeys = in[i].nkeys;
		} else {
			free(in[i].keys);
		}
	}
	free(in);
	/* a lookup that failed was taken for a row not there */
	if (rc == 0 && syncsnap_get_check(old, &r->err) != 0)
		rc = -1;
	if (rc != 0)
		return rc;
	it = 0;
	while (strmap_next(&d->deleted, &it, &uuid, &v)) {
		d->gone = xgrow(d->gone, &d->capgone, d->ngone + 1,
				sizeof(*d->gone));
		d->gone[d->ngone++] = uuid;
	}
	r->read_entries = d->n;   /* with the groups read again */
	snap_write_start(x, old, d);
	return 0;
}

/*
 * Nothing added, changed or gone since the snapshot.  A present phase
 * never is: as many entries reported present as the snapshot has rows
 * may still hide one gone and one it never saw (merge_present_unknown).
 */
static bool
delta_empty(const struct delta *d, const struct syncsnap_meta *m)
{
	(void)m;
	return d->n == 0 && d->deleted.len == 0 && !d->present_phase;
}

/* A present phase found a container gone: 1, a full read instead. */
static int
merge_container_gone(struct run *x, struct merge *m)
{
	struct run_result *r = x->r;

	snprintf(r->fallback_reason, sizeof(r->fallback_reason),
		 "an OU was renamed or moved: %.200s left the base or was "
		 "deleted (not reported present)", m->container_gone);
	r->read = 0;
	r->read_deleted = 0;
	return 1;
}

/*
 * A present phase reported as unchanged since the cookie (present, not
 * add/modify) entries the snapshot lacks: the server's content is not
 * what the cookie says it was (a restore from backup or an offline
 * reload, an ACL now showing more to the bind DN).  Such entries would
 * be left out of the merge: 1, a full read instead.
 */
static int
merge_present_unknown(struct run *x, const struct merge *m)
{
	size_t unknown;

	if (!m->d->present_phase || m->present_only <= m->present_kept)
		return 0;
	unknown = m->present_only - m->present_kept;
	snprintf(x->r->fallback_reason, sizeof(x->r->fallback_reason),
		 "the server reports %zu entries as unchanged since the last "
		 "read that the last read did not see: the directory was "
		 "restored or reloaded, or the bind DN's access changed",
		 unknown);
	x->r->read = 0;
	x->r->read_deleted = 0;
	return 1;
}

/* Snapshot + delta -> the rules.  0, 1 (a full read instead), -1. */
static int
delta_merge(struct run *x, struct syncsnap *old, struct delta *d,
	    const struct reread *rr)
{
	struct run_result *r = x->r;
	struct merge m;
	struct entry e;
	void *scratch = NULL;
	size_t cap = 0, i;
	int ret = -1;

	memset(&m, 0, sizeof(m));
	m.rc.x = x;
	m.d = d;
	m.hold_groups = d->deleted.len > 0 || d->present_phase;
	/* `present` holds the changed entries too (delta_changed) */
	if (d->present.len > d->changed.len)
		m.present_only = d->present.len - d->changed.len;
	if ((m.rc.rules = run_rules_begin(x)) == NULL)
		return -1;
	if (syncsnap_scan(old, merge_row, &m, &r->err) != 0 ||
	    (m.hold_groups && held_groups(&m, old, rr, &r->err) != 0))
		goto fail;
	if (m.container_gone != NULL) {
		ret = merge_container_gone(x, &m);
		goto fail;
	}
	if (merge_present_unknown(x, &m) != 0) {
		ret = 1;
		goto fail;
	}
	for (i = 0; i < d->n; i++) {
		if (d->v[i]->blob == NULL)
			continue;      /* deleted after it changed */
		if (syncsnap_decode(d->v[i]->blob, d->v[i]->len, &e, &scratch,
				    &cap) != 0) {
			err_set(&r->err, DS_E_INTERNAL, "changed entry %s does "
				"not decode", d->v[i]->uuid);
			goto fail;
		}
		e.origin = r->info.server;
		if (feed(&m.rc, &e, &r->err) != 0)
			goto fail;
	}
	free(scratch);
	scratch = NULL;
	r->read = m.rc.read;
	r->read_deleted = m.gone;
	if (rules_end(m.rc.rules, &r->err) != 0)
		goto done;
	m.rc.rules = NULL;
	ret = 0;
	if (!x->o->readonly)
		ret = delta_write(x->c, old, d, &r->err);
	goto done;
fail:
	free(scratch);
	rules_abort(m.rc.rules);
	if (ret > 0) {
		rules_free(&x->r->rules);
		rules_init(&x->r->rules);
	}
done:
	free(m.groups);
	free(m.container_gone);
	strmap_free(&m.gone_dns);
	return ret;
}

/*
 * The snapshot failed while it was read (a torn write, a disk error:
 * "database disk image is malformed").  Losing it costs one full read,
 * like a lost one: what went into the rules is dropped, the reason is
 * logged and reported, and the full read writes a new snapshot.
 */
static void
snapshot_damaged(struct run *x)
{
	struct run_result *r = x->r;
	char buf[1400];

	snprintf(r->fallback_reason, sizeof(r->fallback_reason),
		 "the snapshot of the last read is damaged (%.200s)",
		 err_fmt(&r->err, buf, sizeof(buf)));
	err_clear(&r->err);
	rules_free(&r->rules);
	rules_init(&r->rules);
	r->read = r->read_entries = r->read_deleted = 0;
}

/*
 * What changed since the snapshot's cookie, merged: 0 done (x->snap
 * holds the transaction to commit), 1 refused or the snapshot unreadable
 * (r->fallback_reason), -1.
 */
static int
read_delta(struct run *x, struct source *src, const struct source_ops *sops,
	   const char *filter, const char **keep, struct syncsnap *old,
	   const struct syncsnap_meta *meta)
{
	struct run_result *r = x->r;
	struct source_sync sy;
	struct delta d;
	char *sfilter = engine_sync_filter(filter, strcmp(r->info.flavor, "ad") == 0);
	struct reread rr = {src, sops, filter, keep,
			    strcmp(r->info.flavor, "ad") == 0};
	struct syncsnap_counter *counter;
	struct err count_err;
	char *base;
	int ret, count_rc;

	/* what follows allocates ~130 MB in seconds at 1M entries */
	heap_hugepages(HEAP_DELTA_PAD);
	memset(&sy, 0, sizeof(sy));
	memset(&d, 0, sizeof(d));
	sy.cookie = meta->cookie;
	sy.cookie_len = meta->cookie_len;
	/* the snapshot's rows counted while the server answers */
	counter = syncsnap_count_start(old);
	ret = sops->sync_read(src, sfilter, keep, &sy, &delta_cbs, &d,
			      &r->err);
	err_clear(&count_err);
	engine_log_rss("delta read");
	count_rc = syncsnap_count_join(counter, old, &count_err);
	free(sfilter);
	base = x->c->source.base_dn != NULL
		       ? dn_normalize(x->c->source.base_dn)
		       : NULL;
	if (ret == 0 && read_containers(&d, old, base, r->fallback_reason,
					sizeof(r->fallback_reason)) != 0)
		ret = 2;
	free(base);
	if (ret == 0 && sy.new_cookie == NULL) {
		/* no new cookie: the old one still stands (RFC 4533 3.3.1) */
		sy.new_cookie = xmalloc(meta->cookie_len + 1);
		memcpy(sy.new_cookie, meta->cookie, meta->cookie_len + 1);
		sy.new_cookie_len = meta->cookie_len;
	}
	if (ret != 0) {
		if (ret == 1) {
			err_clear(&r->err);
			snprintf(r->fallback_reason, sizeof(r->fallback_reason),
				 "%s", sy.reason);
		} else if (ret < 0) {
			/* the incremental read failed: the report says so,
			 * with what arrived before (a full read does not
			 * follow) */
			r->read_mode = "incremental";
			r->read_entries = d.n;
		}
		free(sy.new_cookie);
		delta_free(&d);
		return ret > 0 ? 1 : ret;
	}
	d.present_phase = sy.present_phase;
	ret = delta_renames(&rr, old, &d, r->fallback_reason,
			    sizeof(r->fallback_reason), &r->err);
	if (ret == 2) {
		free(sy.new_cookie);
		delta_free(&d);
		return 1;       /* a full read */
	}
	r->read_entries = d.n;
	if (ret == 0 && delta_empty(&d, meta) &&
	    engine_shortcut(x, meta->summary)) {
		x->snap_meta.summary = xstrdup(meta->summary);
		x->snap_meta.entries = meta->entries;
	} else if (ret == 0) {
		/* a run over part of the snapshot would not see rows gone
		 * from it or come into it behind dirsync's back; the whole
		 * read (delta_merge) checks the same as it goes */
		if (count_rc != 0) {
			r->err = count_err;
			ret = -1;
		}
		if (ret == 0)
			ret = delta_rules(x, old, meta, &d, &rr);
		if (ret == 1) {
			ret = delta_merge(x, old, &d, &rr);
			/* with the groups read again */
			r->read_entries = d.n;
			if (ret == 0 && syncsnap_get_check(old, &r->err) != 0)
				ret = -1;
		}
		if (ret != 0 && r->err.code == DS_E_STATE) {
			snapshot_damaged(x);
			free(sy.new_cookie);
			delta_free(&d);
			return 1;
		}
	}
	delta_free(&d);
	if (ret != 0) {
		free(sy.new_cookie);
		return ret;     /* 1: a container went (delta_merge) */
	}
	r->read_mode = "incremental";
	x->snap_meta.cookie = sy.new_cookie;
	x->snap_meta.cookie_len = sy.new_cookie_len;
	x->snap_meta.full_at = meta->full_at;
	log_msg(x->lvl, "incremental read: %zu entries from the server, "
		"%zu gone, %zu in all%s", r->read_entries, r->read_deleted,
		r->read, sy.present_phase ? " (present phase)" : "");
	return 0;
}

/* ---- which read ---------------------------------------------------- */

/* NULL: an incremental read may be tried (*old open); else why not. */
static const char *
full_reason(struct run *x, struct syncsnap **old, struct syncsnap_meta *m)
{
	const struct conf *c = x->c;
	char *path;
	const char *why = NULL;
	struct err e;
	int rc;

	if (x->o->full)
		return x->o->full_why != NULL
			       ? x->o->full_why
			       : "a full read was asked for (--full)";
	if (c->schedule.full_every == 0)
		return "[schedule] full_every = 0: every read is full";
	path = syncsnap_path(c->state.path);
	err_clear(&e);
	rc = syncsnap_open(old, path, x->o->readonly, m, &why, &e);
	free(path);
	if (rc == 0 && !x->o->readonly && syncsnap_hold(*old, &e) != 0) {
		syncsnap_close(*old);
		*old = NULL;
		rc = -1;
	}
	if (rc < 0) {
		char buf[1400];

		log_warn("snapshot of the last read: %s",
			 err_fmt(&e, buf, sizeof(buf)));
		return "the snapshot of the last read could not be opened";
	}
	if (rc > 0)
		return why;
	if (strcmp(m->conf_hash, x->snap_meta.conf_hash) != 0)
		return "[source], [scope] or [mapping] changed since the last "
		       "read (or an older dirsync indexed the snapshot)";
	if (x->now - m->full_at >= c->schedule.full_every ||
	    x->now < m->full_at)
		return "[schedule] full_every has passed since the last full "
		       "read";
	return NULL;
}

static void
log_fallback(struct run *x, bool expected)
{
	struct run_result *r = x->r;

	/* info reaches the daemon's syslog and `-v`; the report has it */
	if (expected || x->sync_unsupported)
		log_info("full read: %s", r->fallback_reason);
	else
		log_warn("full read: %s", r->fallback_reason);
}

/*
 * Removes the snapshot of the last read, so that the next read is whole:
 * `why` says, for the log, why it no longer describes what the mail
 * database was made from.  Returns 1 when a file was removed, 0 when
 * there was none, -1 with err set when it could not be removed.
 */
static int
last_snapshot_remove(struct run *x, const char *why, struct err *err)
{
	char *path = syncsnap_path(x->c->state.path);
	int rc;

	rc = syncsnap_remove(path, err);
	if (rc > 0)
		log_info("%s: removed: %s; the next read is whole", path, why);
	free(path);
	return rc;
}

/* The full read, preferably one that leaves a cookie behind. */
static int
read_full(struct run *x, struct source *src, const struct source_ops *sops,
	  const char *filter, const char **keep)
{
	int rc;

	if (sops->sync_read != NULL && !x->o->readonly) {
		rc = full_sync(x, src, sops, filter, keep);
		if (rc <= 0)
			return rc;
		log_fallback(x, false);
		log_info("incremental reads are off until that changes");
		/*
		 * The plain read that follows is what this run applies, and
		 * the last snapshot no longer says what the mail database
		 * was made from: kept, the next run's content sync, answered
		 * from its cookie (nothing changed, when the contextCSN
		 * lags after an offline slapadd or a restore), would apply
		 * the rules to the old rows and undo this run (a user
		 * trial: a mailbox this run added disabled as deleted by
		 * the next).  A server with no content sync at all logs no
		 * change either.  So the snapshot goes whatever the refusal
		 * (syncsnap_remove), and the next read is whole, until one
		 * ends with a cookie again.
		 */
		if (last_snapshot_remove(x, x->sync_unsupported
					 ? "its cookie would not say what "
					   "changes while the server has no "
					   "content sync"
					 : "it is not what this run read",
					 &x->r->err) < 0)
			return -1;
	}
	return full_paged(x, src, sops, filter, keep);
}

/*
 * A source without content sync whose whole content has an identifier
 * (an LDIF file's hash): when it is the one the last successful run read,
 * with the same settings, the rules would say the same again
 * (shortcut.c decides).  1 when the run needs no read, else 0.
 */
#define READ_SUMMARY "read_summary"

static int
read_unchanged(struct run *x, struct source *src,
	       const struct source_ops *sops)
{
	char *rec = NULL;
	json_t *j = NULL;
	const char *id = NULL, *conf = NULL, *summary = NULL;
	struct err e;
	int rc = 0;

	err_clear(&e);
	if (sops->content_id == NULL || x->o->readonly ||
	    sops->content_id(src, x->content_id, sizeof(x->content_id),
			     &e) != 0) {
		x->content_id[0] = '\0';
		return 0;
	}
	if (state_meta_get(x->st, READ_SUMMARY, &rec, &e) != 0 ||
	    rec == NULL || (j = json_loads(rec, 0, NULL)) == NULL ||
	    json_unpack(j, "{s:s, s:s, s:s}", "content", &id, "conf", &conf,
			"summary", &summary) != 0)
		goto done;
	if (strcmp(id, x->content_id) == 0 &&
	    strcmp(conf, x->snap_meta.conf_hash) == 0 &&
	    engine_shortcut(x, summary)) {
		x->r->read_mode = "full";
		log_debug("%s: content %s, as the last run read it",
			  x->r->info.server, x->content_id);
		rc = 1;
	}
done:
	json_decref(j);
	free(rec);
	return rc;
}

/* After the run: what the next one compares with (read_unchanged). */
static void
read_unchanged_record(struct run *x)
{
	char *summary = NULL, *rec = NULL;
	json_t *j;
	struct err e;

	if (x->content_id[0] == '\0' || x->r->rules_skipped || x->st == NULL)
		return;
	err_clear(&e);
	if (x->r->exit_code == 0 &&
	    (summary = engine_summary_encode(x)) != NULL &&
	    (j = json_pack("{s:s, s:s, s:s}", "content", x->content_id,
			   "conf", x->snap_meta.conf_hash, "summary",
			   summary)) != NULL) {
		rec = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	if (state_meta_put(x->st, READ_SUMMARY, rec, &e) != 0)
		log_warn("state: %s (the next run reads everything)", e.msg);
	free(rec);
	free(summary);
}

/*
 * The settings the snapshot depends on, and the attributes it holds (a
 * new dirsync may ask for more): either changed means a full read.
 */
static void
conf_hash(struct run *x, const char **keep)
{
	char h[32];
	unsigned long long v = 1469598103934665603ULL;   /* FNV-1a */
	const char *p;
	size_t i;

	syncsnap_conf_hash(x->c, h, sizeof(h));
	for (p = h; *p; p++)
		v = (v ^ (unsigned char)*p) * 1099511628211ULL;
	/* the snapshot's keys as this build makes them */
	for (p = RULES_KEYS_VERSION; *p; p++)
		v = (v ^ (unsigned char)*p) * 1099511628211ULL;
	for (i = 0; keep[i] != NULL; i++)
		for (p = keep[i]; ; p++) {
			v = (v ^ (unsigned char)*p) * 1099511628211ULL;
			if (*p == '\0')
				break;
		}
	snprintf(x->snap_meta.conf_hash, sizeof(x->snap_meta.conf_hash),
		 "%016llx", v);
}

/*
 * A filter (or group_filter) naming memberOf: the server changes it
 * without a change to the entry (no entryCSN, not named by DirSync), so
 * a delta would miss users joining or leaving the group.  true with the
 * reason in out: every read is full.
 */
static bool
backlink_reason(const struct conf *c, const char *filter, char *out,
		size_t len)
{
	const char *a = source_backlink_attr(c, filter);

	if (a == NULL)
		return false;
	snprintf(out, len, "incremental reads are off: the filter or "
		 "[mapping] group_filter uses %s, which the server updates "
		 "without a change to the entry itself, so every read is full",
		 a);
	return true;
}

int
engine_read(struct run *x, const struct source_ops *sops)
{
	struct run_result *r = x->r;
	struct syncsnap *old = NULL;
	struct syncsnap_meta meta;
	struct source *src = NULL;
	const char *why = NULL, *filter;
	const char **keep = NULL;
	char backlink[256];
	int ret = -1;

	memset(&meta, 0, sizeof(meta));
	r->read_mode = "full";
	keep = rules_attrs(x->c);
	conf_hash(x, keep);
	if (sops->sync_read != NULL)
		why = full_reason(x, &old, &meta);
	err_where(&r->err, "open source");
	if (sops->open(&src, x->c, &r->info, &r->err) != 0)
		goto done;
	err_clear(&r->err);
	snprintf(x->snap_meta.server, sizeof(x->snap_meta.server), "%s",
		 r->info.server);
	filter = source_effective_filter(x->c, &r->info);
	if (sops->sync_read != NULL && backlink_reason(x->c, filter, backlink,
						       sizeof(backlink)))
		why = backlink;
	progress_start("reading directory");
	if (old != NULL && why == NULL &&
	    strcmp(meta.server, r->info.server) != 0) {
		snprintf(r->fallback_reason, sizeof(r->fallback_reason),
			 "the server is %.140s, the cookie came from %.140s",
			 r->info.server, meta.server);
	} else if (old != NULL && why == NULL) {
		ret = read_delta(x, src, sops, filter, keep, old, &meta);
		if (ret == 0) {
			x->snap = x->o->readonly ? NULL : old;
			if (x->snap == NULL)
				syncsnap_close(old);
			old = NULL;
		}
		if (ret <= 0)
			goto done;
		/* a full read follows: glibc's own padding for it */
		heap_hugepages_end();
	} else if (why != NULL) {
		snprintf(r->fallback_reason, sizeof(r->fallback_reason), "%s",
			 why);
	}
	syncsnap_close(old);
	old = NULL;
	if (sops->sync_read != NULL)
		log_fallback(x, why != NULL && strstr(why, "changed") == NULL);
	else if (read_unchanged(x, src, sops)) {
		ret = 0;
		goto done;
	}
	ret = read_full(x, src, sops, filter, keep);
done:
	progress_done();
	syncsnap_close(old);
	syncsnap_meta_free(&meta);
	if (src != NULL)
		sops->close(src);
	free(keep);
	if (ret != 0 && r->err.code == DS_OK)
		r->err.code = DS_E_SOURCE;
	return ret;
}

/*
 * The snapshot's commit on a thread of its own, while the run's history
 * and verified record are written to the state (the commit's syncs, and
 * after a full read the sort of its index, are then off the run's
 * time).  After the mail database's commit, as before: a snapshot never
 * claims a read the mail database did not take.  The thread owns the
 * snapshot and its meta until engine_read_wait().
 */
struct snap_committer {
	pthread_t th;
	struct syncsnap *s;
	struct syncsnap_meta meta;
	struct err err;
	int rc;
};

static void *
snap_commit_main(void *arg)
{
	struct snap_committer *c = arg;

	c->rc = syncsnap_commit(c->s, &c->meta, &c->err);
	return NULL;
}

/* 0: the commit runs on its thread (x->snap and x->snap_meta moved);
 * -1: no thread, commit inline. */
static int
snap_commit_start(struct run *x)
{
	struct snap_committer *c = xcalloc(1, sizeof(*c));
	int e;

	c->s = x->snap;
	c->meta = x->snap_meta;
	err_clear(&c->err);
	if ((e = thread_spawn(&c->th, snap_commit_main, c)) != 0) {
		log_info("snapshot commit: no thread (%s): committed before "
			 "the run's record", strerror(e));
		free(c);
		return -1;
	}
	x->snap = NULL;
	memset(&x->snap_meta, 0, sizeof(x->snap_meta));
	x->snapc = c;
	return 0;
}

void
engine_read_finish(struct run *x)
{
	struct err e;
	char buf[1400];
	bool pending, read_ok;

	read_unchanged_record(x);
	err_clear(&e);
	/* a run that held removals back (hold_removals) read the whole
	 * directory as a sync that applied everything did: its snapshot
	 * is kept (found by a user trial: it was left pending, and every
	 * later run read the whole directory, saying the mail database
	 * changes had failed) */
	read_ok = engine_run_read_ok(x->r);
	if (snap_join(x, read_ok, &pending, &e) != 0) {
		/* what went into the rules was read whole; the file may be
		 * damaged where it was written: made anew by a full read */
		snprintf(x->r->snapshot_warning,
			 sizeof(x->r->snapshot_warning),
			 "snapshot of this read not saved, and removed (the "
			 "next run reads the whole directory): %.300s",
			 err_fmt(&e, buf, sizeof(buf)));
		log_warn("%s", x->r->snapshot_warning);
		syncsnap_discard(x->snap);
		x->snap = NULL;
	}
	if (x->snap == NULL)
		goto done;
	err_clear(&e);
	if (!x->r->rules_skipped) {
		x->snap_meta.summary = engine_summary_encode(x);
		x->snap_meta.entries = (long long)x->r->read;
	}
	if (!read_ok && pending) {
		log_info("the snapshot's rows of this read were being written "
			 "when the run failed: the next run reads the whole "
			 "directory");
	} else if (!read_ok && x->r->read_mode != NULL &&
		   strcmp(x->r->read_mode, "incremental") == 0) {
		log_info("the snapshot and cookie of the last read are "
			 "kept: the next run reads the same changes again");
	} else if (!read_ok) {
		/*
		 * A whole read that was not applied (a limit stop, a failed
		 * apply): the last snapshot predates what it saw, and its
		 * cookie, answered with the changes since, cannot say what a
		 * restore, an offline reload or an ACL change did (found by
		 * a user trial: after a restore, `sync --full` stopped at
		 * max_deletes, and the next run, and `dirsync approve`, went
		 * on from the old snapshot: "nothing to change", the leavers
		 * kept their mailboxes).  So it goes too: the next run reads
		 * whole and plans, and stops, the same.
		 */
		if (last_snapshot_remove(x, "the run did not apply what "
					 "it read", &e) < 0)
			log_warn("the last snapshot could not be removed "
				 "(%s): the next run may read from it",
				 err_fmt(&e, buf, sizeof(buf)));
	} else if (snap_commit_start(x) == 0) {
		return;         /* engine_read_wait() */
	} else if (syncsnap_commit(x->snap, &x->snap_meta, &e) != 0) {
		log_warn("snapshot of this read not saved (the next run "
			 "reads again): %s", err_fmt(&e, buf, sizeof(buf)));
	}
	syncsnap_close(x->snap);
	x->snap = NULL;
done:
	syncsnap_meta_free(&x->snap_meta);
}

void
engine_read_wait(struct run *x)
{
	struct snap_committer *c = x->snapc;
	char buf[1400];

	if (c == NULL)
		return;
	pthread_join(c->th, NULL);
	x->snapc = NULL;
	if (c->rc != 0)
		log_warn("snapshot of this read not saved (the next run "
			 "reads again): %s", err_fmt(&c->err, buf, sizeof(buf)));
	syncsnap_close(c->s);
	syncsnap_meta_free(&c->meta);
	free(c);
}

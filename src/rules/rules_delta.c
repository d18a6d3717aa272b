/*
 * rules_delta.c - the keys of an entry (rules_keys) and the rules over
 * the closure of a delta (rules_delta); rules_delta.h says what and why.
 *
 * Keys are made by the rules' own code (rules_classify, rules_build: the
 * slots, the address mapping, members and SIDs exactly as rules_add makes
 * them), on a rules context kept for the purpose.
 *
 * The closure is a worklist over nodes (one per uuid, with the entry as
 * the last read had it and as it is now).  Each node carries what has to
 * be followed from it:
 *   ADDR  every entry claiming one of its addresses (old or new) joins;
 *   UP    the groups naming its DN (old or new) or its primary group's /
 *         Domain Users' SID join, and are followed UP in turn;
 *   DOWN  (groups) every entry named by a member value or having the
 *         group's SID as primary group joins, followed DOWN in turn;
 *   TREE  [scope] member_of: the groups below the member_of groups, in
 *         the last read, followed through their member values;
 *   GIVE  a leaf followed UP: the others giving its address to their
 *         lists join as stand-ins, UP (givers()).
 * Who gets what: the changes get ADDR and UP (a local change, see
 * rules_delta.h, ADDR only); an entry joining through a (not local)
 * changed entry's address gets UP (its conflicts may change, and with
 * them what it gives its lists); every entry in S other than the
 * member_of tree's gets ADDR; a group gets DOWN when it has an address in
 * either world (it may be a list) or was reached DOWN (it is nested in a
 * list of S).  A group without address reached otherwise (UP, or a
 * change) yields only its own left_out row, and its members matter only
 * where it is reached: under a list, which follows it DOWN, or in the
 * member_of tree, whose change declines.  A member value naming a changed
 * entry's new DN finds it through the changes (the index has old DNs).
 * Member values in play (rules_delta.h) pull every group naming them, UP.
 */
#include "rules/rules_delta.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"
#include "util/buf.h"
#include "util/strsort.h"
#include "util/xalloc.h"

/* ---- keys --------------------------------------------------------- */

/* Past this much scratch memory the keyer's context is made anew. */
#define KEYER_SCRATCH_MAX (8u << 20)

/* One entry's keys while they are made: in *a, or malloc'd (a NULL). */
struct keyvec {
	char **v;
	size_t n, cap;
	struct arena *a;
};

struct rules_keyer {
	const struct conf *c;
	struct rules_result r;     /* the context's: scratch only */
	struct rules_ctx *x;
	struct keyvec kv;          /* the current entry's keys */
};

/* What one entry is to the rules, besides its keys. */
struct kinfo {
	bool relevant;             /* the rules make an object of it */
	bool group;                /* its members nest (groups, member) */
	bool addr;                 /* it has an address (an "a:" key) */
	bool contact;              /* a contact */
};

/* now: the clock faces (below) judge expiry against; 0: time(NULL). */
static struct rules_keyer *
keyer_new_at(const struct conf *c, time_t now, struct err *err)
{
	struct rules_keyer *k = xcalloc(1, sizeof(*k));

	k->c = c;
	rules_init(&k->r);
	k->r.now = now;
	if ((k->x = rules_begin(c, &k->r, err)) == NULL) {
		rules_free(&k->r);
		free(k);
		return NULL;
	}
	return k;
}

struct rules_keyer *
rules_keyer_new(const struct conf *c, struct err *err)
{
	return keyer_new_at(c, 0, err);
}

void
rules_keyer_free(struct rules_keyer *k)
{
	if (k == NULL)
		return;
	rules_abort(k->x);
	rules_free(&k->r);
	free(k->kv.v);
	free(k);
}

static void
key_push(struct keyvec *kv, char type, const char *value)
{
	size_t len = strlen(value);
	char *k = kv->a != NULL ? arena_alloc(kv->a, len + 3)
				: xmalloc(len + 3);

	/* "%c:%s" without printf: a list of 50,000 makes 50,000 of them */
	k[0] = type;
	k[1] = ':';
	memcpy(k + 2, value, len + 1);
	kv->v = xgrow(kv->v, &kv->cap, kv->n + 1, sizeof(*kv->v));
	kv->v[kv->n++] = k;
}

/* What the rules make of o (NULL: nothing). */
static void
kinfo_of(const struct robj *o, struct kinfo *ki)
{
	memset(ki, 0, sizeof(*ki));
	if (o == NULL)
		return;
	ki->relevant = true;
	ki->contact = o->type == RT_CONTACT;
	ki->group = o->type == RT_GROUP || o->nmembers > 0;
	ki->addr = o->primary != NULL || o->naliases > 0;
}

/* The keys of o (ndn: its DN's, for entries the rules take none of). */
static void
keys_of_obj(struct keyvec *kv, const struct robj *o, const char *ndn,
	    struct kinfo *ki)
{
	size_t i;

	/* pushed in the order of their type letter: keys_finish() then only
	 * sorts the values a type has out of order */
	kinfo_of(o, ki);
	if (o != NULL) {
		if (o->primary != NULL)
			key_push(kv, 'a', o->primary);
		/* a contact's external address: claimed by none, but given
		 * to its lists as a user's primary is (see givers()) */
		if (o->external != NULL)
			key_push(kv, 'a', o->external);
		for (i = 0; i < o->naliases; i++)
			key_push(kv, 'a', o->aliases[i]);
	}
	key_push(kv, 'd', ndn);
	if (o == NULL)
		return;
	if (ki->group)
		key_push(kv, 'g', ndn);
	for (i = 0; i < o->nmembers; i++)
		key_push(kv, 'm', o->members[i]);
	if (o->primary_sid != NULL)
		key_push(kv, 'p', o->primary_sid);
	if (o->domain_users_sid != NULL)
		key_push(kv, 'p', o->domain_users_sid);
	if (o->sid != NULL)
		key_push(kv, 's', o->sid);
	/* a DN anchor is its "d:" key already */
	if (strncmp(o->anchor, "dn:", 3) != 0)
		key_push(kv, 'u', o->anchor);
}

/* Sorted, each once. */
static void
keys_finish(struct keyvec *kv)
{
	size_t i, n;

	for (i = 1; i < kv->n && strcmp(kv->v[i - 1], kv->v[i]) <= 0; i++)
		;
	if (i < kv->n)
		strsort((const char **)kv->v, kv->n);
	for (i = n = 0; i < kv->n; i++) {
		if (n > 0 && strcmp(kv->v[i], kv->v[n - 1]) == 0) {
			if (kv->a == NULL)
				free(kv->v[i]);
		} else {
			kv->v[n++] = kv->v[i];
		}
	}
	kv->n = n;
}

/* Hands the keys to cb and frees them. */
static void
keys_emit(struct keyvec *kv, void (*cb)(void *arg, const char *key),
	  void *arg)
{
	size_t i;

	for (i = 0; i < kv->n; i++) {
		cb(arg, kv->v[i]);
		if (kv->a == NULL)
			free(kv->v[i]);
	}
	kv->n = 0;
}

static void
keyer_scratch_done(struct rules_keyer *k)
{
	time_t now = k->r.now;
	struct err err;
	size_t i;

	for (i = 0; i < k->r.nwarnings; i++)
		free(k->r.warnings[i]);
	k->r.nwarnings = 0;
	if (k->r.arena.used + k->x->tmp.used < KEYER_SCRATCH_MAX)
		return;
	rules_abort(k->x);
	rules_free(&k->r);
	rules_init(&k->r);
	k->r.now = now;
	err_clear(&err);
	/* rules_begin took this conf in rules_keyer_new: it cannot fail */
	if ((k->x = rules_begin(k->c, &k->r, &err)) == NULL)
		abort();
}

/*
 * The address o gives the lists it is in when it is a leaf of their walk
 * (no member values: rules_groups.c collect_leaf): a user's primary, a
 * contact's external one, in scope or not; NULL for a group or none.
 */
static const char *
give_of(const struct robj *o)
{
	if (o == NULL || o->type == RT_GROUP)
		return NULL;
	return o->type == RT_CONTACT ? o->external : o->primary;
}

/*
 * *ki = what the rules make of e; with keys, k->kv = the sorted, unique
 * keys of e (else empty), each in *into (NULL: malloc'd, keys_emit frees
 * them); with give, *give = give_of() (malloc'd, or NULL).  With mem
 * (and into), e's members are taken from it, or made into it (in *into;
 * values spelt as like's, another version's, take their form).  Returns
 * e's normalised DN (malloc'd).
 */
static char *
keys_collect(struct rules_keyer *k, const struct entry *e, struct kinfo *ki,
	     bool keys, char **give, struct arena *into,
	     struct rules_members *mem, const struct rules_members *like)
{
	struct rules_ctx *x = k->x;
	char *ndn = dn_normalize(e->dn);
	struct robj *o = NULL;
	enum rtype type;
	bool list_ok;

	k->kv.n = 0;
	k->kv.a = into;
	if (mem != NULL && mem->e == e) {
		x->memo = mem;
	} else if (mem != NULL && into != NULL) {
		x->memo_out = mem;
		x->memo_arena = into;
		x->memo_like = like;
	}
	if (rules_classify(x, e, &type, &list_ok))
		o = rules_build(x, e, ndn, type, list_ok, false);
	x->memo = x->memo_like = NULL;
	x->memo_out = NULL;
	x->memo_arena = NULL;
	if (give != NULL)
		*give = give_of(o) != NULL ? xstrdup(give_of(o)) : NULL;
	if (keys)
		keys_of_obj(&k->kv, o, ndn, ki);
	else
		kinfo_of(o, ki);
	if (o != NULL)
		keyer_scratch_done(k);
	keys_finish(&k->kv);
	return ndn;
}

void
rules_keys(struct rules_keyer *k, const struct entry *e,
	   void (*cb)(void *arg, const char *key), void *arg)
{
	struct kinfo ki;

	free(keys_collect(k, e, &ki, true, NULL, NULL, NULL, NULL));
	keys_emit(&k->kv, cb, arg);
}

void
rules_add_keyed(struct rules_ctx *x, const struct entry *e,
		void (*cb)(void *arg, const char *key), void *arg)
{
	struct keyvec kv = {NULL, 0, 0, NULL};
	struct robj *o = rules_add_obj(x, e);
	struct kinfo ki;
	char *ndn = o == NULL ? dn_normalize(e->dn) : NULL;

	keys_of_obj(&kv, o, o != NULL ? o->ndn : ndn, &ki);
	free(ndn);
	keys_finish(&kv);
	keys_emit(&kv, cb, arg);
	free(kv.v);
}

/*
 * What other entries' results read of e besides its keys, as one string
 * (malloc'd): its kind, scope verdict (judged at the keyer's clock),
 * anchor, DN as spelt (warnings name it), primary and external address.
 */
static char *
face_of(struct rules_keyer *k, const struct entry *e)
{
	struct rules_ctx *x = k->x;
	char *ndn = dn_normalize(e->dn), *s;
	struct buf b = BUF_INIT;
	struct robj *o;
	enum rtype type;
	bool list_ok;

	if (!rules_classify(x, e, &type, &list_ok)) {
		free(ndn);
		return xstrdup("-");
	}
	x->no_members = true;
	o = rules_build(x, e, ndn, type, list_ok, true);
	x->no_members = false;
	/* "%d|%d|%d|%s|%s|%s|%s" without printf (7,000 instructions) */
	buf_printf(&b, "%d|%d|%d|", (int)type, list_ok, (int)o->why);
	buf_adds(&b, o->anchor);
	buf_addc(&b, '|');
	buf_adds(&b, o->dn);
	buf_addc(&b, '|');
	buf_adds(&b, o->primary != NULL ? o->primary : "");
	buf_addc(&b, '|');
	buf_adds(&b, o->external != NULL ? o->external : "");
	s = buf_steal(&b);
	keyer_scratch_done(k);
	free(ndn);
	return s;
}

/* ---- the closure -------------------------------------------------- */

enum { OLD, NEW };
/*
 * What a node is followed for:
 *   F_ADDR  its own result (a full node, not a stand-in);
 *   F_UP    the groups naming it (its contribution to them changed);
 *   F_DOWN  its members, all of them: a list expanded whole;
 *   F_TREE  the [scope] member_of walk;
 *   F_CUT   under a member value a changed group lost: every path from
 *           it up to a list may have changed, so it is followed UP too
 *           (a list not expanded whole must see every path to a member
 *           it may lose);
 *   F_DIFF  a changed group whose face is the same: only the member
 *           values it gained or lost, the others' paths are unchanged.
 */
enum { F_ADDR = 1, F_UP = 2, F_DOWN = 4, F_TREE = 8, F_CUT = 16,
       F_DIFF = 32 };

/* One entry as one world has it. */
struct ver {
	const struct entry *e;     /* NULL: not in this world */
	struct kinfo ki;
	const char *ndn;
	const char *give;          /* give_of(): the address it gives lists
				    * (when no group: !ki.group) */
	const char **keys;         /* sorted; made when first needed */
	size_t nkeys;
	bool keyed;                /* keys made */
	/* shared[i]: keys[i] is a key of the other version too (a changed
	 * node with both versions keyed; shared_make()) */
	unsigned char *shared;
	/* its members in normal form, made once (ver_fill) for the keys
	 * and both worlds' runs */
	struct rules_members mem;
};

struct node {
	const char *uuid;
	struct ver v[2];
	bool changed;
	/*
	 * A change nothing else reads: the same keys and face (face_of)
	 * before and after (a display name, a profile attribute, an
	 * alias outside the accepted domains...): followed ADDR only.
	 */
	bool local;
	/* changed group: something besides its members changed (its face):
	 * every member value it had or has is cut (F_CUT) */
	bool reshaped;
	unsigned want, done;       /* F_* */
};

struct dctx {
	const struct conf *c;
	const struct rules_lookup *lk;
	struct rules_keyer *k;
	struct err *err;
	size_t max;
	const struct strmap *whole;   /* ndns of lists to expand whole */
	const char *why;           /* declined: why */
	bool failed;               /* lk->find failed: err is set */
	struct arena a;            /* copies of entries, keys, uuids */
	struct strmap nodes;       /* uuid -> struct node */
	struct node **all;         /* in the order they joined */
	size_t n, cap;
	struct node **queue;
	size_t nq, qcap;
	struct strmap changes;     /* uuid -> struct rules_change */
	struct strmap new_ndn;     /* ndns of changed entries now (relevant) */
	struct strmap play;        /* member values warnings may be about */
	struct strmap tree_named;  /* ndns the member_of tree names */
	struct strmap given;       /* addresses givers() has been asked */
	struct strmap sought;      /* addresses join_all('a') looked up */
	const char **found;        /* lk->find's answer */
	size_t nfound, fcap;
};

static void
found_one(void *arg, const char *uuid)
{
	struct dctx *d = arg;

	d->found = xgrow(d->found, &d->fcap, d->nfound + 1,
			 sizeof(*d->found));
	d->found[d->nfound++] = arena_strdup(&d->a, uuid);
}

/* d->found[0 .. return) = the uuids having "type:value"; -1 failed. */
static long
find(struct dctx *d, char type, const char *value)
{
	size_t len = strlen(value);
	char *key = xmalloc(len + 3);
	int rc;

	/* "%c:%s" without printf: 1,500 instructions a key saved */
	key[0] = type;
	key[1] = ':';
	memcpy(key + 2, value, len + 1);
	d->nfound = 0;
	rc = d->lk->find(d->lk->ctx, key, found_one, d, d->err);
	free(key);
	if (rc != 0) {
		d->failed = true;
		return -1;
	}
	return (long)d->nfound;
}

static const struct entry *
entry_copy(struct arena *a, const struct entry *e)
{
	struct entry *c = arena_alloc(a, sizeof(*c));
	size_t i, j;

	c->dn = arena_strdup(a, e->dn);
	c->origin = e->origin != NULL ? arena_strdup(a, e->origin) : NULL;
	c->nattrs = e->nattrs;
	c->attrs = arena_alloc(a, (e->nattrs ? e->nattrs : 1) *
				      sizeof(*c->attrs));
	for (i = 0; i < e->nattrs; i++) {
		const struct attr *s = &e->attrs[i];
		struct attr *t = &c->attrs[i];

		t->name = arena_strdup(a, s->name);
		t->nvals = s->nvals;
		t->vals = arena_alloc(a, (s->nvals ? s->nvals : 1) *
					     sizeof(*t->vals));
		for (j = 0; j < s->nvals; j++) {
			char *p = arena_alloc(a, s->vals[j].len + 1);

			memcpy(p, s->vals[j].p, s->vals[j].len);
			p[s->vals[j].len] = '\0';
			t->vals[j].p = p;
			t->vals[j].len = s->vals[j].len;
		}
	}
	return c;
}

static void keys_take(struct dctx *d, struct ver *v);

/* v's entry, DN, kind and members; its keys (with keys) now, or when
 * ver_keys() wants them (a stand-in never needs them).  was: the other
 * version (NULL: none yet), whose member values v's spelt alike share. */
static void
ver_fill(struct dctx *d, struct ver *v, const struct entry *e, bool keys,
	 const struct ver *was)
{
	char *ndn, *give;

	memset(v, 0, sizeof(*v));
	if ((v->e = e) == NULL)
		return;
	ndn = keys_collect(d->k, e, &v->ki, keys, &give, &d->a, &v->mem,
			   was != NULL ? &was->mem : NULL);
	v->ndn = arena_strdup(&d->a, ndn);
	v->give = give != NULL ? arena_strdup(&d->a, give) : NULL;
	free(ndn);
	free(give);
	if (keys)
		keys_take(d, v);
}

static void
ver_keys(struct dctx *d, struct ver *v)
{
	struct kinfo ki;

	if (v->keyed || v->e == NULL)
		return;
	free(keys_collect(d->k, v->e, &ki, true, NULL, &d->a, &v->mem,
			  NULL));
	keys_take(d, v);
}

/* The keyer's keys (keys_collect, made in d->a) into v. */
static void
keys_take(struct dctx *d, struct ver *v)
{
	struct rules_keyer *k = d->k;

	v->keyed = true;
	v->keys = arena_memdup(&d->a, k->kv.v,
			       (k->kv.n ? k->kv.n : 1) * sizeof(*v->keys));
	v->nkeys = k->kv.n;
	k->kv.n = 0;
}

static bool
node_group(const struct node *nd)
{
	return nd->v[OLD].ki.group || nd->v[NEW].ki.group;
}

/* Do both versions have the same face (face_of: all but the keys)? */
static bool
same_face_only(struct dctx *d, struct node *nd)
{
	char *fa, *fb;
	bool same;

	if (nd->v[OLD].e == NULL || nd->v[NEW].e == NULL)
		return false;
	fa = face_of(d->k, nd->v[OLD].e);
	fb = face_of(d->k, nd->v[NEW].e);
	same = strcmp(fa, fb) == 0;
	free(fa);
	free(fb);
	return same;
}

/* Does a changed node have the same keys before and after? */
static bool
same_keys(struct dctx *d, struct node *nd)
{
	struct ver *a = &nd->v[OLD], *b = &nd->v[NEW];
	size_t i;

	if (a->e == NULL || b->e == NULL)
		return false;
	ver_keys(d, a);
	ver_keys(d, b);
	if (a->nkeys != b->nkeys)
		return false;
	for (i = 0; i < a->nkeys; i++)
		if (strcmp(a->keys[i], b->keys[i]) != 0)
			return false;
	return true;
}

/* The node of uuid, made (read from the last read) when new; NULL: S
 * grew over max (d->why set). */
static struct node *
node_get(struct dctx *d, const char *uuid)
{
	struct node *nd = strmap_get(&d->nodes, uuid);
	const struct rules_change *ch;
	const struct entry *old;
	bool keys, face;

	if (nd != NULL)
		return nd;
	if (d->n >= d->max) {
		d->why = "the entries the change touches exceed the limit";
		return NULL;
	}
	nd = arena_alloc(&d->a, sizeof(*nd));
	memset(nd, 0, sizeof(*nd));
	nd->uuid = arena_strdup(&d->a, uuid);
	old = d->lk->get(d->lk->ctx, uuid);
	ch = strmap_get(&d->changes, uuid);
	/* a changed entry's keys are compared (same_keys) and followed */
	ver_fill(d, &nd->v[OLD], old != NULL ? entry_copy(&d->a, old) : NULL,
		 ch != NULL, NULL);
	if (ch != NULL) {
		nd->changed = true;
		ver_fill(d, &nd->v[NEW], ch->now, true, &nd->v[OLD]);
		/* local: the same keys and face; reshaped: a group whose
		 * face changed (each face made once: a list of 50,000 is
		 * built for it) */
		keys = same_keys(d, nd);
		face = (keys || node_group(nd)) && same_face_only(d, nd);
		nd->local = keys && face;
		nd->reshaped = !nd->local && node_group(nd) && !face;
	} else {
		nd->v[NEW] = nd->v[OLD];
	}
	strmap_put(&d->nodes, nd->uuid, nd);
	d->all = xgrow(d->all, &d->cap, d->n + 1, sizeof(*d->all));
	d->all[d->n++] = nd;
	return nd;
}

/* Did the caller ask for nd's list whole? */
static bool
whole(const struct dctx *d, const struct node *nd)
{
	size_t w;

	if (d->whole == NULL)
		return false;
	for (w = OLD; w <= NEW; w++)
		if (nd->v[w].e != NULL &&
		    strmap_get(d->whole, nd->v[w].ndn) != NULL)
			return true;
	return false;
}

static void join_all(struct dctx *d, char type, const char *value,
		     unsigned flags);

static void
sought_put(struct dctx *d, const char *addr)
{
	const char *k;

	if (strmap_get(&d->sought, addr) == NULL) {
		k = arena_strdup(&d->a, addr);
		strmap_put(&d->sought, k, (void *)k);
	}
}

/*
 * A contact in S giving its lists an address in one of our accepted
 * domains (its external one; a stand-in too): every entry claiming that
 * address joins, ADDR, and it is sought (rules_result.sought), so that
 * the part can tell whether anything has it.  A list naming an address
 * nothing has leaves it out (plan.c, orphan_delivers): a user trial's
 * contact whose target was its own address made a list with the rules
 * over the delta that a full run did not make.
 */
static void
give_sought(struct dctx *d, const struct node *nd)
{
	size_t w;

	for (w = OLD; w <= NEW && d->why == NULL; w++) {
		const struct ver *v = &nd->v[w];

		if (v->e == NULL || !v->ki.contact || v->give == NULL ||
		    strmap_get(&d->sought, v->give) != NULL ||
		    !rules_domain_accepted(d->c, v->give))
			continue;
		sought_put(d, v->give);
		join_all(d, 'a', v->give, F_ADDR);
	}
}

static void
join(struct dctx *d, const char *uuid, unsigned flags)
{
	struct node *nd = node_get(d, uuid);

	if (nd == NULL)
		return;
	give_sought(d, nd);
	if (flags & F_CUT)
		flags |= F_UP;
	/* an unchanged member of a list followed DOWN: a stand-in (its
	 * contribution only), unless something else wants it whole */
	if ((flags & F_DOWN) && !nd->changed && !node_group(nd)) {
		flags &= ~(unsigned)F_ADDR;
		if ((flags & ~(nd->want | F_DOWN)) == 0) {
			nd->want |= flags;   /* a leaf: nothing to follow */
			return;
		}
	}
	if (flags & F_ADDR) {
		/* a group new, gone or with another face, or one the caller
		 * wants whole, is expanded whole; one whose members alone
		 * changed, its changed member values; any list that is not
		 * expanded whole is patched from the members that join
		 * (struct robj.patch) */
		if (node_group(nd) && (nd->reshaped || whole(d, nd)) &&
		    (nd->v[OLD].ki.addr || nd->v[NEW].ki.addr ||
		     nd->reshaped))
			flags |= F_DOWN;
		else if (node_group(nd) && nd->changed && !nd->local)
			flags |= F_DIFF;
		if (nd->changed && !nd->local)
			flags |= F_UP;
	}
	if ((flags & ~nd->want) == 0)
		return;
	nd->want |= flags;
	d->queue = xgrow(d->queue, &d->qcap, d->nq + 1, sizeof(*d->queue));
	d->queue[d->nq++] = nd;
}

/* Every entry having key type:value joins with flags. */
static void
join_all(struct dctx *d, char type, const char *value, unsigned flags)
{
	long n = find(d, type, value), i;
	const char **v;

	if (n <= 0)
		return;
	/* join() may call find() no more, but copy: it may grow d->found */
	v = arena_memdup(&d->a, d->found, (size_t)n * sizeof(*v));
	for (i = 0; i < n && d->why == NULL; i++)
		join(d, v[i], flags);
}

/*
 * A member value warnings may be about: every group naming it joins, UP,
 * so that the warning names the same group as a full run would.
 */
static void
play_add(struct dctx *d, const char *m)
{
	const char *k;

	if (strmap_get(&d->play, m) != NULL)
		return;
	k = arena_strdup(&d->a, m);
	strmap_put(&d->play, k, (void *)k);
	join_all(d, 'm', m, F_ADDR | F_UP);
}

/*
 * A member value m of a group followed DOWN: the entries it names in
 * either world join, DOWN.
 */
static void
down_member(struct dctx *d, const char *m, unsigned cut)
{
	struct node *now = strmap_get(&d->new_ndn, m);
	bool in_old = false, in_new = now != NULL;
	long n, i;
	const char **v;

	if (now != NULL)
		join(d, now->uuid, F_ADDR | F_DOWN | cut);   /* a change, now m */
	if (d->why != NULL || (n = find(d, 'd', m)) < 0)
		return;
	v = n > 0 ? arena_memdup(&d->a, d->found, (size_t)n * sizeof(*v))
		  : NULL;
	for (i = 0; i < n && d->why == NULL; i++) {
		struct node *nd;

		join(d, v[i], F_ADDR | F_DOWN | cut);
		if ((nd = strmap_get(&d->nodes, v[i])) == NULL)
			continue;
		in_old |= nd->v[OLD].ki.relevant;
		in_new |= !nd->changed && nd->v[OLD].ki.relevant;
	}
	if (d->why == NULL && (!in_old || !in_new))
		play_add(d, m);     /* names no entry in one world at least */
}

static bool
same_addr(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Does v give its lists addr, as a leaf of their walk? */
static bool
gives_as_leaf(const struct ver *v, const char *addr)
{
	return v->e != NULL && !v->ki.group && same_addr(v->give, addr);
}

/*
 * The others giving addr to their lists (give_of: users whose primary
 * it is, contacts whose external address it is) join, UP, when a leaf
 * giving it may stop giving it to a list (it is followed UP).  A list
 * patched from its members (robj.patch) takes out what its members in S
 * gave before and no longer give; an address another member gives it
 * stays.  Two users cannot both give one (they would claim it: a
 * conflict, and neither gives it), but contacts claim no external
 * address, so two contacts, or a contact and a user, may.  The others
 * join as stand-ins (unchanged: what they give is as before) and are
 * followed UP, so every list they are in, through every path, is in S
 * with their address on both sides.  Asked once per address.
 */
static void
givers(struct dctx *d, const char *addr)
{
	const char **v, *k;
	long n, i;

	if (strmap_get(&d->given, addr) != NULL)
		return;
	k = arena_strdup(&d->a, addr);
	strmap_put(&d->given, k, (void *)k);
	if ((n = find(d, 'a', addr)) <= 0)
		return;
	v = arena_memdup(&d->a, d->found, (size_t)n * sizeof(*v));
	for (i = 0; i < n && d->why == NULL; i++) {
		const struct node *o = strmap_get(&d->nodes, v[i]);
		bool gives;

		if (o != NULL) {
			gives = gives_as_leaf(&o->v[OLD], addr) ||
				gives_as_leaf(&o->v[NEW], addr);
		} else {
			/* not in S: unchanged (every change is); only a
			 * giver joins (the others claim addr, or are a
			 * list with it: their own result is unchanged) */
			const struct entry *e = d->lk->get(d->lk->ctx, v[i]);
			struct kinfo ki;
			char *give = NULL;

			if (e == NULL)
				continue;
			free(keys_collect(d->k, e, &ki, false, &give, NULL, NULL,
					  NULL));
			gives = !ki.group && same_addr(give, addr);
			free(give);
		}
		if (gives)
			join(d, v[i], F_UP);
	}
}

/*
 * F_CUT when following nd's member (or SID) key loses a path: nd is
 * under a cut, or nd changed and the key is one it no longer has, or
 * more than its members changed (reshaped).  A key only the new version
 * has only adds paths: a list patched from its members gains them, and
 * that needs no more.
 */
/*
 * The shared[] of a changed node's two versions (both keyed): one merge
 * of the sorted keys, instead of a search per key (a list of 50,000
 * that lost a member is followed by its changed member values only).
 */
static void
shared_make(struct dctx *d, struct node *nd)
{
	struct ver *a = &nd->v[OLD], *b = &nd->v[NEW];
	size_t i = 0, j = 0;

	if (a->shared != NULL)
		return;
	a->shared = arena_alloc(&d->a, a->nkeys + 1);
	b->shared = arena_alloc(&d->a, b->nkeys + 1);
	memset(a->shared, 0, a->nkeys + 1);
	memset(b->shared, 0, b->nkeys + 1);
	while (i < a->nkeys && j < b->nkeys) {
		int c = strcmp(a->keys[i], b->keys[j]);

		if (c == 0) {
			a->shared[i++] = 1;
			b->shared[j++] = 1;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
}

/* Key i of nd's version w: is it a key of the other version too? */
static bool
key_shared(struct dctx *d, struct node *nd, size_t w, size_t i)
{
	if (nd->v[OLD].e == NULL || nd->v[NEW].e == NULL)
		return false;
	shared_make(d, nd);
	return nd->v[w].shared[i] != 0;
}

static unsigned
cut_of(struct dctx *d, struct node *nd, size_t w, size_t i)
{
	const struct ver *now = &nd->v[NEW];

	if (nd->want & F_CUT)
		return F_CUT;
	if (!nd->changed || nd->local || nd->v[OLD].e == NULL)
		return 0;
	if (now->e == NULL || nd->reshaped)
		return F_CUT;
	/* a key of the new version is one it has */
	return w == NEW || key_shared(d, nd, w, i) ? 0 : F_CUT;
}

/*
 * Is nd's member (or SID) key of version w followed DOWN?  All of them
 * for F_DOWN, or under a cut; for F_DIFF only those one version has.
 */
static bool
down_of(struct dctx *d, struct node *nd, unsigned todo, size_t w, size_t i)
{
	const struct ver *o = &nd->v[w == OLD ? NEW : OLD];

	if ((todo & F_DOWN) || (nd->want & F_CUT))
		return true;
	if (!(todo & F_DIFF))
		return false;
	/* F_DIFF is a changed group's: both versions are keyed here */
	return o->e == NULL || !key_shared(d, nd, w, i);
}

/*
 * Every entry claiming val, one of v's addresses, joins (ADDR, and UP
 * from a change that is not local), and val is sought (rules_result).  A
 * contact's external address is no claim: its other givers join by GIVE
 * (givers()); in an accepted domain the entries claiming it join, ADDR
 * only, so that the part can tell whether anything has it (a list naming
 * it where nothing does leaves it out: a user trial's contact whose
 * target was its own address made a list that a full run would not).
 */
static void
addr_claimants(struct dctx *d, const struct node *nd, const struct ver *v,
	       const char *val)
{
	if (v->ki.contact && same_addr(val, v->give))
		return;      /* give_sought() */
	join_all(d, 'a', val, F_ADDR | (nd->changed && !nd->local ? F_UP : 0));
	sought_put(d, val);
}

static void
follow(struct dctx *d, struct node *nd)
{
	unsigned todo = nd->want & ~nd->done;
	size_t w, i;

	nd->done = nd->want;
	/* a cut reaching a node expanded already: its members again */
	if ((todo & F_CUT) && (nd->want & (F_DOWN | F_DIFF)))
		todo |= nd->want & (F_DOWN | F_DIFF);
	if (todo & (F_DOWN | F_DIFF))  /* cut_of() reads the new keys */
		ver_keys(d, &nd->v[NEW]);
	for (w = OLD; w <= NEW; w++) {
		struct ver *v = &nd->v[w];

		if (v->e == NULL || (w == NEW && !nd->changed))
			continue;
		ver_keys(d, v);
		for (i = 0; i < v->nkeys && d->why == NULL && !d->failed; i++) {
			const char *key = v->keys[i], *val = key + 2;

			switch (key[0]) {
			case 'a':
				if (todo & F_ADDR)
					addr_claimants(d, nd, v, val);
				break;
			case 'd':
				if (todo & F_UP)
					join_all(d, 'm', val, F_ADDR | F_UP);
				break;
			case 'u':
				/* another entry with the anchor: into S, so
				 * that rules_end() refuses the pair as a full
				 * run does; followed no further */
				if ((todo & F_ADDR) && d->why == NULL)
					join_all(d, 'u', val, 0);
				break;
			case 'p':
				if (todo & F_UP)
					join_all(d, 's', val, F_ADDR | F_UP);
				break;
			case 'm':
				if (down_of(d, nd, todo, w, i))
					down_member(d, val,
						    cut_of(d, nd, w, i));
				if ((todo & F_TREE) && w == OLD) {
					const char *t = arena_strdup(&d->a, val);

					strmap_put(&d->tree_named, t, (void *)t);
					join_all(d, 'g', val, F_TREE);
				}
				break;
			case 's':
				if (down_of(d, nd, todo, w, i))
					join_all(d, 'p', val, F_ADDR | F_DOWN |
							      cut_of(d, nd, w, i));
				/* another group with the SID: into S for
				 * clash() only, followed no further */
				if ((todo & (F_ADDR | F_TREE)) && d->why == NULL)
					join_all(d, 's', val, 0);
				break;
			default:
				break;
			}
		}
	}
	/* GIVE: a leaf followed UP may stop giving its address to a list
	 * another member gives it to too (givers()); a user changed (not
	 * local) has them joined UP already, by ADDR on its primary */
	if ((todo & F_UP) &&
	    !(nd->changed && !nd->local && !nd->v[OLD].ki.contact) &&
	    nd->v[OLD].e != NULL && !nd->v[OLD].ki.group &&
	    nd->v[OLD].give != NULL && d->why == NULL && !d->failed)
		givers(d, nd->v[OLD].give);
}

/*
 * Two entries of S with the same DN or group SID in one world (entries
 * joined with no flags are in S only to be found here).
 */
static const char *
clash(struct dctx *d)
{
	const char *why = NULL;
	size_t w, i, j;

	for (w = OLD; w <= NEW && why == NULL; w++) {
		struct strmap dn = STRMAP_INIT, sid = STRMAP_INIT;

		for (i = 0; i < d->n && why == NULL; i++) {
			struct node *nd = d->all[i];
			/* unchanged: its NEW is a copy of OLD, keyed there */
			struct ver *v = &nd->v[nd->changed ? w : OLD];

			if (v->e == NULL || !v->ki.relevant)
				continue;
			if (strmap_put(&dn, v->ndn, (void *)v) != NULL)
				why = "two entries have the same DN";
			if (v->ki.group)     /* only groups have "s:" keys */
				ver_keys(d, v);
			for (j = 0; j < v->nkeys && why == NULL; j++)
				if (v->keys[j][0] == 's' &&
				    strmap_put(&sid, v->keys[j] + 2,
					       (void *)v) != NULL)
					why = "two groups have the same "
					      "objectSid";
		}
		strmap_free(&dn);
		strmap_free(&sid);
	}
	return why;
}

/* [scope] member_of: its groups unchanged, and none joins them. */
static const char *
tree_touched(struct dctx *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct node *nd = d->all[i];

		if (!nd->changed || nd->local)
			continue;
		if (nd->want & F_TREE)
			return "a [scope] member_of group or one of its nested "
			       "groups changed";
		if (nd->v[NEW].e != NULL && nd->v[NEW].ki.group &&
		    strmap_get(&d->tree_named, nd->v[NEW].ndn) != NULL)
			return "a group joined the [scope] member_of groups";
	}
	return NULL;
}

static void
seed(struct dctx *d, const struct rules_change *changes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		strmap_put(&d->changes, changes[i].uuid, (void *)&changes[i]);
	for (i = 0; i < n && d->why == NULL; i++) {
		struct node *nd = node_get(d, changes[i].uuid);

		if (nd != NULL && nd->v[NEW].e != NULL && nd->v[NEW].ki.relevant)
			strmap_put(&d->new_ndn, nd->v[NEW].ndn, nd);
	}
	for (i = 0; i < n && d->why == NULL && !d->failed; i++) {
		struct node *nd = strmap_get(&d->nodes, changes[i].uuid);

		if (nd->local) {
			join(d, nd->uuid, F_ADDR);
			continue;
		}
		join(d, nd->uuid, F_ADDR | F_UP);
		if (nd->v[OLD].e != NULL)
			play_add(d, nd->v[OLD].ndn);
		if (nd->v[NEW].e != NULL && d->why == NULL && !d->failed) {
			play_add(d, nd->v[NEW].ndn);
			/* an unchanged entry with its new DN: a clash */
			join_all(d, 'd', nd->v[NEW].ndn, 0);
		}
	}
	for (i = 0; i < d->c->scope.member_of.n && d->why == NULL &&
		    !d->failed; i++) {
		char *ndn = dn_normalize(d->c->scope.member_of.v[i]);
		const char *t = arena_strdup(&d->a, ndn);

		free(ndn);
		strmap_put(&d->tree_named, t, (void *)t);
		join_all(d, 'g', t, F_TREE);
	}
}

/* The rules over S as world w has it. */
static int
run(struct dctx *d, size_t w, time_t now, struct rules_result *r,
    struct err *err)
{
	struct rules_ctx *x;
	size_t i;

	r->now = now;
	if ((x = rules_begin(d->c, r, err)) == NULL)
		return -1;
	for (i = 0; i < d->n; i++) {
		const struct node *nd = d->all[i];
		size_t before = x->nobjs;

		if (nd->v[w].e == NULL)
			continue;
		/* its members as ver_fill() made them */
		x->memo = &nd->v[w].mem;
		rules_add(x, nd->v[w].e);
		x->memo = NULL;
		/* a list not expanded whole: patched from S's members */
		if ((nd->want & F_ADDR) && !(nd->want & F_DOWN) &&
		    x->nobjs > before && x->objs[before]->type == RT_GROUP)
			x->objs[before]->patch = true;
		if (!(nd->want & F_ADDR) && x->nobjs > before) {
			struct robj *o = x->objs[before];

			/* a stand-in: under a list expanded whole (DOWN), or
			 * another giver of an address (UP, givers()) */
			if (!(nd->want & (F_DOWN | F_UP))) {
				o->ghost = true;
				continue;
			}
			o->standin = true;
			o->held = o->primary != NULL &&
				  d->lk->contested != NULL &&
				  d->lk->contested(d->lk->ctx, o->primary);
		}
	}
	x->play = &d->play;
	return rules_end(x, err);
}

/* run() of the world "before" on a thread of its own. */
struct run_old {
	struct dctx *d;
	time_t now;
	struct rules_result *r;
	struct err err;
	int rc;
};

static void *
run_old_main(void *arg)
{
	struct run_old *a = arg;

	a->rc = run(a->d, OLD, a->now, a->r, &a->err);
	return NULL;
}

/*
 * Both worlds' runs, side by side: they only read S (the nodes, their
 * entries, play) and the lookup's contested(), and each writes its own
 * result.  Without a thread, one after the other.  0, or -1 with err.
 */
static int
run_both(struct dctx *d, time_t now, struct rules_delta *out,
	 struct err *err)
{
	struct run_old a = {.d = d, .now = now, .r = &out->before};
	pthread_t th;
	int rc;

	err_clear(&a.err);
	if (pthread_create(&th, NULL, run_old_main, &a) != 0) {
		if (run(d, OLD, now, &out->before, err) != 0)
			return -1;
		return run(d, NEW, now, &out->after, err);
	}
	rc = run(d, NEW, now, &out->after, err);
	pthread_join(th, NULL);
	if (a.rc != 0) {
		*err = a.err;
		return -1;
	}
	return rc;
}

static void
dctx_free(struct dctx *d)
{
	rules_keyer_free(d->k);
	strmap_free(&d->nodes);
	strmap_free(&d->changes);
	strmap_free(&d->new_ndn);
	strmap_free(&d->play);
	strmap_free(&d->tree_named);
	strmap_free(&d->given);
	strmap_free(&d->sought);
	free(d->all);
	free(d->queue);
	free(d->found);
	arena_free(&d->a);
}

/* The closure's sought addresses into r (rules_result.sought). */
static void
sought_out(struct dctx *d, struct rules_result *r)
{
	const char *k;
	void *v;
	size_t it = 0;

	while (strmap_next(&d->sought, &it, &k, &v)) {
		const char *c = arena_strdup(&r->arena, k);

		strmap_put(&r->sought, c, (void *)c);
	}
}

/* Each change still there, with its keys now, to lk->keys_now. */
static void
keys_now(struct dctx *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct node *nd = d->all[i];
		struct ver *v = &nd->v[NEW];

		if (!nd->changed || v->e == NULL)
			continue;
		ver_keys(d, v);
		d->lk->keys_now(d->lk->ctx, nd->uuid, v->keys, v->nkeys);
	}
}

int
rules_delta(const struct conf *c, const struct rules_lookup *lk,
	    const struct rules_change *changes, size_t n, time_t now,
	    size_t max, const struct strmap *whole, struct rules_delta *out,
	    const char **why, struct err *err)
{
	struct dctx d;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	rules_init(&out->before);
	rules_init(&out->after);
	*why = NULL;
	memset(&d, 0, sizeof(d));
	d.c = c;
	d.lk = lk;
	d.err = err;
	d.max = max;
	d.whole = whole;
	if ((d.k = keyer_new_at(c, now, err)) == NULL)
		goto done;
	seed(&d, changes, n);
	while (d.nq > 0 && d.why == NULL && !d.failed)
		follow(&d, d.queue[--d.nq]);
	if (d.failed)
		goto done;
	if (d.why == NULL)
		d.why = tree_touched(&d);
	if (d.why == NULL)
		d.why = clash(&d);
	if (d.why != NULL) {
		*why = d.why;
		ret = 1;
		goto done;
	}
	if (run_both(&d, now, out, err) != 0)
		goto done;
	if (lk->keys_now != NULL)
		keys_now(&d);
	sought_out(&d, &out->after);
	out->nset = d.n;
	ret = 0;
done:
	if (ret != 0)
		rules_delta_free(out);
	dctx_free(&d);
	return ret;
}

void
rules_delta_free(struct rules_delta *d)
{
	rules_free(&d->before);
	rules_free(&d->after);
	d->nset = 0;
}

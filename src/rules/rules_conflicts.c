/*
 * rules_conflicts.c - addresses claimed by more than one object: the
 * conflicts, and the objects and addresses left alone because of them.
 */
#include "rules/rules_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

/* One claimant of an address: its anchor, DN and account. */
struct claimant {
	const char *anchor, *dn, *account;
};

struct claim {
	struct claimant first;
	struct claimant *others;   /* further distinct anchors */
	size_t nothers, cap;
};

bool
rules_conflicted(struct rules_ctx *x, const char *addr)
{
	return x->r->frozen_addresses.len > 0 &&
	       strmap_get(&x->r->frozen_addresses, addr) != NULL;
}

int
rules_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_claimant(const void *a, const void *b)
{
	return strcmp(((const struct claimant *)a)->anchor,
		      ((const struct claimant *)b)->anchor);
}

static int
cmp_conflict(const void *a, const void *b)
{
	return strcmp(((const struct conflict *)a)->address,
		      ((const struct conflict *)b)->address);
}

/*
 * Puts a mail object in the desired set.  The set's address index doubles
 * as the claim table: an address already taken by another anchor is a
 * conflict, recorded in x->claims (rare, so small).
 */
static void
claim_emit(struct rules_ctx *x, enum mkind kind, const char *addr,
	   const struct robj *o, const char *name)
{
	struct mobj m, *have;
	struct claim *cl;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.address = addr;
	m.anchor = o->anchor;
	m.name = name;
	m.attrs = kind == MK_MAILBOX ? o->attrs : NULL;
	m.gotos = kind == MK_ALIAS ? o->primary
		  : kind == MK_CONTACT ? o->external
				       : NULL;
	m.active = true;
	m.dn = o->dn;
	m.account = o->account;
	if (mset_add_ref(&x->r->desired, &m) != NULL)
		return;
	have = mset_get(&x->r->desired, addr);
	if (strcmp(have->anchor, o->anchor) == 0)
		return;               /* the same object twice: one is enough */
	cl = strmap_get(&x->claims, addr);
	if (cl == NULL) {
		cl = arena_alloc(&x->tmp, sizeof(*cl));
		memset(cl, 0, sizeof(*cl));
		cl->first.anchor = have->anchor;
		cl->first.dn = have->dn;
		cl->first.account = have->account;
		strmap_put(&x->claims, addr, cl);
	}
	for (i = 0; i < cl->nothers; i++)
		if (strcmp(cl->others[i].anchor, o->anchor) == 0)
			return;
	cl->others = xgrow(cl->others, &cl->cap, cl->nothers + 1,
			   sizeof(*cl->others));
	cl->others[cl->nothers].anchor = o->anchor;
	cl->others[cl->nothers].dn = o->dn;
	cl->others[cl->nothers++].account = o->account;
}

/* Conflicts from the claims; addresses and objects to leave alone. */
static void
settle_conflicts(struct rules_ctx *x)
{
	struct rules_result *r = x->r;
	const char *addr;
	void *val;
	size_t i, j, it = 0;

	while (strmap_next(&x->claims, &it, &addr, &val)) {
		struct claim *cl = val;
		struct conflict *cf;

		r->conflicts = xgrow(r->conflicts, &r->capconflicts,
				     r->nconflicts + 1, sizeof(*r->conflicts));
		cf = &r->conflicts[r->nconflicts++];
		cf->address = addr;      /* strings live in r->arena */
		cf->n = cl->nothers + 1;
		cl->others = xgrow(cl->others, &cl->cap, cf->n,
				   sizeof(*cl->others));
		cl->others[cl->nothers] = cl->first;
		qsort(cl->others, cf->n, sizeof(*cl->others), cmp_claimant);
		cf->claimed_by = arena_alloc(&r->arena, cf->n * sizeof(char *));
		cf->dns = arena_alloc(&r->arena, cf->n * sizeof(char *));
		cf->accounts = arena_alloc(&r->arena, cf->n * sizeof(char *));
		for (j = 0; j < cf->n; j++) {
			cf->claimed_by[j] = cl->others[j].anchor;
			cf->dns[j] = cl->others[j].dn;
			cf->accounts[j] = cl->others[j].account;
		}
		strmap_put(&r->frozen_addresses, cf->address,
			   (void *)cf->address);
		free(cl->others);
	}
	if (r->nconflicts > 1)
		qsort(r->conflicts, r->nconflicts, sizeof(*r->conflicts),
		      cmp_conflict);
	if (r->nconflicts == 0)
		return;
	/* an object whose primary is contested is left alone entirely */
	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = x->objs[i];

		if (o->in_scope && !o->standin && o->primary != NULL &&
		    rules_conflicted(x, o->primary))
			strmap_put(&r->frozen_anchors, o->anchor,
				   (void *)o->anchor);
	}
}

/* Keep an object unless rules_end decided otherwise. */
static bool
keep_obj(struct rules_ctx *x, const struct mobj *m)
{
	struct rules_result *r = x->r;

	if (r->frozen_addresses.len > 0 &&
	    strmap_get(&r->frozen_addresses, m->address) != NULL)
		return false;
	if (m->anchor == NULL)
		return true;
	if (r->frozen_anchors.len > 0 &&
	    strmap_get(&r->frozen_anchors, m->anchor) != NULL)
		return false;
	return x->dropped.len == 0 ||
	       strmap_get(&x->dropped, m->anchor) == NULL;
}


void
rules_claim_all(struct rules_ctx *x)
{
	size_t i, j;

	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = x->objs[i];

		if (!o->in_scope || o->standin)
			continue;
		if (o->type == RT_USER)
			claim_emit(x, MK_MAILBOX, o->primary, o, o->name);
		else if (o->type == RT_GROUP)
			claim_emit(x, MK_LIST, o->primary, o, o->name);
		for (j = 0; j < o->naliases; j++)
			claim_emit(x, o->type == RT_CONTACT ? MK_CONTACT
							    : MK_ALIAS,
				   o->aliases[j], o,
				   o->type == RT_CONTACT ? o->name : NULL);
		if (o->type == RT_CONTACT && o->naliases == 0 &&
		    o->external != NULL && o->anchor != NULL) {
			struct left_out *l = arena_alloc(x->a, sizeof(*l));

			memset(l, 0, sizeof(*l));
			l->why = LR_NONE;
			l->dn = o->dn;
			l->account = o->account;
			l->address = o->external;
			strmap_put(&x->r->external, o->anchor, l);
		}
	}
	settle_conflicts(x);
}

void
rules_prune(struct rules_ctx *x)
{
	struct rules_result *r = x->r;
	size_t i, n = 0;

	if (r->frozen_addresses.len == 0 && x->dropped.len == 0)
		return;
	for (i = 0; i < r->desired.n; i++)
		if (keep_obj(x, r->desired.v[i]))
			r->desired.v[n++] = r->desired.v[i];
	mset_truncate(&r->desired, n);
}

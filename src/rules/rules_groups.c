/*
 * rules_groups.c - group members, nested groups (cycle-safe) and lists.
 */
#include "rules/rules_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

void
rules_keep_members(struct rules_ctx *x, struct robj *o)
{
	const struct attr *m = x->at[A_MEMBER], *u = x->at[A_UNIQUEMEMBER];
	size_t n = (m ? m->nvals : 0) + (u ? u->nvals : 0), i, k = 0;

	o->nmembers = 0;
	o->members = NULL;
	if (n == 0)
		return;
	o->members = arena_alloc(&x->tmp, n * sizeof(char *));
	for (i = 0; m != NULL && i < m->nvals; i++) {
		char *dn = dn_normalize(m->vals[i].p);

		o->members[k++] = arena_strdup(&x->tmp, dn);
		free(dn);
	}
	for (i = 0; u != NULL && i < u->nvals; i++) {
		char *dn = dn_normalize(u->vals[i].p), *hash;

		/* uniqueMember may carry "#'0101'B" */
		if ((hash = strrchr(dn, '#')) != NULL)
			*hash = '\0';
		o->members[k++] = arena_strdup(&x->tmp, dn);
		free(dn);
	}
	o->nmembers = k;
}



static void
walk_push(struct walk *w, const char *ndn)
{
	if (strmap_get(&w->seen, ndn) != NULL)
		return;
	strmap_put(&w->seen, ndn, (void *)ndn);
	w->stack = xgrow(w->stack, &w->cap, w->n + 1, sizeof(*w->stack));
	w->stack[w->n++] = ndn;
}

void
rules_walk_run(struct walk *w, const char *root_ndn)
{
	size_t i;

	walk_push(w, root_ndn);
	while (w->n > 0) {
		struct robj *o = strmap_get(&w->x->by_ndn, w->stack[--w->n]);

		if (o == NULL)
			continue;           /* outside the read: ignore */
		if (o->members != NULL || o->type == RT_GROUP) {
			for (i = 0; i < o->nmembers; i++)
				walk_push(w, o->members[i]);
		} else {
			w->leaf(w->arg, o);
		}
	}
	strmap_free(&w->seen);
}


/* ---- conflicts ---------------------------------------------------- */

/* ---- lists -------------------------------------------------------- */

struct collect {
	struct rules_ctx *x;
	const char **v;
	size_t n, cap;
};

static void
collect_leaf(void *arg, struct robj *o)
{
	struct collect *col = arg;
	const char *addr = NULL;

	if (!o->in_scope)
		return;
	if (o->type == RT_USER && o->primary != NULL &&
	    !rules_conflicted(col->x, o->primary))
		addr = o->primary;
	else if (o->type == RT_CONTACT)
		addr = o->external;
	if (addr == NULL)
		return;
	col->v = xgrow(col->v, &col->cap, col->n + 1, sizeof(*col->v));
	col->v[col->n++] = addr;
}

/* Sorted, unique, comma-joined member addresses (in the arena); NULL if
 * none. */
static const char *
expand_list(struct rules_ctx *x, struct walk *w, struct robj *g)
{
	struct collect col = {x, NULL, 0, 0};
	size_t i, len = 0, off = 0;
	char *s;

	w->leaf = collect_leaf;
	w->arg = &col;
	rules_walk_run(w, g->ndn);
	w->arg = NULL;    /* col is ours, not the walker's */
	if (col.n == 0) {
		free(col.v);
		return NULL;
	}
	qsort(col.v, col.n, sizeof(*col.v), rules_cmp_str);
	for (i = 0; i < col.n; i++)
		len += strlen(col.v[i]) + 1;
	s = arena_alloc(x->a, len);
	for (i = 0; i < col.n; i++) {
		size_t l;

		if (i > 0 && strcmp(col.v[i], col.v[i - 1]) == 0)
			continue;
		if (off > 0)
			s[off++] = ',';
		l = strlen(col.v[i]);
		memcpy(s + off, col.v[i], l);
		off += l;
	}
	s[off] = '\0';
	free(col.v);
	return s;
}

/* ---- the whole pass ----------------------------------------------- */


void
rules_fill_lists(struct rules_ctx *x, struct walk *w)
{
	struct rules_result *r = x->r;
	size_t i;

	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = x->objs[i];
		struct mobj *list;

		if (!o->in_scope ||
		    (o->primary != NULL && rules_conflicted(x, o->primary)))
			continue;  /* frozen: reported as a conflict */
		if (o->type != RT_GROUP) {
			r->in_scope++;
			continue;
		}
		list = mset_get(&r->desired, o->primary);
		list->gotos = expand_list(x, w, o);
		if (list->gotos == NULL) {
			rules_warn(x, "%s: list %s has no members in scope; not "
			     "created", o->dn, o->primary);
			strmap_put(&x->dropped, o->anchor, (void *)o->anchor);
			continue;
		}
		r->in_scope++;
	}
}

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

/*
 * A member value that names no entry of the read (outside the base DN or
 * the filter, deleted, or misspelt) is left out of lists and member_of:
 * say so once per value, never shrink a list silently.
 */
static void
unmatched(struct rules_ctx *x, const struct robj *g, const char *member)
{
	if (strmap_get(&x->unmatched, member) != NULL)
		return;
	strmap_put(&x->unmatched, member, (void *)member);
	rules_warn(x, "%s: member %s is not an entry of this read (outside "
		   "the base DN or filter, or misspelt); left out", g->dn,
		   member);
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
			for (i = 0; i < o->nmembers; i++) {
				const char *m = o->members[i];

				if (strmap_get(&w->x->by_ndn, m) == NULL)
					unmatched(w->x, o, m);
				else
					walk_push(w, m);
			}
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

/*
 * An objectSid as text ("S-1-5-21-1-2-3-1105"), from its binary form
 * (MS-DTYP 2.4.2.2: revision, count, 48-bit big-endian authority, count
 * little-endian 32-bit sub-authorities) or as given when it is already
 * text.  keep_rid false: without the last sub-authority (the domain SID of
 * an account).  NULL when the value is neither.
 */
static const char *
sid_text(struct arena *a, const struct attr *at, bool keep_rid)
{
	const unsigned char *b;
	size_t len, n, i, off;
	unsigned long long auth = 0;
	char buf[16 + 15 * 11 + 1];

	if (at == NULL || at->nvals == 0)
		return NULL;
	b = (const unsigned char *)at->vals[0].p;
	len = at->vals[0].len;
	if (len > 2 && (b[0] == 'S' || b[0] == 's') && b[1] == '-') {
		const char *t = (const char *)b, *dash = strrchr(t, '-');

		if (keep_rid)
			return arena_strdup(a, t);
		return arena_strndup(a, t, (size_t)(dash - t));
	}
	if (len < 8 || b[0] != 1 || (n = b[1]) == 0 || n > 15 ||
	    len != 8 + 4 * n)
		return NULL;
	for (i = 2; i < 8; i++)
		auth = (auth << 8) | b[i];
	off = (size_t)snprintf(buf, sizeof(buf), "S-1-%llu", auth);
	for (i = 0; i < n - (keep_rid ? 0 : 1); i++) {
		const unsigned char *s = b + 8 + 4 * i;
		unsigned long v = (unsigned long)s[0] |
				  (unsigned long)s[1] << 8 |
				  (unsigned long)s[2] << 16 |
				  (unsigned long)s[3] << 24;

		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "-%lu",
					v);
	}
	return arena_strdup(a, buf);
}

void
rules_keep_sids(struct rules_ctx *x, struct robj *o)
{
	const char *pg = rules_first(x->at[A_PRIMARYGROUPID]);
	const char *dom;
	size_t l;
	char *s;

	if (o->type == RT_GROUP || o->members != NULL) {
		o->sid = sid_text(&x->tmp, x->at[A_OBJECTSID], true);
		return;
	}
	if (pg == NULL || *pg == '\0' ||
	    strspn(pg, "0123456789") != strlen(pg) ||
	    (dom = sid_text(&x->tmp, x->at[A_OBJECTSID], false)) == NULL)
		return;
	l = strlen(dom) + strlen(pg) + 2;
	s = arena_alloc(&x->tmp, l);
	snprintf(s, l, "%s-%s", dom, pg);
	o->primary_sid = s;
	if (strcmp(pg, "513") != 0) {
		l = strlen(dom) + 5;
		s = arena_alloc(&x->tmp, l);
		snprintf(s, l, "%s-513", dom);
		o->domain_users_sid = s;
	}
}

/*
 * AD never lists a user in the member attribute of the user's primary
 * group (primaryGroupID = the RID of the group's objectSid): add those
 * members here, so that member_of, nesting and lists count them.
 * Domain Users (well-known RID 513) holds every account of its domain: it
 * is the primary group of every new account, and AD makes the former
 * primary group a plain membership when an administrator sets another
 * one, which exports and simplified directories often lack; so a user
 * whose primary group is another one counts as a member of it too.
 */
void
rules_primary_groups(struct rules_ctx *x)
{
	struct strmap by_sid = STRMAP_INIT;
	size_t i;

	for (i = 0; i < x->nobjs; i++)
		if (x->objs[i]->sid != NULL)
			strmap_put(&by_sid, x->objs[i]->sid, x->objs[i]);
	if (by_sid.len == 0)
		return;
	for (i = 0; i < x->nobjs; i++) {
		struct robj *g, *o = x->objs[i];

		if (o->primary_sid != NULL &&
		    (g = strmap_get(&by_sid, o->primary_sid)) != NULL)
			g->nprimary++;
		if (o->domain_users_sid != NULL &&
		    (g = strmap_get(&by_sid, o->domain_users_sid)) != NULL)
			g->nprimary++;
	}
	for (i = 0; i < x->nobjs; i++) {
		struct robj *g = x->objs[i];
		const char **v;

		if (g->nprimary == 0)
			continue;
		v = arena_alloc(&x->tmp,
				(g->nmembers + g->nprimary) * sizeof(*v));
		if (g->nmembers > 0)
			memcpy(v, g->members, g->nmembers * sizeof(*v));
		g->members = v;
	}
	for (i = 0; i < x->nobjs; i++) {
		struct robj *g, *o = x->objs[i];

		if (o->primary_sid != NULL &&
		    (g = strmap_get(&by_sid, o->primary_sid)) != NULL)
			g->members[g->nmembers++] = o->ndn;
		if (o->domain_users_sid != NULL &&
		    (g = strmap_get(&by_sid, o->domain_users_sid)) != NULL)
			g->members[g->nmembers++] = o->ndn;
	}
	strmap_free(&by_sid);
}

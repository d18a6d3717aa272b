/*
 * rules_groups.c - group members, nested groups (cycle-safe) and lists.
 */
#include "rules/rules_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/thread.h"
#include "util/xalloc.h"

/* Looked at ahead of the last value matched, for a value of the other
 * version spelt alike (a member added or removed shifts them by one). */
#define MEMO_AHEAD 8

/* One member value in normal form into a (uniqueMember's "#'0101'B" cut). */
static char *
member_norm(struct arena *a, const struct val *v, bool unique)
{
	char *dn = dn_normalize_arena(a, v->p), *hash;

	/* uniqueMember may carry "#'0101'B" (never a plain DN: the bytes
	 * after '#' stay in the arena, unused) */
	if (unique && (hash = strrchr(dn, '#')) != NULL)
		*hash = '\0';
	return dn;
}

/* Past this many values with nothing to take from another version, two
 * threads normalise them (a list of 50,000 in 7 ms instead of 14). */
#define MEMO_PAR_MIN 8192

/* Values [from, to) of a in plain normal form into buf (lengths kept),
 * out[i] pointing at each; NULL where a value is not a plain DN. */
struct plain_part {
	const struct attr *a;
	size_t from, to;
	char *buf;
	const char **out;
};

static void *
plain_part_main(void *arg)
{
	struct plain_part *p = arg;
	char *at = p->buf;
	size_t i;

	for (i = p->from; i < p->to; i++) {
		const struct val *v = &p->a->vals[i];

		p->out[i] = dn_normalize_plain(v->p, at) ? at : NULL;
		at += v->len + 1;
	}
	return NULL;
}

/*
 * All of a's values into out, the second half on a thread of its own:
 * plain DNs in place in one block of ar, the others (libldap's) after.
 * false when no thread could start (nothing done).
 */
static bool
members_par(struct arena *ar, const struct attr *a, bool unique,
	    const char **out)
{
	struct plain_part p[2];
	size_t half = a->nvals / 2, i, len[2] = {0, 0};
	pthread_t th;
	char *hash;

	for (i = 0; i < a->nvals; i++)
		len[i >= half] += a->vals[i].len + 1;
	p[0] = (struct plain_part){a, 0, half, arena_alloc(ar, len[0]), out};
	p[1] = (struct plain_part){a, half, a->nvals, arena_alloc(ar, len[1]),
				   out};
	if (thread_spawn(&th, plain_part_main, &p[1]) != 0)
		return false;
	plain_part_main(&p[0]);
	pthread_join(th, NULL);
	for (i = 0; i < a->nvals; i++) {
		if (out[i] == NULL)
			out[i] = member_norm(ar, &a->vals[i], unique);
		else if (unique && (hash = strrchr(out[i], '#')) != NULL)
			*hash = '\0';
	}
	return true;
}

/*
 * The values of a (n of them) into out, in normal form; like (its normal
 * forms like_v) the other version's values of the same attribute: a
 * value spelt as the one next in like, or a few after, takes its form.
 */
static void
members_of_attr(struct arena *ar, const struct attr *a, bool unique,
		const struct attr *like, const char *const *like_v,
		const char **out)
{
	size_t i, j = 0, t, end;

	if (like == NULL && a->nvals >= MEMO_PAR_MIN &&
	    members_par(ar, a, unique, out))
		return;

	for (i = 0; i < a->nvals; i++) {
		const struct val *v = &a->vals[i];

		out[i] = NULL;
		end = like != NULL ? like->nvals : 0;
		if (end > j + MEMO_AHEAD)
			end = j + MEMO_AHEAD;
		for (t = j; t < end; t++) {
			if (like->vals[t].len == v->len &&
			    memcmp(like->vals[t].p, v->p, v->len) == 0) {
				out[i] = like_v[t];
				j = t + 1;
				break;
			}
		}
		if (out[i] == NULL)
			out[i] = member_norm(ar, v, unique);
	}
}

void
rules_keep_members(struct rules_ctx *x, const struct entry *e,
		   struct robj *o)
{
	const struct attr *m = x->at[A_MEMBER], *u = x->at[A_UNIQUEMEMBER];
	const struct rules_members *like = x->memo_like;
	struct arena *ar = x->memo_out != NULL ? x->memo_arena : &x->tmp;
	size_t nm = m ? m->nvals : 0, n = nm + (u ? u->nvals : 0);

	o->nmembers = 0;
	o->members = NULL;
	if (x->memo != NULL && x->memo->e == e) {
		o->members = x->memo->v;
		o->nmembers = x->memo->n;
		return;
	}
	if (like != NULL && like->e == NULL)
		like = NULL;
	if (n > 0) {
		o->members = arena_alloc(ar, n * sizeof(char *));
		if (m != NULL)
			members_of_attr(ar, m, false, like ? like->m : NULL,
					like ? like->v : NULL, o->members);
		if (u != NULL)
			members_of_attr(ar, u, true,
					like && like->v ? like->u : NULL,
					like && like->v ? like->v + (like->m ?
						like->m->nvals : 0) : NULL,
					o->members + nm);
		o->nmembers = n;
	}
	if (x->memo_out != NULL) {
		x->memo_out->e = e;
		x->memo_out->v = o->members;
		x->memo_out->n = o->nmembers;
		x->memo_out->m = m;
		x->memo_out->u = u;
	}
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
 * say so once per value, never shrink a list silently.  When several
 * groups name it, the warning names the one with the least normalised DN,
 * whatever the order they are met in (a run over part of the directory,
 * rules_delta.c, must name the same one as a full run).
 */
struct unmatched {
	size_t w;                  /* its line in r->warnings */
	const struct robj *g;
};

static void
unmatched(struct rules_ctx *x, const struct robj *g, const char *member)
{
	struct rules_result *r = x->r;
	struct unmatched *u;

	/* play first: over a delta most values are not in play, and a list
	 * of 50,000 asks for each */
	if (x->play != NULL && strmap_get(x->play, member) == NULL)
		return;
	u = strmap_get(&x->unmatched, member);
	if (u != NULL && strcmp(g->ndn, u->g->ndn) >= 0)
		return;
	rules_warn(x, "%s: member %s is not an entry of this read (outside "
		   "the base DN or filter, or misspelt); left out", g->dn,
		   member);
	if (u == NULL) {
		u = arena_alloc(&x->tmp, sizeof(*u));
		u->w = r->nwarnings - 1;
		strmap_put(&x->unmatched, member, u);
	} else {
		/* in place of the line naming the other group */
		free(r->warnings[u->w]);
		r->warnings[u->w] = r->warnings[--r->nwarnings];
	}
	u->g = g;
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


/* ---- lists -------------------------------------------------------- */

/*
 * Every list's members are found in one pass over the member graph rather
 * than one walk per list: a walk per list costs depth x lists, 82 s for a
 * 20,000-deep chain of lists.  Tarjan's algorithm, iterative (no C stack
 * grows with the depth), finds the strongly connected components (groups
 * in a membership cycle share one); it emits each component after every
 * component it reaches, so a component's addresses are its own leaves'
 * plus the already-known sets of the components below it.  A set is freed
 * once every component above it has taken it in, so a chain holds a few
 * sets at a time.  Time and memory grow with the member values and the
 * lists' own addresses, not with the depth.
 */

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
	    !(o->standin ? o->held : rules_conflicted(col->x, o->primary)))
		addr = o->primary;
	else if (o->type == RT_CONTACT)
		addr = o->external;
	if (addr == NULL)
		return;
	col->v = xgrow(col->v, &col->cap, col->n + 1, sizeof(*col->v));
	col->v[col->n++] = addr;
}

#define NO_INDEX ((size_t)-1)

struct gnode {
	struct robj *o;
	/* o's members resolved once (NULL: names no entry), in x->tmp:
	 * the passes below read each edge several times */
	struct robj **mem;
	size_t index, low;         /* Tarjan's */
	size_t next;               /* next member to look at */
	size_t comp;               /* component, once assigned */
	bool on_stack;
	bool list;                 /* a list: its component needs gotos */
	bool warned;               /* warn_unmatched() has been here */
};

struct gcomp {
	const char **v;            /* sorted unique addresses (borrowed) */
	size_t n;
	size_t preds;              /* components above not yet built */
	size_t stamp;              /* last component that counted it */
	size_t taken;              /* last component that took it in */
	const char *gotos;         /* joined, in the result's arena */
};

struct ggraph {
	struct rules_ctx *x;
	struct strmap node_of;     /* ndn -> node index + 1 */
	struct gnode *nodes;
	size_t nnodes, ncap;
	size_t *stack, nstack, scap;     /* Tarjan's stack */
	size_t *calls, ncalls, ccap;     /* the DFS, in place of recursion */
	size_t *order, norder, ocap;     /* nodes grouped by component */
	size_t *cstart, ncstart, cscap;  /* c: order[cstart[c]..cstart[c+1]) */
	size_t *succ, nsucc, sucap;      /* one component's successors */
	struct gcomp *comps;
	size_t ncomps, compcap, counter;
};

/* As the walk: members make an object a group, whatever its class. */
static bool
is_group(const struct robj *o)
{
	return o->members != NULL || o->type == RT_GROUP;
}

static size_t
gnode_get(struct ggraph *g, struct robj *o)
{
	void *v = strmap_get(&g->node_of, o->ndn);
	struct gnode *n;
	size_t i;

	if (v != NULL)
		return (size_t)(uintptr_t)v - 1;
	g->nodes = xgrow(g->nodes, &g->ncap, g->nnodes + 1, sizeof(*g->nodes));
	n = &g->nodes[g->nnodes];
	memset(n, 0, sizeof(*n));
	n->o = o;
	n->mem = arena_alloc(&g->x->tmp,
			     (o->nmembers ? o->nmembers : 1) * sizeof(*n->mem));
	for (i = 0; i < o->nmembers; i++)
		n->mem[i] = strmap_get(&g->x->by_ndn, o->members[i]);
	n->index = NO_INDEX;
	n->comp = NO_INDEX;
	strmap_put(&g->node_of, o->ndn, (void *)(uintptr_t)(g->nnodes + 1));
	return g->nnodes++;
}

static void
gpush(size_t **a, size_t *n, size_t *cap, size_t v)
{
	*a = xgrow(*a, cap, *n + 1, sizeof(**a));
	(*a)[(*n)++] = v;
}

static void
gvisit(struct ggraph *g, size_t v)
{
	g->nodes[v].index = g->nodes[v].low = g->counter++;
	g->nodes[v].on_stack = true;
	gpush(&g->stack, &g->nstack, &g->scap, v);
	gpush(&g->calls, &g->ncalls, &g->ccap, v);
}

/* v's members are all seen: close its component if v is its root. */
static void
gfinish(struct ggraph *g, size_t v)
{
	size_t w;

	if (g->nodes[v].low == g->nodes[v].index) {
		g->comps = xgrow(g->comps, &g->compcap, g->ncomps + 1,
				 sizeof(*g->comps));
		memset(&g->comps[g->ncomps], 0, sizeof(*g->comps));
		g->comps[g->ncomps].stamp = NO_INDEX;
		gpush(&g->cstart, &g->ncstart, &g->cscap, g->norder);
		do {
			w = g->stack[--g->nstack];
			g->nodes[w].on_stack = false;
			g->nodes[w].comp = g->ncomps;
			gpush(&g->order, &g->norder, &g->ocap, w);
		} while (w != v);
		g->ncomps++;
	}
	g->ncalls--;
	if (g->ncalls > 0) {
		struct gnode *p = &g->nodes[g->calls[g->ncalls - 1]];

		if (g->nodes[v].low < p->low)
			p->low = g->nodes[v].low;
	}
}

/* Tarjan from one list, iteratively. */
static void
gtarjan(struct ggraph *g, size_t root)
{
	if (g->nodes[root].index != NO_INDEX)
		return;
	gvisit(g, root);
	while (g->ncalls > 0) {
		size_t v = g->calls[g->ncalls - 1], w;
		struct gnode *n = &g->nodes[v];
		struct robj *m;

		if (n->next == n->o->nmembers) {
			gfinish(g, v);
			continue;
		}
		m = n->mem[n->next++];
		if (m == NULL || !is_group(m))
			continue;  /* a leaf: taken in when v's component is built */
		w = gnode_get(g, m);
		n = &g->nodes[v];  /* gnode_get may have moved the array */
		if (g->nodes[w].index == NO_INDEX)
			gvisit(g, w);
		else if (g->nodes[w].on_stack && g->nodes[w].index < n->low)
			n->low = g->nodes[w].index;
	}
}

/* The component of a group member; every group reached has one. */
static struct gcomp *
gcomp_of(struct ggraph *g, const struct robj *m)
{
	size_t v = (size_t)(uintptr_t)strmap_get(&g->node_of, m->ndn) - 1;

	return &g->comps[g->nodes[v].comp];
}

/* How many components take each one in (each counted once per taker). */
static void
gcount_preds(struct ggraph *g)
{
	size_t c, i, j;

	for (c = 0; c < g->ncomps; c++) {
		for (i = g->cstart[c]; i < g->cstart[c + 1]; i++) {
			const struct gnode *nd = &g->nodes[g->order[i]];

			for (j = 0; j < nd->o->nmembers; j++) {
				struct robj *m = nd->mem[j];
				struct gcomp *s;

				if (m == NULL || !is_group(m))
					continue;
				s = gcomp_of(g, m);
				if (s != &g->comps[c] && s->stamp != c) {
					s->stamp = c;
					s->preds++;
				}
			}
		}
	}
}

/* Sorted, unique, comma-joined addresses (in the arena); NULL if none. */
static const char *
join_addrs(struct rules_ctx *x, const char **v, size_t n)
{
	size_t i, len = 0, off = 0;
	char *s;

	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	s = arena_alloc(x->a, len);
	for (i = 0; i < n; i++) {
		size_t l = strlen(v[i]);

		if (off > 0)
			s[off++] = ',';
		memcpy(s + off, v[i], l);
		off += l;
	}
	s[off] = '\0';
	return s;
}

/* Component c's addresses: its leaves' and its successors' (all built). */
static void
gbuild(struct ggraph *g, size_t c)
{
	struct collect col = {g->x, NULL, 0, 0};
	struct gcomp *me = &g->comps[c];
	size_t i, j, k, n;
	bool list = false;

	g->nsucc = 0;
	for (i = g->cstart[c]; i < g->cstart[c + 1]; i++) {
		const struct gnode *nd = &g->nodes[g->order[i]];

		list |= nd->list;
		for (j = 0; j < nd->o->nmembers; j++) {
			struct robj *m = nd->mem[j];
			struct gcomp *s;

			if (m == NULL)
				continue;
			if (!is_group(m)) {
				collect_leaf(&col, m);
				continue;
			}
			s = gcomp_of(g, m);
			if (s == me || s->taken == c)
				continue;
			s->taken = c;
			gpush(&g->succ, &g->nsucc, &g->sucap,
			      (size_t)(s - g->comps));
			col.v = xgrow(col.v, &col.cap, col.n + s->n,
				      sizeof(*col.v));
			if (s->n > 0)
				memcpy(col.v + col.n, s->v,
				       s->n * sizeof(*col.v));
			col.n += s->n;
		}
	}
	if (col.n > 0)
		qsort(col.v, col.n, sizeof(*col.v), rules_cmp_str);
	for (i = n = 0; i < col.n; i++)
		if (n == 0 || strcmp(col.v[i], col.v[n - 1]) != 0)
			col.v[n++] = col.v[i];
	me->v = col.v;
	me->n = n;
	if (list)
		me->gotos = join_addrs(g->x, me->v, me->n);
	for (k = 0; k < g->nsucc; k++) {
		struct gcomp *s = &g->comps[g->succ[k]];

		if (--s->preds == 0) {
			free(s->v);
			s->v = NULL;
		}
	}
	if (me->preds == 0) {
		free(me->v);
		me->v = NULL;
	}
}

static void
ggraph_free(struct ggraph *g)
{
	size_t c;

	for (c = 0; c < g->ncomps; c++)
		free(g->comps[c].v);
	free(g->comps);
	free(g->nodes);
	free(g->stack);
	free(g->calls);
	free(g->order);
	free(g->cstart);
	free(g->succ);
	strmap_free(&g->node_of);
}

/* A list: in scope, its address not contested, a group. */
static bool
is_list(struct rules_ctx *x, const struct robj *o)
{
	return o->in_scope && o->type == RT_GROUP &&
	       !(o->primary != NULL && rules_conflicted(x, o->primary));
}

/*
 * Warns about the members of root's groups that name no entry, in the
 * order one walk per list gave (the DFS of rules_walk_run), but walking
 * each group once in all: a group walked for an earlier list had its
 * warnings then, and so did every group below it.  Every group a list
 * reaches is a node of g (gtarjan made it one).
 */
static void
warn_unmatched(struct rules_ctx *x, struct ggraph *g, size_t **stack,
	       size_t *cap, struct robj *root)
{
	size_t n = 0, i, v = (size_t)(uintptr_t)strmap_get(&g->node_of,
							    root->ndn) - 1;

	if (g->nodes[v].warned)
		return;
	g->nodes[v].warned = true;
	*stack = xgrow(*stack, cap, 1, sizeof(**stack));
	(*stack)[n++] = v;
	while (n > 0) {
		const struct gnode *nd = &g->nodes[(*stack)[--n]];

		for (i = 0; i < nd->o->nmembers; i++) {
			struct robj *mo = nd->mem[i];
			size_t w;

			if (mo == NULL) {
				unmatched(x, nd->o, nd->o->members[i]);
				continue;
			}
			if (!is_group(mo))
				continue;
			w = (size_t)(uintptr_t)strmap_get(&g->node_of,
							  mo->ndn) - 1;
			if (g->nodes[w].warned)
				continue;
			g->nodes[w].warned = true;
			*stack = xgrow(*stack, cap, n + 1, sizeof(**stack));
			(*stack)[n++] = w;
		}
	}
}

/* ---- the whole pass ----------------------------------------------- */

void
rules_fill_lists(struct rules_ctx *x, struct walk *w)
{
	struct rules_result *r = x->r;
	struct ggraph g;
	size_t i, c, *stack = NULL, scap = 0;

	memset(&g, 0, sizeof(g));
	g.x = x;
	for (i = 0; i < x->nobjs; i++) {
		if (is_list(x, x->objs[i])) {
			size_t v = gnode_get(&g, x->objs[i]);

			g.nodes[v].list = true;
		}
	}
	for (i = 0; i < g.nnodes; i++)
		gtarjan(&g, i);  /* appends nodes: the lists come first */
	gpush(&g.cstart, &g.ncstart, &g.cscap, g.norder);
	for (c = 0; c < g.ncomps; c++)
		g.comps[c].taken = NO_INDEX;
	gcount_preds(&g);
	for (c = 0; c < g.ncomps; c++)
		gbuild(&g, c);
	for (i = 0; i < x->nobjs; i++) {
		struct robj *o = x->objs[i];
		struct mobj *list;

		if (!o->in_scope || o->standin ||
		    (o->primary != NULL && rules_conflicted(x, o->primary)))
			continue;  /* frozen: reported as a conflict */
		if (o->type != RT_GROUP) {
			r->in_scope++;
			continue;
		}
		warn_unmatched(x, &g, &stack, &scap, o);
		list = mset_get(&r->desired, o->primary);
		list->gotos = gcomp_of(&g, o)->gotos;
		list->partial = o->patch;
		if (list->gotos == NULL && !o->patch) {
			rules_warn(x, "%s: list %s has no members in scope; "
				   "left out (not created, or deprovisioned "
				   "if it exists)",
				   o->dn, o->primary);
			strmap_put(&x->dropped, o->anchor, (void *)o->anchor);
			rules_left_out(x, o, LR_LIST_EMPTY, NULL);
			continue;
		}
		r->in_scope++;
	}
	ggraph_free(&g);
	free(stack);
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

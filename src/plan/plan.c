#include "plan/plan.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

static const char *const op_names[OP_NOPS] = {
	"add", "update", "disable", "delete",
};

const char *
op_name(enum op op)
{
	return (unsigned)op < OP_NOPS ? op_names[op] : "unknown";
}

/* ---- plan --------------------------------------------------------- */

void
plan_init(struct plan *p)
{
	memset(p, 0, sizeof(*p));
}

void
plan_free(struct plan *p)
{
	free(p->v);
	free(p->clashes);
	free(p->notes);
	arena_free(&p->arena);
	memset(p, 0, sizeof(*p));
}

static void
reserve(struct plan *p, size_t n)
{
	if (n <= p->cap)
		return;
	p->v = xrealloc(p->v, n * sizeof(*p->v));
	p->cap = n;
}

static struct change *
push(struct plan *p, enum op op, const struct mobj *want)
{
	struct change *ch;

	p->v = xgrow(p->v, &p->cap, p->n + 1, sizeof(*p->v));
	ch = &p->v[p->n++];
	memset(ch, 0, sizeof(*ch));
	ch->op = op;
	if (want != NULL) {
		ch->kind = want->kind;
		ch->address = want->address;
		ch->anchor = want->anchor;
		ch->name = want->name;
		ch->attrs = want->attrs;
		ch->gotos = want->gotos;
		ch->dn = want->dn;
		ch->account = want->account;
	}
	return ch;
}

/* push() of a row of the current set (cur) going: its key as stored. */
static struct change *
push_row(struct plan *p, enum op op, const struct mobj *gone,
	 const struct plan_input *in, const struct mobj *cur)
{
	struct change *ch = push(p, op, gone);

	ch->row = mset_stored(in->current, cur);
	return ch;
}

/*
 * Strings the target's load borrowed from the desired set (mset.share)
 * are the very same pointers: equal without a look at the bytes.
 */
static bool
str_eq(const char *a, const char *b)
{
	if (a == b)
		return true;
	if (a == NULL || b == NULL)
		return (a == NULL || *a == '\0') && (b == NULL || *b == '\0');
	return strcmp(a, b) == 0;
}

/* A target that carries them (cur->attrs != NULL) holds other ones. */
static bool
attrs_differ(const struct mobj *want, const struct mobj *cur)
{
	return want->kind == MK_MAILBOX && cur->attrs != NULL &&
	       !str_eq(want->attrs, cur->attrs);
}

/* Outside the part a partial compare plans? */
static bool
left_alone(const struct plan_input *in, const char *addr)
{
	return in->only != NULL && strmap_get(in->only, addr) == NULL;
}

static bool
frozen_addr(const struct plan_input *in, const char *addr)
{
	return in->frozen_addresses != NULL &&
	       strmap_get(in->frozen_addresses, addr) != NULL;
}

static bool
frozen_anchor(const struct plan_input *in, const char *anchor)
{
	return anchor != NULL && in->frozen_anchors != NULL &&
	       strmap_get(in->frozen_anchors, anchor) != NULL;
}

static bool
any_frozen(const struct plan_input *in)
{
	return (in->frozen_addresses != NULL &&
		in->frozen_addresses->len > 0) ||
	       (in->frozen_anchors != NULL && in->frozen_anchors->len > 0);
}

/* A list member left as it is: its address, or its owner, in conflict. */
static bool
frozen_member(const struct plan_input *in, const char *addr)
{
	const struct managed_rec *m;

	if (frozen_addr(in, addr))
		return true;
	m = in->frozen_anchors != NULL && in->frozen_anchors->len > 0
		    ? managed_get(in->managed, addr)
		    : NULL;
	return m != NULL && frozen_anchor(in, m->anchor);
}

/* A list row's goto: one member at least, and each of them frozen. */
static bool
members_all_frozen(const struct plan_input *in, const char *gotos)
{
	char addr[512];
	const char *c = gotos;
	size_t n = 0;
	int rc;

	/* one too long for addr is no address in conflict */
	while ((rc = goto_next_addr(&c, addr, sizeof(addr))) != 0) {
		if (rc < 0 || !frozen_member(in, addr))
			return false;
		n++;
	}
	return n > 0;
}

/* Same table?  A mailbox row cannot become an alias row in place. */
static bool
same_table(enum mkind a, enum mkind b)
{
	return a == b || (mkind_alias_row(a) && mkind_alias_row(b));
}

/* A DN anchor changes with every move: it cannot tell people apart. */
static bool
stable_anchor(const char *a)
{
	return a != NULL && strncmp(a, "dn:", 3) != 0;
}

static void
clash(struct plan *p, const struct mobj *want, const char *other,
      const char *reason)
{
	struct plan_clash *c;

	p->clashes = xgrow(p->clashes, &p->capclashes, p->nclashes + 1,
			   sizeof(*p->clashes));
	c = &p->clashes[p->nclashes++];
	c->address = want->address;
	c->anchor = want->anchor;
	c->other = other;
	c->reason = reason;
	c->dn = want->dn;
	c->account = want->account;
	c->other_dn = c->other_account = NULL;   /* plan_name() fills them */
}

/*
 * Renames.  A desired mailbox takes over the managed mailbox of the same
 * anchor whose address is no longer wanted as a mailbox of its own: the
 * row is renamed in place and keeps its maildir.  Its new address must
 * be free by then: no row, dirsync's alias-table row no longer wanted
 * there (deleted first, as when the primary and an alias swap), or the
 * mailbox of another person whose own mailbox is renamed away in the
 * same plan (an address that changes hands between two people who both
 * stay: A a -> c, B b -> a).  Such renames form chains, each waiting for
 * the one that frees its address (plan_finish puts it after that one):
 * when the rename at the head of a chain cannot happen, every rename
 * behind it is held; a cycle (A a -> b, B b -> a: no order frees an
 * address first, nor would several runs) is held whole; and so is a
 * rename out of an address in a conflict in the directory.  Held means
 * left as it is and reported (a clash), never a new mailbox beside the
 * old one, never a disable, and list places kept (renames.moved).
 */
struct renames {
	struct strmap by_anchor;   /* anchor -> managed_rec (mailbox) */
	struct strmap frozen;      /* the same, at an address in a conflict */
	struct strmap from;        /* old address -> new address */
	struct strmap to;          /* new address -> old address */
	struct strmap held;        /* desired address -> itself: reported */
	/*
	 * The desired address of a mailbox held where it is (here, or a
	 * clash in plan_wanted) -> the address its mailbox has: list
	 * members follow the person, not the address (list_members).
	 */
	struct strmap moved;
	/*
	 * Addresses whose row an update gives another owner (diff_present:
	 * CH_KIND): the record there is taken over, not deprovisioned.  A
	 * mailbox row deleted by hand, its self-alias left, then claimed as
	 * an alias by another person: the run disabled the row it had just
	 * given the new owner, and the next run enabled it again (a user
	 * trial's randomized tester).
	 */
	struct strmap taken;
};

/* Does the target still have the managed mailbox's row itself (not only
 * a self-alias left behind when the row was deleted by hand)? */
static bool
mailbox_row(const struct plan_input *in, const struct managed_rec *r)
{
	const struct mobj *cur = mset_get_h(in->current, r->address, r->hash);

	return cur != NULL && cur->kind == MK_MAILBOX;
}

/*
 * rn->by_anchor: the managed mailboxes that may be renamed, those whose
 * address is not still wanted as a mailbox of their own (wanted by
 * another person, an address that changes hands, counts as not); those
 * at an address in a conflict go to rn->frozen instead.
 *
 * A DN anchor changes with every move, so a mailbox whose address is
 * wanted under another DN is usually the same person moved (the row
 * follows the address, diff_present).  It is somebody else only when
 * that other DN has a mailbox of its own here (two people who both
 * stay, one taking the other's address): then it may be renamed too, as
 * a second run would do once the address was free.
 */
static void
rename_sources(struct renames *rn, const struct plan_input *in)
{
	struct strmap dn = STRMAP_INIT;   /* anchor -> record, see above */
	const struct managed_rec *r;
	const struct mobj *d;
	const char *k;
	void *v;
	size_t j;

	for (j = 0; j < in->managed->n; j++) {
		r = &in->managed->v[j];
		if (r->kind != MK_MAILBOX || r->anchor == NULL ||
		    !mailbox_row(in, r) || frozen_anchor(in, r->anchor))
			continue;
		d = mset_get_h(in->desired, r->address, r->hash);
		if (d != NULL && d->kind == MK_MAILBOX) {
			if (d->anchor == NULL || d->anchor == r->anchor ||
			    strcmp(d->anchor, r->anchor) == 0)
				continue;   /* still its own */
			if (!stable_anchor(r->anchor)) {
				strmap_put(&dn, r->anchor, (void *)r);
				continue;
			}
		}
		strmap_put(frozen_addr(in, r->address) ? &rn->frozen
						       : &rn->by_anchor,
			   r->anchor, (void *)r);
	}
	for (j = 0; strmap_next(&dn, &j, &k, &v);) {
		r = v;
		d = mset_get_h(in->desired, r->address, r->hash);
		if (strmap_get(&rn->by_anchor, d->anchor) != NULL ||
		    strmap_get(&rn->frozen, d->anchor) != NULL ||
		    strmap_get(&dn, d->anchor) != NULL)
			strmap_put(&rn->by_anchor, r->anchor, (void *)r);
	}
	strmap_free(&dn);
}

/*
 * RS_STAYS: the row at its new address stays (plan_wanted reports it);
 * RS_NONE: that row is another person's mailbox, which no rename takes
 * away (the person left, or stays where they are); RS_WAIT: it waits for
 * a rename that cannot happen; RS_CYCLE: the renames wait for each
 * other.
 */
enum rn_state {
	RS_NEW, RS_WALKING, RS_OK, RS_STAYS, RS_NONE, RS_WAIT, RS_CYCLE
};

/* A rename find_renames considers. */
struct cand {
	const struct mobj *want;
	const struct managed_rec *from;  /* the record renamed */
	const struct mobj *cur;          /* the row at want->address */
	/* cur is another person's mailbox: the candidate renaming it away
	 * (its index + 1), 0 when there is none */
	size_t after;
	enum rn_state st;
};

struct cands {
	struct cand *v;
	size_t n, cap;
	struct strmap by_from;   /* from->address -> index + 1 */
};

/* What the row at a desired mailbox's address is to a rename into it. */
enum row_role {
	ROW_OWN,     /* its own mailbox: no rename */
	ROW_GOES,    /* it makes way: see row_role() */
	ROW_STAYS    /* it does not: the rename cannot happen this run */
};

/*
 * The row at want's address (cur, not NULL) makes way for a rename when
 * it is dirsync's alias-table row (whoever owned it no longer claims the
 * address: the rules give it to this mailbox), deleted first, or another
 * person's mailbox that may itself be renamed away (rn->by_anchor):
 * then whether it is decides (rename_settle).
 */
static enum row_role
row_role(const struct plan_input *in, struct renames *rn, bool *built,
	 const struct mobj *want, const struct mobj *cur)
{
	const struct managed_rec *m =
		managed_get_h(in->managed, want->address, want->hash);

	if (cur->kind == MK_MAILBOX && m != NULL &&
	    (m->anchor == want->anchor ||
	     (m->anchor != NULL && strcmp(m->anchor, want->anchor) == 0)))
		return ROW_OWN;
	if (!*built) {
		*built = true;
		rename_sources(rn, in);
	}
	if (m == NULL)
		return ROW_STAYS;
	if (cur->kind != MK_MAILBOX)
		return mkind_alias_row(m->kind) ? ROW_GOES : ROW_STAYS;
	return m->kind == MK_MAILBOX && m->anchor != NULL &&
			       strmap_get(&rn->by_anchor, m->anchor) == m
		       ? ROW_GOES
		       : ROW_STAYS;
}

/* Every desired mailbox that could take over its owner's mailbox. */
static void
rename_candidates(struct plan *p, struct renames *rn, struct cands *c,
		  const struct plan_input *in, struct strmap *blocked)
{
	bool built = false;
	size_t i;

	for (i = 0; i < in->desired->n; i++) {
		const struct mobj *want = in->desired->v[i];
		const struct mobj *cur;
		const struct managed_rec *from, *fz;
		enum row_role role = ROW_GOES;
		struct cand *k;

		if (want->kind != MK_MAILBOX || want->anchor == NULL ||
		    frozen_addr(in, want->address) ||
		    left_alone(in, want->address))
			continue;
		cur = mset_get_h(in->current, want->address, want->hash);
		if (cur != NULL &&
		    (role = row_role(in, rn, &built, want, cur)) == ROW_OWN)
			continue;
		if (!built) {
			built = true;
			rename_sources(rn, in);
		}
		from = strmap_get(&rn->by_anchor, want->anchor);
		if (from == NULL && role == ROW_GOES &&
		    (fz = strmap_get(&rn->frozen, want->anchor)) != NULL) {
			/* its mailbox's address is contested: a new mailbox
			 * would split its mail, a rename would take the
			 * address from the conflict */
			clash(p, want, NULL,
			      "its mailbox's present address is in a "
			      "conflict in the directory: the mailbox is "
			      "renamed when that is settled");
			strmap_put(&rn->held, want->address,
				   (void *)want->address);
			strmap_put(&rn->moved, want->address,
				   (void *)fz->address);
			strmap_put(blocked, want->anchor, (void *)want->anchor);
			continue;
		}
		if (from == NULL || strmap_get(&c->by_from, from->address))
			continue;
		c->v = xgrow(c->v, &c->cap, c->n + 1, sizeof(*c->v));
		k = &c->v[c->n++];
		k->want = want;
		k->from = from;
		k->cur = cur;
		k->after = 0;
		k->st = role == ROW_STAYS ? RS_STAYS : RS_NEW;
		strmap_put(&c->by_from, from->address, (void *)c->n);
	}
	for (i = 0; i < c->n; i++)
		if (c->v[i].st == RS_NEW && c->v[i].cur != NULL &&
		    c->v[i].cur->kind == MK_MAILBOX)
			c->v[i].after = (size_t)strmap_get(
				&c->by_from, c->v[i].want->address);
}

/*
 * Whether candidate i can be renamed: follows what it waits for.  Every
 * address has one claimant and every record one address, so what waits
 * for what is a set of simple chains and cycles: a walk from i ends at a
 * candidate already settled, at one whose address is free (RS_OK), at
 * one waiting for a rename that is not there (RS_NONE: the old owner
 * left, or stays where it is), or back on itself (a cycle).
 */
static void
rename_settle(struct cands *c, size_t i)
{
	size_t j = i, k;
	enum rn_state st;

	while (c->v[j].st == RS_NEW) {
		struct cand *x = &c->v[j];

		x->st = RS_WALKING;
		if (x->cur == NULL || x->cur->kind != MK_MAILBOX)
			x->st = RS_OK;
		else if (x->after == 0)
			x->st = RS_NONE;
		else
			j = x->after - 1;
	}
	if (c->v[j].st == RS_WALKING) {   /* back on the walk: a cycle */
		k = j;
		do {
			c->v[k].st = RS_CYCLE;
			k = c->v[k].after - 1;
		} while (k != j);
	}
	st = c->v[j].st == RS_OK ? RS_OK : RS_WAIT;
	for (k = i; c->v[k].st == RS_WALKING; k = c->v[k].after - 1)
		c->v[k].st = st;
}

/* The rename of candidate k. */
static void
rename_push(struct plan *p, struct renames *rn, const struct plan_input *in,
	    const struct cand *k)
{
	const struct mobj *want = k->want, *cur = k->cur, *old;
	struct change *ch;

	old = mset_get_h(in->current, k->from->address, k->from->hash);
	if (cur != NULL && cur->kind != MK_MAILBOX) {
		/* the alias row in the way goes first */
		const struct managed_rec *in_way =
			managed_get_h(in->managed, want->address, want->hash);
		struct mobj gone = *cur;

		gone.kind = in_way->kind == MK_MAILBOX ? cur->kind
						       : in_way->kind;
		gone.anchor = in_way->anchor;
		push_row(p, OP_DELETE, &gone, in, cur)->why = WHY_IN_THE_WAY;
	}
	ch = push(p, OP_UPDATE, want);
	ch->fields = CH_ADDRESS;
	ch->old_address = k->from->address;
	ch->row = mset_stored(in->current, old);
	ch->old_name = old->name;
	if (!str_eq(want->name, old->name))
		ch->fields |= CH_NAME;
	if (attrs_differ(want, old))
		ch->fields |= CH_ATTRS;
	if (!old->active)
		ch->fields |= CH_ACTIVE;
	/*
	 * The self-alias goes with the mailbox.  One that is not the old
	 * address alone (a forward the user set up, or a goto changed by
	 * hand) is written again for the new address: its own address
	 * first, the forwards kept, the old address dropped.  Renamed as
	 * it was, "eve@ -> jo@" kept the new address's mail going to
	 * somebody else, and the run was verified (a user trial).
	 */
	if (old->kind == MK_MAILBOX && ((old->drift & MD_SELF_ALIAS) ||
					!str_eq(old->gotos, old->address))) {
		ch->fields |= CH_REPAIR_SELF;
		ch->old_gotos = old->gotos;
	}
	strmap_put(&rn->from, k->from->address, (void *)want->address);
	strmap_put(&rn->to, want->address, (void *)k->from->address);
}

static void
find_renames(struct plan *p, struct renames *rn, const struct plan_input *in,
	     struct strmap *blocked)
{
	struct cands c = {NULL, 0, 0, STRMAP_INIT};
	size_t i;

	rename_candidates(p, rn, &c, in, blocked);
	for (i = 0; i < c.n; i++)
		rename_settle(&c, i);
	for (i = 0; i < c.n; i++) {
		const struct cand *k = &c.v[i];
		const char *other;

		if (k->st == RS_OK) {
			rename_push(p, rn, in, k);
			continue;
		}
		if (k->st == RS_NONE || k->st == RS_STAYS)
			continue;   /* plan_wanted reports the row's owner */
		/* held: the rename it waits for cannot happen (RS_WAIT), or
		 * the renames wait for each other (RS_CYCLE) */
		other = c.v[k->after - 1].from->anchor;
		clash(p, k->want, other,
		      k->st == RS_CYCLE
			      ? "still the mailbox of another directory "
				"object, which takes this one's address in "
				"the same run (a swap or a cycle): both stay "
				"as they are; move one to a third address "
				"first"
			      : "still the mailbox of another directory "
				"object, whose own new address is not free "
				"(see its conflict): this rename waits for "
				"that one");
		strmap_put(&rn->held, k->want->address,
			   (void *)k->want->address);
		strmap_put(&rn->moved, k->want->address,
			   (void *)k->from->address);
		strmap_put(blocked, k->want->anchor, (void *)k->want->anchor);
	}
	free(c.v);
	strmap_free(&c.by_from);
}

/*
 * The managed mailbox at this address belongs to another person (a
 * leaver, or someone whose address changed): it holds their mail and is
 * never handed over.
 */
/* `sync --handover`: the mailbox at want's address goes to want. */
static bool
handed_over(const struct plan_input *in, const struct mobj *want)
{
	return in->handover != NULL && in->handover->len > 0 &&
	       want->kind == MK_MAILBOX &&
	       strmap_get(in->handover, want->address) != NULL;
}

static bool
owner_clash(const struct plan_input *in, const struct managed_rec *m,
	    const struct mobj *want)
{
	/* the record's anchor is usually the desired object's own string
	 * (managed_add_known): the same pointer, the same owner, and the
	 * anchor's bytes are not read */
	return m != NULL && m->anchor != want->anchor &&
	       !handed_over(in, want) &&
	       m->kind == MK_MAILBOX && want->kind == MK_MAILBOX &&
	       stable_anchor(m->anchor) && want->anchor != NULL &&
	       strcmp(m->anchor, want->anchor) != 0;
}

/*
 * Is the managed row's address still wanted for its own object?  A
 * mailbox with a stable anchor wanted by somebody else is not: it goes
 * through deprovisioning (disable, delete after delete_after), and only
 * then can the new claimant have the address.  Alias-table rows may move
 * between owners.
 */
static bool
wanted_by_owner(const struct managed_rec *m, const struct mobj *want)
{
	if (want == NULL)
		return false;
	if (m->anchor == want->anchor)   /* the same string: see owner_clash */
		return true;
	if (m->kind != MK_MAILBOX || !stable_anchor(m->anchor) ||
	    want->anchor == NULL)
		return true;
	return strcmp(m->anchor, want->anchor) == 0;
}

/*
 * wanted_by_owner(), and not by a claimant held this run (blocked: its
 * mailbox cannot have its address, hold()): an alias row of another
 * owner stays that owner's, and is deprovisioned with it.  A re-created
 * account (new anchor, same addresses) is held while the leaver's
 * mailbox is there; the leaver's aliases are disabled with the mailbox
 * (a user trial: they stayed active, pointing at the disabled mailbox).
 */
static bool
kept_for(const struct plan_input *in, const struct managed_rec *m,
	 const struct mobj *want, const struct strmap *blocked)
{
	if (want != NULL && m->kind == MK_MAILBOX && handed_over(in, want))
		return true;   /* updated to its new owner */
	if (!wanted_by_owner(m, want))
		return false;
	if (blocked->len == 0 || m->anchor == want->anchor ||
	    m->anchor == NULL || want->anchor == NULL ||
	    strmap_get(blocked, want->anchor) == NULL)
		return true;
	return strcmp(m->anchor, want->anchor) == 0;
}

enum verdict { V_OK, V_CLASH, V_REPLACE };

static bool
same_anchor(const struct mobj *cur, const struct mobj *want)
{
	return cur->anchor != NULL && want->anchor != NULL &&
	       strcmp(cur->anchor, want->anchor) == 0;
}

/*
 * What to do with a desired object whose address has a row, without a
 * word: V_CLASH with *other (the anchor dirsync keeps the row for, or
 * NULL) and *why (the report's line).  V_REPLACE means the row is
 * dirsync's alias-table row no longer wanted by its owner: delete it,
 * then add the object.
 */
static enum verdict
verdict(const struct plan_input *in, const struct mobj *want,
	const struct mobj *cur, const struct managed_rec *m,
	const char **other, const char **why)
{
	*other = NULL;
	/*
	 * A row the target itself marks with this object's anchor (SCIM
	 * externalId) is ours even when the state does not know it yet: a
	 * per-object run stopped between the write and its record.
	 */
	if (m == NULL && !in->adopt && !same_anchor(cur, want)) {
		/* someone else's row: never touched without adopt = yes */
		*why = "the target already has this address and dirsync does "
		       "not manage it (adopt = no)";
		return V_CLASH;
	}
	if (owner_clash(in, m, want)) {
		*other = m->anchor;
		*why = "still the mailbox of another directory object, with "
		       "its mail; it is freed when that mailbox is deleted "
		       "(or handed over with its mail: `dirsync sync "
		       "--handover ADDRESS`)";
		return V_CLASH;
	}
	if (same_table(want->kind, cur->kind))
		return V_OK;
	if (m != NULL && cur->kind != MK_MAILBOX && want->kind == MK_MAILBOX)
		return V_REPLACE;
	/* a mailbox never silently turns into an alias */
	*other = m != NULL ? m->anchor : NULL;
	*why = m != NULL ? "a mailbox dirsync manages, with its mail: it does "
			   "not become an alias row"
			 : "the target has a mailbox at this address";
	return V_CLASH;
}

/*
 * verdict(), and a V_CLASH recorded.  A mailbox or list held by it is
 * held whole (hold()): its reason says what that means for the rest of
 * the object, which the report shows nowhere else (a user trial: a
 * person with a mailbox made by hand was left out of every list, and her
 * aliases never made, without a line saying so).
 */
static enum verdict
judge(struct plan *p, const struct plan_input *in, const struct mobj *want,
      const struct mobj *cur, const struct managed_rec *m)
{
	static const char whole[] = "; until then the lists it is in leave "
				    "this address out, and its aliases "
				    "wait";
	const char *other, *why;
	enum verdict v = verdict(in, want, cur, m, &other, &why);
	size_t n;
	char *s;

	if (v != V_CLASH)
		return v;
	if (want->anchor != NULL &&
	    (want->kind == MK_MAILBOX || want->kind == MK_LIST)) {
		n = strlen(why);
		s = arena_alloc(&p->arena, n + sizeof(whole));
		memcpy(s, why, n);
		memcpy(s + n, whole, sizeof(whole));
		why = s;
	}
	clash(p, want, other, why);
	return v;
}

static void
note(struct plan *p, const char *address, const char *by, const char *why,
     enum note_kind kind)
{
	struct plan_note *n;

	p->notes = xgrow(p->notes, &p->capnotes, p->nnotes + 1,
			 sizeof(*p->notes));
	n = &p->notes[p->nnotes++];
	n->address = address;
	n->by = by;
	n->why = why;
	n->kind = kind;
}

/*
 * member_delivers() of an address in an accepted domain that no desired
 * object has (a contact's target): only a row there that is active after
 * this run delivers, one dirsync does not manage (a shared mailbox or an
 * alias made by hand) or a record it leaves as it is (its owner in a
 * conflict, or held).  Any other record of dirsync's is no longer wanted
 * there: disabled (or removed) by this run, or already.  No row, or a
 * mailbox renamed away, reaches nobody: mail to it bounces.  *why: what
 * is there, for the report.
 */
static bool
orphan_delivers(const struct plan_input *in, const struct renames *rn,
		const struct strmap *blocked, const char *addr, uint32_t h,
		const char **why)
{
	const struct mobj *cur = mset_get_h(in->current, addr, h);
	const struct managed_rec *m = managed_get_h(in->managed, addr, h);

	*why = NOTE_WHY_NONE;
	if (cur == NULL ||
	    (rn->from.len > 0 && strmap_get(&rn->from, addr) != NULL))
		return false;
	if (cur->active &&
	    (m == NULL || frozen_anchor(in, m->anchor) ||
	     (blocked->len > 0 && m->anchor != NULL &&
	      strmap_get(blocked, m->anchor) != NULL)))
		return true;
	if (m == NULL)
		*why = cur->kind == MK_MAILBOX ? "is a disabled mailbox"
					       : "is a disabled alias row";
	else if (m->kind == MK_MAILBOX)
		*why = "is a disabled mailbox";
	else if (m->kind == MK_LIST)
		*why = "is a disabled list";
	else if (m->kind == MK_CONTACT)
		*why = "is a disabled contact";
	else
		*why = "is an alias no directory object has any more";
	return false;
}

/*
 * Does a list member's address reach, after this run, the object the
 * rules gave the list that address for?  Not when the address stays
 * with somebody else's row: the desired object at it is held (a clash:
 * a leaver's mailbox, disabled or about to be; a row dirsync does not
 * manage; a mailbox where an alias row is wanted), its owner is held
 * (hold(), find_renames), or the address is in a conflict in the
 * directory (frozen: a contact's external address may name one).  The
 * same decisions as plan_one() and judge(), asked before they are made
 * for an object planned after the list (an alias row, another list).
 * An address no desired object has (a contact's external one) is the
 * directory's to choose, unless it is in one of our accepted domains:
 * then what is there decides (orphan_delivers; *note says why not, for
 * the report: a user trial had a contact's target that existed nowhere,
 * and another that was a leaver's disabled mailbox, on a list, and
 * every post bounced).  Outside a partial compare's part, the object is
 * as the verified run left it: held back if that run left it in
 * conflict (kept_clashes), else delivering; the engine loads the rows
 * of the addresses in accepted domains that the part's lists and
 * contacts name and no desired object has (plan_input.only).
 */
static bool
member_delivers(const struct plan_input *in, const struct renames *rn,
		const struct strmap *blocked, const char *addr,
		const char **note)
{
	uint32_t h;
	const struct mobj *d, *cur;
	const struct managed_rec *m;
	const char *other, *why;

	*note = NULL;
	if (frozen_addr(in, addr))
		return false;
	if (in->only != NULL && in->kept_clashes != NULL &&
	    in->kept_clashes->len > 0 &&
	    strmap_get(in->kept_clashes, addr) != NULL &&
	    strmap_get(in->only, addr) == NULL)
		return false;
	h = strmap_hash(addr);
	if ((d = mset_get_h(in->desired, addr, h)) == NULL)
		return left_alone(in, addr) ||
		       !mset_has_domain_of(in->desired, addr) ||
		       orphan_delivers(in, rn, blocked, addr, h, note);
	if (d->kind == MK_DOMAIN || left_alone(in, addr))
		return true;
	if (rn->held.len > 0 && strmap_get(&rn->held, addr) != NULL)
		return false;
	cur = mset_get_h(in->current, addr, h);
	m = managed_get_h(in->managed, addr, h);
	if (blocked->len > 0 && d->anchor != NULL &&
	    strmap_get(blocked, d->anchor) != NULL)
		/* left as it is: it delivers if the row is its own */
		return cur != NULL && cur->active && m != NULL &&
		       m->anchor != NULL && strcmp(m->anchor, d->anchor) == 0;
	if ((rn->to.len > 0 && strmap_get(&rn->to, addr) != NULL) ||
	    (rn->from.len > 0 && strmap_get(&rn->from, addr) != NULL) ||
	    cur == NULL)
		return true;   /* renamed into it, or a new row */
	return verdict(in, d, cur, m, &other, &why) != V_CLASH;
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends the members of the comma-joined s to v (in p's arena). */
static void
split_members(struct plan *p, const char *s, const char ***v, size_t *n,
	      size_t *cap)
{
	const char *m;
	size_t len;

	while ((m = goto_next(&s, &len)) != NULL) {
		if (len == 0)
			continue;
		*v = xgrow(*v, cap, *n + 1, sizeof(**v));
		(*v)[(*n)++] = arena_strndup(&p->arena, m, len);
	}
}

/* v[0 .. n) sorted, without duplicates, comma-joined in p's arena. */
static const char *
join_members(struct plan *p, const char **v, size_t n)
{
	size_t i, len = 1;
	char *out, *o;

	qsort(v, n, sizeof(*v), cmp_cstr);
	for (i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	out = o = arena_alloc(&p->arena, len);
	for (i = 0; i < n; i++) {
		size_t l = strlen(v[i]);

		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (o > out)
			*o++ = ',';
		memcpy(o, v[i], l);
		o += l;
	}
	*o = '\0';
	return out;
}

/*
 * Has the goto a member in one of our accepted domains that no desired
 * object has (a contact's target)?  What is there may be gone, disabled
 * or deprovisioned by this run, also under a list as the last run left
 * it, so each member is then asked about (member_delivers).  One look-up
 * of the desired set per member.
 */
static bool
orphan_member(const struct plan_input *in, const char *gotos)
{
	char addr[512];
	const char *c = gotos;
	int rc;

	/* one too long for addr is passed over, as engine.c's each_member */
	while ((rc = goto_next_addr(&c, addr, sizeof(addr))) != 0)
		if (rc > 0 && mset_get(in->desired, addr) == NULL &&
		    mset_has_domain_of(in->desired, addr))
			return true;
	return false;
}

/*
 * A desired object that cannot have its address (a clash): all of it is
 * left as it is, as for a conflict in the directory (no disable, no
 * alias moved to the blocking row), and a mailbox's list places stay at
 * the address its mailbox has (rn->moved).
 */
static void
hold(struct renames *rn, struct strmap *blocked, const struct mobj *want)
{
	const struct managed_rec *r;

	if (want->anchor == NULL ||
	    (want->kind != MK_MAILBOX && want->kind != MK_LIST))
		return;
	strmap_put(blocked, want->anchor, (void *)want->anchor);
	if (want->kind == MK_MAILBOX &&
	    (r = strmap_get(&rn->by_anchor, want->anchor)) != NULL)
		strmap_put(&rn->moved, want->address, (void *)r->address);
}

/*
 * The goto to write for a list (want: the desired one, cur: the row's,
 * NULL for a new list).  Members follow the people, as the planner
 * leaves them this run:
 *   - a member whose address is in conflict is left as it is, like the
 *     address itself: the members of the current goto that are frozen
 *     stay in it; so do the addresses of a person whose primary address
 *     is in conflict (frozen_anchors): the rules give the list nothing
 *     of theirs this run, yet their mailbox stays, and so do they in the
 *     lists they were in;
 *   - a member whose mailbox is held where it is (rn->moved: a rename
 *     that waits, a swap, a new address someone else's row holds) is
 *     the address the mailbox has, not the one it waits for, which may
 *     still be another person's mailbox;
 *   - any other address the rules give that does not reach its member
 *     after this run (member_delivers: a newcomer whose address is still
 *     a leaver's mailbox or a row dirsync does not manage, ...) is left
 *     out, from a new list and from one that already has it: such a
 *     place delivers to the other row, or bounces at a disabled
 *     mailbox.  The member's conflict is reported; the place comes with
 *     the address;
 *   - so is an address in one of our accepted domains that no desired
 *     object has and that no active row has after this run (a contact's
 *     target: no row, a leaver's disabled mailbox): noted for the
 *     report (plan.notes), which names the list (`list`).
 * Returns `want` when nothing changes, else a goto sorted and
 * de-duplicated in the plan's arena; NULL when no member is left.
 */
static const char *
list_members(struct plan *p, const struct plan_input *in,
	     const struct renames *rn, const struct strmap *blocked,
	     const char *list, const char *want, const char *cur)
{
	const char **v = NULL;
	size_t n = 0, cap = 0, i, nwant;
	bool changed = false;
	const char *out, *to, *why;
	/*
	 * Every member is asked about when something may not deliver: a
	 * clash so far (mailboxes are planned before lists), a conflict,
	 * or a goto that changes (its new members; an alias row clashes
	 * only after the lists are planned), or a member in one of our
	 * accepted domains that no desired object has (orphan_member).  A
	 * list as the last run left it, in a run without any of these,
	 * costs a look-up in the desired set per member.
	 */
	bool ask = p->nclashes > 0 || any_frozen(in) || cur == NULL ||
		   !str_eq(want, cur) || orphan_member(in, want);

	if (rn->moved.len == 0 && !ask)
		return want;
	split_members(p, want, &v, &n, &cap);
	for (i = nwant = 0; i < n; i++) {
		if (rn->moved.len > 0 &&
		    (to = strmap_get(&rn->moved, v[i])) != NULL) {
			v[i] = to;
			changed = true;
		} else if (ask && !member_delivers(in, rn, blocked, v[i],
						   &why)) {
			if (why != NULL)
				note(p, v[i], list, why, NOTE_LIST);
			changed = true;
			continue;
		}
		v[nwant++] = v[i];
	}
	n = nwant;
	if (cur != NULL && any_frozen(in)) {
		split_members(p, cur, &v, &n, &cap);
		for (i = nwant; i < n; i++)
			if (frozen_member(in, v[i])) {
				v[nwant++] = v[i];
				changed = true;
			}
		n = nwant;
	}
	out = !changed ? want : n > 0 ? join_members(p, v, n) : NULL;
	free(v);
	return out;
}

/*
 * list_members() for the list want (cur: its row, NULL for a new one)
 * into *gotos; false when none of its members' addresses reaches them
 * this run (Postfix cannot use an empty goto).  A new list is then not
 * created yet, and reported; a list that has a row is disabled, as a
 * list none of whose members is in scope would be (its row reaches
 * nobody the directory names), and comes back with its first member.
 * Either way its other objects (its aliases) are left as they are.
 */
static bool
list_goto(struct plan *p, const struct plan_input *in, struct renames *rn,
	  struct strmap *blocked, const struct mobj *want,
	  const struct mobj *cur, const char **gotos)
{
	struct change *ch;

	*gotos = list_members(p, in, rn, blocked, want->address, want->gotos,
			      cur != NULL ? cur->gotos : NULL);
	if (*gotos != NULL)
		return true;
	if (cur == NULL) {
		clash(p, want, NULL,
		      "none of the list's members has its address this run "
		      "(see their conflicts): the list is created when one "
		      "has");
	} else if (cur->active) {
		ch = push_row(p, OP_DISABLE, want, in, cur);
		ch->gotos = cur->gotos;
		ch->why = WHY_GONE;
		ch->left = LR_LIST_EMPTY;
	}
	hold(rn, blocked, want);
	return false;
}

static void
diff_present(struct plan *p, const struct plan_input *in,
	     struct renames *rn, struct strmap *blocked,
	     const struct mobj *want, const struct mobj *cur,
	     const struct managed_rec *m)
{
	unsigned fields = 0;
	const char *gotos = want->gotos, *row;
	struct change *ch;

	if (m == NULL)
		fields |= CH_ADOPT;
	if (!cur->active)
		fields |= CH_ACTIVE;
	if (want->kind == MK_MAILBOX && !str_eq(want->name, cur->name))
		fields |= CH_NAME;
	if (want->kind == MK_MAILBOX && cur->kind == MK_MAILBOX) {
		if (cur->drift & MD_SELF_ALIAS)
			fields |= CH_REPAIR_SELF;
		if (cur->drift & MD_KEY)
			fields |= CH_REPAIR_KEY;
		if (cur->drift & MD_MAILDIR)
			fields |= CH_REPAIR_MAILDIR;
	}
	if (attrs_differ(want, cur))
		fields |= CH_ATTRS;
	if (want->kind == MK_LIST &&
	    !list_goto(p, in, rn, blocked, want, cur, &gotos))
		return;
	if (mkind_alias_row(want->kind) && !str_eq(gotos, cur->gotos))
		fields |= CH_GOTO;
	if (m != NULL && m->kind != want->kind)
		fields |= CH_KIND;
	if (m != NULL && !str_eq(m->anchor, want->anchor))
		fields |= CH_KIND;   /* owner changed: record the new anchor */
	if (fields & CH_KIND)
		strmap_put(&rn->taken, want->address, (void *)want->address);
	row = mset_stored(in->current, cur);
	if (row != NULL && want->kind != MK_DOMAIN)
		fields |= CH_ADDRESS;  /* the row's key goes to lower case */
	if (fields == 0)
		return;
	ch = push(p, OP_UPDATE, want);
	ch->fields = fields;
	ch->gotos = gotos;
	if (row != NULL) {
		ch->row = row;
		ch->old_address = row;
	}
	ch->old_name = cur->name;
	ch->old_gotos = cur->gotos;
}

/* A new object (a list's members as list_members() has them). */
static void
add_new(struct plan *p, const struct plan_input *in, struct renames *rn,
	struct strmap *blocked, const struct mobj *want)
{
	const char *gotos = want->gotos;

	if (want->kind == MK_LIST &&
	    !list_goto(p, in, rn, blocked, want, NULL, &gotos))
		return;
	push(p, OP_ADD, want)->gotos = gotos;
}

/* Deletes the alias-table row in the way of a new mailbox. */
static void
replace_row(struct plan *p, const struct plan_input *in,
	    struct renames *rn, struct strmap *blocked, const struct mobj *want,
	    const struct mobj *cur, const struct managed_rec *m)
{
	struct mobj gone = *cur;

	/* the row deleted is the alias-table row found; a record that says
	 * "mailbox" here means the mailbox row was deleted by hand and its
	 * self-alias left behind */
	gone.kind = m->kind == MK_MAILBOX ? cur->kind : m->kind;
	gone.anchor = m->anchor;
	push_row(p, OP_DELETE, &gone, in, cur)->why = WHY_IN_THE_WAY;
	add_new(p, in, rn, blocked, want);
}

static int
cmp_change(const void *a, const void *b)
{
	static const int rank[OP_NOPS] = {3, 2, 1, 0}; /* add upd dis del */
	const struct change *x = a, *y = b;

	if (x->op != y->op)
		return rank[x->op] - rank[y->op];
	/* a new domain before what is added in it: the mail system knows
	 * the domain first, and a first sync's report (its first 2,000
	 * changes) names it; a domain deleted goes after its objects */
	if (x->kind != y->kind && x->op == OP_ADD &&
	    (x->kind == MK_DOMAIN || y->kind == MK_DOMAIN))
		return x->kind == MK_DOMAIN ? -1 : 1;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	return strcmp(x->address, y->address);
}

static int
cmp_clash(const void *a, const void *b)
{
	return strcmp(((const struct plan_clash *)a)->address,
		      ((const struct plan_clash *)b)->address);
}

static int
cmp_note(const void *a, const void *b)
{
	const struct plan_note *x = a, *y = b;
	int c = strcmp(x->address, y->address);

	if (c == 0 && x->kind != y->kind)
		c = (int)x->kind - (int)y->kind;
	if (c == 0)
		c = strcmp(x->why, y->why);
	return c != 0 ? c : strcmp(x->by, y->by);
}

/* Notes in order (cmp_note), each once. */
static void
sort_notes(struct plan *p)
{
	size_t i, n = 0;

	if (p->nnotes > 1)
		qsort(p->notes, p->nnotes, sizeof(*p->notes), cmp_note);
	for (i = 0; i < p->nnotes; i++)
		if (n == 0 || cmp_note(&p->notes[n - 1], &p->notes[i]) != 0)
			p->notes[n++] = p->notes[i];
	p->nnotes = n;
}

void
plan_add_note(struct plan *p, const struct plan_note *in)
{
	struct plan_note n;
	size_t i;
	int c = 1;

	/* in order: insertion, as a run adds a few */
	for (i = p->nnotes; i > 0 &&
	     (c = cmp_note(&p->notes[i - 1], in)) > 0; i--)
		;
	if (i > 0 && c == 0)
		return;
	n.address = arena_strdup(&p->arena, in->address);
	n.by = arena_strdup(&p->arena, in->by);
	n.why = arena_strdup(&p->arena, in->why);
	n.kind = in->kind;
	p->notes = xgrow(p->notes, &p->capnotes, p->nnotes + 1,
			 sizeof(*p->notes));
	memmove(&p->notes[i + 1], &p->notes[i],
		(p->nnotes - i) * sizeof(*p->notes));
	p->notes[i] = n;
	p->nnotes++;
}

void
plan_note_text(const struct plan *p,
	       void (*fn)(void *ctx, const char *line), void *ctx)
{
	struct buf b = BUF_INIT;
	size_t i, j, k;

	for (i = 0; i < p->nnotes; i = j) {
		const struct plan_note *n = &p->notes[i];

		for (j = i + 1; j < p->nnotes &&
				strcmp(p->notes[j].address, n->address) == 0 &&
				p->notes[j].kind == n->kind &&
				strcmp(p->notes[j].why, n->why) == 0;
		     j++)
			;
		buf_reset(&b);
		if (n->kind == NOTE_LIST)
			buf_printf(&b, "list member %s %s; left out of ",
				   n->address, n->why);
		else
			buf_printf(&b, "contact%s ", j - i > 1 ? "s" : "");
		for (k = i; k < j; k++)
			buf_printf(&b, "%s%s", k > i ? ", " : "",
				   p->notes[k].by);
		if (n->kind == NOTE_CONTACT)
			buf_printf(&b, " forward%s to %s, which %s: mail to "
				   "%s bounces (the forwarder is kept as the "
				   "directory says)",
				   j - i > 1 ? "" : "s", n->address, n->why,
				   j - i > 1 ? "them" : "it");
		fn(ctx, buf_str(&b));
	}
	buf_free(&b);
}

static const char *
arena_dup_or_null(struct arena *a, const char *s)
{
	return s != NULL ? arena_strdup(a, s) : NULL;
}

void
plan_add_clash(struct plan *p, const struct plan_clash *in)
{
	struct plan_clash *c;
	size_t i;

	p->clashes = xgrow(p->clashes, &p->capclashes, p->nclashes + 1,
			   sizeof(*p->clashes));
	/* in address order: insertion, as a run adds a few */
	for (i = p->nclashes; i > 0 &&
	     strcmp(p->clashes[i - 1].address, in->address) > 0; i--)
		;
	memmove(&p->clashes[i + 1], &p->clashes[i],
		(p->nclashes - i) * sizeof(*p->clashes));
	p->nclashes++;
	c = &p->clashes[i];
	c->address = arena_strdup(&p->arena, in->address);
	c->anchor = arena_dup_or_null(&p->arena, in->anchor);
	c->other = arena_dup_or_null(&p->arena, in->other);
	c->reason = arena_dup_or_null(&p->arena, in->reason);
	c->dn = arena_dup_or_null(&p->arena, in->dn);
	c->account = arena_dup_or_null(&p->arena, in->account);
	c->other_dn = arena_dup_or_null(&p->arena, in->other_dn);
	c->other_account = arena_dup_or_null(&p->arena, in->other_account);
}

/*
 * One bit per managed record (its index in managed->v): set when the
 * record's address is wanted by the record's owner (kept_for),
 * which plan_wanted learns while it has both at hand, so that
 * plan_deprovision passes over the record without looking its address
 * up again.  In a full compare that changes nothing, every record.
 */
static void
mark_kept(uint64_t *kept, const struct plan_input *in,
	  const struct strmap *blocked, const struct managed_rec *m,
	  const struct mobj *want)
{
	size_t i;

	if (m == NULL || !kept_for(in, m, want, blocked))
		return;
	i = (size_t)(m - in->managed->v);
	kept[i / 64] |= (uint64_t)1 << (i % 64);
}

static bool
is_kept(const uint64_t *kept, size_t i)
{
	return (kept[i / 64] >> (i % 64)) & 1;
}

/* One desired object of plan_wanted(): cur and m at its address. */
static void
plan_one(struct plan *p, const struct plan_input *in, struct renames *rn,
	 struct strmap *blocked, const struct mobj *want,
	 const struct mobj *cur, const struct managed_rec *m)
{
	if (rn->held.len > 0 && strmap_get(&rn->held, want->address) != NULL)
		return;   /* a rename held: reported */
	if (blocked->len > 0 && want->anchor != NULL &&
	    strmap_get(blocked, want->anchor) != NULL) {
		/* its owner's address is taken: change nothing, but report
		 * rows in the way too */
		if (cur != NULL)
			judge(p, in, want, cur, m);
		return;
	}
	if (want->kind == MK_DOMAIN) {
		/* shared: added when missing; re-enabled only when dirsync
		 * added it (a domain switched off by hand rejects all of its
		 * mail) */
		if (cur == NULL)
			push(p, OP_ADD, want);
		else if (!cur->active && m != NULL)
			push(p, OP_UPDATE, want)->fields = CH_ACTIVE;
		return;
	}
	if (rn->to.len > 0 && strmap_get(&rn->to, want->address))
		return;   /* a rename brings this mailbox */
	if (rn->from.len > 0 && strmap_get(&rn->from, want->address))
		cur = NULL;   /* renamed away first */
	if (cur == NULL) {
		add_new(p, in, rn, blocked, want);
		return;
	}
	switch (judge(p, in, want, cur, m)) {
	case V_OK:
		diff_present(p, in, rn, blocked, want, cur, m);
		break;
	case V_REPLACE:
		replace_row(p, in, rn, blocked, want, cur, m);
		break;
	case V_CLASH:
		hold(rn, blocked, want);
		break;
	}
}

/*
 * A contact's forwarder row (its address -> its target) stays as the
 * directory says, but a target in one of our accepted domains that no
 * desired object has and that does not deliver (member_delivers) is
 * noted for the report: mail to the contact bounces.
 */
static void
contact_target(struct plan *p, const struct plan_input *in,
	       const struct renames *rn, const struct strmap *blocked,
	       const struct mobj *want)
{
	const char *why;

	if (want->gotos == NULL || strchr(want->gotos, ',') != NULL)
		return;
	if (!member_delivers(in, rn, blocked, want->gotos, &why) &&
	    why != NULL)
		note(p, want->gotos, want->address, why, NOTE_CONTACT);
}

/*
 * Every desired object: mailboxes first, then lists (whose members
 * follow the mailboxes held, list_members), then the rest (aliases of an
 * owner held are left alone).
 */
static void
plan_wanted(struct plan *p, const struct plan_input *in, struct renames *rn,
	    struct strmap *blocked, uint64_t *kept)
{
	int pass;
	size_t i;

	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < in->desired->n; i++) {
			const struct mobj *want = in->desired->v[i];
			const int rank = want->kind == MK_MAILBOX ? 0
					 : want->kind == MK_LIST  ? 1
								  : 2;
			const struct managed_rec *m;

			if (rank != pass || frozen_addr(in, want->address) ||
			    left_alone(in, want->address))
				continue;
			m = managed_get_h(in->managed, want->address,
					  want->hash);
			mark_kept(kept, in, blocked, m, want);
			plan_one(p, in, rn, blocked, want,
				 mset_get_h(in->current, want->address,
					    want->hash),
				 m);
			if (want->kind == MK_CONTACT)
				contact_target(p, in, rn, blocked, want);
		}
	}
}

/*
 * anchor -> its desired object that is not an alias row of its own, for
 * the anchors the plan asks about (a deprovisioned record's, a change's
 * to name, a clash's other): owners_ask() each first, then one
 * owners_resolve() pass over the desired set, then owner_of().  A map of
 * the few anchors asked about, not an index over every owner in the
 * desired set: that was 16.8 MB at 1M users to name 17,000 disables, at
 * the peak of the run (docs/benchmarks.md, "Memory of the full runs").
 */
struct owners {
	const struct mset *desired;
	struct strmap asked;   /* anchor -> its owner, or &unresolved */
};

static const char unresolved;   /* asked, no owner (yet) */

static void
owners_ask(struct owners *o, const char *anchor)
{
	if (anchor != NULL && strmap_get(&o->asked, anchor) == NULL)
		strmap_put(&o->asked, anchor, (void *)&unresolved);
}

static void
owners_resolve(struct owners *o)
{
	const char *last = NULL;
	size_t j;

	if (o->asked.len == 0)
		return;
	/* backwards: the last object of an anchor is its owner */
	for (j = o->desired->n; j-- > 0;) {
		const struct mobj *w = o->desired->v[j];

		/* an entry's objects share one anchor string, side by side */
		if (w->anchor == NULL || w->kind == MK_ALIAS ||
		    w->anchor == last)
			continue;
		last = w->anchor;
		if (strmap_get(&o->asked, w->anchor) == &unresolved)
			strmap_put(&o->asked, w->anchor, (void *)w);
	}
}

/* The owner of an anchor asked about before owners_resolve(), or NULL. */
static const struct mobj *
owner_of(const struct owners *o, const char *anchor)
{
	const void *w;

	if (anchor == NULL || (w = strmap_get(&o->asked, anchor)) == NULL ||
	    w == &unresolved)
		return NULL;
	return w;
}

/*
 * A managed record no longer wanted (plan_deprovision)?  Its row, or
 * NULL when it stays (or has no row to deprovision).
 */
static const struct mobj *
unwanted_row(const struct plan_input *in, const struct renames *rn,
	     const struct strmap *blocked, const uint64_t *kept, size_t i)
{
	const struct managed_rec *m = &in->managed->v[i];
	const struct mobj *cur;

	/*
	 * Most records are wanted by their owner, as plan_wanted found
	 * (kept); a record it did not see is looked up in the desired set,
	 * and only one not wanted needs its row.
	 */
	if (is_kept(kept, i) || m->kind == MK_DOMAIN ||
	    left_alone(in, m->address) ||
	    kept_for(in, m, mset_get_h(in->desired, m->address, m->hash),
		     blocked) ||
	    (blocked->len > 0 && m->anchor != NULL &&
	     strmap_get(blocked, m->anchor) != NULL) ||
	    (rn->from.len > 0 && strmap_get(&rn->from, m->address)) ||
	    (rn->taken.len > 0 && strmap_get(&rn->taken, m->address)) ||
	    frozen_addr(in, m->address) || frozen_anchor(in, m->anchor))
		return NULL;
	cur = mset_get_h(in->current, m->address, m->hash);
	/* a list the rules left out only because each of its members is
	 * in conflict: it stays, as they do */
	if (cur != NULL && m->kind == MK_LIST && mkind_alias_row(cur->kind) &&
	    any_frozen(in) && members_all_frozen(in, cur->gotos))
		return NULL;
	return cur;
}

/* The change for managed record m, no longer wanted, and its row cur. */
static void
deprovision(struct plan *p, const struct plan_input *in,
	    const struct owners *owners, const struct managed_rec *m,
	    const struct mobj *cur)
{
	struct mobj gone;

	/*
	 * The row the record names may have been changed by hand: a
	 * mailbox row deleted with its self-alias left (a user trial: the
	 * delete of the mailbox found no row, and every later run failed,
	 * applying nothing) is deprovisioned as the alias row it is now;
	 * a mailbox row where dirsync keeps an alias-table row is not
	 * dirsync's to disable or delete (it has mail), and stays.
	 */
	if (!same_table(m->kind, cur->kind) && cur->kind == MK_MAILBOX)
		return;
	memset(&gone, 0, sizeof(gone));
	gone.kind = same_table(m->kind, cur->kind) ? m->kind : cur->kind;
	gone.address = m->address;
	gone.anchor = m->anchor;
	gone.name = cur->name;
	gone.gotos = cur->gotos;
	if (m->kind == MK_ALIAS && owner_of(owners, m->anchor) != NULL) {
		/* the owner stays, the alias went: remove it */
		push_row(p, OP_DELETE, &gone, in, cur)->why = WHY_ALIAS_DROPPED;
	} else if (cur->active) {
		push_row(p, OP_DISABLE, &gone, in, cur)->why = WHY_GONE;
	} else if (in->deprovision == DEPROV_DELETE && m->disabled_at > 0 &&
		   (long long)in->now - m->disabled_at >= in->delete_after) {
		push_row(p, OP_DELETE, &gone, in, cur)->why = WHY_EXPIRED;
	}
}

/*
 * Managed objects no longer wanted: deprovision.  First the records to
 * deprovision (their anchors asked about, with those of the changes
 * plan_name() will name), then the owners resolved in one pass, then
 * the changes.
 */
static void
plan_deprovision(struct plan *p, const struct plan_input *in,
		 const struct renames *rn, const struct strmap *blocked,
		 struct owners *owners, const uint64_t *kept)
{
	size_t i, n = 0, cap = 0, *go = NULL;

	for (i = 0; i < in->managed->n; i++) {
		if (unwanted_row(in, rn, blocked, kept, i) == NULL)
			continue;
		go = xgrow(go, &cap, n + 1, sizeof(*go));
		go[n++] = i;
		owners_ask(owners, in->managed->v[i].anchor);
	}
	for (i = 0; i < p->n; i++)   /* as plan_name() asks */
		if (p->v[i].dn == NULL || p->v[i].why == WHY_GONE ||
		    p->v[i].why == WHY_EXPIRED)
			owners_ask(owners, p->v[i].anchor);
	for (i = 0; i < p->nclashes; i++)
		owners_ask(owners, p->clashes[i].other);
	owners_resolve(owners);
	for (i = 0; i < n; i++) {
		const struct managed_rec *m = &in->managed->v[go[i]];

		deprovision(p, in, owners, m,
			    mset_get_h(in->current, m->address, m->hash));
	}
	free(go);
}

/*
 * The directory object of an anchor, as the rules saw it: left out (with
 * why) or in scope (its desired object).  false when it was not read.
 */
static bool
who(const struct plan_input *in, const struct owners *owners,
    const char *anchor,
    const char **dn, const char **account, enum leave_reason *why)
{
	const struct left_out *l;
	const struct mobj *w;

	if (anchor == NULL)
		return false;
	if (in->left_out != NULL &&
	    (l = strmap_get(in->left_out, anchor)) != NULL) {
		*dn = l->dn;
		*account = l->account;
		*why = l->why;
		return true;
	}
	if ((w = owner_of(owners, anchor)) == NULL)
		return false;
	*dn = w->dn;
	*account = w->account;
	*why = LR_ADDRESS_GONE;
	return true;
}

/*
 * Names every change and clash whose object the rules saw (DN, account),
 * and says why each deprovisioning is planned (change.left).
 */
static void
plan_name(struct plan *p, const struct plan_input *in,
	  const struct owners *owners)
{
	enum leave_reason why;
	const char *dn, *account;
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct change *ch = &p->v[i];
		bool gone = ch->why == WHY_GONE || ch->why == WHY_EXPIRED;

		if (ch->dn != NULL && !gone)
			continue;
		dn = account = NULL;
		if (!who(in, owners, ch->anchor, &dn, &account, &why))
			why = LR_NOT_READ;
		if (ch->dn == NULL) {
			ch->dn = dn;
			ch->account = account;
		}
		if (gone && ch->left == LR_NONE)   /* list_goto() sets it */
			ch->left = why;
	}
	for (i = 0; i < p->nclashes; i++) {
		struct plan_clash *c = &p->clashes[i];

		if (c->other != NULL)
			who(in, owners, c->other, &c->other_dn,
			    &c->other_account, &why);
	}
}

/*
 * A rename into an address another rename frees (find_renames' chains)
 * goes after it: the renames of mailboxes (updates, next to each other
 * after the sort) are put in order of how many renames of the chain
 * must go first, stably, so that each address is free when a rename
 * takes it (the mail database's keys are unique at every statement; a
 * per-object target takes the changes in this order too).  Nothing moves
 * when no rename waits for another.
 */
static void
order_renames(struct plan *p)
{
	struct strmap freed = STRMAP_INIT;   /* old address -> index + 1 */
	size_t lo, hi, i, n, maxd = 0, *depth, *at;
	struct change *tmp;

	for (lo = 0; lo < p->n && !(p->v[lo].op == OP_UPDATE &&
				    p->v[lo].kind == MK_MAILBOX); lo++)
		;
	for (hi = lo; hi < p->n && p->v[hi].op == OP_UPDATE &&
		      p->v[hi].kind == MK_MAILBOX; hi++)
		if ((p->v[hi].fields & CH_ADDRESS) &&
		    p->v[hi].old_address != NULL)
			strmap_put(&freed, p->v[hi].old_address,
				   (void *)(hi - lo + 1));
	if (freed.len < 2) {
		strmap_free(&freed);
		return;
	}
	n = hi - lo;
	depth = xcalloc(n, sizeof(*depth));
	for (i = 0; i < n; i++) {
		size_t d = 0, j = i, ahead;

		/* the renames ahead of it; at most n (a cycle never gets here:
		 * find_renames holds it) */
		while (d < n &&
		       (ahead = (size_t)strmap_get(&freed,
						   p->v[lo + j].address)) != 0 &&
		       ahead - 1 != j) {
			j = ahead - 1;
			d++;
		}
		depth[i] = d;
		if (d > maxd)
			maxd = d;
	}
	if (maxd > 0) {
		tmp = xmalloc(n * sizeof(*tmp));
		at = xcalloc(maxd + 2, sizeof(*at));
		for (i = 0; i < n; i++)
			at[depth[i] + 1]++;
		for (i = 1; i <= maxd + 1; i++)
			at[i] += at[i - 1];
		for (i = 0; i < n; i++)
			tmp[at[depth[i]]++] = p->v[lo + i];
		memcpy(p->v + lo, tmp, n * sizeof(*tmp));
		free(tmp);
		free(at);
	}
	free(depth);
	strmap_free(&freed);
}

/* Deterministic order and the counts the limits use. */
static void
plan_finish(struct plan *p)
{
	size_t i;

	/* deletes, disables, updates, adds (frees addresses first); then
	 * kind and address, so that reports and tests are deterministic */
	p->v = xshrink(p->v, &p->cap, p->n, sizeof(*p->v));
	if (p->n > 1) {
		qsort(p->v, p->n, sizeof(*p->v), cmp_change);
		order_renames(p);
	}
	if (p->nclashes > 1)
		qsort(p->clashes, p->nclashes, sizeof(*p->clashes),
		      cmp_clash);
	sort_notes(p);
	memset(p->count, 0, sizeof(p->count));
	memset(p->alias_count, 0, sizeof(p->alias_count));
	for (i = 0; i < p->n; i++) {
		if (p->v[i].kind == MK_ALIAS)
			p->alias_count[p->v[i].op]++;
		else
			p->count[p->v[i].op]++;
	}
}

void
plan_build(struct plan *p, const struct plan_input *in)
{
	struct renames rn = {STRMAP_INIT, STRMAP_INIT, STRMAP_INIT,
			     STRMAP_INIT, STRMAP_INIT, STRMAP_INIT,
			     STRMAP_INIT};
	struct strmap blocked = STRMAP_INIT;  /* anchors left alone this run */
	struct owners owners = {in->desired, STRMAP_INIT};
	uint64_t *kept = xcalloc(in->managed->n / 64 + 1, sizeof(*kept));

	/*
	 * Room for an add per desired object the target lacks (at least),
	 * so that an initial sync's plan is one allocation of its own size
	 * instead of a doubling that could leave it half as large again;
	 * plan_finish() gives back what is left.
	 */
	if (in->only != NULL)   /* the partial compare: a few addresses */
		reserve(p, p->n + 64 + in->only->len);
	else
		reserve(p, p->n + 64 +
				   (in->desired->n > in->current->n
					    ? in->desired->n - in->current->n
					    : 0));
	find_renames(p, &rn, in, &blocked);
	plan_wanted(p, in, &rn, &blocked, kept);
	plan_deprovision(p, in, &rn, &blocked, &owners, kept);
	plan_name(p, in, &owners);
	plan_finish(p);
	free(kept);
	strmap_free(&owners.asked);
	strmap_free(&rn.by_anchor);
	strmap_free(&rn.frozen);
	strmap_free(&rn.from);
	strmap_free(&rn.to);
	strmap_free(&rn.held);
	strmap_free(&rn.moved);
	strmap_free(&rn.taken);
	strmap_free(&blocked);
}

void
plan_keep_adoptions(struct plan *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->n; i++) {
		if (p->v[i].op != OP_UPDATE || !(p->v[i].fields & CH_ADOPT))
			continue;
		p->v[n] = p->v[i];
		p->v[n++].fields = CH_ADOPT;
	}
	p->n = n;
	plan_finish(p);
}

/*
 * A list update's goto with the members of its current goto that are in
 * `held` put back (their removal is held with them); NULL when it puts
 * back none.
 */
static const char *
members_held(struct plan *p, const struct change *ch,
	     const struct strmap *held)
{
	const char **v = NULL;
	struct strmap now = STRMAP_INIT;
	size_t n = 0, cap = 0, i, nwant;
	const char *out = NULL;
	bool back = false;

	split_members(p, ch->gotos, &v, &n, &cap);
	for (i = 0; i < n; i++)
		strmap_put(&now, v[i], (void *)v[i]);
	nwant = n;
	split_members(p, ch->old_gotos, &v, &n, &cap);
	for (i = nwant; i < n; i++)
		if (strmap_get(&now, v[i]) == NULL &&
		    strmap_get(held, v[i]) != NULL) {
			v[nwant++] = v[i];
			back = true;
		}
	if (back)
		out = join_members(p, v, nwant);
	strmap_free(&now);
	free(v);
	return out;
}

/* Appends a copy of *ch to held's changes and counts (held may be NULL). */
static void
held_push(struct plan *held, const struct change *ch)
{
	if (held == NULL)
		return;
	if (held->n == held->cap)
		reserve(held, 2 * held->cap + 8);
	held->v[held->n++] = *ch;
	if (ch->kind == MK_ALIAS)
		held->alias_count[ch->op]++;
	else
		held->count[ch->op]++;
}

void
plan_drop_removals(struct plan *p, struct plan *held)
{
	struct strmap gone = STRMAP_INIT;
	size_t i, n = 0;
	const char *g;

	for (i = 0; i < p->n; i++) {
		if ((p->v[i].op == OP_DISABLE || p->v[i].op == OP_DELETE) &&
		    p->v[i].why != WHY_IN_THE_WAY) {
			if (p->v[i].kind == MK_ALIAS)
				p->alias_count[p->v[i].op]--;
			else
				p->count[p->v[i].op]--;
			strmap_put(&gone, p->v[i].address,
				   (void *)p->v[i].address);
			held_push(held, &p->v[i]);
			continue;
		}
		p->v[n++] = p->v[i];
	}
	p->n = n;
	/* a held mailbox, list or contact stays in the lists it is in:
	 * its removal from them is a removal too, held with it (a cut
	 * export must not take people off their lists meanwhile) */
	for (i = n = 0; i < p->n; i++) {
		struct change *ch = &p->v[i];

		if (gone.len > 0 && ch->op == OP_UPDATE &&
		    ch->kind == MK_LIST && (ch->fields & CH_GOTO) &&
		    ch->old_gotos != NULL &&
		    (g = members_held(p, ch, &gone)) != NULL) {
			/* held: from the members kept to the whole list
			 * (what the next plan has for it, the rest of
			 * this update applied) */
			struct change h = *ch;

			h.fields = CH_GOTO;
			h.old_gotos = g;
			held_push(held, &h);
			ch->gotos = g;
			if (str_eq(g, ch->old_gotos))
				ch->fields &= ~CH_GOTO;
			if (ch->fields == 0) {
				p->count[OP_UPDATE]--;
				continue;
			}
		}
		p->v[n++] = *ch;
	}
	p->n = n;
	/* a member noted for a disable held back stays on its lists */
	for (i = n = 0; gone.len > 0 && i < p->nnotes; i++)
		if (strmap_get(&gone, p->notes[i].address) == NULL)
			p->notes[n++] = p->notes[i];
	if (gone.len > 0)
		p->nnotes = n;
	strmap_free(&gone);
}

static int
over(long limit, size_t planned, long earlier, long window, const char *key,
     struct limit_hit *hit)
{
	/* earlier runs' changes stop only a run that plans more of them */
	if (planned == 0)
		earlier = 0;
	if (limit < 0 || (long)planned + earlier <= limit)
		return 0;
	hit->forceable = true;
	hit->limit = key;
	hit->allowed = limit;
	hit->planned = (long)planned;
	hit->earlier = earlier;
	hit->window = earlier > 0 ? window : 0;
	return 1;
}

int
plan_check_limits(const struct plan *p, const struct conf_safety *lim,
		  size_t managed_count, size_t in_scope,
		  const struct limit_earlier *earlier, struct limit_hit *hit)
{
	static const struct limit_earlier none;
	const struct limit_earlier *e = earlier != NULL ? earlier : &none;
	size_t removals = p->count[OP_DISABLE] + p->count[OP_DELETE];
	const long pct = lim->max_delete_percent;
	const long w = e->window;

	memset(hit, 0, sizeof(*hit));
	if (!lim->allow_empty && in_scope == 0) {
		hit->limit = "allow_empty";
		hit->allowed = 0;
		hit->planned = 0;
		return 1;
	}
	if (over(lim->max_adds, p->count[OP_ADD], e->adds, w, "max_adds",
		 hit) ||
	    over(lim->max_updates, p->count[OP_UPDATE], e->updates, w,
		 "max_updates", hit) ||
	    over(lim->max_deletes, removals, e->removals, w, "max_deletes",
		 hit) ||
	    over(lim->max_alias_adds, p->alias_count[OP_ADD], 0, 0,
		 "max_alias_adds", hit) ||
	    over(lim->max_alias_deletes,
		 p->alias_count[OP_DISABLE] + p->alias_count[OP_DELETE], 0, 0,
		 "max_alias_deletes", hit) ||
	    over(lim->max_total, p->n, e->adds + e->updates + e->removals, w,
		 "max_total", hit))
		return 1;
	if (pct >= 0 && removals > 0) {
		/* at least one object may always leave, even in tiny setups */
		long allowed = (long)(managed_count * (size_t)pct / 100);

		if (allowed < 1)
			allowed = 1;
		if (over(allowed, removals, e->removals, w,
			 "max_delete_percent", hit)) {
			hit->allowed = allowed;
			return 1;
		}
	}
	return 0;
}

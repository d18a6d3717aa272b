/*
 * test_plan.c - the pure diff, (desired, current, managed) -> changes, and
 * the safety limits, on hand-made sets: adds, updates, renames by anchor,
 * disable and delete timing, frozen addresses, adopt on and off, ordering.
 *
 * Each plan is rendered as one line per change ("op kind address extra")
 * so that a test reads like the `dirsync plan` output it guards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "plan/plan.h"
#include "plan/guard.h"

#define NOW 1800000000L
#define DAY 86400L

struct fx {
	struct mset desired, current;
	struct managed managed;
	struct strmap frozen_addr, frozen_anchor;
	struct plan p;
	struct plan_input in;
	char text[8192];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	mset_init(&f->desired);
	mset_init(&f->current);
	managed_init(&f->managed);
	plan_init(&f->p);
	f->in.desired = &f->desired;
	f->in.current = &f->current;
	f->in.managed = &f->managed;
	f->in.frozen_addresses = &f->frozen_addr;
	f->in.frozen_anchors = &f->frozen_anchor;
	f->in.adopt = false;
	f->in.deprovision = DEPROV_DISABLE;
	f->in.delete_after = 30 * DAY;
	f->in.now = NOW;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	plan_free(&f->p);
	mset_free(&f->desired);
	mset_free(&f->current);
	managed_free(&f->managed);
	strmap_free(&f->frozen_addr);
	strmap_free(&f->frozen_anchor);
	free(f);
	return 0;
}

static void
add_obj(struct mset *s, enum mkind kind, const char *addr, const char *anchor,
	const char *name, const char *gotos, bool active)
{
	struct mobj o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.address = addr;
	o.anchor = anchor;
	o.name = name;
	o.gotos = gotos;
	o.active = active;
	assert_non_null(mset_add(s, &o));
}

/* What the directory wants. */
static void
want(struct fx *f, enum mkind kind, const char *addr, const char *anchor,
     const char *name, const char *gotos)
{
	add_obj(&f->desired, kind, addr, anchor, name, gotos, true);
}

/*
 * What the target holds: load() reports every alias-table row as
 * MK_ALIAS; a mailbox's self-alias is folded into the mailbox.
 */
static void
have(struct fx *f, enum mkind kind, const char *addr, const char *name,
     const char *gotos, bool active)
{
	add_obj(&f->current, mkind_alias_row(kind) ? MK_ALIAS : kind, addr,
		NULL, name, gotos, active);
}

/* What the state database says dirsync manages. */
static void
own(struct fx *f, enum mkind kind, const char *addr, const char *anchor,
    long long disabled_at)
{
	assert_non_null(managed_add(&f->managed, addr, kind, anchor,
				    disabled_at));
}

/* A synced mailbox with its row and managed record. */
static void
synced_mailbox(struct fx *f, const char *addr, const char *anchor,
	       const char *name)
{
	have(f, MK_MAILBOX, addr, name, NULL, true);
	own(f, MK_MAILBOX, addr, anchor, 0);
}

static const char *
field_names(unsigned fields, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{CH_ADDRESS, "address"}, {CH_NAME, "name"}, {CH_GOTO, "goto"},
		{CH_ACTIVE, "active"},   {CH_ADOPT, "adopt"}, {CH_KIND, "owner"},
	};
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (fields & names[i].bit)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      n ? "," : "", names[i].name);
	return buf;
}

/* Builds the plan and renders it, one change per line. */
static const char *
build(struct fx *f)
{
	size_t i, n = 0;

	plan_free(&f->p);
	plan_init(&f->p);
	plan_build(&f->p, &f->in);
	f->text[0] = '\0';
	for (i = 0; i < f->p.n; i++) {
		const struct change *ch = &f->p.v[i];
		char fl[128];

		n += (size_t)snprintf(f->text + n, sizeof(f->text) - n,
				      "%s %s %s", op_name(ch->op),
				      mkind_name(ch->kind), ch->address);
		if (ch->op == OP_UPDATE)
			n += (size_t)snprintf(
				f->text + n, sizeof(f->text) - n, " [%s]",
				field_names(ch->fields, fl, sizeof(fl)));
		if (ch->old_address != NULL)
			n += (size_t)snprintf(f->text + n,
					      sizeof(f->text) - n, " was %s",
					      ch->old_address);
		if (ch->op == OP_ADD && ch->gotos != NULL)
			n += (size_t)snprintf(f->text + n,
					      sizeof(f->text) - n, " -> %s",
					      ch->gotos);
		n += (size_t)snprintf(f->text + n, sizeof(f->text) - n, "\n");
	}
	for (i = 0; i < f->p.nclashes; i++)
		n += (size_t)snprintf(f->text + n, sizeof(f->text) - n,
				      "clash %s %s\n", f->p.clashes[i].address,
				      f->p.clashes[i].anchor
					      ? f->p.clashes[i].anchor
					      : "-");
	return f->text;
}

static const struct change *
find(const struct fx *f, const char *addr)
{
	size_t i;

	for (i = 0; i < f->p.n; i++)
		if (strcmp(f->p.v[i].address, addr) == 0)
			return &f->p.v[i];
	return NULL;
}

/* ---- one hash for all three sets ---------------------------------- */

struct hashed {
	uint32_t h;
	unsigned i;
};

static int
cmp_hashed(const void *a, const void *b)
{
	const struct hashed *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

#define SIDE 700u

/*
 * Two different addresses with the same strmap_hash (the sets' one
 * 32-bit hash), found among 490,000 of the form uA.B@example.com (the
 * birthday bound; "u142.309" and "u271.182" share FNV-1a's state before
 * the common suffix, and the suffix and the finish are bijections).
 * The hash is fixed, so the pair is too.
 */
static void
colliding_pair(char *a, char *b, size_t len)
{
	const unsigned n = SIDE * SIDE;
	struct hashed *v = calloc(n, sizeof(*v));
	char buf[64];
	unsigned i;

	assert_non_null(v);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "u%u.%u@example.com", i / SIDE,
			 i % SIDE);
		v[i].h = strmap_hash(buf);
		v[i].i = i;
	}
	qsort(v, n, sizeof(*v), cmp_hashed);
	for (i = 1; i < n && v[i].h != v[i - 1].h; i++)
		;
	assert_true(i < n);
	snprintf(a, len, "u%u.%u@example.com", v[i - 1].i / SIDE,
		 v[i - 1].i % SIDE);
	snprintf(b, len, "u%u.%u@example.com", v[i].i / SIDE, v[i].i % SIDE);
	free(v);
}

/*
 * The sets key addresses by a hash computed once (mobj.hash,
 * managed_rec.hash) and the planner looks them up by it across sets:
 * two addresses that share a hash must still be told apart by their
 * strings, in every set, and in the target's borrowing of the desired
 * set's strings (mset_twin).
 */
static void
test_hash_collisions_compare_strings(void **state)
{
	struct fx *f = *state;
	char a[64], b[64];
	const struct mobj *o;

	colliding_pair(a, b, sizeof(a));
	assert_string_not_equal(a, b);
	assert_int_equal(strmap_hash(a), strmap_hash(b));

	/* a is wanted; the target has b, dirsync's, whose owner left */
	want(f, MK_MAILBOX, a, "guid-a", "A", NULL);
	synced_mailbox(f, b, "guid-b", "B");
	o = mset_get(&f->desired, a);
	assert_non_null(o);
	assert_int_equal(o->hash, strmap_hash(a));
	assert_null(mset_get(&f->desired, b));
	assert_null(mset_get(&f->current, a));
	assert_null(managed_get(&f->managed, a));
	assert_ptr_equal(mset_get_h(&f->desired, a, o->hash), o);
	assert_string_equal(managed_get(&f->managed, b)->address, b);

	/* the current set borrows only the twin at the same address */
	f->current.share = &f->desired;
	assert_ptr_equal(mset_twin(&f->current, a, o->hash), o);
	assert_null(mset_twin(&f->current, b, strmap_hash(b)));

	/* b is not a's row: a is added, b disabled, nothing updated */
	build(f);
	assert_int_equal(f->p.n, 2);
	assert_int_equal(find(f, a)->op, OP_ADD);
	assert_int_equal(find(f, b)->op, OP_DISABLE);

	/* and with both wanted and both there, nothing to do */
	want(f, MK_MAILBOX, b, "guid-b", "B", NULL);
	synced_mailbox(f, a, "guid-a", "A");
	assert_string_equal(build(f), "");
}

/* ---- the compare: shared strings and copies ------------------------ */

/*
 * A row as the SQL target's load makes it (sql.c): with the desired
 * object's own strings where they are equal (mset.share), its own copy
 * where not; and the managed record with the desired object's anchor
 * string where equal (managed_add_known).  share false: every string a
 * copy, as the memory and SCIM targets and the state-kept records have
 * them.  row_name, row_gotos NULL: the desired object's.
 */
static void
row_like_load(struct fx *f, bool share, enum mkind kind, const char *addr,
	      const char *row_name, const char *row_gotos, bool active,
	      enum mkind rec_kind, const char *rec_anchor)
{
	const struct mobj *w = mset_get(&f->desired, addr);
	const char *name = row_name, *gotos = row_gotos;
	struct mobj o;

	if (w != NULL && name == NULL)
		name = share ? w->name : arena_strdup(&f->desired.arena,
						      w->name ? w->name : "");
	if (w != NULL && gotos == NULL && w->gotos != NULL)
		gotos = share ? w->gotos
			      : arena_strdup(&f->desired.arena, w->gotos);
	memset(&o, 0, sizeof(o));
	o.kind = mkind_alias_row(kind) ? MK_ALIAS : kind;
	o.address = share && w != NULL ? w->address
				       : arena_strdup(&f->desired.arena, addr);
	o.name = name;
	o.gotos = gotos;
	o.active = active;
	assert_non_null(mset_add_ref(&f->current, &o));
	if (share)
		assert_non_null(managed_add_known(
			&f->managed, addr, mset_get(&f->current, addr), w,
			rec_kind, rec_anchor, 0));
	else
		own(f, rec_kind, addr, rec_anchor, 0);
}

/* One directory, one target: in step, changed, gone, taken over. */
static const char *
compare_case(struct fx *f, bool share)
{
	want(f, MK_MAILBOX, "ann@example.com", "A", "Ann", NULL);
	want(f, MK_ALIAS, "a@example.com", "A", NULL, "ann@example.com");
	want(f, MK_MAILBOX, "bob@example.com", "B", "Bob Lee", NULL);
	want(f, MK_LIST, "team@example.com", "G", "Team",
	     "ann@example.com,bob@example.com");
	want(f, MK_MAILBOX, "noname@example.com", "N", NULL, NULL);
	want(f, MK_ALIAS, "help@example.com", "B", NULL, "bob@example.com");
	want(f, MK_MAILBOX, "dora@example.com", "D2", "Dora", NULL);
	/* in step */
	row_like_load(f, share, MK_MAILBOX, "ann@example.com", NULL, NULL,
		      true, MK_MAILBOX, "A");
	row_like_load(f, share, MK_ALIAS, "a@example.com", NULL, NULL, true,
		      MK_ALIAS, "A");
	row_like_load(f, share, MK_LIST, "team@example.com", NULL, NULL, true,
		      MK_LIST, "G");
	/* no name wanted, "" stored: the same */
	row_like_load(f, share, MK_MAILBOX, "noname@example.com", "", NULL,
		      true, MK_MAILBOX, "N");
	/* a name of the same length, a goto with the same beginning */
	row_like_load(f, share, MK_MAILBOX, "bob@example.com", "Bob Lea",
		      NULL, true, MK_MAILBOX, "B");
	/* the alias was Ann's: new goto and owner */
	row_like_load(f, share, MK_ALIAS, "help@example.com",
		      NULL, "bob@example.com,x", true, MK_ALIAS, "A");
	/* the first Dora's mailbox: a new Dora waits, the old one's goes */
	row_like_load(f, share, MK_MAILBOX, "dora@example.com", NULL, NULL,
		      true, MK_MAILBOX, "D1");
	/* a leaver, disabled on the target already, and one still active */
	want(f, MK_MAILBOX, "zed@example.com", "Z", "Zed", NULL);
	row_like_load(f, share, MK_MAILBOX, "carl@example.com", "Carl", NULL,
		      true, MK_MAILBOX, "C");
	row_like_load(f, share, MK_MAILBOX, "eve@example.com", "Eve", NULL,
		      false, MK_MAILBOX, "E");
	return build(f);
}

/*
 * The planner compares a string by its pointer before its bytes (the
 * load borrows the desired set's equal strings), and passes over a
 * managed record the first pass found wanted by its owner: a target
 * whose strings are all copies must plan exactly the same.
 */
static void
test_shared_and_copied_strings_plan_alike(void **state)
{
	struct fx *f = *state;
	const char *expect = "disable mailbox carl@example.com\n"
			     "disable mailbox dora@example.com\n"
			     "update mailbox bob@example.com [name]\n"
			     "update alias help@example.com [goto,owner]\n"
			     "add mailbox zed@example.com\n"
			     "clash dora@example.com D2\n";
	const struct change *ch;
	char shared[sizeof(f->text)];

	assert_string_equal(compare_case(f, true), expect);
	/* the shared case shares: the planner saw the very same strings */
	assert_ptr_equal(mset_get(&f->current, "ann@example.com")->name,
			 mset_get(&f->desired, "ann@example.com")->name);
	assert_ptr_equal(managed_get(&f->managed, "ann@example.com")->anchor,
			 mset_get(&f->desired, "ann@example.com")->anchor);
	ch = find(f, "bob@example.com");
	assert_string_equal(ch->old_name, "Bob Lea");
	assert_string_equal(ch->name, "Bob Lee");
	ch = find(f, "help@example.com");
	assert_string_equal(ch->old_gotos, "bob@example.com,x");
	assert_string_equal(ch->anchor, "B");
	snprintf(shared, sizeof(shared), "%s", f->text);

	teardown(state);
	assert_int_equal(setup(state), 0);
	f = *state;
	assert_string_equal(compare_case(f, false), shared);
	assert_ptr_not_equal(mset_get(&f->current, "ann@example.com")->name,
			     mset_get(&f->desired, "ann@example.com")->name);
}

/*
 * Managed records the first pass did not see (their address is not
 * wanted, or wanted by another person, or the first pass left it alone)
 * still get the whole deprovisioning check; one it found wanted by its
 * owner is never disabled, whichever set comes first.
 */
static void
test_deprovision_after_first_pass(void **state)
{
	struct fx *f = *state;
	int i;

	/* many records wanted by their owners around a few that are not,
	 * so that the per-record marks cross 64-bit words */
	for (i = 0; i < 150; i++) {
		char addr[64], anchor[16];

		snprintf(addr, sizeof(addr), "u%03d@example.com", i);
		snprintf(anchor, sizeof(anchor), "U%03d", i);
		if (i % 50 != 7)
			want(f, MK_MAILBOX, addr, anchor, "U", NULL);
		else if (i == 57)   /* wanted by someone else */
			want(f, MK_MAILBOX, addr, "OTHER", "U", NULL);
		row_like_load(f, true, MK_MAILBOX, addr, "U", NULL, true,
			      MK_MAILBOX, anchor);
	}
	/* a frozen address is left alone by both passes */
	want(f, MK_MAILBOX, "frozen@example.com", "F2", "F", NULL);
	row_like_load(f, true, MK_MAILBOX, "frozen@example.com", "F", NULL,
		      true, MK_MAILBOX, "F1");
	strmap_put(&f->frozen_addr, "frozen@example.com", (void *)"x");
	assert_string_equal(build(f), "disable mailbox u007@example.com\n"
				      "disable mailbox u057@example.com\n"
				      "disable mailbox u107@example.com\n"
				      "clash u057@example.com OTHER\n");
	assert_int_equal(f->p.count[OP_DISABLE], 3);
}

/* ---- adds and no-ops ---------------------------------------------- */

static void
test_adds_into_empty_target(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "ann@example.com", "A", "Ann", NULL);
	want(f, MK_ALIAS, "a@example.com", "A", NULL, "ann@example.com");
	want(f, MK_LIST, "team@example.com", "G", "Team", "ann@example.com");
	want(f, MK_CONTACT, "p@example.com", "C", "P", "p@partner.org");
	want(f, MK_DOMAIN, "example.com", NULL, NULL, NULL);
	/* the domain first: it is there before what is added in it */
	assert_string_equal(build(f),
			    "add domain example.com\n"
			    "add mailbox ann@example.com\n"
			    "add alias a@example.com -> ann@example.com\n"
			    "add list team@example.com -> ann@example.com\n"
			    "add contact p@example.com -> p@partner.org\n");
	/* aliases are counted apart from objects (max_alias_adds) */
	assert_int_equal(f->p.count[OP_ADD], 4);
	assert_int_equal(f->p.alias_count[OP_ADD], 1);
	assert_string_equal(find(f, "ann@example.com")->name, "Ann");
	assert_string_equal(find(f, "ann@example.com")->anchor, "A");
}

static void
test_in_step_is_no_change(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "ann@example.com", "A", "Ann", NULL);
	want(f, MK_ALIAS, "a@example.com", "A", NULL, "ann@example.com");
	want(f, MK_LIST, "team@example.com", "G", "Team", "ann@example.com");
	want(f, MK_DOMAIN, "example.com", NULL, NULL, NULL);
	synced_mailbox(f, "ann@example.com", "A", "Ann");
	have(f, MK_ALIAS, "a@example.com", NULL, "ann@example.com", true);
	own(f, MK_ALIAS, "a@example.com", "A", 0);
	have(f, MK_LIST, "team@example.com", NULL, "ann@example.com", true);
	own(f, MK_LIST, "team@example.com", "G", 0);
	have(f, MK_DOMAIN, "example.com", NULL, NULL, true);
	own(f, MK_DOMAIN, "example.com", NULL, 0);
	assert_string_equal(build(f), "");
	assert_int_equal(f->p.n, 0);
	assert_int_equal(f->p.nclashes, 0);
}

static void
test_domains_shared(void **state)
{
	struct fx *f = *state;

	/* present but inactive, or not managed: a domain is never touched;
	 * one no longer accepted is never removed */
	want(f, MK_DOMAIN, "example.com", NULL, NULL, NULL);
	want(f, MK_DOMAIN, "example.net", NULL, NULL, NULL);
	have(f, MK_DOMAIN, "example.com", NULL, NULL, true);
	have(f, MK_DOMAIN, "example.org", NULL, NULL, true);
	own(f, MK_DOMAIN, "example.org", NULL, 0);
	assert_string_equal(build(f), "add domain example.net\n");
}

/* ---- updates ------------------------------------------------------ */

static void
test_updates(void **state)
{
	struct fx *f = *state;
	const struct change *ch;

	want(f, MK_MAILBOX, "ann@example.com", "A", "Ann Smith", NULL);
	synced_mailbox(f, "ann@example.com", "A", "Ann Lee");
	want(f, MK_LIST, "team@example.com", "G", "Team",
	     "ann@example.com,bob@example.com");
	have(f, MK_LIST, "team@example.com", NULL, "ann@example.com", true);
	own(f, MK_LIST, "team@example.com", "G", 0);
	want(f, MK_ALIAS, "help@example.com", "B", NULL, "bob@example.com");
	have(f, MK_ALIAS, "help@example.com", NULL, "ann@example.com", true);
	own(f, MK_ALIAS, "help@example.com", "A", 0);
	want(f, MK_CONTACT, "p@example.com", "C", "P", "new@partner.org");
	have(f, MK_CONTACT, "p@example.com", NULL, "old@partner.org", true);
	own(f, MK_CONTACT, "p@example.com", "C", 0);
	assert_string_equal(build(f),
			    "update mailbox ann@example.com [name]\n"
			    "update alias help@example.com [goto,owner]\n"
			    "update list team@example.com [goto]\n"
			    "update contact p@example.com [goto]\n");
	ch = find(f, "ann@example.com");
	assert_string_equal(ch->old_name, "Ann Lee");
	assert_string_equal(ch->name, "Ann Smith");
	ch = find(f, "team@example.com");
	assert_string_equal(ch->old_gotos, "ann@example.com");
	assert_string_equal(ch->gotos, "ann@example.com,bob@example.com");
	/* the alias moved owner: the new anchor is recorded */
	assert_string_equal(find(f, "help@example.com")->anchor, "B");
	assert_int_equal(f->p.count[OP_UPDATE], 3);
	assert_int_equal(f->p.alias_count[OP_UPDATE], 1);
}

static void
test_reenable(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "bob@example.com", "B", "Bob", NULL);
	want(f, MK_ALIAS, "rob@example.com", "B", NULL, "bob@example.com");
	have(f, MK_MAILBOX, "bob@example.com", "Bob", NULL, false);
	own(f, MK_MAILBOX, "bob@example.com", "B", NOW - DAY);
	have(f, MK_ALIAS, "rob@example.com", NULL, "bob@example.com", false);
	own(f, MK_ALIAS, "rob@example.com", "B", NOW - DAY);
	assert_string_equal(build(f),
			    "update mailbox bob@example.com [active]\n"
			    "update alias rob@example.com [active]\n");
}

/* ---- renames by anchor -------------------------------------------- */

static void
test_rename_by_anchor(void **state)
{
	struct fx *f = *state;
	const struct change *ch;

	want(f, MK_MAILBOX, "robert@example.com", "B", "Robert Stone", NULL);
	synced_mailbox(f, "bob@example.com", "B", "Bob Stone");
	/* another person's new mailbox is an add, not a rename */
	want(f, MK_MAILBOX, "carl@example.com", "C", "Carl", NULL);
	assert_string_equal(build(f),
			    "update mailbox robert@example.com [address,name] "
			    "was bob@example.com\n"
			    "add mailbox carl@example.com\n");
	ch = find(f, "robert@example.com");
	assert_string_equal(ch->old_name, "Bob Stone");
	assert_int_equal(f->p.count[OP_DISABLE], 0);
}

/*
 * The partial compare (plan_input.only): with current and managed holding
 * only the rows and records of the changed addresses (and the mailbox
 * record of a changed mailbox's anchor), the plan is the full one.
 */
static void
test_only_plans_the_part(void **state)
{
	struct fx *f = *state;
	static const char *const part[] = {
		"ann@example.com", "carl@example.com", "dave@example.com",
		"erin.new@example.com", "erin@example.com", "a2@example.com",
	};
	struct strmap only = STRMAP_INIT;
	char full[8192];
	size_t i;

	/* the directory: ann renamed in name, bob as synced, carl new, dave
	 * gone, erin back under another address, ann's alias gone */
	want(f, MK_MAILBOX, "ann@example.com", "A", "Ann Other", NULL);
	want(f, MK_MAILBOX, "bob@example.com", "B", "Bob", NULL);
	want(f, MK_ALIAS, "b2@example.com", "B", NULL, "bob@example.com");
	want(f, MK_MAILBOX, "carl@example.com", "C", "Carl", NULL);
	want(f, MK_MAILBOX, "erin.new@example.com", "E", "Erin", NULL);
	want(f, MK_LIST, "team@example.com", "T", "Team",
	     "ann@example.com,bob@example.com");
	synced_mailbox(f, "ann@example.com", "A", "Ann");
	have(f, MK_ALIAS, "a2@example.com", NULL, "ann@example.com", true);
	own(f, MK_ALIAS, "a2@example.com", "A", 0);
	synced_mailbox(f, "bob@example.com", "B", "Bob");
	have(f, MK_ALIAS, "b2@example.com", NULL, "bob@example.com", true);
	own(f, MK_ALIAS, "b2@example.com", "B", 0);
	synced_mailbox(f, "dave@example.com", "D", "Dave");
	have(f, MK_MAILBOX, "erin@example.com", "Erin", NULL, false);
	own(f, MK_MAILBOX, "erin@example.com", "E", NOW - DAY);
	have(f, MK_LIST, "team@example.com", NULL,
	     "ann@example.com,bob@example.com", true);
	own(f, MK_LIST, "team@example.com", "T", 0);
	snprintf(full, sizeof(full), "%s", build(f));
	assert_string_equal(full,
			    "delete alias a2@example.com\n"
			    "disable mailbox dave@example.com\n"
			    "update mailbox ann@example.com [name]\n"
			    "update mailbox erin.new@example.com "
			    "[address,active] was erin@example.com\n"
			    "add mailbox carl@example.com\n");
	/* the same from the part only */
	mset_free(&f->current);
	mset_init(&f->current);
	managed_free(&f->managed);
	managed_init(&f->managed);
	synced_mailbox(f, "ann@example.com", "A", "Ann");
	have(f, MK_ALIAS, "a2@example.com", NULL, "ann@example.com", true);
	own(f, MK_ALIAS, "a2@example.com", "A", 0);
	synced_mailbox(f, "dave@example.com", "D", "Dave");
	have(f, MK_MAILBOX, "erin@example.com", "Erin", NULL, false);
	own(f, MK_MAILBOX, "erin@example.com", "E", NOW - DAY);
	for (i = 0; i < sizeof(part) / sizeof(part[0]); i++)
		strmap_put(&only, part[i], (void *)part[i]);
	f->in.only = &only;
	assert_string_equal(build(f), full);
	/* an object outside the part is left alone, even when it differs */
	have(f, MK_MAILBOX, "bob@example.com", "Robert", NULL, true);
	assert_string_equal(build(f), full);
	f->in.only = NULL;
	strmap_free(&only);
}

static void
test_rename_of_disabled_mailbox_reenables(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "robert@example.com", "B", "Bob", NULL);
	have(f, MK_MAILBOX, "bob@example.com", "Bob", NULL, false);
	own(f, MK_MAILBOX, "bob@example.com", "B", NOW - DAY);
	assert_string_equal(build(f),
			    "update mailbox robert@example.com [address,active] "
			    "was bob@example.com\n");
}

static void
test_rename_keeps_old_as_alias(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "ann.smith@example.com", "A", "Ann", NULL);
	want(f, MK_ALIAS, "ann.lee@example.com", "A", NULL,
	     "ann.smith@example.com");
	synced_mailbox(f, "ann.lee@example.com", "A", "Ann");
	assert_string_equal(build(f),
			    "update mailbox ann.smith@example.com [address] "
			    "was ann.lee@example.com\n"
			    "add alias ann.lee@example.com -> "
			    "ann.smith@example.com\n");
}

static void
test_rename_swap_with_alias(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "robert@example.com", "B", "Bob", NULL);
	want(f, MK_ALIAS, "bob@example.com", "B", NULL, "robert@example.com");
	synced_mailbox(f, "bob@example.com", "B", "Bob");
	have(f, MK_ALIAS, "robert@example.com", NULL, "bob@example.com", true);
	own(f, MK_ALIAS, "robert@example.com", "B", 0);
	assert_string_equal(build(f),
			    "delete alias robert@example.com\n"
			    "update mailbox robert@example.com [address] "
			    "was bob@example.com\n"
			    "add alias bob@example.com -> robert@example.com\n");
}

static void
test_no_rename_across_anchors(void **state)
{
	struct fx *f = *state;

	/* Bob left, Carl joined: disable + add, never a rename */
	want(f, MK_MAILBOX, "carl@example.com", "C", "Carl", NULL);
	synced_mailbox(f, "bob@example.com", "B", "Bob");
	/*
	 * dirsync's own alias row that its owner no longer claims (the
	 * rules give every address one claimant) makes way for the new
	 * mailbox: delete it, then add (golden alias_becomes_mailbox)
	 */
	want(f, MK_MAILBOX, "help@example.com", "D", "Dee", NULL);
	have(f, MK_ALIAS, "help@example.com", NULL, "x@example.com", true);
	own(f, MK_ALIAS, "help@example.com", "X", 0);
	assert_string_equal(build(f),
			    "delete alias help@example.com\n"
			    "disable mailbox bob@example.com\n"
			    "add mailbox carl@example.com\n"
			    "add mailbox help@example.com\n");
}

static void
test_mailbox_never_changes_owner(void **state)
{
	struct fx *f = *state;

	/* the first John left (disabled, mail kept); a new John (another
	 * anchor) gets the address: his mailbox is not the old one */
	have(f, MK_MAILBOX, "john@example.com", "John", NULL, false);
	own(f, MK_MAILBOX, "john@example.com", "J1", NOW - DAY);
	want(f, MK_MAILBOX, "john@example.com", "J2", "John", NULL);
	/* nor in one run: the old Bob's mailbox is deprovisioned as his
	 * (disabled now, deleted after delete_after), the new Bob waits */
	synced_mailbox(f, "bob@example.com", "B1", "Bob");
	want(f, MK_MAILBOX, "bob@example.com", "B2", "Bob", NULL);
	assert_string_equal(build(f), "disable mailbox bob@example.com\n"
				      "clash bob@example.com B2\n"
				      "clash john@example.com J2\n");
	assert_int_equal(f->p.nclashes, 2);
	assert_string_equal(f->p.clashes[0].address, "bob@example.com");
	assert_string_equal(f->p.clashes[0].anchor, "B2");
	assert_string_equal(f->p.clashes[1].address, "john@example.com");
	assert_string_equal(f->p.clashes[1].anchor, "J2");
	assert_non_null(f->p.clashes[1].reason);
}

static void
test_blocked_primary_leaves_owner_alone(void **state)
{
	struct fx *f = *state;

	/* Ann's new primary anna@ is someone else's row: the rename cannot
	 * happen, and nothing of Ann's changes (no disable, no re-pointed
	 * alias that would send her mail to that row) */
	synced_mailbox(f, "ann@example.com", "A", "Ann");
	have(f, MK_ALIAS, "a.lee@example.com", NULL, "ann@example.com", true);
	own(f, MK_ALIAS, "a.lee@example.com", "A", 0);
	have(f, MK_ALIAS, "anna@example.com", NULL, "someone@example.com",
	     true);
	want(f, MK_MAILBOX, "anna@example.com", "A", "Ann", NULL);
	want(f, MK_ALIAS, "a.lee@example.com", "A", NULL, "anna@example.com");
	/* Bob is unaffected */
	want(f, MK_MAILBOX, "bob@example.com", "B", "Bob", NULL);
	build(f);
	assert_int_equal(f->p.n, 1);
	assert_string_equal(f->p.v[0].address, "bob@example.com");
	assert_int_equal(f->p.v[0].op, OP_ADD);
	assert_int_equal(f->p.nclashes, 1);
	assert_string_equal(f->p.clashes[0].address, "anna@example.com");
	assert_string_equal(f->p.clashes[0].anchor, "A");
}

/* ---- leaving scope: disable, then delete -------------------------- */

static void
test_disable_leavers(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "ann@example.com", "A", "Ann", NULL);
	synced_mailbox(f, "ann@example.com", "A", "Ann");
	/* Ann stays, her alias went: delete it */
	have(f, MK_ALIAS, "a@example.com", NULL, "ann@example.com", true);
	own(f, MK_ALIAS, "a@example.com", "A", 0);
	/* Bob went: mailbox and alias disabled */
	synced_mailbox(f, "bob@example.com", "B", "Bob");
	have(f, MK_ALIAS, "b@example.com", NULL, "bob@example.com", true);
	own(f, MK_ALIAS, "b@example.com", "B", 0);
	/* a list and a contact went */
	have(f, MK_LIST, "team@example.com", NULL, "bob@example.com", true);
	own(f, MK_LIST, "team@example.com", "G", 0);
	have(f, MK_CONTACT, "p@example.com", NULL, "p@partner.org", true);
	own(f, MK_CONTACT, "p@example.com", "C", 0);
	/* someone else's rows are never touched */
	have(f, MK_MAILBOX, "hand@example.com", "Hand", NULL, true);
	have(f, MK_ALIAS, "x@example.com", NULL, "hand@example.com", true);
	/* a managed row that vanished from the target: nothing to do */
	own(f, MK_MAILBOX, "gone@example.com", "Z", 0);
	assert_string_equal(build(f),
			    "delete alias a@example.com\n"
			    "disable mailbox bob@example.com\n"
			    "disable alias b@example.com\n"
			    "disable list team@example.com\n"
			    "disable contact p@example.com\n");
	assert_int_equal(f->p.count[OP_DISABLE], 3);
	assert_int_equal(f->p.alias_count[OP_DISABLE], 1);
	assert_int_equal(f->p.alias_count[OP_DELETE], 1);
}

/* A disabled mailbox (and alias) of a leaver, disabled `age` ago. */
static void
disabled_leaver(struct fx *f, long age)
{
	have(f, MK_MAILBOX, "bob@example.com", "Bob", NULL, false);
	own(f, MK_MAILBOX, "bob@example.com", "B", NOW - age);
	have(f, MK_ALIAS, "b@example.com", NULL, "bob@example.com", false);
	own(f, MK_ALIAS, "b@example.com", "B", NOW - age);
}

static void
test_delete_after_delay(void **state)
{
	struct fx *f = *state;

	f->in.deprovision = DEPROV_DELETE;
	f->in.delete_after = 30 * DAY;
	disabled_leaver(f, 30 * DAY);
	assert_string_equal(build(f), "delete mailbox bob@example.com\n"
				      "delete alias b@example.com\n");
	assert_int_equal(f->p.count[OP_DELETE], 1);
	assert_int_equal(f->p.alias_count[OP_DELETE], 1);
}

static void
test_delete_not_before_delay(void **state)
{
	struct fx *f = *state;

	f->in.deprovision = DEPROV_DELETE;
	f->in.delete_after = 30 * DAY;
	disabled_leaver(f, 30 * DAY - 1);
	assert_string_equal(build(f), "");
}

static void
test_delete_after_zero(void **state)
{
	struct fx *f = *state;

	f->in.deprovision = DEPROV_DELETE;
	f->in.delete_after = 0;
	disabled_leaver(f, 0);
	assert_string_equal(build(f), "delete mailbox bob@example.com\n"
				      "delete alias b@example.com\n");
}

static void
test_disable_never_deletes(void **state)
{
	struct fx *f = *state;

	f->in.deprovision = DEPROV_DISABLE;
	f->in.delete_after = 0;
	disabled_leaver(f, 365 * DAY);
	assert_string_equal(build(f), "");
}

static void
test_active_leaver_disabled_first_even_with_delete(void **state)
{
	struct fx *f = *state;

	/* deprovision = delete still disables first: no delete in the
	 * same run the object leaves */
	f->in.deprovision = DEPROV_DELETE;
	f->in.delete_after = 0;
	synced_mailbox(f, "bob@example.com", "B", "Bob");
	assert_string_equal(build(f), "disable mailbox bob@example.com\n");
}

static void
test_inactive_without_disable_time_not_deleted(void **state)
{
	struct fx *f = *state;

	/* a row someone set inactive by hand (disabled_at = 0) */
	f->in.deprovision = DEPROV_DELETE;
	f->in.delete_after = 0;
	have(f, MK_MAILBOX, "bob@example.com", "Bob", NULL, false);
	own(f, MK_MAILBOX, "bob@example.com", "B", 0);
	assert_string_equal(build(f), "");
}

/* ---- conflicts: frozen addresses and anchors ---------------------- */

static void
test_frozen(void **state)
{
	struct fx *f = *state;

	/* info@ is in conflict: not added, and the managed row stays */
	strmap_put(&f->frozen_addr, "info@example.com", "info@example.com");
	strmap_put(&f->frozen_addr, "new@example.com", "new@example.com");
	have(f, MK_ALIAS, "info@example.com", NULL, "ann@example.com", true);
	own(f, MK_ALIAS, "info@example.com", "A", 0);
	want(f, MK_ALIAS, "new@example.com", "A", NULL, "ann@example.com");
	/* Carl's primary is in conflict: none of his rows change */
	strmap_put(&f->frozen_anchor, "C", "C");
	synced_mailbox(f, "carl@example.com", "C", "Carl");
	have(f, MK_ALIAS, "c@example.com", NULL, "carl@example.com", true);
	own(f, MK_ALIAS, "c@example.com", "C", 0);
	assert_string_equal(build(f), "");
}

/* ---- rows dirsync does not manage --------------------------------- */

static void
unmanaged_rows(struct fx *f)
{
	want(f, MK_MAILBOX, "bob@example.com", "B", "Bob Stone", NULL);
	have(f, MK_MAILBOX, "bob@example.com", "Bob (hand made)", NULL, true);
	want(f, MK_LIST, "sales@example.com", "G", "Sales", "bob@example.com");
	have(f, MK_ALIAS, "sales@example.com", NULL, "x@example.com", true);
	want(f, MK_ALIAS, "same@example.com", "B", NULL, "bob@example.com");
	have(f, MK_ALIAS, "same@example.com", NULL, "bob@example.com", true);
}

static void
test_adopt_off(void **state)
{
	struct fx *f = *state;

	f->in.adopt = false;
	unmanaged_rows(f);
	assert_string_equal(build(f), "clash bob@example.com B\n"
				      "clash sales@example.com G\n"
				      "clash same@example.com B\n");
	assert_int_equal(f->p.n, 0);
}

/*
 * A row the target marks with the wanted object's anchor (SCIM
 * externalId) is dirsync's own, written by a run that stopped before it
 * recorded it: taken back without adopt = yes; another anchor still
 * clashes.
 */
static void
test_own_anchor_taken_back(void **state)
{
	struct fx *f = *state;

	f->in.adopt = false;
	want(f, MK_MAILBOX, "bob@example.com", "B", "Bob", NULL);
	want(f, MK_MAILBOX, "eve@example.com", "E", "Eve", NULL);
	add_obj(&f->current, MK_MAILBOX, "bob@example.com", "B", "Bob", NULL,
		true);
	add_obj(&f->current, MK_MAILBOX, "eve@example.com", "X", "Eve", NULL,
		true);
	assert_string_equal(build(f), "update mailbox bob@example.com [adopt]\n"
				      "clash eve@example.com E\n");
}

static void
test_adopt_on(void **state)
{
	struct fx *f = *state;

	f->in.adopt = true;
	unmanaged_rows(f);
	/* even a row that already matches is adopted (recorded as ours) */
	assert_string_equal(build(f),
			    "update mailbox bob@example.com [name,adopt]\n"
			    "update alias same@example.com [adopt]\n"
			    "update list sales@example.com [goto,adopt]\n");
	assert_int_equal(f->p.nclashes, 0);
}

static void
test_adopt_never_changes_table(void **state)
{
	struct fx *f = *state;

	/* a mailbox row never becomes an alias or back, adopt or not */
	f->in.adopt = true;
	want(f, MK_ALIAS, "bob@example.com", "A", NULL, "ann@example.com");
	have(f, MK_MAILBOX, "bob@example.com", "Bob", NULL, true);
	want(f, MK_MAILBOX, "sales@example.com", "S", "Sales", NULL);
	have(f, MK_ALIAS, "sales@example.com", NULL, "x@example.com", true);
	assert_string_equal(build(f), "clash bob@example.com A\n"
				      "clash sales@example.com S\n");
}

/* ---- order -------------------------------------------------------- */

static void
test_order(void **state)
{
	struct fx *f = *state;
	size_t i;

	/* inserted in the reverse of the wanted order */
	want(f, MK_DOMAIN, "example.com", NULL, NULL, NULL);
	want(f, MK_MAILBOX, "new@example.com", "N", "New", NULL);
	want(f, MK_MAILBOX, "upd@example.com", "U", "Upd 2", NULL);
	synced_mailbox(f, "upd@example.com", "U", "Upd");
	synced_mailbox(f, "dis@example.com", "D", "Dis");
	have(f, MK_ALIAS, "del@example.com", NULL, "upd@example.com", true);
	own(f, MK_ALIAS, "del@example.com", "U", 0);
	assert_string_equal(build(f),
			    "delete alias del@example.com\n"
			    "disable mailbox dis@example.com\n"
			    "update mailbox upd@example.com [name]\n"
			    "add domain example.com\n"
			    "add mailbox new@example.com\n");
	for (i = 1; i < f->p.n; i++)
		assert_true(f->p.v[i - 1].op == f->p.v[i].op ||
			    (f->p.v[i - 1].op == OP_DELETE) ||
			    (f->p.v[i - 1].op == OP_DISABLE &&
			     f->p.v[i].op != OP_DELETE) ||
			    (f->p.v[i - 1].op == OP_UPDATE &&
			     f->p.v[i].op == OP_ADD));
}

static void
test_drop_removals(void **state)
{
	struct fx *f = *state;
	struct plan held;

	want(f, MK_MAILBOX, "new@example.com", "N", "New", NULL);
	synced_mailbox(f, "dis@example.com", "D", "Dis");
	have(f, MK_ALIAS, "d@example.com", NULL, "dis@example.com", true);
	own(f, MK_ALIAS, "d@example.com", "D", 0);
	build(f);
	assert_int_equal(f->p.n, 3);
	plan_init(&held);
	plan_drop_removals(&f->p, &held);
	assert_int_equal(f->p.n, 1);
	/* what was dropped is the held plan */
	assert_int_equal(held.n, 2);
	assert_int_equal(held.count[OP_DISABLE], 1);
	assert_int_equal(held.alias_count[OP_DISABLE], 1);
	assert_string_equal(held.v[0].address, "dis@example.com");
	plan_free(&held);
	assert_int_equal(f->p.v[0].op, OP_ADD);
	assert_int_equal(f->p.count[OP_DISABLE], 0);
	assert_int_equal(f->p.alias_count[OP_DISABLE], 0);
	assert_int_equal(f->p.count[OP_ADD], 1);
}

/* ---- safety limits ------------------------------------------------ */

/* A plan with the given numbers of object/alias changes, by op. */
static void
fake_plan(struct plan *p, size_t add, size_t upd, size_t dis, size_t del,
	  size_t aadd, size_t adel)
{
	memset(p, 0, sizeof(*p));
	p->count[OP_ADD] = add;
	p->count[OP_UPDATE] = upd;
	p->count[OP_DISABLE] = dis;
	p->count[OP_DELETE] = del;
	p->alias_count[OP_ADD] = aadd;
	p->alias_count[OP_DELETE] = adel;
	p->n = add + upd + dis + del + aadd + adel;
}

static struct conf *
limits_conf(void)
{
	struct conf *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	conf_defaults(c);
	return c;
}

static void
free_conf(struct conf *c)
{
	conf_free(c);
	free(c);
}

static void
expect_hit(const struct plan *p, const struct conf *c, size_t managed,
	   size_t in_scope, const char *limit, long allowed, long planned)
{
	struct limit_hit hit;
	int rc = plan_check_limits(p, &c->safety, managed, in_scope, NULL,
				   &hit);

	if (limit == NULL) {
		if (rc != 0)
			fail_msg("unexpected limit %s (allowed %ld, planned "
				 "%ld)", hit.limit, hit.allowed, hit.planned);
		assert_null(hit.limit);
		return;
	}
	assert_int_equal(rc, 1);
	assert_non_null(hit.limit);
	assert_string_equal(hit.limit, limit);
	assert_int_equal(hit.allowed, allowed);
	assert_int_equal(hit.planned, planned);
}

static void
test_limits_defaults(void **state)
{
	struct conf *c = limits_conf();
	struct plan p;

	(void)state;
	/* SPEC defaults: no hard limits, 10 %, allow_empty = no */
	assert_int_equal(c->safety.max_adds, -1);
	assert_int_equal(c->safety.max_delete_percent, 10);
	assert_false(c->safety.allow_empty);
	fake_plan(&p, 100000, 100000, 0, 0, 100000, 100000);
	expect_hit(&p, c, 0, 1, NULL, 0, 0);
	fake_plan(&p, 0, 0, 0, 0, 0, 0);
	expect_hit(&p, c, 0, 1, NULL, 0, 0);
	free_conf(c);
}

static void
test_limits_each(void **state)
{
	struct conf *c = limits_conf();
	struct plan p;

	(void)state;
	c->safety.max_delete_percent = -1;
	c->safety.max_adds = 2;
	fake_plan(&p, 2, 0, 0, 0, 0, 0);
	expect_hit(&p, c, 10, 10, NULL, 0, 0);
	fake_plan(&p, 3, 0, 0, 0, 0, 0);
	expect_hit(&p, c, 10, 10, "max_adds", 2, 3);
	c->safety.max_adds = -1;

	c->safety.max_updates = 0;
	fake_plan(&p, 0, 1, 0, 0, 0, 0);
	expect_hit(&p, c, 10, 10, "max_updates", 0, 1);
	c->safety.max_updates = -1;

	/* disables and deletes together; alias rows are not objects */
	c->safety.max_deletes = 2;
	fake_plan(&p, 0, 0, 1, 1, 0, 5);
	expect_hit(&p, c, 10, 10, NULL, 0, 0);
	fake_plan(&p, 0, 0, 2, 1, 0, 0);
	expect_hit(&p, c, 10, 10, "max_deletes", 2, 3);
	c->safety.max_deletes = -1;

	c->safety.max_alias_adds = 1;
	fake_plan(&p, 5, 0, 0, 0, 2, 0);
	expect_hit(&p, c, 10, 10, "max_alias_adds", 1, 2);
	c->safety.max_alias_adds = -1;

	c->safety.max_alias_deletes = 1;
	fake_plan(&p, 0, 0, 0, 0, 0, 2);
	expect_hit(&p, c, 10, 10, "max_alias_deletes", 1, 2);
	p.alias_count[OP_DELETE] = 1;
	p.alias_count[OP_DISABLE] = 1;   /* alias disables count too */
	expect_hit(&p, c, 10, 10, "max_alias_deletes", 1, 2);
	c->safety.max_alias_deletes = -1;

	c->safety.max_total = 3;
	fake_plan(&p, 1, 1, 0, 0, 1, 0);
	expect_hit(&p, c, 10, 10, NULL, 0, 0);
	fake_plan(&p, 1, 1, 0, 0, 1, 1);
	expect_hit(&p, c, 10, 10, "max_total", 3, 4);
	free_conf(c);
}

/*
 * [safety] limit_window: what earlier runs applied weighs with the plan,
 * but only against a run that plans more of the same kind.
 */
static void
test_limits_window(void **state)
{
	struct conf *c = limits_conf();
	struct limit_earlier e = {.adds = 1, .updates = 0, .removals = 4,
				  .window = 300};
	struct limit_hit hit;
	struct plan p;
	char buf[120];

	(void)state;
	c->safety.max_delete_percent = -1;
	c->safety.max_deletes = 5;
	fake_plan(&p, 0, 0, 1, 0, 0, 0);
	assert_int_equal(plan_check_limits(&p, &c->safety, 100, 100, &e, &hit),
			 0);
	fake_plan(&p, 0, 0, 1, 1, 0, 0);
	assert_int_equal(plan_check_limits(&p, &c->safety, 100, 100, &e, &hit),
			 1);
	assert_string_equal(hit.limit, "max_deletes");
	assert_int_equal(hit.allowed, 5);
	assert_int_equal(hit.planned, 2);        /* this run's own */
	assert_int_equal(hit.earlier, 4);
	assert_int_equal(hit.window, 300);
	assert_string_equal(plan_limit_window(&hit, buf, sizeof(buf)),
			    " (and 4 applied by the runs of the last 5m: "
			    "[safety] limit_window)");
	/* no removal planned: earlier removals stop nothing */
	e.removals = 50;
	fake_plan(&p, 1, 3, 0, 0, 0, 0);
	assert_int_equal(plan_check_limits(&p, &c->safety, 100, 100, &e, &hit),
			 0);
	c->safety.max_deletes = -1;
	/* the percentage too: 10% of 100 is 10, 9 earlier + 2 */
	c->safety.max_delete_percent = 10;
	e.removals = 9;
	fake_plan(&p, 0, 0, 2, 0, 0, 0);
	assert_int_equal(plan_check_limits(&p, &c->safety, 100, 100, &e, &hit),
			 1);
	assert_string_equal(hit.limit, "max_delete_percent");
	assert_int_equal(hit.allowed, 10);
	/* max_total counts every earlier change; no window, no earlier */
	c->safety.max_delete_percent = -1;
	c->safety.max_total = 5;
	fake_plan(&p, 1, 0, 0, 0, 0, 0);
	assert_int_equal(plan_check_limits(&p, &c->safety, 100, 100, &e, &hit),
			 1);
	assert_string_equal(hit.limit, "max_total");
	assert_int_equal(plan_check_limits(&p, &c->safety, 100, 100, NULL,
					   &hit), 0);
	assert_string_equal(plan_limit_window(&hit, buf, sizeof(buf)), "");
	free_conf(c);
}

static void
test_limits_delete_percent(void **state)
{
	struct conf *c = limits_conf();
	struct plan p;

	(void)state;
	/* allowed = max(1, floor(managed * pct / 100)) */
	fake_plan(&p, 0, 0, 1, 0, 0, 0);
	expect_hit(&p, c, 12, 10, NULL, 0, 0);
	fake_plan(&p, 0, 0, 2, 0, 0, 0);
	expect_hit(&p, c, 12, 10, "max_delete_percent", 1, 2);
	fake_plan(&p, 0, 0, 1, 1, 0, 0);   /* deletes count too */
	expect_hit(&p, c, 12, 10, "max_delete_percent", 1, 2);
	/* 10 % of 30 = 3: three may leave, not four */
	fake_plan(&p, 0, 0, 3, 0, 0, 0);
	expect_hit(&p, c, 30, 27, NULL, 0, 0);
	fake_plan(&p, 0, 0, 4, 0, 0, 0);
	expect_hit(&p, c, 30, 26, "max_delete_percent", 3, 4);
	free_conf(c);
}

static void
test_limits_delete_percent_floor(void **state)
{
	struct conf *c = limits_conf();
	struct plan p;

	(void)state;
	/* 10 % of 5 is 0.5: at least one may always leave */
	fake_plan(&p, 0, 0, 1, 0, 0, 0);
	expect_hit(&p, c, 5, 4, NULL, 0, 0);
	fake_plan(&p, 0, 0, 2, 0, 0, 0);
	expect_hit(&p, c, 5, 3, "max_delete_percent", 1, 2);
	/* 10 % of 39 = 3.9: floor 3 */
	fake_plan(&p, 0, 0, 3, 0, 0, 0);
	expect_hit(&p, c, 39, 36, NULL, 0, 0);
	fake_plan(&p, 0, 0, 4, 0, 0, 0);
	expect_hit(&p, c, 39, 35, "max_delete_percent", 3, 4);
	/* 25 % of 12 = 3 */
	c->safety.max_delete_percent = 25;
	fake_plan(&p, 0, 0, 3, 0, 0, 0);
	expect_hit(&p, c, 12, 9, NULL, 0, 0);
	fake_plan(&p, 0, 0, 4, 0, 0, 0);
	expect_hit(&p, c, 12, 8, "max_delete_percent", 3, 4);
	/* alias removals are not objects */
	c->safety.max_delete_percent = 10;
	fake_plan(&p, 0, 0, 0, 0, 0, 50);
	expect_hit(&p, c, 12, 12, NULL, 0, 0);
	/* empty = no limit */
	c->safety.max_delete_percent = -1;
	fake_plan(&p, 0, 0, 12, 0, 0, 0);
	expect_hit(&p, c, 12, 1, NULL, 0, 0);
	free_conf(c);
}

static void
test_limits_allow_empty(void **state)
{
	struct conf *c = limits_conf();
	struct plan p;

	(void)state;
	fake_plan(&p, 0, 0, 2, 0, 0, 0);
	expect_hit(&p, c, 2, 0, "allow_empty", 0, 0);
	fake_plan(&p, 0, 0, 0, 0, 0, 0);
	expect_hit(&p, c, 0, 0, "allow_empty", 0, 0);
	c->safety.allow_empty = true;
	c->safety.max_delete_percent = -1;
	fake_plan(&p, 0, 0, 2, 0, 0, 0);
	expect_hit(&p, c, 2, 0, NULL, 0, 0);
	free_conf(c);
}

/* ---- field cases (issue 9) ----------------------------------------- */

/* An address that changes hands: the owner's mailbox follows its owner. */
static void
test_rename_while_address_reused(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "ann.smith@example.com", "G1", "Ann Smith", NULL);
	want(f, MK_MAILBOX, "ann@example.com", "G2", "Ann Berg", NULL);
	synced_mailbox(f, "ann@example.com", "G1", "Ann Lee");
	assert_string_equal(build(f),
			    "update mailbox ann.smith@example.com "
			    "[address,name] was ann@example.com\n"
			    "add mailbox ann@example.com\n");
	assert_int_equal(f->p.nclashes, 0);
}

/* ---- addresses that change hands in one run ------------------------- */

/* Empties the three sets and the frozen maps (the plan input stays). */
static void
fx_reset(struct fx *f)
{
	mset_free(&f->desired);
	mset_free(&f->current);
	managed_free(&f->managed);
	strmap_free(&f->frozen_addr);
	strmap_free(&f->frozen_anchor);
	mset_init(&f->desired);
	mset_init(&f->current);
	managed_init(&f->managed);
}

/* A person who stays: `now` is wanted, `was` is the mailbox synced. */
struct mover {
	const char *anchor, *was, *now;
};

/* The movers wanted in the order ord[0 .. n), their mailboxes synced. */
static const char *
build_movers(struct fx *f, const struct mover *v, const size_t *ord,
	     size_t n)
{
	size_t i;

	fx_reset(f);
	for (i = 0; i < n; i++)
		want(f, MK_MAILBOX, v[ord[i]].now, v[ord[i]].anchor,
		     v[ord[i]].anchor, NULL);
	for (i = n; i-- > 0;)
		synced_mailbox(f, v[ord[i]].was, v[ord[i]].anchor,
			       v[ord[i]].anchor);
	return build(f);
}

/*
 * The user trial's case: A's primary a@ becomes c@ and, in the same
 * run, B's becomes a@.  B's mailbox is renamed b -> a after A's a -> c
 * (which frees a@), exactly as over two runs: never a new, empty mailbox
 * at a@ for B with B's own disabled, whatever the input's order.
 */
static void
test_address_changes_hands_in_one_run(void **state)
{
	struct fx *f = *state;
	static const struct mover v[] = {
		{"A", "a@example.com", "c@example.com"},
		{"B", "b@example.com", "a@example.com"},
	};
	static const size_t ord[2][2] = {{0, 1}, {1, 0}};
	const struct change *ch;
	size_t i;

	for (i = 0; i < 2; i++) {
		assert_string_equal(build_movers(f, v, ord[i], 2),
				    "update mailbox c@example.com [address] "
				    "was a@example.com\n"
				    "update mailbox a@example.com [address] "
				    "was b@example.com\n");
		ch = find(f, "a@example.com");
		assert_string_equal(ch->anchor, "B");
		assert_int_equal(f->p.count[OP_ADD], 0);
		assert_int_equal(f->p.count[OP_DISABLE], 0);
		assert_int_equal(f->p.nclashes, 0);
	}
}

/* Three in a chain, in all six orders: each rename after the one that
 * frees its address. */
static void
test_address_chain_in_one_run(void **state)
{
	struct fx *f = *state;
	static const struct mover v[] = {
		{"A", "a@example.com", "c@example.com"},
		{"B", "b@example.com", "a@example.com"},
		{"C", "d@example.com", "b@example.com"},
	};
	static const size_t ord[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					 {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	size_t i;

	for (i = 0; i < 6; i++)
		assert_string_equal(build_movers(f, v, ord[i], 3),
				    "update mailbox c@example.com [address] "
				    "was a@example.com\n"
				    "update mailbox a@example.com [address] "
				    "was b@example.com\n"
				    "update mailbox b@example.com [address] "
				    "was d@example.com\n");
	/* two chains and a plain rename: ordered within each chain, by
	 * address otherwise (c, m and z need nobody to go first) */
	fx_reset(f);
	want(f, MK_MAILBOX, "a@example.com", "B", "B", NULL);
	want(f, MK_MAILBOX, "c@example.com", "A", "A", NULL);
	want(f, MK_MAILBOX, "m@example.com", "X", "X", NULL);
	want(f, MK_MAILBOX, "x@example.com", "Y", "Y", NULL);
	want(f, MK_MAILBOX, "z@example.com", "Z", "Z", NULL);
	synced_mailbox(f, "a@example.com", "A", "A");
	synced_mailbox(f, "b@example.com", "B", "B");
	synced_mailbox(f, "x@example.com", "X", "X");
	synced_mailbox(f, "y@example.com", "Y", "Y");
	synced_mailbox(f, "zz@example.com", "Z", "Z");
	assert_string_equal(build(f),
			    "update mailbox c@example.com [address] "
			    "was a@example.com\n"
			    "update mailbox m@example.com [address] "
			    "was x@example.com\n"
			    "update mailbox z@example.com [address] "
			    "was zz@example.com\n"
			    "update mailbox a@example.com [address] "
			    "was b@example.com\n"
			    "update mailbox x@example.com [address] "
			    "was y@example.com\n");
}

/*
 * A swap (A a -> b, B b -> a) or a longer cycle: no order frees an
 * address first.  Both are held as they are, each reported as a clash
 * naming the other; nobody is disabled, no alias moves, no new mailbox.
 */
static void
test_address_cycle_held(void **state)
{
	struct fx *f = *state;
	static const struct mover v[] = {
		{"A", "a@example.com", "b@example.com"},
		{"B", "b@example.com", "c@example.com"},
		{"C", "c@example.com", "a@example.com"},
	};
	static const size_t two[2][2] = {{0, 1}, {1, 0}};
	static const size_t three[2][3] = {{0, 1, 2}, {2, 1, 0}};
	struct mover swap[2] = {{"A", "a@example.com", "b@example.com"},
				{"B", "b@example.com", "a@example.com"}};
	size_t i;

	for (i = 0; i < 2; i++) {
		assert_string_equal(build_movers(f, swap, two[i], 2),
				    "clash a@example.com B\n"
				    "clash b@example.com A\n");
		assert_string_equal(f->p.clashes[0].other, "A");
		assert_string_equal(f->p.clashes[1].other, "B");
		assert_non_null(strstr(f->p.clashes[0].reason, "swap"));
	}
	for (i = 0; i < 2; i++)
		assert_string_equal(build_movers(f, v, three[i], 3),
				    "clash a@example.com C\n"
				    "clash b@example.com A\n"
				    "clash c@example.com B\n");
	/* their aliases stay too, and a chain into the cycle's addresses
	 * cannot exist (one claimant per address); a third person's
	 * rename goes on */
	build_movers(f, swap, two[0], 2);
	have(f, MK_ALIAS, "a2@example.com", NULL, "a@example.com", true);
	own(f, MK_ALIAS, "a2@example.com", "A", 0);
	want(f, MK_ALIAS, "a2@example.com", "A", NULL, "b@example.com");
	have(f, MK_ALIAS, "b2@example.com", NULL, "b@example.com", true);
	own(f, MK_ALIAS, "b2@example.com", "B", 0);   /* dropped by B */
	want(f, MK_MAILBOX, "e@example.com", "E", "E", NULL);
	synced_mailbox(f, "d@example.com", "E", "E");
	assert_string_equal(build(f),
			    "update mailbox e@example.com [address] "
			    "was d@example.com\n"
			    "clash a@example.com B\n"
			    "clash b@example.com A\n");
}

/*
 * A chain whose first rename cannot happen (A's new c@ is a row dirsync
 * does not manage): B waits for A, C for B.  Reported, nothing changed,
 * nothing disabled; and when A has left, B's wait is the old clash with
 * a leaver's mailbox (disabled as A's, never handed over).
 */
static void
test_address_chain_waits(void **state)
{
	struct fx *f = *state;
	static const struct mover v[] = {
		{"A", "a@example.com", "c@example.com"},
		{"B", "b@example.com", "a@example.com"},
		{"C", "d@example.com", "b@example.com"},
	};
	static const size_t ord[2][3] = {{0, 1, 2}, {2, 1, 0}};
	size_t i;

	for (i = 0; i < 2; i++) {
		build_movers(f, v, ord[i], 3);
		have(f, MK_MAILBOX, "c@example.com", "Other", NULL, true);
		assert_string_equal(build(f), "clash a@example.com B\n"
					      "clash b@example.com C\n"
					      "clash c@example.com A\n");
		assert_string_equal(f->p.clashes[0].other, "A");
		assert_non_null(strstr(f->p.clashes[0].reason, "waits"));
		assert_string_equal(f->p.clashes[1].other, "B");
		assert_null(f->p.clashes[2].other);
	}
	fx_reset(f);
	want(f, MK_MAILBOX, "a@example.com", "B", "B", NULL);
	want(f, MK_MAILBOX, "b@example.com", "C", "C", NULL);
	synced_mailbox(f, "a@example.com", "A", "A");   /* A left */
	synced_mailbox(f, "b@example.com", "B", "B");
	synced_mailbox(f, "d@example.com", "C", "C");
	assert_string_equal(build(f), "disable mailbox a@example.com\n"
				      "clash a@example.com B\n"
				      "clash b@example.com C\n");
	assert_non_null(strstr(f->p.clashes[0].reason, "deleted"));
	assert_non_null(strstr(f->p.clashes[1].reason, "waits"));
}

/*
 * The same with alias-table rows: A's alias becomes A's primary (the
 * alias row in the way goes first) while B takes A's old primary and
 * keeps the old one as an alias; a list takes the address a renamed
 * mailbox frees, and a mailbox the address a list leaves.
 */
static void
test_address_changes_hands_with_aliases(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "x@example.com", "A", "A", NULL);
	want(f, MK_MAILBOX, "a@example.com", "B", "B", NULL);
	want(f, MK_ALIAS, "b@example.com", "B", NULL, "a@example.com");
	synced_mailbox(f, "a@example.com", "A", "A");
	have(f, MK_ALIAS, "x@example.com", NULL, "a@example.com", true);
	own(f, MK_ALIAS, "x@example.com", "A", 0);
	synced_mailbox(f, "b@example.com", "B", "B");
	assert_string_equal(build(f),
			    "delete alias x@example.com\n"
			    "update mailbox x@example.com [address] "
			    "was a@example.com\n"
			    "update mailbox a@example.com [address] "
			    "was b@example.com\n"
			    "add alias b@example.com -> a@example.com\n");
	assert_int_equal(f->p.count[OP_DISABLE], 0);
	/* a list takes c@ that C's mailbox leaves for a@ that D leaves for
	 * the list's old address */
	fx_reset(f);
	want(f, MK_LIST, "c@example.com", "L", "Team", "e@example.com");
	want(f, MK_MAILBOX, "a@example.com", "C", "C", NULL);
	want(f, MK_MAILBOX, "l@example.com", "D", "D", NULL);
	synced_mailbox(f, "c@example.com", "C", "C");
	synced_mailbox(f, "a@example.com", "D", "D");
	have(f, MK_LIST, "l@example.com", NULL, "e@example.com", true);
	own(f, MK_LIST, "l@example.com", "L", 0);
	assert_string_equal(build(f),
			    "delete list l@example.com\n"
			    "update mailbox l@example.com [address] "
			    "was a@example.com\n"
			    "update mailbox a@example.com [address] "
			    "was c@example.com\n"
			    "add list c@example.com -> e@example.com\n");
	assert_int_equal(f->p.nclashes, 0);
}

/* A row stored in other letter case: found, renamed by its stored key. */
static void
test_address_changes_hands_mixed_case(void **state)
{
	struct fx *f = *state;

	want(f, MK_MAILBOX, "c@example.com", "A", "A", NULL);
	want(f, MK_MAILBOX, "a@example.com", "B", "B", NULL);
	synced_mailbox(f, "a@example.com", "A", "A");
	mset_set_stored(&f->current, "a@example.com", "A@Example.COM");
	synced_mailbox(f, "b@example.com", "B", "B");
	assert_string_equal(build(f),
			    "update mailbox c@example.com [address] "
			    "was a@example.com\n"
			    "update mailbox a@example.com [address] "
			    "was b@example.com\n");
	assert_string_equal(find(f, "c@example.com")->row, "A@Example.COM");
	assert_null(find(f, "a@example.com")->row);
}

/*
 * Frozen addresses (a conflict in the directory): the rules leave out
 * the objects whose primary is contested and freeze their anchors.  A
 * person renamed away from a contested address keeps the mailbox where
 * it is (held and reported, never a new empty one beside it); a rename
 * into a contested address (A's) holds the chain behind it.
 */
static void
test_address_changes_hands_frozen(void **state)
{
	struct fx *f = *state;

	/* B and D both claim a@, A moves on to c@ */
	strmap_put(&f->frozen_addr, "a@example.com", "a@example.com");
	strmap_put(&f->frozen_anchor, "B", "B");
	strmap_put(&f->frozen_anchor, "D", "D");
	want(f, MK_MAILBOX, "c@example.com", "A", "A", NULL);
	synced_mailbox(f, "a@example.com", "A", "A");
	synced_mailbox(f, "b@example.com", "B", "B");
	assert_string_equal(build(f), "clash c@example.com A\n");
	assert_non_null(strstr(f->p.clashes[0].reason, "conflict"));
	/* A's new c@ is contested: B, who takes a@, waits (no new mailbox
	 * for B, no disable of anyone) */
	fx_reset(f);
	strmap_put(&f->frozen_addr, "c@example.com", "c@example.com");
	strmap_put(&f->frozen_anchor, "A", "A");
	want(f, MK_MAILBOX, "a@example.com", "B", "B", NULL);
	synced_mailbox(f, "a@example.com", "A", "A");
	synced_mailbox(f, "b@example.com", "B", "B");
	assert_string_equal(build(f), "clash a@example.com B\n");
}

/*
 * DN anchors (no objectGUID or entryUUID): a mailbox wanted under another
 * DN is the same person moved, and follows the address; but when that
 * DN has a mailbox of its own, two people who both stay trade addresses,
 * as with stable anchors.
 */
static void
test_address_changes_hands_dn_anchors(void **state)
{
	struct fx *f = *state;
	static const struct mover chain[] = {
		{"dn:cn=a", "a@example.com", "c@example.com"},
		{"dn:cn=b", "b@example.com", "a@example.com"},
	};
	static const struct mover swap[] = {
		{"dn:cn=a", "a@example.com", "b@example.com"},
		{"dn:cn=b", "b@example.com", "a@example.com"},
	};
	static const size_t ord[2][2] = {{0, 1}, {1, 0}};
	size_t i;

	for (i = 0; i < 2; i++) {
		assert_string_equal(build_movers(f, chain, ord[i], 2),
				    "update mailbox c@example.com [address] "
				    "was a@example.com\n"
				    "update mailbox a@example.com [address] "
				    "was b@example.com\n");
		assert_string_equal(build_movers(f, swap, ord[i], 2),
				    "clash a@example.com dn:cn=b\n"
				    "clash b@example.com dn:cn=a\n");
	}
	/* Ann moved to another OU (a new DN) and kept her address, and a
	 * newcomer got her old DN: her mailbox stays hers, he gets a new one */
	fx_reset(f);
	want(f, MK_MAILBOX, "ann@example.com", "dn:cn=ann,ou=b", "Ann", NULL);
	want(f, MK_MAILBOX, "ann.new@example.com", "dn:cn=ann,ou=a", "Ann N",
	     NULL);
	synced_mailbox(f, "ann@example.com", "dn:cn=ann,ou=a", "Ann");
	assert_string_equal(build(f),
			    "update mailbox ann@example.com [owner]\n"
			    "add mailbox ann.new@example.com\n");
}

/*
 * A list member whose mailbox is held where it is stays at the address
 * the mailbox has: the address it waits for may still be another
 * person's mailbox (or a row dirsync does not manage), which would get
 * the list's mail meant for it.
 */
static void
test_held_mailbox_keeps_list_place(void **state)
{
	struct fx *f = *state;
	static const struct mover v[] = {
		{"A", "a@example.com", "c@example.com"},
		{"B", "b@example.com", "a@example.com"},
	};
	static const size_t ord[2] = {1, 0};

	/* A waits for c@ (a foreign row), B for A: the list stays, a new
	 * list gets them where they are */
	build_movers(f, v, ord, 2);
	have(f, MK_MAILBOX, "c@example.com", "Other", NULL, true);
	want(f, MK_LIST, "team@example.com", "L", "Team",
	     "a@example.com,c@example.com,d@example.com");
	have(f, MK_LIST, "team@example.com", NULL,
	     "a@example.com,b@example.com", true);
	own(f, MK_LIST, "team@example.com", "L", 0);
	want(f, MK_LIST, "new@example.com", "N", "New",
	     "a@example.com,c@example.com");
	assert_string_equal(build(f),
			    "update list team@example.com [goto]\n"
			    "add list new@example.com -> "
			    "a@example.com,b@example.com\n"
			    "clash a@example.com B\n"
			    "clash c@example.com A\n");
	assert_string_equal(find(f, "team@example.com")->gotos,
			    "a@example.com,b@example.com,d@example.com");
	/* a swap: the members are the same addresses */
	fx_reset(f);
	want(f, MK_MAILBOX, "b@example.com", "A", "A", NULL);
	want(f, MK_MAILBOX, "a@example.com", "B", "B", NULL);
	synced_mailbox(f, "a@example.com", "A", "A");
	synced_mailbox(f, "b@example.com", "B", "B");
	want(f, MK_LIST, "team@example.com", "L", "Team",
	     "a@example.com,e@example.com");
	have(f, MK_LIST, "team@example.com", NULL,
	     "b@example.com,e@example.com", true);
	own(f, MK_LIST, "team@example.com", "L", 0);
	assert_string_equal(build(f), "clash a@example.com B\n"
				      "clash b@example.com A\n");
}

/* The partial compare plans a chain as the full one does. */
static void
test_address_chain_partial(void **state)
{
	struct fx *f = *state;
	static const struct mover v[] = {
		{"A", "a@example.com", "c@example.com"},
		{"B", "b@example.com", "a@example.com"},
		{"C", "d@example.com", "b@example.com"},
	};
	static const size_t ord[3] = {2, 0, 1};
	static const char *const part[] = {"a@example.com", "b@example.com",
					   "c@example.com", "d@example.com"};
	struct strmap only = STRMAP_INIT;
	char full[1024];
	size_t i;

	snprintf(full, sizeof(full), "%s", build_movers(f, v, ord, 3));
	assert_string_equal(full, "update mailbox c@example.com [address] "
				  "was a@example.com\n"
				  "update mailbox a@example.com [address] "
				  "was b@example.com\n"
				  "update mailbox b@example.com [address] "
				  "was d@example.com\n");
	/* Z is not part of it: left alone */
	want(f, MK_MAILBOX, "z@example.com", "Z", "Z", NULL);
	for (i = 0; i < 4; i++)
		strmap_put(&only, part[i], (void *)part[i]);
	f->in.only = &only;
	assert_string_equal(build(f), full);
	f->in.only = NULL;
	strmap_free(&only);
}

/*
 * Random small worlds of people who keep, change, take or give up
 * mailbox addresses over a pool of six (one claimant per address, as the
 * rules give), with leavers, newcomers, rows dirsync does not manage,
 * alias rows their owners gave up and an address two people claim (the
 * rules leave both out and freeze them), and a list of everyone, in two
 * orders of the desired set.  Whatever the world, the plan applied in
 * its order never needs an address that is not free, never gives a
 * person who has a mailbox a new one, never disables a person who stays,
 * never hands a mailbox to another anchor, leaves every person who stays
 * at the wanted address or reported in a clash, and the list delivers to
 * the mailbox each member with a mailbox has at the end, and to nobody
 * else's, not even at a newcomer's address that is a clash's row (it is
 * disabled when that leaves it nobody).
 */
#define POOL 6
#define PEOPLE 5

static unsigned long
lcg(unsigned long *s)
{
	*s = *s * 6364136223846793005UL + 1442695040888963407UL;
	return *s >> 33;
}

/* Picks an address of the pool not yet in used[]; -1 when none is left. */
static int
pick(unsigned long *s, bool *used)
{
	int i, k = (int)(lcg(s) % POOL);

	for (i = 0; i < POOL; i++, k = (k + 1) % POOL)
		if (!used[k]) {
			used[k] = true;
			return k;
		}
	return -1;
}

struct world {
	int old[PEOPLE], now[PEOPLE];   /* pool index, -1: none */
	bool foreign[POOL];             /* a row dirsync does not manage */
	int alias[POOL];                /* an alias row given up: its owner */
	bool frozen[PEOPLE];            /* claims a contested address */
	int contested;                  /* pool index, -1: none */
	char goto_now[128], goto_old[128];   /* the list's */
};

#define FOREIGN PEOPLE        /* world_check's owner of a foreign row */
#define ALIAS (PEOPLE + 1)    /* ... and of an alias row */

static void
world_make(unsigned long *s, struct world *w)
{
	bool had[POOL] = {false}, wants[POOL] = {false};
	int i, j;

	memset(w->foreign, 0, sizeof(w->foreign));
	for (i = 0; i < PEOPLE; i++) {
		w->old[i] = lcg(s) % 10 < 7 ? pick(s, had) : -1;
		w->now[i] = lcg(s) % 10 < 8 ? pick(s, wants) : -1;
	}
	memset(w->frozen, 0, sizeof(w->frozen));
	w->contested = -1;
	i = (int)(lcg(s) % PEOPLE);
	if (lcg(s) % 5 == 0 && w->now[i] >= 0) {
		j = (i + 1 + (int)(lcg(s) % (PEOPLE - 1))) % PEOPLE;
		w->contested = w->now[i];
		w->now[j] = w->now[i];
		w->frozen[i] = w->frozen[j] = true;
	}
	w->goto_now[0] = w->goto_old[0] = '\0';
	for (i = 0; i < POOL; i++) {
		for (j = 0; j < PEOPLE; j++) {
			if (w->now[j] == i && !w->frozen[j])
				snprintf(w->goto_now + strlen(w->goto_now),
					 sizeof(w->goto_now) -
						 strlen(w->goto_now),
					 "%sa%d@example.com",
					 w->goto_now[0] ? "," : "", i);
			if (w->old[j] == i)
				snprintf(w->goto_old + strlen(w->goto_old),
					 sizeof(w->goto_old) -
						 strlen(w->goto_old),
					 "%sa%d@example.com",
					 w->goto_old[0] ? "," : "", i);
		}
	}
	for (i = 0; i < POOL; i++) {
		w->alias[i] = -1;
		if (!had[i] && lcg(s) % 10 == 0)
			w->foreign[i] = had[i] = true;
		else if (!had[i] && lcg(s) % 5 == 0)
			w->alias[i] = (int)(lcg(s) % PEOPLE);
	}
}

static void
world_load(struct fx *f, const struct world *w, bool backwards)
{
	static const char *const addr[POOL] = {
		"a0@example.com", "a1@example.com", "a2@example.com",
		"a3@example.com", "a4@example.com", "a5@example.com",
	};
	static const char *const anchor[PEOPLE] = {"P0", "P1", "P2", "P3",
						   "P4"};
	int i, j;

	fx_reset(f);
	if (w->contested >= 0)
		strmap_put(&f->frozen_addr, addr[w->contested],
			   (void *)addr[w->contested]);
	for (j = 0; j < PEOPLE; j++) {
		i = backwards ? PEOPLE - 1 - j : j;
		if (w->frozen[i])
			strmap_put(&f->frozen_anchor, anchor[i],
				   (void *)anchor[i]);
		else if (w->now[i] >= 0)
			want(f, MK_MAILBOX, addr[w->now[i]], anchor[i],
			     anchor[i], NULL);
	}
	for (i = 0; i < PEOPLE; i++)
		if (w->old[i] >= 0)
			synced_mailbox(f, addr[w->old[i]], anchor[i],
				       anchor[i]);
	/* the list: everyone it can have, as synced and as wanted */
	if (w->goto_now[0] != '\0' && w->goto_old[0] != '\0') {
		want(f, MK_LIST, "team@example.com", "L", "Team", w->goto_now);
		have(f, MK_LIST, "team@example.com", NULL, w->goto_old, true);
		own(f, MK_LIST, "team@example.com", "L", 0);
	}
	for (i = 0; i < POOL; i++) {
		if (w->foreign[i])
			have(f, MK_MAILBOX, addr[i], "Foreign", NULL, true);
		if (w->alias[i] < 0)
			continue;
		have(f, MK_ALIAS, addr[i], NULL, "x@example.org", true);
		own(f, MK_ALIAS, addr[i], anchor[w->alias[i]], 0);
	}
}

static int
slot(const char *address)
{
	return address[1] - '0';
}

/*
 * The list's goto at the end (list) against the rows at the end (owner):
 * every member with a mailbox is there at the address it has, and no
 * member address is another person's mailbox, but a newcomer's.
 */
static void
world_list(struct fx *f, const struct world *w, const int *owner,
	   const char *list, unsigned long seed)
{
	char want[32];
	int i, j;

	for (i = 0; i < POOL; i++) {
		snprintf(want, sizeof(want), "a%d@example.com", i);
		if (strstr(list, want) == NULL || i == w->contested)
			continue;   /* (a contested address is left as it is) */
		if (owner[i] >= 0 && owner[i] < PEOPLE &&
		    (w->now[owner[i]] >= 0 || w->frozen[owner[i]]))
			continue;   /* a member's (a frozen one keeps it) */
		/* not even a newcomer's address that is still somebody
		 * else's row: a leaver's mailbox, a row dirsync does not
		 * manage (FOREIGN) */
		if (owner[i] >= 0 && owner[i] != ALIAS)
			fail_msg("seed %lu: the list delivers %s to P%d, not a "
				 "member\n%s", seed, want, owner[i], f->text);
	}
	for (i = 0; i < PEOPLE; i++) {
		if (w->now[i] < 0 || w->frozen[i] || w->old[i] < 0)
			continue;
		for (j = 0; j < POOL && owner[j] != i; j++)
			;
		snprintf(want, sizeof(want), "a%d@example.com", j);
		if (j == POOL || strstr(list, want) == NULL)
			fail_msg("seed %lu: the list misses P%d at %s\n%s",
				 seed, i, want, f->text);
	}
}

/* The plan applied to the rows in its order, checked as it goes. */
static void
world_check(struct fx *f, const struct world *w, unsigned long seed)
{
	int owner[POOL];   /* person index, PEOPLE: foreign, -1: free */
	bool clashed[PEOPLE] = {false};
	const char *list = w->goto_old;
	size_t c;
	int i;

	for (i = 0; i < POOL; i++)
		owner[i] = w->foreign[i] ? FOREIGN : w->alias[i] >= 0 ? ALIAS : -1;
	for (i = 0; i < PEOPLE; i++)
		if (w->old[i] >= 0)
			owner[w->old[i]] = i;
	for (c = 0; c < f->p.n; c++) {
		const struct change *ch = &f->p.v[c];
		int to, who;

		if (ch->kind == MK_LIST) {
			/* disabled: none of its members' addresses
			 * reaches them (it then delivers to nobody) */
			if (ch->op != OP_UPDATE && ch->op != OP_DISABLE)
				fail_msg("seed %lu: the list %s\n%s", seed,
					 op_name(ch->op), f->text);
			list = ch->op == OP_DISABLE ? "" : ch->gotos;
			continue;
		}
		to = slot(ch->address);
		who = ch->anchor[1] - '0';
		if (ch->kind == MK_ALIAS) {
			if (owner[to] != ALIAS)
				fail_msg("seed %lu: %s is no alias row\n%s",
					 seed, ch->address, f->text);
			if (ch->op == OP_DELETE)
				owner[to] = -1;
		} else if (ch->op == OP_ADD) {
			if (owner[to] != -1 || w->old[who] >= 0)
				fail_msg("seed %lu: add %s taken or for a "
					 "person with a mailbox\n%s",
					 seed, ch->address, f->text);
			owner[to] = who;
		} else if (ch->op == OP_UPDATE && ch->old_address != NULL) {
			int from = slot(ch->old_address);

			if (owner[to] != -1 || owner[from] != who)
				fail_msg("seed %lu: rename into %s not free "
					 "or not its own\n%s",
					 seed, ch->address, f->text);
			owner[from] = -1;
			owner[to] = who;
		} else if (ch->op == OP_DISABLE &&
			   (w->now[who] >= 0 || w->frozen[who])) {
			fail_msg("seed %lu: %s disabled, its owner stays\n%s",
				 seed, ch->address, f->text);
		}
	}
	for (c = 0; c < f->p.nclashes; c++)
		clashed[f->p.clashes[c].anchor[1] - '0'] = true;
	for (i = 0; i < PEOPLE; i++)
		if (w->now[i] >= 0 && !w->frozen[i] &&
		    owner[w->now[i]] != i && !clashed[i])
			fail_msg("seed %lu: P%d neither at a%d nor reported\n%s",
				 seed, i, w->now[i], f->text);
	if (w->goto_now[0] != '\0' && w->goto_old[0] != '\0')
		world_list(f, w, owner, list, seed);
}

static void
test_address_worlds(void **state)
{
	struct fx *f = *state;
	unsigned long seed, s;
	struct world w;
	char first[8192];

	for (seed = 1; seed <= 3000; seed++) {
		s = seed;
		world_make(&s, &w);
		world_load(f, &w, false);
		snprintf(first, sizeof(first), "%s", build(f));
		world_check(f, &w, seed);
		world_load(f, &w, true);
		if (strcmp(build(f), first) != 0)
			fail_msg("seed %lu: the order of the desired set "
				 "matters:\n%s---\n%s", seed, first, f->text);
	}
}

/* A frozen member keeps its place in a list's current goto. */
static void
test_frozen_member_keeps_list_place(void **state)
{
	struct fx *f = *state;

	strmap_put(&f->frozen_addr, "ann@example.com", "ann@example.com");
	/* the rules leave the contested address out of the lists */
	want(f, MK_LIST, "it@example.com", "L", "IT", "bo@example.com");
	have(f, MK_LIST, "it@example.com", NULL,
	     "ann@example.com,bo@example.com", true);
	own(f, MK_LIST, "it@example.com", "L", 0);
	want(f, MK_LIST, "ops@example.com", "O", "Ops",
	     "bo@example.com,cy@example.com");
	have(f, MK_LIST, "ops@example.com", NULL, "ann@example.com,dee@example.com",
	     true);
	own(f, MK_LIST, "ops@example.com", "O", 0);
	assert_string_equal(build(f), "update list ops@example.com [goto]\n");
	assert_string_equal(find(f, "ops@example.com")->gotos,
			    "ann@example.com,bo@example.com,cy@example.com");
}

/* Rows another tool wrote in mixed case are the same addresses. */
static void
test_mixed_case_row_adopted(void **state)
{
	struct fx *f = *state;
	struct mobj o;
	const struct change *ch;

	f->in.adopt = true;
	want(f, MK_MAILBOX, "pia@example.com", "P", "Pia", NULL);
	memset(&o, 0, sizeof(o));
	o.kind = MK_MAILBOX;
	o.address = "pia@example.com";
	o.name = "Pia";
	o.active = true;
	assert_non_null(mset_add(&f->current, &o));
	mset_set_stored(&f->current, "pia@example.com", "Pia@Example.com");
	assert_string_equal(build(f),
			    "update mailbox pia@example.com [address,adopt] "
			    "was Pia@Example.com\n");
	ch = find(f, "pia@example.com");
	assert_string_equal(ch->row, "Pia@Example.com");
}

/* ---- why (issue 14) ----------------------------------------------- */

/*
 * A disable says why: the rules' verdict on its anchor (with DN and
 * account), LR_ADDRESS_GONE when the object stays without the address,
 * LR_NOT_READ when the anchor was not read at all; a delete after
 * delete_after keeps the reason it left for.
 */
static void
test_disable_reasons(void **state)
{
	struct fx *f = *state;
	struct strmap left = STRMAP_INIT;
	struct left_out bob = {LR_DISABLED, "CN=Bob,DC=x", "bob", NULL,
			       "userAccountControl bit 2", false};
	struct left_out eve = {LR_EXCLUDED, "CN=Eve,DC=x", "eve", NULL,
			       "exclude pattern e*", false};
	const struct change *ch;

	strmap_put(&left, "B", &bob);
	strmap_put(&left, "E", &eve);
	f->in.left_out = &left;
	f->in.deprovision = DEPROV_DELETE;
	want(f, MK_MAILBOX, "ann@example.com", "A", "Ann", NULL);
	f->desired.v[0]->dn = "CN=Ann,DC=x";
	f->desired.v[0]->account = "ann";
	synced_mailbox(f, "ann@example.com", "A", "Ann");
	have(f, MK_ALIAS, "old@example.com", NULL, "ann@example.com", true);
	own(f, MK_ALIAS, "old@example.com", "A", 0);
	synced_mailbox(f, "bob@example.com", "B", "Bob");
	synced_mailbox(f, "gone@example.com", "G", "Gone");
	have(f, MK_MAILBOX, "eve@example.com", "Eve", NULL, false);
	own(f, MK_MAILBOX, "eve@example.com", "E", NOW - 31 * DAY);
	/* a second mailbox of Ann's anchor (say, a leftover): not hers now */
	synced_mailbox(f, "ann2@example.com", "A", "Ann");
	build(f);
	ch = find(f, "bob@example.com");
	assert_int_equal(ch->op, OP_DISABLE);
	assert_int_equal(ch->why, WHY_GONE);
	assert_int_equal(ch->left, LR_DISABLED);
	assert_string_equal(ch->dn, "CN=Bob,DC=x");
	assert_string_equal(ch->account, "bob");
	ch = find(f, "gone@example.com");
	assert_int_equal(ch->left, LR_NOT_READ);
	assert_null(ch->dn);
	ch = find(f, "eve@example.com");
	assert_int_equal(ch->op, OP_DELETE);
	assert_int_equal(ch->why, WHY_EXPIRED);
	assert_int_equal(ch->left, LR_EXCLUDED);
	assert_string_equal(ch->account, "eve");
	ch = find(f, "old@example.com");
	assert_int_equal(ch->why, WHY_ALIAS_DROPPED);
	assert_string_equal(ch->account, "ann");
	ch = find(f, "ann2@example.com");
	assert_int_equal(ch->op, OP_DISABLE);
	assert_int_equal(ch->left, LR_ADDRESS_GONE);
	assert_string_equal(ch->dn, "CN=Ann,DC=x");
	strmap_free(&left);
}

/* A clash names the other claimant as the rules saw it. */
static void
test_clash_names(void **state)
{
	struct fx *f = *state;
	struct strmap left = STRMAP_INIT;
	struct left_out old = {LR_DISABLED, "CN=Old,DC=x", "old", NULL, NULL,
			       false};

	strmap_put(&left, "OLD", &old);
	f->in.left_out = &left;
	want(f, MK_MAILBOX, "j@example.com", "NEW", "J", NULL);
	f->desired.v[0]->dn = "CN=New,DC=x";
	f->desired.v[0]->account = "new";
	synced_mailbox(f, "j@example.com", "OLD", "J");
	build(f);
	assert_int_equal(f->p.nclashes, 1);
	assert_string_equal(f->p.clashes[0].account, "new");
	assert_string_equal(f->p.clashes[0].other, "OLD");
	assert_string_equal(f->p.clashes[0].other_dn, "CN=Old,DC=x");
	assert_string_equal(f->p.clashes[0].other_account, "old");
	strmap_free(&left);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_hash_collisions_compare_strings),
		T(test_shared_and_copied_strings_plan_alike),
		T(test_deprovision_after_first_pass),
		T(test_adds_into_empty_target),
		T(test_in_step_is_no_change),
		T(test_domains_shared),
		T(test_updates),
		T(test_reenable),
		T(test_only_plans_the_part),
		T(test_rename_by_anchor),
		T(test_rename_while_address_reused),
		T(test_address_changes_hands_in_one_run),
		T(test_address_chain_in_one_run),
		T(test_address_cycle_held),
		T(test_address_chain_waits),
		T(test_address_changes_hands_with_aliases),
		T(test_address_changes_hands_mixed_case),
		T(test_address_changes_hands_frozen),
		T(test_address_chain_partial),
		T(test_address_changes_hands_dn_anchors),
		T(test_address_worlds),
		T(test_held_mailbox_keeps_list_place),
		T(test_frozen_member_keeps_list_place),
		T(test_mixed_case_row_adopted),
		T(test_rename_of_disabled_mailbox_reenables),
		T(test_rename_keeps_old_as_alias),
		T(test_rename_swap_with_alias),
		T(test_no_rename_across_anchors),
		T(test_mailbox_never_changes_owner),
		T(test_blocked_primary_leaves_owner_alone),
		T(test_disable_leavers),
		T(test_delete_after_delay),
		T(test_delete_not_before_delay),
		T(test_delete_after_zero),
		T(test_disable_never_deletes),
		T(test_active_leaver_disabled_first_even_with_delete),
		T(test_inactive_without_disable_time_not_deleted),
		T(test_frozen),
		T(test_adopt_off),
		T(test_own_anchor_taken_back),
		T(test_adopt_on),
		T(test_adopt_never_changes_table),
		T(test_order),
		T(test_drop_removals),
		T(test_disable_reasons),
		T(test_clash_names),
		cmocka_unit_test(test_limits_defaults),
		cmocka_unit_test(test_limits_each),
		cmocka_unit_test(test_limits_window),
		cmocka_unit_test(test_limits_delete_percent),
		cmocka_unit_test(test_limits_delete_percent_floor),
		cmocka_unit_test(test_limits_allow_empty),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

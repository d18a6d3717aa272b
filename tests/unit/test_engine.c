/*
 * test_engine.c - whole runs of the engine on the in-memory source and
 * targets (no SQLite mail database, no directory): what lands, what the
 * state remembers, limits, partial reads, partial and total target
 * failures, conflicts, and the next run after each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"

/* ---- a tiny directory -------------------------------------------------- */

#define MAXE 16

struct person {
	const char *dn, *guid, *mail, *name;
	bool disabled;
};

struct fx {
	struct conf c;
	char dir[64], state[96];
	struct entry e[MAXE];
	struct attr a[MAXE][6];
	struct val v[MAXE][6];
	const struct entry *ev[MAXE];
	size_t n;
	struct run_result r;
	int runs;
};

static void
set_attr(struct fx *f, size_t i, size_t k, const char *name, const char *v)
{
	f->v[i][k].p = v;
	f->v[i][k].len = strlen(v);
	f->a[i][k].name = name;
	f->a[i][k].nvals = 1;
	f->a[i][k].vals = &f->v[i][k];
}

/* An AD user: objectClass, objectGUID, mail, displayName, UAC. */
static void
add_user(struct fx *f, const struct person *p)
{
	size_t i = f->n++;

	assert_true(i < MAXE);
	set_attr(f, i, 0, "objectClass", "user");
	set_attr(f, i, 1, "objectGUID", p->guid);
	set_attr(f, i, 2, "mail", p->mail);
	set_attr(f, i, 3, "displayName", p->name);
	set_attr(f, i, 4, "userAccountControl", p->disabled ? "514" : "512");
	f->e[i].dn = p->dn;
	f->e[i].nattrs = 5;
	f->e[i].attrs = f->a[i];
	f->e[i].origin = "test";
	f->ev[i] = &f->e[i];
}

static const struct person ann = {"CN=Ann,DC=x", "g-ann", "ann@example.com",
				  "Ann", false};
static const struct person bob = {"CN=Bob,DC=x", "g-bob", "bob@example.com",
				  "Bob", false};
static const struct person cy = {"CN=Cy,DC=x", "g-cy", "cy@example.com",
				 "Cy", false};
static const struct person dan = {"CN=Dan,DC=x", "g-dan", "dan@example.com",
				  "Dan", false};
static const struct person eve = {"CN=Eve,DC=x", "g-eve", "eve@example.com",
				  "Eve", false};
static const struct person cy2 = {"CN=Cy2,DC=x", "g-cy2", "cy@example.com",
				  "Cy Two", false};

/* A distribution list of members[0..n) (DNs), n <= 4. */
static void
add_list(struct fx *f, const char *dn, const char *guid, const char *mail,
	 const char *const *members, size_t n)
{
	static struct val mv[MAXE][4];
	size_t i = f->n++, k;

	assert_true(i < MAXE && n <= 4);
	set_attr(f, i, 0, "objectClass", "group");
	set_attr(f, i, 1, "objectGUID", guid);
	set_attr(f, i, 2, "mail", mail);
	for (k = 0; k < n; k++) {
		mv[i][k].p = members[k];
		mv[i][k].len = strlen(members[k]);
	}
	f->a[i][3].name = "member";
	f->a[i][3].nvals = n;
	f->a[i][3].vals = mv[i];
	f->e[i].dn = dn;
	f->e[i].nattrs = 4;
	f->e[i].attrs = f->a[i];
	f->e[i].origin = "test";
	f->ev[i] = &f->e[i];
}

static const struct target_ops *the_target = &target_memory_ops;

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	static int seq;

	if (f == NULL)
		return -1;
	conf_defaults(&f->c);
	f->c.mapping.accepted_domains.v = calloc(1, sizeof(char *));
	f->c.mapping.accepted_domains.v[0] = strdup("example.com");
	f->c.mapping.accepted_domains.n = 1;
	f->c.safety.allow_empty = true;
	snprintf(f->dir, sizeof(f->dir), "/tmp/dstest-engine-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->state, sizeof(f->state), "%s/state.db", f->dir);
	free(f->c.state.path);
	f->c.state.path = strdup(f->state);
	free(f->c.target.url);
	f->c.target.url = malloc(64);
	snprintf(f->c.target.url, 64, "memory:t%d", ++seq);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	the_target = &target_memory_ops;
	unsetenv("DS_MEMORY_TARGET_FAIL");
	unsetenv("DS_MEMORY_TARGET_DIE_AFTER");
	run_result_free(&f->r);
	conf_free(&f->c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}


/* One run: sync unless `mode` says "plan"; fail_after < 0: whole read. */
static int
run(struct fx *f, const char *mode, bool force, long fail_after)
{
	struct engine_opts o;

	run_result_free(&f->r);
	memset(&o, 0, sizeof(o));
	o.mode = mode;
	o.readonly = strcmp(mode, "sync") != 0;
	o.force_limits = force;
	o.quiet = true;
	o.report_max_changes = 100;
	o.source_ops = &source_memory_ops;
	o.target_ops = the_target;
	source_memory_set(f->ev, f->n, fail_after);
	f->runs++;
	return engine_run(&f->c, &o, &f->r);
}

/* What the target holds now, as "address:active" lines. */
static const struct mobj *
held(struct fx *f, const char *address)
{
	static struct mset cur;
	struct target *t = NULL;
	struct err err;

	mset_free(&cur);
	mset_init(&cur);
	err_clear(&err);
	assert_int_equal(the_target->open(&t, &f->c, true, &err), 0);
	assert_int_equal(the_target->load(t, &cur, &err), 0);
	the_target->close(t);
	return mset_get(&cur, address);
}

static size_t
count_op(const struct run_result *r, enum op op)
{
	size_t i, n = 0;

	for (i = 0; i < r->plan.n; i++)
		n += r->plan.v[i].op == op && r->plan.v[i].kind != MK_DOMAIN;
	return n;
}

/* ---- tests ------------------------------------------------------------- */

static void
test_first_sync_then_idle(void **state)
{
	struct fx *f = *state;

	add_user(f, &ann);
	add_user(f, &bob);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_true(f->r.applied);
	assert_int_equal(f->r.counts.add, 3);   /* two mailboxes, a domain */
	assert_non_null(held(f, "ann@example.com"));
	assert_non_null(held(f, "example.com"));
	assert_true(f->r.run_id > 0);
	/* the second run finds nothing to do */
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(f->r.plan.n, 0);
	assert_false(f->r.applied);
}

static void
test_plan_changes_nothing(void **state)
{
	struct fx *f = *state;

	add_user(f, &ann);
	assert_int_equal(run(f, "plan", false, -1), 0);
	assert_int_equal(f->r.counts.add, 2);
	assert_int_equal(f->r.run_id, 0);
	assert_null(held(f, "ann@example.com"));
	assert_int_equal(access(f->state, F_OK), -1);
}

static void
test_leaver_disabled(void **state)
{
	struct fx *f = *state;

	add_user(f, &ann);
	add_user(f, &bob);
	assert_int_equal(run(f, "sync", false, -1), 0);
	f->n = 1;                               /* bob left */
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(count_op(&f->r, OP_DISABLE), 1);
	assert_false(held(f, "bob@example.com")->active);
	assert_true(held(f, "ann@example.com")->active);
}

static void
test_partial_read_applies_nothing(void **state)
{
	struct fx *f = *state;

	add_user(f, &ann);
	add_user(f, &bob);
	assert_int_equal(run(f, "sync", false, -1), 0);
	add_user(f, &cy);
	/* the read breaks after one entry: bob must not be disabled, cy
	 * not added */
	assert_int_equal(run(f, "sync", false, 1), 1);
	assert_int_equal(f->r.err.code, DS_E_SOURCE);
	assert_false(f->r.have_plan);
	assert_false(f->r.applied);
	assert_true(held(f, "bob@example.com")->active);
	assert_null(held(f, "cy@example.com"));
	assert_int_equal(f->r.counts.error, 1);
}

static void
test_limit_stops_and_force(void **state)
{
	struct fx *f = *state;

	add_user(f, &ann);
	add_user(f, &bob);
	f->c.safety.max_adds = 1;
	assert_int_equal(run(f, "sync", false, -1), 3);
	assert_string_equal(f->r.limit.limit, "max_adds");
	assert_int_equal(f->r.limit.planned, 3);   /* the domain row too */
	assert_false(f->r.applied);
	assert_null(held(f, "ann@example.com"));
	assert_int_equal(f->r.counts.error, 0);   /* a stop, not an error */
	assert_int_equal(run(f, "sync", true, -1), 0);
	assert_true(f->r.applied);
	assert_null(f->r.limit.limit);
	assert_non_null(held(f, "ann@example.com"));
}

static void
test_empty_scope_not_forceable(void **state)
{
	struct fx *f = *state;

	add_user(f, &ann);
	assert_int_equal(run(f, "sync", false, -1), 0);
	f->c.safety.allow_empty = false;
	f->n = 0;
	assert_int_equal(run(f, "sync", true, -1), 3);
	assert_string_equal(f->r.limit.limit, "allow_empty");
	assert_false(f->r.limit.forceable);
	assert_true(held(f, "ann@example.com")->active);
}

static void
test_transaction_failure_rolls_back(void **state)
{
	struct fx *f = *state;
	add_user(f, &ann);
	add_user(f, &bob);
	setenv("DS_MEMORY_TARGET_FAIL", "bob@example.com", 1);
	assert_int_equal(run(f, "sync", false, -1), 1);
	unsetenv("DS_MEMORY_TARGET_FAIL");
	assert_false(f->r.applied);
	assert_string_equal(f->r.err.object, "bob@example.com");
	/* all or nothing: ann is not there either */
	assert_null(held(f, "ann@example.com"));
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_non_null(held(f, "bob@example.com"));
}

static void
test_per_object_failure_goes_on_and_heals(void **state)
{
	struct fx *f = *state;
	the_target = &target_memory_po_ops;
	add_user(f, &ann);
	add_user(f, &bob);
	add_user(f, &cy);
	setenv("DS_MEMORY_TARGET_FAIL", "bob@example.com", 1);
	assert_int_equal(run(f, "sync", false, -1), 1);
	unsetenv("DS_MEMORY_TARGET_FAIL");
	assert_true(f->r.per_object);
	assert_true(f->r.applied);
	assert_int_equal(f->r.counts.applied, 3);   /* domain, ann, cy */
	assert_int_equal(f->r.counts.failed, 1);
	assert_int_equal(f->r.counts.skipped, 0);
	assert_int_equal(f->r.nobj_errors, 1);
	assert_string_equal(f->r.obj_errors[0].object, "bob@example.com");
	assert_non_null(held(f, "ann@example.com"));
	assert_non_null(held(f, "cy@example.com"));
	assert_null(held(f, "bob@example.com"));
	assert_int_equal(f->r.counts.error, 1);
	/* the next run adds only bob: nothing repeated, nothing lost */
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(f->r.plan.n, 1);
	assert_string_equal(f->r.plan.v[0].address, "bob@example.com");
	/* and what it added is managed: bob leaving disables him */
	f->ev[1] = f->ev[2];
	f->n = 2;
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(count_op(&f->r, OP_DISABLE), 1);
	assert_false(held(f, "bob@example.com")->active);
}

/*
 * A batching target (memory-pb: apply_batch, changes reported last to
 * first, and it refuses a batch whose changes depend on each other): a
 * failure in the middle of a batch is that object's, every success is
 * recorded, the next run does only what failed.
 */
static void
test_batch_failure_in_the_middle(void **state)
{
	struct fx *f = *state;
	static const char *const members[] = {"CN=Ann,DC=x", "CN=Bob,DC=x",
					      "CN=Cy,DC=x"};

	the_target = &target_memory_pb_ops;
	add_user(f, &ann);
	add_user(f, &bob);
	add_user(f, &cy);
	add_user(f, &dan);
	add_user(f, &eve);
	add_list(f, "CN=Team,DC=x", "g-team", "team@example.com", members, 3);
	setenv("DS_MEMORY_TARGET_FAIL", "cy@example.com", 1);
	assert_int_equal(run(f, "sync", false, -1), 1);
	unsetenv("DS_MEMORY_TARGET_FAIL");
	assert_true(f->r.per_object);
	assert_int_equal(f->r.err.code, DS_OK);   /* no batch refused */
	/* domain, 4 mailboxes, the list (after its members) */
	assert_int_equal(f->r.counts.applied, 6);
	assert_int_equal(f->r.counts.failed, 1);
	assert_int_equal(f->r.counts.skipped, 0);
	assert_string_equal(f->r.obj_errors[0].object, "cy@example.com");
	assert_null(held(f, "cy@example.com"));
	assert_non_null(held(f, "eve@example.com"));
	assert_non_null(held(f, "team@example.com"));
	/* the next run adds cy alone: every success was recorded */
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(f->r.plan.n, 1);
	assert_int_equal(count_op(&f->r, OP_ADD), 1);
	assert_string_equal(f->r.plan.v[0].address, "cy@example.com");
	assert_non_null(held(f, "cy@example.com"));
	assert_int_equal(f->r.counts.failed, 0);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(f->r.plan.n, 0);
	/* and what it added is managed: leavers are disabled */
	f->n = 1;
	f->c.safety.max_delete_percent = 100;
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(count_op(&f->r, OP_DISABLE), 5);
	assert_false(held(f, "cy@example.com")->active);
	assert_false(held(f, "team@example.com")->active);
}

/* The target dies halfway through a batch: what landed is recorded. */
static void
test_batch_target_dies_midway(void **state)
{
	struct fx *f = *state;

	the_target = &target_memory_pb_ops;
	add_user(f, &ann);
	add_user(f, &bob);
	add_user(f, &cy);
	add_user(f, &dan);
	add_user(f, &eve);
	setenv("DS_MEMORY_TARGET_DIE_AFTER", "3", 1);
	assert_int_equal(run(f, "sync", false, -1), 1);
	unsetenv("DS_MEMORY_TARGET_DIE_AFTER");
	assert_int_equal(f->r.err.code, DS_E_CONNECT);
	assert_int_equal(f->r.counts.applied, 3);   /* the domain, 2 users */
	assert_int_equal(f->r.counts.failed, 0);
	assert_int_equal(f->r.counts.skipped, 3);
	/* nothing repeated (memory refuses an add of an existing row) and
	 * nothing lost */
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(f->r.plan.n, 3);
	assert_int_equal(f->r.counts.applied, 3);
	assert_int_equal(f->r.counts.failed, 0);
	assert_non_null(held(f, "ann@example.com"));
	assert_non_null(held(f, "eve@example.com"));
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(f->r.plan.n, 0);
	/* all five are managed */
	f->n = 0;
	f->c.safety.max_delete_percent = 100;
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(count_op(&f->r, OP_DISABLE), 5);
}

static void
test_conflict_leaves_address_alone(void **state)
{
	struct fx *f = *state;

	add_user(f, &ann);
	add_user(f, &cy);
	add_user(f, &cy2);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(f->r.counts.conflict, 1);
	assert_null(held(f, "cy@example.com"));
	assert_non_null(held(f, "ann@example.com"));
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(f->r.report, "summary"),
				 "conflict")),
			 1);
}

static void
test_report_matches_counts(void **state)
{
	struct fx *f = *state;
	json_t *sum;

	add_user(f, &ann);
	add_user(f, &bob);
	assert_int_equal(run(f, "sync", false, -1), 0);
	sum = json_object_get(f->r.report, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "add")),
			 f->r.counts.add);
	assert_int_equal(json_integer_value(json_object_get(f->r.report,
							    "run_id")),
			 f->r.run_id);
	/* a transactional target has no per-object counts in the report */
	assert_null(json_object_get(sum, "applied"));
}

static void
test_state_belongs_to_its_target(void **state)
{
	struct fx *f = *state;

	add_user(f, &ann);
	assert_int_equal(run(f, "sync", false, -1), 0);
	free(f->c.target.url);
	f->c.target.url = strdup("memory:elsewhere");
	assert_int_equal(run(f, "sync", false, -1), 1);
	assert_int_equal(f->r.err.code, DS_E_STATE);
	assert_non_null(strstr(f->r.err.msg, "belongs to target"));
	assert_false(f->r.have_rules);
	assert_null(held(f, "ann@example.com"));
}

static void
test_target_identity_hides_passwords(void **state)
{
	struct fx *f = *state;
	char id[256];

	free(f->c.target.url);
	f->c.target.url =
		strdup("postgresql://mail:s3cret@db.example/mail?password="
		       "s3cret&sslmode=require");
	target_identity(&f->c, id, sizeof(id));
	assert_string_equal(id, "sql postgresql://mail@db.example/mail?"
				"sslmode=require");
	free(f->c.target.url);
	f->c.target.url = strdup("sqlite:///var/lib/dirsync/mail.db");
	target_identity(&f->c, id, sizeof(id));
	assert_string_equal(id, "sql sqlite:///var/lib/dirsync/mail.db");
}

/* [safety] hold_removals: leavers over a limit wait, a joiner gets in. */
static void
test_hold_removals(void **state)
{
	struct fx *f = *state;
	json_t *lim;

	add_user(f, &ann);
	add_user(f, &bob);
	add_user(f, &cy);
	assert_int_equal(run(f, "sync", false, -1), 0);
	f->n = 1;                     /* bob and cy leave ... */
	add_user(f, &dan);            /* ... and dan joins */
	f->c.safety.max_deletes = 1;
	/* without the option: nothing at all */
	assert_int_equal(run(f, "sync", false, -1), 3);
	assert_false(f->r.applied);
	assert_null(held(f, "dan@example.com"));
	/* with it: dan is added, bob and cy stay active, exit 3 */
	f->c.safety.hold_removals = true;
	assert_int_equal(run(f, "sync", false, -1), 3);
	assert_true(f->r.held);
	assert_true(f->r.applied);
	assert_string_equal(f->r.limit.limit, "max_deletes");
	assert_int_equal(f->r.limit.planned, 2);
	assert_non_null(held(f, "dan@example.com"));
	assert_true(held(f, "bob@example.com")->active);
	assert_true(held(f, "cy@example.com")->active);
	assert_int_equal(f->r.counts.disable, 0);
	lim = json_object_get(f->r.report, "limit_exceeded");
	assert_true(json_is_true(json_object_get(lim, "held")));
	/* when the rest is over a limit too, the whole run stops */
	f->c.safety.max_adds = 0;
	add_user(f, &eve);
	assert_int_equal(run(f, "sync", false, -1), 3);
	assert_false(f->r.applied);
	assert_false(f->r.held);
}

/* ---- incremental reads (the memory source's sync_read) ---------------- */

static int
run_sync(struct fx *f, const struct entry *const *ev, size_t n,
	 const struct source_memory_sync *sy)
{
	struct engine_opts o;

	run_result_free(&f->r);
	memset(&o, 0, sizeof(o));
	o.mode = "sync";
	o.quiet = true;
	o.report_max_changes = 100;
	o.source_ops = &source_memory_sync_ops;
	o.target_ops = the_target;
	source_memory_set(ev, n, -1);
	source_memory_set_sync(sy);
	return engine_run(&f->c, &o, &f->r);
}

/*
 * The snapshot plus the delta is the whole directory: adds, deletes, a
 * present phase; a limit stop keeps the old cookie; a refused cookie
 * gives a full read with the reason.
 */
static void
test_incremental_reads(void **state)
{
	struct fx *f = *state;
	struct source_memory_sync sy;
	static const char *const gone_bob[] = {"g-bob"};
	static const char *const present[] = {"g-ann", "g-dan", "g-eve"};
	static const char *const present_bob[] = {"g-ann", "g-dan", "g-eve",
						  "g-bob"};
	const struct entry *ev[3], *ev4[4];

	memset(&sy, 0, sizeof(sy));
	add_user(f, &ann);
	add_user(f, &bob);
	add_user(f, &cy);
	sy.cookie = "c1";
	assert_int_equal(run_sync(f, f->ev, 3, &sy), 0);
	assert_string_equal(f->r.read_mode, "full");
	assert_non_null(strstr(f->r.fallback_reason, "no snapshot"));

	/* Dan added, Bob deleted */
	add_user(f, &dan);
	ev[0] = f->ev[3];
	sy.changed = 1;
	sy.deleted = gone_bob;
	sy.ndeleted = 1;
	sy.cookie = "c2";
	assert_int_equal(run_sync(f, ev, 1, &sy), 0);
	assert_string_equal(f->r.read_mode, "incremental");
	assert_string_equal(source_memory_cookie_seen(), "c1");
	assert_int_equal(f->r.read, 3);           /* Ann, Cy, Dan */
	assert_int_equal(f->r.read_entries, 1);
	assert_int_equal(f->r.read_deleted, 1);
	assert_non_null(held(f, "dan@example.com"));
	assert_false(held(f, "bob@example.com")->active);

	/* a limit stop keeps the cookie: the next run reads Eve again */
	add_user(f, &eve);
	ev[0] = f->ev[4];
	sy.ndeleted = 0;
	sy.cookie = "c3";
	f->c.safety.max_adds = 0;
	assert_int_equal(run_sync(f, ev, 1, &sy), 3);
	assert_null(held(f, "eve@example.com"));
	f->c.safety.max_adds = -1;
	assert_int_equal(run_sync(f, ev, 1, &sy), 0);
	assert_string_equal(source_memory_cookie_seen(), "c2");
	assert_non_null(held(f, "eve@example.com"));

	/* a present phase without Cy: Cy is gone */
	sy.changed = 0;
	sy.present = present;
	sy.npresent = 3;
	sy.present_phase = true;
	sy.cookie = "c4";
	assert_int_equal(run_sync(f, ev, 0, &sy), 0);
	assert_string_equal(source_memory_cookie_seen(), "c3");
	assert_string_equal(f->r.read_mode, "incremental");
	assert_false(held(f, "cy@example.com")->active);
	assert_true(held(f, "ann@example.com")->active);
	assert_true(held(f, "eve@example.com")->active);

	/* the cookie refused: a full read of what is there, no change */
	sy.refuse = "cookie refused (test)";
	ev[0] = f->ev[0];
	ev[1] = f->ev[3];
	ev[2] = f->ev[4];
	assert_int_equal(run_sync(f, ev, 3, &sy), 0);
	assert_string_equal(f->r.read_mode, "full");
	assert_string_equal(f->r.fallback_reason, "cookie refused (test)");
	assert_int_equal(f->r.plan.n, 0);

	/* that plain read removed the snapshot: the next read is whole,
	 * and it leaves a snapshot again */
	sy.refuse = NULL;
	sy.present = NULL;
	sy.npresent = 0;
	sy.present_phase = false;
	sy.cookie = "c5";
	assert_int_equal(run_sync(f, ev, 3, &sy), 0);
	assert_string_equal(f->r.read_mode, "full");
	assert_non_null(strstr(f->r.fallback_reason, "no snapshot"));
	assert_int_equal(f->r.plan.n, 0);

	/* a present phase reporting Bob unchanged, whom the last read did
	 * not see (a restore from backup): a full read, Bob back */
	sy.present = present_bob;
	sy.npresent = 4;
	sy.present_phase = true;
	sy.cookie = "c6";
	ev4[0] = f->ev[0];
	ev4[1] = f->ev[1];
	ev4[2] = f->ev[3];
	ev4[3] = f->ev[4];
	assert_int_equal(run_sync(f, ev4, 4, &sy), 0);
	assert_string_equal(f->r.read_mode, "full");
	assert_non_null(strstr(f->r.fallback_reason, "did not see"));
	assert_true(held(f, "bob@example.com")->active);
}

/* ---- the fast path (issue 16) ------------------------------------------ */

/* A change written to the target behind dirsync's back. */
static void
write_behind(struct fx *f, const char *address, enum op op)
{
	struct target *t = NULL;
	struct change ch;
	struct err err;

	memset(&ch, 0, sizeof(ch));
	ch.op = op;
	ch.kind = MK_MAILBOX;
	ch.address = address;
	err_clear(&err);
	assert_int_equal(the_target->open(&t, &f->c, false, &err), 0);
	assert_int_equal(the_target->begin(t, &err), 0);
	assert_int_equal(the_target->apply(t, &ch, NULL, &err), 0);
	assert_int_equal(the_target->commit(t, &err), 0);
	the_target->close(t);
}

static void
test_fast_path(void **state)
{
	struct fx *f = *state;
	static const struct person ann2 = {"CN=Ann,DC=x", "g-ann",
					   "ann@example.com", "Ann Lee", false};

	the_target = &target_memory_fp_ops;
	add_user(f, &ann);
	add_user(f, &bob);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_true(f->r.applied);
	assert_false(f->r.fast_path);
	/* nothing changed: no load, no plan, recorded as a run */
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_true(f->r.fast_path);
	assert_int_equal(f->r.plan.n, 0);
	assert_int_equal(f->r.current.n, 0);   /* never loaded */
	assert_true(f->r.run_id > 0);
	assert_true(json_is_true(json_object_get(f->r.report, "fast_path")));
	/* plan (read-only) compares everything */
	assert_int_equal(run(f, "plan", false, -1), 0);
	assert_false(f->r.fast_path);
	assert_true(f->r.current.n > 0);
	/* the directory changed: the full path, then fast again */
	f->n = 0;
	add_user(f, &ann2);
	add_user(f, &bob);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_false(f->r.fast_path);
	assert_int_equal(count_op(&f->r, OP_UPDATE), 1);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_true(f->r.fast_path);
	/* someone disables bob behind dirsync's back: noticed, repaired */
	write_behind(f, "bob@example.com", OP_DISABLE);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_false(f->r.fast_path);
	assert_int_equal(count_op(&f->r, OP_UPDATE), 1);
	assert_true(held(f, "bob@example.com")->active);
	/* the configuration changed: the full path */
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_true(f->r.fast_path);
	f->c.target.adopt = !f->c.target.adopt;
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_false(f->r.fast_path);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_true(f->r.fast_path);
	/* [schedule] full_every = 0: every run is full */
	f->c.schedule.full_every = 0;
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_false(f->r.fast_path);
}

/*
 * An incremental read that finds nothing changed skips the snapshot and
 * the rules when the fast path holds, and says what the rules said last
 * time; a change behind dirsync's back or an expiry that passes makes the
 * rules run again.
 */
static void
test_incremental_shortcut(void **state)
{
	struct fx *f = *state;
	struct source_memory_sync sy;
	static const char *const nobody[] = {"CN=Nobody,DC=x", "CN=Ann,DC=x"};
	char exp[32], *warning;
	time_t soon;
	size_t nwarnings, nconflicts;

	the_target = &target_memory_fp_ops;
	memset(&sy, 0, sizeof(sy));
	add_user(f, &ann);
	add_user(f, &bob);
	add_user(f, &cy);
	add_user(f, &cy2);   /* claims Cy's address: a conflict */
	add_list(f, "CN=Team,DC=x", "g-team", "team@example.com", nobody, 2);
	/* Bob's account expires in two seconds */
	soon = time(NULL) + 2;
	snprintf(exp, sizeof(exp), "%lld",
		 ((long long)soon + 11644473600LL) * 10000000LL);
	set_attr(f, 1, 5, "accountExpires", exp);
	f->e[1].nattrs = 6;
	sy.cookie = "c1";
	assert_int_equal(run_sync(f, f->ev, f->n, &sy), 0);
	assert_string_equal(f->r.read_mode, "full");
	assert_false(f->r.rules_skipped);
	nwarnings = f->r.rules.nwarnings;
	nconflicts = f->r.rules.nconflicts;
	assert_true(nwarnings > 0);
	assert_int_equal(nconflicts, 1);
	warning = strdup(f->r.rules.warnings[0]);

	/* nothing changed: snapshot and rules skipped, the same report */
	sy.cookie = "c2";
	assert_int_equal(run_sync(f, f->ev, 0, &sy), 0);
	assert_string_equal(source_memory_cookie_seen(), "c1");
	assert_string_equal(f->r.read_mode, "incremental");
	assert_true(f->r.fast_path);
	assert_true(f->r.rules_skipped);
	assert_int_equal(f->r.read, 5);
	assert_int_equal(f->r.rules.in_scope, 3);   /* Ann, Bob, Team */
	assert_int_equal(f->r.rules.nwarnings, nwarnings);
	assert_string_equal(f->r.rules.warnings[0], warning);
	assert_int_equal(f->r.rules.nconflicts, 1);
	assert_string_equal(f->r.rules.conflicts[0].address, "cy@example.com");
	assert_int_equal(f->r.rules.conflicts[0].n, 2);
	assert_true(json_is_true(json_object_get(
		json_object_get(f->r.report, "read_detail"), "rules_skipped")));
	/* and the cookie moves on */
	sy.cookie = "c3";
	assert_int_equal(run_sync(f, f->ev, 0, &sy), 0);
	assert_string_equal(source_memory_cookie_seen(), "c2");
	assert_true(f->r.rules_skipped);

	/* Ann's mailbox deleted behind dirsync's back: the rules run, the
	 * full compare puts it back, then skipped again */
	write_behind(f, "ann@example.com", OP_DELETE);
	assert_null(held(f, "ann@example.com"));
	assert_int_equal(run_sync(f, f->ev, 0, &sy), 0);
	assert_false(f->r.rules_skipped);
	assert_false(f->r.fast_path);
	assert_int_equal(f->r.read, 5);
	assert_non_null(held(f, "ann@example.com"));
	assert_int_equal(run_sync(f, f->ev, 0, &sy), 0);
	assert_true(f->r.rules_skipped);
	assert_true(held(f, "bob@example.com")->active);

	/* Bob's expiry passes with no change in the directory */
	while (time(NULL) <= soon)
		usleep(100 * 1000);
	assert_int_equal(run_sync(f, f->ev, 0, &sy), 0);
	assert_false(f->r.rules_skipped);
	assert_false(held(f, "bob@example.com")->active);
	assert_int_equal(f->r.rules.in_scope, 2);
	/* a run after it: nothing left to expire, skipped */
	assert_int_equal(run_sync(f, f->ev, 0, &sy), 0);
	assert_true(f->r.rules_skipped);
	assert_int_equal(f->r.rules.in_scope, 2);
	free(warning);
}

/* A stopped or held run is never verified: the next one stops again. */
static void
test_fast_path_not_after_limit(void **state)
{
	struct fx *f = *state;

	the_target = &target_memory_fp_ops;
	add_user(f, &ann);
	add_user(f, &bob);
	add_user(f, &cy);
	assert_int_equal(run(f, "sync", false, -1), 0);
	f->n = 1;
	add_user(f, &dan);
	f->c.safety.max_deletes = 1;
	f->c.safety.hold_removals = true;
	assert_int_equal(run(f, "sync", false, -1), 3);
	assert_true(f->r.held);
	assert_int_equal(run(f, "sync", false, -1), 3);
	assert_false(f->r.fast_path);
	assert_true(f->r.held);
	f->c.safety.hold_removals = false;
	assert_int_equal(run(f, "sync", false, -1), 3);
	assert_false(f->r.fast_path);
	assert_int_equal(run(f, "sync", false, -1), 3);
	assert_false(f->r.fast_path);
}

/* A target without a fingerprint always compares everything. */
static void
test_no_fingerprint_no_fast_path(void **state)
{
	struct fx *f = *state;

	add_user(f, &ann);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_int_equal(run(f, "sync", false, -1), 0);
	assert_false(f->r.fast_path);
	assert_true(f->r.current.n > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_sync_then_idle,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_changes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_leaver_disabled, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_partial_read_applies_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_stops_and_force,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_scope_not_forceable,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_transaction_failure_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_per_object_failure_goes_on_and_heals, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_batch_failure_in_the_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_batch_target_dies_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_conflict_leaves_address_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_matches_counts,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_state_belongs_to_its_target, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_target_identity_hides_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incremental_shortcut,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fast_path_not_after_limit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_no_fingerprint_no_fast_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_removals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_incremental_reads, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_guard.c - the time guards on destructive steps (plan/guard.h): a
 * clock behind the last run holds back every disable and delete; a delete
 * after a disable also needs enough sync runs since the disable.
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
#include "plan/guard.h"
#include "plan/plan.h"
#include "util/buf.h"

#define NOW 1800000000L
#define DAY 86400L

struct fx {
	struct mset desired, current;
	struct managed managed;
	struct strmap frozen_addr, frozen_anchor;
	struct plan p;
	struct plan_input in;
};

static void
add_obj(struct mset *s, enum mkind kind, const char *addr, const char *anchor,
	bool active)
{
	struct mobj o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.address = addr;
	o.anchor = anchor;
	o.name = addr;
	o.active = active;
	assert_non_null(mset_add(s, &o));
}

/*
 * carol stays; bob left this run (a disable); dave was disabled 40 days
 * ago and deprovision = delete, delete_after = 30d (a delete).
 */
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
	add_obj(&f->desired, MK_MAILBOX, "carol@x.org", "c", true);
	add_obj(&f->current, MK_MAILBOX, "carol@x.org", NULL, true);
	add_obj(&f->current, MK_MAILBOX, "bob@x.org", NULL, true);
	add_obj(&f->current, MK_MAILBOX, "dave@x.org", NULL, false);
	managed_add(&f->managed, "carol@x.org", MK_MAILBOX, "c", 0);
	managed_add(&f->managed, "bob@x.org", MK_MAILBOX, "b", 0);
	managed_add(&f->managed, "dave@x.org", MK_MAILBOX, "d",
		    NOW - 40 * DAY);
	f->in.desired = &f->desired;
	f->in.current = &f->current;
	f->in.managed = &f->managed;
	f->in.frozen_addresses = &f->frozen_addr;
	f->in.frozen_anchors = &f->frozen_anchor;
	f->in.deprovision = DEPROV_DELETE;
	f->in.delete_after = 30 * DAY;
	f->in.now = NOW;
	plan_build(&f->p, &f->in);
	assert_int_equal(f->p.n, 2);
	assert_int_equal(f->p.count[OP_DISABLE], 1);
	assert_int_equal(f->p.count[OP_DELETE], 1);
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
	free(f);
	return 0;
}

static void
test_clock_behind(void **state)
{
	struct fx *f = *state;
	struct time_guard g;
	const time_t runs[] = {NOW - 39 * DAY, NOW - 1 * DAY};

	/* the last run was an hour "later" than now: nothing deleted, but
	 * bob's disable goes on (a leaver keeps no working mailbox until
	 * the clock passes a run that was ahead) */
	assert_int_equal(plan_time_guard(&f->p, &f->managed, NOW, NOW + 3600,
					 runs, 2, 3, &g),
			 1);
	assert_true(g.clock_behind);
	assert_int_equal(g.removals_held, 1);
	assert_int_equal(f->p.n, 1);
	assert_int_equal(f->p.v[0].op, OP_DISABLE);
	assert_string_equal(f->p.v[0].address, "bob@x.org");
	assert_int_equal(f->p.count[OP_DISABLE], 1);
	assert_int_equal(f->p.count[OP_DELETE], 0);
}

static void
test_too_few_runs(void **state)
{
	struct fx *f = *state;
	struct time_guard g;
	/* one earlier run after dave's disable, and this one: two */
	const time_t runs[] = {NOW - 41 * DAY, NOW - 45 * DAY, NOW - DAY};

	assert_int_equal(plan_time_guard(&f->p, &f->managed, NOW, NOW - DAY,
					 runs, 3, 3, &g),
			 1);
	assert_false(g.clock_behind);
	assert_int_equal(g.deletes_held, 1);
	assert_string_equal(g.first_held, "dave@x.org");
	assert_int_equal(g.first_runs, 2);
	/* bob's disable goes ahead */
	assert_int_equal(f->p.n, 1);
	assert_int_equal(f->p.v[0].op, OP_DISABLE);
	assert_int_equal(f->p.count[OP_DELETE], 0);
}

static void
test_enough_runs(void **state)
{
	struct fx *f = *state;
	struct time_guard g;
	/* the disabling run, two after it, and this one */
	const time_t runs[] = {NOW - 40 * DAY, NOW - 2 * DAY, NOW - DAY};

	assert_int_equal(plan_time_guard(&f->p, &f->managed, NOW, NOW - DAY,
					 runs, 3, 3, &g),
			 0);
	assert_int_equal(f->p.n, 2);
	/* min_runs = 0: time alone, as before */
	assert_int_equal(plan_time_guard(&f->p, &f->managed, NOW, NOW - DAY,
					 NULL, 0, 0, &g),
			 0);
	assert_int_equal(f->p.n, 2);
	/* no earlier run at all (a first run): the clock is not judged */
	assert_int_equal(plan_time_guard(&f->p, &f->managed, NOW, 0, NULL, 0,
					 0, &g),
			 0);
	assert_int_equal(f->p.n, 2);
}

/*
 * carol's alias, disabled once with her (disabled_at set) and now dropped
 * while she stays: its delete is not deprovisioning, so neither rule holds
 * it, however recent the disable (the convergence check caught the
 * second rule holding it for runs within one second).
 */
static void
test_alias_dropped_not_held(void **state)
{
	struct fx *f = *state;
	struct time_guard g;
	const time_t runs[] = {NOW - 1};
	size_t i, n = 0;

	(void)state;
	plan_free(&f->p);
	plan_init(&f->p);
	add_obj(&f->current, MK_ALIAS, "c.old@x.org", NULL, false);
	managed_add(&f->managed, "c.old@x.org", MK_ALIAS, "c", NOW - 1);
	plan_build(&f->p, &f->in);
	assert_int_equal(f->p.n, 3);
	for (i = 0; i < f->p.n; i++)
		if (strcmp(f->p.v[i].address, "c.old@x.org") == 0) {
			assert_int_equal(f->p.v[i].op, OP_DELETE);
			assert_int_equal(f->p.v[i].why, WHY_ALIAS_DROPPED);
			n++;
		}
	assert_int_equal(n, 1);
	/* rule 2: dave's delete is held, the alias's is not */
	plan_time_guard(&f->p, &f->managed, NOW, NOW - 1, runs, 1, 3, &g);
	assert_int_equal(g.deletes_held, 1);
	assert_int_equal(f->p.n, 2);
	/* rule 1: neither bob's disable nor the alias's delete is held */
	assert_int_equal(plan_time_guard(&f->p, &f->managed, NOW, NOW + 60,
					 runs, 1, 3, &g),
			 0);
	assert_true(g.clock_behind);
	assert_int_equal(g.removals_held, 0);
	assert_int_equal(f->p.n, 2);
}

/* A list losing more than max_member_removal_percent of its members. */
static void
test_member_removals(void **state)
{
	struct plan p;
	struct change *c;
	struct limit_hit hit;
	const char *list;
	struct buf old = BUF_INIT, now = BUF_INIT;
	int i;

	(void)state;
	plan_init(&p);
	/* 100 members, 30 of them gone: over 20 % */
	for (i = 0; i < 100; i++) {
		buf_printf(&old, "%sm%03d@x.org", i ? "," : "", i);
		if (i >= 30)
			buf_printf(&now, "%sm%03d@x.org", i > 30 ? "," : "", i);
	}
	p.v = calloc(2, sizeof(*p.v));
	p.n = 2;
	c = &p.v[0];
	c->op = OP_UPDATE;
	c->kind = MK_LIST;
	c->fields = CH_GOTO;
	c->address = "all@x.org";
	c->old_gotos = buf_str(&old);
	c->gotos = buf_str(&now);
	/* a small list losing half: under the 10-member floor */
	c = &p.v[1];
	c->op = OP_UPDATE;
	c->kind = MK_LIST;
	c->fields = CH_GOTO;
	c->address = "small@x.org";
	c->old_gotos = "a@x.org,b@x.org";
	c->gotos = "a@x.org";
	c->dn = "CN=Small,DC=x";
	p.v[0].dn = "CN=All,DC=x";
	assert_int_equal(plan_check_members(&p, 20, &hit, &list), 1);
	assert_string_equal(list, "all@x.org");
	assert_string_equal(hit.limit, "max_member_removal_percent");
	assert_int_equal(hit.planned, 30);
	assert_int_equal(hit.allowed, 20);
	assert_true(hit.forceable);
	/* every list over the limit is named, with its DN */
	assert_int_equal(hit.nlists, 1);
	assert_string_equal(hit.lists[0].address, "all@x.org");
	assert_string_equal(hit.lists[0].dn, "CN=All,DC=x");
	assert_int_equal(hit.lists[0].members, 100);
	assert_int_equal(hit.lists[0].lost, 30);
	{
		char line[256];

		assert_string_equal(plan_limit_lists(&hit, line, sizeof(line)),
				    "; list all@x.org (CN=All,DC=x) would "
				    "lose 30 of 100 members");
	}
	/* at 0 %, the small list too (its floor is 9 members lost: no) */
	p.v[1].old_gotos = buf_str(&old);
	p.v[1].gotos = "m099@x.org";
	assert_int_equal(plan_check_members(&p, 20, &hit, &list), 1);
	assert_int_equal(hit.nlists, 2);
	assert_string_equal(list, "small@x.org");     /* loses 99: first */
	assert_string_equal(hit.lists[1].address, "all@x.org");
	assert_int_equal(hit.planned, 99);
	{
		char line[256];

		assert_non_null(strstr(plan_limit_lists(&hit, line,
							sizeof(line)),
				       "; and 1 more list"));
	}
	p.v[1].old_gotos = "a@x.org,b@x.org";
	p.v[1].gotos = "a@x.org";
	assert_int_equal(plan_check_members(&p, 30, &hit, &list), 0);
	assert_int_equal(plan_check_members(&p, -1, &hit, &list), 0);
	/* members added, none lost: fine at 0 % */
	p.v[0].old_gotos = buf_str(&now);
	p.v[0].gotos = buf_str(&old);
	assert_int_equal(plan_check_members(&p, 0, &hit, &list), 0);
	plan_free(&p);
	buf_free(&old);
	buf_free(&now);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clock_behind, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_few_runs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_enough_runs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alias_dropped_not_held,
						setup, teardown),
		cmocka_unit_test(test_member_removals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

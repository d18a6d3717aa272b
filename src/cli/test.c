/*
 * `dirsync test`: the "Test connection" button.  Connects to the source
 * (bind, flavor, TLS, naming context), reads it, says how many objects
 * each scope rule keeps or drops (and the first few objects it dropped,
 * by DN), lists the rules' warnings, shows five mapped records, then
 * opens the target read-only and counts what it holds (a SCIM server:
 * also what it supports, and its Users and Groups).  Changes nothing.
 *
 * Exit codes: 0 OK; 1 a step failed, or a WARN line: nothing or no user
 * in scope, or a [scope] member_of group that was not read; 2 usage or
 * configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "target/scim.h"
#include "util/log.h"
#include "util/xalloc.h"

static int
fail(const struct err *err, const char *step)
{
	char buf[1400];

	printf("%-10s FAILED: %s\n", step, err_fmt(err, buf, sizeof(buf)));
	return 1;
}

static void
print_source(const struct inspect *in)
{
	const struct source_info *info = &in->info;

	printf("source     %s (flavor %s, TLS %s)\n", info->server,
	       info->flavor[0] ? info->flavor : "?",
	       info->tls[0] ? info->tls : "?");
	if (info->naming_context[0])
		printf("           naming context %s\n", info->naming_context);
	printf("           filter %s\n", in->filter);
	if (in->incremental[0])
		printf("           incremental reads: %s\n", in->incremental);
}

/* Objects named per leave reason; the rest are counted. */
#define TEST_SHOWN 3

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * What the rules left out, per reason: the count, then the first few
 * objects by DN (sorted, so two runs print the same).
 */
static void
print_left_out(const struct rules_result *rules)
{
	const char **dns = xcalloc(rules->left_out.len + 1, sizeof(*dns));
	const char *key;
	void *val;
	int why;

	for (why = 1; why < LR_NREASONS; why++) {
		size_t n = 0, i, it = 0;

		while (strmap_next(&rules->left_out, &it, &key, &val)) {
			const struct left_out *l = val;

			if ((int)l->why == why && !l->plain_group)
				dns[n++] = l->dn;
		}
		if (n == 0)
			continue;
		qsort(dns, n, sizeof(*dns), cmp_str);
		printf("           left out: %-26s %zu\n",
		       leave_reason_key((enum leave_reason)why), n);
		for (i = 0; i < n && i < TEST_SHOWN; i++)
			printf("             %s\n", dns[i]);
		if (n > TEST_SHOWN)
			printf("             ... and %zu more (dirsync explain "
			       "WHO says why for one)\n", n - TEST_SHOWN);
	}
	free(dns);
}

static void
print_rules(const struct rules_result *rules, size_t kinds[MK_NKINDS])
{
	static const char *const type[3] = {"users", "groups", "contacts"};
	size_t i, shown = 0;

	for (i = 0; i < 3; i++)
		printf("           %-36s %zu\n", type[i],
		       rules->scope_counts[i]);
	print_left_out(rules);
	for (i = 0; i < rules->desired.n; i++)
		kinds[rules->desired.v[i]->kind]++;
	printf("scope      %zu objects in scope -> %zu mailboxes, %zu "
	       "aliases, %zu lists, %zu contact addresses; %zu conflicts, "
	       "%zu warnings\n",
	       rules->in_scope, kinds[MK_MAILBOX], kinds[MK_ALIAS],
	       kinds[MK_LIST], kinds[MK_CONTACT], rules->nconflicts,
	       rules->nwarnings);
	for (i = 0; i < rules->nwarnings; i++)
		printf("warning    %s\n", rules->warnings[i]);
	for (i = 0; i < rules->desired.n && shown < 5; i++) {
		const struct mobj *o = rules->desired.v[i];

		if (o->kind == MK_DOMAIN || o->kind == MK_ALIAS)
			continue;
		printf("sample     %-8s %s%s%s%s%s  [%s]\n", mkind_name(o->kind),
		       o->address, o->name ? " \"" : "", o->name ? o->name : "",
		       o->name ? "\"" : "", o->gotos ? " -> ..." : "",
		       o->anchor ? o->anchor : "");
		shown++;
	}
}

/*
 * A scope that cannot be right: nothing in scope (unless allow_empty),
 * no user while users are synced, a member_of group that was not read.
 * Prints one WARN line each; returns how many.
 */
static int
scope_warnings(const struct conf *c, const struct rules_result *rules,
	       const size_t kinds[MK_NKINDS])
{
	int n = 0;

	if (rules->in_scope == 0 && !c->safety.allow_empty) {
		printf("WARN       nothing is in scope: check base_dn, filter "
		       "and [scope] (a sync would stop at allow_empty)\n");
		n++;
	} else if (kinds[MK_MAILBOX] == 0 &&
		   (c->scope.object_types & OT_USERS) && rules->in_scope > 0) {
		printf("WARN       no user is in scope: no mailbox would be "
		       "created (see what was left out above)\n");
		n++;
	}
	if (rules->member_of_missing > 0) {
		printf("WARN       %zu [scope] member_of group(s) not found "
		       "(see the warnings above): nobody is in scope through "
		       "them\n", rules->member_of_missing);
		n++;
	}
	return n;
}

static void
print_target(const struct conf *c, const struct mset *cur)
{
	size_t i, kinds[MK_NKINDS] = {0};

	for (i = 0; i < cur->n; i++)
		kinds[cur->v[i]->kind]++;
	/* rows, as the target holds them: its alias table also has each
	 * mailbox's own row, which "alias rows" alone left out (a user
	 * trial compared it with the demo's count of the table) */
	printf("target     %s: %zu mailboxes (each with its alias row), "
	       "%zu more alias rows (aliases, lists, contacts), %zu "
	       "domains\n",
	       c->target.url, kinds[MK_MAILBOX],
	       kinds[MK_ALIAS] + kinds[MK_LIST] + kinds[MK_CONTACT],
	       kinds[MK_DOMAIN]);
}

int
cmd_test(const struct cli_globals *g, int argc, char **argv)
{
	size_t kinds[MK_NKINDS] = {0};
	struct inspect in;
	struct conf c;
	int rc, warns = 0;

	if (argc > 1) {
		log_err("test: unexpected argument '%s'", argv[1]);
		return 2;
	}
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	rc = engine_inspect(&c, &in);
	if (in.stage != NULL && strcmp(in.stage, "source") == 0) {
		rc = fail(&in.err, "source");
		goto done;
	}
	print_source(&in);
	if (in.read_done)
		printf("read       %zu entries\n", in.read);
	if (in.have_rules) {
		print_rules(&in.rules, kinds);
		warns = scope_warnings(&c, &in.rules, kinds);
	}
	if (in.stage != NULL) {
		rc = fail(&in.err, in.stage);
		goto done;
	}
	print_target(&c, &in.current);
	if (c.target.type == TGT_SCIM &&
	    scim_describe(&c, stdout, &in.err) != 0) {
		rc = fail(&in.err, "target");
		goto done;
	}
	if (warns > 0) {
		printf("WARN: the connection works, but the scope needs a "
		       "look (%d warning%s above)\n", warns,
		       warns > 1 ? "s" : "");
		rc = 1;
		goto done;
	}
	printf("OK\n");
	rc = 0;
done:
	inspect_free(&in);
	conf_free(&c);
	return rc;
}

/*
 * `dirsync test`: the "Test connection" button.  Connects to the source
 * (bind, flavor, TLS, naming context), reads it, says how many objects
 * each scope rule keeps or drops, shows five mapped records, then opens
 * the target read-only and counts what it holds (a SCIM server: also what
 * it supports, and its Users and Groups).  Changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "target/scim.h"
#include "util/log.h"

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
}

static void
print_rules(const struct rules_result *rules)
{
	static const char *const reason[SC_NREASONS] = {
		"users", "groups", "contacts",
		"left out: object_types", "left out: disabled (enabled_only)",
		"left out: hidden (visible_only)",
		"left out: not in member_of", "left out: exclude pattern",
		"left out: no mail address", "left out: domain not accepted",
		"left out: not a list (group_filter)",
		"left out: expired (enabled_only)",
	};
	size_t i, kinds[MK_NKINDS] = {0}, shown = 0;

	for (i = 0; i < SC_NREASONS; i++)
		if (i < 3 || rules->scope_counts[i] > 0)
			printf("           %-36s %zu\n", reason[i],
			       rules->scope_counts[i]);
	for (i = 0; i < rules->desired.n; i++)
		kinds[rules->desired.v[i]->kind]++;
	printf("scope      %zu objects in scope -> %zu mailboxes, %zu "
	       "aliases, %zu lists, %zu contact addresses; %zu conflicts, "
	       "%zu warnings\n",
	       rules->in_scope, kinds[MK_MAILBOX], kinds[MK_ALIAS],
	       kinds[MK_LIST], kinds[MK_CONTACT], rules->nconflicts,
	       rules->nwarnings);
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

static void
print_target(const struct conf *c, const struct mset *cur)
{
	size_t i, kinds[MK_NKINDS] = {0};

	for (i = 0; i < cur->n; i++)
		kinds[cur->v[i]->kind]++;
	printf("target     %s: %zu mailboxes, %zu alias rows, %zu domains\n",
	       c->target.url, kinds[MK_MAILBOX], kinds[MK_ALIAS],
	       kinds[MK_DOMAIN]);
}

int
cmd_test(const struct cli_globals *g, int argc, char **argv)
{
	struct inspect in;
	struct conf c;
	int rc;

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
	if (in.have_rules)
		print_rules(&in.rules);
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
	printf("OK\n");
	rc = 0;
done:
	inspect_free(&in);
	conf_free(&c);
	return rc;
}

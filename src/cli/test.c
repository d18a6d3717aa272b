/*
 * `dirsync test`: the "Test connection" button.  Connects to the source
 * (bind, flavor, TLS, naming context), reads it, says how many objects
 * each scope rule keeps or drops, shows five mapped records, then opens
 * the target read-only and counts what it holds.  Changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "rules/rules.h"
#include "source/source.h"
#include "target/target.h"
#include "util/log.h"

struct counting {
	struct rules_ctx *rules;
	size_t read;
};

static int
add_entry(void *arg, const struct entry *e, struct err *err)
{
	struct counting *cn = arg;

	(void)err;
	cn->read++;
	rules_add(cn->rules, e);
	return 0;
}

static int
fail(const struct err *err, const char *step)
{
	char buf[1400];

	printf("%-10s FAILED: %s\n", step, err_fmt(err, buf, sizeof(buf)));
	return 1;
}

int
cmd_test(const struct cli_globals *g, int argc, char **argv)
{
	static const char *const reason[SC_NREASONS] = {
		"users", "groups", "contacts",
		"left out: object_types", "left out: disabled (enabled_only)",
		"left out: hidden (visible_only)",
		"left out: not in member_of", "left out: exclude pattern",
		"left out: no mail address", "left out: domain not accepted",
		"left out: not a list (group_filter)",
	};
	const struct source_ops *sops;
	const struct target_ops *tops = NULL;
	struct source *src = NULL;
	struct target *tgt = NULL;
	struct source_info info;
	struct counting cn = {NULL, 0};
	struct rules_result rules;
	struct mset cur;
	struct conf c;
	struct err err;
	const char **keep = NULL;
	const char *flavor, *filter;
	size_t i, kinds[MK_NKINDS] = {0}, shown = 0;
	int rc;

	if (argc > 1) {
		log_err("test: unexpected argument '%s'", argv[1]);
		return 2;
	}
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	memset(&info, 0, sizeof(info));
	err_clear(&err);
	rules_init(&rules);
	mset_init(&cur);
	sops = source_ops_for(&c);
	rc = 1;
	if (sops->open(&src, &c, &info, &err) != 0) {
		fail(&err, "source");
		goto done;
	}
	printf("source     %s (flavor %s, TLS %s)\n", info.server,
	       info.flavor[0] ? info.flavor : "?",
	       info.tls[0] ? info.tls : "?");
	if (info.naming_context[0])
		printf("           naming context %s\n", info.naming_context);
	flavor = c.source.flavor == FLAVOR_AD	      ? "ad"
		 : c.source.flavor == FLAVOR_OPENLDAP ? "openldap"
						      : info.flavor;
	filter = c.source.filter != NULL && *c.source.filter
			 ? c.source.filter
			 : source_default_filter(flavor);
	printf("           filter %s\n", filter);
	keep = rules_attrs(&c);
	if ((cn.rules = rules_begin(&c, &rules, &err)) == NULL) {
		fail(&err, "rules");
		goto done;
	}
	if (sops->read(src, filter, keep, add_entry, &cn, &err) != 0) {
		rules_abort(cn.rules);
		fail(&err, "read");
		goto done;
	}
	printf("read       %zu entries\n", cn.read);
	if (rules_end(cn.rules, &err) != 0) {
		fail(&err, "rules");
		goto done;
	}
	for (i = 0; i < SC_NREASONS; i++)
		if (i < 3 || rules.scope_counts[i] > 0)
			printf("           %-36s %zu\n", reason[i],
			       rules.scope_counts[i]);
	for (i = 0; i < rules.desired.n; i++)
		kinds[rules.desired.v[i]->kind]++;
	printf("scope      %zu objects in scope -> %zu mailboxes, %zu "
	       "aliases, %zu lists, %zu contact addresses; %zu conflicts, "
	       "%zu warnings\n",
	       rules.in_scope, kinds[MK_MAILBOX], kinds[MK_ALIAS],
	       kinds[MK_LIST], kinds[MK_CONTACT], rules.nconflicts,
	       rules.nwarnings);
	for (i = 0; i < rules.desired.n && shown < 5; i++) {
		const struct mobj *o = rules.desired.v[i];

		if (o->kind == MK_DOMAIN || o->kind == MK_ALIAS)
			continue;
		printf("sample     %-8s %s%s%s%s%s  [%s]\n", mkind_name(o->kind),
		       o->address, o->name ? " \"" : "", o->name ? o->name : "",
		       o->name ? "\"" : "", o->gotos ? " -> ..." : "",
		       o->anchor ? o->anchor : "");
		shown++;
	}
	tops = target_ops_for(&c, &err);
	if (tops == NULL) {
		printf("target     FAILED: target type not available in this "
		       "version\n");
		goto done;
	}
	if (tops->open(&tgt, &c, true, &err) != 0 ||
	    tops->load(tgt, &cur, &err) != 0) {
		fail(&err, "target");
		goto done;
	}
	memset(kinds, 0, sizeof(kinds));
	for (i = 0; i < cur.n; i++)
		kinds[cur.v[i]->kind]++;
	printf("target     %s: %zu mailboxes, %zu alias rows, %zu domains\n",
	       c.target.url, kinds[MK_MAILBOX], kinds[MK_ALIAS],
	       kinds[MK_DOMAIN]);
	printf("OK\n");
	rc = 0;
done:
	if (src != NULL)
		sops->close(src);
	if (tgt != NULL)
		tops->close(tgt);
	free(keep);
	mset_free(&cur);
	rules_free(&rules);
	conf_free(&c);
	return rc;
}

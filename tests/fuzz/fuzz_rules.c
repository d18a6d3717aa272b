/*
 * fuzz_rules.c - libFuzzer harness for the rules on a fuzzed entry set:
 * the input is an LDIF file (the first byte picks one of four configs),
 * read by the LDIF source straight into the rules, as `dirsync sync`
 * does; then the plan against an empty target.
 *
 * Properties: every desired object has an address in an accepted domain
 * (or is a domain row), mailbox and list addresses are unique (the set
 * guarantees it; this checks the rules never hand it a NULL), a list's
 * goto list holds no empty member; the plan of an empty target adds
 * every object and removes nothing.
 */
#include "fuzz_common.h"

#include "plan/plan.h"
#include "rules/rules.h"
#include "source/source.h"

static struct conf confs[4];
static int loaded;

static const char *const conf_text[4] = {
	/* AD defaults */
	"[mapping]\naccepted_domains = example.com example.net\n"
	"[source]\ntype = ldif\npath = /dev/null\n",
	/* OpenLDAP-ish, everything in scope, rewrites, contacts too */
	"[mapping]\naccepted_domains = example.com\n"
	"domain_rewrite = old.example=example.com\n"
	"alias_attributes = proxyAddresses mailAlternateAddress\n"
	"[scope]\nmail_enabled_only = no\nenabled_only = no\n"
	"visible_only = no\n"
	"[source]\ntype = ldif\npath = /dev/null\nflavor = openldap\n",
	/* scope by group membership */
	"[mapping]\naccepted_domains = example.com\n"
	"[scope]\nmember_of = cn=mail,dc=example,dc=com\n"
	"[source]\ntype = ldif\npath = /dev/null\n",
	/* base DN and a filter */
	"[mapping]\naccepted_domains = example.com x.org\n"
	"[source]\ntype = ldif\npath = /dev/null\nbase_dn = dc=example,dc=com\n"
	"filter = (|(objectClass=user)(objectClass=group)(mail=*))\n",
};

static int
on_entry(void *ctx, const struct entry *e, struct err *err)
{
	(void)err;
	rules_add(ctx, e);
	return 0;
}

static void
check_result(const struct conf *c, struct rules_result *r)
{
	struct mset current;
	struct managed managed;
	struct plan p;
	struct plan_input in;
	size_t i;

	for (i = 0; i < r->desired.n; i++) {
		const struct mobj *o = r->desired.v[i];

		if (o->address == NULL || o->address[0] == '\0')
			abort();
		if (o->kind != MK_DOMAIN && strchr(o->address, '@') == NULL)
			abort();
		if (o->gotos != NULL && (strstr(o->gotos, ",,") != NULL ||
					 o->gotos[0] == ','))
			abort();
	}
	mset_init(&current);
	managed_init(&managed);
	plan_init(&p);
	memset(&in, 0, sizeof(in));
	in.desired = &r->desired;
	in.current = &current;
	in.managed = &managed;
	in.frozen_anchors = &r->frozen_anchors;
	in.frozen_addresses = &r->frozen_addresses;
	in.deprovision = c->safety.deprovision;
	in.delete_after = c->safety.delete_after;
	in.now = 1800000000;
	plan_build(&p, &in);
	if (p.count[OP_DISABLE] + p.count[OP_DELETE] +
		    p.alias_count[OP_DISABLE] + p.alias_count[OP_DELETE] !=
	    0)
		abort();
	plan_free(&p);
	managed_free(&managed);
	mset_free(&current);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct conf *c;
	struct conf lc;
	struct source *src = NULL;
	struct rules_result r;
	struct rules_ctx *x;
	struct err err;
	const char **attrs;
	const char *filter;
	int i;

	if (!loaded) {
		for (i = 0; i < 4; i++)
			fuzz_conf_file(&confs[i], conf_text[i]);
		loaded = 1;
	}
	if (size < 1)
		return 0;
	c = &confs[data[0] & 3];
	lc = *c;
	lc.source.path = (char *)fuzz_memfd_path(data + 1, size - 1);
	memset(&err, 0, sizeof(err));
	if (source_ldif_ops.open(&src, &lc, NULL, &err) != 0)
		abort();
	rules_init(&r);
	x = rules_begin(&lc, &r, &err);
	if (x == NULL)
		abort();
	attrs = rules_attrs(&lc);
	filter = lc.source.filter != NULL && lc.source.filter[0]
			 ? lc.source.filter
			 : source_default_filter(
				   lc.source.flavor == FLAVOR_OPENLDAP
					   ? "openldap"
					   : "ad");
	if (source_ldif_ops.read(src, filter, attrs, on_entry, x, &err) != 0)
		rules_abort(x);
	else if (rules_end(x, &err) == 0)
		check_result(&lc, &r);
	free(attrs);
	source_ldif_ops.close(src);
	rules_free(&r);
	return 0;
}

/*
 * source.c's source_ops_for() names the LDAP source; this harness reads
 * LDIF only and is not linked with libldap.
 */
const struct source_ops source_ldap_ops = {"ldap", NULL, NULL, NULL};

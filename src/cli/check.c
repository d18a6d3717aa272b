/*
 * `dirsync check`: validate the config, print the effective settings.
 *
 * Reads all it can and reports every problem at once (conf_load_all):
 * each error and warning on a line of its own with file:line, then the
 * count, and exit 2 if there was an error.  Nothing is contacted; the
 * files the config names are opened as this user, as a run would.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "source/source.h"
#include "util/log.h"

int
cmd_check(const struct cli_globals *g, int argc, char **argv)
{
	struct conf c;
	struct conf_diag d;
	struct err err;
	const char *attr;
	size_t i, nwarn = 0;
	int rc = 0;

	if (argc > 1) {
		log_err("check: unexpected argument '%s'", argv[1]);
		return 2;
	}
	err_clear(&err);
	conf_load_all(&c, g->conf_path, &d, &err);
	for (i = 0; i < d.n; i++) {
		if (d.v[i].warning) {
			fprintf(stderr, "dirsync: %s\n", d.v[i].text);
			nwarn++;
		} else {
			log_err("%s", d.v[i].text);
		}
	}
	if (d.nerr > 0) {
		fprintf(stderr, "%s: %zu error%s; nothing was contacted\n",
			c.path, d.nerr, d.nerr == 1 ? "" : "s");
		rc = 2;
		goto done;
	}
	cli_warn_root(&c);
	conf_dump(&c, stdout);
	if (c.source.type != SRC_LDIF &&
	    (attr = source_backlink_attr(&c, c.source.filter)) != NULL)
		fprintf(stderr, "dirsync: note: [source] filter or [mapping] "
			"group_filter uses %s, which the server updates without "
			"a change to the entry: incremental reads are off, "
			"every read is full (docs/ldap.md)\n", attr);
	if (!g->quiet)
		fprintf(stderr, "%s: configuration OK%s\n", c.path,
			nwarn > 0 ? ", with the warnings above" : "");
done:
	conf_diag_free(&d);
	conf_free(&c);
	return rc;
}

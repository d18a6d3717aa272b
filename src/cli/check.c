/* `dirsync check`: validate the config, print the effective settings. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "source/source.h"
#include "util/filter.h"
#include "util/log.h"

static int
check_filter(const char *what, const char *text)
{
	struct filter *f;
	struct err err;
	char buf[1400];

	if (text == NULL || *text == '\0')
		return 0;
	err_clear(&err);
	f = filter_parse(text, &err);
	if (f == NULL) {
		err_where(&err, what);
		log_err("%s", err_fmt(&err, buf, sizeof(buf)));
		return 2;
	}
	filter_free(f);
	return 0;
}

int
cmd_check(const struct cli_globals *g, int argc, char **argv)
{
	struct conf c;
	int rc;

	if (argc > 1) {
		log_err("check: unexpected argument '%s'", argv[1]);
		return 2;
	}
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	rc = check_filter("[source] filter", c.source.filter);
	if (rc == 0)
		rc = check_filter("[mapping] group_filter",
				  c.mapping.group_filter);
	if (rc == 0) {
		conf_dump(&c, stdout);
		if (!g->quiet)
			fprintf(stderr, "%s: configuration OK\n", c.path);
	}
	conf_free(&c);
	return rc;
}

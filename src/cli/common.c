#include <stdio.h>

#include "cli/cli.h"
#include "util/log.h"

int
cli_load_conf(const struct cli_globals *g, struct conf *c)
{
	struct err err;
	char buf[1400];

	err_clear(&err);
	if (conf_load(c, g->conf_path, &err) != 0) {
		log_err("%s", err_fmt(&err, buf, sizeof(buf)));
		conf_free(c);
		return 2;
	}
	return 0;
}

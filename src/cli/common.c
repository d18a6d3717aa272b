#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

void
cli_warn_root(const struct conf *c)
{
	struct stat st;
	struct passwd *pw;
	const char *url = c->target.url, *db = NULL;
	char who[64];

	if (geteuid() != 0 || stat(c->path, &st) != 0 || st.st_uid == 0)
		return;
	pw = getpwuid(st.st_uid);
	if (pw != NULL)
		snprintf(who, sizeof(who), "%s", pw->pw_name);
	else
		snprintf(who, sizeof(who), "#%ld", (long)st.st_uid);
	if (c->target.type == TGT_SQL && url != NULL &&
	    strncmp(url, "sqlite://", 9) == 0)
		db = url + 9;
	log_warn("running as root, but %s belongs to %s: the files dirsync "
		 "creates (%s and its .lock%s%s, with their journals) would be "
		 "owned by root, and dirsync running as %s could no longer "
		 "write them; run it as %s: runuser -u %s -- dirsync ... (or "
		 "sudo -u %s dirsync ...)",
		 c->path, who, c->state.path, db ? ", " : "", db ? db : "",
		 who, who, pw != NULL ? who : "USER", pw != NULL ? who : "USER");
}

/* dirsync - argv to one command function; nothing else. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/daemon.h"
#include "util/log.h"
#include "util/secret.h"

#define DIRSYNC_VERSION "0.1.0"

static const char usage[] =
	"usage: dirsync [-c FILE] [-v] [-q] COMMAND [ARGS]\n"
	"\n"
	"  check                 validate the config, print the effective "
	"settings\n"
	"  test                  connect to source and target, count, show "
	"samples\n"
	"  plan [--json]         what a sync would change; changes nothing\n"
	"  sync [--json] [--dry-run] [--force-limits] [--full] [--now]\n"
	"  daemon [-f]           sync every [schedule] interval; -f: stay in "
	"the foreground\n"
	"  history [-n N] [--json]\n"
	"  show RUN_ID [--json]\n"
	"  rebuild-state         a new state database (ownership is kept in "
	"the target)\n"
	"  passwd-hook [--user ACCOUNT] [--no-confirm]\n"
	"                        new password on stdin (Samba's check password "
	"script)\n"
	"  approve RUN_ID [--json]  apply the plan a safety limit stopped, "
	"if unchanged\n"
	"  status [--max-age D]  last run, its age and result; exit 0 OK, 1 "
	"WARNING,\n"
	"                        2 CRITICAL, 3 UNKNOWN (a Nagios/Icinga "
	"check)\n"
	"\n"
	"  -c FILE   config file (default " DIRSYNC_DEFAULT_CONF ")\n"
	"  -v        more detail on stderr (twice for debug)\n"
	"  -q        no report on stdout, no progress\n"
	"\n"
	"exit codes: 0 done, 1 runtime failure, 2 usage or configuration "
	"error,\n"
	"            3 a safety limit was exceeded and nothing was applied\n";

static const struct {
	const char *name;
	int (*fn)(const struct cli_globals *, int, char **);
} commands[] = {
	{"check", cmd_check},
	{"test", cmd_test},
	{"plan", cmd_plan},
	{"sync", cmd_sync},
	{"daemon", cmd_daemon},
	{"history", cmd_history},
	{"show", cmd_show},
	{"rebuild-state", cmd_rebuild_state},
	{"passwd-hook", cmd_passwd_hook},
	{"approve", cmd_approve},
	{"status", cmd_status},
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cli_globals g = {DIRSYNC_DEFAULT_CONF, 0, false};
	size_t i;
	int ch;

	/* before anything reads the environment or starts a thread */
	secret_init();
	log_init("dirsync", 0, 0);
	/* "+": stop at the command; its own options come after it */
	while ((ch = getopt_long(argc, argv, "+c:vqh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			g.conf_path = optarg;
			break;
		case 'v':
			g.verbose++;
			break;
		case 'q':
			g.quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("dirsync %s\n", DIRSYNC_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	log_init("dirsync", g.verbose, 0);
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].fn(&g, argc - optind, argv + optind);
	fprintf(stderr, "dirsync: unknown command '%s'\n\n%s", argv[optind],
		usage);
	return 2;
}

/* dirsync - argv to one command function; nothing else. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/daemon.h"
#include "target/sqldrv.h"
#include "util/log.h"
#include "util/secret.h"

#define DIRSYNC_VERSION "0.1.0"

static const char usage[] =
	"usage: dirsync [-c FILE] [-v] [-q] COMMAND [ARGS]\n"
	"       (-c, -v and -q may also follow the command)\n"
	"\n"
	"  check                 validate the config, print the effective "
	"settings\n"
	"  test                  connect to source and target, count, show "
	"samples\n"
	"  plan [--json] [--all] [--handover ADDRESS]\n"
	"                        what a sync would change; changes nothing\n"
	"  sync [--json] [--all] [--dry-run] [--force-limits] [--full] "
	"[--now]\n"
	"       [--handover ADDRESS]\n"
	"                        --handover: a re-created account takes the "
	"old one's\n"
	"                        mailbox at ADDRESS, with its mail\n"
	"                        --all: the text report lists every change and "
	"member\n"
	"  daemon [-f]           sync every [schedule] interval; -f: stay in "
	"the foreground\n"
	"  history [-n N] [--json]\n"
	"  show RUN_ID [--json]\n"
	"  explain WHO [--json]  why an address, DN or account is (not) in "
	"the mail system\n"
	"  rebuild-state         a new state database (ownership is kept in "
	"the target)\n"
	"  passwd-hook [--user ACCOUNT] [--no-confirm]\n"
	"                        new password on stdin (Samba's check password "
	"script)\n"
	"  approve RUN_ID [--json]  apply the plan a safety limit stopped, "
	"if unchanged\n"
	"  status [--max-age D] [--nagios]  last run, its age and result; "
	"exit 0 ok,\n"
	"                        1 failed or stale (--nagios: 0 OK, 1 WARNING, "
	"2 CRITICAL,\n"
	"                        3 UNKNOWN)\n"
	"\n"
	"  -c FILE   config file (default " DIRSYNC_DEFAULT_CONF ")\n"
	"  -v        more detail on stderr (twice for debug)\n"
	"  -q        no progress, no text report on stdout (a --json report "
	"is still\n"
	"            printed); errors still go to stderr\n"
	"\n"
	"exit codes: 0 done, 1 runtime failure, 2 usage or configuration "
	"error,\n"
	"            3 a safety limit was exceeded: nothing was applied, or\n"
	"              with [safety] hold_removals only the disables and "
	"deletes\n"
	"              were held back\n";

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
	{"explain", cmd_explain},
	{"status", cmd_status},
};

/*
 * The global options may also follow the command (`dirsync sync -c FILE
 * -v`): they are taken out of the command's arguments here, so each
 * command's own parser never sees them.  Up to "--"; the value after a
 * command option that takes one is left alone.  0, or 2 (usage).
 */
static int
take_globals(struct cli_globals *g, int argc, char **argv, int *out_argc,
	     char **out_argv)
{
	static const char *const takes_value[] = {"-n", "--max-age", "--user",
						  NULL};
	int i, j, n = 1;

	out_argv[0] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			while (i < argc)
				out_argv[n++] = argv[i++];
			break;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "dirsync: %s needs a file\n\n%s",
					a, usage);
				return 2;
			}
			g->conf_path = argv[++i];
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0) {
			g->conf_path = a + 9;
			continue;
		}
		if (strncmp(a, "-c", 2) == 0 && a[2] != '\0') {
			g->conf_path = a + 2;
			continue;
		}
		if (strcmp(a, "--verbose") == 0) {
			g->verbose++;
			continue;
		}
		if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") ==
		    strlen(a + 1)) {
			g->verbose += (int)strlen(a + 1);
			continue;
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			g->quiet = true;
			continue;
		}
		out_argv[n++] = argv[i];
		for (j = 0; takes_value[j] != NULL; j++)
			if (strcmp(a, takes_value[j]) == 0 && i + 1 < argc)
				out_argv[n++] = argv[++i];
	}
	out_argv[n] = NULL;
	*out_argc = n;
	return 0;
}

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
	char **cargv;
	size_t i;
	int ch, cargc, rc;

	/* before anything reads the environment or starts a thread */
	secret_init();
	log_init("dirsync", 0, 0);
	sqldrv_sqlite_config();   /* before any SQLite database is opened */
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
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "dirsync: unknown command '%s'\n\n%s",
			argv[optind], usage);
		return 2;
	}
	/* the command's arguments without the global options; the strings
	 * stay argv's */
	cargv = calloc((size_t)(argc - optind) + 1, sizeof(*cargv));
	if (cargv == NULL) {
		fputs("dirsync: out of memory\n", stderr);
		return 1;
	}
	if (take_globals(&g, argc - optind, argv + optind, &cargc, cargv) != 0) {
		free(cargv);
		return 2;
	}
	log_init("dirsync", g.verbose, 0);
	rc = commands[i].fn(&g, cargc, cargv);
	free(cargv);
	return rc;
}

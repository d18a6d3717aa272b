/* `dirsync plan` and `dirsync sync`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/daemon.h"
#include "cli/sync.h"
#include "passwd/pwdeliver.h"
#include "report/notify.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/xalloc.h"

enum { OPT_JSON = 1000, OPT_DRY, OPT_FORCE, OPT_FULL, OPT_NOW, OPT_QUIET,
       OPT_FULLTEXT, OPT_HANDOVER };

static const struct option run_opts[] = {
	{"json", no_argument, NULL, OPT_JSON},
	{"dry-run", no_argument, NULL, OPT_DRY},
	{"force-limits", no_argument, NULL, OPT_FORCE},
	{"full", no_argument, NULL, OPT_FULL},
	{"now", no_argument, NULL, OPT_NOW},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"all", no_argument, NULL, OPT_FULLTEXT},
	{"handover", required_argument, NULL, OPT_HANDOVER},
	{NULL, 0, NULL, 0},
};

/*
 * --handover ADDRESS: kept in hand[] (argv's strings, at most argc);
 * an address without one '@' is a usage error.
 */
static int
parse(const char *cmd, int argc, char **argv, struct sync_opts *o,
      bool *now, bool sync_flags, const char **hand)
{
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "q", run_opts, NULL)) != -1) {
		switch (ch) {
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_QUIET:
		case 'q':
			o->quiet = true;
			break;
		case OPT_FULLTEXT:
			o->full_text = true;
			break;
		case OPT_HANDOVER:
			if (strchr(optarg, '@') == NULL ||
			    strchr(optarg, '@') != strrchr(optarg, '@') ||
			    optarg[0] == '@') {
				log_err("%s: --handover '%s': not a mail "
					"address", cmd, optarg);
				return 2;
			}
			hand[o->nhandover++] = optarg;
			o->handover = hand;
			break;
		case OPT_DRY:
		case OPT_FORCE:
		case OPT_FULL:
		case OPT_NOW:
			if (!sync_flags)
				goto bad;
			if (ch == OPT_DRY)
				o->dry_run = true;
			else if (ch == OPT_FORCE)
				o->force_limits = true;
			else if (ch == OPT_FULL)
				o->full = true;
			else
				*now = true;
			break;
		default:
			goto bad;
		}
	}
	if (optind < argc) {
		log_err("%s: unexpected argument '%s'", cmd, argv[optind]);
		return 2;
	}
	return 0;
bad:
	log_err("%s: unknown option '%s' (see dirsync --help)", cmd,
		argv[optind - 1]);
	return 2;
}

static int
run_plan(const struct cli_globals *g, int argc, char **argv,
	 const char **hand)
{
	struct sync_opts o;
	struct conf c;
	int rc;

	memset(&o, 0, sizeof(o));
	o.plan_only = true;
	o.quiet = false;
	if ((rc = parse("plan", argc, argv, &o, NULL, false, hand)) != 0)
		return rc;
	if (g->quiet)
		o.quiet = true;
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	rc = sync_run(&c, &o, NULL);
	conf_free(&c);
	return rc;
}

static int
run_sync(const struct cli_globals *g, int argc, char **argv,
	 const char **hand)
{
	struct sync_opts o;
	struct conf c;
	struct err err;
	struct run_result res;
	struct pw_deliver_result pw = {0};
	bool now = false;
	char buf[1400];
	int rc, lockfd = -1;

	memset(&o, 0, sizeof(o));
	if ((rc = parse("sync", argc, argv, &o, &now, true, hand)) != 0)
		return rc;
	if (g->quiet)
		o.quiet = true;
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	if (!o.dry_run)
		cli_warn_root(&c);
	err_clear(&err);
	/* --now: a running daemon does the run (and logs and mails it);
	 * a daemon paused after invalid credentials does not (1) */
	if (now && !o.dry_run && (rc = daemon_trigger(&c)) >= 0) {
		if (rc > 0) {
			conf_free(&c);
			return 1;
		}
		if (!o.quiet)
			fprintf(stderr, "dirsync: the daemon will sync now; "
					"its log and `dirsync history` show "
					"the result\n");
		conf_free(&c);
		return 0;
	}
	if (!o.dry_run) {
		if (lock_acquire(c.state.path, &lockfd, &err) != 0) {
			rc = sync_refused(&o, &err);
			conf_free(&c);
			return rc;
		}
	}
	/* passwords first: they are ahead of any other change, and the
	 * run's report lists each one written */
	if (!o.dry_run)
		pw_deliver_before_sync(&c, &pw);
	o.passwords = pw.v;
	o.npasswords = (size_t)pw.delivered;
	rc = sync_run(&c, &o, &res);
	pw_deliver_result_free(&pw);
	sync_note(lockfd, &res);
	lock_release(lockfd);
	if (!o.dry_run && notify_send(&c, res.report, rc, &err) != 0)
		log_warn("notification not sent: %s",
			 err_fmt(&err, buf, sizeof(buf)));
	run_result_free(&res);
	conf_free(&c);
	return rc;
}

/* --handover's addresses: at most one per argument */
int
cmd_plan(const struct cli_globals *g, int argc, char **argv)
{
	const char **hand = xcalloc((size_t)argc + 1, sizeof(*hand));
	int rc = run_plan(g, argc, argv, hand);

	free(hand);
	return rc;
}

int
cmd_sync(const struct cli_globals *g, int argc, char **argv)
{
	const char **hand = xcalloc((size_t)argc + 1, sizeof(*hand));
	int rc = run_sync(g, argc, argv, hand);

	free(hand);
	return rc;
}

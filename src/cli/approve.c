/*
 * `dirsync approve RUN_ID`: apply exactly the plan a safety limit stopped,
 * if the directory and the target still give that plan.
 *
 * The stopped run kept its plan in the state database (report_plan_text,
 * runs.plan).  Without a daemon, approve does the run itself, as `sync`
 * would, with that plan as the only one allowed past the limit.  With the
 * daemon holding the state's lock, the approval is left in the state
 * (state_approval_set) and the daemon woken (SIGUSR1): its next run takes
 * it, and its log, mail and `dirsync history` say how it went.
 *
 * Exit codes: 0 applied (or handed to the daemon), 3 refused because the
 * plan changed (what changed is printed, nothing applied), 1 and 2 as for
 * sync, and 2 for a run there is nothing to approve of (approve_check):
 * none with that id, not a limit stop, no plan kept, already applied,
 * out of date, or not the newest stop.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/daemon.h"
#include "cli/sync.h"
#include "report/notify.h"
#include "state/state.h"
#include "util/lock.h"
#include "util/log.h"

static const char approve_usage[] =
	"usage: dirsync [-c FILE] approve RUN_ID [--json]";

int
approve_check(struct state *st, long long id, char **plan, bool *held,
	      char *why, size_t n, struct err *err)
{
	struct run_approval a;
	int rc = 2;

	*plan = NULL;
	*held = false;
	why[0] = '\0';
	if (state_run_approval(st, id, &a, err) != 0) {
		run_approval_free(&a);
		return 1;
	}
	if (!a.found)
		snprintf(why, n, "there is no run %lld in the state database "
			 "(`dirsync history` lists the runs)", id);
	else if (a.exit_code != 3)
		snprintf(why, n, "run %lld was not stopped by a safety limit "
			 "(exit %d): nothing to approve", id, a.exit_code);
	else if (a.plan == NULL && a.limit != NULL &&
		 strcmp(a.limit, "allow_empty") == 0)
		/* neither approve nor --force-limits lifts allow_empty */
		snprintf(why, n, "run %lld read no object in scope, and an "
			 "empty directory read cannot be approved (nor "
			 "forced): fix [source] base_dn or filter, or "
			 "[scope] (`dirsync test` shows what is in scope); "
			 "if the directory is really meant to have no object "
			 "in scope, set `allow_empty = yes` in [safety]", id);
	else if (a.plan == NULL && a.limit == NULL)
		/* an approval that found the plan changed and within every
		 * limit (engine.c, stage_limits) */
		snprintf(why, n, "run %lld was stopped by no safety limit (an "
			 "approval that found the plan changed): nothing to "
			 "approve; `dirsync plan` shows what a sync would "
			 "change, `dirsync sync` applies it", id);
	else if (a.plan == NULL)
		snprintf(why, n, "run %lld kept no plan (runs recorded before "
			 "dirsync kept plans have none); use `dirsync plan` "
			 "and `dirsync sync --force-limits`", id);
	else if (a.applied_by > 0)
		snprintf(why, n, "run %lld was already applied by run %lld: "
			 "nothing to approve", id, a.applied_by);
	else if (a.synced_by > 0 && a.newer_stop > a.synced_by)
		snprintf(why, n, "run %lld is out of date: run %lld synced "
			 "after it; the newest limit stop is run %lld: review "
			 "it with `dirsync show %lld` and approve that one",
			 id, a.synced_by, a.newer_stop, a.newer_stop);
	else if (a.synced_by > 0)
		snprintf(why, n, "run %lld is out of date: run %lld synced "
			 "after it, so its plan no longer says what a sync "
			 "would change; nothing to approve (`dirsync plan` "
			 "shows what it would change now)", id, a.synced_by);
	else if (a.newer_stop > 0 && !a.newer_same)
		snprintf(why, n, "run %lld is not the newest limit stop: run "
			 "%lld after it kept another plan; review it with "
			 "`dirsync show %lld` and approve that one", id,
			 a.newer_stop, a.newer_stop);
	else
		rc = 0;
	if (rc == 0) {
		*plan = a.plan;
		a.plan = NULL;
		*held = a.held;
	}
	run_approval_free(&a);
	return rc;
}

/* The plan kept with run id; 0, or an exit code with the reason logged. */
static int
approve_load(const struct conf *c, long long id, char **plan, bool *held)
{
	struct state *st = NULL;
	struct err err;
	char buf[1400], why[1024];
	int rc = 1;

	err_clear(&err);
	if (state_open(&st, c->state.path, true, &err) != 0 ||
	    (rc = approve_check(st, id, plan, held, why, sizeof(why),
				 &err)) == 1)
		log_err("approve: %s", err_fmt(&err, buf, sizeof(buf)));
	else if (rc != 0)
		log_err("approve: %s", why);
	state_close(st);
	return rc;
}

/* The daemon holds the lock: leave the approval for its next run. */
static int
approve_by_daemon(const struct conf *c, long long id)
{
	struct state *st = NULL;
	struct err err;
	char buf[1400];
	int rc = 1;

	err_clear(&err);
	if (state_open(&st, c->state.path, false, &err) != 0 ||
	    state_approval_set(st, id, &err) != 0) {
		log_err("approve: %s", err_fmt(&err, buf, sizeof(buf)));
		goto done;
	}
	if (daemon_trigger(c) != 0) {
		log_err("approve: the daemon did not take the signal; its "
			"next run applies the approval");
		goto done;
	}
	fprintf(stderr, "dirsync: the daemon applies the plan of run %lld "
			"now, if it is still the same; its log and `dirsync "
			"history` show the result\n",
		id);
	rc = 0;
done:
	state_close(st);
	return rc;
}

static int
approve_parse(int argc, char **argv, long long *id, bool *json)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j') {
			log_err("approve: unknown option '%s'; %s",
				argv[optind - 1], approve_usage);
			return 2;
		}
		*json = true;
	}
	if (optind != argc - 1) {
		log_err("approve: %s", approve_usage);
		return 2;
	}
	errno = 0;
	*id = strtoll(argv[optind], &end, 10);
	if (errno != 0 || end == argv[optind] || *end != '\0' || *id < 1 ||
	    *id > 0x7fffffffLL) {
		log_err("approve: '%s' is not a run id; %s", argv[optind],
			approve_usage);
		return 2;
	}
	return 0;
}

int
cmd_approve(const struct cli_globals *g, int argc, char **argv)
{
	struct sync_opts o;
	struct run_result res;
	struct conf c;
	struct err err;
	char buf[1400], *plan = NULL;
	long long id = 0;
	int rc, lockfd = -1;

	memset(&o, 0, sizeof(o));
	if ((rc = approve_parse(argc, argv, &id, &o.json)) != 0)
		return rc;
	o.quiet = g->quiet;
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	cli_warn_root(&c);
	if ((rc = approve_load(&c, id, &plan, &o.approve_held)) != 0)
		goto done;
	err_clear(&err);
	if (lock_acquire(c.state.path, &lockfd, &err) != 0) {
		bool is_daemon = false;

		if (lock_holder_role(c.state.path, &is_daemon) > 0 &&
		    is_daemon) {
			rc = approve_by_daemon(&c, id);
			goto done;
		}
		rc = sync_refused(&o, &err);
		goto done;
	}
	o.approve_run = id;
	o.approve_plan = plan;
	rc = sync_run(&c, &o, &res);
	sync_note(lockfd, &res);
	lock_release(lockfd);
	if (notify_send(&c, res.report, rc, &err) != 0)
		log_warn("notification not sent: %s",
			 err_fmt(&err, buf, sizeof(buf)));
	run_result_free(&res);
done:
	free(plan);
	conf_free(&c);
	return rc;
}

/*
 * cli.h - one function per command; main.c only dispatches.
 *
 * Each takes the config path and the arguments after the command name
 * and returns the process exit code (0, 1, 2 or 3; see dirsync(8)).
 */
#ifndef DS_CLI_H
#define DS_CLI_H

#include "conf/conf.h"

struct cli_globals {
	const char *conf_path;
	int verbose;
	bool quiet;
};

int cmd_check(const struct cli_globals *g, int argc, char **argv);
int cmd_test(const struct cli_globals *g, int argc, char **argv);
int cmd_plan(const struct cli_globals *g, int argc, char **argv);
int cmd_sync(const struct cli_globals *g, int argc, char **argv);
int cmd_history(const struct cli_globals *g, int argc, char **argv);
int cmd_show(const struct cli_globals *g, int argc, char **argv);
int cmd_rebuild_state(const struct cli_globals *g, int argc, char **argv);
int cmd_passwd_hook(const struct cli_globals *g, int argc, char **argv);
/* 0 when WHO matched something, 1 when nothing did (explain.c). */
int cmd_explain(const struct cli_globals *g, int argc, char **argv);
int cmd_approve(const struct cli_globals *g, int argc, char **argv);
/* Exit codes are Nagios states here: 0 OK .. 3 UNKNOWN (status.c). */
int cmd_status(const struct cli_globals *g, int argc, char **argv);

/* Loads the config or prints "file:line: message" and returns 2. */
int cli_load_conf(const struct cli_globals *g, struct conf *c);
/*
 * For the commands that create files: warns when we run as root while the
 * config belongs to another user, since the state database, its lock and
 * journals and an SQLite mail database created now would be root's and
 * that user's dirsync could no longer write them.  Names the user and
 * says `runuser -u USER --` / `sudo -u USER`.
 */
void cli_warn_root(const struct conf *c);

struct state;
struct err;
/*
 * Whether the plan of run id can be approved (`dirsync approve`, and the
 * daemon taking an approval): 0 with its plan in *plan (malloc'd); 2
 * with the reason in why (n bytes): no such run, not a limit stop, no
 * plan kept (allow_empty, or a run of an older dirsync), applied already
 * (by an approval of it or of a stop with the same plan), out of date (a
 * later run synced), or a newer limit stop kept another plan; 1 when the
 * state could not be read (err).  *held: the run held only its removals
 * back (hold_removals): see engine_opts.approve_held.
 */
int approve_check(struct state *st, long long id, char **plan, bool *held,
		  char *why, size_t n, struct err *err);

#endif

/*
 * daemon.h - `dirsync daemon` and `dirsync sync --now`.
 *
 * The daemon takes the state database's lock for its whole life (see
 * util/lock.h), then syncs every [schedule] interval with a little jitter.
 * Signals only set flags; the loop acts on them between runs:
 *   SIGUSR1          one run at once
 *   SIGHUP           reload the config (validated first; the old one is
 *                    kept when the new one is bad)
 * After invalid credentials (LDAP result 49) the daemon binds no more, on
 * schedule or on SIGUSR1, until a SIGHUP loads a config (changed or not):
 * retries would lock the service account out under a lockout policy.
 *   SIGTERM, SIGINT  stop; a run under way is stopped through
 *                    engine_stop_requested, its apply rolled back
 * Without -f it detaches and logs to syslog; under systemd (NOTIFY_SOCKET
 * set) it stays attached, logs to syslog and reports READY=1 / STATUS= by
 * writing the datagram itself, so there is no libsystemd dependency.
 */
#ifndef DS_DAEMON_H
#define DS_DAEMON_H

#include "cli/cli.h"
#include "conf/conf.h"

/* `dirsync [-c FILE] [-v] daemon [-f]`; returns the exit code. */
int cmd_daemon(const struct cli_globals *g, int argc, char **argv);

/*
 * If a daemon holds the lock of c's state database, sends it SIGUSR1 and
 * returns 0; returns -1 if none is running (or it cannot be signalled):
 * then the caller runs the sync itself; returns 1 (and logs why) if the
 * daemon is paused after invalid credentials and so would not run.
 */
int daemon_trigger(const struct conf *c);

#endif

/*
 * web.h - the daemon's read-only status page and Prometheus /metrics,
 * served with GNU libmicrohttpd when [web] listen is set (off by default).
 *
 *   GET  /            the last runs with their summaries, a "Sync now" form
 *   GET  /run/N       one run's report, as `dirsync show N` prints it
 *   GET  /config      the effective configuration, secrets masked
 *                     (conf_dump)
 *   GET  /metrics     Prometheus text exposition format 0.0.4
 *   POST /sync        asks the daemon for a run now; same-origin only
 *
 * Run data comes from the state database only (state_history,
 * state_run_report), opened read-only per request, and from the lock
 * file's note of a run that could not be recorded there (lock_note_read);
 * the server changes nothing but the "sync now" request.  Requests are
 * served one at a time on libmicrohttpd's own thread, which inherits the
 * daemon's blocked signals.
 *
 * Host checks (DNS rebinding): a server bound to one address answers only
 * requests whose Host is that address:port (or localhost:port for a
 * loopback address); bound to a wildcard (0.0.0.0, ::), any Host.  POST
 * /sync also needs an Origin (or, without one, a Referer) of
 * http://HOST:PORT, the same Host: a form on another site cannot start a
 * run.
 */
#ifndef DS_WEB_H
#define DS_WEB_H

#include "conf/conf.h"
#include "util/err.h"

struct web;

/*
 * Binds and listens on c->web.listen, before the daemon detaches, so that
 * "address in use" reaches the terminal.  *out is NULL (and 0 returned)
 * when [web] listen is empty.  -1 with err (DS_E_CONFIG for the address,
 * errno in lib_rc) on failure.  Keeps a copy of what it needs from c.
 */
int web_open(struct web **out, const struct conf *c, struct err *err);

/*
 * Starts serving on libmicrohttpd's thread (after detaching: threads do
 * not survive fork).  sync_now is called, on that thread, for a valid POST
 * /sync; it must be async-signal-safe in spirit (the daemon's sends itself
 * SIGUSR1).  NULL w: nothing to do, returns 0.
 */
int web_start(struct web *w, void (*sync_now)(void), struct err *err);

/*
 * A reloaded configuration: the /config page and the state path follow
 * it.  A changed listen address needs a restart; it is logged, not taken.
 */
void web_set_conf(struct web *w, const struct conf *c);

/* Stops the thread, closes the socket, frees w.  NULL-safe. */
void web_close(struct web *w);

#endif

/*
 * notify.h - the run report by email (libcurl SMTP).
 *
 * [notify] smtp_url = smtp://host[:port] (STARTTLS when the server offers
 * it; required when credentials are sent to a host that is not loopback)
 * or smtps://host[:port] (TLS from the first byte, certificate verified).
 * The URL must not carry credentials.  Authentication is optional and comes
 * from, in this order:
 *   - the environment: DIRSYNC_SMTP_USER and DIRSYNC_SMTP_PASSWORD;
 *   - a netrc(5)-style file: $DIRSYNC_SMTP_NETRC, else `smtp.netrc` next
 *     to the config file (/etc/dirsync/smtp.netrc), used when it exists and
 *     has an entry for the SMTP host; refused unless mode 600 or stricter.
 * The mail is a MIME message: a plain-text summary (notify_summary()) and
 * the JSON report attached as dirsync-run-N.json.
 */
#ifndef DS_NOTIFY_H
#define DS_NOTIFY_H

#include <stdbool.h>

#include <jansson.h>

#include "conf/conf.h"
#include "util/err.h"

/*
 * Sends the run summary per [notify] when = changes|errors|always.
 * report may be NULL (a run that failed before producing one).  Returns 0
 * when sent or not wanted (no smtp_url, or `when` says no), -1 with err on
 * failure (err->object = the SMTP server, never credentials): the caller
 * logs it as a warning and never fails the run for it.  Nothing is logged
 * here but a debug line.
 */
int notify_send(const struct conf *c, const json_t *report, int exit_code,
		struct err *err);
/* Whether [notify] when asks for a mail about this run. */
bool notify_wanted(const struct conf *c, const json_t *report, int exit_code);
/* The human summary text of a report (also used in the mail body); the
 * caller frees it.  Never NULL. */
char *notify_summary(const json_t *report, int exit_code);
/* The one-line subject: "dirsync run 42 on HOST: 3 added, 1 updated". */
char *notify_subject(const json_t *report, int exit_code);

#endif

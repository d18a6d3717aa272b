#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "util/buf.h"

static const char *log_ident = "dirsync";
static int log_verbosity = 0; /* 0: warnings and errors, 1: info, 2: debug */
static int log_syslog = 0;

void
log_init(const char *ident, int verbosity, int use_syslog)
{
	if (ident != NULL)
		log_ident = ident;
	log_verbosity = verbosity;
	if (use_syslog && !log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && log_syslog)
		closelog();
	log_syslog = use_syslog;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *const tag[] = {"error: ", "warning: ", "", "debug: "};
	va_list ap;
	char *msg;
	int n;
	struct buf b = BUF_INIT;

	if ((lvl == LOG_LVL_INFO && log_verbosity < 1 && !log_syslog) ||
	    (lvl == LOG_LVL_DEBUG && log_verbosity < 2))
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	msg = malloc((size_t)n + 1);
	if (msg == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	/* one message, one line, whatever the values in it hold */
	buf_add_printable(&b, msg);
	if (log_syslog)
		syslog(prio[lvl], "%s", buf_str(&b));
	else
		fprintf(stderr, "%s: %s%s\n", log_ident, tag[lvl], buf_str(&b));
	buf_free(&b);
	free(msg);
}

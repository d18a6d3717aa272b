#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

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

	if ((lvl == LOG_LVL_INFO && log_verbosity < 1 && !log_syslog) ||
	    (lvl == LOG_LVL_DEBUG && log_verbosity < 2))
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio[lvl], fmt, ap);
	} else {
		fprintf(stderr, "%s: %s", log_ident, tag[lvl]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

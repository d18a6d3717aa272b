/*
 * notify_recall.h - what earlier runs say about this run's mail, so that
 * a limit stop is mailed once, then at most once a day, and its end is
 * mailed too.
 *
 * Derived from the state database's history alone (state_history, and
 * state_run_report for the run before), nothing stored: a "stop" is a
 * series of consecutive runs that ended with exit 3, the run before this
 * one stopped by the same limit.
 */
#ifndef DS_NOTIFY_RECALL_H
#define DS_NOTIFY_RECALL_H

#include <jansson.h>

#include "conf/conf.h"

enum notify_recall_kind {
	NR_NONE,       /* nothing special: [notify] when decides */
	NR_REPEAT,     /* the same stop as the run before, no new day: no mail */
	NR_REMINDER,   /* the same stop, a new day since it began: mail */
	NR_RECOVERED,  /* exit 0 right after a stop: mail, whatever `when` */
};

struct notify_recall {
	enum notify_recall_kind kind;
	long long since_run;   /* the first run of the stop (not NR_NONE) */
	char since[32];        /* its start, ISO 8601 UTC */
};

/*
 * Fills *out for report's run, which must be recorded already (its
 * run_id > 0); anything else, or a state database that cannot be read,
 * gives NR_NONE: a mail too many rather than one missing.
 */
void notify_recall(const struct conf *c, const json_t *report, int exit_code,
		   struct notify_recall *out);

#endif

/*
 * target.h - the mail side: a table of functions per target type.
 *
 * open() connects, creates the tables when missing and checks the schema
 * (every statement the target will run is validated here, so a wrong
 * schema fails before any change).  load() reports what the target holds
 * as mail objects.  begin/apply/commit/rollback bracket one transaction:
 * either every change of a run lands or none does.
 */
#ifndef DS_TARGET_H
#define DS_TARGET_H

#include <stdbool.h>

#include "conf/conf.h"
#include "model/mail.h"
#include "plan/plan.h"
#include "util/err.h"

struct target;

struct target_ops {
	const char *name;
	/*
	 * readonly (plan, dry runs): create nothing, change nothing; a
	 * database or table that does not exist yet reads as empty.
	 */
	int (*open)(struct target **out, const struct conf *conf,
		    bool readonly, struct err *err);
	int (*load)(struct target *t, struct mset *current, struct err *err);
	int (*begin)(struct target *t, struct err *err);
	int (*apply)(struct target *t, const struct change *ch,
		     struct err *err);
	int (*commit)(struct target *t, struct err *err);
	int (*rollback)(struct target *t, struct err *err);
	void (*close)(struct target *t);
};

extern const struct target_ops target_sql_ops;

const struct target_ops *target_ops_for(const struct conf *conf);

#endif

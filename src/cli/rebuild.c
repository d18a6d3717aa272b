/* `dirsync rebuild-state`: a new state database, the old one kept. */
#include <stdio.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "util/lock.h"
#include "util/log.h"

int
cmd_rebuild_state(const struct cli_globals *g, int argc, char **argv)
{
	struct rebuild rb;
	struct conf c;
	struct err err;
	char buf[1400];
	int rc, lockfd = -1;

	if (argc > 1) {
		log_err("rebuild-state: unexpected argument '%s'", argv[1]);
		return 2;
	}
	if ((rc = cli_load_conf(g, &c)) != 0)
		return rc;
	cli_warn_root(&c);
	err_clear(&err);
	if (lock_acquire(c.state.path, &lockfd, &err) != 0 ||
	    engine_rebuild_state(&c, &rb, &err) != 0) {
		log_err("rebuild-state: %s", err_fmt(&err, buf, sizeof(buf)));
		lock_release(lockfd);
		conf_free(&c);
		return err.code == DS_E_CONFIG ? 2 : 1;
	}
	lock_release(lockfd);
	printf("new state database %s\n", c.state.path);
	if (rb.readopted)
		printf("re-adopted: %zu objects recorded as dirsync's by "
		       "address (the target had no record; run %lld), %ld "
		       "conflicts left as they are\n",
		       rb.adopted, rb.run_id, rb.conflicts);
	else
		printf("kept:      which objects are dirsync's (%zu, recorded "
		       "in the target)\n", rb.owned);
	if (rb.had_state && rb.unreadable)
		printf("not kept:  the old file could not be read; it is %s\n",
		       rb.backup);
	else if (rb.had_state)
		printf("not kept:  the run history (%ld runs); the old file is "
		       "%s\n", rb.runs, rb.backup);
	conf_free(&c);
	return 0;
}

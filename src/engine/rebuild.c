/*
 * rebuild.c - `dirsync rebuild-state`: a new state database for a target
 * that keeps its own record of ownership.  The old file is kept beside
 * it, never deleted: its run history cannot be rebuilt.
 */
#include "engine/engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "state/state.h"
#include "util/log.h"

/* How many objects the target itself records as dirsync's. */
static int
count_owned(const struct conf *c, const struct target_ops *tops,
	    size_t *owned, struct err *err)
{
	struct target *t = NULL;
	struct mset cur;
	struct managed m;
	int rc = -1;

	mset_init(&cur);
	managed_init(&m);
	if (tops->open(&t, c, true, err) == 0 && tops->load(t, &cur, err) == 0) {
		rc = tops->load_managed(t, &m, &cur, NULL, err);
		if (rc == 1)   /* no table of its own: the state is the record */
			rc = err_set(err, DS_E_STATE,
				     "the mail database has no table "
				     "dirsync_managed and this role cannot "
				     "create it: the state database is the "
				     "record of what dirsync manages and "
				     "cannot be rebuilt (create the table as "
				     "docs/mail-server.md shows)");
		*owned = m.n;
	}
	if (t != NULL)
		tops->close(t);
	managed_free(&m);
	mset_free(&cur);
	return rc;
}

/* The old file: counted, then moved aside (unless it had not been made). */
static int
archive_old(const struct conf *c, size_t owned, struct rebuild *out,
	    struct err *err)
{
	struct state *st = NULL;
	struct stat sb;
	long managed = 0;
	char stamp[32], stem[4200];
	time_t now = time(NULL);

	if (stat(c->state.path, &sb) != 0)
		return errno == ENOENT ? 0 : err_set(err, DS_E_IO, "%s: %s",
						     c->state.path,
						     strerror(errno));
	out->had_state = true;
	if (state_file_foreign(c->state.path)) {
		err_object(err, c->state.path);
		return err_set(err, DS_E_STATE,
			       "a text file, not an SQLite database, so not "
			       "a damaged state: left where it is (is "
			       "[state] path right?)");
	}
	if (state_open(&st, c->state.path, true, err) != 0 ||
	    state_counts(st, &managed, &out->runs, err) != 0) {
		/* corrupt: what rebuild-state is for; moved aside as it is */
		log_warn("%s cannot be read (%s): moved aside as it is",
			 c->state.path, err->msg);
		err_clear(err);
		out->unreadable = true;
		managed = 0;
	}
	state_close(st);
	if (managed > 0 && owned == 0) {
		err_object(err, c->state.path);
		return err_set(err, DS_E_STATE,
			       "it still holds %ld managed records that the "
			       "target does not have yet: run `dirsync sync` "
			       "once (it moves them), then rebuild", managed);
	}
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
	snprintf(stem, sizeof(stem), "%s.old-%s", c->state.path, stamp);
	return state_archive(c->state.path, stem, out->backup,
			     sizeof(out->backup), err);
}

/* The target has no record of ownership: re-adopt by address. */
static int
readopt(const struct conf *c, struct rebuild *out, struct err *err)
{
	struct engine_opts o;
	struct run_result r;
	int rc;

	memset(&o, 0, sizeof(o));
	o.mode = "rebuild-state";
	o.readopt = true;
	o.quiet = true;
	rc = engine_run(c, &o, &r);
	out->readopted = true;
	out->run_id = r.run_id;
	if (rc == 0) {
		out->adopted = r.plan.n;
		out->conflicts = run_counts(&r).conflict;
	} else {
		*err = r.err;
	}
	run_result_free(&r);
	return rc == 0 ? 0 : -1;
}

int
engine_rebuild_state(const struct conf *c, struct rebuild *out,
		     struct err *err)
{
	const struct target_ops *tops = target_ops_for(c, err);
	struct state *st = NULL;
	char ident[1024];

	memset(out, 0, sizeof(*out));
	if (tops == NULL)
		return -1;
	if (tops->load_managed == NULL)
		return err_set(err, DS_E_STATE,
			       "target type %s keeps no record of what dirsync "
			       "manages: the state database is that record "
			       "and cannot be rebuilt", tops->name);
	if (count_owned(c, tops, &out->owned, err) != 0 ||
	    archive_old(c, out->owned, out, err) != 0)
		return -1;
	target_identity(c, ident, sizeof(ident));
	if (state_open(&st, c->state.path, false, err) != 0 ||
	    state_bind_target(st, ident, false, err) != 0) {
		state_close(st);
		return -1;
	}
	state_close(st);
	return out->owned == 0 ? readopt(c, out, err) : 0;
}

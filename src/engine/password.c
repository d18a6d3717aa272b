/*
 * password.c - the engine's side of `dirsync passwd-hook`: which mailbox
 * a directory object has, and one password hash written now.
 */
#include "engine/engine.h"

#include <stdlib.h>

#include "state/state.h"

int
engine_mailbox_of(const struct conf *c, const char *anchor, char **address,
		  long long *disabled_at, struct err *err)
{
	const struct target_ops *tops = target_ops_for(c, err);
	struct target *t = NULL;
	struct state *st = NULL;
	int rc;

	*address = NULL;
	*disabled_at = 0;
	if (tops == NULL)
		return -1;
	if (tops->managed_mailbox != NULL) {
		if (tops->open(&t, c, true, err) != 0)
			return -1;
		rc = tops->managed_mailbox(t, anchor, address, disabled_at,
					   err);
		tops->close(t);
		if (rc < 0 || (rc == 0 && *address != NULL))
			return rc;
	}
	/* a target without its own record, or records not moved yet */
	if (state_open(&st, c->state.path, true, err) != 0)
		return -1;
	rc = state_mailbox_of(st, anchor, address, disabled_at, err);
	state_close(st);
	return rc;
}

int
engine_set_password(const struct conf *c, const char *address,
		    const char *hash, struct err *err)
{
	const struct target_ops *tops = target_ops_for(c, err);
	struct target *t = NULL;
	int rc;

	if (tops == NULL)
		return -1;
	if (tops->set_password == NULL || !(tops->caps & TCAP_PASSWORDS))
		return err_set(err, DS_E_CONFIG, "target type '%s' takes no "
			       "passwords", tops->name);
	if (tops->open(&t, c, false, err) != 0)
		return -1;
	rc = tops->set_password(t, address, hash, err);
	tops->close(t);
	return rc;
}

bool
engine_passwords_plain(const struct conf *c)
{
	struct err err;
	const struct target_ops *tops;

	err_clear(&err);
	tops = target_ops_for(c, &err);
	return tops != NULL && (tops->caps & TCAP_PASSWORDS_PLAIN) &&
	       tops->set_password_plain != NULL;
}

int
engine_set_password_plain(const struct conf *c, const char *address,
			  const char *pw, size_t len, struct err *err)
{
	const struct target_ops *tops = target_ops_for(c, err);
	struct target *t = NULL;
	struct state *st = NULL;
	char *tid = NULL;
	int rc;

	if (tops == NULL)
		return -1;
	if (tops->set_password_plain == NULL)
		return err_set(err, DS_E_CONFIG, "target type '%s' takes no "
			       "cleartext passwords", tops->name);
	if (state_open(&st, c->state.path, true, err) != 0)
		return -1;
	rc = state_target_id_of(st, address, &tid, err);
	state_close(st);
	if (rc != 0)
		return -1;
	if (tops->open(&t, c, false, err) == 0) {
		rc = tops->set_password_plain(t, address, tid, pw, len, err);
		tops->close(t);
	} else {
		rc = -1;
	}
	free(tid);
	return rc;
}

int
engine_probe_target(const struct conf *c, struct err *err)
{
	const struct target_ops *tops = target_ops_for(c, err);
	struct target *t = NULL;

	if (tops == NULL || tops->open(&t, c, true, err) != 0)
		return -1;
	tops->close(t);
	return 0;
}

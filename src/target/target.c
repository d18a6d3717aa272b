/*
 * target.c - the target registry: `[target] type` -> its ops.
 *
 * A new target is one file exporting a `struct target_ops` and one line
 * here.  Hidden targets (the in-memory one the engine's unit tests use)
 * are reachable through target_lookup() but not offered to users.
 */
#include "target/target.h"

#include <stdio.h>
#include <string.h>

const struct target_ops *const target_registry[] = {
	&target_sql_ops,
	&target_scim_ops,
	&target_memory_ops,
	&target_memory_po_ops,
	&target_memory_pb_ops,
	&target_memory_fp_ops,
	NULL,
};

/* conf.h's enum tgt_type, by name (the config file's spelling). */
static const char *const type_names[] = {
	[TGT_SQL] = "sql",
	[TGT_SCIM] = "scim",
};

const struct target_ops *
target_lookup(const char *type)
{
	size_t i;

	for (i = 0; target_registry[i] != NULL; i++)
		if (strcmp(target_registry[i]->name, type) == 0)
			return target_registry[i];
	return NULL;
}

const struct target_ops *
target_ops_for(const struct conf *conf, struct err *err)
{
	const char *name = type_names[conf->target.type];
	const struct target_ops *ops = target_lookup(name);

	if (ops == NULL || ops->hidden) {
		err_set(err, DS_E_CONFIG,
			"target type %s is not available in this version",
			name);
		return NULL;
	}
	return ops;
}

void
target_identity(const struct conf *conf, char *buf, size_t len)
{
	const char *url = conf->target.url ? conf->target.url : "";
	const char *auth = strstr(url, "://"), *at, *colon, *q;
	size_t n;

	n = (size_t)snprintf(buf, len, "%s ", type_names[conf->target.type]);
	if (n >= len)
		return;
	buf += n;
	len -= n;
	/* user:password@host -> user@host */
	at = auth != NULL ? strchr(auth + 3, '@') : NULL;
	colon = auth != NULL ? strchr(auth + 3, ':') : NULL;
	if (at != NULL && colon != NULL && colon < at &&
	    memchr(auth + 3, '/', (size_t)(at - auth - 3)) == NULL)
		snprintf(buf, len, "%.*s%s", (int)(colon - url), url, at);
	else
		snprintf(buf, len, "%s", url);
	/* ...?password=x&y=z -> ...?y=z (the rest of the query kept) */
	while ((q = strstr(buf, "password=")) != NULL &&
	       (q[-1] == '?' || q[-1] == '&')) {
		const char *end = strchr(q, '&');

		memmove((char *)q, end != NULL ? end + 1 : q + strlen(q),
			strlen(end != NULL ? end + 1 : q + strlen(q)) + 1);
	}
}

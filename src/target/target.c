/*
 * target.c - the target registry: `[target] type` -> its ops.
 *
 * A new target is one file exporting a `struct target_ops` and one line
 * here.  Hidden targets (the in-memory one the engine's unit tests use)
 * are reachable through target_lookup() but not offered to users.
 */
#include "target/target.h"

#include <string.h>

const struct target_ops *const target_registry[] = {
	&target_sql_ops,
	&target_memory_ops,
	&target_memory_po_ops,
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

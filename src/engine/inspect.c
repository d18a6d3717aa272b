/*
 * inspect.c - the engine's half of `dirsync test`: connect, read, apply
 * the rules, and load the target read-only.  Changes nothing, records
 * nothing; the command prints what it finds.
 */
#include "engine/stage.h"

#include <stdlib.h>
#include <string.h>

struct counting {
	struct rules_ctx *rules;
	size_t read;
};

static int
add_entry(void *arg, const struct entry *e, struct err *err)
{
	struct counting *cn = arg;

	(void)err;
	cn->read++;
	rules_add(cn->rules, e);
	return 0;
}

static int
failed(struct inspect *i, const char *stage)
{
	i->stage = stage;
	return -1;
}

static int
inspect_source(const struct conf *c, struct inspect *i)
{
	const struct source_ops *sops = source_ops_for(c);
	struct source *src = NULL;
	struct counting cn = {NULL, 0};
	const char **keep;
	int rc;

	if (sops->open(&src, c, &i->info, &i->err) != 0)
		return failed(i, "source");
	i->filter = source_effective_filter(c, &i->info);
	if ((cn.rules = rules_begin(c, &i->rules, &i->err)) == NULL) {
		sops->close(src);
		return failed(i, "rules");
	}
	keep = rules_attrs(c);
	rc = sops->read(src, i->filter, keep, add_entry, &cn, &i->err);
	sops->close(src);
	free(keep);
	i->read = cn.read;
	if (rc != 0) {
		rules_abort(cn.rules);
		return failed(i, "read");
	}
	i->read_done = true;
	if (rules_end(cn.rules, &i->err) != 0)
		return failed(i, "rules");
	i->have_rules = true;
	return 0;
}

int
engine_inspect(const struct conf *c, struct inspect *i)
{
	const struct target_ops *tops;
	struct target *tgt = NULL;
	int rc = 0;

	memset(i, 0, sizeof(*i));
	err_clear(&i->err);
	rules_init(&i->rules);
	mset_init(&i->current);
	if (inspect_source(c, i) != 0)
		return -1;
	if ((tops = target_ops_for(c, &i->err)) == NULL)
		return failed(i, "target");
	if (tops->open(&tgt, c, true, &i->err) != 0 ||
	    tops->load(tgt, &i->current, &i->err) != 0)
		rc = failed(i, "target");
	else
		i->have_target = true;
	if (tgt != NULL)
		tops->close(tgt);
	return rc;
}

void
inspect_free(struct inspect *i)
{
	rules_free(&i->rules);
	mset_free(&i->current);
}

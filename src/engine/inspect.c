/*
 * inspect.c - the engine's half of `dirsync test`: connect, read, apply
 * the rules, and load the target read-only.  Changes nothing, records
 * nothing; the command prints what it finds.
 */
#include "engine/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

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
probe_entry(void *ctx, const char *uuid, const struct entry *e,
	    struct err *err)
{
	(void)ctx;
	(void)uuid;
	(void)e;
	(void)err;
	return 0;
}

static int
probe_uuid(void *ctx, const char *uuid, struct err *err)
{
	(void)ctx;
	(void)uuid;
	(void)err;
	return 0;
}

/*
 * Can runs read only what changed?  A content sync (RFC 4533 on
 * OpenLDAP, DirSync on AD) without a cookie and with a filter matching
 * nothing: a server that answers with a cookie can (a user trial: test
 * and check said nothing of it, so a missing syncprov showed only as
 * every run reading the whole directory).
 */
static void
probe_incremental(const struct source_ops *sops, struct source *src,
		  const char **keep, struct inspect *i)
{
	const struct source_sync_cb cb = {probe_entry, probe_uuid,
					  probe_uuid};
	const bool ad = strcmp(i->info.flavor, "ad") == 0;
	struct source_sync sy;
	struct err e;
	char buf[1400];
	int rc;

	if (sops->sync_read == NULL) {
		snprintf(i->incremental, sizeof(i->incremental), "no: an "
			 "LDIF file is read whole (a run skips the rules when "
			 "the file is the one the last run read)");
		return;
	}
	memset(&sy, 0, sizeof(sy));
	err_clear(&e);
	rc = sops->sync_read(src, "(&(objectClass=*)(!(objectClass=*)))",
			     keep, &sy, &cb, NULL, &e);
	if (rc == 0 && sy.new_cookie != NULL)
		snprintf(i->incremental, sizeof(i->incremental), "yes (%s: "
			 "after the first run, runs read what changed)",
			 ad ? "DirSync control" : "RFC 4533 content sync");
	else if (rc == 0)
		snprintf(i->incremental, sizeof(i->incremental), "no: the "
			 "server answered the content sync without a cookie: "
			 "every run reads the whole directory");
	else if (rc > 0)
		snprintf(i->incremental, sizeof(i->incremental), "no: %s%s",
			 sy.reason, sy.unsupported && !ad
					    ? " (load syncprov on this "
					      "database: docs/ldap.md)"
					    : "");
	else
		snprintf(i->incremental, sizeof(i->incremental), "not "
			 "checked: %s", err_fmt(&e, buf, sizeof(buf)));
	free(sy.new_cookie);
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
	if (rc == 0)
		probe_incremental(sops, src, keep, i);
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

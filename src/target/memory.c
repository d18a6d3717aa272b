/*
 * memory.c - an in-memory target, for the engine's unit tests and as the
 * smallest target to copy: one file plus one line in target.c.
 *
 * `[target] url = memory:NAME`.  Stores are named and live for the
 * process, so a test can run the engine twice on the same store and read
 * it back with load().  The environment variable DS_MEMORY_TARGET_FAIL
 * (read at open) makes every change to that address fail: a per-object
 * failure; DS_MEMORY_TARGET_DIE_AFTER=N makes the target itself fail
 * (no object: the run stops) once N changes have landed.  Type
 * "memory-po" is the same store behaving like a REST API: no
 * transaction, each change lands alone, and every object gets a
 * target-side id.  "memory-pb" is memory-po taking batches
 * (apply_batch), reporting each batch's changes last to first, as a
 * concurrent target may.  "memory-fp" is "memory" with a fingerprint (a
 * count of changes applied), for the fast path.
 *
 * Rows mirror the SQL target's: a mailbox, an alias-table row (alias,
 * list and contact all load as MK_ALIAS), a domain.
 */
#include "target/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct row {
	char *address, *name, *gotos;
	enum mkind kind;          /* MK_MAILBOX, MK_ALIAS or MK_DOMAIN */
	bool active;
};

struct store {
	char name[64];
	struct row *v;
	size_t n, cap;
	unsigned long seq;        /* target-side ids */
	unsigned long writes;     /* changes applied: "memory-fp"'s counter */
	struct store *next;
};

struct target {
	struct store *st;
	struct row *saved;        /* rows at begin(), for rollback */
	size_t nsaved;
	bool readonly, in_tx, per_object;
	char fail[256];
	long die_after;           /* < 0: never */
	long landed;
};

static struct store *stores;

static struct store *
store_get(const char *name)
{
	struct store *s;

	for (s = stores; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	s = xcalloc(1, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->next = stores;
	stores = s;
	return s;
}

static char *
dup0(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
row_free(struct row *r)
{
	free(r->address);
	free(r->name);
	free(r->gotos);
}

static struct row *
rows_copy(const struct row *v, size_t n)
{
	struct row *c = xcalloc(n ? n : 1, sizeof(*c));
	size_t i;

	for (i = 0; i < n; i++) {
		c[i] = v[i];
		c[i].address = dup0(v[i].address);
		c[i].name = dup0(v[i].name);
		c[i].gotos = dup0(v[i].gotos);
	}
	return c;
}

static int
mem_open(struct target **out, const struct conf *conf, bool readonly,
	 struct err *err)
{
	const char *url = conf->target.url ? conf->target.url : "";
	char name[64];
	const char *fail = getenv("DS_MEMORY_TARGET_FAIL");
	struct target *t;

	*out = NULL;
	if (strncmp(url, "memory:", 7) != 0)
		return err_set(err, DS_E_CONFIG,
			       "memory target url must be memory:NAME");
	url += 7;
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(url, "?"), url);
	t = xcalloc(1, sizeof(*t));
	t->st = store_get(name);
	t->readonly = readonly;
	if (fail != NULL)
		snprintf(t->fail, sizeof(t->fail), "%s", fail);
	t->die_after = -1;
	if (getenv("DS_MEMORY_TARGET_DIE_AFTER") != NULL)
		t->die_after = strtol(getenv("DS_MEMORY_TARGET_DIE_AFTER"),
				      NULL, 10);
	*out = t;
	return 0;
}

static int
mem_open_po(struct target **out, const struct conf *conf, bool readonly,
	    struct err *err)
{
	if (mem_open(out, conf, readonly, err) != 0)
		return -1;
	(*out)->per_object = true;
	return 0;
}

static int
mem_load(struct target *t, struct mset *cur, struct err *err)
{
	size_t i;

	for (i = 0; i < t->st->n; i++) {
		const struct row *r = &t->st->v[i];
		struct mobj o;

		memset(&o, 0, sizeof(o));
		o.address = r->address;
		o.name = r->name;
		o.gotos = r->gotos;
		o.kind = r->kind;
		o.active = r->active;
		mset_add(cur, &o);
	}
	return 0;
}

static int
mem_apply_rank(const struct change *ch)
{
	return ch->kind == MK_DOMAIN ? 0 : 1;
}

static struct row *
find(struct store *s, const char *address)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].address, address) == 0)
			return &s->v[i];
	return NULL;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = dup0(v);
}

static int
mem_begin(struct target *t, struct err *err)
{
	if (t->readonly)
		return err_set(err, DS_E_INTERNAL, "target opened read-only");
	t->saved = rows_copy(t->st->v, t->st->n);
	t->nsaved = t->st->n;
	t->in_tx = true;
	return 0;
}

static int
mem_apply(struct target *t, const struct change *ch, char *target_id,
	  struct err *err)
{
	struct store *s = t->st;
	struct row *r;

	if (t->readonly || (!t->in_tx && !t->per_object))
		return err_set(err, DS_E_INTERNAL, "apply outside a transaction");
	if (t->die_after >= 0 && t->landed >= t->die_after)
		return err_set(err, DS_E_CONNECT, "the store went away after "
			       "%ld changes", t->landed);
	if (t->fail[0] != '\0' && strcmp(ch->address, t->fail) == 0) {
		err_object(err, ch->address);
		return err_set(err, DS_E_TARGET, "refused (fail=%s)", t->fail);
	}
	t->landed++;
	r = find(s, ch->old_address ? ch->old_address : ch->address);
	s->writes++;   /* a rolled-back one too: a change for the fast path */
	switch (ch->op) {
	case OP_ADD:
		if (r != NULL) {
			err_object(err, ch->address);
			return err_set(err, DS_E_TARGET, "row exists");
		}
		s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
		r = &s->v[s->n++];
		memset(r, 0, sizeof(*r));
		r->address = xstrdup(ch->address);
		r->kind = mkind_alias_row(ch->kind) ? MK_ALIAS : ch->kind;
		r->name = dup0(ch->name);
		r->gotos = dup0(ch->gotos);
		r->active = true;
		break;
	case OP_UPDATE:
		if (r == NULL)
			break;
		if (ch->fields & CH_ADDRESS)
			set_str(&r->address, ch->address);
		if (ch->fields & CH_NAME)
			set_str(&r->name, ch->name);
		if (ch->fields & (CH_GOTO | CH_KIND))
			set_str(&r->gotos, ch->gotos);
		if (ch->fields & CH_ACTIVE)
			r->active = true;
		break;
	case OP_DISABLE:
		if (r != NULL)
			r->active = false;
		break;
	case OP_DELETE:
		if (r != NULL) {
			row_free(r);
			*r = s->v[--s->n];
		}
		break;
	default:
		return err_set(err, DS_E_INTERNAL, "unknown op");
	}
	if (target_id != NULL)
		snprintf(target_id, TARGET_ID_MAX, "m%lu", ++s->seq);
	return 0;
}

/* Whether gotos (comma-joined) names address. */
static bool
names(const char *gotos, const char *address)
{
	size_t len = strlen(address);
	const char *p = gotos;

	while (p != NULL && (p = strstr(p, address)) != NULL) {
		if ((p == gotos || p[-1] == ',') &&
		    (p[len] == '\0' || p[len] == ','))
			return true;
		p += len;
	}
	return false;
}

/* The engine's promise (target.h): a batch of independent changes. */
static int
batch_check(const struct change *const *v, size_t n, struct err *err)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			if (i == j)
				continue;
			if (v[i]->op != v[j]->op ||
			    mem_apply_rank(v[i]) != mem_apply_rank(v[j]) ||
			    strcmp(v[i]->address, v[j]->address) == 0 ||
			    names(v[i]->gotos, v[j]->address))
				return err_set(err, DS_E_INTERNAL,
					       "batch: %s and %s are not "
					       "independent", v[i]->address,
					       v[j]->address);
		}
	return 0;
}

/* Each change through mem_apply, reported last to first. */
static int
mem_apply_batch(struct target *t, const struct change *const *v, size_t n,
		target_done_fn done, void *arg, struct err *err)
{
	size_t i;

	if (batch_check(v, n, err) != 0)
		return -1;

	for (i = n; i-- > 0;) {
		char tid[TARGET_ID_MAX] = "";
		struct err e;
		int rc;

		err_clear(&e);
		rc = mem_apply(t, v[i], tid, &e);
		if (rc < 0 && e.object[0] == '\0') {
			*err = e;
			return -1;
		}
		if (done(arg, i, rc, tid, &e) != 0)
			return err_set(err, DS_E_STATE, "stopped by the "
				       "engine");
	}
	return 0;
}

static void
drop_saved(struct target *t)
{
	size_t i;

	for (i = 0; i < t->nsaved; i++)
		row_free(&t->saved[i]);
	free(t->saved);
	t->saved = NULL;
	t->nsaved = 0;
}

static int
mem_commit(struct target *t, struct err *err)
{
	drop_saved(t);
	t->in_tx = false;
	return 0;
}

static int
mem_rollback(struct target *t, struct err *err)
{
	size_t i;

	if (!t->in_tx)
		return 0;
	for (i = 0; i < t->st->n; i++)
		row_free(&t->st->v[i]);
	free(t->st->v);
	t->st->v = t->saved;
	t->st->n = t->st->cap = t->nsaved;
	t->saved = NULL;
	t->nsaved = 0;
	t->in_tx = false;
	return 0;
}

static void
mem_close(struct target *t)
{
	if (t == NULL)
		return;
	mem_rollback(t, NULL);
	free(t);
}

static int
mem_set_password(struct target *t, const char *address, const char *hash,
		 struct err *err)
{
	if (find(t->st, address) == NULL) {
		err_object(err, address);
		return err_set(err, DS_E_TARGET, "no such mailbox");
	}
	return 0;
}


const struct target_ops target_memory_ops = {
	.name = "memory",
	.caps = TCAP_TRANSACTIONAL | TCAP_DOMAINS | TCAP_PASSWORDS,
	.hidden = true,
	.open = mem_open,
	.load = mem_load,
	.begin = mem_begin,
	.apply = mem_apply,
	.commit = mem_commit,
	.rollback = mem_rollback,
	.close = mem_close,
	.apply_rank = mem_apply_rank,
	.set_password = mem_set_password,
};

/* The store's change counter (one process: nobody writes in between). */
static int
mem_fingerprint(struct target *t, char *buf, struct err *err)
{
	snprintf(buf, TARGET_FP_MAX, "%.64s:%lu", t->st->name, t->st->writes);
	return 0;
}

/* "memory" with a fingerprint: the fast path's unit tests. */
const struct target_ops target_memory_fp_ops = {
	.name = "memory-fp",
	.caps = TCAP_TRANSACTIONAL | TCAP_DOMAINS | TCAP_PASSWORDS,
	.hidden = true,
	.open = mem_open,
	.load = mem_load,
	.begin = mem_begin,
	.apply = mem_apply,
	.commit = mem_commit,
	.rollback = mem_rollback,
	.close = mem_close,
	.apply_rank = mem_apply_rank,
	.set_password = mem_set_password,
	.fingerprint = mem_fingerprint,
};

const struct target_ops target_memory_po_ops = {
	.name = "memory-po",
	.caps = TCAP_PER_OBJECT | TCAP_DOMAINS | TCAP_TARGET_ID,
	.hidden = true,
	.open = mem_open_po,
	.load = mem_load,
	.apply = mem_apply,
	.close = mem_close,
	.apply_rank = mem_apply_rank,
};

const struct target_ops target_memory_pb_ops = {
	.name = "memory-pb",
	.caps = TCAP_PER_OBJECT | TCAP_DOMAINS | TCAP_TARGET_ID,
	.hidden = true,
	.open = mem_open_po,
	.load = mem_load,
	.apply = mem_apply,
	.close = mem_close,
	.apply_rank = mem_apply_rank,
	.apply_batch = mem_apply_batch,
};

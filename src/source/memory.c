/*
 * memory.c - an in-memory source for the engine's unit tests: the entries
 * a test put there with source_memory_set(), delivered like a read of a
 * directory, optionally failing after a number of them (a partial read).
 * Not selectable from a config file.
 */
#include "source/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/filter.h"
#include "util/xalloc.h"

static const struct entry *const *mem_entries;
static size_t mem_n;
static long mem_fail_after = -1;

void
source_memory_set(const struct entry *const *v, size_t n, long fail_after)
{
	mem_entries = v;
	mem_n = n;
	mem_fail_after = fail_after;
}

struct source {
	int unused;
};

static int
mem_open(struct source **out, const struct conf *conf,
	 struct source_info *info, struct err *err)
{
	*out = xcalloc(1, sizeof(**out));
	snprintf(info->server, sizeof(info->server), "memory");
	snprintf(info->flavor, sizeof(info->flavor), "ldif");
	snprintf(info->tls, sizeof(info->tls), "n/a");
	return 0;
}

static struct source_memory_sync mem_sync;

static int
mem_read(struct source *src, const char *filter, const char *const *attrs,
	 source_entry_cb cb, void *ctx, struct err *err)
{
	/* with mem_sync.filtered, a search answers what matches, as a
	 * server would (the groups read again by an incremental read) */
	struct filter *f = mem_sync.filtered && filter != NULL
				   ? filter_parse(filter, err)
				   : NULL;
	size_t i;

	if (mem_sync.filtered && filter != NULL && f == NULL)
		return -1;
	for (i = 0; i < mem_n; i++) {
		if (f != NULL && !filter_match(f, mem_entries[i]))
			continue;
		if (mem_fail_after >= 0 && (long)i == mem_fail_after) {
			err_object(err, "memory");
			return err_set(err, DS_E_SOURCE,
				       "connection lost after %zu entries", i);
		}
		if (cb(ctx, mem_entries[i], err) != 0) {
			filter_free(f);
			return -1;
		}
	}
	filter_free(f);
	return 0;
}

/* ---- source_memory_sync_ops: the same entries, as content sync ---- */

static char mem_cookie_seen[64];

void
source_memory_set_sync(const struct source_memory_sync *s)
{
	mem_sync = *s;
}

const char *
source_memory_cookie_seen(void)
{
	return mem_cookie_seen;
}

/* The uuid of a test entry: its objectGUID value, lower case. */
static void
mem_uuid(const struct entry *e, char *out, size_t len)
{
	const struct attr *g = entry_attr(e, "objectGUID");
	size_t i;

	snprintf(out, len, "%s", g != NULL && g->nvals > 0 ? g->vals[0].p
							   : e->dn);
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
}

static int
mem_sync_read(struct source *src, const char *filter,
	      const char *const *attrs, struct source_sync *sy,
	      const struct source_sync_cb *cb, void *ctx, struct err *err)
{
	char uuid[128];
	size_t i;

	snprintf(mem_cookie_seen, sizeof(mem_cookie_seen), "%.*s",
		 (int)sy->cookie_len, sy->cookie ? (const char *)sy->cookie : "");
	if (mem_sync.refuse != NULL) {
		snprintf(sy->reason, sizeof(sy->reason), "%s", mem_sync.refuse);
		return 1;
	}
	for (i = 0; i < mem_n; i++) {
		/* without a cookie everything; with one, what the test says
		 * changed (its first `changed` entries) */
		if (sy->cookie != NULL && i >= mem_sync.changed)
			break;
		mem_uuid(mem_entries[i], uuid, sizeof(uuid));
		sy->changed++;
		if (cb->changed(ctx, uuid, mem_entries[i], err) != 0)
			return -1;
	}
	for (i = 0; sy->cookie != NULL && i < mem_sync.ndeleted; i++) {
		sy->deleted++;
		if (cb->deleted(ctx, mem_sync.deleted[i], err) != 0)
			return -1;
	}
	for (i = 0; sy->cookie != NULL && i < mem_sync.npresent; i++) {
		sy->present++;
		if (cb->present(ctx, mem_sync.present[i], err) != 0)
			return -1;
	}
	sy->present_phase = sy->cookie != NULL && mem_sync.present_phase;
	sy->new_cookie_len = strlen(mem_sync.cookie);
	sy->new_cookie = malloc(sy->new_cookie_len + 1);
	if (sy->new_cookie == NULL)
		return err_set(err, DS_E_NOMEM, "out of memory");
	memcpy(sy->new_cookie, mem_sync.cookie, sy->new_cookie_len + 1);
	return 0;
}

static void
mem_close(struct source *src)
{
	free(src);
}

const struct source_ops source_memory_ops = {
	.name = "memory",
	.open = mem_open,
	.read = mem_read,
	.close = mem_close,
};

const struct source_ops source_memory_sync_ops = {
	.name = "memory-sync",
	.open = mem_open,
	.read = mem_read,
	.close = mem_close,
	.sync_read = mem_sync_read,
};

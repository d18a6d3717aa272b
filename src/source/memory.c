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

static int
mem_read(struct source *src, const char *filter, const char *const *attrs,
	 source_entry_cb cb, void *ctx, struct err *err)
{
	size_t i;

	for (i = 0; i < mem_n; i++) {
		if (mem_fail_after >= 0 && (long)i == mem_fail_after) {
			err_object(err, "memory");
			return err_set(err, DS_E_SOURCE,
				       "connection lost after %zu entries", i);
		}
		if (cb(ctx, mem_entries[i], err) != 0)
			return -1;
	}
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

/*
 * snapshot.h - the directory as read in one run, kept in memory.
 *
 * Entries are copied from the source callback into an arena, keeping only
 * the attributes the rules use, so memory stays near the size of what
 * matters (a few hundred bytes per user).  The snapshot is built
 * completely before anything is planned; a failed read discards it.
 */
#ifndef DS_SNAPSHOT_H
#define DS_SNAPSHOT_H

#include <stddef.h>

#include "model/entry.h"
#include "util/arena.h"
#include "util/strmap.h"

struct snapshot {
	struct arena arena;
	struct entry **v;     /* in read order */
	const char **ndn;     /* normalised DN of v[i] */
	size_t n, cap;
	struct strmap by_ndn; /* normalised DN -> struct entry * */
	size_t read;          /* entries delivered by the source */
};

void snapshot_init(struct snapshot *s);
/*
 * Copies e (only attributes in `keep`, NULL-terminated, case-insensitive;
 * NULL keeps all).  A second entry with the same DN replaces nothing and
 * is counted as a duplicate: returns 1.  Returns 0 when stored.
 */
int snapshot_add(struct snapshot *s, const struct entry *e,
		 const char *const *keep);
void snapshot_free(struct snapshot *s);

#endif

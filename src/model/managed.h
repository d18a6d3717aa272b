/*
 * managed.h - what dirsync manages: one record per target object it
 * created or adopted, keyed by address, with the directory object
 * (anchor) it belongs to and when it was disabled.
 *
 * Loaded by whoever keeps the records (today the state database), read
 * by the planner.  The set owns its records and their strings (arena),
 * except strings shared with the current and desired sets (see
 * managed_add_known), which must outlive it.
 */
#ifndef DS_MANAGED_H
#define DS_MANAGED_H

#include <stddef.h>
#include <stdint.h>

#include "model/mail.h"
#include "util/arena.h"
#include "util/idxmap.h"

/* One managed object, as the state database remembers it. */
struct managed_rec {
	const char *address;
	const char *anchor;
	long long disabled_at;    /* unix time, 0 = active */
	/*
	 * strmap_hash(address): its row in the current set and its object
	 * in the desired set are found by it without hashing again
	 * (mset_get_h).  (Pointers to both cost 16 bytes a record: 5.5 MB
	 * at 100k users.)
	 */
	uint32_t hash;
	enum mkind kind : 8;
};

struct managed {
	struct arena arena;       /* strings not shared with the sets */
	/*
	 * The records themselves, not pointers to them (8 bytes a record
	 * less: 27 MB at 1M users): a record pointer from managed_add or
	 * managed_get is good until the next add or managed_seal().
	 */
	struct managed_rec *v;
	size_t n, cap;
	struct idxmap by_addr;    /* address -> index in v */
};

void managed_init(struct managed *m);
struct managed_rec *managed_add(struct managed *m, const char *address,
				enum mkind kind, const char *anchor,
				long long disabled_at);
/*
 * Like managed_add, with the record's row in the current set and its
 * object in the desired set already looked up (either may be NULL: not
 * there; when not, the address must be theirs, and their hash is
 * reused).  Strings are shared with them where equal; both sets must
 * outlive m.
 */
struct managed_rec *managed_add_known(struct managed *m, const char *address,
				      const struct mobj *cur,
				      const struct mobj *want, enum mkind kind,
				      const char *anchor,
				      long long disabled_at);
struct managed_rec *managed_get(const struct managed *m, const char *address);
/* With hash = strmap_hash(address). */
struct managed_rec *managed_get_h(const struct managed *m, const char *address,
				  uint32_t hash);
/* Makes room for n records in all (see mset_reserve). */
void managed_reserve(struct managed *m, size_t n);
/* After the last add: give back spare room. */
void managed_seal(struct managed *m);
void managed_free(struct managed *m);

#endif

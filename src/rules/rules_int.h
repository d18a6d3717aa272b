/*
 * rules_int.h - what the rules' files share; not for use outside
 * src/rules/.  The public contract is rules.h.
 *
 * The rules are split by concern:
 *   rules.c            the pass: attribute slots, rules_add/begin/end
 *   rules_addr.c       addresses, aliases, names, contacts
 *   rules_scope.c      enabled/visible/exclude/member_of and scope counts
 *   rules_groups.c     members, nested groups, primary groups, lists
 *   rules_conflicts.c  claims, conflicts, frozen objects
 *   rules_delta.c      keys of an entry; the rules over a delta's closure
 *
 * Every robj and every string it holds lives in the context's arenas:
 * x->a (the result's, for what mail objects keep) or x->tmp (freed by
 * rules_end).  Nothing here is freed on its own.
 */
#ifndef DS_RULES_INT_H
#define DS_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rules/rules.h"
#include "util/filter.h"

enum rtype { RT_USER, RT_GROUP, RT_CONTACT };

/*
 * The attributes the rules read, by slot.  Each entry's attributes are
 * looked up once into a slot table, so the rules never scan names.
 */
enum slot {
	A_OBJECTCLASS, A_OBJECTGUID, A_ENTRYUUID, A_NSUNIQUEID, A_CN,
	A_DISPLAYNAME, A_GIVENNAME, A_SN, A_SAMACCOUNTNAME, A_UID, A_UPN,
	A_UAC, A_PWDLOCKED, A_NSACCOUNTLOCK, A_HIDE, A_MEMBER,
	A_UNIQUEMEMBER, A_TARGETADDRESS,
	A_OBJECTSID, A_PRIMARYGROUPID,          /* AD primary groups */
	A_ACCOUNTEXPIRES, A_SHADOWEXPIRE, A_PWDENDTIME,   /* expiry */
	A_EMAIL,                 /* [mapping] email_attribute */
	A_ALIAS0,                /* [mapping] alias_attributes ... */
	A_NSLOTS = A_ALIAS0 + CONF_MAX_ALIAS_ATTRIBUTES
};

/* More addresses than this on one object is a directory error: the rest
 * are dropped with a warning naming the DN. */
#define RULES_MAX_ALIASES 4096
/* Attributes group_filter may name; more is a config error. */
#define RULES_MAX_FILTER_ATTRS 64

/*
 * One directory object, reduced to what the rules use.  Lives in the
 * result's arena; strings too (ndn and dn are the only per-entry copies
 * besides addresses).
 */
struct robj {
	enum rtype type;
	enum scope_reason why;     /* SC_NREASONS: in scope so far */
	const char *dn;
	const char *ndn;
	const char *anchor;
	const char *account;       /* sAMAccountName, else uid; may be NULL */
	const char *why_detail;    /* the rule that left it out, or NULL */
	const char *primary;       /* NULL: no mail object */
	const char **aliases;
	size_t naliases;
	const char *name;
	const char *attrs;         /* users: mobj.attrs (rules_profile.c) */
	const char *external;      /* contacts */
	bool list_ok;              /* groups: matches group_filter */
	const char **members;      /* groups: member ndns */
	size_t nmembers;
	/* AD: a group's objectSid; a user's primary group's SID (the
	 * user's domain SID + primaryGroupID), as "S-1-5-21-...-RID" */
	const char *sid;
	const char *primary_sid;
	/* users whose primary group is another: their Domain Users' SID */
	const char *domain_users_sid;
	size_t nprimary;           /* groups: primary-group members */
	bool in_scope;
	/*
	 * rules_delta.c only: an unchanged [scope] member_of group read for
	 * the member_of walk alone (its members are not all read); it
	 * yields nothing (no count, no claim, no list, not left_out).
	 */
	bool ghost;
	/*
	 * rules_delta.c only: an unchanged entry in the run only as a
	 * member of a list expanded again (reached DOWN, none of its
	 * addresses shared with an entry of the run).  Its scope is judged
	 * and it gives its lists its address, contested or not as the last
	 * full result had it (held), but it yields nothing itself (no
	 * count, claim, object or left_out): its own result is the last
	 * one's, unchanged.
	 */
	bool standin;
	bool held;                 /* standin: its primary was contested */
	/*
	 * rules_delta.c only: a list in the run that was not expanded whole
	 * (reached only UP, from members whose contribution changed): its
	 * members are those of the run's entries, and its mail object is
	 * partial (mobj.partial).  It is counted in scope and never dropped
	 * as empty: it was created by the last run (the caller checks).
	 */
	bool patch;
};

struct rules_ctx {
	const struct conf *c;
	struct rules_result *r;
	struct arena *a;           /* the result's: strings mail objects use */
	struct arena tmp;          /* freed by rules_end: robj, DNs, members */
	struct filter *gf;
	struct strmap slots;       /* lower-case attribute name -> slot + 1 */
	const struct attr *at[A_NSLOTS];  /* current entry's attributes */
	/* the current entry's attributes some of whose values, holding a
	 * NUL byte, fill_slots() left out (warned by rules_build()), and
	 * their copies with the others; at most one per slot below A_EMAIL */
	const struct attr *nul_from[A_EMAIL];
	struct attr nul_kept[A_EMAIL];
	size_t nnul;
	size_t nalias_slots;
	/* email/alias slots whose name is also a base slot: copy from there */
	int dup_of[A_NSLOTS];
	struct robj **objs;
	size_t nobjs, cap;
	struct strmap by_ndn;      /* ndn -> robj */
	/*
	 * anchor -> robj: two objects with one anchor would share its mail
	 * objects and managed records; the first such pair fails rules_end
	 */
	struct strmap by_anchor;
	const struct robj *dup[2];
	size_t ndup;               /* further pairs, counted */
	struct strmap member_ok;   /* ndn set from [scope] member_of */
	struct strmap claims;      /* contested address -> struct claim */
	struct strmap dropped;     /* anchors of lists without members */
	/* member value -> struct unmatched (rules_groups.c): warned once */
	struct strmap unmatched;
	/*
	 * rules_delta.c only (NULL otherwise): the member values the run may
	 * warn about as matching no entry; the others name entries it was
	 * not given.
	 */
	const struct strmap *play;
	bool use_member_of;
	/* rules_delta.c's face_of(): an object's face without its members
	 * (a list of 50,000 costs their DNs otherwise) */
	bool no_members;
	/*
	 * rules_delta.c only (NULL otherwise), for the next rules_build():
	 * memo, members made already (taken when memo->e is the entry);
	 * memo_out, where to keep the ones made, in memo_arena; memo_like,
	 * another version's, whose normal forms values spelt alike take.
	 */
	const struct rules_members *memo, *memo_like;
	struct rules_members *memo_out;
	struct arena *memo_arena;
	time_t now;                /* expiry is judged against this */
	const char *cur_dn;        /* DN of the entry rules_add is at */
};


/*
 * An entry's member values in normal form, as rules_keep_members makes
 * them (member's values, then uniqueMember's), kept by rules_delta.c so
 * that a version of a group is normalised once, not once per context
 * (its keys, then each world's run): 50,000 DNs a time for a big list.
 * v (and its strings) live in memory that outlives the contexts.
 */
struct rules_members {
	const struct entry *e;     /* whose; NULL: none kept */
	const char **v;            /* n of them; NULL when n == 0 */
	size_t n;
	const struct attr *m, *u;  /* e's member and uniqueMember values */
};

/* Iterative DFS over groups, cycle-safe; calls leaf() for non-groups. */
struct walk {
	struct rules_ctx *x;
	struct strmap seen;
	const char **stack;
	size_t n, cap;
	void (*leaf)(void *, struct robj *o);
	void *arg;
};

/* rules.c */
/*
 * Fills x->at from e and says which kind of object the rules make of it:
 * false for none (a computer, a container).
 */
bool rules_classify(struct rules_ctx *x, const struct entry *e,
		    enum rtype *type, bool *list_ok);
/*
 * The robj of e (after rules_classify; ndn = dn_normalize(e->dn), copied).
 * full: also its name, profile attributes and scope verdict (rules_add);
 * else only the addresses, members and SIDs (rules_keys).
 */
struct robj *rules_build(struct rules_ctx *x, const struct entry *e,
			 const char *ndn, enum rtype type, bool list_ok,
			 bool full);
/* rules_add(), returning the object added (NULL: none, or a DN seen). */
struct robj *rules_add_obj(struct rules_ctx *x, const struct entry *e);
/* rules_profile.c: the SPEC's further user attributes (mobj.attrs) */
#define RULES_NPROFILE_ATTRS 20
extern const char *const rules_profile_attrs[RULES_NPROFILE_ATTRS + 1];
bool rules_profile_wanted(const struct conf *c);
/* The entry's attributes as mobj.attrs (in x->a), NULL for none. */
const char *rules_profile(struct rules_ctx *x, const struct entry *e);

void rules_warn(struct rules_ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *rules_first(const struct attr *a);
const char *rules_lower_dup(struct arena *a, const char *v);
bool rules_has_value(const struct attr *a, const char *v);
bool rules_is_true(const char *v);
const char *rules_adup(struct rules_ctx *x, const char *s);

/* rules_addr.c */
/* rules_norm_address(), with *why saying what is wrong when NULL. */
char *rules_norm_address_why(const struct conf *c, const char *raw,
			     const char **why);
bool rules_domain_accepted(const struct conf *c, const char *addr);
const char *rules_display_name(struct rules_ctx *x);
void rules_map_addresses(struct rules_ctx *x, struct robj *o);
void rules_map_contact(struct rules_ctx *x, struct robj *o);

/* rules_scope.c */
enum scope_reason rules_scope_check(struct rules_ctx *x, struct robj *o);
/* After the read: member_of, then the counts and in_scope of every object. */
void rules_scope_settle(struct rules_ctx *x, struct walk *w);
/* Records o in the result's left_out map (anchor -> why, DN, account). */
void rules_left_out(struct rules_ctx *x, const struct robj *o,
		    enum leave_reason why, const char *detail);

/* rules_groups.c */
/* o's members from e's member and uniqueMember values (x->at), in normal
 * form; x->memo, memo_out and memo_like as rules_ctx says. */
void rules_keep_members(struct rules_ctx *x, const struct entry *e,
			struct robj *o);
void rules_walk_run(struct walk *w, const char *root_ndn);
/* objectSid of groups, the primary group's SID of users (rules_add). */
void rules_keep_sids(struct rules_ctx *x, struct robj *o);
/* Adds every user to the members of its AD primary group. */
void rules_primary_groups(struct rules_ctx *x);
/* Lists get their members once conflicts are known; counts in_scope. */
void rules_fill_lists(struct rules_ctx *x, struct walk *w);

/* rules_conflicts.c */
bool rules_conflicted(struct rules_ctx *x, const char *addr);
int rules_cmp_str(const void *a, const void *b);
/* Every in-scope object claims its addresses; conflicts are settled. */
void rules_claim_all(struct rules_ctx *x);
/* Drops what is frozen (conflicts) or dropped (empty lists). */
void rules_prune(struct rules_ctx *x);

#endif

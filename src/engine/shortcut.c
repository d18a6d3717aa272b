/*
 * shortcut.c - an incremental read that found nothing changed skips the
 * snapshot and the rules (issue 10: a no-change run costs almost
 * nothing, whatever the size of the directory).
 *
 * The desired set is a function of the directory, the configuration and
 * the clock.  When the server's delta is empty, the directory is the
 * snapshot; when the snapshot's summary (below) carries the digest of
 * the verified run (engine_fastpath_early: same configuration, the
 * target's change counter untouched, no full_every or delete_after due),
 * the rules would give that run's desired set again; and when no account
 * expires before now (the summary's next_expiry), the clock changes
 * nothing either.  Then the run takes the fast path without reading the
 * snapshot, and the report shows what the rules said last time: the
 * count read, in scope, the warnings and the conflicts.  Any doubt, or a
 * summary that does not parse, means the ordinary incremental run.
 *
 * The same holds for a source whose whole content has an identifier
 * (source_ops.content_id: an LDIF file's hash) that has not changed since
 * the run that left the summary: read.c keeps the summary with that
 * identifier in the state's meta ('read_summary').
 *
 * The summary is JSON (jansson), kept in the snapshot's meta and written
 * with every commit of the snapshot:
 *   {"digest": HEX, "next_expiry": UNIX, "read": N, "in_scope": N,
 *    "warnings": [TEXT...], "conflicts": [{"address": A, "claimed_by":
 *    [ANCHOR...], "dns": [DN...], "accounts": [ACCOUNT|null...]}...],
 *    "frozen": [ANCHOR...], "sums": [HEX16 x 9]}
 * "frozen" are the people whose primary address is in conflict
 * (rules_result.frozen_anchors), whom the planner leaves as they are: a
 * run over a delta keeps those outside its closure so (rdelta.c); a
 * summary without it (before 3 Dec 2026) has none when it has no
 * conflicts, and else is no base for such a run.
 * "sums" are the sums the digest hashes (fastpath.c), so that a run over
 * a delta (rdelta.c) can take the objects it re-derived out and in again
 * without hashing the whole set.
 * A run whose digest was not computed (read-only, approve, rebuild-state)
 * writes none, so the next run reads the snapshot.
 */
#include "engine/stage.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/clock.h"
#include "util/xalloc.h"

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, str_or_null(v != NULL ? v[i] : NULL));
	return a;
}

static json_t *
sums_json(const struct run *x)
{
	const uint64_t *acc = engine_fastpath_sums(x);
	json_t *a = json_array();
	char hex[20];
	size_t i;

	for (i = 0; acc != NULL && i < FASTPATH_NSUMS; i++) {
		snprintf(hex, sizeof(hex), "%016llx",
			 (unsigned long long)acc[i]);
		json_array_append_new(a, json_string(hex));
	}
	return a;
}

char *
engine_summary_encode(const struct run *x)
{
	const struct rules_result *rr = &x->r->rules;
	const char *digest = engine_fastpath_digest(x);
	json_t *s, *conflicts, *frozen;
	const char *k;
	void *v;
	char *text;
	size_t i, it = 0;

	if (digest == NULL || !x->r->have_rules)
		return NULL;
	conflicts = json_array();
	for (i = 0; i < rr->nconflicts; i++) {
		const struct conflict *c = &rr->conflicts[i];

		json_array_append_new(
			conflicts,
			json_pack("{s:s, s:o, s:o, s:o}", "address",
				  c->address, "claimed_by",
				  strings(c->claimed_by, c->n), "dns",
				  strings(c->dns, c->n), "accounts",
				  strings(c->accounts, c->n)));
	}
	frozen = json_array();
	while (strmap_next(&rr->frozen_anchors, &it, &k, &v))
		json_array_append_new(frozen, json_string(k));
	s = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "digest",
		      digest,
		      "next_expiry", (json_int_t)rr->next_expiry, "read",
		      (json_int_t)x->r->read, "in_scope",
		      (json_int_t)rr->in_scope, "warnings",
		      strings((const char *const *)rr->warnings,
			      rr->nwarnings),
		      "conflicts", conflicts, "frozen", frozen, "sums",
		      sums_json(x));
	if (s == NULL)
		return NULL;
	text = json_dumps(s, JSON_COMPACT);
	json_decref(s);
	return text;
}

/* A JSON array of strings (or nulls) into the arena; NULL if not one. */
static const char **
take_strings(struct arena *a, json_t *v, size_t n)
{
	const char **out;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) != n)
		return NULL;
	out = arena_alloc(a, (n ? n : 1) * sizeof(*out));
	for (i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);

		if (!json_is_string(e) && !json_is_null(e))
			return NULL;
		out[i] = json_is_string(e) ? arena_strdup(a, json_string_value(e))
					   : NULL;
	}
	return out;
}

static int
take_conflicts(struct rules_result *rr, json_t *v)
{
	size_t i;

	if (!json_is_array(v))
		return -1;
	for (i = 0; i < json_array_size(v); i++) {
		json_t *c = json_array_get(v, i), *by;
		const char *addr;
		struct conflict *cf;
		size_t n;

		addr = json_string_value(json_object_get(c, "address"));
		by = json_object_get(c, "claimed_by");
		if (addr == NULL || !json_is_array(by))
			return -1;
		n = json_array_size(by);
		rr->conflicts = xgrow(rr->conflicts, &rr->capconflicts,
				      rr->nconflicts + 1,
				      sizeof(*rr->conflicts));
		cf = &rr->conflicts[rr->nconflicts];
		memset(cf, 0, sizeof(*cf));
		cf->address = arena_strdup(&rr->arena, addr);
		cf->n = n;
		cf->claimed_by = take_strings(&rr->arena, by, n);
		cf->dns = take_strings(&rr->arena,
				       json_object_get(c, "dns"), n);
		cf->accounts = take_strings(&rr->arena,
					    json_object_get(c, "accounts"), n);
		if (cf->claimed_by == NULL || cf->dns == NULL ||
		    cf->accounts == NULL)
			return -1;
		rr->nconflicts++;
	}
	return 0;
}

/* "frozen" into out->rules.frozen_anchors; out->have_frozen: it was
 * there (or no conflict needs it). */
static int
take_frozen(struct summary *out, json_t *v)
{
	struct rules_result *rr = &out->rules;
	size_t i;

	out->have_frozen = rr->nconflicts == 0;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return -1;
	for (i = 0; i < json_array_size(v); i++) {
		const char *a = json_string_value(json_array_get(v, i));

		if (a == NULL)
			return -1;
		a = arena_strdup(&rr->arena, a);
		strmap_put(&rr->frozen_anchors, a, (void *)a);
	}
	out->have_frozen = true;
	return 0;
}

static int
take_warnings(struct rules_result *rr, json_t *v)
{
	size_t i;

	if (!json_is_array(v))
		return -1;
	for (i = 0; i < json_array_size(v); i++) {
		const char *w = json_string_value(json_array_get(v, i));

		if (w == NULL)
			return -1;
		rr->warnings = xgrow(rr->warnings, &rr->capwarnings,
				     rr->nwarnings + 1, sizeof(*rr->warnings));
		rr->warnings[rr->nwarnings++] = xstrdup(w);
	}
	return 0;
}

/* The summary into r (rules and read count): 0, or -1 (r->rules reset). */
static int
summary_take(struct run *x, json_t *s)
{
	struct run_result *r = x->r;
	json_int_t rd, sc;

	if (json_unpack(s, "{s:I, s:I}", "read", &rd, "in_scope", &sc) != 0 ||
	    rd < 0 || sc < 0 ||
	    take_warnings(&r->rules, json_object_get(s, "warnings")) != 0 ||
	    take_conflicts(&r->rules, json_object_get(s, "conflicts")) != 0) {
		rules_free(&r->rules);
		rules_init(&r->rules);
		return -1;
	}
	r->read = (size_t)rd;
	r->rules.in_scope = (size_t)sc;
	return 0;
}

int
engine_summary_parse(const char *summary, struct summary *out)
{
	json_t *s, *sums;
	const char *digest;
	json_int_t expiry, rd, sc;
	size_t i;

	memset(out, 0, sizeof(*out));
	rules_init(&out->rules);
	if (summary == NULL || (s = json_loads(summary, 0, NULL)) == NULL)
		return -1;
	sums = json_object_get(s, "sums");
	if (json_unpack(s, "{s:s, s:I, s:I, s:I}", "digest", &digest,
			"next_expiry", &expiry, "read", &rd, "in_scope",
			&sc) != 0 || rd < 0 || sc < 0 ||
	    !json_is_array(sums) || json_array_size(sums) != FASTPATH_NSUMS ||
	    take_warnings(&out->rules, json_object_get(s, "warnings")) != 0 ||
	    take_conflicts(&out->rules, json_object_get(s, "conflicts")) != 0 ||
	    take_frozen(out, json_object_get(s, "frozen")) != 0)
		goto bad;
	for (i = 0; i < FASTPATH_NSUMS; i++) {
		const char *h = json_string_value(json_array_get(sums, i));
		char *end;

		if (h == NULL || strlen(h) != 16)
			goto bad;
		out->sums[i] = strtoull(h, &end, 16);
		if (*end != '\0')
			goto bad;
	}
	snprintf(out->digest, sizeof(out->digest), "%s", digest);
	out->read = (size_t)rd;
	out->rules.in_scope = (size_t)sc;
	out->next_expiry = (time_t)expiry;
	json_decref(s);
	return 0;
bad:
	json_decref(s);
	rules_free(&out->rules);
	rules_init(&out->rules);
	return -1;
}

int
engine_shortcut(struct run *x, const char *summary)
{
	const char *digest;
	json_int_t expiry;
	json_t *s;
	int rc = 0;

	if (summary == NULL || (s = json_loads(summary, 0, NULL)) == NULL)
		return 0;
	if (json_unpack(s, "{s:s, s:I}", "digest", &digest, "next_expiry",
			&expiry) != 0 ||
	    (expiry != 0 &&
	     (long long)x->expiry_now >= (long long)expiry)) {
		json_decref(s);
		return 0;
	}
	rc = engine_fastpath_early(x, digest);
	if (rc < 0)   /* the full path meets the same fault, in its place */
		err_clear(&x->r->err);
	if (rc == 1 && summary_take(x, s) != 0)
		rc = 0;   /* a fast path without the report's facts: no */
	json_decref(s);
	if (rc != 1) {
		engine_fastpath_free(x);
		return 0;
	}
	x->r->rules_skipped = true;
	return 1;
}

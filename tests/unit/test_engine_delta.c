/*
 * test_engine_delta.c - incremental runs whose rules re-derive only what
 * the delta touches (engine/rdelta.c), against full runs of the same
 * directory, on real SQLite mail databases.
 *
 * Each seed builds a small random directory (users with shared and
 * conflicting addresses and aliases, nested groups with and without an
 * address, contacts), syncs it, then changes it a few entries at a time
 * (addresses moved, aliases added and dropped, accounts disabled, members
 * added and removed, users renamed, deleted with and without the
 * server's referential integrity, rehired under an old DN) and runs an
 * incremental sync after each change, through the memory source's
 * content sync.  A second database gets the same directory with a full
 * read and a full compare every time.  After every step both databases
 * must hold the same rows, and both runs must report the same in-scope
 * count, warnings and conflicts.  The rules over the delta must have
 * carried a fair share of the runs, or the test proves nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "engine/engine.h"
#include "state/state.h"

#define NU 20
#define NG 6
#define NC 3
#define NOBJ (NU + NG + NC)
#define MAXM 10
#define MAXA 3
#define STEPS 10
#define SEEDS 60

enum kind { K_USER, K_GROUP, K_CONTACT };

struct obj {
	enum kind kind;
	bool exists;
	int gen;                    /* rehires: a new objectGUID */
	char dn[96];
	char mail[64];              /* "" none */
	char alias[MAXA][64];
	int nalias;
	bool disabled;
	char member[MAXM][96];      /* groups: member DNs */
	int nmember;
};

struct dir {
	struct obj o[NOBJ];
	uint64_t rng;
	/* this step's changes: objects changed (by index), uuids gone */
	bool changed[NOBJ];
	char gone[NOBJ][32];
	int ngone;
};

/* What one entry is built from, freed after the run. */
struct built {
	struct entry e[NOBJ];
	struct attr a[NOBJ][8];
	struct val v[NOBJ][8][MAXM + 1];
	char guid[NOBJ][32], uac[NOBJ][8], pa[NOBJ][MAXA][72];
	const struct entry *ev[NOBJ];
	size_t n;
};

static unsigned
rnd(struct dir *d, unsigned n)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return (unsigned)(d->rng % n);
}

static void
guid_of(const struct dir *d, int i, char *out, size_t len)
{
	snprintf(out, len, "g-%d-%d", i, d->o[i].gen);
}

static void
set(struct attr *a, struct val *v, const char *name, const char *value)
{
	a->name = name;
	a->nvals = 1;
	a->vals = v;
	v->p = value;
	v->len = strlen(value);
}

static void
build_one(const struct dir *d, struct built *b, int i)
{
	const struct obj *o = &d->o[i];
	struct entry *e = &b->e[b->n];
	struct attr *a = b->a[b->n];
	size_t k = 0, j;

	guid_of(d, i, b->guid[b->n], sizeof(b->guid[b->n]));
	set(&a[k], &b->v[b->n][k][0], "objectClass",
	    o->kind == K_USER ? "user" : o->kind == K_GROUP ? "group"
							    : "contact");
	k++;
	set(&a[k], &b->v[b->n][k][0], "objectGUID", b->guid[b->n]);
	k++;
	if (o->mail[0]) {
		set(&a[k], &b->v[b->n][k][0], "mail", o->mail);
		k++;
	}
	if (o->nalias > 0) {
		a[k].name = "proxyAddresses";
		a[k].nvals = (size_t)o->nalias;
		a[k].vals = b->v[b->n][k];
		for (j = 0; j < (size_t)o->nalias; j++) {
			snprintf(b->pa[b->n][j], sizeof(b->pa[b->n][j]),
				 "smtp:%s", o->alias[j]);
			b->v[b->n][k][j].p = b->pa[b->n][j];
			b->v[b->n][k][j].len = strlen(b->pa[b->n][j]);
		}
		k++;
	}
	if (o->kind == K_USER) {
		snprintf(b->uac[b->n], sizeof(b->uac[b->n]), "%d",
			 o->disabled ? 514 : 512);
		set(&a[k], &b->v[b->n][k][0], "userAccountControl",
		    b->uac[b->n]);
		k++;
	}
	if (o->kind == K_GROUP) {
		/* entryDN: the groups read again are found by it */
		set(&a[k], &b->v[b->n][k][0], "entryDN", o->dn);
		k++;
		if (o->nmember > 0) {
			a[k].name = "member";
			a[k].nvals = (size_t)o->nmember;
			a[k].vals = b->v[b->n][k];
			for (j = 0; j < (size_t)o->nmember; j++) {
				b->v[b->n][k][j].p = o->member[j];
				b->v[b->n][k][j].len = strlen(o->member[j]);
			}
			k++;
		}
	}
	e->dn = o->dn;
	e->nattrs = k;
	e->attrs = a;
	e->origin = "test";
	b->ev[b->n] = e;
	b->n++;
}

/* Every entry, the changed ones first (the memory source's delta). */
static size_t
build(const struct dir *d, struct built *b)
{
	size_t nchanged;
	int i;

	b->n = 0;
	for (i = 0; i < NOBJ; i++)
		if (d->o[i].exists && d->changed[i])
			build_one(d, b, i);
	nchanged = b->n;
	for (i = 0; i < NOBJ; i++)
		if (d->o[i].exists && !d->changed[i])
			build_one(d, b, i);
	return nchanged;
}

static void
pick_mail(struct dir *d, int i, char *out, size_t len)
{
	switch (rnd(d, 6)) {
	case 0:
		out[0] = '\0';
		break;
	case 1:
	case 2:
		snprintf(out, len, "s%u@example.com", rnd(d, 4));  /* shared */
		break;
	case 3:
		snprintf(out, len, "o%d@other.org", i);   /* not accepted */
		break;
	default:
		snprintf(out, len, "%c%d@example.com",
			 d->o[i].kind == K_GROUP ? 'g' : 'u', i);
	}
}

static void
gen_dir(struct dir *d)
{
	int i, j;

	memset(d->o, 0, sizeof(d->o));
	for (i = 0; i < NOBJ; i++) {
		struct obj *o = &d->o[i];

		o->kind = i < NU ? K_USER : i < NU + NG ? K_GROUP : K_CONTACT;
		o->exists = true;
		snprintf(o->dn, sizeof(o->dn), "CN=%s %d,OU=%s,DC=x",
			 o->kind == K_USER ? "User" : o->kind == K_GROUP
							 ? "Group"
							 : "Contact",
			 i, o->kind == K_USER ? "P" : "G");
	}
	for (i = 0; i < NOBJ; i++) {
		struct obj *o = &d->o[i];
		if (o->kind == K_CONTACT)
			snprintf(o->mail, sizeof(o->mail), "c%d@ext.org", i);
		else if (rnd(d, 5) > 0)
			pick_mail(d, i, o->mail, sizeof(o->mail));
		o->nalias = (int)rnd(d, 3);
		for (j = 0; j < o->nalias; j++)
			snprintf(o->alias[j], sizeof(o->alias[j]),
				 "a%u@example.com", rnd(d, 10));
		o->disabled = o->kind == K_USER && rnd(d, 6) == 0;
		if (o->kind == K_GROUP) {
			o->nmember = (int)rnd(d, MAXM - 2);
			for (j = 0; j < o->nmember; j++) {
				int m = (int)rnd(d, NU + NG + 1);

				/* now and then a DN that names nobody */
				snprintf(o->member[j], sizeof(o->member[j]),
					 "%s", m == NU + NG ? "CN=Nobody,DC=x"
							    : d->o[m].dn);
			}
		}
	}
}

/* Groups naming old as a member name now instead (referential
 * integrity: the server's own change, not in the delta). */
static void
refint(struct dir *d, const char *old, const char *now)
{
	int i, j;

	for (i = NU; i < NU + NG; i++) {
		struct obj *g = &d->o[i];

		for (j = 0; j < g->nmember; j++) {
			if (strcasecmp(g->member[j], old) != 0)
				continue;
			if (now != NULL) {
				snprintf(g->member[j], sizeof(g->member[j]),
					 "%s", now);
			} else {
				memmove(g->member[j], g->member[j + 1],
					(size_t)(g->nmember - j - 1) *
						sizeof(g->member[0]));
				g->nmember--;
				j--;
			}
		}
	}
}

static void
mutate(struct dir *d)
{
	int i = (int)rnd(d, NOBJ);
	struct obj *o = &d->o[i];
	char old[96];

	if (!o->exists) {           /* rehired, maybe under the old DN */
		o->exists = true;
		o->gen++;
		o->disabled = false;
		d->changed[i] = true;
		return;
	}
	switch (rnd(d, 9)) {
	case 0:
		if (o->kind == K_USER)
			o->disabled = !o->disabled;
		break;
	case 1:
		if (o->kind != K_CONTACT)
			pick_mail(d, i, o->mail, sizeof(o->mail));
		break;
	case 2:
		if (o->nalias < MAXA)
			snprintf(o->alias[o->nalias++], sizeof(o->alias[0]),
				 "a%u@example.com", rnd(d, 10));
		break;
	case 3:
		if (o->nalias > 0)
			o->nalias--;
		break;
	case 4: {                   /* a member added to some group */
		struct obj *g = &d->o[NU + (int)rnd(d, NG)];

		if (g->nmember < MAXM && g->exists) {
			int m = (int)rnd(d, NU + NG);

			char dn[96];

			memcpy(dn, d->o[m].dn, sizeof(dn));
			if (&d->o[m] != g)
				memcpy(g->member[g->nmember++], dn, sizeof(dn));
			d->changed[g - d->o] = true;
		}
		return;
	}
	case 5: {                   /* a member removed */
		struct obj *g = &d->o[NU + (int)rnd(d, NG)];

		if (g->nmember > 0 && g->exists) {
			g->nmember--;
			d->changed[g - d->o] = true;
		}
		return;
	}
	case 6:                     /* renamed (or moved) */
		snprintf(old, sizeof(old), "%s", o->dn);
		snprintf(o->dn, sizeof(o->dn), "CN=Renamed %d-%u,OU=%s,DC=x",
			 i, rnd(d, 1000), rnd(d, 2) ? "P" : "Q");
		refint(d, old, o->dn);
		break;
	case 7:                     /* deleted */
		if (rnd(d, 2))
			refint(d, o->dn, NULL);
		o->exists = false;
		guid_of(d, i, d->gone[d->ngone], sizeof(d->gone[0]));
		d->ngone++;
		d->changed[i] = false;
		return;
	default:
		if (o->kind == K_CONTACT)
			snprintf(o->mail, sizeof(o->mail), "c%d-%u@ext.org", i,
				 rnd(d, 3));
		else
			pick_mail(d, i, o->mail, sizeof(o->mail));
	}
	d->changed[i] = true;
}

/* ---- two setups: incremental and reference -------------------------- */

static void
push(struct strlist *l, const char *v)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	assert_non_null(l->v);
	l->v[l->n++] = strdup(v);
}

struct side {
	struct conf c;
	char dir[64], state[96], url[160], db[128];
	struct run_result r;
};

static void
side_init(struct side *s)
{
	conf_defaults(&s->c);
	push(&s->c.mapping.accepted_domains, "example.com");
	s->c.safety.allow_empty = true;
	s->c.safety.max_adds = s->c.safety.max_updates = -1;
	s->c.safety.max_deletes = s->c.safety.max_alias_adds = -1;
	s->c.safety.max_alias_deletes = s->c.safety.max_total = -1;
	s->c.safety.max_delete_percent = -1;
	s->c.safety.max_member_removal_percent = -1;
	/* tmpfs when there is one: some 1,300 runs, each with its fsyncs */
	snprintf(s->dir, sizeof(s->dir), "%s/dstest-delta-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->state, sizeof(s->state), "%s/state.db", s->dir);
	snprintf(s->db, sizeof(s->db), "%s/mail.db", s->dir);
	snprintf(s->url, sizeof(s->url), "sqlite://%s", s->db);
	free(s->c.state.path);
	s->c.state.path = strdup(s->state);
	free(s->c.target.url);
	s->c.target.url = strdup(s->url);
}

static void
side_free(struct side *s)
{
	char cmd[128];

	run_result_free(&s->r);
	conf_free(&s->c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	assert_int_equal(system(cmd), 0);
}

static int
run_side(struct side *s, const struct built *b, size_t nchanged,
	 const struct dir *d, int step, bool incremental)
{
	struct source_memory_sync sy;
	const char *gone[NOBJ];
	char cookie[16];
	struct engine_opts o;
	int i;

	run_result_free(&s->r);
	memset(&o, 0, sizeof(o));
	o.mode = "sync";
	o.quiet = true;
	o.report_max_changes = 10;
	o.full = !incremental;
	o.source_ops = incremental ? &source_memory_sync_ops
				   : &source_memory_ops;
	source_memory_set(b->ev, b->n, -1);
	memset(&sy, 0, sizeof(sy));
	for (i = 0; i < d->ngone; i++)
		gone[i] = d->gone[i];
	sy.changed = nchanged;
	sy.deleted = gone;
	sy.ndeleted = (size_t)d->ngone;
	snprintf(cookie, sizeof(cookie), "c%d", step);
	sy.cookie = cookie;
	sy.filtered = true;
	source_memory_set_sync(&sy);
	return engine_run(&s->c, &o, &s->r);
}

/* The mail database's rows, as text. */
static char *
dump(const char *db)
{
	static const char *const q[] = {
		"SELECT username, name, active FROM mailbox ORDER BY username",
		"SELECT address, goto, active FROM alias ORDER BY address",
		"SELECT address, kind, anchor FROM dirsync_managed ORDER BY "
		"address",
	};
	sqlite3 *h = NULL;
	sqlite3_stmt *st;
	char *out = NULL;
	size_t len = 0, i;
	FILE *fp = open_memstream(&out, &len);
	int c;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		assert_int_equal(sqlite3_prepare_v2(h, q[i], -1, &st, NULL),
				 SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (c = 0; c < sqlite3_column_count(st); c++)
				fprintf(fp, "%s|", sqlite3_column_text(st, c)
							   ? (const char *)
								 sqlite3_column_text(st, c)
							   : "NULL");
			fputc('\n', fp);
		}
		sqlite3_finalize(st);
		fputs("--\n", fp);
	}
	sqlite3_close(h);
	fclose(fp);
	return out;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Warnings and conflicts of a run, sorted, as text. */
static char *
facts(const struct run_result *r)
{
	const struct rules_result *rr = &r->rules;
	char **v = calloc(rr->nwarnings + rr->nconflicts + 1, sizeof(*v));
	char *out = NULL;
	size_t len = 0, i, j, n = 0;
	FILE *fp = open_memstream(&out, &len);

	for (i = 0; i < rr->nwarnings; i++)
		v[n++] = strdup(rr->warnings[i]);
	for (i = 0; i < rr->nconflicts; i++) {
		char *s = NULL;
		size_t sl = 0;
		FILE *cf = open_memstream(&s, &sl);

		fprintf(cf, "conflict %s:", rr->conflicts[i].address);
		for (j = 0; j < rr->conflicts[i].n; j++)
			fprintf(cf, " %s", rr->conflicts[i].claimed_by[j]);
		fclose(cf);
		v[n++] = s;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	fprintf(fp, "in_scope %zu\n", rr->in_scope);
	for (i = 0; i < n; i++) {
		fprintf(fp, "%s\n", v[i]);
		free(v[i]);
	}
	free(v);
	fclose(fp);
	return out;
}

/*
 * The verified record of a state as sorted "address pair" lines (NULL:
 * none); *patched: it has patch rows (state_verified_patch).
 */
static char *
record(const char *path, bool *patched)
{
	struct state *st = NULL;
	struct state_verified v;
	struct err err;
	uint64_t *pairs = NULL;
	char *addrs = NULL, *out = NULL, **lines, *p;
	size_t n = 0, len = 0, i, olen = 0;
	bool found = false;
	FILE *fp;

	err_clear(&err);
	assert_int_equal(state_open(&st, path, true, &err), 0);
	assert_int_equal(state_verified_get(st, &v, &found, &err), 0);
	*patched = state_verified_npatches(st) > 0;
	free(v.clashes);
	if (found) {
		assert_int_equal(state_verified_objects(st, &pairs, &n, &addrs,
							&len, &err), 0);
	}
	state_close(st);
	if (!found || pairs == NULL) {
		free(pairs);
		free(addrs);
		return NULL;
	}
	assert_non_null(addrs);
	lines = calloc(n + 1, sizeof(*lines));
	for (i = 0, p = addrs; i < n; i++, p += strlen(p) + 1) {
		assert_true(p < addrs + len);
		assert_int_not_equal(asprintf(&lines[i], "%s %016llx %016llx",
					      p, (unsigned long long)pairs[2 * i],
					      (unsigned long long)
						      pairs[2 * i + 1]), -1);
	}
	assert_true(p == addrs + len);
	qsort(lines, n, sizeof(*lines), cmp_str);
	fp = open_memstream(&out, &olen);
	for (i = 0; i < n; i++) {
		fprintf(fp, "%s\n", lines[i]);
		free(lines[i]);
	}
	fclose(fp);
	free(lines);
	free(pairs);
	free(addrs);
	return out;
}

/* Both sides into files (cmocka cuts long messages short). */
static void
mismatch(unsigned seed, int step, bool delta, const char *a, const char *fa,
	 const char *b, const char *fb)
{
	FILE *fp;

	print_error("seed %u step %d (%s): the incremental run's database "
		    "or facts differ from the full run's: see "
		    "/tmp/test_engine_delta.{inc,full}\n", seed, step,
		    delta ? "rules over the delta" : "all rules");
	if ((fp = fopen("/tmp/test_engine_delta.inc", "w")) != NULL) {
		fprintf(fp, "%s%s", a, fa);
		fclose(fp);
	}
	if ((fp = fopen("/tmp/test_engine_delta.full", "w")) != NULL) {
		fprintf(fp, "%s%s", b, fb);
		fclose(fp);
	}
}

static void
test_delta_equals_full(void **state)
{
	static struct dir d;
	static struct built b;
	unsigned seed;
	int step, k, delta_runs = 0, runs = 0, patched_runs = 0;

	(void)state;
	for (seed = 1; seed <= SEEDS; seed++) {
		struct side inc, ref;
		size_t nchanged;

		memset(&inc, 0, sizeof(inc));
		memset(&ref, 0, sizeof(ref));
		side_init(&inc);
		side_init(&ref);
		if (seed % 5 == 0) {     /* some seeds scope by a group */
			push(&inc.c.scope.member_of,
				     "CN=Group 20,OU=G,DC=x");
			push(&ref.c.scope.member_of,
				     "CN=Group 20,OU=G,DC=x");
		}
		memset(&d, 0, sizeof(d));
		d.rng = 0x9e3779b97f4a7c15ULL * seed;
		gen_dir(&d);
		for (step = 0; step <= STEPS; step++) {
			char *a, *bb, *fa, *fb;

			memset(d.changed, 0, sizeof(d.changed));
			d.ngone = 0;
			for (k = step == 0 ? 0 : 1 + (int)rnd(&d, 3); k > 0;
			     k--)
				mutate(&d);
			nchanged = build(&d, &b);
			assert_int_equal(
				run_side(&inc, &b, nchanged, &d, step, true), 0);
			assert_int_equal(
				run_side(&ref, &b, nchanged, &d, step, false),
				0);
			a = dump(inc.db);
			bb = dump(ref.db);
			fa = facts(&inc.r);
			fb = facts(&ref.r);
			if (strcmp(a, bb) != 0 || strcmp(fa, fb) != 0)
				mismatch(seed, step, inc.r.rules_delta, a, fa, bb,
					 fb);
			assert_string_equal(a, bb);
			assert_string_equal(fa, fb);
			free(a);
			free(bb);
			free(fa);
			free(fb);
			/* a patched record says what a whole one says */
			if (inc.r.exit_code == 0 && ref.r.exit_code == 0) {
				bool pi, pr;
				char *ri = record(inc.state, &pi);
				char *rf = record(ref.state, &pr);

				assert_false(pr);
				if (ri != NULL && rf != NULL) {
					if (strcmp(ri, rf) != 0)
						mismatch(seed, step, true, ri,
							 "", rf, "");
					assert_string_equal(ri, rf);
				}
				patched_runs += pi && inc.r.rules_delta;
				free(ri);
				free(rf);
			}
			if (step > 0) {
				runs++;
				delta_runs += inc.r.rules_delta;
				assert_string_equal(inc.r.read_mode,
						    "incremental");
			}
		}
		side_free(&inc);
		side_free(&ref);
	}
	print_message("rules over the delta in %d of %d incremental runs, "
		      "%d of them recorded as patches\n", delta_runs, runs,
		      patched_runs);
	assert_true(patched_runs > 0);
	/* conflicts that start or end and bigger closures decline; most
	 * runs must not */
	assert_true(delta_runs * 2 > runs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_equals_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

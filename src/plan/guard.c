/* guard.c - time guards on destructive steps; see guard.h. */
#include "plan/guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/arena.h"
#include "util/xalloc.h"

/* Drops the changes with hold[i] set, keeping the order and counters. */
static void
compact(struct plan *p, const unsigned char *hold)
{
	size_t i, n = 0;

	for (i = 0; i < p->n; i++) {
		if (!hold[i]) {
			p->v[n++] = p->v[i];
			continue;
		}
		if (p->v[i].kind == MK_ALIAS)
			p->alias_count[p->v[i].op]--;
		else
			p->count[p->v[i].op]--;
	}
	p->n = n;
}

static long
runs_after(const time_t *runs, size_t nruns, long long t)
{
	size_t i;
	long k = 0;

	for (i = 0; i < nruns; i++)
		if ((long long)runs[i] > t)
			k++;
	return k;
}

static size_t members_lost_sets(const char *old, const char *now,
				size_t *nold);

static void
count_lost(void *arg, char sign, const char *item, size_t len)
{
	(void)item;
	(void)len;
	if (sign == '-')
		(*(size_t *)arg)++;
}

/* Members of `old` (comma-joined) not in `now`. */
static size_t
members_lost(const char *old, const char *now, size_t *nold)
{
	size_t sorted_lost = 0;

	/* sorted, as dirsync writes them: one pass, no copy */
	if (goto_diff_sorted(old, now, count_lost, &sorted_lost, nold) == 0)
		return sorted_lost;
	return members_lost_sets(old, now, nold);
}

/* members_lost() of gotos in any order. */
static size_t
members_lost_sets(const char *old, const char *now, size_t *nold)
{
	struct strmap keep = STRMAP_INIT;
	char *buf = xstrdup(now != NULL ? now : ""), *tok, *save = NULL;
	char *obuf = xstrdup(old != NULL ? old : "");
	size_t lost = 0;

	*nold = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		strmap_put(&keep, tok, tok);
	for (tok = strtok_r(obuf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		(*nold)++;
		if (strmap_get(&keep, tok) == NULL)
			lost++;
	}
	strmap_free(&keep);
	free(buf);
	free(obuf);
	return lost;
}

static int
cmp_lost(const void *a, const void *b)
{
	const struct limit_list *x = a, *y = b;

	if (x->lost != y->lost)
		return x->lost > y->lost ? -1 : 1;
	return strcmp(x->address, y->address);
}

int
plan_check_members(struct plan *p, long pct, struct limit_hit *hit,
		   const char **list)
{
	struct limit_list *v = NULL;
	size_t i, n = 0, cap = 0;

	memset(hit, 0, sizeof(*hit));
	*list = NULL;
	if (pct < 0)
		return 0;
	for (i = 0; i < p->n; i++) {
		const struct change *c = &p->v[i];
		size_t nold, lost, allowed;

		if (c->op != OP_UPDATE || c->kind != MK_LIST ||
		    !(c->fields & CH_GOTO))
			continue;
		lost = members_lost(c->old_gotos, c->gotos, &nold);
		allowed = nold * (size_t)pct / 100;
		if (allowed < PLAN_MEMBER_MIN - 1)
			allowed = PLAN_MEMBER_MIN - 1;
		if (lost <= allowed)
			continue;
		v = xgrow(v, &cap, n + 1, sizeof(*v));
		v[n].address = c->address;
		v[n].dn = c->dn;
		v[n].members = (long)nold;
		v[n].lost = (long)lost;
		v[n].allowed = (long)allowed;
		n++;
	}
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_lost);
	hit->limit = "max_member_removal_percent";
	hit->allowed = v[0].allowed;
	hit->planned = v[0].lost;
	hit->forceable = true;
	hit->lists = arena_alloc(&p->arena, n * sizeof(*v));
	memcpy((void *)hit->lists, v, n * sizeof(*v));
	hit->nlists = n;
	*list = v[0].address;
	free(v);
	return 1;
}

const char *
plan_limit_lists(const struct limit_hit *hit, char *buf, size_t len)
{
	const struct limit_list *l = hit->lists;
	int k;

	if (len > 0)
		buf[0] = '\0';
	if (hit->nlists == 0 || len == 0)
		return buf;
	k = snprintf(buf, len, "; list %s%s%s%s would lose %ld of %ld "
		     "members", l->address, l->dn != NULL ? " (" : "",
		     l->dn != NULL ? l->dn : "", l->dn != NULL ? ")" : "",
		     l->lost, l->members);
	if (hit->nlists > 1 && k >= 0 && (size_t)k < len)
		snprintf(buf + k, len - (size_t)k, "; and %zu more list%s",
			 hit->nlists - 1, hit->nlists > 2 ? "s" : "");
	return buf;
}

const char *
plan_limit_window(const struct limit_hit *hit, char *buf, size_t len)
{
	long w = hit->window;
	const char *unit = "s";

	if (len > 0)
		buf[0] = '\0';
	if (hit->earlier <= 0 || len == 0)
		return buf;
	if (w % 86400 == 0) {
		w /= 86400;
		unit = "d";
	} else if (w % 3600 == 0) {
		w /= 3600;
		unit = "h";
	} else if (w % 60 == 0) {
		w /= 60;
		unit = "m";
	}
	snprintf(buf, len, " (and %ld applied by the runs of the last %ld%s: "
		 "[safety] limit_window)", hit->earlier, w, unit);
	return buf;
}

int
plan_time_guard(struct plan *p, const struct managed *m, time_t now,
		time_t last_run, const time_t *runs, size_t nruns,
		long min_runs, struct time_guard *g)
{
	unsigned char *hold;
	size_t i;

	memset(g, 0, sizeof(*g));
	g->last_run = last_run;
	if (last_run > 0 && now < last_run)
		g->clock_behind = 1;
	else if (min_runs <= 0 || m == NULL)
		return 0;
	hold = xcalloc(p->n ? p->n : 1, 1);
	for (i = 0; i < p->n; i++) {
		const struct change *c = &p->v[i];
		const struct managed_rec *r;
		long k;

		/* only deprovisioning is decided from the clock; a row in
		 * the way or a dropped alias goes with the run's other
		 * changes (an add may need its address) */
		if (c->why != WHY_GONE && c->why != WHY_EXPIRED)
			continue;
		if (g->clock_behind && c->why == WHY_EXPIRED) {
			hold[i] = 1;
			g->removals_held++;
			continue;
		}
		if (c->why != WHY_EXPIRED || m == NULL || min_runs <= 0 ||
		    (r = managed_get(m, c->address)) == NULL ||
		    r->disabled_at <= 0)
			continue;   /* not a delete that follows a disable */
		/*
		 * Runs started after the disable (the disabling run started
		 * in its second), plus this one, which sees the object gone
		 * too.  Seconds only: a run in the same second as the
		 * disable is not counted, which errs on the side of waiting.
		 */
		k = runs_after(runs, nruns, r->disabled_at) + 1;
		if (k >= min_runs)
			continue;
		if (g->first_held == NULL) {
			g->first_held = c->address;
			g->first_runs = k;
		}
		hold[i] = 1;
		g->deletes_held++;
	}
	compact(p, hold);
	free(hold);
	return g->removals_held + g->deletes_held > 0;
}

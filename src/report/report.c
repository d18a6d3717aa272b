#include "report/report.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/guard.h"
#include "util/buf.h"
#include "util/xalloc.h"

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* CH_REPAIR_*: JSON key and text of each, in one table */
static const struct {
	unsigned field;
	const char *key, *text;
} repairs[] = {
	{CH_REPAIR_SELF, "self_alias", "self-alias"},
	{CH_REPAIR_KEY, "local_part_domain", "local_part/domain"},
	{CH_REPAIR_MAILDIR, "maildir", "unsafe maildir"},
};
#define NREPAIRS (sizeof(repairs) / sizeof(repairs[0]))

static json_t *
repair_json(const struct change *ch)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < NREPAIRS; i++)
		if (ch->fields & repairs[i].field)
			json_array_append_new(a, json_string(repairs[i].key));
	return a;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* SPEC's "reason" of a disable or delete. */
static const char *
why_key(const struct change *ch)
{
	switch (ch->why) {
	case WHY_EXPIRED:
		return "delete_after";
	case WHY_ALIAS_DROPPED:
		return "alias_dropped";
	case WHY_IN_THE_WAY:
		return "in_the_way";
	case WHY_GONE:
		return leave_reason_key(ch->left != LR_NONE ? ch->left
							    : LR_NOT_READ);
	default:
		return "";
	}
}

/* The addresses of a comma-joined goto, sorted (malloc'd array of
 * pointers into *copy, which the caller frees). */
static const char **
split_goto(const char *g, char **copy, size_t *n)
{
	const char **v = NULL;
	size_t cap = 0, i;
	char *p, *save = NULL;

	*n = 0;
	*copy = xstrdup(g != NULL ? g : "");
	for (p = strtok_r(*copy, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save)) {
		v = xgrow(v, &cap, *n + 1, sizeof(*v));
		v[(*n)++] = p;
	}
	/* a goto dirsync wrote is sorted already: n, not n log n */
	for (i = 1; i < *n && strcmp(v[i - 1], v[i]) <= 0; i++)
		;
	if (i < *n)
		qsort(v, *n, sizeof(*v), cmp_line);
	return v;
}

/*
 * A list's members added and removed: calls fn(arg, sign, address) for
 * each, '+' (in new_goto only) and '-' (in old_goto only), in address
 * order.
 */
struct diff_fwd {
	void (*fn)(void *, char, const char *);
	void *arg;
};

/* goto_diff_sorted()'s item, NUL-terminated, to the caller's fn. */
static void
diff_fwd(void *arg, char sign, const char *item, size_t len)
{
	struct diff_fwd *f = arg;
	char buf[512], *big;

	if (len < sizeof(buf)) {
		memcpy(buf, item, len);
		buf[len] = '\0';
		f->fn(f->arg, sign, buf);
	} else {
		big = xstrndup(item, len);
		f->fn(f->arg, sign, big);
		free(big);
	}
}

static void
goto_diff(const char *old_goto, const char *new_goto,
	  void (*fn)(void *, char, const char *), void *arg)
{
	struct diff_fwd f = {fn, arg};
	char *oc, *nc;
	size_t no, nn, i = 0, j = 0;
	const char **ov, **nv;

	/* sorted, as dirsync writes them: one pass, no copy */
	if (goto_diff_sorted(old_goto, new_goto, diff_fwd, &f, NULL) == 0)
		return;
	ov = split_goto(old_goto, &oc, &no);
	nv = split_goto(new_goto, &nc, &nn);

	while (i < no || j < nn) {
		int d = i == no ? 1 : j == nn ? -1 : strcmp(ov[i], nv[j]);

		if (d == 0) {
			i++;
			j++;
		} else if (d < 0) {
			fn(arg, '-', ov[i++]);
		} else {
			fn(arg, '+', nv[j++]);
		}
	}
	free(ov);
	free(nv);
	free(oc);
	free(nc);
}

static void
members_add(void *arg, char sign, const char *addr)
{
	json_t **pair = arg;

	json_array_append_new(pair[sign == '+' ? 0 : 1], json_string(addr));
}

/* members_added / members_removed of a list update. */
static void
members_json(json_t *o, const struct change *ch)
{
	json_t *pair[2] = {json_array(), json_array()};

	goto_diff(ch->old_gotos, ch->gotos, members_add, pair);
	json_object_set_new(o, "members_added", pair[0]);
	json_object_set_new(o, "members_removed", pair[1]);
}

/* The addresses of a comma-joined goto (NULL: none). */
static size_t
goto_count(const char *g)
{
	size_t n = 0;

	for (; g != NULL && *g != '\0'; g++)
		if (*g != ',' && (g[1] == ',' || g[1] == '\0'))
			n++;
	return n;
}

/*
 * One change as JSON.  whole: a list's goto whole however long (the plan
 * text `approve` compares); else a list update whose goto holds more
 * than REPORT_LIST_GOTO_MAX addresses on either side reports how many
 * ("goto_addresses") instead, its members_added and members_removed
 * being the change.
 */
static json_t *
change_json(const struct change *ch, bool whole)
{
	json_t *o = json_object(), *f = json_object(), *old = json_object();

	json_object_set_new(o, "op", json_string(op_name(ch->op)));
	json_object_set_new(o, "kind", json_string(mkind_name(ch->kind)));
	json_object_set_new(o, "address", json_string(ch->address));
	json_object_set_new(o, "anchor", str_or_null(ch->anchor));
	if (ch->dn != NULL)
		json_object_set_new(o, "dn", json_string(ch->dn));
	if (ch->account != NULL)
		json_object_set_new(o, "account", json_string(ch->account));
	if (ch->op == OP_DISABLE || ch->op == OP_DELETE) {
		json_object_set_new(o, "reason", json_string(why_key(ch)));
		if (ch->why == WHY_EXPIRED && ch->left != LR_NONE)
			json_object_set_new(
				o, "left_scope",
				json_string(leave_reason_key(ch->left)));
	}
	if (ch->op == OP_ADD) {
		if (ch->name != NULL &&
		    (ch->kind == MK_MAILBOX || ch->kind == MK_LIST))
			json_object_set_new(f, "name", json_string(ch->name));
		if (ch->gotos != NULL)
			json_object_set_new(f, "goto", json_string(ch->gotos));
		if (ch->attrs != NULL && ch->kind == MK_MAILBOX)
			json_object_set_new(f, "attributes",
					    json_loads(ch->attrs, 0, NULL));
	} else if (ch->op == OP_UPDATE) {
		if (ch->fields & CH_ADDRESS) {
			json_object_set_new(f, "address",
					    json_string(ch->address));
			json_object_set_new(old, "address",
					    json_string(ch->old_address));
		}
		if (ch->fields & CH_NAME) {
			json_object_set_new(f, "name", str_or_null(ch->name));
			json_object_set_new(old, "name",
					    str_or_null(ch->old_name));
		}
		if ((ch->fields & CH_GOTO) && ch->kind == MK_LIST && !whole &&
		    (goto_count(ch->gotos) > REPORT_LIST_GOTO_MAX ||
		     goto_count(ch->old_gotos) > REPORT_LIST_GOTO_MAX)) {
			json_object_set_new(
				f, "goto_addresses",
				json_integer((json_int_t)goto_count(ch->gotos)));
			json_object_set_new(old, "goto_addresses",
					    json_integer((json_int_t)goto_count(
						    ch->old_gotos)));
			members_json(o, ch);
		} else if (ch->fields & CH_GOTO) {
			json_object_set_new(f, "goto", str_or_null(ch->gotos));
			json_object_set_new(old, "goto",
					    str_or_null(ch->old_gotos));
			if (ch->kind == MK_LIST)
				members_json(o, ch);
		}
		if (ch->fields & CH_ACTIVE) {
			json_object_set_new(f, "active", json_true());
			json_object_set_new(old, "active", json_false());
		}
		if (ch->fields & CH_ATTRS)
			json_object_set_new(f, "attributes",
					    ch->attrs != NULL
						    ? json_loads(ch->attrs, 0,
								 NULL)
						    : json_object());
		if (ch->fields & CH_ADOPT)
			json_object_set_new(o, "adopted", json_true());
		if (ch->fields & CH_REPAIR)
			json_object_set_new(o, "repaired", repair_json(ch));
		if (ch->fields & CH_REPAIR_SELF)   /* NULL: the row was gone */
			json_object_set_new(old, "self_alias_goto",
					    str_or_null(ch->old_gotos));
		if (ch->fields & CH_KIND)   /* new kind or new owner */
			json_object_set_new(f, "owner",
					    str_or_null(ch->anchor));
	} else if (ch->op == OP_DISABLE) {
		json_object_set_new(f, "active", json_false());
	}
	json_object_set_new(o, "fields", f);
	if (json_object_size(old) > 0)
		json_object_set_new(o, "old", old);
	else
		json_decref(old);
	return o;
}

json_t *
report_change_json(const struct change *ch)
{
	return change_json(ch, false);
}

static json_t *
error_json(const struct err *e)
{
	json_t *o = json_object();
	char buf[1400];

	json_object_set_new(o, "code", json_string(err_code_name(e->code)));
	json_object_set_new(o, "message",
			    json_string(err_fmt(e, buf, sizeof(buf))));
	if (e->where[0])
		json_object_set_new(o, "where", json_string(e->where));
	if (e->object[0])
		json_object_set_new(o, "object", json_string(e->object));
	json_object_set_new(o, "retryable",
			    json_boolean(err_retryable(e->code)));
	return o;
}

/* One claimant of a conflict: anchor, and dn and account when known. */
static json_t *
claimant_json(const char *anchor, const char *dn, const char *account)
{
	json_t *o = json_object();

	json_object_set_new(o, "anchor", str_or_null(anchor));
	if (dn != NULL)
		json_object_set_new(o, "dn", json_string(dn));
	if (account != NULL)
		json_object_set_new(o, "account", json_string(account));
	return o;
}

static json_t *
conflicts_json(const struct run_result *in)
{
	json_t *conflicts = json_array();
	size_t i, j;

	for (i = 0; in->have_rules && i < in->rules.nconflicts; i++) {
		const struct conflict *c = &in->rules.conflicts[i];
		json_t *o = json_object(), *by = json_array();

		json_t *who = json_array();

		for (j = 0; j < c->n; j++) {
			json_array_append_new(by,
					      json_string(c->claimed_by[j]));
			json_array_append_new(
				who, claimant_json(c->claimed_by[j],
						   c->dns ? c->dns[j] : NULL,
						   c->accounts ? c->accounts[j]
							       : NULL));
		}
		json_object_set_new(o, "address", json_string(c->address));
		json_object_set_new(o, "claimed_by", by);
		json_object_set_new(o, "claimants", who);
		json_array_append_new(conflicts, o);
	}
	for (i = 0; in->have_plan && i < in->plan.nclashes; i++) {
		const struct plan_clash *c = &in->plan.clashes[i];
		json_t *o = json_object(), *by = json_array();
		json_t *who = json_array();

		if (c->other != NULL) {
			json_array_append_new(by, json_string(c->other));
			json_array_append_new(
				who, claimant_json(c->other, c->other_dn,
						   c->other_account));
		}
		json_array_append_new(by, json_string(c->anchor));
		json_array_append_new(who, claimant_json(c->anchor, c->dn,
							 c->account));
		if (c->other == NULL) {
			json_array_append_new(
				by, json_string("target:unmanaged"));
			json_array_append_new(
				who, claimant_json("target:unmanaged", NULL,
						   NULL));
		}
		json_object_set_new(o, "address", json_string(c->address));
		json_object_set_new(o, "claimed_by", by);
		json_object_set_new(o, "claimants", who);
		json_object_set_new(o, "reason", json_string(c->reason));
		json_array_append_new(conflicts, o);
	}
	return conflicts;
}

/* A queued password written ahead of the run, as a change. */
static json_t *
password_json(const struct engine_password *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "op", json_string("update"));
	json_object_set_new(o, "kind", json_string("password"));
	json_object_set_new(o, "address", json_string(p->address));
	json_object_set_new(o, "anchor", str_or_null(p->anchor));
	if (p->account != NULL && *p->account != '\0')
		json_object_set_new(o, "account", json_string(p->account));
	json_object_set_new(o, "fields", json_object());
	return o;
}

static json_t *
summary_json(const struct run_result *in)
{
	const struct run_counts *n = &in->counts;
	json_t *sum = json_object();

	json_object_set_new(sum, "add", json_integer(n->add));
	json_object_set_new(sum, "update", json_integer(n->update));
	json_object_set_new(sum, "disable", json_integer(n->disable));
	json_object_set_new(sum, "delete", json_integer(n->delete));
	json_object_set_new(sum, "conflict", json_integer(n->conflict));
	json_object_set_new(sum, "error", json_integer(n->error));
	if (in->per_object) {
		json_object_set_new(sum, "applied",
				    json_integer(n->applied +
						 (long)in->npasswords));
		json_object_set_new(sum, "failed", json_integer(n->failed));
		json_object_set_new(sum, "skipped", json_integer(n->skipped));
	}
	return sum;
}

static void
warning_add(void *ctx, const char *line)
{
	json_array_append_new(ctx, json_string(line));
}

json_t *
report_build(const struct run_result *in, size_t max_changes)
{
	json_t *r = json_object(), *src = json_object();
	json_t *changes = json_array(), *errors = json_array();
	json_t *warnings = json_array();
	size_t i;

	json_object_set_new(r, "run_id", in->run_id > 0
						 ? json_integer(in->run_id)
						 : json_null());
	json_object_set_new(r, "mode", json_string(in->mode));
	/* the daemon's runs: what started this one (issue 10's watch mode) */
	if (in->trigger != NULL)
		json_object_set_new(r, "trigger", json_string(in->trigger));
	json_object_set_new(r, "started", json_string(in->started));
	json_object_set_new(r, "seconds", json_real(in->seconds));
	json_object_set_new(src, "read", json_integer((json_int_t)in->read));
	json_object_set_new(src, "in_scope",
			    json_integer((json_int_t)(in->have_rules
							  ? in->rules.in_scope
							  : 0)));
	if (in->info.server[0])
		json_object_set_new(src, "server",
				    json_string(in->info.server));
	json_object_set_new(r, "source", src);
	/* how the directory was read (issue 10): SPEC's "read" is the mode,
	 * "read_detail" says more */
	json_object_set_new(r, "read",
			    json_string(in->read_mode != NULL ? in->read_mode
							      : "full"));
	json_object_set_new(
		r, "read_detail",
		json_pack("{s:s, s:b, s:I, s:I, s:o, s:b, s:s, s:I}", "mode",
			  in->read_mode != NULL ? in->read_mode : "full",
			  "done", in->have_rules,
			  "entries", (json_int_t)in->read_entries, "deleted",
			  (json_int_t)in->read_deleted, "fallback_reason",
			  in->fallback_reason[0]
				  ? json_string(in->fallback_reason)
				  : json_null(),
			  "rules_skipped", in->rules_skipped, "rules",
			  in->rules_skipped ? "skipped"
			  : in->rules_delta ? "delta"
					    : "all",
			  "rules_entries",
			  (json_int_t)(in->rules_delta ? in->rules_entries
						       : in->rules_skipped
							     ? 0
							     : in->read)));

	/* the queued passwords written ahead of the run: first, as they
	 * went first; neither hash nor password */
	for (i = 0; i < in->npasswords; i++)
		json_array_append_new(changes,
				      password_json(&in->passwords[i]));
	i = in->have_plan ? report_render_take(in->render, &in->plan, changes,
					       max_changes)
			  : 0;
	for (; in->have_plan && i < in->plan.n && i < max_changes; i++)
		json_array_append_new(changes,
				      report_change_json(&in->plan.v[i]));
	if (in->have_plan && in->plan.n > max_changes)
		json_object_set_new(
			r, "changes_omitted",
			json_integer((json_int_t)(in->plan.n - max_changes)));
	for (i = 0; in->have_rules && i < in->rules.nwarnings; i++)
		json_array_append_new(warnings,
				      json_string(in->rules.warnings[i]));
	/* list members (contact targets) in our domains that reach nobody */
	if (in->have_plan)
		plan_note_text(&in->plan, warning_add, warnings);
	if (in->snapshot_warning[0] != '\0')
		json_array_append_new(warnings,
				      json_string(in->snapshot_warning));
	if (in->guard_warning[0] != '\0')
		json_array_append_new(warnings,
				      json_string(in->guard_warning));
	for (i = 0; i < in->nobj_errors; i++)
		json_array_append_new(errors, error_json(&in->obj_errors[i]));
	for (i = 0; i < in->nskips; i++)
		json_array_append_new(
			warnings, json_sprintf("%s: skipped: %s",
					       in->skips[i].object,
					       in->skips[i].msg));
	/* a limit stop is reported as limit_exceeded, not as an error */
	if (in->err.code != DS_OK && in->err.code != DS_E_LIMIT)
		json_array_append_new(errors, error_json(&in->err));
	json_object_set_new(r, "summary", summary_json(in));
	json_object_set_new(r, "applied",
			    json_boolean(in->applied || in->npasswords > 0));
	if (in->interrupted)
		json_object_set_new(r, "interrupted", json_true());
	json_object_set_new(r, "fast_path", json_boolean(in->fast_path));
	json_object_set_new(r, "compare",
			    in->fast_path ? json_string("none")
			    : in->compare != NULL ? json_string(in->compare)
						  : json_null());
	if (in->compare != NULL && strcmp(in->compare, "partial") == 0)
		json_object_set_new(r, "compare_addresses",
				    json_integer((json_int_t)
						 in->compare_addresses));
	if (in->limit.limit != NULL) {
		json_t *l = json_object();

		json_object_set_new(l, "limit", json_string(in->limit.limit));
		json_object_set_new(l, "allowed",
				    json_integer(in->limit.allowed));
		json_object_set_new(l, "planned",
				    json_integer(in->limit.planned));
		if (in->held)
			json_object_set_new(l, "held", json_true());
		if (in->limit.earlier > 0) {
			/* [safety] limit_window: earlier runs' share */
			json_object_set_new(l, "earlier",
					    json_integer(in->limit.earlier));
			json_object_set_new(l, "window_seconds",
					    json_integer(in->limit.window));
		}
		if (in->limit.nlists > 0) {
			json_t *a = json_array();
			size_t k;

			for (k = 0; k < in->limit.nlists; k++) {
				const struct limit_list *ll =
					&in->limit.lists[k];
				json_t *o = json_object();

				json_object_set_new(o, "address",
						    json_string(ll->address));
				json_object_set_new(o, "dn",
						    ll->dn != NULL
							    ? json_string(ll->dn)
							    : json_null());
				json_object_set_new(o, "members",
						    json_integer(ll->members));
				json_object_set_new(o, "removed",
						    json_integer(ll->lost));
				json_object_set_new(o, "allowed",
						    json_integer(ll->allowed));
				json_array_append_new(a, o);
			}
			json_object_set_new(l, "lists", a);
		}
		json_object_set_new(r, "limit_exceeded", l);
	} else {
		json_object_set_new(r, "limit_exceeded", json_null());
	}
	/* a limit that --force-limits or an approval overrode: SPEC's
	 * "forced" is true, "forced_limit" says which (issue 15) */
	json_object_set_new(r, "forced", json_boolean(in->forced.limit != NULL));
	if (in->forced.limit != NULL)
		json_object_set_new(
			r, "forced_limit",
			json_pack("{s:s, s:I, s:I, s:o}", "limit",
				  in->forced.limit, "allowed",
				  (json_int_t)in->forced.allowed, "planned",
				  (json_int_t)in->forced.planned, "approved_run",
				  in->approved_run > 0
					  ? json_integer(in->approved_run)
					  : json_null()));
	else
		json_object_set_new(r, "forced_limit", json_null());
	/* the run whose kept plan this one carried out (`dirsync
	 * approve`), a limit lifted for it or not: null for any other */
	json_object_set_new(r, "approved_run",
			    in->approved_run > 0
				    ? json_integer(in->approved_run)
				    : json_null());
	json_object_set_new(r, "changes", changes);
	json_object_set_new(r, "conflicts", conflicts_json(in));
	json_object_set_new(r, "errors", errors);
	json_object_set_new(r, "warnings", warnings);
	return r;
}

/* A stored report's summary count ("add", "conflict", ...). */
static long
report_count(const json_t *r, const char *key)
{
	return (long)json_integer_value(
		json_object_get(json_object_get(r, "summary"), key));
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void
print_goto(FILE *fp, const char *g, bool full)
{
	size_t n = 1;
	const char *p;

	if (full || strlen(g) <= 120) {
		fputs(g, fp);
		return;
	}
	for (p = g; *p; p++)
		if (*p == ',')
			n++;
	fprintf(fp, "%.100s... (%zu addresses)", g, n);
}

/* Members shown per side of a list diff, unless the report is full. */
#define DIFF_SHOWN 20

/* Members shown per side in `approve`'s "what changed" lines. */
#define DRIFT_SHOWN 5

struct diff_print {
	FILE *fp;
	size_t limit;               /* shown per side; SIZE_MAX: all */
	size_t shown[2], more[2];   /* [0] added, [1] removed */
};

static void
diff_print_one(void *arg, char sign, const char *addr)
{
	struct diff_print *d = arg;
	int k = sign == '+' ? 0 : 1;

	if (d->shown[k] >= d->limit) {
		d->more[k]++;
		return;
	}
	d->shown[k]++;
	fprintf(d->fp, " %c%s", sign, addr);
}

/*
 * " members +a +b -c": a list's goto as a diff, not two long lists; at
 * most `limit` addresses a side, the rest counted.
 */
static void
print_goto_diff(FILE *fp, const char *old_goto, const char *new_goto,
		size_t limit)
{
	struct diff_print d = {fp, limit, {0, 0}, {0, 0}};

	fputs(" members", fp);
	goto_diff(old_goto, new_goto, diff_print_one, &d);
	if (d.shown[0] + d.shown[1] == 0)
		fputs(" reordered", fp);
	if (d.more[0] > 0)
		fprintf(fp, " (and %zu more added)", d.more[0]);
	if (d.more[1] > 0)
		fprintf(fp, " (and %zu more removed)", d.more[1]);
}

static void
print_members(FILE *fp, const struct change *ch, size_t limit)
{
	print_goto_diff(fp, ch->old_gotos, ch->gotos, limit);
}

/* Why a disable or delete is planned, in words. */
static void
print_why(FILE *fp, const struct change *ch)
{
	enum leave_reason left = ch->left != LR_NONE ? ch->left : LR_NOT_READ;

	switch (ch->why) {
	case WHY_GONE:
		fprintf(fp, " (%s)", leave_reason_text(left));
		break;
	case WHY_EXPIRED:
		fprintf(fp, " (disabled for longer than delete_after; %s)",
			leave_reason_text(left));
		break;
	case WHY_ALIAS_DROPPED:
		fputs(" (no longer an address of its directory object)", fp);
		break;
	case WHY_IN_THE_WAY:
		fputs(" (makes room for a mailbox at this address)", fp);
		break;
	default:
		break;
	}
}

/* Whose object it is: " [account, DN]", or " [anchor A]" when not read. */
static void
print_who(FILE *fp, const struct change *ch)
{
	if (ch->dn != NULL && ch->account != NULL)
		fprintf(fp, " [%s, %s]", ch->account, ch->dn);
	else if (ch->dn != NULL)
		fprintf(fp, " [%s]", ch->dn);
	else if (ch->account != NULL)
		fprintf(fp, " [%s]", ch->account);
	else if (ch->anchor != NULL &&
		 (ch->op == OP_DISABLE || ch->op == OP_DELETE))
		fprintf(fp, " [anchor %s]", ch->anchor);
}

/*
 * One change, one line: the only text formatting of a change.  full:
 * goto lists whole; members: list members shown per side.
 */
static void
print_change(FILE *fp, const struct change *ch, bool full, size_t members)
{
	size_t i;

	fprintf(fp, "  %-8s%-8s %s", op_name(ch->op), mkind_name(ch->kind),
		ch->address);
	if (ch->op == OP_ADD) {
		if (ch->name != NULL &&
		    (ch->kind == MK_MAILBOX || ch->kind == MK_LIST))
			fprintf(fp, " name=\"%s\"", ch->name);
		if (ch->gotos != NULL) {
			fputs(" -> ", fp);
			print_goto(fp, ch->gotos, full);
		}
	} else if (ch->op == OP_UPDATE) {
		if (ch->fields & CH_ADDRESS)
			fprintf(fp, " (was %s)", ch->old_address);
		if (ch->fields & CH_NAME)
			fprintf(fp, " name \"%s\" -> \"%s\"",
				ch->old_name ? ch->old_name : "",
				ch->name ? ch->name : "");
		if ((ch->fields & CH_GOTO) && ch->kind == MK_LIST) {
			print_members(fp, ch, members);
		} else if (ch->fields & CH_GOTO) {
			fputs(" goto ", fp);
			print_goto(fp, ch->old_gotos ? ch->old_gotos : "", full);
			fputs(" -> ", fp);
			print_goto(fp, ch->gotos ? ch->gotos : "", full);
		}
		if (ch->fields & CH_ACTIVE)
			fputs(" re-enabled", fp);
		if (ch->fields & CH_ATTRS)
			fputs(" attributes", fp);
		if (ch->fields & CH_ADOPT)
			fputs(" (adopted)", fp);
		for (i = 0; i < NREPAIRS; i++)
			if (ch->fields & repairs[i].field)
				fprintf(fp, " repaired %s", repairs[i].text);
		if (ch->fields & CH_REPAIR_SELF)
			fprintf(fp, " (%s%s)",
				ch->old_gotos ? "goto was " : "was missing",
				ch->old_gotos ? ch->old_gotos : "");
		if (ch->fields & CH_KIND)
			fprintf(fp, " (owner %s, kind %s)",
				ch->anchor ? ch->anchor : "?",
				mkind_name(ch->kind));
	} else {
		print_why(fp, ch);
	}
	print_who(fp, ch);
	fputc('\n', fp);
}

void
report_print_change(FILE *fp, const struct change *ch, bool full)
{
	print_change(fp, ch, full, full ? SIZE_MAX : DIFF_SHOWN);
}

/* A stored change's "reason" (and "left_scope"), back into why/left. */
static void
why_from_json(const json_t *o, struct change *ch)
{
	const char *r = jstr(o, "reason");

	ch->why = WHY_NONE;
	if (*r == '\0')
		return;      /* a report of an older dirsync */
	if (strcmp(r, "delete_after") == 0) {
		ch->why = WHY_EXPIRED;
		ch->left = leave_reason_parse(jstr(o, "left_scope"));
	} else if (strcmp(r, "alias_dropped") == 0) {
		ch->why = WHY_ALIAS_DROPPED;
	} else if (strcmp(r, "in_the_way") == 0) {
		ch->why = WHY_IN_THE_WAY;
	} else {
		ch->why = WHY_GONE;
		ch->left = leave_reason_parse(r);
	}
}

/* A comma-joined string of a JSON array's strings (malloc'd). */
static char *
join_strings(const json_t *a)
{
	struct buf b = BUF_INIT;
	const json_t *v;
	size_t i;

	buf_adds(&b, "");
	json_array_foreach(a, i, v)
		if (json_is_string(v)) {
			if (b.len > 0)
				buf_addc(&b, ',');
			buf_adds(&b, json_string_value(v));
		}
	return b.p;
}

/*
 * A stored report's change, back in the shape print_change() takes; its
 * strings are borrowed from o, but for a list whose goto the report
 * counted (goto_addresses): then its members removed and added stand in
 * for the old and new goto, in own[0] and own[1] (malloc'd, the
 * caller frees them; NULL otherwise).
 */
static void
change_from_json(const json_t *o, struct change *ch, char *own[2])
{
	const json_t *f = json_object_get(o, "fields");
	const json_t *old = json_object_get(o, "old");
	const char *op = jstr(o, "op");
	enum mkind k = MK_ALIAS;
	int i;

	memset(ch, 0, sizeof(*ch));
	for (i = 0; i < OP_NOPS; i++)
		if (strcmp(op, op_name((enum op)i)) == 0)
			ch->op = (enum op)i;
	mkind_parse(jstr(o, "kind"), &k);
	ch->kind = k;
	ch->address = jstr(o, "address");
	ch->name = json_string_value(json_object_get(f, "name"));
	ch->gotos = json_string_value(json_object_get(f, "goto"));
	ch->old_address = jstr(old, "address");
	ch->old_name = json_string_value(json_object_get(old, "name"));
	ch->old_gotos = json_string_value(json_object_get(old, "goto"));
	if (ch->old_gotos == NULL)
		ch->old_gotos = json_string_value(
			json_object_get(old, "self_alias_goto"));
	own[0] = own[1] = NULL;
	if (ch->gotos == NULL && json_object_get(f, "goto_addresses")) {
		ch->old_gotos = own[0] =
			join_strings(json_object_get(o, "members_removed"));
		ch->gotos = own[1] =
			join_strings(json_object_get(o, "members_added"));
	}
	ch->dn = json_string_value(json_object_get(o, "dn"));
	ch->account = json_string_value(json_object_get(o, "account"));
	ch->anchor = json_string_value(json_object_get(o, "anchor"));
	if (ch->op == OP_DISABLE || ch->op == OP_DELETE)
		why_from_json(o, ch);
	if (ch->op != OP_UPDATE)
		return;
	if (json_object_get(f, "address"))
		ch->fields |= CH_ADDRESS;
	if (json_object_get(f, "name"))
		ch->fields |= CH_NAME;
	if (json_object_get(f, "goto") ||
	    json_object_get(f, "goto_addresses"))
		ch->fields |= CH_GOTO;
	if (json_object_get(f, "active"))
		ch->fields |= CH_ACTIVE;
	if (json_object_get(f, "attributes"))
		ch->fields |= CH_ATTRS;
	if (json_is_true(json_object_get(o, "adopted")))
		ch->fields |= CH_ADOPT;
	for (i = 0; i < (int)NREPAIRS; i++) {
		size_t j;
		const json_t *v;

		json_array_foreach(json_object_get(o, "repaired"), j, v)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), repairs[i].key) == 0)
				ch->fields |= repairs[i].field;
	}
	if (json_object_get(f, "owner"))
		ch->fields |= CH_KIND;
}

static bool
is_password(const json_t *o)
{
	return strcmp(jstr(o, "kind"), "password") == 0;
}

/* A stored report's password change: address, account; never a hash. */
static void
print_password(FILE *fp, const json_t *o)
{
	const char *acct = json_string_value(json_object_get(o, "account"));

	fprintf(fp, "  %-8s%-8s %s (queued hash written)", jstr(o, "op"),
		"password", jstr(o, "address"));
	if (acct != NULL)
		fprintf(fp, " [%s]", acct);
	fputc('\n', fp);
}

/* " (account, DN)" of a conflict's claimant, when the report has it. */
static void
print_claimant(FILE *fp, const json_t *w)
{
	const char *dn = json_string_value(json_object_get(w, "dn"));
	const char *acct = json_string_value(json_object_get(w, "account"));

	if (dn != NULL && acct != NULL)
		fprintf(fp, " (%s, %s)", acct, dn);
	else if (dn != NULL || acct != NULL)
		fprintf(fp, " (%s)", dn != NULL ? dn : acct);
}


/*
 * " (and N applied by the runs of the last W: ...)" of a stored
 * limit_exceeded (plan_limit_window), or "".
 */
static const char *
limit_window_text(const json_t *lim, char *buf, size_t len)
{
	struct limit_hit h;

	memset(&h, 0, sizeof(h));
	h.earlier = (long)json_integer_value(json_object_get(lim, "earlier"));
	h.window = (long)json_integer_value(
		json_object_get(lim, "window_seconds"));
	return plan_limit_window(&h, buf, len);
}

/* limit_exceeded.lists (max_member_removal_percent), one line each. */
static void
lists_text(FILE *fp, const json_t *lim)
{
	const json_t *a = json_object_get(lim, "lists"), *o;
	size_t i;

	json_array_foreach(a, i, o) {
		const json_t *dn = json_object_get(o, "dn");

		fprintf(fp, "list %s%s%s%s would lose %lld of its %lld "
			"members (allowed %lld)\n", jstr(o, "address"),
			json_is_string(dn) ? " (" : "",
			json_is_string(dn) ? json_string_value(dn) : "",
			json_is_string(dn) ? ")" : "",
			(long long)json_integer_value(
				json_object_get(o, "removed")),
			(long long)json_integer_value(
				json_object_get(o, "members")),
			(long long)json_integer_value(
				json_object_get(o, "allowed")));
	}
}

void
report_print_text(const json_t *r, const struct plan *plan, FILE *fp,
		  bool full)
{
	const json_t *src = json_object_get(r, "source");
	const json_t *rd = json_object_get(r, "read_detail");
	const json_t *arr, *o, *lim;
	const char *how = json_string_value(json_object_get(r, "read"));
	char inc[64] = "", win[120];
	size_t i;

	/* an incremental read: the entries the server sent too (the
	 * count before is the directory the rules saw, snapshot and all) */
	if (how != NULL && strcmp(how, "incremental") == 0) {
		long long gone = json_integer_value(
			json_object_get(rd, "deleted"));

		snprintf(inc, sizeof(inc), " (incremental: %lld from the "
			 "server%s", (long long)json_integer_value(
				 json_object_get(rd, "entries")),
			 gone > 0 ? ", " : ")");
		if (gone > 0)
			snprintf(inc + strlen(inc), sizeof(inc) - strlen(inc),
				 "%lld deleted)", gone);
	}
	fprintf(fp, "%s: %lld entries read%s, %lld in scope\n",
		jstr(r, "mode"),
		(long long)json_integer_value(json_object_get(src, "read")),
		inc,
		(long long)json_integer_value(
			json_object_get(src, "in_scope")));
	/* the queued passwords written ahead of the run come first (in
	 * the report's changes before the plan's) */
	arr = json_object_get(r, "changes");
	json_array_foreach(arr, i, o)
		if (plan != NULL && is_password(o))
			print_password(fp, o);
	if (plan != NULL) {
		/* a first sync of a big directory: a readable cron mail */
		size_t shown = full || plan->n <= REPORT_TEXT_CHANGES
				       ? plan->n
				       : REPORT_TEXT_CHANGES;

		for (i = 0; i < shown; i++)
			report_print_change(fp, &plan->v[i], full);
		if (shown < plan->n)
			fprintf(fp, "  ... and %zu more change%s (all of "
				"them: --all, or --json)\n", plan->n - shown,
				plan->n - shown == 1 ? "" : "s");
	} else {
		arr = json_object_get(r, "changes");
		json_array_foreach(arr, i, o) {
			struct change ch;
			char *own[2];

			if (is_password(o)) {
				print_password(fp, o);
				continue;
			}
			change_from_json(o, &ch, own);
			report_print_change(fp, &ch, full);
			free(own[0]);
			free(own[1]);
		}
		long long om = (long long)json_integer_value(
			json_object_get(r, "changes_omitted"));

		if (om > 0)
			fprintf(fp, "  ... and %lld more change%s (not kept "
				"in the stored report)\n", om,
				om == 1 ? "" : "s");
	}
	arr = json_object_get(r, "conflicts");
	json_array_foreach(arr, i, o) {
		const json_t *by = json_object_get(o, "claimed_by"), *a;
		size_t j;

		const json_t *who = json_object_get(o, "claimants");

		fprintf(fp, "conflict %s: claimed by", jstr(o, "address"));
		json_array_foreach(by, j, a) {
			const json_t *w = json_array_get(who, j);

			fprintf(fp, "%s %s", j ? "," : "", json_string_value(a));
			print_claimant(fp, w);
		}
		if (json_string_value(json_object_get(o, "reason")) != NULL)
			fprintf(fp, "; left as it is: %s\n", jstr(o, "reason"));
		else
			fputs("; left as it is\n", fp);
	}
	arr = json_object_get(r, "warnings");
	json_array_foreach(arr, i, o)
		fprintf(fp, "warning: %s\n", json_string_value(o));
	arr = json_object_get(r, "errors");
	json_array_foreach(arr, i, o)
		fprintf(fp, "error: %s\n", jstr(o, "message"));
	fprintf(fp,
		"summary: %ld add, %ld update, %ld disable, %ld delete, "
		"%ld conflict, %ld error\n",
		report_count(r, "add"), report_count(r, "update"),
		report_count(r, "disable"), report_count(r, "delete"),
		report_count(r, "conflict"), report_count(r, "error"));
	lim = json_object_get(r, "limit_exceeded");
	if (json_is_object(lim) &&
	    strcmp(jstr(lim, "limit"), "allow_empty") == 0) {
		fputs("NOT APPLIED: the directory read has no object in scope "
		      "(a wrong base_dn, filter or scope?); if that is really "
		      "meant, set allow_empty = yes in [safety]\n",
		      fp);
	} else if (json_is_object(lim) &&
		   json_is_true(json_object_get(lim, "held"))) {
		/* a plan or a dry run applies nothing; the held changes
		 * are listed only by a plan past the limit.  A real run
		 * with nothing else to change applied nothing and says so
		 * (found by a user trial: it said "would be applied") */
		const char *mode = jstr(r, "mode");
		bool real = strcmp(mode, "plan") != 0 &&
			    strcmp(mode, "dry-run") != 0;
		const json_t *id = json_object_get(r, "run_id");

		fprintf(fp,
			"HELD BACK: safety limit %s exceeded (allowed %lld, "
			"planned %lld%s): the disables and deletes wait, %s "
			"(hold_removals); list the held ones with `dirsync "
			"sync --dry-run --force-limits`",
			jstr(lim, "limit"),
			(long long)json_integer_value(
				json_object_get(lim, "allowed")),
			(long long)json_integer_value(
				json_object_get(lim, "planned")),
			limit_window_text(lim, win, sizeof(win)),
			json_is_true(json_object_get(r, "applied"))
				? report_count(r, "failed") > 0
					  ? "the changes above were applied, "
					    "but for those that failed"
					  : "the changes above were applied"
			: real ? "there was no other change to apply"
			       : "the changes above would be applied");
		if (real && json_is_integer(id) && json_integer_value(id) > 0)
			fprintf(fp, ", apply them with `dirsync approve "
				"%lld`",
				(long long)json_integer_value(id));
		fputc('\n', fp);
	} else if (json_is_object(lim)) {
		const char *name = jstr(lim, "limit");
		const json_t *id = json_object_get(r, "run_id");

		fprintf(fp,
			"NOT APPLIED: safety limit %s exceeded (allowed %lld, "
			"planned %lld%s)%s; ",
			name,
			(long long)json_integer_value(
				json_object_get(lim, "allowed")),
			(long long)json_integer_value(
				json_object_get(lim, "planned")),
			strcmp(name, "max_deletes") == 0 ||
					strcmp(name, "max_delete_percent") == 0
				? " mailboxes, lists and contacts; alias rows "
				  "count under max_alias_deletes"
				: "",
			limit_window_text(lim, win, sizeof(win)));
		lists_text(fp, lim);
		if (json_is_integer(id))
			fprintf(fp, "review the changes (`dirsync show %lld`), "
				    "then `dirsync approve %lld` applies "
				    "exactly this plan; or raise the limit in "
				    "[safety]\n",
				(long long)json_integer_value(id),
				(long long)json_integer_value(id));
		else
			fputs("review the changes, then re-run with "
			      "--force-limits or raise the limit in [safety]\n",
			      fp);
	} else if (strcmp(jstr(r, "mode"), "sync") == 0) {
		/* "forced" was this object before it became SPEC's bool */
		const json_t *f = json_object_get(r, "forced_limit");

		if (!json_is_object(f))
			f = json_object_get(r, "forced");

		if (json_is_object(f)) {
			json_t *by = json_object_get(f, "approved_run");

			fprintf(fp,
				"FORCED: safety limit %s exceeded (allowed "
				"%lld, planned %lld); applied anyway ",
				jstr(f, "limit"),
				(long long)json_integer_value(
					json_object_get(f, "allowed")),
				(long long)json_integer_value(
					json_object_get(f, "planned")));
			if (json_is_integer(by))
				fprintf(fp, "as approved: the plan of run "
					    "%lld\n",
					(long long)json_integer_value(by));
			else
				fputs("with --force-limits\n", fp);
		} else if (json_is_integer(json_object_get(r,
							   "approved_run"))) {
			fprintf(fp, "APPROVED: the plan of run %lld, within "
				    "every safety limit by now\n",
				(long long)json_integer_value(json_object_get(
					r, "approved_run")));
		}
		if (json_is_true(json_object_get(r, "applied")))
			fputs("applied\n", fp);
		else if (json_array_size(json_object_get(r, "changes")) == 0 &&
			 json_array_size(json_object_get(r, "errors")) == 0)
			fputs(json_is_true(json_object_get(r, "fast_path"))
				      ? "nothing to change (fast path: the mail "
					"database is as the last verified run "
					"left it)\n"
				      : "nothing to change\n",
			      fp);
		else
			fputs("NOT APPLIED\n", fp);
	} else if (json_array_size(json_object_get(r, "errors")) > 0 &&
		   json_array_size(json_object_get(r, "changes")) == 0) {
		fputs("no plan: the run failed (above); nothing changed\n",
		      fp);
	} else {
		fputs("nothing changed (plan only)\n", fp);
	}
}

/* Below this many changes the render on the printing thread is quick. */
#define RENDER_AHEAD_MIN 1000

struct report_render {
	pthread_t thread;
	const struct plan *plan;
	bool joined;
	size_t n;                  /* plan->n */
	struct buf text;           /* the changes, as streamed below */
	size_t *end;               /* text's line i ends at end[i] */
	json_t **obj;              /* change i's JSON (report_build shares
				    * them) */
};

/* The separator before line i of the changes. */
#define LINE_SEP(i) ((i) ? ",\n    " : "\n    ")

/* c as one compact line into b. */
static void
change_line_of(struct buf *b, const json_t *c)
{
	char one[2048];
	size_t n = json_dumpb(c, one, sizeof(one), JSON_COMPACT);
	char *big;

	if (n > 0 && n <= sizeof(one)) {
		buf_add(b, one, n);
	} else if ((big = json_dumps(c, JSON_COMPACT)) != NULL) {
		buf_adds(b, big);
		free(big);
	}
}

/* One change as one compact line into b. */
static void
change_line(struct buf *b, const struct change *ch)
{
	json_t *c = report_change_json(ch);

	change_line_of(b, c);
	json_decref(c);
}

static void *
render_main(void *arg)
{
	struct report_render *rr = arg;
	size_t i;

	for (i = 0; i < rr->n; i++) {
		rr->obj[i] = report_change_json(&rr->plan->v[i]);
		buf_adds(&rr->text, LINE_SEP(i));
		change_line_of(&rr->text, rr->obj[i]);
		rr->end[i] = rr->text.len;
	}
	return NULL;
}

struct report_render *
report_render_start(const struct plan *plan)
{
	struct report_render *rr;

	if (plan->n < RENDER_AHEAD_MIN || plan->n > REPORT_RENDER_AHEAD_MAX)
		return NULL;
	rr = xcalloc(1, sizeof(*rr));
	rr->plan = plan;
	rr->n = plan->n;
	rr->end = xcalloc(plan->n, sizeof(*rr->end));
	rr->obj = xcalloc(plan->n, sizeof(*rr->obj));
	if (pthread_create(&rr->thread, NULL, render_main, rr) != 0) {
		free(rr->end);
		free(rr->obj);
		free(rr);
		return NULL;
	}
	return rr;
}

/* Waits for the thread; the text then stays until freed. */
static void
render_join(struct report_render *rr)
{
	if (!rr->joined) {
		pthread_join(rr->thread, NULL);
		rr->joined = true;
	}
}

void
report_render_free(struct report_render *rr)
{
	size_t i;

	if (rr == NULL)
		return;
	render_join(rr);
	buf_free(&rr->text);
	for (i = 0; i < rr->n; i++)
		json_decref(rr->obj[i]);
	free(rr->obj);
	free(rr->end);
	free(rr);
}

/* rr holds plan's changes (joined now): true. */
static bool
render_of(struct report_render *rr, const struct plan *plan)
{
	if (rr == NULL || rr->plan != plan)
		return false;
	render_join(rr);
	return true;
}

/*
 * r dumped with flags, its "changes" a marker for the caller to write the
 * changes in place of (and without "changes_omitted" when drop_omitted):
 * the text (malloc'd), *at at the marker, *rest just after it.  NULL when
 * jansson fails or the marker is not found (text freed).
 */
static char *
dump_around_changes(const json_t *r, size_t flags, bool drop_omitted,
		    const char **at, const char **rest)
{
	static const char marker[] = "\"@@dirsync-changes@@\"";
	json_t *copy = json_copy((json_t *)r);
	char *text;

	json_object_set_new(copy, "changes",
			    json_string("@@dirsync-changes@@"));
	if (drop_omitted)
		json_object_del(copy, "changes_omitted");
	text = json_dumps(copy, flags);
	json_decref(copy);
	if (text == NULL || (*at = strstr(text, marker)) == NULL) {
		free(text);
		return NULL;
	}
	*rest = *at + sizeof(marker) - 1;
	return text;
}

/*
 * json_dumps(r, JSON_COMPACT), with r's "changes" (passwords, then the
 * first nplan of rr's plan's changes) written as rr holds them: its text
 * spliced in where a marker stands (its lines keep their indent: white
 * space, to JSON).  NULL when there is no marker to splice at.
 */
static char *
dump_spliced(const json_t *r, const struct report_render *rr, size_t nplan)
{
	struct buf b = BUF_INIT;
	const json_t *o;
	const char *at, *rest;
	size_t npw = 0, i;
	char *text;

	if ((text = dump_around_changes(r, JSON_COMPACT, false, &at,
					&rest)) == NULL)
		return NULL;
	buf_add(&b, text, (size_t)(at - text));
	buf_addc(&b, '[');
	/* the queued passwords written ahead of the run, then the plan */
	json_array_foreach(json_object_get(r, "changes"), i, o) {
		if (!is_password(o))
			continue;
		if (npw++ > 0)
			buf_addc(&b, ',');
		change_line_of(&b, o);
	}
	if (npw > 0 && nplan > 0)
		buf_addc(&b, ',');
	if (nplan > 0)
		buf_add(&b, rr->text.p, rr->end[nplan - 1]);
	buf_addc(&b, ']');
	buf_adds(&b, rest);
	free(text);
	return buf_steal(&b);
}

char *
report_dump_record(const json_t *r, const struct plan *plan,
		   struct report_render *rr)
{
	json_t *omitted = json_object_get(r, "changes_omitted");
	size_t nplan = plan != NULL ? plan->n : 0;
	char *s = NULL;

	if (omitted != NULL && json_integer_value(omitted) > 0 &&
	    (size_t)json_integer_value(omitted) <= nplan)
		nplan -= (size_t)json_integer_value(omitted);
	if (plan != NULL && render_of(rr, plan))
		s = dump_spliced(r, rr, nplan);
	return s != NULL ? s : json_dumps(r, JSON_COMPACT);
}

size_t
report_render_take(struct report_render *rr, const struct plan *plan,
		   json_t *into, size_t max)
{
	size_t i;

	if (!render_of(rr, plan))
		return 0;
	/* shared, not handed over: a report built again (a run whose
	 * history row could not be written, result.c) takes them again */
	for (i = 0; i < rr->n && i < max; i++)
		json_array_append(into, rr->obj[i]);
	return i;
}

void
report_print_json(const json_t *r, const struct plan *plan,
		  struct report_render *rr, FILE *fp)
{
	const json_t *o;
	const char *at, *rest;
	size_t npw = 0;
	char *text;
	size_t i;

	/* dump the report around a marker, stream the changes in its place */
	if (plan == NULL ||
	    (text = dump_around_changes(r, JSON_INDENT(2), true, &at,
					&rest)) == NULL) {
		json_dumpf(r, fp, JSON_INDENT(2));
		fputc('\n', fp);
		return;
	}
	fwrite(text, 1, (size_t)(at - text), fp);
	fputc('[', fp);
	/* the queued passwords written ahead of the run, then the plan */
	json_array_foreach(json_object_get(r, "changes"), i, o) {
		char *one;

		if (!is_password(o))
			continue;
		one = json_dumps(o, JSON_COMPACT);
		fprintf(fp, "%s\n    %s", npw++ ? "," : "", one);
		free(one);
	}
	if (npw > 0 && plan->n > 0)
		fputc(',', fp);
	if (render_of(rr, plan)) {
		fwrite(rr->text.p, 1, rr->text.len, fp);
	} else {
		struct buf b = BUF_INIT;

		/* a change at a time: json_dumpf writes token by token */
		for (i = 0; i < plan->n; i++) {
			buf_adds(&b, LINE_SEP(i));
			change_line(&b, &plan->v[i]);
			fwrite(b.p, 1, b.len, fp);
			buf_reset(&b);
		}
		buf_free(&b);
	}
	fputs(plan->n || npw ? "\n  ]" : "]", fp);
	fputs(rest, fp);
	fputc('\n', fp);
	free(text);
}

char *
report_plan_text(const struct plan *plan)
{
	char **lines = xcalloc(plan->n + 1, sizeof(*lines));
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < plan->n; i++) {
		json_t *o = change_json(&plan->v[i], true);

		/* what is applied, not how it is explained: a plan kept by
		 * an older dirsync compares equal */
		json_object_del(o, "account");
		json_object_del(o, "reason");
		json_object_del(o, "left_scope");
		json_object_del(o, "members_added");
		json_object_del(o, "members_removed");
		lines[i] = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(o);
		if (lines[i] == NULL)
			lines[i] = xstrdup("{}");
	}
	qsort(lines, plan->n, sizeof(*lines), cmp_line);
	buf_adds(&b, "");
	for (i = 0; i < plan->n; i++) {
		buf_adds(&b, lines[i]);
		buf_adds(&b, "\n");
		free(lines[i]);
	}
	free(lines);
	return buf_steal(&b);
}

/* The next line of *p (without its newline), or NULL at the end. */
static const char *
next_line(const char **p, size_t *len)
{
	const char *s = *p, *nl;

	if (s == NULL || *s == '\0')
		return NULL;
	nl = strchr(s, '\n');
	*len = nl != NULL ? (size_t)(nl - s) : strlen(s);
	*p = nl != NULL ? nl + 1 : s + *len;
	return s;
}

/* One line of a plan text that only one side has. */
struct dline {
	char sign;          /* '-' approved only, '+' now only */
	const char *s;      /* into the text, not NUL-terminated */
	size_t len;
	json_t *o;          /* the change, NULL if the line is not JSON */
	const char *addr, *kind;
	int rank;           /* of its object: disables first (prio()) */
};

/* What a reviewer must not miss comes first: disables and deletes, then
 * additions, then updates. */
static int
prio(const json_t *o)
{
	const char *op = jstr(o, "op");

	if (strcmp(op, "disable") == 0 || strcmp(op, "delete") == 0)
		return 0;
	return strcmp(op, "add") == 0 ? 1 : 2;
}

static int
cmp_object(const struct dline *x, const struct dline *y)
{
	int d = strcmp(x->addr, y->addr);

	return d != 0 ? d : strcmp(x->kind, y->kind);
}

/* By object (address, kind), "-" before "+". */
static int
cmp_dline_object(const void *a, const void *b)
{
	const struct dline *x = a, *y = b;
	int d = cmp_object(x, y);

	return d != 0 ? d : (x->sign == '-') ? (y->sign == '-' ? 0 : -1)
					     : (y->sign == '-' ? 1 : 0);
}

/* By the object's rank, then as cmp_dline_object. */
static int
cmp_dline_rank(const void *a, const void *b)
{
	const struct dline *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return cmp_dline_object(a, b);
}

/* The line as the text report shows the change, members shortened. */
static void
drift_print(struct buf *b, const struct dline *l)
{
	struct change ch;
	char *text = NULL, *own[2];
	size_t len = 0;
	FILE *fp;

	if (l->o == NULL || (fp = open_memstream(&text, &len)) == NULL) {
		if (l->len > 300)
			buf_printf(b, "%c %.300s... (%zu bytes)\n", l->sign,
				   l->s, l->len);
		else
			buf_printf(b, "%c %.*s\n", l->sign, (int)l->len,
				   l->s);
		return;
	}
	change_from_json(l->o, &ch, own);
	print_change(fp, &ch, false, DRIFT_SHOWN);
	fclose(fp);
	free(own[0]);
	free(own[1]);
	/* report_print_change()'s two leading spaces and newline */
	while (len > 0 && (text[len - 1] == '\n'))
		text[--len] = '\0';
	buf_printf(b, "%c %s\n", l->sign, text + strspn(text, " "));
	free(text);
}

/*
 * The same list updated in both plans: how its members now differ from
 * what the approved plan would have made of them.
 */
static void
drift_members(struct buf *b, const struct dline *was, const struct dline *now)
{
	const json_t *fw = json_object_get(was->o, "fields");
	const json_t *fn = json_object_get(now->o, "fields");
	const char *gw = json_string_value(json_object_get(fw, "goto"));
	const char *gn = json_string_value(json_object_get(fn, "goto"));
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	if (gw == NULL || gn == NULL || strcmp(gw, gn) == 0 ||
	    (fp = open_memstream(&text, &len)) == NULL)
		return;
	print_goto_diff(fp, gw, gn, DRIFT_SHOWN);
	fclose(fp);
	buf_printf(b, "~ %s now, against the approved plan:%s\n", now->addr,
		   text);
	free(text);
}

/* The differing lines of two sorted plan texts, in text order. */
static struct dline *
drift_lines(const char *kept, const char *now, size_t *n)
{
	struct dline *v = NULL;
	size_t cap = 0, la = 0, lc = 0;
	const char *a = next_line(&kept, &la), *c = next_line(&now, &lc);

	*n = 0;
	/* both sides are sorted: one merge pass */
	while (a != NULL || c != NULL) {
		int d = a == NULL   ? 1
			: c == NULL ? -1
				    : strncmp(a, c, la < lc ? la : lc);

		if (d == 0 && la != lc)
			d = la < lc ? -1 : 1;
		if (d == 0) {
			a = next_line(&kept, &la);
			c = next_line(&now, &lc);
			continue;
		}
		v = xgrow(v, &cap, *n + 1, sizeof(*v));
		v[*n].sign = d < 0 ? '-' : '+';
		v[*n].s = d < 0 ? a : c;
		v[*n].len = d < 0 ? la : lc;
		(*n)++;
		if (d < 0)
			a = next_line(&kept, &la);
		else
			c = next_line(&now, &lc);
	}
	return v;
}

char *
report_plan_diff(const char *kept, const char *now, size_t max)
{
	struct buf b = BUF_INIT;
	size_t n, i, j, shown = 0;
	struct dline *v = drift_lines(kept, now, &n);

	if (n == 0) {
		free(v);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		v[i].o = json_loadb(v[i].s, v[i].len, 0, NULL);
		if (!json_is_object(v[i].o)) {
			json_decref(v[i].o);
			v[i].o = NULL;
		}
		v[i].addr = v[i].o != NULL ? jstr(v[i].o, "address") : "";
		v[i].kind = v[i].o != NULL ? jstr(v[i].o, "kind") : "";
		v[i].rank = v[i].o != NULL ? prio(v[i].o) : 2;
	}
	/* an object's lines together, ranked by the most telling of them */
	qsort(v, n, sizeof(*v), cmp_dline_object);
	for (i = 0; i < n; i = j) {
		int r = v[i].rank;

		for (j = i + 1; j < n && cmp_object(&v[i], &v[j]) == 0; j++)
			r = v[j].rank < r ? v[j].rank : r;
		while (i < j)
			v[i++].rank = r;
	}
	qsort(v, n, sizeof(*v), cmp_dline_rank);
	for (i = 0; i < n && shown < max; i++, shown++) {
		drift_print(&b, &v[i]);
		if (v[i].sign == '+' && i > 0 && v[i - 1].sign == '-' &&
		    v[i].o != NULL && v[i - 1].o != NULL &&
		    cmp_object(&v[i - 1], &v[i]) == 0)
			drift_members(&b, &v[i - 1], &v[i]);
	}
	if (i < n)
		buf_printf(&b, "... and %zu more\n", n - i);
	for (i = 0; i < n; i++)
		json_decref(v[i].o);
	free(v);
	return buf_steal(&b);
}


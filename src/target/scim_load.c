/*
 * scim_load.c - the SCIM target's open, load and close: the bearer token,
 * /ServiceProviderConfig (RFC 7644 section 4), paged reads of /Users and
 * /Groups (section 3.4.2.4: startIndex/count; the first page gives
 * totalResults, the others are fetched a few at a time in parallel; or
 * RFC 9865 cursors when the server offers them), and what the server
 * holds as the mail objects the planner diffs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target/scim.h"
#include "target/scim_int.h"
#include "target/target.h"
#include "util/log.h"
#include "util/xalloc.h"

#define USER_PAGE 500L
#define GROUP_PAGE 50L     /* a Group may carry thousands of members */
#define INFLIGHT 4         /* requests at once: polite to a SaaS API */
#define PAGES_AT_ONCE 8    /* pages held in memory at once */
/*
 * Users: what dirsync does not compare left out (RFC 7644 3.4.2.5), not
 * an `attributes` list: the enterprise extension's URN in one makes
 * scimmy answer 400, and a list without it would drop the extension.
 */
#define USER_PARAMS \
	"excludedAttributes=groups,photos,ims,x509Certificates,entitlements,roles"
#define GROUP_PARAMS "attributes=displayName,externalId,members,meta"

static bool
spc_bool(const json_t *spc, const char *key, bool dflt)
{
	const json_t *o = json_object_get(spc, key);

	if (o == NULL)
		return dflt;
	return json_is_true(json_object_get(o, "supported"));
}

/*
 * What the server supports.  A server without the endpoint (404) gets
 * the defaults: PATCH assumed (RFC 7644 makes it optional but every
 * provisioning client needs it), no ETags.
 */
static int
read_spc(struct target *t, struct err *err)
{
	char detail[400];
	json_t *j;
	long st = scim_call(t, "GET", "/ServiceProviderConfig", NULL, false,
			    NULL, &j, detail, sizeof(detail), err);

	t->patch = true;
	if (st < 0) {
		err_where(err, "read /ServiceProviderConfig");
		return -1;
	}
	if (st == 404) {
		log_warn("scim: %s has no /ServiceProviderConfig; assuming "
			 "PATCH, no ETags", t->conf->target.url);
		return 0;
	}
	if (st != 200 || j == NULL) {
		json_decref(j);
		err->lib_rc = st;
		return err_set(err, DS_E_TARGET, "GET /ServiceProviderConfig: "
			       "%s", st == 200 ? "not JSON" : detail);
	}
	t->have_spc = true;
	t->patch = spc_bool(j, "patch", false);
	t->etag = spc_bool(j, "etag", false);
	t->filter = spc_bool(j, "filter", false);
	t->sort = spc_bool(j, "sort", false);
	t->bulk = spc_bool(j, "bulk", false);
	/* RFC 9865: "pagination": {"cursor": true, ...} */
	t->cursor = json_is_true(json_object_get(
		json_object_get(j, "pagination"), "cursor"));
	t->max_results = (long)json_integer_value(
		json_object_get(json_object_get(j, "filter"), "maxResults"));
	json_decref(j);
	if (!t->patch && !t->readonly)
		return err_set(err, DS_E_TARGET, "the server says it does not "
			       "support PATCH (ServiceProviderConfig): group "
			       "members and further emails need it");
	return 0;
}

int
scim_open(struct target **out, const struct conf *conf, bool readonly,
	  struct err *err)
{
	struct scim_http_opts o;
	struct target *t;
	char *token = NULL;
	int rc;

	*out = NULL;
	if (scim_read_token(conf->target.token_file, &token, err) != 0)
		return -1;
	if (strncmp(conf->target.url, "http://", 7) == 0)
		log_warn("scim: %s is plain http:// (accepted for a loopback "
			 "host only): the token and the data are not "
			 "encrypted", conf->target.url);
	memset(&o, 0, sizeof(o));
	o.base = conf->target.url;
	o.token = token;
	o.ca_file = conf->target.ca_file;
	o.inflight = INFLIGHT;
	o.attempts = 6;
	o.backoff = 0.5;
	o.backoff_cap = 30;
	o.timeout = 120;
	t = xcalloc(1, sizeof(*t));
	t->conf = conf;
	t->readonly = readonly;
	rc = scim_http_open(&t->http, &o, err);
	explicit_bzero(token, strlen(token));
	free(token);
	if (rc != 0 || read_spc(t, err) != 0) {
		scim_close(t);
		return -1;
	}
	*out = t;
	return 0;
}

/*
 * One ListResponse page into the index; its Resources count in *got,
 * totalResults in *total (-1 when absent: allowed with cursors), the
 * RFC 9865 nextCursor into *next when next != NULL (NULL: last page).
 */
static int
take_page(struct target *t, bool group, const struct scim_req *r,
	  long *total, size_t *got, char **next, struct err *err)
{
	json_t *j, *res, *it;
	size_t i;

	if (r->status != 200) {
		char detail[400];

		scim_json_detail(detail, sizeof(detail), r->status,
				 r->resp.p);
		err->lib_rc = r->status;
		return err_set(err, DS_E_TARGET, "GET %s: %s", r->path,
			       detail);
	}
	j = json_loads(r->resp.p ? r->resp.p : "", 0, NULL);
	res = json_object_get(j, "Resources");
	if (j == NULL || (res != NULL && !json_is_array(res)) ||
	    (next == NULL &&
	     !json_is_integer(json_object_get(j, "totalResults")))) {
		json_decref(j);
		return err_set(err, DS_E_TARGET, "GET %s: not a SCIM "
			       "ListResponse", r->path);
	}
	*total = json_is_integer(json_object_get(j, "totalResults"))
			 ? (long)json_integer_value(
				   json_object_get(j, "totalResults"))
			 : -1;
	if (next != NULL) {
		const char *c = json_string_value(
			json_object_get(j, "nextCursor"));

		*next = c != NULL && *c ? xstrdup(c) : NULL;
	}
	*got = json_array_size(res);
	json_array_foreach(res, i, it)
		if (scim_res_take(t, NULL, json_incref(it), group) == NULL)
			log_warn("scim: a %s without id or %s skipped",
				 group ? "Group" : "User",
				 group ? "displayName" : "userName");
	json_decref(j);
	return 0;
}

static struct scim_req *
page_req(bool group, long start, long count)
{
	char path[256];

	snprintf(path, sizeof(path), "/%s?startIndex=%ld&count=%ld&%s",
		 group ? "Groups" : "Users", start, count,
		 group ? GROUP_PARAMS : USER_PARAMS);
	return scim_req_new("GET", path, NULL);
}

/*
 * With cursors (RFC 9865, when /ServiceProviderConfig offers them): one
 * page after the other, each naming the next; stable under concurrent
 * changes, where startIndex pages may shift.
 */
static int
load_cursor(struct target *t, bool group, long page, size_t *count,
	    struct err *err)
{
	struct buf path = BUF_INIT;
	char *cursor = NULL;
	size_t got = 0, k;
	long total = -1;
	int rc = 0, pages = 0;

	do {
		struct scim_req *r;

		buf_reset(&path);
		buf_printf(&path, "/%s?cursor", group ? "Groups" : "Users");
		if (cursor != NULL) {
			buf_addc(&path, '=');
			scim_json_urlenc(&path, cursor);
			free(cursor);
			cursor = NULL;
		}
		buf_printf(&path, "&count=%ld&%s", page,
			   group ? GROUP_PARAMS : USER_PARAMS);
		r = scim_req_new("GET", buf_str(&path), NULL);
		rc = scim_http_one(t->http, r, err);
		if (rc == 0)
			rc = take_page(t, group, r, &total, &k, &cursor, err);
		scim_req_free(r);
		got += rc == 0 ? k : 0;
		if (rc == 0 && cursor != NULL && (k == 0 || ++pages > 1000000))
			rc = err_set(err, DS_E_TARGET, "GET %s: a cursor that "
				     "does not move on", buf_str(&path));
	} while (rc == 0 && cursor != NULL);
	free(cursor);
	buf_free(&path);
	if (rc == 0 && total >= 0 && (long)got != total)
		rc = err_set(err, DS_E_TARGET, "read %zu %s of the %ld the "
			     "server announced: nothing planned from a "
			     "partial view", got, group ? "Groups" : "Users",
			     total);
	*count = got;
	return rc;
}

/*
 * Every User or Group.  The whole list or nothing: a page missing, or a
 * total that moved while reading, fails the load (a partial view would
 * plan adds of objects that exist).
 */
static int
load_kind(struct target *t, bool group, size_t *count, struct err *err)
{
	long page = group ? GROUP_PAGE : USER_PAGE, total = 0, t2;
	struct scim_req *v[PAGES_AT_ONCE];
	size_t got = 0, n, i, k;
	long next, per;
	int rc = 0;

	if (t->max_results > 0 && page > t->max_results)
		page = t->max_results;
	if (t->cursor)
		return load_cursor(t, group, page, count, err);
	v[0] = page_req(group, 1, page);
	if (scim_http_one(t->http, v[0], err) != 0 ||
	    take_page(t, group, v[0], &total, &got, NULL, err) != 0) {
		scim_req_free(v[0]);
		return -1;
	}
	scim_req_free(v[0]);
	per = got > 0 ? (long)got : page;   /* the server's own page size */
	for (next = (long)got + 1; got > 0 && next <= total && rc == 0;) {
		for (n = 0; n < PAGES_AT_ONCE && next <= total; n++) {
			v[n] = page_req(group, next, per);
			next += per;
		}
		rc = scim_http_run(t->http, v, n, err);
		for (i = 0; i < n; i++) {
			if (rc == 0 &&
			    (rc = take_page(t, group, v[i], &t2, &k, NULL,
					    err)) == 0)
				got += k;
			scim_req_free(v[i]);
		}
	}
	if (rc != 0)
		return -1;
	if ((long)got != total)
		return err_set(err, DS_E_TARGET, "read %zu %s of the %ld the "
			       "server announced (it changed while being "
			       "read?): nothing planned from a partial view",
			       got, group ? "Groups" : "Users", total);
	*count = got;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A Group's members as the planner sees a list: addresses, sorted. */
static char *
group_gotos(struct target *t, const struct scim_res *g)
{
	const char **v = xcalloc(g->n + 1, sizeof(*v));
	struct buf b = BUF_INIT;
	size_t i, n = 0;

	for (i = 0; i < g->n; i++) {
		const struct scim_res *u = strmap_get(&t->ids, g->v[i]);

		if (u != NULL)
			v[n++] = u->key;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			buf_printf(&b, "%s%s", b.len ? "," : "", v[i]);
	free(v);
	return n > 0 ? buf_steal(&b) : NULL;
}

static void
add_obj(struct mset *cur, enum mkind kind, const char *addr,
	const struct scim_res *r, const char *gotos, bool active)
{
	struct mobj o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.address = addr;
	o.anchor = r != NULL ? r->external_id : NULL;
	o.name = r != NULL && kind == MK_MAILBOX ? r->name : NULL;
	/* "" when none: this target carries them (the planner compares) */
	o.attrs = kind == MK_MAILBOX ? (r != NULL && r->attrs != NULL
						? r->attrs
						: "")
				     : NULL;
	o.gotos = gotos;
	o.active = active;
	if (mset_add(cur, &o) == NULL)
		log_debug("scim: %s held twice on the server; first kept",
			  addr);
}

/*
 * Users as mailboxes, their further emails as aliases, Groups as
 * alias-table rows (the planner takes the kind from the state), a Group
 * without members as disabled.  No domains: SCIM has no domain object
 * (the target does not declare TCAP_DOMAINS).  externalId is each
 * object's anchor.
 */
int
scim_load(struct target *t, struct mset *cur, struct err *err)
{
	size_t i, j;

	scim_index_free(t);
	err_where(err, "read target");
	if (load_kind(t, false, &t->nusers, err) != 0 ||
	    load_kind(t, true, &t->ngroups, err) != 0)
		return -1;
	err_where(err, "");
	for (i = 0; i < t->nall; i++)
		if (!t->all[i]->group)
			add_obj(cur, MK_MAILBOX, t->all[i]->key, t->all[i],
				NULL, t->all[i]->active);
	for (i = 0; i < t->nall; i++)
		for (j = 0; !t->all[i]->group && j < t->all[i]->n; j++)
			add_obj(cur, MK_ALIAS, t->all[i]->v[j], t->all[i],
				t->all[i]->key, true);
	for (i = 0; i < t->nall; i++) {
		char *gotos;

		if (!t->all[i]->group)
			continue;
		gotos = group_gotos(t, t->all[i]);
		add_obj(cur, MK_ALIAS, t->all[i]->key, t->all[i], gotos,
			gotos != NULL);
		free(gotos);
	}
	mset_seal(cur);
	return 0;
}

/* totalResults of `GET /Users?count=0` (RFC 7644 3.4.2.4), or -1. */
static long
count_of(struct target *t, const char *what, struct err *err)
{
	char path[64], detail[400];
	json_t *j;
	long st, n;

	snprintf(path, sizeof(path), "/%s?startIndex=1&count=0", what);
	st = scim_call(t, "GET", path, NULL, false, NULL, &j, detail,
		       sizeof(detail), err);
	if (st < 0)
		return -1;
	if (st != 200 ||
	    !json_is_integer(json_object_get(j, "totalResults"))) {
		json_decref(j);
		err->lib_rc = st;
		err_set(err, DS_E_TARGET, "GET %s: %s", path,
			st == 200 ? "not a SCIM ListResponse" : detail);
		return -1;
	}
	n = (long)json_integer_value(json_object_get(j, "totalResults"));
	json_decref(j);
	return n;
}

int
scim_describe(const struct conf *conf, FILE *fp, struct err *err)
{
	struct target *t;
	long users, groups;

	if (scim_open(&t, conf, true, err) != 0)
		return -1;
	if ((users = count_of(t, "Users", err)) < 0 ||
	    (groups = count_of(t, "Groups", err)) < 0) {
		scim_close(t);
		return -1;
	}
	if (!t->have_spc)
		fprintf(fp, "           no /ServiceProviderConfig\n");
	else
		fprintf(fp, "           supports PATCH %s, ETags %s, filter "
			"%s (maxResults %ld), sort %s, bulk %s, cursors %s\n",
			t->patch ? "yes" : "no", t->etag ? "yes" : "no",
			t->filter ? "yes" : "no", t->max_results,
			t->sort ? "yes" : "no", t->bulk ? "yes" : "no",
			t->cursor ? "yes" : "no");
	fprintf(fp, "           authorised; %ld Users, %ld Groups\n", users,
		groups);
	scim_close(t);
	return 0;
}

void
scim_close(struct target *t)
{
	if (t == NULL)
		return;
	scim_index_free(t);
	scim_http_close(t->http);
	free(t);
}

/*
 * scim.c - the SCIM 2.0 target (RFC 7643 resources, RFC 7644 protocol):
 * `[target] type = scim`, url = the service's base URL, token_file = its
 * bearer token, ca_file = a private CA.
 *
 * A per-object target (TCAP_PER_OBJECT): SCIM has no transaction, every
 * apply() lands on its own and returns the server's id (TCAP_TARGET_ID).
 * open() reads /ServiceProviderConfig and load() pages through /Users and
 * /Groups (scim_load.c), keeping an index of what the server holds, which
 * apply() reads and keeps current from the server's answers.  The
 * mapping is in scim_json.h and docs/scim.md; HTTP, retries and back-off
 * in scim_http.c.
 *
 * Failures: an HTTP 4xx for one object (400, 404, 409, 412 after a fresh
 * read, 413) is that object's (err->object set, DS_E_TARGET with the
 * server's `detail`); a server that keeps failing (429/5xx/connection
 * errors past the retries), 401/403 and TLS errors stop the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target/scim_int.h"
#include "target/target.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Members per PATCH: a 50,000-member list is 100 requests, none huge. */
#define MEMBER_CHUNK 500
/* Members per remove filter (value eq "a" or value eq "b" ...). */
#define REMOVE_CHUNK 100
/* Tries of a POST whose answer was lost (each looks first). */
#define POST_TRIES 5
#define TOKEN_MAX 16384
#define DETAIL_MAX 400

int
scim_read_token(const char *file, char **out, struct err *err)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n = 0;
	size_t len = 0;
	int fd, rc = -1;

	*out = NULL;
	if (file == NULL || *file == '\0')
		return err_set(err, DS_E_CONFIG, "[target] token_file is "
			       "required for type = scim");
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		err->lib_rc = errno;
		return err_at(err, DS_E_CONFIG, file, 0, "token_file: %s",
			      strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_at(err, DS_E_CONFIG, file, 0,
		       "token_file is not a regular file");
		goto done;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err_at(err, DS_E_CONFIG, file, 0,
		       "is %s by group or others (mode %04o); chmod 600 %s",
		       st.st_mode & (S_IRGRP | S_IROTH) ? "readable"
							 : "writable",
		       (unsigned)(st.st_mode & 07777), file);
		goto done;
	}
	buf = xmalloc(TOKEN_MAX + 1);
	while (len <= TOKEN_MAX &&
	       (n = read(fd, buf + len, TOKEN_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len > TOKEN_MAX) {
		err_at(err, DS_E_CONFIG, file, 0, "token_file: %s",
		       n < 0 ? strerror(errno) : "longer than 16 KiB");
		goto done;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0 || strlen(buf) != len || strpbrk(buf, "\r\n") != NULL) {
		err_at(err, DS_E_CONFIG, file, 0, "token_file must hold one "
		       "line (the bearer token)");
		goto done;
	}
	*out = xstrndup(buf, len);
	rc = 0;
done:
	if (buf != NULL) {
		explicit_bzero(buf, TOKEN_MAX + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

long
scim_call(struct target *t, const char *method, const char *path,
	  json_t *body, bool once, const char *if_match, json_t **out,
	  char *detail, size_t dlen, struct err *err)
{
	char *js = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	struct scim_req *r = scim_req_new(method, path, js);
	long status;

	free(js);
	json_decref(body);
	if (out != NULL)
		*out = NULL;
	r->once = once;
	if (if_match != NULL && t->etag)
		snprintf(r->if_match, sizeof(r->if_match), "%s", if_match);
	if (scim_http_one(t->http, r, err) != 0) {
		scim_req_free(r);
		return -1;
	}
	status = r->status;
	if (status >= 200 && status < 300 && out != NULL && r->resp.len > 0)
		*out = json_loads(buf_str(&r->resp), 0, NULL);
	if ((status < 200 || status >= 300) && detail != NULL)
		scim_json_detail(detail, dlen, status, buf_str(&r->resp));
	scim_req_free(r);
	return status;
}

/* A per-object failure: err->object = the address. */
static int
obj_fail(const struct change *ch, long status, const char *what,
	 const char *detail, struct err *err)
{
	err_object(err, ch->address);
	err->lib_rc = status;
	return err_set(err, DS_E_TARGET, "%s: %s", what, detail);
}

/* ---- the index ------------------------------------------------------- */

static struct strmap *
by_key(struct target *t, bool group)
{
	return group ? &t->groups : &t->users;
}

static void
index_put(struct target *t, struct scim_res *r)
{
	size_t i;

	if (!r->group) {
		for (i = 0; i < r->n; i++)
			if (strmap_get(&t->emails, r->v[i]) == NULL)
				strmap_put(&t->emails, r->v[i], r);
		strmap_put(&t->ids, r->id, r);
	}
	if (strmap_get(by_key(t, r->group), r->key) == NULL)
		strmap_put(by_key(t, r->group), r->key, r);
}

static void
index_unlink(struct target *t, struct scim_res *r)
{
	size_t i;

	if (r->key == NULL)
		return;
	if (strmap_get(by_key(t, r->group), r->key) == r)
		strmap_del(by_key(t, r->group), r->key);
	if (r->group)
		return;
	for (i = 0; i < r->n; i++)
		if (strmap_get(&t->emails, r->v[i]) == r)
			strmap_del(&t->emails, r->v[i]);
	if (strmap_get(&t->ids, r->id) == r)
		strmap_del(&t->ids, r->id);
}

struct scim_res *
scim_res_take(struct target *t, struct scim_res *r, json_t *j, bool group)
{
	struct scim_res fresh;
	int rc;

	memset(&fresh, 0, sizeof(fresh));
	rc = scim_res_parse(&fresh, j, group);
	json_decref(j);
	if (rc != 0)
		return NULL;
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		t->all = xgrow(t->all, &t->capall, t->nall + 1,
			       sizeof(*t->all));
		t->all[t->nall++] = r;
	} else {
		index_unlink(t, r);
	}
	scim_res_clear(r);
	*r = fresh;
	index_put(t, r);
	return r;
}

/* Gone from the server: out of the index (freed at close). */
static void
res_forget(struct target *t, struct scim_res *r)
{
	index_unlink(t, r);
	scim_res_clear(r);
}

void
scim_index_free(struct target *t)
{
	const char *k;
	void *v;
	size_t i;

	for (i = 0; i < t->nall; i++) {
		scim_res_clear(t->all[i]);
		free(t->all[i]);
	}
	free(t->all);
	t->all = NULL;
	t->nall = t->capall = 0;
	strmap_free(&t->users);
	strmap_free(&t->groups);
	strmap_free(&t->emails);
	strmap_free(&t->ids);
	for (i = 0; strmap_next(&t->failed, &i, &k, &v);)
		free(v);
	strmap_free(&t->failed);
}

static const char *
res_path(const struct scim_res *r, struct buf *b)
{
	buf_reset(b);
	buf_printf(b, "/%s/", r->group ? "Groups" : "Users");
	scim_json_urlenc(b, r->id);
	return buf_str(b);
}

/* GET the resource again.  Returns its status (404: forgotten) or -1. */
static long
res_fetch(struct target *t, struct scim_res *r, struct err *err)
{
	struct buf p = BUF_INIT;
	json_t *j;
	long st = scim_call(t, "GET", res_path(r, &p), NULL, false, NULL, &j,
			    NULL, 0, err);

	buf_free(&p);
	if (st == 404)
		res_forget(t, r);
	else if (st == 200 && scim_res_take(t, r, j, r->group) == NULL)
		st = 502;   /* not a resource */
	else if (st != 200)
		json_decref(j);
	return st;
}

/* Looks a resource up on the server: `attr eq "value"` (RFC 7644 3.4.2). */
static int
lookup(struct target *t, bool group, const char *attr, const char *value,
       struct scim_res **out, struct err *err)
{
	struct buf path = BUF_INIT, f = BUF_INIT;
	json_t *j = NULL, *res;
	long st;

	*out = NULL;
	scim_json_eq(&f, attr, value);
	buf_printf(&path, "/%s?filter=", group ? "Groups" : "Users");
	scim_json_urlenc(&path, buf_str(&f));
	st = scim_call(t, "GET", buf_str(&path), NULL, false, NULL, &j, NULL,
		       0, err);
	buf_free(&path);
	buf_free(&f);
	if (st < 0)
		return -1;
	res = json_array_get(json_object_get(j, "Resources"), 0);
	if (st == 200 && res != NULL) {
		const char *id = json_string_value(json_object_get(res, "id"));
		struct scim_res *have = NULL;

		if (id != NULL && !group)
			have = strmap_get(&t->ids, id);
		if (have == NULL && id != NULL) {
			size_t i;

			for (i = 0; i < t->nall && have == NULL; i++)
				if (t->all[i]->id != NULL &&
				    t->all[i]->group == group &&
				    strcmp(t->all[i]->id, id) == 0)
					have = t->all[i];
		}
		*out = scim_res_take(t, have, json_incref(res), group);
	}
	json_decref(j);
	return 0;
}

/*
 * PATCH r (RFC 7644 3.5.2) with If-Match when offered; on 412 (changed
 * meanwhile) read it again and send once more.  r is refreshed from the
 * answer (a 204 is followed by a GET).  Returns the status or -1.
 */
static long
res_patch(struct target *t, struct scim_res *r, json_t *patch,
	  char *detail, size_t dlen, struct err *err)
{
	struct buf p = BUF_INIT;
	json_t *j;
	long st;
	int i;

	for (i = 0; i < 2; i++) {
		st = scim_call(t, "PATCH", res_path(r, &p), json_incref(patch),
			       false, r->version, &j, detail, dlen, err);
		if (st != 412 || i > 0)
			break;
		if ((st = res_fetch(t, r, err)) != 200)
			break;
	}
	buf_free(&p);
	json_decref(patch);
	if (st == 200 && scim_res_take(t, r, j, r->group) != NULL)
		return 200;
	if (st >= 200 && st < 300)
		return res_fetch(t, r, err) == 200 ? 200 : 204;
	return st;
}

/* POST body (stolen): a new resource, taken into the index. */
static long
res_post(struct target *t, bool group, json_t *body, struct scim_res **out,
	 char *detail, size_t dlen, struct err *err)
{
	json_t *j;
	long st = scim_call(t, "POST", group ? "/Groups" : "/Users", body,
			    true, NULL, &j, detail, dlen, err);

	*out = NULL;
	if (st == 200 || st == 201) {
		*out = scim_res_take(t, NULL, j, group);
		if (*out == NULL) {
			snprintf(detail, dlen, "the answer is not a %s",
				 group ? "Group" : "User");
			return 502;
		}
	}
	return st;
}

static void
set_id(char *target_id, const struct scim_res *r)
{
	if (target_id != NULL)
		snprintf(target_id, TARGET_ID_MAX, "%s", r ? r->id : "");
}

static bool
ours(const struct scim_res *r, const struct change *ch)
{
	return r != NULL && r->external_id != NULL && ch->anchor != NULL &&
	       strcmp(r->external_id, ch->anchor) == 0;
}

/* ---- mailboxes: Users ------------------------------------------------- */

/*
 * The name and SPEC's further attributes: each SCIM attribute that
 * carries some replaced as a whole, one the User has and should not
 * removed (a remove of an absent attribute is an error on some servers).
 */
static void
profile_ops(json_t *p, const struct scim_res *r, const struct change *ch)
{
	json_t *want = json_object(), *had = json_object();
	size_t i;

	scim_json_put_profile(want, ch->attrs, ch->name);
	scim_json_put_profile(had, r->attrs, r->name);
	for (i = 0; scim_profile_keys[i] != NULL; i++) {
		const char *k = scim_profile_keys[i];
		json_t *v = json_object_get(want, k);

		if (v != NULL)
			scim_json_op(p, "replace", k, json_incref(v));
		else if (json_object_get(had, k) != NULL)
			scim_json_op(p, "remove", k, NULL);
	}
	json_decref(want);
	json_decref(had);
}

/* The PATCH operations that bring User r in line with the change. */
static json_t *
user_ops(const struct scim_res *r, const struct change *ch, unsigned fields)
{
	json_t *p = scim_json_patch();

	if (fields & CH_ADDRESS) {
		scim_json_op(p, "replace", "userName", json_string(ch->address));
		scim_json_op(p, "replace", "emails",
			     scim_json_emails(ch->address, r->v, r->n));
	}
	if ((fields & CH_NAME) && ch->name != NULL && *ch->name)
		scim_json_op(p, "replace", "displayName", json_string(ch->name));
	else if ((fields & CH_NAME) && r->name != NULL)
		scim_json_op(p, "remove", "displayName", NULL);
	if (fields & (CH_NAME | CH_ATTRS))
		profile_ops(p, r, ch);
	if ((fields & CH_ACTIVE) || !r->active)
		scim_json_op(p, "replace", "active", json_true());
	if (ch->anchor != NULL && !ours(r, ch))
		scim_json_op(p, "replace", "externalId", json_string(ch->anchor));
	if (json_array_size(json_object_get(p, "Operations")) == 0) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static int
user_update(struct target *t, const struct change *ch, struct scim_res *r,
	    unsigned fields, char *tid, struct err *err)
{
	char detail[DETAIL_MAX];
	json_t *p = user_ops(r, ch, fields);
	long st;

	set_id(tid, r);
	if (p == NULL)
		return 0;
	st = res_patch(t, r, p, detail, sizeof(detail), err);
	if (st < 0)
		return -1;
	if (st != 200 && st != 204)
		return obj_fail(ch, st, "update user", detail, err);
	return 0;
}

/*
 * A new User.  A 409 (userName taken) or a lost answer: if the User at
 * that userName carries this anchor, it is ours (a run that stopped
 * after the POST): it is brought in line, never created twice.
 */
static int
user_add(struct target *t, const struct change *ch, char *tid,
	 struct err *err)
{
	char detail[DETAIL_MAX] = "";
	struct scim_res *r;
	long st = SCIM_LOST;
	int i;

	for (i = 0; i < POST_TRIES && st == SCIM_LOST; i++) {
		if (i > 0 || (r = strmap_get(&t->users, ch->address)) == NULL) {
			st = res_post(t, false, scim_json_user(ch), &r, detail,
				      sizeof(detail), err);
			if (st < 0)
				return -1;
			if (st == 200 || st == 201) {
				set_id(tid, r);
				return 0;
			}
			if (st != 409 && st != SCIM_LOST)
				return obj_fail(ch, st, "create user", detail,
						err);
			if (lookup(t, false, "userName", ch->address, &r,
				   err) != 0)
				return -1;
		}
		if (ours(r, ch))
			return user_update(t, ch, r,
					   CH_NAME | CH_ACTIVE | CH_ATTRS, tid,
					   err);
		if (r != NULL)   /* someone else's: adopt decides, not us */
			return obj_fail(ch, 409, "create user", "the server "
					"already has this userName, without "
					"this object's externalId", err);
	}
	return err_set(err, DS_E_CONNECT, "POST /Users for %s: the "
		       "connection was lost %d times", ch->address,
		       POST_TRIES);
}

/* The change's User: in the index, else by externalId.  -1: stop. */
static int
find_user(struct target *t, const struct change *ch, struct scim_res **r,
	  struct err *err)
{
	const char *addr = ch->old_address ? ch->old_address : ch->address;

	*r = strmap_get(&t->users, addr);
	if (*r == NULL && ch->anchor != NULL)
		return lookup(t, false, "externalId", ch->anchor, r, err);
	return 0;
}

static int
apply_user(struct target *t, const struct change *ch, char *tid,
	   struct err *err)
{
	char detail[DETAIL_MAX];
	struct buf p = BUF_INIT;
	struct scim_res *r;
	json_t *op;
	long st;

	if (ch->op == OP_ADD)
		return user_add(t, ch, tid, err);
	if (find_user(t, ch, &r, err) != 0)
		return -1;
	if (r == NULL && ch->op != OP_UPDATE) {
		set_id(tid, NULL);
		return 0;   /* gone already */
	}
	if (r == NULL)
		return obj_fail(ch, 404, "update user", "no such User on the "
				"server", err);
	if (ch->op == OP_UPDATE)
		return user_update(t, ch, r, ch->fields, tid, err);
	set_id(tid, r);
	if (ch->op == OP_DISABLE) {
		if (!r->active)
			return 0;
		op = scim_json_patch();
		scim_json_op(op, "replace", "active", json_false());
		st = res_patch(t, r, op, detail, sizeof(detail), err);
		if (st < 0)
			return -1;
		return st == 200 || st == 204
			       ? 0
			       : obj_fail(ch, st, "disable user", detail, err);
	}
	st = scim_call(t, "DELETE", res_path(r, &p), NULL, false, r->version,
		       NULL, detail, sizeof(detail), err);
	buf_free(&p);
	if (st < 0)
		return -1;
	if (st != 204 && st != 200 && st != 404)
		return obj_fail(ch, st, "delete user", detail, err);
	res_forget(t, r);
	return 0;
}

/* ---- aliases: further emails of a User ------------------------------- */

static int
email_op(struct target *t, const struct change *ch, struct scim_res *r,
	 bool add, struct err *err)
{
	char detail[DETAIL_MAX];
	struct buf f = BUF_INIT;
	json_t *p = scim_json_patch();
	long st;

	if (add) {
		scim_json_op(p, "add", "emails",
			     json_pack("[{s:s, s:s}]", "value", ch->address,
				       "type", "other"));
	} else {
		buf_adds(&f, "emails[");
		scim_json_eq(&f, "value", ch->address);
		buf_addc(&f, ']');
		scim_json_op(p, "remove", buf_str(&f), NULL);
		buf_free(&f);
	}
	st = res_patch(t, r, p, detail, sizeof(detail), err);
	if (st < 0)
		return -1;
	if (st != 200 && st != 204)
		return obj_fail(ch, st, add ? "add email" : "remove email",
				detail, err);
	return 0;
}

/* A change this target cannot carry: skipped, with the reason. */
static int
skip(const struct change *ch, const char *why, struct err *err)
{
	err_object(err, ch->address);
	err_set(err, DS_E_TARGET, "%s", why);
	return 1;
}

static void
note_failed(struct target *t, const struct change *ch)
{
	if (ch->kind == MK_MAILBOX && ch->op == OP_ADD &&
	    strmap_get(&t->failed, ch->address) == NULL) {
		char *k = xstrdup(ch->address);

		strmap_put(&t->failed, k, k);
	}
}

static int
apply_alias(struct target *t, const struct change *ch, char *tid,
	    struct err *err)
{
	struct scim_res *holder = strmap_get(&t->emails, ch->address);
	struct scim_res *owner;

	if (ch->op == OP_DISABLE || ch->op == OP_DELETE) {
		set_id(tid, holder);
		return holder != NULL ? email_op(t, ch, holder, false, err) : 0;
	}
	owner = ch->gotos != NULL ? strmap_get(&t->users, ch->gotos) : NULL;
	if (owner == NULL && ch->gotos != NULL &&
	    strmap_get(&t->failed, ch->gotos) != NULL)
		return obj_fail(ch, 0, "add email", "its User could not be "
				"created in this run", err);
	if (owner == NULL && ch->gotos != NULL &&
	    strmap_get(&t->groups, ch->gotos) != NULL)
		return skip(ch, "an address of a list: a SCIM Group has no "
			    "further addresses (the list is its Group, "
			    "displayName = its primary address)", err);
	if (owner == NULL)
		return skip(ch, "forwards to an address that is neither a "
			    "User nor a Group on the server (a contact): "
			    "SCIM carries further addresses only for Users",
			    err);
	set_id(tid, owner);
	if (holder != NULL && holder != owner &&
	    email_op(t, ch, holder, false, err) != 0)
		return -1;
	if (holder == owner)
		return 0;
	return email_op(t, ch, owner, true, err);
}

/* ---- lists: Groups ---------------------------------------------------- */

/* The member Users' ids for the comma-joined member addresses. */
static char **
member_ids(struct target *t, const char *gotos, size_t *n)
{
	char **v = NULL;
	size_t cap = 0, len;
	const char *p = gotos, *m;

	*n = 0;
	while ((m = goto_next(&p, &len)) != NULL) {
		char *a = xstrndup(m, len);
		struct scim_res *u = strmap_get(&t->users, a);

		if (u != NULL) {
			v = xgrow(v, &cap, *n + 1, sizeof(*v));
			v[(*n)++] = u->id;
		} else {
			log_debug("scim: list member %s is not a User", a);
		}
		free(a);
	}
	return v;
}

/*
 * Member PATCHes, MEMBER_CHUNK adds / REMOVE_CHUNK removes per request;
 * hash sets both ways, as a list may have 50,000 members.
 */
static int
group_members(struct target *t, const struct change *ch, struct scim_res *g,
	      char **want, size_t nwant, json_t *first, struct err *err)
{
	char detail[DETAIL_MAX];
	struct scim_res cur = {0};
	struct strmap in_cur = STRMAP_INIT, in_want = STRMAP_INIT;
	size_t i = 0, j = 0;
	long st = 200;

	for (i = 0; i < g->n; i++)   /* snapshot: g changes as we go */
		scim_res_push(&cur, g->v[i]);
	for (i = 0; i < cur.n; i++)
		strmap_put(&in_cur, cur.v[i], cur.v[i]);
	for (i = 0; i < nwant; i++)
		strmap_put(&in_want, want[i], want[i]);
	i = 0;
	while (first != NULL || i < nwant || j < cur.n) {
		json_t *p = first != NULL ? first : scim_json_patch();
		json_t *add = json_array();
		struct buf f = BUF_INIT;
		size_t k;

		first = NULL;
		for (k = 0; i < nwant && k < MEMBER_CHUNK; i++)
			if (strmap_get(&in_cur, want[i]) == NULL && ++k)
				json_array_append_new(
					add, json_pack("{s:s}", "value",
						       want[i]));
		for (k = 0; j < cur.n && k < REMOVE_CHUNK; j++) {
			if (strmap_get(&in_want, cur.v[j]) != NULL)
				continue;
			buf_adds(&f, k++ ? " or " : "members[");
			scim_json_eq(&f, "value", cur.v[j]);
		}
		if (f.len > 0) {
			buf_addc(&f, ']');
			scim_json_op(p, "remove", buf_str(&f), NULL);
		}
		buf_free(&f);
		if (json_array_size(add) > 0)
			scim_json_op(p, "add", "members", add);
		else
			json_decref(add);
		if (json_array_size(json_object_get(p, "Operations")) == 0) {
			json_decref(p);
			continue;
		}
		st = res_patch(t, g, p, detail, sizeof(detail), err);
		if (st != 200 && st != 204)
			break;
	}
	strmap_free(&in_cur);
	strmap_free(&in_want);
	scim_res_clear(&cur);
	if (st < 0)
		return -1;
	if (st != 200 && st != 204)
		return obj_fail(ch, st, "update group members", detail, err);
	return 0;
}

static int
group_add(struct target *t, const struct change *ch, char **ids, size_t n,
	  char *tid, struct err *err)
{
	char detail[DETAIL_MAX] = "";
	size_t first = n < MEMBER_CHUNK ? n : MEMBER_CHUNK;
	struct scim_res *g = NULL;
	long st = SCIM_LOST;
	int i;

	for (i = 0; i < POST_TRIES && st == SCIM_LOST; i++) {
		/* a lost answer: it may be there, found by its externalId */
		if (i > 0 && ch->anchor != NULL) {
			if (lookup(t, true, "externalId", ch->anchor, &g,
				   err) != 0)
				return -1;
			if (g != NULL)
				break;
		}
		st = res_post(t, true, scim_json_group(ch, ids, first), &g,
			      detail, sizeof(detail), err);
		if (st < 0)
			return -1;
	}
	if (g == NULL && st == SCIM_LOST)
		return err_set(err, DS_E_CONNECT, "POST /Groups for %s: the "
			       "connection was lost %d times", ch->address,
			       POST_TRIES);
	if (g == NULL)
		return obj_fail(ch, st, "create group", detail, err);
	set_id(tid, g);
	return group_members(t, ch, g, ids, n, NULL, err);
}

static int
apply_list(struct target *t, const struct change *ch, char *tid,
	   struct err *err)
{
	const char *addr = ch->old_address ? ch->old_address : ch->address;
	struct scim_res *g = strmap_get(&t->groups, addr);
	char **ids = NULL;
	size_t n = 0;
	json_t *p;
	int rc;

	if (g == NULL && ch->op != OP_ADD && ch->anchor != NULL &&
	    lookup(t, true, "externalId", ch->anchor, &g, err) != 0)
		return -1;
	set_id(tid, g);
	if (ch->op == OP_DELETE && g != NULL) {
		char detail[DETAIL_MAX];
		struct buf b = BUF_INIT;
		long st = scim_call(t, "DELETE", res_path(g, &b), NULL, false,
				    g->version, NULL, detail, sizeof(detail),
				    err);

		buf_free(&b);
		if (st < 0)
			return -1;
		if (st != 200 && st != 204 && st != 404)
			return obj_fail(ch, st, "delete group", detail, err);
		res_forget(t, g);
		return 0;
	}
	if (ch->op == OP_DELETE || (g == NULL && ch->op == OP_DISABLE))
		return 0;
	/* a disabled list is a Group without members (it delivers nowhere) */
	if (ch->op != OP_DISABLE)
		ids = member_ids(t, ch->gotos, &n);
	if (g == NULL && ch->op == OP_ADD) {
		rc = group_add(t, ch, ids, n, tid, err);
		free(ids);
		return rc;
	}
	if (g == NULL) {
		free(ids);
		return obj_fail(ch, 404, "update group", "no such Group on "
				"the server", err);
	}
	p = scim_json_patch();
	if (strcmp(g->key, ch->address) != 0)
		scim_json_op(p, "replace", "displayName",
			     json_string(ch->address));
	if (ch->anchor != NULL && !ours(g, ch))
		scim_json_op(p, "replace", "externalId",
			     json_string(ch->anchor));
	rc = group_members(t, ch, g, ids, n, p, err);
	free(ids);
	return rc;
}

static int scim_apply(struct target *t, const struct change *ch, char *tid,
		      struct err *err);

/* ---- batches: the first request of many changes at once ----------- */

/*
 * apply_batch: each change whose outcome one request decides (a new
 * User or a Group that fits one POST, a User's PATCH or DELETE, an
 * email added to or removed from a User) sends that request; they all
 * run together through scim_http_run (INFLIGHT at once, each retried as
 * any request), and each answer is judged as it arrives (on_final),
 * which reports the change to the engine then.  What needs more (a 409
 * or a lost answer on a POST, a 412, a 204 without the resource, a
 * Group's member chunks, a second change to the same resource) is
 * finished afterwards one at a time, by the same code apply() runs.
 */
enum bkind { B_LATER, B_POST_USER, B_POST_GROUP, B_PATCH, B_DELETE };

struct bctx {
	struct target *t;
	target_done_fn done;
	void *arg;
	bool stop;
};

struct bitem {
	struct bctx *bc;
	size_t i;
	const struct change *ch;
	enum bkind kind;
	const char *what;       /* for a failure: "create user" ... */
	struct scim_res *r;     /* PATCH, DELETE: the resource */
	struct scim_req *req;
	bool reported;
};

static void
report(struct bitem *it, int rc, const struct scim_res *r,
       const struct err *e)
{
	char tid[TARGET_ID_MAX];
	struct err none;

	if (it->reported)
		return;
	it->reported = true;
	set_id(tid, r);
	if (e == NULL) {
		err_clear(&none);
		e = &none;
	}
	if (it->bc->done(it->bc->arg, it->i, rc, tid, e) != 0)
		it->bc->stop = true;
}

static void
report_fail(struct bitem *it, long st, const char *detail)
{
	struct err e;

	err_clear(&e);
	obj_fail(it->ch, st, it->what, detail, &e);
	if (it->kind == B_POST_USER)
		note_failed(it->bc->t, it->ch);
	report(it, -1, NULL, &e);
}

/* One answer of the batch, as it arrives (scim_req.on_final). */
static void
on_answer(struct scim_req *q)
{
	struct bitem *it = q->user;
	struct target *t = it->bc->t;
	char detail[DETAIL_MAX];
	long st = q->status;
	json_t *j = NULL;
	struct scim_res *r;

	if (it->kind == B_DELETE) {
		if ((st >= 200 && st < 300) || st == 404) {
			res_forget(t, it->r);
			report(it, 0, NULL, NULL);
			return;
		}
		/* 412: changed meanwhile; planned again by the next run */
		scim_json_detail(detail, sizeof(detail), st,
				 buf_str(&q->resp));
		report_fail(it, st, detail);
		return;
	}
	if (st >= 200 && st < 300 && q->resp.len > 0)
		j = json_loads(buf_str(&q->resp), 0, NULL);
	/* lost: did it land?  409 on a new User: whose is it?  412:
	 * changed meanwhile; a PATCH without the resource: read it */
	if (st == SCIM_LOST || (st == 409 && it->kind == B_POST_USER) ||
	    (it->kind == B_PATCH &&
	     (st == 412 || (st >= 200 && st < 300 && j == NULL)))) {
		json_decref(j);
		return;   /* unreported: finish() takes it */
	}
	if (st == 200 || st == 201) {
		r = scim_res_take(t, it->kind == B_PATCH ? it->r : NULL, j,
				  it->kind == B_POST_GROUP);
		if (r != NULL) {
			report(it, 0, r, NULL);
			return;
		}
		if (it->kind == B_PATCH)
			return;   /* finish() reads it again */
		report_fail(it, 502, "the answer is not a resource");
		return;
	}
	json_decref(j);
	scim_json_detail(detail, sizeof(detail), st, buf_str(&q->resp));
	report_fail(it, st, detail);
}

/* The resource a change would touch first, for "one request each". */
static const void *
claim_key(struct target *t, const struct change *ch)
{
	const char *addr = ch->old_address ? ch->old_address : ch->address;

	switch (ch->kind) {
	case MK_MAILBOX:
		return strmap_get(&t->users, addr);
	case MK_ALIAS:
		if (ch->op == OP_ADD || ch->op == OP_UPDATE)
			return ch->gotos ? strmap_get(&t->users, ch->gotos)
					 : NULL;
		return strmap_get(&t->emails, ch->address);
	default:
		return NULL;
	}
}

/* The request of a mailbox change, or B_LATER. */
static enum bkind
prep_user(struct target *t, struct bitem *it, json_t **body)
{
	const struct change *ch = it->ch;
	struct scim_res *r = it->r;

	if (ch->op == OP_ADD && r == NULL) {
		it->what = "create user";
		*body = scim_json_user(ch);
		return B_POST_USER;
	}
	if (r == NULL)
		return B_LATER;
	if (ch->op == OP_UPDATE) {
		it->what = "update user";
		*body = user_ops(r, ch, ch->fields);
		return B_PATCH;   /* NULL body: nothing to send */
	}
	if (ch->op == OP_DISABLE) {
		it->what = "disable user";
		if (r->active) {
			*body = scim_json_patch();
			scim_json_op(*body, "replace", "active", json_false());
		}
		return B_PATCH;
	}
	if (ch->op == OP_DELETE) {
		it->what = "delete user";
		return B_DELETE;
	}
	return B_LATER;
}

/* The request of an alias change: one email added or removed. */
static enum bkind
prep_alias(struct target *t, struct bitem *it, json_t **body)
{
	const struct change *ch = it->ch;
	struct scim_res *holder = strmap_get(&t->emails, ch->address);
	struct buf f = BUF_INIT;

	if (ch->op == OP_ADD && holder == NULL && it->r != NULL) {
		it->what = "add email";
		*body = scim_json_patch();
		scim_json_op(*body, "add", "emails",
			     json_pack("[{s:s, s:s}]", "value", ch->address,
				       "type", "other"));
		return B_PATCH;
	}
	if ((ch->op == OP_DISABLE || ch->op == OP_DELETE) && it->r != NULL) {
		it->what = "remove email";
		*body = scim_json_patch();
		buf_adds(&f, "emails[");
		scim_json_eq(&f, "value", ch->address);
		buf_addc(&f, ']');
		scim_json_op(*body, "remove", buf_str(&f), NULL);
		buf_free(&f);
		return B_PATCH;
	}
	return B_LATER;
}

/* A new Group whose members all fit its POST. */
static enum bkind
prep_group(struct target *t, struct bitem *it, json_t **body)
{
	const struct change *ch = it->ch;
	char **ids;
	size_t n;

	if (ch->op != OP_ADD || strmap_get(&t->groups, ch->address) != NULL)
		return B_LATER;
	ids = member_ids(t, ch->gotos, &n);
	if (n > MEMBER_CHUNK) {
		free(ids);
		return B_LATER;
	}
	it->what = "create group";
	*body = scim_json_group(ch, ids, n);
	free(ids);
	return B_POST_GROUP;
}

/* it's request, or it->kind = B_LATER; reports what needs none. */
static void
prep(struct target *t, struct bitem *it, struct strmap *claimed)
{
	const struct change *ch = it->ch;
	const void *key = claim_key(t, ch);
	char kbuf[32];
	json_t *body = NULL;
	struct err e;
	struct buf p = BUF_INIT;
	int rc;

	it->r = (struct scim_res *)key;
	it->kind = B_LATER;
	if (key != NULL) {
		snprintf(kbuf, sizeof(kbuf), "%p", key);
		if (strmap_get(claimed, kbuf) != NULL)
			return;   /* one request per resource at a time */
	}
	switch (ch->kind) {
	case MK_MAILBOX:
		it->kind = prep_user(t, it, &body);
		break;
	case MK_ALIAS:
		it->kind = prep_alias(t, it, &body);
		break;
	case MK_LIST:
		it->kind = prep_group(t, it, &body);
		break;
	case MK_DOMAIN:
	case MK_CONTACT:
		err_clear(&e);
		rc = scim_apply(t, ch, NULL, &e);   /* no request */
		report(it, rc, NULL, &e);
		return;
	default:
		return;
	}
	if (it->kind == B_PATCH && body == NULL) {
		report(it, 0, it->r, NULL);   /* nothing to send */
		return;
	}
	if (it->kind == B_LATER)
		return;
	if (key != NULL)
		strmap_put(claimed, xstrdup(kbuf), it);
	if (it->kind == B_POST_USER || it->kind == B_POST_GROUP) {
		buf_adds(&p, it->kind == B_POST_USER ? "/Users" : "/Groups");
	} else {
		res_path(it->r, &p);
	}
	{
		char *js = body ? json_dumps(body, JSON_COMPACT) : NULL;

		it->req = scim_req_new(it->kind == B_POST_USER ||
						       it->kind == B_POST_GROUP
					       ? "POST"
				       : it->kind == B_PATCH ? "PATCH"
							     : "DELETE",
				       buf_str(&p), js);
		free(js);
	}
	json_decref(body);
	buf_free(&p);
	it->req->once = it->kind == B_POST_USER || it->kind == B_POST_GROUP;
	if (it->r != NULL && it->r->version != NULL && t->etag)
		snprintf(it->req->if_match, sizeof(it->req->if_match), "%s",
			 it->r->version);
	it->req->user = it;
	it->req->on_final = on_answer;
}

/*
 * A change the batch could not finish with its one request: the same
 * code as apply(), from what the first answer left.  -1: stop.
 */
static int
finish(struct target *t, struct bitem *it, struct err *err)
{
	char tid[TARGET_ID_MAX] = "";
	struct scim_res *r = NULL;
	struct err e;
	int rc;

	err_clear(&e);
	if (it->kind == B_POST_USER) {
		/* 409 or lost: ours (a POST that landed) or someone else's */
		if (lookup(t, false, "userName", it->ch->address, &r, &e) != 0)
			rc = -1;
		else if (r != NULL && ours(r, it->ch))
			rc = user_update(t, it->ch, r,
					 CH_NAME | CH_ACTIVE | CH_ATTRS, tid,
					 &e);
		else
			rc = scim_apply(t, it->ch, tid, &e);
	} else if (it->kind == B_POST_GROUP && it->ch->anchor != NULL &&
		   lookup(t, true, "externalId", it->ch->anchor, &r, &e) != 0) {
		rc = -1;
	} else if (it->kind == B_PATCH && it->req->status >= 200 &&
		   it->req->status < 300) {
		/* landed; the answer had no resource: read it */
		long st = res_fetch(t, it->r, &e);

		set_id(tid, it->r);
		rc = st < 0 ? -1 : 0;
	} else if (it->kind == B_PATCH && it->req->status == 412 &&
		   res_fetch(t, it->r, &e) < 0) {
		rc = -1;   /* changed meanwhile: read it, then once more */
	} else {
		rc = scim_apply(t, it->ch, tid, &e);
	}
	if (rc < 0 && e.object[0] == '\0') {
		*err = e;
		return -1;
	}
	if (rc < 0)
		note_failed(t, it->ch);
	it->reported = true;
	if (it->bc->done(it->bc->arg, it->i, rc, tid, &e) != 0)
		it->bc->stop = true;
	return 0;
}

static int
scim_apply_batch(struct target *t, const struct change *const *v, size_t n,
		 target_done_fn done, void *arg, struct err *err)
{
	struct bctx bc = {t, done, arg, false};
	struct bitem *items = xcalloc(n ? n : 1, sizeof(*items));
	struct scim_req **reqs = xcalloc(n ? n : 1, sizeof(*reqs));
	struct strmap claimed = STRMAP_INIT;
	size_t i, nreq = 0;
	const char *k;
	void *val;
	int ret = 0;

	if (t->readonly) {
		free(items);
		free(reqs);
		return err_set(err, DS_E_INTERNAL, "target opened read-only");
	}
	for (i = 0; i < n; i++) {
		items[i].bc = &bc;
		items[i].i = i;
		items[i].ch = v[i];
		prep(t, &items[i], &claimed);
		if (items[i].req != NULL)
			reqs[nreq++] = items[i].req;
	}
	if (nreq > 0 && scim_http_run(t->http, reqs, nreq, err) != 0)
		ret = -1;
	for (i = 0; i < n && ret == 0 && !bc.stop; i++)
		if (!items[i].reported)
			ret = finish(t, &items[i], err);
	if (ret == 0 && bc.stop)
		ret = err_set(err, DS_E_STATE, "stopped: the state database "
			      "cannot record what landed");
	for (i = 0; i < n; i++)
		scim_req_free(items[i].req);
	for (i = 0; strmap_next(&claimed, &i, &k, &val);)
		free((char *)k);
	strmap_free(&claimed);
	free(items);
	free(reqs);
	return ret;
}

/* ---- passwords ------------------------------------------------------ */

/* s[0..len) as the inside of a JSON string (RFC 8259 section 7). */
static void
json_escape(struct buf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_addc(b, (char)c);
	}
}

/*
 * https:// only.  http:// to a loopback host with DIRSYNC_TEST_HTTP_
 * PASSWORDS=1 in the environment: for test servers, named as insecure.
 */
static int
password_channel_ok(const char *url, struct err *err)
{
	const char *ov = getenv("DIRSYNC_TEST_HTTP_PASSWORDS");

	if (strncmp(url, "https://", 8) == 0)
		return 0;
	if (!conf_url_loopback(url) || ov == NULL || strcmp(ov, "1") != 0)
		return err_set(err, DS_E_CONFIG, "%s: passwords go to a SCIM "
			       "server over https:// only (a test server on a "
			       "loopback host: DIRSYNC_TEST_HTTP_PASSWORDS=1)",
			       url);
	log_warn("scim: DIRSYNC_TEST_HTTP_PASSWORDS=1: a password goes over "
		 "plain http:// to %s (insecure, for tests only)", url);
	return 0;
}

/*
 * RFC 7643 4.1.1 `password` (the service hashes it), RFC 7644 3.5.2.3
 * PATCH replace, on the User whose id the state recorded (else found by
 * userName).  The body is built by hand into a buffer that is wiped,
 * jansson's copies would not be; the server's detail is not reported
 * (it may quote the value).
 */
static int
scim_set_password_plain(struct target *t, const char *address,
			const char *tid, const char *pw, size_t len,
			struct err *err)
{
	struct buf path = BUF_INIT, body = BUF_INIT;
	struct scim_res *r = NULL;
	struct scim_req *q;
	long st;
	int rc;

	if (password_channel_ok(t->conf->target.url, err) != 0)
		return -1;
	if (tid == NULL || *tid == '\0') {
		if (lookup(t, false, "userName", address, &r, err) != 0)
			return -1;
		if (r == NULL) {
			err_object(err, address);
			return err_set(err, DS_E_TARGET, "set password: no "
				       "User with this userName on the server");
		}
		tid = r->id;
	}
	buf_adds(&path, "/Users/");
	scim_json_urlenc(&path, tid);
	buf_printf(&body, "{\"schemas\":[\"%s\"],\"Operations\":[{\"op\":"
		   "\"replace\",\"path\":\"password\",\"value\":\"",
		   SCIM_PATCH_SCHEMA);
	json_escape(&body, pw, len);
	buf_adds(&body, "\"}]}");
	q = scim_req_new("PATCH", buf_str(&path), buf_str(&body));
	explicit_bzero(body.p, body.cap);
	buf_free(&body);
	buf_free(&path);
	rc = scim_http_one(t->http, q, err);
	st = q->status;
	scim_req_free(q);
	if (rc != 0)
		return -1;
	if (st == 200 || st == 204)
		return 0;
	err_object(err, address);
	err->lib_rc = st;
	return err_set(err, DS_E_TARGET, "set password: HTTP %ld (the "
		       "server's detail is not shown: it may quote the "
		       "password)", st);
}

/* ---- the ops ---------------------------------------------------------- */

static int
scim_apply(struct target *t, const struct change *ch, char *tid,
	   struct err *err)
{
	int rc;

	if (tid != NULL)
		tid[0] = '\0';
	if (t->readonly)
		return err_set(err, DS_E_INTERNAL, "target opened read-only");
	switch (ch->kind) {
	case MK_MAILBOX:
		rc = apply_user(t, ch, tid, err);
		if (rc < 0 && err->object[0] != '\0')
			note_failed(t, ch);
		return rc;
	case MK_ALIAS:
		return apply_alias(t, ch, tid, err);
	case MK_LIST:
		return apply_list(t, ch, tid, err);
	case MK_DOMAIN:
		return 0;   /* SCIM has no domain object: nothing to send */
	case MK_CONTACT:
		if (ch->op == OP_DISABLE || ch->op == OP_DELETE)
			return 0;   /* never created */
		return skip(ch, "a contact: SCIM has no resource for a mail "
			    "contact (it is not provisioned)", err);
	default:
		return err_set(err, DS_E_INTERNAL, "unknown object kind");
	}
}

/*
 * What SCIM cannot hold (target_ops.unheld): a contact (no resource for
 * it), an address that forwards to anything but a User (a Group has no
 * further addresses, a contact is not there), and a list member that is
 * not a User (a Group's members are resources of the server).  Decided
 * from the desired set: its mailboxes are the Users a run leaves there.
 * apply() still skips what slips through (a User that failed).
 */
static bool
desired_mailbox(const struct mset *d, const char *addr)
{
	const struct mobj *m = addr != NULL ? mset_get(d, addr) : NULL;

	return m != NULL && m->kind == MK_MAILBOX;
}

static const char *
scim_unheld(const struct mobj *o, const struct mset *d)
{
	const struct mobj *to;

	switch (o->kind) {
	case MK_CONTACT:
		return "a contact: SCIM has no resource for a mail contact "
		       "(it is not provisioned)";
	case MK_ALIAS:
		if (desired_mailbox(d, o->gotos))
			return NULL;
		to = o->gotos != NULL ? mset_get(d, o->gotos) : NULL;
		if (to != NULL && to->kind == MK_LIST)
			return "an address of a list: a SCIM Group has no "
			       "further addresses (the list is its Group, "
			       "displayName = its primary address)";
		return "forwards to an address that is not a User (a "
		       "contact): SCIM carries further addresses only for "
		       "Users";
	default:
		return NULL;
	}
}

static const char *
scim_unheld_member(const struct mobj *list, const char *member,
		   const struct mset *d)
{
	if (desired_mailbox(d, member))
		return NULL;
	return "not a User (a contact's or another outside address): the "
	       "members of a SCIM Group are Users";
}

/*
 * Users first (aliases and Group members refer to them), then Groups,
 * then aliases (an alias of a list is told from one whose User failed
 * by the Group being there); the plan's order (removals first) within a
 * rank.
 */
static int
scim_apply_rank(const struct change *ch)
{
	switch (ch->kind) {
	case MK_DOMAIN:
		return 0;
	case MK_MAILBOX:
		return 1;
	case MK_LIST:
		return 2;
	default:
		return 3;
	}
}

const struct target_ops target_scim_ops = {
	.name = "scim",
	.caps = TCAP_PER_OBJECT | TCAP_TARGET_ID | TCAP_PASSWORDS_PLAIN,
	.open = scim_open,
	.load = scim_load,
	.apply = scim_apply,
	.close = scim_close,
	.apply_rank = scim_apply_rank,
	.apply_batch = scim_apply_batch,
	.set_password_plain = scim_set_password_plain,
	.unheld = scim_unheld,
	.unheld_member = scim_unheld_member,
};

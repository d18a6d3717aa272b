#include "passwd/pwdeliver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "passwd/pwdir.h"
#include "passwd/pwqueue.h"
#include "target/target.h"
#include "util/log.h"
#include "util/xalloc.h"

struct qrow {
	char *address, *account, *anchor, *hash, *before;
	bool confirmed;
	long long queued_at;
};

struct rows {
	struct qrow *v;
	size_t n, cap;
};

struct run {
	const struct conf *c;
	struct pwq *q;
	struct pw_dir *dir;
	bool dir_failed;
	const struct target_ops *tops;
	struct target *tgt;
	bool tgt_failed;
	struct pw_deliver_result *res;
	struct err err;   /* first reach failure, reported to the caller */
	time_t now;
};

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool
pw_changed_after(const char *before, const char *now)
{
	/* pwdLastSet 0 means "must change at next logon", not a change */
	if (now == NULL || *now == '\0' || strcmp(now, "0") == 0)
		return false;
	if (before == NULL || *before == '\0')
		return true;
	if (all_digits(before) && all_digits(now))
		return strtoull(now, NULL, 10) > strtoull(before, NULL, 10);
	return strcmp(now, before) > 0;   /* GeneralizedTime, same form */
}

static int
collect(void *ctx, const struct pwq_row *r)
{
	struct rows *rs = ctx;
	struct qrow *x;

	rs->v = xgrow(rs->v, &rs->cap, rs->n + 1, sizeof(*rs->v));
	x = &rs->v[rs->n++];
	x->address = xstrdup(r->address);
	x->account = xstrdup(r->account);
	x->anchor = xstrdup(r->anchor);
	x->hash = xstrdup(r->hash);
	x->before = xstrdup(r->before);
	x->confirmed = r->confirmed;
	x->queued_at = r->queued_at;
	return 0;
}

static void
rows_free(struct rows *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->v[i].address);
		free(rs->v[i].account);
		free(rs->v[i].anchor);
		explicit_bzero(rs->v[i].hash, strlen(rs->v[i].hash));
		free(rs->v[i].hash);
		free(rs->v[i].before);
	}
	free(rs->v);
}

static void
keep_first(struct run *r, const struct err *e)
{
	if (r->err.code == DS_OK)
		r->err = *e;
}

static void
drop(struct run *r, const struct qrow *x, const char *why)
{
	struct err e;

	err_clear(&e);
	if (pwq_remove(r->q, x->address, x->hash, &e) != 0) {
		keep_first(r, &e);
		return;
	}
	r->res->dropped++;
	log_warn("password of %s (account %s) dropped: %s", x->address,
		 x->account, why);
}

/* Pending -> confirmed when the directory shows the change: 0 confirmed,
 * 1 still pending, 2 left (directory or queue unreachable), -1 dropped. */
static int
confirm(struct run *r, struct qrow *x)
{
	struct pw_account a;
	struct err e;
	int rc = 1;

	err_clear(&e);
	if (r->dir == NULL && !r->dir_failed &&
	    pw_dir_open(&r->dir, r->c, &e) != 0) {
		r->dir_failed = true;
		keep_first(r, &e);
	}
	if (r->dir == NULL)
		return 2;
	if (pw_dir_lookup(r->dir, x->account, &a, &e) != 0) {
		keep_first(r, &e);
		return 2;
	}
	if (!a.found || strcmp(a.anchor, x->anchor) != 0) {
		drop(r, x, "the account no longer resolves to this mailbox");
		rc = -1;
	} else if (pw_changed_after(x->before, a.changed)) {
		if (pwq_confirm(r->q, x->address, x->hash, &e) != 0) {
			keep_first(r, &e);
			rc = 2;
		} else {
			x->confirmed = true;
			rc = 0;
		}
	} else if ((long long)r->now - x->queued_at > PW_PENDING_TTL) {
		drop(r, x, "the directory did not take the change within "
			   "15 minutes (refused after the hook: history, "
			   "minimum age?)");
		rc = -1;
	}
	pw_account_free(&a);
	return rc;
}

static void
deliver_one(struct run *r, const struct qrow *x)
{
	char *mailbox = NULL;
	struct err e;

	err_clear(&e);
	if (r->tgt == NULL && !r->tgt_failed) {
		if ((r->tops = target_ops_for(r->c, &e)) == NULL ||
		    r->tops->set_password == NULL ||
		    !(r->tops->caps & TCAP_PASSWORDS)) {
			if (r->tops != NULL)
				err_set(&e, DS_E_CONFIG, "target type '%s' "
					"takes no passwords", r->tops->name);
			r->tgt_failed = true;
		} else if (r->tops->open(&r->tgt, r->c, false, &e) != 0) {
			r->tgt_failed = true;
		}
		if (r->tgt_failed)
			keep_first(r, &e);
	}
	if (r->tgt == NULL) {
		r->res->left++;
		return;
	}
	if (pw_is_anchor_key(x->address)) {
		long long disabled_at;

		if (engine_mailbox_of(r->c, x->anchor, &mailbox, &disabled_at,
				      &e) != 0) {
			keep_first(r, &e);
			r->res->left++;
			return;
		}
		if (mailbox == NULL) {   /* a disabled one takes it too */
			drop(r, x, "the account has no mailbox managed by "
				   "dirsync");
			return;
		}
	}
	if (r->tops->set_password(r->tgt, mailbox ? mailbox : x->address,
				  x->hash, &e) != 0) {
		free(mailbox);
		if (e.code == DS_E_TARGET && e.lib_rc == 0) {
			drop(r, x, "the mailbox row is gone from the target");
			return;
		}
		keep_first(r, &e);
		r->res->left++;
		return;
	}
	if (pwq_remove(r->q, x->address, x->hash, &e) != 0)
		keep_first(r, &e);
	{
		size_t cap = (size_t)r->res->delivered;
		struct engine_password *p;

		r->res->v = xgrow(r->res->v, &cap,
				  (size_t)r->res->delivered + 1,
				  sizeof(*r->res->v));
		p = &r->res->v[r->res->delivered];
		p->address = xstrdup(mailbox ? mailbox : x->address);
		p->account = xstrdup(x->account);
		p->anchor = xstrdup(x->anchor);
	}
	r->res->delivered++;
	log_info("password of %s (account %s) written to the mail system",
		 mailbox ? mailbox : x->address, x->account);
	free(mailbox);
}

int
pw_deliver(const struct conf *c, const char *only,
	   struct pw_deliver_result *res, struct err *err)
{
	struct rows rs = {NULL, 0, 0};
	struct run r;
	size_t i;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	err_clear(&r.err);
	r.c = c;
	r.res = res;
	r.now = time(NULL);
	if (pwq_open(&r.q, c->state.path, false, err) != 0)
		return -1;
	if (r.q == NULL)
		return 0;
	if (pwq_each(r.q, only, collect, &rs, err) != 0)
		goto done;
	for (i = 0; i < rs.n; i++) {
		struct qrow *x = &rs.v[i];

		if (!x->confirmed) {
			int k = confirm(&r, x);

			if (k == 1 || k == 2)
				res->left++;
			if (k != 0)
				continue;
		}
		deliver_one(&r, x);
	}
	if (r.err.code != DS_OK) {
		*err = r.err;
		goto done;
	}
	rc = 0;
done:
	if (r.tgt != NULL)
		r.tops->close(r.tgt);
	pw_dir_close(r.dir);
	pwq_close(r.q);
	rows_free(&rs);
	return rc;
}

void
pw_deliver_result_free(struct pw_deliver_result *res)
{
	long i;

	for (i = 0; res->v != NULL && i < res->delivered; i++) {
		free(res->v[i].address);
		free(res->v[i].account);
		free(res->v[i].anchor);
	}
	free(res->v);
	memset(res, 0, sizeof(*res));
}

void
pw_deliver_before_sync(const struct conf *c, struct pw_deliver_result *res)
{
	struct err err;
	char buf[1400];

	err_clear(&err);
	/* a failure after some rows were written still lists those */
	if (pw_deliver(c, NULL, res, &err) != 0 && res->left > 0)
		log_warn("queued passwords: %s (%ld left for the next run)",
			 err_fmt(&err, buf, sizeof(buf)), res->left);
	else if (err.code != DS_OK)
		log_warn("queued passwords: %s (none written: this run "
			 "cannot tell how many wait)",
			 err_fmt(&err, buf, sizeof(buf)));
	else if (res->delivered + res->dropped > 0)
		log_info("queued passwords: %ld written, %ld dropped, %ld "
			 "still pending", res->delivered, res->dropped,
			 res->left);
}

/*
 * ldap_dirsync.c - incremental reads from Active Directory and Samba AD
 * with the DirSync control (1.2.840.113556.1.4.841, [MS-ADTS] 3.1.1.3.4.1.3),
 * libldap's ldap_create_dirsync_control() / ldap_parse_dirsync_control().
 *
 * DirSync says which objects changed since its cookie, not what they are
 * now: a changed object comes back with only its changed attributes, a
 * deleted one as a tombstone (isDeleted: TRUE) in Deleted Objects.  So:
 *   1. DirSync from the naming context's head (it accepts no other base),
 *      filter (objectClass=*), the rules' attributes (an object comes
 *      back only when one of the requested attributes changed), no flags
 *      (LDAP_DIRSYNC_OBJECT_SECURITY would hide tombstones, so deletes
 *      would go unseen: the bind account needs "Replicating Directory
 *      Changes" on the domain, as Microsoft's own sync tools do; without
 *      it every read is full, with the reason), repeated while the
 *      server says there is more;
 *   2. every changed object that is not a tombstone is read again whole,
 *      64 at a time, with the effective filter from the base DN through
 *      the paged read (range retrieval included): found -> changed; not
 *      found (moved out of the base, out of the filter) -> gone.
 * A full read (no cookie) takes a cookie first - a DirSync whose filter
 * matches nothing, run to its end, gives the watermark of "now" - and
 * then reads everything with the paged read; what changes meanwhile comes
 * again in the next run, harmlessly.
 *
 * The uuid handed on is the objectGUID in the usual text form (the first
 * three fields little-endian), the anchor the rules use.
 */
#include "source/ldap_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DIRSYNC_BATCH 64
#define DIRSYNC_MAX_ROUNDS 100000
#define DIRSYNC_MAX_COOKIE 65536
#define DIRSYNC_MAX_ATTR 0x100000     /* the server's own minimum */

struct dsync {
	struct source *s;
	struct source_sync *sy;
	const struct source_sync_cb *cb;
	void *ctx;
	struct berval cookie;     /* malloc'd copy */
	char (*guids)[37];        /* changed, to read again */
	unsigned char (*raw)[16];
	bool *found;
	size_t n, cap;
};

/* objectGUID -> text, as the rules format anchors. */
static void
dsync_guid_str(const unsigned char *g, char out[37])
{
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6,
				      8, 9, 10, 11, 12, 13, 14, 15};
	static const char hex[] = "0123456789abcdef";
	int i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[g[order[i]] >> 4];
		out[o++] = hex[g[order[i]] & 15];
	}
	out[o] = '\0';
}

static int
dsync_keep_cookie(struct dsync *d, const struct berval *c, struct err *err)
{
	if (c->bv_len > DIRSYNC_MAX_COOKIE)
		return err_set(err, DS_E_SOURCE, "DirSync cookie of %lu bytes",
			       (unsigned long)c->bv_len);
	free(d->cookie.bv_val);
	d->cookie.bv_val = xmalloc(c->bv_len + 1);
	memcpy(d->cookie.bv_val, c->bv_val, c->bv_len);
	d->cookie.bv_len = c->bv_len;
	return 0;
}

/* One entry of a DirSync answer: a tombstone, or an object to re-read. */
static int
dsync_entry(struct dsync *d, LDAPMessage *m, struct err *err)
{
	struct berval **g = ldap_get_values_len(d->s->ld, m, "objectGUID");
	struct berval **del = ldap_get_values_len(d->s->ld, m, "isDeleted");
	char us[37];
	int ret = 0;

	if (g == NULL || g[0] == NULL || g[0]->bv_len != 16) {
		ldap_value_free_len(g);
		ldap_value_free_len(del);
		return 0;     /* not an object we could anchor */
	}
	dsync_guid_str((const unsigned char *)g[0]->bv_val, us);
	if (del != NULL && del[0] != NULL && del[0]->bv_len == 4 &&
	    strncasecmp(del[0]->bv_val, "TRUE", 4) == 0) {
		d->sy->deleted++;
		ret = d->cb->deleted(d->ctx, us, err);
	} else {
		d->guids = xgrow(d->guids, &d->cap, d->n + 1,
				 sizeof(*d->guids));
		d->raw = xrealloc(d->raw, d->cap * sizeof(*d->raw));
		d->found = xrealloc(d->found, d->cap * sizeof(*d->found));
		memcpy(d->guids[d->n], us, sizeof(us));
		memcpy(d->raw[d->n], g[0]->bv_val, 16);
		d->found[d->n] = false;
		d->n++;
	}
	ldap_value_free_len(g);
	ldap_value_free_len(del);
	return ret;
}

/* The DirSync answer's control: cookie and "more".  1 more, 0 done. */
static int
dsync_result(struct dsync *d, LDAPMessage *res, const char *filter,
	     struct err *err)
{
	LDAPControl **ctrls = NULL, *c;
	struct berval cookie = {0, NULL};
	int srv_rc, more = 0, rc;

	rc = ldap_parse_result(d->s->ld, res, &srv_rc, NULL, NULL, NULL,
			       &ctrls, 0);
	if (rc != LDAP_SUCCESS)
		srv_rc = rc;
	if (srv_rc != LDAP_SUCCESS) {
		ldap_controls_free(ctrls);
		if (srv_rc == LDAP_UNAVAILABLE_CRITICAL_EXTENSION ||
		    srv_rc == LDAP_UNWILLING_TO_PERFORM ||
		    srv_rc == LDAP_INSUFFICIENT_ACCESS ||
		    srv_rc == LDAP_PROTOCOL_ERROR) {
			snprintf(d->sy->reason, sizeof(d->sy->reason),
				 "%s refused DirSync (%s): incremental reads "
				 "need the right \"Replicating Directory "
				 "Changes\" for the bind account on the domain",
				 d->s->uri, ldap_err2string(srv_rc));
			return 2;
		}
		ldap_src_search_err(d->s, srv_rc, filter, 1, 0, err);
		err_where(err, "DirSync");
		return -1;
	}
	c = ldap_control_find(LDAP_CONTROL_X_DIRSYNC, ctrls, NULL);
	if (c == NULL || ldap_parse_dirsync_control(d->s->ld, c, &more,
						    &cookie) != LDAP_SUCCESS) {
		ldap_controls_free(ctrls);
		err_object(err, d->s->uri);
		return err_set(err, DS_E_SOURCE, "DirSync answer without its "
			       "control; the read is discarded");
	}
	rc = dsync_keep_cookie(d, &cookie, err);
	ber_memfree(cookie.bv_val);
	ldap_controls_free(ctrls);
	return rc < 0 ? -1 : more != 0;
}

/*
 * DirSync rounds until the server has no more: changed objects collected
 * in d, tombstones delivered.  0, 2 refused (sy->reason), -1.
 */
static int
dsync_rounds(struct dsync *d, const char *filter, char **al, bool collect,
	     struct err *err)
{
	LDAPControl *ctrl = NULL, *ctrls[2] = {NULL, NULL};
	LDAPMessage *res = NULL, *m;
	const char *base = d->s->nc != NULL ? d->s->nc : d->s->base;
	unsigned long round;
	int rc, ret = -1;

	for (round = 0; round < DIRSYNC_MAX_ROUNDS; round++) {
		/* no LDAP_DIRSYNC_OBJECT_SECURITY: with it, tombstones are
		 * not returned (deletes would go unseen); without it the
		 * bind account needs "Replicating Directory Changes" */
		rc = ldap_create_dirsync_control(d->s->ld, 0, DIRSYNC_MAX_ATTR,
						 &d->cookie, &ctrl);
		if (rc != LDAP_SUCCESS)
			return err_set(err, DS_E_INTERNAL, "cannot encode the "
				       "DirSync control");
		ctrls[0] = ctrl;
		rc = ldap_search_ext_s(d->s->ld, base, LDAP_SCOPE_SUBTREE,
				       filter, al, 0, ctrls, NULL, &d->s->tmo,
				       LDAP_NO_LIMIT, &res);
		ldap_control_free(ctrl);
		if (res == NULL) {
			ldap_src_search_err(d->s, rc, filter, round + 1, 0,
					    err);
			err_where(err, "DirSync");
			return -1;
		}
		for (m = ldap_first_entry(d->s->ld, res); collect && m != NULL;
		     m = ldap_next_entry(d->s->ld, m))
			if (dsync_entry(d, m, err) != 0)
				goto done;
		rc = dsync_result(d, res, filter, err);
		ldap_msgfree(res);
		res = NULL;
		if (rc != 1)
			return rc;
	}
	err_set(err, DS_E_SOURCE, "DirSync does not end after %d rounds",
		DIRSYNC_MAX_ROUNDS);
done:
	ldap_msgfree(res);
	return ret;
}

/*
 * Deletes reach DirSync as tombstones in CN=Deleted Objects, which only
 * accounts allowed to list that container see (Samba shows them to
 * administrators only, even with "Replicating Directory Changes"; on AD,
 * grant List Contents and Read Property there).  An account that lists
 * no tombstone there cannot be told apart from one that may not (Samba
 * shows the container itself, with Show Deleted, [MS-ADTS] 3.1.1.3.4.1.14,
 * to an account that sees none of the tombstones in it), so both get
 * full reads: deletes never go unseen.  The reason names both causes;
 * only a container the account cannot see at all is surely the second.
 * 0 seen, 2 not (sy->reason), -1 connection failure.
 */
static int
dsync_probe_deleted(struct dsync *d, struct err *err)
{
	static char *attrs[] = {"1.1", NULL};
	LDAPControl show, *ctrls[2] = {&show, NULL};
	LDAPMessage *res = NULL;
	char *dn;
	int rc, n = 0, base = 0;

	if (d->s->nc == NULL) {
		snprintf(d->sy->reason, sizeof(d->sy->reason),
			 "%s names no naming context: DirSync needs its head",
			 d->s->uri);
		return 2;
	}
	memset(&show, 0, sizeof(show));
	show.ldctl_oid = (char *)LDAP_CONTROL_X_SHOW_DELETED;
	show.ldctl_iscritical = 1;
	dn = xasprintf("CN=Deleted Objects,%s", d->s->nc);
	rc = ldap_search_ext_s(d->s->ld, dn, LDAP_SCOPE_ONELEVEL,
			       "(objectClass=*)", attrs, 0, ctrls, NULL,
			       &d->s->tmo, 1, &res);
	if (res != NULL)
		n = ldap_count_entries(d->s->ld, res);
	ldap_msgfree(res);
	res = NULL;
	if (n == 0 && rc != LDAP_SERVER_DOWN && rc != LDAP_TIMEOUT &&
	    rc != LDAP_CONNECT_ERROR) {
		/* the container itself: visible to this account? */
		rc = ldap_search_ext_s(d->s->ld, dn, LDAP_SCOPE_BASE,
				       "(objectClass=*)", attrs, 0, ctrls,
				       NULL, &d->s->tmo, 1, &res);
		if (res != NULL)
			base = ldap_count_entries(d->s->ld, res);
		ldap_msgfree(res);
	}
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ||
	    rc == LDAP_CONNECT_ERROR) {
		ldap_src_search_err(d->s, rc, "(objectClass=*)", 1, 0, err);
		free(dn);
		return -1;
	}
	if (n == 0 && base > 0)
		snprintf(d->sy->reason, sizeof(d->sy->reason),
			 "no deleted object visible in %.60s on %.50s: either "
			 "nothing was deleted yet (a new domain) or the bind "
			 "account may not list it (grant it List Contents and "
			 "Read Property there); reads are full until one is "
			 "seen",
			 dn, d->s->uri);
	else if (n == 0)
		snprintf(d->sy->reason, sizeof(d->sy->reason),
			 "the bind account cannot see %.80s on %.60s (%.30s): "
			 "deletes would not reach DirSync; grant it List "
			 "Contents and Read Property there (Samba: "
			 "administrators only)", dn, d->s->uri,
			 rc == LDAP_SUCCESS ? "not returned"
					    : ldap_err2string(rc));
	free(dn);
	return n == 0 ? 2 : 0;
}

/* source_entry_cb of the re-read: which of the batch it is. */
struct reread {
	struct dsync *d;
	size_t from, to;
};

static int
dsync_reread_entry(void *arg, const struct entry *e, struct err *err)
{
	struct reread *rr = arg;
	struct dsync *d = rr->d;
	const struct attr *g = entry_attr(e, "objectGUID");
	size_t i;

	if (g == NULL || g->nvals == 0 || g->vals[0].len != 16)
		return 0;
	for (i = rr->from; i < rr->to; i++)
		if (memcmp(d->raw[i], g->vals[0].p, 16) == 0) {
			d->found[i] = true;
			d->sy->changed++;
			return d->cb->changed(d->ctx, d->guids[i], e, err);
		}
	return 0;
}

/* Changed objects read again whole, DIRSYNC_BATCH per search. */
static int
dsync_reread(struct dsync *d, const char *filter, const char *const *attrs,
	     struct err *err)
{
	struct reread rr = {d, 0, 0};
	struct buf b = BUF_INIT;
	size_t i, k;
	int ret = 0;

	for (rr.from = 0; rr.from < d->n && ret == 0; rr.from = rr.to) {
		rr.to = rr.from + DIRSYNC_BATCH < d->n
				? rr.from + DIRSYNC_BATCH
				: d->n;
		buf_reset(&b);
		buf_printf(&b, "(&%s(|", filter);
		for (i = rr.from; i < rr.to; i++) {
			buf_adds(&b, "(objectGUID=");
			for (k = 0; k < 16; k++)
				buf_printf(&b, "\\%02x", d->raw[i][k]);
			buf_addc(&b, ')');
		}
		buf_adds(&b, "))");
		ret = source_ldap_ops.read(d->s, buf_str(&b), attrs,
					   dsync_reread_entry, &rr, err);
		for (i = rr.from; i < rr.to && ret == 0; i++)
			if (!d->found[i]) {
				/* moved out of the base or the filter */
				d->sy->deleted++;
				ret = d->cb->deleted(d->ctx, d->guids[i], err);
			}
	}
	buf_free(&b);
	return ret;
}

/* A full read's entry: every one goes on, keyed by its objectGUID. */
static int
dsync_full_entry(void *arg, const struct entry *e, struct err *err)
{
	struct dsync *d = arg;
	const struct attr *g = entry_attr(e, "objectGUID");
	char us[37];

	if (g == NULL || g->nvals == 0 || g->vals[0].len != 16) {
		err_object(err, e->dn);
		return err_set(err, DS_E_SOURCE, "%s has no objectGUID", e->dn);
	}
	dsync_guid_str((const unsigned char *)g->vals[0].p, us);
	d->sy->changed++;
	return d->cb->changed(d->ctx, us, e, err);
}

/* The attributes DirSync is asked for: the rules', isDeleted, name. */
static char **
dsync_attrs(struct source *s, const char *const *attrs)
{
	char **al = ldap_src_attr_list(s, attrs);
	size_t n = 0;

	while (al[n] != NULL)
		n++;
	al = xrealloc(al, (n + 3) * sizeof(*al));
	al[n++] = xstrdup("isDeleted");
	al[n++] = xstrdup("name");
	al[n] = NULL;
	return al;
}

int
ldap_src_dirsync_read(struct source *s, const char *filter,
		      const char *const *attrs, struct source_sync *sy,
		      const struct source_sync_cb *cb, void *ctx,
		      struct err *err)
{
	struct dsync d;
	char **al = dsync_attrs(s, attrs);
	int rc;

	memset(&d, 0, sizeof(d));
	d.s = s;
	d.sy = sy;
	d.cb = cb;
	d.ctx = ctx;
	d.cookie.bv_val = xmalloc(sy->cookie_len + 1);
	d.cookie.bv_len = sy->cookie_len;
	if (sy->cookie != NULL)
		memcpy(d.cookie.bv_val, sy->cookie, sy->cookie_len);
	rc = dsync_probe_deleted(&d, err);
	if (rc == 2 && sy->cookie == NULL) {
		/* a full read needs no tombstone: it leaves a cookie, and
		 * the next run reads from it once a deleted object is seen
		 * (the deletes meanwhile are tombstones after the cookie) */
		log_debug("%s: %s", s->uri, sy->reason);
		sy->reason[0] = '\0';
		rc = 0;
	}
	if (rc != 0)
		;
	else if (sy->cookie == NULL) {
		/* "now" as a cookie, then everything (the paged read) */
		rc = dsync_rounds(&d, "(!(objectClass=*))", al, false, err);
		if (rc == 0)
			rc = source_ldap_ops.read(s, filter, attrs,
						  dsync_full_entry, &d, err);
	} else {
		rc = dsync_rounds(&d, "(objectClass=*)", al, true, err);
		if (rc == 0)
			rc = dsync_reread(&d, filter, attrs, err);
	}
	if (rc == 0) {
		sy->new_cookie = (unsigned char *)d.cookie.bv_val;
		sy->new_cookie_len = d.cookie.bv_len;
		d.cookie.bv_val = NULL;
		log_debug("%s: DirSync: %zu changed, %zu gone", s->uri,
			  sy->changed, sy->deleted);
	}
	free(d.cookie.bv_val);
	free(d.guids);
	free(d.raw);
	free(d.found);
	ldap_src_attr_list_free(al);
	if (rc == 2)
		sy->unsupported = true;
	return rc == 2 ? 1 : rc;
}

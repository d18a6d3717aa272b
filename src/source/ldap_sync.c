/*
 * ldap_sync.c - RFC 4533 content synchronization, refreshOnly, for the
 * LDAP source (OpenLDAP's syncprov overlay; 389-DS offers it too).
 *
 * One subtree search with the Sync Request control (critical) and the
 * cookie of the last read.  The server answers with
 *   - entries, each with a Sync State control: add/modify (the entry as
 *     it is now, with the attributes asked for), present (unchanged, DN
 *     only), delete (DN only);
 *   - syncInfo intermediate messages: a new cookie, the end of a present
 *     or delete phase, or a syncIdSet (many entryUUIDs at once, present
 *     or deleted; OpenLDAP sends deletes this way);
 *   - the search result with a Sync Done control: the cookie and
 *     refreshDeletes (FALSE: the refresh ended in a present phase).
 * Without a cookie every entry comes as "add": a full read.  Active
 * Directory has no RFC 4533: ldap_dirsync.c serves it (DirSync).
 *
 * The controls are built with ber_printf and read with ber_scanf
 * (liblber).  libldap's own ldap_sync_init() is not used: it is a
 * "proof-of-concept" (its own words) whose refreshOnly loop waits without
 * a deadline and prints to stderr; here every wait is bounded by
 * [source] timeout, and the caller learns the phases it needs.
 *
 * Refusals that a full read can recover from return 1 with sy->reason:
 * the control is not supported (no syncprov: unavailableCriticalExtension
 * or unwillingToPerform), the cookie is refused (e-syncRefreshRequired,
 * 4096), a size or administrative limit, and, before anything is sent,
 * an OpenLDAP cookie without a CSN (sync_cookie_stateless).  Everything else (connection
 * lost, timeout) is an error: the run reads nothing and applies nothing.
 */
#include "source/ldap_int.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

/* Bound on the cookie the server hands us (syncprov's are ~100 bytes). */
#define SYNC_MAX_COOKIE 65536

struct sync_run {
	struct source *s;
	struct source_sync *sy;
	const struct source_sync_cb *cb;
	void *ctx;
	const char *uuid;         /* of the entry being delivered */
	unsigned long msgs;
};

/* 16 bytes -> "8-4-4-4-12" in lower case; -1 if not 16 bytes. */
static int
sync_uuid_str(const struct berval *bv, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)bv->bv_val;
	size_t i;
	int o = 0;

	if (bv->bv_len != 16)
		return -1;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

static int
sync_keep_cookie(struct sync_run *r, const struct berval *c, struct err *err)
{
	if (c->bv_val == NULL)
		return 0;
	if (c->bv_len > SYNC_MAX_COOKIE)
		return err_set(err, DS_E_SOURCE, "sync cookie of %lu bytes "
			       "(more than %d)", (unsigned long)c->bv_len,
			       SYNC_MAX_COOKIE);
	free(r->sy->new_cookie);
	r->sy->new_cookie = xmalloc(c->bv_len + 1);
	memcpy(r->sy->new_cookie, c->bv_val, c->bv_len);
	r->sy->new_cookie[c->bv_len] = '\0';
	r->sy->new_cookie_len = c->bv_len;
	return 0;
}

static int
sync_malformed(struct sync_run *r, const char *what, struct err *err)
{
	err_where(err, "content sync");
	err_object(err, r->s->uri);
	return err_set(err, DS_E_SOURCE, "malformed %s from the server; the "
		       "read is discarded", what);
}

/* source_entry_cb for ldap_src_deliver(): adds the entry's uuid. */
static int
sync_on_entry(void *arg, const struct entry *e, struct err *err)
{
	struct sync_run *r = arg;

	return r->cb->changed(r->ctx, r->uuid, e, err);
}

/* One SearchResultEntry with its Sync State control. */
static int
sync_entry(struct sync_run *r, LDAPMessage *msg, struct err *err)
{
	LDAPControl **ctrls = NULL, *c;
	BerElement *ber = NULL;
	struct berval uuid = {0, NULL}, cookie = {0, NULL};
	ber_len_t len;
	ber_int_t state = -1;
	char us[37];
	int ret = -1;

	if (ldap_get_entry_controls(r->s->ld, msg, &ctrls) != LDAP_SUCCESS ||
	    (c = ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL)) ==
		    NULL ||
	    (ber = ber_init(&c->ldctl_value)) == NULL ||
	    ber_scanf(ber, "{em", &state, &uuid) == LBER_ERROR ||
	    sync_uuid_str(&uuid, us) != 0) {
		sync_malformed(r, "Sync State control", err);
		goto done;
	}
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
	    (ber_scanf(ber, "m", &cookie) == LBER_ERROR ||
	     sync_keep_cookie(r, &cookie, err) != 0))
		goto done;
	switch (state) {
	case LDAP_SYNC_PRESENT:
		r->sy->present_phase = true;
		r->sy->present++;
		ret = r->cb->present(r->ctx, us, err);
		break;
	case LDAP_SYNC_ADD:
	case LDAP_SYNC_MODIFY:
		r->uuid = us;
		r->sy->changed++;
		ret = ldap_src_deliver(r->s, msg, sync_on_entry, r, err);
		break;
	case LDAP_SYNC_DELETE:
		r->sy->deleted++;
		ret = r->cb->deleted(r->ctx, us, err);
		break;
	default:
		sync_malformed(r, "sync state", err);
		break;
	}
done:
	if (ber != NULL)
		ber_free(ber, 1);
	ldap_controls_free(ctrls);
	return ret;
}

/* syncIdSet: { cookie OPTIONAL, refreshDeletes DEFAULT FALSE, SET OF uuid } */
static int
sync_id_set(struct sync_run *r, BerElement *ber, struct err *err)
{
	struct berval cookie = {0, NULL};
	BerVarray uuids = NULL;
	ber_len_t len;
	ber_int_t dels = 0;
	char us[37];
	size_t i;
	int ret = 0;

	if (ber_scanf(ber, "{") == LBER_ERROR)
		return sync_malformed(r, "syncIdSet", err);
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
	    (ber_scanf(ber, "m", &cookie) == LBER_ERROR ||
	     sync_keep_cookie(r, &cookie, err) != 0))
		return -1;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDELETES &&
	    ber_scanf(ber, "b", &dels) == LBER_ERROR)
		return sync_malformed(r, "syncIdSet", err);
	if (ber_scanf(ber, "[W]}", &uuids) == LBER_ERROR)
		return sync_malformed(r, "syncIdSet", err);
	if (!dels)
		r->sy->present_phase = true;
	for (i = 0; uuids != NULL && uuids[i].bv_val != NULL && ret == 0;
	     i++) {
		if (sync_uuid_str(&uuids[i], us) != 0) {
			ret = sync_malformed(r, "syncUUID", err);
			break;
		}
		if (dels) {
			r->sy->deleted++;
			ret = r->cb->deleted(r->ctx, us, err);
		} else {
			r->sy->present++;
			ret = r->cb->present(r->ctx, us, err);
		}
	}
	ber_bvarray_free(uuids);
	return ret;
}

/* The syncInfo intermediate message (RFC 4533 2.5). */
static int
sync_info(struct sync_run *r, LDAPMessage *msg, struct err *err)
{
	char *oid = NULL;
	struct berval *data = NULL, cookie = {0, NULL};
	BerElement *ber = NULL;
	ber_len_t len;
	ber_tag_t tag;
	ber_int_t done_flag;
	int ret = -1;

	if (ldap_parse_intermediate(r->s->ld, msg, &oid, &data, NULL, 0) !=
		    LDAP_SUCCESS ||
	    oid == NULL) {
		sync_malformed(r, "intermediate response", err);
		goto done;
	}
	if (strcmp(oid, LDAP_SYNC_INFO) != 0 || data == NULL) {
		ret = 0;   /* not ours: ignored */
		goto done;
	}
	if ((ber = ber_init(data)) == NULL) {
		sync_malformed(r, "syncInfo", err);
		goto done;
	}
	tag = ber_peek_tag(ber, &len);
	switch (tag) {
	case LDAP_TAG_SYNC_NEW_COOKIE:
		if (ber_scanf(ber, "m", &cookie) == LBER_ERROR)
			sync_malformed(r, "syncInfo", err);
		else
			ret = sync_keep_cookie(r, &cookie, err);
		break;
	case LDAP_TAG_SYNC_REFRESH_DELETE:
	case LDAP_TAG_SYNC_REFRESH_PRESENT:
		/* the end of a phase; refreshPresent ends a present phase */
		if (tag == LDAP_TAG_SYNC_REFRESH_PRESENT)
			r->sy->present_phase = true;
		if (ber_scanf(ber, "{") == LBER_ERROR) {
			sync_malformed(r, "syncInfo", err);
			break;
		}
		if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
		    (ber_scanf(ber, "m", &cookie) == LBER_ERROR ||
		     sync_keep_cookie(r, &cookie, err) != 0))
			break;
		if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDONE &&
		    ber_scanf(ber, "b", &done_flag) == LBER_ERROR) {
			sync_malformed(r, "syncInfo", err);
			break;
		}
		ret = 0;
		break;
	case LDAP_TAG_SYNC_ID_SET:
		ret = sync_id_set(r, ber, err);
		break;
	default:
		sync_malformed(r, "syncInfo", err);
		break;
	}
done:
	if (ber != NULL)
		ber_free(ber, 1);
	ldap_memfree(oid);
	ber_bvfree(data);
	return ret;
}

/* The Sync Done control: { cookie OPTIONAL, refreshDeletes DEFAULT FALSE } */
static int
sync_done_ctrl(struct sync_run *r, LDAPControl **ctrls, struct err *err)
{
	LDAPControl *c = ldap_control_find(LDAP_CONTROL_SYNC_DONE, ctrls,
					   NULL);
	BerElement *ber;
	struct berval cookie = {0, NULL};
	ber_len_t len;
	ber_int_t dels = 0;
	int ret = -1;

	if (c == NULL)
		return sync_malformed(r, "result (no Sync Done control)", err);
	if ((ber = ber_init(&c->ldctl_value)) == NULL ||
	    ber_scanf(ber, "{") == LBER_ERROR) {
		sync_malformed(r, "Sync Done control", err);
		goto done;
	}
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
	    (ber_scanf(ber, "m", &cookie) == LBER_ERROR ||
	     sync_keep_cookie(r, &cookie, err) != 0))
		goto done;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDELETES &&
	    ber_scanf(ber, "b", &dels) == LBER_ERROR) {
		sync_malformed(r, "Sync Done control", err);
		goto done;
	}
	if (!dels)
		r->sy->present_phase = true;
	ret = 0;
done:
	if (ber != NULL)
		ber_free(ber, 1);
	return ret;
}

/* The SearchResultDone: 0 done, 1 refused (sy->reason), -1 error. */
static int
sync_result(struct sync_run *r, LDAPMessage *msg, const char *filter,
	    struct err *err)
{
	LDAPControl **ctrls = NULL;
	char *diag = NULL;
	int srv_rc, rc, ret = -1;

	rc = ldap_parse_result(r->s->ld, msg, &srv_rc, NULL, &diag, NULL,
			       &ctrls, 0);
	if (rc != LDAP_SUCCESS)
		srv_rc = rc;
	switch (srv_rc) {
	case LDAP_SUCCESS:
		ret = sync_done_ctrl(r, ctrls, err);
		break;
	case LDAP_SYNC_REFRESH_REQUIRED:
		snprintf(r->sy->reason, sizeof(r->sy->reason),
			 "%s refused the cookie (e-syncRefreshRequired)",
			 r->s->uri);
		ret = 1;
		break;
	case LDAP_UNAVAILABLE_CRITICAL_EXTENSION:
	case LDAP_UNWILLING_TO_PERFORM:
	case LDAP_PROTOCOL_ERROR:
		if (diag != NULL && strstr(diag, "newer than provider")) {
			/* slapd's syncprov: the cookie's CSN is ahead of
			 * its contextCSN */
			snprintf(r->sy->reason, sizeof(r->sy->reason),
				 "the directory's state on %s is older than "
				 "the last read (a restore or roll-back?): "
				 "%s", r->s->uri, diag);
			ret = 1;
			break;
		}
		snprintf(r->sy->reason, sizeof(r->sy->reason),
			 "%s offers no content synchronization (RFC 4533; "
			 "slapd: the syncprov overlay): %s%s%s",
			 r->s->uri, ldap_err2string(srv_rc),
			 diag && *diag ? ": " : "", diag ? diag : "");
		r->sy->unsupported = true;
		ret = 1;
		break;
	case LDAP_SIZELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
		snprintf(r->sy->reason, sizeof(r->sy->reason),
			 "%s: %s on the content-sync search (it is not "
			 "paged: give the bind DN size=unlimited)",
			 r->s->uri, ldap_err2string(srv_rc));
		ret = 1;
		break;
	default:
		ldap_src_search_err(r->s, srv_rc, filter, 0, r->msgs, err);
		err_where(err, "content sync");
		break;
	}
	ldap_memfree(diag);
	ldap_controls_free(ctrls);
	return ret;
}

/*
 * An OpenLDAP cookie ("rid=NNN[,sid=NNN],csn=CSN[;CSN...]") whose first
 * csn is not a CSN ("YYYYmmddHHMMSS.uuuuuuZ#cccccc#sid#mmmmmm") carries
 * no state: slapd's syncprov drops it (slap_parse_sync_cookie) and
 * answers as to a first read, every entry as "add" with refreshDeletes
 * TRUE, which merged as a delta would keep every entry deleted meanwhile.
 * Cookies of other servers (389-DS: "host:port#...") are not judged;
 * an empty one carries no state for any.
 */
static bool
sync_cookie_stateless(const unsigned char *c, size_t len)
{
	static const char shape[] = "dddddddddddddd.ddddddZ#xxxxxx#xxx#xxxxxx";
	const char *p = NULL;
	size_t i, n = sizeof(shape) - 1;

	if (len == 0)
		return true;    /* no state at all, whoever the server */
	if (len < 4 || memcmp(c, "rid=", 4) != 0)
		return false;
	for (i = 0; i + 4 <= len; i++)
		if ((i == 0 || c[i - 1] == ',') &&
		    memcmp(c + i, "csn=", 4) == 0) {
			p = (const char *)c + i + 4;
			break;
		}
	if (p == NULL || (size_t)((const char *)c + len - p) < n)
		return true;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (shape[i] == 'd' ? !isdigit(ch)
		    : shape[i] == 'x' ? !isxdigit(ch) : ch != shape[i])
			return true;
	}
	return false;
}

static int
sync_send(struct source *s, const char *filter, char **al,
	  const struct source_sync *sy, int *msgid, struct err *err)
{
	LDAPControl ctrl, *ctrls[2] = {&ctrl, NULL};
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	struct berval cookie;
	int rc;

	memset(&ctrl, 0, sizeof(ctrl));
	if (ber == NULL)
		return err_set(err, DS_E_NOMEM, "out of memory");
	cookie.bv_val = (char *)sy->cookie;
	cookie.bv_len = sy->cookie_len;
	/* syncRequestValue: { mode, cookie OPTIONAL, reloadHint FALSE } */
	rc = sy->cookie != NULL
		     ? ber_printf(ber, "{eO}", LDAP_SYNC_REFRESH_ONLY, &cookie)
		     : ber_printf(ber, "{e}", LDAP_SYNC_REFRESH_ONLY);
	if (rc < 0 || ber_flatten2(ber, &ctrl.ldctl_value, 0) < 0) {
		ber_free(ber, 1);
		return err_set(err, DS_E_INTERNAL, "cannot encode the Sync "
			       "Request control");
	}
	ctrl.ldctl_oid = LDAP_CONTROL_SYNC;
	ctrl.ldctl_iscritical = 1;
	rc = ldap_search_ext(s->ld, s->base, LDAP_SCOPE_SUBTREE, filter, al,
			     0, ctrls, NULL, &s->tmo, LDAP_NO_LIMIT, msgid);
	ber_free(ber, 1);
	if (rc != LDAP_SUCCESS)
		return ldap_src_search_err(s, rc, filter, 0, 0, err);
	return 0;
}

/* One message of the refresh: 0 go on, 2 finished, 1 refused, -1 error. */
static int
sync_message(struct sync_run *r, LDAPMessage *msg, const char *filter,
	     struct err *err)
{
	int rc;

	switch (ldap_msgtype(msg)) {
	case LDAP_RES_SEARCH_ENTRY:
		r->msgs++;
		return sync_entry(r, msg, err);
	case LDAP_RES_INTERMEDIATE:
		return sync_info(r, msg, err);
	case LDAP_RES_SEARCH_RESULT:
		rc = sync_result(r, msg, filter, err);
		return rc == 0 ? 2 : rc;
	default:
		return 0;   /* references are never chased */
	}
}

/*
 * The newest CSN of an OpenLDAP cookie ("rid=NNN[,sid=NNN],csn=CSN[;CSN
 * ...]"), into out (CSNs of one shape compare as strings: the time
 * first); false if it has none.
 */
static bool
cookie_newest_csn(const char *c, char *out, size_t len)
{
	const char *p = strstr(c, "csn="), *e;
	bool found = false;

	if (p == NULL || (p != c && p[-1] != ','))
		return false;
	for (p += 4; *p != '\0' && *p != ','; p = *e == ';' ? e + 1 : e) {
		size_t n;

		e = p + strcspn(p, ";,");
		n = (size_t)(e - p);
		if (n == 0 || n >= len || strspn(p, "0123456789.Z#abcdef") < n)
			continue;
		if (!found || strncmp(p, out, n) > 0) {
			memcpy(out, p, n);
			out[n] = '\0';
			found = true;
		}
	}
	return found;
}

/*
 * slapd's syncprov answers a refresh without a cookie with the entries up
 * to its contextCSN.  After an unclean stop (kill -9, a crash, power
 * lost) the contextCSN it restarts with can lag the entries written last:
 * a plain search returns them, the refresh leaves them out, and a full
 * read through it would take them for deleted (and disable them) until
 * the next write moves the contextCSN on.  So after a full refresh: an
 * entry in scope with an entryCSN past the newest CSN of the cookie the
 * server handed out means the refresh is not the whole directory.
 * 0 whole (or the server cannot tell: no entryCSN ordering); 1 not
 * (sy->reason: the caller reads with a plain search instead).
 */
static int
sync_missed(struct source *s, const char *filter, struct source_sync *sy)
{
	char csn[64], *f;
	char *attrs[] = {"1.1", NULL};
	LDAPMessage *res = NULL;
	int rc, n;

	if (sy->new_cookie == NULL ||
	    !cookie_newest_csn((const char *)sy->new_cookie, csn,
			       sizeof(csn)))
		return 0;
	f = xasprintf("(&%s(entryCSN>=%s)(!(entryCSN=%s)))", filter, csn,
		      csn);
	rc = ldap_search_ext_s(s->ld, s->base, LDAP_SCOPE_SUBTREE, f, attrs,
			       1, NULL, NULL, &s->tmo, 1, &res);
	n = res != NULL ? ldap_count_entries(s->ld, res) : 0;
	ldap_msgfree(res);
	free(f);
	if ((rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) && n > 0) {
		snprintf(sy->reason, sizeof(sy->reason),
			 "%s: the content sync left out entries written after "
			 "its contextCSN %.40s (slapd restarted after an "
			 "unclean stop, or entries loaded with slapadd "
			 "without -w?): read with a plain search", s->uri,
			 csn);
		return 1;
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED)
		log_debug("%s: entries past the contextCSN not checked: %s",
			  s->uri, ldap_err2string(rc));
	return 0;
}

int
ldap_src_sync_read(struct source *s, const char *filter,
		   const char *const *attrs, struct source_sync *sy,
		   const struct source_sync_cb *cb, void *ctx,
		   struct err *err)
{
	struct sync_run r;
	char **al;
	LDAPMessage *msg = NULL;
	int msgid = -1, rc, ret = -1;

	if (s->ad)
		return ldap_src_dirsync_read(s, filter, attrs, sy, cb, ctx,
					     err);
	if (sy->cookie != NULL &&
	    sync_cookie_stateless(sy->cookie, sy->cookie_len)) {
		snprintf(sy->reason, sizeof(sy->reason), "the cookie of the "
			 "last read (%.60s) has no change sequence number "
			 "(csn): %s would send every entry as new and no "
			 "delete", (const char *)sy->cookie, s->uri);
		return 1;
	}
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.sy = sy;
	r.cb = cb;
	r.ctx = ctx;
	al = ldap_src_attr_list(s, attrs);
	if (sync_send(s, filter, al, sy, &msgid, err) < 0)
		goto done;
	for (;;) {
		rc = ldap_result(s->ld, msgid, LDAP_MSG_ONE, &s->tmo, &msg);
		if (rc == 0) {
			ldap_src_search_err(s, LDAP_TIMEOUT, filter, 0, r.msgs,
					    err);
			goto abandon;
		}
		if (rc < 0) {
			ldap_get_option(s->ld, LDAP_OPT_RESULT_CODE, &rc);
			ldap_src_search_err(s, rc ? rc : LDAP_SERVER_DOWN,
					    filter, 0, r.msgs, err);
			goto done;
		}
		rc = sync_message(&r, msg, filter, err);
		ldap_msgfree(msg);
		msg = NULL;
		if (rc == 2 || rc == 1) {
			ret = rc == 2 ? 0 : 1;
			msgid = -1;
			break;
		}
		if (rc < 0) {
			if (err->object[0] == '\0')
				err_object(err, s->uri);
			goto abandon;
		}
	}
	log_debug("%s: content sync: %zu changed, %zu deleted, %zu present%s",
		  s->uri, sy->changed, sy->deleted, sy->present,
		  sy->present_phase ? " (present phase)" : "");
	/* a full read: the whole directory, or a plain search instead */
	if (ret == 0 && sy->cookie == NULL && sync_missed(s, filter, sy) > 0)
		ret = 1;
	goto done;
abandon:
	if (msgid >= 0)
		ldap_abandon_ext(s->ld, msgid, NULL, NULL);
done:
	ldap_msgfree(msg);
	ldap_src_attr_list_free(al);
	return ret;
}

/*
 * ldap_persist.c - source_ops.watch for the LDAP source: one persistent
 * search that tells the daemon *that* something changed.  What changed is
 * read by the next ordinary run (an incremental read with the stored
 * cookie), so nothing here interprets entries beyond "a change".
 *
 * OpenLDAP / 389-DS: RFC 4533 refreshAndPersist.  The Sync Request
 * control carries the cookie of the last run, so the refresh phase sends
 * only what changed since that run (a change made while nobody watched
 * is a change too); then the search stays open and every add, modify,
 * rename or delete in scope arrives as an entry with a Sync State control
 * or a syncIdSet of deleted entryUUIDs (RFC 4533 2.5).  Attributes "1.1":
 * no values are sent, only the notification.  A refresh that falls back
 * to a present phase (the server's session log does not reach back to
 * the cookie) hides deletes in what it does not send: it is counted as a
 * change.  A cookie the server refuses (e-syncRefreshRequired) is dropped
 * and the search sent again without one; without a cookie the refresh
 * sends every entry, which is not a change.
 *
 * Active Directory / Samba AD: the change notification control
 * (LDAP_SERVER_NOTIFICATION_OID, 1.2.840.113556.1.4.528, MS-ADTS
 * 3.1.1.3.4.1.9): an asynchronous subtree search with the filter
 * "(objectClass=*)" (the only one AD accepts with it) and no initial
 * result; each object that changes is sent as an entry.  With it goes
 * the Show Deleted control (LDAP_SERVER_SHOW_DELETED_OID,
 * 1.2.840.113556.1.4.417, MS-ADTS 3.1.1.3.4.1.14): a deleted object moves
 * to CN=Deleted Objects and becomes a tombstone, which the notification
 * search reports only when tombstones are visible to it (Microsoft's
 * "Change Notifications in Active Directory Domain Services"; Samba 4.17
 * likewise sent nothing for a delete without it).  It sees no change
 * made before it started: the caller runs once after a reconnect.
 *
 * Waits are one second long so w->stop is honoured promptly; the search
 * itself has no time limit (it is meant to last).  libldap's
 * ldap_sync_init() is not used for the reasons given in ldap_sync.c.
 */
#include "source/ldap_int.h"

#include <stdio.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"

/* What the search has told us so far. */
struct persist {
	struct source *s;
	struct source_watch *w;
	bool with_cookie;  /* the refresh is relative to the last run */
	bool refreshed;    /* the persist phase has begun */
};

/* The connection failed (libldap's rc): -1, err set. */
static int
persist_lost(struct persist *p, int rc, struct err *err)
{
	err_where(err, "persistent search");
	err_object(err, p->s->uri);
	err->lib_rc = rc;
	return err_set(err, DS_E_CONNECT, "connection lost (%s)",
		       ldap_err2string(rc));
}

static int
persist_malformed(struct persist *p, const char *what, struct err *err)
{
	err_where(err, "persistent search");
	err_object(err, p->s->uri);
	return err_set(err, DS_E_SOURCE, "malformed %s from the server", what);
}

/*
 * A change seen: during the refresh only when it is relative to the last
 * run's cookie; in the persist phase always.
 */
static void
persist_change(struct persist *p)
{
	if (p->refreshed || p->with_cookie)
		p->w->changed(p->w->ctx);
}

static void
persist_refreshed(struct persist *p)
{
	if (p->refreshed)
		return;
	p->refreshed = true;
	p->w->watching(p->w->ctx);
}

/* An entry's Sync State control: { state, entryUUID, cookie OPTIONAL } */
static int
persist_entry(struct persist *p, LDAPMessage *msg, struct err *err)
{
	LDAPControl **ctrls = NULL, *c;
	BerElement *ber = NULL;
	ber_int_t state = -1;
	int ret = 0;

	if (p->s->ad) {
		/* a change notification: the changed object */
		p->w->changed(p->w->ctx);
		return 0;
	}
	if (ldap_get_entry_controls(p->s->ld, msg, &ctrls) != LDAP_SUCCESS ||
	    (c = ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL)) ==
		    NULL ||
	    (ber = ber_init(&c->ldctl_value)) == NULL ||
	    ber_scanf(ber, "{e", &state) == LBER_ERROR)
		ret = persist_malformed(p, "Sync State control", err);
	else if (state == LDAP_SYNC_ADD || state == LDAP_SYNC_MODIFY ||
		 state == LDAP_SYNC_DELETE)
		persist_change(p);
	if (ber != NULL)
		ber_free(ber, 1);
	ldap_controls_free(ctrls);
	return ret;
}

/* syncInfo (RFC 4533 2.5): the end of the refresh, or a syncIdSet. */
static int
persist_info(struct persist *p, LDAPMessage *msg, struct err *err)
{
	char *oid = NULL;
	struct berval *data = NULL, cookie;
	BerElement *ber = NULL;
	ber_len_t len;
	ber_tag_t tag;
	ber_int_t flag = 1;  /* refreshDone DEFAULT TRUE; refreshDeletes
			      * DEFAULT FALSE is read separately below */
	int ret = 0;

	if (ldap_parse_intermediate(p->s->ld, msg, &oid, &data, NULL, 0) !=
		    LDAP_SUCCESS ||
	    oid == NULL)
		return persist_malformed(p, "intermediate response", err);
	if (strcmp(oid, LDAP_SYNC_INFO) != 0 || data == NULL ||
	    (ber = ber_init(data)) == NULL)
		goto done;   /* not ours */
	tag = ber_peek_tag(ber, &len);
	if (tag == LDAP_TAG_SYNC_REFRESH_DELETE ||
	    tag == LDAP_TAG_SYNC_REFRESH_PRESENT) {
		if (ber_scanf(ber, "{") == LBER_ERROR ||
		    (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
		     ber_scanf(ber, "m", &cookie) == LBER_ERROR) ||
		    (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDONE &&
		     ber_scanf(ber, "b", &flag) == LBER_ERROR)) {
			ret = persist_malformed(p, "syncInfo", err);
			goto done;
		}
		/* a present phase against the last run's cookie: deletes
		 * are implied by what was not sent */
		if (tag == LDAP_TAG_SYNC_REFRESH_PRESENT)
			persist_change(p);
		if (flag)
			persist_refreshed(p);
	} else if (tag == LDAP_TAG_SYNC_ID_SET) {
		flag = 0;
		if (ber_scanf(ber, "{") == LBER_ERROR ||
		    (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
		     ber_scanf(ber, "m", &cookie) == LBER_ERROR) ||
		    (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDELETES &&
		     ber_scanf(ber, "b", &flag) == LBER_ERROR)) {
			ret = persist_malformed(p, "syncIdSet", err);
			goto done;
		}
		/* deletes, or (in a refresh) a present list that hides them */
		persist_change(p);
	}
	/* a new cookie alone is no change */
done:
	if (ber != NULL)
		ber_free(ber, 1);
	ldap_memfree(oid);
	ber_bvfree(data);
	return ret;
}

static int
persist_send(struct persist *p, const char *filter, int *msgid,
	     struct err *err)
{
	static char *noattrs[] = {LDAP_NO_ATTRS, NULL};
	LDAPControl ctrl, show, *ctrls[3] = {&ctrl, NULL, NULL};
	BerElement *ber = NULL;
	struct berval cookie;
	int rc;

	memset(&ctrl, 0, sizeof(ctrl));
	ctrl.ldctl_iscritical = 1;
	if (p->s->ad) {
		/* no value (MS-ADTS 3.1.1.3.4.1.9); AD accepts no other
		 * filter with it */
		ctrl.ldctl_oid = LDAP_CONTROL_X_SERVER_NOTIFICATION;
		filter = "(objectClass=*)";
		/* deletes too: tombstones visible (no value) */
		memset(&show, 0, sizeof(show));
		show.ldctl_oid = (char *)LDAP_CONTROL_X_SHOW_DELETED;
		show.ldctl_iscritical = 1;
		ctrls[1] = &show;
	} else {
		if ((ber = ber_alloc_t(LBER_USE_DER)) == NULL)
			return err_set(err, DS_E_NOMEM, "out of memory");
		cookie.bv_val = (char *)p->w->cookie;
		cookie.bv_len = p->w->cookie_len;
		/* syncRequestValue: { mode, cookie OPTIONAL, reloadHint } */
		rc = p->with_cookie
			     ? ber_printf(ber, "{eO}",
					  LDAP_SYNC_REFRESH_AND_PERSIST, &cookie)
			     : ber_printf(ber, "{e}",
					  LDAP_SYNC_REFRESH_AND_PERSIST);
		if (rc < 0 || ber_flatten2(ber, &ctrl.ldctl_value, 0) < 0) {
			ber_free(ber, 1);
			return err_set(err, DS_E_INTERNAL, "cannot encode the "
				       "Sync Request control");
		}
		ctrl.ldctl_oid = LDAP_CONTROL_SYNC;
	}
	/* no time limit: the search is meant to last */
	rc = ldap_search_ext(p->s->ld, p->s->base, LDAP_SCOPE_SUBTREE, filter,
			     noattrs, 0, ctrls, NULL, NULL, LDAP_NO_LIMIT,
			     msgid);
	if (ber != NULL)
		ber_free(ber, 1);
	if (rc != LDAP_SUCCESS)
		return persist_lost(p, rc, err);
	return 0;
}

/*
 * The search ended (it should not): 1 cannot watch (w->reason), 2 send
 * it again without the cookie (e-syncRefreshRequired), 3 the same after
 * another refusal of a search with the cookie (logged here), -1
 * anything else (err set).
 */
static int
persist_result(struct persist *p, LDAPMessage *msg, struct err *err)
{
	char *diag = NULL;
	int srv_rc, rc, ret = -1;

	rc = ldap_parse_result(p->s->ld, msg, &srv_rc, NULL, &diag, NULL,
			       NULL, 0);
	if (rc != LDAP_SUCCESS)
		srv_rc = rc;
	switch (srv_rc) {
	case LDAP_SYNC_REFRESH_REQUIRED:
		ret = p->with_cookie ? 2 : -1;
		if (ret == 2)
			break;
		/* FALLTHROUGH */
	default:
		err_where(err, "persistent search");
		err_object(err, p->s->uri);
		err->lib_rc = srv_rc;
		err_set(err, DS_E_SOURCE, "the server ended the %s: %s%s%s",
			p->s->ad ? "change notification search"
				 : "refreshAndPersist search",
			ldap_err2string(srv_rc), diag && *diag ? ": " : "",
			diag ? diag : "");
		break;
	case LDAP_UNAVAILABLE_CRITICAL_EXTENSION:
	case LDAP_UNWILLING_TO_PERFORM:
	case LDAP_PROTOCOL_ERROR:
	case LDAP_UNDEFINED_TYPE:
		/* with a cookie, the refusal may be the cookie's: slapd
		 * after a restore answers "consumer state is newer than
		 * provider!" (unwillingToPerform); only a search without
		 * one that is refused says the server cannot be watched */
		if (p->with_cookie) {
			log_info("%s: the refreshAndPersist search with the "
				 "last run's cookie was refused (%s%s%s): "
				 "watching without one",
				 p->s->uri, ldap_err2string(srv_rc),
				 diag && *diag ? ": " : "", diag ? diag : "");
			ret = 3;
			break;
		}
		snprintf(p->w->reason, sizeof(p->w->reason),
			 "%s cannot be watched: it refused %s (%s%s%s)",
			 p->s->uri,
			 p->s->ad ? "the change notification control "
				    "(1.2.840.113556.1.4.528)"
				  : "an RFC 4533 refreshAndPersist search "
				    "(slapd: the syncprov overlay)",
			 ldap_err2string(srv_rc), diag && *diag ? ": " : "",
			 diag ? diag : "");
		ret = 1;
		break;
	}
	ldap_memfree(diag);
	return ret;
}

/* One message: 0 go on, or persist_result()'s answer. */
static int
persist_message(struct persist *p, LDAPMessage *msg, struct err *err)
{
	switch (ldap_msgtype(msg)) {
	case LDAP_RES_SEARCH_ENTRY:
		return persist_entry(p, msg, err);
	case LDAP_RES_INTERMEDIATE:
		return persist_info(p, msg, err);
	case LDAP_RES_SEARCH_RESULT:
		return persist_result(p, msg, err);
	default:
		return 0;   /* references are never chased */
	}
}

int
ldap_src_persist(struct source *s, const char *filter,
		 struct source_watch *w, struct err *err)
{
	struct persist p;
	/* how often the stop flag is looked at: SIGTERM ends the daemon,
	 * which joins this thread, within about this (dirsync(8)) */
	struct timeval tick = {0, 100 * 1000};
	LDAPMessage *msg = NULL;
	int msgid = -1, rc;
	double sent;

	memset(&p, 0, sizeof(p));
	p.s = s;
	p.w = w;
	p.with_cookie = !s->ad && w->cookie != NULL && w->cookie_len > 0;
	if (persist_send(&p, filter, &msgid, err) < 0)
		return -1;
	sent = clock_seconds();
	while (!w->stop(w->ctx)) {
		rc = ldap_result(s->ld, msgid, LDAP_MSG_ONE, &tick, &msg);
		if (rc == 0) {
			/* AD sends nothing until a change: a search not
			 * refused within a second is established */
			if (s->ad && clock_seconds() - sent >= 1.0)
				persist_refreshed(&p);
			continue;
		}
		if (rc < 0) {
			ldap_get_option(s->ld, LDAP_OPT_RESULT_CODE, &rc);
			return persist_lost(&p, rc ? rc : LDAP_SERVER_DOWN,
					    err);
		}
		rc = persist_message(&p, msg, err);
		ldap_msgfree(msg);
		msg = NULL;
		if (rc == 2 || rc == 3) {
			if (rc == 2)
				log_debug("%s: the last run's cookie was "
					  "refused (e-syncRefreshRequired): "
					  "watching without one",
					  s->uri);
			/* the run will learn the same and read everything */
			w->changed(w->ctx);
			p.with_cookie = false;
			if (persist_send(&p, filter, &msgid, err) < 0)
				return -1;
			sent = clock_seconds();
			continue;
		}
		if (rc < 0)   /* abandoning an ended search is harmless */
			ldap_abandon_ext(s->ld, msgid, NULL, NULL);
		if (rc != 0)
			return rc;
	}
	ldap_abandon_ext(s->ld, msgid, NULL, NULL);
	return 0;
}

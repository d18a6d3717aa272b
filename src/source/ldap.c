/*
 * ldap.c - the live directory source: OpenLDAP, 389-DS, Active Directory
 * and Samba AD through OpenLDAP's libldap.
 *
 * open():  the [source] uri list is tried in order.  The next server is
 *          tried only when one cannot be reached (connect error, timeout,
 *          TLS handshake failure, server down); a refused bind (wrong
 *          password, TLS demanded) is the same on every server and stops
 *          at once.  Connect + TLS + bind is bounded by a watchdog (see
 *          struct ldap_src_watch).  After the bind the
 *          rootDSE decides the flavor (AD advertises capability
 *          1.2.840.113556.1.4.800) and the naming context, and the base DN
 *          is checked to exist.
 * read():  one paged subtree search (RFC 2696, page_size, control marked
 *          critical so a server that cannot page fails instead of
 *          truncating).  Referrals are never chased.  AD range retrieval
 *          ("member;range=0-1499") is completed with base searches on the
 *          entry before the entry is delivered, so callers only ever see a
 *          whole "member".  Pages are pipelined: each is taken whole and
 *          the next requested before its entries are delivered.  Any
 *          failure - a page error, a size or time
 *          limit, a lost connection, no answer within timeout - fails the
 *          whole read: the caller throws away what it got.
 *
 * Test hook: DIRSYNC_TEST_RANGE_STEP=N makes the reader ask for "member"
 * in ranges of N values, as AD forces with MaxValRange; Samba and slapd
 * never force it, so this is how the range code runs against them.
 */
#include "source/source.h"

#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "source/ldap_util.h"
#include "util/thread.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Bounds on what the directory controls (STYLE: bound everything). */
#define LDAP_SRC_MAX_VALUES 10000000UL   /* values of one attribute */
#define LDAP_SRC_MAX_RANGE_ROUNDS 100000 /* follow-up searches per attr */
#define LDAP_SRC_DEFAULT_PAGE 1000
#define LDAP_SRC_DEFAULT_TIMEOUT 30

/* AD's capability OID for "this is Active Directory" (LDAP_CAP_ACTIVE_DIRECTORY_OID). */
#define LDAP_SRC_AD_CAP "1.2.840.113556.1.4.800"

#include "source/ldap_int.h"


/* ------------------------------------------------------------------ */
/* errors                                                              */

/* The server's diagnostic text for the last operation; malloc'd or NULL. */
char *
ldap_src_diag(LDAP *ld)
{
	char *msg = NULL;
	char *out;

	if (ld == NULL ||
	    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) !=
		    LDAP_OPT_SUCCESS ||
	    msg == NULL)
		return NULL;
	out = msg[0] != '\0' ? xstrdup(msg) : NULL;
	ldap_memfree(msg);
	return out;
}

static bool
ldap_src_is_tls_text(const char *s)
{
	return s != NULL &&
	       (strcasestr(s, "certificate") != NULL ||
		strcasestr(s, "SSL routines") != NULL ||
		strcasestr(s, "TLS") != NULL ||
		strcasestr(s, "verify") != NULL);
}

/* Host part of an ldap(s):// URI, for "unknown host" checks; malloc'd. */
static char *
ldap_src_uri_host(const char *uri, int *port)
{
	LDAPURLDesc *lud = NULL;
	char *host = NULL;

	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS)
		return NULL;
	if (lud->lud_host != NULL && lud->lud_host[0] != '\0' &&
	    strcasecmp(lud->lud_scheme, "ldapi") != 0)
		host = xstrdup(lud->lud_host);
	if (port != NULL)
		*port = lud->lud_port;
	ldap_free_urldesc(lud);
	return host;
}

/*
 * Whether a plain TCP connection to host:port opens within `secs`: tells a
 * failed TLS handshake (port open) from a server that is down, since
 * libldap reports both as "Can't contact LDAP server".
 */
static bool
ldap_src_tcp_open(const char *host, int port, long secs)
{
	struct addrinfo hints, *ai = NULL, *a;
	char portstr[16];
	bool ok = false;
	int fd, flags, soerr;
	socklen_t len;
	struct pollfd pfd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &ai) != 0)
		return false;
	for (a = ai; a != NULL && !ok; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0)
			continue;
		flags = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			ok = true;
		} else if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			len = sizeof(soerr);
			if (poll(&pfd, 1, (int)(secs * 1000)) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
				       &len) == 0 &&
			    soerr == 0)
				ok = true;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return ok;
}

/*
 * A transport-level failure on `uri` (connect, TLS, timeout, lost
 * connection).  Sets err and says whether another server may do better.
 */
static int
ldap_src_transport_err(LDAP *ld, int rc, const char *uri, const char *where,
		       struct err *err)
{
	char *diag = ldap_src_diag(ld);
	char *host, *tls_ca = NULL;
	struct addrinfo hints, *ai = NULL;
	int gai, port = 0;

	if (ld != NULL)
		ldap_get_option(ld, LDAP_OPT_X_TLS_CACERTFILE, &tls_ca);

	err_where(err, where);
	err_object(err, uri);
	err->lib_rc = rc;
	if (ldap_src_is_tls_text(diag)) {
		err_set(err, DS_E_TLS,
			"TLS handshake failed, certificate not trusted (%s); "
			"set tls_ca_file to the CA that signed the server "
			"certificate, check the host name matches it, or "
			"(insecure) tls_verify = no",
			diag);
		goto done;
	}
	host = ldap_src_uri_host(uri, &port);
	if (host != NULL) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		gai = getaddrinfo(host, NULL, &hints, &ai);
		if (ai != NULL)
			freeaddrinfo(ai);
		if (gai != 0) {
			err_set(err, DS_E_CONNECT,
				"unknown host \"%s\" (%s); check uri", host,
				gai_strerror(gai));
			free(host);
			goto done;
		}
		/* TLS in play and the port answers: the handshake failed */
		if ((strncasecmp(uri, "ldaps://", 8) == 0 ||
		     strcmp(where, "starttls") == 0) &&
		    rc != LDAP_TIMEOUT &&
		    ldap_src_tcp_open(host, port > 0 ? port
					      : strncasecmp(uri, "ldaps", 5) == 0
						      ? 636
						      : 389,
				      5)) {
			err_set(err, DS_E_TLS,
				"TLS handshake failed: certificate not trusted "
				"(or not for host \"%s\", or the port does not "
				"speak TLS); set tls_ca_file to the CA that "
				"signed the server certificate%s, or "
				"(insecure) tls_verify = no",
				host, tls_ca ? "" : " (none set: the system "
						    "CA bundle is used)");
			free(host);
			goto done;
		}
		free(host);
	}
	if (rc == LDAP_TIMEOUT)
		err_set(err, DS_E_CONNECT,
			"no answer within timeout (%s); check the server and "
			"the timeout setting",
			ldap_err2string(rc));
	else
		err_set(err, DS_E_CONNECT,
			"cannot reach server: %s%s%s%s; check uri and that "
			"the server runs",
			ldap_err2string(rc), diag ? " (" : "", diag ? diag : "",
			diag ? ")" : "");
done:
	free(diag);
	ldap_memfree(tls_ca);
	return -1;
}

static bool
ldap_src_is_transport_rc(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR ||
	       rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
}

/* ------------------------------------------------------------------ */
/* connecting                                                          */

static int
ldap_src_watch_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv,
		   struct sockaddr *addr, struct ldap_conncb *ctx)
{
	struct ldap_src_watch *w = ctx->lc_arg;
	ber_socket_t fd = -1;

	ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd);
	pthread_mutex_lock(&w->mu);
	w->fd = fd;
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static void
ldap_src_watch_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	struct ldap_src_watch *w = ctx->lc_arg;

	pthread_mutex_lock(&w->mu);
	w->fd = -1;
	pthread_mutex_unlock(&w->mu);
}

static void *
ldap_src_watch_run(void *arg)
{
	struct ldap_src_watch *w = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += w->secs;
	pthread_mutex_lock(&w->mu);
	while (!w->done) {
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
			continue;
		if (!w->done && w->fd >= 0) {
			shutdown(w->fd, SHUT_RDWR);
			w->fired = true;
		}
		break;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Arm the watchdog for one connection attempt; false if no thread. */
static bool
ldap_src_watch_start(struct ldap_src_watch *w, long secs)
{
	w->fd = -1;
	w->done = false;
	w->fired = false;
	w->secs = secs;
	w->running = thread_spawn(&w->th, ldap_src_watch_run, w) == 0;
	return w->running;
}

/* Disarm; returns whether it fired (the attempt was cut short). */
static bool
ldap_src_watch_stop(struct ldap_src_watch *w)
{
	bool fired;

	if (!w->running)
		return false;
	pthread_mutex_lock(&w->mu);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	w->running = false;
	pthread_mutex_lock(&w->mu);
	fired = w->fired;
	pthread_mutex_unlock(&w->mu);
	return fired;
}

/*
 * TCP keepalive: probes after 60 s of silence, every 10 s, 3 unanswered
 * ones end the connection.  The watch mode's persistent search is silent
 * for hours; without probes a peer that vanished without a reset (a
 * firewall that dropped the idle connection, a host that died) would
 * leave it waiting forever, and the probes keep such a firewall's state
 * alive.  Harmless for the runs.  A failure only costs the probes.
 */
static void
ldap_src_keepalive(LDAP *ld)
{
	int idle = 60, intvl = 10, probes = 3;

	if (ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle) !=
		    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_INTERVAL, &intvl) !=
		    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_PROBES, &probes) !=
		    LDAP_OPT_SUCCESS)
		log_debug("cannot set TCP keepalive options");
}

/* Will this connection speak TLS: ldaps://, or StartTLS asked for? */
static bool
tls_wanted(const struct conf *c, const char *uri)
{
	return strncasecmp(uri, "ldaps://", 8) == 0 ||
	       c->source.starttls != STARTTLS_NO;
}

static int
ldap_src_set_options(LDAP *ld, const struct conf *c, const struct timeval *tmo,
		     const char *uri, struct err *err)
{
	int v3 = LDAP_VERSION3;
	int reqcert = c->source.tls_verify ? LDAP_OPT_X_TLS_DEMAND
					   : LDAP_OPT_X_TLS_NEVER;
	int zero = 0;
	const char *what = NULL;

	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) !=
	    LDAP_OPT_SUCCESS)
		what = "protocol version";
	else if (ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) !=
		 LDAP_OPT_SUCCESS)
		what = "referrals";
	else if (ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, tmo) !=
		 LDAP_OPT_SUCCESS)
		what = "network timeout";
	else if (ldap_set_option(ld, LDAP_OPT_TIMEOUT, tmo) !=
		 LDAP_OPT_SUCCESS)
		what = "timeout";
	/* plain ldap:// (or ldapi://) without StartTLS: no TLS context (its
	 * trust store alone, the system's CA bundle parsed, took 40 ms) */
	else if (!tls_wanted(c, uri))
		;
	else if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &reqcert) !=
		 LDAP_OPT_SUCCESS)
		what = "tls_verify";
	else if (c->source.tls_ca_file != NULL &&
		 c->source.tls_ca_file[0] != '\0' &&
		 ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE,
				 c->source.tls_ca_file) != LDAP_OPT_SUCCESS)
		what = "tls_ca_file";
	/* A fresh TLS context per handle: the options above apply to it. */
	else if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) !=
		 LDAP_OPT_SUCCESS)
		what = "TLS context (check tls_ca_file is a readable PEM file)";
	if (what == NULL) {
		ldap_src_keepalive(ld);
		return 0;
	}
	err_where(err, "connect");
	err_object(err, uri);
	return err_set(err, DS_E_TLS, "cannot set LDAP option: %s", what);
}

/* Bind as configured.  *transport is set when another server may help. */
static int
ldap_src_bind(LDAP *ld, const struct conf *c, const char *uri,
	      bool *transport, struct err *err)
{
	const char *dn = c->source.bind_dn;
	const char *pw = c->source.bind_password;
	struct berval cred = {0, NULL};
	char *diag = NULL;
	const char *hint;
	int rc;

	*transport = false;
	if ((dn == NULL || dn[0] == '\0') &&
	    strncasecmp(uri, "ldapi://", 8) == 0) {
		/* the kernel vouches for us: uid/gid of this process */
		struct berval none = {0, (char *)""};

		/* an empty initial response: no authorization identity */
		rc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &none, NULL, NULL,
				      NULL);
		dn = "SASL EXTERNAL";
	} else if (dn == NULL || dn[0] == '\0') {
		rc = ldap_sasl_bind_s(ld, NULL, LDAP_SASL_SIMPLE, &cred, NULL,
				      NULL, NULL);
		dn = "anonymous";
	} else {
		if (pw == NULL || pw[0] == '\0') {
			/* an empty password is an unauthenticated bind
			 * (RFC 4513 5.1.2): it "succeeds" and reads nothing */
			err_where(err, "bind");
			err_object(err, uri);
			return err_set(err, DS_E_CONFIG,
				       "bind_dn %s has no password; set "
				       "bind_password_file or "
				       "DIRSYNC_BIND_PASSWORD",
				       dn);
		}
		cred.bv_val = (char *)pw;
		cred.bv_len = strlen(pw);
		rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL,
				      NULL, NULL);
	}
	if (rc == LDAP_SUCCESS)
		return 0;
	if (ldap_src_is_transport_rc(rc)) {
		*transport = true;
		return ldap_src_transport_err(ld, rc, uri, "connect", err);
	}
	err_where(err, "bind");
	err_object(err, uri);
	err->lib_rc = rc;
	diag = ldap_src_diag(ld);
	switch (rc) {
	case LDAP_INVALID_CREDENTIALS:
		hint = ldap_util_ad_bind_hint(diag);
		err_set(err, DS_E_AUTH,
			"invalid credentials for bind DN %s%s%s%s; check "
			"bind_dn / bind_password_file",
			dn, hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
		break;
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
		err_set(err, DS_E_AUTH,
			"server refuses a simple bind without TLS (%s%s%s); "
			"use an ldaps:// uri or starttls = demand",
			ldap_err2string(rc), diag ? ": " : "",
			diag ? diag : "");
		break;
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_AUTH_METHOD_NOT_SUPPORTED:
		err_set(err, DS_E_AUTH,
			"server does not accept this bind for %s: %s%s%s", dn,
			ldap_err2string(rc), diag ? ": " : "", diag ? diag : "");
		break;
	default:
		err_set(err, DS_E_AUTH, "bind as %s failed: %s%s%s", dn,
			ldap_err2string(rc), diag ? ": " : "", diag ? diag : "");
		break;
	}
	free(diag);
	return -1;
}

/* StartTLS on an ldap:// connection when asked for. */
static int
ldap_src_starttls(LDAP *ld, const struct conf *c, const char *uri,
		  bool *transport, bool *tls_on, struct err *err)
{
	int rc;
	char *diag;

	*transport = false;
	if (c->source.starttls == STARTTLS_NO ||
	    strncasecmp(uri, "ldap://", 7) != 0)
		return 0;
	rc = ldap_start_tls_s(ld, NULL, NULL);
	if (rc == LDAP_SUCCESS) {
		*tls_on = true;
		return 0;
	}
	diag = ldap_src_diag(ld);
	if (ldap_src_is_tls_text(diag) || rc == LDAP_CONNECT_ERROR) {
		/* a certificate problem: never fall back to plain text */
		free(diag);
		return ldap_src_transport_err(ld, rc, uri, "starttls", err);
	}
	if (ldap_src_is_transport_rc(rc)) {
		free(diag);
		*transport = true;
		return ldap_src_transport_err(ld, rc, uri, "connect", err);
	}
	if (c->source.starttls == STARTTLS_YES) {
		log_warn("%s: StartTLS refused (%s); going on WITHOUT "
			 "encryption because starttls = yes (use demand to "
			 "refuse)",
			 uri, ldap_err2string(rc));
		free(diag);
		return 0;
	}
	err_where(err, "starttls");
	err_object(err, uri);
	err->lib_rc = rc;
	err_set(err, DS_E_TLS,
		"StartTLS refused by server: %s%s%s; use an ldaps:// uri or "
		"enable StartTLS on the server",
		ldap_err2string(rc), diag ? ": " : "", diag ? diag : "");
	free(diag);
	return -1;
}

/* First value of attribute `name` in rootDSE message, malloc'd or NULL. */
static char *
ldap_src_first_value(LDAP *ld, LDAPMessage *e, const char *name)
{
	struct berval **v = ldap_get_values_len(ld, e, name);
	char *out = NULL;

	if (v != NULL && v[0] != NULL)
		out = xstrndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	return out;
}

/* rootDSE: flavor and naming context. */
static int
ldap_src_rootdse(struct source *s, struct source_info *info, struct err *err)
{
	static char *attrs[] = {"supportedCapabilities",
				"defaultNamingContext", "namingContexts",
				NULL};
	LDAPMessage *res = NULL, *e;
	struct berval **caps = NULL;
	char *nc = NULL;
	bool ad = false;
	size_t i;
	int rc, ret = -1;

	rc = ldap_search_ext_s(s->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
			       attrs, 0, NULL, NULL, &s->tmo, 1, &res);
	if (rc != LDAP_SUCCESS) {
		if (ldap_src_is_transport_rc(rc)) {
			ldap_src_transport_err(s->ld, rc, s->uri, "rootDSE",
					       err);
			goto done;
		}
		/* Some servers hide the rootDSE: only auto needs it. */
		if (s->conf->source.flavor == FLAVOR_AUTO ||
		    s->conf->source.base_dn == NULL ||
		    s->conf->source.base_dn[0] == '\0') {
			err_where(err, "rootDSE");
			err_object(err, s->uri);
			err->lib_rc = rc;
			err_set(err, DS_E_SOURCE,
				"cannot read the rootDSE (%s); set flavor and "
				"base_dn explicitly",
				ldap_err2string(rc));
			goto done;
		}
	}
	e = res != NULL ? ldap_first_entry(s->ld, res) : NULL;
	if (e != NULL) {
		caps = ldap_get_values_len(s->ld, e, "supportedCapabilities");
		for (i = 0; caps != NULL && caps[i] != NULL; i++)
			if (caps[i]->bv_len == strlen(LDAP_SRC_AD_CAP) &&
			    memcmp(caps[i]->bv_val, LDAP_SRC_AD_CAP,
				   caps[i]->bv_len) == 0)
				ad = true;
		nc = ldap_src_first_value(s->ld, e, "defaultNamingContext");
		if (nc == NULL)
			nc = ldap_src_first_value(s->ld, e, "namingContexts");
	}
	switch (s->conf->source.flavor) {
	case FLAVOR_AD:
		s->ad = true;
		break;
	case FLAVOR_OPENLDAP:
		s->ad = false;
		break;
	default:
		s->ad = ad;
		break;
	}
	if (nc != NULL)
		s->nc = xstrdup(nc);
	if (s->conf->source.base_dn != NULL &&
	    s->conf->source.base_dn[0] != '\0') {
		s->base = xstrdup(s->conf->source.base_dn);
	} else if (nc != NULL) {
		s->base = nc;
		nc = NULL;
	} else {
		err_where(err, "rootDSE");
		err_object(err, s->uri);
		err_set(err, DS_E_CONFIG,
			"no base_dn set and the server advertises no naming "
			"context; set base_dn");
		goto done;
	}
	snprintf(info->flavor, sizeof(info->flavor), "%s",
		 s->ad ? "ad" : "openldap");
	snprintf(info->naming_context, sizeof(info->naming_context), "%s",
		 s->base);
	ret = 0;
done:
	ldap_value_free_len(caps);
	free(nc);
	ldap_msgfree(res);
	return ret;
}

/* source_ops.has_under: a subtree search under dn, two entries at most
 * (dn itself may be one of them). */
static int
ldap_src_has_under(struct source *s, const char *dn, const char *filter,
		   struct err *err)
{
	static char *attrs[] = {"1.1", NULL};
	LDAPMessage *res = NULL, *m;
	struct berval bv;
	char *ndn = NULL, *edn, *nedn;
	int rc, found = 0;

	rc = ldap_search_ext_s(s->ld, dn, LDAP_SCOPE_SUBTREE, filter, attrs,
			       0, NULL, NULL, &s->tmo, 2, &res);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return 1;
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		ldap_msgfree(res);
		if (ldap_src_is_transport_rc(rc))
			return ldap_src_transport_err(s->ld, rc, s->uri,
						      "entries under a renamed "
						      "entry", err);
		err_object(err, s->uri);
		err->lib_rc = rc;
		return err_set(err, DS_E_SOURCE, "searching under renamed "
			       "entry %s: %s", dn, ldap_err2string(rc));
	}
	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &ndn,
			      LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		ndn = NULL;
	for (m = ldap_first_entry(s->ld, res); m != NULL && !found;
	     m = ldap_next_entry(s->ld, m)) {
		if (ldap_get_dn_ber(s->ld, m, NULL, &bv) != LDAP_SUCCESS)
			continue;
		edn = xstrndup(bv.bv_val, bv.bv_len);
		nedn = NULL;
		if (ndn == NULL ||
		    ldap_dn_normalize(edn, LDAP_DN_FORMAT_LDAPV3, &nedn,
				      LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
		    strcasecmp(nedn, ndn) != 0)
			found = 1;
		ldap_memfree(nedn);
		free(edn);
	}
	ldap_memfree(ndn);
	ldap_msgfree(res);
	return found;
}

/* The base DN must exist; say so plainly when it does not. */
static int
ldap_src_check_base(struct source *s, struct err *err)
{
	static char *attrs[] = {"1.1", NULL};
	LDAPMessage *res = NULL;
	char *diag;
	int rc;

	rc = ldap_search_ext_s(s->ld, s->base, LDAP_SCOPE_BASE,
			       "(objectClass=*)", attrs, 0, NULL, NULL,
			       &s->tmo, 1, &res);
	ldap_msgfree(res);
	if (rc == LDAP_SUCCESS)
		return 0;
	if (ldap_src_is_transport_rc(rc))
		return ldap_src_transport_err(s->ld, rc, s->uri, "base_dn",
					      err);
	err_where(err, "base_dn");
	err_object(err, s->uri);
	err->lib_rc = rc;
	if (rc == LDAP_NO_SUCH_OBJECT)
		return err_set(err, DS_E_CONFIG,
			       "base_dn %s does not exist on server (or the "
			       "bind DN may not read it); check base_dn",
			       s->base);
	if (rc == LDAP_REFERRAL)
		return err_set(err, DS_E_CONFIG,
			       "base_dn %s is not held by this server (it "
			       "answers with a referral, not chased); check "
			       "base_dn and uri",
			       s->base);
	diag = ldap_src_diag(s->ld);
	err_set(err, DS_E_SOURCE, "cannot read base_dn %s: %s%s%s", s->base,
		ldap_err2string(rc), diag ? ": " : "", diag ? diag : "");
	free(diag);
	return -1;
}

/*
 * One server: initialize, TLS, bind.  Returns 0 with s->ld set, or -1;
 * *transport says whether the next server should be tried.
 */
static int
ldap_src_connect(struct source *s, const char *uri, struct source_info *info,
		 bool *transport, struct err *err)
{
	LDAP *ld = NULL;
	bool tls_on = false;
	int rc;

	*transport = false;
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS || ld == NULL) {
		err_where(err, "connect");
		err_object(err, uri);
		err->lib_rc = rc;
		return err_set(err, DS_E_CONFIG,
			       "not a valid LDAP uri (%s); use "
			       "ldaps://host[:port], ldap://host or ldapi://",
			       ldap_err2string(rc));
	}
	if (ldap_src_set_options(ld, s->conf, &s->tmo, uri, err) < 0)
		goto fail;
	if (ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &s->watch.cb) !=
	    LDAP_OPT_SUCCESS) {
		err_where(err, "connect");
		err_object(err, uri);
		err_set(err, DS_E_INTERNAL, "cannot set the connect callback");
		goto fail;
	}
	ldap_src_watch_start(&s->watch, 2 * (long)s->tmo.tv_sec);
	rc = ldap_src_starttls(ld, s->conf, uri, transport, &tls_on, err);
	if (rc == 0)
		rc = ldap_src_bind(ld, s->conf, uri, transport, err);
	if (ldap_src_watch_stop(&s->watch)) {
		*transport = true;
		err_where(err, "connect");
		err_object(err, uri);
		err->lib_rc = LDAP_TIMEOUT;
		err_set(err, DS_E_CONNECT,
			"no answer within %lds while connecting (TLS handshake "
			"or bind); check the server",
			2 * (long)s->tmo.tv_sec);
		goto fail;
	}
	if (rc < 0)
		goto fail;
	s->ld = ld;
	free(s->uri);
	s->uri = xstrdup(uri);
	{
		int port = 0;
		char *host = ldap_src_uri_host(uri, &port);

		/* the global catalog holds a partial copy of each object */
		if (port == 3268 || port == 3269)
			log_warn("%s is a global catalog port: attributes outside "
				 "the partial attribute set are missing there; "
				 "use 636 (ldaps) or 389 with StartTLS",
				 uri);
		free(host);
	}
	snprintf(info->server, sizeof(info->server), "%s", uri);
	if (strncasecmp(uri, "ldaps://", 8) == 0)
		snprintf(info->tls, sizeof(info->tls), "ldaps%s",
			 s->conf->source.tls_verify ? "" : " (NOT verified)");
	else if (tls_on)
		snprintf(info->tls, sizeof(info->tls), "starttls%s",
			 s->conf->source.tls_verify ? "" : " (NOT verified)");
	else if (strncasecmp(uri, "ldapi://", 8) == 0)
		snprintf(info->tls, sizeof(info->tls), "none (local socket)");
	else
		snprintf(info->tls, sizeof(info->tls), "none");
	return 0;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return -1;
}

static int
ldap_src_open(struct source **out, const struct conf *conf,
	      struct source_info *info, struct err *err)
{
	struct source *s;
	struct buf_tried {
		char text[256];
		size_t len;
	} tried = {"", 0};
	const char *step;
	bool transport = true;
	size_t i;
	int n;

	*out = NULL;
	if (conf->source.uri.n == 0) {
		err_where(err, "connect");
		return err_set(err, DS_E_CONFIG,
			       "[source] uri is empty; set one or more "
			       "ldaps:// uris");
	}
	s = xcalloc(1, sizeof(*s));
	s->conf = conf;
	pthread_mutex_init(&s->watch.mu, NULL);
	pthread_cond_init(&s->watch.cv, NULL);
	s->watch.fd = -1;
	s->watch.cb.lc_add = ldap_src_watch_add;
	s->watch.cb.lc_del = ldap_src_watch_del;
	s->watch.cb.lc_arg = &s->watch;
	s->tmo.tv_sec = conf->source.timeout > 0 ? conf->source.timeout
						 : LDAP_SRC_DEFAULT_TIMEOUT;
	s->page_size = conf->source.page_size > 0 &&
				       conf->source.page_size <= INT32_MAX
			       ? (int)conf->source.page_size
			       : LDAP_SRC_DEFAULT_PAGE;
	step = getenv("DIRSYNC_TEST_RANGE_STEP");
	if (step != NULL && step[0] != '\0') {
		char *end;
		unsigned long v = strtoul(step, &end, 10);
		if (*end == '\0' && v > 0 && v < LDAP_SRC_MAX_VALUES)
			s->range_step = v;
	}
	if (!conf->source.tls_verify)
		log_warn("[source] tls_verify = no: the LDAP server's "
			 "certificate is NOT checked; anyone on the path can "
			 "read the bind password and forge the directory");

	for (i = 0; i < conf->source.uri.n && transport; i++) {
		const char *uri = conf->source.uri.v[i];

		err_clear(err);
		if (ldap_src_connect(s, uri, info, &transport, err) == 0)
			break;
		/* a domain controller down is worth a line even when the
		 * next one answers */
		if (transport && i + 1 < conf->source.uri.n)
			log_warn("%s: %s; trying %s", uri, err->msg,
				 conf->source.uri.v[i + 1]);
		else
			log_debug("%s: %s", uri, err->msg);
		n = snprintf(tried.text + tried.len,
			     sizeof(tried.text) - tried.len, "%s%s",
			     tried.len ? ", " : "", uri);
		if (n > 0 && (size_t)n < sizeof(tried.text) - tried.len)
			tried.len += (size_t)n;
	}
	if (s->ld == NULL) {
		/* name every server tried when more than one was */
		if (i > 1) {
			size_t l = strlen(err->msg);
			snprintf(err->msg + l, sizeof(err->msg) - l,
				 " (all %zu servers failed: %s)", i,
				 tried.text);
		}
		goto fail;
	}
	if (ldap_src_rootdse(s, info, err) < 0 ||
	    ldap_src_check_base(s, err) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	source_ldap_ops.close(s);
	return -1;
}

/* ------------------------------------------------------------------ */
/* assembling entries                                                  */

static void
ldap_src_extra_add(struct ldap_src_pend *p, const struct berval *v)
{
	p->extra = xgrow(p->extra, &p->capextra, p->nextra + 1,
			 sizeof(*p->extra));
	p->extra[p->nextra].bv_len = v->bv_len;
	p->extra[p->nextra].bv_val = xmalloc(v->bv_len + 1);
	memcpy(p->extra[p->nextra].bv_val, v->bv_val, v->bv_len);
	p->extra[p->nextra].bv_val[v->bv_len] = '\0';
	p->nextra++;
}

/*
 * Complete a ranged attribute: base searches for the next range until
 * the server answers with "-*".  `next` is the first index not yet held.
 */
static int
ldap_src_fetch_ranges(struct source *s, const char *dn,
		      struct ldap_src_pend *p, unsigned long next,
		      struct err *err)
{
	char want[128];
	char *attrs[2] = {want, NULL};
	LDAPMessage *res = NULL, *e;
	BerElement *ber = NULL;
	struct berval name, *vals = NULL, dnbv;
	unsigned long lo, rounds;
	long hi;
	size_t baselen, i, held;
	int rc, ret = -1;
	bool found, done_ = false;

	for (rounds = 0; !done_; rounds++) {
		if (rounds >= LDAP_SRC_MAX_RANGE_ROUNDS) {
			err_set(err, DS_E_SOURCE,
				"range retrieval of %.*s on %s does not end",
				(int)p->name.bv_len, p->name.bv_val, dn);
			goto fail;
		}
		if (s->range_step > 0)
			snprintf(want, sizeof(want), "%.*s;range=%lu-%lu",
				 (int)p->name.bv_len, p->name.bv_val, next,
				 next + s->range_step - 1);
		else
			snprintf(want, sizeof(want), "%.*s;range=%lu-*",
				 (int)p->name.bv_len, p->name.bv_val, next);
		rc = ldap_search_ext_s(s->ld, dn, LDAP_SCOPE_BASE,
				       "(objectClass=*)", attrs, 0, NULL, NULL,
				       &s->tmo, 1, &res);
		if (rc != LDAP_SUCCESS) {
			if (ldap_src_is_transport_rc(rc)) {
				ldap_src_transport_err(s->ld, rc, s->uri,
						       "range retrieval", err);
				err_object(err, s->uri);
				err_set(err, DS_E_SOURCE,
					"connection lost while reading %s of "
					"%s: %s; nothing is applied from this "
					"read",
					want, dn, ldap_err2string(rc));
			} else {
				err->lib_rc = rc;
				err_set(err, DS_E_SOURCE,
					"range retrieval %s of %s failed: %s",
					want, dn, ldap_err2string(rc));
			}
			goto fail;
		}
		e = ldap_first_entry(s->ld, res);
		log_debug("%s: range retrieval %s of %s: %s", s->uri, want, dn,
			  e != NULL ? "entry" : "no entry");
		found = false;
		if (e != NULL && ldap_get_dn_ber(s->ld, e, &ber, &dnbv) ==
					 LDAP_SUCCESS) {
			while (ldap_get_attribute_ber(s->ld, e, ber, &name,
						      &vals) == LDAP_SUCCESS &&
			       name.bv_val != NULL) {
				if (!found &&
				    ldap_util_parse_range(name.bv_val,
							  name.bv_len, &baselen,
							  &lo, &hi) > 0 &&
				    baselen == p->name.bv_len &&
				    strncasecmp(name.bv_val, p->name.bv_val,
						baselen) == 0) {
					found = true;
					if (lo != next) {
						err_set(err, DS_E_SOURCE,
							"range retrieval of "
							"%s on %s out of step "
							"(asked %lu, got %lu)",
							want, dn, next, lo);
						ber_memfree(vals);
						goto fail;
					}
					held = p->nvals + p->nextra;
					for (i = 0; vals != NULL &&
						    vals[i].bv_val != NULL;
					     i++) {
						if (++held > LDAP_SRC_MAX_VALUES) {
							err_set(err,
								DS_E_SOURCE,
								"%s of %s has "
								"more than %lu "
								"values",
								want, dn,
								LDAP_SRC_MAX_VALUES);
							ber_memfree(vals);
							goto fail;
						}
						ldap_src_extra_add(p, &vals[i]);
					}
					if (hi < 0)
						done_ = true;
					else
						next = (unsigned long)hi + 1;
				}
				ber_memfree(vals);
				vals = NULL;
			}
			ber_free(ber, 0);
			ber = NULL;
		}
		ldap_msgfree(res);
		res = NULL;
		if (!found) {
			/* the server has no values from `next` on */
			done_ = true;
		}
	}
	ret = 0;
	goto done;
fail:
	err_where(err, "range retrieval");
	if (err->object[0] == '\0')
		err_object(err, s->uri);
done:
	if (ber != NULL)
		ber_free(ber, 0);
	ldap_msgfree(res);
	return ret;
}

static void
ldap_src_pend_reset(struct source *s)
{
	size_t i, j;

	for (i = 0; i < s->npend; i++) {
		ber_memfree(s->pend[i].vals);
		for (j = 0; j < s->pend[i].nextra; j++)
			free(s->pend[i].extra[j].bv_val);
		free(s->pend[i].extra);
	}
	s->npend = 0;
}

/* Copy one BER entry into s's scratch as a struct entry and deliver it. */
/*
 * An attribute with options: "member;range=0-1499" (the remaining ranges
 * fetched now, p named "member") or "userCertificate;binary" (named by
 * its base).  *bytes grows by what the fetched values need.
 */
static int
ldap_src_pend_options(struct source *s, struct ldap_src_pend *p,
		      const struct berval *dn, size_t *bytes,
		      struct err *err)
{
	const struct berval name = p->name;
	size_t baselen, i;
	unsigned long lo;
	long hi;
	int rc;

	rc = ldap_util_parse_range(name.bv_val, name.bv_len, &baselen, &lo,
				   &hi);
	if (rc < 0 || (rc > 0 && lo != 0))
		return err_set(err, DS_E_SOURCE,
			       "entry %.*s: cannot follow the range in "
			       "attribute %.*s",
			       (int)dn->bv_len, dn->bv_val, (int)name.bv_len,
			       name.bv_val);
	if (rc == 0) {
		/* "userCertificate;binary" -> base name */
		const char *semi = memchr(name.bv_val, ';', name.bv_len);

		p->name.bv_len = (size_t)(semi - name.bv_val);
		return 0;
	}
	p->name.bv_len = baselen;
	if (hi >= 0) {
		char *dnz = xstrndup(dn->bv_val, dn->bv_len);

		rc = ldap_src_fetch_ranges(s, dnz, p, (unsigned long)hi + 1,
					   err);
		free(dnz);
		if (rc < 0)
			return -1;
		for (i = 0; i < p->nextra; i++)
			*bytes += p->extra[i].bv_len + 1;
	}
	return 0;
}

/* One attribute per name: "member;range=..." folded into "member". */
static size_t
ldap_src_pend_merge(struct source *s)
{
	size_t i, j, nattrs = s->npend;

	for (i = 1; i < s->npend; i++)
		for (j = 0; j < i; j++)
			if (s->pend[j].merged_into < 0 &&
			    s->pend[j].name.bv_len == s->pend[i].name.bv_len &&
			    strncasecmp(s->pend[j].name.bv_val,
					s->pend[i].name.bv_val,
					s->pend[i].name.bv_len) == 0) {
				s->pend[i].merged_into = (int)j;
				nattrs--;
				break;
			}
	return nattrs;
}

/* The pending attributes copied into one block: the entry handed on. */
static void
ldap_src_pend_entry(struct source *s, const struct berval *dn, size_t bytes,
		    size_t nattrs, size_t nvals, bool options, struct entry *e)
{
	size_t i, j, k = 0, vi = 0;
	char *w;

	s->bytes = xgrow(s->bytes, &s->capbytes, bytes, 1);
	s->attrs = xgrow(s->attrs, &s->capattrs, nattrs ? nattrs : 1,
			 sizeof(*s->attrs));
	s->vals = xgrow(s->vals, &s->capvals, nvals ? nvals : 1,
			sizeof(*s->vals));
	w = s->bytes;
	memcpy(w, dn->bv_val, dn->bv_len);
	w[dn->bv_len] = '\0';
	e->dn = w;
	w += dn->bv_len + 1;
	for (i = 0; i < s->npend; i++) {
		struct ldap_src_pend *p = &s->pend[i];
		struct attr *a;

		if (p->merged_into >= 0)
			continue;
		a = &s->attrs[k++];
		memcpy(w, p->name.bv_val, p->name.bv_len);
		w[p->name.bv_len] = '\0';
		a->name = w;
		w += p->name.bv_len + 1;
		a->vals = &s->vals[vi];
		a->nvals = 0;
		for (j = i; j < s->npend; j++) {
			struct ldap_src_pend *q = &s->pend[j];
			size_t m;

			if (j != i && q->merged_into != (int)i)
				continue;
			for (m = 0; m < q->nvals + q->nextra; m++) {
				const struct berval *v =
					m < q->nvals ? &q->vals[m]
						     : &q->extra[m - q->nvals];
				memcpy(w, v->bv_val, v->bv_len);
				w[v->bv_len] = '\0';
				s->vals[vi].p = w;
				s->vals[vi].len = v->bv_len;
				w += v->bv_len + 1;
				vi++;
				a->nvals++;
			}
			if (!options)
				break;
		}
	}
	e->nattrs = k;
	e->attrs = s->attrs;
	e->origin = s->uri;
}

int
ldap_src_deliver(struct source *s, LDAPMessage *msg, source_entry_cb cb,
		 void *ctx, struct err *err)
{
	BerElement *ber = NULL;
	struct berval dn, name, *vals = NULL;
	struct ldap_src_pend *p;
	struct entry e;
	size_t bytes, nvals, i, nattrs;
	bool options = false;
	int rc, ret = -1;

	if (ldap_get_dn_ber(s->ld, msg, &ber, &dn) != LDAP_SUCCESS) {
		err_set(err, DS_E_SOURCE, "malformed entry from server");
		goto done;
	}
	bytes = dn.bv_len + 1;
	nvals = 0;
	while ((rc = ldap_get_attribute_ber(s->ld, msg, ber, &name, &vals)) ==
		       LDAP_SUCCESS &&
	       name.bv_val != NULL) {
		s->pend = xgrow(s->pend, &s->cappend, s->npend + 1,
				sizeof(*s->pend));
		p = &s->pend[s->npend++];
		memset(p, 0, sizeof(*p));
		p->merged_into = -1;
		p->name = name;
		p->vals = vals;
		for (i = 0; vals != NULL && vals[i].bv_val != NULL; i++)
			bytes += vals[i].bv_len + 1;
		p->nvals = i;
		vals = NULL;
		if (memchr(name.bv_val, ';', name.bv_len) != NULL) {
			options = true;
			if (ldap_src_pend_options(s, p, &dn, &bytes, err) != 0)
				goto done;
		}
		if (p->nvals + p->nextra > LDAP_SRC_MAX_VALUES) {
			err_set(err, DS_E_SOURCE,
				"attribute %.*s of %.*s has more than %lu "
				"values",
				(int)p->name.bv_len, p->name.bv_val,
				(int)dn.bv_len, dn.bv_val, LDAP_SRC_MAX_VALUES);
			goto done;
		}
		bytes += p->name.bv_len + 1;
		nvals += p->nvals + p->nextra;
	}
	if (rc != LDAP_SUCCESS) {
		err_set(err, DS_E_SOURCE, "malformed entry %.*s from server",
			(int)dn.bv_len, dn.bv_val);
		goto done;
	}
	nattrs = options ? ldap_src_pend_merge(s) : s->npend;
	ldap_src_pend_entry(s, &dn, bytes, nattrs, nvals, options, &e);
	ret = cb(ctx, &e, err);
done:
	ber_memfree(vals);
	if (ber != NULL)
		ber_free(ber, 0);
	ldap_src_pend_reset(s);
	return ret;
}

/* ------------------------------------------------------------------ */
/* the paged read                                                      */

/* The attribute list sent: the caller's, plus the anchor and objectClass. */
char **
ldap_src_attr_list(const struct source *s, const char *const *attrs)
{
	const char *anchor = s->ad ? "objectGUID" : "entryUUID";
	size_t n = 0, i, k = 0;
	bool has_anchor = false, has_oc = false;
	char **out;

	if (attrs == NULL) {
		/* all user attributes, and the anchor (operational on
		 * OpenLDAP, so not in "*") */
		out = xcalloc(3, sizeof(*out));
		out[0] = xstrdup("*");
		out[1] = xstrdup(anchor);
		return out;
	}
	while (attrs[n] != NULL)
		n++;
	out = xcalloc(n + 3, sizeof(*out));
	for (i = 0; i < n; i++) {
		if (strcasecmp(attrs[i], anchor) == 0)
			has_anchor = true;
		if (strcasecmp(attrs[i], "objectClass") == 0)
			has_oc = true;
		if (s->range_step > 0 && strcasecmp(attrs[i], "member") == 0)
			out[k++] = xasprintf("%s;range=0-%lu", attrs[i],
					     s->range_step - 1);
		else
			out[k++] = xstrdup(attrs[i]);
	}
	if (!has_anchor)
		out[k++] = xstrdup(anchor);
	if (!has_oc)
		out[k++] = xstrdup("objectClass");
	return out;
}

void
ldap_src_attr_list_free(char **l)
{
	size_t i;

	for (i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

/* A failed search result (rc from the server or libldap). */
int
ldap_src_search_err(struct source *s, int rc, const char *filter,
		    unsigned long page, unsigned long got, struct err *err)
{
	char where[64], *diag;

	if (page == 0)     /* RFC 4533's search is not paged */
		snprintf(where, sizeof(where), "content sync search");
	else
		snprintf(where, sizeof(where), "search page %lu", page);
	if (rc == LDAP_TIMEOUT) {
		err_where(err, where);
		err_object(err, s->uri);
		err->lib_rc = rc;
		return err_set(err, DS_E_SOURCE,
			       "no answer within timeout (%lds) after %lu "
			       "entries; the read is incomplete and discarded, "
			       "nothing is disabled or deleted; the next run "
			       "retries",
			       (long)s->tmo.tv_sec, got);
	}
	if (ldap_src_is_transport_rc(rc)) {
		ldap_src_transport_err(s->ld, rc, s->uri, where, err);
		return err_set(err, DS_E_SOURCE,
			       "connection lost after %lu entries (%s); the "
			       "read is incomplete and discarded, nothing is "
			       "disabled or deleted; the next run retries",
			       got, ldap_err2string(rc));
	}
	err_where(err, where);
	err_object(err, s->uri);
	err->lib_rc = rc;
	diag = ldap_src_diag(s->ld);
	switch (rc) {
	case LDAP_FILTER_ERROR:
		err_set(err, DS_E_CONFIG,
			"filter does not parse: %s; check [source] filter "
			"(RFC 4515)",
			filter);
		break;
	case LDAP_SIZELIMIT_EXCEEDED:
		err_set(err, DS_E_SOURCE,
			"server size limit hit after %lu entries; the read is "
			"incomplete and discarded; raise the limit for the "
			"bind DN (slapd: limits ... size=unlimited)",
			got);
		break;
	case LDAP_TIMELIMIT_EXCEEDED:
		err_set(err, DS_E_SOURCE,
			"server time limit hit after %lu entries; the read is "
			"incomplete and discarded; raise the limit or timeout",
			got);
		break;
	case LDAP_ADMINLIMIT_EXCEEDED:
		err_set(err, DS_E_SOURCE,
			"server administrative limit hit after %lu entries "
			"(%s); lower page_size",
			got, diag ? diag : "no detail");
		break;
	case LDAP_UNAVAILABLE_CRITICAL_EXTENSION:
		err_set(err, DS_E_SOURCE,
			"server does not support paged results (RFC 2696)");
		break;
	case LDAP_NO_SUCH_OBJECT:
		err_set(err, DS_E_SOURCE,
			"base_dn %s does not exist on server; check base_dn",
			s->base);
		break;
	case LDAP_REFERRAL:
		err_set(err, DS_E_SOURCE,
			"server answered with a referral (not chased); "
			"base_dn %s is held by another server",
			s->base);
		break;
	default:
		err_set(err, DS_E_SOURCE,
			"search failed after %lu entries: %s%s%s; the read "
			"is discarded",
			got, ldap_err2string(rc), diag ? ": " : "",
			diag ? diag : "");
		break;
	}
	free(diag);
	return -1;
}

/* Ask for the next page (cookie NULL: the first). */
static int
ldap_src_send_page(struct source *s, const char *filter, char **al,
		   struct berval *cookie, unsigned long page, unsigned long got,
		   int *msgid, struct err *err)
{
	LDAPControl *pctrl = NULL, *ctrls[2] = {NULL, NULL};
	int rc;

	rc = ldap_create_page_control(s->ld, s->page_size,
				      cookie->bv_val ? cookie : NULL, 1,
				      &pctrl);
	if (rc != LDAP_SUCCESS)
		return ldap_src_search_err(s, rc, filter, page, got, err);
	ctrls[0] = pctrl;
	rc = ldap_search_ext(s->ld, s->base, LDAP_SCOPE_SUBTREE, filter, al,
			     0, ctrls, NULL, &s->tmo, LDAP_NO_LIMIT, msgid);
	ldap_control_free(pctrl);
	if (rc != LDAP_SUCCESS)
		return ldap_src_search_err(s, rc, filter, page, got, err);
	return 0;
}

/*
 * The paged read.  Each page is taken whole off the connection
 * (LDAP_MSG_ALL), the request for the next one goes out at once with its
 * cookie, and only then are the page's entries handed to the callback:
 * the server prepares page N+1 while the caller digests page N.  Memory:
 * one page of messages.
 */
static int
ldap_src_read(struct source *s, const char *filter, const char *const *attrs,
	      source_entry_cb cb, void *ctx, struct err *err)
{
	char **al = ldap_src_attr_list(s, attrs);
	struct berval cookie = {0, NULL};
	LDAPControl **sctrls = NULL, *pr;
	LDAPMessage *chain = NULL, *m, *done_msg;
	unsigned long page = 1, got = 0;
	ber_int_t estimate;
	int msgid = -1, rc, ret = -1, srv_rc;
	bool more;

	if (ldap_src_send_page(s, filter, al, &cookie, page, got, &msgid,
			       err) < 0)
		goto done;
	for (;; page++) {
		rc = ldap_result(s->ld, msgid, LDAP_MSG_ALL, &s->tmo, &chain);
		if (rc == 0) {
			ldap_src_search_err(s, LDAP_TIMEOUT, filter, page, got,
					    err);
			goto abandon;
		}
		if (rc < 0) {
			ldap_get_option(s->ld, LDAP_OPT_RESULT_CODE, &rc);
			ldap_src_search_err(s, rc ? rc : LDAP_SERVER_DOWN,
					    filter, page, got, err);
			goto done;
		}
		done_msg = NULL;
		for (m = ldap_first_message(s->ld, chain); m != NULL;
		     m = ldap_next_message(s->ld, m))
			if (ldap_msgtype(m) == LDAP_RES_SEARCH_RESULT)
				done_msg = m;
		if (done_msg == NULL) {
			ldap_src_search_err(s, LDAP_SERVER_DOWN, filter, page,
					    got, err);
			goto abandon;
		}
		rc = ldap_parse_result(s->ld, done_msg, &srv_rc, NULL, NULL,
				       NULL, &sctrls, 0);
		if (rc != LDAP_SUCCESS)
			srv_rc = rc;
		if (srv_rc != LDAP_SUCCESS) {
			/* a failed page fails the read: its entries are not
			 * delivered, the caller discards the rest */
			ldap_src_search_err(s, srv_rc, filter, page, got, err);
			goto done;
		}
		ber_memfree(cookie.bv_val);
		cookie.bv_val = NULL;
		cookie.bv_len = 0;
		pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, sctrls, NULL);
		more = pr != NULL &&
		       ldap_parse_pageresponse_control(s->ld, pr, &estimate,
						       &cookie) == LDAP_SUCCESS &&
		       cookie.bv_val != NULL && cookie.bv_len > 0;
		ldap_controls_free(sctrls);
		sctrls = NULL;
		msgid = -1;
		if (more && ldap_src_send_page(s, filter, al, &cookie, page + 1,
					       got, &msgid, err) < 0)
			goto done;
		for (m = ldap_first_message(s->ld, chain); m != NULL;
		     m = ldap_next_message(s->ld, m)) {
			/* references (not chased) and intermediate
			 * responses are skipped */
			if (ldap_msgtype(m) != LDAP_RES_SEARCH_ENTRY)
				continue;
			if (ldap_src_deliver(s, m, cb, ctx, err) < 0) {
				if (err->where[0] == '\0') {
					char w[64];

					snprintf(w, sizeof(w),
						 "search page %lu", page);
					err_where(err, w);
				}
				if (err->object[0] == '\0')
					err_object(err, s->uri);
				goto abandon;
			}
			got++;
		}
		ldap_msgfree(chain);
		chain = NULL;
		if (!more)
			break;
	}
	log_debug("%s: %lu entries in %lu pages", s->uri, got, page);
	ret = 0;
	goto done;
abandon:
	if (msgid >= 0)
		ldap_abandon_ext(s->ld, msgid, NULL, NULL);
done:
	ldap_msgfree(chain);
	ldap_controls_free(sctrls);
	ber_memfree(cookie.bv_val);
	ldap_src_attr_list_free(al);
	return ret;
}

static void
ldap_src_close(struct source *s)
{
	if (s == NULL)
		return;
	ldap_src_pend_reset(s);
	if (s->ld != NULL)
		ldap_unbind_ext_s(s->ld, NULL, NULL);
	pthread_cond_destroy(&s->watch.cv);
	pthread_mutex_destroy(&s->watch.mu);
	free(s->pend);
	free(s->attrs);
	free(s->vals);
	free(s->bytes);
	free(s->uri);
	free(s->base);
	free(s->nc);
	free(s);
}

const struct source_ops source_ldap_ops = {
	.name = "ldap", .open = ldap_src_open, .read = ldap_src_read,
	.close = ldap_src_close, .sync_read = ldap_src_sync_read,
	.has_under = ldap_src_has_under,
	.watch = ldap_src_persist,
};

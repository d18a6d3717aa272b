/*
 * web.c - the status page's HTTP server: GNU libmicrohttpd on its own
 * thread, routing, the Host and same-origin checks, response headers.
 * The contract is in web.h.
 */
#include "web/web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/lock.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "web/web_int.h"

#define WEB_MAX_CONNECTIONS 16
#define WEB_TIMEOUT_SECONDS 10

struct web {
	int fd;                       /* the listening socket */
	struct MHD_Daemon *mhd;
	void (*sync_now)(void);
	char listen[96];              /* as configured */
	char hostport[96];            /* "127.0.0.1:8080", "[::1]:8080" */
	char localport[32];           /* "localhost:8080", or "" */
	bool any_host;                /* bound to a wildcard address */
	pthread_mutex_t lock;         /* guards state_path and dump */
	char *state_path;
	char *dump;                   /* conf_dump's text */
};

/* ---- setup ------------------------------------------------------------ */

static char *
web_dump_conf(const struct conf *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&text, &len);

	if (mf == NULL)
		return xstrdup("(configuration not available: out of memory)\n");
	conf_dump(c, mf);
	if (fclose(mf) != 0) {
		free(text);
		return xstrdup("(configuration not available)\n");
	}
	return text;
}

/* Fills sa for host:port; sets the names the Host check accepts. */
static int
web_addr(struct web *w, const char *host, unsigned port,
	 struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	bool v6 = strchr(host, ':') != NULL;

	memset(sa, 0, sizeof(*sa));
	if (v6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		*salen = sizeof(*s6);
		w->any_host = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		snprintf(w->hostport, sizeof(w->hostport), "[%s]:%u", host,
			 port);
		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			snprintf(w->localport, sizeof(w->localport),
				 "localhost:%u", port);
		return 0;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -1;
	*salen = sizeof(*s4);
	w->any_host = s4->sin_addr.s_addr == htonl(INADDR_ANY);
	snprintf(w->hostport, sizeof(w->hostport), "%s:%u", host, port);
	if ((ntohl(s4->sin_addr.s_addr) >> 24) == 127)
		snprintf(w->localport, sizeof(w->localport), "localhost:%u",
			 port);
	return 0;
}

int
web_open(struct web **out, const struct conf *c, struct err *err)
{
	struct sockaddr_storage sa;
	socklen_t salen = 0;
	struct web *w;
	char host[64];
	unsigned port;
	const char *why;
	int one = 1;

	*out = NULL;
	if (c->web.listen == NULL || *c->web.listen == '\0')
		return 0;
	w = xcalloc(1, sizeof(*w));
	w->fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	snprintf(w->listen, sizeof(w->listen), "%s", c->web.listen);
	if (conf_parse_listen(c->web.listen, host, sizeof(host), &port,
			      &why) != 0 ||
	    web_addr(w, host, port, &sa, &salen) != 0) {
		err_set(err, DS_E_CONFIG, "[web] listen '%s': not an address",
			c->web.listen);
		goto fail;
	}
	w->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (w->fd == -1 ||
	    setsockopt(w->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(w->fd, (struct sockaddr *)&sa, salen) == -1 ||
	    listen(w->fd, WEB_MAX_CONNECTIONS) == -1) {
		err->lib_rc = errno;
		err_set(err, DS_E_CONFIG, "[web] listen %s: %s", w->hostport,
			strerror(errno));
		goto fail;
	}
	web_set_conf(w, c);
	*out = w;
	return 0;
fail:
	web_close(w);
	return -1;
}

void
web_set_conf(struct web *w, const struct conf *c)
{
	char *dump, *path;

	if (w == NULL)
		return;
	if (strcmp(c->web.listen ? c->web.listen : "", w->listen) != 0)
		log_warn("[web] listen changed to '%s': a restart takes it; "
			 "the status page stays on %s",
			 c->web.listen ? c->web.listen : "", w->hostport);
	if (strcmp(c->web.listen ? c->web.listen : "", w->listen) != 0) {
		/* /config shows what is served: the file's value waits */
		struct conf served = *c;
		char *rest;

		served.web.listen = w->listen;
		rest = web_dump_conf(&served);
		dump = xasprintf("# [web] listen = %s in the file: a restart "
				 "takes it; served on %s until then\n%s",
				 c->web.listen ? c->web.listen : "",
				 w->hostport, rest);
		free(rest);
	} else {
		dump = web_dump_conf(c);
	}
	path = xstrdup(c->state.path);
	pthread_mutex_lock(&w->lock);
	free(w->dump);
	free(w->state_path);
	w->dump = dump;
	w->state_path = path;
	pthread_mutex_unlock(&w->lock);
}

/* ---- requests --------------------------------------------------------- */

/* DNS rebinding: a name that resolves to us must not reach the page. */
static bool
web_host_ok(const struct web *w, const char *host)
{
	if (w->any_host)
		return true;
	return host != NULL && (strcmp(host, w->hostport) == 0 ||
				(w->localport[0] != '\0' &&
				 strcmp(host, w->localport) == 0));
}

/*
 * A POST must come from a page of this server: Origin (sent by browsers
 * with every POST) equal to http:// plus the request's Host, which
 * web_host_ok() accepted; without Origin, a Referer under that origin.
 * Neither: refused, so a script without them must say where it is from.
 */
static bool
web_same_origin(struct MHD_Connection *con, const char *host)
{
	const char *origin = MHD_lookup_connection_value(
		con, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
	const char *ref = MHD_lookup_connection_value(
		con, MHD_HEADER_KIND, MHD_HTTP_HEADER_REFERER);
	size_t hl = strlen(host);

	if (origin != NULL)
		return strncmp(origin, "http://", 7) == 0 &&
		       strcmp(origin + 7, host) == 0;
	return ref != NULL && strncmp(ref, "http://", 7) == 0 &&
	       strncmp(ref + 7, host, hl) == 0 && ref[7 + hl] == '/';
}

static enum MHD_Result
web_send(struct MHD_Connection *con, unsigned code, const char *type,
	 char *body, size_t len, const char *location)
{
	struct MHD_Response *res;
	enum MHD_Result ret;

	res = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (res == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(res, "Referrer-Policy", "same-origin");
	MHD_add_response_header(res, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; "
				"form-action 'self'; frame-ancestors 'none'");
	if (location != NULL)
		MHD_add_response_header(res, MHD_HTTP_HEADER_LOCATION, location);
	ret = MHD_queue_response(con, code, res);
	MHD_destroy_response(res);
	return ret;
}

static enum MHD_Result
web_text(struct MHD_Connection *con, unsigned code, const char *msg)
{
	char *body = xstrdup(msg);

	return web_send(con, code, "text/plain; charset=utf-8", body,
			strlen(body), NULL);
}

/* Parses "/run/N" (N from 1 to 2^31-1); 0 if it is not one. */
static long long
web_run_id(const char *url)
{
	char *end;
	long long id;

	if (strncmp(url, "/run/", 5) != 0 || url[5] < '1' || url[5] > '9')
		return 0;
	errno = 0;
	id = strtoll(url + 5, &end, 10);
	if (errno != 0 || *end != '\0' || id > 0x7fffffffLL)
		return 0;
	return id;
}

/*
 * MHD_OPTION_UNESCAPE_CALLBACK: percent-decodes as libmicrohttpd does
 * (MHD_http_unescape), but leaves a value holding "%00" as it came: a NUL
 * decoded would cut "/run/1%00x" to "/run/1", served as run 1.  Left
 * encoded, no page has that name (404).
 */
static size_t
web_unescape(void *cls, struct MHD_Connection *con, char *s)
{
	const char *p;

	(void)cls;
	(void)con;
	for (p = s; (p = strchr(p, '%')) != NULL; p++)
		if (p[1] == '0' && p[2] == '0')
			return strlen(s);
	return MHD_http_unescape(s);
}

static enum MHD_Result
web_get(struct web *w, struct MHD_Connection *con, const char *url)
{
	const char *type = "text/html; charset=utf-8";
	const char *notice = NULL;
	char *body = NULL, *path = NULL, *dump = NULL;
	size_t len = 0;
	long long id = web_run_id(url);
	FILE *fp;
	int code;

	pthread_mutex_lock(&w->lock);
	path = xstrdup(w->state_path);
	dump = xstrdup(w->dump);
	pthread_mutex_unlock(&w->lock);
	fp = open_memstream(&body, &len);
	if (fp == NULL) {
		free(path);
		free(dump);
		return MHD_NO;
	}
	if (strcmp(url, "/") == 0) {
		const char *q = MHD_lookup_connection_value(
			con, MHD_GET_ARGUMENT_KIND, "sync");

		if (q != NULL && strcmp(q, "requested") == 0)
			notice = "Sync requested: the daemon starts a run now "
				 "(or right after the one under way); reload "
				 "this page to see it when it ends.";
		code = web_page_index(fp, path, notice);
	} else if (id > 0) {
		code = web_page_run(fp, path, id);
	} else if (strcmp(url, "/config") == 0) {
		code = web_page_config(fp, dump);
	} else if (strcmp(url, "/metrics") == 0) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		code = web_metrics(fp, path);
	} else {
		fputs("not found\n", fp);
		type = "text/plain; charset=utf-8";
		code = 404;
	}
	free(path);
	free(dump);
	if (fclose(fp) != 0) {
		free(body);
		return MHD_NO;
	}
	return web_send(con, (unsigned)code, type, body, len, NULL);
}

static enum MHD_Result
web_post_sync(struct web *w, struct MHD_Connection *con, const char *host)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char peer[INET6_ADDRSTRLEN] = "?", *path;
	bool is_daemon = false, paused_flag = false, paused;

	if (!web_same_origin(con, host)) {
		const char *origin = MHD_lookup_connection_value(
			con, MHD_HEADER_KIND, "Origin");

		/* what was sent, cut and quoted: it is the client's text */
		log_warn("web: refused a POST /sync without an Origin of "
			 "http://%s (%s%.80s%s)", host,
			 origin != NULL ? "Origin: \"" : "no Origin",
			 origin != NULL ? origin : "",
			 origin != NULL ? "\"" : "");
		return web_text(con, MHD_HTTP_FORBIDDEN,
				"refused: not from this page (Origin)\n");
	}
	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)sa)->sin_addr,
				  peer, sizeof(peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)sa)->sin6_addr,
				  peer, sizeof(peer));
	}
	/* a daemon that stopped binding (invalid credentials) runs nothing
	 * on SIGUSR1: say so here rather than "requested" */
	pthread_mutex_lock(&w->lock);
	path = xstrdup(w->state_path);
	pthread_mutex_unlock(&w->lock);
	paused = lock_holder_info(path, &is_daemon, &paused_flag) > 0 &&
		 is_daemon && paused_flag;
	free(path);
	if (paused) {
		log_warn("web: sync requested from the status page (%s) but "
			 "not run: the daemon is not binding (invalid "
			 "credentials) until it is reloaded",
			 peer);
		return web_text(con, MHD_HTTP_CONFLICT,
				"not run: the daemon stopped binding after "
				"invalid credentials; fix the password, then "
				"reload it (SIGHUP, systemctl reload)\n");
	}
	log_info("sync requested from the status page (%s)", peer);
	if (w->sync_now != NULL)
		w->sync_now();
	return web_send(con, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8",
			xstrdup("sync requested\n"), 15, "/?sync=requested");
}

static enum MHD_Result
web_handle(void *cls, struct MHD_Connection *con, const char *url,
	   const char *method, const char *version, const char *upload,
	   size_t *upload_size, void **con_cls)
{
	static int first;
	struct web *w = cls;
	const char *host = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_HOST);

	(void)version;
	(void)upload;
	if (*con_cls == NULL) { /* headers only: come back for the body */
		*con_cls = &first;
		return MHD_YES;
	}
	if (*upload_size != 0) { /* the form has no fields: ignore a body */
		*upload_size = 0;
		return MHD_YES;
	}
	if (!web_host_ok(w, host))
		return web_text(con, MHD_HTTP_MISDIRECTED_REQUEST,
				"refused: unknown Host\n");
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return web_get(w, con, url);
	if (strcmp(method, "POST") == 0 && strcmp(url, "/sync") == 0)
		return web_post_sync(w, con, host);
	return web_text(con, MHD_HTTP_METHOD_NOT_ALLOWED,
			"method not allowed\n");
}

static void
web_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("web: libmicrohttpd: %s", buf);
}

/* ---- start, stop ------------------------------------------------------ */

int
web_start(struct web *w, void (*sync_now)(void), struct err *err)
{
	if (w == NULL)
		return 0;
	w->sync_now = sync_now;
	w->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, web_handle, w, MHD_OPTION_LISTEN_SOCKET, w->fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_TIMEOUT_SECONDS,
		MHD_OPTION_EXTERNAL_LOGGER, web_log, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, web_unescape, NULL,
		MHD_OPTION_END);
	if (w->mhd == NULL)
		return err_set(err, DS_E_IO, "[web] listen %s: libmicrohttpd "
			       "did not start", w->hostport);
	log_info("status page on http://%s/ (/metrics for Prometheus)",
		 w->hostport);
	if (w->localport[0] == '\0')
		log_warn("[web] listen %s is not a loopback address: the "
			 "status page has no login and no TLS; restrict who "
			 "can reach it",
			 w->hostport);
	return 0;
}

void
web_close(struct web *w)
{
	if (w == NULL)
		return;
	if (w->mhd != NULL)
		MHD_stop_daemon(w->mhd); /* closes the listening socket too */
	else if (w->fd != -1)
		close(w->fd);
	pthread_mutex_destroy(&w->lock);
	free(w->state_path);
	free(w->dump);
	free(w);
}

/*
 * scim_http.c - libcurl multi under the SCIM target: bounded concurrency,
 * retries with exponential back-off and full jitter, Retry-After.
 *
 * libcurl does the HTTP, TLS and connection reuse (the multi handle keeps
 * the connections between batches); this file only decides when a try is
 * started again.  Back-off: a random delay in [0, backoff * 2^(try-1)],
 * capped at backoff_cap ("full jitter"), or the server's Retry-After
 * (CURLINFO_RETRY_AFTER parses both its forms) when that is longer.
 */
#include "target/scim_http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

struct scim_http {
	CURLM *multi;
	char *base;
	char *auth;             /* "Authorization: Bearer ..." (secret) */
	char *ca_file;
	struct scim_http_opts o;
	struct scim_http_stats st;
	unsigned rnd;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
scim_http_open(struct scim_http **out, const struct scim_http_opts *o,
	       struct err *err)
{
	struct scim_http *h;
	size_t n;

	*out = NULL;
	pthread_once(&global_once, global_init);
	h = xcalloc(1, sizeof(*h));
	h->o = *o;
	h->o.base = NULL;
	h->o.token = NULL;
	h->o.ca_file = NULL;
	if (h->o.inflight < 1)
		h->o.inflight = 1;
	if (h->o.attempts < 1)
		h->o.attempts = 1;
	h->base = xstrdup(o->base);
	n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	n = strlen(o->token) + 32;
	h->auth = xmalloc(n);
	snprintf(h->auth, n, "Authorization: Bearer %s", o->token);
	h->ca_file = o->ca_file != NULL && *o->ca_file ? xstrdup(o->ca_file)
							: NULL;
	h->rnd = (unsigned)(clock_seconds() * 1e6) ^ (unsigned)(size_t)h;
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		scim_http_close(h);
		return err_set(err, DS_E_INTERNAL, "curl_multi_init failed");
	}
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)h->o.inflight);
	*out = h;
	return 0;
}

struct scim_req *
scim_req_new(const char *method, const char *path, const char *body)
{
	struct scim_req *r = xcalloc(1, sizeof(*r));

	r->method = method;
	r->path = xstrdup(path);
	r->body = body != NULL ? xstrdup(body) : NULL;
	return r;
}

/* Frees a curl header list after wiping it (it holds the token). */
static void
slist_wipe(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static void
req_end_try(struct scim_http *h, struct scim_req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(h->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	slist_wipe(r->hdrs);
	r->hdrs = NULL;
}

void
scim_req_free(struct scim_req *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	slist_wipe(r->hdrs);
	free(r->path);
	/* a body may hold a password (set_password_plain), an answer may
	 * quote it */
	if (r->body != NULL)
		explicit_bzero(r->body, strlen(r->body));
	free(r->body);
	if (r->resp.p != NULL)
		explicit_bzero(r->resp.p, r->resp.cap);
	buf_free(&r->resp);
	free(r);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

/* ETag response header, kept for If-Match (RFC 7644 section 3.14). */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct scim_req *r = arg;
	size_t len = size * n;

	if (len > 5 && strncasecmp(p, "ETag:", 5) == 0) {
		const char *v = p + 5;
		size_t vl = len - 5;

		while (vl > 0 && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
				  v[vl - 1] == ' '))
			vl--;
		if (vl < sizeof(r->etag))
			snprintf(r->etag, sizeof(r->etag), "%.*s", (int)vl, v);
	}
	return len;
}

static struct curl_slist *
hdr_add(struct curl_slist *l, const char *s)
{
	struct curl_slist *n = curl_slist_append(l, s);

	if (n == NULL) {
		fprintf(stderr, "dirsync: out of memory\n");
		exit(1);
	}
	return n;
}

static void
req_start(struct scim_http *h, struct scim_req *r)
{
	CURL *e = curl_easy_init();
	struct buf url = BUF_INIT;

	if (e == NULL) {
		fprintf(stderr, "dirsync: curl_easy_init failed\n");
		exit(1);
	}
	buf_reset(&r->resp);
	r->etag[0] = '\0';
	r->status = 0;
	r->hdrs = hdr_add(NULL, h->auth);
	r->hdrs = hdr_add(r->hdrs, "Accept: application/scim+json");
	if (r->body != NULL)
		r->hdrs = hdr_add(r->hdrs,
				  "Content-Type: application/scim+json");
	if (r->if_match[0] != '\0') {
		char line[160];

		snprintf(line, sizeof(line), "If-Match: %s", r->if_match);
		r->hdrs = hdr_add(r->hdrs, line);
	}
	buf_printf(&url, "%s%s", h->base, r->path);
	curl_easy_setopt(e, CURLOPT_URL, buf_str(&url));
	buf_free(&url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	if (strcmp(r->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (r->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(r->body));
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->resp);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, h->o.timeout);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "dirsync");
	r->easy = e;
	r->tries++;
	h->st.requests++;
	if (strcmp(r->method, "GET") != 0)
		h->st.writes++;
	curl_multi_add_handle(h->multi, e);
}

static bool
status_retryable(long s)
{
	return s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static bool
curl_retryable(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool
curl_tls(CURLcode c)
{
	return c == CURLE_PEER_FAILED_VERIFICATION ||
	       c == CURLE_SSL_CONNECT_ERROR || c == CURLE_SSL_CACERT_BADFILE ||
	       c == CURLE_SSL_CERTPROBLEM;
}

/* Full jitter, capped; a longer Retry-After wins (up to the cap too). */
static double
backoff(struct scim_http *h, int tries, long retry_after)
{
	double d = h->o.backoff;
	int i;

	for (i = 1; i < tries && d < h->o.backoff_cap; i++)
		d *= 2;
	if (d > h->o.backoff_cap)
		d = h->o.backoff_cap;
	d = d * (double)(rand_r(&h->rnd) % 1000) / 1000.0;
	if (retry_after > 0 && (double)retry_after > d)
		d = (double)retry_after < h->o.backoff_cap ? (double)retry_after
							   : h->o.backoff_cap;
	return d;
}

/*
 * One finished try.  Returns 1: final (status set); 0: retry scheduled;
 * -1: the batch fails (err set).
 */
static int
judge_try(struct scim_http *h, struct scim_req *r, CURLcode c,
	  struct err *err)
{
	curl_off_t ra = 0;
	long status = 0;
	bool retry;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra);
	if (c != CURLE_OK && curl_tls(c)) {
		err_set(err, DS_E_TLS, "%s %s%s: %s", r->method, h->base,
			r->path, curl_easy_strerror(c));
		return -1;
	}
	if (c == CURLE_OK && (status == 401 || status == 403)) {
		err->lib_rc = status;
		err_set(err, DS_E_AUTH, "%s %s%s: HTTP %ld (the bearer token "
			"from token_file is refused)", r->method, h->base,
			r->path, status);
		return -1;
	}
	retry = c != CURLE_OK ? curl_retryable(c) : status_retryable(status);
	if (retry && c != CURLE_OK && r->once && c != CURLE_COULDNT_CONNECT &&
	    c != CURLE_COULDNT_RESOLVE_HOST && r->tries < h->o.attempts) {
		r->status = SCIM_LOST;   /* it may have landed: caller looks */
		return 1;
	}
	if (!retry && c != CURLE_OK) {
		err_set(err, DS_E_CONNECT, "%s %s%s: %s", r->method, h->base,
			r->path, curl_easy_strerror(c));
		return -1;
	}
	if (!retry) {
		r->status = status;
		return 1;
	}
	if (r->tries >= h->o.attempts) {
		err->lib_rc = status;
		err_set(err, DS_E_CONNECT, "%s %s%s: %s after %d tries; the "
			"server keeps failing", r->method, h->base, r->path,
			c != CURLE_OK ? curl_easy_strerror(c)
				      : status == 429 ? "HTTP 429 (throttled)"
						      : "HTTP 5xx",
			r->tries);
		if (c == CURLE_OK)
			snprintf(err->msg + strlen(err->msg),
				 sizeof(err->msg) - strlen(err->msg),
				 " (last status %ld)", status);
		return -1;
	}
	h->st.retries++;
	r->not_before = clock_seconds() + backoff(h, r->tries, (long)ra);
	log_debug("scim: %s %s: %s, try %d again in %.1fs", r->method,
		  r->path, c != CURLE_OK ? curl_easy_strerror(c) : "retryable",
		  r->tries + 1, r->not_before - clock_seconds());
	(void)status;
	return 0;
}

/* Starts waiting requests whose time has come; returns the next wait (ms). */
static long
start_ready(struct scim_http *h, struct scim_req **v, size_t n,
	    size_t *running)
{
	double now = clock_seconds(), next = now + 1.0;
	size_t i;

	for (i = 0; i < n; i++) {
		struct scim_req *r = v[i];

		if (r->easy != NULL || r->status != 0)
			continue;
		if (r->not_before > now) {
			if (r->not_before < next)
				next = r->not_before;
			continue;
		}
		if (*running >= (size_t)h->o.inflight)
			break;
		req_start(h, r);
		(*running)++;
	}
	return (long)((next - now) * 1000) + 1;
}

static void
abort_all(struct scim_http *h, struct scim_req **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		req_end_try(h, v[i]);
}

int
scim_http_run(struct scim_http *h, struct scim_req **v, size_t n,
	      struct err *err)
{
	size_t done = 0, running = 0, i;

	for (i = 0; i < n; i++) {
		v[i]->status = 0;
		v[i]->tries = 0;
		v[i]->not_before = 0;
	}
	while (done < n) {
		long wait = start_ready(h, v, n, &running);
		struct CURLMsg *m;
		int still, left;
		bool ended = false;   /* a try ended: start the next at once */

		if (curl_multi_perform(h->multi, &still) != CURLM_OK)
			break;
		while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
			struct scim_req *r = NULL;
			int rc;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
					  (char **)&r);
			rc = judge_try(h, r, m->data.result, err);
			req_end_try(h, r);
			running--;
			ended = true;
			if (rc < 0) {
				abort_all(h, v, n);
				return -1;
			}
			if (rc > 0) {
				log_debug("scim: %s %s -> %ld", r->method,
					  r->path, r->status);
				done++;
				if (r->on_final != NULL)
					r->on_final(r);
			}
		}
		if (done < n && !ended &&
		    curl_multi_poll(h->multi, NULL, 0,
				    (int)(wait > 1000 ? 1000 : wait),
				    NULL) != CURLM_OK)
			break;
	}
	if (done < n) {
		abort_all(h, v, n);
		return err_set(err, DS_E_INTERNAL, "curl multi failed");
	}
	return 0;
}

int
scim_http_one(struct scim_http *h, struct scim_req *r, struct err *err)
{
	return scim_http_run(h, &r, 1, err);
}

const struct scim_http_stats *
scim_http_stats(const struct scim_http *h)
{
	return &h->st;
}

void
scim_http_close(struct scim_http *h)
{
	if (h == NULL)
		return;
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	if (h->auth != NULL) {
		explicit_bzero(h->auth, strlen(h->auth));
		free(h->auth);
	}
	free(h->base);
	free(h->ca_file);
	free(h);
}

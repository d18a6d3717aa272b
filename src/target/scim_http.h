/*
 * scim_http.h - the SCIM target's HTTP layer: libcurl multi with a bounded
 * number of requests in flight, retries with exponential back-off and
 * jitter, Retry-After honoured (RFC 7644 section 3.12 leaves throttling to
 * HTTP: 429 and 503 with Retry-After, RFC 9110 section 10.2.3).
 *
 * A batch of requests runs together (scim_http_run); every request ends
 * with a final HTTP status, which the caller judges (a 400 or 409 is that
 * object's failure).  What is retried, up to `attempts` tries each:
 * connection errors (refused, reset, dropped, timed out), 429, 500, 502,
 * 503, 504.  A request that keeps failing fails the whole batch: the
 * server is not usable, the run stops.  TLS and certificate errors are
 * never retried.
 *
 * The bearer token is copied into the Authorization header of each
 * request and wiped when the request ends and at close; it never appears
 * in an error message or log line (curl's verbose mode is never on).
 */
#ifndef DS_SCIM_HTTP_H
#define DS_SCIM_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

struct scim_http;
struct curl_slist;

struct scim_http_opts {
	const char *base;       /* "https://host/scim/v2", no trailing '/' */
	const char *token;      /* bearer token, borrowed during open */
	const char *ca_file;    /* NULL: the system's CA store */
	int inflight;           /* requests at once, >= 1 */
	int attempts;           /* tries per request, >= 1 */
	double backoff;         /* first back-off, seconds; doubles per try */
	double backoff_cap;     /* longest back-off and Retry-After honoured */
	long timeout;           /* seconds per try */
};

/* status of a `once` request whose answer was lost */
#define SCIM_LOST 1

struct scim_req {
	/* in */
	const char *method;     /* GET POST PUT PATCH DELETE (static) */
	char *path;             /* owned: after base, "/Users?startIndex=1" */
	char *body;             /* owned JSON, or NULL */
	char if_match[128];     /* ETag to send in If-Match, "" for none */
	/*
	 * Not idempotent (POST): a connection lost after the request went
	 * out is not retried here; it ends with status SCIM_LOST, and the
	 * caller looks the object up before sending it again.
	 */
	bool once;
	void *user;             /* the caller's */
	/*
	 * NULL, or called once when the request has its final status,
	 * while the rest of the batch is still running: judge the answer
	 * there, but start no request (the layer is not reentrant).
	 */
	void (*on_final)(struct scim_req *r);
	/* out */
	long status;            /* final HTTP status */
	struct buf resp;        /* response body */
	char etag[128];         /* ETag response header, "" when none */
	int tries;
	/* the layer's own */
	double not_before;      /* monotonic seconds: a retry's start time */
	void *easy;
	struct curl_slist *hdrs;
};

/* Request and retry counters since open (for `dirsync test`, the bench). */
struct scim_http_stats {
	unsigned long requests;  /* tries sent, retries included */
	unsigned long writes;    /* of which POST/PUT/PATCH/DELETE */
	unsigned long retries;
};

/* The base URL is checked by the config; errors: DS_E_INTERNAL (curl). */
int scim_http_open(struct scim_http **out, const struct scim_http_opts *o,
		   struct err *err);
/* A request with a copy of path and body (either may be NULL body). */
struct scim_req *scim_req_new(const char *method, const char *path,
			      const char *body);
/*
 * Runs v[0..n) to their final status.  0: each has a status (judge it);
 * -1: one kept failing (DS_E_CONNECT, or DS_E_TLS, DS_E_AUTH for 401/403
 * which end a batch at once), err->object empty: the run stops.
 */
int scim_http_run(struct scim_http *h, struct scim_req **v, size_t n,
		  struct err *err);
/* One request; same contract. */
int scim_http_one(struct scim_http *h, struct scim_req *r, struct err *err);
const struct scim_http_stats *scim_http_stats(const struct scim_http *h);
/* Wipes the body and the answer (a password may be in them), frees. */
void scim_req_free(struct scim_req *r);
void scim_http_close(struct scim_http *h);

#endif

/*
 * scim_int.h - what the SCIM target's files share (scim.c: requests, the
 * index and apply(); scim_load.c: open, /ServiceProviderConfig, load(),
 * close).  Not for other modules: they see target_scim_ops and scim.h.
 */
#ifndef DS_SCIM_INT_H
#define DS_SCIM_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "model/mail.h"
#include "target/scim_http.h"
#include "target/scim_json.h"
#include "util/err.h"
#include "util/strmap.h"

struct target {
	const struct conf *conf;
	struct scim_http *http;
	bool readonly;
	/* from /ServiceProviderConfig (defaults when it has none) */
	bool have_spc, patch, etag, filter, sort, bulk;
	bool cursor;              /* RFC 9865 cursor pagination offered */
	long max_results;
	/* the server's resources, by lower-case userName / displayName */
	struct strmap users, groups;
	struct strmap emails;     /* further email -> owner User */
	struct strmap ids;        /* User id -> User (Group members) */
	struct strmap failed;     /* Users this run could not create
				   * (keys owned): their aliases fail, not
				   * skip */
	struct scim_res **all;    /* owns them all */
	size_t nall, capall;
	size_t nusers, ngroups;   /* as load() found them */
};

/* token_file: a regular file, mode 600 or stricter, one line. */
int scim_read_token(const char *file, char **out, struct err *err);
/*
 * One request (body stolen, may be NULL); a JSON answer into *out when
 * out != NULL (NULL when none); an error answer's message into detail.
 * If-Match is sent when the server offers ETags and if_match != NULL.
 * Returns the final HTTP status (SCIM_LOST for a lost `once` request),
 * or -1 when the server keeps failing (err set: the run stops).
 */
long scim_call(struct target *t, const char *method, const char *path,
	       json_t *body, bool once, const char *if_match, json_t **out,
	       char *detail, size_t dlen, struct err *err);
/*
 * r (indexed, or NULL for a new one) takes the server's version of the
 * resource in j, which is released.  NULL when j is not a resource.
 */
struct scim_res *scim_res_take(struct target *t, struct scim_res *r,
			       json_t *j, bool group);
void scim_index_free(struct target *t);

/* scim_load.c: the target_ops entries besides apply */
int scim_open(struct target **out, const struct conf *conf, bool readonly,
	      struct err *err);
int scim_load(struct target *t, struct mset *current, struct err *err);
void scim_close(struct target *t);

#endif

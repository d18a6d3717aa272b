/*
 * ldap_int.h - the LDAP source's insides, shared by ldap.c (connect, the
 * paged read) and ldap_sync.c (RFC 4533 content synchronization).  Not
 * for use outside src/source/.
 */
#ifndef DS_LDAP_INT_H
#define DS_LDAP_INT_H

#include <ldap.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/time.h>

#include "source/source.h"

/* One attribute of the entry being assembled. */
struct ldap_src_pend {
	struct berval name;       /* without options; points into the BER */
	struct berval *vals;      /* from libldap, ber_memfree() */
	size_t nvals;
	struct berval *extra;     /* range follow-ups: malloc'd copies */
	size_t nextra, capextra;
	int merged_into;          /* index of the first attr of that name, or -1 */
};

/*
 * A watchdog for connecting.  libldap (as Debian builds it) runs the TLS
 * handshake on a non-blocking socket without a deadline: a server that
 * accepts TCP and then says nothing makes it spin forever at full CPU.
 * The connection callback learns the socket; if connect + TLS + bind has
 * not finished within twice `timeout`, the watchdog thread shuts the
 * socket down, the handshake fails, and the next server is tried.
 */
struct ldap_src_watch {
	struct ldap_conncb cb;    /* registered with libldap; lc_arg = this */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int fd;                   /* -1: no socket yet / closed */
	bool done, fired, running;
	long secs;
};

struct source {
	LDAP *ld;
	struct ldap_src_watch watch;
	const struct conf *conf;  /* borrowed: must outlive the source */
	char *uri;                /* server in use */
	char *base;               /* base DN searched */
	char *nc;                 /* the naming context's head, or NULL */
	bool ad;
	int page_size;
	struct timeval tmo;
	unsigned long range_step; /* 0 = ask for whole attributes */

	/* scratch for assembling one entry, reused across entries */
	struct ldap_src_pend *pend;
	size_t npend, cappend;
	struct attr *attrs;
	size_t capattrs;
	struct val *vals;
	size_t capvals;
	char *bytes;
	size_t capbytes;
};

/*
 * From ldap.c.  ldap_src_deliver(): one search entry assembled (ranges
 * completed) and handed to cb.  ldap_src_attr_list(): the attribute list
 * sent (the caller's, the anchor, objectClass); free it with
 * ldap_src_attr_list_free().  ldap_src_search_err(): err filled for a
 * failed search (rc from the server or libldap), where "search page N"
 * (page 0: "content sync search", which is not paged); returns -1.
 * ldap_src_diag(): the server's diagnostic text, malloc'd or NULL.
 */
int ldap_src_deliver(struct source *s, LDAPMessage *msg, source_entry_cb cb,
		     void *ctx, struct err *err);
char **ldap_src_attr_list(const struct source *s, const char *const *attrs);
void ldap_src_attr_list_free(char **l);
int ldap_src_search_err(struct source *s, int rc, const char *filter,
			unsigned long page, unsigned long got,
			struct err *err);
char *ldap_src_diag(LDAP *ld);

/* ldap_dirsync.c: sync_read for Active Directory (DirSync control). */
int ldap_src_dirsync_read(struct source *s, const char *filter,
			  const char *const *attrs, struct source_sync *sy,
			  const struct source_sync_cb *cb, void *ctx,
			  struct err *err);

/* ldap_sync.c: source_ops.sync_read for OpenLDAP (RFC 4533). */
int ldap_src_sync_read(struct source *s, const char *filter,
		       const char *const *attrs, struct source_sync *sy,
		       const struct source_sync_cb *cb, void *ctx,
		       struct err *err);

/*
 * ldap_persist.c: source_ops.watch (RFC 4533 refreshAndPersist; on
 * Active Directory the change notification control).
 */
int ldap_src_persist(struct source *s, const char *filter,
		     struct source_watch *w, struct err *err);

#endif

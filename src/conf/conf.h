/*
 * conf.h - the effective configuration, from /etc/dirsync/dirsync.conf.
 *
 * One option table in conf.c drives parsing, validation, `dirsync check`'s
 * dump and the masking of secrets.  Unknown sections and keys are errors
 * reported as file:line.  Durations are stored in seconds, "no limit" as -1.
 */
#ifndef DS_CONF_H
#define DS_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

#define DIRSYNC_DEFAULT_CONF "/etc/dirsync/dirsync.conf"

struct strlist {
	size_t n;
	char **v;
};

enum src_type { SRC_LDAP, SRC_LDIF };
enum starttls_mode { STARTTLS_NO, STARTTLS_YES, STARTTLS_DEMAND };
enum flavor { FLAVOR_AUTO, FLAVOR_AD, FLAVOR_OPENLDAP };
enum tgt_type { TGT_SQL, TGT_SCIM };
enum pw_failure { PW_ACCEPT, PW_REJECT };
enum deprovision { DEPROV_DISABLE, DEPROV_DELETE };
enum notify_when { NOTIFY_CHANGES, NOTIFY_ERRORS, NOTIFY_ALWAYS };

/* scope.object_types bits */
#define OT_USERS 0x1
#define OT_GROUPS 0x2
#define OT_CONTACTS 0x4

/* [mapping] alias_attributes: more is a config error (the rules keep one
 * slot per attribute). */
#define CONF_MAX_ALIAS_ATTRIBUTES 16

struct conf {
	char *path;             /* file it came from */

	struct {
		enum src_type type;
		struct strlist uri;     /* tried in order */
		enum starttls_mode starttls;
		char *tls_ca_file;
		bool tls_verify;
		char *bind_dn;
		char *bind_password_file;
		char *bind_password;    /* loaded secret (file or env), or NULL */
		char *base_dn;
		char *filter;           /* NULL/"" = flavor default */
		enum flavor flavor;
		long page_size;
		long timeout;           /* seconds */
		char *path;             /* type = ldif */
	} source;

	struct {
		bool mail_enabled_only;
		bool enabled_only;
		bool visible_only;
		struct strlist member_of;   /* group DNs, one per line */
		struct strlist exclude;     /* fnmatch patterns */
		unsigned object_types;      /* OT_* bits */
	} scope;

	struct {
		char *email_attribute;
		struct strlist alias_attributes;  /* at most CONF_MAX_ALIAS_ATTRIBUTES */
		char *group_filter;
		struct strlist accepted_domains;  /* lower-case */
		struct strlist domain_rewrite;    /* "from=to", lower-case */
	} mapping;

	struct {
		enum tgt_type type;
		char *url;
		char *schema;
		char *password_scheme;
		char *token_file;
		char *ca_file;
		bool adopt;
		long statement_timeout; /* seconds (PostgreSQL) */
	} target;

	struct {
		long min_length;
		long min_classes;
		enum pw_failure on_failure;
	} passwords;

	struct conf_safety {
		long max_adds;          /* -1 = no limit */
		long max_updates;
		long max_deletes;
		long max_alias_adds;
		long max_alias_deletes;
		long max_total;
		long max_delete_percent; /* -1 = no limit */
		long max_member_removal_percent; /* per list; -1: none */
		enum deprovision deprovision;
		long delete_after;      /* seconds */
		long delete_after_runs; /* sync runs since the disable */
		bool allow_empty;
		bool hold_removals;     /* over a removal limit: apply the rest */
		/* seconds: the count limits weigh what the runs of this
		 * window applied with each run's plan (0: each run alone);
		 * unset: [schedule] interval with watch, else 0 */
		long limit_window;
	} safety;

	struct {
		long interval;          /* seconds */
		long full_every;
		bool watch;             /* the daemon follows changes as they
					 * happen (src/cli/watch.c) */
	} schedule;

	struct {
		char *listen;           /* "host:port", NULL/"" = off; see
					 * conf_parse_listen */
	} web;

	struct {
		char *smtp_url;
		char *from;
		struct strlist to;
		enum notify_when when;
	} notify;

	struct {
		char *path;
		long keep_runs;
	} state;
};

/* Fill in SPEC's defaults.  conf_free() releases whatever is set. */
void conf_defaults(struct conf *c);
/*
 * Defaults, then the file, then secrets (bind_password_file or the
 * DIRSYNC_BIND_PASSWORD environment variable), then cross-key checks.
 * Returns 0, or -1 with err (DS_E_CONFIG, file and line set).
 */
int conf_load(struct conf *c, const char *path, struct err *err);
/* What conf_load_all() found: errors and warnings, each one line. */
struct conf_note {
	bool warning;
	char *text;             /* "file:line: message" (malloc'd) */
};
struct conf_diag {
	size_t n, nerr;         /* notes; of which errors */
	struct conf_note *v;
};

/*
 * For `dirsync check`: like conf_load(), but goes on after an error and
 * notes every one in *d (file order for the file's own lines, then the
 * secrets, the cross-key checks and the files).  A bad line leaves its
 * key at the default, a bad section's keys are skipped, and c holds
 * everything that did parse.  Then it opens, as this user, the files the
 * config names (the CA file when TLS is used, secret files, the LDIF
 * export) and warns where a simple bind would send its password in clear
 * text.  Returns 0 when no error was found (warnings are not errors), else
 * -1 with err = the first error.  conf_free(c) and conf_diag_free(d) in
 * both cases.
 */
int conf_load_all(struct conf *c, const char *path, struct conf_diag *d,
		  struct err *err);
void conf_diag_free(struct conf_diag *d);
/* The effective settings as INI, secrets masked. */
void conf_dump(const struct conf *c, FILE *fp);
void conf_free(struct conf *c);

/*
 * [web] listen: "127.0.0.1:8080", "[::1]:8080", "localhost:8080" or a bare
 * "8080" (= 127.0.0.1).  Hosts are numeric IPv4/IPv6 addresses or
 * "localhost" (never resolved: 127.0.0.1); ports 1-65535.  host receives
 * the address without brackets.  Returns 0, or -1 with a reason in *why
 * (a static string).
 */
int conf_parse_listen(const char *s, char *host, size_t hostlen,
		      unsigned *port, const char **why);

/* Parse "30s", "5m", "1h", "30d" or a bare number of seconds. */
int conf_parse_duration(const char *s, long *out);
/*
 * Does the URL name a loopback host (127.0.0.0/8, [::1], localhost)?
 * For the SCIM target, which accepts http:// only there.
 */
bool conf_url_loopback(const char *url);

#endif

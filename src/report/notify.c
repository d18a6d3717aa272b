#include "report/notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "report/notify_recall.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/xalloc.h"

/* Changes listed in the body; the attachment always has all of them. */
#define NOTIFY_MAX_CHANGES 200
#define NOTIFY_MAX_ITEMS 100
/* One field value shown in a change line, in bytes. */
#define NOTIFY_MAX_VALUE 120
#define NOTIFY_MEMBERS 5      /* a list's members named a side */

static const char *const notify_ops[] = {"add", "update", "disable",
					 "delete"};
static const char *const notify_op_words[] = {"added", "updated", "disabled",
					      "deleted"};

static long long
notify_int(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static const char *
notify_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long
notify_count(const json_t *report, const char *what)
{
	return notify_int(json_object_get(report, "summary"), what);
}

static long long
notify_changes(const json_t *report)
{
	long long n = 0;
	size_t i;

	for (i = 0; i < sizeof(notify_ops) / sizeof(notify_ops[0]); i++)
		n += notify_count(report, notify_ops[i]);
	return n;
}

static size_t
notify_array_size(const json_t *report, const char *key)
{
	return json_array_size(json_object_get(report, key));
}

static bool
notify_limit_hit(const json_t *report)
{
	json_t *v = json_object_get(report, "limit_exceeded");

	return v != NULL && !json_is_null(v) && !json_is_false(v);
}

static bool
notify_is_error(const json_t *report, int exit_code)
{
	return exit_code != 0 || report == NULL ||
	       notify_array_size(report, "errors") > 0 ||
	       notify_count(report, "error") > 0 || notify_limit_hit(report);
}

bool
notify_wanted(const struct conf *c, const json_t *report, int exit_code)
{
	if (c->notify.smtp_url == NULL || c->notify.smtp_url[0] == '\0')
		return false;
	switch (c->notify.when) {
	case NOTIFY_ALWAYS:
		return true;
	case NOTIFY_ERRORS:
		return notify_is_error(report, exit_code);
	case NOTIFY_CHANGES:
		return notify_is_error(report, exit_code) ||
		       notify_changes(report) > 0;
	}
	return false;
}

/* Appends s with control characters (CR, LF, ESC ...) shown as '?'. */
static void
notify_add_clean(struct buf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == max) {
			buf_adds(b, "...");
			return;
		}
		buf_addc(b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?'
								 : s[i]);
	}
}

/* A JSON value for a human: strings bare, anything else compact JSON. */
static void
notify_add_value(struct buf *b, const json_t *v, size_t max)
{
	char *s;

	if (json_is_string(v)) {
		notify_add_clean(b, json_string_value(v), max);
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s != NULL) {
		notify_add_clean(b, s, max);
		free(s);
	}
}

static void
notify_add_counts(struct buf *b, const json_t *report, bool all)
{
	const char *sep = "";
	size_t i;
	long long n;

	for (i = 0; i < sizeof(notify_ops) / sizeof(notify_ops[0]); i++) {
		n = notify_count(report, notify_ops[i]);
		if (n == 0 && !all)
			continue;
		buf_printf(b, "%s%lld %s", sep, n, notify_op_words[i]);
		sep = ", ";
	}
}

static const char *
notify_outcome(const json_t *report, int exit_code)
{
	json_t *applied = json_object_get(report, "applied");
	const char *mode = notify_str(report, "mode");

	switch (exit_code) {
	case 0:
		if ((mode != NULL && strcmp(mode, "sync") != 0) ||
		    json_is_false(applied))
			return notify_changes(report) > 0
				       ? "changes found, nothing applied"
				       : "no changes";
		return notify_changes(report) > 0 ? "changes applied"
						  : "no changes";
	case 1:
		return "FAILED: runtime error, see the errors below";
	case 2:
		return "FAILED: usage or configuration error";
	case 3:
		if (json_is_true(applied))
			return "HELD BACK: disables and deletes over a safety "
			       "limit wait, the other changes were applied";
		return "STOPPED: a safety limit was exceeded, nothing applied";
	default:
		return "FAILED";
	}
}

static void
notify_hostname(char *host, size_t len)
{
	if (gethostname(host, len) == -1 || host[0] == '\0')
		snprintf(host, len, "localhost");
	host[len - 1] = '\0';
}

char *
notify_subject(const json_t *report, int exit_code)
{
	struct buf b = BUF_INIT;
	char host[256];
	long long run_id = notify_int(report, "run_id");
	size_t nerr;

	notify_hostname(host, sizeof(host));
	if (run_id > 0)
		buf_printf(&b, "dirsync run %lld on ", run_id);
	else
		buf_adds(&b, "dirsync on ");
	notify_add_clean(&b, host, 64);
	buf_adds(&b, ": ");
	nerr = notify_array_size(report, "errors");
	if (report == NULL) {
		buf_printf(&b, "FAILED (exit %d)", exit_code);
	} else if ((exit_code == 3 || notify_limit_hit(report)) &&
		   json_is_true(json_object_get(report, "applied"))) {
		buf_adds(&b, "safety limit exceeded, removals held back");
	} else if (exit_code == 3 || notify_limit_hit(report)) {
		buf_adds(&b, "safety limit exceeded, nothing applied");
	} else if (exit_code != 0) {
		buf_printf(&b, "FAILED, %zu error%s", nerr,
			   nerr == 1 ? "" : "s");
		if (notify_changes(report) > 0) {
			buf_adds(&b, "; ");
			notify_add_counts(&b, report, false);
		}
	} else if (notify_changes(report) == 0) {
		buf_adds(&b, "no changes");
	} else {
		notify_add_counts(&b, report, false);
	}
	if (report != NULL && exit_code == 0 && nerr > 0)
		buf_printf(&b, ", %zu error%s", nerr, nerr == 1 ? "" : "s");
	return buf_steal(&b);
}

/* An object's "account, dn" (issue 14), between pre and post. */
static void
notify_add_who(struct buf *b, const json_t *o, const char *pre,
	       const char *post)
{
	const char *acct = notify_str(o, "account");
	const char *dn = notify_str(o, "dn");

	if (acct == NULL && dn == NULL)
		return;
	buf_adds(b, pre);
	if (acct != NULL)
		notify_add_clean(b, acct, 256);
	if (acct != NULL && dn != NULL)
		buf_adds(b, ", ");
	if (dn != NULL)
		notify_add_clean(b, dn, 512);
	buf_adds(b, post);
}

/* A list update's members_added / members_removed, " members +a -b",
 * the first NOTIFY_MEMBERS of each and a count of the rest. */
static void
notify_add_members(struct buf *b, const json_t *ch)
{
	static const char *const key[2] = {"members_added", "members_removed"};
	const json_t *v;
	size_t k, i, n, shown = 0;

	for (k = 0; k < 2; k++) {
		const json_t *a = json_object_get(ch, key[k]);

		n = json_array_size(a);
		if (n > 0 && shown == 0)
			buf_adds(b, " members");
		json_array_foreach(a, i, v) {
			if (i == NOTIFY_MEMBERS) {
				buf_printf(b, " (and %zu more %s)", n - i,
					   k == 0 ? "added" : "removed");
				break;
			}
			buf_addc(b, ' ');
			buf_addc(b, k == 0 ? '+' : '-');
			notify_add_clean(b, json_is_string(v)
						    ? json_string_value(v)
						    : "?",
					 256);
			shown++;
		}
	}
}

static void
notify_add_change(struct buf *b, const json_t *ch)
{
	const char *op = notify_str(ch, "op");
	const char *kind = notify_str(ch, "kind");
	const char *addr = notify_str(ch, "address");
	json_t *fields = json_object_get(ch, "fields");
	json_t *old = json_object_get(ch, "old");
	const char *key;
	json_t *v, *was;

	buf_printf(b, "  %-8s %-8s ", op ? op : "?", kind ? kind : "?");
	notify_add_clean(b, addr ? addr : "-", 256);
	/* never a password, not even hashed */
	if (kind != NULL && strcmp(kind, "password") == 0)
		fields = NULL;
	json_object_foreach(fields, key, v) {
		if (strstr(key, "password") != NULL)
			continue;
		buf_addc(b, ' ');
		notify_add_clean(b, key, 40);
		buf_addc(b, '=');
		notify_add_value(b, v, NOTIFY_MAX_VALUE);
		if ((was = json_object_get(old, key)) != NULL) {
			buf_adds(b, " (was ");
			notify_add_value(b, was, NOTIFY_MAX_VALUE);
			buf_addc(b, ')');
		}
	}
	notify_add_members(b, ch);
	if ((key = notify_str(ch, "reason")) != NULL) {
		buf_adds(b, " reason=");
		notify_add_clean(b, key, 40);
	}
	notify_add_who(b, ch, " [", "]");
	buf_addc(b, '\n');
}

/*
 * One error: its "message" when it has one (the report's messages already
 * name where and what), else the whole object as compact JSON.
 */
static void
notify_add_error(struct buf *b, const json_t *e)
{
	const char *msg = notify_str(e, "message");

	buf_adds(b, "  ");
	if (msg != NULL)
		notify_add_clean(b, msg, 600);
	else
		notify_add_value(b, e, 600);
	buf_addc(b, '\n');
}

static void
notify_add_conflict(struct buf *b, const json_t *cf)
{
	const char *addr = notify_str(cf, "address");
	json_t *by = json_object_get(cf, "claimed_by"), *v;
	size_t i;

	buf_adds(b, "  ");
	notify_add_clean(b, addr ? addr : "?", 256);
	if (json_array_size(by) > 0) {
		buf_adds(b, " claimed by ");
		json_array_foreach(by, i, v) {
			if (i > 0)
				buf_adds(b, ", ");
			notify_add_value(b, v, 256);
			notify_add_who(b,
				       json_array_get(json_object_get(
							      cf, "claimants"),
						      i),
				       " (", ")");
		}
	}
	if ((addr = notify_str(cf, "reason")) != NULL) {
		buf_adds(b, " (");
		notify_add_clean(b, addr, 200);
		buf_addc(b, ')');
	}
	buf_addc(b, '\n');
}

static void
notify_add_warning(struct buf *b, const json_t *w)
{
	buf_adds(b, "  ");
	notify_add_value(b, w, 600);
	buf_addc(b, '\n');
}

/* The items of report[key], one line each, at most max of them. */
static void
notify_add_list(struct buf *b, const json_t *report, const char *key,
		size_t max, void (*add)(struct buf *, const json_t *))
{
	const json_t *list = json_object_get(report, key);
	size_t i, n = json_array_size(list);

	for (i = 0; i < n; i++) {
		if (i == max) {
			if (strcmp(key, "changes") == 0)
				buf_printf(b,
					   "  ... and %zu more, see the "
					   "attached report\n",
					   n - i);
			else
				buf_printf(b, "  ... and %zu more\n", n - i);
			break;
		}
		add(b, json_array_get(list, i));
	}
}

char *
notify_summary(const json_t *report, int exit_code)
{
	struct buf b = BUF_INIT;
	char *subject = notify_subject(report, exit_code);
	json_t *v, *src;
	const char *s;
	size_t n;
	bool applied;

	buf_adds(&b, subject);
	buf_adds(&b, "\n\n");
	free(subject);
	if (report == NULL) {
		buf_printf(&b,
			   "The run stopped before it produced a report "
			   "(exit code %d).\nThe system log has the reason.\n",
			   exit_code);
		return buf_steal(&b);
	}
	buf_printf(&b, "Result:    %s (exit code %d)\n",
		   notify_outcome(report, exit_code), exit_code);
	if ((s = notify_str(report, "mode")) != NULL) {
		buf_adds(&b, "Mode:      ");
		notify_add_clean(&b, s, 32);
		buf_addc(&b, '\n');
	}
	if ((s = notify_str(report, "started")) != NULL) {
		buf_adds(&b, "Started:   ");
		notify_add_clean(&b, s, 64);
		v = json_object_get(report, "seconds");
		if (json_is_number(v))
			buf_printf(&b, ", took %.1f s", json_number_value(v));
		buf_addc(&b, '\n');
	}
	src = json_object_get(report, "source");
	if (json_is_object(src))
		buf_printf(&b, "Directory: %lld entries read, %lld in scope\n",
			   notify_int(src, "read"), notify_int(src, "in_scope"));
	applied = json_is_true(json_object_get(report, "applied"));
	buf_adds(&b, applied ? "Changes:   " : "Planned:   ");
	notify_add_counts(&b, report, true);
	if (!applied)
		buf_adds(&b, " (not applied)");
	buf_printf(&b, "\nProblems:  %lld conflict(s), %zu error(s)\n",
		   notify_count(report, "conflict"),
		   notify_array_size(report, "errors"));

	v = json_object_get(report, "limit_exceeded");
	if (notify_limit_hit(report) || exit_code == 3) {
		buf_adds(&b, "\nSafety limit exceeded");
		if (notify_limit_hit(report) &&
		    (s = notify_str(v, "limit")) != NULL) {
			buf_adds(&b, ": ");
			notify_add_clean(&b, s, 64);
			buf_printf(&b, " allows %lld, the plan has %lld",
				   notify_int(v, "allowed"),
				   notify_int(v, "planned"));
		} else if (notify_limit_hit(report)) {
			buf_adds(&b, ": ");
			notify_add_value(&b, v, 400);
		}
		if (applied || json_is_true(json_object_get(v, "held")))
			/* also a held run with nothing else to apply (it
			 * applied nothing, and said so as a stop did) */
			buf_adds(&b, "\nThe disables and deletes were held "
				     "back (hold_removals); the other changes, "
				     "if any, were applied.  List the held "
				     "ones with `dirsync sync --dry-run "
				     "--force-limits`; apply them with "
				     "`dirsync approve RUN` (RUN: this run's "
				     "number).\n");
		else
			buf_adds(&b,
				 "\nNothing was applied.  Review the changes below "
				 "(or `dirsync plan`); if they are\nintended, apply "
				 "exactly this plan with `dirsync approve RUN` (RUN:\n"
				 "this run's number), or once with `dirsync sync "
				 "--force-limits`, or raise the\nlimit in [safety].\n");
	}

	n = json_array_size(json_object_get(report, "changes"));
	if (n > 0)
		buf_printf(&b, "\n%s (%zu):\n",
			   applied ? "Changes" : "Planned changes, not applied",
			   n);
	notify_add_list(&b, report, "changes", NOTIFY_MAX_CHANGES,
			notify_add_change);
	n = json_array_size(json_object_get(report, "conflicts"));
	if (n > 0)
		buf_printf(&b,
			   "\nConflicts (%zu): an address claimed by more "
			   "than one object goes to none of them.\n",
			   n);
	notify_add_list(&b, report, "conflicts", NOTIFY_MAX_ITEMS,
			notify_add_conflict);
	n = json_array_size(json_object_get(report, "errors"));
	if (n > 0)
		buf_printf(&b, "\nErrors (%zu):\n", n);
	notify_add_list(&b, report, "errors", NOTIFY_MAX_ITEMS,
			notify_add_error);
	n = json_array_size(json_object_get(report, "warnings"));
	if (n > 0)
		buf_printf(&b, "\nWarnings (%zu):\n", n);
	notify_add_list(&b, report, "warnings", NOTIFY_MAX_ITEMS,
			notify_add_warning);
	if (json_object_get(report, "run_id") != NULL &&
	    notify_int(report, "run_id") > 0)
		buf_printf(&b,
			   "\nDetails: `dirsync show %lld`, or the attached "
			   "JSON report.\n",
			   notify_int(report, "run_id"));
	return buf_steal(&b);
}

/* ---- sending ---- */

static void
notify_header(struct curl_slist **h, struct buf *b, const char *name,
	      const char *value)
{
	struct curl_slist *n;

	buf_reset(b);
	buf_printf(b, "%s: ", name);
	notify_add_clean(b, value, 900);
	n = curl_slist_append(*h, buf_str(b));
	if (n == NULL) {
		fprintf(stderr, "dirsync: out of memory\n");
		exit(1);
	}
	*h = n;
}

static struct curl_slist *
notify_slist_add(struct curl_slist *l, const char *s)
{
	struct curl_slist *n = curl_slist_append(l, s);

	if (n == NULL) {
		fprintf(stderr, "dirsync: out of memory\n");
		exit(1);
	}
	return n;
}

static bool
notify_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 ||
	       strncmp(host, "127.", 4) == 0 || strcmp(host, "[::1]") == 0 ||
	       strcmp(host, "::1") == 0;
}

/* The netrc file: $DIRSYNC_SMTP_NETRC, else smtp.netrc beside the config. */
static char *
notify_netrc_path(const struct conf *c)
{
	const char *env = getenv("DIRSYNC_SMTP_NETRC");
	const char *conf = c->path ? c->path : DIRSYNC_DEFAULT_CONF;
	const char *slash;

	if (env != NULL && env[0] != '\0')
		return xstrdup(env);
	slash = strrchr(conf, '/');
	if (slash == NULL)
		return xstrdup("smtp.netrc");
	return xasprintf("%.*s/smtp.netrc", (int)(slash - conf), conf);
}

/*
 * Credentials for the SMTP server: sets USERNAME/PASSWORD or NETRC options.
 * *auth tells whether any were configured.  -1 with err on a bad setup.
 */
static int
notify_auth(CURL *h, const struct conf *c, bool *auth, struct err *err)
{
	const char *user = secret_env("DIRSYNC_SMTP_USER");
	const char *pass = secret_env("DIRSYNC_SMTP_PASSWORD");
	char *netrc = NULL;
	struct stat st;
	int rc = -1;

	*auth = false;
	if (user != NULL && user[0] != '\0') {
		if (pass == NULL)
			return err_set(err, DS_E_CONFIG,
				       "DIRSYNC_SMTP_USER is set but "
				       "DIRSYNC_SMTP_PASSWORD is not");
		curl_easy_setopt(h, CURLOPT_USERNAME, user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, pass);
		*auth = true;
		return 0;
	}
	if (pass != NULL && pass[0] != '\0')
		return err_set(err, DS_E_CONFIG,
			       "DIRSYNC_SMTP_PASSWORD is set but "
			       "DIRSYNC_SMTP_USER is not");
	netrc = notify_netrc_path(c);
	if (stat(netrc, &st) == -1) {
		if (errno == ENOENT && getenv("DIRSYNC_SMTP_NETRC") == NULL) {
			rc = 0; /* no credentials: fine */
			goto done;
		}
		err_object(err, netrc);
		err_set(err, DS_E_CONFIG, "SMTP credentials file: %s",
			strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		err_object(err, netrc);
		err_set(err, DS_E_CONFIG,
			"SMTP credentials file is not a regular file");
		goto done;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err_object(err, netrc);
		err_set(err, DS_E_CONFIG,
			"SMTP credentials file is accessible by group or others "
			"(mode %03o); chmod 600 it",
			(unsigned)(st.st_mode & 0777));
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_NETRC_FILE, netrc);
	curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
	*auth = true;
	rc = 0;
done:
	free(netrc);
	return rc;
}

/*
 * Checks the URL: smtp or smtps, a host, no credentials.  Returns the host
 * (caller frees with curl_free) or NULL with err.
 */
static char *
notify_check_url(const char *url, bool *smtps, struct err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL;

	if (u == NULL) {
		err_set(err, DS_E_NOMEM, "out of memory");
		return NULL;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		err_set(err, DS_E_CONFIG,
			"notify.smtp_url is not a valid URL "
			"(smtp://host:port or smtps://host:port)");
		goto fail;
	}
	if (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0) {
		err_set(err, DS_E_CONFIG,
			"notify.smtp_url: scheme %s is not smtp or smtps",
			scheme);
		goto fail;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		err_set(err, DS_E_CONFIG,
			"notify.smtp_url must not hold credentials; use "
			"DIRSYNC_SMTP_USER/DIRSYNC_SMTP_PASSWORD or an "
			"smtp.netrc file");
		goto fail;
	}
	*smtps = strcmp(scheme, "smtps") == 0;
	curl_free(scheme);
	curl_url_cleanup(u);
	return host;
fail:
	curl_free(user);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return NULL;
}

/* Mail lines end in CRLF; the quoted-printable encoder would otherwise
 * encode each bare LF as =0A and run the lines together. Frees text. */
static char *
notify_crlf(char *text)
{
	struct buf b = BUF_INIT;
	const char *p;

	for (p = text; *p != '\0'; p++) {
		if (*p == '\n' && (p == text || p[-1] != '\r'))
			buf_addc(&b, '\r');
		buf_addc(&b, *p);
	}
	free(text);
	return buf_steal(&b);
}

static void
notify_date(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	if (strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/* Date, From, To, Subject, Message-ID, Auto-Submitted. */
static struct curl_slist *
notify_headers(const struct conf *c, const json_t *report, const char *from,
	       const char *subject, const char *host)
{
	struct curl_slist *hdrs = NULL;
	struct buf b = BUF_INIT;
	char date[64], *v;
	size_t i;

	notify_date(date, sizeof(date));
	notify_header(&hdrs, &b, "Date", date);
	notify_header(&hdrs, &b, "From", from);
	buf_reset(&b);
	for (i = 0; i < c->notify.to.n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", c->notify.to.v[i]);
	v = buf_steal(&b);
	notify_header(&hdrs, &b, "To", v);
	free(v);
	notify_header(&hdrs, &b, "Subject", subject);
	buf_reset(&b);
	buf_printf(&b, "<dirsync.%lld.%ld.%ld@%s>",
		   notify_int(report, "run_id"), (long)time(NULL),
		   (long)getpid(), host);
	v = buf_steal(&b);
	notify_header(&hdrs, &b, "Message-ID", v);
	free(v);
	notify_header(&hdrs, &b, "Auto-Submitted", "auto-generated");
	buf_free(&b);
	return hdrs;
}

/* Whether this run is mailed: [notify] when, and the stop's history. */
static bool
notify_due(const struct conf *c, const json_t *report, int exit_code,
	   struct notify_recall *nr)
{
	memset(nr, 0, sizeof(*nr));
	if (c->notify.smtp_url == NULL || c->notify.smtp_url[0] == '\0')
		return false;
	notify_recall(c, report, exit_code, nr);
	if (nr->kind == NR_REPEAT) {
		log_debug("no mail: the same limit stop as the run before "
			  "(since run %lld); a reminder follows daily",
			  nr->since_run);
		return false;
	}
	return nr->kind == NR_RECOVERED || notify_wanted(c, report, exit_code);
}

/* The subject, told that this is a reminder or a recovery. */
static char *
notify_recall_subject(const json_t *report, int exit_code,
		      const struct notify_recall *nr)
{
	char *s = notify_subject(report, exit_code), *t;

	if (nr->kind == NR_REMINDER)
		t = xasprintf("%s (reminder: stopped since run %lld)", s,
			      nr->since_run);
	else if (nr->kind == NR_RECOVERED)
		t = xasprintf("%s (recovered from the limit stop since run "
			      "%lld)",
			      s, nr->since_run);
	else
		return s;
	free(s);
	return t;
}

/* The summary, with a first paragraph for a reminder or a recovery. */
static char *
notify_recall_body(const json_t *report, int exit_code,
		   const struct notify_recall *nr)
{
	char *s = notify_summary(report, exit_code), *t;

	if (nr->kind == NR_REMINDER)
		t = xasprintf("Reminder: every run since run %lld (%s) has "
			      "stopped at this safety limit and applied "
			      "nothing.\nThis mail is repeated once a day "
			      "until a run gets through.\n\n%s",
			      nr->since_run, nr->since, s);
	else if (nr->kind == NR_RECOVERED)
		t = xasprintf("Recovered: runs stopped at a safety limit from "
			      "run %lld (%s) on; this run got through.\n\n%s",
			      nr->since_run, nr->since, s);
	else
		return s;
	free(s);
	return t;
}

int
notify_send(const struct conf *c, const json_t *report, int exit_code,
	    struct err *err)
{
	CURL *h = NULL;
	curl_mime *mime = NULL;
	curl_mimepart *part;
	struct curl_slist *rcpt = NULL, *hdrs = NULL;
	struct buf b = BUF_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	char host[256];
	char *smtp_host = NULL, *from = NULL, *subject = NULL, *body = NULL;
	char *json = NULL, *fname = NULL;
	struct notify_recall nr;
	bool smtps = false, auth = false;
	CURLcode cc;
	long resp = 0;
	size_t i;
	int rc = -1;

	if (!notify_due(c, report, exit_code, &nr))
		return 0;
	err_where(err, "notify");
	smtp_host = notify_check_url(c->notify.smtp_url, &smtps, err);
	if (smtp_host == NULL)
		goto done;
	err_object(err, smtp_host);
	if (c->notify.to.n == 0) {
		err_set(err, DS_E_CONFIG, "notify.to names no recipient");
		goto done;
	}
	notify_hostname(host, sizeof(host));
	if (c->notify.from != NULL && c->notify.from[0] != '\0')
		from = xstrdup(c->notify.from);
	else
		from = xasprintf("dirsync@%s", host);

	h = curl_easy_init();
	if (h == NULL) {
		err_set(err, DS_E_NOMEM, "cannot start libcurl");
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_URL, c->notify.smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	if (notify_auth(h, c, &auth, err) == -1)
		goto done;
	/*
	 * STARTTLS when offered; a password is only ever sent in clear to a
	 * relay on this machine.
	 */
	if (!smtps)
		curl_easy_setopt(h, CURLOPT_USE_SSL,
				 auth && !notify_is_loopback(smtp_host)
					 ? (long)CURLUSESSL_ALL
					 : (long)CURLUSESSL_TRY);
	buf_printf(&b, "<%s>", from);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, buf_str(&b));
	for (i = 0; i < c->notify.to.n; i++)
		rcpt = notify_slist_add(rcpt, c->notify.to.v[i]);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);

	subject = notify_recall_subject(report, exit_code, &nr);
	hdrs = notify_headers(c, report, from, subject, host);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	mime = curl_mime_init(h);
	if (mime == NULL) {
		err_set(err, DS_E_NOMEM, "out of memory");
		goto done;
	}
	body = notify_crlf(notify_recall_body(report, exit_code, &nr));
	part = curl_mime_addpart(mime);
	curl_mime_data(part, body, CURL_ZERO_TERMINATED);
	curl_mime_type(part, "text/plain; charset=utf-8");
	curl_mime_encoder(part, "quoted-printable");
	if (report != NULL) {
		json = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (json == NULL) {
			err_set(err, DS_E_NOMEM, "cannot encode the report");
			goto done;
		}
		fname = xasprintf("dirsync-run-%lld.json",
				  notify_int(report, "run_id"));
		part = curl_mime_addpart(mime);
		curl_mime_data(part, json, CURL_ZERO_TERMINATED);
		curl_mime_type(part, "application/json");
		curl_mime_filename(part, fname);
		curl_mime_encoder(part, "base64");
	}
	curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);

	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp);
		if (err != NULL)
			err->lib_rc = resp ? resp : (long)cc;
		err_set(err,
			cc == CURLE_LOGIN_DENIED ? DS_E_AUTH
			: cc == CURLE_SSL_CONNECT_ERROR ||
					cc == CURLE_PEER_FAILED_VERIFICATION ||
					cc == CURLE_USE_SSL_FAILED
				? DS_E_TLS
				: DS_E_CONNECT,
			"cannot send the report by mail: %s",
			errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto done;
	}
	log_debug("report mailed to %zu recipient(s) via %s", c->notify.to.n,
		  smtp_host);
	rc = 0;
done:
	curl_mime_free(mime);
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	curl_slist_free_all(hdrs);
	curl_free(smtp_host);
	buf_free(&b);
	free(from);
	free(subject);
	free(body);
	free(json);
	free(fname);
	return rc;
}

/*
 * conf.c - the INI parser and the one option table.
 *
 * Everything a key can be is described once, in opts[] below: its section,
 * its type, where it lives in struct conf, its bounds or allowed names and
 * whether it is a secret.  The parser, the validation messages, conf_dump()
 * (what `dirsync check` prints) and the masking of secrets all walk that
 * table, so a key added there is parsed, checked and printed everywhere.
 *
 * Grammar (strict; every violation is an error at file:line):
 *   [section]
 *   key = value        ; comment      (';' or '#' at line start, or after
 *   key =                             ;  whitespace inside a line)
 *       continuation   lines that start with whitespace belong to the key
 *       continuation   above: one item each for line lists (member_of,
 *                      domain_rewrite), more words for word lists.
 * An empty value leaves the key at its default; for the safety limits an
 * empty value means "no limit" (-1).  A key given twice is an error, and
 * so is an item given twice in one list (same_item).
 */
#include "conf/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldap.h>

#include "model/entry.h"
#include "util/filter.h"
#include "util/secret.h"
#include "util/user.h"
#include "util/xalloc.h"

/* Bounds on what we read: a config file is small and written by people. */
#define CONF_MAX_FILE (1024 * 1024)
#define CONF_MAX_LINE (64 * 1024)
#define CONF_MAX_SECRET 4096
#define CONF_ENV_PASSWORD "DIRSYNC_BIND_PASSWORD"
#define CONF_MASK "********"

enum opt_type {
	T_STR,          /* char *; empty = default (usually NULL) */
	T_BOOL,         /* bool: yes/no true/false on/off 1/0 */
	T_INT,          /* long in [min, max] */
	T_DUR,          /* long seconds in [min, max] */
	T_ENUM,         /* enum (int-sized), index into names[] */
	T_WORDS,        /* struct strlist, split on whitespace; "a b" is
			 * one word (next_word) */
	T_LINES,        /* struct strlist, one item per line */
	T_OTYPES,       /* unsigned OT_* bits from words */
};

/* opt flags */
#define F_NOLIMIT 0x01     /* T_INT: empty value = -1 = no limit */
#define F_LOWER 0x02       /* list items are lower-cased */
#define F_SECRET 0x04      /* never printed; never set from the file */
#define F_SECRET_FILE 0x08 /* names a file holding a secret */

/* Checks one list item (already lower-cased if F_LOWER); may rewrite it in
 * place.  Returns NULL when fine, else what is wrong ("must start with"). */
typedef const char *(*item_check_fn)(char *item);

struct opt {
	const char *section;
	const char *key;
	enum opt_type type;
	size_t off;
	unsigned flags;
	long min, max;                  /* T_INT, T_DUR */
	const char *const *names;       /* T_ENUM, T_OTYPES; NULL-terminated */
	item_check_fn check;            /* T_WORDS, T_LINES, T_STR */
};

static const char *const src_type_names[] = {"ldap", "ldif", NULL};
static const char *const starttls_names[] = {"no", "yes", "demand", NULL};
static const char *const flavor_names[] = {"auto", "ad", "openldap", NULL};
static const char *const tgt_type_names[] = {"sql", "scim", NULL};
static const char *const pw_failure_names[] = {"accept", "reject", NULL};
static const char *const deprov_names[] = {"disable", "delete", NULL};
static const char *const when_names[] = {"changes", "errors", "always",
					 NULL};
/* Index i is bit 1 << i: OT_USERS, OT_GROUPS, OT_CONTACTS. */
static const char *const otype_names[] = {"users", "groups", "contacts",
					  NULL};

_Static_assert(sizeof(enum src_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum starttls_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum flavor) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tgt_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum pw_failure) == sizeof(int), "enum size");
_Static_assert(sizeof(enum deprovision) == sizeof(int), "enum size");
_Static_assert(sizeof(enum notify_when) == sizeof(int), "enum size");
_Static_assert(OT_USERS == 1 && OT_GROUPS == 2 && OT_CONTACTS == 4,
	       "otype_names order");

static const char *check_ldap_uri(char *item);
static const char *check_domain(char *item);
static const char *check_rewrite(char *item);
static const char *check_address(char *item);
static const char *check_glob(char *item);
static const char *check_dn(char *item);

#define DAY 86400L
#define OFF(sec, fld) offsetof(struct conf, sec.fld)
#define O_STR(sec, fld, fl) {#sec, #fld, T_STR, OFF(sec, fld), fl, 0, 0, NULL, NULL}
#define O_STRC(sec, fld, chk) \
	{#sec, #fld, T_STR, OFF(sec, fld), 0, 0, 0, NULL, chk}
#define O_BOOL(sec, fld) {#sec, #fld, T_BOOL, OFF(sec, fld), 0, 0, 0, NULL, NULL}
#define O_INT(sec, fld, fl, lo, hi) \
	{#sec, #fld, T_INT, OFF(sec, fld), fl, lo, hi, NULL, NULL}
#define O_DUR(sec, fld, lo, hi) \
	{#sec, #fld, T_DUR, OFF(sec, fld), 0, lo, hi, NULL, NULL}
#define O_ENUM(sec, fld, nm) \
	{#sec, #fld, T_ENUM, OFF(sec, fld), 0, 0, 0, nm, NULL}
#define O_LIST(sec, fld, typ, fl, chk) \
	{#sec, #fld, typ, OFF(sec, fld), fl, 0, 0, NULL, chk}

/* SPEC order: conf_dump() prints sections and keys in this order. */
static const struct opt opts[] = {
	O_ENUM(source, type, src_type_names),
	O_LIST(source, uri, T_WORDS, 0, check_ldap_uri),
	O_ENUM(source, starttls, starttls_names),
	O_STR(source, tls_ca_file, 0),
	O_BOOL(source, tls_verify),
	O_STR(source, bind_dn, 0),
	O_STR(source, bind_password_file, F_SECRET_FILE),
	O_STR(source, bind_password, F_SECRET),
	O_STRC(source, base_dn, check_dn),
	O_STR(source, filter, 0),
	O_ENUM(source, flavor, flavor_names),
	O_INT(source, page_size, 0, 1, 100000),
	O_DUR(source, timeout, 1, DAY),
	O_STR(source, path, 0),

	O_BOOL(scope, mail_enabled_only),
	O_BOOL(scope, enabled_only),
	O_BOOL(scope, visible_only),
	O_LIST(scope, member_of, T_LINES, 0, check_dn),
	O_LIST(scope, exclude, T_WORDS, 0, check_glob),
	{"scope", "object_types", T_OTYPES, OFF(scope, object_types), 0, 0, 0,
	 otype_names, NULL},

	O_STR(mapping, email_attribute, 0),
	/* max: at most this many items */
	{"mapping", "alias_attributes", T_WORDS, OFF(mapping, alias_attributes),
	 0, 0, CONF_MAX_ALIAS_ATTRIBUTES, NULL, NULL},
	O_STR(mapping, group_filter, 0),
	O_LIST(mapping, accepted_domains, T_WORDS, F_LOWER, check_domain),
	O_LIST(mapping, domain_rewrite, T_LINES, F_LOWER, check_rewrite),

	O_ENUM(target, type, tgt_type_names),
	O_STR(target, url, 0),
	O_STR(target, schema, 0),
	O_STR(target, password_scheme, 0),
	O_STR(target, token_file, F_SECRET_FILE),
	O_STR(target, ca_file, 0),
	O_BOOL(target, adopt),
	O_DUR(target, statement_timeout, 1, DAY),

	O_INT(passwords, min_length, 0, 1, 1024),
	O_INT(passwords, min_classes, 0, 0, 4),
	O_ENUM(passwords, on_failure, pw_failure_names),

	O_INT(safety, max_adds, F_NOLIMIT, 0, LONG_MAX),
	O_INT(safety, max_updates, F_NOLIMIT, 0, LONG_MAX),
	O_INT(safety, max_deletes, F_NOLIMIT, 0, LONG_MAX),
	O_INT(safety, max_alias_adds, F_NOLIMIT, 0, LONG_MAX),
	O_INT(safety, max_alias_deletes, F_NOLIMIT, 0, LONG_MAX),
	O_INT(safety, max_total, F_NOLIMIT, 0, LONG_MAX),
	O_INT(safety, max_delete_percent, F_NOLIMIT, 0, 100),
	O_INT(safety, max_member_removal_percent, F_NOLIMIT, 0, 100),
	O_ENUM(safety, deprovision, deprov_names),
	O_DUR(safety, delete_after, 0, 3650 * DAY),
	O_INT(safety, delete_after_runs, 0, 0, 1000000),
	O_BOOL(safety, allow_empty),
	O_BOOL(safety, hold_removals),
	O_DUR(safety, limit_window, 0, 30 * DAY),

	O_DUR(schedule, interval, 1, 365 * DAY),
	O_DUR(schedule, full_every, 0, 3650 * DAY),
	O_BOOL(schedule, watch),

	O_STR(web, listen, 0),

	O_STR(notify, smtp_url, 0),
	O_STR(notify, from, 0),
	O_LIST(notify, to, T_WORDS, 0, check_address),
	O_ENUM(notify, when, when_names),

	O_STR(state, path, 0),
	O_INT(state, keep_runs, 0, 1, 100000000),
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static const char *const sections[] = {
	"source", "scope", "mapping", "target", "passwords",
	"safety", "schedule", "web", "notify", "state", NULL,
};

/* ---- small helpers ---------------------------------------------------- */

#define FIELD(c, o, type) ((type *)(void *)((char *)(c) + (o)->off))
#define CFIELD(c, o, type) \
	((const type *)(const void *)((const char *)(c) + (o)->off))

static void
strlist_push(struct strlist *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(char *));
	l->v[l->n++] = xstrdup(s);
}

static void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
conf_url_loopback(const char *url)
{
	const char *h = strstr(url, "://");
	size_t n;

	if (h == NULL)
		return false;
	h += 3;
	n = strcspn(h, "/?#");                  /* the authority */
	if (memchr(h, '@', n) != NULL)          /* user@host: the host */
		h = (const char *)memchr(h, '@', n) + 1;
	if (strncmp(h, "[::1]", 5) == 0)
		return h[5] == '\0' || h[5] == ':' || h[5] == '/';
	n = strcspn(h, ":/?#");
	if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
		return true;
	if (strncmp(h, "127.", 4) != 0)
		return false;
	for (h += 4, n -= 4; n > 0; h++, n--)   /* 127.d.d.d: digits, dots */
		if (!(*h == '.' || (*h >= '0' && *h <= '9')))
			return false;
	return true;
}

/* "a or b", "a, b or c" into buf. */
static const char *
join_names(const char *const *names, char *buf, size_t len)
{
	size_t i, n, off = 0;

	for (n = 0; names[n] != NULL; n++)
		;
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(buf + off, len - off, "%s%s", sep, names[i]);

		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

static int
name_index(const char *const *names, const char *s)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static const struct opt *
opt_find(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].section, section) == 0 &&
		    strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

/* Edit distance, for "did you mean"; inputs are short keys. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* ---- item checks ------------------------------------------------------ */

static const char *
check_ldap_uri(char *item)
{
	if (has_prefix(item, "ldap://") || has_prefix(item, "ldaps://") ||
	    has_prefix(item, "ldapi://"))
		return NULL;
	return "must start with ldap://, ldaps:// or ldapi://";
}

static bool
domain_ok(const char *d)
{
	size_t n = strlen(d), i;

	if (n == 0 || n > 253 || d[0] == '.' || d[0] == '-' ||
	    d[n - 1] == '.' || strstr(d, "..") != NULL)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)d[i];

		if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

static const char *
check_domain(char *item)
{
	if (domain_ok(item))
		return NULL;
	return "is not a domain name (separate domains with spaces)";
}

/* "from = to" -> "from=to"; both sides domains.  Never grows the item. */
static const char *
check_rewrite(char *item)
{
	char *copy = xstrdup(item), *eq = strchr(copy, '='), *from, *to;
	const char *why = NULL;

	if (eq == NULL) {
		why = "must be from=to, one per line";
		goto done;
	}
	*eq = '\0';
	from = trim(copy);
	to = trim(eq + 1);
	if (!domain_ok(from) || !domain_ok(to)) {
		why = "must be from=to with two domain names, one per line";
		goto done;
	}
	sprintf(item, "%s=%s", from, to);
done:
	free(copy);
	return why;
}

/*
 * An fnmatch(3) pattern as the rules use it (FNM_CASEFOLD, escapes on).
 * fnmatch has no validator: an unbalanced '[' is taken as a plain '['
 * (glibc), so "[abc" matched nothing the administrator meant, silently.
 * Brackets must close, "[:class:]" must name a class, and a backslash
 * must escape something.
 */
static const char *
check_glob(char *item)
{
	static const char *const classes[] = {
		"alnum", "alpha", "blank", "cntrl", "digit", "graph",
		"lower", "print", "punct", "space", "upper", "xdigit", NULL,
	};
	const char *p = item, *q;
	size_t i;

	while (*p != '\0') {
		if (*p == '\\') {
			if (p[1] == '\0')
				return "ends in a lone \\ (write \\\\ for a "
				       "backslash)";
			p += 2;
			continue;
		}
		if (*p != '[') {
			p++;
			continue;
		}
		q = p + 1;
		if (*q == '!' || *q == '^')
			q++;
		if (*q == ']')
			q++;            /* a ']' first is a member */
		for (;;) {
			if (*q == '\0')
				return "has a [ without its closing ] (write "
				       "\\[ for a literal [)";
			if (*q == ']')
				break;
			if (*q == '[' && (q[1] == ':' || q[1] == '.' ||
					  q[1] == '=')) {
				char d = q[1];
				const char *e = q + 2;

				while (*e != '\0' && !(e[0] == d && e[1] == ']'))
					e++;
				if (*e == '\0')
					return "has a [: [. or [= without its "
					       "closing :] .] or =]";
				if (d == ':') {
					for (i = 0; classes[i] != NULL; i++)
						if (strlen(classes[i]) ==
							    (size_t)(e - q - 2) &&
						    strncmp(classes[i], q + 2,
							    (size_t)(e - q - 2)) ==
							    0)
							break;
					if (classes[i] == NULL)
						return "names a character class "
						       "fnmatch(3) does not know "
						       "(alnum, alpha, digit, "
						       "lower, upper, space, ...)";
				}
				q = e + 2;
				continue;
			}
			if (*q == '\\' && q[1] != '\0')
				q++;
			q++;
		}
		p = q + 1;
	}
	return NULL;
}

/*
 * An LDAP DN as libldap reads it (RFC 4514): "notadn", "CN=Staff;x" or
 * an empty DN name no entry, so a member_of group or base_dn written
 * that way could never match anything.  (bind_dn is not checked: AD
 * also binds as a UPN, user@example.com.)
 */
static const char *
check_dn(char *item)
{
	LDAPDN d = NULL;
	int rc = ldap_str2dn(item, &d, LDAP_DN_FORMAT_LDAP);

	if (d != NULL)
		ldap_dnfree(d);
	if (rc != LDAP_SUCCESS || d == NULL)
		return "is not an LDAP DN (attribute=value pairs separated by "
		       "commas, e.g. CN=Staff,OU=Groups,DC=example,DC=com; "
		       "escape a comma inside a value as \\,)";
	return NULL;
}

static const char *
check_address(char *item)
{
	const char *at = strchr(item, '@');

	if (at == NULL || at == item || at[1] == '\0')
		return "is not a mail address";
	return NULL;
}

/* ---- value parsing ---------------------------------------------------- */

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1", NULL};
	static const char *const no[] = {"no", "false", "off", "0", NULL};
	char tmp[8];
	size_t n = strlen(s);

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n + 1);
	lower(tmp);
	if (name_index(yes, tmp) >= 0)
		*out = true;
	else if (name_index(no, tmp) >= 0)
		*out = false;
	else
		return -1;
	return 0;
}

static int
parse_long(const char *s, long *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s) && *s != '-' && *s != '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
conf_parse_duration(const char *s, long *out)
{
	long total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	/* A bare number is seconds; otherwise groups like 1d12h. */
	while (*s != '\0') {
		long v, mul;
		char *end;

		if (!isdigit((unsigned char)*s))
			return -1;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0)
			return -1;
		switch (*end) {
		case '\0':
			if (total != 0)
				return -1;      /* "1h30" is ambiguous */
			mul = 1;
			break;
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = DAY; break;
		default:
			return -1;
		}
		if (v > (LONG_MAX - total) / mul)
			return -1;
		total += v * mul;
		s = *end == '\0' ? end : end + 1;
	}
	*out = total;
	return 0;
}

static void
fmt_duration(long s, char *buf, size_t len)
{
	if (s > 0 && s % DAY == 0)
		snprintf(buf, len, "%ldd", s / DAY);
	else if (s > 0 && s % 3600 == 0)
		snprintf(buf, len, "%ldh", s / 3600);
	else if (s > 0 && s % 60 == 0)
		snprintf(buf, len, "%ldm", s / 60);
	else
		snprintf(buf, len, "%lds", s);
}

/* ---- the parser ------------------------------------------------------- */

struct vline {
	char *text;
	long line;
};

/* One key and its value lines, collected until the next key/section. */
struct kv_entry {
	const struct opt *o;
	long line;
	struct vline *v;
	size_t n, cap;
};

/*
 * Where errors go.  Without a diag the first error stops everything (-1);
 * with one (conf_load_all, for `dirsync check`) each is noted, formatted,
 * and the caller goes on with what it can still read.  The first error is
 * kept for the return value either way.
 */
struct sink {
	struct conf_diag *diag;         /* NULL: stop at the first */
	struct err first;
	bool have_first;
};

struct parser {
	const char *file;
	struct conf *c;
	struct err *err;
	struct sink *sink;
	const char *section;            /* NULL before the first header */
	long seen[NOPTS];               /* line each key was set on, or 0 */
	bool bad[NOPTS];                /* its value was refused */
	struct kv_entry e;
	long *item_line;                /* line of each item of the list
					 * being built (entry_apply) */
	size_t item_cap;
	long otype_line[8];             /* the same for object_types */
	/* after an error, going on: skip the rest of a bad section (its
	 * keys would be reported against the wrong one), or the value
	 * lines of a bad key */
	bool skip_section, skip_lines;
};

static void
diag_push(struct conf_diag *d, bool warning, const char *text)
{
	d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
	d->v[d->n].warning = warning;
	d->v[d->n].text = xstrdup(text);
	d->n++;
	if (!warning)
		d->nerr++;
}

/* The error in err happened: -1 to stop, or 0 when it was noted. */
static int
sink_note(struct sink *k, struct err *err)
{
	char buf[1400];

	if (!k->have_first) {
		k->first = *err;
		k->have_first = true;
	}
	if (k->diag == NULL)
		return -1;
	diag_push(k->diag, false, err_fmt(err, buf, sizeof(buf)));
	err_clear(err);
	return 0;
}

/* A warning at file:line (only collected: conf_load() has no use for it). */
static void sink_warn(struct sink *k, const char *file, long line,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
sink_warn(struct sink *k, const char *file, long line, const char *fmt, ...)
{
	char msg[1024], buf[1300];
	va_list ap;

	if (k->diag == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(buf, sizeof(buf), "%s:%ld: warning: %s", file, line,
			 msg);
	else
		snprintf(buf, sizeof(buf), "%s: warning: %s", file, msg);
	diag_push(k->diag, true, buf);
}

static void
entry_reset(struct kv_entry *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].text);
	e->n = 0;
	e->o = NULL;
	e->line = 0;
}

static void
entry_add(struct kv_entry *e, const char *text, long line)
{
	e->v = xgrow(e->v, &e->cap, e->n + 1, sizeof(*e->v));
	e->v[e->n].text = xstrdup(text);
	e->v[e->n].line = line;
	e->n++;
}

static int
bad_value(struct parser *p, long line, const char *val, const char *expect)
{
	return err_at(p->err, DS_E_CONFIG, p->file, line,
		      "bad value '%s' for %s in [%s]: expected %s", val,
		      p->e.o->key, p->e.o->section, expect);
}

static int
set_scalar(struct parser *p, const char *val, long line)
{
	const struct opt *o = p->e.o;
	char names[160], expect[200];
	long v;
	bool b;
	int i;

	switch (o->type) {
	case T_STR: {
		char **sp = FIELD(p->c, o, char *);
		const char *why;

		if (o->check != NULL) {
			char *tmp = xstrdup(val);

			why = o->check(tmp);
			free(tmp);
			if (why != NULL)
				return err_at(p->err, DS_E_CONFIG, p->file,
					      line, "bad %s '%s' in [%s]: %s",
					      o->key, val, o->section, why);
		}
		free(*sp);
		*sp = xstrdup(val);
		return 0;
	}
	case T_BOOL:
		if (parse_bool(val, &b) < 0)
			return bad_value(p, line, val, "yes or no");
		*FIELD(p->c, o, bool) = b;
		return 0;
	case T_INT:
		if (parse_long(val, &v) < 0 || v < o->min || v > o->max) {
			if (o->max == LONG_MAX)
				snprintf(expect, sizeof(expect),
					 "a whole number >= %ld%s", o->min,
					 o->flags & F_NOLIMIT
						 ? ", or empty for no limit"
						 : "");
			else
				snprintf(expect, sizeof(expect),
					 "a whole number from %ld to %ld%s",
					 o->min, o->max,
					 o->flags & F_NOLIMIT
						 ? ", or empty for no limit"
						 : "");
			return bad_value(p, line, val, expect);
		}
		*FIELD(p->c, o, long) = v;
		return 0;
	case T_DUR:
		if (conf_parse_duration(val, &v) < 0 || v < o->min ||
		    v > o->max) {
			char lo[32], hi[32];

			fmt_duration(o->min, lo, sizeof(lo));
			fmt_duration(o->max, hi, sizeof(hi));
			snprintf(expect, sizeof(expect),
				 "a duration like 30s, 5m, 1h or 1d "
				 "(from %s to %s)", lo, hi);
			return bad_value(p, line, val, expect);
		}
		*FIELD(p->c, o, long) = v;
		return 0;
	case T_ENUM:
		i = name_index(o->names, val);
		if (i < 0 && strcmp(o->key, "type") == 0) {
			/* what people try: "ad", "openldap", "postgresql" */
			snprintf(expect, sizeof(expect),
				 "%s, the only types in this version of "
				 "dirsync (%s)",
				 join_names(o->names, names, sizeof(names)),
				 strcmp(o->section, "source") == 0
					 ? "Active Directory, Samba AD, "
					   "OpenLDAP and 389-DS all use type "
					   "= ldap"
					 : "SQLite and PostgreSQL both use "
					   "type = sql; the url picks one");
			return bad_value(p, line, val, expect);
		}
		if (i < 0)
			return bad_value(p, line, val,
					 join_names(o->names, names,
						    sizeof(names)));
		*FIELD(p->c, o, int) = i;
		return 0;
	default:
		return err_at(p->err, DS_E_INTERNAL, p->file, line,
			      "option %s has no scalar type", o->key);
	}
}

/*
 * Do two items of o's list say the same thing?  member_of compares DNs as
 * the rules do, domain_rewrite the domain it rewrites (only the first
 * pair for a domain applies), the others without regard to case (domains,
 * attribute names, exclude patterns (FNM_CASEFOLD), URIs, addresses).
 */
static bool
same_item(const struct opt *o, const char *a, const char *b)
{
	if (o->check == check_dn) {
		char *na = dn_normalize(a), *nb = dn_normalize(b);
		bool same = strcmp(na, nb) == 0;

		free(na);
		free(nb);
		return same;
	}
	if (o->check == check_rewrite) {
		size_t n = strcspn(a, "=");

		return n == strcspn(b, "=") && strncmp(a, b, n) == 0;
	}
	return strcasecmp(a, b) == 0;
}

static int
add_item(struct parser *p, struct strlist *l, char *item, long line)
{
	const struct opt *o = p->e.o;
	const char *why;
	size_t i;

	if (o->flags & F_LOWER)
		lower(item);
	if (o->check != NULL && (why = o->check(item)) != NULL)
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "bad %s item '%s' in [%s]: %s", o->key, item,
			      o->section, why);
	/*
	 * An item given twice is an error, as a key given twice is: at
	 * best it does nothing, and it is often a slip for another one
	 * (a second group, domain or type that is then missing).
	 */
	for (i = 0; i < l->n; i++) {
		if (!same_item(o, l->v[i], item))
			continue;
		if (o->check == check_rewrite)
			return err_at(p->err, DS_E_CONFIG, p->file, line,
				      "%s in [%s] rewrites %.*s twice (first "
				      "on line %ld): only the first pair for a "
				      "domain is applied",
				      o->key, o->section,
				      (int)strcspn(item, "="), item,
				      p->item_line[i]);
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "%s in [%s] lists '%s' twice (first on line "
			      "%ld)",
			      o->key, o->section, item, p->item_line[i]);
	}
	if (o->max > 0 && l->n >= (size_t)o->max)
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "%s in [%s] takes at most %ld items; '%s' is "
			      "one more", o->key, o->section, o->max, item);
	p->item_line = xgrow(p->item_line, &p->item_cap, l->n + 1,
			     sizeof(*p->item_line));
	p->item_line[l->n] = line;
	strlist_push(l, item);
	return 0;
}

/*
 * The next word of *sp (NUL-terminated in place, *sp moved past it), or
 * NULL at the end: words are separated by blanks, and a word in double
 * quotes may hold blanks ("CN=John Smith,*": AD names have spaces).  An
 * unterminated quote is an error at line (-1, p->err set).
 */
static int
next_word(struct parser *p, char **sp, long line, char **word)
{
	char *s = *sp + strspn(*sp, " \t"), *e;

	*word = NULL;
	if (*s == '\0') {
		*sp = s;
		return 0;
	}
	if (*s == '"') {
		if ((e = strchr(s + 1, '"')) == NULL)
			return err_at(p->err, DS_E_CONFIG, p->file, line,
				      "%s in [%s]: a quote (\") opens %.60s "
				      "and nothing closes it",
				      p->e.o->key, p->e.o->section, s);
		*e++ = '\0';
		*word = s + 1;
	} else {
		e = s + strcspn(s, " \t");
		*word = s;
		if (*e != '\0')
			*e++ = '\0';
	}
	*sp = e;
	return 0;
}

static int
set_otype(struct parser *p, unsigned *bits, const char *word, long line)
{
	char names[160];
	int i = name_index(p->e.o->names, word);

	if (i < 0)
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "bad object type '%s' in object_types: "
			      "expected any of %s",
			      word, join_names(p->e.o->names, names,
					       sizeof(names)));
	if (*bits & (1u << i))
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "%s in [%s] lists '%s' twice (first on line "
			      "%ld)",
			      p->e.o->key, p->e.o->section, word,
			      p->otype_line[i]);
	p->otype_line[i] = line;
	*bits |= 1u << i;
	return 0;
}

/* Applies the collected entry to the conf. */
static int
entry_apply(struct parser *p)
{
	const struct opt *o = p->e.o;
	struct strlist l = {0, NULL};
	unsigned bits = 0;
	size_t i;
	int rc = -1;

	if (o == NULL)
		return 0;
	if (p->e.n == 0) {              /* empty: default, or no limit */
		if (o->flags & F_NOLIMIT)
			*FIELD(p->c, o, long) = -1;
		rc = 0;
		goto done;
	}
	switch (o->type) {
	case T_WORDS:
	case T_OTYPES:
		for (i = 0; i < p->e.n; i++) {
			char *cur = p->e.v[i].text, *w;

			for (;;) {
				if (next_word(p, &cur, p->e.v[i].line, &w) < 0)
					goto done;
				if (w == NULL)
					break;
				if (o->type == T_OTYPES) {
					if (set_otype(p, &bits, w,
						      p->e.v[i].line) < 0)
						goto done;
				} else if (add_item(p, &l, w,
						    p->e.v[i].line) < 0) {
					goto done;
				}
			}
		}
		break;
	case T_LINES:
		for (i = 0; i < p->e.n; i++)
			if (add_item(p, &l, p->e.v[i].text, p->e.v[i].line) < 0)
				goto done;
		break;
	default:
		if (p->e.n > 1) {
			err_at(p->err, DS_E_CONFIG, p->file, p->e.v[1].line,
			       "%s in [%s] takes a single value; this "
			       "indented line continues it",
			       o->key, o->section);
			goto done;
		}
		if (set_scalar(p, p->e.v[0].text, p->e.v[0].line) < 0)
			goto done;
		break;
	}
	if (o->type == T_OTYPES) {
		*FIELD(p->c, o, unsigned) = bits;
	} else if (o->type == T_WORDS || o->type == T_LINES) {
		struct strlist *dst = FIELD(p->c, o, struct strlist);

		strlist_free(dst);
		*dst = l;
		l.n = 0;
		l.v = NULL;
	}
	rc = 0;
done:
	strlist_free(&l);
	entry_reset(&p->e);
	return rc;
}

static int
unknown_key(struct parser *p, const char *key, long line)
{
	const char *best = NULL, *elsewhere = NULL;
	size_t i, bestd = 3, off = 0;
	char known[400];

	known[0] = '\0';
	for (i = 0; i < NOPTS; i++) {
		if (opts[i].flags & F_SECRET)
			continue;
		if (strcmp(opts[i].section, p->section) != 0) {
			if (elsewhere == NULL && strcmp(opts[i].key, key) == 0)
				elsewhere = opts[i].section;
			continue;
		}
		size_t d = edit_distance(key, opts[i].key);

		if (d < bestd) {
			bestd = d;
			best = opts[i].key;
		}
		if (off < sizeof(known)) {
			int w = snprintf(known + off, sizeof(known) - off,
					 "%s%s", off ? ", " : "", opts[i].key);

			if (w > 0)
				off += (size_t)w;
		}
	}
	if (elsewhere != NULL)
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "unknown key '%s' in [%s]; it belongs in [%s]",
			      key, p->section, elsewhere);
	if (best != NULL)
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "unknown key '%s' in [%s]; did you mean '%s'?",
			      key, p->section, best);
	return err_at(p->err, DS_E_CONFIG, p->file, line,
		      "unknown key '%s' in [%s]; known keys: %s", key,
		      p->section, known);
}

static int
parse_section(struct parser *p, char *s, long line)
{
	size_t n = strlen(s), i;
	char *name;

	if (n < 2 || s[n - 1] != ']')
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "bad section header '%s': expected [name]", s);
	s[n - 1] = '\0';
	name = trim(s + 1);
	for (i = 0; sections[i] != NULL; i++) {
		if (strcmp(sections[i], name) == 0) {
			p->section = sections[i];
			return 0;
		}
	}
	for (i = 0; sections[i] != NULL; i++)
		if (edit_distance(name, sections[i]) <= 2)
			return err_at(p->err, DS_E_CONFIG, p->file, line,
				      "unknown section [%s]; did you mean "
				      "[%s]?",
				      name, sections[i]);
	return err_at(p->err, DS_E_CONFIG, p->file, line,
		      "unknown section [%s]; sections are source, scope, "
		      "mapping, target, passwords, safety, schedule, web, "
		      "notify and state",
		      name);
}

static int
parse_key(struct parser *p, char *s, long line)
{
	char *eq = strchr(s, '='), *key, *val;
	const struct opt *o;
	size_t idx;

	if (eq == NULL)
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "expected 'key = value' or '[section]', got "
			      "'%.60s'",
			      s);
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (*key == '\0')
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "missing key name before '='");
	if (p->section == NULL)
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "key '%s' outside any section; put it under a "
			      "[section] header",
			      key);
	o = opt_find(p->section, key);
	if (o == NULL)
		return unknown_key(p, key, line);
	if (o->flags & F_SECRET)
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "%s cannot be written in the config file; name "
			      "a file with %s_file (mode 600) or set $%s",
			      key, key, CONF_ENV_PASSWORD);
	idx = (size_t)(o - opts);
	if (p->seen[idx] != 0)
		return err_at(p->err, DS_E_CONFIG, p->file, line,
			      "duplicate key '%s' in [%s] (first set on line "
			      "%ld)",
			      key, p->section, p->seen[idx]);
	p->seen[idx] = line;
	p->e.o = o;
	p->e.line = line;
	if (*val != '\0')
		entry_add(&p->e, val, line);
	return 0;
}

/* Cuts a ';' or '#' comment that starts the text or follows whitespace. */
static void
cut_comment(char *s)
{
	char *q;

	for (q = s; *q != '\0'; q++) {
		if ((*q == ';' || *q == '#') &&
		    (q == s || q[-1] == ' ' || q[-1] == '\t')) {
			*q = '\0';
			return;
		}
	}
}

/* entry_apply(), remembering a refused value (its key keeps the
 * default, and the cross-key checks built on it would only mislead). */
static int
apply_noting(struct parser *p)
{
	const struct opt *o = p->e.o;

	if (entry_apply(p) == 0)
		return 0;
	if (o != NULL)
		p->bad[o - opts] = true;
	return sink_note(p->sink, p->err);
}

static int
parse_line(struct parser *p, char *raw, long line)
{
	bool indented = raw[0] == ' ' || raw[0] == '\t';
	char *s = raw;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return 0;       /* blank lines and comments keep any value open */
	cut_comment(s);
	s = trim(s);
	if (indented && (p->skip_lines || p->skip_section))
		return 0;
	if (indented) {
		if (p->e.o == NULL)
			return err_at(p->err, DS_E_CONFIG, p->file, line,
				      "indented line with no key above it; "
				      "keys start at the beginning of a line, "
				      "indented lines continue the key above");
		entry_add(&p->e, s, line);
		return 0;
	}
	p->skip_lines = false;
	if (apply_noting(p) < 0)
		return -1;
	if (*s == '[') {
		p->skip_section = false;
		if (parse_section(p, s, line) == 0)
			return 0;
		p->section = NULL;
		p->skip_section = true;
		return -1;
	}
	if (p->skip_section)
		return 0;
	if (parse_key(p, s, line) == 0)
		return 0;
	p->skip_lines = true;
	return -1;
}

static int
parse_stream(struct parser *p, FILE *fp)
{
	char *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t n;
	long lineno = 0;
	int rc = -1;

	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *s = line;

		lineno++;
		total += (size_t)n;
		if (total > CONF_MAX_FILE) {
			err_at(p->err, DS_E_CONFIG, p->file, lineno,
			       "file is larger than %d bytes", CONF_MAX_FILE);
			goto done;
		}
		if (n > CONF_MAX_LINE) {
			err_at(p->err, DS_E_CONFIG, p->file, lineno,
			       "line is longer than %d bytes", CONF_MAX_LINE);
			if (sink_note(p->sink, p->err) < 0)
				goto done;
			continue;
		}
		if (strlen(line) != (size_t)n) {
			err_at(p->err, DS_E_CONFIG, p->file, lineno,
			       "line contains a NUL byte");
			if (sink_note(p->sink, p->err) < 0)
				goto done;
			continue;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (lineno == 1 && has_prefix(s, "\xEF\xBB\xBF"))
			s += 3;         /* UTF-8 byte order mark */
		if (parse_line(p, s, lineno) < 0 &&
		    sink_note(p->sink, p->err) < 0)
			goto done;
	}
	if (ferror(fp)) {
		err_at(p->err, DS_E_CONFIG, p->file, lineno + 1, "read: %s",
		       strerror(errno));
		p->err->lib_rc = errno;
		goto done;
	}
	if (apply_noting(p) < 0)
		goto done;
	rc = 0;
done:
	entry_reset(&p->e);
	free(p->e.v);
	p->e.v = NULL;
	p->e.cap = 0;
	free(p->item_line);
	p->item_line = NULL;
	p->item_cap = 0;
	free(line);
	return rc;
}

/* ---- secrets ---------------------------------------------------------- */

static long
key_line(const long *seen, const char *section, const char *key)
{
	const struct opt *o = opt_find(section, key);

	return o != NULL ? seen[o - opts] : 0;
}

static int
perm_error(struct err *err, const char *file, mode_t mode, const char *why)
{
	return err_at(err, DS_E_CONFIG, file, 0,
		      "%s by group or others (mode %04o)%s; chmod 600 %s",
		      mode & (S_IRGRP | S_IROTH) ? "is readable"
						 : "is writable",
		      (unsigned)(mode & 07777), why, file);
}

/* Reads a secret file: mode 600 or stricter, one line, not empty. */
static int
read_secret(const char *file, char **out, struct err *err)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc = -1;

	/* O_NONBLOCK: a FIFO must not hang the open; refused just below */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err_at(err, DS_E_CONFIG, file, 0, "bind_password_file: %s",
		       strerror(errno));
		err->lib_rc = errno;
		goto done;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_at(err, DS_E_CONFIG, file, 0,
		       "bind_password_file is not a regular file");
		goto done;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		perm_error(err, file, st.st_mode, "");
		goto done;
	}
	buf = xmalloc(CONF_MAX_SECRET + 1);
	while ((n = read(fd, buf + len, CONF_MAX_SECRET + 1 - len)) > 0) {
		len += (size_t)n;
		if (len > CONF_MAX_SECRET)
			break;
	}
	if (n < 0) {
		err_at(err, DS_E_CONFIG, file, 0, "read: %s", strerror(errno));
		err->lib_rc = errno;
		goto done;
	}
	if (len > CONF_MAX_SECRET) {
		err_at(err, DS_E_CONFIG, file, 0,
		       "secret is longer than %d bytes", CONF_MAX_SECRET);
		goto done;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0 || strlen(buf) != len || strchr(buf, '\n') != NULL) {
		err_at(err, DS_E_CONFIG, file, 0,
		       "%s", len == 0 ? "secret file is empty"
				      : "secret must be one line of text");
		goto done;
	}
	*out = xstrndup(buf, len);
	rc = 0;
done:
	if (buf != NULL) {
		explicit_bzero(buf, CONF_MAX_SECRET + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Secret files other than the bind password are read by their user (the
 * SCIM target reads token_file); here we only refuse a loose mode. */
static int
check_secret_mode(const char *file, struct err *err)
{
	struct stat st;

	if (stat(file, &st) < 0)
		return 0;       /* its reader reports a missing file */
	if (!S_ISREG(st.st_mode))
		return err_at(err, DS_E_CONFIG, file, 0,
			      "a secret file must be a regular file (not a "
			      "FIFO, device or directory)");
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return perm_error(err, file, st.st_mode, "");
	return 0;
}

static int
load_secrets(struct conf *c, mode_t conf_mode, struct sink *k,
	     struct err *err)
{
	const char *env;
	bool conf_told = false;
	size_t i;

	/* A config that names a secret must be as private as the secret. */
	for (i = 0; i < NOPTS; i++) {
		const char *v;

		if (!(opts[i].flags & F_SECRET_FILE))
			continue;
		v = *CFIELD(c, &opts[i], char *);
		if (v == NULL || *v == '\0')
			continue;
		if ((conf_mode & (S_IRWXG | S_IRWXO)) && !conf_told) {
			char why[80];

			snprintf(why, sizeof(why), " and names a secret (%s)",
				 opts[i].key);
			perm_error(err, c->path, conf_mode, why);
			if (sink_note(k, err) < 0)
				return -1;
			conf_told = true;
		}
		if (&opts[i] != opt_find("source", "bind_password_file") &&
		    check_secret_mode(v, err) < 0 && sink_note(k, err) < 0)
			return -1;
	}
	if (c->source.bind_password_file != NULL &&
	    *c->source.bind_password_file != '\0') {
		if (read_secret(c->source.bind_password_file,
				&c->source.bind_password, err) < 0 &&
		    sink_note(k, err) < 0)
			return -1;
		return 0;
	}
	env = secret_env(CONF_ENV_PASSWORD);
	if (env != NULL && *env != '\0')
		c->source.bind_password = xstrdup(env);
	return 0;
}

/* ---- cross-key checks ------------------------------------------------- */

/* 1 for a hex digit's value + 1, else 0. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0' + 1;
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 11 : 0;
}

/*
 * Does a postgresql:// URL carry a secret?  "user:pw@host" in the
 * authority, or a password= / sslpassword= parameter (libpq decodes
 * %XX in parameter names too, so they are decoded before comparing).
 * RFC 3986 3.2.1 and PostgreSQL docs 34.1.1.2 (connection URIs).
 */
static bool
url_has_password(const char *url)
{
	const char *p = strstr(url, "://"), *end, *at, *q;

	if (p == NULL)
		return false;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at != NULL) {
		/* the last '@' of the authority ends the user info */
		const char *a2;

		while ((a2 = memchr(at + 1, '@', (size_t)(end - at - 1))) !=
		       NULL)
			at = a2;
		if (memchr(p, ':', (size_t)(at - p)) != NULL)
			return true;
	}
	q = strchr(url, '?');
	while (q != NULL) {
		char key[32];
		size_t k = 0;

		q++;
		while (*q != '\0' && *q != '=' && *q != '&' && k + 1 < sizeof(key)) {
			if (*q == '%' && hexval(q[1]) && hexval(q[2])) {
				key[k++] = (char)((hexval(q[1]) - 1) * 16 +
						  hexval(q[2]) - 1);
				q += 3;
			} else {
				key[k++] = *q++;
			}
		}
		key[k] = '\0';
		if (strcmp(key, "password") == 0 ||
		    strcmp(key, "sslpassword") == 0)
			return true;
		q = strchr(q, '&');
	}
	return false;
}

/* [target]: the url for its type, no password in it, the hash scheme. */
static int
check_target(const struct conf *c, const long *seen, struct err *err)
{
	const char *f = c->path;
	long uline = key_line(seen, "target", "url");
	const char *url = c->target.url;

	if (uline == 0)
		uline = key_line(seen, "target", "type");
	if (c->target.type == TGT_SQL &&
	    (url == NULL || !(has_prefix(url, "sqlite://") ||
			      has_prefix(url, "postgresql://") ||
			      has_prefix(url, "postgres://"))))
		return err_at(err, DS_E_CONFIG, f, uline,
			      "[target] url '%s' for type = sql must start "
			      "with sqlite://, postgresql:// or postgres://",
			      url ? url : "");
	if (c->target.type == TGT_SQL && strcmp(url, "sqlite://") == 0)
		return err_at(err, DS_E_CONFIG, f, uline,
			      "[target] url 'sqlite://' names no file: write "
			      "sqlite:///path/to/mail.db (three slashes for "
			      "an absolute path)");
	if (c->target.type == TGT_SQL && url != NULL && url_has_password(url))
		return err_at(err, DS_E_CONFIG, f, uline,
			      "[target] url must not hold a password "
			      "(user:password@ or password=); use PGPASSFILE "
			      "or ~/.pgpass (mode 0600), or PGPASSWORD in the "
			      "environment (dirsync.conf(5))");
	if (c->target.type == TGT_SCIM &&
	    (url == NULL || !(has_prefix(url, "https://") ||
			      (has_prefix(url, "http://") &&
			       conf_url_loopback(url)))))
		return err_at(err, DS_E_CONFIG, f, uline,
			      "[target] url '%s' for type = scim must start "
			      "with https:// (http:// only for a loopback "
			      "host: 127.0.0.0/8, [::1], localhost)",
			      url ? url : "");

	if (c->target.type == TGT_SQL &&
	    (c->target.schema == NULL ||
	     strcmp(c->target.schema, "postfixadmin") != 0))
		return err_at(err, DS_E_CONFIG, f,
			      key_line(seen, "target", "schema"),
			      "[target] schema '%s' is not in this version of "
			      "dirsync; the only schema is postfixadmin",
			      c->target.schema ? c->target.schema : "");

	/* the schemes src/passwd/passwd.c hashes with (kept apart so the
	 * config parser links without libcrypt and libargon2) */
	{
		const char *ps = c->target.password_scheme;

		if (ps == NULL || (strcasecmp(ps, "SHA512-CRYPT") != 0 &&
				   strcasecmp(ps, "BLF-CRYPT") != 0 &&
				   strcasecmp(ps, "ARGON2ID") != 0))
			return err_at(err, DS_E_CONFIG, f,
				      key_line(seen, "target",
					       "password_scheme"),
				      "[target] password_scheme '%s' must be "
				      "SHA512-CRYPT, BLF-CRYPT or ARGON2ID",
				      ps ? ps : "");
	}
	return 0;
}

/* [notify]: smtp_url and to go together; no credentials in the url. */
static int
check_notify(const struct conf *c, const long *seen, struct err *err)
{
	const char *f = c->path;
	const char *smtp = c->notify.smtp_url;
	bool have_smtp = smtp != NULL && *smtp != '\0';

	if (have_smtp && !has_prefix(smtp, "smtp://") &&
	    !has_prefix(smtp, "smtps://"))
		return err_at(err, DS_E_CONFIG, f,
			      key_line(seen, "notify", "smtp_url"),
			      "[notify] smtp_url '%s' must start with smtp:// "
			      "or smtps://",
			      smtp);
	if (have_smtp) {
		/* "smtp://user:pass@host": a secret in the config, refused
		 * without quoting it back */
		const char *host = strstr(smtp, "://") + 3;
		const char *at = strchr(host, '@');
		const char *slash = strchr(host, '/');

		if (at != NULL && (slash == NULL || at < slash))
			return err_at(err, DS_E_CONFIG, f,
				      key_line(seen, "notify", "smtp_url"),
				      "[notify] smtp_url must not hold a user "
				      "name or password; use "
				      "DIRSYNC_SMTP_USER/DIRSYNC_SMTP_PASSWORD "
				      "or an smtp.netrc file (dirsync.conf(5))");
	}
	if (have_smtp && c->notify.to.n == 0)
		return err_at(err, DS_E_CONFIG, f,
			      key_line(seen, "notify", "smtp_url"),
			      "[notify] smtp_url is set but to is empty");
	if (!have_smtp && c->notify.to.n > 0)
		return err_at(err, DS_E_CONFIG, f,
			      key_line(seen, "notify", "to"),
			      "[notify] to is set but smtp_url is empty");
	return 0;
}

/* [source]: what its type needs. */
static int
check_source(const struct conf *c, const long *seen, struct err *err)
{
	const char *f = c->path;
	long tline = key_line(seen, "source", "type");
	size_t i;

	if (c->source.type == SRC_LDIF &&
	    (c->source.path == NULL || *c->source.path == '\0'))
		return err_at(err, DS_E_CONFIG, f, tline,
			      "[source] type = ldif needs path (the LDIF file "
			      "to read)");
	if (c->source.type != SRC_LDAP)
		return 0;
	if (c->source.uri.n == 0)
		return err_at(err, DS_E_CONFIG, f, tline,
			      "[source] type = ldap needs uri "
			      "(ldap://, ldaps:// or ldapi://)");
	if (c->source.base_dn == NULL || *c->source.base_dn == '\0')
		return err_at(err, DS_E_CONFIG, f, tline,
			      "[source] type = ldap needs base_dn");
	for (i = 0; i < c->source.uri.n; i++)
		if (c->source.starttls != STARTTLS_NO &&
		    has_prefix(c->source.uri.v[i], "ldaps://"))
			return err_at(err, DS_E_CONFIG, f,
				      key_line(seen, "source", "starttls"),
				      "starttls = %s cannot be used with "
				      "%s: ldaps:// is TLS already",
				      starttls_names[c->source.starttls],
				      c->source.uri.v[i]);
	return 0;
}

static int
check_web(const struct conf *c, const long *seen, struct err *err)
{
	char host[64];
	unsigned port;
	const char *why;

	if (c->web.listen == NULL || *c->web.listen == '\0')
		return 0;
	if (conf_parse_listen(c->web.listen, host, sizeof(host), &port,
			      &why) != 0)
		return err_at(err, DS_E_CONFIG, c->path,
			      key_line(seen, "web", "listen"),
			      "[web] listen '%s': %s", c->web.listen, why);
	return 0;
}

/*
 * Without accepted domains every address would be "ours": aliases in
 * gmail.com would land in the alias table, and Postfix would divert mail
 * users send there.  The list is the mail system's own.
 */
static int
check_domains(const struct conf *c, const long *seen, struct err *err)
{
	if (c->mapping.accepted_domains.n > 0)
		return 0;
	return err_at(err, DS_E_CONFIG, c->path,
		      key_line(seen, "mapping", "accepted_domains"),
		      "[mapping] accepted_domains is required: the mail "
		      "domains dirsync may write addresses for (e.g. "
		      "accepted_domains = example.com example.net)");
}

/*
 * Every cross-key check; with a collecting sink, all of them, except
 * those resting on a `type` whose value was refused (the default in its
 * place would only add errors about keys that type does not need).
 */
static int
cross_check(const struct conf *c, const struct parser *p, struct sink *k,
	    struct err *err)
{
	/*
	 * Each check with the keys it reads ("section.key"): when one of
	 * them was refused (a bad item in a list, a bad value), the check
	 * is skipped; the default or the items before the bad one in its
	 * place would only add a false error ("accepted_domains is
	 * required" after "bad accepted_domains item").
	 */
	static const struct {
		int (*fn)(const struct conf *, const long *, struct err *);
		const char *reads[6];
	} checks[] = {
		{check_source, {"source.type", "source.uri", "source.path",
				"source.base_dn", "source.starttls", NULL}},
		{check_target, {"target.type", "target.url", "target.schema",
				"target.password_scheme", NULL}},
		{check_domains, {"mapping.accepted_domains", NULL}},
		{check_notify, {"notify.smtp_url", "notify.to", NULL}},
		{check_web, {"web.listen", NULL}},
	};
	size_t i, j;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		bool skip = false;

		for (j = 0; checks[i].reads[j] != NULL && !skip; j++) {
			char sec[16];
			const char *dot = strchr(checks[i].reads[j], '.');
			const struct opt *o;

			snprintf(sec, sizeof(sec), "%.*s",
				 (int)(dot - checks[i].reads[j]),
				 checks[i].reads[j]);
			o = opt_find(sec, dot + 1);
			skip = o != NULL && p->bad[o - opts];
		}
		if (skip)
			continue;
		if (checks[i].fn(c, p->seen, err) != 0 &&
		    sink_note(k, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- what only `dirsync check` reads (conf_load_all) ---------------- */

/*
 * Can this user open `file` for reading, and is it a regular file?  What
 * the run would find out at connect time, said now with the key's line.
 * O_NONBLOCK: a FIFO must not hang the open.
 */
static int
check_readable(const struct conf *c, const long *seen, const char *section,
	       const char *key, const char *file, struct err *err)
{
	long line = key_line(seen, section, key);
	struct stat st;
	char who[96];
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		user_name(geteuid(), who, sizeof(who));
		err_at(err, DS_E_CONFIG, c->path, line,
		       "[%s] %s %s%s cannot be read by user %s: %s", section,
		       key, file, line == 0 ? " (the default)" : "", who,
		       strerror(e));
		err->lib_rc = e;
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_at(err, DS_E_CONFIG, c->path, line,
			      "[%s] %s %s is not a regular file", section,
			      key, file);
	}
	close(fd);
	return 0;
}

static bool
source_uses_tls(const struct conf *c)
{
	size_t i;

	if (c->source.starttls != STARTTLS_NO)
		return true;
	for (i = 0; i < c->source.uri.n; i++)
		if (has_prefix(c->source.uri.v[i], "ldaps://"))
			return true;
	return false;
}

/* A simple bind whose password would cross the network in clear text. */
static void
warn_plain_bind(const struct conf *c, const long *seen, struct sink *k)
{
	long line = key_line(seen, "source", "uri");
	size_t i;

	if (c->source.type == SRC_LDAP && !c->source.tls_verify &&
	    source_uses_tls(c))
		sink_warn(k, c->path, key_line(seen, "source", "tls_verify"),
			  "tls_verify = no: the server's certificate is not "
			  "checked, so anyone on the path can pose as the "
			  "directory%s",
			  c->source.bind_dn != NULL && *c->source.bind_dn
				  ? " and read the bind password"
				  : "");
	if (c->source.type != SRC_LDAP || c->source.bind_dn == NULL ||
	    *c->source.bind_dn == '\0')
		return;
	for (i = 0; i < c->source.uri.n; i++) {
		const char *u = c->source.uri.v[i];

		if (!has_prefix(u, "ldap://") || conf_url_loopback(u))
			continue;
		if (c->source.starttls == STARTTLS_NO)
			sink_warn(k, c->path, line,
				  "%s without StartTLS: the simple bind as %s "
				  "sends its password in clear text; use "
				  "ldaps:// or starttls = demand",
				  u, c->source.bind_dn);
		else if (c->source.starttls == STARTTLS_YES)
			sink_warn(k, c->path,
				  key_line(seen, "source", "starttls"),
				  "starttls = yes goes on without encryption "
				  "when %s refuses StartTLS, and the simple "
				  "bind as %s then sends its password in clear "
				  "text; starttls = demand refuses instead",
				  u, c->source.bind_dn);
	}
}

/* An LDAP filter (RFC 4515) that parses; the run would refuse it. */
static void
check_filter(const struct conf *c, const long *seen, const char *section,
	     const char *key, const char *text, struct sink *k,
	     struct err *err)
{
	struct filter *f;
	struct err fe;

	if (text == NULL || *text == '\0')
		return;
	err_clear(&fe);
	f = filter_parse(text, &fe);
	if (f != NULL) {
		filter_free(f);
		return;
	}
	err_at(err, DS_E_CONFIG, c->path, key_line(seen, section, key),
	       "bad %s in [%s]: %s", key, section, fe.msg);
	sink_note(k, err);
}

/*
 * A member_of group outside base_dn: the read (LDAP or LDIF) never holds
 * it, so nobody is in scope through it.  A warning, as `dirsync test`
 * and the run give it (the same words as rules_scope.c's).
 */
static void
warn_member_of_base(const struct conf *c, const long *seen, struct sink *k)
{
	const char *base = c->source.base_dn;
	char *nbase;
	size_t i, b;

	if (base == NULL || *base == '\0')
		return;
	nbase = dn_normalize(base);
	b = strlen(nbase);
	for (i = 0; i < c->scope.member_of.n; i++) {
		char *ndn = dn_normalize(c->scope.member_of.v[i]);
		size_t n = strlen(ndn);

		if (!((n == b && strcmp(ndn, nbase) == 0) ||
		      (n > b && ndn[n - b - 1] == ',' &&
		       strcmp(ndn + n - b, nbase) == 0)))
			sink_warn(k, c->path,
				  key_line(seen, "scope", "member_of"),
				  "[scope] member_of group %s is outside "
				  "base_dn %s: the read never finds it, and "
				  "nobody is in scope through it",
				  c->scope.member_of.v[i], base);
		free(ndn);
	}
	free(nbase);
}

/*
 * The files the config names, opened as this user: CA files (only when
 * they are used), secret files other than the bind password (read by
 * load_secrets), the LDIF export.  Plus the warnings.
 */
static void
check_files(const struct conf *c, const long *seen, struct sink *k,
	    struct err *err)
{
	size_t i;

	/* libldap loads it even with tls_verify = no: a missing file fails
	 * the TLS context either way */
	if (c->source.type == SRC_LDAP && source_uses_tls(c) &&
	    c->source.tls_ca_file != NULL &&
	    *c->source.tls_ca_file != '\0' &&
	    check_readable(c, seen, "source", "tls_ca_file",
			   c->source.tls_ca_file, err) < 0)
		sink_note(k, err);
	if (c->source.type == SRC_LDIF && c->source.path != NULL &&
	    *c->source.path != '\0' &&
	    check_readable(c, seen, "source", "path", c->source.path,
			   err) < 0)
		sink_note(k, err);
	if (c->target.type == TGT_SCIM && c->target.ca_file != NULL &&
	    *c->target.ca_file != '\0' &&
	    check_readable(c, seen, "target", "ca_file", c->target.ca_file,
			   err) < 0)
		sink_note(k, err);
	for (i = 0; i < NOPTS; i++) {
		const char *v;

		if (!(opts[i].flags & F_SECRET_FILE) ||
		    &opts[i] == opt_find("source", "bind_password_file"))
			continue;
		v = *CFIELD(c, &opts[i], char *);
		if (v != NULL && *v != '\0' &&
		    check_readable(c, seen, opts[i].section, opts[i].key, v,
				   err) < 0)
			sink_note(k, err);
	}
	check_filter(c, seen, "source", "filter", c->source.filter, k, err);
	check_filter(c, seen, "mapping", "group_filter",
		     c->mapping.group_filter, k, err);
	warn_plain_bind(c, seen, k);
	warn_member_of_base(c, seen, k);
}

/* ---- public ----------------------------------------------------------- */

int
conf_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port,
		  const char **why)
{
	const char *colon, *h = s, *p;
	size_t hl;
	unsigned char addr[16];
	char *end;
	long v;

	*why = "wants HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080";
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		p = close + 2;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		if (strchr(s, ':') != colon)
			return -1; /* an IPv6 address needs brackets */
		hl = (size_t)(colon - s);
		p = colon + 1;
	} else {
		h = "127.0.0.1";
		hl = strlen(h);
		p = s;
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535) {
		*why = "the port must be a number from 1 to 65535";
		return -1;
	}
	*port = (unsigned)v;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, hostlen, "127.0.0.1");
	if (inet_pton(s[0] == '[' ? AF_INET6 : AF_INET, host, addr) != 1) {
		*why = "the host must be a numeric IPv4 address, [IPv6] or "
		       "localhost (no name is looked up)";
		return -1;
	}
	return 0;
}

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->source.type = SRC_LDAP;
	c->source.starttls = STARTTLS_NO;
	c->source.tls_ca_file = xstrdup("/etc/ssl/certs/ca-certificates.crt");
	c->source.tls_verify = true;
	c->source.flavor = FLAVOR_AUTO;
	c->source.page_size = 1000;
	c->source.timeout = 30;
	c->scope.mail_enabled_only = true;
	c->scope.enabled_only = true;
	c->scope.visible_only = false;
	c->scope.object_types = OT_USERS | OT_GROUPS | OT_CONTACTS;
	c->mapping.email_attribute = xstrdup("mail");
	strlist_push(&c->mapping.alias_attributes, "proxyAddresses");
	c->mapping.group_filter =
		xstrdup("(|(objectClass=group)(objectClass=groupOfNames)"
			"(objectClass=groupOfUniqueNames))");
	c->target.type = TGT_SQL;
	c->target.url = xstrdup("sqlite:///var/lib/mail/mail.db");
	c->target.schema = xstrdup("postfixadmin");
	c->target.password_scheme = xstrdup("SHA512-CRYPT");
	c->target.statement_timeout = 300;
	c->passwords.min_length = 8;
	c->passwords.min_classes = 3;
	c->passwords.on_failure = PW_ACCEPT;
	c->safety.max_adds = -1;
	c->safety.max_updates = -1;
	c->safety.max_deletes = -1;
	c->safety.max_alias_adds = -1;
	c->safety.max_alias_deletes = -1;
	c->safety.max_total = -1;
	c->safety.max_delete_percent = 10;
	c->safety.max_member_removal_percent = 20;
	c->safety.deprovision = DEPROV_DISABLE;
	c->safety.delete_after = 30L * 86400;
	c->safety.delete_after_runs = 3;
	c->safety.allow_empty = false;
	c->safety.limit_window = -1;    /* resolved after the parse */
	c->schedule.interval = 300;
	c->schedule.full_every = 86400;
	c->notify.when = NOTIFY_CHANGES;
	c->state.path = xstrdup("/var/lib/dirsync/state.db");
	c->state.keep_runs = 1000;
}

static int
conf_load_sink(struct conf *c, const char *path, struct sink *k,
	       struct err *err)
{
	struct parser p;
	struct stat st;
	FILE *fp = NULL;
	int fd;

	err_clear(err);         /* a fresh operation: no stale where/object */
	conf_defaults(c);
	c->path = xstrdup(path);
	memset(&p, 0, sizeof(p));
	p.file = c->path;
	p.c = c;
	p.err = err;
	p.sink = k;

	/* O_NONBLOCK: a FIFO must not hang the open; refused just below */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err_at(err, DS_E_CONFIG, path, 0, "%s", strerror(errno));
		err->lib_rc = errno;
		goto fatal;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_at(err, DS_E_CONFIG, path, 0, "not a regular file");
		close(fd);
		goto fatal;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if ((fp = fdopen(fd, "r")) == NULL) {
		err_at(err, DS_E_CONFIG, path, 0, "%s", strerror(errno));
		close(fd);
		goto fatal;
	}
	if (parse_stream(&p, fp) < 0)
		goto fatal;
	fclose(fp);
	/* watch runs a change or a few at a time: what one periodic run
	 * would have planned at once is spread over many (a user trial:
	 * ten deletes a second apart passed max_deletes = 5) */
	if (c->safety.limit_window < 0)
		c->safety.limit_window = c->schedule.watch
						 ? c->schedule.interval : 0;
	if (load_secrets(c, st.st_mode, k, err) < 0)
		return -1;
	if (cross_check(c, &p, k, err) < 0)
		return -1;
	if (k->diag != NULL)
		check_files(c, p.seen, k, err);
	return k->have_first ? -1 : 0;
fatal:
	if (fp != NULL)
		fclose(fp);
	sink_note(k, err);      /* nothing more can be read */
	return -1;
}

int
conf_load(struct conf *c, const char *path, struct err *err)
{
	struct sink k;

	memset(&k, 0, sizeof(k));
	return conf_load_sink(c, path, &k, err);
}

int
conf_load_all(struct conf *c, const char *path, struct conf_diag *d,
	      struct err *err)
{
	struct sink k;
	int rc;

	memset(&k, 0, sizeof(k));
	memset(d, 0, sizeof(*d));
	k.diag = d;
	rc = conf_load_sink(c, path, &k, err);
	if (k.have_first)
		*err = k.first;
	return rc;
}

void
conf_diag_free(struct conf_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].text);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static void
dump_value(const struct conf *c, const struct opt *o, FILE *fp)
{
	char tmp[64];
	size_t i;

	switch (o->type) {
	case T_STR: {
		const char *s = *CFIELD(c, o, char *);

		if (s == NULL || *s == '\0')
			fprintf(fp, "%s =\n", o->key);
		else
			fprintf(fp, "%s = %s\n", o->key, s);
		break;
	}
	case T_BOOL:
		fprintf(fp, "%s = %s\n", o->key,
			*CFIELD(c, o, bool) ? "yes" : "no");
		break;
	case T_INT: {
		long v = *CFIELD(c, o, long);

		if (v < 0 && (o->flags & F_NOLIMIT))
			fprintf(fp, "%s =\n", o->key);
		else
			fprintf(fp, "%s = %ld\n", o->key, v);
		break;
	}
	case T_DUR:
		fmt_duration(*CFIELD(c, o, long), tmp, sizeof(tmp));
		fprintf(fp, "%s = %s\n", o->key, tmp);
		break;
	case T_ENUM: {
		int v = *CFIELD(c, o, int), n;

		for (n = 0; o->names[n] != NULL; n++)
			;
		fprintf(fp, "%s = %s\n", o->key,
			v >= 0 && v < n ? o->names[v] : "?");
		break;
	}
	case T_OTYPES: {
		unsigned bits = *CFIELD(c, o, unsigned);
		const char *sep = "";

		fprintf(fp, "%s =", o->key);
		for (i = 0; o->names[i] != NULL; i++) {
			if (bits & (1u << i)) {
				fprintf(fp, "%s%s", *sep ? sep : " ",
					o->names[i]);
				sep = " ";
			}
		}
		fputc('\n', fp);
		break;
	}
	case T_WORDS: {
		const struct strlist *l = CFIELD(c, o, struct strlist);

		fprintf(fp, "%s =", o->key);
		for (i = 0; i < l->n; i++)   /* as they are written (next_word) */
			fprintf(fp, strpbrk(l->v[i], " \t") != NULL ? " \"%s\""
								 : " %s",
				l->v[i]);
		fputc('\n', fp);
		break;
	}
	case T_LINES: {
		const struct strlist *l = CFIELD(c, o, struct strlist);

		if (l->n == 1) {
			fprintf(fp, "%s = %s\n", o->key, l->v[0]);
			break;
		}
		fprintf(fp, "%s =\n", o->key);
		for (i = 0; i < l->n; i++)
			fprintf(fp, "\t%s\n", l->v[i]);
		break;
	}
	}
}

void
conf_dump(const struct conf *c, FILE *fp)
{
	const char *section = NULL;
	size_t i;

	for (i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		if (section == NULL || strcmp(section, o->section) != 0) {
			fprintf(fp, "%s[%s]\n", section ? "\n" : "",
				o->section);
			section = o->section;
		}
		if (o->flags & F_SECRET) {
			/* Shown as a comment so the dump stays loadable. */
			const char *v = *CFIELD(c, o, char *);
			char fkey[64];
			const struct opt *fo;
			const char *file = NULL;

			snprintf(fkey, sizeof(fkey), "%s_file", o->key);
			fo = opt_find(o->section, fkey);
			if (fo != NULL)
				file = *CFIELD(c, fo, char *);

			if (v == NULL)
				fprintf(fp, "; %s: not set\n", o->key);
			else if (file != NULL && *file != '\0')
				fprintf(fp, "; %s = %s (from file %s)\n",
					o->key, CONF_MASK, file);
			else
				fprintf(fp, "; %s = %s (from $%s)\n", o->key,
					CONF_MASK, CONF_ENV_PASSWORD);
			continue;
		}
		dump_value(c, o, fp);
	}
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c->source.bind_password != NULL)
		explicit_bzero(c->source.bind_password,
			       strlen(c->source.bind_password));
	free(c->path);
	for (i = 0; i < NOPTS; i++) {
		switch (opts[i].type) {
		case T_STR:
			free(*FIELD(c, &opts[i], char *));
			break;
		case T_WORDS:
		case T_LINES:
			strlist_free(FIELD(c, &opts[i], struct strlist));
			break;
		default:
			break;
		}
	}
	memset(c, 0, sizeof(*c));
}

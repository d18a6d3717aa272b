/*
 * filter.c - RFC 4515 search filters: a recursive-descent parser into a
 * small tree, and an evaluator over struct entry.
 *
 * Evaluation is two-valued: an item on an absent attribute is false, so
 * (!(a=b)) is true for an entry without `a`, as on AD and OpenLDAP.
 * Values compare ASCII case-insensitively (caseIgnoreMatch for the string
 * syntaxes a mail sync meets); DN-valued attributes (member, memberOf,
 * manager, ...) compare after dn_normalize().  Ordering (>=, <=) is
 * numeric when both sides are integers, else case-insensitive bytewise,
 * which is right for GeneralizedTime.  Approximate match (~=) is equality.
 *
 * Bounds: nesting depth FILTER_MAX_DEPTH, text FILTER_MAX_LEN bytes.
 */
#include "util/filter.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/xalloc.h"

#define FILTER_MAX_DEPTH 64
#define FILTER_MAX_LEN (64 * 1024)
#define FILTER_MAX_ATTR 256

#define OID_BIT_AND "1.2.840.113556.1.4.803"
#define OID_BIT_OR "1.2.840.113556.1.4.804"

enum fkind {
	F_AND,
	F_OR,
	F_NOT,
	F_EQ,
	F_PRESENT,
	F_SUB,
	F_GE,
	F_LE,
	F_BITAND,
	F_BITOR,
};

struct fval {
	char *p; /* NUL-terminated; may hold NULs from \00 */
	size_t len;
};

struct filter {
	enum fkind kind;
	char *attr;          /* leaves: attribute name without options */
	bool is_dn;          /* DN-valued attribute: compare normalised */
	bool is_oc;          /* objectClass: (objectClass=*) always true */
	struct fval val;     /* EQ, GE, LE; SUB: initial (len 0 = none) */
	struct fval fin;     /* SUB: final (len 0 = none) */
	struct fval *any;    /* SUB: middle pieces */
	size_t nany;
	uint64_t bits;       /* BITAND, BITOR */
	struct filter **kids; /* AND, OR (n kids), NOT (1 kid) */
	size_t nkids;
};

struct parser {
	const char *s;
	size_t len, pos;
	struct err *err;
};

/* Attributes whose values are DNs: compared after dn_normalize(). */
static const char *const dn_attrs[] = {
	"member", "memberOf", "uniqueMember", "manager", "managedBy",
	"directReports", "owner", "secretary", "seeAlso", "distinguishedName",
	"entryDN", "roleOccupant", "msExchCoManagedByLink", NULL,
};

static bool
is_dn_attr(const char *name)
{
	size_t i;

	for (i = 0; dn_attrs[i] != NULL; i++)
		if (strcasecmp(dn_attrs[i], name) == 0)
			return true;
	return false;
}

static struct filter *
parse_error(struct parser *ps, const char *what)
{
	char shown[200];
	size_t n = ps->len < sizeof(shown) - 4 ? ps->len : sizeof(shown) - 4;

	memcpy(shown, ps->s, n);
	if (n < ps->len)
		memcpy(shown + n, "...", 4);
	else
		shown[n] = '\0';
	/* keep the message one line even if the filter spans several */
	for (n = 0; shown[n] != '\0'; n++)
		if (shown[n] == '\n' || shown[n] == '\r' || shown[n] == '\t')
			shown[n] = ' ';
	err_set(ps->err, DS_E_CONFIG, "filter: %s at offset %zu in '%s'", what,
		ps->pos, shown);
	return NULL;
}

static void
skip_ws(struct parser *ps)
{
	while (ps->pos < ps->len &&
	       (ps->s[ps->pos] == ' ' || ps->s[ps->pos] == '\t' ||
		ps->s[ps->pos] == '\n' || ps->s[ps->pos] == '\r'))
		ps->pos++;
}

void
filter_free(struct filter *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nkids; i++)
		filter_free(f->kids[i]);
	free(f->kids);
	for (i = 0; i < f->nany; i++)
		free(f->any[i].p);
	free(f->any);
	free(f->attr);
	free(f->val.p);
	free(f->fin.p);
	free(f);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Unescapes s[from, to) (no unescaped '*' inside) into v.  Returns -1 on a
 * bad escape, with ps->pos at it.
 */
static int
unescape(struct parser *ps, size_t from, size_t to, struct fval *v)
{
	char *out = xmalloc(to - from + 1);
	size_t i, o = 0;

	for (i = from; i < to; i++) {
		char c = ps->s[i];

		if (c == '\\') {
			int h, l;

			if (i + 2 >= to ||
			    (h = hexval(ps->s[i + 1])) < 0 ||
			    (l = hexval(ps->s[i + 2])) < 0) {
				free(out);
				ps->pos = i;
				parse_error(ps, "bad escape (want \\ and two "
						"hex digits)");
				return -1;
			}
			out[o++] = (char)(h << 4 | l);
			i += 2;
			continue;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	v->p = out;
	v->len = o;
	return 0;
}

/* "123", "-5": integer with explicit bounds; false when not one. */
static bool
parse_int(const char *p, size_t len, int64_t *out)
{
	char tmp[32];
	char *end;
	long long v;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if (!(isdigit((unsigned char)tmp[0]) ||
	      (tmp[0] == '-' && isdigit((unsigned char)tmp[1]))))
		return false;
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/*
 * AD stores flag words as signed 32-bit integers (groupType of a security
 * group is negative); bit rules work on the 32-bit pattern.
 */
static uint64_t
as_bits(int64_t v)
{
	if (v < 0 && v >= INT32_MIN)
		return (uint64_t)(uint32_t)(int32_t)v;
	return (uint64_t)v;
}

static char *
attr_dup(const char *p, size_t n)
{
	const char *semi = memchr(p, ';', n);

	return xstrndup(p, semi != NULL ? (size_t)(semi - p) : n);
}

static bool
valid_attr(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > FILTER_MAX_ATTR || !isalnum((unsigned char)p[0]))
		return false;
	for (i = 1; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!isalnum(c) && c != '-' && c != '.' && c != '_' &&
		    c != ';')
			return false;
	}
	return true;
}

/* Offset of the next '*' in s[from, to), or `to`. */
static size_t
next_star(const char *s, size_t from, size_t to)
{
	const char *q = from < to ? memchr(s + from, '*', to - from) : NULL;

	return q != NULL ? (size_t)(q - s) : to;
}

/*
 * The extensible part of attr[:dn][:rule]:=value in s[start, opend):
 * sets *attrend and *kind (F_EQ without a rule, F_BITAND / F_BITOR for
 * the AD bit rules).  -1 (parse error set) for anything else.
 */
static int
parse_extensible(struct parser *ps, size_t start, size_t opend,
		 size_t *attrend, enum fkind *kind)
{
	const char *s = ps->s;
	const char *c1 = memchr(s + start, ':', opend - start);
	const char *rule = NULL;
	size_t rulelen = 0, i;
	bool dnflag = false;

	*attrend = c1 != NULL ? (size_t)(c1 - s) : opend;
	i = *attrend;
	while (i < opend) {
		size_t cs = i + 1, ce = cs;

		while (ce < opend && s[ce] != ':')
			ce++;
		if (ce - cs == 2 && strncasecmp(s + cs, "dn", 2) == 0 &&
		    rule == NULL) {
			dnflag = true;
		} else if (rule == NULL && ce > cs) {
			rule = s + cs;
			rulelen = ce - cs;
		} else {
			ps->pos = cs;
			parse_error(ps, "bad extensible match");
			return -1;
		}
		i = ce;
	}
	ps->pos = start;
	if (*attrend == start) {
		parse_error(ps, "unsupported matching rule (no attribute)");
		return -1;
	}
	if (dnflag) {
		parse_error(ps, "unsupported matching rule (:dn:)");
		return -1;
	}
	if (rule == NULL) {
		*kind = F_EQ;
	} else if (rulelen == strlen(OID_BIT_AND) &&
		   memcmp(rule, OID_BIT_AND, rulelen) == 0) {
		*kind = F_BITAND;
	} else if (rulelen == strlen(OID_BIT_OR) &&
		   memcmp(rule, OID_BIT_OR, rulelen) == 0) {
		*kind = F_BITOR;
	} else {
		ps->pos = (size_t)(rule - s);
		parse_error(ps, "unsupported matching rule");
		return -1;
	}
	return 0;
}

/* The integer value of a bit rule, s[vstart, vend). */
static int
parse_bits(struct parser *ps, struct filter *f, size_t vstart, size_t vend)
{
	struct fval v;
	int64_t n;

	if (unescape(ps, vstart, vend, &v) < 0)
		return -1;
	if (!parse_int(v.p, v.len, &n) || strlen(v.p) != v.len) {
		free(v.p);
		ps->pos = vstart;
		parse_error(ps, "bit rule needs an integer value");
		return -1;
	}
	free(v.p);
	f->bits = as_bits(n);
	return 0;
}

/* Presence or substrings: s[vstart, vend) holds an unescaped '*'. */
static int
parse_substrings(struct parser *ps, struct filter *f, size_t vstart,
		 size_t vend)
{
	const char *s = ps->s;
	size_t p = vstart, star;

	if (vend - vstart == 1) {
		f->kind = F_PRESENT;
		return 0;
	}
	f->kind = F_SUB;
	star = next_star(s, p, vend);
	if (unescape(ps, p, star, &f->val) < 0)
		return -1;
	p = star + 1;
	while ((star = next_star(s, p, vend)) < vend) {
		struct fval v;

		if (star == p) {
			ps->pos = p;
			parse_error(ps, "empty substring ('**')");
			return -1;
		}
		if (unescape(ps, p, star, &v) < 0)
			return -1;
		f->any = xrealloc(f->any, (f->nany + 1) * sizeof(*f->any));
		f->any[f->nany++] = v;
		p = star + 1;
	}
	if (unescape(ps, p, vend, &f->fin) < 0)
		return -1;
	ps->pos = vend;
	return 0;
}

/* An equality or ordering value; DN values are normalised. */
static int
parse_value(struct parser *ps, struct filter *f, size_t vstart, size_t vend)
{
	if (f->kind != F_EQ &&
	    memchr(ps->s + vstart, '*', vend - vstart) != NULL) {
		ps->pos = vstart;
		parse_error(ps, "'*' not allowed in an ordering match");
		return -1;
	}
	if (unescape(ps, vstart, vend, &f->val) < 0)
		return -1;
	if (f->is_dn && f->kind == F_EQ && strlen(f->val.p) == f->val.len) {
		char *n = dn_normalize(f->val.p);

		free(f->val.p);
		f->val.p = n;
		f->val.len = strlen(n);
	}
	ps->pos = vend;
	return 0;
}

/* An item: attr op value, ps->pos at its first byte, ')' follows. */
static struct filter *
parse_item(struct parser *ps)
{
	size_t start = ps->pos, i, vstart, vend, op, opend, attrend;
	struct filter *f;
	enum fkind kind;
	const char *s = ps->s;
	int rc;

	/* value ends at the first unescaped ')' */
	for (i = start; i < ps->len && s[i] != ')'; i++) {
		if (s[i] == '(') {
			ps->pos = i;
			return parse_error(ps, "unescaped '(' in value");
		}
	}
	if (i >= ps->len) {
		ps->pos = ps->len;
		return parse_error(ps, "unbalanced parenthesis");
	}
	vend = i;
	/* the operator: first '=' (attribute names cannot hold one) */
	for (op = start; op < vend && s[op] != '='; op++)
		;
	if (op >= vend) {
		ps->pos = start;
		return parse_error(ps, "missing '=' in filter item");
	}
	vstart = op + 1;
	opend = op;
	kind = F_EQ;
	if (op > start && (s[op - 1] == '>' || s[op - 1] == '<' ||
			   s[op - 1] == '~' || s[op - 1] == ':')) {
		opend = op - 1;
		kind = s[op - 1] == '>'	  ? F_GE
		       : s[op - 1] == '<' ? F_LE
		       : s[op - 1] == ':' ? F_BITAND /* extensible */
					  : F_EQ;
	}
	attrend = opend;
	if (kind == F_BITAND &&
	    parse_extensible(ps, start, opend, &attrend, &kind) != 0)
		return NULL;
	if (!valid_attr(s + start, attrend - start)) {
		ps->pos = start;
		return parse_error(ps, "bad attribute name");
	}

	f = xcalloc(1, sizeof(*f));
	f->attr = attr_dup(s + start, attrend - start);
	f->is_dn = is_dn_attr(f->attr);
	f->is_oc = strcasecmp(f->attr, "objectClass") == 0;
	f->kind = kind;
	ps->pos = vend;
	if (kind == F_BITAND || kind == F_BITOR)
		rc = parse_bits(ps, f, vstart, vend);
	else if (kind == F_EQ && memchr(s + vstart, '*', vend - vstart))
		rc = parse_substrings(ps, f, vstart, vend);
	else
		rc = parse_value(ps, f, vstart, vend);
	if (rc != 0) {
		filter_free(f);
		return NULL;
	}
	return f;
}

/* "(" ... ")" at ps->pos (whitespace skipped). */
static struct filter *
parse_filter(struct parser *ps, int depth)
{
	struct filter *f = NULL, *kid;
	char c;

	skip_ws(ps);
	if (ps->pos >= ps->len)
		return parse_error(ps, "unexpected end (missing filter)");
	if (ps->s[ps->pos] != '(')
		return parse_error(ps, "expected '('");
	if (depth >= FILTER_MAX_DEPTH)
		return parse_error(ps, "filter nested too deeply");
	ps->pos++;
	skip_ws(ps);
	if (ps->pos >= ps->len)
		return parse_error(ps, "unbalanced parenthesis");
	c = ps->s[ps->pos];
	if (c == '&' || c == '|' || c == '!') {
		f = xcalloc(1, sizeof(*f));
		f->kind = c == '&' ? F_AND : c == '|' ? F_OR : F_NOT;
		ps->pos++;
		for (;;) {
			skip_ws(ps);
			if (ps->pos >= ps->len) {
				parse_error(ps, "unbalanced parenthesis");
				goto fail;
			}
			if (ps->s[ps->pos] == ')')
				break;
			if (ps->s[ps->pos] != '(') {
				parse_error(ps, "expected '(' or ')'");
				goto fail;
			}
			kid = parse_filter(ps, depth + 1);
			if (kid == NULL)
				goto fail;
			f->kids = xrealloc(f->kids,
					   (f->nkids + 1) * sizeof(*f->kids));
			f->kids[f->nkids++] = kid;
		}
		if (f->kind == F_NOT && f->nkids != 1) {
			parse_error(ps, "'!' takes exactly one filter");
			goto fail;
		}
	} else if (c == ')') {
		return parse_error(ps, "empty filter '()'");
	} else {
		f = parse_item(ps);
		if (f == NULL)
			return NULL;
	}
	/* ps->pos is at the closing ')' */
	ps->pos++;
	return f;
fail:
	filter_free(f);
	return NULL;
}

struct filter *
filter_parse(const char *text, struct err *err)
{
	struct parser ps = {text, 0, 0, err};
	struct filter *f;

	if (text == NULL)
		text = ps.s = "";
	ps.len = strlen(text);
	if (ps.len > FILTER_MAX_LEN) {
		err_set(err, DS_E_CONFIG, "filter: longer than %d bytes",
			FILTER_MAX_LEN);
		return NULL;
	}
	skip_ws(&ps);
	if (ps.pos >= ps.len)
		return parse_error(&ps, "empty filter");
	if (text[ps.pos] != '(') {
		/* "objectClass=user": a bare item, as ldapsearch accepts */
		size_t end = ps.len;

		while (end > ps.pos &&
		       (text[end - 1] == ' ' || text[end - 1] == '\n' ||
			text[end - 1] == '\r' || text[end - 1] == '\t'))
			end--;
		if (memchr(text + ps.pos, ')', end - ps.pos) != NULL ||
		    memchr(text + ps.pos, '(', end - ps.pos) != NULL)
			return parse_error(&ps, "expected '('");
		{
			char *wrapped = xasprintf("(%.*s)", (int)(end - ps.pos),
						  text + ps.pos);

			f = filter_parse(wrapped, err);
			free(wrapped);
			return f;
		}
	}
	f = parse_filter(&ps, 0);
	if (f == NULL)
		return NULL;
	skip_ws(&ps);
	if (ps.pos < ps.len) {
		filter_free(f);
		return parse_error(&ps, ps.s[ps.pos] == ')'
						? "unbalanced parenthesis"
						: "trailing text after filter");
	}
	return f;
}

/* ---- evaluation ---- */

static const struct attr *
find_attr(const struct entry *e, const char *name)
{
	unsigned char c0 = (unsigned char)tolower((unsigned char)name[0]);
	size_t i;

	for (i = 0; i < e->nattrs; i++) {
		const char *n = e->attrs[i].name;

		if ((unsigned char)tolower((unsigned char)n[0]) == c0 &&
		    strcasecmp(n, name) == 0)
			return &e->attrs[i];
	}
	return NULL;
}

static bool
ci_eq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i] && tolower((unsigned char)a[i]) !=
					    tolower((unsigned char)b[i]))
			return false;
	return true;
}

/* Case-insensitive search for needle in hay[0, hlen); offset or -1. */
static long
ci_find(const char *hay, size_t hlen, const struct fval *needle)
{
	size_t i;

	if (needle->len > hlen)
		return -1;
	for (i = 0; i + needle->len <= hlen; i++)
		if (ci_eq(hay + i, needle->p, needle->len))
			return (long)i;
	return -1;
}

static bool
match_sub(const struct filter *f, const struct val *v)
{
	size_t pos = 0, i, end = v->len;

	if (f->val.len + f->fin.len > v->len)
		return false;
	if (f->val.len > 0 && !ci_eq(v->p, f->val.p, f->val.len))
		return false;
	pos = f->val.len;
	if (f->fin.len > 0) {
		end = v->len - f->fin.len;
		if (!ci_eq(v->p + end, f->fin.p, f->fin.len))
			return false;
	}
	for (i = 0; i < f->nany; i++) {
		long at = ci_find(v->p + pos, end - pos, &f->any[i]);

		if (at < 0)
			return false;
		pos += (size_t)at + f->any[i].len;
	}
	return true;
}

static int
ci_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n; i++) {
		int ca = tolower((unsigned char)a[i]);
		int cb = tolower((unsigned char)b[i]);

		if (ca != cb)
			return ca - cb;
	}
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static bool
match_value(const struct filter *f, const struct val *v)
{
	int64_t a, b;
	int c;

	switch (f->kind) {
	case F_EQ:
		if (f->is_dn && strlen(v->p) == v->len) {
			char *n = dn_normalize(v->p);
			bool eq = strlen(n) == f->val.len &&
				  memcmp(n, f->val.p, f->val.len) == 0;

			free(n);
			return eq;
		}
		return v->len == f->val.len && ci_eq(v->p, f->val.p, v->len);
	case F_SUB:
		return match_sub(f, v);
	case F_GE:
	case F_LE:
		if (parse_int(v->p, v->len, &a) &&
		    parse_int(f->val.p, f->val.len, &b))
			c = a < b ? -1 : a > b;
		else
			c = ci_cmp(v->p, v->len, f->val.p, f->val.len);
		return f->kind == F_GE ? c >= 0 : c <= 0;
	case F_BITAND:
	case F_BITOR:
		if (!parse_int(v->p, v->len, &a))
			return false;
		return f->kind == F_BITAND ? (as_bits(a) & f->bits) == f->bits
					   : (as_bits(a) & f->bits) != 0;
	default:
		return false;
	}
}

static bool
match(const struct filter *f, const struct entry *e)
{
	const struct attr *a;
	size_t i;

	switch (f->kind) {
	case F_AND:
		for (i = 0; i < f->nkids; i++)
			if (!match(f->kids[i], e))
				return false;
		return true;
	case F_OR:
		for (i = 0; i < f->nkids; i++)
			if (match(f->kids[i], e))
				return true;
		return false;
	case F_NOT:
		return !match(f->kids[0], e);
	default:
		break;
	}
	a = find_attr(e, f->attr);
	if (f->kind == F_PRESENT)
		return f->is_oc || (a != NULL && a->nvals > 0);
	if (a == NULL)
		return false;
	for (i = 0; i < a->nvals; i++)
		if (match_value(f, &a->vals[i]))
			return true;
	return false;
}

bool
filter_match(const struct filter *f, const struct entry *e)
{
	return f == NULL || match(f, e);
}

static size_t
collect(const struct filter *f, const char **out, size_t n, size_t max)
{
	size_t i;

	if (f->attr != NULL) {
		for (i = 0; i < n; i++)
			if (strcasecmp(out[i], f->attr) == 0)
				return n;
		if (n < max)
			out[n++] = f->attr;
		return n;
	}
	for (i = 0; i < f->nkids; i++)
		n = collect(f->kids[i], out, n, max);
	return n;
}

size_t
filter_attrs(const struct filter *f, const char **out, size_t max)
{
	return f == NULL ? 0 : collect(f, out, 0, max);
}

char *
filter_escape(const char *value)
{
	struct buf b = BUF_INIT;
	const char *p;

	buf_add(&b, "", 0);
	for (p = value; *p != '\0'; p++) {
		switch (*p) {
		case '*':
		case '(':
		case ')':
		case '\\':
			buf_printf(&b, "\\%02x", (unsigned char)*p);
			break;
		default:
			buf_addc(&b, *p);
		}
	}
	return buf_steal(&b);
}

#include "model/entry.h"

#include <ctype.h>
#include <stdint.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>
#include <wctype.h>

#include <ldap.h>

#include "util/arena.h"
#include "util/xalloc.h"

const struct attr *
entry_attr(const struct entry *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nattrs; i++)
		if (strcasecmp(e->attrs[i].name, name) == 0)
			return &e->attrs[i];
	return NULL;
}

/* The old byte-wise form: for strings libldap does not parse as a DN. */
static char *
dn_normalize_bytes(const char *dn)
{
	size_t n = strlen(dn), i, o = 0;
	char *out = xmalloc(n + 1);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)dn[i];

		if (c == '\\' && i + 1 < n) {
			out[o++] = (char)c;
			out[o++] = (char)tolower((unsigned char)dn[++i]);
			continue;
		}
		if (c == ',' || c == '=' || c == '+') {
			while (o > 0 && out[o - 1] == ' ' &&
			       !(o > 1 && out[o - 2] == '\\'))
				o--;
			out[o++] = (char)c;
			while (i + 1 < n && dn[i + 1] == ' ')
				i++;
			continue;
		}
		if (o == 0 && c == ' ')
			continue;
		out[o++] = (char)tolower(c);
	}
	while (o > 0 && out[o - 1] == ' ' && !(o > 1 && out[o - 2] == '\\'))
		o--;
	out[o] = '\0';
	return out;
}

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void
utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* One UTF-8 character at s (n bytes left): its length, 0 if not UTF-8. */
static size_t
utf8_dec(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t k, i;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	k = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (k > n)
		return 0;
	*cp = s[0] & (0x7f >> k);
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return k;
}

static size_t
utf8_enc(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Lower-cases n bytes of UTF-8 in place, character by character
 * (Unicode simple case mapping of glibc's C.UTF-8 locale); returns the
 * new length.  A character whose lower case needs more bytes (a handful,
 * e.g. U+023A) is kept as is; bytes that are not UTF-8 are kept too.
 */
static size_t
lower_utf8(char *s, size_t n)
{
	unsigned char *u = (unsigned char *)s, tmp[4];
	size_t i = 0, o = 0;

	while (i < n && u[i] < 0x80) {   /* ASCII, the usual case */
		if (u[i] >= 'A' && u[i] <= 'Z')
			u[i] = (unsigned char)(u[i] + ('a' - 'A'));
		i++;
	}
	if (i == n)
		return n;
	o = i;
	pthread_once(&utf8_once, utf8_locale_init);
	while (i < n) {
		uint32_t cp;
		size_t k, m;

		if (u[i] < 0x80) {
			u[o++] = (unsigned char)(u[i] >= 'A' && u[i] <= 'Z'
							 ? u[i] + ('a' - 'A')
							 : u[i]);
			i++;
			continue;
		}
		k = utf8_dec(u + i, n - i, &cp);
		if (k == 0 || utf8_locale == (locale_t)0) {
			u[o++] = u[i++];
			continue;
		}
		m = utf8_enc((uint32_t)towlower_l((wint_t)cp, utf8_locale),
			     tmp);
		if (m > k) {
			memmove(u + o, u + i, k);
			o += k;
		} else {
			memcpy(u + o, tmp, m);
			o += m;
		}
		i += k;
	}
	return o;
}

static int
cmp_ava(const void *x, const void *y)
{
	const LDAPAVA *a = *(LDAPAVA *const *)x, *b = *(LDAPAVA *const *)y;
	size_t n = a->la_attr.bv_len < b->la_attr.bv_len ? a->la_attr.bv_len
							: b->la_attr.bv_len;
	int c = memcmp(a->la_attr.bv_val, b->la_attr.bv_val, n);

	if (c != 0 || a->la_attr.bv_len == b->la_attr.bv_len)
		return c;
	return a->la_attr.bv_len < b->la_attr.bv_len ? -1 : 1;
}

/*
 * RFC 4514 parsing and printing by libldap (ldap_str2dn/ldap_dn2str):
 * "\2C" and "\," are the same character, spaces around separators go,
 * a quoted RFC 1779 value is unquoted.  Attribute types and (non-binary)
 * values are lower-cased, non-ASCII letters too: AD and the usual LDAP
 * naming attributes (cn, ou, dc, uid) compare case-insensitively.
 * Strings libldap does not take as a DN keep the byte-wise form.
 */
/*
 * The common DN needs no parser: "CN=Ann Lee,OU=Staff,DC=example,DC=com"
 * made only of letters, digits, '-', '.', '_', '@' and inner spaces,
 * one type=value per RDN, no space next to a separator.  libldap's form
 * of such a DN is the DN lower-cased (nothing to unescape, unquote,
 * trim or escape), so it is built directly; anything else goes to
 * libldap.  (Our own code, for speed: a third of the rules' time went to
 * libldap for DNs like these; test_rules' test_dn_plain_agrees checks
 * both agree.)
 *
 * One pass over the DN, two table look-ups a byte: the byte's class
 * (dn_class) and the state it leads to (dn_next), the byte copied
 * lower-cased as it goes.  A plain DN is
 *
 *   type  = letter *(letter / digit / "-")
 *   value = vchar *(vchar / " " vchar)       vchar: letter digit - . _ @
 *   dn    = type "=" value *("," type "=" value)
 *
 * so a space is only ever followed by a vchar: not first in a value, not
 * last, not doubled, not next to ',' (nor '=', which a value never has).
 */
enum {
	DN_X,           /* anything else: not plain */
	DN_D,           /* digit */
	DN_H,           /* '-' */
	DN_P,           /* '.' '_' '@': in values only */
	DN_E,           /* '=' */
	DN_C,           /* ',' */
	DN_S,           /* ' ' */
	DN_Z,           /* the terminating NUL */
	/* a letter's class has the bit that, or'd in, makes it lower case */
	DN_LOWER = 0x20,
	DN_L = DN_LOWER | 1,
	DN_NCLASSES = 64
};

#define X DN_X
#define L DN_L
#define D DN_D
#define H DN_H
#define P DN_P
#define E DN_E
#define C DN_C
#define S DN_S
#define Z DN_Z
static const unsigned char dn_class[256] = {
	/* 00 */ Z, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	/* 10 */ X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	/* 20 */ S, X, X, X, X, X, X, X, X, X, X, X, C, H, P, X,
	/* 30 */ D, D, D, D, D, D, D, D, D, D, X, X, X, E, X, X,
	/* 40 */ P, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
	/* 50 */ L, L, L, L, L, L, L, L, L, L, L, X, X, X, X, P,
	/* 60 */ X, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
	/* 70 */ L, L, L, L, L, L, L, L, L, L, L, X, X, X, X, X,
	/* 80 - ff: not ASCII, not plain */
};
#undef X
#undef L
#undef D
#undef H
#undef P
#undef E
#undef C
#undef S
#undef Z

enum {
	DS_BAD,         /* done: not a plain DN */
	DS_END,         /* done: a plain DN */
	DS_TYPE0,       /* at a type's first byte */
	DS_TYPE,        /* in a type */
	DS_VALUE0,      /* at a value's first byte */
	DS_VALUE,       /* in a value */
	DS_SPACE,       /* after a space in a value */
	DS_NSTATES
};

/* dn_next[state][class]: the state after a byte of that class; any not
 * listed, DS_BAD.  (Rows of 64: the row's offset is a shift.) */
static const unsigned char dn_next[DS_NSTATES][DN_NCLASSES] = {
	[DS_TYPE0] = {[DN_L] = DS_TYPE},
	[DS_TYPE] = {[DN_L] = DS_TYPE, [DN_D] = DS_TYPE, [DN_H] = DS_TYPE,
		     [DN_E] = DS_VALUE0},
	[DS_VALUE0] = {[DN_L] = DS_VALUE, [DN_D] = DS_VALUE,
		       [DN_H] = DS_VALUE, [DN_P] = DS_VALUE},
	[DS_VALUE] = {[DN_L] = DS_VALUE, [DN_D] = DS_VALUE,
		      [DN_H] = DS_VALUE, [DN_P] = DS_VALUE,
		      [DN_C] = DS_TYPE0, [DN_S] = DS_SPACE, [DN_Z] = DS_END},
	[DS_SPACE] = {[DN_L] = DS_VALUE, [DN_D] = DS_VALUE,
		      [DN_H] = DS_VALUE, [DN_P] = DS_VALUE},
};

/*
 * dn's normal form into out, which has room for strlen(dn) + 1 bytes,
 * when dn is a plain DN: true, out NUL-terminated.  false when it is not
 * (libldap's job); out then holds part of it.  Every state leaves on the
 * NUL, so the pass needs no bound of its own.
 */
static bool
dn_plain(const char *dn, char *out)
{
	const unsigned char *s = (const unsigned char *)dn;
	size_t st = DS_TYPE0;

	for (;;) {
		size_t c = *s++, k = dn_class[c];

		*out++ = (char)(c | (k & DN_LOWER));
		st = dn_next[st][k];
		if (st <= DS_END)
			return st == DS_END;
	}
}

bool
dn_normalize_plain(const char *dn, char *out)
{
	return dn_plain(dn, out);
}

char *
dn_normalize(const char *dn)
{
	char *out = xmalloc(strlen(dn) + 1);

	if (dn_plain(dn, out))
		return out;
	free(out);
	return dn_normalize_ldap(dn);
}

/* Plain DNs shorter than this are normalised on the stack, then copied. */
#define DN_STACK 256

char *
dn_normalize_arena(struct arena *a, const char *dn)
{
	char buf[DN_STACK], *n, *out;
	size_t len = strlen(dn);

	if (len < sizeof(buf) && dn_plain(dn, buf))
		return arena_strndup(a, buf, len);
	n = len < sizeof(buf) ? dn_normalize_ldap(dn) : dn_normalize(dn);
	out = arena_strdup(a, n);
	free(n);
	return out;
}

char *
dn_normalize_ldap(const char *dn)
{
	LDAPDN d = NULL;
	char *s = NULL, *out;
	int r, a;

	if (ldap_str2dn(dn, &d, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS ||
	    d == NULL) {
		if (d != NULL)
			ldap_dnfree(d);
		return dn_normalize_bytes(dn);
	}
	for (r = 0; d[r] != NULL; r++) {
		for (a = 0; d[r][a] != NULL; a++) {
			LDAPAVA *ava = d[r][a];

			ava->la_attr.bv_len = lower_utf8(ava->la_attr.bv_val,
							 ava->la_attr.bv_len);
			if (!(ava->la_flags & LDAP_AVA_BINARY))
				ava->la_value.bv_len = lower_utf8(
					ava->la_value.bv_val,
					ava->la_value.bv_len);
		}
		/* a multi-valued RDN is a set: "cn=a+uid=b" = "uid=b+cn=a" */
		if (a > 1)
			qsort(d[r], (size_t)a, sizeof(d[r][0]), cmp_ava);
	}
	if (ldap_dn2str(d, &s, LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY) !=
		    LDAP_SUCCESS ||
	    s == NULL) {
		ldap_dnfree(d);
		return dn_normalize_bytes(dn);
	}
	out = xstrdup(s);
	ldap_memfree(s);
	ldap_dnfree(d);
	return out;
}

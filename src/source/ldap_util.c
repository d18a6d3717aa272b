#include "source/ldap_util.h"

#include <string.h>
#include <strings.h>

/* Digits only, 1..18 of them (fits a long): the value, or -1. */
static long
ldap_util_number(const char *p, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int
ldap_util_parse_range(const char *name, size_t len, size_t *baselen,
		      unsigned long *lo, long *hi)
{
	const char *end = name + len, *opt, *next, *oend, *dash;
	long l, h;

	opt = memchr(name, ';', len);
	*baselen = opt ? (size_t)(opt - name) : len;
	for (; opt != NULL && opt < end; opt = next) {
		opt++;
		next = memchr(opt, ';', (size_t)(end - opt));
		oend = next ? next : end;
		if ((size_t)(oend - opt) < 6 ||
		    strncasecmp(opt, "range=", 6) != 0)
			continue;
		opt += 6;
		dash = memchr(opt, '-', (size_t)(oend - opt));
		if (dash == NULL ||
		    (l = ldap_util_number(opt, (size_t)(dash - opt))) < 0)
			return -1;
		if (oend - dash == 2 && dash[1] == '*') {
			h = -1;
		} else {
			h = ldap_util_number(dash + 1, (size_t)(oend - dash - 1));
			if (h < 0 || h < l)
				return -1;
		}
		*lo = (unsigned long)l;
		*hi = h;
		return 1;
	}
	return 0;
}

const char *
ldap_util_ad_bind_hint(const char *diag)
{
	static const struct {
		const char *code, *text;
	} hints[] = {
		{"data 52e", "wrong password or unknown account"},
		{"data 525", "account does not exist"},
		{"data 530", "logon not permitted at this time"},
		{"data 531", "logon not permitted from this workstation"},
		{"data 532", "password expired"},
		{"data 533", "account disabled"},
		{"data 701", "account expired"},
		{"data 773", "password must be reset"},
		{"data 775", "account locked out"},
	};
	size_t i;

	if (diag == NULL)
		return NULL;
	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strcasestr(diag, hints[i].code) != NULL)
			return hints[i].text;
	return NULL;
}

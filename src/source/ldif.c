/*
 * ldif.c - the LDIF source: a content export (RFC 2849) read as if it were
 * the directory.
 *
 * The file is streamed through one reusable buffer; memory is bounded per
 * entry (LDIF_MAX_LINE per logical line, LDIF_MAX_VALUE per value,
 * LDIF_MAX_VALUES per attribute, LDIF_MAX_ENTRY per entry), never by the
 * file.  Unfolding happens in place in the read buffer.  Attribute names
 * are interned once per read (lower-cased, options stripped), so each line
 * costs one hash lookup; values of attributes nobody asked for are checked
 * but not stored.  Per entry, values are appended to one byte buffer and
 * grouped per attribute at delivery, so a steady state allocates nothing.
 *
 * Any malformed line fails the whole read with file:line: the caller then
 * applies nothing (see source.h).  Each record is an entry; "changetype:
 * add" records (ldifde -f writes one per entry) are read as the entries
 * they add, other change records are refused: dirsync needs a full
 * export, not a diff.  ldapsearch's search references ("ref:" records)
 * are skipped and counted; its extended and intermediate response records
 * ("extended:", "partial:") are refused, as ldapsearch stops the search
 * on them.  The file is UTF-8: a byte order mark is skipped, UTF-16 and
 * UTF-32 are refused at line 1 with the conversion.
 *
 * A read is complete or refused (docs/security.md, "Exports"):
 *  - the file ends with a newline (a cut inside a line is refused as
 *    such when the last line is met, before it is parsed) and is not
 *    empty;
 *  - an ldapsearch export with its comments (first line "# extended
 *    LDIF", or -L's "version: 1" and "# LDAPv3" header) must end with its
 *    trailer ("# numResponses: N") and hold the search's result ("result:
 *    0 ..."; under -L the "# search result" comment), every "result:" in
 *    it must be "0 Success", and "# numEntries: N" and "# numReferences:
 *    N" (absent after "# numResponses:" means 0) must equal the entries
 *    and search references read;
 *  - a paged ldapsearch export (-E pr=N/noprompt: one search result
 *    record per page, each with "pagedresults: cookie=...") must end with
 *    the record of its last page, whose cookie is empty (RFC 2696 3: the
 *    server's empty cookie ends the search); a last record with a cookie
 *    means ldapsearch stopped before the last page;
 *  - a regular file whose size or mtime changes during the read, or that
 *    yields fewer bytes than its size, is refused;
 *  - two entries with the same (normalised) DN are an error naming both
 *    lines;
 *  - a base64 value holding a NUL byte is dropped, with a warning naming
 *    the DN and line, unless the attribute is binary (objectGUID,
 *    ";binary", certificates, photos): a text value cut at the NUL would
 *    become another address.
 */
#include "source/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/filter.h"
#include "source/ldap_util.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/xalloc.h"
/* XXH3_state_t on the stack (the library's documented way) */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define LDIF_MAX_VALUE (1024 * 1024)
#define LDIF_MAX_LINE (4 * 1024 * 1024)      /* one logical line, raw */
#define LDIF_MAX_VALUES 1000000               /* per attribute */
#define LDIF_MAX_ENTRY (256 * 1024 * 1024)    /* stored bytes per entry */
#define LDIF_MAX_NAME 256
/* Read buffer: 1 MiB, less for a smaller file; grows for long lines.
 * The fuzz build shrinks both to a few bytes to exercise every refill. */
#ifndef LDIF_BUF_INIT
#define LDIF_BUF_INIT (1024 * 1024)
#endif
#ifndef LDIF_BUF_MIN
#define LDIF_BUF_MIN 4096
#endif

struct source {
	char *path;
	int fd;
	char *base_norm; /* normalised base_dn, or NULL for "everything" */
};

/* ---- the line reader ---- */

struct rd {
	int fd;
	const char *path;
	char *buf;
	size_t cap, beg, end; /* unconsumed data is buf[beg, end) */
	bool eof;
	long lineno;          /* physical lines consumed */
	uintmax_t nread;      /* bytes read from the file */
	int lastc;            /* last byte read, -1 before any */
	struct err *err;
};

/* Moves unconsumed data to the front, grows if full, reads more. */
static int
rd_fill(struct rd *r)
{
	ssize_t n;

	if (r->beg > 0) {
		memmove(r->buf, r->buf + r->beg, r->end - r->beg);
		r->end -= r->beg;
		r->beg = 0;
	}
	if (r->end == r->cap) {
		r->cap *= 2;
		r->buf = xrealloc(r->buf, r->cap);
	}
	do
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->err->lib_rc = errno;
		return err_at(r->err, DS_E_IO, r->path, r->lineno + 1,
			      "read: %s", strerror(errno));
	}
	if (n == 0)
		r->eof = true;
	else
		r->lastc = (unsigned char)r->buf[r->end + (size_t)n - 1];
	r->nread += (uintmax_t)n;
	r->end += (size_t)n;
	return 0;
}

/*
 * Next logical line (folded lines joined, CR before LF dropped), borrowed
 * until the next call.  *first = its first physical line.  Returns 1, 0 at
 * the end of the file, or -1 with err set.
 */
static int
rd_line(struct rd *r, char **line, size_t *len, long *first)
{
	size_t seg = 0, scan = 0, w = 0, avail;
	char *base, *nl;

	*first = r->lineno + 1;
	for (;;) {
		avail = r->end - r->beg;
		base = r->buf + r->beg;
		if (avail == 0 && r->eof)
			return 0;
		nl = scan < avail ? memchr(base + scan, '\n', avail - scan)
				  : NULL;
		if (nl == NULL && !r->eof) {
			if (avail >= LDIF_MAX_LINE)
				return err_at(r->err, DS_E_PARSE, r->path,
					      *first,
					      "line longer than %d bytes",
					      LDIF_MAX_LINE);
			scan = avail;
			if (rd_fill(r) < 0)
				return -1;
			continue;
		}
		/* need the byte after '\n' to know whether the line folds */
		if (nl != NULL && (size_t)(nl - base) + 1 == avail && !r->eof) {
			scan = (size_t)(nl - base);
			if (rd_fill(r) < 0)
				return -1;
			continue;
		}
		{
			size_t eol = nl != NULL ? (size_t)(nl - base) : avail;
			size_t cend = eol, next = nl != NULL ? eol + 1 : avail;

			if (cend > seg && base[cend - 1] == '\r')
				cend--;
			r->lineno++;
			if (seg == 0) {
				w = cend;
			} else {
				/* drop the continuation's leading space */
				memmove(base + w, base + seg + 1,
					cend - seg - 1);
				w += cend - seg - 1;
			}
			/* a blank line ends the entry; it never folds */
			if (w > 0 && next < avail && base[next] == ' ') {
				seg = scan = next;
				continue;
			}
			*line = base;
			*len = w;
			r->beg += next;
			return 1;
		}
	}
}

/*
 * The first bytes of the file.  A UTF-8 byte order mark (Windows tools
 * write one) is skipped.  UTF-16 and UTF-32 are refused with the way to
 * convert: ldifde -u writes UTF-16LE with a mark; without one, the NUL
 * bytes of the ASCII every LDIF line starts with give the encoding away.
 * (A detector such as uchardet would guess many encodings; these few
 * byte patterns are all an LDIF file needs.)
 */
static int
rd_encoding(struct rd *r)
{
	static const struct {
		const char *bytes;
		size_t n;
		const char *name, *iconv;
	} enc[] = {
		/* longest first: FF FE 00 00 is UTF-32LE, not UTF-16LE */
		{ "\xff\xfe\0\0", 4, "UTF-32LE with a byte order mark",
		  "UTF-32" },
		{ "\0\0\xfe\xff", 4, "UTF-32BE with a byte order mark",
		  "UTF-32" },
		{ "\xff\xfe", 2, "UTF-16LE with a byte order mark (as ldifde "
		  "-u writes)", "UTF-16" },
		{ "\xfe\xff", 2, "UTF-16BE with a byte order mark", "UTF-16" },
	};
	const unsigned char *b;
	const char *name = NULL, *from = NULL;
	size_t i, n;

	while (r->end - r->beg < 4 && !r->eof)
		if (rd_fill(r) < 0)
			return -1;
	b = (const unsigned char *)r->buf + r->beg;
	n = r->end - r->beg;
	if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) {
		r->beg += 3;
		return 0;
	}
	for (i = 0; i < sizeof(enc) / sizeof(enc[0]) && name == NULL; i++)
		if (n >= enc[i].n && memcmp(b, enc[i].bytes, enc[i].n) == 0) {
			name = enc[i].name;
			from = enc[i].iconv;
		}
	if (name == NULL && n >= 4 && b[0] != 0 && b[1] == 0 && b[2] == 0 &&
	    b[3] == 0)
		from = "UTF-32LE";
	else if (name == NULL && n >= 4 && b[0] == 0 && b[1] == 0 &&
		 b[2] == 0 && b[3] != 0)
		from = "UTF-32BE";
	else if (name == NULL && n >= 2 && b[0] != 0 && b[1] == 0)
		from = "UTF-16LE";
	else if (name == NULL && n >= 2 && b[0] == 0 && b[1] != 0)
		from = "UTF-16BE";
	if (from == NULL)
		return 0;
	return err_at(r->err, DS_E_PARSE, r->path, 1,
		      "the file is in %s%s; dirsync reads LDIF in UTF-8: "
		      "convert it, e.g. iconv -f %s -t UTF-8 <%s >NEW.ldif",
		      name != NULL ? name : from,
		      name != NULL ? "" : " (no byte order mark, NUL bytes "
					  "between the first characters)",
		      from, r->path);
}

/* ---- per-read state ---- */

struct aname {
	char *lower;     /* key in ld.names */
	size_t len;
	unsigned hash;
	char *name;      /* first spelling met, delivered */
	bool wanted;
	unsigned gen;    /* slot is valid when gen == ld.gen */
	size_t slot;
};

struct slot {
	struct aname *an;
	size_t nvals;    /* all values, stored or not */
	size_t out, fill;
	/*
	 * AD ranged values ("member;range=0-1499", ..., "range=N-*"): the
	 * next range must start at range_next; range_open until the range
	 * that ends in "*" was read.  An entry delivered with a range open
	 * is a partial read.
	 */
	unsigned long range_lo;
	long range_hi;       /* -1: "*", the last range */
	long range_line;     /* 0: no range seen */
};

struct vref {
	size_t slot, off, len;
};

struct ld {
	const char *path;
	struct err *err;
	signed char b64[256];

	struct aname **names;   /* open addressing on lower-case name */
	size_t names_cap, names_len;
	struct strmap want;     /* lower-case names wanted; unused if all */
	bool want_all;
	unsigned gen;

	/* the entry being read */
	bool have_dn;
	/* the entry's dn not yet checked against the earlier ones: that
	 * waits for its changetype (a change record of a DN the file has
	 * is refused as a change record, not as a duplicate) */
	bool dn_unchecked;
	long dn_line;
	size_t dn_off, dn_len;
	char *data;             /* dn and stored values, NUL after each */
	size_t dlen, dcap;
	struct slot *slots;
	size_t nslots, capslots;
	struct vref *vr;
	size_t nvr, capvr;

	/* delivery */
	struct attr *attrs;
	size_t capattrs;
	struct val *vals;
	size_t capvals;
	struct filter *filter;
	const char *base_norm;
	char *origin;
	size_t origin_prefix, origin_cap;

	bool seen_record;       /* a dn or attribute line was met */

	/* completeness: see the header comment */
	unsigned long nentries; /* dn: records read, in or out of scope */
	struct dnseen *dns;     /* normalised DNs met, open addressing */
	size_t dns_cap, dns_len;
	bool in_result;         /* inside ldapsearch's "search:" record */
	bool in_ref;            /* inside a search reference ("ref:") */
	bool ref_comment;       /* "# search reference" in this record */
	unsigned long nrefs;    /* search references skipped */
	long ctl_line;          /* the entry's first "control:", 0: none */
	long chg_line;          /* its "changetype: add", 0: none */
	long version_line;      /* "version: 1", 0 before it */
	/*
	 * Who wrote the file, from ldapsearch's header: LS_EXT for
	 * "# extended LDIF" on line 1 (no -L: results are lines of the
	 * file), LS_L for -L ("version: 1", a blank line, "#", "# LDAPv3":
	 * results are comments, a failed one only on ldapsearch's stderr).
	 * Both end with the trailer.
	 */
	enum { LS_NONE, LS_EXT, LS_L } ldapsearch;
	bool trailer;           /* "# numResponses:" met */
	long trailer_line;
	bool result_seen;       /* "result:" (LS_EXT), "# search result" */
	/*
	 * The trailer's counts, -1 before the trailer.  ldapsearch prints
	 * "# numEntries:" and "# numReferences:" only when not 0, so after
	 * "# numResponses:" an absent count is 0.
	 */
	long num_entries;
	long num_entries_line;  /* 0: absent from the trailer */
	long num_refs;
	long num_refs_line;
	bool paged;             /* a "pagedresults:" line met */
	enum { COOKIE_NONE, COOKIE_END, COOKIE_MORE } cookie;
				/* of the last search result record */
	long result_line;       /* its "search:" line, 0 before any */
};

/* A DN met in this file: two 64-bit hashes of its normalised form. */
struct dnseen {
	uint64_t h1, h2;        /* h1 == 0 && h2 == 0: empty slot */
	long line;
};

static void
lower_into(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	dst[n] = '\0';
}

static void
b64_table(signed char *t)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	int i;

	memset(t, -1, 256);
	for (i = 0; i < 64; i++)
		t[(unsigned char)abc[i]] = (signed char)i;
}

/*
 * Decodes base64 s[0, n) into out (room for n / 4 * 3 + 3).  Padding is
 * optional; returns the length or -1.
 */
static long
b64_decode(const signed char *t, const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0, pad = 0;

	while (n > 0 && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (pad > 0 && (n + pad) % 4 != 0)
		return -1;
	for (; i + 4 <= n; i += 4) {
		int a = t[(unsigned char)s[i]], b = t[(unsigned char)s[i + 1]];
		int c = t[(unsigned char)s[i + 2]];
		int d = t[(unsigned char)s[i + 3]];

		if ((a | b | c | d) < 0)
			return -1;
		out[o++] = (char)(a << 2 | b >> 4);
		out[o++] = (char)((b & 15) << 4 | c >> 2);
		out[o++] = (char)((c & 3) << 6 | d);
	}
	switch (n - i) {
	case 0:
		break;
	case 2: {
		int a = t[(unsigned char)s[i]], b = t[(unsigned char)s[i + 1]];

		if ((a | b) < 0 || (b & 15) != 0)
			return -1;
		out[o++] = (char)(a << 2 | b >> 4);
		break;
	}
	case 3: {
		int a = t[(unsigned char)s[i]], b = t[(unsigned char)s[i + 1]];
		int c = t[(unsigned char)s[i + 2]];

		if ((a | b | c) < 0 || (c & 3) != 0)
			return -1;
		out[o++] = (char)(a << 2 | b >> 4);
		out[o++] = (char)((b & 15) << 4 | c >> 2);
		break;
	}
	default:
		return -1;
	}
	return (long)o;
}

static void
data_reserve(struct ld *l, size_t more)
{
	if (l->dlen + more + 1 > l->dcap)
		l->data = xgrow(l->data, &l->dcap, l->dlen + more + 1, 1);
}

/* FNV-1a, fed one lower-cased byte at a time while the name is checked. */
#define NAME_HASH_INIT 2166136261u
#define NAME_HASH_STEP(h, c) (((h) ^ (unsigned char)(c)) * 16777619u)

static struct aname **
names_slot(struct aname **tab, size_t cap, const char *lower, size_t n,
	   unsigned h)
{
	size_t i = h & (cap - 1);

	while (tab[i] != NULL && (tab[i]->hash != h || tab[i]->len != n ||
				  memcmp(tab[i]->lower, lower, n) != 0))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* The interned name for lower[0, n) (hash h); made on first sight. */
static struct aname *
intern(struct ld *l, const char *lower, const char *name, size_t n,
       unsigned h)
{
	struct aname **slot, *an;
	size_t i;

	if (l->names_cap > 0) {
		slot = names_slot(l->names, l->names_cap, lower, n, h);
		if (*slot != NULL)
			return *slot;
	}
	if ((l->names_len + 1) * 2 > l->names_cap) {
		size_t ncap = l->names_cap ? l->names_cap * 2 : 64;
		struct aname **nt = xcalloc(ncap, sizeof(*nt));

		for (i = 0; i < l->names_cap; i++)
			if (l->names[i] != NULL)
				*names_slot(nt, ncap, l->names[i]->lower,
					    l->names[i]->len,
					    l->names[i]->hash) = l->names[i];
		free(l->names);
		l->names = nt;
		l->names_cap = ncap;
	}
	an = xcalloc(1, sizeof(*an));
	an->lower = xstrndup(lower, n);
	an->len = n;
	an->hash = h;
	an->name = xstrndup(name, n);
	an->wanted = l->want_all || strmap_get(&l->want, an->lower) != NULL;
	an->gen = l->gen - 1;
	*names_slot(l->names, l->names_cap, lower, n, h) = an;
	l->names_len++;
	return an;
}

static void
reset_entry(struct ld *l)
{
	l->have_dn = false;
	l->dn_unchecked = false;
	l->dlen = 0;
	l->nslots = 0;
	l->nvr = 0;
	l->gen++;
	l->in_result = false;
	l->in_ref = false;
	l->ref_comment = false;
	l->ctl_line = 0;
	l->chg_line = 0;
}

/*
 * Records the DN of the entry at `line`; an error naming both lines when
 * the file already had it.  Two independent 64-bit hashes (FNV-1a with two
 * offsets) stand for the DN: 24 bytes per entry instead of the string.
 */
static int
dn_seen(struct ld *l, const char *dn, long line)
{
	char *n = dn_normalize(dn);
	uint64_t h1 = 14695981039346656037ULL, h2 = 0x9e3779b97f4a7c15ULL;
	const unsigned char *p;
	size_t i;

	for (p = (const unsigned char *)n; *p != '\0'; p++) {
		h1 = (h1 ^ *p) * 1099511628211ULL;
		h2 = (h2 ^ *p) * 0x100000001b3ULL + 0x632be59bd9b4e019ULL;
	}
	free(n);
	if (h1 == 0 && h2 == 0)
		h2 = 1;
	if ((l->dns_len + 1) * 2 > l->dns_cap) {
		size_t ncap = l->dns_cap ? l->dns_cap * 2 : 1024;
		struct dnseen *nt = xcalloc(ncap, sizeof(*nt));

		for (i = 0; i < l->dns_cap; i++) {
			struct dnseen *d = &l->dns[i];
			size_t k;

			if (d->h1 == 0 && d->h2 == 0)
				continue;
			k = (size_t)d->h1 & (ncap - 1);
			while (nt[k].h1 != 0 || nt[k].h2 != 0)
				k = (k + 1) & (ncap - 1);
			nt[k] = *d;
		}
		free(l->dns);
		l->dns = nt;
		l->dns_cap = ncap;
	}
	i = (size_t)h1 & (l->dns_cap - 1);
	while (l->dns[i].h1 != 0 || l->dns[i].h2 != 0) {
		if (l->dns[i].h1 == h1 && l->dns[i].h2 == h2)
			return err_at(l->err, DS_E_PARSE, l->path, line,
				      "duplicate entry: dn '%.200s' already "
				      "at line %ld (a file must hold each "
				      "entry once; which one is right is "
				      "not for dirsync to guess)",
				      dn, l->dns[i].line);
		i = (i + 1) & (l->dns_cap - 1);
	}
	l->dns[i].h1 = h1;
	l->dns[i].h2 = h2;
	l->dns[i].line = line;
	l->dns_len++;
	return 0;
}

/*
 * Decodes the value after the colon at line[colon] into l->data at dlen
 * (not committed).  Returns its length, or -1 with err set.
 */
static long
get_value(struct ld *l, const char *line, size_t len, size_t colon,
	  long lineno, const char *what)
{
	size_t p = colon + 1;
	long n;

	if (p < len && line[p] == ':') {
		size_t e = len;

		p++;
		while (p < len && line[p] == ' ')
			p++;
		while (e > p && line[e - 1] == ' ')
			e--;
		if ((e - p) / 4 * 3 > LDIF_MAX_VALUE + 3)
			return err_at(l->err, DS_E_PARSE, l->path, lineno,
				      "value of '%s' longer than %d bytes",
				      what, LDIF_MAX_VALUE);
		data_reserve(l, (e - p) / 4 * 3 + 3);
		n = b64_decode(l->b64, line + p, e - p, l->data + l->dlen);
		if (n < 0)
			return err_at(l->err, DS_E_PARSE, l->path, lineno,
				      "bad base64 in value of '%s'", what);
	} else if (p < len && line[p] == '<') {
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "URL value of '%s' ('%s:<') not supported; "
			      "inline the value",
			      what, what);
	} else {
		while (p < len && line[p] == ' ')
			p++;
		n = (long)(len - p);
		if ((size_t)n > LDIF_MAX_VALUE)
			goto toolong;
		if (memchr(line + p, '\0', len - p) != NULL)
			return err_at(l->err, DS_E_PARSE, l->path, lineno,
				      "NUL byte in value of '%s' (binary "
				      "values need base64, '%s::')",
				      what, what);
		data_reserve(l, (size_t)n);
		memcpy(l->data + l->dlen, line + p, (size_t)n);
	}
	if (n > LDIF_MAX_VALUE)
		goto toolong;
	l->data[l->dlen + (size_t)n] = '\0';
	return n;
toolong:
	return err_at(l->err, DS_E_PARSE, l->path, lineno,
		      "value of '%s' longer than %d bytes", what,
		      LDIF_MAX_VALUE);
}

/*
 * Bytes of an attribute name: 1 for [a-z0-9-._], 2 for [A-Z] (lower-cased
 * by adding 32), 0 for anything else.
 */
static const unsigned char name_cls[256] = {
	['-'] = 1, ['.'] = 1, ['_'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['A'] = 2, ['B'] = 2, ['C'] = 2, ['D'] = 2, ['E'] = 2, ['F'] = 2,
	['G'] = 2, ['H'] = 2, ['I'] = 2, ['J'] = 2, ['K'] = 2, ['L'] = 2,
	['M'] = 2, ['N'] = 2, ['O'] = 2, ['P'] = 2, ['Q'] = 2, ['R'] = 2,
	['S'] = 2, ['T'] = 2, ['U'] = 2, ['V'] = 2, ['W'] = 2, ['X'] = 2,
	['Y'] = 2, ['Z'] = 2,
};

static bool
in_base(const struct ld *l, const char *dn)
{
	char *n;
	size_t nl, bl;
	bool ok;

	if (l->base_norm == NULL)
		return true;
	n = dn_normalize(dn);
	nl = strlen(n);
	bl = strlen(l->base_norm);
	ok = nl >= bl && memcmp(n + nl - bl, l->base_norm, bl) == 0 &&
	     (nl == bl || n[nl - bl - 1] == ',');
	free(n);
	return ok;
}

/* The entry is complete: group values per attribute, filter, hand over. */
static int
deliver(struct ld *l, source_entry_cb cb, void *ctx)
{
	struct entry e;
	size_t i, k = 0, na = 0;

	if (!l->have_dn)
		return 0;
	for (i = 0; i < l->nslots; i++) {
		struct slot *s = &l->slots[i];

		if (!s->an->wanted || s->nvals == 0)
			continue;
		s->out = s->fill = k;
		k += s->nvals;
		na++;
	}
	if (na > l->capattrs)
		l->attrs = xgrow(l->attrs, &l->capattrs, na, sizeof(*l->attrs));
	if (k > l->capvals)
		l->vals = xgrow(l->vals, &l->capvals, k, sizeof(*l->vals));
	for (i = 0; i < l->nvr; i++) {
		struct slot *s = &l->slots[l->vr[i].slot];
		struct val *v = &l->vals[s->fill++];

		v->p = l->data + l->vr[i].off;
		v->len = l->vr[i].len;
	}
	na = 0;
	for (i = 0; i < l->nslots; i++) {
		struct slot *s = &l->slots[i];

		if (!s->an->wanted || s->nvals == 0)
			continue;
		l->attrs[na].name = s->an->name;
		l->attrs[na].nvals = s->nvals;
		l->attrs[na].vals = l->vals + s->out;
		na++;
	}
	e.dn = l->data + l->dn_off;
	e.nattrs = na;
	e.attrs = l->attrs;
	{
		/* "path:LINE" without printf: this runs once per entry */
		char digits[24], *o = l->origin + l->origin_prefix;
		unsigned long v = (unsigned long)l->dn_line;
		int nd = 0;

		do
			digits[nd++] = (char)('0' + v % 10);
		while ((v /= 10) > 0);
		while (nd > 0)
			*o++ = digits[--nd];
		*o = '\0';
	}
	e.origin = l->origin;
	if (!in_base(l, e.dn) || !filter_match(l->filter, &e))
		return 0;
	for (i = 0; i < l->nslots; i++) {
		const struct slot *s = &l->slots[i];

		if (s->an->wanted && s->range_line > 0 && s->range_hi >= 0)
			return err_at(l->err, DS_E_PARSE, l->path,
				      s->range_line,
				      "incomplete range for %s of %s: the "
				      "export has values %s;range=0-%lu and "
				      "no final range=%lu-*, so the rest are "
				      "missing; nothing is applied.  Export "
				      "the entry whole (ldifde, or ldapsearch "
				      "asking for %s;range=%lu-* until a "
				      "range ends in *)",
				      s->an->name, e.dn, s->an->name,
				      (unsigned long)s->range_hi,
				      (unsigned long)s->range_hi + 1,
				      s->an->name,
				      (unsigned long)s->range_hi + 1);
	}
	return cb(ctx, &e, l->err);
}

/*
 * A ranged attribute description: each value line repeats its range;
 * ranges follow each other (0-2, 3-5, 6-*) and the last ends in "*".
 */
static int
range_option(struct ld *l, struct slot *s, const char *name, size_t nlen,
	     long lineno)
{
	size_t base;
	unsigned long lo, want;
	long hi;
	int r = ldap_util_parse_range(name, nlen, &base, &lo, &hi);

	if (r == 0)
		return 0;
	if (r < 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "bad range option in '%.*s'", (int)nlen, name);
	if (s->range_line > 0 && lo == s->range_lo && hi == s->range_hi)
		return 0;   /* the next value of the same range */
	want = s->range_line == 0 ? 0 : (unsigned long)s->range_hi + 1;
	if ((s->range_line > 0 && s->range_hi < 0) || lo != want)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "range in '%.*s' does not follow the values "
			      "before it (expected range=%lu-...)",
			      (int)nlen, name, want);
	s->range_line = lineno;
	s->range_lo = lo;
	s->range_hi = hi;
	return 0;
}

/*
 * A line of the record ldapsearch prints after each search (or page):
 * "search: 2", "result: 0 Success", "control: ...", "text: ...",
 * "matchedDN: ...", and with -E pr=N "pagedresults: cookie=B64" (empty
 * on the last page; ldapsearch 2.5 prints it right after the control,
 * then the next page's "# extended LDIF" header, without a blank line).
 * Anything but result 0 means the search did not finish (a size or time
 * limit, a server gone): the export is partial.
 */
static int
result_line(struct ld *l, const char *key, const char *line, size_t len,
	    size_t nlen, long lineno)
{
	long n;

	l->in_result = true;
	if (strcmp(key, "search") != 0 && strcmp(key, "result") != 0 &&
	    strcmp(key, "control") != 0 && strcmp(key, "text") != 0 &&
	    strcmp(key, "matcheddn") != 0 && strcmp(key, "ref") != 0 &&
	    strcmp(key, "pagedresults") != 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "'%s:' in ldapsearch's search result record",
			      key);
	n = get_value(l, line, len, nlen, lineno, key);
	if (n < 0)
		return -1;
	if (strcmp(key, "search") == 0) {
		l->cookie = COOKIE_NONE;
		l->result_line = lineno;
	}
	if (strcmp(key, "pagedresults") == 0) {
		if (n < 7 || memcmp(l->data + l->dlen, "cookie=", 7) != 0)
			return err_at(l->err, DS_E_PARSE, l->path, lineno,
				      "'pagedresults: %.100s': expected "
				      "'cookie=...'", l->data + l->dlen);
		l->paged = true;
		l->cookie = n == 7 ? COOKIE_END : COOKIE_MORE;
	}
	if (strcmp(key, "result") == 0 &&
	    (n < 2 || memcmp(l->data + l->dlen, "0 ", 2) != 0))
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "the export records 'result: %.100s': the "
			      "search did not complete, the file is partial",
			      l->data + l->dlen);
	if (strcmp(key, "result") == 0)
		l->result_seen = true;
	return 0;
}

/*
 * A line of a search result reference, as ldapsearch prints one when the
 * server refers it elsewhere (AD's ForestDnsZones, DomainDnsZones and
 * Configuration under the domain root; slapd's referral objects):
 * "# search reference", then one "ref: URL" per URL (or "# refURL"
 * comments under -L), then the reference's controls.  No dn: it names
 * where other entries live, it is not one; the ldap source skips
 * references too (not chased).
 */
static int
ref_line(struct ld *l, const char *key, const char *line, size_t len,
	 size_t nlen, long lineno)
{
	long n;

	if (strcmp(key, "ref") != 0 && strcmp(key, "control") != 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "'%s:' in a search reference record ('ref:' "
			      "lines; missing blank line?)",
			      key);
	n = get_value(l, line, len, nlen, lineno, key);
	if (n < 0)
		return -1;
	l->in_ref = true;
	if (strcmp(key, "ref") == 0)
		log_debug("%s:%ld: search reference %.200s skipped", l->path,
			  lineno, l->data + l->dlen);
	return 0;
}

/*
 * The records ldapsearch prints for an extended or an intermediate
 * response ("extended: OID", "partial: OID", "data:: ...", "result:").
 * ldapsearch ends the search on either (a notice of disconnection, an
 * intermediate response it does not know), before the search's result:
 * what came before is part of the directory only.
 */
static int
response_line(struct ld *l, const char *key, long lineno)
{
	return err_at(l->err, DS_E_PARSE, l->path, lineno,
		      "'%s:' record: ldapsearch got %s and stopped the "
		      "search there, before its result; the export is "
		      "partial, export again",
		      key,
		      strcmp(key, "extended") == 0 ?
			      "an extended response from the server (such "
			      "as a notice of disconnection)" :
			      "an intermediate response");
}

/* The N of "# numEntries: N" (pfx), or -1 with err set. */
static long
trailer_count(struct ld *l, const char *line, size_t len, size_t pfx,
	      long lineno)
{
	char num[24];
	char *end;
	size_t k = len - pfx;
	long v;

	if (k >= sizeof(num))
		k = sizeof(num) - 1;
	memcpy(num, line + pfx, k);
	num[k] = '\0';
	errno = 0;
	v = strtol(num, &end, 10);
	if (errno != 0 || end == num || *end != '\0' || v < 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "bad '%.*s' trailer", (int)pfx - 1, line);
	return v;
}

#define HAS_PREFIX(line, len, lit) \
	((len) >= sizeof(lit) - 1 && memcmp(line, lit, sizeof(lit) - 1) == 0)

/*
 * The comments ldapsearch writes that tell about the file: its header
 * ("# extended LDIF"; "# LDAPv3" under -L), "# search result", "# search
 * reference", and the trailer ("# numResponses: N", then "# numEntries:
 * N" and "# numReferences: N" when not 0).
 */
static int
comment_line(struct ld *l, const char *line, size_t len, long lineno)
{
	static const char ent[] = "# numEntries: ", resp[] = "# numResponses: ";
	static const char refs[] = "# numReferences: ";
	long v;

	if (lineno == 1 && len == 15 && memcmp(line, "# extended LDIF", 15) == 0)
		l->ldapsearch = LS_EXT;
	if (lineno == 4 && l->version_line == 1 && len == 8 &&
	    memcmp(line, "# LDAPv3", 8) == 0)
		l->ldapsearch = LS_L;
	if (len == 15 && memcmp(line, "# search result", 15) == 0 &&
	    l->ldapsearch == LS_L)
		l->result_seen = true;
	if (len == 18 && memcmp(line, "# search reference", 18) == 0)
		l->ref_comment = true;
	if (HAS_PREFIX(line, len, resp)) {
		l->trailer = true;
		l->trailer_line = lineno;
		l->num_entries = l->num_refs = 0;
		l->num_entries_line = l->num_refs_line = 0;
		return 0;
	}
	if (HAS_PREFIX(line, len, ent)) {
		if ((v = trailer_count(l, line, len, sizeof(ent) - 1,
				       lineno)) < 0)
			return -1;
		l->num_entries = v;
		l->num_entries_line = lineno;
	}
	if (HAS_PREFIX(line, len, refs)) {
		if ((v = trailer_count(l, line, len, sizeof(refs) - 1,
				       lineno)) < 0)
			return -1;
		l->num_refs = v;
		l->num_refs_line = lineno;
	}
	return 0;
}

/* The "dn:" line that starts an entry. */
static int
dn_line(struct ld *l, const char *line, size_t len, size_t nlen, long lineno)
{
	long n;

	if (l->have_dn)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "second dn: in one entry (missing blank line?)");
	n = get_value(l, line, len, nlen, lineno, "dn");
	if (n < 0)
		return -1;
	if (n == 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno, "empty dn");
	if (memchr(l->data + l->dlen, '\0', (size_t)n) != NULL)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "NUL byte in dn");
	if (l->in_result)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "dn: inside ldapsearch's search result record "
			      "(missing blank line?)");
	if (l->in_ref)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "dn: inside a search reference record "
			      "('ref:' lines; missing blank line?)");
	l->have_dn = true;
	l->dn_line = lineno;
	l->dn_off = l->dlen;
	l->dn_len = (size_t)n;
	l->dlen += (size_t)n + 1;
	l->seen_record = true;
	l->nentries++;
	l->dn_unchecked = true;
	return 0;
}

/* dn_seen() for the entry's dn, once its changetype is known. */
static int
dn_check(struct ld *l)
{
	if (!l->dn_unchecked)
		return 0;
	l->dn_unchecked = false;
	return dn_seen(l, l->data + l->dn_off, l->dn_line);
}

/*
 * An entry's "control:" lines with no "changetype:" after them: RFC 2849
 * has controls only in change records, and ldapsearch prints an entry's
 * response controls there (-E sync=..., whose entries carry their sync
 * state: a change, not the entry as it is).
 */
static int
control_alone(struct ld *l)
{
	return err_at(l->err, DS_E_PARSE, l->path, l->ctl_line,
		      "'control:' in an entry without 'changetype: add' "
		      "after it: a control belongs to a change record (RFC "
		      "2849) or to a response to an ldapsearch -E option "
		      "such as sync; dirsync reads a plain content export");
}

/*
 * "control:" right after dn: (RFC 2849: dn, controls, changetype).  Only
 * in front of "changetype: add" is it harmless: a control of the add
 * operation, which dirsync does not perform; the entry is what counts.
 */
static int
control_line(struct ld *l, const char *line, size_t len, size_t nlen,
	     long lineno)
{
	if (l->nslots > 0 || l->chg_line > 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "'control:' after the entry's %s: RFC 2849 "
			      "puts controls right after dn:",
			      l->nslots > 0 ? "attributes" : "'changetype:'");
	if (get_value(l, line, len, nlen, lineno, "control") < 0)
		return -1;
	if (l->ctl_line == 0)
		l->ctl_line = lineno;
	return 0;
}

/*
 * "changetype:" right after dn: (and controls).  A content export and
 * an export of "changetype: add" records (ldifde -f writes one in every
 * entry) say the same thing: each record is a whole entry.  Any other
 * change (modify, delete, modrdn, moddn) describes a difference, not the
 * entry, and is refused.
 */
static int
changetype_line(struct ld *l, const char *line, size_t len, size_t nlen,
		long lineno)
{
	long n = get_value(l, line, len, nlen, lineno, "changetype");

	if (n < 0)
		return -1;
	if (n != 3 || memcmp(l->data + l->dlen, "add", 3) != 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "change record ('changetype: %.40s') not "
			      "supported: dirsync reads the directory's "
			      "content, each record a whole entry "
			      "(ldapsearch; ldifde -f, whose 'changetype: "
			      "add' records are read as entries); a %.40s "
			      "record is a change to an entry, not the entry",
			      l->data + l->dlen, l->data + l->dlen);
	if (l->chg_line > 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "second 'changetype:' in one entry (the first "
			      "at line %ld)", l->chg_line);
	if (l->nslots > 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "'changetype: add' after the entry's attributes: "
			      "RFC 2849 puts it right after dn:");
	l->chg_line = lineno;
	return 0;
}

/* One logical line inside the file (not blank, not a comment). */
static int
do_line(struct ld *l, const char *line, size_t len, long lineno)
{
	const char *colon = memchr(line, ':', len);
	size_t nlen, i, semi;
	char key[LDIF_MAX_NAME + 1];
	unsigned h = NAME_HASH_INIT;
	struct aname *an;
	struct slot *s;
	long n;

	if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "a UTF-8 byte order mark (EF BB BF) starts "
			      "this line: two files joined into one?  "
			      "dirsync reads one export");
	if (colon == NULL && len >= 12 && memcmp(line, "Press [size]", 12) == 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "ldapsearch's prompt for the next page: export "
			      "with -E pr=N/noprompt");
	if (colon == NULL)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "line without ':' (not 'attr: value')");
	nlen = (size_t)(colon - line);
	/* the name proper: checked, lower-cased and hashed in one pass */
	for (i = 0; i < nlen && i < LDIF_MAX_NAME; i++) {
		unsigned char c = (unsigned char)line[i];
		unsigned char k = name_cls[c];

		if (k == 0)
			break;
		c = (unsigned char)(k == 2 ? c + 32 : c);
		key[i] = (char)c;
		h = NAME_HASH_STEP(h, c);
	}
	semi = i;
	key[semi] = '\0';
	if (semi == LDIF_MAX_NAME && semi < nlen && name_cls[(unsigned char)
							 line[semi]] != 0)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "attribute name longer than %d bytes",
			      LDIF_MAX_NAME);
	/* options ("range=0-1499", "lang-de", "binary") are dropped */
	if (semi > 0 && semi < nlen && line[semi] == ';') {
		for (i = semi + 1; i < nlen; i++) {
			unsigned char c = (unsigned char)line[i];

			if (name_cls[c] == 0 && c != '=' && c != '*' &&
			    c != ';')
				break;
		}
	}
	if (semi == 0 || i < nlen)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "bad attribute name '%.*s'",
			      (int)(nlen < 64 ? nlen : 64), line);

	if (semi == 2 && memcmp(key, "dn", 2) == 0)
		return dn_line(l, line, len, nlen, lineno);
	if (!l->have_dn && !l->in_ref &&
	    (l->in_result || (semi == 6 && memcmp(key, "search", 6) == 0)))
		return result_line(l, key, line, len, nlen, lineno);
	if (!l->have_dn &&
	    (l->in_ref || (semi == 3 && memcmp(key, "ref", 3) == 0)))
		return ref_line(l, key, line, len, nlen, lineno);
	if (!l->have_dn && ((semi == 8 && memcmp(key, "extended", 8) == 0) ||
			    (semi == 7 && memcmp(key, "partial", 7) == 0)))
		return response_line(l, key, lineno);
	if (semi == 7 && memcmp(key, "version", 7) == 0 && !l->have_dn) {
		if (l->seen_record)
			return err_at(l->err, DS_E_PARSE, l->path, lineno,
				      "version: after the first entry (ldapsearch "
				      "-L repeats it on each page of -E pr=N: "
				      "export without -L)");
		n = get_value(l, line, len, nlen, lineno, "version");
		if (n < 0)
			return -1;
		if (n != 1 || l->data[l->dlen] != '1')
			return err_at(l->err, DS_E_PARSE, l->path, lineno,
				      "unsupported LDIF version '%s'",
				      l->data + l->dlen);
		l->seen_record = true;
		l->version_line = lineno;
		return 0;
	}
	if (!l->have_dn)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "attribute '%.*s' before dn: (missing dn: "
			      "line?)",
			      (int)semi, line);
	if (semi == 10 && memcmp(key, "changetype", 10) == 0)
		return changetype_line(l, line, len, nlen, lineno);
	if (semi == 7 && memcmp(key, "control", 7) == 0)
		return control_line(l, line, len, nlen, lineno);
	if (l->ctl_line > 0 && l->chg_line == 0)
		return control_alone(l);
	if (dn_check(l) != 0)
		return -1;

	an = intern(l, key, line, semi, h);
	if (an->gen != l->gen) {
		if (l->nslots == l->capslots)
			l->slots = xgrow(l->slots, &l->capslots,
					 l->nslots + 1, sizeof(*l->slots));
		s = &l->slots[l->nslots];
		s->an = an;
		s->nvals = 0;
		s->range_lo = 0;
		s->range_hi = -1;
		s->range_line = 0;
		an->slot = l->nslots++;
		an->gen = l->gen;
	}
	s = &l->slots[an->slot];
	if (semi < nlen && range_option(l, s, line, nlen, lineno) != 0)
		return -1;
	if (s->nvals >= LDIF_MAX_VALUES)
		return err_at(l->err, DS_E_PARSE, l->path, lineno,
			      "attribute '%s' has more than %d values",
			      an->name, LDIF_MAX_VALUES);
	n = get_value(l, line, len, nlen, lineno, an->name);
	if (n < 0)
		return -1;
	/* a value with a NUL byte inside (base64 only) is kept as the LDAP
	 * source keeps one: the rules refuse it in what they read as text,
	 * with a warning in the run's report (rules.c, screen_nul) */
	s->nvals++;
	if (!an->wanted)
		return 0;
	if (l->nvr == l->capvr)
		l->vr = xgrow(l->vr, &l->capvr, l->nvr + 1, sizeof(*l->vr));
	l->vr[l->nvr].slot = an->slot;
	l->vr[l->nvr].off = l->dlen;
	l->vr[l->nvr].len = (size_t)n;
	l->nvr++;
	l->dlen += (size_t)n + 1;
	if (l->dlen > LDIF_MAX_ENTRY)
		return err_at(l->err, DS_E_PARSE, l->path, l->dn_line,
			      "entry larger than %d bytes", LDIF_MAX_ENTRY);
	return 0;
}

/*
 * A blank line or the end of the file ends the record: an entry, a
 * search reference (counted for "# numReferences:"), ldapsearch's search
 * result, or nothing (comments only).
 */
static int
record_end(struct ld *l)
{
	if (l->have_dn && l->ctl_line > 0 && l->chg_line == 0)
		return control_alone(l);
	if (l->have_dn && dn_check(l) != 0)
		return -1;
	if (!l->have_dn && !l->in_result && (l->in_ref || l->ref_comment))
		l->nrefs++;
	return 0;
}

static void
want_add(struct ld *l, const char *name)
{
	char key[LDIF_MAX_NAME + 1];
	size_t n = strcspn(name, ";");

	if (strcmp(name, "*") == 0) {
		l->want_all = true;
		return;
	}
	if (n == 0 || n > LDIF_MAX_NAME)
		return;
	lower_into(key, name, n);
	if (strmap_get(&l->want, key) == NULL) {
		char *k = xstrdup(key);

		strmap_put(&l->want, k, k);
	}
}

static void
ld_free(struct ld *l)
{
	size_t i;
	const char *k;
	void *v;

	for (i = 0; i < l->names_cap; i++) {
		struct aname *an = l->names[i];

		if (an == NULL)
			continue;
		free(an->lower);
		free(an->name);
		free(an);
	}
	free(l->names);
	for (i = 0; strmap_next(&l->want, &i, &k, &v);)
		free(v);
	strmap_free(&l->want);
	free(l->data);
	free(l->slots);
	free(l->vr);
	free(l->attrs);
	free(l->vals);
	free(l->origin);
	free(l->dns);
	filter_free(l->filter);
}

static const char atomic[] = "write the export to a temporary file and "
			     "rename it into place (dirsync.conf(5))";

/* A regular file that changed while it was read: -1 with err set. */
static int
check_unchanged(const struct ld *l, const struct rd *r,
		const struct stat *st0, struct err *err)
{
	struct stat st;

	if (S_ISREG(st0->st_mode)) {
		if (fstat(r->fd, &st) < 0) {
			err->lib_rc = errno;
			return err_at(err, DS_E_IO, l->path, 0, "stat: %s",
				      strerror(errno));
		}
		if (st.st_size != st0->st_size ||
		    st.st_mtim.tv_sec != st0->st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != st0->st_mtim.tv_nsec ||
		    r->nread != (uintmax_t)st0->st_size)
			return err_at(err, DS_E_IO, l->path, 0,
				      "the file changed while it was read "
				      "(%jd bytes at the start, %jd now, %ju "
				      "read); %s",
				      (intmax_t)st0->st_size,
				      (intmax_t)st.st_size, r->nread, atomic);
	}
	return 0;
}

/*
 * The last line of the file has no newline: the file was cut inside a
 * line (head -c, a full disk, a copy still running).  Said before that
 * line is parsed: its rest would be refused as what it looks like (a
 * line without ':', bad base64, an empty dn), which hides the cut.
 */
static int
refuse_cut(const struct ld *l, const struct rd *r, const struct stat *st0,
	   const char *line, size_t len, struct err *err)
{
	if (check_unchanged(l, r, st0, err) < 0)
		return -1;
	if (!l->have_dn && len >= 3 && strncasecmp(line, "dn:", 3) == 0)
		return err_at(err, DS_E_PARSE, l->path, r->lineno,
			      "the file ends inside a line (no final "
			      "newline), in the dn: line of an entry: the "
			      "export is truncated, nothing of it is used; %s",
			      atomic);
	if (l->have_dn)
		return err_at(err, DS_E_PARSE, l->path, r->lineno,
			      "the file ends inside a line (no final "
			      "newline), in the entry at line %ld (%.*s): "
			      "the export is truncated, nothing of it is "
			      "used; %s",
			      l->dn_line, (int)(l->dn_len < 200 ? l->dn_len
							       : 200),
			      l->data + l->dn_off, atomic);
	return err_at(err, DS_E_PARSE, l->path, r->lineno,
		      "the file ends inside a line (no final newline): the "
		      "export is truncated, nothing of it is used; %s",
		      atomic);
}

/*
 * At the end of the file: is it all there?  st0 is the file as it was
 * when the read began.  Returns 0 or -1 with err set.
 */
static int
check_complete(struct ld *l, const struct rd *r, const struct stat *st0,
	       struct err *err)
{
	long last = r->lineno > 0 ? r->lineno : 1;

	if (check_unchanged(l, r, st0, err) < 0)
		return -1;
	if (r->nread == 0)
		return err_at(err, DS_E_PARSE, l->path, 1,
			      "the file is empty: an export always holds "
			      "at least one line; %s", atomic);
	if (r->lastc != '\n')
		return err_at(err, DS_E_PARSE, l->path, last,
			      "the file ends inside a line (no final "
			      "newline): cut short?  %s", atomic);
	if (l->ldapsearch != LS_NONE && !l->trailer)
		return err_at(err, DS_E_PARSE, l->path, last,
			      "ldapsearch export without its trailer "
			      "('# numResponses:'): cut short?  %s", atomic);
	/*
	 * ldapsearch prints its trailer also when it lost the server or
	 * gave up waiting: only the search's result says it ended.
	 */
	if (l->ldapsearch != LS_NONE && !l->result_seen)
		return err_at(err, DS_E_PARSE, l->path, l->trailer_line,
			      "ldapsearch export without the search's result "
			      "(%s): ldapsearch lost the server or stopped "
			      "before the search ended; the export is "
			      "partial, export again",
			      l->ldapsearch == LS_EXT ?
				      "'result: 0 Success'" :
				      "'# search result'");
	if (l->paged && l->cookie != COOKIE_END)
		return err_at(err, DS_E_PARSE, l->path, l->result_line,
			      "paged ldapsearch export whose last search "
			      "result %s: the search stopped before its last "
			      "page; export again with -E pr=N/noprompt",
			      l->cookie == COOKIE_MORE ?
				      "still has a cookie for more" :
				      "has no 'pagedresults:' line");
	if (l->num_entries >= 0 &&
	    (unsigned long)l->num_entries != l->nentries) {
		if (l->num_entries_line == 0)
			return err_at(err, DS_E_PARSE, l->path,
				      l->trailer_line,
				      "the trailer has no '# numEntries:' "
				      "(ldapsearch leaves it out for 0 "
				      "entries) but the file holds %lu "
				      "entries: cut short or edited",
				      l->nentries);
		return err_at(err, DS_E_PARSE, l->path, l->num_entries_line,
			      "the trailer says '# numEntries: %ld' but the "
			      "file holds %lu entries: cut short or edited",
			      l->num_entries, l->nentries);
	}
	if (l->num_refs >= 0 && (unsigned long)l->num_refs != l->nrefs) {
		if (l->num_refs_line == 0)
			return err_at(err, DS_E_PARSE, l->path,
				      l->trailer_line,
				      "the trailer has no '# numReferences:' "
				      "(ldapsearch leaves it out for 0) but the "
				      "file holds %lu search references: cut "
				      "short or edited",
				      l->nrefs);
		return err_at(err, DS_E_PARSE, l->path, l->num_refs_line,
			      "the trailer says '# numReferences: %ld' but "
			      "the file holds %lu search references: cut "
			      "short or edited",
			      l->num_refs, l->nrefs);
	}
	return 0;
}

static int
ldif_read(struct source *src, const char *filter, const char *const *attrs,
	  source_entry_cb cb, void *ctx, struct err *err)
{
	struct ld l;
	struct rd r;
	struct stat st0;
	const char *fattrs[128];
	size_t i, nf;
	char *line = NULL;
	size_t len = 0;
	long lineno = 0;
	int rc = -1, got;

	memset(&l, 0, sizeof(l));
	memset(&r, 0, sizeof(r));
	l.path = src->path;
	l.err = err;
	l.gen = 1;
	l.num_entries = -1;
	l.num_refs = -1;
	l.base_norm = src->base_norm;
	b64_table(l.b64);
	if (filter != NULL && filter[0] != '\0') {
		l.filter = filter_parse(filter, err);
		if (l.filter == NULL)
			goto done;
	}
	l.want_all = attrs == NULL;
	for (i = 0; attrs != NULL && attrs[i] != NULL; i++)
		want_add(&l, attrs[i]);
	nf = filter_attrs(l.filter, fattrs, sizeof(fattrs) / sizeof(*fattrs));
	for (i = 0; i < nf; i++)
		want_add(&l, fattrs[i]);
	l.origin_prefix = strlen(src->path) + 1;
	l.origin_cap = l.origin_prefix + 24;
	l.origin = xmalloc(l.origin_cap);
	memcpy(l.origin, src->path, l.origin_prefix - 1);
	l.origin[l.origin_prefix - 1] = ':';

	if (lseek(src->fd, 0, SEEK_SET) < 0 && errno != ESPIPE) {
		err->lib_rc = errno;
		err_at(err, DS_E_IO, src->path, 0, "seek: %s", strerror(errno));
		goto done;
	}
	r.fd = src->fd;
	r.path = src->path;
	r.err = err;
	r.cap = LDIF_BUF_INIT;
	r.lastc = -1;
	if (fstat(src->fd, &st0) < 0) {
		err->lib_rc = errno;
		err_at(err, DS_E_IO, src->path, 0, "stat: %s", strerror(errno));
		goto done;
	}
	if (st0.st_size >= 0 && (uintmax_t)st0.st_size + 1 < r.cap)
		r.cap = (size_t)st0.st_size + 1 > LDIF_BUF_MIN
				? (size_t)st0.st_size + 1
				: LDIF_BUF_MIN;
	r.buf = xmalloc(r.cap);

	if (rd_encoding(&r) < 0)
		goto done;
	while ((got = rd_line(&r, &line, &len, &lineno)) > 0) {
		/* the last line, without its newline */
		if (r.eof && r.beg == r.end && r.lastc != '\n') {
			refuse_cut(&l, &r, &st0, line, len, err);
			goto done;
		}
		if (len == 0) {
			if (record_end(&l) < 0 || deliver(&l, cb, ctx) < 0)
				goto done;
			reset_entry(&l);
			continue;
		}
		if (line[0] == '#') {
			if (comment_line(&l, line, len, lineno) < 0)
				goto done;
			continue;
		}
		if (line[0] == ' ') {
			/* a fold with nothing before it to continue */
			err_at(err, DS_E_PARSE, src->path, lineno,
			       "continuation line (leading space) without a "
			       "line to continue");
			goto done;
		}
		if (do_line(&l, line, len, lineno) < 0)
			goto done;
	}
	if (got < 0)
		goto done;
	if (record_end(&l) < 0)
		goto done;
	if (check_complete(&l, &r, &st0, err) < 0)
		goto done;
	if (deliver(&l, cb, ctx) < 0)
		goto done;
	if (l.nrefs > 0)
		log_info("%s: %lu search reference%s skipped (referrals to "
			 "other naming contexts or servers, not chased, as "
			 "with type = ldap)",
			 src->path, l.nrefs, l.nrefs == 1 ? "" : "s");
	rc = 0;
done:
	free(r.buf);
	ld_free(&l);
	return rc;
}

static int
ldif_open(struct source **out, const struct conf *conf,
	  struct source_info *info, struct err *err)
{
	struct source *s;
	struct stat st;
	const char *path = conf->source.path;
	int fd;

	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return err_set(err, DS_E_CONFIG,
			       "[source] path is not set (type = ldif)");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err->lib_rc = errno;
		return err_at(err, DS_E_IO, path, 0, "cannot open LDIF: %s",
			      strerror(errno));
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		err->lib_rc = EISDIR;
		return err_at(err, DS_E_IO, path, 0,
			      "cannot read LDIF: is a directory");
	}
#ifdef POSIX_FADV_SEQUENTIAL
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->fd = fd;
	if (conf->source.base_dn != NULL && conf->source.base_dn[0] != '\0')
		s->base_norm = dn_normalize(conf->source.base_dn);
	if (info != NULL) {
		memset(info, 0, sizeof(*info));
		snprintf(info->server, sizeof(info->server), "%s", path);
		snprintf(info->flavor, sizeof(info->flavor), "ldif");
		snprintf(info->tls, sizeof(info->tls), "n/a");
		if (conf->source.base_dn != NULL)
			snprintf(info->naming_context,
				 sizeof(info->naming_context), "%s",
				 conf->source.base_dn);
	}
	*out = s;
	return 0;
}

static void
ldif_close(struct source *src)
{
	if (src == NULL)
		return;
	if (src->fd >= 0)
		close(src->fd);
	free(src->path);
	free(src->base_norm);
	free(src);
}

/* XXH3-128 of the whole file (pread: read()'s offset stays). */
static int
ldif_content_id(struct source *src, char *out, size_t len, struct err *err)
{
	XXH3_state_t st;
	XXH128_hash_t h;
	char *buf = xmalloc(1 << 20);
	off_t off = 0;
	ssize_t n;

	XXH3_INITSTATE(&st);
	XXH3_128bits_reset(&st);
	while ((n = pread(src->fd, buf, 1 << 20, off)) > 0) {
		XXH3_128bits_update(&st, buf, (size_t)n);
		off += n;
	}
	free(buf);
	if (n < 0) {
		err->lib_rc = errno;
		return err_at(err, DS_E_IO, src->path, 0, "cannot read LDIF: %s",
			      strerror(errno));
	}
	h = XXH3_128bits_digest(&st);
	snprintf(out, len, "%016llx%016llx-%lld", (unsigned long long)h.high64,
		 (unsigned long long)h.low64, (long long)off);
	return 0;
}

const struct source_ops source_ldif_ops = {
	.name = "ldif", .open = ldif_open, .read = ldif_read,
	.close = ldif_close, .content_id = ldif_content_id,
};

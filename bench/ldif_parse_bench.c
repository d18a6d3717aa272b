/*
 * ldif_parse_bench.c - LDIF source throughput on an AD-shaped export.
 *
 * Writes N users (default 100000) plus a few large groups in the shape of
 * an `ldapsearch` export of Active Directory (values folded at 76
 * columns, base64 objectGUID/objectSid, memberOf, proxyAddresses), then
 * reads it through source_ldif_ops with the default filter and the
 * attribute list a sync asks for, and prints MB/s.  Not a test.
 *
 *   make && cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -o build/ldif_parse_bench \
 *     bench/ldif_parse_bench.c $(find build/src -name '[a-z]*.o' \
 *     ! -name main.o) \
 *     -lsqlite3 -ljansson -lldap -llber -lpq -lcurl -lcrypt -lm
 *   build/ldif_parse_bench [N] [file]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "source/source.h"
#include "util/xalloc.h"

static void
b64(const unsigned char *p, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = abc[p[i] >> 2];
		out[o++] = abc[(p[i] & 3) << 4 | p[i + 1] >> 4];
		out[o++] = abc[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		out[o++] = abc[p[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = abc[p[i] >> 2];
		out[o++] = abc[(p[i] & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		out[o++] = abc[p[i] >> 2];
		out[o++] = abc[(p[i] & 3) << 4 | p[i + 1] >> 4];
		out[o++] = abc[(p[i + 1] & 15) << 2];
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* "name: value" folded at 76 columns, as ldapsearch writes it. */
static void
put(FILE *fp, const char *name, const char *sep, const char *val)
{
	char line[4096];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s%s %s", name, sep,
				    val);
	size_t i, w = 0;

	for (i = 0; i < n; i++) {
		if (w == 76) {
			fputs("\n ", fp);
			w = 1;
		}
		fputc(line[i], fp);
		w++;
	}
	fputc('\n', fp);
}

static void
gen(const char *path, long n)
{
	FILE *fp = fopen(path, "w");
	char buf[1024], enc[256];
	unsigned char guid[28];
	long i, g;
	int k;

	if (fp == NULL) {
		perror(path);
		exit(1);
	}
	fputs("version: 1\n\n", fp);
	for (i = 0; i < n; i++) {
		fprintf(fp, "# user%06ld, Users, example.com\n", i);
		snprintf(buf, sizeof(buf),
			 "CN=User Number %06ld,OU=Staff,OU=Departments,"
			 "DC=corp,DC=example,DC=com",
			 i);
		put(fp, "dn", ":", buf);
		put(fp, "objectClass", ":", "top");
		put(fp, "objectClass", ":", "person");
		put(fp, "objectClass", ":", "organizationalPerson");
		put(fp, "objectClass", ":", "user");
		snprintf(buf, sizeof(buf), "User Number %06ld", i);
		put(fp, "cn", ":", buf);
		put(fp, "sn", ":", "Number");
		put(fp, "givenName", ":", "User");
		put(fp, "distinguishedName", ":", buf);
		put(fp, "instanceType", ":", "4");
		put(fp, "whenCreated", ":", "20230102030405.0Z");
		put(fp, "whenChanged", ":", "20240506070809.0Z");
		put(fp, "displayName", ":", buf);
		put(fp, "uSNCreated", ":", "12345");
		for (k = 0; k < 4; k++) {
			snprintf(buf, sizeof(buf),
				 "CN=Group %ld,OU=Groups,DC=corp,DC=example,"
				 "DC=com",
				 (i + k) % 200);
			put(fp, "memberOf", ":", buf);
		}
		put(fp, "uSNChanged", ":", "67890");
		put(fp, "department", ":", "Engineering and Operations");
		put(fp, "title", ":", "Senior Engineer");
		for (k = 0; k < 16; k++)
			guid[k] = (unsigned char)(i * 31 + k * 7);
		b64(guid, 16, enc);
		put(fp, "objectGUID", ":", enc);
		put(fp, "userAccountControl", ":", i % 10 ? "512" : "514");
		put(fp, "badPwdCount", ":", "0");
		put(fp, "codePage", ":", "0");
		put(fp, "countryCode", ":", "0");
		put(fp, "badPasswordTime", ":", "133500000000000000");
		put(fp, "lastLogoff", ":", "0");
		put(fp, "lastLogon", ":", "133500000000000000");
		put(fp, "pwdLastSet", ":", "133400000000000000");
		put(fp, "primaryGroupID", ":", "513");
		for (k = 0; k < 28; k++)
			guid[k] = (unsigned char)(i + k * 13);
		b64(guid, 28, enc);
		put(fp, "objectSid", ":", enc);
		put(fp, "accountExpires", ":", "9223372036854775807");
		put(fp, "logonCount", ":", "42");
		snprintf(buf, sizeof(buf), "user%06ld", i);
		put(fp, "sAMAccountName", ":", buf);
		put(fp, "sAMAccountType", ":", "805306368");
		snprintf(buf, sizeof(buf), "user%06ld@corp.example.com", i);
		put(fp, "userPrincipalName", ":", buf);
		put(fp, "objectCategory", ":",
		    "CN=Person,CN=Schema,CN=Configuration,DC=corp,"
		    "DC=example,DC=com");
		put(fp, "dSCorePropagationData", ":", "20240101000000.0Z");
		put(fp, "dSCorePropagationData", ":", "16010101000000.0Z");
		put(fp, "lastLogonTimestamp", ":", "133500000000000000");
		snprintf(buf, sizeof(buf), "user%06ld@example.com", i);
		put(fp, "mail", ":", buf);
		snprintf(buf, sizeof(buf), "SMTP:user%06ld@example.com", i);
		put(fp, "proxyAddresses", ":", buf);
		snprintf(buf, sizeof(buf), "smtp:u%06ld@example.com", i);
		put(fp, "proxyAddresses", ":", buf);
		snprintf(buf, sizeof(buf),
			 "X500:/o=ExchangeLabs/ou=Exchange Administrative "
			 "Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=user%06ld",
			 i);
		put(fp, "proxyAddresses", ":", buf);
		put(fp, "msExchHideFromAddressLists", ":", "FALSE");
		fputc('\n', fp);
	}
	for (g = 0; g < 200; g++) {
		snprintf(buf, sizeof(buf),
			 "CN=Group %ld,OU=Groups,DC=corp,DC=example,DC=com", g);
		put(fp, "dn", ":", buf);
		put(fp, "objectClass", ":", "top");
		put(fp, "objectClass", ":", "group");
		snprintf(buf, sizeof(buf), "group%ld@example.com", g);
		put(fp, "mail", ":", buf);
		put(fp, "groupType", ":", "-2147483646");
		/* user i is in groups (i + k) % 200, k = 0..3 */
		for (k = 0; k < 4; k++)
			for (i = (g - k + 200) % 200; i < n; i += 200) {
				snprintf(buf, sizeof(buf),
					 "CN=User Number %06ld,OU=Staff,"
					 "OU=Departments,DC=corp,DC=example,"
					 "DC=com",
					 i);
				put(fp, "member", ":", buf);
			}
		fputc('\n', fp);
	}
	fclose(fp);
}

struct count {
	long entries, vals;
};

static int
cb(void *ctx, const struct entry *e, struct err *err)
{
	struct count *c = ctx;
	size_t i;

	(void)err;
	c->entries++;
	for (i = 0; i < e->nattrs; i++)
		c->vals += (long)e->attrs[i].nvals;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static const char *const attrs[] = {
		"objectClass", "objectGUID", "entryUUID", "mail",
		"proxyAddresses", "displayName", "givenName", "sn", "cn",
		"userAccountControl", "msExchHideFromAddressLists", "member",
		"memberOf", "targetAddress", "sAMAccountName",
		"userPrincipalName", "telephoneNumber", "title", "department",
		NULL,
	};
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	const char *path = argc > 2 ? argv[2] : "/tmp/ldif_parse_bench.ldif";
	struct conf c;
	struct source *src;
	struct source_info info;
	struct err err;
	struct count cnt;
	struct stat st;
	double t0, t1, best = 1e9;
	int round;

	if (access(path, R_OK) != 0 || argc <= 2)
		gen(path, n);
	if (stat(path, &st) != 0) {
		perror(path);
		return 1;
	}
	conf_defaults(&c);
	c.source.type = SRC_LDIF;
	c.source.path = xstrdup(path);
	memset(&err, 0, sizeof(err));
	if (source_ldif_ops.open(&src, &c, &info, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.msg);
		return 1;
	}
	for (round = 0; round < 3; round++) {
		memset(&cnt, 0, sizeof(cnt));
		t0 = now();
		if (source_ldif_ops.read(src, source_default_filter("ad"),
					 attrs, cb, &cnt, &err) < 0) {
			fprintf(stderr, "read: line %ld: %s\n", err.line,
				err.msg);
			return 1;
		}
		t1 = now();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	printf("ldif: %.1f MB, %ld entries, %ld values delivered; best of 3: "
	       "%.3f s = %.0f MB/s, %.0f entries/s\n",
	       (double)st.st_size / 1e6, cnt.entries, cnt.vals, best,
	       (double)st.st_size / 1e6 / best, (double)cnt.entries / best);
	source_ldif_ops.close(src);
	conf_free(&c);
	return 0;
}

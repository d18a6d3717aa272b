/*
 * fuzz_ldif.c - libFuzzer harness for the LDIF source (tests/fuzz/run.sh).
 *
 * The input is served as a file through a memfd.  The first byte picks the
 * attribute list (all, a few, none) and the filter; the rest is the LDIF.
 * The callback checks what every consumer relies on: a non-empty dn, names
 * without options, values NUL-terminated at their length, an origin.
 * Built with a few-byte read buffer so every refill boundary is hit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "source/source.h"

static int mfd = -1;
static char path[64];

static int
check(void *ctx, const struct entry *e, struct err *err)
{
	size_t i, j;

	(void)ctx;
	(void)err;
	if (e->dn == NULL || e->dn[0] == '\0' || e->origin == NULL ||
	    strncmp(e->origin, path, strlen(path)) != 0)
		abort();
	for (i = 0; i < e->nattrs; i++) {
		const struct attr *a = &e->attrs[i];

		if (a->name[0] == '\0' || strchr(a->name, ';') != NULL ||
		    a->nvals == 0)
			abort();
		for (j = 0; j < a->nvals; j++)
			if (a->vals[j].p[a->vals[j].len] != '\0')
				abort();
		/* names are merged case-insensitively: no duplicates */
		for (j = 0; j < i; j++)
			if (strcasecmp(e->attrs[j].name, a->name) == 0)
				abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const some[] = {"cn", "MAIL", "member", NULL};
	static const char *const none[] = {NULL};
	static const char *const filters[] = {
		"(objectClass=*)",
		("(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1."
		 "4.803:=2)))"),
		"(|(cn=a*b)(member=cn=x,dc=y))",
		"(mail=*)",
	};
	const char *const *attrs;
	struct conf c;
	struct source *src = NULL;
	struct source_info info;
	struct err err;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	if (mfd < 0) {
		mfd = memfd_create("fuzz_ldif", MFD_CLOEXEC);
		if (mfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	}
	if (ftruncate(mfd, 0) < 0 ||
	    (size > 0 && pwrite(mfd, data, size, 0) != (ssize_t)size))
		abort();
	memset(&c, 0, sizeof(c));
	memset(&err, 0, sizeof(err));
	c.source.type = SRC_LDIF;
	c.source.path = path;
	if (sel & 4)
		c.source.base_dn = "dc=y";
	attrs = (sel & 3) == 0 ? NULL : (sel & 3) == 1 ? some : none;
	if (source_ldif_ops.open(&src, &c, &info, &err) < 0)
		abort();
	if (source_ldif_ops.read(src, filters[(sel >> 3) & 3], attrs, check,
				 NULL, &err) < 0) {
		/* every failure says what and where */
		if (err.msg[0] == '\0' ||
		    (err.code == DS_E_PARSE && (err.line <= 0 ||
						strcmp(err.file, path) != 0)))
			abort();
	}
	source_ldif_ops.close(src);
	return 0;
}

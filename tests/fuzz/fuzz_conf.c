/*
 * fuzz_conf.c - libFuzzer harness for the config file parser (conf.c).
 *
 * The input is the whole dirsync.conf.  A load either succeeds or fails
 * with a message (and for a parse error, file:line); a loaded config
 * dumps (what `dirsync check` prints) without crashing, and the dump
 * never holds a bind password.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_memfd_path(data, size);
	struct conf c;
	struct err err;
	char *out = NULL;
	size_t n = 0;
	FILE *fp;

	memset(&err, 0, sizeof(err));
	if (conf_load(&c, path, &err) != 0) {
		if (err.msg[0] == '\0' || err.code == DS_OK)
			abort();
		conf_free(&c);
		return 0;
	}
	fp = open_memstream(&out, &n);
	if (fp == NULL)
		abort();
	conf_dump(&c, fp);
	fclose(fp);
	if (c.source.bind_password != NULL && c.source.bind_password[0] &&
	    strstr(out, c.source.bind_password) != NULL &&
	    strlen(c.source.bind_password) > 8)
		abort();
	free(out);
	conf_free(&c);
	return 0;
}

/*
 * fuzz_conf.c - libFuzzer harness for the config file parser (conf.c).
 *
 * The input is the whole dirsync.conf.  A load either succeeds or fails
 * with a message (and for a parse error, file:line); a loaded config
 * dumps (what `dirsync check` prints) without crashing, and the dump
 * never holds a bind password.  conf_load_all (`dirsync check`) goes on
 * after errors: when conf_load fails, it fails too with the same first
 * error; it fails exactly when it noted an error.
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

	struct conf_diag d;
	struct err all;
	int rc, rc_all;

	memset(&err, 0, sizeof(err));
	memset(&all, 0, sizeof(all));
	rc_all = conf_load_all(&c, path, &d, &all);
	if ((rc_all != 0) != (d.nerr > 0))
		abort();
	conf_diag_free(&d);
	conf_free(&c);
	rc = conf_load(&c, path, &err);
	/* conf_load_all may fail where conf_load does not: it also opens
	 * the files the config names (check_files), after everything else */
	if (rc != 0 && (rc_all == 0 || strcmp(err.msg, all.msg) != 0 ||
			err.line != all.line))
		abort();
	if (rc != 0) {
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

/*
 * fuzz_filter.c - libFuzzer harness for RFC 4515 filters
 * (tests/fuzz/run.sh).
 *
 * Parses the input; a parsed filter is evaluated against a fixed entry and
 * its attribute list taken; a failure must carry a "filter: " message.
 * Then the input as a value: filter_escape() of it put in (cn=...) must
 * parse and match an entry whose cn is exactly the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct val oc[] = {{"top", 3}, {"user", 4}};
	static struct val uac[] = {{"514", 3}};
	static struct val mem[] = {{"CN=G, DC=x", 10}};
	struct val cnv;
	struct attr attrs[] = {
		{"objectClass", 2, oc},
		{"userAccountControl", 1, uac},
		{"memberOf", 1, mem},
		{"cn", 1, &cnv},
	};
	struct entry e = {"cn=x,dc=y", 4, attrs, "fuzz"};
	struct err err;
	struct filter *f;
	const char *names[16];
	char *text, *esc, *wrapped;
	size_t n, i;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	cnv.p = text;
	cnv.len = strlen(text);

	memset(&err, 0, sizeof(err));
	f = filter_parse(text, &err);
	if (f == NULL) {
		if (err.code != DS_E_CONFIG ||
		    strncmp(err.msg, "filter: ", 8) != 0)
			abort();
	} else {
		(void)filter_match(f, &e);
		n = filter_attrs(f, names, 16);
		if (n > 16)
			abort();
		for (i = 0; i < n; i++)
			if (names[i] == NULL || names[i][0] == '\0')
				abort();
		filter_free(f);
	}

	esc = filter_escape(text);
	wrapped = malloc(strlen(esc) + 6);
	if (wrapped == NULL)
		abort();
	sprintf(wrapped, "(cn=%s)", esc);
	f = filter_parse(wrapped, &err);
	if (strlen(wrapped) <= 60000 && (f == NULL || !filter_match(f, &e)))
		abort();
	filter_free(f);
	free(wrapped);
	free(esc);
	free(text);
	return 0;
}

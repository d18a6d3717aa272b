/*
 * fuzz_dn.c - libFuzzer harness for DN handling: dn_normalize (every DN
 * comparison: member values, member_of, base_dn, duplicate DNs in LDIF).
 *
 * Properties: the normal form is never longer than the input, has no
 * upper-case ASCII outside escapes, and normalising it again gives it
 * back (two spellings of one DN must meet in one form).
 */
#include "fuzz_common.h"

#include "model/entry.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw, *a, *b;
	size_t i;

	raw = malloc(size + 1);
	if (raw == NULL)
		abort();
	memcpy(raw, data, size);
	raw[size] = '\0';
	a = dn_normalize(raw);
	if (strlen(a) > strlen(raw))
		abort();
	for (i = 0; a[i] != '\0'; i++) {
		if (a[i] == '\\' && a[i + 1] != '\0') {
			i++;
			continue;
		}
		if (a[i] >= 'A' && a[i] <= 'Z')
			abort();
	}
	b = dn_normalize(a);
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "not idempotent: '%s' -> '%s'\n", a, b);
		abort();
	}
	free(a);
	free(b);
	free(raw);
	return 0;
}

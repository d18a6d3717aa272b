/*
 * fuzz_address.c - libFuzzer harness for address normalisation
 * (rules_norm_address: mail values and the part after "smtp:" in
 * proxyAddresses).
 *
 * Properties: a result is one local part, one '@', a domain; no byte
 * Postfix goto lists or SMTP cannot carry (space, control, ',', '"',
 * '<', '>', '\', non-ASCII); lower case; at most 254 bytes; and
 * normalising it again gives it back (the config's rewrite targets are
 * not rewritten again).
 */
#include "fuzz_common.h"

#include "rules/rules.h"

static struct conf conf;
static int loaded;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw, *a, *b, *p;

	if (!loaded) {
		fuzz_conf_file(&conf,
			       "[mapping]\n"
			       "accepted_domains = example.com example.net\n"
			       "domain_rewrite = old-example.com=example.com\n"
			       "\tcorp.example.org=example.net\n"
			       "[source]\ntype = ldif\npath = /dev/null\n");
		loaded = 1;
	}
	raw = malloc(size + 1);
	if (raw == NULL)
		abort();
	memcpy(raw, data, size);
	raw[size] = '\0';
	a = rules_norm_address(&conf, raw);
	if (a != NULL) {
		if (strlen(a) > 254 || strchr(a, '@') == NULL ||
		    strchr(a, '@') != strrchr(a, '@') || a[0] == '@' ||
		    a[strlen(a) - 1] == '@')
			abort();
		for (p = a; *p != '\0'; p++) {
			unsigned char ch = (unsigned char)*p;

			if (ch <= ' ' || ch >= 0x7f || strchr(",\"<>\\", ch) ||
			    (ch >= 'A' && ch <= 'Z'))
				abort();
		}
		b = rules_norm_address(&conf, a);
		if (b == NULL || strcmp(a, b) != 0)
			abort();
		free(b);
	}
	free(a);
	free(raw);
	return 0;
}

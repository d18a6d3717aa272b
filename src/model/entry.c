#include "model/entry.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

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

char *
dn_normalize(const char *dn)
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

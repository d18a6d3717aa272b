/* STUB: the RFC 4515 filter parser/evaluator is being written. */
#include "util/filter.h"

#include "util/xalloc.h"

struct filter *
filter_parse(const char *text, struct err *err)
{
	err_set(err, DS_E_CONFIG, "filters not built yet");
	return NULL;
}

bool
filter_match(const struct filter *f, const struct entry *e)
{
	return false;
}

void
filter_free(struct filter *f)
{
}

size_t
filter_attrs(const struct filter *f, const char **out, size_t max)
{
	return 0;
}

char *
filter_escape(const char *value)
{
	return xstrdup(value);
}

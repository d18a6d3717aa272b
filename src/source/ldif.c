/* STUB: the LDIF reader is being written (see source.h). */
#include "source/source.h"

static int
ldif_open(struct source **out, const struct conf *conf,
	  struct source_info *info, struct err *err)
{
	*out = NULL;
	return err_set(err, DS_E_INTERNAL, "LDIF source not built yet");
}

static int
ldif_read(struct source *src, const char *filter, const char *const *attrs,
	  source_entry_cb cb, void *ctx, struct err *err)
{
	return err_set(err, DS_E_INTERNAL, "LDIF source not built yet");
}

static void
ldif_close(struct source *src)
{
}

const struct source_ops source_ldif_ops = {
	"ldif", ldif_open, ldif_read, ldif_close,
};

/* STUB: the LDAP reader is being written (see source.h). */
#include "source/source.h"

static int
ldap_open(struct source **out, const struct conf *conf,
	  struct source_info *info, struct err *err)
{
	*out = NULL;
	return err_set(err, DS_E_INTERNAL, "LDAP source not built yet");
}

static int
ldap_read(struct source *src, const char *filter, const char *const *attrs,
	  source_entry_cb cb, void *ctx, struct err *err)
{
	return err_set(err, DS_E_INTERNAL, "LDAP source not built yet");
}

static void
ldap_close(struct source *src)
{
}

const struct source_ops source_ldap_ops = {
	"ldap", ldap_open, ldap_read, ldap_close,
};

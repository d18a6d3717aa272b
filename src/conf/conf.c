/* STUB: the INI parser and option table are being written (see conf.h). */
#include "conf/conf.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->source.type = SRC_LDAP;
	c->source.starttls = STARTTLS_NO;
	c->source.tls_ca_file = xstrdup("/etc/ssl/certs/ca-certificates.crt");
	c->source.tls_verify = true;
	c->source.flavor = FLAVOR_AUTO;
	c->source.page_size = 1000;
	c->source.timeout = 30;
	c->scope.mail_enabled_only = true;
	c->scope.enabled_only = true;
	c->scope.visible_only = true;
	c->scope.object_types = OT_USERS | OT_GROUPS | OT_CONTACTS;
	c->mapping.email_attribute = xstrdup("mail");
	c->mapping.alias_attributes.n = 1;
	c->mapping.alias_attributes.v = xcalloc(1, sizeof(char *));
	c->mapping.alias_attributes.v[0] = xstrdup("proxyAddresses");
	c->mapping.group_filter =
		xstrdup("(|(objectClass=group)(objectClass=groupOfNames))");
	c->target.type = TGT_SQL;
	c->target.url = xstrdup("sqlite:///var/lib/dirsync/mail.db");
	c->target.schema = xstrdup("postfixadmin");
	c->target.password_scheme = xstrdup("SHA512-CRYPT");
	c->passwords.min_length = 8;
	c->passwords.min_classes = 3;
	c->passwords.on_failure = PW_ACCEPT;
	c->safety.max_adds = -1;
	c->safety.max_updates = -1;
	c->safety.max_deletes = -1;
	c->safety.max_alias_adds = -1;
	c->safety.max_alias_deletes = -1;
	c->safety.max_total = -1;
	c->safety.max_delete_percent = 10;
	c->safety.deprovision = DEPROV_DISABLE;
	c->safety.delete_after = 30L * 86400;
	c->safety.allow_empty = false;
	c->schedule.interval = 300;
	c->schedule.full_every = 86400;
	c->notify.when = NOTIFY_CHANGES;
	c->state.path = xstrdup("/var/lib/dirsync/state.db");
	c->state.keep_runs = 1000;
}

int
conf_load(struct conf *c, const char *path, struct err *err)
{
	conf_defaults(c);
	c->path = xstrdup(path);
	return err_at(err, DS_E_CONFIG, path, 0, "config parser not built yet");
}

void
conf_dump(const struct conf *c, FILE *fp)
{
	(void)c;
	(void)fp;
}

static void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
conf_free(struct conf *c)
{
	free(c->path);
	strlist_free(&c->source.uri);
	free(c->source.tls_ca_file);
	free(c->source.bind_dn);
	free(c->source.bind_password_file);
	if (c->source.bind_password != NULL) {
		explicit_bzero(c->source.bind_password,
			       strlen(c->source.bind_password));
		free(c->source.bind_password);
	}
	free(c->source.base_dn);
	free(c->source.filter);
	free(c->source.path);
	strlist_free(&c->scope.member_of);
	strlist_free(&c->scope.exclude);
	free(c->mapping.email_attribute);
	strlist_free(&c->mapping.alias_attributes);
	free(c->mapping.group_filter);
	strlist_free(&c->mapping.accepted_domains);
	strlist_free(&c->mapping.domain_rewrite);
	free(c->target.url);
	free(c->target.schema);
	free(c->target.password_scheme);
	free(c->target.token_file);
	free(c->target.ca_file);
	free(c->notify.smtp_url);
	free(c->notify.from);
	strlist_free(&c->notify.to);
	free(c->state.path);
	memset(c, 0, sizeof(*c));
}

int
conf_parse_duration(const char *s, long *out)
{
	(void)s;
	(void)out;
	return -1;
}

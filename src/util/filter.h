/*
 * filter.h - RFC 4515 LDAP search filters: parse, evaluate, escape.
 *
 * The LDIF source evaluates [source] filter and [mapping] group_filter
 * locally with these; the LDAP source sends them to the server.  Both must
 * agree, so evaluation follows the server's rules: attribute names and
 * (for the string syntaxes we meet) values compare case-insensitively;
 * extensible matches support the AD bit rules 1.2.840.113556.1.4.803
 * (AND) and .804 (OR) on integer values.
 */
#ifndef DS_FILTER_H
#define DS_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "model/entry.h"
#include "util/err.h"

struct filter;

/* NULL with err set (DS_E_CONFIG, message says where it stops parsing). */
struct filter *filter_parse(const char *text, struct err *err);
bool filter_match(const struct filter *f, const struct entry *e);
void filter_free(struct filter *f);
/* Attribute names the filter mentions, for the LDAP attribute list. */
size_t filter_attrs(const struct filter *f, const char **out, size_t max);

/* RFC 4515 escaping of a value put into a filter; malloc'd. */
char *filter_escape(const char *value);

#endif

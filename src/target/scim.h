/*
 * scim.h - what `dirsync test` shows of a SCIM target (scim_load.c).
 */
#ifndef DS_SCIM_H
#define DS_SCIM_H

#include <stdio.h>

#include "conf/conf.h"
#include "util/err.h"

/*
 * Connects to the SCIM server of conf (read-only), and prints what it
 * supports (from /ServiceProviderConfig) and how many Users and Groups
 * it holds (totalResults of count=0 queries).  0, or -1 with err.
 */
int scim_describe(const struct conf *conf, FILE *fp, struct err *err);

#endif

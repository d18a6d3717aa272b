/*
 * scim.h - what `dirsync test` shows of a SCIM target (scim_load.c).
 */
#ifndef DS_SCIM_H
#define DS_SCIM_H

#include <stdio.h>

struct target;

/*
 * Prints what the server supports (from /ServiceProviderConfig) and how
 * many Users and Groups it holds, for a target opened and loaded by
 * target_scim_ops (only: t must be a SCIM target).
 */
void scim_describe(const struct target *t, FILE *fp);

#endif

/*
 * secret.h - secrets handed over in the environment, and the process
 * hardening that goes with them (issue 13, docs/security.md).
 *
 * secret_init() runs first thing in main():
 *  - prctl(PR_SET_DUMPABLE, 0): no core dump, no ptrace attach by the
 *    same user, /proc/PID/{environ,mem} readable by root only;
 *  - umask gains 077: what dirsync creates (state.db, its WAL, the lock)
 *    is private; mail.db is chmod'ed to 0640 by its driver;
 *  - every variable in SECRET_ENV_NAMES is copied to private memory, its
 *    bytes in the original environment block are overwritten (the block
 *    is what /proc/PID/environ shows, unsetenv alone leaves it), and it is
 *    unset, so no child process and no later reader of the environment
 *    sees it.
 *
 * secret_env() then returns the copy (borrowed until secret_wipe(), which
 * runs at exit); before secret_init() (unit tests) it reads the
 * environment.  Not thread-safe: init before any thread starts.
 */
#ifndef DS_SECRET_H
#define DS_SECRET_H

#include <stddef.h>

/* NULL-terminated; DIRSYNC_SMTP_USER travels with its password. */
#define SECRET_ENV_NAMES                                                   \
	{"DIRSYNC_BIND_PASSWORD", "DIRSYNC_SMTP_PASSWORD",                 \
	 "DIRSYNC_SMTP_USER", "PGPASSWORD", NULL}

void secret_init(void);
/* The value `name` had at secret_init(), or NULL when it was not set. */
const char *secret_env(const char *name);
/* Overwrites and frees every copy (registered with atexit by init). */
void secret_wipe(void);
/* explicit_bzero(s, strlen(s)) when s is not NULL. */
void secret_clear(char *s);

#endif

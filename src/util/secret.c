/* secret.c - secrets from the environment, process hardening; see secret.h. */
#include "util/secret.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "util/xalloc.h"

static const char *const names[] = SECRET_ENV_NAMES;
static char *vals[sizeof(names) / sizeof(names[0])];
static int inited;

void
secret_clear(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
}

void
secret_wipe(void)
{
	size_t i;

	for (i = 0; names[i] != NULL; i++) {
		secret_clear(vals[i]);
		free(vals[i]);
		vals[i] = NULL;
	}
}

void
secret_init(void)
{
	size_t i;
	mode_t old;

	if (inited)
		return;
	inited = 1;
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	old = umask(077);
	umask(old | 077);
	for (i = 0; names[i] != NULL; i++) {
		char *v = getenv(names[i]);

		if (v == NULL)
			continue;
		vals[i] = xstrdup(v);
		/* the bytes /proc/PID/environ shows: "NAME=" stays */
		explicit_bzero(v, strlen(v));
		unsetenv(names[i]);
	}
	atexit(secret_wipe);
}

const char *
secret_env(const char *name)
{
	size_t i;

	if (!inited)
		return getenv(name);    /* unit tests: no main() */
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], name) == 0)
			return vals[i];
	return NULL;
}

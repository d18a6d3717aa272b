/*
 * user.c - a user named for a message (see user.h).
 */
#include "util/user.h"

#include <pwd.h>
#include <stdio.h>

const char *
user_name(uid_t uid, char *buf, size_t n)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, n, "%s (uid %ld)", pw->pw_name, (long)uid);
	else
		snprintf(buf, n, "uid %ld", (long)uid);
	return buf;
}

/*
 * user.h - a user named for a message.
 */
#ifndef DS_USER_H
#define DS_USER_H

#include <stddef.h>
#include <sys/types.h>

/*
 * "name (uid N)", or "uid N" for a uid with no passwd entry
 * (getpwuid(3)), into buf (n bytes, cut to fit); returns buf.
 */
const char *user_name(uid_t uid, char *buf, size_t n);

#endif

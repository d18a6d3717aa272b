/*
 * fsro.h - is a file's file system mounted read-only?
 */
#ifndef DS_FSRO_H
#define DS_FSRO_H

#include <stdbool.h>

/*
 * True when the file system holding path's directory is mounted
 * read-only (statvfs(3) ST_RDONLY): SQLite reports that as "attempt to
 * write a readonly database", which reads like a permission problem.
 * False when it is writable or cannot be told.
 */
bool fs_readonly(const char *path);

#endif

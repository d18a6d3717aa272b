/*
 * fsro.h - is a file's file system mounted read-only, or the file
 * marked immutable?
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
/*
 * True when path, or the directory holding it, carries the immutable
 * or append-only attribute (chattr(1) +i / +a, read with ioctl(2)
 * FS_IOC_GETFLAGS): writes fail with EPERM even for root, which SQLite
 * reports as "attempt to write a readonly database".  False when not,
 * or when the file system cannot say.
 */
bool fs_immutable(const char *path);

#endif

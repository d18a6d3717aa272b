/*
 * fsro.c - is a file's file system mounted read-only?
 */
#include "util/fsro.h"

#include <libgen.h>
#include <stdlib.h>
#include <sys/statvfs.h>

#include "util/xalloc.h"

bool
fs_readonly(const char *path)
{
	char *dir = xstrdup(path);
	struct statvfs vfs;
	bool ro = statvfs(dirname(dir), &vfs) == 0 &&
		  (vfs.f_flag & ST_RDONLY) != 0;

	free(dir);
	return ro;
}

/*
 * fsro.c - is a file's file system mounted read-only?
 */
#include "util/fsro.h"

#include <fcntl.h>
#include <libgen.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <unistd.h>

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

static bool
flags_locked(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), flags = 0;
	bool locked;

	if (fd < 0)
		return false;
	locked = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
		 (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)) != 0;
	close(fd);
	return locked;
}

bool
fs_immutable(const char *path)
{
	char *dir = xstrdup(path);
	bool locked = flags_locked(path) || flags_locked(dirname(dir));

	free(dir);
	return locked;
}

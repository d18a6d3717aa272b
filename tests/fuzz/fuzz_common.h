/*
 * fuzz_common.h - helpers shared by the libFuzzer harnesses (run.sh).
 *
 * fuzz_memfd_path() serves bytes as a file: one memfd per process,
 * rewritten for each input, named /proc/self/fd/N.  fuzz_conf_file()
 * writes a fixed config once (mode 0600, in $TMPDIR) for the harnesses
 * that need a loaded conf, and loads it.
 */
#ifndef DS_FUZZ_COMMON_H
#define DS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline const char *
fuzz_memfd_path(const uint8_t *data, size_t size)
{
	static int mfd = -1;
	static char path[64];

	if (mfd < 0) {
		mfd = memfd_create("fuzz", MFD_CLOEXEC);
		if (mfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	}
	if (ftruncate(mfd, 0) < 0 ||
	    (size > 0 && pwrite(mfd, data, size, 0) != (ssize_t)size))
		abort();
	return path;
}

/* Loads `text` as a config into *c (once per process); aborts on error. */
static inline void
fuzz_conf_file(struct conf *c, const char *text)
{
	char path[] = "/tmp/dirsync-fuzz-conf.XXXXXX";
	struct err err;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	memset(&err, 0, sizeof(err));
	if (conf_load(c, path, &err) != 0) {
		fprintf(stderr, "fuzz conf: %s\n", err.msg);
		abort();
	}
	unlink(path);
	/* the rules warn on stderr through log_warn: keep runs quiet */
	log_init("fuzz", -1, 0);
}

#endif

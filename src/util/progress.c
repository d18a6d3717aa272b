#include "util/progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_REDRAW_NS 100000000L /* 0.1 s */

static struct {
	bool quiet;
	bool active;
	char label[64];
	unsigned long n, total;
	struct timespec start, drawn;
	int width; /* of the last line drawn, to blank leftovers */
} prog;

static double
progress_secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static bool
progress_enabled(void)
{
	return !prog.quiet && isatty(STDERR_FILENO);
}

static void
progress_draw(const struct timespec *now, bool final)
{
	char line[160];
	double secs = progress_secs(&prog.start, now);
	double rate = secs > 0.05 ? (double)prog.n / secs : 0.0;
	int len;

	if (prog.total > 0)
		len = snprintf(line, sizeof(line), "%s: %lu/%lu", prog.label,
			       prog.n, prog.total);
	else
		len = snprintf(line, sizeof(line), "%s: %lu", prog.label,
			       prog.n);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = (int)sizeof(line) - 1;
	if (final)
		len += snprintf(line + len, sizeof(line) - (size_t)len,
				" in %.1fs (%.0f/s)", secs, rate);
	else if (rate > 0)
		len += snprintf(line + len, sizeof(line) - (size_t)len,
				" (%.0f/s)", rate);
	if ((size_t)len >= sizeof(line))
		len = (int)sizeof(line) - 1;
	fprintf(stderr, "\r%s%*s", line, prog.width > len ? prog.width - len : 0,
		"");
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
	prog.width = len;
	prog.drawn = *now;
}

void
progress_quiet(bool quiet)
{
	prog.quiet = quiet;
}

void
progress_start(const char *label)
{
	if (prog.active)
		progress_done();
	if (!progress_enabled())
		return;
	snprintf(prog.label, sizeof(prog.label), "%s", label ? label : "");
	prog.n = 0;
	prog.total = 0;
	prog.width = 0;
	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	prog.active = true;
	progress_draw(&prog.start, false);
}

void
progress_total(unsigned long total)
{
	prog.total = total;
}

void
progress_update(unsigned long n)
{
	struct timespec now;

	if (!prog.active)
		return;
	prog.n = n;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (progress_secs(&prog.drawn, &now) * 1e9 >= PROGRESS_REDRAW_NS)
		progress_draw(&now, false);
}

void
progress_done(void)
{
	struct timespec now;

	if (!prog.active)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	progress_draw(&now, true);
	prog.active = false;
}

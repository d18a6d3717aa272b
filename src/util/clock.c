#include "util/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

double
clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
clock_cpu_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
clock_rss(unsigned long *now_kib, unsigned long *peak_kib)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	*now_kib = *peak_kib = 0;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			sscanf(line + 6, "%lu", now_kib);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			sscanf(line + 6, "%lu", peak_kib);
	}
	fclose(f);
}

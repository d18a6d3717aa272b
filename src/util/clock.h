/*
 * clock.h - monotonic seconds, for durations (run times, schedules),
 * and the process's resident memory, for the same stage lines.
 */
#ifndef DS_CLOCK_H
#define DS_CLOCK_H

double clock_seconds(void);
/*
 * The process's resident set now and its peak so far, in KiB (Linux:
 * /proc/self/status VmRSS and VmHWM); 0 and 0 where that cannot be read.
 * For the stage timings' debug lines.
 */
void clock_rss(unsigned long *now_kib, unsigned long *peak_kib);
/* CPU time (user + system) this process has used, in seconds. */
double clock_cpu_seconds(void);

#endif

/*
 * clock.h - monotonic seconds, for durations (run times, schedules).
 */
#ifndef DS_CLOCK_H
#define DS_CLOCK_H

double clock_seconds(void);

#endif

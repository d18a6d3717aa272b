/*
 * progress.h - one self-overwriting status line on a terminal.
 *
 *     progress_start("reading directory");
 *     for (...) progress_update(++n);
 *     progress_done();
 *
 * Writes to stderr only when stderr is a TTY and progress_quiet(false) is in
 * force (the default); otherwise every call is a no-op, so callers never
 * test for it.  Redraws at most ten times a second: "label: N (R/s)", with
 * "N/TOTAL" when a total was given.  Not thread-safe; one line at a time.
 */
#ifndef DS_PROGRESS_H
#define DS_PROGRESS_H

#include <stdbool.h>

/* --quiet, the daemon and JSON-only output call progress_quiet(true). */
void progress_quiet(bool quiet);
/* Starts a line; label is copied.  Ends a line left open by a previous start. */
void progress_start(const char *label);
/* Optional: the count expected, for "N/TOTAL"; 0 = unknown. */
void progress_total(unsigned long total);
/* The count so far (absolute, not an increment). */
void progress_update(unsigned long n);
/* Final count, elapsed time and rate, then a newline. */
void progress_done(void);

#endif

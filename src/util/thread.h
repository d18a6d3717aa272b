/*
 * thread.h - helper threads that never take the process's signals.
 *
 * The daemon's SIGTERM, SIGHUP and SIGUSR1 must reach the main thread,
 * which checks its flags; a helper thread is therefore born with every
 * signal blocked.
 */
#ifndef DS_THREAD_H
#define DS_THREAD_H

#include <pthread.h>

/* pthread_create with all signals blocked in the new thread; 0 or errno. */
int thread_spawn(pthread_t *th, void *(*fn)(void *), void *arg);

#endif

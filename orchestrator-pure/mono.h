/* mono.h - CLOCK_MONOTONIC time for the engine's threads: milliseconds, absolute deadlines for
 * pthread_cond_timedwait, and condition variables that wait on that clock (a wall-clock step
 * must neither shorten nor stretch a backoff or a lease). */
#ifndef ORCH_MONO_H
#define ORCH_MONO_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. Any thread. */
int64_t mono_now_ms(void);

/* The CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait on a mono_cond_init cv. */
struct timespec mono_deadline(int64_t ms);

/* pthread_cond_init with CLOCK_MONOTONIC. */
void mono_cond_init(pthread_cond_t *cv);

#endif

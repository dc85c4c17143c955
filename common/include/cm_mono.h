/* cm_mono.h — CLOCK_MONOTONIC time for background threads: milliseconds, absolute deadlines for
 * pthread_cond_timedwait, and condition variables that wait on that clock (a wall-clock step
 * must neither shorten nor stretch a backoff or a lease). */
#ifndef CM_MONO_H
#define CM_MONO_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. Any thread. */
int64_t mono_now_ms(void);

/* The CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait on a mono_cond_init cv. */
struct timespec mono_deadline(int64_t ms);

/* pthread_cond_init with CLOCK_MONOTONIC. */
void mono_cond_init(pthread_cond_t *cv);

/* Sleeps up to ms on cv (a mono_cond_init one) unless or until *flag, guarded by mu, is set;
 * mu must not be held. Returns *flag as last seen. For threads that back off or pause and must
 * wake at once on stop. */
int mono_sleep_unless(pthread_mutex_t *mu, pthread_cond_t *cv, const int *flag, int64_t ms);

/* A background thread that sleeps between rounds and can be told to stop: the mutex, the
 * condition variable (on CLOCK_MONOTONIC) and the flag that every such thread needs. Embed it;
 * its fields are the functions' below. */
typedef struct mono_thread {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int stopping; /* guarded by mu */
} mono_thread;

/* Runs fn(arg) on a new thread. Returns 0, or CM_ERR_NOMEM when the thread cannot be created
 * (nothing is left to stop then). The owner's thread. */
int mono_thread_start(mono_thread *t, void *(*fn)(void *), void *arg);

/* Sleeps ms, or less when asked to stop. Returns 1 when stopping, else 0. The thread itself. */
int mono_thread_wait(mono_thread *t, int64_t ms);

/* 1 once the thread has been asked to stop. Any thread. */
int mono_thread_stopping(mono_thread *t);

/* Asks the thread to stop, wakes it, joins it and frees the mutex and condition variable. The
 * owner's thread, once, after a successful mono_thread_start. */
void mono_thread_stop(mono_thread *t);

#endif

/* callpool.h - helper threads that run a worker's concurrent step calls (the three confirms
 * after the pivot). A helper lives as long as the pool, so common's per-thread HTTP client
 * keeps its connections to the services alive across sagas: a confirm never opens one. */
#ifndef ORCH_CALLPOOL_H
#define ORCH_CALLPOOL_H

#include <pthread.h>

typedef struct callpool callpool_t;

/* One call handed to a helper. The caller owns it (on its stack) from callpool_submit until
 * callpool_wait returns; the pool only links it and sets done. */
typedef struct callpool_task {
    void (*fn)(void *arg);
    void *arg;
    struct callpool_task *next;
    int done; /* guarded by the pool's mutex */
    pthread_cond_t cv;
} callpool_task_t;

/* A pool that starts helpers as they are needed, up to max_threads (>= 1). 0, CM_ERR_INVALID
 * or CM_ERR_NOMEM. Main thread. */
int callpool_new(int max_threads, callpool_t **out);

/* Queues fn(arg) for a helper (starting one when none is idle and the cap allows). Returns 0,
 * or CM_ERR_BUSY when no helper runs and none can be started: the caller runs fn itself.
 * Any thread; t must stay valid until callpool_wait(t) returns. */
int callpool_submit(callpool_t *p, callpool_task_t *t, void (*fn)(void *arg), void *arg);

/* Waits until the helper ran t. Any thread (the one that submitted it). */
void callpool_wait(callpool_t *p, callpool_task_t *t);

/* Stops the helpers once the queue is empty, joins and frees. NULL ok. Main thread, after
 * every submitter stopped. */
void callpool_free(callpool_t *p);

#endif

/* slots.h — the lending both connection pools share (MySQL, Redis): a fixed number of slots,
 * each lent to one thread at a time. Knows nothing of what a slot holds; private to common. */
#ifndef CM_SLOTS_H
#define CM_SLOTS_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

typedef struct slot_state {
    bool lent;
    bool open;       /* its connection was open and sound when given back */
    time_t returned; /* CLOCK_MONOTONIC seconds of the last give-back, 0 never */
} slot_state;

typedef struct slots {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    slot_state *s;
} slots;

/* n >= 1 idle slots. 0 or CM_ERR_NOMEM. */
int slots_init(slots *p, int n);

/* Frees; a slot still lent is logged as a bug of `owner` ("db_pool_free"). */
void slots_destroy(slots *p, const char *owner);

/* Lends a slot and returns its index: an idle slot whose connection is open if there is one (so
 * a lightly loaded pool keeps few sockets), else any idle slot; waits while none is idle.
 * *idle_s = seconds since the slot was given back (a link idle that long may be dead). Any
 * thread; never take two from one pool in one thread (a small pool can wait forever). */
int slots_take(slots *p, int *idle_s);

/* Gives slot i back; open says whether its connection can be reused as it is. */
void slots_give(slots *p, int i, bool open);

#endif

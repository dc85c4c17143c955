/* owned.h - the sagas this process drives (queued or running) and what it knows of each while
 * it does: the live phase and step, a retry in progress, and its lease (when this process last
 * made sure of it, whether it was lost, whether a cancel came for it). A saga is never queued
 * twice here, and one this process holds but does not drive can be told apart. Thread-safe
 * (its own mutex, never held while calling out). */
#ifndef ORCH_OWNED_H
#define ORCH_OWNED_H

#include <stdbool.h>
#include <stdint.h>

#include "saga_machine.h"

typedef struct owned_set owned_set_t;

/* What the engine knows of one saga it drives. Times are CLOCK_MONOTONIC milliseconds. */
typedef struct owned_info {
    saga_phase_t phase;     /* as the driver last reported it (live, ahead of the database) */
    saga_step_t step;       /* saga_machine_step of that state */
    saga_step_t retry_step; /* the step retrying longest, SAGA_STEP_NONE when none retries */
    int64_t retry_since_ms; /* since when it has been retrying */
    int64_t lease_from_ms;  /* sent the statement that last set its lease at this time */
    bool lost;              /* the database names another owner: stop driving it */
    bool cancel;            /* a cancel was committed for it since the driver last looked */
} owned_info_t;

/* An empty set, or NULL out of memory. */
owned_set_t *owned_new(void);

/* Frees the set and every entry. NULL ok. */
void owned_free(owned_set_t *s);

/* Adds saga_id (copied) with its lease set at lease_from_ms: 1 when added, 0 when it was
 * there already (nothing changes), -1 out of memory. */
int owned_add(owned_set_t *s, const char *saga_id, int64_t lease_from_ms);

/* Removes saga_id; absent is fine. */
void owned_del(owned_set_t *s, const char *saga_id);

/* 1 when saga_id is driven here (a copy of its entry in *out when out is not NULL), else 0. */
int owned_get(owned_set_t *s, const char *saga_id, owned_info_t *out);

/* The driver's live view of a saga: phase, step, the step retrying longest (SAGA_STEP_NONE)
 * and since when. Absent: nothing. */
void owned_observe(owned_set_t *s, const char *saga_id, saga_phase_t phase, saga_step_t step,
                   saga_step_t retry_step, int64_t retry_since_ms);

/* Whether this process may still drive saga_id at now_ms: it is here, not lost, and its lease
 * (lease_ms long from lease_from_ms, less margin_ms) has not run out. */
bool owned_lease_ok(owned_set_t *s, const char *saga_id, int64_t now_ms, int64_t lease_ms,
                    int64_t margin_ms);

/* Marks that a cancel was committed for saga_id (absent: nothing). owned_take_cancel returns
 * the mark and clears it. */
void owned_mark_cancel(owned_set_t *s, const char *saga_id);
bool owned_take_cancel(owned_set_t *s, const char *saga_id);

/* One saga the database says this process holds (a lease renewal's answer). */
typedef struct owned_held {
    const char *saga_id; /* borrowed */
    bool cancel;         /* cancel_requested is set and it has not passed its pivot there */
} owned_held_t;

/* Applies a lease renewal that started at from_ms and found held[0..n): every entry that
 * existed before from_ms and is in held gets lease_from_ms = from_ms (and a cancel mark when
 * held says so); one that is not in held is lost. Returns how many of held are not here, and
 * puts their indexes into orphans[] (room for n): the engine then drives them. */
int owned_renewed(owned_set_t *s, int64_t from_ms, const owned_held_t *held, int n, int *orphans);

/* Per live phase (arrays of SAGA_PHASE_COUNT): how many sagas, and the age at now_ms of the
 * oldest retry in progress (0 when none). Returns the number of entries. */
int owned_stats(owned_set_t *s, int64_t now_ms, int *counts, int64_t *oldest_retry_ms);

#endif

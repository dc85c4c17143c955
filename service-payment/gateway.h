/* gateway.h - the fake payment gateway: refuses amounts above a limit, optionally sleeps and
 * fails transiently, and measures its own concurrency (peak exported as a gauge) so tests can
 * check that the semaphore:pg semaphore in front of it holds. Not a real PSP. */
#ifndef SERVICE_PAYMENT_GATEWAY_H
#define SERVICE_PAYMENT_GATEWAY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cm_metrics.h"

typedef enum fpg_outcome {
    FPG_APPROVED = 0,
    FPG_INSUFFICIENT_BALANCE, /* amount above the limit: business failure, never retried */
    FPG_TRANSIENT             /* simulated outage: the caller answers 503 and may retry */
} fpg_outcome_t;

#define FPG_MEMORY 4096 /* final answers remembered by payment id (oldest forgotten first) */

typedef struct fpg_answer {
    int64_t payment_id; /* 0: empty slot */
    fpg_outcome_t outcome;
} fpg_answer_t;

typedef struct fake_pg {
    int64_t limit;             /* FAKE_PG_LIMIT: largest amount approved */
    int latency_ms;            /* FAKE_PG_LATENCY_MS: time each charge takes */
    double failure_rate;       /* FAKE_PG_FAILURE_RATE: share of charges failing transiently */
    metrics_registry *metrics; /* borrowed; may be NULL */
    atomic_int inflight;       /* charges running right now */
    atomic_int peak;           /* highest `inflight` ever observed */
    pthread_mutex_t gauge_mu;  /* orders gauge writes so the last one carries the latest value */
    pthread_mutex_t memory_mu; /* guards answers / next */
    fpg_answer_t answers[FPG_MEMORY]; /* ring of final outcomes, the idempotency memory */
    size_t next;
} fake_pg_t;

/* Initialises `pg` (counters zero) and publishes fake_pg_inflight_peak = 0. */
void fpg_init(fake_pg_t *pg, int64_t limit, int latency_ms, double failure_rate,
              metrics_registry *metrics);

/* Charges `amount` for payment `payment_id`. The id is the gateway's idempotency key, as a
 * real PSP would take it: a payment that already got a final answer (approved or refused)
 * gets the same answer again without a second charge (counted as outcome "replayed"; the
 * last FPG_MEMORY payments are remembered). A transient failure is not final, so the retry
 * charges. Blocks latency_ms for a new charge. Updates fake_pg_inflight,
 * fake_pg_inflight_peak and fake_pg_charges_total{outcome}. Any thread. */
fpg_outcome_t fpg_charge(fake_pg_t *pg, int64_t payment_id, int64_t amount);

/* Highest concurrency observed so far. Any thread. */
int fpg_peak(fake_pg_t *pg);

/* Releases what fpg_init made. */
void fpg_destroy(fake_pg_t *pg);

#endif

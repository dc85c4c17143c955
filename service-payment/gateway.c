/* gateway.c - fake payment gateway with fault injection and a concurrency probe.
 * It must not know about payments' state or the semaphore: it only answers charges. */
#include "gateway.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local unsigned rand_seed;

/* Uniform double in [0, 1) from a per-thread generator. */
static double uniform(void)
{
    if (rand_seed == 0)
        rand_seed =
            (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&rand_seed ^ (unsigned)pthread_self();
    return (double)rand_r(&rand_seed) / ((double)RAND_MAX + 1.0);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

void fpg_init(fake_pg_t *pg, int64_t limit, int latency_ms, double failure_rate,
              metrics_registry *metrics)
{
    pg->limit = limit;
    pg->latency_ms = latency_ms;
    pg->failure_rate = failure_rate;
    pg->metrics = metrics;
    atomic_init(&pg->inflight, 0);
    atomic_init(&pg->peak, 0);
    pthread_mutex_init(&pg->gauge_mu, NULL);
    pthread_mutex_init(&pg->memory_mu, NULL);
    memset(pg->answers, 0, sizeof pg->answers);
    pg->next = 0;
    if (metrics)
        metrics_gauge_set(metrics, "fake_pg_inflight_peak",
                          "Highest number of concurrent charges the fake gateway has seen", NULL,
                          0);
}

/* Raises `peak` to at least `now`. */
static void note_peak(fake_pg_t *pg, int now)
{
    int seen = atomic_load(&pg->peak);
    while (now > seen && !atomic_compare_exchange_weak(&pg->peak, &seen, now))
        ;
}

/* Writes both gauges from the atomics under a mutex, so the value left in the registry is
 * never older than one another thread wrote. */
static void publish(fake_pg_t *pg)
{
    if (!pg->metrics)
        return;
    pthread_mutex_lock(&pg->gauge_mu);
    metrics_gauge_set(pg->metrics, "fake_pg_inflight", "Charges in the fake gateway now", NULL,
                      atomic_load(&pg->inflight));
    metrics_gauge_set(pg->metrics, "fake_pg_inflight_peak",
                      "Highest number of concurrent charges the fake gateway has seen", NULL,
                      atomic_load(&pg->peak));
    pthread_mutex_unlock(&pg->gauge_mu);
}

/* The final answer already given for `payment_id`; false if none is remembered. */
static bool recall(fake_pg_t *pg, int64_t payment_id, fpg_outcome_t *out)
{
    bool found = false;
    pthread_mutex_lock(&pg->memory_mu);
    for (size_t i = 0; i < FPG_MEMORY && !found; i++) {
        if (pg->answers[i].payment_id == payment_id) {
            *out = pg->answers[i].outcome;
            found = true;
        }
    }
    pthread_mutex_unlock(&pg->memory_mu);
    return found;
}

static void remember(fake_pg_t *pg, int64_t payment_id, fpg_outcome_t outcome)
{
    pthread_mutex_lock(&pg->memory_mu);
    pg->answers[pg->next] = (fpg_answer_t){payment_id, outcome};
    pg->next = (pg->next + 1) % FPG_MEMORY;
    pthread_mutex_unlock(&pg->memory_mu);
}

static void count(fake_pg_t *pg, const char *labels)
{
    if (pg->metrics)
        metrics_counter_add(pg->metrics, "fake_pg_charges_total",
                            "Charges answered by the fake gateway", labels, 1);
}

fpg_outcome_t fpg_charge(fake_pg_t *pg, int64_t payment_id, int64_t amount)
{
    fpg_outcome_t out;
    if (payment_id > 0 && recall(pg, payment_id, &out)) {
        count(pg, "outcome=\"replayed\"");
        return out;
    }
    int now = atomic_fetch_add(&pg->inflight, 1) + 1;
    note_peak(pg, now);
    publish(pg);
    if (pg->latency_ms > 0)
        sleep_ms(pg->latency_ms);
    out = FPG_APPROVED;
    if (pg->failure_rate > 0 && uniform() < pg->failure_rate)
        out = FPG_TRANSIENT;
    else if (amount > pg->limit)
        out = FPG_INSUFFICIENT_BALANCE;
    /* Two charges of one payment racing here (its lock lost) both charge: a real PSP
     * serialises by key; this fake only remembers answers, which is what the tests need. */
    if (out != FPG_TRANSIENT && payment_id > 0)
        remember(pg, payment_id, out);
    atomic_fetch_sub(&pg->inflight, 1);
    publish(pg);
    static const char *const labels[] = {"outcome=\"approved\"", "outcome=\"insufficient_balance\"",
                                         "outcome=\"transient\""};
    count(pg, labels[out]);
    return out;
}

int fpg_peak(fake_pg_t *pg)
{
    return atomic_load(&pg->peak);
}

void fpg_destroy(fake_pg_t *pg)
{
    pthread_mutex_destroy(&pg->gauge_mu);
    pthread_mutex_destroy(&pg->memory_mu);
}

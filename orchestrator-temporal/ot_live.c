/* ot_live.c - what this process's worker drives now, for /metrics and the status endpoint: the
 * state of every saga whose workflow code runs here (its phase for the gauges, the whole state
 * for the status of a run whose workflow task a local step holds open), and the steps retrying
 * here (attempt, last error, since when). Fed by the workflow (never while replaying) and by
 * the activities; read by the gauge refresher and the routes. Process-local: no Temporal call. */
#include "ot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A retry entry not refreshed for this long is dropped: the step's next attempt ran on another
 * replica (or the run moved there), so this process cannot tell what became of it. Longer than
 * the largest backoff (10 s) plus one attempt (SERVICE_CALL_TIMEOUT_MS, 10 s by default). */
#define OT_RETRY_STALE_MS 60000

typedef struct live_run {
    char wid[SAGA_ID_MAX];
    ot_wf_state state; /* as the workflow code left it last */
} live_run;

typedef struct live_retry {
    char wid[SAGA_ID_MAX];
    saga_step_t step;
    ot_retry_info info;
    int64_t seen_ms; /* monotonic: when an attempt last reported */
} live_retry;

static struct {
    pthread_mutex_t mu;
    live_run *runs;
    size_t nruns, caprun;
    live_retry *retries;
    size_t nretries, capretry;
} g_live = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static live_run *find_run(const char *wid)
{
    for (size_t i = 0; i < g_live.nruns; i++)
        if (strcmp(g_live.runs[i].wid, wid) == 0)
            return &g_live.runs[i];
    return NULL;
}

static live_retry *find_retry(const char *wid, saga_step_t step)
{
    for (size_t i = 0; i < g_live.nretries; i++)
        if (g_live.retries[i].step == step && strcmp(g_live.retries[i].wid, wid) == 0)
            return &g_live.retries[i];
    return NULL;
}

void ot_live_update(const char *wid, const ot_wf_state *state)
{
    pthread_mutex_lock(&g_live.mu);
    live_run *r = find_run(wid);
    if (saga_phase_terminal(state->m.phase)) {
        if (r != NULL)
            *r = g_live.runs[--g_live.nruns];
        goto out;
    }
    if (r == NULL) {
        if (g_live.nruns == g_live.caprun) {
            size_t cap = g_live.caprun ? 2 * g_live.caprun : 64;
            live_run *n = realloc(g_live.runs, cap * sizeof *n);
            if (n == NULL)
                goto out; /* a gauge one short rather than a failed workflow task */
            g_live.runs = n;
            g_live.caprun = cap;
        }
        r = &g_live.runs[g_live.nruns++];
        snprintf(r->wid, sizeof r->wid, "%s", wid);
    }
    r->state = *state;
out:
    pthread_mutex_unlock(&g_live.mu);
}

bool ot_live_state(const char *wid, ot_wf_state *out)
{
    pthread_mutex_lock(&g_live.mu);
    const live_run *r = find_run(wid);
    if (r != NULL)
        *out = r->state;
    pthread_mutex_unlock(&g_live.mu);
    return r != NULL;
}

void ot_live_forget(const char *wid)
{
    pthread_mutex_lock(&g_live.mu);
    live_run *r = find_run(wid);
    if (r != NULL)
        *r = g_live.runs[--g_live.nruns];
    for (size_t i = 0; i < g_live.nretries;) {
        if (strcmp(g_live.retries[i].wid, wid) == 0)
            g_live.retries[i] = g_live.retries[--g_live.nretries];
        else
            i++;
    }
    pthread_mutex_unlock(&g_live.mu);
}

void ot_live_retry(const char *wid, saga_step_t step, int attempt, const char *error)
{
    pthread_mutex_lock(&g_live.mu);
    live_retry *r = find_retry(wid, step);
    if (r == NULL) {
        if (g_live.nretries == g_live.capretry) {
            size_t cap = g_live.capretry ? 2 * g_live.capretry : 16;
            live_retry *n = realloc(g_live.retries, cap * sizeof *n);
            if (n == NULL)
                goto out;
            g_live.retries = n;
            g_live.capretry = cap;
        }
        r = &g_live.retries[g_live.nretries++];
        memset(r, 0, sizeof *r);
        snprintf(r->wid, sizeof r->wid, "%s", wid);
        r->step = step;
        r->info.since_ms = wall_ms();
    }
    r->info.attempt = attempt;
    snprintf(r->info.last_error, sizeof r->info.last_error, "%s", error ? error : "");
    r->info.last_failed_ms = wall_ms();
    r->seen_ms = mono_ms();
out:
    pthread_mutex_unlock(&g_live.mu);
}

void ot_live_retry_end(const char *wid, saga_step_t step)
{
    if (wid == NULL || step == SAGA_STEP_NONE)
        return;
    pthread_mutex_lock(&g_live.mu);
    live_retry *r = find_retry(wid, step);
    if (r != NULL)
        *r = g_live.retries[--g_live.nretries];
    pthread_mutex_unlock(&g_live.mu);
}

bool ot_live_retry_get(const char *wid, saga_step_t step, ot_retry_info *out)
{
    bool found = false;
    pthread_mutex_lock(&g_live.mu);
    live_retry *r = find_retry(wid, step);
    if (r != NULL && mono_ms() - r->seen_ms < OT_RETRY_STALE_MS) {
        *out = r->info;
        found = true;
    }
    pthread_mutex_unlock(&g_live.mu);
    return found;
}

void ot_live_stats(int counts[SAGA_PHASE_COUNT], int64_t *oldest_retry_ms)
{
    int64_t now = mono_ms(), wall = wall_ms(), oldest = 0;
    memset(counts, 0, SAGA_PHASE_COUNT * sizeof counts[0]);
    pthread_mutex_lock(&g_live.mu);
    for (size_t i = 0; i < g_live.nruns; i++)
        counts[g_live.runs[i].state.m.phase]++;
    for (size_t i = 0; i < g_live.nretries;) {
        live_retry *r = &g_live.retries[i];
        if (now - r->seen_ms >= OT_RETRY_STALE_MS) {
            *r = g_live.retries[--g_live.nretries];
            continue;
        }
        if (wall - r->info.since_ms > oldest)
            oldest = wall - r->info.since_ms;
        i++;
    }
    pthread_mutex_unlock(&g_live.mu);
    *oldest_retry_ms = oldest;
}

void ot_live_reset(void)
{
    pthread_mutex_lock(&g_live.mu);
    free(g_live.runs);
    free(g_live.retries);
    g_live.runs = NULL;
    g_live.retries = NULL;
    g_live.nruns = g_live.caprun = g_live.nretries = g_live.capretry = 0;
    pthread_mutex_unlock(&g_live.mu);
}

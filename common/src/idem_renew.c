/* idem_renew.c — keeps the in-flight Idempotency-Key markers of this process's live requests
 * from expiring: one background thread resets the TTL of each claim older than a third of it.
 * Must never renew a marker it does not own, nor a completed record (its 24 h TTL stays). */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_config.h"
#include "cm_idem.h"
#include "cm_log.h"
#include "cm_mono.h"
#include "idem_internal.h"

/* Owner check as the completion and abort scripts (token at bytes 66-97) and state 'I': a
 * completed record keeps the token, and shortening its TTL would forget the answer. */
static const char k_renew_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and string.sub(v, 1, 1) == 'I' and string.sub(v, 66, 97) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return 0";

static idem_script g_renew = {k_renew_lua, PTHREAD_MUTEX_INITIALIZER, ""};

static pthread_once_t g_ttl_once = PTHREAD_ONCE_INIT;
static int g_ttl_ms; /* written once under g_ttl_once */

static void read_ttl(void)
{
    g_ttl_ms = (int)cfg_int("IDEM_INFLIGHT_TTL_MS", IDEM_INFLIGHT_TTL_MS_DEFAULT,
                            IDEM_INFLIGHT_TTL_MS_MIN, IDEM_INFLIGHT_TTL_MS_MAX);
}

int idem_inflight_ttl_ms(void)
{
    pthread_once(&g_ttl_once, read_ttl);
    return g_ttl_ms;
}

/* The live claims and the renewer thread. The thread is started by the first claim (handlers
 * run on threads the daemon made, whatever it is) and stopped by idem_stop. */
static struct {
    pthread_mutex_t mu;
    idem_claim *head; /* guarded by mu, as each claim's prev, next, renewed_ms */
    bool running;     /* the thread exists */
    bool stopping;    /* idem_stop is joining it: no new one until it is done */
    mono_thread thread;
} g_reg = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* What one renewal needs, copied out of a claim so that Redis is called without the lock
 * (the claim may be completed and freed meanwhile; the script then finds no marker of ours). */
typedef struct renewal {
    rds_pool *rds;
    char key[IDEM_KEY_MAX];
    char token[RDS_TOKEN_LEN];
} renewal;

/* Copies the claims last renewed at least `due_ms` ago into a malloc'd array (*n of them)
 * and marks them renewed now. NULL when none is due or out of memory (then *n is -1). */
static renewal *take_due(int64_t due_ms, int *n)
{
    renewal *out = NULL;
    int count = 0;
    pthread_mutex_lock(&g_reg.mu);
    int64_t now = mono_now_ms();
    for (idem_claim *cl = g_reg.head; cl; cl = cl->next)
        count += now - cl->renewed_ms >= due_ms;
    if (count > 0 && !(out = calloc((size_t)count, sizeof *out)))
        count = -1;
    int i = 0;
    for (idem_claim *cl = g_reg.head; out && cl; cl = cl->next) {
        if (now - cl->renewed_ms < due_ms)
            continue;
        out[i].rds = cl->rds;
        memcpy(out[i].key, cl->key, sizeof out[i].key);
        memcpy(out[i].token, cl->token, sizeof out[i].token);
        cl->renewed_ms = now;
        i++;
    }
    pthread_mutex_unlock(&g_reg.mu);
    *n = count;
    return out;
}

/* Whether the claim of rn is still listed (its request not finished): a renewal that found no
 * marker of ours after the request ended raced its completion, which is no loss. */
static bool still_tracked(const renewal *rn)
{
    bool found = false;
    pthread_mutex_lock(&g_reg.mu);
    for (idem_claim *cl = g_reg.head; cl && !found; cl = cl->next)
        found = !memcmp(cl->token, rn->token, sizeof rn->token) && !strcmp(cl->key, rn->key);
    pthread_mutex_unlock(&g_reg.mu);
    return found;
}

/* Resets the TTL of one marker if it is still ours. 1 renewed, 0 not ours any more, -1 Redis
 * unreachable or in error (the reason into why). */
static int renew_one(rds_conn *c, const renewal *rn, const char *ttl, const char **why)
{
    const char *a[2] = {rn->token, ttl};
    size_t l[2] = {32, strlen(ttl)};
    redisReply *r = idem_run_script(c, &g_renew, rn->key, 2, a, l);
    int rc = -1;
    if (!r)
        *why = "redis unreachable";
    else if (r->type == REDIS_REPLY_INTEGER)
        rc = r->integer == 1;
    else
        *why = r->type == REDIS_REPLY_ERROR ? "redis error" : "unexpected reply";
    if (r)
        freeReplyObject(r);
    return rc;
}

/* One round: renew every due claim. Failures are one log line per round (rate-limited by the
 * logger as well): a Redis outage must not flood the log or stop the thread. */
static void renew_round(int64_t due_ms)
{
    int n = 0;
    renewal *due = take_due(due_ms, &n);
    if (n < 0)
        log_warn("idempotency: in-flight markers not renewed this round: out of memory");
    if (!due)
        return;
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", idem_inflight_ttl_ms());
    int failed = 0;
    const char *why = "";
    rds_pool *pool = NULL;
    rds_conn *c = NULL;
    bool have = false;
    for (int i = 0; i < n; i++) {
        if (pool != due[i].rds) { /* one connection per pool and round */
            if (have)
                rds_release(pool, c);
            pool = due[i].rds;
            have = rds_acquire(pool, &c) == 0;
        }
        int rc = have ? renew_one(c, &due[i], ttl, &why) : -1;
        if (!have)
            why = "redis unreachable";
        if (rc < 0)
            failed++;
        else if (rc == 0 && still_tracked(&due[i]))
            log_warn("idempotency: in-flight marker %s was lost before its request ended "
                     "(expired while redis was out of reach, or deleted)",
                     due[i].key);
    }
    if (have)
        rds_release(pool, c);
    if (failed)
        log_warn("idempotency: %d of %d in-flight markers not renewed: %s", failed, n, why);
    free(due);
}

/* Wakes every third of the TTL (on a fixed schedule, so a slow round does not stretch the
 * gaps) and renews claims at least a quarter period short of that old: with the slack for a
 * late wake-up, a marker is renewed at most ~1.75 periods after its claim and every period
 * after that, well inside its TTL of three periods. */
static void *renewer_main(void *arg)
{
    (void)arg;
    int64_t every = idem_inflight_ttl_ms() / 3;
    int64_t next = mono_now_ms() + every;
    for (;;) {
        int64_t wait = next - mono_now_ms();
        if (mono_thread_wait(&g_reg.thread, wait > 0 ? wait : 0))
            break;
        renew_round(every - every / 4);
        next += every;
        if (next < mono_now_ms()) /* fell behind (Redis slow): restart the schedule */
            next = mono_now_ms() + every;
    }
    return NULL;
}

void idem_renew_track(idem_claim *cl)
{
    pthread_mutex_lock(&g_reg.mu);
    cl->renewed_ms = mono_now_ms();
    cl->prev = NULL;
    cl->next = g_reg.head;
    if (g_reg.head)
        g_reg.head->prev = cl;
    g_reg.head = cl;
    if (!g_reg.running && !g_reg.stopping) {
        if (mono_thread_start(&g_reg.thread, renewer_main, NULL) == 0)
            g_reg.running = true;
        else
            log_error("idempotency: cannot start the in-flight marker renewer; a request longer "
                      "than %d ms may lose its claim",
                      idem_inflight_ttl_ms());
    }
    pthread_mutex_unlock(&g_reg.mu);
}

void idem_renew_untrack(idem_claim *cl)
{
    pthread_mutex_lock(&g_reg.mu);
    if (cl->prev)
        cl->prev->next = cl->next;
    else if (g_reg.head == cl)
        g_reg.head = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    cl->prev = cl->next = NULL;
    pthread_mutex_unlock(&g_reg.mu);
}

void idem_stop(void)
{
    pthread_mutex_lock(&g_reg.mu);
    bool running = g_reg.running;
    g_reg.stopping = running;
    pthread_mutex_unlock(&g_reg.mu);
    if (!running)
        return;
    mono_thread_stop(&g_reg.thread); /* without mu: a round in progress takes it */
    pthread_mutex_lock(&g_reg.mu);
    g_reg.running = false;
    g_reg.stopping = false;
    pthread_mutex_unlock(&g_reg.mu);
}

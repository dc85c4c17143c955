/* notification.c - the order-events consumer thread. At-least-once in, exactly-once stored:
 * an entry is XACKed only after its row is committed, and the UNIQUE event id turns every
 * redelivery (crash before XACK, claim, a relay publishing twice) into a no-op. */
#include "notification.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "cm_log.h"
#include "repo.h"

#define NOTIF_NAME_MAX 256

struct notif_consumer {
    notif_config_t cfg;
    char stream[NOTIF_NAME_MAX];
    char group[NOTIF_NAME_MAX];
    char consumer[NOTIF_NAME_MAX];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping; /* guarded by mu */
};

/* ---- what an event becomes (pure) --------------------------------------------------------- */

static int64_t json_id(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

void notif_record_from_event(const notif_event_t *ev, notif_record_t *out)
{
    memset(out, 0, sizeof *out);
    if (ev->event_id != NULL && ev->event_id[0] != '\0')
        snprintf(out->event_id, sizeof out->event_id, "%s", ev->event_id);
    else
        snprintf(out->event_id, sizeof out->event_id, "stream:%s", ev->stream_id);
    snprintf(out->event_type, sizeof out->event_type, "%s",
             ev->event_type != NULL && ev->event_type[0] ? ev->event_type : "Unknown");
    json_t *p = ev->payload != NULL ? json_loads(ev->payload, 0, NULL) : NULL;
    if (json_is_object(p)) {
        out->order_id = json_id(p, "orderId");
        json_t *s = json_object_get(p, "sagaId");
        if (json_is_string(s))
            snprintf(out->saga_id, sizeof out->saga_id, "%s", json_string_value(s));
    }
    json_decref(p);
    /* An order event's aggregate is the order itself. */
    if (out->order_id <= 0 && ev->aggregate_type != NULL && ev->aggregate_id != NULL &&
        strcasecmp(ev->aggregate_type, "order") == 0)
        out->order_id = strtoll(ev->aggregate_id, NULL, 10);
    if (out->order_id < 0)
        out->order_id = 0;
    if (out->order_id > 0)
        snprintf(out->message, sizeof out->message, "%s for order %lld", out->event_type,
                 (long long)out->order_id);
    else
        snprintf(out->message, sizeof out->message, "%s for %s %s", out->event_type,
                 ev->aggregate_type != NULL ? ev->aggregate_type : "aggregate",
                 ev->aggregate_id != NULL ? ev->aggregate_id : "?");
}

/* ---- consumer loop ------------------------------------------------------------------------- */

static int wait_or_stop(notif_consumer_t *c, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    while (!c->stopping)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) != 0)
            break;
    int s = c->stopping;
    pthread_mutex_unlock(&c->mu);
    return s;
}

static int is_stopping(notif_consumer_t *c)
{
    pthread_mutex_lock(&c->mu);
    int s = c->stopping;
    pthread_mutex_unlock(&c->mu);
    return s;
}

static void count(notif_consumer_t *c, const char *name, const char *help, double v)
{
    if (c->cfg.metrics != NULL && v > 0)
        metrics_counter_add(c->cfg.metrics, name, help, NULL, v);
}

/* Stores a batch, then acknowledges it. Returns 0, or an error (nothing acknowledged: the
 * entries stay pending and are read again). */
static int handle_batch(notif_consumer_t *c, const rds_stream_batch *b)
{
    if (b->n == 0)
        return 0;
    notif_event_t *evs = calloc(b->n, sizeof *evs);
    notif_record_t *recs = calloc(b->n, sizeof *recs);
    int inserted = 0, rc = CM_ERR_NOMEM;
    if (evs == NULL || recs == NULL)
        goto out;
    for (size_t i = 0; i < b->n; i++) {
        const rds_stream_entry *e = &b->entries[i];
        evs[i] = (notif_event_t){
            .stream_id = e->id,
            .event_id = rds_entry_get(e, "eventId"),
            .event_type = rds_entry_get(e, "eventType"),
            .aggregate_type = rds_entry_get(e, "aggregateType"),
            .aggregate_id = rds_entry_get(e, "aggregateId"),
            .service = rds_entry_get(e, "service"),
            .payload = rds_entry_get(e, "payload"),
        };
        notif_record_from_event(&evs[i], &recs[i]);
    }
    if ((rc = repo_store_batch(c->cfg.db, recs, evs, b->n, &inserted)) != 0) {
        log_warn("storing %zu notifications failed: %s", b->n, cm_strerror(rc));
        goto out;
    }
    count(c, "notifications_stored_total", "Events stored as notifications", inserted);
    count(c, "notifications_duplicates_total", "Events already stored (redeliveries)",
          (double)b->n - inserted);
    for (size_t i = 0; i < b->n; i++) {
        int arc = rds_xack(c->cfg.rds, c->stream, c->group, b->entries[i].id);
        if (arc != 0) {
            rc = arc; /* stays pending; the next read stores nothing new and acks it */
            break;
        }
    }
out:
    free(evs);
    free(recs);
    return rc;
}

/* Takes over entries another (dead) consumer left pending too long. */
static int claim_stale(notif_consumer_t *c)
{
    char start[64] = "0-0";
    for (int round = 0; round < 100 && !is_stopping(c); round++) {
        rds_stream_batch b = {0};
        char next[64] = "0-0";
        int rc = rds_xautoclaim(c->cfg.rds, c->stream, c->group, c->consumer, c->cfg.claim_idle_ms,
                                start, c->cfg.batch, &b, next, sizeof next);
        if (rc == 0 && b.n > 0) {
            log_info("claimed %zu pending entries from other consumers", b.n);
            count(c, "notifications_claimed_total", "Stream entries claimed", (double)b.n);
            rc = handle_batch(c, &b);
        }
        rds_stream_batch_free(&b);
        if (rc != 0)
            return rc;
        if (strcmp(next, "0-0") == 0)
            return 0;
        snprintf(start, sizeof start, "%s", next);
    }
    return 0;
}

/* Field `name` of one XINFO CONSUMERS entry (a flat name/value array). */
static const redisReply *info_field(const redisReply *e, const char *name)
{
    for (size_t i = 0; e->type == REDIS_REPLY_ARRAY && i + 1 < e->elements; i += 2)
        if (e->element[i]->type == REDIS_REPLY_STATUS || e->element[i]->type == REDIS_REPLY_STRING)
            if (strcmp(e->element[i]->str, name) == 0)
                return e->element[i + 1];
    return NULL;
}

/* Removes consumers that hold nothing and have been idle longer than claim_idle_ms (every
 * restart leaves a consumer name behind). Harmless for a live one: XREADGROUP re-creates it.
 * Best effort. */
static void forget_dead_consumers(notif_consumer_t *c)
{
    char dead[16][NOTIF_NAME_MAX];
    int n = 0;
    rds_conn *conn = NULL;
    if (rds_acquire(c->cfg.rds, &conn) != 0)
        return;
    redisReply *r = rds_command(conn, "XINFO CONSUMERS %s %s", c->stream, c->group);
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements && n < 16;
         i++) {
        const redisReply *name = info_field(r->element[i], "name");
        const redisReply *pend = info_field(r->element[i], "pending");
        const redisReply *idle = info_field(r->element[i], "idle");
        if (name == NULL || name->type != REDIS_REPLY_STRING || pend == NULL ||
            pend->type != REDIS_REPLY_INTEGER || idle == NULL || idle->type != REDIS_REPLY_INTEGER)
            continue;
        if (pend->integer == 0 && idle->integer > c->cfg.claim_idle_ms &&
            strcmp(name->str, c->consumer) != 0)
            snprintf(dead[n++], NOTIF_NAME_MAX, "%s", name->str);
    }
    if (r != NULL)
        freeReplyObject(r);
    for (int i = 0; i < n; i++) {
        r = rds_command(conn, "XGROUP DELCONSUMER %s %s %s", c->stream, c->group, dead[i]);
        if (r == NULL)
            break;
        freeReplyObject(r);
        log_info("removed idle consumer %s", dead[i]);
    }
    rds_release(c->cfg.rds, conn);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Trims what every consumer group (not only ours) has read and acknowledged, keeping the last
 * retain_ms of entries for inspection and replay. Best effort: the stream only grows meanwhile. */
static void trim_stream(notif_consumer_t *c)
{
    long long trimmed = 0, fixed = 0;
    if (rds_stream_trim_consumed(c->cfg.rds, c->stream, c->cfg.retain_ms, &trimmed, &fixed) != 0)
        return;
    count(c, "notifications_stream_trimmed_total",
          "Stream entries trimmed after every group read them", (double)trimmed);
    if (trimmed > 0)
        log_info("trimmed %lld entries every consumer group had read from %s", trimmed, c->stream);
    if (fixed > 0)
        log_info("reset the entries-read counter of %lld caught-up group(s) of %s", fixed,
                 c->stream);
}

static void *consumer_main(void *arg)
{
    notif_consumer_t *c = arg;
    int need_group = 1, own_pending = 1, failures = 0;
    int64_t next_claim = 0, next_trim = now_ms() + c->cfg.trim_every_ms;
    log_info("consuming %s as %s/%s", c->stream, c->group, c->consumer);
    while (!is_stopping(c)) {
        int rc = 0;
        rds_stream_batch b = {0};
        /* (Re)create the group: a Redis that lost its data (or a new stream) has none. */
        if (need_group && (rc = rds_xgroup_create(c->cfg.rds, c->stream, c->group, "0")) == 0)
            need_group = 0;
        if (rc == 0 && now_ms() >= next_claim) {
            rc = claim_stale(c);
            if (rc == 0)
                forget_dead_consumers(c);
            next_claim = now_ms() + c->cfg.claim_every_ms;
        }
        if (rc == 0 && c->cfg.trim_every_ms > 0 && now_ms() >= next_trim) {
            trim_stream(c);
            next_trim = now_ms() + c->cfg.trim_every_ms;
        }
        if (rc == 0) {
            /* "0" re-reads what this consumer was given but never acknowledged (after a
             * restart under the same name or a failed store); ">" reads new entries. */
            rc = rds_xreadgroup(c->cfg.rds, c->stream, c->group, c->consumer,
                                own_pending ? "0" : ">", c->cfg.batch,
                                own_pending ? -1 : c->cfg.block_ms, &b);
            if (rc == 0 && own_pending && b.n == 0)
                own_pending = 0;
            if (rc == 0)
                rc = handle_batch(c, &b);
            rds_stream_batch_free(&b);
        }
        if (rc == 0) {
            failures = 0;
            continue;
        }
        /* Redis or MySQL trouble: the entries stay pending; back off and re-read them. */
        failures++;
        need_group = 1;
        own_pending = 1;
        log_warn("consumer error %s; retrying", cm_strerror(rc));
        int64_t d = 100LL << (failures < 5 ? failures : 5);
        if (wait_or_stop(c, d))
            break;
    }
    return NULL;
}

int notif_start(const notif_config_t *cfg, notif_consumer_t **out)
{
    if (cfg->db == NULL || cfg->rds == NULL || cfg->stream == NULL || cfg->group == NULL ||
        cfg->consumer == NULL)
        return CM_ERR_INVALID;
    notif_consumer_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return CM_ERR_NOMEM;
    c->cfg = *cfg;
    snprintf(c->stream, sizeof c->stream, "%s", cfg->stream);
    snprintf(c->group, sizeof c->group, "%s", cfg->group);
    snprintf(c->consumer, sizeof c->consumer, "%s", cfg->consumer);
    if (c->cfg.batch < 1)
        c->cfg.batch = 100;
    if (c->cfg.block_ms < 1)
        c->cfg.block_ms = 1000;
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &a);
    pthread_condattr_destroy(&a);
    if (pthread_create(&c->thread, NULL, consumer_main, c) != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return CM_ERR_NOMEM;
    }
    *out = c;
    return 0;
}

void notif_stop(notif_consumer_t *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

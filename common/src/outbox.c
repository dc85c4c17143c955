/* outbox.c — transactional outbox insert and the relay thread that moves rows to the
 * event stream. Must not mark a row published unless its XADD succeeded. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_config.h"
#include "cm_error.h"
#include "cm_json.h"
#include "cm_log.h"
#include "cm_outbox.h"

#define OUTBOX_SQL_MAX 512

struct outbox_relay {
    outbox_config cfg;
    char service[128];
    char stream[256];
    char table[64];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool wake;
};

static bool plain_identifier(const char *s)
{
    if (!s || !*s || strlen(s) >= 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

int outbox_insert_table(db_conn *c, const char *table, const char *aggregate_type,
                        const char *aggregate_id, const char *event_type, const json_t *payload)
{
    if (!plain_identifier(table) || !aggregate_type || !aggregate_id || !event_type)
        return CM_ERR_INVALID;
    char *text = payload ? json_dump_compact(payload) : strdup("{}");
    if (!text)
        return CM_ERR_NOMEM;
    char sql[OUTBOX_SQL_MAX];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (aggregate_type, aggregate_id, event_type, payload) "
             "VALUES (?, ?, ?, ?)",
             table);
    db_val p[4] = {DB_STR(aggregate_type), DB_STR(aggregate_id), DB_STR(event_type), DB_STR(text)};
    int rc = db_exec(c, sql, p, 4, NULL, NULL);
    if (rc)
        log_warn("outbox insert %s failed: %s", event_type, db_errmsg(c));
    free(text);
    return rc;
}

int outbox_insert(db_conn *c, const char *aggregate_type, const char *aggregate_id,
                  const char *event_type, const json_t *payload)
{
    return outbox_insert_table(c, "outbox_events", aggregate_type, aggregate_id, event_type,
                               payload);
}

int outbox_emit(db_conn *c, const char *aggregate_type, int64_t aggregate_id,
                const char *event_type, json_t *payload)
{
    char agg[24];
    if (payload == NULL)
        return CM_ERR_NOMEM;
    snprintf(agg, sizeof agg, "%lld", (long long)aggregate_id);
    int rc = outbox_insert(c, aggregate_type, agg, event_type, payload);
    json_decref(payload);
    return rc;
}

#define OUTBOX_MARK_MAX 64 /* ids per UPDATE ... IN (...): DB_MAX_PARAMS of cm_db */

/* Marks ids[0..n) published, in UPDATEs of at most OUTBOX_MARK_MAX ids. The IN list is padded
 * to a power of two by repeating the last id, so only 7 statement texts exist and each stays
 * in the connection's prepared-statement cache. */
static int mark_published(db_conn *c, const char *table, const int64_t *ids, size_t n)
{
    while (n > 0) {
        size_t take = n < OUTBOX_MARK_MAX ? n : OUTBOX_MARK_MAX, slots = 1;
        while (slots < take)
            slots *= 2;
        char sql[OUTBOX_SQL_MAX];
        int len =
            snprintf(sql, sizeof sql,
                     "UPDATE %s SET published_at = CURRENT_TIMESTAMP(6) WHERE id IN (?", table);
        for (size_t k = 1; k < slots && len > 0 && (size_t)len < sizeof sql; k++)
            len += snprintf(sql + len, sizeof sql - (size_t)len, ",?");
        if (len <= 0 || (size_t)len + 2 > sizeof sql)
            return CM_ERR_INVALID;
        memcpy(sql + len, ")", 2);
        db_val p[OUTBOX_MARK_MAX];
        for (size_t k = 0; k < slots; k++)
            p[k] = DB_INT(ids[k < take ? k : take - 1]);
        int rc = db_exec(c, sql, p, slots, NULL, NULL);
        if (rc)
            return rc;
        ids += take;
        n -= take;
    }
    return 0;
}

#define OUTBOX_NFIELDS 6

/* Publish one batch. Rows are claimed with FOR UPDATE SKIP LOCKED inside a transaction, so
 * a second relay skips them; they are marked published in the same transaction, so a crash
 * before COMMIT only re-publishes (at-least-once), never loses. The transaction is READ
 * COMMITTED: at REPEATABLE READ the locking scan takes next-key (gap) locks up to the end of
 * the unpublished index, and every service INSERT INTO outbox_events waits for the relay's
 * XADDs. One pass costs one SELECT, one pipelined round trip to Redis for all the XADDs and
 * one UPDATE per 64 rows, whatever the batch size. */
static int relay_pass(const outbox_config *cfg, const char *table, int *published)
{
    int batch = cfg->batch > 0 ? cfg->batch : 100;
    if (batch > RDS_XADD_BATCH_MAX)
        batch = RDS_XADD_BATCH_MAX;
    *published = 0;
    db_conn *c;
    int rc = db_acquire(cfg->db, &c, NULL, 0);
    if (rc)
        return rc;
    db_result *res = NULL;
    char(*event_ids)[192] = NULL;
    const char **values = NULL;
    int64_t *ids = NULL;
    char sql[OUTBOX_SQL_MAX];
    snprintf(sql, sizeof sql,
             "SELECT id, aggregate_type, aggregate_id, event_type, payload FROM %s "
             "WHERE published_at IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
             table);
    if ((rc = db_begin_read_committed(c)))
        goto out;
    db_val lim = DB_INT(batch);
    if ((rc = db_query(c, sql, &lim, 1, &res))) {
        log_warn("outbox scan of %s failed: %s", table, db_errmsg(c));
        goto out;
    }
    size_t n = db_result_rows(res);
    if (n == 0)
        goto commit;
    event_ids = calloc(n, sizeof *event_ids);
    values = calloc(n * OUTBOX_NFIELDS, sizeof *values);
    ids = calloc(n, sizeof *ids);
    if (!event_ids || !values || !ids) {
        rc = CM_ERR_NOMEM;
        goto out;
    }
    static const char *const fields[OUTBOX_NFIELDS] = {"eventId",     "eventType", "aggregateType",
                                                       "aggregateId", "payload",   "service"};
    for (size_t i = 0; i < n; i++) {
        const char *id = db_result_str(res, i, 0);
        snprintf(event_ids[i], sizeof event_ids[i], "%s:%s", cfg->service, id ? id : "");
        ids[i] = db_result_int(res, i, 0, 0);
        const char **v = values + i * OUTBOX_NFIELDS;
        v[0] = event_ids[i];
        v[1] = db_result_str(res, i, 3);
        v[2] = db_result_str(res, i, 1);
        v[3] = db_result_str(res, i, 2);
        v[4] = db_result_str(res, i, 4);
        v[5] = cfg->service;
    }
    size_t added = 0;
    /* keep what was published; the rest stays for the next pass */
    rc = rds_xadd_batch(cfg->rds, cfg->stream, n, OUTBOX_NFIELDS, fields, values, &added);
    int mrc = mark_published(c, table, ids, added);
    if (mrc) {
        log_warn("outbox mark of %zu events in %s failed: %s", added, table, db_errmsg(c));
        rc = mrc;
        goto out;
    }
    *published = (int)added;
commit:;
    int crc = db_commit(c);
    if (crc) {
        log_warn("outbox commit failed: %s (events may be published again)", db_errmsg(c));
        *published = 0;
        rc = crc;
    }
out:
    free(ids);
    free(values);
    free(event_ids);
    db_result_free(res);
    db_release(cfg->db, c); /* rolls back if still open */
    return rc;
}

static const char *default_stream(void)
{
    return cfg_str("ORDER_EVENTS_STREAM", "stream:order-events");
}

int outbox_relay_run_once(const outbox_config *cfg, int *published)
{
    const char *table = cfg->table ? cfg->table : "outbox_events";
    int dummy;
    if (!published)
        published = &dummy;
    if (!cfg->db || !cfg->rds || !cfg->service || !plain_identifier(table))
        return CM_ERR_INVALID;
    outbox_config c = *cfg;
    if (!c.stream)
        c.stream = default_stream();
    return relay_pass(&c, table, published);
}

/* Waits on the relay's condition variable until `ms` from now, or until stop (and, when
 * `on_wake`, a wake) is asked for. Called with r->mu held. */
static void relay_wait(outbox_relay *r, int ms, bool on_wake)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = ts.tv_nsec + (long long)ms * 1000000LL;
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    while (!r->stop && !(on_wake && r->wake))
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts))
            break; /* timed out */
}

static void *relay_main(void *arg)
{
    outbox_relay *r = arg;
    int poll_ms = r->cfg.poll_ms > 0 ? r->cfg.poll_ms : 200;
    int batch = r->cfg.batch > 0 ? r->cfg.batch : 100;
    int gather_ms = r->cfg.gather_ms == 0 ? OUTBOX_GATHER_MS : r->cfg.gather_ms;
    int failures = 0;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop;
        r->wake = false;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        int n = 0;
        int rc = relay_pass(&r->cfg, r->table, &n);
        if (rc) {
            if (failures++ % 50 == 0)
                log_warn("outbox relay pass failed: %s", cm_strerror(rc));
        } else {
            failures = 0;
        }
        if (rc == 0 && n >= batch)
            continue; /* more waiting: no sleep */
        pthread_mutex_lock(&r->mu);
        relay_wait(r, poll_ms, true);
        /* Woken by a commit: let the commits of the next few ms join this pass, so a pass
         * carries many events instead of one (each pass costs a transaction). */
        if (r->wake && gather_ms > 0)
            relay_wait(r, gather_ms, false);
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

int outbox_relay_start(const outbox_config *cfg, outbox_relay **out)
{
    *out = NULL;
    const char *table = cfg->table ? cfg->table : "outbox_events";
    if (!cfg->db || !cfg->rds || !cfg->service || !plain_identifier(table))
        return CM_ERR_INVALID;
    outbox_relay *r = calloc(1, sizeof *r);
    if (!r)
        return CM_ERR_NOMEM;
    snprintf(r->service, sizeof r->service, "%s", cfg->service);
    snprintf(r->stream, sizeof r->stream, "%s", cfg->stream ? cfg->stream : default_stream());
    snprintf(r->table, sizeof r->table, "%s", table);
    r->cfg = *cfg;
    r->cfg.service = r->service;
    r->cfg.stream = r->stream;
    r->cfg.table = r->table;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, relay_main, r)) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        free(r);
        return CM_ERR_NOMEM;
    }
    *out = r;
    return 0;
}

void outbox_relay_wake(outbox_relay *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->wake = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void outbox_relay_stop(outbox_relay *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

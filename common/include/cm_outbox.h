/* cm_outbox.h — transactional outbox: write events in the same MySQL transaction as the
 * state change (outbox_insert), and a relay thread that XADDs unpublished rows to the
 * order-events stream and marks them published (one pass: a READ COMMITTED transaction, one
 * pipelined round trip of XADDs, one UPDATE per 64 rows). Safe with several replicas: rows are
 * claimed with SELECT ... FOR UPDATE SKIP LOCKED, so in normal operation each event is
 * published once; after a crash between XADD and COMMIT it may be published again
 * (at-least-once: consumers dedup by eventId). */
#ifndef CM_OUTBOX_H
#define CM_OUTBOX_H

#include <jansson.h>

#include "cm_db.h"
#include "cm_redis.h"

/* Table the relay reads (DESIGN.md):
 *   outbox_events(id BIGINT AUTO_INCREMENT PK, aggregate_type VARCHAR, aggregate_id VARCHAR or
 *   BIGINT, event_type VARCHAR, payload JSON/TEXT, created_at, published_at NULL)
 * Stream entry fields: eventId = "<service>:<id>", eventType, aggregateType, aggregateId,
 * payload (the JSON text), service. */

typedef struct outbox_relay outbox_relay;

typedef struct outbox_config {
    db_pool *db;         /* borrowed; the service's database */
    rds_pool *rds;       /* borrowed */
    const char *service; /* "service-order"; copied */
    const char *stream;  /* copied; NULL -> env ORDER_EVENTS_STREAM or "stream:order-events" */
    const char *table;   /* NULL -> "outbox_events"; copied; must be a plain identifier */
    int poll_ms;         /* idle sleep between scans; 0 -> 200 */
    int batch;           /* rows per transaction; 0 -> 100 (at most RDS_XADD_BATCH_MAX) */
    int gather_ms;       /* after a wake, wait this long for more events before the scan,
                            so one pass carries many; 0 -> OUTBOX_GATHER_MS, < 0 -> none */
} outbox_config;

#define OUTBOX_GATHER_MS 5

/* Insert one event inside the caller's open transaction on `c` (payload serialized
 * compactly; reference NOT stolen). aggregate_id is stored as text (MySQL converts for a
 * BIGINT column). Returns db_exec's codes. */
int outbox_insert(db_conn *c, const char *aggregate_type, const char *aggregate_id,
                  const char *event_type, const json_t *payload);

/* outbox_insert for an aggregate with an integer id, taking the payload's reference (NULL, as
 * from a json_pack out of memory, is CM_ERR_NOMEM): the form every service's repo.c writes. */
int outbox_emit(db_conn *c, const char *aggregate_type, int64_t aggregate_id,
                const char *event_type, json_t *payload);

/* Same with a table name other than outbox_events. */
int outbox_insert_table(db_conn *c, const char *table, const char *aggregate_type,
                        const char *aggregate_id, const char *event_type, const json_t *payload);

/* Start the relay thread. Returns 0, CM_ERR_INVALID or CM_ERR_NOMEM. */
int outbox_relay_start(const outbox_config *cfg, outbox_relay **out);

/* Ask the thread to scan soon (after gather_ms) instead of after poll_ms (e.g. right after a
 * commit). Any thread. */
void outbox_relay_wake(outbox_relay *r);

/* Stop the thread (finishes the current batch), join it and free. NULL ok. */
void outbox_relay_stop(outbox_relay *r);

/* One relay pass without a thread (tests, tools): publishes up to cfg->batch rows.
 * *published (may be NULL) = rows published. 0 or an error code. */
int outbox_relay_run_once(const outbox_config *cfg, int *published);

#endif

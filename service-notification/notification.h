/* notification.h - the order-events consumer: reads stream:order-events with a consumer group,
 * stores each event once (unique event id), XACKs after storing, claims entries left pending
 * by a dead consumer, and trims the stream below what every consumer group has read. */
#ifndef NOTIF_NOTIFICATION_H
#define NOTIF_NOTIFICATION_H

#include <stdint.h>

#include "cm_db.h"
#include "cm_metrics.h"
#include "cm_redis.h"

typedef struct notif_consumer notif_consumer_t;

typedef struct notif_config {
    db_pool *db;               /* borrowed */
    rds_pool *rds;             /* borrowed */
    metrics_registry *metrics; /* borrowed, may be NULL */
    const char *stream;        /* ORDER_EVENTS_STREAM (copied) */
    const char *group;         /* NOTIFICATION_GROUP (copied) */
    const char *consumer;      /* NOTIFICATION_CONSUMER (copied) */
    int batch;                 /* entries per read */
    int block_ms;              /* XREADGROUP BLOCK */
    int64_t claim_idle_ms;     /* claim entries pending longer than this in another consumer */
    int64_t claim_every_ms;    /* how often to look for them */
    int64_t trim_every_ms;     /* ORDER_EVENTS_TRIM_MS: how often to trim the stream (0: never) */
    int64_t retain_ms;         /* ORDER_EVENTS_RETAIN_MS: entries younger than this are kept */
} notif_config_t;

/* One event as read from the stream, fields borrowed from the stream entry. */
typedef struct notif_event {
    const char *stream_id;
    const char *event_id; /* eventId field, or NULL */
    const char *event_type;
    const char *aggregate_type;
    const char *aggregate_id;
    const char *service;
    const char *payload; /* JSON text or NULL */
} notif_event_t;

/* What to store for an event (pure; exposed for tests). order_id 0 when unknown; saga_id ""
 * when unknown. Event id falls back to "stream:<entry id>" when the entry has none. */
typedef struct notif_record {
    char event_id[128];
    char event_type[64];
    int64_t order_id;
    char saga_id[128];
    char message[512];
} notif_record_t;

void notif_record_from_event(const notif_event_t *ev, notif_record_t *out);

/* Starts the consumer thread. 0, CM_ERR_INVALID or CM_ERR_NOMEM. */
int notif_start(const notif_config_t *cfg, notif_consumer_t **out);
/* Stops (within about block_ms), joins, frees. NULL ok. */
void notif_stop(notif_consumer_t *c);

#endif

/* repo.h - notification_db access: the notifications table. SQL only. */
#ifndef NOTIF_REPO_H
#define NOTIF_REPO_H

#include <jansson.h>
#include <stddef.h>

#include "cm_db.h"
#include "notification.h"

/* Stores a batch of events in one transaction; an event id already stored is skipped (the
 * UNIQUE key decides, so concurrent consumers cannot both store one). 0 or a db error (then
 * nothing is stored and nothing may be acknowledged). */
int repo_store_batch(db_pool *db, const notif_record_t *recs, const notif_event_t *evs, size_t n,
                     int *inserted);

/* Notifications of an order (order_id > 0) or a saga (saga_id non-NULL), oldest first, at most
 * limit. *out is a new JSON array. 0 or a db error. */
int repo_list(db_pool *db, int64_t order_id, const char *saga_id, int limit, json_t **out);

#endif

/* repo.c - SQL for notification_db.notifications. Nothing here decides what an event means. */
#include "repo.h"

#include <string.h>

#include "cm_error.h"

/* A stream field bound to a column of `max` characters: longer (foreign) values are cut
 * rather than failing the whole batch forever. */
static db_val bounded(const char *s, size_t max)
{
    if (s == NULL)
        return DB_NULL;
    size_t n = strlen(s);
    return DB_STRN(s, n < max ? n : max);
}

/* The order of a saga, from a notification already stored (events of inventory carry only the
 * saga id). 0 when none is known yet. */
static int64_t order_of_saga(db_conn *c, const char *saga_id)
{
    db_result *r = NULL;
    db_val p[] = {DB_STR(saga_id)};
    int64_t id = 0;
    if (db_query(c,
                 "SELECT order_id FROM notifications WHERE saga_id = ? AND order_id IS NOT NULL"
                 " LIMIT 1",
                 p, 1, &r) == 0 &&
        db_result_rows(r) > 0)
        id = db_result_int(r, 0, 0, 0);
    db_result_free(r);
    return id;
}

int repo_store_batch(db_pool *db, const notif_record_t *recs, const notif_event_t *evs, size_t n,
                     int *inserted)
{
    db_conn *c = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    *inserted = 0;
    if (rc != 0)
        return rc;
    if ((rc = db_begin(c)) != 0)
        goto out;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const notif_record_t *r = &recs[i];
        const notif_event_t *e = &evs[i];
        int64_t order_id = r->order_id;
        if (order_id <= 0 && r->saga_id[0])
            order_id = order_of_saga(c, r->saga_id);
        db_val p[] = {
            DB_STR(r->event_id),
            bounded(e->stream_id, 64),
            DB_STR(r->event_type),
            bounded(e->aggregate_type, 32),
            bounded(e->aggregate_id, 64),
            bounded(e->service, 64),
            order_id > 0 ? DB_INT(order_id) : DB_NULL,
            r->saga_id[0] ? DB_STR(r->saga_id) : DB_NULL,
            DB_STR(r->message),
            DB_STR(e->payload != NULL ? e->payload : "null"),
        };
        uint64_t affected = 0;
        /* INSERT IGNORE would also swallow real errors; a no-op update on the duplicate key
         * keeps them and affects 0 rows for an event already stored. */
        rc = db_exec(c,
                     "INSERT INTO notifications (event_id, stream_id, event_type, aggregate_type,"
                     " aggregate_id, service, order_id, saga_id, message, payload)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                     " ON DUPLICATE KEY UPDATE event_id = event_id",
                     p, 10, &affected, NULL);
        if (rc == 0 && affected == 1)
            (*inserted)++;
        /* Events of the saga stored before its order was known now get the order id, so
         * ?orderId= finds every event of the order whatever the arrival order. */
        if (rc == 0 && affected == 1 && r->order_id > 0 && r->saga_id[0]) {
            db_val u[] = {DB_INT(r->order_id), DB_STR(r->saga_id)};
            rc = db_exec(c,
                         "UPDATE notifications SET order_id = ? WHERE saga_id = ?"
                         " AND order_id IS NULL",
                         u, 2, NULL, NULL);
        }
    }
    if (rc == 0)
        rc = db_commit(c);
    else
        db_rollback(c);
    if (rc != 0)
        *inserted = 0;
out:
    db_release(db, c);
    return rc;
}

int repo_list(db_pool *db, int64_t order_id, const char *saga_id, int limit, json_t **out)
{
    db_conn *c = NULL;
    db_result *r = NULL;
    int rc = db_acquire(db, &c, NULL, 0);
    if (rc != 0)
        return rc;
    db_val p[] = {order_id > 0 ? DB_INT(order_id) : DB_STR(saga_id), DB_INT(limit)};
    rc = db_query(c,
                  order_id > 0
                      ? "SELECT id, event_id, event_type, order_id, saga_id, service, message,"
                        " payload, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS created"
                        " FROM notifications WHERE order_id = ? ORDER BY id LIMIT ?"
                      : "SELECT id, event_id, event_type, order_id, saga_id, service, message,"
                        " payload, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS created"
                        " FROM notifications WHERE saga_id = ? ORDER BY id LIMIT ?",
                  p, 2, &r);
    db_release(db, c);
    if (rc != 0)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < db_result_rows(r); i++) {
        json_t *payload = json_loads(db_result_str(r, i, 7), JSON_DECODE_ANY, NULL);
        json_t *o = json_pack(
            "{s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:s}", "id",
            (json_int_t)db_result_int(r, i, 0, 0), "eventId", db_result_str(r, i, 1), "eventType",
            db_result_str(r, i, 2), "orderId",
            db_result_is_null(r, i, 3) ? json_null() : json_integer(db_result_int(r, i, 3, 0)),
            "sagaId",
            db_result_is_null(r, i, 4) ? json_null() : json_string(db_result_str(r, i, 4)),
            "service",
            db_result_is_null(r, i, 5) ? json_null() : json_string(db_result_str(r, i, 5)),
            "message", db_result_str(r, i, 6), "payload", payload != NULL ? payload : json_null(),
            "createdAt", db_result_str(r, i, 8));
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    db_result_free(r);
    if (arr == NULL)
        return CM_ERR_NOMEM;
    *out = arr;
    return 0;
}

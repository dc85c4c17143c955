/* routes.c - HTTP in/out for service-notification: GET /api/notifications?orderId= (or
 * ?sagaId=). Reads only; the consumer thread is the only writer. */
#include "routes.h"

#include <stdint.h>

#include "cm_error.h"
#include "repo.h"
#include "saga_contract.h"

#define NOTIF_LIST_MAX 1000

static void list_notifications(http_req *req, void *ctx)
{
    db_pool *db = ctx;
    int64_t order_id = 0, limit = 0;
    const char *saga_id = NULL;
    json_t *arr = NULL;

    if (http_req_query_int(req, "orderId", false, 0, 1, INT64_MAX, &order_id) != 0 ||
        http_req_query_str(req, "sagaId", false, SAGA_ID_MAX - 1, &saga_id) != 0 ||
        http_req_query_int(req, "limit", false, NOTIF_LIST_MAX, 1, NOTIF_LIST_MAX, &limit) != 0)
        return;
    if ((order_id > 0) == (saga_id != NULL)) {
        http_respond_problem(req, 400, HTTP_CODE_VALIDATION,
                             "exactly one of orderId or sagaId is required");
        return;
    }
    int rc = repo_list(db, order_id, saga_id, (int)limit, &arr);
    if (rc != 0) {
        http_respond_repo_error(req, rc, "notifications");
        return;
    }
    http_respond_json(req, 200, arr);
}

int routes_register(http_server *srv, db_pool *db, auth *au)
{
    return auth_route(au, srv, "GET", "/api/notifications", AUTH_SERVICE | AUTH_ADMIN,
                      list_notifications, db) != 0
               ? CM_ERR_INVALID
               : 0;
}

/* routes.h - HTTP API of service-notification. */
#ifndef NOTIF_ROUTES_H
#define NOTIF_ROUTES_H

#include "cm_auth.h"
#include "cm_db.h"
#include "cm_http.h"

/* Registers GET /api/notifications (the service or the admin token). db and au must outlive
 * the server. 0 or CM_ERR_INVALID. */
int routes_register(http_server *srv, db_pool *db, auth *au);

#endif

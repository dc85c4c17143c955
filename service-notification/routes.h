/* routes.h - HTTP API of service-notification. */
#ifndef NOTIF_ROUTES_H
#define NOTIF_ROUTES_H

#include "cm_db.h"
#include "cm_http.h"

/* Registers GET /api/notifications. db must outlive the server. 0 or CM_ERR_INVALID. */
int routes_register(http_server *srv, db_pool *db);

#endif

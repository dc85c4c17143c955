/* cm_config.h — configuration from environment variables with defaults
 * (the table in docs/development.md). Read once at start, never written afterwards. */
#ifndef CM_CONFIG_H
#define CM_CONFIG_H

#include <stdint.h>

/* Value of env var `name`, or `def` when unset or empty. Borrowed pointer. */
const char *cfg_str(const char *name, const char *def);

/* Integer env var in [min, max]; unset/empty -> def; malformed or out of range ->
 * def and a warning in the log (a typo must not silently become 0). */
int64_t cfg_int(const char *name, int64_t def, int64_t min, int64_t max);

/* Floating env var in [min, max]; same rules as cfg_int. */
double cfg_double(const char *name, double def, double min, double max);

#define CFG_STR_MAX 256

/* Settings shared by every daemon. Filled by cfg_load(). */
typedef struct cm_config {
    char service[64];                 /* e.g. "service-order" (not from env) */
    int port;                         /* PORT, default: the daemon's port */
    int http_threads;                 /* HTTP_THREADS, default 8 */
    char bind_addr[64];               /* BIND_ADDR, default 127.0.0.1 (0.0.0.0 in containers) */
    char log_level[16];               /* LOG_LEVEL, default "info" */
    char mysql_host[CFG_STR_MAX];     /* MYSQL_HOST 127.0.0.1 */
    int mysql_port;                   /* MYSQL_PORT 21306 */
    char mysql_user[CFG_STR_MAX];     /* MYSQL_USER saga */
    char mysql_password[CFG_STR_MAX]; /* MYSQL_PASSWORD, no default (secret) */
    char mysql_database[CFG_STR_MAX]; /* MYSQL_DATABASE, default: the daemon's database */
    int mysql_pool_size;              /* MYSQL_POOL_SIZE 8 */
    char redis_host[CFG_STR_MAX];     /* REDIS_HOST 127.0.0.1 */
    int redis_port;                   /* REDIS_PORT 21379 */
    char redis_username[CFG_STR_MAX]; /* REDIS_USERNAME, "" -> AUTH with the password only */
    char redis_password[CFG_STR_MAX]; /* REDIS_PASSWORD, "" -> no AUTH (secret) */
    int redis_pool_size;              /* REDIS_POOL_SIZE, default = http_threads + 4 */
    char order_events_stream[CFG_STR_MAX]; /* ORDER_EVENTS_STREAM stream:order-events */
    /* HTTP connection limits and deadlines (cm_http.h HTTP_* defaults) */
    int http_max_connections;    /* HTTP_MAX_CONNECTIONS 10000 */
    int http_max_per_ip;         /* HTTP_MAX_CONNECTIONS_PER_IP 0 (no cap) */
    int http_header_timeout_ms;  /* HTTP_HEADER_TIMEOUT_MS 10000 */
    int http_body_timeout_ms;    /* HTTP_BODY_TIMEOUT_MS 30000 */
    int http_idle_timeout_ms;    /* HTTP_IDLE_TIMEOUT_MS 30000 */
    int http_request_timeout_ms; /* HTTP_REQUEST_TIMEOUT_MS 60000 */
} cm_config;

/* Fill `cfg` from the environment. `service` names the daemon (used in logs, metrics,
 * idempotency keys, outbox events); `default_port` and `default_database` are its
 * defaults from DESIGN (default_database may be NULL for a daemon without MySQL).
 * Never fails; bad values fall back to defaults with a warning. */
void cfg_load(cm_config *cfg, const char *service, int default_port, const char *default_database);

#endif

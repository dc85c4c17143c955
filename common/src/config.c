/* config.c — environment variables with defaults and bounds (docs/development.md).
 * Must not exit the process on a bad value: it falls back to the default with a warning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_config.h"
#include "cm_log.h"

const char *cfg_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

int64_t cfg_int(const char *name, int64_t def, int64_t min, int64_t max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    errno = 0;
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0' || x < min || x > max) {
        log_warn("config %s=%s is not an integer in [%lld, %lld]; using %lld", name, v,
                 (long long)min, (long long)max, (long long)def);
        return def;
    }
    return x;
}

double cfg_double(const char *name, double def, double min, double max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    errno = 0;
    char *end = NULL;
    double x = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !(x >= min && x <= max)) {
        log_warn("config %s=%s is not a number in [%g, %g]; using %g", name, v, min, max, def);
        return def;
    }
    return x;
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

void cfg_load(cm_config *cfg, const char *service, int default_port, const char *default_database)
{
    memset(cfg, 0, sizeof *cfg);
    copy(cfg->service, sizeof cfg->service, service);
    cfg->port = (int)cfg_int("PORT", default_port, 1, 65535);
    cfg->http_threads = (int)cfg_int("HTTP_THREADS", 8, 1, 256);
    copy(cfg->bind_addr, sizeof cfg->bind_addr, cfg_str("BIND_ADDR", "127.0.0.1"));
    copy(cfg->log_level, sizeof cfg->log_level, cfg_str("LOG_LEVEL", "info"));
    copy(cfg->mysql_host, sizeof cfg->mysql_host, cfg_str("MYSQL_HOST", "127.0.0.1"));
    cfg->mysql_port = (int)cfg_int("MYSQL_PORT", 21306, 1, 65535);
    copy(cfg->mysql_user, sizeof cfg->mysql_user, cfg_str("MYSQL_USER", "saga"));
    copy(cfg->mysql_password, sizeof cfg->mysql_password, cfg_str("MYSQL_PASSWORD", ""));
    copy(cfg->mysql_database, sizeof cfg->mysql_database,
         cfg_str("MYSQL_DATABASE", default_database ? default_database : ""));
    cfg->mysql_pool_size = (int)cfg_int("MYSQL_POOL_SIZE", 8, 1, 1024);
    copy(cfg->redis_host, sizeof cfg->redis_host, cfg_str("REDIS_HOST", "127.0.0.1"));
    cfg->redis_port = (int)cfg_int("REDIS_PORT", 21379, 1, 65535);
    copy(cfg->redis_username, sizeof cfg->redis_username, cfg_str("REDIS_USERNAME", ""));
    copy(cfg->redis_password, sizeof cfg->redis_password, cfg_str("REDIS_PASSWORD", ""));
    cfg->redis_pool_size = (int)cfg_int("REDIS_POOL_SIZE", cfg->http_threads + 4, 1, 1024);
    copy(cfg->order_events_stream, sizeof cfg->order_events_stream,
         cfg_str("ORDER_EVENTS_STREAM", "stream:order-events"));
    cfg->http_max_connections = (int)cfg_int("HTTP_MAX_CONNECTIONS", 10000, 1, 1000000);
    cfg->http_max_per_ip = (int)cfg_int("HTTP_MAX_CONNECTIONS_PER_IP", 0, 0, 1000000);
    cfg->http_header_timeout_ms = (int)cfg_int("HTTP_HEADER_TIMEOUT_MS", 10000, 100, 3600000);
    cfg->http_body_timeout_ms = (int)cfg_int("HTTP_BODY_TIMEOUT_MS", 30000, 100, 3600000);
    cfg->http_idle_timeout_ms = (int)cfg_int("HTTP_IDLE_TIMEOUT_MS", 30000, 1000, 3600000);
    cfg->http_request_timeout_ms = (int)cfg_int("HTTP_REQUEST_TIMEOUT_MS", 60000, 100, 3600000);
}

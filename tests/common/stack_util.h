/* stack_util.h — the shared stack's MariaDB and Redis as common's stack tests reach them (host,
 * port and credentials from the environment scripts/stack sets). Test code only: include after
 * cmocka.h and common.h. */
#ifndef COMMON_TEST_STACK_UTIL_H
#define COMMON_TEST_STACK_UTIL_H

/* A pool config of `size` connections to the stack's MariaDB; database NULL selects none. */
static inline db_config stack_db_config(const char *database, int size)
{
    db_config c = {.host = cfg_str("MYSQL_HOST", "127.0.0.1"),
                   .port = (int)cfg_int("MYSQL_PORT", 21306, 1, 65535),
                   .user = cfg_str("MYSQL_USER", "saga"),
                   .password = cfg_str("MYSQL_PASSWORD", ""),
                   .database = database,
                   .pool_size = size};
    return c;
}

/* The stack's Redis port (REDIS_PORT). */
static inline int stack_redis_port(void)
{
    return (int)cfg_int("REDIS_PORT", 21379, 1, 65535);
}

/* A pool of `size` connections to the Redis on 127.0.0.1:port with the stack's credentials,
 * timeout_ms as rds_pool_new takes it; fails the test when it cannot be made. */
static inline rds_pool *stack_rds_pool(int port, int size, int timeout_ms)
{
    rds_pool *p = NULL;
    assert_int_equal(rds_pool_new("127.0.0.1", port, size, timeout_ms, &p), 0);
    assert_int_equal(
        rds_pool_set_auth(p, cfg_str("REDIS_USERNAME", NULL), cfg_str("REDIS_PASSWORD", NULL)), 0);
    return p;
}

#endif

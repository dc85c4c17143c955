/* Problem rendering, config from env, SHA-256 fingerprints, error names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cm_config.h"
#include "cm_enum.h"
#include "cm_error.h"
#include "cm_http.h"
#include "cm_id.h"
#include "cm_idem.h"
#include "cm_log.h"

#include <unistd.h>

static void problem_has_rfc9457_members_and_code(void **s)
{
    (void)s;
    json_t *p = http_problem_new(409, "OutOfStock", "only 1 left", "/api/x");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "/problems/OutOfStock");
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Conflict");
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 409);
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "only 1 left");
    assert_string_equal(json_string_value(json_object_get(p, "code")), "OutOfStock");
    assert_string_equal(json_string_value(json_object_get(p, "instance")), "/api/x");
    json_decref(p);
}

static void problem_survives_invalid_utf8(void **s)
{
    (void)s;
    json_t *p = http_problem_new(404, HTTP_CODE_NOT_FOUND, "no route for \xff\xfe", "/\xc3");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "no route for ??");
    json_decref(p);
    p = http_problem_new(500, NULL, "x", NULL);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "about:blank");
    assert_null(json_object_get(p, "code"));
    json_decref(p);
}

static void status_titles(void **s)
{
    (void)s;
    assert_string_equal(http_status_title(404), "Not Found");
    assert_string_equal(http_status_title(413), "Content Too Large");
    assert_string_equal(http_status_title(422), "Unprocessable Content");
    assert_string_equal(http_status_title(799), "Unknown");
}

static void config_defaults_and_overrides(void **s)
{
    (void)s;
    unsetenv("PORT");
    unsetenv("MYSQL_DATABASE");
    setenv("HTTP_THREADS", "3", 1);
    setenv("MYSQL_POOL_SIZE", "banana", 1);
    setenv("REDIS_PORT", "99999", 1);
    setenv("ORDER_EVENTS_STREAM", "stream:test", 1);
    cm_config c;
    cfg_load(&c, "service-order", 21082, "order_db");
    assert_int_equal(c.port, 21082);
    assert_int_equal(c.http_threads, 3);
    assert_int_equal(c.mysql_pool_size, 8); /* malformed -> default */
    assert_int_equal(c.redis_port, 21379);  /* out of range -> default */
    assert_string_equal(c.mysql_database, "order_db");
    assert_string_equal(c.mysql_host, "127.0.0.1");
    assert_string_equal(c.order_events_stream, "stream:test");
    assert_string_equal(c.service, "service-order");
    setenv("PORT", "22081", 1);
    setenv("MYSQL_DATABASE", "other_db", 1);
    cfg_load(&c, "service-order", 21082, "order_db");
    assert_int_equal(c.port, 22081);
    assert_string_equal(c.mysql_database, "other_db");
    setenv("FAKE_PG_FAILURE_RATE", "0.25", 1);
    assert_true(cfg_double("FAKE_PG_FAILURE_RATE", 0, 0, 1) == 0.25);
    setenv("FAKE_PG_FAILURE_RATE", "2", 1);
    assert_true(cfg_double("FAKE_PG_FAILURE_RATE", 0, 0, 1) == 0);
    assert_int_equal(cfg_int("NOPE_NOT_SET", 17, 0, 100), 17);
    setenv("EMPTY_VAR", "", 1);
    assert_string_equal(cfg_str("EMPTY_VAR", "dflt"), "dflt");
}

static void sha256_known_vectors(void **s)
{
    (void)s;
    char h[65];
    cm_sha256_hex("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cm_sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    cm_sha256_hex(m, strlen(m), h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void fingerprint_depends_on_every_part(void **s)
{
    (void)s;
    char a[65], b[65];
    idem_fingerprint("POST", "/api/orders", "", "{}", 2, a);
    idem_fingerprint("POST", "/api/orders", "", "{}", 2, b);
    assert_string_equal(a, b);
    idem_fingerprint("PUT", "/api/orders", "", "{}", 2, b);
    assert_string_not_equal(a, b);
    idem_fingerprint("POST", "/api/orders/1", "", "{}", 2, b);
    assert_string_not_equal(a, b);
    idem_fingerprint("POST", "/api/orders", "qty=1", "{}", 2, b);
    assert_string_not_equal(a, b);
    idem_fingerprint("POST", "/api/orders", "", "{ }", 3, b);
    assert_string_not_equal(a, b);
}

/* Capture what log_* writes to stderr. */
static char *capture(void (*fn)(void))
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    int saved = dup(2);
    dup2(p[1], 2);
    fn();
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    static char buf[8192];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void log_some(void)
{
    log_init("svc-x", CM_LOG_INFO);
    log_debug("hidden %d", 1);
    log_set_request_id("rid-1");
    log_set_saga_id("saga-9");
    log_info("quote \" and newline\n done");
    log_set_request_id(NULL);
    log_set_saga_id(NULL);
    log_error("plain");
    log_warn("bad \xff\xc3 caf\xc3\xa9 \xed\xa0\x80 \xf0\x9f\x98\x80 end");
}

static void log_lines_are_json_with_context(void **s)
{
    (void)s;
    char *out = capture(log_some);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    *nl = '\0';
    json_error_t e;
    json_t *a = json_loads(out, 0, &e);
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(a, "service")), "svc-x");
    assert_string_equal(json_string_value(json_object_get(a, "request_id")), "rid-1");
    assert_string_equal(json_string_value(json_object_get(a, "saga_id")), "saga-9");
    assert_string_equal(json_string_value(json_object_get(a, "msg")),
                        "quote \" and newline\n done");
    assert_non_null(json_object_get(a, "ts"));
    json_decref(a);
    json_t *b = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &e);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "level")), "error");
    assert_null(json_object_get(b, "request_id"));
    assert_null(json_object_get(b, "saga_id"));
    json_decref(b);
    /* invalid UTF-8 (stray bytes, a truncated sequence, a surrogate) becomes U+FFFD; valid
     * multi-byte characters pass through; the line stays parseable JSON */
    const char *third = strchr(nl + 1, '\n');
    assert_non_null(third);
    json_t *c = json_loads(third + 1, JSON_DISABLE_EOF_CHECK, &e);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "msg")),
                        "bad \xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9 "
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x98\x80 end");
    json_decref(c);
    assert_null(strstr(out + strlen(out) + 1, "hidden"));
    assert_int_equal(log_level_parse("DEBUG"), CM_LOG_DEBUG);
    assert_int_equal(log_level_parse("warn"), CM_LOG_WARN);
    assert_int_equal(log_level_parse("bogus"), CM_LOG_INFO);
}

static void error_names(void **s)
{
    (void)s;
    assert_string_equal(cm_strerror(CM_ERR_DUPLICATE), "CM_ERR_DUPLICATE");
    assert_string_equal(cm_strerror(-999), "CM_ERR_UNKNOWN");
}

static void ids_are_bounded_printable_ascii_without_spaces(void **s)
{
    (void)s;
    char longest[HTTP_IDEM_KEY_MAX + 1], too_long[HTTP_IDEM_KEY_MAX + 2];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_true(cm_id_valid("order-3f2a:createOrder", HTTP_IDEM_KEY_MAX));
    assert_true(cm_id_valid("!~", HTTP_IDEM_KEY_MAX));
    assert_true(cm_id_valid(longest, HTTP_IDEM_KEY_MAX));
    assert_false(cm_id_valid(too_long, HTTP_IDEM_KEY_MAX));
    assert_false(cm_id_valid("", HTTP_IDEM_KEY_MAX));
    assert_false(cm_id_valid(NULL, HTTP_IDEM_KEY_MAX));
    assert_false(cm_id_valid("with space", HTTP_IDEM_KEY_MAX));
    assert_false(cm_id_valid("tab\there", HTTP_IDEM_KEY_MAX));
    assert_false(cm_id_valid("del\x7f", HTTP_IDEM_KEY_MAX));
    assert_false(cm_id_valid("caf\xc3\xa9", HTTP_IDEM_KEY_MAX));
    assert_true(cm_id_valid("abc", 3));
    assert_false(cm_id_valid("abcd", 3));
    assert_false(cm_id_valid("a", 0));
}

static void enum_names_and_parse_skip_values_below_first(void **s)
{
    (void)s;
    static const char *const names[] = {"NONE", "ON", "OFF"};
    assert_string_equal(cm_enum_name(names, 3, 1), "ON");
    assert_string_equal(cm_enum_name(names, 3, 3), "UNKNOWN");
    assert_string_equal(cm_enum_name(names, 3, -1), "UNKNOWN");
    assert_int_equal(cm_enum_index(names, 3, 1, "OFF"), 2);
    assert_int_equal(cm_enum_index(names, 3, 1, "NONE"), -1);
    assert_int_equal(cm_enum_index(names, 3, 0, "NONE"), 0);
    assert_int_equal(cm_enum_index(names, 3, 0, "on"), -1);
    assert_int_equal(cm_enum_index(names, 3, 0, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(problem_has_rfc9457_members_and_code),
        cmocka_unit_test(problem_survives_invalid_utf8),
        cmocka_unit_test(status_titles),
        cmocka_unit_test(config_defaults_and_overrides),
        cmocka_unit_test(sha256_known_vectors),
        cmocka_unit_test(fingerprint_depends_on_every_part),
        cmocka_unit_test(log_lines_are_json_with_context),
        cmocka_unit_test(error_names),
        cmocka_unit_test(ids_are_bounded_printable_ascii_without_spaces),
        cmocka_unit_test(enum_names_and_parse_skip_values_below_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

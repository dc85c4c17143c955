/* Router matching: literals, {params}, precedence, 404 vs 405 with Allow, bad patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cm_error.h"
#include "router.h"

static void h1(http_req *r, void *c)
{
    (void)r;
    (void)c;
}
static void h2(http_req *r, void *c)
{
    (void)r;
    (void)c;
}

static router *mk(void)
{
    router *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(router_add(r, "POST", "/api/orders", h1, NULL), 0);
    assert_int_equal(router_add(r, "GET", "/api/orders/{id}", h1, NULL), 0);
    assert_int_equal(router_add(r, "PATCH", "/api/orders/{id}/cancel", h2, NULL), 0);
    assert_int_equal(router_add(r, "GET", "/api/orders/stats", h2, (void *)1), 0);
    assert_int_equal(router_add(r, "POST", "/api/orders/async", h2, NULL), 0);
    assert_int_equal(router_add(r, "POST", "/api/inventory/{productId}/reserve", h1, NULL), 0);
    assert_int_equal(router_add(r, "GET", "/health", h1, NULL), 0);
    return r;
}

static void matches_param_and_extracts_value(void **s)
{
    (void)s;
    router *r = mk();
    router_match m;
    assert_int_equal(router_match_path(r, "PATCH", "/api/orders/42/cancel", &m), 0);
    assert_string_equal(m.route->pattern, "/api/orders/{id}/cancel");
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.names[0], "id");
    assert_string_equal(m.values[0], "42");
    assert_int_equal(router_match_path(r, "POST", "/api/inventory/7/reserve", &m), 0);
    assert_string_equal(m.names[0], "productId");
    assert_string_equal(m.values[0], "7");
    router_clear(r);
    free(r);
}

static void literal_segment_beats_param(void **s)
{
    (void)s;
    router *r = mk();
    router_match m;
    assert_int_equal(router_match_path(r, "GET", "/api/orders/stats", &m), 0);
    assert_string_equal(m.route->pattern, "/api/orders/stats");
    assert_int_equal(m.nparams, 0);
    assert_int_equal(router_match_path(r, "GET", "/api/orders/5", &m), 0);
    assert_string_equal(m.route->pattern, "/api/orders/{id}");
    router_clear(r);
    free(r);
}

static void unknown_path_is_404(void **s)
{
    (void)s;
    router *r = mk();
    router_match m;
    assert_int_equal(router_match_path(r, "GET", "/api/nothing", &m), 404);
    assert_int_equal(router_match_path(r, "GET", "/api/orders/", &m), 404); /* empty {id} */
    assert_int_equal(router_match_path(r, "GET", "/api/orders/1/2", &m), 404);
    assert_int_equal(router_match_path(r, "GET", "/health/", &m), 404);
    assert_int_equal(router_match_path(r, "GET", "health", &m), 404);
    assert_null(m.route);
    router_clear(r);
    free(r);
}

static void known_path_wrong_method_is_405_with_allow(void **s)
{
    (void)s;
    router *r = mk();
    router_match m;
    assert_int_equal(router_match_path(r, "DELETE", "/api/orders", &m), 405);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(router_match_path(r, "POST", "/api/orders/9", &m), 405);
    assert_string_equal(m.allow, "GET");
    /* /api/orders/stats matches both the literal and the {id} route, both GET: listed once */
    assert_int_equal(router_match_path(r, "DELETE", "/api/orders/stats", &m), 405);
    assert_string_equal(m.allow, "GET");
    router_clear(r);
    free(r);
}

static void literal_shape_hides_param_shape_of_other_methods(void **s)
{
    (void)s;
    router *r = mk();
    router_match m;
    /* POST-only literal beside GET /api/orders/{id}: GET of the literal is not an order id */
    assert_int_equal(router_match_path(r, "GET", "/api/orders/async", &m), 405);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(router_match_path(r, "DELETE", "/api/orders/async", &m), 405);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(router_match_path(r, "POST", "/api/orders/async", &m), 0);
    assert_string_equal(m.route->pattern, "/api/orders/async");
    router_clear(r);
    free(r);
}

static void bad_patterns_are_refused(void **s)
{
    (void)s;
    router *r = mk();
    assert_int_equal(router_add(r, "GET", "api/x", h1, NULL), CM_ERR_INVALID);
    assert_int_equal(router_add(r, "GET", "/api//x", h1, NULL), CM_ERR_INVALID);
    assert_int_equal(router_add(r, "GET", "/api/{}", h1, NULL), CM_ERR_INVALID);
    assert_int_equal(router_add(r, "GET", "/api/{x", h1, NULL), CM_ERR_INVALID);
    assert_int_equal(router_add(r, "GET", "/api/a{x}", h1, NULL), CM_ERR_INVALID);
    /* same method + same shape (param names do not matter) */
    assert_int_equal(router_add(r, "GET", "/api/orders/{orderId}", h1, NULL), CM_ERR_INVALID);
    assert_int_equal(router_add(r, "GET", "/api/orders", h1, NULL), 0);
    router_clear(r);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_param_and_extracts_value),
        cmocka_unit_test(literal_segment_beats_param),
        cmocka_unit_test(unknown_path_is_404),
        cmocka_unit_test(known_path_wrong_method_is_405_with_allow),
        cmocka_unit_test(literal_shape_hides_param_shape_of_other_methods),
        cmocka_unit_test(bad_patterns_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

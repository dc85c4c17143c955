/* Strict JSON validation: required/optional, exact types, ranges, messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cm_error.h"
#include "cm_json.h"

static const json_field k_order[] = {
    {"customerId", JF_POS_INT, true, 0, 0},     {"productId", JF_POS_INT, true, 0, 0},
    {"quantity", JF_POS_INT, true, 0, 1000},    {"amount", JF_INT, true, 0, 1000000000},
    {"paymentMethod", JF_STRING, false, 1, 16}, {NULL, 0, false, 0, 0},
};

static int parse(const char *body, char *detail, size_t n)
{
    json_t *obj = NULL;
    int rc = json_parse_object(body, strlen(body), k_order, 0, &obj, detail, n);
    if (rc == 0)
        assert_non_null(obj);
    else
        assert_null(obj);
    json_decref(obj);
    return rc;
}

#define VALID "\"customerId\":1,\"productId\":2,\"amount\":20000"

static void valid_body_passes(void **s)
{
    (void)s;
    char d[256];
    assert_int_equal(parse("{" VALID ",\"quantity\":2}", d, sizeof d), 0);
    assert_int_equal(parse("{" VALID ",\"quantity\":2,\"paymentMethod\":\"CARD\"}", d, sizeof d),
                     0);
    assert_int_equal(parse("{" VALID ",\"quantity\":2,\"paymentMethod\":null}", d, sizeof d), 0);
    assert_int_equal(parse("{" VALID ",\"quantity\":2,\"extra\":[1]}", d, sizeof d), 0);
}

static void zero_negative_string_and_real_quantities_are_refused(void **s)
{
    (void)s;
    char d[256];
    const char *bad[] = {"0", "-1", "\"2\"", "2.0", "2.5", "true", "null", "[2]", "1001"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[256];
        snprintf(body, sizeof body, "{" VALID ",\"quantity\":%s}", bad[i]);
        if (!strcmp(bad[i], "null")) {
            assert_int_equal(parse(body, d, sizeof d), CM_ERR_INVALID);
            assert_string_equal(d, "quantity is required");
            continue;
        }
        assert_int_equal(parse(body, d, sizeof d), CM_ERR_INVALID);
        assert_string_equal(d, "quantity must be an integer between 1 and 1000");
    }
}

static void positive_int_message(void **s)
{
    (void)s;
    char d[256];
    assert_int_equal(
        parse("{\"customerId\":-3,\"productId\":2,\"amount\":1,\"quantity\":1}", d, sizeof d),
        CM_ERR_INVALID);
    assert_string_equal(d, "customerId must be a positive integer");
}

static void missing_required_field(void **s)
{
    (void)s;
    char d[256];
    assert_int_equal(parse("{\"customerId\":1,\"productId\":2,\"quantity\":1}", d, sizeof d),
                     CM_ERR_INVALID);
    assert_string_equal(d, "amount is required");
}

static void string_length_and_type(void **s)
{
    (void)s;
    char d[256];
    assert_int_equal(parse("{" VALID ",\"quantity\":1,\"paymentMethod\":\"\"}", d, sizeof d),
                     CM_ERR_INVALID);
    assert_string_equal(d, "paymentMethod must be a non-empty string of at most 16 characters");
    assert_int_equal(parse("{" VALID ",\"quantity\":1,\"paymentMethod\":5}", d, sizeof d),
                     CM_ERR_INVALID);
    assert_int_equal(
        parse("{" VALID ",\"quantity\":1,\"paymentMethod\":\"12345678901234567\"}", d, sizeof d),
        CM_ERR_INVALID);
    assert_int_equal(
        parse("{" VALID ",\"quantity\":1,\"paymentMethod\":\"a\\u0000b\"}", d, sizeof d),
        CM_ERR_INVALID);
}

static void malformed_and_non_object_bodies(void **s)
{
    (void)s;
    char d[256];
    assert_int_equal(parse("{\"customerId\":", d, sizeof d), CM_ERR_INVALID);
    assert_non_null(strstr(d, "malformed JSON"));
    assert_int_equal(parse("[1,2]", d, sizeof d), CM_ERR_INVALID);
    assert_string_equal(d, "request body must be a JSON object");
    assert_int_equal(parse("{" VALID ",\"quantity\":1} trailing", d, sizeof d), CM_ERR_INVALID);
    assert_int_equal(parse("{" VALID ",\"quantity\":1,\"quantity\":-5}", d, sizeof d),
                     CM_ERR_INVALID);
    assert_int_equal(parse("{" VALID ",\"quantity\":99999999999999999999999}", d, sizeof d),
                     CM_ERR_INVALID);
}

static void unknown_fields_rejected_when_asked(void **s)
{
    (void)s;
    char d[256];
    const char *body = "{" VALID ",\"quantity\":1,\"bogus\":1}";
    json_t *obj = NULL;
    assert_int_equal(
        json_parse_object(body, strlen(body), k_order, JSON_V_REJECT_UNKNOWN, &obj, d, sizeof d),
        CM_ERR_INVALID);
    assert_string_equal(d, "unknown field bogus");
}

static void other_types_have_exact_checks(void **s)
{
    (void)s;
    static const json_field f[] = {
        {"flag", JF_BOOL, true, 0, 0},   {"ratio", JF_NUMBER, true, 0, 0},
        {"meta", JF_OBJECT, true, 0, 0}, {"items", JF_ARRAY, true, 0, 0},
        {"any", JF_ANY, false, 0, 0},    {"delta", JF_INT, false, -5, 5},
        {NULL, 0, false, 0, 0},
    };
    char d[256];
    json_t *o = NULL;
    const char *ok =
        "{\"flag\":true,\"ratio\":0.5,\"meta\":{},\"items\":[],\"any\":null,\"delta\":-5}";
    assert_int_equal(json_parse_object(ok, strlen(ok), f, 0, &o, d, sizeof d), 0);
    json_decref(o);
    struct {
        const char *body, *msg;
    } bad[] = {
        {"{\"flag\":1,\"ratio\":1,\"meta\":{},\"items\":[]}", "flag must be a boolean"},
        {"{\"flag\":false,\"ratio\":\"1\",\"meta\":{},\"items\":[]}", "ratio must be a number"},
        {"{\"flag\":false,\"ratio\":1,\"meta\":[],\"items\":[]}", "meta must be an object"},
        {"{\"flag\":false,\"ratio\":1,\"meta\":{},\"items\":{}}", "items must be an array"},
        {"{\"flag\":false,\"ratio\":1,\"meta\":{},\"items\":[],\"delta\":6}",
         "delta must be an integer between -5 and 5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(json_parse_object(bad[i].body, strlen(bad[i].body), f, 0, &o, d, sizeof d),
                         CM_ERR_INVALID);
        assert_string_equal(d, bad[i].msg);
    }
}

static void getters_return_defaults(void **s)
{
    (void)s;
    json_t *o = json_pack("{s:i, s:s, s:b}", "a", 5, "b", "x", "c", 1);
    assert_int_equal(json_get_int(o, "a", 0), 5);
    assert_int_equal(json_get_int(o, "b", -1), -1);
    assert_string_equal(json_get_str(o, "b", NULL), "x");
    assert_string_equal(json_get_str(o, "zz", "CARD"), "CARD");
    assert_true(json_get_bool(o, "c", false));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_body_passes),
        cmocka_unit_test(zero_negative_string_and_real_quantities_are_refused),
        cmocka_unit_test(positive_int_message),
        cmocka_unit_test(missing_required_field),
        cmocka_unit_test(string_length_and_type),
        cmocka_unit_test(malformed_and_non_object_bodies),
        cmocka_unit_test(unknown_fields_rejected_when_asked),
        cmocka_unit_test(other_types_have_exact_checks),
        cmocka_unit_test(getters_return_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

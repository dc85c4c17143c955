/* Units of common's auth module (cm_auth.h): which tokens start a daemon, the verdict for every
 * shape of Authorization header, and how the saga treats a refused call. No servers; the HTTP
 * side is in test_security_e2e.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cm_auth.h"
#include "cm_error.h"
#include "saga.h"

#define SVC "s3rv1ce-t0ken-0123456789abcdef"
#define ADM "adm1n-t0ken-0123456789abcdef00"

static auth *make(unsigned need)
{
    char err[256];
    auth *a = NULL;
    assert_int_equal(auth_new(SVC, ADM, false, need, err, sizeof err, &a), 0);
    assert_non_null(a);
    return a;
}

static void token_alphabet_and_length_are_checked(void **s)
{
    (void)s;
    assert_true(auth_token_valid("0123456789abcdef"));           /* 16: the minimum */
    assert_true(auth_token_valid("AZaz09-._~+/AZaz09-._~+/==")); /* b64token, '='s */
    assert_false(auth_token_valid("0123456789abcde"));           /* 15 */
    assert_false(auth_token_valid(NULL));
    assert_false(auth_token_valid(""));
    assert_false(auth_token_valid("0123456789abcdef 0123"));         /* space */
    assert_false(auth_token_valid("0123456789abcdef\r\nX-Evil: 1")); /* header injection */
    assert_false(auth_token_valid("0123456789abcdef=x"));            /* '=' only at the end */
    assert_false(auth_token_valid("0123456789abcdef\xc3\xa9"));      /* non-ASCII */
    assert_false(auth_token_valid("================"));              /* no token before '=' */
    char big[AUTH_TOKEN_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(auth_token_valid(big));
    big[AUTH_TOKEN_MAX] = '\0';
    assert_true(auth_token_valid(big));
}

static void a_daemon_without_its_tokens_does_not_start(void **s)
{
    (void)s;
    char err[512];
    auth *a = (auth *)1;
    assert_int_equal(auth_new(NULL, ADM, false, AUTH_SERVICE | AUTH_ADMIN, err, sizeof err, &a),
                     CM_ERR_INVALID);
    assert_null(a);
    assert_non_null(strstr(err, "SERVICE_TOKEN is not set"));
    assert_non_null(strstr(err, "AUTH_DISABLED=1"));
    assert_int_equal(auth_new(SVC, "", false, AUTH_SERVICE | AUTH_ADMIN, err, sizeof err, &a),
                     CM_ERR_INVALID);
    assert_non_null(strstr(err, "ADMIN_TOKEN is not set"));
    /* An orchestrator needs only the service token. */
    assert_int_equal(auth_new(SVC, NULL, false, AUTH_SERVICE, err, sizeof err, &a), 0);
    auth_free(a);
}

static void malformed_or_equal_tokens_are_refused_without_echoing_them(void **s)
{
    (void)s;
    char err[512];
    auth *a = NULL;
    assert_int_equal(auth_new("short-secret", ADM, false, AUTH_SERVICE, err, sizeof err, &a),
                     CM_ERR_INVALID);
    assert_non_null(strstr(err, "SERVICE_TOKEN is malformed"));
    assert_null(strstr(err, "short-secret"));
    /* Even when disabled: a set token must be usable, the orchestrators send it. */
    assert_int_equal(
        auth_new("bad token with spaces", NULL, true, AUTH_SERVICE, err, sizeof err, &a),
        CM_ERR_INVALID);
    assert_null(strstr(err, "bad token"));
    assert_int_equal(auth_new(SVC, SVC, false, AUTH_SERVICE | AUTH_ADMIN, err, sizeof err, &a),
                     CM_ERR_INVALID);
    assert_non_null(strstr(err, "must differ"));
    assert_null(strstr(err, SVC));
}

static void disabled_auth_lets_everything_through(void **s)
{
    (void)s;
    char err[256];
    auth *a = NULL;
    assert_int_equal(auth_new(NULL, NULL, true, AUTH_SERVICE | AUTH_ADMIN, err, sizeof err, &a), 0);
    assert_true(auth_disabled(a));
    assert_int_equal(auth_verify(a, NULL, AUTH_ADMIN), AUTH_OK);
    assert_int_equal(auth_verify(a, "Bearer wrong-wrong-wrong-wrong", AUTH_ADMIN), AUTH_OK);
    auth_free(a);
}

static void header_shapes(void **s)
{
    (void)s;
    auth *a = make(AUTH_SERVICE | AUTH_ADMIN);
    assert_false(auth_disabled(a));
    const unsigned any = AUTH_SERVICE | AUTH_ADMIN;
    struct {
        const char *h;
        unsigned accept;
        auth_verdict want;
    } cases[] = {
        {"Bearer " SVC, AUTH_SERVICE, AUTH_OK},
        {"bearer " SVC, AUTH_SERVICE, AUTH_OK},        /* scheme is case-insensitive */
        {"BEARER   " SVC "  ", AUTH_SERVICE, AUTH_OK}, /* spaces around the token */
        {"Bearer\t" SVC, AUTH_SERVICE, AUTH_OK},
        {"Bearer " ADM, AUTH_ADMIN, AUTH_OK},
        {"Bearer " ADM, any, AUTH_OK},
        {"Bearer " SVC, any, AUTH_OK},
        {NULL, AUTH_SERVICE, AUTH_MISSING},
        {"", AUTH_SERVICE, AUTH_MALFORMED},
        {"Bearer", AUTH_SERVICE, AUTH_MALFORMED},
        {"Bearer ", AUTH_SERVICE, AUTH_MALFORMED},
        {"Bearer" SVC, AUTH_SERVICE, AUTH_MALFORMED}, /* no space after the scheme */
        {"Basic c2FnYTpzYWdh", AUTH_SERVICE, AUTH_MALFORMED},
        {"Token " SVC, AUTH_SERVICE, AUTH_MALFORMED},
        {SVC, AUTH_SERVICE, AUTH_MALFORMED}, /* the token without a scheme */
        {"Bearer " SVC " " SVC, AUTH_SERVICE, AUTH_MALFORMED},
        {"Bearer " SVC ",x", AUTH_SERVICE, AUTH_MALFORMED},
        {"Bearer " SVC "\xc3\xa9", AUTH_SERVICE, AUTH_MALFORMED}, /* non-ASCII after it */
        {"Bearer \xff\xfe" SVC, AUTH_SERVICE, AUTH_MALFORMED},
        {"Bearer " SVC "x", AUTH_SERVICE, AUTH_WRONG}, /* the real token is a prefix */
        {"Bearer " SVC "=", AUTH_SERVICE, AUTH_WRONG},
        {"Bearer 0123456789abcdef0123456789", AUTH_SERVICE, AUTH_WRONG},
        {"Bearer x", AUTH_SERVICE, AUTH_WRONG},
        {"Bearer " ADM, AUTH_SERVICE, AUTH_INSUFFICIENT}, /* the admin token on a service write */
        {"Bearer " SVC, AUTH_ADMIN, AUTH_INSUFFICIENT},   /* the service token on PUT stock */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        auth_verdict v = auth_verify(a, cases[i].h, cases[i].accept);
        if (v != cases[i].want)
            fail_msg("case %zu (%s): verdict %d, want %d", i, cases[i].h ? cases[i].h : "NULL",
                     (int)v, (int)cases[i].want);
    }
    auth_free(a);
}

static void huge_headers_are_malformed(void **s)
{
    (void)s;
    auth *a = make(AUTH_SERVICE | AUTH_ADMIN);
    size_t n = 100 * 1024;
    char *h = malloc(n + 1);
    assert_non_null(h);
    memcpy(h, "Bearer ", 7);
    memset(h + 7, 'a', n - 7);
    h[n] = '\0';
    assert_int_equal(auth_verify(a, h, AUTH_SERVICE), AUTH_MALFORMED);
    /* Just under the header limit but over the token limit: well-formed, never a match. */
    h[AUTH_HEADER_MAX] = '\0';
    assert_int_equal(auth_verify(a, h, AUTH_SERVICE), AUTH_WRONG);
    free(h);
    auth_free(a);
}

static void a_service_without_an_admin_token_refuses_admin_calls(void **s)
{
    (void)s;
    char err[256];
    auth *a = NULL;
    assert_int_equal(auth_new(SVC, NULL, false, AUTH_SERVICE, err, sizeof err, &a), 0);
    assert_int_equal(auth_verify(a, "Bearer " SVC, AUTH_ADMIN), AUTH_INSUFFICIENT);
    /* No admin token configured: nothing, not even an empty digest, matches it. */
    assert_int_equal(auth_verify(a, "Bearer " ADM, AUTH_ADMIN), AUTH_WRONG);
    auth_free(a);
}

/* Tokens that disagree are an operator's to fix: the saga retries (forward steps until their
 * attempts run out, compensations until they succeed) instead of failing the order for good. */
static void a_refused_service_call_is_retried_not_a_business_failure(void **s)
{
    (void)s;
    saga_error_t err;
    assert_int_equal(saga_classify(401, AUTH_CODE_UNAUTHORIZED, &err), SAGA_ERR_RETRYABLE);
    assert_int_equal(saga_classify(403, AUTH_CODE_FORBIDDEN, &err), SAGA_ERR_RETRYABLE);
    assert_int_equal(saga_classify(400, "ValidationFailed", &err), SAGA_ERR_BUSINESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_alphabet_and_length_are_checked),
        cmocka_unit_test(a_daemon_without_its_tokens_does_not_start),
        cmocka_unit_test(malformed_or_equal_tokens_are_refused_without_echoing_them),
        cmocka_unit_test(disabled_auth_lets_everything_through),
        cmocka_unit_test(header_shapes),
        cmocka_unit_test(huge_headers_are_malformed),
        cmocka_unit_test(a_service_without_an_admin_token_refuses_admin_calls),
        cmocka_unit_test(a_refused_service_call_is_retried_not_a_business_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_temporal_connection.c - the client's connection options against real front ends: nginx
 * terminating TLS / mTLS and checking the API key and headers before grpc_pass to the dev
 * server, tinyproxy as an authenticating CONNECT proxy (tests/temporal/tls_fixture.sh). */
#include "tc_test_util.h"

#include <sys/stat.h>

static const char *g_script, *g_dir, *g_cli;
static char g_upstream[128];

#define TLS_NAME "temporal.test"

static void fixture(const char *what)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s %s %s", g_script, what, g_dir,
             strcmp(what, "nginx-up") == 0 ? g_upstream : "");
    if (system(cmd) != 0)
        fail_msg("fixture step failed: %s", cmd);
}

static const char *path_of(const char *name)
{
    static char buf[8][512];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", g_dir, name);
    return buf[i];
}

static int group_setup(void **s)
{
    (void)s;
    const char *a = getenv("TEMPORAL_ADDRESS");
    snprintf(g_upstream, sizeof g_upstream, "%s", a && *a ? a : "127.0.0.1:21733");
    fixture("certs");
    fixture("nginx-up");
    fixture("proxy-up");
    return 0;
}

static int group_teardown(void **s)
{
    (void)s;
    fixture("proxy-down");
    fixture("nginx-down");
    return 0;
}

/* A client with the given options; fails the test if tc_client_new refuses them. */
static tc_client *client_with(const tc_client_options *o)
{
    tc_client *c = NULL;
    tc_error err = {0};
    if (tc_client_new(o, &c, &err) != TC_OK)
        fail_msg("tc_client_new: %s", err.text);
    return c;
}

/* One GetSystemInfo + DescribeNamespace round (no waiting loop): the result of the first try. */
static int probe(tc_client *c, tc_error *err)
{
    return tc_client_wait_ready(c, 0, err);
}

static int64_t ms_since(int64_t t0_us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - t0_us) / 1000;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void tls_with_the_right_ca_starts_a_workflow(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26081",
                           .tls_ca_file = path_of("ca.pem"),
                           .tls_server_name = TLS_NAME};
    tc_client *c = client_with(&o);
    tc_error err = {0};
    assert_int_equal(tc_client_wait_ready(c, 30000, &err), TC_OK);
    char wid[96], rid[64];
    tt_unique(wid, sizeof wid, "tls-start");
    tc_start_options so = {.workflow_id = wid,
                           .workflow_type = "NoWorkerHere",
                           .task_queue = wid,
                           .input_json = "{\"over\":\"tls\"}"};
    assert_int_equal(tc_workflow_start(c, &so, rid, sizeof rid, NULL, &err), TC_OK);
    tc_description d;
    assert_int_equal(tc_workflow_describe(c, wid, rid, &d, &err), TC_OK);
    assert_int_equal(d.status, TC_WF_RUNNING);
    assert_string_equal(d.workflow_type, "NoWorkerHere");
    assert_int_equal(tc_workflow_terminate(c, wid, rid, "test done", &err), TC_OK);
    tc_client_free(c);
}

/* A TLS failure must come back as an error naming the handshake, after the few fast retries,
 * not as a call that hangs until its deadline. */
static void expect_handshake_failure(const tc_client_options *o, const char *case_name,
                                     const char *needle)
{
    tc_client *c = client_with(o);
    tc_error err = {0};
    tc_description d;
    int64_t t0 = now_us();
    int rc = tc_workflow_describe(c, "any", NULL, &d, &err); /* with the default retries */
    int64_t took = ms_since(t0);
    printf("# %s: %s after %lld ms: %s\n", case_name, tc_code_name(rc), (long long)took, err.text);
    assert_int_equal(rc, TC_ERR_UNAVAILABLE);
    assert_int_equal(err.grpc_status, 14);
    assert_non_null(strstr(err.text, needle));
    tc_client_free(c);
}

static void tls_with_a_wrong_ca_is_refused(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26081",
                           .tls_ca_file = path_of("other-ca.pem"),
                           .tls_server_name = TLS_NAME};
    expect_handshake_failure(&o, "wrong CA", "certificate verify failed");
}

static void tls_without_the_server_name_is_refused(void **s)
{
    (void)s;
    /* The certificate names temporal.test only; 127.0.0.1 does not match. */
    tc_client_options o = {.address = "127.0.0.1:26081", .tls_ca_file = path_of("ca.pem")};
    expect_handshake_failure(&o, "no server name override", "not in peer certificate");
}

static void expired_server_certificate_is_refused(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26085",
                           .tls_ca_file = path_of("ca.pem"),
                           .tls_server_name = TLS_NAME};
    expect_handshake_failure(&o, "expired server certificate", "certificate verify failed");
}

static void tls_with_system_roots_refuses_a_private_ca(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26081", .tls = true, .tls_server_name = TLS_NAME};
    expect_handshake_failure(&o, "system roots", "certificate verify failed");
}

static void mtls_with_a_client_certificate_connects(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26082",
                           .tls_ca_file = path_of("ca.pem"),
                           .tls_cert_file = path_of("client.pem"),
                           .tls_key_file = path_of("client.key"),
                           .tls_server_name = TLS_NAME};
    tc_client *c = client_with(&o);
    tc_error err = {0};
    assert_int_equal(tc_client_wait_ready(c, 30000, &err), TC_OK);
    tc_client_free(c);
}

static void mtls_without_a_client_certificate_is_refused(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26082",
                           .tls_ca_file = path_of("ca.pem"),
                           .tls_server_name = TLS_NAME};
    tc_client *c = client_with(&o);
    tc_error err = {0};
    int rc = probe(c, &err);
    printf("# mTLS without a certificate: %s: %s\n", tc_code_name(rc), err.text);
    assert_int_not_equal(rc, TC_OK);
    assert_int_not_equal(rc, TC_ERR_TIMEOUT);
    tc_client_free(c);
}

static void mtls_with_an_expired_client_certificate_is_refused(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26082",
                           .tls_ca_file = path_of("ca.pem"),
                           .tls_cert_file = path_of("expired.pem"),
                           .tls_key_file = path_of("expired.key"),
                           .tls_server_name = TLS_NAME};
    tc_client *c = client_with(&o);
    tc_error err = {0};
    int rc = probe(c, &err);
    printf("# mTLS with an expired certificate: %s: %s\n", tc_code_name(rc), err.text);
    assert_int_not_equal(rc, TC_OK);
    assert_int_not_equal(rc, TC_ERR_TIMEOUT);
    tc_client_free(c);
}

/* The official CLI, given the same settings, gets through the same listeners: the front ends
 * check what a real client sends, not something only our client does. */
static void the_official_cli_passes_the_same_front_ends(void **s)
{
    (void)s;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' operator namespace describe --namespace default --address 127.0.0.1:26082 "
             "--tls-ca-path %s --tls-cert-path %s --tls-key-path %s --tls-server-name %s "
             ">/dev/null 2>&1",
             g_cli, path_of("ca.pem"), path_of("client.pem"), path_of("client.key"), TLS_NAME);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "'%s' operator namespace describe --namespace default --address 127.0.0.1:26083 "
             "--tls-ca-path %s --tls-server-name %s --api-key test-key-7f3a >/dev/null 2>&1",
             g_cli, path_of("ca.pem"), TLS_NAME);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "'%s' operator namespace describe --namespace default --address 127.0.0.1:26083 "
             "--tls-ca-path %s --tls-server-name %s --api-key wrong >/dev/null 2>&1",
             g_cli, path_of("ca.pem"), TLS_NAME);
    assert_int_not_equal(system(cmd), 0);
}

static void mtls_with_a_certificate_from_another_ca_is_refused(void **s)
{
    (void)s;
    /* The server's own CA file trusts only the test CA: a self-signed client is refused. */
    tc_client_options o = {.address = "127.0.0.1:26082",
                           .tls_ca_file = path_of("ca.pem"),
                           .tls_cert_file = path_of("other-ca.pem"),
                           .tls_key_file = path_of("other-ca.key"),
                           .tls_server_name = TLS_NAME};
    tc_client *c = client_with(&o);
    tc_error err = {0};
    int rc = probe(c, &err);
    printf("# mTLS with an untrusted certificate: %s: %s\n", tc_code_name(rc), err.text);
    assert_int_not_equal(rc, TC_OK);
    assert_int_not_equal(rc, TC_ERR_TIMEOUT);
    tc_client_free(c);
}

static void expect_creation_error(const tc_client_options *o, int code, const char *needle)
{
    tc_client *c = NULL;
    tc_error err = {0};
    int rc = tc_client_new(o, &c, &err);
    printf("# %s: %s\n", tc_code_name(rc), err.text);
    assert_int_equal(rc, code);
    assert_null(c);
    assert_non_null(strstr(err.text, needle));
}

static void missing_or_unreadable_tls_files_fail_at_creation(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26082",
                           .tls_ca_file = path_of("ca.pem"),
                           .tls_cert_file = path_of("client.pem"),
                           .tls_key_file = path_of("no-such.key")};
    expect_creation_error(&o, TC_ERR_IO, "no-such.key");
    o.tls_key_file = g_dir; /* a directory: opens, but cannot be read */
    expect_creation_error(&o, TC_ERR_IO, "TLS client key");
    o.tls_key_file = path_of("ca.cnf"); /* readable, not PEM */
    expect_creation_error(&o, TC_ERR_INVALID, "not a PEM file");
    o.tls_key_file = NULL;
    expect_creation_error(&o, TC_ERR_INVALID, "only the certificate");
    o.tls_key_file = path_of("client.key");
    o.tls_ca_file = path_of("missing-ca.pem");
    expect_creation_error(&o, TC_ERR_IO, "missing-ca.pem");
}

static void api_key_reaches_the_server(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26083",
                           .tls_ca_file = path_of("ca.pem"),
                           .tls_server_name = TLS_NAME};
    tc_error err = {0};
    tc_client *c = client_with(&o);
    int rc = probe(c, &err);
    printf("# no API key: %s (grpc %d): %s\n", tc_code_name(rc), err.grpc_status, err.text);
    assert_int_equal(err.grpc_status, 16); /* UNAUTHENTICATED: nginx answered 401 */
    tc_client_free(c);

    o.api_key = "wrong-key";
    c = client_with(&o);
    probe(c, &err);
    assert_int_equal(err.grpc_status, 16);
    tc_client_free(c);

    o.api_key = "test-key-7f3a";
    c = client_with(&o);
    assert_int_equal(tc_client_wait_ready(c, 30000, &err), TC_OK);
    tc_client_free(c);
}

static void extra_headers_and_the_namespace_header_reach_the_server(void **s)
{
    (void)s;
    tc_error err = {0};
    tc_client_options o = {.address = "127.0.0.1:26084"};
    tc_client *c = client_with(&o);
    int rc = probe(c, &err);
    printf("# without x-saga-tenant: %s (grpc %d)\n", tc_code_name(rc), err.grpc_status);
    assert_int_equal(err.grpc_status, 7); /* PERMISSION_DENIED: nginx answered 403 */
    tc_client_free(c);

    tc_header h[] = {{"x-saga-tenant", "acme"}};
    o.headers = h;
    o.n_headers = 1;
    c = client_with(&o);
    assert_int_equal(tc_client_wait_ready(c, 30000, &err), TC_OK);
    tc_client_free(c);

    o.headers = NULL;
    o.n_headers = 0;
    o.header_list = "x-other=1, x-saga-tenant=acme";
    c = client_with(&o);
    assert_int_equal(tc_client_wait_ready(c, 30000, &err), TC_OK);
    tc_client_free(c);

    /* The listener also requires temporal-namespace: default; another namespace is refused. */
    o.ns = "not-default";
    c = client_with(&o);
    probe(c, &err);
    assert_int_equal(err.grpc_status, 7);
    tc_client_free(c);
}

static void invalid_headers_are_refused_at_creation(void **s)
{
    (void)s;
    tc_header upper[] = {{"X-Tenant", "a"}};
    tc_client_options o = {.headers = upper, .n_headers = 1};
    expect_creation_error(&o, TC_ERR_INVALID, "X-Tenant");
    tc_header reserved[] = {{"grpc-timeout", "1"}};
    o.headers = reserved;
    expect_creation_error(&o, TC_ERR_INVALID, "grpc-timeout");
    tc_header ctl[] = {{"x-a", "line\nbreak"}};
    o.headers = ctl;
    expect_creation_error(&o, TC_ERR_INVALID, "printable");
    o.headers = NULL;
    o.n_headers = 0;
    o.header_list = "novalue";
    expect_creation_error(&o, TC_ERR_INVALID, "key=value");
    o.header_list = NULL;
    o.proxy = "socks5://127.0.0.1:1080";
    expect_creation_error(&o, TC_ERR_INVALID, "http://");
}

static size_t file_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    char line[2048];
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, needle))
            n++;
    if (f)
        fclose(f);
    return n;
}

static void proxy_with_basic_auth_carries_the_calls(void **s)
{
    (void)s;
    char needle[160];
    snprintf(needle, sizeof needle, "CONNECT %s", g_upstream);
    size_t before = file_count(path_of("tinyproxy.log"), needle);
    tc_error err = {0};
    tc_client_options o = {
        .address = g_upstream, .proxy = "http://saga:wrong@127.0.0.1:26087", .max_attempts = 1};
    tc_client *c = client_with(&o);
    int rc = probe(c, &err);
    printf("# proxy, wrong password: %s: %s\n", tc_code_name(rc), err.text);
    assert_int_equal(rc, TC_ERR_UNAVAILABLE); /* the proxy refused the credentials: no tunnel */
    tc_client_free(c);

    o.proxy = "http://saga:s3cret@127.0.0.1:26087";
    c = client_with(&o);
    assert_int_equal(tc_client_wait_ready(c, 30000, &err), TC_OK);
    char wid[96], rid[64];
    tt_unique(wid, sizeof wid, "proxy-start");
    tc_start_options so = {.workflow_id = wid, .workflow_type = "NoWorkerHere", .task_queue = wid};
    assert_int_equal(tc_workflow_start(c, &so, rid, sizeof rid, NULL, &err), TC_OK);
    assert_int_equal(tc_workflow_terminate(c, wid, rid, NULL, &err), TC_OK);
    tc_client_free(c);
    /* tinyproxy logged the tunnel it opened to the frontend. */
    assert_true(file_count(path_of("tinyproxy.log"), needle) > before);
}

static void options_from_env_configure_tls_and_the_api_key(void **s)
{
    (void)s;
    setenv("TEMPORAL_ADDRESS", "127.0.0.1:26083", 1);
    setenv("TEMPORAL_TLS_CA", path_of("ca.pem"), 1);
    setenv("TEMPORAL_TLS_SERVER_NAME", TLS_NAME, 1);
    setenv("TEMPORAL_API_KEY", "test-key-7f3a", 1);
    setenv("TEMPORAL_GRPC_META", "x-saga-tenant=acme", 1);
    setenv("TEMPORAL_RPC_ATTEMPTS", "2", 1);
    tc_client_options o = {0};
    tc_error err = {0};
    assert_int_equal(tc_client_options_from_env(&o, &err), TC_OK);
    assert_string_equal(o.address, "127.0.0.1:26083");
    assert_string_equal(o.api_key, "test-key-7f3a");
    assert_string_equal(o.header_list, "x-saga-tenant=acme");
    assert_int_equal(o.max_attempts, 2);
    tc_client *c = client_with(&o);
    assert_int_equal(tc_client_wait_ready(c, 30000, &err), TC_OK);
    tc_client_free(c);

    setenv("TEMPORAL_TLS", "maybe", 1);
    assert_int_equal(tc_client_options_from_env(&o, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "TEMPORAL_TLS"));
    unsetenv("TEMPORAL_TLS");
    setenv("TEMPORAL_RPC_TIMEOUT_MS", "10s", 1);
    assert_int_equal(tc_client_options_from_env(&o, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "TEMPORAL_RPC_TIMEOUT_MS"));
    unsetenv("TEMPORAL_RPC_TIMEOUT_MS");
    setenv("TEMPORAL_ADDRESS", g_upstream, 1);
    unsetenv("TEMPORAL_TLS_CA");
    unsetenv("TEMPORAL_TLS_SERVER_NAME");
    unsetenv("TEMPORAL_API_KEY");
    unsetenv("TEMPORAL_GRPC_META");
    unsetenv("TEMPORAL_RPC_ATTEMPTS");
}

/* The frontend goes away and comes back: calls meanwhile fail with UNAVAILABLE after the short
 * retry budget (they do not wait for their deadline), and the same client works again soon
 * after the frontend is back (gRPC's reconnect backoff is capped). Durations are printed for
 * docs/temporal-bridge.md, not asserted. Runs last: it restarts nginx. */
static void outage_fails_fast_and_the_client_recovers(void **s)
{
    (void)s;
    tc_client_options o = {.address = "127.0.0.1:26086"};
    tc_client *c = client_with(&o);
    tc_error err = {0};
    assert_int_equal(tc_client_wait_ready(c, 30000, &err), TC_OK);
    fixture("nginx-down");
    int64_t down = now_us();
    int failures = 0;
    int64_t worst_ms = 0;
    /* Keep calling for ~5 s of outage so gRPC's reconnect backoff would have grown. */
    while (ms_since(down) < 5000) {
        tc_description d;
        int64_t t0 = now_us();
        int rc = tc_workflow_describe(c, "no-such-workflow", NULL, &d, &err);
        int64_t took = ms_since(t0);
        assert_int_equal(rc, TC_ERR_UNAVAILABLE);
        failures++;
        if (took > worst_ms)
            worst_ms = took;
    }
    printf("# outage: %d calls failed with UNAVAILABLE, slowest %lld ms (%d attempts each): %s\n",
           failures, (long long)worst_ms, 4, err.text);
    fixture("nginx-up");
    int64_t up = now_us();
    int rc;
    int tries = 0;
    do {
        tries++;
        tc_description d;
        rc = tc_workflow_describe(c, "no-such-workflow", NULL, &d, &err);
        if (rc == TC_ERR_UNAVAILABLE)
            tt_sleep_ms(20);
    } while (rc == TC_ERR_UNAVAILABLE && ms_since(up) < 60000);
    printf("# recovered %lld ms after the frontend came back (%d calls)\n", (long long)ms_since(up),
           tries);
    assert_int_equal(rc, TC_ERR_NOT_FOUND); /* the server answered */
    tc_client_free(c);
}

int main(int argc, char **argv)
{
    tt_args(argc, argv, 3, "tls_fixture.sh WORKDIR TEMPORAL_CLI");
    g_script = argv[1];
    g_dir = argv[2];
    g_cli = argv[3];
    mkdir(g_dir, 0700);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tls_with_the_right_ca_starts_a_workflow),
        cmocka_unit_test(tls_with_a_wrong_ca_is_refused),
        cmocka_unit_test(tls_without_the_server_name_is_refused),
        cmocka_unit_test(expired_server_certificate_is_refused),
        cmocka_unit_test(tls_with_system_roots_refuses_a_private_ca),
        cmocka_unit_test(mtls_with_a_client_certificate_connects),
        cmocka_unit_test(mtls_without_a_client_certificate_is_refused),
        cmocka_unit_test(mtls_with_a_certificate_from_another_ca_is_refused),
        cmocka_unit_test(mtls_with_an_expired_client_certificate_is_refused),
        cmocka_unit_test(the_official_cli_passes_the_same_front_ends),
        cmocka_unit_test(missing_or_unreadable_tls_files_fail_at_creation),
        cmocka_unit_test(api_key_reaches_the_server),
        cmocka_unit_test(extra_headers_and_the_namespace_header_reach_the_server),
        cmocka_unit_test(invalid_headers_are_refused_at_creation),
        cmocka_unit_test(proxy_with_basic_auth_carries_the_calls),
        cmocka_unit_test(options_from_env_configure_tls_and_the_api_key),
        cmocka_unit_test(outage_fails_fast_and_the_client_recovers),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

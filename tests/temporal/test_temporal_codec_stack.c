/* test_temporal_codec_stack.c - the data converter against the dev server: with AES-256-GCM
 * encryption over zlib compression on the client, a workflow's input, activity and local
 * activity values, memo, signal, query, result and failure are readable through our client but
 * `temporal workflow show` sees only encoded bytes; compression shrinks what is stored; a
 * worker with the wrong key fails the task naming the codec; a codec that refuses a result
 * fails the activity with the reason; typed values pass unchanged; an exported encoded
 * history replays after decoding. */
#include "tc_cli.h"
#include "test_codecs.h"

#include <stdatomic.h>

#include "temporal/api/enums/v1/event_type.pb-c.h"
#include "temporal_internal.h"

#define EV(x) TEMPORAL__API__ENUMS__V1__EVENT_TYPE__EVENT_TYPE_##x

static tc_test_key g_key = {"key-1", "0123456789abcdef0123456789abcdef"};
static tc_test_key g_wrong = {"key-1", "fedcba9876543210fedcba9876543210"};
static tc_payload_codec g_codecs[2] = {
    {"encryption", tc_test_encrypt, tc_test_decrypt, &g_key},
    {"compression", tc_test_compress, tc_test_decompress, NULL},
};
static tc_client *g_client; /* with the codecs */
static tc_client *g_plain;  /* without: sees what the server stores */
static tc_worker *g_worker;
static char g_queue[128];

/* ---- activities and workflows ---- */

static void act_echo(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, tc_activity_input(ctx, 0));
}

/* Completes with its input unless it holds "poison", which the picky codec refuses. */
static void act_poison(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, "\"poison result\"");
}

/* Secret: Echo(input) as an activity and as a local activity, upserts a memo, waits for
 * signal "go", completes with {"activity":..,"local":..,"signal":..}; query "state" answers
 * the signal. */
typedef struct secret_state {
    char signal[128];
} secret_state;

static int q_state(const void *state, const char *const *args, size_t n, void *user, char **out,
                   tc_error *err)
{
    (void)args, (void)n, (void)user, (void)err;
    const secret_state *st = state;
    *out = strdup(st->signal[0] ? st->signal : "null");
    return TC_OK;
}

static void wf_secret(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)user;
    secret_state *st = state;
    tc_activity_options o = {.start_to_close_ms = 10000};
    tc_local_activity_options lo = {.start_to_close_ms = 10000};
    tc_wf_result a, l, sig;
    if (tc_wf_activity(ctx, "Echo", tc_wf_input(ctx, 0), &o, &a) != TC_OK ||
        tc_wf_local_activity(ctx, "Echo", tc_wf_input(ctx, 0), &lo, &l) != TC_OK)
        return;
    tc_wf_upsert_memo(ctx, "{\"note\":\"top secret memo\"}");
    if (tc_wf_signal_recv(ctx, "go", &sig) != TC_OK)
        return;
    snprintf(st->signal, sizeof st->signal, "%s", sig.result_json);
    char out[1024];
    snprintf(out, sizeof out, "{\"activity\":%s,\"local\":%s,\"signal\":%s}", a.result_json,
             l.result_json, sig.result_json);
    tc_wf_complete(ctx, out);
}

/* Echo: returns its input after passing it through an activity (typed values too). */
static void wf_echo(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {.start_to_close_ms = 10000};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "Echo", tc_wf_input(ctx, 0), &o, &r) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
}

/* Fails with a secret message and a cause. */
static void wf_fail(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_failure cause = {.message = "top secret cause"};
    tc_failure f = {.type = "Secret", .message = "top secret failure", .cause = &cause};
    tc_wf_fail_failure(ctx, &f);
}

/* Poison: one attempt of Poison; completes with the failure type it saw. */
static void wf_poison(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_retry_policy rp = {.maximum_attempts = 1};
    tc_activity_options o = {.start_to_close_ms = 10000, .retry = &rp};
    tc_wf_result r;
    char out[600];
    if (tc_wf_activity(ctx, "Poison", NULL, &o, &r) == TC_OK)
        snprintf(out, sizeof out, "\"no failure\"");
    else
        snprintf(out, sizeof out, "\"%s\"", r.failure_type);
    tc_wf_complete(ctx, out);
}

/* A codec that refuses payloads holding "poison" (and passes everything else on). */
static int picky(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    (void)out, (void)user;
    if (in->data && memmem(in->data, in->len, "poison", 6)) {
        err->code = TC_ERR_INVALID;
        snprintf(err->text, sizeof err->text, "refusing a poisoned payload");
        return TC_ERR_INVALID;
    }
    return tc_payload_meta_set(out, "encoding", tc_payload_meta_get(in, "encoding")->value,
                               tc_payload_meta_get(in, "encoding")->len) ||
           tc_payload_set_data(out, in->data, in->len);
}

static tc_worker *start_worker(tc_client *c, const char *queue)
{
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_worker_options o = {.task_queue = queue, .max_concurrent_activities = 4};
    if (tc_worker_new(c, &o, &w, &err) ||
        tc_worker_register_workflow(w, "Secret", wf_secret, sizeof(secret_state), NULL, &err) ||
        tc_worker_register_query(w, "Secret", "state", q_state, NULL, &err) ||
        tc_worker_register_workflow(w, "Echo", wf_echo, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Fail", wf_fail, 0, NULL, &err) ||
        tc_worker_register_workflow(w, "Poison", wf_poison, 0, NULL, &err) ||
        tc_worker_register_activity(w, "Echo", act_echo, NULL, &err) ||
        tc_worker_register_activity(w, "Poison", act_poison, NULL, &err) ||
        tc_worker_start(w, &err))
        fail_msg("worker: %s", err.text);
    return w;
}

static tc_client *client_with(const tc_payload_codec *codecs, size_t n, bool failures)
{
    tc_client_options o = {.codecs = codecs, .n_codecs = n, .encode_failure_attributes = failures};
    tc_client *c = NULL;
    tc_error err = {0};
    if (tc_client_new(&o, &c, &err) || tc_client_wait_ready(c, 30000, &err))
        fail_msg("client: %s", err.text);
    return c;
}

static void start(tc_client *c, const char *queue, const char *type, const char *input, char *wid,
                  size_t cap, char rid[64])
{
    tc_error err = {0};
    tt_unique(wid, cap, type);
    tc_start_options so = {
        .workflow_id = wid, .workflow_type = type, .task_queue = queue, .input_json = input};
    TT_OK(tc_workflow_start(c, &so, rid, 64, NULL, &err));
}

/* A client with its own codecs and a worker on it, on a queue of its own. */
typedef struct side {
    tc_client *c;
    tc_worker *w;
    char queue[128];
} side;

static void side_start(side *sd, const tc_payload_codec *codecs, size_t n, bool failures,
                       const char *prefix)
{
    sd->c = client_with(codecs, n, failures);
    tt_unique(sd->queue, sizeof sd->queue, prefix);
    sd->w = start_worker(sd->c, sd->queue);
}

static void side_stop(side *sd)
{
    tc_worker_free(sd->w);
    tc_client_free(sd->c);
}

/* ---- tests ---- */

static void server_sees_only_encrypted_payloads(void **s)
{
    (void)s;
    char wid[128], rid[64];
    tc_error err = {0};
    start(g_client, g_queue, "Secret", "\"top secret order 42\"", wid, sizeof wid, rid);
    char *q = NULL;
    for (int i = 0; i < 200; i++) { /* once the workflow waits for its signal */
        tc_history *h = NULL;
        TT_OK(tc_workflow_history(g_client, wid, rid, &h, &err));
        bool memo = tt_find_event(h, EV(WORKFLOW_PROPERTIES_MODIFIED), 0) >= 0;
        tc_history_free(h);
        if (memo)
            break;
        tt_sleep_ms(50);
    }
    TT_OK(tc_workflow_signal(g_client, wid, rid, "go", "\"top secret signal\"", &err));
    tc_outcome out;
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &err));
    assert_string_equal(out.result_json, "{\"activity\":\"top secret order 42\",\"local\":\"top "
                                         "secret order 42\",\"signal\":\"top secret signal\"}");
    tc_outcome_clear(&out);
    TT_OK(tc_workflow_query(g_client, wid, rid, "state", NULL, &q, &err));
    assert_string_equal(q, "\"top secret signal\"");
    free(q);
    /* the official CLI, and our client without the codecs, read what the server stores */
    char *json = tt_cli(NULL, "workflow show --workflow-id '%s' --run-id '%s' -o json", wid, rid);
    assert_null(strstr(json, "top secret"));
    assert_null(strstr(json, "dG9wIHNlY3JldC"));               /* "top secret" in base64 */
    assert_non_null(strstr(json, "YmluYXJ5L2VuY3J5cHRlZA==")); /* "binary/encrypted" */
    free(json);
    TT_OK(tc_workflow_result(g_plain, wid, rid, 60000, &out, &err));
    assert_null(strstr(out.result_json, "top secret"));
    tc_outcome_clear(&out);
}

static void compression_shrinks_what_is_stored(void **s)
{
    (void)s;
    tc_payload_codec zlib[1] = {{"compression", tc_test_compress, tc_test_decompress, NULL}};
    side sd;
    char wid[128], rid[64], big[20010];
    tc_error err = {0};
    side_start(&sd, zlib, 1, false, "tc-zlib");
    big[0] = '"';
    memset(big + 1, 'a', 20000);
    big[20001] = '"';
    big[20002] = '\0';
    start(sd.c, sd.queue, "Echo", big, wid, sizeof wid, rid);
    tc_outcome out;
    TT_OK(tc_workflow_result(sd.c, wid, rid, 60000, &out, &err));
    assert_string_equal(out.result_json, big);
    tc_outcome_clear(&out);
    tc_history *h = NULL;
    TT_OK(tc_workflow_history(g_plain, wid, rid, &h, &err));
    const tc_pb_payload *in =
        h->events[0]->workflow_execution_started_event_attributes->input->payloads[0];
    assert_true(in->data.len < 1000); /* 20002 bytes of JSON */
    tc_history_free(h);
    side_stop(&sd);
}

static void wrong_key_fails_the_workflow_task_naming_the_codec(void **s)
{
    (void)s;
    tc_payload_codec wrong[2] = {g_codecs[0], g_codecs[1]};
    wrong[0].user = &g_wrong;
    side sd;
    char wid[128], rid[64];
    tc_error err = {0};
    side_start(&sd, wrong, 2, false, "tc-wrong-key");
    start(g_client, sd.queue, "Echo", "\"top secret\"", wid, sizeof wid, rid);
    const char *msg = NULL;
    tc_history *h = NULL;
    for (int i = 0; i < 200 && !msg; i++) {
        tc_history_free(h);
        TT_OK(tc_workflow_history(g_client, wid, rid, &h, &err));
        long f = tt_find_event(h, EV(WORKFLOW_TASK_FAILED), 0);
        if (f >= 0)
            msg = h->events[f]->workflow_task_failed_event_attributes->failure->message;
        else
            tt_sleep_ms(50);
    }
    assert_non_null(msg);
    assert_non_null(
        strstr(msg, "payload codec encryption: binary/encrypted: authentication failed"));
    tc_history_free(h);
    TT_OK(tc_workflow_terminate(g_client, wid, rid, "test done", &err));
    side_stop(&sd);
}

static void refused_result_fails_the_activity_with_the_reason(void **s)
{
    (void)s;
    tc_payload_codec codecs[1] = {{"picky", picky, NULL, NULL}};
    side sd;
    char wid[128], rid[64];
    tc_error err = {0};
    side_start(&sd, codecs, 1, false, "tc-picky");
    start(sd.c, sd.queue, "Poison", NULL, wid, sizeof wid, rid);
    tc_outcome out;
    TT_OK(tc_workflow_result(sd.c, wid, rid, 60000, &out, &err));
    assert_string_equal(out.result_json, "\"PayloadEncodeError\"");
    tc_outcome_clear(&out);
    tc_history *h = NULL;
    TT_OK(tc_workflow_history(sd.c, wid, rid, &h, &err));
    long f = tt_find_event(h, EV(ACTIVITY_TASK_FAILED), 0);
    assert_true(f >= 0);
    assert_non_null(strstr(h->events[f]->activity_task_failed_event_attributes->failure->message,
                           "payload codec picky could not encode a payload: refusing a poisoned"));
    tc_history_free(h);
    side_stop(&sd);
}

static void failure_attributes_are_encoded_on_the_server(void **s)
{
    (void)s;
    side sd;
    char wid[128], rid[64];
    tc_error err = {0};
    side_start(&sd, g_codecs, 2, true, "tc-failure");
    start(sd.c, sd.queue, "Fail", NULL, wid, sizeof wid, rid);
    tc_outcome out;
    assert_int_equal(tc_workflow_result(sd.c, wid, rid, 60000, &out, &err), TC_ERR_WORKFLOW_FAILED);
    assert_string_equal(out.failure_message, "top secret failure");
    assert_string_equal(out.failure_type, "Secret");
    tc_outcome_clear(&out);
    char *json = tt_cli(NULL, "workflow show --workflow-id '%s' --run-id '%s' -o json", wid, rid);
    assert_null(strstr(json, "top secret"));
    assert_non_null(strstr(json, "Encoded failure"));
    free(json);
    side_stop(&sd);
}

static void typed_values_pass_unchanged_through_codecs(void **s)
{
    (void)s;
    static const uint8_t bytes[] = {0xde, 0xad, 0xbe, 0xef};
    char *in = tc_value_format("binary/plain", bytes, 4, NULL);
    char wid[128], rid[64];
    tc_error err = {0};
    start(g_client, g_queue, "Echo", in, wid, sizeof wid, rid);
    tc_outcome out;
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &err));
    assert_string_equal(out.result_json, in);
    tc_outcome_clear(&out);
    free(in);
}

static void exported_encoded_history_replays_after_decoding(void **s)
{
    (void)s;
    char wid[128], rid[64], path[512];
    tc_error err = {0};
    start(g_client, g_queue, "Echo", "\"top secret replay\"", wid, sizeof wid, rid);
    tc_outcome out;
    TT_OK(tc_workflow_result(g_client, wid, rid, 60000, &out, &err));
    tc_outcome_clear(&out);
    char *json = tt_cli(NULL, "workflow show --workflow-id '%s' --run-id '%s' -o json", wid, rid);
    snprintf(path, sizeof path, "%s/codec-%d.json",
             getenv("TC_FIXTURE_DIR") ? getenv("TC_FIXTURE_DIR") : "/tmp", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    free(json);
    tc_history *h = NULL;
    TT_OK(tc_history_load_json(path, &h, &err));
    /* as stored, the input cannot be read */
    assert_int_equal(tc_replay_history(h, wf_echo, NULL, 0, NULL, &err), TC_ERR_PROTOCOL);
    assert_non_null(strstr(err.text, "binary/encrypted is not supported"));
    TT_OK(tc_history_decode(h, g_codecs, 2, &err));
    TT_OK(tc_replay_history(h, wf_echo, NULL, 0, NULL, &err));
    tc_history_free(h);
    remove(path);
}

static int setup(void **s)
{
    (void)s;
    g_client = client_with(g_codecs, 2, false);
    g_plain = client_with(NULL, 0, false);
    tt_unique(g_queue, sizeof g_queue, "tc-codec");
    g_worker = start_worker(g_client, g_queue);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    tc_worker_free(g_worker);
    tc_client_free(g_plain);
    tc_client_free(g_client);
    return 0;
}

int main(int argc, char **argv)
{
    g_tt_cli = argc > 1 ? argv[1] : "temporal";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(server_sees_only_encrypted_payloads),
        cmocka_unit_test(compression_shrinks_what_is_stored),
        cmocka_unit_test(wrong_key_fails_the_workflow_task_naming_the_codec),
        cmocka_unit_test(refused_result_fails_the_activity_with_the_reason),
        cmocka_unit_test(failure_attributes_are_encoded_on_the_server),
        cmocka_unit_test(typed_values_pass_unchanged_through_codecs),
        cmocka_unit_test(exported_encoded_history_replays_after_decoding),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

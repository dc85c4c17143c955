/* test_temporal_updates.c - workflow updates in the runtime against crafted histories and update
 * request messages, no server: acceptance and completion with their ProtocolMessage commands and
 * protocol messages, rejection (unknown name, validator), deduplication by update id, blocking
 * handlers, replay of accepted and admitted updates without validation, non-determinism, and
 * malformed messages. */
#include "cmd_families.h"
#include "hist_families.h"
#include "rt_util.h"

#include "temporal/api/update/v1/message.pb-c.h"

typedef Temporal__Api__Protocol__V1__Message proto_msg;

typedef struct upd_state {
    int calls;
    char last_arg[64];
    bool stopped;
} upd_state;

static bool g_register; /* the workflow sets the "echo" handler itself */
static bool g_validate; /* ... with the validator */
static bool g_block;    /* the handler sleeps 1 s before it ends */
static bool g_fail;     /* the handler fails its update */
static int g_validations;

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void h_echo(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)user;
    upd_state *st = state;
    st->calls++;
    copy(st->last_arg, sizeof st->last_arg, u->n_args ? u->args[0] : "");
    if (g_block && tc_wf_sleep(ctx, 1000) != TC_OK)
        return;
    if (g_fail)
        tc_wf_update_fail(ctx, "Nope", "handler said no", false);
    else
        tc_wf_update_complete(ctx, u->n_args ? u->args[0] : NULL);
}

static void h_other(tc_wf_ctx *ctx, void *state, const tc_update_info *u, void *user)
{
    (void)u;
    (void)user;
    ((upd_state *)state)->calls += 100;
    tc_wf_update_complete(ctx, "\"other\"");
}

static bool v_not_negative(const void *state, const tc_update_info *u, void *user,
                           tc_update_reject *rej)
{
    (void)state;
    (void)user;
    g_validations++;
    if (u->n_args && u->args[0][0] == '-') {
        snprintf(rej->type, sizeof rej->type, "Negative");
        snprintf(rej->message, sizeof rej->message, "negative: %s", u->args[0]);
        return false;
    }
    return true;
}

/* Sets the handler (when g_register) and waits for signal "stop". */
static void wf_upd(tc_wf_ctx *ctx, void *state, void *user)
{
    upd_state *st = state;
    if (g_register)
        tc_wf_set_update_handler(ctx, "echo", user ? h_other : h_echo,
                                 g_validate ? v_not_negative : NULL, NULL);
    if (tc_wf_signal_recv(ctx, "stop", NULL) != TC_OK)
        return;
    st->stopped = true;
    tc_wf_complete(ctx, NULL);
}

static void reset(void)
{
    g_register = true;
    g_validate = g_block = g_fail = false;
    g_validations = 0;
}

/* A run fed with h up to started, the messages delivered in its live activation. */
static tc_run *utask(tc_history *h, int64_t started, proto_msg **msgs, size_t n,
                     const tc_handler *reg, size_t n_reg, void *user, int *rc_out, tc_error *err)
{
    tc_run_setup su = {.fn = wf_upd,
                       .user = user,
                       .state_size = sizeof(upd_state),
                       .updates = reg,
                       .n_updates = n_reg};
    tc_run *r = tc_run_new("unit-wf", "unit-run", &su);
    assert_non_null(r);
    int rc = tc_update_incoming(r, msgs, n, err);
    if (rc == TC_OK)
        rc = tc_run_feed(r, h->events, h->n, started, err);
    if (rc_out)
        *rc_out = rc;
    else if (rc != TC_OK)
        fail_msg("feed: %s", err->text);
    return r;
}

static size_t n_out(const tc_run *r)
{
    uint8_t *const *p;
    const size_t *l;
    return tc_update_outgoing(r, &p, &l);
}

/* The i-th outgoing message (caller frees). */
static proto_msg *out_msg(const tc_run *r, size_t i)
{
    uint8_t *const *p;
    const size_t *l;
    size_t n = tc_update_outgoing(r, &p, &l);
    if (i >= n)
        fail_msg("only %zu messages, wanted #%zu", n, i);
    proto_msg *m = temporal__api__protocol__v1__message__unpack(NULL, l[i], p[i]);
    assert_non_null(m);
    return m;
}

static void expect_type(const proto_msg *m, const char *type)
{
    char want[128];
    snprintf(want, sizeof want, "type.googleapis.com/temporal.api.update.v1.%s", type);
    assert_string_equal(m->body->type_url, want);
}

/* 1 started, 2 scheduled, 3 started: the first task */
static hb *first_task(int64_t *started)
{
    hb *b = hb_new();
    hb_started(b, "U", NULL);
    *started = hb_wft_start(b);
    return b;
}

static void accepted_and_completed_in_one_task(void **s)
{
    (void)s;
    reset();
    int64_t started;
    hb *b = first_task(&started);
    tc_history *h = hb_history(b);
    proto_msg *m = hbf_update_request("u1", "echo", "\"a\"", 2);
    tc_error err = {0};
    tc_run *r = utask(h, started, &m, 1, NULL, 0, NULL, NULL, &err);
    assert_int_equal(((upd_state *)r->state)->calls, 1);
    rt_expect(r, "ProtocolMessage:u1:accept,ProtocolMessage:u1:complete");
    Temporal__Api__Command__V1__Command *c = rt_unpack(rt_cmd(r, 0));
    assert_int_equal(c->command_type, TC_CT(PROTOCOL_MESSAGE));
    assert_string_equal(c->protocol_message_command_attributes->message_id, "u1/accept");
    temporal__api__command__v1__command__free_unpacked(c, NULL);
    assert_int_equal(n_out(r), 2);
    proto_msg *acc = out_msg(r, 0);
    assert_string_equal(acc->id, "u1/accept");
    assert_string_equal(acc->protocol_instance_id, "u1");
    expect_type(acc, "Acceptance");
    Temporal__Api__Update__V1__Acceptance *a = temporal__api__update__v1__acceptance__unpack(
        NULL, acc->body->value.len, acc->body->value.data);
    assert_string_equal(a->accepted_request_message_id, "u1/request");
    assert_int_equal(a->accepted_request_sequencing_event_id, 2);
    assert_string_equal(a->accepted_request->meta->update_id, "u1");
    assert_string_equal(a->accepted_request->input->name, "echo");
    temporal__api__update__v1__acceptance__free_unpacked(a, NULL);
    proto_msg *done = out_msg(r, 1);
    assert_string_equal(done->id, "u1/complete");
    expect_type(done, "Response");
    Temporal__Api__Update__V1__Response *resp = temporal__api__update__v1__response__unpack(
        NULL, done->body->value.len, done->body->value.data);
    assert_string_equal(resp->meta->update_id, "u1");
    assert_int_equal(resp->outcome->value_case, TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_SUCCESS);
    assert_memory_equal(resp->outcome->success->payloads[0]->data.data, "\"a\"", 3);
    temporal__api__update__v1__response__free_unpacked(resp, NULL);
    temporal__api__protocol__v1__message__free_unpacked(acc, NULL);
    temporal__api__protocol__v1__message__free_unpacked(done, NULL);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* The rejection of one request: its failure (caller frees), after checking the message. */
static Temporal__Api__Update__V1__Rejection *only_rejection(const tc_run *r, const char *id)
{
    assert_int_equal(rt_ncmds(r), 0);
    assert_int_equal(n_out(r), 1);
    proto_msg *m = out_msg(r, 0);
    char want[64];
    snprintf(want, sizeof want, "%s/reject", id);
    assert_string_equal(m->id, want);
    expect_type(m, "Rejection");
    Temporal__Api__Update__V1__Rejection *rej =
        temporal__api__update__v1__rejection__unpack(NULL, m->body->value.len, m->body->value.data);
    assert_non_null(rej);
    snprintf(want, sizeof want, "%s/request", id);
    assert_string_equal(rej->rejected_request_message_id, want);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    return rej;
}

static void unknown_update_is_rejected_naming_the_known_ones(void **s)
{
    (void)s;
    reset();
    int64_t started;
    hb *b = first_task(&started);
    tc_history *h = hb_history(b);
    proto_msg *m = hbf_update_request("u2", "nope", NULL, 2);
    tc_error err = {0};
    tc_run *r = utask(h, started, &m, 1, NULL, 0, NULL, NULL, &err);
    Temporal__Api__Update__V1__Rejection *rej = only_rejection(r, "u2");
    assert_string_equal(rej->failure->message, "unknown update nope. KnownUpdates=[echo]");
    assert_string_equal(rej->rejected_request->input->name, "nope");
    temporal__api__update__v1__rejection__free_unpacked(rej, NULL);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

static void validator_rejects_without_running_the_handler(void **s)
{
    (void)s;
    reset();
    g_validate = true;
    int64_t started;
    hb *b = first_task(&started);
    tc_history *h = hb_history(b);
    proto_msg *m = hbf_update_request("u3", "echo", "-1", 2);
    tc_error err = {0};
    tc_run *r = utask(h, started, &m, 1, NULL, 0, NULL, NULL, &err);
    assert_int_equal(g_validations, 1);
    assert_int_equal(((upd_state *)r->state)->calls, 0);
    Temporal__Api__Update__V1__Rejection *rej = only_rejection(r, "u3");
    assert_string_equal(rej->failure->message, "negative: -1");
    assert_string_equal(rej->failure->application_failure_info->type, "Negative");
    temporal__api__update__v1__rejection__free_unpacked(rej, NULL);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* 1 started, 2-4 task 1 (delivered u1), 5 accepted, 6 completed, 7 signal stop, 8-9 task */
static hb *accepted_history(const char *arg, int64_t *started)
{
    hb *b = hb_new();
    hb_started(b, "U", NULL);
    hb_wft(b);
    int64_t acc = hbf_update_accepted(b, "u1", "echo", arg, true);
    hbf_update_completed(b, "u1", acc, arg);
    hb_signal(b, "stop", NULL);
    *started = hb_wft_start(b);
    return b;
}

static void replay_runs_accepted_updates_without_validation(void **s)
{
    (void)s;
    reset();
    g_validate = true;
    int64_t started;
    hb *b = accepted_history("-5", &started); /* the validator would reject it now */
    tc_history *h = hb_history(b);
    tc_error err = {0};
    tc_run *r = utask(h, started, NULL, 0, NULL, 0, NULL, NULL, &err);
    upd_state *st = r->state;
    assert_int_equal(g_validations, 0);
    assert_int_equal(st->calls, 1);
    assert_string_equal(st->last_arg, "-5");
    assert_true(st->stopped);
    rt_expect(r, "CompleteWorkflowExecution::");
    assert_int_equal(n_out(r), 0);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

static void replay_without_the_handler_is_nondeterminism(void **s)
{
    (void)s;
    reset();
    g_register = false;
    int64_t started;
    hb *b = accepted_history("1", &started);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    int rc;
    tc_run *r = utask(h, started, NULL, 0, NULL, 0, NULL, &rc, &err);
    assert_int_equal(rc, TC_ERR_NONDETERMINISM);
    assert_non_null(strstr(err.text, "ProtocolMessage(id=u1, type=accept)"));
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

static void same_update_id_runs_its_handler_once(void **s)
{
    (void)s;
    reset();
    int64_t started;
    hb *b = first_task(&started);
    tc_history *h1 = hb_history(b);
    proto_msg *m[2] = {hbf_update_request("dup", "echo", "1", 2),
                       hbf_update_request("dup", "echo", "1", 2)};
    tc_error err = {0};
    tc_run *r = utask(h1, started, m, 2, NULL, 0, NULL, NULL, &err);
    assert_int_equal(((upd_state *)r->state)->calls, 1);
    rt_expect(r, "ProtocolMessage:dup:accept,ProtocolMessage:dup:complete");
    /* delivered again in a later task: already accepted in this run, nothing runs */
    hb_wft_complete(b, started);
    int64_t acc = hbf_update_accepted(b, "dup", "echo", "1", true);
    hbf_update_completed(b, "dup", acc, "1");
    int64_t t2 = hb_wft_start(b);
    tc_history *h2 = hb_history(b);
    assert_int_equal(tc_update_incoming(r, &m[0], 1, &err), TC_OK);
    assert_int_equal(rt_more(r, h2, t2, &err), TC_OK);
    assert_int_equal(((upd_state *)r->state)->calls, 1);
    assert_int_equal(rt_ncmds(r), 0);
    assert_int_equal(n_out(r), 0);
    temporal__api__protocol__v1__message__free_unpacked(m[0], NULL);
    temporal__api__protocol__v1__message__free_unpacked(m[1], NULL);
    tc_run_free(r);
    tc_history_free(h1);
    tc_history_free(h2);
    hb_free(b);
}

static void blocking_handler_completes_in_a_later_task(void **s)
{
    (void)s;
    reset();
    g_block = true;
    int64_t started;
    hb *b = first_task(&started);
    tc_history *h1 = hb_history(b);
    proto_msg *m = hbf_update_request("slow", "echo", "7", 2);
    tc_error err = {0};
    tc_run *r = utask(h1, started, &m, 1, NULL, 0, NULL, NULL, &err);
    rt_expect(r, "ProtocolMessage:slow:accept,StartTimer:6:"); /* 5 will be the acceptance */
    assert_int_equal(n_out(r), 1);
    hb_wft_complete(b, started);
    hbf_update_accepted(b, "slow", "echo", "7", true);
    int64_t tm = hb_timer_started(b, "6", 1000);
    hb_timer_fired(b, "6", tm);
    int64_t t2 = hb_wft_start(b);
    tc_history *h2 = hb_history(b);
    assert_int_equal(rt_more(r, h2, t2, &err), TC_OK);
    rt_expect(r, "ProtocolMessage:slow:complete");
    proto_msg *done = out_msg(r, 0);
    expect_type(done, "Response");
    temporal__api__protocol__v1__message__free_unpacked(done, NULL);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    tc_run_free(r);
    tc_history_free(h1);
    tc_history_free(h2);
    hb_free(b);
}

static void failed_update_sends_its_failure(void **s)
{
    (void)s;
    reset();
    g_fail = true;
    int64_t started;
    hb *b = first_task(&started);
    tc_history *h = hb_history(b);
    proto_msg *m = hbf_update_request("f1", "echo", NULL, 2);
    tc_error err = {0};
    tc_run *r = utask(h, started, &m, 1, NULL, 0, NULL, NULL, &err);
    rt_expect(r, "ProtocolMessage:f1:accept,ProtocolMessage:f1:complete");
    proto_msg *done = out_msg(r, 1);
    Temporal__Api__Update__V1__Response *resp = temporal__api__update__v1__response__unpack(
        NULL, done->body->value.len, done->body->value.data);
    assert_int_equal(resp->outcome->value_case, TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_FAILURE);
    assert_string_equal(resp->outcome->failure->message, "handler said no");
    assert_string_equal(resp->outcome->failure->application_failure_info->type, "Nope");
    temporal__api__update__v1__response__free_unpacked(resp, NULL);
    temporal__api__protocol__v1__message__free_unpacked(done, NULL);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

static void admitted_update_is_delivered_after_the_events(void **s)
{
    (void)s;
    reset();
    g_validate = true;
    hb *b = hb_new();
    hb_started(b, "U", NULL);
    hbf_update_admitted(b, "adm", "echo", "\"z\"");
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    tc_run *r = utask(h, started, NULL, 0, NULL, 0, NULL, NULL, &err);
    assert_int_equal(g_validations, 1); /* new: validated */
    assert_string_equal(((upd_state *)r->state)->last_arg, "\"z\"");
    rt_expect(r, "ProtocolMessage:adm:accept,ProtocolMessage:adm:complete");
    proto_msg *acc = out_msg(r, 0);
    Temporal__Api__Update__V1__Acceptance *a = temporal__api__update__v1__acceptance__unpack(
        NULL, acc->body->value.len, acc->body->value.data);
    assert_int_equal(a->accepted_request_sequencing_event_id, 2);
    temporal__api__update__v1__acceptance__free_unpacked(a, NULL);
    temporal__api__protocol__v1__message__free_unpacked(acc, NULL);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
    /* replayed: the accepted event without a request, the admitted one carries it */
    b = hb_new();
    hb_started(b, "U", NULL);
    hbf_update_admitted(b, "adm", "echo", "\"z\"");
    hb_wft(b);
    int64_t acc_id = hbf_update_accepted(b, "adm", "echo", NULL, false);
    hbf_update_completed(b, "adm", acc_id, "\"z\"");
    hb_signal(b, "stop", NULL);
    started = hb_wft_start(b);
    h = hb_history(b);
    g_validations = 0;
    r = utask(h, started, NULL, 0, NULL, 0, NULL, NULL, &err);
    assert_int_equal(g_validations, 0);
    assert_int_equal(((upd_state *)r->state)->calls, 1);
    rt_expect(r, "CompleteWorkflowExecution::");
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* An update accepted while replaying a task whose completion history did not record (the
 * official SDKs match commands across tasks): its commands go out with the live task, and so do
 * the messages they point at. */
static void unrecorded_acceptance_is_sent_with_its_message(void **s)
{
    (void)s;
    reset();
    hb *b = hb_new();
    hb_started(b, "U", NULL);
    hbf_update_admitted(b, "late", "echo", "\"l\"");
    hb_wft(b); /* 3-5: the code accepted and completed it; history recorded neither */
    int64_t started = hb_wft_start(b);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    tc_run *r = utask(h, started, NULL, 0, NULL, 0, NULL, NULL, &err);
    rt_expect(r, "ProtocolMessage:late:accept,ProtocolMessage:late:complete");
    assert_int_equal(n_out(r), 2);
    proto_msg *acc = out_msg(r, 0), *done = out_msg(r, 1);
    assert_string_equal(acc->id, "late/accept");
    assert_string_equal(done->id, "late/complete");
    temporal__api__protocol__v1__message__free_unpacked(acc, NULL);
    temporal__api__protocol__v1__message__free_unpacked(done, NULL);
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

static void handlers_registered_for_the_type_and_overridden(void **s)
{
    (void)s;
    reset();
    g_register = false;
    tc_handler reg[1] = {{.name = (char *)"echo", .ufn = h_echo}};
    int64_t started;
    hb *b = first_task(&started);
    tc_history *h = hb_history(b);
    proto_msg *m = hbf_update_request("t1", "echo", "3", 2);
    tc_error err = {0};
    tc_run *r = utask(h, started, &m, 1, reg, 1, NULL, NULL, &err);
    assert_int_equal(((upd_state *)r->state)->calls, 1);
    rt_expect(r, "ProtocolMessage:t1:accept,ProtocolMessage:t1:complete");
    tc_run_free(r);
    /* a handler the workflow sets wins */
    g_register = true;
    r = utask(h, started, &m, 1, reg, 1, (void *)1, NULL, &err);
    assert_int_equal(((upd_state *)r->state)->calls, 100);
    tc_run_free(r);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    tc_history_free(h);
    hb_free(b);
}

static void malformed_messages_are_refused_or_rejected(void **s)
{
    (void)s;
    reset();
    int64_t started;
    hb *b = first_task(&started);
    tc_history *h = hb_history(b);
    tc_error err = {0};
    /* not an update request at all: the task fails naming the message */
    proto_msg *m = hbf_update_request("x1", "echo", NULL, 2);
    free(m->body->type_url);
    m->body->type_url = strdup("type.googleapis.com/temporal.api.query.v1.WorkflowQuery");
    int rc;
    tc_run *r = utask(h, started, &m, 1, NULL, 0, NULL, &rc, &err);
    assert_int_equal(rc, TC_ERR_PROTOCOL);
    assert_non_null(strstr(err.text, "protocol message x1/request"));
    assert_non_null(strstr(err.text, "temporal.api.query.v1.WorkflowQuery"));
    tc_run_free(r);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    /* a body that does not decode: rejected */
    m = hbf_update_request("x2", "echo", NULL, 2);
    memset(m->body->value.data, 0xff, m->body->value.len);
    r = utask(h, started, &m, 1, NULL, 0, NULL, NULL, &err);
    Temporal__Api__Update__V1__Rejection *rej = only_rejection(r, "x2");
    assert_non_null(strstr(rej->failure->message, "malformed update request"));
    temporal__api__update__v1__rejection__free_unpacked(rej, NULL);
    tc_run_free(r);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    /* an argument that is not JSON: rejected, the handler never runs */
    Temporal__Api__Update__V1__Request rq = TEMPORAL__API__UPDATE__V1__REQUEST__INIT;
    m = hbf_update_request("x3", "echo", "1", 2);
    Temporal__Api__Update__V1__Request *orig =
        temporal__api__update__v1__request__unpack(NULL, m->body->value.len, m->body->value.data);
    rq = *orig;
    Temporal__Api__Common__V1__Payload *p = rq.input->args->payloads[0];
    p->metadata[0]->value.data[0] = 'x'; /* "xson/plain" */
    free(m->body->value.data);
    m->body->value.len = temporal__api__update__v1__request__get_packed_size(&rq);
    m->body->value.data = malloc(m->body->value.len);
    temporal__api__update__v1__request__pack(&rq, m->body->value.data);
    temporal__api__update__v1__request__free_unpacked(orig, NULL);
    r = utask(h, started, &m, 1, NULL, 0, NULL, NULL, &err);
    rej = only_rejection(r, "x3");
    assert_non_null(strstr(rej->failure->message, "unable to decode the input for update echo"));
    assert_int_equal(((upd_state *)r->state)->calls, 0);
    temporal__api__update__v1__rejection__free_unpacked(rej, NULL);
    tc_run_free(r);
    temporal__api__protocol__v1__message__free_unpacked(m, NULL);
    tc_history_free(h);
    hb_free(b);
}

/* An accepted event whose request cannot be read is a broken history, named as such. */
static void unreadable_recorded_request_fails_naming_the_event(void **s)
{
    (void)s;
    reset();
    int64_t started;
    hb *b = accepted_history("1", &started);
    tc_history *h = hb_history(b);
    /* event 5: its argument's encoding becomes "xson/plain" */
    Temporal__Api__History__V1__WorkflowExecutionUpdateAcceptedEventAttributes *a =
        h->events[4]->workflow_execution_update_accepted_event_attributes;
    a->accepted_request->input->args->payloads[0]->metadata[0]->value.data[0] = 'x';
    tc_error err = {0};
    int rc;
    tc_run *r = utask(h, started, NULL, 0, NULL, 0, NULL, &rc, &err);
    assert_int_equal(rc, TC_ERR_PROTOCOL);
    assert_non_null(
        strstr(err.text, "history event 5 (WorkflowExecutionUpdateAccepted) update u1"));
    assert_non_null(strstr(err.text, "xson/plain"));
    tc_run_free(r);
    tc_history_free(h);
    hb_free(b);
}

/* Registration and the client calls refuse bad arguments before any call (no server here). */
static void bad_arguments_are_refused_before_any_call(void **s)
{
    (void)s;
    tc_client *c = NULL;
    tc_worker *w = NULL;
    tc_error err = {0};
    tc_client_options co = {.address = "127.0.0.1:1", .max_attempts = 1};
    assert_int_equal(tc_client_new(&co, &c, &err), TC_OK);
    tc_worker_options wo = {.task_queue = "q"};
    assert_int_equal(tc_worker_new(c, &wo, &w, &err), TC_OK);
    assert_int_equal(tc_worker_register_update(w, "U", "echo", h_echo, NULL, NULL, &err),
                     TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "workflow U is not registered"));
    assert_int_equal(tc_worker_register_workflow(w, "U", wf_upd, sizeof(upd_state), NULL, &err),
                     TC_OK);
    assert_int_equal(tc_worker_register_update(w, "U", "echo", NULL, NULL, NULL, &err),
                     TC_ERR_INVALID);
    assert_int_equal(tc_worker_register_update(w, "U", "echo", h_echo, NULL, NULL, &err), TC_OK);
    assert_int_equal(tc_worker_register_update(w, "U", "echo", h_other, NULL, NULL, &err),
                     TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "registered twice"));
    /* replay on the registration: a history of a type the worker does not run */
    hb *b = hb_new();
    hb_started(b, "Other", NULL);
    tc_history *h = hb_history(b);
    assert_int_equal(tc_worker_replay_history(w, h, NULL, 0, &err), TC_ERR_INVALID);
    assert_non_null(strstr(err.text, "workflow type Other is not registered"));
    tc_history_free(h);
    hb_free(b);
    tc_update_outcome out;
    tc_update_request rq = {.workflow_id = "wf", .update_name = ""};
    assert_int_equal(tc_workflow_update(c, &rq, &out, &err), TC_ERR_INVALID);
    char long_id[200];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    rq.update_name = "echo";
    rq.update_id = long_id;
    assert_int_equal(tc_workflow_update(c, &rq, &out, &err), TC_ERR_INVALID);
    assert_int_equal(tc_workflow_update_result(c, "wf", NULL, "", 1000, &out, &err),
                     TC_ERR_INVALID);
    tc_worker_free(w);
    tc_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_and_completed_in_one_task),
        cmocka_unit_test(unknown_update_is_rejected_naming_the_known_ones),
        cmocka_unit_test(validator_rejects_without_running_the_handler),
        cmocka_unit_test(replay_runs_accepted_updates_without_validation),
        cmocka_unit_test(replay_without_the_handler_is_nondeterminism),
        cmocka_unit_test(same_update_id_runs_its_handler_once),
        cmocka_unit_test(blocking_handler_completes_in_a_later_task),
        cmocka_unit_test(failed_update_sends_its_failure),
        cmocka_unit_test(admitted_update_is_delivered_after_the_events),
        cmocka_unit_test(unrecorded_acceptance_is_sent_with_its_message),
        cmocka_unit_test(handlers_registered_for_the_type_and_overridden),
        cmocka_unit_test(malformed_messages_are_refused_or_rejected),
        cmocka_unit_test(unreadable_recorded_request_fails_naming_the_event),
        cmocka_unit_test(bad_arguments_are_refused_before_any_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* cmd_update.c - workflow updates: requests (task messages, WorkflowExecutionUpdateAdmitted
 * events, and on replay the requests WorkflowExecutionUpdateAccepted events carry) delivered
 * after an activation's events, deduplicated by update id, validated when new, accepted and run
 * in a coroutine of their own; their ProtocolMessage commands (accept, complete) matched against
 * history; the protocol messages of the answer. Must not know about other command kinds. */
#include "cmd_families.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/api/update/v1/message.pb-c.h"

typedef Temporal__Api__Update__V1__Request upd_request;
typedef Temporal__Api__Protocol__V1__Message proto_msg;

#define TYPE_PREFIX "type.googleapis.com/"
#define T_REQUEST   "temporal.api.update.v1.Request"
#define T_ACCEPT    "temporal.api.update.v1.Acceptance"
#define T_REJECT    "temporal.api.update.v1.Rejection"
#define T_RESPONSE  "temporal.api.update.v1.Response"

enum {
    U_QUEUED = 0, /* not delivered yet */
    U_RUNNING,    /* its coroutine runs (or will): handler lookup, validation */
    U_WAITING,    /* no handler yet: rejected at the end of the activation if none comes */
    U_ACCEPTED,
    U_DONE,
    U_REJECTED,
};

typedef struct tc_update {
    char *id, *name, *msg_id;
    int64_t seq_event_id;
    char **args;
    size_t n_args;
    uint8_t *request_pb; /* the Request, echoed in the acceptance / rejection (may be NULL) */
    size_t request_len;
    char *bad; /* a malformed request: why it is rejected */
    int state; /* U_* */
    bool validate;
    tc_run *run;
    tc_wf_ctx *co;
    tc_update_fn fn;
    tc_update_validator_fn vfn;
    void *user;
    tc_update_info info;
} tc_update;

typedef struct upd_list {
    tc_update **v;
    size_t n, cap;
} upd_list;

/* Packed temporal.api.protocol.v1.Message texts. */
typedef struct msg_list {
    uint8_t **data;
    size_t *len;
    size_t n, cap;
} msg_list;

/* The message a ProtocolMessage command points at, kept on the command (cmd->ext): a command
 * history does not record in the task that made it is sent again later, with its message. */
typedef struct packed_msg {
    uint8_t *data;
    size_t len;
} packed_msg;

static bool msg_push(msg_list *l, uint8_t *data, size_t len)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        uint8_t **d = realloc(l->data, nc * sizeof *d);
        if (!d)
            return false;
        l->data = d;
        size_t *n = realloc(l->len, nc * sizeof *n);
        if (!n)
            return false;
        l->len = n;
        l->cap = nc;
    }
    l->data[l->n] = data;
    l->len[l->n++] = len;
    return true;
}

struct tc_updates {
    upd_list all;      /* delivered, in delivery order (rejected ones stay, marked) */
    upd_list admitted; /* from admitted events, for the next activation */
    upd_list incoming; /* from the task's messages, for its live activation */
    tc_handler *handlers;
    size_t n_handlers;
    msg_list rejections; /* of the current activation, when it is live */
    msg_list send;       /* tc_update_outgoing's answer (borrowed from commands / rejections) */
};

static bool upd_push(upd_list *l, tc_update *u)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        tc_update **p = realloc(l->v, nc * sizeof *p);
        if (!p)
            return false;
        l->v = p;
        l->cap = nc;
    }
    l->v[l->n++] = u;
    return true;
}

static void upd_free(tc_update *u)
{
    if (!u)
        return;
    free(u->id);
    free(u->name);
    free(u->msg_id);
    tc_strv_free(u->args, u->n_args);
    free(u->request_pb);
    free(u->bad);
    free(u);
}

static void clear_rejections(struct tc_updates *s)
{
    for (size_t i = 0; i < s->rejections.n; i++)
        free(s->rejections.data[i]);
    s->rejections.n = 0;
}

static bool is_protocol_cmd(const tc_cmd *c);

/* The run's update state (tc_run_free, through r->free_updates). */
static void updates_free(tc_run *r)
{
    struct tc_updates *s = r->updates;
    if (!s)
        return;
    upd_list *lists[3] = {&s->all, &s->admitted, &s->incoming};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < lists[k]->n; i++)
            upd_free(lists[k]->v[i]);
        free(lists[k]->v);
    }
    for (size_t i = 0; i < s->n_handlers; i++)
        free(s->handlers[i].name);
    free(s->handlers);
    clear_rejections(s);
    free(s->rejections.data);
    free(s->rejections.len);
    free(s->send.data);
    free(s->send.len);
    for (size_t i = 0; i < r->n_all; i++) /* the messages kept on the commands */
        if (is_protocol_cmd(r->all[i]) && r->all[i]->ext) {
            packed_msg *pm = r->all[i]->ext;
            free(pm->data);
            free(pm);
            r->all[i]->ext = NULL;
        }
    free(s);
    r->updates = NULL;
}

static struct tc_updates *state_of(tc_run *r)
{
    if (!r->updates) {
        r->updates = calloc(1, sizeof *r->updates);
        r->free_updates = updates_free;
    }
    return r->updates;
}

/* ---- requests ---- */

/* An update from a Request (borrowed; NULL: only id / reason known). The args are decoded
 * now: a request whose input cannot be read is rejected with the reason. */
static tc_update *from_request(const char *id, const char *msg_id, int64_t seq,
                               const upd_request *rq, const char *bad)
{
    tc_update *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->seq_event_id = seq;
    u->id = tc_strdup(id);
    u->msg_id = tc_strdup(msg_id);
    u->name = tc_strdup(rq && rq->input ? rq->input->name : "");
    if (!u->id || !u->msg_id || !u->name)
        goto oom;
    if (bad && !(u->bad = tc_strdup(bad)))
        goto oom;
    if (rq) {
        u->request_len = temporal__api__update__v1__request__get_packed_size(rq);
        if (!(u->request_pb = malloc(u->request_len ? u->request_len : 1)))
            goto oom;
        temporal__api__update__v1__request__pack(rq, u->request_pb);
    }
    if (!u->bad && !*u->name && !(u->bad = tc_strdup("update request without a name")))
        goto oom;
    if (!u->bad && rq && rq->input) {
        tc_error e = {0};
        char what[256];
        snprintf(what, sizeof what, "update %s (%s) arguments", u->name, u->id);
        int rc = tc_payloads_decode_all(rq->input->args, &u->args, &u->n_args, what, &e);
        if (rc == TC_ERR_NOMEM)
            goto oom;
        if (rc != TC_OK) {
            char msg[768];
            snprintf(msg, sizeof msg, "unable to decode the input for update %s: %s", u->name,
                     e.text);
            if (!(u->bad = tc_strdup(msg)))
                goto oom;
        }
    }
    u->info.id = u->id;
    u->info.name = u->name;
    u->info.n_args = u->n_args;
    u->info.args = (const char *const *)u->args;
    return u;
oom:
    upd_free(u);
    return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int tc_update_incoming(tc_run *r, proto_msg *const *msgs, size_t n, tc_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const proto_msg *m = msgs[i];
        const char *type = m->body ? m->body->type_url : "(no body)";
        if (!m->body || !ends_with(type, "/" T_REQUEST))
            return tc_seterr(err, TC_ERR_PROTOCOL,
                             "protocol message %s (instance %s) carries %s: this worker handles "
                             "only update requests (" T_REQUEST ")",
                             m->id, m->protocol_instance_id, type);
        upd_request *rq = temporal__api__update__v1__request__unpack(NULL, m->body->value.len,
                                                                     m->body->value.data);
        const char *id =
            rq && rq->meta && *rq->meta->update_id ? rq->meta->update_id : m->protocol_instance_id;
        int64_t seq =
            m->sequencing_id_case == TEMPORAL__API__PROTOCOL__V1__MESSAGE__SEQUENCING_ID_EVENT_ID
                ? m->event_id
                : 0;
        tc_update *u = *id ? from_request(id, m->id, seq, rq,
                                          rq ? NULL
                                             : "malformed update request: its body does "
                                               "not decode as " T_REQUEST)
                           : NULL;
        bool no_id = !*id; /* id may point into rq */
        if (rq)
            temporal__api__update__v1__request__free_unpacked(rq, NULL);
        if (no_id)
            return tc_seterr(err, TC_ERR_PROTOCOL,
                             "protocol message %s carries an update request without an id", m->id);
        if (!u || !state_of(r) || !upd_push(&r->updates->incoming, u)) {
            upd_free(u);
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        }
    }
    return TC_OK;
}

int tc_update_admitted(tc_run *r, const tc_pb_event *ev, tc_error *err)
{
    const upd_request *rq = ev->workflow_execution_update_admitted_event_attributes->request;
    const char *id = rq && rq->meta ? rq->meta->update_id : "";
    char msg_id[300];
    if (!*id)
        return tc_seterr(err, TC_ERR_PROTOCOL,
                         "history event %lld (WorkflowExecutionUpdateAdmitted) has no update id",
                         (long long)ev->event_id);
    snprintf(msg_id, sizeof msg_id, "%s/request", id);
    tc_update *u = from_request(id, msg_id, ev->event_id, rq, NULL);
    if (!u || !state_of(r) || !upd_push(&r->updates->admitted, u)) {
        upd_free(u);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    return TC_OK;
}

/* ---- outgoing messages ---- */

/* A protocol message "<update id>/<suffix>" whose body is `body` (type_name), packed. NULL out
 * of memory. */
static uint8_t *pack_message(const tc_update *u, const char *suffix, const char *type_name,
                             const ProtobufCMessage *body, size_t *len)
{
    Temporal__Api__Protocol__V1__Message m = TEMPORAL__API__PROTOCOL__V1__MESSAGE__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    char id[300], type_url[128];
    size_t blen = protobuf_c_message_get_packed_size(body);
    uint8_t *bbuf = malloc(blen ? blen : 1), *mbuf = NULL;
    if (!bbuf)
        return NULL;
    protobuf_c_message_pack(body, bbuf);
    snprintf(id, sizeof id, "%s/%s", u->id, suffix);
    snprintf(type_url, sizeof type_url, TYPE_PREFIX "%s", type_name);
    any.type_url = type_url;
    any.value.data = bbuf;
    any.value.len = blen;
    m.id = id;
    m.protocol_instance_id = u->id;
    m.body = &any;
    *len = temporal__api__protocol__v1__message__get_packed_size(&m);
    if ((mbuf = malloc(*len ? *len : 1)) != NULL)
        temporal__api__protocol__v1__message__pack(&m, mbuf);
    free(bbuf);
    return mbuf;
}

size_t tc_update_outgoing(const tc_run *r, uint8_t *const **packed, const size_t **lens)
{
    struct tc_updates *s = r->updates;
    *packed = NULL;
    *lens = NULL;
    if (!s)
        return 0;
    /* The messages of the ProtocolMessage commands this task sends, in command order, then the
     * rejections (which have no command). */
    s->send.n = 0;
    for (size_t i = r->pending_head; i < r->n_pending; i++) {
        const tc_cmd *c = r->pending[i];
        const packed_msg *pm = is_protocol_cmd(c) ? c->ext : NULL;
        if (pm && !msg_push(&s->send, pm->data, pm->len))
            return 0; /* out of memory: the commands then point at missing messages, and the
                         server fails the task, which is retried */
    }
    for (size_t i = 0; i < s->rejections.n; i++)
        if (!msg_push(&s->send, s->rejections.data[i], s->rejections.len[i]))
            return 0;
    *packed = s->send.data;
    *lens = s->send.len;
    return s->send.n;
}

static upd_request *request_of(const tc_update *u)
{
    return u->request_pb
               ? temporal__api__update__v1__request__unpack(NULL, u->request_len, u->request_pb)
               : NULL;
}

static void reject(tc_run *r, tc_update *u, const char *type, const char *message)
{
    u->state = U_REJECTED;
    if (!tc_run_live(r))
        return; /* a rejection leaves no trace in history: nothing to match on replay */
    Temporal__Api__Update__V1__Rejection rej = TEMPORAL__API__UPDATE__V1__REJECTION__INIT;
    tc_appfail af;
    size_t len = 0;
    rej.rejected_request_message_id = u->msg_id;
    rej.rejected_request_sequencing_event_id = u->seq_event_id;
    rej.rejected_request = request_of(u);
    rej.failure = tc_appfail_init(&af, type, message, true);
    uint8_t *m = pack_message(u, "reject", T_REJECT, &rej.base, &len);
    if (!m || !msg_push(&r->updates->rejections, m, len)) {
        free(m);
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory rejecting update %s", u->id);
    }
    if (rej.rejected_request)
        temporal__api__update__v1__request__free_unpacked(rej.rejected_request, NULL);
    free(u->request_pb);
    u->request_pb = NULL;
}

/* ---- commands ---- */

static bool accept_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    return strcmp(ev->workflow_execution_update_accepted_event_attributes->protocol_instance_id,
                  c->id) == 0;
}

static bool complete_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    const Temporal__Api__Update__V1__Meta *m =
        ev->workflow_execution_update_completed_event_attributes->meta;
    return m && strcmp(m->update_id, c->id) == 0;
}

/* Recorded: its message went out and was taken; it is not needed any more. */
static int drop_message(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err)
{
    (void)r, (void)ev, (void)err;
    packed_msg *pm = c->ext;
    if (pm) {
        free(pm->data);
        free(pm);
        c->ext = NULL;
    }
    return TC_OK;
}

static const tc_cmd_kind k_accept = {"ProtocolMessage", TC_ET(WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
                                     accept_matches, drop_message, NULL};
static const tc_cmd_kind k_complete = {"ProtocolMessage",
                                       TC_ET(WORKFLOW_EXECUTION_UPDATE_COMPLETED), complete_matches,
                                       drop_message, NULL};

static bool is_protocol_cmd(const tc_cmd *c)
{
    return c->kind == &k_accept || c->kind == &k_complete;
}

/* A ProtocolMessage command pointing at "<update id>/<suffix>", carrying that message (msg,
 * taken over). Both are made even while replaying: a command history turns out not to have
 * recorded is sent with the live task. */
static bool add_command(tc_run *r, const tc_update *u, const tc_cmd_kind *kind, const char *suffix,
                        uint8_t *msg, size_t msg_len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__ProtocolMessageCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__PROTOCOL_MESSAGE_COMMAND_ATTRIBUTES__INIT;
    packed_msg *pm = calloc(1, sizeof *pm);
    char id[300];
    size_t len = 0;
    snprintf(id, sizeof id, "%s/%s", u->id, suffix);
    a.message_id = id;
    cmd.command_type = TC_CT(PROTOCOL_MESSAGE);
    cmd.attributes_case =
        TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_PROTOCOL_MESSAGE_COMMAND_ATTRIBUTES;
    cmd.protocol_message_command_attributes = &a;
    uint8_t *packed = msg && pm ? tc_cmd_pack(&cmd, &len) : NULL;
    tc_cmd *c = packed ? tc_cmd_add(r, kind, u->id, suffix, packed, len) : NULL;
    if (!c) {
        free(msg);
        free(pm);
        return false;
    }
    pm->data = msg;
    pm->len = msg_len;
    c->ext = pm;
    return true;
}

static void accept(tc_run *r, tc_update *u)
{
    u->state = U_ACCEPTED;
    Temporal__Api__Update__V1__Acceptance acc = TEMPORAL__API__UPDATE__V1__ACCEPTANCE__INIT;
    size_t len = 0;
    acc.accepted_request_message_id = u->msg_id;
    acc.accepted_request_sequencing_event_id = u->seq_event_id;
    acc.accepted_request = request_of(u);
    uint8_t *msg = pack_message(u, "accept", T_ACCEPT, &acc.base, &len);
    if (acc.accepted_request)
        temporal__api__update__v1__request__free_unpacked(acc.accepted_request, NULL);
    /* The request is echoed once: a run with many updates keeps only their ids and args. */
    free(u->request_pb);
    u->request_pb = NULL;
    if (!add_command(r, u, &k_accept, "accept", msg, len))
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory accepting update %s", u->id);
}

/* Ends an accepted update: success with result_json (NULL: no value) or, with ftype set, an
 * ApplicationFailure. */
static void complete(tc_run *r, tc_update *u, const char *result_json, const char *ftype,
                     const char *fmsg, bool nr)
{
    u->state = U_DONE;
    Temporal__Api__Update__V1__Response resp = TEMPORAL__API__UPDATE__V1__RESPONSE__INIT;
    Temporal__Api__Update__V1__Meta meta = TEMPORAL__API__UPDATE__V1__META__INIT;
    Temporal__Api__Update__V1__Outcome out = TEMPORAL__API__UPDATE__V1__OUTCOME__INIT;
    tc_pl1 pl = {0}; /* tc_pl1_clear: a typed value's bytes are decoded into it */
    tc_appfail af;
    Temporal__Api__Common__V1__Payloads empty = TEMPORAL__API__COMMON__V1__PAYLOADS__INIT;
    size_t len = 0;
    meta.update_id = u->id;
    resp.meta = &meta;
    resp.outcome = &out;
    if (ftype) {
        out.value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_FAILURE;
        out.failure = tc_appfail_init(&af, ftype, fmsg, nr);
    } else {
        out.value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_SUCCESS;
        out.success = result_json ? tc_pl1_init(&pl, result_json) : &empty;
    }
    uint8_t *msg = pack_message(u, "complete", T_RESPONSE, &resp.base, &len);
    tc_pl1_clear(&pl);
    if (!add_command(r, u, &k_complete, "complete", msg, len))
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory completing update %s", u->id);
}

/* ---- handlers and coroutines ---- */

static const tc_handler *find_handler(const tc_run *r, const char *name)
{
    const struct tc_updates *s = r->updates;
    for (size_t i = 0; s && i < s->n_handlers; i++)
        if (strcmp(s->handlers[i].name, name) == 0)
            return &s->handlers[i];
    for (size_t i = 0; i < r->setup.n_updates; i++)
        if (r->setup.updates[i].name && strcmp(r->setup.updates[i].name, name) == 0)
            return &r->setup.updates[i];
    return NULL;
}

static bool handler_or_rejected(void *arg)
{
    const tc_update *u = arg;
    return u->state == U_REJECTED || find_handler(u->run, u->name) != NULL;
}

/* An update's coroutine. It looks its handler up when it first runs (so a handler the workflow
 * sets in the same activation, even its first, takes precedence), waits for one until the end
 * of the activation, then validates (new requests only), accepts and runs the handler. */
static void update_main(tc_wf_ctx *ctx, void *arg)
{
    tc_update *u = arg;
    tc_run *r = ctx->run;
    const tc_handler *h;
    while (!(h = find_handler(r, u->name))) {
        if (u->state == U_REJECTED)
            return; /* tc_update_activation_end rejected it */
        u->state = U_WAITING;
        ctx->cond = handler_or_rejected;
        ctx->carg = u;
        if (!tc_sched_block(ctx, "waiting for an update handler"))
            return;
    }
    u->state = U_RUNNING;
    u->fn = h->ufn;
    u->vfn = h->vfn;
    u->user = h->user;
    if (u->validate && u->vfn) {
        tc_update_reject rej;
        memset(&rej, 0, sizeof rej);
        if (!u->vfn(r->state, &u->info, u->user, &rej)) {
            rej.type[sizeof rej.type - 1] = rej.message[sizeof rej.message - 1] = '\0';
            reject(r, u, rej.type[0] ? rej.type : "UpdateRejected",
                   rej.message[0] ? rej.message : "update rejected by its validator");
            return;
        }
    }
    accept(r, u);
    if (r->fail_code)
        return;
    u->fn(ctx, r->state, &u->info, u->user);
    if (u->state == U_ACCEPTED && !r->destroying)
        complete(r, u, NULL, NULL, NULL, false); /* returned without an outcome */
}

/* Starts the update's coroutine (it runs after those made before it, in creation order). */
static void start(tc_run *r, tc_update *u)
{
    tc_wf_ctx *c = tc_sched_spawn(r, CO_GO);
    if (!c) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory starting update %s", u->id);
        return;
    }
    c->fn = update_main;
    c->arg = u;
    u->co = c;
    u->run = r;
    u->state = U_RUNNING;
}

static bool known(const tc_run *r, const char *id)
{
    const struct tc_updates *s = r->updates;
    for (size_t i = 0; s && i < s->all.n; i++)
        if (s->all.v[i]->state != U_REJECTED && strcmp(s->all.v[i]->id, id) == 0)
            return true;
    return false;
}

/* Takes u (owned): runs it, or drops it when an update of its id is already in this run. */
static void deliver(tc_run *r, tc_update *u, bool live)
{
    if (known(r, u->id)) {
        upd_free(u); /* delivered twice: the first delivery runs the handler, once */
        return;
    }
    if (!upd_push(&r->updates->all, u)) {
        upd_free(u);
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory delivering an update");
        return;
    }
    u->validate = live;
    if (u->bad)
        reject(r, u, "BadUpdateRequest", u->bad);
    else
        start(r, u);
}

/* On replay, the request an accepted event carries (or, for an admitted update, the one its
 * admitted event carried, already delivered). */
static void deliver_recorded(tc_run *r, const tc_pb_event *ev)
{
    const Temporal__Api__History__V1__WorkflowExecutionUpdateAcceptedEventAttributes *a =
        ev->workflow_execution_update_accepted_event_attributes;
    if (known(r, a->protocol_instance_id))
        return;
    if (!a->accepted_request) {
        tc_run_fail(r, TC_ERR_PROTOCOL,
                    "history event %lld (WorkflowExecutionUpdateAccepted) accepts update %s, "
                    "whose request neither it nor an admitted event carries",
                    (long long)ev->event_id, a->protocol_instance_id);
        return;
    }
    tc_update *u = from_request(a->protocol_instance_id, a->accepted_request_message_id,
                                a->accepted_request_sequencing_event_id, a->accepted_request, NULL);
    if (!u) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory delivering an update");
        return;
    }
    if (u->bad) {
        /* history says it was accepted: a request that cannot be read is a broken history */
        tc_run_fail(r, TC_ERR_PROTOCOL,
                    "history event %lld (WorkflowExecutionUpdateAccepted) update %s: %s",
                    (long long)ev->event_id, u->id, u->bad);
        upd_free(u);
        return;
    }
    deliver(r, u, false);
}

void tc_update_activation_begin(tc_run *r, bool replay)
{
    struct tc_updates *s = r->updates;
    if (s)
        clear_rejections(s);
    bool recorded = false;
    for (size_t i = 0; replay && i < r->n_look && !recorded; i++)
        recorded = r->look[i]->event_type == TC_ET(WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
    if (!s && !recorded)
        return;
    if (!(s = state_of(r))) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory delivering updates");
        return;
    }
    for (size_t i = 0; i < s->admitted.n; i++)
        deliver(r, s->admitted.v[i], !replay);
    s->admitted.n = 0;
    if (!replay) {
        for (size_t i = 0; i < s->incoming.n; i++)
            deliver(r, s->incoming.v[i], true);
        s->incoming.n = 0;
    }
    for (size_t i = 0; recorded && i < r->n_look; i++)
        if (r->look[i]->event_type == TC_ET(WORKFLOW_EXECUTION_UPDATE_ACCEPTED))
            deliver_recorded(r, r->look[i]);
}

/* "unknown update X. KnownUpdates=[a b]", as the Go SDK words it. */
static void reject_unknown(tc_run *r, tc_update *u)
{
    char msg[512];
    size_t o = (size_t)snprintf(msg, sizeof msg, "unknown update %s. KnownUpdates=[", u->name);
    const char *sep = "";
    for (size_t i = 0; r->updates && i < r->updates->n_handlers && o < sizeof msg; i++, sep = " ")
        o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%s", sep, r->updates->handlers[i].name);
    for (size_t i = 0; i < r->setup.n_updates && o < sizeof msg; i++, sep = " ")
        o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%s", sep, r->setup.updates[i].name);
    if (o < sizeof msg)
        snprintf(msg + o, sizeof msg - o, "]");
    reject(r, u, "UnknownUpdate", msg);
}

void tc_update_activation_end(tc_run *r)
{
    struct tc_updates *s = r->updates;
    for (size_t i = 0; s && i < s->all.n; i++)
        if (s->all.v[i]->state == U_WAITING)
            reject_unknown(r, s->all.v[i]);
}

/* ---- the workflow API ---- */

int tc_wf_set_update_handler(tc_wf_ctx *ctx, const char *name, tc_update_fn fn,
                             tc_update_validator_fn validator, void *user)
{
    tc_run *r = ctx->run;
    if (!name || !*name)
        return TC_ERR_INVALID;
    struct tc_updates *s = state_of(r);
    if (!s)
        return TC_ERR_NOMEM;
    size_t i;
    for (i = 0; i < s->n_handlers; i++)
        if (strcmp(s->handlers[i].name, name) == 0)
            break;
    if (!fn) {
        if (i < s->n_handlers) {
            free(s->handlers[i].name);
            memmove(&s->handlers[i], &s->handlers[i + 1],
                    (s->n_handlers - i - 1) * sizeof *s->handlers);
            s->n_handlers--;
        }
        return TC_OK;
    }
    if (i == s->n_handlers) {
        tc_handler *p = realloc(s->handlers, (i + 1) * sizeof *p);
        if (!p)
            return TC_ERR_NOMEM;
        s->handlers = p;
        memset(&p[i], 0, sizeof p[i]);
        if (!(p[i].name = tc_strdup(name)))
            return TC_ERR_NOMEM;
        s->n_handlers++;
    }
    s->handlers[i].ufn = fn;
    s->handlers[i].vfn = validator;
    s->handlers[i].user = user;
    return TC_OK; /* updates waiting for this name see it at their next turn */
}

static tc_update *own_update(const tc_wf_ctx *ctx)
{
    const struct tc_updates *s = ctx->run->updates;
    for (size_t i = 0; s && i < s->all.n; i++)
        if (s->all.v[i]->co == ctx && s->all.v[i]->state == U_ACCEPTED)
            return s->all.v[i];
    return NULL;
}

int tc_wf_update_complete(tc_wf_ctx *ctx, const char *result_json)
{
    tc_update *u = ctx ? own_update(ctx) : NULL;
    if (!u || ctx->run->destroying)
        return TC_ERR_STATE;
    complete(ctx->run, u, result_json, NULL, NULL, false);
    return TC_OK;
}

int tc_wf_update_fail(tc_wf_ctx *ctx, const char *type, const char *message, bool non_retryable)
{
    tc_update *u = ctx ? own_update(ctx) : NULL;
    if (!u || ctx->run->destroying)
        return TC_ERR_STATE;
    complete(ctx->run, u, NULL, type && *type ? type : "Error", message ? message : "",
             non_retryable);
    return TC_OK;
}

/* ---- events ---- */

static void describe_accepted(const tc_pb_event *ev, char *buf, size_t cap)
{
    snprintf(buf, cap, "ProtocolMessage(id=%s, type=accept)",
             ev->workflow_execution_update_accepted_event_attributes->protocol_instance_id);
}

static void describe_completed(const tc_pb_event *ev, char *buf, size_t cap)
{
    const Temporal__Api__Update__V1__Meta *m =
        ev->workflow_execution_update_completed_event_attributes->meta;
    snprintf(buf, cap, "ProtocolMessage(id=%s, type=complete)", m ? m->update_id : "");
}

static const tc_event_rule k_rules[] = {
    {.event_type = TC_ET(WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
     .role = EV_COMMAND,
     .describe = describe_accepted},
    {.event_type = TC_ET(WORKFLOW_EXECUTION_UPDATE_COMPLETED),
     .role = EV_COMMAND,
     .describe = describe_completed},
    /* Admitted: applied by run_events.c (tc_update_admitted). Rejected: servers write none. */
    {.event_type = TC_ET(WORKFLOW_EXECUTION_UPDATE_ADMITTED), .role = EV_WORKFLOW},
    {.event_type = TC_ET(WORKFLOW_EXECUTION_UPDATE_REJECTED), .role = EV_IGNORE},
};

const tc_cmd_family tc_family_update = {"update", k_rules, sizeof k_rules / sizeof k_rules[0]};

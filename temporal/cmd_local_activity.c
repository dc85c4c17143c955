/* cmd_local_activity.c - local activities on the run's side: their futures, the marker commands
 * that record their outcomes (the Go SDK's "LocalActivity" format), replay from those markers,
 * the three cancel modes and the durable timer between rounds. Pure computation: attempts are
 * run by local_activity_exec.c. */
#include "local_activity.h"

#include "converter.h"

#include "json_lite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef Temporal__Api__History__V1__MarkerRecordedEventAttributes marker_attrs;

/* ---- retry decisions ---- */

static bool type_listed(const tc_la_policy *p, const char *type)
{
    for (size_t i = 0; type && i < p->n_non_retryable; i++)
        if (strcmp(p->non_retryable[i], type) == 0)
            return true;
    return false;
}

int tc_la_retry_decide(const tc_la_policy *p, int attempt, const char *failure_type,
                       bool non_retryable, bool timeout_final, int64_t elapsed_ms,
                       int64_t schedule_to_close_ms, int64_t threshold_ms, int64_t *backoff_ms)
{
    *backoff_ms = 0;
    if (non_retryable || timeout_final || type_listed(p, failure_type) ||
        (failure_type && strcmp(failure_type, "CanceledError") == 0))
        return LA_RETRY_NONE;
    if (p->maximum_attempts > 0 && attempt >= p->maximum_attempts)
        return LA_RETRY_NONE;
    /* initial x coefficient^(attempt-1), capped by the maximum interval */
    double b = (double)p->initial_ms;
    for (int i = 1; i < attempt && b < (double)p->maximum_ms; i++)
        b *= p->coefficient;
    int64_t backoff = b > (double)p->maximum_ms ? p->maximum_ms : (int64_t)b;
    if (backoff <= 0)
        return LA_RETRY_NONE;
    if (schedule_to_close_ms > 0 && elapsed_ms + backoff >= schedule_to_close_ms)
        return LA_RETRY_NONE; /* the next attempt could not start in time */
    *backoff_ms = backoff;
    return backoff <= threshold_ms ? LA_RETRY_LOCAL : LA_RETRY_TIMER;
}

static int policy_copy(tc_la_policy *p, const tc_retry_policy *in)
{
    memset(p, 0, sizeof *p);
    p->initial_ms = in && in->initial_interval_ms > 0 ? in->initial_interval_ms : 1000;
    p->coefficient = in && in->backoff_coefficient >= 1.0 ? in->backoff_coefficient : 2.0;
    p->maximum_ms =
        in && in->maximum_interval_ms > 0 ? in->maximum_interval_ms : 100 * p->initial_ms;
    if (p->maximum_ms < p->initial_ms)
        p->maximum_ms = p->initial_ms;
    p->maximum_attempts = in && in->maximum_attempts > 0 ? in->maximum_attempts : 0;
    size_t n = 0;
    while (in && in->non_retryable_error_types && in->non_retryable_error_types[n])
        n++;
    if (n && !(p->non_retryable = calloc(n, sizeof *p->non_retryable)))
        return TC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(p->non_retryable[i] = tc_strdup(in->non_retryable_error_types[i])))
            return TC_ERR_NOMEM;
        p->n_non_retryable++;
    }
    return TC_OK;
}

/* ---- marker data ---- */

/* RFC 3339 with nanoseconds in UTC, as Go writes a time.Time. */
static void rfc3339(int64_t ms, char *buf, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

static int64_t parse_rfc3339(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int frac_ms = 0, off = 0;
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p || tm.tm_year < 70)
        return 0; /* absent, or Go's zero time */
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    if ((*p == '+' || *p == '-') && strlen(p) >= 6)
        off = (*p == '-' ? -1 : 1) *
              (((p[1] - '0') * 10 + (p[2] - '0')) * 60 + (p[4] - '0') * 10 + (p[5] - '0'));
    return ((int64_t)timegm(&tm) - (int64_t)off * 60) * 1000 + frac_ms;
}

char *tc_la_marker_json(const tc_la_marker *m)
{
    size_t cap = strlen(m->activity_id) * 6 + strlen(m->activity_type) * 6 + 160, o = 0;
    char *json = malloc(cap), when[48];
    if (!json)
        return NULL;
    rfc3339(m->replay_time_ms, when, sizeof when);
    o += (size_t)snprintf(json, cap, "{\"ActivityID\":\"");
    o += tc_json_escape(m->activity_id, json + o, cap - o);
    o += (size_t)snprintf(json + o, cap - o, "\",\"ActivityType\":\"");
    o += tc_json_escape(m->activity_type, json + o, cap - o);
    snprintf(json + o, cap - o, "\",\"ReplayTime\":\"%s\",\"Attempt\":%d,\"Backoff\":%lld}", when,
             m->attempt, (long long)m->backoff_ms * 1000000LL);
    return json;
}

static int marker_member(const char *key, const char *v, size_t len, void *arg)
{
    tc_la_marker *m = arg;
    char num[32];
    size_t n = len < sizeof num - 1 ? len : sizeof num - 1;
    memcpy(num, v, n);
    num[n] = '\0';
    if (strcmp(key, "ActivityID") == 0 || strcmp(key, "activity_id") == 0) {
        free(m->activity_id);
        m->activity_id = tc_json_string(v, len);
    } else if (strcmp(key, "ActivityType") == 0 || strcmp(key, "activity_type") == 0) {
        free(m->activity_type);
        m->activity_type = tc_json_string(v, len);
    } else if (strcmp(key, "Attempt") == 0 || strcmp(key, "attempt") == 0) {
        m->attempt = atoi(num);
    } else if (strcmp(key, "Backoff") == 0) {
        m->backoff_ms = strtoll(num, NULL, 10) / 1000000LL;
    } else if (strcmp(key, "ReplayTime") == 0) {
        char *t = tc_json_string(v, len);
        m->replay_time_ms = t ? parse_rfc3339(t) : 0;
        free(t);
    }
    return 0;
}

static const tc_pb_payloads *detail(const marker_attrs *a, const char *key)
{
    for (size_t i = 0; i < a->n_details; i++)
        if (a->details[i]->key && strcmp(a->details[i]->key, key) == 0)
            return a->details[i]->value;
    return NULL;
}

bool tc_la_is_marker(const tc_pb_event *ev)
{
    const marker_attrs *a =
        ev->event_type == TC_ET(MARKER_RECORDED) ? ev->marker_recorded_event_attributes : NULL;
    return a && a->marker_name &&
           (strcmp(a->marker_name, TC_LA_MARKER) == 0 ||
            strcmp(a->marker_name, TC_LA_CORE_MARKER) == 0);
}

void tc_la_marker_clear(tc_la_marker *m)
{
    free(m->activity_id);
    free(m->activity_type);
    memset(m, 0, sizeof *m);
}

int tc_la_marker_parse(const tc_pb_event *ev, tc_la_marker *m, tc_error *err)
{
    memset(m, 0, sizeof *m);
    if (!tc_la_is_marker(ev))
        return tc_seterr(err, TC_ERR_PROTOCOL, "event %lld is not a local activity marker",
                         (long long)ev->event_id);
    const marker_attrs *a = ev->marker_recorded_event_attributes;
    const tc_pb_payloads *d = detail(a, "data");
    char *json = NULL;
    tc_error e;
    m->core = strcmp(a->marker_name, TC_LA_CORE_MARKER) == 0;
    if (!d || !d->n_payloads || tc_payload_decode(d->payloads[0], &json, &e) != TC_OK)
        return tc_seterr(err, TC_ERR_PROTOCOL,
                         "history event %lld (MarkerRecorded %s) has no readable \"data\" detail",
                         (long long)ev->event_id, a->marker_name);
    int rc = tc_json_members(json, strlen(json), marker_member, m);
    free(json);
    if (rc != 0 || !m->activity_id || !m->activity_type) {
        tc_la_marker_clear(m);
        return tc_seterr(err, TC_ERR_PROTOCOL,
                         "history event %lld (MarkerRecorded %s): its data names no activity id "
                         "and type",
                         (long long)ev->event_id, a->marker_name);
    }
    return TC_OK;
}

/* ---- the marker command ---- */

static bool marker_matches(const tc_cmd *c, const tc_pb_event *ev)
{
    tc_la_marker m;
    tc_error e;
    if (tc_la_marker_parse(ev, &m, &e) != TC_OK)
        return false;
    bool same = !m.core && strcmp(m.activity_id, c->id) == 0;
    tc_la_marker_clear(&m);
    return same;
}

static const tc_cmd_kind k_marker = {"RecordMarker", TC_ET(MARKER_RECORDED), marker_matches, NULL,
                                     NULL};

static uint8_t *pack_marker(const tc_la *la, int attempt, const char *result_json,
                            const tc_pb_failure *failure, int64_t backoff_ms, int64_t when_ms,
                            size_t *len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__RecordMarkerCommandAttributes a =
        TEMPORAL__API__COMMAND__V1__RECORD_MARKER_COMMAND_ATTRIBUTES__INIT;
    Temporal__Api__Command__V1__RecordMarkerCommandAttributes__DetailsEntry de[2], *dep[2];
    tc_la_marker m = {(char *)la->id, la->type, attempt, backoff_ms, when_ms, false};
    char *data = tc_la_marker_json(&m);
    tc_pl1 pl[2];
    if (!data)
        return NULL;
    size_t n = 0;
    const char *keys[2] = {"data", "result"};
    const char *vals[2] = {data, result_json};
    for (size_t i = 0; i < 2; i++) {
        if (!vals[i] || (i == 1 && failure))
            continue;
        temporal__api__command__v1__record_marker_command_attributes__details_entry__init(&de[n]);
        de[n].key = (char *)keys[i];
        de[n].value = tc_pl1_init(&pl[n], vals[i]);
        dep[n] = &de[n];
        n++;
    }
    a.marker_name = (char *)TC_LA_MARKER;
    a.n_details = n;
    a.details = dep;
    a.failure = (tc_pb_failure *)failure;
    TC_CMD_SET(cmd, RECORD_MARKER, record_marker, &a);
    uint8_t *packed = tc_cmd_pack(&cmd, len);
    for (size_t i = 0; i < n; i++)
        tc_pl1_clear(&pl[i]);
    free(data);
    return packed;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records the round's marker (packed only when live); the workflow clock moves to its time, as
 * the Go SDK moves it. */
static void record(tc_run *r, tc_la *la, int attempt, const char *result_json,
                   const tc_pb_failure *failure, int64_t backoff_ms, int64_t when_ms)
{
    uint8_t *packed = NULL;
    size_t len = 0;
    if (tc_run_live(r)) {
        when_ms = wall_ms();
        r->close_held = r->close_held || la->settle_before_close;
        if (!(packed = pack_marker(la, attempt, result_json, failure, backoff_ms, when_ms, &len))) {
            tc_run_fail(r, TC_ERR_NOMEM, "out of memory recording local activity %s", la->type);
            return;
        }
    }
    if (!tc_cmd_add(r, &k_marker, la->id, TC_LA_MARKER, packed, len))
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory recording local activity %s", la->type);
    if (when_ms > r->now_ms)
        r->now_ms = when_ms;
}

static void canceled_failure(tc_pb_failure *f, Temporal__Api__Failure__V1__CanceledFailureInfo *i)
{
    temporal__api__failure__v1__failure__init(f);
    temporal__api__failure__v1__canceled_failure_info__init(i);
    f->message = (char *)"canceled";
    f->source = (char *)"CSDK";
    f->failure_info_case = TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO;
    f->canceled_failure_info = i;
}

static void new_round_id(tc_run *r, tc_la *la)
{
    snprintf(la->id, sizeof la->id, "%llu", (unsigned long long)++r->la->seq);
}

static void resolved(tc_la *la)
{
    la->state = LA_RESOLVED;
    la->due_us = 0;
}

/* ---- resolutions (live from the worker, replayed from markers) ---- */

void tc_la_run_code(tc_run *r)
{
    tc_sched_run(r);
    tc_la_after_code(r);
    if (!r->fail_code && r->outcome != OUT_NONE && !r->ended)
        tc_close_emit(r);
}

void tc_la_complete(tc_run *r, tc_la *la, int attempt, const char *result_json)
{
    record(r, la, attempt, result_json, NULL, 0, 0);
    const char *one[1] = {result_json};
    tc_future_resolve_ok(r, la->fut, one, result_json ? 1 : 0, 0);
    resolved(la);
}

static void backoff_fn(tc_wf_ctx *ctx, void *arg);

/* A failed round: resolved, or a durable timer before the next one (a coroutine of its own
 * sleeps, as the Go SDK does: the timer is started when the code runs next). */
static void fail_round(tc_run *r, tc_la *la, int attempt, const tc_pb_failure *f,
                       int64_t backoff_ms)
{
    if (backoff_ms > 0) {
        tc_wf_ctx *c = tc_sched_spawn(r, CO_GO);
        if (!c) {
            tc_run_fail(r, TC_ERR_NOMEM, "out of memory backing off local activity %s", la->type);
            return;
        }
        c->fn = backoff_fn;
        c->arg = la;
        c->detached = la->detached;
        la->state = LA_BACKOFF;
        la->backoff_ms = backoff_ms;
        la->attempt = attempt + 1;
        la->due_us = 0;
        return;
    }
    const char *type, *msg;
    bool nr;
    tc_failure_describe(f, &type, &msg, &nr);
    int state = f && f->failure_info_case ==
                            TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO
                    ? FUT_CANCELLED
                    : FUT_FAILED;
    bool pending = la->fut->state == FUT_PENDING; /* not try-cancelled or abandoned */
    tc_future_resolve_fail(r, la->fut, state, type, msg, nr, 0);
    /* for tc_wf_fail_future: ActivityFailure{type, the round's id} caused by f (no events) */
    tc_activity_failure_ref ref = {
        .activity_type = la->type,
        .activity_id = la->id,
        .retry_state =
            state == FUT_CANCELLED
                ? TEMPORAL__API__ENUMS__V1__RETRY_STATE__RETRY_STATE_CANCEL_REQUESTED
                : TEMPORAL__API__ENUMS__V1__RETRY_STATE__RETRY_STATE_NON_RETRYABLE_FAILURE};
    if (pending && !tc_future_keep_activity_failure(la->fut, f, &ref))
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory keeping the failure of local activity %s",
                    la->type);
    resolved(la);
}

void tc_la_fail(tc_run *r, tc_la *la, int attempt, const tc_pb_failure *failure, int64_t backoff_ms)
{
    record(r, la, attempt, NULL, failure, backoff_ms, 0);
    fail_round(r, la, attempt, failure, backoff_ms);
}

void tc_la_cancelled(tc_run *r, tc_la *la, int attempt)
{
    tc_pb_failure f;
    Temporal__Api__Failure__V1__CanceledFailureInfo ci;
    canceled_failure(&f, &ci);
    tc_la_fail(r, la, attempt, &f, 0);
}

static void backoff_fn(tc_wf_ctx *ctx, void *arg)
{
    tc_la *la = arg;
    tc_run *r = ctx->run;
    la->bctx = ctx;
    if (la->state == LA_BACKOFF)
        la->timer = tc_wf_timer_start(ctx, la->backoff_ms);
    int rc = la->timer ? tc_future_get(ctx, la->timer, NULL) : TC_ERR_CANCELLED;
    la->bctx = NULL;
    la->timer = NULL;
    if (r->destroying || la->state != LA_BACKOFF)
        return; /* unwinding, or cancelled meanwhile (la_cancel resolved it) */
    if (rc != TC_OK) {
        /* The timer was cancelled with the scope: the round ends cancelled. */
        new_round_id(r, la);
        la->cancel_requested = true;
        tc_la_cancelled(r, la, la->attempt);
        return;
    }
    new_round_id(r, la);
    la->state = LA_NEW; /* handed over when this code run ends */
}

/* ---- cancellation ---- */

static void la_cancel(tc_run *r, tc_cmd *c)
{
    tc_la *la = (tc_la *)c;
    if (la->state == LA_RESOLVED || la->cancel_requested)
        return;
    la->cancel_requested = true;
    switch (la->state) {
    case LA_NEW: /* never handed over: nothing ran, nothing to record */
        tc_future_resolve_fail(r, la->fut, FUT_CANCELLED, "CanceledError",
                               "local activity cancelled", false, 0);
        resolved(la);
        break;
    case LA_BACKOFF:
        if (la->timer && la->bctx)
            tc_future_cancel(la->bctx, la->timer); /* CancelTimer */
        new_round_id(r, la);
        tc_la_cancelled(r, la, la->attempt);
        break;
    default: /* LA_DISPATCHED */
        if (la->cancel_mode == TC_CANCEL_WAIT_COMPLETED) {
            /* Resolved once the attempt returns (live: the worker; replay: the marker), never
             * here: the code's next commands must keep their place after this call. */
            if (la->exec)
                tc_la_exec_cancel(la->exec);
            break;
        }
        if (la->exec)
            tc_la_exec_release(la->exec, la->cancel_mode != TC_CANCEL_ABANDON);
        la->exec = NULL;
        tc_la_cancelled(r, la, la->run_attempt ? la->run_attempt : la->attempt);
        break;
    }
}

static const tc_cmd_kind k_handle = {"LocalActivity", 0, NULL, NULL, la_cancel};

void tc_la_cancel_run(tc_run *r)
{
    tc_la_set *s = r->la;
    for (size_t i = 0; s && i < s->n; i++)
        if (!s->v[i]->detached && s->v[i]->state != LA_RESOLVED)
            la_cancel(r, &s->v[i]->handle);
}

/* ---- starting ---- */

static tc_la *la_new(tc_run *r)
{
    if (!r->la && !(r->la = calloc(1, sizeof *r->la)))
        return NULL;
    tc_la_set *s = r->la;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        tc_la **p = realloc(s->v, nc * sizeof *p);
        if (!p)
            return NULL;
        s->v = p;
        s->cap = nc;
    }
    tc_la *la = calloc(1, sizeof *la);
    if (la)
        s->v[s->n++] = la;
    return la;
}

static void park_oom(tc_wf_ctx *ctx, const char *type)
{
    tc_run_fail(ctx->run, TC_ERR_NOMEM, "out of memory starting local activity %s", type);
    tc_sched_park(ctx);
}

int tc_la_build_input(tc_run *r, tc_la *la)
{
    char *built = la->make(la->make_arg);
    la->make = NULL;
    if (!built || !(la->inputs = calloc(1, sizeof *la->inputs))) {
        free(built);
        return tc_run_fail(r, TC_ERR_TASK_FAILED,
                           "tc_wf_local_activity_lazy(%s): the input could not be built", la->type);
    }
    la->inputs[0] = built;
    la->n_inputs = 1;
    return TC_OK;
}

tc_future *tc_la_start(tc_wf_ctx *ctx, const char *type, const char *const *inputs, size_t n,
                       tc_wf_input_fn make, void *make_arg, const tc_local_activity_options *o)
{
    tc_run *r = ctx->run;
    if (!type || !*type) {
        tc_run_fail(r, TC_ERR_TASK_FAILED, "tc_wf_local_activity_start: activity_type is required");
        tc_sched_park(ctx);
    }
    if (!o || (o->schedule_to_close_ms <= 0 && o->start_to_close_ms <= 0)) {
        tc_run_fail(r, TC_ERR_TASK_FAILED,
                    "tc_wf_local_activity_start(%s): schedule_to_close_ms or start_to_close_ms "
                    "must be set",
                    type);
        tc_sched_park(ctx);
    }
    tc_future *f = tc_future_new(r, FK_ACTIVITY);
    if (!f)
        park_oom(ctx, type);
    f->detached = ctx->detached > 0;
    if (r->destroying || r->outcome != OUT_NONE || (r->cancel_requested && !f->detached)) {
        tc_future_resolve_fail(r, f, FUT_CANCELLED, "CanceledError",
                               "local activity not started: cancelled", false, 0);
        return f;
    }
    tc_la *la = la_new(r);
    if (!la)
        park_oom(ctx, type);
    la->run = r;
    la->handle.kind = &k_handle;
    la->fut = f;
    la->detached = f->detached;
    la->attempt = 1;
    la->cancel_mode = o->cancel_mode;
    la->settle_before_close = o->settle_before_close;
    la->schedule_to_close_ms = o->schedule_to_close_ms > 0 ? o->schedule_to_close_ms : 0;
    la->start_to_close_ms = o->start_to_close_ms > 0 ? o->start_to_close_ms : 0;
    la->threshold_ms = o->local_retry_threshold_ms > 0 ? o->local_retry_threshold_ms
                       : r->task_timeout_ms > 0        ? r->task_timeout_ms
                                                       : 10000;
    la->scheduled_wall = r->now_ms; /* workflow time: the same when a run is rebuilt */
    f->cmd = &la->handle;
    new_round_id(r, la);
    la->handle.id = la->id; /* what tc_wf_fail_future names: the round's id, and the type */
    if (!(la->type = la->handle.type = tc_strdup(type)) ||
        policy_copy(&la->retry, o->retry) != TC_OK ||
        (n && !(la->inputs = calloc(n, sizeof *la->inputs))))
        park_oom(ctx, type);
    for (size_t i = 0; i < n; i++) {
        if (!(la->inputs[i] = tc_strdup(inputs[i] ? inputs[i] : "null")))
            park_oom(ctx, type);
        la->n_inputs++;
    }
    la->make = make;
    la->make_arg = make_arg;
    /* Live, nothing can answer it but a run: build the input now, on the code's own stack. */
    if (make && tc_run_live(r) && tc_la_build_input(r, la) != TC_OK)
        tc_sched_park(ctx);
    return f;
}

/* ---- the public calls ---- */

tc_future *tc_wf_local_activity_start(tc_wf_ctx *ctx, const char *activity_type,
                                      const char *input_json, const tc_local_activity_options *opts)
{
    const char *one[1] = {input_json};
    if (opts && opts->n_inputs)
        return tc_la_start(ctx, activity_type, opts->inputs, opts->n_inputs, NULL, NULL, opts);
    return tc_la_start(ctx, activity_type, one, input_json ? 1 : 0, NULL, NULL, opts);
}

int tc_wf_local_activity(tc_wf_ctx *ctx, const char *activity_type, const char *input_json,
                         const tc_local_activity_options *opts, tc_wf_result *out)
{
    return tc_future_get(ctx, tc_wf_local_activity_start(ctx, activity_type, input_json, opts),
                         out);
}

int tc_wf_local_activity_lazy(tc_wf_ctx *ctx, const char *activity_type, tc_wf_input_fn make_input,
                              void *arg, const tc_local_activity_options *opts, tc_wf_result *out)
{
    tc_future *f = tc_la_start(ctx, activity_type, NULL, 0, make_input, arg, opts);
    return tc_future_get(ctx, f, out);
}

/* ---- replay: markers answer ---- */

/* The next local activity marker of the task being replayed, after the last one applied. */
static const tc_pb_event *next_marker(const tc_run *r)
{
    for (size_t i = 0; i < r->n_look; i++)
        if (r->look[i]->event_id > r->la->last_marker && tc_la_is_marker(r->look[i]))
            return r->look[i];
    return NULL;
}

static tc_la *find_round(const tc_run *r, const char *id)
{
    for (size_t i = 0; i < r->la->n; i++)
        if (r->la->v[i]->state == LA_DISPATCHED && strcmp(r->la->v[i]->id, id) == 0)
            return r->la->v[i];
    return NULL;
}

/* Applies a recorded marker to the local activity it names (none: the command matching that
 * follows reports the marker the code did not make). */
static void apply_marker(tc_run *r, const tc_pb_event *ev)
{
    tc_la_marker m;
    tc_error e;
    if (tc_la_marker_parse(ev, &m, &e) != TC_OK) {
        tc_run_fail(r, TC_ERR_PROTOCOL, "%s", e.text);
        return;
    }
    const marker_attrs *a = ev->marker_recorded_event_attributes;
    tc_la *la = m.core ? NULL : find_round(r, m.activity_id);
    if (la && strcmp(la->type, m.activity_type) != 0) {
        tc_run_fail(r, TC_ERR_NONDETERMINISM,
                    "history event %lld recorded local activity %s (ActivityID %s) but the "
                    "workflow code started local activity %s",
                    (long long)ev->event_id, m.activity_type, m.activity_id, la->type);
    } else if (la && a->failure) {
        record(r, la, m.attempt, NULL, NULL, 0, m.replay_time_ms);
        fail_round(r, la, m.attempt, a->failure, m.backoff_ms);
    } else if (la) {
        char what[96], **values = NULL;
        size_t n = 0;
        snprintf(what, sizeof what, "event %lld (MarkerRecorded LocalActivity) result",
                 (long long)ev->event_id);
        if (tc_payloads_decode_all(detail(a, "result"), &values, &n, what, &e) != TC_OK) {
            tc_run_fail(r, e.code, "%s", e.text);
        } else {
            record(r, la, m.attempt, NULL, NULL, 0, m.replay_time_ms);
            tc_future_resolve_values(r, la->fut, values, n, 0);
            resolved(la);
        }
    }
    tc_la_marker_clear(&m);
}

void tc_la_after_code(tc_run *r)
{
    tc_la_set *s = r->la;
    while (s && !r->fail_code) {
        for (size_t i = 0; i < s->n; i++)
            if (s->v[i]->state == LA_NEW)
                s->v[i]->state = LA_DISPATCHED;
        if (!r->replaying || r->destroying || r->outcome != OUT_NONE)
            return;
        const tc_pb_event *ev = next_marker(r);
        if (!ev)
            return;
        s->last_marker = ev->event_id;
        apply_marker(r, ev);
        if (!r->fail_code)
            tc_sched_run(r);
    }
}

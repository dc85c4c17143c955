/* saga_machine.c - the saga's transitions (docs/saga.md has them as a table): forward steps,
 * pivot, concurrent confirms, LIFO compensations, retries, cancellation. Pure: no I/O, no clock,
 * no allocation; the caller runs what it says and persists what it marks durable. */
#include "saga_machine.h"

#include <stdio.h>
#include <string.h>

#define BIT(s) (1u << (unsigned)(s))
#define CONFIRM_BITS                                                     \
    (BIT(SAGA_STEP_CONFIRM_ORDER) | BIT(SAGA_STEP_CONFIRM_RESERVATION) | \
     BIT(SAGA_STEP_CONFIRM_PAYMENT))
#define PLAN_MAX 3 /* compensations a saga can register: CancelOrder, CancelReservation, Refund */

static const char *const PHASE_NAMES[SAGA_PHASE_COUNT] = {
    "FORWARD", "CONFIRMING", "COMPENSATING", "COMPLETED", "COMPENSATED", "FAILED"};
static const char *const PHASE_STATUS[SAGA_PHASE_COUNT] = {
    "RUNNING", "RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED", "FAILED"};

void saga_machine_init(saga_machine_t *m, const saga_policy_t *policy)
{
    static const saga_policy_t dflt = SAGA_POLICY_DEFAULT;
    memset(m, 0, sizeof *m);
    m->phase = SAGA_PHASE_FORWARD;
    m->last_forward = SAGA_STEP_NONE;
    m->policy = policy != NULL ? *policy : dflt;
    if (m->policy.forward_attempts < 1)
        m->policy.forward_attempts = 1;
}

static void clear(saga_actions_t *a)
{
    memset(a, 0, sizeof *a);
}

/* Asks the caller to start one attempt of s after delay_ms. */
static void run(saga_machine_t *m, saga_actions_t *a, saga_step_t s, int64_t delay_ms)
{
    m->in_flight |= BIT(s);
    a->run[a->nrun++] = (saga_run_t){s, m->tries[s] + 1, delay_ms};
}

/* The saga's failure is its first one: later ones (a compensation refused) do not replace it. */
static void set_error(saga_machine_t *m, const char *type, const char *message)
{
    if (m->error_type[0] != '\0')
        return;
    snprintf(m->error_type, sizeof m->error_type, "%s", type);
    snprintf(m->error_message, sizeof m->error_message, "%s", message != NULL ? message : "");
}

static void finish(saga_machine_t *m, saga_actions_t *a, saga_phase_t phase)
{
    m->phase = phase;
    a->persist = true;
    a->finished = true;
}

/* Registers the forward step s's compensation and starts s, in one durable transition. */
static void start_forward(saga_machine_t *m, saga_actions_t *a, saga_step_t s)
{
    m->last_forward = s;
    a->persist = true;
    run(m, a, s, 0);
}

/* Runs the next registered compensation (top first), or ends once none is left. */
static void compensate(saga_machine_t *m, saga_actions_t *a)
{
    saga_step_t plan[PLAN_MAX];
    int n = saga_compensation_plan(m->last_forward, plan, PLAN_MAX);
    m->phase = SAGA_PHASE_COMPENSATING;
    a->persist = true;
    if (m->comp_done >= n)
        finish(m, a, SAGA_PHASE_COMPENSATED);
    else
        run(m, a, plan[m->comp_done], 0);
}

static void cancel_now(saga_machine_t *m, saga_actions_t *a)
{
    set_error(m, SAGA_TYPE_CANCELLED, "cancelled before the pivot");
    compensate(m, a);
}

/* Counts a retryable answer and says whether the step has tries left. */
static bool counts_and_has_tries(saga_machine_t *m, const saga_outcome_t *o)
{
    saga_step_t s = o->step;
    /* The twin of this call (sent before a crash) is still running: waiting for it is not a
     * failure, up to a point. */
    if (!o->in_flight || m->tries[s] > m->policy.in_flight_waits)
        m->failures[s]++;
    return saga_step_retry_class(s) == SAGA_RETRY_UNTIL_DONE ||
           m->failures[s] < m->policy.forward_attempts;
}

static void retry(saga_machine_t *m, const saga_outcome_t *o, saga_actions_t *a)
{
    int64_t d =
        saga_backoff_ms(m->tries[o->step], m->policy.retry_initial_ms, m->policy.retry_max_ms);
    if (o->in_flight && d > m->policy.in_flight_poll_ms)
        d = m->policy.in_flight_poll_ms; /* the twin ends soon: poll it, do not back off */
    a->verdict = SAGA_V_RETRY;
    run(m, a, o->step, d);
}

static void forward_outcome(saga_machine_t *m, const saga_outcome_t *o, saga_actions_t *a)
{
    if (m->cancel_requested) {
        /* The cancel came while this step ran: forward steps stop whatever it did. */
        a->verdict = o->kind == SAGA_OUT_OK ? SAGA_V_DONE : SAGA_V_FAILED;
        cancel_now(m, a);
        return;
    }
    switch (o->kind) {
    case SAGA_OUT_OK:
        a->verdict = SAGA_V_DONE;
        if (o->step != SAGA_STEP_APPROVE_PAYMENT) {
            start_forward(m, a, saga_step_next(o->step));
            return;
        }
        m->phase = SAGA_PHASE_CONFIRMING; /* the pivot */
        a->persist = true;
        for (saga_step_t s = SAGA_STEP_CONFIRM_ORDER; s != SAGA_STEP_NONE; s = saga_step_next(s))
            run(m, a, s, 0);
        return;
    case SAGA_OUT_RETRYABLE:
    case SAGA_OUT_EXHAUSTED:
        if (o->kind == SAGA_OUT_RETRYABLE && counts_and_has_tries(m, o)) {
            retry(m, o, a);
            return;
        }
        a->verdict = SAGA_V_FAILED; /* out of attempts */
        set_error(m, SAGA_TYPE_RETRIES_EXHAUSTED, o->message);
        compensate(m, a);
        return;
    case SAGA_OUT_BUSINESS:
    default:
        a->verdict = SAGA_V_FAILED;
        set_error(m, o->type != NULL && o->type[0] ? o->type : SAGA_TYPE_INVALID_REQUEST,
                  o->message);
        compensate(m, a);
        return;
    }
}

/* A confirm or compensation that will never succeed: recorded, and the saga goes on. */
static void skip(saga_machine_t *m, const saga_outcome_t *o, saga_actions_t *a)
{
    m->refused |= BIT(o->step);
    a->verdict = SAGA_V_SKIPPED;
    a->persist = true;
}

static void confirm_outcome(saga_machine_t *m, const saga_outcome_t *o, saga_actions_t *a)
{
    if (o->kind == SAGA_OUT_RETRYABLE && counts_and_has_tries(m, o)) {
        retry(m, o, a);
        return;
    }
    if (o->kind == SAGA_OUT_OK) {
        a->verdict = SAGA_V_DONE;
        a->persist = true;
    } else {
        skip(m, o, a);
        /* Nothing after the pivot compensates: the saga ends FAILED with this reason. */
        set_error(m,
                  o->kind == SAGA_OUT_EXHAUSTED   ? SAGA_TYPE_RETRIES_EXHAUSTED
                  : o->type != NULL && o->type[0] ? o->type
                                                  : SAGA_TYPE_INVALID_REQUEST,
                  o->message);
    }
    m->done |= BIT(o->step);
    if ((m->done & CONFIRM_BITS) == CONFIRM_BITS)
        finish(m, a, (m->refused & CONFIRM_BITS) ? SAGA_PHASE_FAILED : SAGA_PHASE_COMPLETED);
}

static void compensation_outcome(saga_machine_t *m, const saga_outcome_t *o, saga_actions_t *a)
{
    if (o->kind == SAGA_OUT_RETRYABLE && counts_and_has_tries(m, o)) {
        retry(m, o, a);
        return;
    }
    if (o->kind == SAGA_OUT_OK)
        a->verdict = SAGA_V_DONE;
    else
        skip(m, o, a);
    m->comp_done++;
    compensate(m, a);
}

void saga_machine_advance(saga_machine_t *m, const saga_outcome_t *o, saga_actions_t *out)
{
    clear(out);
    saga_step_t s = o->step;
    if ((int)s < 0 || (int)s >= SAGA_STEP_COUNT || !(m->in_flight & BIT(s)) ||
        saga_phase_terminal(m->phase)) {
        out->verdict = SAGA_V_IGNORED;
        return;
    }
    m->in_flight &= ~BIT(s);
    if (m->tries[s] < UINT16_MAX)
        m->tries[s]++;
    switch (m->phase) {
    case SAGA_PHASE_FORWARD: forward_outcome(m, o, out); break;
    case SAGA_PHASE_CONFIRMING: confirm_outcome(m, o, out); break;
    default: compensation_outcome(m, o, out); break;
    }
}

void saga_machine_refuse(saga_machine_t *m, const char *message, saga_actions_t *out)
{
    clear(out);
    if (m->phase != SAGA_PHASE_FORWARD || m->last_forward != SAGA_STEP_NONE)
        return;
    set_error(m, SAGA_TYPE_INVALID_REQUEST, message);
    finish(m, out, SAGA_PHASE_COMPENSATED);
}

void saga_machine_resume(saga_machine_t *m, saga_actions_t *out)
{
    clear(out);
    m->in_flight = 0;
    memset(m->tries, 0, sizeof m->tries);
    memset(m->failures, 0, sizeof m->failures);
    switch (m->phase) {
    case SAGA_PHASE_FORWARD:
        if (m->cancel_requested)
            cancel_now(m, out); /* the step's outcome is lost; its compensation is registered */
        else if (m->last_forward == SAGA_STEP_NONE)
            start_forward(m, out, SAGA_STEP_CREATE_ORDER);
        else
            run(m, out, m->last_forward, 0);
        return;
    case SAGA_PHASE_CONFIRMING:
        for (saga_step_t s = SAGA_STEP_CONFIRM_ORDER; s != SAGA_STEP_NONE; s = saga_step_next(s))
            if (!(m->done & BIT(s)))
                run(m, out, s, 0);
        return;
    case SAGA_PHASE_COMPENSATING:
        compensate(m, out);
        out->persist = out->finished; /* the same compensation again changes nothing */
        return;
    default: out->finished = true; return;
    }
}

bool saga_machine_cancel(saga_machine_t *m, saga_actions_t *out)
{
    clear(out);
    if (m->phase == SAGA_PHASE_COMPENSATING)
        return strcmp(m->error_type, SAGA_TYPE_CANCELLED) == 0;
    if (m->phase != SAGA_PHASE_FORWARD)
        return false; /* after the pivot, or ended: the saga goes on as it was */
    if (m->cancel_requested)
        return true;
    m->cancel_requested = true;
    out->persist = true;
    if (m->in_flight == 0)
        cancel_now(m, out);
    return true;
}

bool saga_phase_terminal(saga_phase_t p)
{
    return p == SAGA_PHASE_COMPLETED || p == SAGA_PHASE_COMPENSATED || p == SAGA_PHASE_FAILED;
}

const char *saga_phase_status(saga_phase_t p)
{
    return (int)p >= 0 && p < SAGA_PHASE_COUNT ? PHASE_STATUS[p] : "UNKNOWN";
}

const char *saga_phase_name(saga_phase_t p)
{
    return (int)p >= 0 && p < SAGA_PHASE_COUNT ? PHASE_NAMES[p] : "UNKNOWN";
}

int saga_phase_parse(const char *name)
{
    for (int i = 0; name != NULL && i < SAGA_PHASE_COUNT; i++)
        if (strcmp(name, PHASE_NAMES[i]) == 0)
            return i;
    return -1;
}

saga_step_t saga_machine_step(const saga_machine_t *m)
{
    saga_step_t plan[PLAN_MAX];
    switch (m->phase) {
    case SAGA_PHASE_FORWARD: return m->last_forward;
    case SAGA_PHASE_CONFIRMING:
        for (saga_step_t s = SAGA_STEP_CONFIRM_ORDER; s != SAGA_STEP_NONE; s = saga_step_next(s))
            if (!(m->done & BIT(s)))
                return s;
        return SAGA_STEP_NONE;
    case SAGA_PHASE_COMPENSATING:
        return m->comp_done < saga_compensation_plan(m->last_forward, plan, PLAN_MAX)
                   ? plan[m->comp_done]
                   : SAGA_STEP_NONE;
    default: return SAGA_STEP_NONE;
    }
}

int saga_machine_stack(const saga_machine_t *m, saga_step_t *out, int cap)
{
    saga_step_t plan[PLAN_MAX];
    int n = 0, from = m->phase == SAGA_PHASE_COMPENSATING ? m->comp_done : 0;
    if (m->phase != SAGA_PHASE_FORWARD && m->phase != SAGA_PHASE_COMPENSATING)
        return 0;
    int total = saga_compensation_plan(m->last_forward, plan, PLAN_MAX);
    for (int i = from; i < total && n < cap; i++)
        out[n++] = plan[i];
    return n;
}

saga_result_t saga_machine_result(const saga_machine_t *m, const saga_state_t *st)
{
    saga_result_t r = {0};
    r.success = m->phase == SAGA_PHASE_COMPLETED;
    if (st != NULL)
        r.st = *st;
    r.error_type = m->error_type;
    r.error_message = m->error_message;
    return r;
}

bool saga_machine_durable_equal(const saga_machine_t *a, const saga_machine_t *b)
{
    return a->phase == b->phase && a->last_forward == b->last_forward &&
           a->comp_done == b->comp_done && a->done == b->done && a->refused == b->refused &&
           a->cancel_requested == b->cancel_requested &&
           strcmp(a->error_type, b->error_type) == 0; /* the message only says more */
}

saga_retry_class_t saga_step_retry_class(saga_step_t step)
{
    return saga_step_is_forward(step) && !saga_step_after_pivot(step) ? SAGA_RETRY_LIMITED
                                                                      : SAGA_RETRY_UNTIL_DONE;
}

/* saga_machine.h - the order saga's control flow as a pure state machine: the caller passes
 * outcomes in and gets actions out (run these steps, wait, finish). No I/O, no clocks, no
 * allocation; both orchestrators are loops over it, so neither decides a transition itself. */
#ifndef SAGA_MACHINE_H
#define SAGA_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "saga.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * The saga (docs/saga.md, "The state machine"):
 *   FORWARD       T1 CreateOrder, T2 ReserveStock, T3-1 CreatePayment, T3-2 ApprovePayment, one
 *                 at a time. A step's compensation is registered (last_forward) in the same
 *                 transition that starts it, before it runs.
 *   pivot         ApprovePayment succeeded: from here the saga only goes forward.
 *   CONFIRMING    T4 ConfirmOrder, T5 ConfirmReservation, T6 ConfirmPayment all at once (different
 *                 services, commutative), each retried until it succeeds.
 *   COMPENSATING  the registered compensations LIFO, one at a time, each retried until it
 *                 succeeds; one refused for good (e.g. IllegalTransition) is recorded and skipped.
 *   COMPLETED     every step succeeded.
 *   COMPENSATED   a forward step failed (business failure, or out of attempts) or the saga was
 *                 cancelled before the pivot; every registered compensation has run.
 *   FAILED        after the pivot a confirm was refused for good: nothing is compensated (the
 *                 payment is approved), the other confirms still ran; an operator must look.
 * ------------------------------------------------------------------------------------------- */
typedef enum saga_phase {
    SAGA_PHASE_FORWARD = 0,
    SAGA_PHASE_CONFIRMING,
    SAGA_PHASE_COMPENSATING,
    SAGA_PHASE_COMPLETED,
    SAGA_PHASE_COMPENSATED,
    SAGA_PHASE_FAILED,
    SAGA_PHASE_COUNT
} saga_phase_t;

/* How the caller's retries of a step are bounded. */
typedef enum saga_retry_class {
    SAGA_RETRY_LIMITED = 0, /* forward steps up to the pivot: policy.forward_attempts tries */
    SAGA_RETRY_UNTIL_DONE   /* confirms and compensations: until an answer that is not retryable */
} saga_retry_class_t;

/* Retry policy (DESIGN: initial 1 s, coefficient 2, max 10 s; forward steps 3 attempts). */
typedef struct saga_policy {
    int forward_attempts;      /* tries of a forward step up to the pivot (>= 1) */
    int64_t retry_initial_ms;  /* delay before the first retry */
    int64_t retry_max_ms;      /* cap of the doubling delay */
    int in_flight_waits;       /* 409 IdempotencyInFlight answers that are not failures */
    int64_t in_flight_poll_ms; /* delay cap while the twin call of a step is still running */
} saga_policy_t;

#define SAGA_POLICY_DEFAULT      \
    {                            \
        3, 1000, 10000, 30, 1000 \
    }

/* A saga's state. The caller owns it and persists the fields marked [durable] whenever
 * saga_actions_t.persist says so; the others only matter to the process running the saga (a
 * reloaded saga starts them afresh: saga_machine_resume). Plain data: copy it freely. */
typedef struct saga_machine {
    saga_phase_t phase;       /* [durable] */
    saga_step_t last_forward; /* [durable] the forward step started last; its compensation and
                                 every earlier one are registered. SAGA_STEP_NONE before T1 */
    int comp_done;            /* [durable] COMPENSATING: compensations finished, from the top */
    unsigned done;            /* [durable] bit (1 << step) per confirm that ended */
    unsigned refused;         /* [durable] bit per confirm / compensation refused for good */
    bool cancel_requested;    /* [durable] a cancel was accepted (before the pivot) */
    char error_type[SAGA_TYPE_MAX];           /* [durable] the saga's failure, "" if none */
    char error_message[SAGA_ERRMSG_MAX];      /* [durable] */
    unsigned in_flight;                       /* bit per step the caller is running now */
    unsigned short tries[SAGA_STEP_COUNT];    /* answers per step since (re)start */
    unsigned short failures[SAGA_STEP_COUNT]; /* of those, the ones that count as failures */
    saga_policy_t policy;
} saga_machine_t;

/* The outcome of one attempt of an in-flight step. Strings borrowed for the call. */
typedef enum saga_outcome_kind {
    SAGA_OUT_OK = 0,    /* the step succeeded */
    SAGA_OUT_BUSINESS,  /* refused for good (non-retryable); type says why */
    SAGA_OUT_RETRYABLE, /* this attempt failed retryably: transport, timeout, 5xx, 429, in flight */
    SAGA_OUT_EXHAUSTED  /* the caller retried the step itself and gave up (Temporal's server-side
                           retry policy); what the last attempt said is in type / message */
} saga_outcome_kind_t;

typedef struct saga_outcome {
    saga_outcome_kind_t kind;
    saga_step_t step;
    bool in_flight;   /* RETRYABLE: the answer was 409 IdempotencyInFlight (saga_error_in_flight) */
    const char *type; /* BUSINESS: SAGA_CODE_* / SAGA_TYPE_*; NULL -> InvalidRequest */
    const char *message; /* may be NULL */
} saga_outcome_t;

/* What an outcome turned into, for the caller's trail (orchestrator-pure's saga_step_log). */
typedef enum saga_verdict {
    SAGA_V_NONE = 0, /* no outcome was given (resume, cancel) */
    SAGA_V_DONE,     /* the step succeeded */
    SAGA_V_RETRY,    /* the step runs again (run[] has it, with a delay) */
    SAGA_V_FAILED,   /* the step failed for good: the saga compensates (error_type says why) */
    SAGA_V_SKIPPED,  /* a confirm or compensation refused for good: recorded, skipped */
    SAGA_V_IGNORED   /* the step was not in flight: nothing changed (a caller bug) */
} saga_verdict_t;

#define SAGA_RUN_MAX 3 /* steps in flight at once: the three confirms */

/* One step for the caller to start now: wait delay_ms (0 = at once), then run one attempt of
 * step with Idempotency-Key <sagaId>:<step key> and report it with saga_machine_advance. */
typedef struct saga_run {
    saga_step_t step;
    int attempt;      /* 1 for a step starting, n for its n-th try (since the process started it) */
    int64_t delay_ms; /* backoff before a retry */
} saga_run_t;

typedef struct saga_actions {
    saga_verdict_t verdict; /* what the outcome given turned into */
    bool persist;           /* the [durable] state changed: commit it before run[] starts */
    int nrun;               /* steps to start, in this order (0: wait for those in flight) */
    saga_run_t run[SAGA_RUN_MAX];
    bool finished; /* the saga ended: see saga_machine_phase / saga_machine_result */
} saga_actions_t;

/* A new saga: FORWARD, nothing started, nothing registered. policy NULL -> SAGA_POLICY_DEFAULT.
 * Pure; any thread. */
void saga_machine_init(saga_machine_t *m, const saga_policy_t *policy);

/* A saga whose input is invalid (an order started by a client that skipped the orchestrator's
 * validation) ends before it starts: COMPENSATED with nothing to undo, error type
 * InvalidRequest and `message`. Only on a new saga, before saga_machine_resume. Pure. */
void saga_machine_refuse(saga_machine_t *m, const char *message, saga_actions_t *out);

/* What to run now, from the [durable] state alone: a new saga starts T1 (registering CancelOrder,
 * persist); a reloaded one re-runs the steps it was running, under the same keys (services answer
 * a repeated call from their idempotency record), or, when a cancel was accepted while its
 * forward step ran, compensates at once; a finished one reports finished. Forgets what was in
 * flight and every retry count. Call once after init or after loading, before any outcome. */
void saga_machine_resume(saga_machine_t *m, saga_actions_t *out);

/* Feeds the outcome of one attempt of an in-flight step; out says what to run next. Outcomes of
 * concurrent steps may come in any order, one call each. Pure; any thread (not concurrently on
 * one machine). */
void saga_machine_advance(saga_machine_t *m, const saga_outcome_t *o, saga_actions_t *out);

/* A cancel request. Before the pivot: recorded in cancel_requested (persist) and forward steps
 * stop - the one in flight finishes, then the registered compensations run LIFO and the saga
 * ends COMPENSATED with error type "Cancelled" (at once when no step is in flight). Returns true
 * then, and for a repeated cancel of a saga already cancelling. After the pivot, while
 * compensating for a failure, or once ended it changes nothing and returns false: the caller
 * records it (answers 409, logs it) and the saga goes on. Pure. */
bool saga_machine_cancel(saga_machine_t *m, saga_actions_t *out);

/* ---- reading the state ---------------------------------------------------------------------- */

/* 1 for COMPLETED, COMPENSATED, FAILED. */
bool saga_phase_terminal(saga_phase_t p);
/* "RUNNING" (FORWARD and CONFIRMING: the saga goes forward), "COMPENSATING", "COMPLETED",
 * "COMPENSATED", "FAILED": the status both orchestrators report. */
const char *saga_phase_status(saga_phase_t p);
/* "FORWARD", "CONFIRMING", ... (the persisted name); and back, -1 if unknown. */
const char *saga_phase_name(saga_phase_t p);
int saga_phase_parse(const char *name);

/* The step to report as current: FORWARD the forward step started last, CONFIRMING the first
 * confirm not ended, COMPENSATING the compensation running, SAGA_STEP_NONE once ended. */
saga_step_t saga_machine_step(const saga_machine_t *m);

/* The registered compensations that would still run, top first (none after the pivot or once
 * they ran). Writes at most cap and returns how many. */
int saga_machine_stack(const saga_machine_t *m, saga_step_t *out, int cap);

/* The result of an ended saga (success for COMPLETED) with the ids learned. */
saga_result_t saga_machine_result(const saga_machine_t *m, const saga_state_t *st);

/* 1 when a and b agree on every [durable] field (a caller comparing what it stored). */
bool saga_machine_durable_equal(const saga_machine_t *a, const saga_machine_t *b);

/* How the caller's retries of `step` are bounded (Temporal retry policies). */
saga_retry_class_t saga_step_retry_class(saga_step_t step);

#ifdef __cplusplus
}
#endif
#endif

/* test_saga_machine.c - unit tests of saga_machine.h without I/O: every outcome (success, each
 * business failure, retryable, retries exhausted, cancel) at every step, cancel while each step is
 * in flight and while the confirms run, reloads, and random runs checked against the saga's
 * invariants (LIFO compensations, nothing compensated after the pivot, every run ends). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga_machine.h"

/* forward_attempts 3, delays 100 .. 1000, 2 in-flight answers free, polled every 50 ms */
static const saga_policy_t POLICY = {3, 100, 1000, 2, 50};

static const char *const BUSINESS[] = {SAGA_CODE_OUT_OF_STOCK, SAGA_CODE_INSUFFICIENT_BALANCE,
                                       SAGA_CODE_RESERVATION_CANCELLED,
                                       SAGA_CODE_ILLEGAL_TRANSITION, SAGA_TYPE_INVALID_REQUEST};
#define NBUSINESS (sizeof BUSINESS / sizeof BUSINESS[0])

static const saga_step_t PRE_PIVOT[] = {SAGA_STEP_CREATE_ORDER, SAGA_STEP_RESERVE_STOCK,
                                        SAGA_STEP_CREATE_PAYMENT, SAGA_STEP_APPROVE_PAYMENT};
static const saga_step_t CONFIRMS[] = {SAGA_STEP_CONFIRM_ORDER, SAGA_STEP_CONFIRM_RESERVATION,
                                       SAGA_STEP_CONFIRM_PAYMENT};

/* ---- helpers --------------------------------------------------------------------------------- */

static void start(saga_machine_t *m, saga_actions_t *a)
{
    saga_machine_init(m, &POLICY);
    saga_machine_resume(m, a);
}

static void feed(saga_machine_t *m, saga_step_t s, saga_outcome_kind_t k, const char *type,
                 saga_actions_t *a)
{
    saga_outcome_t o = {k, s, false, type, "detail"};
    saga_machine_advance(m, &o, a);
}

static void ok(saga_machine_t *m, saga_step_t s, saga_actions_t *a)
{
    feed(m, s, SAGA_OUT_OK, NULL, a);
}

static void assert_runs_one(const saga_actions_t *a, saga_step_t s)
{
    assert_int_equal(a->nrun, 1);
    assert_int_equal(a->run[0].step, s);
}

/* A new saga driven to forward step `step` in flight (every earlier one succeeded). */
static void reach(saga_machine_t *m, saga_actions_t *a, saga_step_t step)
{
    start(m, a);
    for (saga_step_t s = SAGA_STEP_CREATE_ORDER; s != step; s = saga_step_next(s))
        ok(m, s, a);
    assert_runs_one(a, step);
}

/* A new saga past the pivot: the three confirms in flight. */
static void reach_confirms(saga_machine_t *m, saga_actions_t *a)
{
    reach(m, a, SAGA_STEP_APPROVE_PAYMENT);
    ok(m, SAGA_STEP_APPROVE_PAYMENT, a);
    assert_int_equal(m->phase, SAGA_PHASE_CONFIRMING);
}

/* Runs the compensations of the plan for `last` with success and checks their LIFO order. */
static void expect_compensations(saga_machine_t *m, saga_actions_t *a, saga_step_t last)
{
    saga_step_t plan[4];
    int n = saga_compensation_plan(last, plan, 4);
    for (int i = 0; i < n; i++) {
        assert_int_equal(m->phase, SAGA_PHASE_COMPENSATING);
        assert_runs_one(a, plan[i]);
        assert_true(a->persist);
        ok(m, plan[i], a);
        assert_int_equal(a->verdict, SAGA_V_DONE);
    }
    assert_true(a->finished);
    assert_int_equal(a->nrun, 0);
    assert_int_equal(m->phase, SAGA_PHASE_COMPENSATED);
}

/* ---- forward steps --------------------------------------------------------------------------- */

static void new_saga_registers_cancel_order_and_starts_create_order(void **state)
{
    (void)state;
    saga_machine_t m;
    saga_actions_t a;
    saga_step_t stack[4];
    start(&m, &a);
    assert_true(a.persist);
    assert_false(a.finished);
    assert_runs_one(&a, SAGA_STEP_CREATE_ORDER);
    assert_int_equal(a.run[0].attempt, 1);
    assert_int_equal(a.run[0].delay_ms, 0);
    assert_int_equal(m.last_forward, SAGA_STEP_CREATE_ORDER);
    assert_int_equal(saga_machine_stack(&m, stack, 4), 1);
    assert_int_equal(stack[0], SAGA_STEP_CANCEL_ORDER);
    assert_int_equal(saga_machine_step(&m), SAGA_STEP_CREATE_ORDER);
    assert_string_equal(saga_phase_status(m.phase), "RUNNING");
}

static void each_forward_success_registers_and_starts_the_next_step(void **state)
{
    (void)state;
    saga_machine_t m;
    saga_actions_t a;
    saga_step_t stack[4];
    start(&m, &a);
    for (int i = 0; i < 3; i++) {
        ok(&m, PRE_PIVOT[i], &a);
        assert_int_equal(a.verdict, SAGA_V_DONE);
        assert_true(a.persist); /* registration and start are one durable transition */
        assert_runs_one(&a, PRE_PIVOT[i + 1]);
        assert_int_equal(m.last_forward, PRE_PIVOT[i + 1]);
        assert_int_equal(saga_machine_stack(&m, stack, 4),
                         saga_compensation_plan(PRE_PIVOT[i + 1], stack, 4));
    }
}

static void the_pivot_starts_all_three_confirms_at_once(void **state)
{
    (void)state;
    saga_machine_t m;
    saga_actions_t a;
    saga_step_t stack[4];
    reach(&m, &a, SAGA_STEP_APPROVE_PAYMENT);
    ok(&m, SAGA_STEP_APPROVE_PAYMENT, &a);
    assert_true(a.persist);
    assert_int_equal(a.nrun, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(a.run[i].step, CONFIRMS[i]);
        assert_int_equal(a.run[i].delay_ms, 0);
    }
    assert_int_equal(m.phase, SAGA_PHASE_CONFIRMING);
    assert_int_equal(saga_machine_stack(&m, stack, 4), 0); /* nothing compensates any more */
    assert_string_equal(saga_phase_status(m.phase), "RUNNING");
}

static void confirms_end_in_any_order_then_the_saga_completes(void **state)
{
    (void)state;
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int o = 0; o < 6; o++) {
        saga_machine_t m;
        saga_actions_t a;
        reach_confirms(&m, &a);
        for (int i = 0; i < 3; i++) {
            saga_step_t s = CONFIRMS[orders[o][i]], first = SAGA_STEP_NONE;
            for (int c = 2; c >= 0; c--)
                if (!(m.done & (1u << CONFIRMS[c])))
                    first = CONFIRMS[c];
            assert_int_equal(saga_machine_step(&m), first); /* reported: first not ended */
            ok(&m, s, &a);
            assert_int_equal(a.verdict, SAGA_V_DONE);
            assert_int_equal(a.nrun, 0); /* the others are still in flight: wait */
            assert_int_equal(a.finished, i == 2);
        }
        assert_int_equal(m.phase, SAGA_PHASE_COMPLETED);
        saga_state_t st = {10, 7};
        saga_result_t r = saga_machine_result(&m, &st);
        assert_true(r.success);
        assert_int_equal(r.st.payment_id, 7);
    }
}

static void business_failure_of_each_forward_step_compensates_lifo(void **state)
{
    (void)state;
    for (size_t k = 0; k < 4; k++)
        for (size_t t = 0; t < NBUSINESS; t++) {
            saga_machine_t m;
            saga_actions_t a;
            reach(&m, &a, PRE_PIVOT[k]);
            feed(&m, PRE_PIVOT[k], SAGA_OUT_BUSINESS, BUSINESS[t], &a);
            assert_int_equal(a.verdict, SAGA_V_FAILED);
            assert_string_equal(m.error_type, BUSINESS[t]);
            assert_string_equal(m.error_message, "detail");
            expect_compensations(&m, &a, PRE_PIVOT[k]);
            assert_string_equal(m.error_type, BUSINESS[t]);
            assert_false(saga_machine_result(&m, NULL).success);
        }
}

static void business_failure_without_a_type_is_invalid_request(void **state)
{
    (void)state;
    saga_machine_t m;
    saga_actions_t a;
    reach(&m, &a, SAGA_STEP_RESERVE_STOCK);
    feed(&m, SAGA_STEP_RESERVE_STOCK, SAGA_OUT_BUSINESS, NULL, &a);
    assert_string_equal(m.error_type, SAGA_TYPE_INVALID_REQUEST);
}

static void retryable_forward_step_backs_off_then_runs_out_of_attempts(void **state)
{
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        saga_machine_t m;
        saga_actions_t a;
        reach(&m, &a, PRE_PIVOT[k]);
        feed(&m, PRE_PIVOT[k], SAGA_OUT_RETRYABLE, NULL, &a);
        assert_int_equal(a.verdict, SAGA_V_RETRY);
        assert_false(a.persist); /* a retry changes nothing durable */
        assert_runs_one(&a, PRE_PIVOT[k]);
        assert_int_equal(a.run[0].attempt, 2);
        assert_int_equal(a.run[0].delay_ms, 100);
        feed(&m, PRE_PIVOT[k], SAGA_OUT_RETRYABLE, NULL, &a);
        assert_int_equal(a.run[0].attempt, 3);
        assert_int_equal(a.run[0].delay_ms, 200);
        feed(&m, PRE_PIVOT[k], SAGA_OUT_RETRYABLE, NULL, &a);
        assert_int_equal(a.verdict, SAGA_V_FAILED);
        assert_string_equal(m.error_type, SAGA_TYPE_RETRIES_EXHAUSTED);
        expect_compensations(&m, &a, PRE_PIVOT[k]);
    }
}

static void retryable_then_success_goes_on(void **state)
{
    (void)state;
    saga_machine_t m;
    saga_actions_t a;
    reach(&m, &a, SAGA_STEP_CREATE_PAYMENT);
    feed(&m, SAGA_STEP_CREATE_PAYMENT, SAGA_OUT_RETRYABLE, NULL, &a);
    ok(&m, SAGA_STEP_CREATE_PAYMENT, &a);
    assert_runs_one(&a, SAGA_STEP_APPROVE_PAYMENT);
    assert_int_equal(a.run[0].attempt, 1);
}

static void exhausted_outcome_of_each_forward_step_compensates(void **state)
{
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        saga_machine_t m;
        saga_actions_t a;
        reach(&m, &a, PRE_PIVOT[k]);
        feed(&m, PRE_PIVOT[k], SAGA_OUT_EXHAUSTED, SAGA_TYPE_RETRYABLE, &a);
        assert_int_equal(a.verdict, SAGA_V_FAILED);
        assert_string_equal(m.error_type, SAGA_TYPE_RETRIES_EXHAUSTED);
        expect_compensations(&m, &a, PRE_PIVOT[k]);
    }
}

static void in_flight_twin_is_polled_and_counts_only_past_the_limit(void **state)
{
    (void)state;
    saga_machine_t m;
    saga_actions_t a;
    saga_outcome_t twin = {SAGA_OUT_RETRYABLE, SAGA_STEP_RESERVE_STOCK, true, NULL, "in flight"};
    reach(&m, &a, SAGA_STEP_RESERVE_STOCK);
    /* answers 1 and 2 are free (in_flight_waits 2); 3, 4 count; the 5th is the 3rd failure */
    for (int i = 1; i <= 4; i++) {
        saga_machine_advance(&m, &twin, &a);
        assert_int_equal(a.verdict, SAGA_V_RETRY);
        assert_true(a.run[0].delay_ms <= 50);
    }
    saga_machine_advance(&m, &twin, &a);
    assert_int_equal(a.verdict, SAGA_V_FAILED);
    assert_string_equal(m.error_type, SAGA_TYPE_RETRIES_EXHAUSTED);
}

/* ---- confirms -------------------------------------------------------------------------------- */

static void confirm_is_retried_until_it_succeeds_while_the_others_end(void **state)
{
    (void)state;
    saga_machine_t m;
    saga_actions_t a;
    reach_confirms(&m, &a);
    ok(&m, SAGA_STEP_CONFIRM_ORDER, &a);
    ok(&m, SAGA_STEP_CONFIRM_PAYMENT, &a);
    for (int i = 1; i <= 40; i++) {
        feed(&m, SAGA_STEP_CONFIRM_RESERVATION, SAGA_OUT_RETRYABLE, NULL, &a);
        assert_int_equal(a.verdict, SAGA_V_RETRY);
        assert_runs_one(&a, SAGA_STEP_CONFIRM_RESERVATION);
        assert_true(a.run[0].delay_ms >= 100 && a.run[0].delay_ms <= 1000);
        assert_int_equal(saga_machine_step(&m), SAGA_STEP_CONFIRM_RESERVATION);
    }
    assert_int_equal(a.run[0].delay_ms, 1000);
    ok(&m, SAGA_STEP_CONFIRM_RESERVATION, &a);
    assert_true(a.finished);
    assert_int_equal(m.phase, SAGA_PHASE_COMPLETED);
}

static void confirm_refused_for_good_is_skipped_and_nothing_compensates(void **state)
{
    (void)state;
    for (int c = 0; c < 3; c++)
        for (int exhausted = 0; exhausted < 2; exhausted++) {
            saga_machine_t m;
            saga_actions_t a;
            reach_confirms(&m, &a);
            feed(&m, CONFIRMS[c], exhausted ? SAGA_OUT_EXHAUSTED : SAGA_OUT_BUSINESS,
                 SAGA_CODE_ILLEGAL_TRANSITION, &a);
            assert_int_equal(a.verdict, SAGA_V_SKIPPED);
            assert_true(a.persist);
            assert_int_equal(a.nrun, 0);
            for (int o = 0; o < 3; o++)
                if (o != c) {
                    ok(&m, CONFIRMS[o], &a);
                    assert_int_equal(a.nrun, 0); /* no compensation, ever */
                }
            assert_true(a.finished);
            assert_int_equal(m.phase, SAGA_PHASE_FAILED);
            assert_string_equal(m.error_type, exhausted ? SAGA_TYPE_RETRIES_EXHAUSTED
                                                        : SAGA_CODE_ILLEGAL_TRANSITION);
            assert_true(m.refused & (1u << CONFIRMS[c]));
            assert_false(saga_machine_result(&m, NULL).success);
        }
}

/* ---- compensations --------------------------------------------------------------------------- */

static void compensation_is_retried_until_it_succeeds(void **state)
{
    (void)state;
    saga_machine_t m;
    saga_actions_t a;
    reach(&m, &a, SAGA_STEP_APPROVE_PAYMENT);
    feed(&m, SAGA_STEP_APPROVE_PAYMENT, SAGA_OUT_BUSINESS, SAGA_CODE_INSUFFICIENT_BALANCE, &a);
    assert_runs_one(&a, SAGA_STEP_REFUND_PAYMENT);
    for (int i = 0; i < 20; i++) {
        feed(&m, SAGA_STEP_REFUND_PAYMENT, SAGA_OUT_RETRYABLE, NULL, &a);
        assert_int_equal(a.verdict, SAGA_V_RETRY);
        assert_runs_one(&a, SAGA_STEP_REFUND_PAYMENT);
    }
    ok(&m, SAGA_STEP_REFUND_PAYMENT, &a);
    assert_runs_one(&a, SAGA_STEP_CANCEL_RESERVATION);
}

static void compensation_refused_for_good_is_skipped_and_the_rest_run(void **state)
{
    (void)state;
    for (int refused = 0; refused < 3; refused++)
        for (int exhausted = 0; exhausted < 2; exhausted++) {
            saga_machine_t m;
            saga_actions_t a;
            saga_step_t plan[3];
            reach(&m, &a, SAGA_STEP_APPROVE_PAYMENT);
            feed(&m, SAGA_STEP_APPROVE_PAYMENT, SAGA_OUT_BUSINESS, SAGA_CODE_INSUFFICIENT_BALANCE,
                 &a);
            saga_compensation_plan(SAGA_STEP_APPROVE_PAYMENT, plan, 3);
            for (int i = 0; i < 3; i++) {
                assert_runs_one(&a, plan[i]);
                assert_int_equal(saga_machine_step(&m), plan[i]);
                if (i == refused) {
                    feed(&m, plan[i], exhausted ? SAGA_OUT_EXHAUSTED : SAGA_OUT_BUSINESS,
                         SAGA_CODE_ILLEGAL_TRANSITION, &a);
                    assert_int_equal(a.verdict, SAGA_V_SKIPPED);
                } else {
                    ok(&m, plan[i], &a);
                }
            }
            assert_true(a.finished);
            assert_int_equal(m.phase, SAGA_PHASE_COMPENSATED);
            /* the saga's failure stays the forward step's */
            assert_string_equal(m.error_type, SAGA_CODE_INSUFFICIENT_BALANCE);
            assert_true(m.refused & (1u << plan[refused]));
        }
}

/* ---- cancellation ---------------------------------------------------------------------------- */

static void cancel_while_each_forward_step_runs_stops_and_compensates(void **state)
{
    (void)state;
    const saga_outcome_kind_t kinds[] = {SAGA_OUT_OK, SAGA_OUT_BUSINESS, SAGA_OUT_RETRYABLE,
                                         SAGA_OUT_EXHAUSTED};
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            saga_machine_t m;
            saga_actions_t a;
            reach(&m, &a, PRE_PIVOT[k]);
            assert_true(saga_machine_cancel(&m, &a));
            assert_true(a.persist);
            assert_int_equal(a.nrun, 0); /* the step in flight finishes first */
            assert_true(m.cancel_requested);
            assert_true(saga_machine_cancel(&m, &a)); /* a repeat changes nothing */
            assert_false(a.persist);
            feed(&m, PRE_PIVOT[k], kinds[i], SAGA_CODE_OUT_OF_STOCK, &a);
            assert_int_equal(a.verdict, kinds[i] == SAGA_OUT_OK ? SAGA_V_DONE : SAGA_V_FAILED);
            assert_string_equal(m.error_type, SAGA_TYPE_CANCELLED);
            /* even an approved payment is refunded: the cancel came before the pivot */
            expect_compensations(&m, &a, PRE_PIVOT[k]);
            assert_string_equal(m.error_type, SAGA_TYPE_CANCELLED);
        }
}

static void cancel_while_a_retry_waits_compensates_instead_of_retrying(void **state)
{
    (void)state;
    saga_machine_t m;
    saga_actions_t a;
    reach(&m, &a, SAGA_STEP_RESERVE_STOCK);
    feed(&m, SAGA_STEP_RESERVE_STOCK, SAGA_OUT_RETRYABLE, NULL, &a);
    assert_runs_one(&a, SAGA_STEP_RESERVE_STOCK); /* the retry is in flight from here */
    assert_true(saga_machine_cancel(&m, &a));
    feed(&m, SAGA_STEP_RESERVE_STOCK, SAGA_OUT_RETRYABLE, NULL, &a);
    assert_runs_one(&a, SAGA_STEP_CANCEL_RESERVATION);
}

static void cancel_with_nothing_in_flight_compensates_at_once(void **state)
{
    (void)state;
    saga_machine_t m, loaded;
    saga_actions_t a;
    reach(&m, &a, SAGA_STEP_CREATE_PAYMENT);
    /* The saga as stored: nothing of this process is in flight. */
    saga_machine_init(&loaded, &POLICY);
    loaded.phase = m.phase;
    loaded.last_forward = m.last_forward;
    assert_true(saga_machine_cancel(&loaded, &a));
    assert_true(a.persist);
    assert_runs_one(&a, SAGA_STEP_REFUND_PAYMENT);
    assert_string_equal(loaded.error_type, SAGA_TYPE_CANCELLED);
    saga_machine_init(&loaded, &POLICY);
    assert_true(saga_machine_cancel(&loaded, &a)); /* not even started: nothing to undo */
    assert_true(a.finished);
    assert_int_equal(loaded.phase, SAGA_PHASE_COMPENSATED);
}

static void cancel_after_the_pivot_changes_nothing(void **state)
{
    (void)state;
    for (int ended = 0; ended <= 3; ended++) {
        saga_machine_t m, before;
        saga_actions_t a;
        reach_confirms(&m, &a);
        for (int i = 0; i < ended; i++)
            ok(&m, CONFIRMS[i], &a);
        before = m;
        assert_false(saga_machine_cancel(&m, &a));
        assert_false(a.persist);
        assert_int_equal(a.nrun, 0);
        assert_memory_equal(&m, &before, sizeof m);
        for (int i = ended; i < 3; i++)
            ok(&m, CONFIRMS[i], &a);
        assert_int_equal(m.phase, SAGA_PHASE_COMPLETED);
        assert_false(saga_machine_cancel(&m, &a)); /* ended */
    }
}

static void cancel_while_compensating_a_failure_changes_nothing(void **state)
{
    (void)state;
    saga_machine_t m, before;
    saga_actions_t a, c;
    reach(&m, &a, SAGA_STEP_RESERVE_STOCK);
    feed(&m, SAGA_STEP_RESERVE_STOCK, SAGA_OUT_BUSINESS, SAGA_CODE_OUT_OF_STOCK, &a);
    before = m;
    assert_false(saga_machine_cancel(&m, &c));
    assert_false(c.persist);
    assert_int_equal(c.nrun, 0);
    assert_memory_equal(&m, &before, sizeof m);
    expect_compensations(&m, &a, SAGA_STEP_RESERVE_STOCK);
    assert_string_equal(m.error_type, SAGA_CODE_OUT_OF_STOCK);
    /* a cancelled saga: repeating the cancel while it compensates is accepted */
    reach(&m, &a, SAGA_STEP_RESERVE_STOCK);
    saga_machine_cancel(&m, &a);
    ok(&m, SAGA_STEP_RESERVE_STOCK, &a);
    assert_true(saga_machine_cancel(&m, &c));
    assert_false(c.persist);
}

/* ---- reloads and odd inputs ------------------------------------------------------------------ */

/* The durable fields only, as orchestrator-pure stores them. */
static saga_machine_t reload(const saga_machine_t *m)
{
    saga_machine_t r;
    saga_machine_init(&r, &POLICY);
    r.phase = m->phase;
    r.last_forward = m->last_forward;
    r.comp_done = m->comp_done;
    r.done = m->done;
    r.refused = m->refused;
    r.cancel_requested = m->cancel_requested;
    memcpy(r.error_type, m->error_type, sizeof r.error_type);
    memcpy(r.error_message, m->error_message, sizeof r.error_message);
    return r;
}

static void resume_reruns_what_the_saga_was_running(void **state)
{
    (void)state;
    saga_machine_t m, r;
    saga_actions_t a;
    reach(&m, &a, SAGA_STEP_CREATE_PAYMENT);
    r = reload(&m);
    saga_machine_resume(&r, &a);
    assert_false(a.persist);
    assert_runs_one(&a, SAGA_STEP_CREATE_PAYMENT);

    reach_confirms(&m, &a);
    ok(&m, SAGA_STEP_CONFIRM_RESERVATION, &a);
    r = reload(&m);
    saga_machine_resume(&r, &a);
    assert_int_equal(a.nrun, 2); /* only the confirms not ended */
    assert_int_equal(a.run[0].step, SAGA_STEP_CONFIRM_ORDER);
    assert_int_equal(a.run[1].step, SAGA_STEP_CONFIRM_PAYMENT);

    reach(&m, &a, SAGA_STEP_APPROVE_PAYMENT);
    feed(&m, SAGA_STEP_APPROVE_PAYMENT, SAGA_OUT_BUSINESS, SAGA_CODE_INSUFFICIENT_BALANCE, &a);
    ok(&m, SAGA_STEP_REFUND_PAYMENT, &a);
    r = reload(&m);
    saga_machine_resume(&r, &a);
    assert_false(a.persist);
    assert_runs_one(&a, SAGA_STEP_CANCEL_RESERVATION);

    ok(&r, SAGA_STEP_CANCEL_RESERVATION, &a);
    ok(&r, SAGA_STEP_CANCEL_ORDER, &a);
    m = reload(&r);
    saga_machine_resume(&m, &a);
    assert_true(a.finished);
    assert_int_equal(a.nrun, 0);
}

static void resume_of_a_cancel_accepted_mid_step_compensates(void **state)
{
    (void)state;
    saga_machine_t m, r;
    saga_actions_t a;
    reach(&m, &a, SAGA_STEP_APPROVE_PAYMENT);
    saga_machine_cancel(&m, &a);
    r = reload(&m); /* the process died before ApprovePayment answered */
    saga_machine_resume(&r, &a);
    assert_true(a.persist);
    assert_runs_one(&a, SAGA_STEP_REFUND_PAYMENT);
    assert_string_equal(r.error_type, SAGA_TYPE_CANCELLED);
}

static void invalid_input_ends_the_saga_before_it_starts(void **state)
{
    (void)state;
    saga_machine_t m, before;
    saga_actions_t a;
    saga_machine_init(&m, &POLICY);
    saga_machine_refuse(&m, "'quantity' is required", &a);
    assert_true(a.finished);
    assert_int_equal(a.nrun, 0);
    assert_int_equal(m.phase, SAGA_PHASE_COMPENSATED);
    assert_string_equal(m.error_type, SAGA_TYPE_INVALID_REQUEST);
    assert_string_equal(m.error_message, "'quantity' is required");
    reach(&m, &a, SAGA_STEP_RESERVE_STOCK); /* a saga that started cannot be refused */
    before = m;
    saga_machine_refuse(&m, "late", &a);
    assert_false(a.finished);
    assert_memory_equal(&m, &before, sizeof m);
}

static void outcome_of_a_step_not_in_flight_is_ignored(void **state)
{
    (void)state;
    saga_machine_t m, before;
    saga_actions_t a;
    reach(&m, &a, SAGA_STEP_RESERVE_STOCK);
    before = m;
    ok(&m, SAGA_STEP_CONFIRM_ORDER, &a);
    assert_int_equal(a.verdict, SAGA_V_IGNORED);
    ok(&m, SAGA_STEP_CREATE_ORDER, &a); /* answered already */
    assert_int_equal(a.verdict, SAGA_V_IGNORED);
    ok(&m, SAGA_STEP_NONE, &a);
    assert_int_equal(a.verdict, SAGA_V_IGNORED);
    assert_memory_equal(&m, &before, sizeof m);
}

static void phase_names_round_trip_and_statuses(void **state)
{
    (void)state;
    for (int p = 0; p < SAGA_PHASE_COUNT; p++)
        assert_int_equal(saga_phase_parse(saga_phase_name((saga_phase_t)p)), p);
    assert_int_equal(saga_phase_parse("BOGUS"), -1);
    assert_int_equal(saga_phase_parse(NULL), -1);
    assert_string_equal(saga_phase_status(SAGA_PHASE_CONFIRMING), "RUNNING");
    assert_string_equal(saga_phase_status(SAGA_PHASE_FAILED), "FAILED");
    assert_true(saga_phase_terminal(SAGA_PHASE_FAILED));
    assert_false(saga_phase_terminal(SAGA_PHASE_COMPENSATING));
}

static void retry_class_bounds_only_the_steps_before_the_pivot(void **state)
{
    (void)state;
    for (int s = 0; s < SAGA_STEP_COUNT; s++)
        assert_int_equal(saga_step_retry_class((saga_step_t)s), s <= SAGA_STEP_APPROVE_PAYMENT
                                                                    ? SAGA_RETRY_LIMITED
                                                                    : SAGA_RETRY_UNTIL_DONE);
}

/* ---- random runs ----------------------------------------------------------------------------- */

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (unsigned)(g_rng % n);
}

typedef struct trace {
    saga_step_t inflight[8]; /* steps the driver was asked to run and has not answered */
    int ninflight;
    saga_step_t ended_comps[8]; /* compensations that ended (done or skipped), in order */
    int nended;
    saga_step_t highest_forward; /* the last forward step up to the pivot ever started */
    int pivot;                   /* ApprovePayment succeeded with no cancel before it */
    int cancelled;               /* a cancel was accepted */
    int confirm_refused;
    int forward_after_cancel; /* a forward step started after a cancel was accepted */
} trace_t;

static void take(trace_t *t, const saga_machine_t *m, const saga_actions_t *a)
{
    int forward_running = 0;
    for (int i = 0; i < a->nrun; i++) {
        saga_step_t s = a->run[i].step;
        assert_true(t->ninflight < 8);
        t->inflight[t->ninflight++] = s;
        if (saga_step_is_forward(s)) {
            if (!saga_step_after_pivot(s) && (int)s > (int)t->highest_forward)
                t->highest_forward = s;
            if (t->cancelled && !saga_step_after_pivot(s))
                t->forward_after_cancel = 1;
        } else {
            /* registered before it runs: the compensation of a forward step already started */
            saga_step_t plan[3];
            int n = saga_compensation_plan(t->highest_forward, plan, 3), found = 0;
            for (int j = 0; j < n; j++)
                found |= plan[j] == s;
            assert_true(found);
            assert_false(t->pivot); /* nothing after the pivot compensates */
        }
    }
    for (int i = 0; i < t->ninflight; i++)
        forward_running += !saga_step_after_pivot(t->inflight[i]);
    /* only the confirms ever run side by side */
    assert_true(t->ninflight <= SAGA_RUN_MAX);
    if (m->phase != SAGA_PHASE_CONFIRMING)
        assert_true(t->ninflight <= 1 || forward_running == 0);
}

static saga_outcome_kind_t random_kind(int tries)
{
    unsigned r = rnd(100);
    if (tries >= 6)
        return r < 80 ? SAGA_OUT_OK : SAGA_OUT_BUSINESS; /* every step ends eventually */
    return r < 55   ? SAGA_OUT_OK
           : r < 85 ? SAGA_OUT_RETRYABLE
           : r < 95 ? SAGA_OUT_BUSINESS
                    : SAGA_OUT_EXHAUSTED;
}

/* One random run checked against the invariants; returns how it ended (COMPENSATED runs that
 * were cancelled count as SAGA_PHASE_COUNT). */
static int random_run(void)
{
    saga_machine_t m;
    saga_actions_t a;
    trace_t t = {.highest_forward = SAGA_STEP_NONE};
    int tries[SAGA_STEP_COUNT] = {0};
    int events = 0;
    start(&m, &a);
    take(&t, &m, &a);
    while (!a.finished) {
        assert_true(++events < 10000); /* every run ends */
        unsigned dice = rnd(100);
        if (dice < 4) {
            int pre = m.phase == SAGA_PHASE_FORWARD;
            int accepted = saga_machine_cancel(&m, &a);
            assert_int_equal(accepted, pre || (m.phase == SAGA_PHASE_COMPENSATING && t.cancelled));
            t.cancelled |= accepted;
            take(&t, &m, &a);
            continue;
        }
        if (dice < 7) { /* the process dies: only the durable state survives */
            m = reload(&m);
            t.ninflight = 0;
            saga_machine_resume(&m, &a);
            take(&t, &m, &a);
            continue;
        }
        assert_true(t.ninflight > 0); /* not finished: something must be in flight */
        int pick = (int)rnd((unsigned)t.ninflight);
        saga_step_t s = t.inflight[pick];
        t.inflight[pick] = t.inflight[--t.ninflight];
        saga_outcome_kind_t k = random_kind(tries[s]++);
        const char *type = k == SAGA_OUT_BUSINESS ? BUSINESS[rnd(NBUSINESS)] : NULL;
        saga_phase_t before = m.phase;
        feed(&m, s, k, type, &a);
        assert_int_not_equal(a.verdict, SAGA_V_IGNORED);
        if (s == SAGA_STEP_APPROVE_PAYMENT && k == SAGA_OUT_OK && !t.cancelled)
            t.pivot = 1;
        if (before == SAGA_PHASE_CONFIRMING && a.verdict == SAGA_V_SKIPPED)
            t.confirm_refused = 1;
        if (!saga_step_is_forward(s) && (a.verdict == SAGA_V_DONE || a.verdict == SAGA_V_SKIPPED))
            t.ended_comps[t.nended++] = s;
        take(&t, &m, &a);
    }
    /* How it ended follows from what happened. */
    assert_false(t.forward_after_cancel);
    if (t.pivot) {
        assert_int_equal(t.nended, 0);
        assert_int_equal(m.phase, t.confirm_refused ? SAGA_PHASE_FAILED : SAGA_PHASE_COMPLETED);
    } else {
        saga_step_t plan[3];
        int n = saga_compensation_plan(t.highest_forward, plan, 3);
        assert_int_equal(m.phase, SAGA_PHASE_COMPENSATED);
        assert_int_equal(t.nended, n); /* exactly the LIFO of what was registered */
        for (int i = 0; i < n; i++)
            assert_int_equal(t.ended_comps[i], plan[i]);
        if (t.cancelled)
            assert_string_equal(m.error_type, SAGA_TYPE_CANCELLED);
    }
    assert_int_equal(m.last_forward, t.highest_forward);
    return t.cancelled ? SAGA_PHASE_COUNT : (int)m.phase;
}

static void random_runs_end_with_lifo_compensations_and_none_after_the_pivot(void **state)
{
    (void)state;
    int ends[SAGA_PHASE_COUNT + 1] = {0};
    for (int i = 0; i < 20000; i++)
        ends[random_run()]++;
    /* the runs reached every ending, so the checks above were exercised on each */
    assert_true(ends[SAGA_PHASE_COMPLETED] > 100);
    assert_true(ends[SAGA_PHASE_COMPENSATED] > 100);
    assert_true(ends[SAGA_PHASE_FAILED] > 100);
    assert_true(ends[SAGA_PHASE_COUNT] > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_saga_registers_cancel_order_and_starts_create_order),
        cmocka_unit_test(each_forward_success_registers_and_starts_the_next_step),
        cmocka_unit_test(the_pivot_starts_all_three_confirms_at_once),
        cmocka_unit_test(confirms_end_in_any_order_then_the_saga_completes),
        cmocka_unit_test(business_failure_of_each_forward_step_compensates_lifo),
        cmocka_unit_test(business_failure_without_a_type_is_invalid_request),
        cmocka_unit_test(retryable_forward_step_backs_off_then_runs_out_of_attempts),
        cmocka_unit_test(retryable_then_success_goes_on),
        cmocka_unit_test(exhausted_outcome_of_each_forward_step_compensates),
        cmocka_unit_test(in_flight_twin_is_polled_and_counts_only_past_the_limit),
        cmocka_unit_test(confirm_is_retried_until_it_succeeds_while_the_others_end),
        cmocka_unit_test(confirm_refused_for_good_is_skipped_and_nothing_compensates),
        cmocka_unit_test(compensation_is_retried_until_it_succeeds),
        cmocka_unit_test(compensation_refused_for_good_is_skipped_and_the_rest_run),
        cmocka_unit_test(cancel_while_each_forward_step_runs_stops_and_compensates),
        cmocka_unit_test(cancel_while_a_retry_waits_compensates_instead_of_retrying),
        cmocka_unit_test(cancel_with_nothing_in_flight_compensates_at_once),
        cmocka_unit_test(cancel_after_the_pivot_changes_nothing),
        cmocka_unit_test(cancel_while_compensating_a_failure_changes_nothing),
        cmocka_unit_test(resume_reruns_what_the_saga_was_running),
        cmocka_unit_test(resume_of_a_cancel_accepted_mid_step_compensates),
        cmocka_unit_test(invalid_input_ends_the_saga_before_it_starts),
        cmocka_unit_test(outcome_of_a_step_not_in_flight_is_ignored),
        cmocka_unit_test(phase_names_round_trip_and_statuses),
        cmocka_unit_test(retry_class_bounds_only_the_steps_before_the_pivot),
        cmocka_unit_test(random_runs_end_with_lifo_compensations_and_none_after_the_pivot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

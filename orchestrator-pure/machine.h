/* machine.h - the pure orchestrator's saga state machine as a pure transition function.
 * No I/O: orchestrator.c runs the step a position names and persists what this returns. */
#ifndef ORCH_MACHINE_H
#define ORCH_MACHINE_H

#include "saga.h"

typedef enum machine_status {
    MS_RUNNING = 0,  /* running forward step `step` */
    MS_COMPENSATING, /* running compensation `step` (= plan[comp_index]) */
    MS_COMPLETED,    /* terminal: every forward step succeeded */
    MS_COMPENSATED   /* terminal: a forward step failed, every compensation has run */
} machine_status_t;

typedef enum machine_outcome {
    MO_OK = 0, /* the step succeeded */
    MO_FAILED  /* business failure, or a forward step out of retries */
} machine_outcome_t;

/* Where a saga is. last_forward = index of the last forward step started (its compensation is
 * registered), -1 before any. comp_index = position in saga_compensation_plan(last_forward). */
typedef struct machine_pos {
    machine_status_t status;
    saga_step_t step;
    int last_forward;
    int comp_index;
} machine_pos_t;

/* The position of a new saga: RUNNING CreateOrder, its compensation already registered. */
machine_pos_t machine_start(void);

/* The position after `pos.step` ended with `outcome`:
 *  RUNNING + OK      -> next forward step (last_forward advances: its compensation is registered
 *                       in the same commit that starts it), or COMPLETED after ConfirmPayment.
 *  RUNNING + FAILED  -> COMPENSATING at plan[0], or COMPENSATED if the plan is empty.
 *  COMPENSATING + *  -> plan[comp_index + 1], or COMPENSATED after the last one. A compensation
 *                       is retried until it succeeds; FAILED here means the service refused it
 *                       for good (recorded) and the saga moves on.
 *  terminal          -> unchanged. Pure; any thread. */
machine_pos_t machine_advance(machine_pos_t pos, machine_outcome_t outcome);

/* 1 for COMPLETED / COMPENSATED. */
int machine_is_terminal(machine_status_t s);

/* "RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED"; and back (-1 if unknown). */
const char *machine_status_name(machine_status_t s);
int machine_status_parse(const char *s);

#endif

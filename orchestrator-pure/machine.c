/* machine.c - transition function of the pure orchestrator's saga state machine.
 * Pure and table-driven from saga.h; must not do I/O. */
#include "machine.h"

#include <string.h>

static const char *const NAMES[] = {"RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED"};

machine_pos_t machine_start(void)
{
    machine_pos_t p = {MS_RUNNING, SAGA_STEP_CREATE_ORDER, (int)SAGA_STEP_CREATE_ORDER, 0};
    return p;
}

static machine_pos_t compensate_from(machine_pos_t pos, int index)
{
    saga_step_t plan[SAGA_STEP_COUNT];
    int n = saga_compensation_plan((saga_step_t)pos.last_forward, plan, SAGA_STEP_COUNT);
    pos.comp_index = index;
    if (index >= n) {
        pos.status = MS_COMPENSATED;
        pos.step = SAGA_STEP_NONE;
        return pos;
    }
    pos.status = MS_COMPENSATING;
    pos.step = plan[index];
    return pos;
}

machine_pos_t machine_advance(machine_pos_t pos, machine_outcome_t outcome)
{
    switch (pos.status) {
    case MS_RUNNING:
        if (outcome == MO_FAILED)
            return compensate_from(pos, 0);
        pos.step = saga_step_next(pos.step);
        if (pos.step == SAGA_STEP_NONE) {
            pos.status = MS_COMPLETED;
            return pos;
        }
        if ((int)pos.step > pos.last_forward)
            pos.last_forward = (int)pos.step;
        return pos;
    case MS_COMPENSATING: return compensate_from(pos, pos.comp_index + 1);
    default: return pos;
    }
}

int machine_is_terminal(machine_status_t s)
{
    return s == MS_COMPLETED || s == MS_COMPENSATED;
}

const char *machine_status_name(machine_status_t s)
{
    return (int)s >= 0 && (int)s < 4 ? NAMES[s] : "UNKNOWN";
}

int machine_status_parse(const char *s)
{
    for (int i = 0; s != NULL && i < 4; i++)
        if (strcmp(s, NAMES[i]) == 0)
            return i;
    return -1;
}

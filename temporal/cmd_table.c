/* cmd_table.c - the table of history event types: which command family handles each one.
 * Adding a command family = one cmd_<family>.c and one line in k_families; must not hold any
 * family's logic itself. */
#include "cmd_families.h"

#include <pthread.h>

#define MAX_EVENT_TYPE 128

/* A rule that gives an event type only its role: no command, initiator or handlers. */
#define ROLE_ONLY(x, r)                     \
    {                                       \
        .event_type = TC_ET(x), .role = (r) \
    }

/* Families that later work builds on this runtime: until then a history holding their events
 * fails the workflow task with "not supported yet: <type>" instead of being misread. */
static const tc_event_rule k_unsupported_rules[] = {
    ROLE_ONLY(NEXUS_OPERATION_SCHEDULED, EV_UNSUPPORTED),
    ROLE_ONLY(NEXUS_OPERATION_STARTED, EV_UNSUPPORTED),
    ROLE_ONLY(NEXUS_OPERATION_COMPLETED, EV_UNSUPPORTED),
    ROLE_ONLY(NEXUS_OPERATION_FAILED, EV_UNSUPPORTED),
    ROLE_ONLY(NEXUS_OPERATION_CANCELED, EV_UNSUPPORTED),
    ROLE_ONLY(NEXUS_OPERATION_TIMED_OUT, EV_UNSUPPORTED),
    ROLE_ONLY(NEXUS_OPERATION_CANCEL_REQUESTED, EV_UNSUPPORTED),
    ROLE_ONLY(NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED, EV_UNSUPPORTED),
    ROLE_ONLY(NEXUS_OPERATION_CANCEL_REQUEST_FAILED, EV_UNSUPPORTED),
};
static const tc_cmd_family k_unsupported = {
    "unsupported", k_unsupported_rules, sizeof k_unsupported_rules / sizeof k_unsupported_rules[0]};

/* Events about the run itself, handled by run_events.c, and events the code never observes. */
static const tc_event_rule k_workflow_rules[] = {
    ROLE_ONLY(WORKFLOW_EXECUTION_STARTED, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_TASK_SCHEDULED, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_TASK_STARTED, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_TASK_COMPLETED, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_TASK_TIMED_OUT, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_TASK_FAILED, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_EXECUTION_SIGNALED, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_EXECUTION_CANCEL_REQUESTED, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_EXECUTION_TERMINATED, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_EXECUTION_TIMED_OUT, EV_WORKFLOW),
    ROLE_ONLY(WORKFLOW_PROPERTIES_MODIFIED_EXTERNALLY, EV_IGNORE),
    ROLE_ONLY(ACTIVITY_PROPERTIES_MODIFIED_EXTERNALLY, EV_IGNORE),
    ROLE_ONLY(WORKFLOW_EXECUTION_OPTIONS_UPDATED, EV_IGNORE),
    ROLE_ONLY(WORKFLOW_EXECUTION_PAUSED, EV_IGNORE),
};
static const tc_cmd_family k_workflow = {"workflow", k_workflow_rules,
                                         sizeof k_workflow_rules / sizeof k_workflow_rules[0]};

static const tc_cmd_family *const k_families[] = {
    &k_workflow,
    &tc_family_activity,
    &tc_family_timer,
    &tc_family_marker,
    &tc_family_close,
    &tc_family_props,
    &k_unsupported,
    /* children, other workflows, updates (cmd_child.c, cmd_external.c, cmd_update.c) */
    &tc_family_child,
    &tc_family_external,
    &tc_family_update,
};

static const tc_event_rule k_unknown = {.event_type = 0, .role = EV_UNKNOWN};
static const tc_event_rule *g_rules[MAX_EVENT_TYPE];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build(void)
{
    for (size_t f = 0; f < sizeof k_families / sizeof k_families[0]; f++)
        for (size_t i = 0; i < k_families[f]->n_rules; i++) {
            const tc_event_rule *r = &k_families[f]->rules[i];
            if (r->event_type > 0 && r->event_type < MAX_EVENT_TYPE)
                g_rules[r->event_type] = r;
        }
}

const tc_event_rule *tc_event_rule_of(int event_type)
{
    pthread_once(&g_once, build);
    if (event_type <= 0 || event_type >= MAX_EVENT_TYPE || !g_rules[event_type])
        return &k_unknown;
    return g_rules[event_type];
}

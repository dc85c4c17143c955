/* schedule.c - features/schedule: the workflows the harness's schedules start (the schedules
 * themselves are client calls of the harness). */
#include "features.h"

#include <string.h>

/* Returns its one argument ("arg1", then "arg2" after the schedule's update). */
static void echo_arg_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_complete(ctx, tc_wf_input(ctx, 0));
}

/* schedule/cron: a cron run checks that it knows its schedule, as the Go workflow does. */
static void cron_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_wf_info info;
    tc_wf_get_info(ctx, &info);
    if (!info.cron_schedule || strcmp(info.cron_schedule, "@every 2s") != 0)
        tc_wf_fail(ctx, "", "invalid cron schedule", false);
    else
        tc_wf_complete(ctx, "\"\"");
}

/* Completes with no result. */
static void empty_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)ctx, (void)state, (void)user;
}

static const feat_workflow basic_wf[] = {{"BasicScheduleWorkflow", echo_arg_workflow, 0},
                                         {NULL, NULL, 0}};
static const feat_workflow echo_wf[] = {{"Workflow", echo_arg_workflow, 0}, {NULL, NULL, 0}};
static const feat_workflow empty_wf[] = {{"Workflow", empty_workflow, 0}, {NULL, NULL, 0}};
static const feat_workflow cron_wf[] = {{"Workflow", cron_workflow, 0}, {NULL, NULL, 0}};

const feature feat_schedule_features[] = {
    {"schedule/basic", basic_wf, NULL},
    {"schedule/backfill", echo_wf, NULL},
    {"schedule/pause", echo_wf, NULL},
    {"schedule/trigger", echo_wf, NULL},
    {"schedule/duplicate_error", empty_wf, NULL},
    {"schedule/cron", cron_wf, NULL},
    {NULL, NULL, NULL},
};

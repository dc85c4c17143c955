/* hello.c - a program outside the suite using the installed temporal-c: a worker runs workflow
 * Greet, which calls activity Hello; the program starts one run and prints its result. */
#include <stdio.h>
#include <temporal.h>
#include <unistd.h>

static void hello(tc_activity_ctx *ctx, void *user)
{
    (void)user;
    tc_activity_complete(ctx, tc_activity_input(ctx, 0)); /* echoes its JSON argument */
}

static void greet(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    tc_activity_options o = {.start_to_close_ms = 10000};
    tc_wf_result r;
    if (tc_wf_activity(ctx, "Hello", tc_wf_input(ctx, 0), &o, &r) == TC_OK)
        tc_wf_complete(ctx, r.result_json);
}

int main(void)
{
    tc_error err = {0};
    tc_client *c = NULL;
    tc_worker *w = NULL;
    char queue[64], id[80], run[64];
    snprintf(queue, sizeof queue, "hello-%ld", (long)getpid());
    snprintf(id, sizeof id, "%s-greet", queue);
    tc_worker_options wo = {.task_queue = queue};
    tc_start_options so = {.workflow_id = id,
                           .workflow_type = "Greet",
                           .task_queue = queue,
                           .input_json = "\"world\""};
    tc_outcome out = {0};
    if (tc_client_new(NULL, &c, &err) || tc_client_wait_ready(c, 30000, &err) ||
        tc_worker_new(c, &wo, &w, &err) ||
        tc_worker_register_workflow(w, "Greet", greet, 0, NULL, &err) ||
        tc_worker_register_activity(w, "Hello", hello, NULL, &err) || tc_worker_start(w, &err) ||
        tc_workflow_start(c, &so, run, sizeof run, NULL, &err) ||
        tc_workflow_result(c, id, run, 30000, &out, &err))
        fprintf(stderr, "hello: %s\n", err.text);
    else
        printf("temporal-c %s: Greet returned %s\n", tc_version(), out.result_json);
    int rc = out.result_json ? 0 : 1;
    tc_outcome_clear(&out);
    tc_worker_free(w);
    tc_client_free(c);
    return rc;
}

/* test_worker_main.c - a worker process for tests: registers the test workflows on the task
 * queue given as argv[1] and runs until SIGTERM/SIGINT. Options: argv[2] sticky cache size. */
#include "test_workflows.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TASK_QUEUE [STICKY_CACHE]\n", argv[0]);
        return 2;
    }
    tc_error err = {0};
    tc_client *c = NULL;
    tc_worker *w = NULL;
    int rc = tc_client_new(NULL, &c, &err);
    tc_worker_options o = {.task_queue = argv[1], .sticky_schedule_to_start_ms = 2000};
    if (argc > 2)
        o.sticky_cache_size = atoi(argv[2]);
    if (!rc)
        rc = tc_worker_new(c, &o, &w, &err);
    if (!rc)
        rc = tw_register_all(w, &err);
    if (!rc) {
        fprintf(stderr, "test-worker: polling %s\n", argv[1]);
        rc = tc_worker_run(w, &err);
    }
    if (rc)
        fprintf(stderr, "test-worker: %s: %s\n", tc_code_name(rc), err.text);
    tc_worker_free(w);
    tc_client_free(c);
    return rc ? 1 : 0;
}

/* fuzz_history_replay.c - a serialized workflow History (protobuf) from the input: decoded by
 * tc_history_load and replayed by the workflow runtime against OrderWorkflow. A history the
 * code disagrees with must be refused with an error, never crash the worker. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ot.h"

static char g_path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("TMPDIR");
    snprintf(g_path, sizeof g_path, "%s/fuzz-history-%ld.bin", dir && *dir ? dir : "/tmp",
             (long)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_path, "wb");
    if (f == NULL)
        abort();
    if (size > 0 && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    tc_history *h = NULL;
    tc_error err;
    if (tc_history_load(g_path, &h, &err) == TC_OK) {
        ot_wf_state st;
        memset(&st, 0, sizeof st);
        int rc = tc_replay_history(h, ot_order_workflow, &st, sizeof st, NULL, &err);
        if (rc != TC_OK && err.text[0] == '\0')
            abort(); /* a refusal says why */
        tc_history_free(h);
    }
    unlink(g_path);
    return 0;
}

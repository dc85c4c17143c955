/* fuzz_history_json.c - libFuzzer entry point for the proto3 JSON history loader: any bytes
 * must give either a history or TC_ERR_INVALID / TC_ERR_NOMEM, never a crash, leak or hang.
 * Seeds: tests/fuzz/corpus/fuzz_history_json/ (histories written by
 * `temporal workflow show -o json`).
 * Build and run: scripts/fuzz fuzz_history_json (docs/development.md, Fuzzing). */
#include "temporal.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_history *h = NULL;
    tc_error err;
    if (tc_history_parse_json((const char *)data, size, &h, &err) == TC_OK) {
        /* a loaded history must compare equal to itself and answer its accessors */
        if (tc_history_compare(h, h, &err) != TC_OK)
            __builtin_trap();
        for (size_t i = 0; i < tc_history_length(h); i++)
            (void)tc_history_event_type(h, i);
        tc_history_free(h);
    } else if (h != NULL) {
        __builtin_trap(); /* an error must leave no history behind */
    }
    return 0;
}

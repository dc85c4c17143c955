/* fuzz_payload.c - payload decoding: the input as a protobuf Payloads message (what every
 * workflow input, activity result and query answer arrives as), each payload decoded to JSON
 * the way the worker and client do. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "temporal_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_pb_payloads *ps = temporal__api__common__v1__payloads__unpack(NULL, size, data);
    if (ps == NULL)
        return 0;
    char *first = tc_payloads_first_json(ps);
    if (first == NULL)
        abort();
    free(first);
    for (size_t i = 0; i < ps->n_payloads; i++) {
        char *j = tc_payload_json(ps->payloads[i]);
        if (j == NULL)
            abort();
        free(j);
    }
    temporal__api__common__v1__payloads__free_unpacked(ps, NULL);
    return 0;
}

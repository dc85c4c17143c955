/* id.c — validation of client-supplied identifiers (request ids, idempotency keys).
 * Pure: no allocation, no state. */
#include "cm_id.h"

bool cm_id_valid(const char *s, size_t max_len)
{
    if (!s)
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= max_len || c < 0x21 || c > 0x7e)
            return false;
    }
    return n > 0;
}

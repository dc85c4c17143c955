/* cm_id.h — the generic rule for identifiers clients pass through us (request ids,
 * Idempotency-Key values): printable ASCII without spaces, bounded length. Pure functions, no
 * state. The suite's saga-id rule is the contract's (contract/saga_contract.h), not common's. */
#ifndef CM_ID_H
#define CM_ID_H

#include <stdbool.h>
#include <stddef.h>

/* True if `s` is 1..max_len bytes, each printable ASCII other than space (0x21..0x7e).
 * NULL -> false. Any thread. */
bool cm_id_valid(const char *s, size_t max_len);

#endif

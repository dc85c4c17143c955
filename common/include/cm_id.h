/* cm_id.h — the one rule for identifiers clients pass through us (saga ids, Idempotency-Key
 * values): printable ASCII without spaces, bounded length. Pure functions, no state. */
#ifndef CM_ID_H
#define CM_ID_H

#include <stdbool.h>
#include <stddef.h>

#define CM_SAGA_ID_MAX 128 /* buffer size: saga ids are 1..127 bytes (columns VARCHAR(128)) */
/* The 400 detail for a saga id that breaks the rule. */
#define CM_SAGA_ID_RULE "sagaId must be 1..127 printable characters without spaces"

/* True if `s` is 1..max_len bytes, each printable ASCII other than space (0x21..0x7e).
 * NULL -> false. Any thread. */
bool cm_id_valid(const char *s, size_t max_len);

/* True if `s` is a valid saga id: cm_id_valid(s, CM_SAGA_ID_MAX - 1). Any thread. */
bool cm_saga_id_valid(const char *s);

#endif

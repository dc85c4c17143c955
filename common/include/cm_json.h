/* cm_json.h — strict validation of JSON request bodies (jansson) against a field table,
 * producing the one-line 400 detail a client needs ("quantity must be a positive integer"). */
#ifndef CM_JSON_H
#define CM_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    JF_INT,     /* JSON integer (not 2.0, not "2") within [min, max]; min==max==0 -> any int64 */
    JF_POS_INT, /* JSON integer >= 1; max (if != 0) is an upper bound */
    JF_STRING, /* JSON string; length in bytes within [min, max]; max==0 -> 1024; min==0 allows "" */
    JF_BOOL,   /* true / false */
    JF_NUMBER, /* integer or real */
    JF_OBJECT, /* JSON object (content not checked) */
    JF_ARRAY,  /* JSON array (content not checked) */
    JF_ANY,    /* any value, including null */
} json_ftype;

/* One expected member. Tables end with an entry whose name is NULL. */
typedef struct json_field {
    const char *name;
    json_ftype type;
    bool required; /* missing -> "<name> is required"; optional members may be absent or null */
    int64_t min, max;
} json_field;

/* Flags for json_validate / json_parse_object. */
#define JSON_V_REJECT_UNKNOWN 0x1 /* a member not in the table -> "unknown field <name>" */

/* Check `obj` against `fields`. Returns 0 when valid; otherwise CM_ERR_INVALID with a
 * NUL-terminated human message in `detail` (size n), e.g. "quantity must be a positive
 * integer", "customerId is required", "paymentMethod must be a string of 1..16 characters".
 * `obj` must be a JSON object (otherwise "request body must be a JSON object"). Pure; any thread. */
int json_validate(const json_t *obj, const json_field *fields, unsigned flags, char *detail,
                  size_t n);

/* Parse `len` bytes as one JSON object (duplicate keys rejected, no trailing data, no NUL bytes)
 * and validate it. On success *out owns a new reference. On failure returns CM_ERR_INVALID with
 * `detail` such as "malformed JSON: ... at line 1 column 5" or a json_validate message. */
int json_parse_object(const char *body, size_t len, const json_field *fields, unsigned flags,
                      json_t **out, char *detail, size_t n);

/* Convenience getters for validated objects: value of member `name`, or `def` when
 * absent/null. Strings are borrowed from `obj`. */
int64_t json_get_int(const json_t *obj, const char *name, int64_t def);
const char *json_get_str(const json_t *obj, const char *name, const char *def);
bool json_get_bool(const json_t *obj, const char *name, bool def);

/* Serialize `v` compactly (JSON_COMPACT); malloc'd string, caller frees; NULL on failure. */
char *json_dump_compact(const json_t *v);

#endif

/* json_lite.h - the little JSON reading the runtime needs (marker details, upsert objects).
 * Not public; payload JSON is otherwise passed through untouched. */
#ifndef TEMPORAL_JSON_LITE_H
#define TEMPORAL_JSON_LITE_H

#include <stdbool.h>
#include <stddef.h>

/* True when json[0..len) is exactly one JSON value (nesting at most 64 deep). */
bool tc_json_valid(const char *json, size_t len);

/* Decodes the JSON string at p (leading whitespace allowed) into a malloc'd UTF-8 text, or
 * NULL when it is not a string (or out of memory). */
char *tc_json_string(const char *p, size_t len);

/* Called for each member of an object: key decoded, value as its JSON text. Non-zero stops. */
typedef int (*tc_json_member_fn)(const char *key, const char *value, size_t value_len, void *arg);

/* Calls fn for every member of the object json[0..len), in order. Returns 0, -1 when json is
 * not a valid object, -2 out of memory, or what fn returned. */
int tc_json_members(const char *json, size_t len, tc_json_member_fn fn, void *arg);

bool tc_json_is_null(const char *v, size_t len);

#endif

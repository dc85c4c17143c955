/* util.h — private helpers shared by the common library's modules. */
#ifndef CM_UTIL_H
#define CM_UTIL_H

#include <stddef.h>

/* Random lowercase hex: n chars + NUL into out (size >= n + 1, n <= 128). Any thread. */
void cm_random_hex(char *out, size_t n);

/* Appends n bytes of data to the NUL-terminated buffer *p holding *len bytes in *cap
 * allocated (NULL, 0, 0 to start), doubling the allocation from first_cap but never past
 * max_cap, which the caller's own limit keeps at least *len + n + 1. Returns 0, or -1 when out
 * of memory (the buffer is then unchanged). Any thread, one buffer per thread. */
int cm_buf_append(char **p, size_t *len, size_t *cap, const void *data, size_t n, size_t first_cap,
                  size_t max_cap);

/* items (an array of *cap elements of elem bytes, NULL when *cap is 0) reallocated to twice
 * *cap elements, or first when *cap is 0; updates *cap. Returns the new array, or NULL when out
 * of memory (items and *cap unchanged). */
void *cm_grow(void *items, size_t *cap, size_t elem, size_t first);

#endif

/* util.h — private helpers shared by the common library's modules. */
#ifndef CM_UTIL_H
#define CM_UTIL_H

#include <stddef.h>

/* Random lowercase hex: n chars + NUL into out (size >= n + 1, n <= 128). Any thread. */
void cm_random_hex(char *out, size_t n);

#endif

/* cm_enum.h — an enum's names as a string table: value -> name and name -> value, so each
 * module states its names once and does not write the two look-ups again. Pure functions. */
#ifndef CM_ENUM_H
#define CM_ENUM_H

#include <stddef.h>

/* names[v], or "UNKNOWN" when v is outside 0..n-1. Any thread. */
const char *cm_enum_name(const char *const *names, size_t n, int v);

/* The index i in first..n-1 with names[i] equal to `name`, or -1 (also for a NULL name).
 * Values below `first` (a "none" state that is never stored) are not parsed. Any thread. */
int cm_enum_index(const char *const *names, size_t n, size_t first, const char *name);

/* Defines `const char *PREFIX_name(TYPE v)` and `int PREFIX_parse(const char *name, TYPE *out)`
 * (0, or -1 leaving *out alone) over the array TABLE, parsing from index FIRST on. */
#define CM_ENUM_DEFINE(prefix, type, table, first)                                 \
    const char *prefix##_name(type v)                                              \
    {                                                                              \
        return cm_enum_name(table, sizeof table / sizeof table[0], (int)v);        \
    }                                                                              \
    int prefix##_parse(const char *name, type *out)                                \
    {                                                                              \
        int i = cm_enum_index(table, sizeof table / sizeof table[0], first, name); \
        if (i < 0)                                                                 \
            return -1;                                                             \
        *out = (type)i;                                                            \
        return 0;                                                                  \
    }

#endif

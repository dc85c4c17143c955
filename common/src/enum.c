/* enum.c — look-ups in an enum's string table (cm_enum.h). No state, no allocation. */
#include "cm_enum.h"

#include <string.h>

const char *cm_enum_name(const char *const *names, size_t n, int v)
{
    if (v < 0 || (size_t)v >= n)
        return "UNKNOWN";
    return names[v];
}

int cm_enum_index(const char *const *names, size_t n, size_t first, const char *name)
{
    for (size_t i = first; name != NULL && i < n; i++) {
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    }
    return -1;
}

/* version.c - the library's version at run time (tc_version). */
#include "temporal.h"

const char *tc_version(void)
{
    return TC_VERSION;
}

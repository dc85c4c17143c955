/* temporal_version.h - the version of the Temporal C bridge (temporal-c): the one place it is
 * written (CMake reads it for the library's VERSION and SONAME). Part of temporal.h. */
#ifndef TEMPORAL_VERSION_H
#define TEMPORAL_VERSION_H

#define TC_VERSION_MAJOR 0
#define TC_VERSION_MINOR 1
#define TC_VERSION_PATCH 0
#define TC_VERSION       "0.1.0"

/* TC_VERSION_MAJOR * 10000 + TC_VERSION_MINOR * 100 + TC_VERSION_PATCH, for #if tests. */
#define TC_VERSION_NUMBER (TC_VERSION_MAJOR * 10000 + TC_VERSION_MINOR * 100 + TC_VERSION_PATCH)

#endif /* TEMPORAL_VERSION_H */

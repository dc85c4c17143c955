/* error.c - filling a tc_error: the one helper every file of the library reports errors with
 * (kept apart so that files rpc.c depends on can use it too). */
#include "temporal_internal.h"

#include <stdio.h>

int tc_seterr(tc_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        err->grpc_status = 0;
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return code;
}

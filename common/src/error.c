/* error.c — names of the common library's error codes, for logs. */
#include "cm_error.h"

const char *cm_strerror(int code)
{
    switch (code) {
    case CM_OK: return "CM_OK";
    case CM_ERR_NOMEM: return "CM_ERR_NOMEM";
    case CM_ERR_INVALID: return "CM_ERR_INVALID";
    case CM_ERR_IO: return "CM_ERR_IO";
    case CM_ERR_TIMEOUT: return "CM_ERR_TIMEOUT";
    case CM_ERR_NOT_FOUND: return "CM_ERR_NOT_FOUND";
    case CM_ERR_CONFLICT: return "CM_ERR_CONFLICT";
    case CM_ERR_DUPLICATE: return "CM_ERR_DUPLICATE";
    case CM_ERR_BUSY: return "CM_ERR_BUSY";
    case CM_ERR_DB: return "CM_ERR_DB";
    case CM_ERR_REDIS: return "CM_ERR_REDIS";
    case CM_ERR_STATE: return "CM_ERR_STATE";
    default: return "CM_ERR_UNKNOWN";
    }
}

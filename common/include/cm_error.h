/* cm_error.h — the one error enum of the common library.
 * Every common function that can fail returns 0 or one of these negative codes. */
#ifndef CM_ERROR_H
#define CM_ERROR_H

enum cm_err {
    CM_OK = 0,
    CM_ERR_NOMEM = -1,     /* allocation failed */
    CM_ERR_INVALID = -2,   /* bad argument / malformed input */
    CM_ERR_IO = -3,        /* transport error: connection refused/lost (retryable) */
    CM_ERR_TIMEOUT = -4,   /* a deadline passed (retryable) */
    CM_ERR_NOT_FOUND = -5, /* no such row / key / not the owner of a lock */
    CM_ERR_CONFLICT = -6,  /* optimistic update matched 0 rows (stale version) */
    CM_ERR_DUPLICATE = -7, /* MySQL ER_DUP_ENTRY (unique key violated) */
    CM_ERR_BUSY = -8,      /* lock held by someone else / semaphore full */
    CM_ERR_DB = -9,        /* any other MySQL error (see db_errmsg) */
    CM_ERR_REDIS = -10,    /* Redis answered with an error reply */
    CM_ERR_STATE = -11,    /* call not allowed in the current state */
};

/* Static English name of an error code ("CM_ERR_IO"); never NULL. Any thread. */
const char *cm_strerror(int code);

#endif

/* idem_internal.h — private: what the Idempotency-Key module (idem.c) shares with the renewer
 * of its in-flight claims (idem_renew.c). Not installed; daemons use cm_idem.h only. */
#ifndef CM_IDEM_INTERNAL_H
#define CM_IDEM_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "cm_redis.h"

/* A Lua script run by EVALSHA, loaded once per process. */
typedef struct idem_script {
    const char *body;
    pthread_mutex_t mu;
    char sha[41]; /* "" until SCRIPT LOAD answered */
} idem_script;

/* EVALSHA s 1 key args... (at most 4 args); loads the script once per process, and falls
 * back to EVAL with the text when Redis does not know the hash (restarted, SCRIPT FLUSH).
 * Reply or NULL as rds_command_argv. The thread that holds c. */
redisReply *idem_run_script(rds_conn *c, idem_script *s, const char *key, int nargs,
                            const char **args, const size_t *lens);

#define IDEM_KEY_MAX 400 /* "idempotency:{service}:{key}" with its NUL */

/* One claimed key of a request being handled: made by idem_begin, freed by its finish hook. */
typedef struct idem_claim {
    rds_pool *rds;
    char key[IDEM_KEY_MAX];
    char token[RDS_TOKEN_LEN];
    char fp[65];
    /* the renewer's list; guarded by its lock */
    struct idem_claim *prev, *next;
    int64_t renewed_ms; /* CLOCK_MONOTONIC ms of the claim or of its last renewal */
} idem_claim;

/* Keeps cl's in-flight marker alive until idem_renew_untrack: from now on the renewer resets
 * its TTL whenever it is older than a third of it. Starts the renewer thread on first use.
 * cl is borrowed until idem_renew_untrack. Handler thread. */
void idem_renew_track(idem_claim *cl);

/* Stops renewing cl (before its marker is completed or dropped). Handler thread. */
void idem_renew_untrack(idem_claim *cl);

#endif

/* saga_contract.h - the rules services and orchestrators share: the problem codes of business
 * failures, the failure types the saga reports, and the saga-id rule. Header only, no
 * dependencies: a service includes it without linking saga/ (docs/architecture.md). */
#ifndef SAGA_CONTRACT_H
#define SAGA_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* ---- problem codes of business failures ----------------------------------------------------
 * A service refusing a request for a business reason answers problem+json with one of these as
 * `code` (docs/development.md "Error codes"); the saga reports it as a non-retryable failure of
 * the same type. The generic codes (ValidationFailed, NotFound, Busy, ...) are common's
 * HTTP_CODE_* in cm_http.h. */
#define SAGA_CODE_OUT_OF_STOCK          "OutOfStock"           /* 409: not enough stock */
#define SAGA_CODE_INSUFFICIENT_BALANCE  "InsufficientBalance"  /* 402: gateway refuses */
#define SAGA_CODE_RESERVATION_CANCELLED "ReservationCancelled" /* 409: reserve after cancel */
#define SAGA_CODE_ILLEGAL_TRANSITION    "IllegalTransition"    /* 409: state rule refuses */

/* ---- failure types the saga reports besides the codes above --------------------------------
 * (the `errorType` of a result, the type of a Temporal ApplicationFailure) */
#define SAGA_TYPE_INVALID_REQUEST   "InvalidRequest"   /* any other 4xx: the request is wrong */
#define SAGA_TYPE_RETRIES_EXHAUSTED "RetriesExhausted" /* a forward step ran out of attempts */
#define SAGA_TYPE_CANCELLED         "Cancelled"        /* cancelled before the pivot */
#define SAGA_TYPE_RETRYABLE         "Retryable"        /* one attempt failed; try again */
#define SAGA_TYPE_MAX               48                 /* buffer size for a type */

/* ---- saga ids --------------------------------------------------------------------------------
 * A saga id (orchestrator-pure's sagaId, orchestrator-temporal's workflowId, the sagaId the
 * services store) is 1..127 characters of [A-Za-z0-9._:-]: it goes unescaped into URLs, query
 * strings, Redis keys, SQL columns (VARCHAR(128)) and the Idempotency-Key "<sagaId>:<step>"
 * the saga sends, which common's Idempotency-Key rule (HTTP_IDEM_KEY_MAX) admits. */
#define SAGA_ID_MAX  128 /* buffer size: ids are 1..SAGA_ID_MAX-1 characters */
#define SAGA_ID_RULE "sagaId must be 1..127 characters of [A-Za-z0-9._:-]"

/* 1 if c may appear in a saga id. Pure; any thread. */
static inline bool saga_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
}

/* 1 if the first len bytes of s are a saga id. Pure; any thread. */
static inline bool saga_id_valid_n(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len >= SAGA_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!saga_id_char(s[i]))
            return false;
    return true;
}

/* 1 if the string s is a saga id; NULL is not. Pure; any thread. */
static inline bool saga_id_valid(const char *s)
{
    return s != NULL && saga_id_valid_n(s, strnlen(s, SAGA_ID_MAX));
}

#endif

/* fuzz_http_response.c - the response parser of common's own HTTP client (http1_resp), as the
 * bytes of a server's answer reach it: the first input byte picks how the rest is cut into
 * reads and whether the request was HEAD, the rest is the answer. Checks, beyond the
 * sanitizers: cutting the same bytes differently never changes the outcome, the status,
 * framing or body; a finished answer's body is within its limit and NUL-terminated; the bytes
 * after an answer are never counted as part of it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1_resp.h"

#define BODY_MAX 4096

typedef struct outcome {
    int rc;
    size_t used; /* bytes the answer took */
} outcome;

/* Feeds data in reads of the sizes the pattern gives (1..16 bytes; 0: all at once). */
static outcome run(const uint8_t *d, size_t n, bool head_req, unsigned pattern, h1_resp *r)
{
    h1_resp_init(r, head_req, BODY_MAX);
    outcome o = {H1_MORE, 0};
    size_t i = 0, step = 0;
    while (i < n && o.rc == H1_MORE) {
        size_t k = pattern ? 1 + ((pattern >> (step++ % 4 * 4)) & 15) : n;
        if (k > n - i)
            k = n - i;
        size_t used = 0;
        o.rc = h1_resp_feed(r, (const char *)d + i, k, &used);
        if (used > k)
            abort();
        if (o.rc == H1_MORE && used != k)
            abort(); /* a continuing answer takes every byte */
        i += o.rc == H1_DONE ? used : k;
    }
    o.used = i;
    if (o.rc == H1_MORE && h1_resp_eof(r) == H1_DONE)
        o.rc = H1_DONE;
    if (o.rc == H1_DONE) {
        if (r->status < 200 || r->status > 599 || r->body_len > BODY_MAX)
            abort();
        if (r->body && r->body[r->body_len] != '\0')
            abort();
        if (r->head == NULL || r->head[r->head_len] != '\0' || r->head_len > H1_HEAD_MAX)
            abort();
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool head_req = data[0] & 1;
    unsigned pattern = (unsigned)data[0] * 2654435761u;
    h1_resp a, b;
    outcome oa = run(data + 1, size - 1, head_req, 0, &a);
    outcome ob = run(data + 1, size - 1, head_req, pattern | 1, &b);
    if (oa.rc != ob.rc)
        abort();
    if (oa.rc == H1_DONE) {
        if (oa.used != ob.used || a.status != b.status || a.keep_alive != b.keep_alive ||
            a.body_len != b.body_len || (a.body_len && memcmp(a.body, b.body, a.body_len)))
            abort();
    }
    h1_resp_free(&a);
    h1_resp_free(&b);
    return 0;
}

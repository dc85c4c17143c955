/* http1_resp.h — incremental parser of one HTTP/1.1 response, for common's own client: the
 * status line, the header block, and the body framed by Content-Length, by chunked transfer
 * coding or by the end of the connection (RFC 9112 section 6). Pure: bytes in, no I/O, no
 * clock. Interim 1xx answers are skipped; the header block kept is the final answer's. */
#ifndef HTTP1_RESP_H
#define HTTP1_RESP_H

#include <stdbool.h>
#include <stddef.h>

#define H1_HEAD_MAX (64 * 1024) /* bytes of one header block (or of the chunked trailers) */

enum { H1_MORE = 0, H1_DONE = 1, H1_BAD = -1, H1_TOO_BIG = -2, H1_NOMEM = -3 };

typedef struct h1_resp {
    /* results, valid once h1_resp_feed or h1_resp_eof returned H1_DONE */
    int status;      /* the final answer's status (200..599) */
    bool keep_alive; /* the connection may carry the next request */
    char *head;      /* the final answer's status line and header lines, NUL-terminated */
    size_t head_len;
    char *body; /* decoded body, NUL-terminated; NULL when empty */
    size_t body_len;
    /* state */
    int phase;
    bool head_request;
    size_t body_max, head_cap, body_cap;
    size_t left;      /* bytes left of a Content-Length body or of the current chunk */
    size_t line_text; /* bytes other than CR in the current line of the header block */
    size_t trailer_len;
    char line[128]; /* a chunk-size line or a chunk's closing CRLF */
    size_t line_len;
} h1_resp;

/* Starts a parse. head_request: the request was HEAD (its answer carries no body);
 * body_max: bytes of decoded body beyond which the answer is refused (H1_TOO_BIG). */
void h1_resp_init(h1_resp *r, bool head_request, size_t body_max);

/* Feeds the next n bytes read from the connection. Returns H1_MORE (all n taken, the answer
 * continues), H1_DONE (the answer ended; *used says how many of the n bytes it took: bytes after
 * it are not part of it) or an error (H1_BAD: not a well-formed answer; H1_TOO_BIG: head or
 * body over its limit; H1_NOMEM). After H1_DONE or an error, feed no more. */
int h1_resp_feed(h1_resp *r, const char *data, size_t n, size_t *used);

/* The peer closed the connection: H1_DONE when the body runs to the close (the answer is
 * complete), H1_BAD when the answer was cut short. */
int h1_resp_eof(const h1_resp *r);

/* Frees head and body (set them to NULL first to keep them). */
void h1_resp_free(h1_resp *r);

#endif

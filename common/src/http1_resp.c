/* http1_resp.c — one HTTP/1.1 response, parsed as its bytes arrive (see http1_resp.h).
 * Strict where a lenient reading could frame the body wrongly (Content-Length, transfer
 * coding, chunk sizes), tolerant of bare LF line ends. */
#include "http1_resp.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { P_HEAD, P_LEN, P_CLOSE, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END, P_TRAILER, P_DONE };

void h1_resp_init(h1_resp *r, bool head_request, size_t body_max)
{
    memset(r, 0, sizeof *r);
    r->head_request = head_request;
    r->body_max = body_max < SIZE_MAX ? body_max : SIZE_MAX - 1; /* + 1 for the NUL fits */
    r->phase = P_HEAD;
}

void h1_resp_free(h1_resp *r)
{
    free(r->head);
    free(r->body);
    r->head = r->body = NULL;
    r->head_len = r->body_len = r->head_cap = r->body_cap = 0;
}

static int body_append(h1_resp *r, const char *d, size_t n)
{
    if (n > r->body_max - r->body_len)
        return H1_TOO_BIG;
    return cm_buf_append(&r->body, &r->body_len, &r->body_cap, d, n, 256, r->body_max + 1)
               ? H1_NOMEM
               : 0;
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A line of the header block without its line end: no control bytes but HT. */
static bool clean_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

/* True when the comma-separated list [v, v+n) holds `token` (case-insensitive). */
static bool has_token(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && !strncasecmp(v + s, token, tl))
            return true;
    }
    return false;
}

typedef struct head_facts {
    int minor, status;
    bool has_len, chunked, has_te, close, keep_alive_token;
    size_t len;
} head_facts;

static int header_line(const char *s, size_t n, head_facts *f, size_t body_max)
{
    if (n == 0 || s[0] == ' ' || s[0] == '\t') /* obs-fold: refused (RFC 9112 5.2) */
        return H1_BAD;
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s)
        return H1_BAD;
    size_t nl = (size_t)(colon - s);
    for (size_t i = 0; i < nl; i++)
        if (!is_tchar((unsigned char)s[i]))
            return H1_BAD;
    const char *v = colon + 1, *end = s + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vl = (size_t)(end - v);
    if (nl == 14 && !strncasecmp(s, "content-length", 14)) {
        if (vl == 0)
            return H1_BAD;
        size_t len = 0;
        bool big = false;
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                return H1_BAD;
            if (len > (SIZE_MAX - 9) / 10)
                big = true;
            else
                len = len * 10 + (size_t)(v[i] - '0');
        }
        if (f->has_len && (big || len != f->len))
            return H1_BAD; /* two different lengths: the framing is ambiguous */
        if (big || len > body_max)
            return H1_TOO_BIG;
        f->has_len = true;
        f->len = len;
    } else if (nl == 17 && !strncasecmp(s, "transfer-encoding", 17)) {
        /* We ask for no coding: only "chunked" alone is one we can frame and read. */
        if (f->has_te || vl != 7 || strncasecmp(v, "chunked", 7))
            return H1_BAD;
        f->has_te = f->chunked = true;
    } else if (nl == 10 && !strncasecmp(s, "connection", 10)) {
        if (has_token(v, vl, "close"))
            f->close = true;
        if (has_token(v, vl, "keep-alive"))
            f->keep_alive_token = true;
    }
    return 0;
}

/* The header block is complete in r->head: read it and choose how the body is framed.
 * Returns 0 (r->phase set), 1 for an interim answer to skip, or an error. */
static int head_done(h1_resp *r)
{
    const char *p = r->head, *end = r->head + r->head_len;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t ll = (size_t)(eol - p);
    if (ll && p[ll - 1] == '\r')
        ll--;
    head_facts f = {0};
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (ll < 12 || memcmp(p, "HTTP/1.", 7) || p[7] < '0' || p[7] > '9' || p[8] != ' ' ||
        p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
        (ll > 12 && p[12] != ' ') || !clean_line(p, ll))
        return H1_BAD;
    f.minor = p[7] - '0';
    f.status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    for (p = eol + 1; p < end;) {
        eol = memchr(p, '\n', (size_t)(end - p));
        ll = (size_t)(eol - p);
        if (ll && p[ll - 1] == '\r')
            ll--;
        if (ll == 0)
            break; /* the blank line that ends the block */
        if (!clean_line(p, ll))
            return H1_BAD;
        int rc = header_line(p, ll, &f, r->body_max);
        if (rc)
            return rc;
        p = eol + 1;
    }
    if (f.status == 101)
        return H1_BAD; /* never asked for an upgrade */
    if (f.status < 200) {
        r->head_len = 0; /* interim: the final answer follows */
        return 1;
    }
    r->status = f.status;
    r->keep_alive = f.minor >= 1 ? !f.close : f.keep_alive_token && !f.close;
    if (r->head_request || f.status == 204 || f.status == 304) {
        r->phase = P_DONE;
    } else if (f.chunked) {
        if (f.has_len)
            r->keep_alive = false; /* both: chunked wins, and the connection is suspect */
        r->phase = P_CHUNK_SIZE;
    } else if (f.has_len) {
        r->left = f.len;
        r->phase = f.len ? P_LEN : P_DONE;
    } else {
        r->keep_alive = false;
        r->phase = P_CLOSE;
    }
    return 0;
}

/* Scans header-block bytes (or trailer bytes when trailer) for the blank line that ends them.
 * Returns how many of the n bytes belong to the block in *k, and 1 when it ended. */
static int scan_block(h1_resp *r, const char *d, size_t n, size_t *k)
{
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        if (c == '\n') {
            if (r->line_text == 0) {
                *k = i + 1;
                return 1;
            }
            r->line_text = 0;
        } else if (c != '\r') {
            r->line_text++;
        }
    }
    *k = n;
    return 0;
}

static int feed_head(h1_resp *r, const char *d, size_t n, size_t *used)
{
    size_t k;
    int ended = scan_block(r, d, n, &k);
    *used = k;
    if (r->head_len + k > H1_HEAD_MAX)
        return H1_TOO_BIG;
    if (cm_buf_append(&r->head, &r->head_len, &r->head_cap, d, k, 256, H1_HEAD_MAX + 1))
        return H1_NOMEM;
    if (!ended)
        return H1_MORE;
    r->line_text = 0;
    int rc = head_done(r);
    if (rc < 0)
        return rc;
    return r->phase == P_DONE ? H1_DONE : H1_MORE;
}

/* Collects one short line (chunk size, chunk end) into r->line; 1 when it is complete. */
static int take_line(h1_resp *r, const char *d, size_t n, size_t *used)
{
    const char *nl = memchr(d, '\n', n);
    size_t k = nl ? (size_t)(nl - d) + 1 : n;
    *used = k;
    if (r->line_len + k > sizeof r->line - 1)
        return H1_BAD;
    memcpy(r->line + r->line_len, d, k);
    r->line_len += k;
    r->line[r->line_len] = '\0';
    return nl ? 1 : 0;
}

/* r->line is a whole chunk-size line: hex size, optional extensions. */
static int chunk_size_line(h1_resp *r)
{
    size_t i = 0, size = 0, n = r->line_len - 1; /* without the LF */
    if (n && r->line[n - 1] == '\r')
        n--;
    for (; i < n; i++) {
        char c = r->line[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            break;
        if (size > r->body_max)
            return H1_TOO_BIG;
        size = size * 16 + (size_t)v;
    }
    if (i == 0)
        return H1_BAD;
    while (i < n && (r->line[i] == ' ' || r->line[i] == '\t'))
        i++;
    if (i < n && r->line[i] != ';')
        return H1_BAD;
    if (!clean_line(r->line + i, n - i))
        return H1_BAD;
    if (size > r->body_max - r->body_len)
        return H1_TOO_BIG;
    r->line_len = 0;
    r->left = size;
    r->phase = size ? P_CHUNK_DATA : P_TRAILER;
    return 0;
}

int h1_resp_feed(h1_resp *r, const char *d, size_t n, size_t *used)
{
    size_t i = 0;
    int rc = H1_MORE;
    while (rc == H1_MORE && i < n) {
        size_t k = 0;
        switch (r->phase) {
        case P_HEAD: rc = feed_head(r, d + i, n - i, &k); break;
        case P_LEN:
        case P_CHUNK_DATA:
            k = n - i < r->left ? n - i : r->left;
            rc = body_append(r, d + i, k);
            r->left -= k;
            if (rc == 0 && r->left == 0) {
                if (r->phase == P_LEN) {
                    r->phase = P_DONE;
                    rc = H1_DONE;
                } else {
                    r->phase = P_CHUNK_END;
                }
            }
            break;
        case P_CLOSE:
            k = n - i;
            rc = body_append(r, d + i, k);
            break;
        case P_CHUNK_SIZE:
            rc = take_line(r, d + i, n - i, &k);
            if (rc == 1)
                rc = chunk_size_line(r);
            break;
        case P_CHUNK_END:
            rc = take_line(r, d + i, n - i, &k);
            if (rc == 1) {
                bool blank = r->line_len == 1 || (r->line_len == 2 && r->line[0] == '\r');
                r->line_len = 0;
                r->phase = P_CHUNK_SIZE;
                rc = blank ? H1_MORE : H1_BAD;
            }
            break;
        case P_TRAILER: { /* trailer fields are read and dropped */
            int ended = scan_block(r, d + i, n - i, &k);
            r->trailer_len += k;
            if (r->trailer_len > H1_HEAD_MAX)
                rc = H1_TOO_BIG;
            else if (ended) {
                r->phase = P_DONE;
                rc = H1_DONE;
            }
            break;
        }
        default: rc = H1_BAD;
        }
        i += k;
    }
    if (used)
        *used = i;
    return rc;
}

int h1_resp_eof(const h1_resp *r)
{
    return r->phase == P_CLOSE || r->phase == P_DONE ? H1_DONE : H1_BAD;
}

/* httpc_plain.c — common's own HTTP/1.1 client for plain http:// URLs: each thread keeps a few
 * idle keep-alive connections (one per host and port, the least recently used dropped first),
 * writes the request with one sendmsg and reads the answer through http1_resp. The services'
 * calls go this way: libcurl's per-request set-up and state machine was a quarter of the
 * Temporal worker's CPU. What it declines (https, a proxy from the environment, an unusual URL,
 * a body over 1 MiB, which libcurl sends with Expect: 100-continue) httpc.c hands to libcurl. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cm_error.h"
#include "cm_httpc.h"
#include "cm_mono.h"
#include "http1_resp.h"
#include "httpc_internal.h"

#define PLAIN_CONNS    8           /* idle connections one thread keeps */
#define PLAIN_BODY_MAX (1 << 20)   /* larger bodies: libcurl */
#define PLAIN_HOST_MAX 256         /* bytes of host[:port] */
#define PLAIN_READ     (16 * 1024) /* bytes read at a time */

typedef struct pconn {
    int fd; /* -1: free slot */
    char key[PLAIN_HOST_MAX];
    uint64_t used;
} pconn;

typedef struct pstate {
    pconn c[PLAIN_CONNS];
    uint64_t tick;
} pstate;

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_declined; /* a proxy is configured: libcurl honours it, so everything goes there */

static void state_free(void *p)
{
    pstate *s = p;
    if (!s)
        return;
    for (int i = 0; i < PLAIN_CONNS; i++)
        if (s->c[i].fd >= 0)
            close(s->c[i].fd);
    free(s);
}

static void once_init(void)
{
    pthread_key_create(&g_key, state_free);
    static const char *const proxy_env[] = {"http_proxy", "ALL_PROXY", "all_proxy"};
    for (size_t i = 0; i < sizeof proxy_env / sizeof proxy_env[0]; i++) {
        const char *v = getenv(proxy_env[i]);
        if (v && v[0])
            g_declined = true;
    }
}

void httpc_plain_init(void)
{
    pthread_once(&g_once, once_init);
}

void httpc_plain_thread_release(void)
{
    pthread_once(&g_once, once_init);
    state_free(pthread_getspecific(g_key));
    pthread_setspecific(g_key, NULL);
}

/* After httpc_plain_init. */
static pstate *state(void)
{
    pstate *s = pthread_getspecific(g_key);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    for (int i = 0; i < PLAIN_CONNS; i++)
        s->c[i].fd = -1;
    if (pthread_setspecific(g_key, s)) {
        free(s);
        return NULL;
    }
    return s;
}

/* ---- URL ----------------------------------------------------------------------------------- */

typedef struct purl {
    char host[PLAIN_HOST_MAX];     /* for the resolver: no brackets */
    char hostport[PLAIN_HOST_MAX]; /* as written: the Host header and the connection's key */
    char port[6];
    const char *target; /* request target: path and query; "" for "/" */
} purl;

/* http://host[:port][/path][?query] with plain bytes only; anything else is libcurl's. */
static bool parse_url(const char *url, purl *u)
{
    if (strncasecmp(url, "http://", 7))
        return false;
    const char *p = url + 7, *hs, *he;
    if (*p == '[') {
        hs = ++p;
        while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
               *p == ':' || *p == '.')
            p++;
        if (*p != ']')
            return false;
        he = p++;
    } else {
        hs = p;
        while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
               *p == '.' || *p == '-' || *p == '_')
            p++;
        he = p;
    }
    if (he == hs || he - hs >= PLAIN_HOST_MAX)
        return false;
    memcpy(u->host, hs, (size_t)(he - hs));
    u->host[he - hs] = '\0';
    snprintf(u->port, sizeof u->port, "80");
    if (*p == ':') {
        const char *ps = ++p;
        long port = 0;
        while (*p >= '0' && *p <= '9' && p - ps < 5)
            port = port * 10 + (*p++ - '0');
        if (p == ps || port < 1 || port > 65535)
            return false;
        snprintf(u->port, sizeof u->port, "%ld", port);
    }
    size_t hp = (size_t)(p - (url + 7));
    if (hp >= PLAIN_HOST_MAX)
        return false;
    memcpy(u->hostport, url + 7, hp);
    u->hostport[hp] = '\0';
    if (*p && *p != '/' && *p != '?')
        return false;
    for (const char *t = p; *t; t++)
        if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f || *t == '#')
            return false;
    u->target = p;
    return true;
}

/* ---- connections --------------------------------------------------------------------------- */

/* An idle connection to key that the peer has not closed, or -1. */
static int take_idle(pstate *s, const char *key)
{
    for (int i = 0; i < PLAIN_CONNS; i++) {
        pconn *c = &s->c[i];
        if (c->fd < 0 || strcmp(c->key, key))
            continue;
        int fd = c->fd;
        c->fd = -1;
        char b;
        ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return fd;
        close(fd); /* closed by the peer, or stray bytes: not reusable */
    }
    return -1;
}

static void put_idle(pstate *s, const char *key, int fd)
{
    pconn *slot = &s->c[0];
    for (int i = 0; i < PLAIN_CONNS; i++) {
        if (s->c[i].fd < 0) {
            slot = &s->c[i];
            break;
        }
        if (s->c[i].used < slot->used)
            slot = &s->c[i];
    }
    if (slot->fd >= 0)
        close(slot->fd);
    slot->fd = fd;
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->used = ++s->tick;
}

static int remaining(int64_t deadline)
{
    int64_t left = deadline - mono_now_ms();
    return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Waits for ev on fd until deadline: 1 ready, 0 timed out. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, remaining(deadline));
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return 1; /* let the next call report the error */
    }
}

/* Opens a connection: every resolved address in turn until one accepts. */
static int dial(const purl *u, int64_t deadline, long connect_ms, httpc_resp *out, int *fd_out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int gr = getaddrinfo(u->host, u->port, &hints, &res);
    if (gr) {
        snprintf(out->error, sizeof out->error, "Could not resolve host: %.120s (%s)", u->host,
                 gai_strerror(gr));
        return CM_ERR_IO;
    }
    int err = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
            err = errno;
            close(fd);
            continue;
        }
        if (!wait_fd(fd, POLLOUT, deadline)) {
            close(fd);
            freeaddrinfo(res);
            snprintf(out->error, sizeof out->error,
                     "Connection timed out after %ld milliseconds (connecting to %.120s port %s)",
                     connect_ms, u->host, u->port);
            return CM_ERR_TIMEOUT;
        }
        int so = 0;
        socklen_t sl = sizeof so;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) || so) {
            err = so ? so : errno;
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        freeaddrinfo(res);
        *fd_out = fd;
        return 0;
    }
    freeaddrinfo(res);
    snprintf(out->error, sizeof out->error, "Failed to connect to %.120s port %s: %s", u->host,
             u->port, strerror(err));
    return CM_ERR_IO;
}

/* ---- one exchange -------------------------------------------------------------------------- */

typedef struct exch {
    bool sent_any;  /* some request bytes left us */
    size_t got;     /* answer bytes received */
    bool reusable;  /* the connection may carry the next request */
    bool stale;     /* the peer closed or reset before answering a byte */
    bool timed_out; /* deadline passed */
} exch;

static int send_all(int fd, struct iovec *iov, int iovcnt, int64_t deadline, exch *x)
{
    while (iovcnt > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!wait_fd(fd, POLLOUT, deadline)) {
                    x->timed_out = true;
                    return CM_ERR_TIMEOUT;
                }
                continue;
            }
            return -errno;
        }
        x->sent_any = x->sent_any || n > 0;
        size_t k = (size_t)n;
        while (iovcnt > 0 && k >= iov->iov_len) {
            k -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= k;
        }
    }
    return 0;
}

static int exchange(int fd, struct iovec *iov, int iovcnt, h1_resp *h, int64_t deadline, exch *x,
                    httpc_resp *out)
{
    int rc = send_all(fd, iov, iovcnt, deadline, x);
    if (rc == CM_ERR_TIMEOUT) {
        snprintf(out->error, sizeof out->error, "Operation timed out while sending the request");
        return rc;
    }
    int send_err = rc < 0 ? -rc : 0; /* the answer may still be readable (an early refusal) */
    char buf[PLAIN_READ];
    for (;;) {
        if (!wait_fd(fd, POLLIN, deadline)) {
            x->timed_out = true;
            snprintf(out->error, sizeof out->error,
                     "Operation timed out with %zu bytes of the answer received", x->got);
            return CM_ERR_TIMEOUT;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : send_err;
            if (n == 0 && h1_resp_eof(h) == H1_DONE)
                return 0; /* a body that runs to the close */
            x->stale = x->got == 0 && (n == 0 || e == ECONNRESET || e == EPIPE);
            if (x->got == 0 && n == 0)
                snprintf(out->error, sizeof out->error, "Empty reply from server");
            else if (n == 0)
                snprintf(out->error, sizeof out->error,
                         "Connection closed with the answer incomplete (%zu bytes)", x->got);
            else
                snprintf(out->error, sizeof out->error, "Receive failure: %s", strerror(e));
            return CM_ERR_IO;
        }
        x->got += (size_t)n;
        size_t used = 0;
        int pr = h1_resp_feed(h, buf, (size_t)n, &used);
        if (pr == H1_DONE) {
            x->reusable = h->keep_alive && used == (size_t)n && !send_err;
            return 0;
        }
        if (pr == H1_MORE)
            continue;
        if (pr == H1_NOMEM)
            return CM_ERR_NOMEM;
        if (pr == H1_TOO_BIG)
            snprintf(out->error, sizeof out->error, "response larger than %d bytes",
                     HTTPC_MAX_RESPONSE);
        else
            snprintf(out->error, sizeof out->error, "Malformed HTTP answer");
        return CM_ERR_IO;
    }
}

/* ---- request ------------------------------------------------------------------------------- */

static int build_head(char **head, size_t *hl, const char *method, const purl *u,
                      const httpc_lines *l, bool has_body, size_t len)
{
    bool want_len =
        has_body || (strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "DELETE"));
    char clen[48] = "";
    if (want_len)
        snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", len);
    int n = asprintf(head,
                     "%s %s%s HTTP/1.1\r\nHost: %s\r\n"
                     "Accept: application/json, application/problem+json\r\n"
                     "%s%s%s%s%s%s%s%s%s%s%s%s%s\r\n",
                     method, u->target[0] == '/' ? "" : "/", u->target, u->hostport,
                     has_body ? "Content-Type: " : "", has_body ? l->content_type : "",
                     has_body ? "\r\n" : "", clen, l->idempotency_key ? "Idempotency-Key: " : "",
                     l->idempotency_key ? l->idempotency_key : "", l->idempotency_key ? "\r\n" : "",
                     l->bearer ? "Authorization: Bearer " : "", l->bearer ? l->bearer : "",
                     l->bearer ? "\r\n" : "", l->request_id ? "X-Request-Id: " : "",
                     l->request_id ? l->request_id : "", l->request_id ? "\r\n" : "");
    if (n < 0) {
        *head = NULL;
        return CM_ERR_NOMEM;
    }
    *hl = (size_t)n;
    return 0;
}

int httpc_plain_request(const char *method, const char *url, const char *body, size_t len,
                        const httpc_lines *l, long connect_ms, long timeout_ms, httpc_resp *out)
{
    httpc_plain_init();
    purl u;
    if (g_declined || len > PLAIN_BODY_MAX || !parse_url(url, &u))
        return HTTPC_DECLINED;
    pstate *s = state();
    if (!s)
        return HTTPC_DECLINED;
    char *head = NULL;
    size_t hl = 0;
    if (build_head(&head, &hl, method, &u, l, body != NULL, body ? len : 0))
        return CM_ERR_NOMEM;
    int64_t start = mono_now_ms();
    int64_t deadline = start + timeout_ms;
    int64_t connect_deadline = start + (connect_ms < timeout_ms ? connect_ms : timeout_ms);
    int rc = CM_ERR_IO;
    bool head_req = !strcmp(method, "HEAD");
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = take_idle(s, u.hostport);
        bool reused = fd >= 0;
        if (!reused) {
            rc = dial(&u, connect_deadline, connect_ms, out, &fd);
            if (rc) {
                out->sent = 0;
                break;
            }
        }
        struct iovec iov[2] = {{.iov_base = head, .iov_len = hl},
                               {.iov_base = (void *)body, .iov_len = body ? len : 0}};
        h1_resp h;
        h1_resp_init(&h, head_req, HTTPC_MAX_RESPONSE);
        exch x = {0};
        rc = exchange(fd, iov, body && len ? 2 : 1, &h, deadline, &x, out);
        if (rc == 0) {
            if (x.reusable)
                put_idle(s, u.hostport, fd);
            else
                close(fd);
            out->status = h.status;
            out->headers = h.head;
            out->body = h.body ? h.body : strdup("");
            out->len = h.body_len;
            h.head = h.body = NULL;
            if (!out->body) {
                free(out->headers);
                out->headers = NULL;
                rc = CM_ERR_NOMEM;
                break;
            }
            httpc_resp_header(out, "Content-Type", out->content_type, sizeof out->content_type);
            break;
        }
        h1_resp_free(&h);
        close(fd);
        out->sent = x.sent_any;
        /* A kept connection the peer had closed meanwhile: once more on a new one. */
        if (!(reused && x.stale && !x.timed_out))
            break;
        out->error[0] = '\0';
    }
    free(head);
    return rc;
}

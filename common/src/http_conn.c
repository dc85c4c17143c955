/* http_conn.c — the HTTP server's connection guard: it accepts connections itself and hands
 * them to libmicrohttpd (MHD_add_connection), so it can enforce the connection cap (evicting
 * the oldest idle connection, else answering 503 at once), the per-IP cap and the header,
 * body and request deadlines. Must not touch a socket libmicrohttpd has closed: a connection's
 * entry lives from MHD's STARTED notice to its CLOSED notice (sent before MHD closes the fd),
 * and every shutdown() happens under the same mutex. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cm_error.h"
#include "cm_log.h"
#include "http_internal.h"

#define GUARD_TICK_MS      100  /* deadline checks this often */
#define GUARD_ACCEPT_BATCH 256  /* accepts per wake-up before the deadlines are checked */
#define GUARD_BACKLOG      4096 /* listen(2) backlog (the kernel caps it at somaxconn) */
#define GUARD_FD_RESERVE   256  /* descriptors kept for pools, files, clients */
#define GUARD_IP_BUCKETS   1024

typedef enum {
    GC_PENDING, /* accepted, not yet started by MHD */
    GC_IDLE,    /* waiting for (the rest of) a request header */
    GC_BODY,    /* header read, body arriving */
    GC_BUSY,    /* request complete: queued, in a handler, or the answer is being sent */
    GC_CLOSING, /* shut down by the guard; MHD's CLOSED notice not yet seen */
} gc_state;

typedef struct gconn {
    struct gconn *prev, *next; /* in the idle or body list */
    int fd;
    uint32_t ip; /* IPv4, network order */
    gc_state state;
    int64_t since_ms;     /* entered this state */
    int64_t req_start_ms; /* the current request's start: when the connection became idle */
} gconn;

typedef struct gc_list {
    gconn *head, *tail;
} gc_list;

typedef struct ip_count {
    struct ip_count *next;
    uint32_t ip;
    int n;
} ip_count;

struct http_guard {
    http_guard_config cfg;
    struct MHD_Daemon *daemon;
    int listen_fd;
    int wake[2];
    pthread_t thread;
    bool running;
    pthread_mutex_t mu; /* everything below */
    gconn **byfd;       /* entry of each descriptor we admitted, by fd */
    size_t nfd;
    gc_list idle, body; /* oldest first */
    int open;           /* admitted, not yet closed */
    int closing;        /* shut down by us, not yet closed */
    int pending;        /* admitted, not yet started by MHD (not evictable yet) */
    int last_open_reported;
    ip_count *ips[GUARD_IP_BUCKETS];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- lists and counts (callers hold g->mu) ---- */

static void list_push(gc_list *l, gconn *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void list_del(gc_list *l, gconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

static gc_list *list_of(http_guard *g, const gconn *c)
{
    return c->state == GC_IDLE ? &g->idle : c->state == GC_BODY ? &g->body : NULL;
}

static void set_state(http_guard *g, gconn *c, gc_state st, int64_t now)
{
    gc_list *l = list_of(g, c);
    if (l)
        list_del(l, c);
    c->state = st;
    c->since_ms = now;
    if ((l = list_of(g, c)) != NULL)
        list_push(l, c);
}

static ip_count **ip_slot(http_guard *g, uint32_t ip)
{
    ip_count **pp = &g->ips[(ip * 2654435761u) % GUARD_IP_BUCKETS];
    while (*pp && (*pp)->ip != ip)
        pp = &(*pp)->next;
    return pp;
}

static int ip_open(http_guard *g, uint32_t ip)
{
    ip_count **pp = ip_slot(g, ip);
    return *pp ? (*pp)->n : 0;
}

/* Per-IP counts exist only when the per-IP cap is on. Returns false out of memory. */
static bool ip_add(http_guard *g, uint32_t ip, int d)
{
    if (g->cfg.max_per_ip <= 0)
        return true;
    ip_count **pp = ip_slot(g, ip);
    if (!*pp) {
        if (d < 0 || !(*pp = calloc(1, sizeof **pp)))
            return d < 0;
        (*pp)->ip = ip;
    }
    (*pp)->n += d;
    if ((*pp)->n <= 0) {
        ip_count *dead = *pp;
        *pp = dead->next;
        free(dead);
    }
    return true;
}

/* Forget an admitted connection (closed, or dropped by MHD before it started). */
static void forget(http_guard *g, gconn *c)
{
    gc_list *l = list_of(g, c);
    if (l)
        list_del(l, c);
    if (c->state == GC_CLOSING)
        g->closing--;
    if (c->state == GC_PENDING)
        g->pending--;
    g->open--;
    ip_add(g, c->ip, -1);
    if (c->fd >= 0 && (size_t)c->fd < g->nfd && g->byfd[c->fd] == c)
        g->byfd[c->fd] = NULL;
    free(c);
}

static void ip_text(uint32_t ip, char *buf, size_t n)
{
    struct in_addr a = {.s_addr = ip};
    if (!inet_ntop(AF_INET, &a, buf, (socklen_t)n))
        snprintf(buf, n, "?");
}

static void count(http_guard *g, const char *name, const char *help, const char *reason)
{
    if (!g->cfg.metrics)
        return;
    char labels[64];
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    metrics_counter_add(g->cfg.metrics, name, help, labels, 1);
}

/* Close connection c for `reason`: shutdown() makes MHD see the end of the stream and close
 * it (and send its CLOSED notice) on its own thread. */
static void shut(http_guard *g, gconn *c, const char *reason, int64_t now)
{
    char ip[INET_ADDRSTRLEN];
    ip_text(c->ip, ip, sizeof ip);
    log_warn("closing connection from %s after %lld ms: %s", ip, (long long)(now - c->since_ms),
             reason);
    count(g, "http_connections_closed_total", "Connections the server closed by reason", reason);
    set_state(g, c, GC_CLOSING, now);
    g->closing++;
    shutdown(c->fd, SHUT_RDWR);
}

/* ---- accepting ---- */

#define BUSY_BODY                                                                           \
    "{\"type\":\"/problems/Unavailable\",\"title\":\"Service Unavailable\",\"status\":503," \
    "\"detail\":\"too many connections, retry later\",\"code\":\"Unavailable\"}"
#define BUSY_HEAD                                \
    "HTTP/1.1 503 Service Unavailable\r\n"       \
    "Content-Type: application/problem+json\r\n" \
    "Retry-After: 1\r\n"                         \
    "Connection: close\r\n"                      \
    "Content-Length: "

/* Answers a connection we will not serve with 503 and closes it, without waiting: what the
 * client sent so far is read and dropped first, so the close does not reset the answer away. */
static void refuse(http_guard *g, int fd, uint32_t ip, const char *reason, int open)
{
    char ipbuf[INET_ADDRSTRLEN], drain[4096];
    ip_text(ip, ipbuf, sizeof ipbuf);
    log_warn("refusing a connection from %s: %s (%d open, limit %d, per IP %d)", ipbuf, reason,
             open, g->cfg.max_connections, g->cfg.max_per_ip);
    count(g, "http_connections_refused_total", "Connections answered 503 at once by reason",
          reason);
    while (recv(fd, drain, sizeof drain, MSG_DONTWAIT) > 0) {
    }
    char answer[512];
    int n =
        snprintf(answer, sizeof answer, BUSY_HEAD "%zu\r\n\r\n" BUSY_BODY, sizeof BUSY_BODY - 1);
    ssize_t w = send(fd, answer, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w;
    shutdown(fd, SHUT_WR);
    close(fd);
}

/* Decides about a new connection. Returns its entry (admitted) or NULL (refused: fd closed). */
static gconn *admit(http_guard *g, int fd, uint32_t ip, int64_t now)
{
    const char *refused = NULL;
    gconn *c = NULL;
    pthread_mutex_lock(&g->mu);
    if ((size_t)fd >= g->nfd)
        refused = "out of descriptors";
    else if (g->cfg.max_per_ip > 0 && ip_open(g, ip) >= g->cfg.max_per_ip)
        refused = "per_ip";
    else if (g->open - g->closing >= g->cfg.max_connections) {
        /* Make room with the oldest idle connection. Connections accepted a moment ago that MHD
         * has not started yet are idle too but cannot be closed yet: while some are, admit
         * (up to one accept batch over the cap); the deadline pass evicts back to the cap. */
        if (g->idle.head)
            shut(g, g->idle.head, "evicted", now);
        else if (g->pending == 0 || g->pending >= GUARD_ACCEPT_BATCH)
            refused = "max_connections";
    }
    if (!refused) {
        /* An fd is only handed out again once closed, so an entry still here is one MHD
         * dropped before starting it (no notices): forget it. */
        if (g->byfd[fd])
            forget(g, g->byfd[fd]);
        c = calloc(1, sizeof *c);
        if (!c || !ip_add(g, ip, 1)) {
            free(c);
            c = NULL;
            refused = "out of memory";
        } else {
            *c = (gconn){.fd = fd, .ip = ip, .state = GC_PENDING, .since_ms = now};
            g->byfd[fd] = c;
            g->open++;
            g->pending++;
        }
    }
    int open = g->open - g->closing;
    pthread_mutex_unlock(&g->mu);
    if (refused)
        refuse(g, fd, ip, refused, open);
    return c;
}

static void accept_some(http_guard *g)
{
    for (int i = 0; i < GUARD_ACCEPT_BATCH; i++) {
        struct sockaddr_in addr;
        socklen_t len = sizeof addr;
        int fd =
            accept4(g->listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                log_warn("accept: %s; closing the oldest idle connection", strerror(errno));
                pthread_mutex_lock(&g->mu);
                if (g->idle.head)
                    shut(g, g->idle.head, "evicted", now_ms());
                pthread_mutex_unlock(&g->mu);
            }
            return; /* EAGAIN: nothing more; errors: try on the next wake-up */
        }
        gconn *c = admit(g, fd, addr.sin_addr.s_addr, now_ms());
        if (c && MHD_add_connection(g->daemon, fd, (struct sockaddr *)&addr, len) != MHD_YES) {
            /* MHD closed the socket and will send no notice for it. */
            pthread_mutex_lock(&g->mu);
            if (g->byfd[fd] == c)
                forget(g, c);
            pthread_mutex_unlock(&g->mu);
        }
    }
}

/* Closes the connections past a deadline: header (idle list, oldest first), body and whole
 * request (body list). */
static void reap(http_guard *g, int64_t now)
{
    pthread_mutex_lock(&g->mu);
    while (g->idle.head && now - g->idle.head->since_ms >= g->cfg.header_timeout_ms)
        shut(g, g->idle.head, "header_timeout", now);
    while (g->idle.head && g->open - g->closing > g->cfg.max_connections)
        shut(g, g->idle.head, "evicted", now); /* back to the cap after a burst */
    for (gconn *c = g->body.head, *next; c; c = next) {
        next = c->next;
        if (now - c->since_ms >= g->cfg.body_timeout_ms)
            shut(g, c, "body_timeout", now);
        else if (now - c->req_start_ms >= g->cfg.request_timeout_ms)
            shut(g, c, "request_timeout", now);
    }
    int open = g->open - g->closing;
    bool report = open != g->last_open_reported;
    g->last_open_reported = open;
    pthread_mutex_unlock(&g->mu);
    if (report && g->cfg.metrics)
        metrics_gauge_set(g->cfg.metrics, "http_connections_open", "Open HTTP connections", NULL,
                          open);
}

static void *guard_main(void *arg)
{
    http_guard *g = arg;
    int64_t next_reap = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = g->listen_fd, .events = POLLIN},
                              {.fd = g->wake[0], .events = POLLIN}};
        int n = poll(p, 2, GUARD_TICK_MS);
        if (n > 0 && p[1].revents)
            break;
        if (n > 0 && (p[0].revents & POLLIN))
            accept_some(g);
        int64_t now = now_ms();
        if (now >= next_reap) {
            reap(g, now);
            next_reap = now + GUARD_TICK_MS;
        }
    }
    return NULL;
}

/* ---- public (http_internal.h) ---- */

/* Raises the soft descriptor limit to the hard one; returns the soft limit now in force. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_cur;
}

int guard_new(const http_guard_config *cfg, const char *bind_addr, int port, http_guard **out)
{
    *out = NULL;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1)
        return CM_ERR_INVALID;
    http_guard *g = calloc(1, sizeof *g);
    if (!g)
        return CM_ERR_NOMEM;
    g->cfg = *cfg;
    g->listen_fd = g->wake[0] = g->wake[1] = -1;
    rlim_t nofile = raise_nofile();
    g->nfd = nofile > ((rlim_t)1 << 20) ? (size_t)1 << 20 : (size_t)nofile;
    int room = g->nfd > GUARD_FD_RESERVE * 2 ? (int)(g->nfd - GUARD_FD_RESERVE) : (int)g->nfd / 2;
    if (g->cfg.max_connections > room) {
        log_warn("HTTP_MAX_CONNECTIONS=%d is above what RLIMIT_NOFILE (%zu) leaves; using %d",
                 g->cfg.max_connections, g->nfd, room);
        g->cfg.max_connections = room;
    }
    pthread_mutex_init(&g->mu, NULL);
    g->byfd = calloc(g->nfd, sizeof *g->byfd);
    int rc = CM_ERR_NOMEM;
    if (!g->byfd || pipe2(g->wake, O_CLOEXEC) != 0)
        goto fail;
    rc = CM_ERR_IO;
    int one = 1;
    g->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->listen_fd < 0 ||
        setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(g->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(g->listen_fd, GUARD_BACKLOG) != 0) {
        log_error("cannot listen on %s:%d: %s", bind_addr, port, strerror(errno));
        goto fail;
    }
    *out = g;
    return 0;
fail:
    guard_free(g);
    return rc;
}

int guard_start(http_guard *g, struct MHD_Daemon *daemon)
{
    g->daemon = daemon;
    if (pthread_create(&g->thread, NULL, guard_main, g) != 0)
        return CM_ERR_NOMEM;
    g->running = true;
    return 0;
}

void guard_stop_accepting(http_guard *g)
{
    if (!g || !g->running)
        return;
    ssize_t w = write(g->wake[1], "x", 1);
    (void)w;
    pthread_join(g->thread, NULL);
    g->running = false;
    close(g->listen_fd);
    g->listen_fd = -1;
}

void guard_free(http_guard *g)
{
    if (!g)
        return;
    guard_stop_accepting(g);
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    for (int i = 0; i < 2; i++)
        if (g->wake[i] >= 0)
            close(g->wake[i]);
    for (size_t i = 0; g->byfd && i < g->nfd; i++)
        free(g->byfd[i]);
    for (size_t i = 0; i < GUARD_IP_BUCKETS; i++)
        while (g->ips[i]) {
            ip_count *n = g->ips[i];
            g->ips[i] = n->next;
            free(n);
        }
    free(g->byfd);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

int guard_max_connections(const http_guard *g)
{
    return g->cfg.max_connections;
}

void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
    http_guard *g = cls;
    int64_t now = now_ms();
    pthread_mutex_lock(&g->mu);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        int fd = ci ? ci->connect_fd : -1;
        gconn *c = fd >= 0 && (size_t)fd < g->nfd ? g->byfd[fd] : NULL;
        if (c) {
            g->pending--;
            c->req_start_ms = now;
            set_state(g, c, GC_IDLE, now);
        }
        *socket_context = c;
    } else if (*socket_context) {
        forget(g, *socket_context);
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&g->mu);
}

static gconn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

int64_t guard_request_begin(http_guard *g, struct MHD_Connection *conn)
{
    int64_t now = now_ms(), start = now;
    gconn *c = conn_of(conn);
    if (!c)
        return start;
    pthread_mutex_lock(&g->mu);
    if (c->state == GC_IDLE) {
        c->req_start_ms = c->since_ms;
        set_state(g, c, GC_BODY, now);
    }
    start = c->req_start_ms;
    pthread_mutex_unlock(&g->mu);
    return start;
}

void guard_request_read(http_guard *g, struct MHD_Connection *conn)
{
    gconn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    if (c->state == GC_BODY)
        set_state(g, c, GC_BUSY, now_ms());
    pthread_mutex_unlock(&g->mu);
}

void guard_request_end(http_guard *g, struct MHD_Connection *conn)
{
    gconn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    if (c->state == GC_BODY || c->state == GC_BUSY)
        set_state(g, c, GC_IDLE, now_ms());
    pthread_mutex_unlock(&g->mu);
}

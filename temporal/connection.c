/* connection.c - client construction: options (and their environment variables), TLS / mTLS
 * credentials, headers sent on every call, gRPC channel arguments. Must not make any call. */
#include "temporal_internal.h"

#include <errno.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TC_PEM_MAX           (1024 * 1024) /* a PEM bundle larger than this is not a PEM bundle */
#define TC_MAX_HEADERS       32
#define TC_DEFAULT_ATTEMPTS  4
#define TC_RETRY_INITIAL_MS  100
#define TC_RETRY_MAX_MS      1000
#define TC_RECONNECT_MAX_MS  1000
#define TC_RECONNECT_INIT_MS 100
#define TC_CONNECT_MIN_MS    5000 /* gRPC's minimum connect (and TLS handshake) timeout */

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

static const char *nonempty(const char *v)
{
    return (v && *v) ? v : NULL;
}

/* v is the variable's value (getenv(name)): a literal getenv per variable keeps the docs check
 * (tests/ship/test_docs.py) able to see which variables the code reads. */
static int env_int(const char *name, const char *v, int *out, tc_error *err)
{
    v = nonempty(v);
    if (!v)
        return TC_OK;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n <= 0 || n > INT_MAX)
        return tc_seterr(err, TC_ERR_INVALID, "%s=%s: expected a positive integer", name, v);
    *out = (int)n;
    return TC_OK;
}

int tc_client_options_from_env(tc_client_options *o, tc_error *err)
{
    if (!o)
        return tc_seterr(err, TC_ERR_INVALID, "options are NULL");
    const char *v;
    if ((v = nonempty(getenv("TEMPORAL_ADDRESS"))))
        o->address = v;
    if ((v = nonempty(getenv("TEMPORAL_NAMESPACE"))))
        o->ns = v;
    if ((v = nonempty(getenv("TEMPORAL_TLS")))) {
        if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
            o->tls = true;
        else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
            o->tls = false;
        else
            return tc_seterr(err, TC_ERR_INVALID, "TEMPORAL_TLS=%s: expected true or false", v);
    }
    if ((v = nonempty(getenv("TEMPORAL_TLS_CA"))))
        o->tls_ca_file = v;
    if ((v = nonempty(getenv("TEMPORAL_TLS_CERT"))))
        o->tls_cert_file = v;
    if ((v = nonempty(getenv("TEMPORAL_TLS_KEY"))))
        o->tls_key_file = v;
    if ((v = nonempty(getenv("TEMPORAL_TLS_SERVER_NAME"))))
        o->tls_server_name = v;
    if ((v = nonempty(getenv("TEMPORAL_API_KEY"))))
        o->api_key = v;
    if ((v = nonempty(getenv("TEMPORAL_GRPC_META"))))
        o->header_list = v;
    if ((v = nonempty(getenv("TEMPORAL_GRPC_PROXY"))))
        o->proxy = v;
    int rc = env_int("TEMPORAL_RPC_TIMEOUT_MS", getenv("TEMPORAL_RPC_TIMEOUT_MS"),
                     &o->rpc_timeout_ms, err);
    if (rc == TC_OK)
        rc = env_int("TEMPORAL_RPC_ATTEMPTS", getenv("TEMPORAL_RPC_ATTEMPTS"), &o->max_attempts,
                     err);
    return rc;
}

/* Reads a whole PEM file into a malloc'd string. what names the file's role in errors. */
static int read_pem(const char *path, const char *what, char **out, tc_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tc_seterr(err, TC_ERR_IO, "%s %s: %s", what, path, strerror(errno));
    char *buf = malloc(TC_PEM_MAX + 1);
    if (!buf) {
        fclose(f);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, TC_PEM_MAX + 1, f);
    int rd_err = ferror(f) ? errno : 0;
    fclose(f);
    if (rd_err) {
        free(buf);
        return tc_seterr(err, TC_ERR_IO, "%s %s: %s", what, path, strerror(rd_err));
    }
    if (n > TC_PEM_MAX) {
        free(buf);
        return tc_seterr(err, TC_ERR_INVALID, "%s %s: larger than %d bytes", what, path,
                         TC_PEM_MAX);
    }
    buf[n] = '\0';
    if (!strstr(buf, "-----BEGIN ")) {
        free(buf);
        return tc_seterr(err, TC_ERR_INVALID, "%s %s: not a PEM file", what, path);
    }
    *out = buf;
    return TC_OK;
}

/* System roots: the distribution's bundle, so locally installed CAs count; NULL lets gRPC use
 * its own default roots. */
static int read_system_roots(char **out, tc_error *err)
{
    static const char *bundles[] = {"/etc/ssl/certs/ca-certificates.crt",
                                    "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"};
    *out = NULL;
    for (size_t i = 0; i < sizeof bundles / sizeof bundles[0]; i++)
        if (access(bundles[i], R_OK) == 0)
            return read_pem(bundles[i], "system CA bundle", out, err);
    return TC_OK;
}

/* Builds the channel credentials from the TLS options (insecure when TLS is off). */
static int make_credentials(const tc_client_options *o, bool tls, grpc_channel_credentials **out,
                            tc_error *err)
{
    *out = NULL;
    if (!tls) {
        *out = grpc_insecure_credentials_create();
        return TC_OK;
    }
    if ((o->tls_cert_file != NULL) != (o->tls_key_file != NULL))
        return tc_seterr(err, TC_ERR_INVALID,
                         "mTLS needs both a client certificate and its key (got only the %s)",
                         o->tls_cert_file ? "certificate" : "key");
    char *roots = NULL, *cert = NULL, *key = NULL;
    int rc = o->tls_ca_file ? read_pem(o->tls_ca_file, "TLS CA file", &roots, err)
                            : read_system_roots(&roots, err);
    if (rc == TC_OK && o->tls_cert_file)
        rc = read_pem(o->tls_cert_file, "TLS client certificate", &cert, err);
    if (rc == TC_OK && o->tls_key_file)
        rc = read_pem(o->tls_key_file, "TLS client key", &key, err);
    if (rc == TC_OK) {
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
        *out = grpc_ssl_credentials_create_ex(roots, cert ? &pair : NULL, NULL, NULL);
        if (!*out)
            rc = tc_seterr(err, TC_ERR_INVALID, "gRPC refused the TLS settings");
    }
    /* gRPC copied what it needs; the key is wiped before it is released. */
    if (key)
        memset(key, 0, strlen(key));
    free(key);
    free(cert);
    free(roots);
    return rc;
}

/* Keeps a copy of s owned by the client; NULL on allocation failure. */
static char *keep(tc_client *c, const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    c->strs[c->n_strs++] = d;
    return d;
}

static bool header_key_ok(const char *k, size_t n)
{
    if (n == 0 || k[0] == ':' || (n >= 5 && strncmp(k, "grpc-", 5) == 0))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '-' ||
              k[i] == '_' || k[i] == '.'))
            return false;
    return true;
}

static bool header_value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return false;
    return true;
}

/* Appends one header (copied) after checking it is something gRPC will send. */
static int add_header(tc_client *c, const char *k, size_t kn, const char *v, size_t vn,
                      tc_error *err)
{
    if (!header_key_ok(k, kn))
        return tc_seterr(err, TC_ERR_INVALID,
                         "header name \"%.*s\": use lowercase letters, digits, - _ . "
                         "(not grpc-*)",
                         (int)kn, k);
    if (!header_value_ok(v, vn))
        return tc_seterr(err, TC_ERR_INVALID, "header %.*s: value must be printable ASCII", (int)kn,
                         k);
    if (c->n_md == TC_MAX_HEADERS)
        return tc_seterr(err, TC_ERR_INVALID, "more than %d headers", TC_MAX_HEADERS);
    char *ks = keep(c, k, kn);
    char *vs = ks ? keep(c, v, vn) : NULL;
    if (!vs)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    grpc_metadata *m = &c->md[c->n_md++];
    memset(m, 0, sizeof *m);
    m->key = grpc_slice_from_static_buffer(ks, kn);
    m->value = grpc_slice_from_static_buffer(vs, vn);
    return TC_OK;
}

static int add_header_str(tc_client *c, const char *k, const char *v, tc_error *err)
{
    return add_header(c, k, strlen(k), v, strlen(v), err);
}

/* Parses "key=value,key2=value2" (spaces around items ignored). */
static int add_header_list(tc_client *c, const char *list, tc_error *err)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        while (p < end && *p == ' ')
            p++;
        size_t n = (size_t)(end - p);
        while (n && p[n - 1] == ' ')
            n--;
        if (n) {
            const char *eq = memchr(p, '=', n);
            if (!eq)
                return tc_seterr(err, TC_ERR_INVALID, "header \"%.*s\": expected key=value", (int)n,
                                 p);
            int rc = add_header(c, p, (size_t)(eq - p), eq + 1, n - (size_t)(eq - p) - 1, err);
            if (rc != TC_OK)
                return rc;
        }
        p = *end ? end + 1 : end;
    }
    return TC_OK;
}

static int build_headers(tc_client *c, const tc_client_options *o, tc_error *err)
{
    c->md = calloc(TC_MAX_HEADERS, sizeof *c->md);
    c->strs = calloc(2 * TC_MAX_HEADERS, sizeof *c->strs);
    if (!c->md || !c->strs)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    int rc = add_header_str(c, "client-name", TC_CLIENT_NAME, err);
    if (rc == TC_OK)
        rc = add_header_str(c, "client-version", TC_CLIENT_VERSION, err);
    if (rc == TC_OK)
        rc = add_header_str(c, "supported-server-versions", ">=1.0.0 <2.0.0", err);
    /* Routing proxies and cloud frontends pick the namespace from this header. */
    if (rc == TC_OK)
        rc = add_header_str(c, "temporal-namespace", c->ns, err);
    if (rc == TC_OK && o->api_key && *o->api_key) {
        size_t n = strlen(o->api_key) + sizeof "Bearer ";
        char *v = malloc(n);
        if (!v)
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        snprintf(v, n, "Bearer %s", o->api_key);
        rc = add_header_str(c, "authorization", v, err);
        memset(v, 0, n);
        free(v);
    }
    for (size_t i = 0; rc == TC_OK && i < o->n_headers; i++) {
        if (!o->headers[i].key || !o->headers[i].value)
            return tc_seterr(err, TC_ERR_INVALID, "header %zu has no key or value", i);
        rc = add_header_str(c, o->headers[i].key, o->headers[i].value, err);
    }
    if (rc == TC_OK && o->header_list)
        rc = add_header_list(c, o->header_list, err);
    return rc;
}

static void arg_int(grpc_arg *a, const char *key, int v)
{
    a->type = GRPC_ARG_INTEGER;
    a->key = (char *)key;
    a->value.integer = v;
}

static void arg_str(grpc_arg *a, const char *key, const char *v)
{
    a->type = GRPC_ARG_STRING;
    a->key = (char *)key;
    a->value.string = (char *)v;
}

static int positive_or(int v, int def)
{
    return v > 0 ? v : def;
}

static int open_channel(tc_client *c, const tc_client_options *o, tc_error *err)
{
    bool tls = o->tls || o->tls_ca_file || o->tls_cert_file || o->tls_key_file;
    grpc_channel_credentials *cred = NULL;
    int rc = make_credentials(o, tls, &cred, err);
    if (rc != TC_OK)
        return rc;
    c->tls = tls;
    grpc_arg args[12];
    size_t n = 0;
    arg_int(&args[n++], GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, TC_MAX_RECV_BYTES);
    if (o->keepalive_time_ms >= 0) {
        arg_int(&args[n++], GRPC_ARG_KEEPALIVE_TIME_MS, positive_or(o->keepalive_time_ms, 30000));
        arg_int(&args[n++], GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                positive_or(o->keepalive_timeout_ms, 15000));
        arg_int(&args[n++], GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    }
    /* We retry ourselves (tc_rpc), so gRPC's retry filter, which buffers every message of
     * every call, only costs CPU. */
    arg_int(&args[n++], GRPC_ARG_ENABLE_RETRIES, 0);
    /* gRPC's reconnect backoff grows to 120 s by default: a client whose server was down a
     * minute would keep failing calls for up to two more minutes after it came back. Capped,
     * the channel tries again at least every reconnect_max_ms (+-20 % jitter). */
    int rmax = positive_or(o->reconnect_max_ms, TC_RECONNECT_MAX_MS);
    arg_int(&args[n++], GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
            rmax < TC_RECONNECT_INIT_MS ? rmax : TC_RECONNECT_INIT_MS);
    arg_int(&args[n++], GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, rmax);
    arg_int(&args[n++], GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, TC_CONNECT_MIN_MS);
    if (tls && o->tls_server_name && *o->tls_server_name)
        arg_str(&args[n++], GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, o->tls_server_name);
    if (o->proxy && *o->proxy)
        arg_str(&args[n++], GRPC_ARG_HTTP_PROXY, o->proxy);
    grpc_channel_args ca = {n, args};
    c->channel = grpc_channel_create(c->address, cred, &ca);
    grpc_channel_credentials_release(cred);
    if (!c->channel)
        return tc_seterr(err, TC_ERR_UNAVAILABLE, "cannot create a channel to %s", c->address);
    return TC_OK;
}

/* Why a reconnect watcher: gRPC C core makes progress on a connection attempt (TCP connect,
 * TLS, the HTTP/2 SETTINGS exchange) only while some thread polls: a call in flight, or the
 * channel's backup poller, which runs every 5 s. While the server is down our calls fail fast,
 * so almost nobody polls, and a connection the server accepted is finished up to 5 s later -
 * often after its connect deadline, so it is thrown away and the outage goes on (measured: 30 s
 * and more after the server was back). This thread watches the channel's connectivity on its own
 * completion queue, which both polls the connection and asks for a new attempt whenever the
 * channel falls IDLE, and ends as soon as the channel is READY: it costs nothing while the
 * server is up. */
#define TC_WATCH_SLICE_MS 250

static void *reconnect_main(void *arg)
{
    tc_client *c = arg;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    for (;;) {
        pthread_mutex_lock(&c->rec_mu);
        bool stop = c->rec_stop;
        pthread_mutex_unlock(&c->rec_mu);
        grpc_connectivity_state st = grpc_channel_check_connectivity_state(c->channel, 1);
        if (stop || st == GRPC_CHANNEL_READY || st == GRPC_CHANNEL_SHUTDOWN)
            break;
        gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                          gpr_time_from_millis(TC_WATCH_SLICE_MS, GPR_TIMESPAN));
        grpc_channel_watch_connectivity_state(c->channel, st, until, cq, NULL);
        grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
    pthread_mutex_lock(&c->rec_mu);
    c->rec_running = false;
    pthread_mutex_unlock(&c->rec_mu);
    return NULL;
}

void tc_conn_kick(tc_client *c)
{
    pthread_mutex_lock(&c->rec_mu);
    if (!c->rec_running && !c->rec_stop) {
        if (c->rec_joinable) { /* the last watcher has ended: reap it */
            pthread_join(c->rec_thread, NULL);
            c->rec_joinable = false;
        }
        if (pthread_create(&c->rec_thread, NULL, reconnect_main, c) == 0)
            c->rec_running = c->rec_joinable = true;
    }
    pthread_mutex_unlock(&c->rec_mu);
}

int tc_client_new(const tc_client_options *o, tc_client **out, tc_error *err)
{
    tc_client_options d = {0};
    if (!o)
        o = &d;
    if (!out)
        return tc_seterr(err, TC_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (o->proxy && *o->proxy && strncmp(o->proxy, "http://", 7) != 0)
        return tc_seterr(err, TC_ERR_INVALID, "proxy %s: only http:// CONNECT proxies", o->proxy);
    tc_client *c = calloc(1, sizeof *c);
    if (!c)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&c->cq_mu, NULL);
    pthread_mutex_init(&c->rec_mu, NULL);
    pthread_mutex_init(&c->eager_mu, NULL);
    char ident[256];
    if (!o->identity) {
        char host[128] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(ident, sizeof ident, "%ld@%s", (long)getpid(), host);
    }
    c->address = tc_strdup(o->address ? o->address : env_or("TEMPORAL_ADDRESS", "127.0.0.1:21733"));
    c->ns = tc_strdup(o->ns ? o->ns : env_or("TEMPORAL_NAMESPACE", "default"));
    c->identity = tc_strdup(o->identity ? o->identity : ident);
    c->rpc_timeout_ms = positive_or(o->rpc_timeout_ms, 10000);
    c->max_attempts = positive_or(o->max_attempts, TC_DEFAULT_ATTEMPTS);
    c->retry_initial_ms = positive_or(o->retry_initial_ms, TC_RETRY_INITIAL_MS);
    c->retry_max_ms = positive_or(o->retry_max_ms, TC_RETRY_MAX_MS);
    c->log_fn = o->log_fn;
    c->log_user = o->log_user;
    c->on_unavailable = tc_conn_kick;
    int rc = TC_OK;
    if (!c->address || !c->ns || !c->identity)
        rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    if (rc == TC_OK)
        rc = build_headers(c, o, err);
    if (rc == TC_OK) /* the data converter's hooks, when codecs or failure encoding are set */
        rc = tc_codec_setup(c, o->codecs, o->n_codecs, o->encode_failure_attributes, err);
    if (rc == TC_OK) {
        tc_global_init();
        rc = open_channel(c, o, err);
        if (rc != TC_OK)
            tc_global_shutdown(); /* tc_client_free only releases it for a live channel */
    }
    if (rc != TC_OK) {
        tc_client_free(c);
        return rc;
    }
    *out = c;
    return TC_OK;
}

void tc_client_free(tc_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->rec_mu);
    c->rec_stop = true;
    bool join = c->rec_joinable;
    pthread_mutex_unlock(&c->rec_mu);
    if (join) /* ends within one watch slice */
        pthread_join(c->rec_thread, NULL);
    pthread_mutex_destroy(&c->rec_mu);
    tc_cq_pool_drain(c);
    if (c->channel) {
        grpc_channel_destroy(c->channel);
        tc_global_shutdown();
    }
    pthread_mutex_destroy(&c->cq_mu);
    pthread_mutex_destroy(&c->eager_mu);
    free(c->eager_workers);
    for (size_t i = 0; i < c->n_strs; i++) {
        memset(c->strs[i], 0, strlen(c->strs[i])); /* may hold the API key */
        free(c->strs[i]);
    }
    free(c->strs);
    free(c->md);
    tc_codec_free(c);
    free(c->address);
    free(c->ns);
    free(c->identity);
    free(c);
}

const char *tc_client_namespace(const tc_client *c)
{
    return c->ns;
}

const char *tc_client_identity(const tc_client *c)
{
    return c->identity;
}

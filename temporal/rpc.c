/* rpc.c - gRPC C core transport: channel setup, one unary WorkflowService call per batch,
 * retry with backoff, gRPC status -> tc_code. Must not know about workflows or payloads. */
#include "metrics.h"
#include "temporal_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TC_SERVICE_PREFIX "/temporal.api.workflowservice.v1.WorkflowService/"

static pthread_mutex_t g_init_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_init_refs;

/* Abseil built without NDEBUG (as Debian ships it) runs Mutex deadlock detection on every
 * lock gRPC takes: a global graph behind one more lock, about a tenth of the worker's CPU.
 * Release builds of gRPC never run it; turn it off unless TC_ABSL_DEADLOCK_DETECTION=1. The
 * setter is C++ (absl::SetMutexDeadlockDetectionMode(OnDeadlockCycle::kIgnore), an int enum
 * whose kIgnore is 0), looked up by its mangled names so that an Abseil without it (another
 * inline namespace, a static build) simply keeps its default. */
static void absl_deadlock_detection_off(void)
{
    static const char *names[] = {
        "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
        "_ZN4absl29SetMutexDeadlockDetectionModeENS_15OnDeadlockCycleE",
    };
    const char *env = getenv("TC_ABSL_DEADLOCK_DETECTION");
    if (env && strcmp(env, "1") == 0)
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(RTLD_DEFAULT, names[i]);
        if (sym) {
            void (*set_mode)(int);
            memcpy(&set_mode, &sym, sizeof set_mode); /* object -> function pointer */
            set_mode(0);
            return;
        }
    }
}

void tc_global_init(void)
{
    pthread_mutex_lock(&g_init_mu);
    if (g_init_refs++ == 0) {
        absl_deadlock_detection_off();
        grpc_init();
    }
    pthread_mutex_unlock(&g_init_mu);
}

void tc_global_shutdown(void)
{
    pthread_mutex_lock(&g_init_mu);
    if (g_init_refs > 0 && --g_init_refs == 0)
        grpc_shutdown();
    pthread_mutex_unlock(&g_init_mu);
}

const char *tc_code_name(int code)
{
    switch (code) {
    case TC_OK: return "TC_OK";
    case TC_ERR_INVALID: return "TC_ERR_INVALID";
    case TC_ERR_NOMEM: return "TC_ERR_NOMEM";
    case TC_ERR_UNAVAILABLE: return "TC_ERR_UNAVAILABLE";
    case TC_ERR_TIMEOUT: return "TC_ERR_TIMEOUT";
    case TC_ERR_NOT_FOUND: return "TC_ERR_NOT_FOUND";
    case TC_ERR_ALREADY_STARTED: return "TC_ERR_ALREADY_STARTED";
    case TC_ERR_RPC: return "TC_ERR_RPC";
    case TC_ERR_PROTOCOL: return "TC_ERR_PROTOCOL";
    case TC_ERR_WORKFLOW_FAILED: return "TC_ERR_WORKFLOW_FAILED";
    case TC_ERR_QUERY_FAILED: return "TC_ERR_QUERY_FAILED";
    case TC_ERR_CANCELLED: return "TC_ERR_CANCELLED";
    case TC_ERR_IO: return "TC_ERR_IO";
    case TC_ERR_STATE: return "TC_ERR_STATE";
    case TC_ERR_FAILED: return "TC_ERR_FAILED";
    case TC_ERR_NONDETERMINISM: return "TC_ERR_NONDETERMINISM";
    case TC_ERR_TASK_FAILED: return "TC_ERR_TASK_FAILED";
    case TC_ERR_CODEC: return "TC_ERR_CODEC";
    default: return "TC_ERR_UNKNOWN";
    }
}

char *tc_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int64_t tc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int tc_cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    int e = pthread_condattr_init(&a);
    if (e)
        return e;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    e = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return e;
}

void tc_uuid(char out[37])
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(b, 1, sizeof b, f) != sizeof b) {
        /* Fallback keeps ids unique enough inside one process. */
        uint64_t t = (uint64_t)tc_now_us() ^ ((uint64_t)getpid() << 32);
        for (int i = 0; i < 16; i++)
            b[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)(rand() & 0xff);
    }
    if (f)
        fclose(f);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

int64_t tc_backoff_jitter(int64_t ms)
{
    /* "Equal jitter": half the delay fixed, half random, so clients that failed together do
     * not come back together. xorshift per thread: no lock, no shared state. */
    static _Thread_local uint64_t x;
    if (x == 0)
        x = (uint64_t)tc_now_us() ^ ((uint64_t)(uintptr_t)&x << 16) ^ 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int64_t half = ms / 2;
    return half + (half > 0 ? (int64_t)(x % (uint64_t)(half + 1)) : 0);
}

void tc_cancel_init(tc_cancel *k)
{
    pthread_mutex_init(&k->mu, NULL);
    k->call = NULL;
    k->cancelled = false;
}

void tc_cancel_destroy(tc_cancel *k)
{
    pthread_mutex_destroy(&k->mu);
}

void tc_cancel_fire(tc_cancel *k)
{
    pthread_mutex_lock(&k->mu);
    k->cancelled = true;
    if (k->call)
        grpc_call_cancel(k->call, NULL);
    pthread_mutex_unlock(&k->mu);
}

/* Whether k (may be NULL) was fired. */
static bool cancel_fired(tc_cancel *k)
{
    if (!k)
        return false;
    pthread_mutex_lock(&k->mu);
    bool fired = k->cancelled;
    pthread_mutex_unlock(&k->mu);
    return fired;
}

static int map_status(grpc_status_code st)
{
    switch (st) {
    case GRPC_STATUS_OK: return TC_OK;
    case GRPC_STATUS_UNAVAILABLE: return TC_ERR_UNAVAILABLE;
    case GRPC_STATUS_RESOURCE_EXHAUSTED: return TC_ERR_UNAVAILABLE;
    case GRPC_STATUS_DEADLINE_EXCEEDED: return TC_ERR_TIMEOUT;
    case GRPC_STATUS_NOT_FOUND: return TC_ERR_NOT_FOUND;
    case GRPC_STATUS_ALREADY_EXISTS: return TC_ERR_ALREADY_STARTED;
    case GRPC_STATUS_INVALID_ARGUMENT: return TC_ERR_INVALID;
    case GRPC_STATUS_CANCELLED: return TC_ERR_CANCELLED;
    default: return TC_ERR_RPC;
    }
}

static const char *status_name(grpc_status_code st)
{
    static const char *names[] = {"OK",
                                  "CANCELLED",
                                  "UNKNOWN",
                                  "INVALID_ARGUMENT",
                                  "DEADLINE_EXCEEDED",
                                  "NOT_FOUND",
                                  "ALREADY_EXISTS",
                                  "PERMISSION_DENIED",
                                  "RESOURCE_EXHAUSTED",
                                  "FAILED_PRECONDITION",
                                  "ABORTED",
                                  "OUT_OF_RANGE",
                                  "UNIMPLEMENTED",
                                  "INTERNAL",
                                  "UNAVAILABLE",
                                  "DATA_LOSS",
                                  "UNAUTHENTICATED"};
    return (st >= 0 && st <= 16) ? names[st] : "?";
}

void tc_cq_pool_drain(tc_client *c)
{
    for (size_t i = 0; i < c->n_cq_pool; i++) {
        grpc_completion_queue_shutdown(c->cq_pool[i]);
        while (grpc_completion_queue_pluck(c->cq_pool[i], NULL, gpr_inf_future(GPR_CLOCK_REALTIME),
                                           NULL)
                   .type != GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(c->cq_pool[i]);
    }
    free(c->cq_pool);
    c->cq_pool = NULL;
    c->n_cq_pool = c->cap_cq_pool = 0;
}

static grpc_completion_queue *cq_get(tc_client *c)
{
    grpc_completion_queue *cq = NULL;
    pthread_mutex_lock(&c->cq_mu);
    if (c->n_cq_pool)
        cq = c->cq_pool[--c->n_cq_pool];
    pthread_mutex_unlock(&c->cq_mu);
    return cq ? cq : grpc_completion_queue_create_for_pluck(NULL);
}

static void cq_put(tc_client *c, grpc_completion_queue *cq)
{
    pthread_mutex_lock(&c->cq_mu);
    if (c->n_cq_pool == c->cap_cq_pool) {
        size_t nc = c->cap_cq_pool ? c->cap_cq_pool * 2 : 16;
        grpc_completion_queue **p = realloc(c->cq_pool, nc * sizeof *p);
        if (p) {
            c->cq_pool = p;
            c->cap_cq_pool = nc;
        }
    }
    if (c->n_cq_pool < c->cap_cq_pool) {
        c->cq_pool[c->n_cq_pool++] = cq;
        cq = NULL;
    }
    pthread_mutex_unlock(&c->cq_mu);
    if (cq) {
        grpc_completion_queue_shutdown(cq);
        while (
            grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
            GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(cq);
    }
}

/* Returns the registered-call handle of WorkflowService/<rpc>, registering it on first use.
 * NULL when the table is full (the call then goes by path). */
static void *method_handle(tc_client *c, const char *rpc, const char *path)
{
    void *h = NULL;
    pthread_mutex_lock(&c->cq_mu);
    for (size_t i = 0; i < c->n_methods; i++)
        if (strcmp(c->methods[i].name, rpc) == 0)
            h = c->methods[i].handle;
    if (!h && c->n_methods < sizeof c->methods / sizeof c->methods[0] &&
        strlen(rpc) < sizeof c->methods[0].name) {
        h = grpc_channel_register_call(c->channel, path, NULL, NULL);
        snprintf(c->methods[c->n_methods].name, sizeof c->methods[0].name, "%s", rpc);
        c->methods[c->n_methods++].handle = h;
    }
    pthread_mutex_unlock(&c->cq_mu);
    return h;
}

/* One attempt: a single batch with all six ops, plucked from a private completion queue. */
static int rpc_once(tc_client *c, const char *path, const uint8_t *buf, size_t len,
                    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                    int timeout_ms, tc_cancel *cancel, tc_error *err)
{
    int rc = TC_OK;
    grpc_completion_queue *cq = cq_get(c);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    void *mh = method_handle(c, path + strlen(TC_SERVICE_PREFIX), path);
    grpc_call *call;
    if (mh) {
        call = grpc_channel_create_registered_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                                   mh, deadline, NULL);
    } else {
        grpc_slice method = grpc_slice_from_copied_string(path);
        call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                        deadline, NULL);
        grpc_slice_unref(method);
    }
    grpc_slice req_slice = grpc_slice_from_copied_buffer((const char *)buf, len);
    grpc_byte_buffer *req_bb = grpc_raw_byte_buffer_create(&req_slice, 1);
    grpc_slice_unref(req_slice);
    grpc_byte_buffer *resp_bb = NULL;
    grpc_metadata_array md_in, trailing;
    grpc_metadata_array_init(&md_in);
    grpc_metadata_array_init(&trailing);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    /* The client's headers are static slices over strings it owns: no copy per call. */
    ops[0].data.send_initial_metadata.count = c->n_md;
    ops[0].data.send_initial_metadata.metadata = c->md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_in;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp_bb;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;

    bool skipped = false;
    if (cancel) {
        pthread_mutex_lock(&cancel->mu);
        if (cancel->cancelled)
            skipped = true;
        else
            cancel->call = call;
        pthread_mutex_unlock(&cancel->mu);
    }
    if (skipped) {
        rc = tc_seterr(err, TC_ERR_CANCELLED, "%s: cancelled before start", path);
        goto out;
    }
    grpc_call_error ce = grpc_call_start_batch(call, ops, 6, (void *)1, NULL);
    if (ce != GRPC_CALL_OK) {
        rc = tc_seterr(err, TC_ERR_RPC, "%s: start_batch failed (%d)", path, (int)ce);
    } else {
        grpc_event ev =
            grpc_completion_queue_pluck(cq, (void *)1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE || !ev.success)
            rc = tc_seterr(err, TC_ERR_RPC, "%s: batch did not complete", path);
    }
    if (cancel) {
        pthread_mutex_lock(&cancel->mu);
        cancel->call = NULL;
        pthread_mutex_unlock(&cancel->mu);
    }
    if (rc != TC_OK)
        goto out;
    if (status != GRPC_STATUS_OK) {
        char *msg = grpc_slice_to_c_string(details);
        int code = map_status(status);
        /* The server learns our deadline from the request and may end the call itself just
         * before our clock does (gRPC servers reset the stream: CANCELLED). Not cancelled by us
         * and at the deadline, that is the deadline. */
        if (status == GRPC_STATUS_CANCELLED && !cancel_fired(cancel) &&
            gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC),
                         gpr_time_sub(deadline, gpr_time_from_millis(timeout_ms / 10 + 20,
                                                                     GPR_TIMESPAN))) >= 0)
            code = TC_ERR_TIMEOUT;
        rc = tc_seterr(err, code, "%s: %s: %s", path + strlen(TC_SERVICE_PREFIX),
                       status_name(status), msg ? msg : "");
        if (err)
            err->grpc_status = (int)status;
        gpr_free(msg);
        goto out;
    }
    if (!resp_bb) {
        rc = tc_seterr(err, TC_ERR_PROTOCOL, "%s: no reply message", path);
        goto out;
    }
    {
        grpc_byte_buffer_reader rd;
        if (!grpc_byte_buffer_reader_init(&rd, resp_bb)) {
            rc = tc_seterr(err, TC_ERR_PROTOCOL, "%s: unreadable reply", path);
            goto out;
        }
        grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
        grpc_byte_buffer_reader_destroy(&rd);
        *resp = protobuf_c_message_unpack(resp_desc, NULL, GRPC_SLICE_LENGTH(all),
                                          GRPC_SLICE_START_PTR(all));
        grpc_slice_unref(all);
        if (!*resp)
            rc = tc_seterr(err, TC_ERR_PROTOCOL, "%s: cannot decode reply", path);
    }
out:
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&md_in);
    grpc_metadata_array_destroy(&trailing);
    if (resp_bb)
        grpc_byte_buffer_destroy(resp_bb);
    grpc_byte_buffer_destroy(req_bb);
    grpc_call_unref(call);
    /* The batch's only tag has been plucked (or never queued), so the queue is empty. */
    cq_put(c, cq);
    return rc;
}

int tc_rpc(tc_client *c, const char *rpc, const ProtobufCMessage *req,
           const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, int timeout_ms,
           unsigned flags, tc_cancel *cancel, tc_error *err)
{
    char path[160];
    snprintf(path, sizeof path, TC_SERVICE_PREFIX "%s", rpc);
    *resp = NULL;
    size_t len = 0;
    uint8_t *buf = NULL;
    if (c->payload_out) { /* codecs: the payloads are encoded on a copy */
        int prc = c->payload_out(c, req, &buf, &len, err);
        if (prc != TC_OK)
            return prc;
    } else {
        len = protobuf_c_message_get_packed_size(req);
        if (!(buf = malloc(len ? len : 1)))
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        protobuf_c_message_pack(req, buf);
    }
    int attempts = (flags & TC_RPC_NO_RETRY) ? 1 : c->max_attempts;
    int64_t backoff_ms = c->retry_initial_ms;
    int64_t t0 = tc_now_us();
    int rc = TC_OK;
    for (int i = 0; i < attempts; i++) {
        rc = rpc_once(c, path, buf, len, resp_desc, resp,
                      timeout_ms > 0 ? timeout_ms : c->rpc_timeout_ms, cancel, err);
        /* Only transient server states are retried: the call had no effect or may be redone
         * (every mutating call we make carries a request id or task token). */
        if (rc != TC_ERR_UNAVAILABLE || i + 1 == attempts)
            break;
        if (cancel_fired(cancel))
            break;
        int64_t d = tc_backoff_jitter(backoff_ms);
        struct timespec ts = {d / 1000, (d % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        backoff_ms = backoff_ms * 2 > c->retry_max_ms ? c->retry_max_ms : backoff_ms * 2;
    }
    /* A worker thread's calls are counted in its metrics (temporal_request ...). */
    tc_metrics_rpc_done(rpc, timeout_ms >= TC_RESULT_POLL_MS, rc, tc_now_us() - t0);
    if (rc == TC_ERR_UNAVAILABLE && c->on_unavailable)
        c->on_unavailable(c);
    if (rc == TC_ERR_UNAVAILABLE && err && attempts > 1) {
        size_t n = strlen(err->text);
        snprintf(err->text + n, sizeof err->text - n, " (after %d attempts)", attempts);
    }
    free(buf);
    if (rc == TC_OK && *resp && c->payload_in)
        rc = c->payload_in(c, *resp, err);
    return rc;
}

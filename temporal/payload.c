/* payload.c - the data converter (json/plain payloads in and out), ApplicationFailure, durations
 * and history containers. Interoperable with the official SDKs' default data converter; must not
 * do any I/O but files. */
#include "converter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char k_encoding[] = "encoding";
static const char k_json[] = TC_ENCODING_JSON;

/* ---- the data converter: every payload the library writes goes through tc_pl1_init /
 * tc_plv_init, every payload it reads through tc_payload_decode (converter.c's chain; the
 * codecs of codec.c run on whole calls) ---- */

void tc_payload_encode(const char *json, tc_pb_payload *p, tc_pb_meta *me, tc_pb_meta **mep)
{
    temporal__api__common__v1__payload__init(p);
    temporal__api__common__v1__payload__metadata_entry__init(me);
    me->key = (char *)k_encoding;
    me->value.data = (uint8_t *)k_json;
    me->value.len = sizeof k_json - 1;
    mep[0] = me;
    p->n_metadata = 1;
    p->metadata = mep;
    p->data.data = (uint8_t *)json;
    p->data.len = strlen(json);
}

int tc_payload_decode(const tc_pb_payload *p, char **json, tc_error *err)
{
    return tc_convert_decode(p, json, err);
}

tc_pb_payloads *tc_pl1_init(tc_pl1 *b, const char *json)
{
    memset(b, 0, sizeof *b);
    if (!json)
        return NULL;
    temporal__api__common__v1__payloads__init(&b->ps);
    tc_pl_encode(&b->pl, json);
    b->pp[0] = &b->pl.p;
    b->ps.n_payloads = 1;
    b->ps.payloads = b->pp;
    return &b->ps;
}

void tc_pl1_clear(tc_pl1 *b)
{
    tc_pl_clear(&b->pl);
}

tc_pb_payloads *tc_plv_init(tc_plv *b, const char *const *jsons, size_t n, bool *oom)
{
    memset(b, 0, sizeof *b);
    *oom = false;
    if (n == 0)
        return NULL;
    b->pp = calloc(n, sizeof *b->pp);
    b->pl = calloc(n, sizeof *b->pl);
    if (!b->pp || !b->pl) {
        tc_plv_clear(b);
        *oom = true;
        return NULL;
    }
    temporal__api__common__v1__payloads__init(&b->ps);
    for (size_t i = 0; i < n; i++) {
        tc_pl_encode(&b->pl[i], jsons[i] ? jsons[i] : "null");
        b->pp[i] = &b->pl[i].p;
        b->n++;
    }
    b->ps.n_payloads = n;
    b->ps.payloads = b->pp;
    return &b->ps;
}

void tc_plv_clear(tc_plv *b)
{
    for (size_t i = 0; i < b->n; i++)
        tc_pl_clear(&b->pl[i]);
    free(b->pp);
    free(b->pl);
    memset(b, 0, sizeof *b);
}

char *tc_payload_json(const tc_pb_payload *p)
{
    char *s = NULL;
    tc_error e;
    if (tc_payload_decode(p, &s, &e) == TC_OK)
        return s;
    if (e.code == TC_ERR_NOMEM)
        return NULL;
    /* Lenient for display (client results, describe): an encoding we cannot decode is handed
     * over as its bytes. The workflow runtime uses tc_payload_decode and fails instead. */
    if ((s = malloc(p->data.len + 1)) != NULL) {
        if (p->data.len) /* an empty payload may have no data pointer */
            memcpy(s, p->data.data, p->data.len);
        s[p->data.len] = '\0';
    }
    return s;
}

char *tc_payloads_first_json(const tc_pb_payloads *ps)
{
    return tc_payload_json(ps && ps->n_payloads ? ps->payloads[0] : NULL);
}

void tc_duration_ms(tc_pb_duration *d, int64_t ms)
{
    google__protobuf__duration__init(d);
    d->seconds = ms / 1000;
    d->nanos = (int32_t)((ms % 1000) * 1000000);
}

Temporal__Api__Common__V1__RetryPolicy *
tc_retry_policy_pb(const tc_retry_policy *in, Temporal__Api__Common__V1__RetryPolicy *rp,
                   tc_pb_duration *ii, tc_pb_duration *mi)
{
    temporal__api__common__v1__retry_policy__init(rp);
    if (in->initial_interval_ms > 0) {
        tc_duration_ms(ii, in->initial_interval_ms);
        rp->initial_interval = ii;
    }
    if (in->maximum_interval_ms > 0) {
        tc_duration_ms(mi, in->maximum_interval_ms);
        rp->maximum_interval = mi;
    }
    rp->backoff_coefficient = in->backoff_coefficient;
    rp->maximum_attempts = in->maximum_attempts;
    while (in->non_retryable_error_types &&
           in->non_retryable_error_types[rp->n_non_retryable_error_types])
        rp->n_non_retryable_error_types++;
    rp->non_retryable_error_types = (char **)in->non_retryable_error_types;
    return rp;
}

tc_pb_failure *tc_appfail_init(tc_appfail *b, const char *type, const char *message,
                               bool non_retryable)
{
    temporal__api__failure__v1__failure__init(&b->f);
    temporal__api__failure__v1__application_failure_info__init(&b->info);
    b->info.type = (char *)(type ? type : ""); /* no type stays none, as in the official SDKs */
    b->info.non_retryable = non_retryable;
    b->f.message = (char *)(message ? message : "");
    b->f.source = (char *)"CSDK";
    b->f.failure_info_case =
        TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO;
    b->f.application_failure_info = &b->info;
    return &b->f;
}

void tc_failure_describe(const tc_pb_failure *f, const char **type, const char **message,
                         bool *non_retryable)
{
    *type = "Failure";
    *message = "";
    *non_retryable = false;
    if (!f)
        return;
    *message = f->message ? f->message : "";
    switch (f->failure_info_case) {
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO:
        *type = f->application_failure_info->type ? f->application_failure_info->type : "";
        *non_retryable = f->application_failure_info->non_retryable;
        return;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TIMEOUT_FAILURE_INFO:
        *type = "TimeoutError";
        return;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CANCELED_FAILURE_INFO:
        *type = "CanceledError";
        return;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TERMINATED_FAILURE_INFO:
        *type = "TerminatedError";
        return;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_SERVER_FAILURE_INFO:
        *type = "ServerError";
        *non_retryable = f->server_failure_info->non_retryable;
        return;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_ACTIVITY_FAILURE_INFO:
        if (f->cause) {
            tc_failure_describe(f->cause, type, message, non_retryable);
            return;
        }
        *type = "ActivityError";
        return;
    case TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_CHILD_WORKFLOW_EXECUTION_FAILURE_INFO:
        /* a child's failure re-raised by its parent: what ended the child tells */
        if (f->cause) {
            tc_failure_describe(f->cause, type, message, non_retryable);
            return;
        }
        *type = "ChildWorkflowError";
        return;
    default: return;
    }
}

int64_t tc_ms_of(int64_t seconds, int32_t nanos)
{
    const int64_t lim = INT64_MAX / 1000 - 3; /* room for |nanos| / 1e6 <= 2147 */
    if (seconds > lim)
        return INT64_MAX;
    if (seconds < -lim)
        return INT64_MIN;
    return seconds * 1000 + nanos / 1000000;
}

/* ---- history container ---- */

int tc_history_add_page(tc_history *h, ProtobufCMessage *msg, tc_pb_event **events, size_t n,
                        tc_error *err)
{
    if (h->n_pages == h->cap_pages) {
        size_t nc = h->cap_pages ? h->cap_pages * 2 : 4;
        ProtobufCMessage **p = realloc(h->pages, nc * sizeof *p);
        if (!p) {
            protobuf_c_message_free_unpacked(msg, NULL);
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        }
        h->pages = p;
        h->cap_pages = nc;
    }
    h->pages[h->n_pages++] = msg;
    if (h->n + n > h->cap) {
        size_t nc = h->cap ? h->cap : 64;
        while (nc < h->n + n)
            nc *= 2;
        tc_pb_event **e = realloc(h->events, nc * sizeof *e);
        if (!e)
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        h->events = e;
        h->cap = nc;
    }
    if (n) /* an empty page may have no array at all */
        memcpy(h->events + h->n, events, n * sizeof *events);
    h->n += n;
    return TC_OK;
}

void tc_history_clear(tc_history *h)
{
    for (size_t i = 0; i < h->n_pages; i++)
        protobuf_c_message_free_unpacked(h->pages[i], NULL);
    free(h->pages);
    free(h->events);
    memset(h, 0, sizeof *h);
}

void tc_history_free(tc_history *h)
{
    if (!h)
        return;
    tc_history_clear(h);
    free(h);
}

size_t tc_history_length(const tc_history *h)
{
    return h ? h->n : 0;
}

int tc_history_event_type(const tc_history *h, size_t i)
{
    return (h && i < h->n) ? (int)h->events[i]->event_type : 0;
}

uint8_t *tc_pb_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        protobuf_c_message_pack(m, buf);
    return buf;
}

int tc_history_save(const tc_history *h, const char *path, tc_error *err)
{
    Temporal__Api__History__V1__History hist = TEMPORAL__API__HISTORY__V1__HISTORY__INIT;
    hist.n_events = h->n;
    hist.events = h->events;
    size_t len;
    uint8_t *buf = tc_pb_pack(&hist.base, &len);
    if (!buf)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    int rc = TC_OK;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len)
        rc = tc_seterr(err, TC_ERR_IO, "cannot write %s", path);
    if (f && fclose(f) != 0 && rc == TC_OK)
        rc = tc_seterr(err, TC_ERR_IO, "cannot write %s", path);
    free(buf);
    return rc;
}

int tc_history_load(const char *path, tc_history **out, tc_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tc_seterr(err, TC_ERR_IO, "cannot open %s", path);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        if (r == 0)
            break;
        len += r;
    }
    fclose(f);
    Temporal__Api__History__V1__History *hist =
        temporal__api__history__v1__history__unpack(NULL, len, buf);
    free(buf);
    if (!hist)
        return tc_seterr(err, TC_ERR_PROTOCOL, "%s is not a serialized History", path);
    tc_history *h = calloc(1, sizeof *h);
    if (!h) {
        temporal__api__history__v1__history__free_unpacked(hist, NULL);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    int rc = tc_history_add_page(h, &hist->base, hist->events, hist->n_events, err);
    if (rc != TC_OK) {
        tc_history_free(h);
        return rc;
    }
    *out = h;
    return TC_OK;
}

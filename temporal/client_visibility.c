/* client_visibility.c - memo and search attributes (JSON objects in, typed payloads on the wire
 * and back), describe with them, list and count by visibility query. No workflow logic. */
#include "temporal_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS(name)      temporal__api__workflowservice__v1__##name
#define TC_MAX_FIELDS 1024 /* memo / search attribute entries in one object */

typedef Temporal__Api__Common__V1__Payload__MetadataEntry vis_meta;

/* A malloc'd metadata entry key=value (both copied). */
static vis_meta *meta_new(const char *key, const char *value)
{
    vis_meta *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    temporal__api__common__v1__payload__metadata_entry__init(m);
    size_t n = strlen(value);
    m->key = tc_strdup(key);
    m->value.data = malloc(n ? n : 1);
    m->value.len = n;
    if (!m->key || !m->value.data) {
        free(m->key);
        free(m->value.data);
        free(m);
        return NULL;
    }
    memcpy(m->value.data, value, n);
    return m;
}

/* The IndexedValueType name the server understands for a JSON value, or NULL when only the
 * registered type can tell (a string may be Keyword, Text or Datetime): the server then applies
 * the registered type itself. */
static const char *sa_type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE: return "Bool";
    case JSON_INTEGER: return "Int";
    case JSON_REAL: return "Double";
    case JSON_ARRAY: return "KeywordList";
    default: return NULL;
    }
}

/* A malloc'd json/plain payload holding v's compact JSON text; with its search-attribute
 * type in metadata "type" when typed is true. */
static tc_pb_payload *payload_of(const json_t *v, bool typed)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    tc_pb_payload *p = calloc(1, sizeof *p);
    vis_meta **md = calloc(2, sizeof *md);
    if (!text || !p || !md)
        goto fail;
    temporal__api__common__v1__payload__init(p);
    p->metadata = md;
    vis_meta *e = meta_new("encoding", TC_ENCODING_JSON);
    if (!e)
        goto fail;
    md[p->n_metadata++] = e;
    const char *type = typed ? sa_type_of(v) : NULL;
    if (type) {
        if (!(e = meta_new("type", type)))
            goto fail;
        md[p->n_metadata++] = e;
    }
    p->data.data = (uint8_t *)text;
    p->data.len = strlen(text);
    return p;
fail:
    if (p && p->metadata) {
        protobuf_c_message_free_unpacked(&p->base, NULL); /* frees md and its entries */
    } else {
        free(md);
        free(p);
    }
    free(text);
    return NULL;
}

/* Builds a malloc'd map message (Memo or SearchAttributes: one repeated map field of
 * string -> Payload) from a JSON object. Free with protobuf_c_message_free_unpacked. */
static int map_from_json(const char *json, const ProtobufCMessageDescriptor *desc, bool typed,
                         const char *what, ProtobufCMessage **out, tc_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return tc_seterr(err, TC_ERR_INVALID, "%s: invalid JSON at line %d column %d: %s", what,
                         je.line, je.column, je.text);
    int rc = TC_OK;
    if (!json_is_object(root) || json_object_size(root) > TC_MAX_FIELDS) {
        rc = tc_seterr(err, TC_ERR_INVALID, "%s: expected a JSON object of at most %d fields", what,
                       TC_MAX_FIELDS);
        goto out;
    }
    const ProtobufCFieldDescriptor *f = &desc->fields[0]; /* map<string, Payload> */
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    ProtobufCMessage *m = calloc(1, desc->sizeof_message);
    void **entries = calloc(json_object_size(root) + 1, sizeof *entries);
    if (!m || !entries) {
        free(m);
        free(entries);
        rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        goto out;
    }
    protobuf_c_message_init(desc, m);
    *(void ***)((char *)m + f->offset) = entries;
    size_t *count = (size_t *)((char *)m + f->quantifier_offset);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (typed && json_is_null(v)) {
            /* null removes a search attribute (upsert semantics); nothing to send on start */
            continue;
        }
        ProtobufCMessage *e = calloc(1, ed->sizeof_message);
        if (!e) {
            rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
            break;
        }
        protobuf_c_message_init(ed, e);
        entries[(*count)++] = e;
        char **ek = (char **)((char *)e + ed->fields[0].offset);
        tc_pb_payload **ev = (tc_pb_payload **)((char *)e + ed->fields[1].offset);
        *ek = tc_strdup(key);
        *ev = payload_of(v, typed);
        if (!*ek || !*ev) {
            rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
            break;
        }
    }
    if (rc != TC_OK)
        protobuf_c_message_free_unpacked(m, NULL);
    else
        *out = m;
out:
    json_decref(root);
    return rc;
}

int tc_memo_from_json(const char *json, Temporal__Api__Common__V1__Memo **out, tc_error *err)
{
    return map_from_json(json, &temporal__api__common__v1__memo__descriptor, false, "memo",
                         (ProtobufCMessage **)out, err);
}

int tc_search_attributes_from_json(const char *json,
                                   Temporal__Api__Common__V1__SearchAttributes **out, tc_error *err)
{
    return map_from_json(json, &temporal__api__common__v1__search_attributes__descriptor, true,
                         "search attributes", (ProtobufCMessage **)out, err);
}

/* A payload as a JSON value: json/plain data parsed, binary/null (or nothing) null, any other
 * encoding its bytes as a string when they are text. */
static json_t *payload_value(const tc_pb_payload *p)
{
    char *text = tc_payload_json(p);
    if (!text)
        return NULL;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (!v)
        v = json_string(text); /* not JSON (e.g. binary/plain text): keep it as a string */
    if (!v)
        v = json_null(); /* not UTF-8 either: nothing faithful to show */
    free(text);
    return v;
}

/* Map message (Memo / SearchAttributes) -> malloc'd JSON object text ("{}" for NULL). */
static char *map_to_json(const ProtobufCMessage *m)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    if (m) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[0];
        const ProtobufCMessageDescriptor *ed = f->descriptor;
        size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
        void *const *entries = *(void *const *const *)((const char *)m + f->offset);
        for (size_t i = 0; i < n; i++) {
            const char *e = entries[i];
            const char *k = *(char *const *)(e + ed->fields[0].offset);
            const tc_pb_payload *p = *(tc_pb_payload *const *)(e + ed->fields[1].offset);
            json_t *v = payload_value(p);
            if (!v || json_object_set_new(obj, k ? k : "", v) != 0) {
                json_decref(obj);
                return NULL;
            }
        }
    }
    char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    return s;
}

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
    return t ? tc_ms_of(t->seconds, t->nanos) : 0;
}

void tc_workflow_info_clear(tc_workflow_info *i)
{
    if (!i)
        return;
    free(i->workflow_id);
    free(i->run_id);
    free(i->workflow_type);
    free(i->task_queue);
    free(i->memo_json);
    free(i->search_attributes_json);
    for (int k = 0; i->pending != NULL && k < i->pending_activities; k++) {
        free(i->pending[k].activity_id);
        free(i->pending[k].activity_type);
        free(i->pending[k].last_failure_type);
        free(i->pending[k].last_failure_message);
    }
    free(i->pending);
    memset(i, 0, sizeof *i);
}

static int info_fill(tc_workflow_info *o,
                     const Temporal__Api__Workflow__V1__WorkflowExecutionInfo *i, tc_error *err)
{
    memset(o, 0, sizeof *o);
    o->status = (tc_wf_status)i->status;
    o->history_length = i->history_length;
    o->start_time_ms = ts_ms(i->start_time);
    o->close_time_ms = ts_ms(i->close_time);
    o->execution_time_ms = ts_ms(i->execution_time);
    o->workflow_id = tc_strdup(i->execution ? i->execution->workflow_id : "");
    o->run_id = tc_strdup(i->execution ? i->execution->run_id : "");
    o->workflow_type = tc_strdup(i->type ? i->type->name : "");
    o->task_queue = tc_strdup(i->task_queue ? i->task_queue : "");
    o->memo_json = map_to_json(i->memo ? &i->memo->base : NULL);
    o->search_attributes_json =
        map_to_json(i->search_attributes ? &i->search_attributes->base : NULL);
    if (!o->workflow_id || !o->run_id || !o->workflow_type || !o->task_queue || !o->memo_json ||
        !o->search_attributes_json) {
        tc_workflow_info_clear(o);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    return TC_OK;
}

/* Copies the pending activities of a describe answer into o (o->pending_activities entries). */
static int pending_fill(tc_workflow_info *o,
                        Temporal__Api__Workflow__V1__PendingActivityInfo *const *pa, size_t n,
                        tc_error *err)
{
    if (n == 0)
        return TC_OK;
    o->pending = calloc(n, sizeof *o->pending);
    if (o->pending == NULL) {
        tc_workflow_info_clear(o);
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    }
    o->pending_activities = (int)n;
    for (size_t k = 0; k < n; k++) {
        const Temporal__Api__Workflow__V1__PendingActivityInfo *a = pa[k];
        tc_pending_activity *p = &o->pending[k];
        p->state = (int)a->state;
        p->attempt = a->attempt;
        p->maximum_attempts = a->maximum_attempts;
        p->scheduled_time_ms = ts_ms(a->scheduled_time);
        p->last_started_time_ms = ts_ms(a->last_started_time);
        p->last_attempt_complete_time_ms = ts_ms(a->last_attempt_complete_time);
        p->next_attempt_schedule_time_ms = ts_ms(a->next_attempt_schedule_time);
        p->activity_id = tc_strdup(a->activity_id ? a->activity_id : "");
        p->activity_type =
            tc_strdup(a->activity_type && a->activity_type->name ? a->activity_type->name : "");
        bool bad = p->activity_id == NULL || p->activity_type == NULL;
        if (a->last_failure != NULL) {
            const char *type = NULL, *msg = NULL;
            bool nr = false;
            tc_failure_describe(a->last_failure, &type, &msg, &nr);
            p->last_failure_type = tc_strdup(type ? type : "");
            p->last_failure_message = tc_strdup(msg ? msg : "");
            bad = bad || p->last_failure_type == NULL || p->last_failure_message == NULL;
        }
        if (bad) {
            tc_workflow_info_clear(o);
            return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
        }
    }
    return TC_OK;
}

int tc_describe_rpc(tc_client *c, const char *workflow_id, const char *run_id,
                    Temporal__Api__Workflowservice__V1__DescribeWorkflowExecutionResponse **out,
                    tc_error *err)
{
    Temporal__Api__Workflowservice__V1__DescribeWorkflowExecutionRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_WORKFLOW_EXECUTION_REQUEST__INIT;
    Temporal__Api__Common__V1__WorkflowExecution ex =
        TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
    ex.workflow_id = (char *)workflow_id;
    ex.run_id = (char *)(run_id ? run_id : "");
    rq.namespace_ = c->ns;
    rq.execution = &ex;
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(c, "DescribeWorkflowExecution", TC_RPC_MSG(rq),
                    &WS(describe_workflow_execution_response__descriptor), &m, 0, 0, NULL, err);
    *out = (void *)m;
    return rc;
}

int tc_workflow_describe_info(tc_client *c, const char *workflow_id, const char *run_id,
                              tc_workflow_info *out, tc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!workflow_id || !*workflow_id)
        return tc_seterr(err, TC_ERR_INVALID, "workflow_id required");
    Temporal__Api__Workflowservice__V1__DescribeWorkflowExecutionResponse *r = NULL;
    int rc = tc_describe_rpc(c, workflow_id, run_id, &r, err);
    if (rc != TC_OK)
        return rc;
    if (!r->workflow_execution_info)
        rc = tc_seterr(err, TC_ERR_PROTOCOL, "describe of %s has no execution info", workflow_id);
    else
        rc = info_fill(out, r->workflow_execution_info, err);
    if (rc == TC_OK)
        rc = pending_fill(out, r->pending_activities, r->n_pending_activities, err);
    if (rc == TC_OK && r->pending_workflow_task) {
        const Temporal__Api__Workflow__V1__PendingWorkflowTaskInfo *t = r->pending_workflow_task;
        out->task_started_ms = ts_ms(t->started_time);
        out->task_first_scheduled_ms =
            ts_ms(t->original_scheduled_time ? t->original_scheduled_time : t->scheduled_time);
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}

void tc_workflow_page_clear(tc_workflow_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        tc_workflow_info_clear(&p->items[i]);
    free(p->items);
    free(p->next_token);
    memset(p, 0, sizeof *p);
}

int tc_workflow_list(tc_client *c, const char *query, int page_size, const uint8_t *token,
                     size_t token_len, tc_workflow_page *out, tc_error *err)
{
    memset(out, 0, sizeof *out);
    Temporal__Api__Workflowservice__V1__ListWorkflowExecutionsRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__LIST_WORKFLOW_EXECUTIONS_REQUEST__INIT;
    rq.namespace_ = c->ns;
    rq.query = (char *)(query ? query : "");
    rq.page_size = page_size > 0 ? page_size : 0;
    rq.next_page_token.data = (uint8_t *)token;
    rq.next_page_token.len = token ? token_len : 0;
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(c, "ListWorkflowExecutions", TC_RPC_MSG(rq),
                    &WS(list_workflow_executions_response__descriptor), &m, 0, 0, NULL, err);
    if (rc != TC_OK)
        return rc;
    Temporal__Api__Workflowservice__V1__ListWorkflowExecutionsResponse *r = (void *)m;
    out->items = calloc(r->n_executions ? r->n_executions : 1, sizeof *out->items);
    if (!out->items)
        rc = tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == TC_OK && i < r->n_executions; i++) {
        rc = info_fill(&out->items[i], r->executions[i], err);
        if (rc == TC_OK)
            out->n++;
    }
    if (rc == TC_OK)
        rc = tc_token_copy(&r->next_page_token, &out->next_token, &out->next_token_len, err);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != TC_OK)
        tc_workflow_page_clear(out);
    return rc;
}

int tc_token_copy(const ProtobufCBinaryData *t, uint8_t **out, size_t *len, tc_error *err)
{
    *out = NULL;
    *len = 0;
    if (t->len == 0)
        return TC_OK;
    *out = malloc(t->len);
    if (!*out)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    memcpy(*out, t->data, t->len);
    *len = t->len;
    return TC_OK;
}

int tc_workflow_count(tc_client *c, const char *query, int64_t *count, tc_error *err)
{
    *count = 0;
    Temporal__Api__Workflowservice__V1__CountWorkflowExecutionsRequest rq =
        TEMPORAL__API__WORKFLOWSERVICE__V1__COUNT_WORKFLOW_EXECUTIONS_REQUEST__INIT;
    rq.namespace_ = c->ns;
    rq.query = (char *)(query ? query : "");
    ProtobufCMessage *m = NULL;
    int rc = tc_rpc(c, "CountWorkflowExecutions", TC_RPC_MSG(rq),
                    &WS(count_workflow_executions_response__descriptor), &m, 0, 0, NULL, err);
    if (rc != TC_OK)
        return rc;
    *count = ((Temporal__Api__Workflowservice__V1__CountWorkflowExecutionsResponse *)m)->count;
    protobuf_c_message_free_unpacked(m, NULL);
    return TC_OK;
}

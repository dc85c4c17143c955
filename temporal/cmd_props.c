/* cmd_props.c - the properties command family: UpsertWorkflowSearchAttributes and
 * ModifyWorkflowProperties (memo), with the run's view of both. Must not know about other
 * command kinds. */
#include "json_lite.h"
#include "wf_run.h"

#include <stdlib.h>
#include <string.h>

#define CHANGE_VERSION_SA "TemporalChangeVersion"

static bool any(const tc_cmd *c, const tc_pb_event *ev)
{
    (void)c;
    (void)ev;
    return true;
}

static const tc_cmd_kind k_upsert = {"UpsertWorkflowSearchAttributes",
                                     TC_ET(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES), any, NULL, NULL};
static const tc_cmd_kind k_modify = {"ModifyWorkflowProperties",
                                     TC_ET(WORKFLOW_PROPERTIES_MODIFIED), any, NULL, NULL};

int tc_props_set(tc_kv **kv, size_t *n, const char *key, const char *json)
{
    size_t i;
    for (i = 0; i < *n; i++)
        if (strcmp((*kv)[i].key, key) == 0)
            break;
    if (!json || (strcmp(json, "null") == 0)) {
        if (i < *n) {
            free((*kv)[i].key);
            free((*kv)[i].json);
            memmove(&(*kv)[i], &(*kv)[i + 1], (*n - i - 1) * sizeof **kv);
            (*n)--;
        }
        return TC_OK;
    }
    char *copy = tc_strdup(json);
    if (!copy)
        return TC_ERR_NOMEM;
    if (i < *n) {
        free((*kv)[i].json);
        (*kv)[i].json = copy;
        return TC_OK;
    }
    tc_kv *p = realloc(*kv, (*n + 1) * sizeof *p);
    if (!p || !(p[*n].key = tc_strdup(key))) {
        if (p)
            *kv = p;
        free(copy);
        return TC_ERR_NOMEM;
    }
    p[*n].json = copy;
    *kv = p;
    (*n)++;
    return TC_OK;
}

typedef struct members {
    char **keys, **vals;
    size_t n, cap;
} members;

static int collect(const char *key, const char *v, size_t len, void *arg)
{
    members *m = arg;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 8;
        char **k = realloc(m->keys, nc * sizeof *k);
        if (k)
            m->keys = k;
        char **vv = k ? realloc(m->vals, nc * sizeof *vv) : NULL;
        if (!vv)
            return -2;
        m->vals = vv;
        m->cap = nc;
    }
    char *val = malloc(len + 1);
    m->keys[m->n] = tc_strdup(key);
    if (!val || !m->keys[m->n]) {
        free(val);
        free(m->keys[m->n]);
        return -2;
    }
    memcpy(val, v, len);
    val[len] = '\0';
    m->vals[m->n++] = val;
    return 0;
}

static uint8_t *pack(const members *m, bool memo, size_t *len)
{
    Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
    Temporal__Api__Command__V1__UpsertWorkflowSearchAttributesCommandAttributes ua =
        TEMPORAL__API__COMMAND__V1__UPSERT_WORKFLOW_SEARCH_ATTRIBUTES_COMMAND_ATTRIBUTES__INIT;
    Temporal__Api__Command__V1__ModifyWorkflowPropertiesCommandAttributes ma =
        TEMPORAL__API__COMMAND__V1__MODIFY_WORKFLOW_PROPERTIES_COMMAND_ATTRIBUTES__INIT;
    Temporal__Api__Common__V1__SearchAttributes sa =
        TEMPORAL__API__COMMON__V1__SEARCH_ATTRIBUTES__INIT;
    Temporal__Api__Common__V1__Memo mo = TEMPORAL__API__COMMON__V1__MEMO__INIT;
    size_t n = m->n ? m->n : 1;
    Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry *se = calloc(n, sizeof *se),
                                                                    **sep = calloc(n, sizeof *sep);
    Temporal__Api__Common__V1__Memo__FieldsEntry *me = calloc(n, sizeof *me),
                                                 **mep = calloc(n, sizeof *mep);
    tc_pb_payload *p = calloc(n, sizeof *p);
    tc_pb_meta *md = calloc(n, sizeof *md), **mdp = calloc(n, sizeof *mdp);
    uint8_t *out = NULL;
    if (!se || !sep || !me || !mep || !p || !md || !mdp)
        goto done;
    for (size_t i = 0; i < m->n; i++) {
        tc_payload_encode(m->vals[i], &p[i], &md[i], &mdp[i]);
        temporal__api__common__v1__search_attributes__indexed_fields_entry__init(&se[i]);
        temporal__api__common__v1__memo__fields_entry__init(&me[i]);
        se[i].key = me[i].key = m->keys[i];
        se[i].value = me[i].value = &p[i];
        sep[i] = &se[i];
        mep[i] = &me[i];
    }
    if (memo) {
        mo.n_fields = m->n;
        mo.fields = mep;
        ma.upserted_memo = &mo;
        TC_CMD_SET(cmd, MODIFY_WORKFLOW_PROPERTIES, modify_workflow_properties, &ma);
    } else {
        sa.n_indexed_fields = m->n;
        sa.indexed_fields = sep;
        ua.search_attributes = &sa;
        TC_CMD_SET(cmd, UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsert_workflow_search_attributes, &ua);
    }
    out = tc_cmd_pack(&cmd, len);
done:
    free(se);
    free(sep);
    free(me);
    free(mep);
    free(p);
    free(md);
    free(mdp);
    return out;
}

int tc_props_upsert(tc_wf_ctx *ctx, bool memo, const char *json_object)
{
    tc_run *r = ctx->run;
    members m = {0};
    int rc = TC_OK;
    if (r->destroying || r->outcome != OUT_NONE)
        return TC_ERR_CANCELLED;
    int jr = json_object ? tc_json_members(json_object, strlen(json_object), collect, &m) : -1;
    if (jr != 0) {
        rc = jr == -2 ? TC_ERR_NOMEM : TC_ERR_INVALID;
        goto out;
    }
    /* The run sees its own upsert at once, as the official SDKs do. */
    for (size_t i = 0; i < m.n && rc == TC_OK; i++)
        rc = memo ? tc_props_set(&r->memo, &r->n_memo, m.keys[i], m.vals[i])
                  : tc_props_set(&r->sa, &r->n_sa, m.keys[i], m.vals[i]);
    if (rc != TC_OK)
        goto out;
    uint8_t *packed = NULL;
    size_t len = 0;
    if (!(packed = pack(&m, memo, &len))) {
        rc = TC_ERR_NOMEM;
        goto out;
    }
    if (!tc_cmd_add(r, memo ? &k_modify : &k_upsert, "", "", packed, len))
        rc = TC_ERR_NOMEM;
out:
    for (size_t i = 0; i < m.n; i++) {
        free(m.keys[i]);
        free(m.vals[i]);
    }
    free(m.keys);
    free(m.vals);
    if (rc == TC_ERR_NOMEM) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory upserting %s",
                    memo ? "memo"
                         : "search "
                           "attributes");
        tc_sched_park(ctx);
    }
    return rc;
}

/* An upsert of TemporalChangeVersion alone follows the patch / version markers of the official
 * SDKs; this runtime makes no such command and ignores the event, as the Go SDK does. */
static bool change_version_only(const tc_pb_event *ev)
{
    const Temporal__Api__Common__V1__SearchAttributes *sa =
        ev->upsert_workflow_search_attributes_event_attributes->search_attributes;
    return sa && sa->n_indexed_fields == 1 &&
           strcmp(sa->indexed_fields[0]->key, CHANGE_VERSION_SA) == 0;
}

static bool skippable(tc_run *r, const tc_pb_event *ev)
{
    (void)r;
    return change_version_only(ev);
}

static const tc_event_rule k_rules[] = {
    {.event_type = TC_ET(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
     .role = EV_COMMAND,
     .skippable = skippable,
     .uncounted = change_version_only},
    {.event_type = TC_ET(WORKFLOW_PROPERTIES_MODIFIED), .role = EV_COMMAND},
};

const tc_cmd_family tc_family_props = {"properties", k_rules, sizeof k_rules / sizeof k_rules[0]};

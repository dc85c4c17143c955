/* registry.c - what a worker runs: workflow types (with their query handlers and task failure
 * policy) and activity types, registered before the worker starts and read-only afterwards. */
#include "worker_internal.h"

#include <stdlib.h>
#include <string.h>

int tc_worker_register_workflow(tc_worker *w, const char *type, tc_workflow_fn fn,
                                size_t state_size, void *user, tc_error *err)
{
    if (!w || !type || !*type || !fn)
        return tc_seterr(err, TC_ERR_INVALID, "workflow type and fn are required");
    if (w->started)
        return tc_seterr(err, TC_ERR_STATE, "worker already started");
    if (tc_reg_workflow(w, type))
        return tc_seterr(err, TC_ERR_INVALID, "workflow %s registered twice", type);
    wf_reg *n = realloc(w->wfs, (w->n_wfs + 1) * sizeof *n);
    if (!n)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    w->wfs = n;
    wf_reg *r = &w->wfs[w->n_wfs];
    memset(r, 0, sizeof *r);
    if (!(r->type = tc_strdup(type)))
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    r->fn = fn;
    r->state_size = state_size;
    r->user = user;
    w->n_wfs++;
    return TC_OK;
}

static wf_reg *find_wf(tc_worker *w, const char *type)
{
    for (size_t i = 0; i < w->n_wfs; i++)
        if (type && strcmp(w->wfs[i].type, type) == 0)
            return &w->wfs[i];
    return NULL;
}

int tc_worker_register_query(tc_worker *w, const char *wf_type, const char *query_type,
                             tc_query_fn fn, void *user, tc_error *err)
{
    if (!w || !wf_type || !query_type || !*query_type || !fn)
        return tc_seterr(err, TC_ERR_INVALID, "workflow type, query type and fn are required");
    if (w->started)
        return tc_seterr(err, TC_ERR_STATE, "worker already started");
    wf_reg *r = find_wf(w, wf_type);
    if (!r)
        return tc_seterr(err, TC_ERR_INVALID, "workflow %s is not registered", wf_type);
    for (size_t i = 0; i < r->n_queries; i++)
        if (strcmp(r->queries[i].name, query_type) == 0)
            return tc_seterr(err, TC_ERR_INVALID, "query %s registered twice on %s", query_type,
                             wf_type);
    tc_handler *q = realloc(r->queries, (r->n_queries + 1) * sizeof *q);
    if (!q)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    r->queries = q;
    memset(&q[r->n_queries], 0, sizeof *q);
    if (!(q[r->n_queries].name = tc_strdup(query_type)))
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    q[r->n_queries].qfn = fn;
    q[r->n_queries].user = user;
    r->n_queries++;
    return TC_OK;
}

int tc_worker_register_update(tc_worker *w, const char *wf_type, const char *update_name,
                              tc_update_fn fn, tc_update_validator_fn validator, void *user,
                              tc_error *err)
{
    if (!w || !wf_type || !update_name || !*update_name || !fn)
        return tc_seterr(err, TC_ERR_INVALID, "workflow type, update name and fn are required");
    if (w->started)
        return tc_seterr(err, TC_ERR_STATE, "worker already started");
    wf_reg *r = find_wf(w, wf_type);
    if (!r)
        return tc_seterr(err, TC_ERR_INVALID, "workflow %s is not registered", wf_type);
    for (size_t i = 0; i < r->n_updates; i++)
        if (strcmp(r->updates[i].name, update_name) == 0)
            return tc_seterr(err, TC_ERR_INVALID, "update %s registered twice on %s", update_name,
                             wf_type);
    tc_handler *u = realloc(r->updates, (r->n_updates + 1) * sizeof *u);
    if (!u)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    r->updates = u;
    memset(&u[r->n_updates], 0, sizeof *u);
    if (!(u[r->n_updates].name = tc_strdup(update_name)))
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    u[r->n_updates].ufn = fn;
    u[r->n_updates].vfn = validator;
    u[r->n_updates].user = user;
    r->n_updates++;
    return TC_OK;
}

int tc_worker_set_task_failure_policy(tc_worker *w, const char *workflow_type,
                                      tc_task_failure_policy policy, tc_error *err)
{
    if (!w || (policy != TC_TASK_FAILURE_RETRY && policy != TC_TASK_FAILURE_FAIL_WORKFLOW))
        return tc_seterr(err, TC_ERR_INVALID, "unknown task failure policy %d", (int)policy);
    if (w->started)
        return tc_seterr(err, TC_ERR_STATE, "worker already started");
    wf_reg *r = find_wf(w, workflow_type);
    if (!r)
        return tc_seterr(err, TC_ERR_INVALID, "workflow %s is not registered",
                         workflow_type ? workflow_type : "(null)");
    r->policy = policy;
    r->policy_set = true;
    return TC_OK;
}

int tc_worker_register_activity(tc_worker *w, const char *type, tc_activity_fn fn, void *user,
                                tc_error *err)
{
    if (!w || !type || !*type || !fn)
        return tc_seterr(err, TC_ERR_INVALID, "activity type and fn are required");
    if (w->started)
        return tc_seterr(err, TC_ERR_STATE, "worker already started");
    if (tc_reg_activity(w, type))
        return tc_seterr(err, TC_ERR_INVALID, "activity %s registered twice", type);
    act_reg *n = realloc(w->acts, (w->n_acts + 1) * sizeof *n);
    if (!n)
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    w->acts = n;
    if (!(w->acts[w->n_acts].type = tc_strdup(type)))
        return tc_seterr(err, TC_ERR_NOMEM, "out of memory");
    w->acts[w->n_acts].fn = fn;
    w->acts[w->n_acts].user = user;
    w->n_acts++;
    return TC_OK;
}

const wf_reg *tc_reg_workflow(const tc_worker *w, const char *type)
{
    for (size_t i = 0; i < w->n_wfs; i++)
        if (type && strcmp(w->wfs[i].type, type) == 0)
            return &w->wfs[i];
    return NULL;
}

const act_reg *tc_reg_activity(const tc_worker *w, const char *type)
{
    for (size_t i = 0; i < w->n_acts; i++)
        if (type && strcmp(w->acts[i].type, type) == 0)
            return &w->acts[i];
    return NULL;
}

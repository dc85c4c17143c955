/* worker_internal.h - the worker's private structures, shared by worker.c (threads), registry.c,
 * sticky_cache.c, wf_task.c / wf_respond.c (workflow tasks) and activity_*.c. Not public. */
#ifndef TEMPORAL_WORKER_INTERNAL_H
#define TEMPORAL_WORKER_INTERNAL_H

#include "metrics.h"
#include "wf_run.h"

#include <stdatomic.h>

typedef Temporal__Api__Workflowservice__V1__PollActivityTaskQueueResponse tc_act_task;
typedef Temporal__Api__Workflowservice__V1__PollWorkflowTaskQueueResponse tc_wf_task;

typedef struct wf_reg {
    char *type;
    tc_workflow_fn fn;
    size_t state_size;
    void *user;
    tc_handler *queries; /* registered query handlers (qfn) */
    size_t n_queries;
    tc_handler *updates; /* registered update handlers (ufn, vfn) */
    size_t n_updates;
    tc_task_failure_policy policy;
    bool policy_set;
} wf_reg;

typedef struct act_reg {
    char *type;
    tc_activity_fn fn;
    void *user;
} act_reg;

typedef struct act_item {
    tc_act_task *task;        /* a polled or eager activity task, or NULL for: */
    struct tc_la_exec *local; /* an attempt of a local activity (local_activity_exec.c) */
    struct act_item *next;
} act_item;

enum { POLL_WF_NORMAL = 0, POLL_WF_STICKY = 1, POLL_ACTIVITY = 2 };

typedef struct poller {
    struct tc_worker *w;
    pthread_t th;
    bool started;
    int kind; /* POLL_* */
    tc_cancel cancel;
} poller;

struct tc_worker {
    tc_client *c;
    char *task_queue;
    char *identity;
    char *sticky_queue; /* NULL when sticky execution is off */
    int sticky_cap;
    int sticky_s2s_ms;
    int max_acts;
    bool eager;     /* request eager activity dispatch (tc_worker_options) */
    bool no_remote; /* local activities only: no activity pollers (tc_worker_options) */
    size_t stack_size;
    tc_task_failure_policy policy;
    tc_logger log;

    wf_reg *wfs;
    size_t n_wfs;
    act_reg *acts;
    size_t n_acts;

    poller *pollers;
    size_t n_pollers;
    pthread_t *executors;
    size_t n_executors;

    atomic_bool stop;
    bool started, stopped;
    int64_t start_us;

    /* activity hand-off: slots reserved before polling, so a poll never outruns capacity */
    pthread_mutex_t amu;
    pthread_cond_t acv; /* a slot was freed, or stop: activity pollers wait on it */
    pthread_cond_t ecv; /* a task was queued, or draining: executors wait on it */
    int a_inflight;
    act_item *a_head, *a_tail;
    bool a_draining;

    /* sticky cache: runs by id, least recently used evicted first */
    pthread_mutex_t cmu;
    tc_run **cache;
    size_t n_cache;
    uint64_t lru_clock;

    /* eager workflow start (worker_eager.c): slots for first tasks handed over by a start */
    pthread_mutex_t emu;
    pthread_cond_t ecv_free; /* a slot became free (unregistering waits for all) */
    struct eager_slot *eslots;
    size_t n_eslots;
    bool eager_registered;
    atomic_uint_fast64_t st_eager_wf_req, st_eager_wf;

    /* local activities: tasks waiting for their attempts (local_activity_exec.c) */
    pthread_mutex_t lmu;
    struct tc_la_waiter *la_waiters; /* under lmu: the task threads waiting now (woken on stop) */

    /* the stop protocol (worker.c): ShutdownWorker, then polls end, then activities */
    char *instance_key;     /* worker_instance_key of polls, completions, ShutdownWorker */
    int64_t graceful_ms;    /* tc_worker_options.graceful_stop_timeout_ms */
    bool poll_complete;     /* the namespace's capability workerPollCompleteOnShutdown */
    pthread_mutex_t pmu;    /* polls_active */
    pthread_cond_t pcv;     /* the last poll in flight returned */
    int polls_active;       /* long polls in flight */
    atomic_bool act_cancel; /* the graceful timeout passed: activities are cancelled */
    atomic_int wf_busy;     /* workflow tasks being handled (slots used) */

    /* heartbeats and the stop as activities see it (activity_heartbeat.c) */
    pthread_mutex_t hbmu;
    pthread_cond_t hbcv;   /* a heartbeat was kept, a send finished, or the thread must end */
    pthread_cond_t stopcv; /* the worker began to stop */
    struct tc_hb *hbs;     /* running activities */
    pthread_t hb_thread;
    bool hb_inited, hb_started, hb_stop;

    /* metrics (worker_metrics.c): the registry and the labels every series of the worker has */
    struct tc_metrics *metrics;
    char *metric_labels; /* namespace="...",task_queue="..." */
    atomic_uint_fast64_t st_evict, st_polls_cancelled;

    atomic_uint_fast64_t st_wft, st_act, st_hit, st_miss, st_nondet, st_refetch, st_pages,
        st_eager_req, st_eager;
    atomic_int_fast64_t st_first_poll_us;
};

/* Records the time of the worker's first poll (tests and benchmarks read it). */
static inline void tc_worker_note_poll(struct tc_worker *w)
{
    int_fast64_t unset = -1;
    atomic_compare_exchange_strong(&w->st_first_poll_us, &unset, tc_now_us() - w->start_us);
}

/* worker_metrics.c: the labels every series of a worker has (namespace="..",task_queue=".."),
 * malloc'd, NULL out of memory; temporal_worker_start counted once the worker started. */
char *tc_worker_metric_labels(const char *ns, const char *task_queue);
void tc_worker_count_start(struct tc_worker *w);
/* Around one workflow task (wf_task.c): its thread's RPC scope (calls tagged workflow_type), a
 * workflow slot taken, temporal_workflow_task_execution_latency at the end. */
typedef struct tc_wft_scope {
    tc_labels labels;
    tc_rpc_scope scope;
    const tc_rpc_scope *outer;
    int64_t t0;
} tc_wft_scope;
void tc_wft_scope_begin(struct tc_worker *w, const char *workflow_type, tc_wft_scope *s);
void tc_wft_scope_end(struct tc_worker *w, tc_wft_scope *s);
/* A workflow task failed (code: TC_ERR_NONDETERMINISM or another); a run ended (OUT_*). */
void tc_wft_count_failed(struct tc_worker *w, const char *workflow_type, int code);
void tc_wft_count_closed(struct tc_worker *w, const char *workflow_type, int outcome);

/* poll.c: one long poll of rpc (cancellable by tc_worker_stop; none starts once the worker is
 * stopping); logs and backs off 1 s after an error other than an expired poll or a shutdown;
 * counts it (polls in flight, temporal_long_request, poll outcomes). Returns the tc_rpc
 * code. */
int tc_worker_poll(struct tc_worker *w, poller *p, const char *rpc, const ProtobufCMessage *rq,
                   const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp);

/* The fields PollWorkflowTaskQueueRequest and PollActivityTaskQueueRequest share (the same names
 * in both messages, so one macro fills either type): worker w's namespace and identity, the task
 * queue tq (borrowed), and the instance key, through which ShutdownWorker completes the poll. */
#define TC_POLL_REQUEST_FILL(rq, w, tq)               \
    do {                                              \
        (rq).namespace_ = (w)->c->ns;                 \
        (rq).task_queue = (tq);                       \
        (rq).identity = (w)->identity;                \
        (rq).worker_instance_key = (w)->instance_key; \
    } while (0)

/* registry.c: registered types by name (NULL when unknown). Any worker thread (read-only
 * after start). */
const wf_reg *tc_reg_workflow(const struct tc_worker *w, const char *type);
const act_reg *tc_reg_activity(const struct tc_worker *w, const char *type);

/* sticky_cache.c: takes a run out of the cache (NULL when absent); puts one back (evicting the
 * least recently used, which is freed); frees them all. */
tc_run *tc_cache_take(struct tc_worker *w, const char *run_id);
void tc_cache_put(struct tc_worker *w, tc_run *r);
void tc_cache_clear(struct tc_worker *w);

/* wf_task.c: polls the workflow queue once (normal or sticky) and handles a task if one came. */
void tc_wft_poll_once(struct tc_worker *w, poller *p);
/* Handles one workflow task (borrowed) on the calling thread: a polled one, or the first task
 * of an eagerly started workflow (worker_eager.c); then the tasks the server hands back with
 * the answers (local activity heartbeats), on the same thread. */
void tc_wft_handle(struct tc_worker *w, const tc_wf_task *t);

/* activity_queue.c: executor slots and the queue of activity tasks. */
/* Blocks until a slot is free (or stop); reserves it. False when stopping. */
bool tc_act_reserve(struct tc_worker *w);
/* Reserves a slot without waiting: false when all executors are busy or reserved, or the
 * worker is stopping. Any worker thread. */
bool tc_act_try_reserve(struct tc_worker *w);
/* Gives back n reserved slots that no task arrived for. */
void tc_act_release(struct tc_worker *w, int n);
/* Queues an activity task (owned; freed after it ran) for the executors. reserved: a slot was
 * reserved for it; if not, one is taken anyway, because a task the server handed us must run. */
void tc_act_enqueue(struct tc_worker *w, tc_act_task *t, bool reserved);
/* Queues an attempt of a local activity for the executors (it takes a slot like a task the
 * server handed us). Returns false when out of memory. */
bool tc_act_enqueue_local(struct tc_worker *w, struct tc_la_exec *x);
/* Executors: the next task (NULL when draining and nothing is left); done frees its slot. */
act_item *tc_act_next(struct tc_worker *w);
void tc_act_done(struct tc_worker *w, act_item *it);

/* activity_task.c: runs one activity task and reports its outcome. */
void tc_activity_run(struct tc_worker *w, const tc_act_task *t);
/* Polls the activity queue once (after reserving a slot) and queues what came. */
void tc_act_poll_once(struct tc_worker *w, poller *p);

/* worker_eager.c: eager workflow start. A started worker with workflows offers its client
 * slots for first workflow tasks (as many as it has workflow pollers); stopping it withdraws
 * them and waits for the tasks it runs. */
int tc_eager_register(struct tc_worker *w, tc_error *err);
void tc_eager_unregister(struct tc_worker *w);

/* wf_respond.c: the answers to a workflow task. */
int tc_respond_completed(struct tc_worker *w, const tc_wf_task *t, const wf_reg *reg, tc_run *r,
                         tc_cmd *const *cmds, size_t n_cmds, const uint8_t *extra, size_t extra_len,
                         tc_error *err);
void tc_respond_failed(struct tc_worker *w, const tc_wf_task *t, int code, const char *msg);
void tc_respond_legacy_query(struct tc_worker *w, const tc_wf_task *t, const wf_reg *reg,
                             const tc_run *r, const char *load_error);

#endif

/* wf_run.h - the workflow runtime's private model: a run, its coroutines, futures, commands and
 * the table of command kinds. Shared by the run_*.c, cmd_*.c and wf_*.c files; not public. */
#ifndef TEMPORAL_WF_RUN_H
#define TEMPORAL_WF_RUN_H

#include "coro.h"
#include "temporal_internal.h"

/* ---- logging (log.c) ---- */

typedef struct tc_logger {
    tc_log_fn fn; /* never NULL once set up */
    void *user;
    tc_log_level min;
} tc_logger;

/* The default logger (stderr, INFO). */
extern const tc_logger tc_default_logger;

/* Formats one line and hands it to lg (NULL: the default) when level >= lg->min. */
void tc_vlogf(const tc_logger *lg, tc_log_level level, const char *workflow_id, const char *run_id,
              const char *workflow_type, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
void tc_logf(const tc_logger *lg, tc_log_level level, const char *workflow_id, const char *run_id,
             const char *workflow_type, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- futures ---- */

enum { FUT_PENDING = 0, FUT_OK, FUT_FAILED, FUT_CANCELLED };
enum { FK_ACTIVITY = 1, FK_TIMER, FK_SIGNAL, FK_CORO, FK_CANCEL, FK_OTHER };

typedef struct tc_cmd tc_cmd;
typedef struct tc_run tc_run;

struct tc_future {
    int state;     /* FUT_* */
    int kind;      /* FK_* */
    bool detached; /* started in a detached section: the run's cancellation spares it */
    uint64_t seq;  /* resolution order (history order), 0 while pending */
    int64_t event_id;
    char **values; /* FUT_OK: decoded JSON values (owned) */
    size_t n_values;
    char *ftype, *fmsg; /* FUT_FAILED / FUT_CANCELLED */
    bool non_retryable;
    tc_cmd *cmd;       /* the command behind it (activities, timers), or NULL */
    char *signal_name; /* FK_SIGNAL while it waits for a signal */
    /* FUT_FAILED / FUT_CANCELLED: the whole failure (a packed temporal.api.failure.v1.Failure)
     * as workflow code of the official SDKs sees it, when the family keeps it (failure.c): an
     * activity's (remote or local) wrapped in its ActivityFailure, a child's in its
     * ChildWorkflowFailure; else NULL */
    uint8_t *failure;
    size_t failure_len;
    int timeout_type; /* FUT_FAILED by a timeout: its TimeoutType (tc_timeout_type), else 0 */
    struct tc_future *next;
};

/* ---- commands ---- */

enum {
    CMD_NEW = 0,  /* made in the current activation (or while applying its events) */
    CMD_SENT,     /* flushed at the end of an activation: history must record it next */
    CMD_RECORDED, /* its event was matched */
    CMD_DROPPED,  /* cancelled before it was sent: no event will record it */
};

/* One kind of command the workflow code makes: the unit a new command family adds (a row
 * per kind in its cmd_<family>.c). */
typedef struct tc_cmd_kind {
    const char *name; /* as in messages and the API: "ScheduleActivityTask" */
    int event_type;   /* the history event that records the command */
    /* True when the recorded event (of event_type) is this command: same ids / names. */
    bool (*matches)(const tc_cmd *c, const tc_pb_event *ev);
    /* The command's event was matched (may be NULL). */
    int (*recorded)(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err);
    /* Cancellation requested by the scope or tc_future_cancel (NULL: not cancellable). */
    void (*cancel)(tc_run *r, tc_cmd *c);
} tc_cmd_kind;

struct tc_cmd {
    const tc_cmd_kind *kind;
    int state;        /* CMD_* */
    char *id;         /* compared with history: activity id, timer id, marker key ... */
    char *type;       /* activity type, marker name ... (may be "") */
    int64_t event_id; /* the event that recorded it (CMD_RECORDED) */
    uint8_t *packed;  /* the temporal.api.command.v1.Command to send; NULL when replaying */
    size_t packed_len;
    tc_future *fut; /* resolved by later events, or NULL */
    tc_cmd *target; /* cancel commands: the command they cancel */
    int mode;       /* kind-specific (activity cancel mode, patch deprecated flag ...) */
    bool cancelled; /* cancellation already handled */
    void *ext;      /* family state that outlives the call (a child workflow's handle) */
};

/* How the runtime treats one history event type. */
enum {
    EV_UNKNOWN = 0, /* a type this runtime does not know: the task fails naming it */
    EV_WORKFLOW,    /* about the run itself (start, signal, cancel request, task events) */
    EV_COMMAND,     /* records a command the code made: matched in order */
    EV_RESOLVE,     /* about a recorded command (result, fired, cancelled) */
    EV_IGNORE,      /* carries nothing the code can observe */
    EV_UNSUPPORTED, /* belongs to a family not built yet: "not supported yet: <type>" */
};

typedef struct tc_event_rule {
    int event_type;
    int role; /* EV_* */
    /* EV_COMMAND: the command it records, described like a command ("StartTimer(id=5)") */
    void (*describe)(const tc_pb_event *ev, char *buf, size_t cap);
    /* EV_COMMAND: true when the event may stand without a command of the code (a deprecated
     * patch marker, a Go SDK version marker, a TemporalChangeVersion upsert) */
    bool (*skippable)(tc_run *r, const tc_pb_event *ev);
    /* EV_COMMAND: true when no command of this runtime ever records it (Go SDK version
     * markers, TemporalChangeVersion upserts): default ids skip its event id, as Go's do */
    bool (*uncounted)(const tc_pb_event *ev);
    /* EV_RESOLVE: the event id of the command it is about, and what it does to it */
    int64_t (*initiator)(const tc_pb_event *ev);
    int (*resolve)(tc_run *r, tc_cmd *c, const tc_pb_event *ev, tc_error *err);
} tc_event_rule;

typedef struct tc_cmd_family {
    const char *name;
    const tc_event_rule *rules;
    size_t n_rules;
} tc_cmd_family;

/* The rule of an event type (cmd_table.c): never NULL (EV_UNKNOWN for types it does not
 * know). */
const tc_event_rule *tc_event_rule_of(int event_type);
/* event_names.c: */
/* True when ev carries the attributes its type needs (the right oneof member, present). */
bool tc_event_attrs_ok(const tc_pb_event *ev);
/* "ActivityTaskScheduled" for EVENT_TYPE_ACTIVITY_TASK_SCHEDULED; "EventType(<n>)" if unknown.
 * Writes into buf and returns it. */
const char *tc_event_type_name(int event_type, char *buf, size_t cap);

/* ---- coroutines ---- */

enum { CO_MAIN = 1, CO_GO, CO_SIGNAL };

struct tc_wf_ctx {
    tc_run *run;
    tc_coro *co;
    int kind; /* CO_* */
    int detached;
    bool started, done, parked; /* parked: panicked, never resumed again */
    tc_future *fut;             /* resolved when the coroutine's function returns */
    tc_wf_coroutine_fn fn;      /* CO_GO */
    void *arg;
    tc_signal_fn sfn; /* CO_SIGNAL */
    void *suser;
    tc_future *sig; /* CO_SIGNAL: the signal (resolved future holding its values) */
    /* what it waits for while blocked */
    tc_future *one; /* a single future waited for (wfs points here) */
    tc_future *const *wfs;
    size_t wn;
    bool wall;
    tc_wf_cond_fn cond;
    void *carg;
    bool wake_on_cancel;
    const char *waiting_on; /* for __stack_trace */
};

/* ---- the run ---- */

typedef struct tc_kv {
    char *key;
    char *json;
} tc_kv;

typedef struct tc_handler {
    char *name;                 /* NULL: default signal handler */
    tc_signal_fn sfn;           /* signal handlers */
    tc_query_fn qfn;            /* query handlers */
    tc_update_fn ufn;           /* update handlers (cmd_update.c) */
    tc_update_validator_fn vfn; /* their validators (NULL: accept every request) */
    void *user;
} tc_handler;

typedef struct tc_patch {
    char *id;
    bool value;
} tc_patch;

enum { OUT_NONE = 0, OUT_COMPLETE, OUT_FAIL, OUT_CANCEL, OUT_CONTINUE };

/* What the code of a run needs from its registration. */
typedef struct tc_run_setup {
    tc_workflow_fn fn;
    void *user;
    size_t state_size;
    size_t stack_size;
    const tc_logger *log;
    const tc_handler *updates; /* update handlers registered for the type (borrowed) */
    size_t n_updates;
    struct tc_metrics *metrics; /* the worker's registry for tc_wf_metric; NULL: none */
    const char *metric_labels;  /* its namespace / task_queue labels (borrowed) */
} tc_run_setup;

struct tc_run {
    char *workflow_id, *run_id, *workflow_type, *task_queue, *first_run_id;
    char **inputs;
    size_t n_inputs;
    int64_t run_timeout_ms, task_timeout_ms;
    int attempt;                  /* of the run (WorkflowExecutionStarted), 1 on the first */
    struct tc_run_info *info;     /* the rest of WorkflowExecutionStarted (wf_info.c) */
    void (*free_info)(tc_run *r); /* frees it (set with it) */
    tc_kv *sa, *memo;
    size_t n_sa, n_memo;

    tc_run_setup setup;
    void *state;

    /* history progress */
    int64_t last_event_id;
    int64_t last_activation; /* WorkflowTaskStarted event id of the last activation */
    bool started, closed, replaying;
    int64_t now_ms;
    int64_t next_cmd_event_id;
    tc_pb_event *const *look; /* command events recorded after this activation's task */
    size_t n_look;
    int64_t look_first;
    bool *look_uncounted; /* per look event: no command of ours records it (id prediction) */
    size_t cap_look_uncounted;
    uint64_t seq;
    uint64_t rng;
    int64_t side_effects; /* side effects made so far: their ids, as the Go SDK counts them */

    /* coroutines */
    tc_wf_ctx **coros;
    size_t n_coros, cap_coros;
    tc_wf_ctx *current;
    bool destroying;
    unsigned destroy_budget;

    /* commands: made but not yet recorded (FIFO), and recorded ones by event id */
    tc_cmd **pending;
    size_t pending_head, n_pending, cap_pending;
    tc_cmd **recorded;
    size_t n_recorded, cap_recorded;
    tc_cmd **all; /* every command (owned) */
    size_t n_all, cap_all;

    tc_future *futures; /* every future (owned) */
    tc_future *cancel_future;
    bool cancel_requested;

    tc_future **sigbuf; /* signals nobody received yet (resolved futures), in arrival order */
    size_t n_sigbuf, cap_sigbuf;
    tc_future **claims; /* tc_wf_signal_next futures waiting for a signal, oldest first */
    size_t n_claims, cap_claims;
    tc_handler *shandlers, *qhandlers;
    size_t n_shandlers, n_qhandlers;
    tc_patch *patches;
    size_t n_patches;

    /* families with state of their own: child handles (cmd_child.c), updates (cmd_update.c);
     * each family sets how its state is freed (pointers: teardown does not depend on them) */
    struct tc_child *children;
    struct tc_updates *updates;
    void (*free_children)(tc_run *r);
    void (*free_updates)(tc_run *r);

    int outcome; /* OUT_* */
    char *out_result;
    char *out_ftype, *out_fmsg;
    bool out_nr;
    char **out_inputs;
    size_t n_out_inputs;
    tc_continue_options out_can; /* strings owned (workflow_type, task_queue) */
    bool ended;                  /* the closing command was made */

    int fail_code; /* 0, TC_ERR_NONDETERMINISM, TC_ERR_TASK_FAILED, TC_ERR_PROTOCOL ... */
    char fail_text[1024];

    struct tc_la_set *la; /* local activities (local_activity.h), NULL until the first */
    uint8_t *out_failure; /* OUT_FAIL with a whole failure (failure.c): the packed Failure */
    size_t out_failure_len;
    bool force_new_task;      /* answer with force_create_new_workflow_task (a heartbeat) */
    bool close_held;          /* a settle_before_close local activity's marker was made in this
                                 task: the closing command waits for the next one */
    bool return_new_task;     /* and ask for that task back with the answer */
    void *returned_task;      /* the task the answer handed back (tc_wf_task, owned), or NULL */
    int64_t returned_sent_us; /* when that answer was sent (tc_now_us): the server started the
                                 task it handed back no earlier */

    uint64_t lru;
};

/* ---- run lifecycle (run_life.c), futures (run_futures.c), commands (run_cmds.c) ---- */

/* A run of a workflow that has not seen any event yet. NULL when out of memory. */
tc_run *tc_run_new(const char *workflow_id, const char *run_id, const tc_run_setup *setup);
/* Unwinds every suspended coroutine (their blocking calls return TC_ERR_CANCELLED), then frees
 * everything. NULL is fine. */
void tc_run_free(tc_run *r);

/* Records a task failure (the first one wins); returns code. */
int tc_run_fail(tc_run *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

tc_future *tc_future_new(tc_run *r, int kind);
/* Resolution (each only once; later calls are ignored). values/strings are copied. */
void tc_future_resolve_ok(tc_run *r, tc_future *f, const char *const *values, size_t n,
                          int64_t event_id);
void tc_future_resolve_values(tc_run *r, tc_future *f, char **values, size_t n, int64_t event_id);
void tc_future_resolve_fail(tc_run *r, tc_future *f, int state, const char *type,
                            const char *message, bool non_retryable, int64_t event_id);

/* Appends a new command (state CMD_NEW) to the pending queue and the run's list, assigning it
 * the predicted event id. packed (may be NULL) is taken over. Returns NULL out of memory. */
tc_cmd *tc_cmd_add(tc_run *r, const tc_cmd_kind *kind, const char *id, const char *type,
                   uint8_t *packed, size_t packed_len);
/* The event id the next command will be recorded at (the Go SDK's default ids). */
int64_t tc_cmd_next_event_id(tc_run *r);
/* Packs a Command into a malloc'd buffer. */
uint8_t *tc_cmd_pack(const Temporal__Api__Command__V1__Command *cmd, size_t *len);
/* Removes a CMD_NEW command from the pending queue (cancelled before being sent). */
void tc_cmd_drop(tc_run *r, tc_cmd *c);
/* The recorded command whose event id is event_id, or NULL. */
tc_cmd *tc_cmd_by_event(const tc_run *r, int64_t event_id);
/* The lookahead command event at event id id, or NULL. */
const tc_pb_event *tc_look_at(const tc_run *r, int64_t id);
/* True when commands should be packed (the code runs in the task being answered). */
bool tc_run_live(const tc_run *r);

/* Decodes every payload of ps into JSON strings (malloc'd array); what names the payloads in
 * an error ("event 9 (ActivityTaskCompleted) result"). */
int tc_payloads_decode_all(const tc_pb_payloads *ps, char ***out, size_t *n, const char *what,
                           tc_error *err);
void tc_strv_free(char **v, size_t n);

/* ---- coroutines and scheduling (run_sched.c) ---- */

/* Creates a coroutine (not started). NULL when out of memory. */
tc_wf_ctx *tc_sched_spawn(tc_run *r, int kind);
/* Runs every runnable coroutine, in creation order, until all are blocked or the run ended. */
void tc_sched_run(tc_run *r);
/* Blocks the calling coroutine until its wait (set in ctx) is satisfied. Returns false when
 * the run is being torn down: the caller must return an error at once. */
bool tc_sched_block(tc_wf_ctx *ctx, const char *what);
/* Parks the calling coroutine for good (after a task failure): never returns. */
void tc_sched_park(tc_wf_ctx *ctx) __attribute__((noreturn));
/* Unwinds and frees the coroutines (tc_run_free). */
void tc_sched_destroy(tc_run *r);
/* A description of each coroutine and what it waits for (the __stack_trace query). */
char *tc_sched_describe(const tc_run *r);

/* ---- signals (run_signals.c) ---- */

/* A signal arrived (sig: a resolved FK_SIGNAL future with signal_name): handed to its handler
 * (a new coroutine), to the oldest waiting claim, or buffered. */
int tc_signal_deliver(tc_run *r, tc_future *sig);
/* A future for the next unclaimed signal of name. NULL when out of memory. */
tc_future *tc_signal_claim(tc_run *r, const char *name, bool detached);
/* Withdraws a pending claim (cancellation); it resolves as cancelled. */
void tc_signal_unclaim(tc_run *r, tc_future *f);
/* Sets or removes a handler; buffered signals of that name go to it at once. */
int tc_signal_set_handler(tc_run *r, const char *name, tc_signal_fn fn, void *user);
/* Handler arrays (signals and queries): the slot of name (NULL name: the default), added when
 * absent; removing one. */
int tc_handler_put(tc_handler **arr, size_t *n, const char *name, tc_handler **slot);
void tc_handler_remove(tc_handler *arr, size_t *n, const char *name);

/* ---- history events (run_events.c) ---- */

/* Applies the events of a workflow task in history order, running the workflow code at each
 * task boundary (a WorkflowTaskStarted followed by WorkflowTaskCompleted replays; the one at
 * started_event_id is the task being answered). Events already applied are skipped.
 * started_event_id 0 (a query-only task) replays the completed tasks only. Returns TC_OK, or
 * TC_ERR_NONDETERMINISM / TC_ERR_TASK_FAILED / TC_ERR_PROTOCOL / TC_ERR_NOMEM with the reason,
 * or TC_ERR_STATE when a cached run turns out stale (rebuild it from full history). */
int tc_run_feed(tc_run *r, tc_pb_event *const *evs, size_t n, int64_t started_event_id,
                tc_error *err);
/* The commands the last answered task made, in order (borrowed). */
size_t tc_run_new_commands(const tc_run *r, tc_cmd *const **out);

/* replay.c: tc_replay_history with a whole setup (a worker's registration). */
int tc_replay_setup(const tc_history *h, const tc_run_setup *setup, void *state, size_t state_size,
                    tc_error *err);

/* wf_info.c: keeps what tc_wf_get_info reports from the WorkflowExecutionStarted event ev.
 * TC_OK or TC_ERR_NOMEM. */
int tc_run_info_set(tc_run *r, const tc_pb_event *ev);

/* ---- command families ---- */

extern const tc_cmd_family tc_family_activity, tc_family_timer, tc_family_marker, tc_family_close,
    tc_family_props;

/* cmd_activity.c */
tc_future *tc_activity_start(tc_wf_ctx *ctx, const char *type, const char *const *inputs,
                             size_t n_inputs, tc_wf_input_fn make, void *make_arg,
                             const tc_activity_options *o);
/* cmd_timer.c */
tc_future *tc_timer_start(tc_wf_ctx *ctx, int64_t duration_ms);
/* cmd_marker.c */
bool tc_patch_call(tc_wf_ctx *ctx, const char *id, bool deprecated);
int tc_side_effect_call(tc_wf_ctx *ctx, tc_side_effect_fn fn, void *arg, const char **out);
/* cmd_close.c: makes the closing command the outcome asks for (once). */
void tc_close_emit(tc_run *r);
/* cmd_props.c */
int tc_props_upsert(tc_wf_ctx *ctx, bool memo, const char *json_object);
/* Sets (or, json NULL / "null", removes) key in a run's search attribute or memo view. */
int tc_props_set(tc_kv **kv, size_t *n, const char *key, const char *json);

/* failure.c: f's chain as a packed Failure (malloc'd), NULL out of memory. */
uint8_t *tc_failure_pack(const tc_failure *f, size_t *len);
/* failure.c: f packed into a malloc'd buffer (NULL out of memory). */
uint8_t *tc_pb_failure_pack(const tc_pb_failure *f, size_t *len);
/* failure.c: keeps a packed copy of the failure a future resolved with, already as workflow
 * code sees it (f may be NULL: nothing), for tc_wf_fail_future. False out of memory (nothing
 * kept). */
bool tc_future_keep_failure(tc_future *fut, const tc_pb_failure *f);

/* What an activity's ActivityFailure names (ActivityFailureInfo). Strings borrowed. */
typedef struct tc_activity_failure_ref {
    const char *activity_type, *activity_id, *identity; /* NULL: "" */
    int64_t scheduled_event_id, started_event_id;       /* 0 for a local activity */
    int retry_state;                                    /* temporal.api.enums.v1.RetryState */
} tc_activity_failure_ref;

/* failure.c: keeps on fut the failure workflow code sees for a failed, timed-out or cancelled
 * activity (remote or local): an ActivityFailure naming it, caused by cause (as history or the
 * marker carried it; may be NULL), as the official SDKs deliver it (Go's ActivityError); and
 * the timeout type of a timeout in cause's chain. False out of memory (nothing kept). */
bool tc_future_keep_activity_failure(tc_future *fut, const tc_pb_failure *cause,
                                     const tc_activity_failure_ref *ref);

#endif

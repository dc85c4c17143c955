/* main.c - features-worker: serves one temporalio/features feature with the C SDK until SIGTERM,
 * lists the features it implements, or replays a recorded history on a feature's workflows.
 *   features-worker --list
 *   features-worker --feature NAME --address HOST:PORT --namespace NS --task-queue Q
 *                   (environment: FEATURE_HTTP_PROXY = a CONNECT proxy URL for the client)
 *   features-worker --feature NAME --replay HISTORY.pb [--workflow-type TYPE]
 *                   [--workflow-id ID --run-id RUN]                           (exit 0 = ok) */
#include "features.h"

#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const feature *const *groups(void)
{
    static const feature *const all[] = {feat_activity_features,
                                         feat_signal_features,
                                         feat_query_features,
                                         feat_continue_as_new_features,
                                         feat_data_converter_features,
                                         feat_search_attributes_features,
                                         feat_worker_shutdown_features,
                                         feat_bugs_features,
                                         feat_schedule_features,
                                         feat_reset_features,
                                         feat_client_features,
                                         feat_children_features,
                                         feat_update_features,
                                         feat_eager_features,
                                         feat_local_activity_features,
                                         feat_eager_activity_features,
                                         NULL};
    return all;
}

static const feature *find_feature(const char *name)
{
    for (const feature *const *g = groups(); *g; g++)
        for (const feature *f = *g; f->name; f++)
            if (strcmp(f->name, name) == 0)
                return f;
    return NULL;
}

static tc_client *the_client;

tc_client *feat_client(void)
{
    return the_client;
}

void feat_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

void feat_fail(tc_wf_ctx *ctx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tc_wf_fail(ctx, "SdkFeaturesError", msg, false);
}

void feat_fail_with(tc_wf_ctx *ctx, const tc_wf_result *r)
{
    tc_wf_fail(ctx, r->failure_type ? r->failure_type : "",
               r->failure_message ? r->failure_message : "", r->non_retryable);
}

void feat_complete_json(tc_wf_ctx *ctx, json_t *j)
{
    char *json = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(j);
    if (!json) {
        tc_wf_panic(ctx, "out of memory");
        return;
    }
    tc_wf_complete(ctx, json);
    free(json);
}

char *feat_json_string(const char *s)
{
    json_t *j = json_string(s);
    char *out = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(j);
    return out;
}

int feat_json_is_string(const char *json, const char *s)
{
    if (!json)
        return 0;
    json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
    int same = json_is_string(j) && strcmp(json_string_value(j), s) == 0;
    json_decref(j);
    return same;
}

int feat_signal_own_workflow(tc_activity_ctx *ctx, const char *signal, const char *json)
{
    tc_error err = {0};
    int rc = tc_workflow_signal(feat_client(), tc_activity_workflow_id(ctx),
                                tc_activity_run_id(ctx), signal, json, &err);
    if (rc != TC_OK)
        fprintf(stderr, "features-worker: signal %s: %s: %s\n", signal, tc_code_name(rc), err.text);
    return rc;
}

static int list_features(void)
{
    for (const feature *const *g = groups(); *g; g++)
        for (const feature *f = *g; f->name; f++)
            printf("%s\n", f->name);
    return 0;
}

/* Replays the history on the feature's workflow of that type (the only one when type is NULL),
 * twice: a second replay in the same process catches state kept across replays. */
static int replay(const feature *f, const char *path, const char *type)
{
    const feat_workflow *wf = NULL;
    for (const feat_workflow *w = f->workflows; w->type; w++)
        if ((type && strcmp(type, w->type) == 0) || (!type && !wf))
            wf = w;
    if (!wf) {
        fprintf(stderr, "features-worker: %s has no workflow type %s\n", f->name, type);
        return 2;
    }
    tc_error err = {0};
    tc_history *h = NULL;
    const feat_options *o = feat_options_for(f->name);
    if (o && o->before_replay)
        o->before_replay();
    int rc = tc_history_load(path, &h, &err);
    if (rc == TC_OK && o && o->n_codecs) /* stored encoded */
        rc = tc_history_decode(h, o->codecs, o->n_codecs, &err);
    for (int i = 0; i < 2 && rc == TC_OK; i++)
        rc = tc_replay_history(h, wf->fn, NULL, wf->state_size, NULL, &err);
    tc_history_free(h);
    if (rc != TC_OK) {
        fprintf(stderr, "features-worker: replay of %s: %s: %s\n", path, tc_code_name(rc),
                err.text);
        return 1;
    }
    return 0;
}

static int serve(const feature *f, const char *address, const char *ns, const char *queue)
{
    /* SIGTERM/SIGINT are taken by tc_worker_run with sigwait: block them before any thread
     * exists so none of gRPC's threads ever receives them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    tc_error err = {0};
    tc_worker *w = NULL;
    /* FEATURE_HTTP_PROXY: the HTTP CONNECT proxy the harness runs for client/http_proxy*. */
    tc_client_options co = {.address = address, .ns = ns, .proxy = getenv("FEATURE_HTTP_PROXY")};
    tc_worker_options wo = {.task_queue = queue, .log_level = TC_LOG_WARN};
    const feat_options *o = feat_options_for(f->name);
    if (o) {
        co.codecs = o->codecs;
        co.n_codecs = o->n_codecs;
        co.encode_failure_attributes = o->encode_failure_attributes;
        wo.no_remote_activities = o->no_remote_activities;
    }
    int rc = tc_client_new(&co, &the_client, &err);
    if (rc == TC_OK)
        rc = tc_client_wait_ready(the_client, 30000, &err);
    if (rc == TC_OK)
        rc = tc_worker_new(the_client, &wo, &w, &err);
    for (const feat_workflow *x = f->workflows; rc == TC_OK && x->type; x++)
        rc = tc_worker_register_workflow(w, x->type, x->fn, x->state_size, NULL, &err);
    for (const feat_activity *a = f->activities; rc == TC_OK && a && a->type; a++)
        rc = tc_worker_register_activity(w, a->type, a->fn, NULL, &err);
    if (rc == TC_OK && o && o->after_start) {
        /* tc_worker_run with the hook between the start and the wait for SIGTERM / SIGINT */
        rc = tc_worker_start(w, &err);
        if (rc == TC_OK && (rc = o->after_start(the_client, queue)) == TC_OK) {
            int sig;
            sigwait(&set, &sig);
        }
        tc_worker_stop(w);
    } else if (rc == TC_OK) {
        rc = tc_worker_run(w, &err);
    }
    if (rc != TC_OK)
        fprintf(stderr, "features-worker: %s: %s: %s\n", f->name, tc_code_name(rc), err.text);
    tc_worker_free(w);
    tc_client_free(the_client);
    the_client = NULL;
    return rc == TC_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"list", no_argument, NULL, 'l'},
                                         {"feature", required_argument, NULL, 'f'},
                                         {"address", required_argument, NULL, 'a'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {"task-queue", required_argument, NULL, 'q'},
                                         {"replay", required_argument, NULL, 'r'},
                                         {"workflow-type", required_argument, NULL, 't'},
                                         {"workflow-id", required_argument, NULL, 'w'},
                                         {"run-id", required_argument, NULL, 'u'},
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL, *address = NULL, *ns = "default", *queue = NULL, *path = NULL;
    const char *type = NULL;
    int list = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l': list = 1; break;
        case 'f': name = optarg; break;
        case 'a': address = optarg; break;
        case 'n': ns = optarg; break;
        case 'q': queue = optarg; break;
        case 'r': path = optarg; break;
        case 't': type = *optarg ? optarg : NULL; break;
        case 'w': /* fall through: tc_replay_history takes no workflow or run id (yet) */
        case 'u': break;
        default: return 2;
        }
    }
    if (list)
        return list_features();
    const feature *f = name ? find_feature(name) : NULL;
    if (!f) {
        fprintf(stderr, "features-worker: unknown or missing --feature %s\n", name ? name : "");
        return 2;
    }
    if (path)
        return replay(f, path, type);
    if (!queue) {
        fprintf(stderr, "features-worker: --task-queue is required\n");
        return 2;
    }
    return serve(f, address, ns, queue);
}

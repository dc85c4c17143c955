/* options.c - what the features need beyond their workflows, activities and the default
 * options: the base64 codec of data_converter/codec, the failure converter of
 * data_converter/failure, a worker without activity pollers for
 * eager_activity/non_remote_activities_worker, update/task_failure's state before a replay,
 * eager_workflow/successful_start's start once the worker polls. One table, looked up by name. */
#include "features.h"
#include "test_codecs.h"

#include <string.h>

static const tc_payload_codec base64_codec[1] = {
    {"base64", tc_test_b64_encode, tc_test_b64_decode, NULL}};

static const struct {
    const char *feature;
    feat_options options;
} k_options[] = {
    {"data_converter/codec", {.codecs = base64_codec, .n_codecs = 1}},
    {"data_converter/failure", {.encode_failure_attributes = true}},
    {"eager_activity/non_remote_activities_worker", {.no_remote_activities = true}},
    {"update/task_failure", {.before_replay = feat_update_task_failure_before_replay}},
    {"eager_workflow/successful_start", {.after_start = feat_eager_start}},
};

const feat_options *feat_options_for(const char *feature)
{
    for (size_t i = 0; i < sizeof k_options / sizeof k_options[0]; i++)
        if (strcmp(k_options[i].feature, feature) == 0)
            return &k_options[i].options;
    return NULL;
}

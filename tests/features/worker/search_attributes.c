/* search_attributes.c - features/search_attributes/{set,upsert}: the workflow returns the search
 * attributes of its info (after its upserts) as a JSON object. */
#include "features.h"

#include <jansson.h>

/* The attributes the features use (the C SDK reads search attributes by name). */
static const char *const custom_attributes[] = {
    "CustomKeywordField",  "CustomIntField",    "CustomBoolField",
    "CustomDatetimeField", "CustomDoubleField", "CustomTextField",
};

static void complete_with_info(tc_wf_ctx *ctx)
{
    json_t *out = json_object();
    for (size_t i = 0; i < sizeof custom_attributes / sizeof *custom_attributes; i++) {
        const char *v = tc_wf_search_attribute(ctx, custom_attributes[i]);
        json_t *j = v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;
        if (j && !json_is_null(j))
            json_object_set_new(out, custom_attributes[i], j);
        else
            json_decref(j);
    }
    feat_complete_json(ctx, out);
}

static void set_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    complete_with_info(ctx);
}

static void upsert_workflow(tc_wf_ctx *ctx, void *state, void *user)
{
    (void)state, (void)user;
    if (tc_wf_upsert_search_attributes(ctx, "{\"CustomIntField\":123,\"CustomBoolField\":true}") ||
        tc_wf_upsert_search_attributes(ctx, "{\"CustomIntField\":null,"
                                            "\"CustomKeywordField\":\"durable code\","
                                            "\"CustomTextField\":\"is useful\","
                                            "\"CustomDatetimeField\":\"2021-03-04T05:06:07Z\","
                                            "\"CustomDoubleField\":3.14}")) {
        tc_wf_panic(ctx, "upsert refused");
        return;
    }
    complete_with_info(ctx);
}

static const feat_workflow set_wf[] = {{"Workflow", set_workflow, 0}, {NULL, NULL, 0}};
static const feat_workflow upsert_wf[] = {{"Workflow", upsert_workflow, 0}, {NULL, NULL, 0}};

const feature feat_search_attributes_features[] = {
    {"search_attributes/set", set_wf, NULL},
    {"search_attributes/upsert", upsert_wf, NULL},
    {NULL, NULL, NULL},
};

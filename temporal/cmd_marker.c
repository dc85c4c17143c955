/* cmd_marker.c - the marker command family: patches (marker "core_patch" as sdk-core based
 * SDKs record it; the Go SDK's "Version" markers are read too) and side effects (marker
 * "SideEffect" as the Go SDK records it). Must not know about other command kinds. */
#include "json_lite.h"
#include "wf_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATCH_MARKER       "core_patch"
#define PATCH_DETAILS      "patch-data"
#define GO_VERSION_MARKER  "Version"
#define SIDE_EFFECT_MARKER "SideEffect"

typedef Temporal__Api__History__V1__MarkerRecordedEventAttributes marker_attrs;

enum { M_OTHER = 0, M_PATCH, M_VERSION, M_SIDE_EFFECT };

typedef struct marker_info {
    int kind;
    char *id; /* patch id, change id, side effect id */
    bool deprecated;
    long long version;
    const tc_pb_payloads *data; /* side effect value */
} marker_info;

static const tc_pb_payload *detail(const marker_attrs *a, const char *key,
                                   const tc_pb_payloads **all)
{
    for (size_t i = 0; i < a->n_details; i++)
        if (strcmp(a->details[i]->key, key) == 0 && a->details[i]->value) {
            if (all)
                *all = a->details[i]->value;
            return a->details[i]->value->n_payloads ? a->details[i]->value->payloads[0] : NULL;
        }
    return NULL;
}

/* The JSON text of a detail (through the data converter), malloc'd, or NULL. */
static char *detail_json(const marker_attrs *a, const char *key)
{
    const tc_pb_payload *p = detail(a, key, NULL);
    char *json = NULL;
    tc_error e;
    if (!p || tc_payload_decode(p, &json, &e) != TC_OK)
        return NULL;
    return json;
}

static int patch_member(const char *key, const char *v, size_t len, void *arg)
{
    marker_info *mi = arg;
    if (strcmp(key, "id") == 0) {
        free(mi->id);
        mi->id = tc_json_string(v, len);
    } else if (strcmp(key, "deprecated") == 0) {
        mi->deprecated = len == 4 && memcmp(v, "true", 4) == 0;
    }
    return 0;
}

/* Reads what a marker event says. Returns false when it is not one of ours or unreadable. */
static bool parse(const tc_pb_event *ev, marker_info *mi)
{
    const marker_attrs *a = ev->marker_recorded_event_attributes;
    memset(mi, 0, sizeof *mi);
    if (strcmp(a->marker_name, PATCH_MARKER) == 0) {
        char *json = detail_json(a, PATCH_DETAILS);
        mi->kind = M_PATCH;
        if (json) {
            tc_json_members(json, strlen(json), patch_member, mi);
            free(json);
        } else {
            /* Older sdk-core wrote the id and flag as plain bytes. */
            const tc_pb_payload *id = detail(a, "patch_id", NULL);
            const tc_pb_payload *dep = detail(a, "deprecated", NULL);
            if (id && (mi->id = malloc(id->data.len + 1)) != NULL) {
                memcpy(mi->id, id->data.data, id->data.len);
                mi->id[id->data.len] = '\0';
            }
            mi->deprecated = dep && dep->data.len && dep->data.data[0] != 0;
        }
    } else if (strcmp(a->marker_name, GO_VERSION_MARKER) == 0) {
        char *id = detail_json(a, "change-id"), *ver = detail_json(a, "version");
        mi->kind = M_VERSION;
        mi->id = id ? tc_json_string(id, strlen(id)) : NULL;
        mi->version = ver ? strtoll(ver, NULL, 10) : 0;
        free(id);
        free(ver);
    } else if (strcmp(a->marker_name, SIDE_EFFECT_MARKER) == 0) {
        mi->kind = M_SIDE_EFFECT;
        mi->id = detail_json(a, "side-effect-id");
        detail(a, "data", &mi->data);
    } else {
        return false;
    }
    return mi->id != NULL;
}

static bool matches(const tc_cmd *c, const tc_pb_event *ev)
{
    marker_info mi;
    bool ok = parse(ev, &mi) &&
              strcmp(ev->marker_recorded_event_attributes->marker_name, c->type) == 0 &&
              strcmp(mi.id, c->id) == 0;
    free(mi.id);
    return ok;
}

static const tc_cmd_kind k_marker = {"RecordMarker", TC_ET(MARKER_RECORDED), matches, NULL, NULL};

static tc_patch *patch_memo(tc_run *r, const char *id)
{
    for (size_t i = 0; i < r->n_patches; i++)
        if (strcmp(r->patches[i].id, id) == 0)
            return &r->patches[i];
    return NULL;
}

static bool remember(tc_run *r, const char *id, bool value)
{
    tc_patch *p = realloc(r->patches, (r->n_patches + 1) * sizeof *p);
    if (!p)
        return false;
    r->patches = p;
    if (!(p[r->n_patches].id = tc_strdup(id)))
        return false;
    p[r->n_patches++].value = value;
    return true;
}

/* Adds a RecordMarker command with details key -> one JSON payload each. */
static tc_cmd *add_marker(tc_run *r, const char *name, const char *id, const char *const *keys,
                          const char *const *jsons, size_t n)
{
    uint8_t *packed = NULL;
    size_t len = 0;
    {
        Temporal__Api__Command__V1__Command cmd = TEMPORAL__API__COMMAND__V1__COMMAND__INIT;
        Temporal__Api__Command__V1__RecordMarkerCommandAttributes a =
            TEMPORAL__API__COMMAND__V1__RECORD_MARKER_COMMAND_ATTRIBUTES__INIT;
        Temporal__Api__Command__V1__RecordMarkerCommandAttributes__DetailsEntry de[2], *dep[2];
        tc_pl1 pl[2];
        for (size_t i = 0; i < n && i < 2; i++) {
            temporal__api__command__v1__record_marker_command_attributes__details_entry__init(
                &de[i]);
            de[i].key = (char *)keys[i];
            de[i].value = tc_pl1_init(&pl[i], jsons[i]);
            dep[i] = &de[i];
        }
        a.marker_name = (char *)name;
        a.n_details = n;
        a.details = dep;
        cmd.command_type = TC_CT(RECORD_MARKER);
        cmd.attributes_case =
            TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_RECORD_MARKER_COMMAND_ATTRIBUTES;
        cmd.record_marker_command_attributes = &a;
        packed = tc_cmd_pack(&cmd, &len);
        for (size_t i = 0; i < n && i < 2; i++)
            tc_pl1_clear(&pl[i]);
        if (!packed)
            return NULL;
    }
    return tc_cmd_add(r, &k_marker, id, name, packed, len);
}

static tc_cmd *add_patch_marker(tc_run *r, const char *id, bool deprecated)
{
    /* {"id":"<id>","deprecated":false} with the id escaped as a JSON string */
    size_t n = strlen(id), cap = n * 6 + 40, o = 0;
    char *json = malloc(cap);
    if (!json)
        return NULL;
    o += (size_t)snprintf(json + o, cap - o, "{\"id\":\"");
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        if (*p == '"' || *p == '\\')
            o += (size_t)snprintf(json + o, cap - o, "\\%c", *p);
        else if (*p < 0x20)
            o += (size_t)snprintf(json + o, cap - o, "\\u%04x", *p);
        else
            json[o++] = (char)*p;
    }
    snprintf(json + o, cap - o, "\",\"deprecated\":%s}", deprecated ? "true" : "false");
    const char *keys[] = {PATCH_DETAILS};
    const char *vals[] = {json};
    tc_cmd *c = add_marker(r, PATCH_MARKER, id, keys, vals, 1);
    free(json);
    if (c)
        c->mode = deprecated;
    return c;
}

bool tc_patch_call(tc_wf_ctx *ctx, const char *id, bool deprecated)
{
    tc_run *r = ctx->run;
    const tc_patch *memo = patch_memo(r, id);
    if (memo)
        return deprecated || memo->value;
    if (r->destroying)
        return deprecated;
    bool value = deprecated, emit = tc_run_live(r);
    if (!emit) {
        /* Replaying: the answer is whether this task recorded the marker. */
        for (size_t i = 0; i < r->n_look; i++) {
            marker_info mi;
            if (r->look[i]->event_type != TC_ET(MARKER_RECORDED) || !parse(r->look[i], &mi))
                continue;
            bool same = (mi.kind == M_PATCH || mi.kind == M_VERSION) && strcmp(mi.id, id) == 0;
            free(mi.id);
            if (!same)
                continue;
            if (mi.kind == M_PATCH) {
                emit = true; /* matched by that marker event */
                value = true;
            } else {
                value = deprecated || mi.version >= 1; /* Go: no command on replay */
            }
            break;
        }
    } else {
        value = true;
    }
    if (emit && !add_patch_marker(r, id, deprecated)) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory recording patch %s", id);
        tc_sched_park(ctx);
    }
    if (!remember(r, id, value)) {
        tc_run_fail(r, TC_ERR_NOMEM, "out of memory recording patch %s", id);
        tc_sched_park(ctx);
    }
    return value;
}

int tc_side_effect_call(tc_wf_ctx *ctx, tc_side_effect_fn fn, void *arg, const char **out)
{
    tc_run *r = ctx->run;
    char id[24];
    *out = "null";
    if (r->destroying || r->outcome != OUT_NONE)
        return TC_ERR_CANCELLED;
    /* The Go SDK numbers side effects 1, 2, ... per run (not by event id). */
    snprintf(id, sizeof id, "%lld", (long long)++r->side_effects);
    tc_future *f = tc_future_new(r, FK_OTHER);
    if (!f)
        return TC_ERR_NOMEM;
    char *value = NULL;
    if (tc_run_live(r)) {
        value = fn ? fn(arg) : NULL;
        if (!value && !(value = tc_strdup("null")))
            return TC_ERR_NOMEM;
    } else {
        /* Replaying: the value is the one the marker of this task recorded. */
        for (size_t i = 0; i < r->n_look && !value; i++) {
            marker_info mi;
            if (r->look[i]->event_type != TC_ET(MARKER_RECORDED) || !parse(r->look[i], &mi))
                continue;
            if (mi.kind == M_SIDE_EFFECT && strcmp(mi.id, id) == 0) {
                tc_error e;
                const tc_pb_payload *p =
                    mi.data && mi.data->n_payloads ? mi.data->payloads[0] : NULL;
                if (tc_payload_decode(p, &value, &e) != TC_OK) {
                    free(mi.id);
                    tc_run_fail(r, TC_ERR_PROTOCOL,
                                "history event %lld (MarkerRecorded "
                                "SideEffect %s): %s",
                                (long long)r->look[i]->event_id, id, e.text);
                    tc_sched_park(ctx);
                }
            }
            free(mi.id);
        }
        if (!value) {
            tc_run_fail(r, TC_ERR_NONDETERMINISM,
                        "the workflow code made RecordMarker(id=%s, type=SideEffect) but history "
                        "recorded no such side effect in this workflow task",
                        id);
            tc_sched_park(ctx);
        }
    }
    const char *keys[] = {"side-effect-id", "data"};
    const char *vals[] = {id, value};
    tc_cmd *c = add_marker(r, SIDE_EFFECT_MARKER, id, keys, vals, 2);
    char **v = c ? malloc(sizeof *v) : NULL;
    if (!v) {
        free(value);
        return TC_ERR_NOMEM;
    }
    v[0] = value;
    tc_future_resolve_values(r, f, v, 1, 0); /* the run owns the value from now on */
    *out = value;
    return TC_OK;
}

/* ---- events ---- */

static void describe(const tc_pb_event *ev, char *buf, size_t cap)
{
    marker_info mi;
    const char *name = ev->marker_recorded_event_attributes->marker_name;
    if (parse(ev, &mi)) {
        snprintf(buf, cap, "RecordMarker(id=%s, type=%s)", mi.id, name);
        free(mi.id);
    } else {
        free(mi.id);
        snprintf(buf, cap, "RecordMarker(type=%s)", name);
    }
}

static bool skippable(tc_run *r, const tc_pb_event *ev)
{
    marker_info mi;
    bool skip = false;
    if (!parse(ev, &mi)) {
        free(mi.id);
        return false;
    }
    if (mi.kind == M_VERSION) {
        /* The Go SDK matches no command to its version markers; their answer holds for the
         * rest of the run. */
        if (!patch_memo(r, mi.id))
            remember(r, mi.id, mi.version >= 1);
        skip = true;
    } else if (mi.kind == M_PATCH && mi.deprecated) {
        skip = true; /* a deprecated patch may be gone from the code */
    }
    free(mi.id);
    return skip;
}

static bool uncounted(const tc_pb_event *ev)
{
    return strcmp(ev->marker_recorded_event_attributes->marker_name, GO_VERSION_MARKER) == 0;
}

static const tc_event_rule k_rules[] = {
    {.event_type = TC_ET(MARKER_RECORDED),
     .role = EV_COMMAND,
     .describe = describe,
     .skippable = skippable,
     .uncounted = uncounted},
};

const tc_cmd_family tc_family_marker = {"marker", k_rules, sizeof k_rules / sizeof k_rules[0]};

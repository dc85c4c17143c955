/* event_names.c - facts about history event types that do not depend on the runtime: their
 * names as the UI shows them and which attributes each must carry. */
#include "wf_run.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "temporal/api/enums/v1/event_type.pb-c.h"

#define MAX_EVENT_TYPE 128

/* The HistoryEvent field that must carry each event type's attributes. */
static const ProtobufCFieldDescriptor *g_attrs[MAX_EVENT_TYPE];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* EVENT_TYPE_ACTIVITY_TASK_SCHEDULED -> activity_task_scheduled_event_attributes */
static void attrs_field_name(const char *enum_name, char *buf, size_t cap)
{
    static const char prefix[] = "EVENT_TYPE_";
    size_t o = 0;
    for (const char *p = enum_name + sizeof prefix - 1; *p && o + 1 < cap; p++)
        buf[o++] = (char)tolower((unsigned char)*p);
    buf[o] = '\0';
    strncat(buf, "_event_attributes", cap - o - 1);
}

static void build(void)
{
    const ProtobufCEnumDescriptor *et = &temporal__api__enums__v1__event_type__descriptor;
    const ProtobufCMessageDescriptor *he = &temporal__api__history__v1__history_event__descriptor;
    for (unsigned i = 0; i < et->n_values; i++) {
        int t = et->values[i].value;
        char name[160];
        if (t <= 0 || t >= MAX_EVENT_TYPE || strncmp(et->values[i].name, "EVENT_TYPE_", 11) != 0)
            continue;
        attrs_field_name(et->values[i].name, name, sizeof name);
        for (unsigned f = 0; f < he->n_fields; f++)
            if (strcmp(he->fields[f].name, name) == 0)
                g_attrs[t] = &he->fields[f];
    }
}

bool tc_event_attrs_ok(const tc_pb_event *ev)
{
    pthread_once(&g_once, build);
    int t = (int)ev->event_type;
    if (t <= 0 || t >= MAX_EVENT_TYPE || !g_attrs[t])
        return false;
    if ((unsigned)ev->attributes_case != g_attrs[t]->id)
        return false;
    /* The attributes are a oneof: every member shares one pointer slot. */
    const void *const *slot = (const void *const *)((const char *)ev + g_attrs[t]->offset);
    return *slot != NULL;
}

const char *tc_event_type_name(int event_type, char *buf, size_t cap)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &temporal__api__enums__v1__event_type__descriptor, event_type);
    static const char prefix[] = "EVENT_TYPE_";
    if (!v || strncmp(v->name, prefix, sizeof prefix - 1) != 0 || cap < 2) {
        snprintf(buf, cap, "EventType(%d)", event_type);
        return buf;
    }
    /* EVENT_TYPE_ACTIVITY_TASK_SCHEDULED -> ActivityTaskScheduled, as the UI and CLI name it */
    size_t o = 0;
    bool up = true;
    for (const char *p = v->name + sizeof prefix - 1; *p && o + 1 < cap; p++) {
        if (*p == '_') {
            up = true;
            continue;
        }
        buf[o++] = up ? *p : (char)tolower((unsigned char)*p);
        up = false;
    }
    buf[o] = '\0';
    return buf;
}

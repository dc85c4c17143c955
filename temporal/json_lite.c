/* json_lite.c - the little JSON the runtime itself must read (marker details, the objects given
 * to upserts): validation, object members, strings. Must not allocate beyond what it returns;
 * the library links no JSON library, payload JSON is otherwise passed through untouched. */
#include "json_lite.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *skip_string(const char *p, const char *end)
{
    if (p >= end || *p != '"')
        return NULL;
    for (p++; p < end; p++) {
        if (*p == '\\') {
            if (++p >= end)
                return NULL;
            continue;
        }
        if (*p == '"')
            return p + 1;
        if ((unsigned char)*p < 0x20)
            return NULL;
    }
    return NULL;
}

static const char *skip_value(const char *p, const char *end, int depth);

static const char *skip_container(const char *p, const char *end, int depth, char close,
                                  bool object)
{
    p = ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        if (object) {
            p = skip_string(ws(p, end), end);
            if (!p)
                return NULL;
            p = ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p++;
        }
        p = skip_value(p, end, depth + 1);
        if (!p)
            return NULL;
        p = ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        return p < end && *p == close ? p + 1 : NULL;
    }
}

static const char *skip_value(const char *p, const char *end, int depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    p = ws(p, end);
    if (p >= end)
        return NULL;
    switch (*p) {
    case '"': return skip_string(p, end);
    case '{': return skip_container(p, end, depth, '}', true);
    case '[': return skip_container(p, end, depth, ']', false);
    case 't': return end - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f': return end - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n': return end - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: {
        const char *s = p;
        if (p < end && *p == '-')
            p++;
        while (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
                           *p == '+' || *p == '-'))
            p++;
        return p > s && (p - s > 1 || *s != '-') ? p : NULL;
    }
    }
}

bool tc_json_valid(const char *json, size_t len)
{
    const char *end = json + len;
    const char *p = skip_value(json, end, 0);
    return p && ws(p, end) == end;
}

static void put_utf8(char **o, unsigned cp)
{
    char *q = *o;
    if (cp < 0x80) {
        *q++ = (char)cp;
    } else if (cp < 0x800) {
        *q++ = (char)(0xc0 | (cp >> 6));
        *q++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *q++ = (char)(0xe0 | (cp >> 12));
        *q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *q++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *q++ = (char)(0xf0 | (cp >> 18));
        *q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *q++ = (char)(0x80 | (cp & 0x3f));
    }
    *o = q;
}

static int hex4(const char *p, const char *end)
{
    int v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

char *tc_json_string(const char *p, size_t len)
{
    const char *end = p + len;
    p = ws(p, end);
    const char *e = skip_string(p, end);
    if (!e)
        return NULL;
    /* Decoded text is never longer than its escaped form. */
    char *out = malloc((size_t)(e - p) + 1), *o = out;
    if (!out)
        return NULL;
    for (p++; p < e - 1; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            int cp = hex4(p + 1, e - 1);
            if (cp < 0) {
                free(out);
                return NULL;
            }
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && p + 2 < e - 1 && p[1] == '\\' && p[2] == 'u') {
                int lo = hex4(p + 3, e - 1);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }
            }
            put_utf8(&o, (unsigned)cp);
            break;
        }
        default: *o++ = *p; break; /* \" \\ \/ */
        }
    }
    *o = '\0';
    return out;
}

int tc_json_members(const char *json, size_t len, tc_json_member_fn fn, void *arg)
{
    const char *end = json + len;
    const char *p = ws(json, end);
    if (!tc_json_valid(json, len) || p >= end || *p != '{')
        return -1;
    p = ws(p + 1, end);
    if (*p == '}')
        return 0;
    for (;;) {
        const char *ks = ws(p, end), *ke = skip_string(ks, end);
        char *key = tc_json_string(ks, (size_t)(ke - ks));
        if (!key)
            return -2;
        p = ws(ke, end) + 1; /* ':' */
        const char *vs = ws(p, end), *ve = skip_value(vs, end, 1);
        int rc = fn(key, vs, (size_t)(ve - vs), arg);
        free(key);
        if (rc != 0)
            return rc;
        p = ws(ve, end);
        if (*p != ',')
            return 0;
        p++;
    }
}

bool tc_json_is_null(const char *v, size_t len)
{
    return len == 4 && memcmp(v, "null", 4) == 0;
}

/* router.c — route table with {param} segments; most-literal match wins; 404 vs 405.
 * Must not allocate while matching: requests are matched on pool threads concurrently. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "router.h"

/* Split `s` (modified in place) on '/' after the leading one. Returns the count or -1. */
static int split(char *s, char **segs, int max)
{
    if (s[0] != '/')
        return -1;
    int n = 0;
    char *p = s + 1;
    for (;;) {
        if (n == max)
            return -1;
        segs[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    return n;
}

static bool same_shape(const route_ent *a, const route_ent *b)
{
    if (a->nseg != b->nseg)
        return false;
    for (int i = 0; i < a->nseg; i++) {
        if (a->is_param[i] != b->is_param[i])
            return false;
        if (!a->is_param[i] && strcmp(a->segs[i], b->segs[i]))
            return false;
    }
    return true;
}

int router_add(router *r, const char *method, const char *pattern, http_handler_fn fn, void *ctx)
{
    if (!method || !*method || !pattern || !fn || r->n >= HTTP_MAX_ROUTES)
        return CM_ERR_INVALID;
    if (strlen(pattern) >= ROUTER_MAX_PATH)
        return CM_ERR_INVALID;
    char tmp[ROUTER_MAX_PATH];
    snprintf(tmp, sizeof tmp, "%s", pattern);
    char *segs[HTTP_MAX_SEGMENTS];
    int n = split(tmp, segs, HTTP_MAX_SEGMENTS);
    if (n < 0)
        return CM_ERR_INVALID;
    route_ent e = {.method = method, .pattern = pattern, .fn = fn, .ctx = ctx, .nseg = n};
    int nparams = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(segs[i]);
        if (len == 0 && !(n == 1 && !strcmp(pattern, "/")))
            goto bad;
        if (len > 0 && segs[i][0] == '{') {
            if (len < 3 || segs[i][len - 1] != '}' || ++nparams > HTTP_MAX_PARAMS)
                goto bad;
            e.is_param[i] = true;
            e.segs[i] = strndup(segs[i] + 1, len - 2);
        } else {
            if (strchr(segs[i], '{') || strchr(segs[i], '}'))
                goto bad;
            e.score |= 1u << (HTTP_MAX_SEGMENTS - 1 - i);
            e.segs[i] = strdup(segs[i]);
        }
        if (!e.segs[i])
            goto bad;
    }
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->routes[i].method, method) && same_shape(&r->routes[i], &e))
            goto bad;
    r->routes[r->n++] = e;
    return 0;
bad:
    for (int i = 0; i < n; i++)
        free(e.segs[i]);
    return CM_ERR_INVALID;
}

void router_clear(router *r)
{
    for (int i = 0; i < r->n; i++)
        for (int j = 0; j < r->routes[i].nseg; j++)
            free(r->routes[i].segs[j]);
    r->n = 0;
}

static bool seg_match(const route_ent *e, char **segs, int n)
{
    if (e->nseg != n)
        return false;
    for (int i = 0; i < n; i++) {
        if (e->is_param[i]) {
            if (segs[i][0] == '\0')
                return false;
        } else if (strcmp(e->segs[i], segs[i])) {
            return false;
        }
    }
    return true;
}

static void allow_add(router_match *m, const char *method)
{
    /* Several shapes may allow the same method; list it once. */
    size_t mlen = strlen(method);
    for (const char *p = m->allow; (p = strstr(p, method)); p += mlen)
        if ((p == m->allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
            return;
    size_t len = strlen(m->allow);
    snprintf(m->allow + len, sizeof m->allow - len, "%s%s", len ? ", " : "", method);
}

int router_match_path(const router *r, const char *method, const char *path, router_match *m)
{
    m->route = NULL;
    m->status = 404;
    m->allow[0] = '\0';
    m->nparams = 0;
    if (!path || strlen(path) >= sizeof m->buf)
        return m->status;
    snprintf(m->buf, sizeof m->buf, "%s", path);
    char *segs[HTTP_MAX_SEGMENTS];
    int n = split(m->buf, segs, HTTP_MAX_SEGMENTS);
    if (n < 0)
        return m->status;
    /* Only the most specific shape that matches the path counts (literal segments beat
     * {params}): `/orders/async` registered for POST is not served by GET `/orders/{id}`, and
     * its 405 lists only that shape's methods, as the API description says. */
    bool path_known = false;
    unsigned top = 0;
    for (int i = 0; i < r->n; i++) {
        const route_ent *e = &r->routes[i];
        if (!seg_match(e, segs, n))
            continue;
        if (!path_known || e->score > top)
            top = e->score;
        path_known = true;
    }
    const route_ent *best = NULL;
    for (int i = 0; path_known && i < r->n; i++) {
        const route_ent *e = &r->routes[i];
        if (e->score != top || !seg_match(e, segs, n))
            continue;
        if (strcmp(e->method, method)) {
            allow_add(m, e->method);
            continue;
        }
        best = e;
    }
    if (best) {
        m->route = best;
        m->status = 0;
        for (int i = 0; i < n; i++)
            if (best->is_param[i]) {
                m->names[m->nparams] = best->segs[i];
                m->values[m->nparams] = segs[i];
                m->nparams++;
            }
        m->allow[0] = '\0';
    } else if (path_known) {
        m->status = 405;
    }
    return m->status;
}

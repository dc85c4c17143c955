/* fuzz_router.c - route matching: every route the six daemons register, matched against a
 * fuzzed method (first line of the input) and decoded path (the rest). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

static void h(http_req *req, void *ctx)
{
    (void)req;
    (void)ctx;
}

static const char *const k_routes[][2] = {
    {"GET", "/health"},
    {"GET", "/ready"},
    {"GET", "/metrics"},
    {"POST", "/api/orders"},
    {"GET", "/api/orders/{id}"},
    {"PATCH", "/api/orders/{id}/cancel"},
    {"PATCH", "/api/orders/{id}/confirm"},
    {"GET", "/api/inventory/{productId}"},
    {"PUT", "/api/inventory/{productId}"},
    {"POST", "/api/inventory/{productId}/reserve"},
    {"POST", "/api/inventory/{productId}/confirm"},
    {"POST", "/api/inventory/{productId}/cancel"},
    {"POST", "/api/payments"},
    {"GET", "/api/payments/{id}"},
    {"POST", "/api/payments/{id}/approve"},
    {"POST", "/api/payments/{id}/confirm"},
    {"POST", "/api/payments/{id}/refund"},
    {"GET", "/api/notifications"},
    {"POST", "/api/pure/orders"},
    {"POST", "/api/saga/order"},
    {"GET", "/api/pure/orders/{sagaId}"},
    {"POST", "/api/pure/orders/{sagaId}/cancel"},
    {"POST", "/api/temporal/orders"},
    {"POST", "/api/temporal/orders/async"},
    {"GET", "/api/temporal/orders/{workflowId}"},
    {"POST", "/api/temporal/orders/{workflowId}/cancel"},
    {"GET", "/api/inventory/stats"},
};

static router g_router;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof k_routes / sizeof *k_routes; i++)
        if (router_add(&g_router, k_routes[i][0], k_routes[i][1], h, NULL) != 0)
            abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (in == NULL)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    char *nl = strchr(in, '\n');
    const char *method = "GET", *path = in;
    if (nl != NULL) {
        *nl = '\0';
        method = in;
        path = nl + 1;
    }
    static router_match m; /* large (a path buffer): not on the stack */
    int st = router_match_path(&g_router, method, path, &m);
    if (st == 0) {
        if (m.route == NULL || m.nparams > HTTP_MAX_PARAMS)
            abort();
        for (int i = 0; i < m.nparams; i++)
            if (m.values[i] == NULL || m.values[i][0] == '\0')
                abort(); /* a {param} matches one non-empty segment */
    } else if (st != 404 && st != 405) {
        abort();
    }
    free(in);
    return 0;
}

// cxx_headers.cpp - the public headers of temporal-c compile as C++17 (a C++ service includes
// temporal.h directly), with C linkage for every function and the types usable from C++.
#include "temporal.h"
#include "temporal_protobuf.h"

#include <cstdio>
#include <string>

static_assert(TC_VERSION_NUMBER == TC_VERSION_MAJOR * 10000 + TC_VERSION_MINOR * 100 +
                                       TC_VERSION_PATCH,
              "version macros agree");

namespace {

// Workflow and activity functions written in C++, registered through the C API.
extern "C" void greet(tc_wf_ctx *ctx, void *, void *)
{
    tc_activity_options o{};
    o.start_to_close_ms = 5000;
    tc_wf_result r{};
    if (tc_wf_activity(ctx, "Hello", tc_wf_input(ctx, 0), &o, &r) != TC_OK) {
        tc_wf_fail_future(ctx, nullptr);
        return;
    }
    tc_wf_complete(ctx, r.result_json);
}

extern "C" void hello(tc_activity_ctx *ctx, void *)
{
    std::string in = tc_activity_input(ctx, 0) ? tc_activity_input(ctx, 0) : "null";
    if (in == "null") {
        tc_failure cause{};
        cause.message = "no input";
        tc_failure f{};
        f.type = "Invalid";
        f.message = "hello needs a name";
        f.cause = &cause;
        tc_activity_fail_failure(ctx, &f);
        return;
    }
    tc_activity_complete(ctx, in.c_str());
}

// A payload codec written in C++ (the identity: leaves *out empty).
extern "C" int identity(const tc_payload *, tc_payload *, void *, tc_error *)
{
    return TC_OK;
}

} // namespace

int main()
{
    tc_error err{};
    tc_client *c = nullptr;
    tc_payload_codec codec{"identity", identity, identity, nullptr};
    tc_client_options co{};
    co.codecs = &codec;
    co.n_codecs = 1;
    (void)co;
    tc_worker_options wo{};
    wo.task_queue = "cxx";
    wo.graceful_stop_timeout_ms = 1000;
    tc_metric_label l{"k", "v"};
    (void)l;
    tc_workflow_fn wf = greet;
    tc_activity_fn act = hello;
    (void)wf;
    (void)act;
    (void)wo;
    (void)c;
    std::printf("temporal-c %s (%s): %s\n", tc_version(), TC_VERSION, tc_code_name(err.code));
    return 0;
}

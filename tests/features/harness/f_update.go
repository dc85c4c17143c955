// features/update/* (all but client_interceptor, which tests a Go client interceptor rather than
// a worker). Issue 11: the C SDK has no update handlers yet.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"ordersaga/tests/features/wire"
)

func init() {
	register(
		&Feature{Name: "update/activities", Issue: 11, Source: "go", Execute: executeUpdateActivities},
		&Feature{Name: "update/async_accepted", Issue: 11, Source: "go", Execute: executeUpdateAsyncAccepted},
		&Feature{
			Name: "update/basic", Issue: 11, Source: "go", Execute: executeUpdateBasic,
			ExpectRunResult: "workflow-result:my-update-arg",
		},
		&Feature{Name: "update/basic_async", Issue: 11, Source: "py", CheckResult: checkUpdateBasicAsync},
		&Feature{Name: "update/deduplication", Issue: 11, Source: "go", Workflow: "Count", Execute: executeUpdateDedup},
		&Feature{
			Name: "update/non_durable_reject", Issue: 11, Source: "go", Workflow: "NonDurableReject",
			Execute: executeUpdateNonDurableReject, ExpectRunResult: 10,
		},
		&Feature{
			Name: "update/self", Issue: 11, Source: "go", Workflow: "SelfUpdateWorkflow",
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				if err := checkUpdateSupport(ctx, r); err != nil {
					return nil, err
				}
				return r.ExecuteWithArgs(ctx, wire.ConnMaterial{HostPort: r.cfg.Address, Namespace: r.Namespace})
			},
		},
		&Feature{
			Name: "update/task_failure", Issue: 11, Source: "go", Workflow: "PanickyUpdates",
			Execute: executeUpdateTaskFailure,
		},
		&Feature{Name: "update/validation_replay", Issue: 11, Source: "go", Execute: executeUpdateValidationReplay},
		&Feature{
			Name: "update/worker_restart", Issue: 11, Source: "go", Proxy: true,
			Execute: executeUpdateWorkerRestart, ExpectRunResult: 1,
		},
		&Feature{
			Name: "update/client_interceptor", Issue: 11, Source: "go",
			NotUpstream: "not required: it tests a client interceptor of the Go SDK, not a worker",
		},
	)
}

// checkUpdateSupport is upstream's server support probe: an update to a workflow that does not
// exist must fail with NotFound (PermissionDenied: disabled; Unimplemented: server too old).
func checkUpdateSupport(ctx context.Context, r *Runner) error {
	_, err := r.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		UpdateID: uuid.NewString(), WorkflowID: "__does_not_exist", UpdateName: "__does_not_exist",
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var denied *serviceerror.PermissionDenied
	var unimplemented *serviceerror.Unimplemented
	switch {
	case errors.As(err, &denied):
		return skipf("server support for update is disabled")
	case errors.As(err, &unimplemented):
		return skipf("server version too old to support update")
	}
	return nil
}

func update(ctx context.Context, r *Runner, run client.WorkflowRun, id, name string,
	stage client.WorkflowUpdateStage, args ...any) (client.WorkflowUpdateHandle, error) {
	return r.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		UpdateID: id, WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: name, Args: args,
		WaitForStage: stage,
	})
}

// requireNoUpdateRejected: no history of the task queue holds an update-rejected event
// (validators reject without writing history).
func requireNoUpdateRejected(ctx context.Context, r *Runner) error {
	execs, err := r.closedExecutions(ctx)
	if err != nil {
		return err
	}
	for _, e := range execs {
		h, err := r.History(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId())
		if err != nil {
			return err
		}
		if indexOf(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED, 0) >= 0 {
			return errors.New("found a workflow update rejected event")
		}
	}
	return nil
}

func startForUpdate(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	if err := checkUpdateSupport(ctx, r); err != nil {
		return nil, err
	}
	return r.ExecuteDefault(ctx)
}

func shutdownAndCheck(ctx context.Context, r *Runner, run client.WorkflowRun, signal string) (client.WorkflowRun, error) {
	if err := r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), signal, nil); err != nil {
		return nil, err
	}
	return run, requireNoUpdateRejected(ctx, r)
}

func executeUpdateActivities(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := startForUpdate(ctx, r)
	if err != nil {
		return nil, err
	}
	h, err := update(ctx, r, run, "", "updateActivity", client.WorkflowUpdateStageCompleted)
	if err != nil {
		return nil, err
	}
	var res int
	if err := h.Get(ctx, &res); err != nil {
		return nil, err
	}
	if err := expectEqual("update result", 30, res); err != nil {
		return nil, err
	}
	return shutdownAndCheck(ctx, r, run, "shutdown_signal")
}

func executeUpdateAsyncAccepted(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := startForUpdate(ctx, r)
	if err != nil {
		return nil, err
	}
	const sleep = 2 * time.Second
	start := time.Now()
	h1, err := update(ctx, r, run, "update:1", "theUpdate", client.WorkflowUpdateStageAccepted, sleep, 0)
	if err != nil {
		return nil, err
	}
	if d := time.Since(start); d >= sleep {
		return nil, fmt.Errorf("the accepted stage took %s, not less than the update's %s", d, sleep)
	}
	other := r.Client.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: h1.UpdateID(),
	})
	var res int
	for _, h := range []client.WorkflowUpdateHandle{other, h1} {
		if err := h.Get(ctx, &res); err != nil {
			return nil, err
		}
		if err := expectEqual("update result", 123, res); err != nil {
			return nil, err
		}
	}
	h3, err := update(ctx, r, run, "update:3", "theUpdate", client.WorkflowUpdateStageAccepted, sleep, 1)
	if err != nil {
		return nil, err
	}
	var appErr *temporal.ApplicationError
	if err := h3.Get(ctx, nil); !errors.As(err, &appErr) {
		return nil, fmt.Errorf("failing update: want an application error, got %T %v", err, err)
	}
	h4, err := update(ctx, r, run, "update:4", "theUpdate", client.WorkflowUpdateStageAccepted, sleep, 0)
	if err != nil {
		return nil, err
	}
	short, cancel := context.WithTimeout(ctx, sleep/10)
	defer cancel()
	var deadline *serviceerror.DeadlineExceeded
	if err := h4.Get(short, nil); !errors.As(err, &deadline) {
		return nil, fmt.Errorf("in-flight update with a short deadline: want DeadlineExceeded, got %T %v", err, err)
	}
	return shutdownAndCheck(ctx, r, run, "shutdown_signal")
}

func executeUpdateBasic(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := startForUpdate(ctx, r)
	if err != nil {
		return nil, err
	}
	h, err := update(ctx, r, run, "", "my-update-name", client.WorkflowUpdateStageCompleted, "my-update-arg")
	if err != nil {
		return nil, err
	}
	var res string
	if err := h.Get(ctx, &res); err != nil {
		return nil, err
	}
	if err := expectEqual("update result", "update-result:my-update-arg", res); err != nil {
		return nil, err
	}
	return run, requireNoUpdateRejected(ctx, r)
}

func checkUpdateBasicAsync(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	if err := checkUpdateSupport(ctx, r); err != nil {
		return err
	}
	bad, err := update(ctx, r, run, "", "my_update", client.WorkflowUpdateStageAccepted, "bad-update-arg")
	if err == nil {
		err = bad.Get(ctx, nil)
	}
	if err == nil {
		return errors.New("expected the update to be rejected by its validator")
	}
	good, err := update(ctx, r, run, "", "my_update", client.WorkflowUpdateStageAccepted, "update-arg")
	if err != nil {
		return err
	}
	var res string
	if err := good.Get(ctx, &res); err != nil {
		return err
	}
	if err := expectEqual("update result", "update-result", res); err != nil {
		return err
	}
	if err := run.Get(ctx, &res); err != nil {
		return err
	}
	return expectEqual("run result", "update-arg", res)
}

func executeUpdateDedup(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := startForUpdate(ctx, r)
	if err != nil {
		return nil, err
	}
	var hs []client.WorkflowUpdateHandle
	for i := 0; i < 2; i++ {
		h, err := update(ctx, r, run, "reused_update_id", "incrementCount", client.WorkflowUpdateStageAccepted)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		var res int
		if err := h.Get(ctx, &res); err != nil {
			return nil, err
		}
		if err := expectEqual("update result", 1, res); err != nil {
			return nil, err
		}
	}
	if _, err := shutdownAndCheck(ctx, r, run, "shutdown_signal"); err != nil {
		return nil, err
	}
	h, err := r.History(ctx, run.GetID(), "")
	if err != nil {
		return nil, err
	}
	n := len(eventsOfType(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED))
	return run, expectEqual("completed updates in history", 1, n)
}

func executeUpdateNonDurableReject(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := startForUpdate(ctx, r)
	if err != nil {
		return nil, err
	}
	add := func(v int) error {
		h, err := update(ctx, r, run, "", "updateActivity", client.WorkflowUpdateStageCompleted, v)
		if err != nil {
			return err
		}
		var res int
		return h.Get(ctx, &res)
	}
	if add(-1) == nil {
		return nil, errors.New("expected negative value to be rejected")
	}
	for i := 0; i < 5; i++ {
		if err := add(2); err != nil {
			return nil, fmt.Errorf("expected non-negative value to be accepted: %w", err)
		}
		if add(-1) == nil {
			return nil, errors.New("expected negative value to be rejected")
		}
	}
	return shutdownAndCheck(ctx, r, run, "shutdown_signal")
}

const updatePanicMsg = "fear not, dear examiner of logs, for this panic was intentional"

func executeUpdateTaskFailure(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := startForUpdate(ctx, r)
	if err != nil {
		return nil, err
	}
	h, err := update(ctx, r, run, "", "panic_from_validate", client.WorkflowUpdateStageCompleted)
	if err != nil {
		return nil, err
	}
	err = h.Get(ctx, nil)
	var panicErr *temporal.PanicError
	if !errors.As(err, &panicErr) || !strings.Contains(err.Error(), updatePanicMsg) {
		return nil, fmt.Errorf("panicking validator: want a PanicError with the panic message, got %T %v", err, err)
	}
	if _, err := update(ctx, r, run, "", "panic_from_exec", client.WorkflowUpdateStageCompleted); err != nil {
		return nil, fmt.Errorf("update whose handler panics once: %w", err)
	}
	if err := r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown!", nil); err != nil {
		return nil, err
	}
	if err := run.Get(ctx, nil); err != nil {
		return nil, err
	}
	return run, requireNoUpdateRejected(ctx, r)
}

// The validator fails when called twice in one process; the harness's replay check replays the
// history twice in one process, so an SDK that validates during replay fails it.
func executeUpdateValidationReplay(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := startForUpdate(ctx, r)
	if err != nil {
		return nil, err
	}
	h, err := update(ctx, r, run, "", "doSomeStuff", client.WorkflowUpdateStageCompleted)
	if err != nil {
		return nil, err
	}
	if err := h.Get(ctx, nil); err != nil {
		return nil, err
	}
	return run, r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown_signal", nil)
}

// Upstream blocks the update's activity on a latch in the worker process, stops the worker,
// opens the latch and restarts the worker. Here the activity returns at once and the proxy holds
// its completion (the latch): the worker is stopped while the completion is held, the completion
// is then delivered (detached from the stopped worker's call), and a new worker must finish the
// update from history.
func executeUpdateWorkerRestart(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	if err := checkUpdateSupport(ctx, r); err != nil {
		return nil, err
	}
	started := make(chan struct{})
	latch := make(chan struct{})
	var once sync.Once
	r.Proxy.SetHooks(ProxyHooks{
		Before: func(hctx context.Context, method string, _ []byte) error {
			if !strings.HasSuffix(method, "/RespondActivityTaskCompleted") {
				return nil
			}
			once.Do(func() { close(started) })
			select {
			case <-latch:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		Detach: func(method string) bool { return strings.HasSuffix(method, "/RespondActivityTaskCompleted") },
	})
	run, err := r.ExecuteDefault(ctx)
	if err != nil {
		return nil, err
	}
	type outcome struct {
		res int
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		h, err := update(ctx, r, run, "", "fetchAndAdd", client.WorkflowUpdateStageCompleted, 1)
		var res int
		if err == nil {
			err = h.Get(ctx, &res)
		}
		done <- outcome{res, err}
	}()
	select {
	case <-started:
	case <-ctx.Done():
		return nil, errors.New("the update's activity never completed")
	}
	stopped := make(chan error, 1)
	go func() {
		_, err := r.StopWorker()
		stopped <- err
	}()
	time.Sleep(time.Second)
	close(latch)
	if err := <-stopped; err != nil {
		return nil, err
	}
	if err := r.StartWorker(ctx); err != nil {
		return nil, err
	}
	o := <-done
	if o.err != nil {
		return nil, o.err
	}
	if err := expectEqual("update result", 0, o.res); err != nil {
		return nil, err
	}
	return run, r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown_signal", nil)
}

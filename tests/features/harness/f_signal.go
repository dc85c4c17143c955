// features/signal/*: starts, signals and checks of the signal features.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

func init() {
	register(
		&Feature{
			Name: "signal/basic", Issue: 10, Source: "py",
			ExpectRunResult: "arg",
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				run, err := r.ExecuteDefault(ctx)
				if err != nil {
					return nil, err
				}
				return run, r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "my_signal", "arg")
			},
		},
		&Feature{
			Name: "signal/activities", Issue: 10, Source: "ts", Workflow: "workflow",
			ExpectRunResult: 30,
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				run, err := r.ExecuteDefault(ctx)
				if err != nil {
					return nil, err
				}
				return run, r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "mySignal", nil)
			},
		},
		&Feature{
			Name: "signal/prevent_close", Issue: 10, Source: "php", Proxy: true,
			Execute: executePreventClose,
		},
		&Feature{
			Name: "signal/external", Issue: 10, Source: "go",
			ExpectRunResult: "Signaled!",
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				run, err := r.ExecuteDefault(ctx)
				if err != nil {
					return nil, err
				}
				return run, r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(),
					"external_signal_channel", "Signaled!")
			},
		},
	)
}

// preventCloseResult is the PHP workflow's [values, replaying-at-start] result.
func preventCloseResult(ctx context.Context, run client.WorkflowRun) ([]int, bool, error) {
	var raw []any
	if err := run.Get(ctx, &raw); err != nil {
		return nil, false, err
	}
	if len(raw) != 2 {
		return nil, false, fmt.Errorf("want [values, replaying], got %v", raw)
	}
	rawVals, ok1 := raw[0].([]any)
	replay, ok2 := raw[1].(bool)
	if !ok1 || !ok2 {
		return nil, false, fmt.Errorf("want [values, replaying], got %#v", raw)
	}
	vals := make([]int, 0, len(rawVals))
	for _, v := range rawVals {
		f, ok := v.(float64)
		if !ok {
			return nil, false, fmt.Errorf("value %#v is not a number", v)
		}
		vals = append(vals, int(f))
	}
	return vals, replay, nil
}

// The PHP feature's two checks. The first: a signal after the workflow completed is refused and
// the workflow ran once, not replayed (PHP sleeps 1.5 s; we wait for the result instead). The
// second: a signal that arrives while the completing workflow task is in flight must be processed
// before the workflow closes (PHP hopes a 300 ms pause in the workflow lets it arrive in time; the
// proxy holds the completion until the signal is durable, so the race always happens).
func executePreventClose(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run1, err := r.ExecuteDefault(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.Client.SignalWorkflow(ctx, run1.GetID(), run1.GetRunID(), "add", 1); err != nil {
		return nil, err
	}
	vals, replay, err := preventCloseResult(ctx, run1)
	if err != nil {
		return nil, fmt.Errorf("signal out of execution: %w", err)
	}
	err = r.Client.SignalWorkflow(ctx, run1.GetID(), run1.GetRunID(), "add", 2)
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return nil, fmt.Errorf("signal out of execution: signal to a completed workflow: want NotFound, got %v", err)
	}
	if err := firstErr(expectEqual("signal out of execution: values", []int{1}, vals),
		expect(!replay, "signal out of execution: the workflow was replayed")); err != nil {
		return nil, err
	}

	o := r.StartOptions()
	var once sync.Once
	held := make(chan error, 1)
	rejected := make(chan error, 1)
	// Set before the start, so the worker's first completion cannot slip past the hook.
	r.Proxy.SetHooks(ProxyHooks{
		Before: func(hctx context.Context, method string, req []byte) error {
			if !completes(method, req, enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION) {
				return nil
			}
			once.Do(func() {
				held <- r.Client.SignalWorkflow(hctx, o.ID, "", "add", 2)
			})
			return nil
		},
		After: func(method string, req []byte, _ []byte, err error) {
			if completes(method, req, enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION) {
				select {
				case rejected <- err:
				default:
				}
			}
		},
	})
	run2, err := r.Client.ExecuteWorkflow(ctx, o, r.Feature.workflowType())
	if err != nil {
		return nil, err
	}
	if err := r.Client.SignalWorkflow(ctx, run2.GetID(), run2.GetRunID(), "add", 1); err != nil {
		return nil, err
	}
	vals, _, err = preventCloseResult(ctx, run2)
	if err != nil {
		return nil, fmt.Errorf("prevent close: %w", err)
	}
	if err := <-held; err != nil {
		return nil, fmt.Errorf("prevent close: signal while the completion was held: %w", err)
	}
	if err := <-rejected; err == nil {
		return nil, errors.New("prevent close: the server accepted a completion with a signal pending")
	}
	if err := expectEqual("prevent close: values (both signals processed)", []int{1, 2}, vals); err != nil {
		return nil, err
	}
	h, err := r.History(ctx, run2.GetID(), run2.GetRunID())
	if err != nil {
		return nil, err
	}
	if err := expectUnhandledCommandRetry(h); err != nil {
		return nil, fmt.Errorf("prevent close: %w", err)
	}
	return run2, nil
}

// completes says whether a proxied call is a workflow task completion carrying a command of type t.
func completes(method string, req []byte, t enumspb.CommandType) bool {
	if !strings.HasSuffix(method, "/RespondWorkflowTaskCompleted") {
		return false
	}
	var m workflowservice.RespondWorkflowTaskCompletedRequest
	if proto.Unmarshal(req, &m) != nil {
		return false
	}
	return hasCommand(m.GetCommands(), t)
}

// expectUnhandledCommandRetry checks that a workflow task was failed because a signal arrived
// while it tried to close the run, which makes the server schedule a new one.
func expectUnhandledCommandRetry(h *historypb.History) error {
	for _, ev := range eventsOfType(h, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED) {
		if ev.GetWorkflowTaskFailedEventAttributes().GetCause() ==
			enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
			return nil
		}
	}
	return errors.New("no workflow task failed with UNHANDLED_COMMAND: the closing task was not retried")
}

func hasCommand(cmds []*commandpb.Command, t enumspb.CommandType) bool {
	for _, c := range cmds {
		if c.GetCommandType() == t {
			return true
		}
	}
	return false
}

// Reference implementations of features/child_workflow/* and the signal features that need a
// second workflow.
package main

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

func init() {
	register("child_workflow/result", &feature{workflows: []namedWorkflow{
		{"Workflow", childResultParent}, {"ChildWorkflow", echoChild}}})
	register("child_workflow/signal", &feature{workflows: []namedWorkflow{
		{"Workflow", childSignalParent}, {"ChildWorkflow", unblockChild}}})
	register("signal/child_workflow", &feature{workflows: []namedWorkflow{
		{"Workflow", signalChildParent}, {"ChildWorkflow", mySignalChild}}})
	register("child_workflow/start", &feature{workflows: []namedWorkflow{
		{"Workflow", childStartParent}, {"ChildWorkflow", echoChild}}})
	register("child_workflow/handle", &feature{workflows: []namedWorkflow{
		{"Workflow", childHandleParent}, {"ChildWorkflow", unblockChild}}})
	register("child_workflow/retry", &feature{workflows: []namedWorkflow{
		{"Workflow", childRetryParent}, {"ChildWorkflow", failingChild}}})
	register("child_workflow/throws_on_execute", &feature{workflows: []namedWorkflow{
		{"MainWorkflow", childThrowsParent}, {"ChildWorkflow", throwingChild}}})
	register("child_workflow/throws_on_start", &feature{workflows: []namedWorkflow{
		{"Workflow", childStartTwiceParent}, {"ChildWorkflow", echoChild}}})
	register("child_workflow/throws_on_termination", &feature{workflows: []namedWorkflow{
		{"Workflow", childTerminatedParent}, {"ChildWorkflow", finishChild}}})
	register("child_workflow/throws_on_timeout", &feature{workflows: []namedWorkflow{
		{"Workflow", childTimeoutParent}, {"ChildWorkflow", finishChild}}})
	for _, mode := range []string{"try_cancel", "abandon", "wait_completed", "wait_requested"} {
		m := mode
		register("child_workflow/cancel_"+m, &feature{workflows: []namedWorkflow{
			{"Workflow", func(ctx workflow.Context) (string, error) { return childCancelParent(ctx, m) }},
			{"ChildWorkflow", func(ctx workflow.Context) (string, error) { return cancellableChild(ctx, m) }}}})
	}
	register("signal/signal_with_start", &feature{workflows: []namedWorkflow{{"Workflow", addSignalsWorkflow}}})
	register("signal/workflow_to_workflow", &feature{workflows: []namedWorkflow{
		{"Workflow", senderWorkflow}, {"ReceiverWorkflow", receiverWorkflow}}})
}

func childOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:               workflow.GetInfo(ctx).WorkflowExecution.ID + "-child",
		WorkflowExecutionTimeout: 10 * time.Minute,
		WorkflowTaskTimeout:      time.Minute,
	})
}

func echoChild(_ workflow.Context, s string) (string, error) { return s, nil }

func childResultParent(ctx workflow.Context) (string, error) {
	var res string
	err := workflow.ExecuteChildWorkflow(childOptions(ctx), "ChildWorkflow", "test").Get(ctx, &res)
	return res, err
}

func unblockChild(ctx workflow.Context) (string, error) {
	var msg string
	workflow.GetSignalChannel(ctx, "unblock-signal").Receive(ctx, &msg)
	return msg, nil
}

func childSignalParent(ctx workflow.Context) (string, error) {
	fut := workflow.ExecuteChildWorkflow(childOptions(ctx), "ChildWorkflow")
	if err := fut.SignalChildWorkflow(ctx, "unblock-signal", "unblock").Get(ctx, nil); err != nil {
		return "", err
	}
	var res string
	err := fut.Get(ctx, &res)
	return res, err
}

func mySignalChild(ctx workflow.Context, input string) (string, error) {
	var state string
	workflow.GetSignalChannel(ctx, "my_signal").Receive(ctx, &state)
	return input + " " + state, nil
}

func signalChildParent(ctx workflow.Context) (string, error) {
	fut := workflow.ExecuteChildWorkflow(childOptions(ctx), "ChildWorkflow", "child-wf-arg")
	if err := fut.SignalChildWorkflow(ctx, "my_signal", "signal-arg").Get(ctx, nil); err != nil {
		return "", err
	}
	var res string
	err := fut.Get(ctx, &res)
	return res, err
}

type childInfo struct {
	WorkflowID          string `json:"workflowId"`
	FirstExecutionRunID string `json:"firstExecutionRunId"`
	Result              string `json:"result,omitempty"`
}

func childStartParent(ctx workflow.Context) (childInfo, error) {
	ctx = workflow.WithChildOptions(childOptions(ctx), workflow.ChildWorkflowOptions{
		WorkflowID:        workflow.GetInfo(ctx).WorkflowExecution.ID + "-child",
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	var we workflow.Execution
	err := workflow.ExecuteChildWorkflow(ctx, "ChildWorkflow", "start").GetChildWorkflowExecution().Get(ctx, &we)
	return childInfo{WorkflowID: we.ID, FirstExecutionRunID: we.RunID}, err
}

func childHandleParent(ctx workflow.Context) (childInfo, error) {
	fut := workflow.ExecuteChildWorkflow(childOptions(ctx), "ChildWorkflow")
	var we workflow.Execution
	if err := fut.GetChildWorkflowExecution().Get(ctx, &we); err != nil {
		return childInfo{}, err
	}
	if err := fut.SignalChildWorkflow(ctx, "unblock-signal", "handle").Get(ctx, nil); err != nil {
		return childInfo{}, err
	}
	info := childInfo{WorkflowID: we.ID, FirstExecutionRunID: we.RunID}
	err := fut.Get(ctx, &info.Result)
	return info, err
}

func failingChild(ctx workflow.Context) error {
	return fmt.Errorf("child attempt %d failed", workflow.GetInfo(ctx).Attempt)
}

func childRetryParent(ctx workflow.Context) error {
	ctx = workflow.WithChildOptions(childOptions(ctx), workflow.ChildWorkflowOptions{
		WorkflowID:  workflow.GetInfo(ctx).WorkflowExecution.ID + "-child",
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Millisecond, BackoffCoefficient: 1, MaximumAttempts: 3},
	})
	return workflow.ExecuteChildWorkflow(ctx, "ChildWorkflow").Get(ctx, nil)
}

func throwingChild(workflow.Context) error {
	return temporal.NewNonRetryableApplicationError("Test message", "TestError", nil, map[string]string{"foo": "bar"})
}

func childThrowsParent(ctx workflow.Context) error {
	return workflow.ExecuteChildWorkflow(childOptions(ctx), "ChildWorkflow").Get(ctx, nil)
}

// The first child completes; a second start with the same id and REJECT_DUPLICATE must fail.
func childStartTwiceParent(ctx workflow.Context) (string, error) {
	if err := workflow.ExecuteChildWorkflow(childOptions(ctx), "ChildWorkflow", "first").Get(ctx, nil); err != nil {
		return "", err
	}
	ctx2 := workflow.WithChildOptions(childOptions(ctx), workflow.ChildWorkflowOptions{
		WorkflowID:            workflow.GetInfo(ctx).WorkflowExecution.ID + "-child",
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	err := workflow.ExecuteChildWorkflow(ctx2, "ChildWorkflow", "second").GetChildWorkflowExecution().Get(ctx, nil)
	var already *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &already) {
		return "second start: already started", nil
	}
	return fmt.Sprintf("second start: %v", err), nil
}

// finishChild waits for the signal "finish" (a blocked child).
func finishChild(ctx workflow.Context) (string, error) {
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	return "finished", nil
}

func childTerminatedParent(ctx workflow.Context) (string, error) {
	var info childInfo
	if err := workflow.SetQueryHandler(ctx, "child", func() (childInfo, error) { return info, nil }); err != nil {
		return "", err
	}
	fut := workflow.ExecuteChildWorkflow(childOptions(ctx), "ChildWorkflow")
	var we workflow.Execution
	if err := fut.GetChildWorkflowExecution().Get(ctx, &we); err != nil {
		return "", err
	}
	info = childInfo{WorkflowID: we.ID, FirstExecutionRunID: we.RunID}
	err := fut.Get(ctx, nil)
	var term *temporal.TerminatedError
	if errors.As(err, &term) {
		return "terminated", nil
	}
	return fmt.Sprintf("child result error: %v", err), nil
}

func childTimeoutParent(ctx workflow.Context) (string, error) {
	ctx = workflow.WithChildOptions(childOptions(ctx), workflow.ChildWorkflowOptions{
		WorkflowID:               workflow.GetInfo(ctx).WorkflowExecution.ID + "-child",
		WorkflowExecutionTimeout: time.Millisecond,
		RetryPolicy:              &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	err := workflow.ExecuteChildWorkflow(ctx, "ChildWorkflow").Get(ctx, nil)
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return "timeout", nil
	}
	return fmt.Sprintf("child result error: %v", err), nil
}

// childCancelParent: the Go SDK's child cancellation waits for the child to close (WAIT_COMPLETED
// with WaitForCancellation, and in effect without it too), so the other modes are done by hand:
// ABANDON by not cancelling and treating the child as cancelled, TRY_CANCEL by requesting the
// cancellation as an external workflow without waiting, WAIT_REQUESTED by waiting for that
// request to be recorded.
func childCancelParent(ctx workflow.Context, mode string) (string, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID + "-child"
	cctx, cancel := workflow.WithCancel(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:          id,
		ParentClosePolicy:   enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WaitForCancellation: mode == "wait_completed",
	}))
	fut := workflow.ExecuteChildWorkflow(cctx, "ChildWorkflow")
	if err := fut.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return "", err
	}
	var res string
	var err error
	switch mode {
	case "abandon":
		err = temporal.NewCanceledError()
	case "try_cancel":
		workflow.RequestCancelExternalWorkflow(ctx, id, "")
		err = temporal.NewCanceledError()
		// Resolved at once: mark it with a timer in this task, then stay open (a parent that
		// closes drops its pending cancel request) until the harness says the child is cancelled.
		if serr := workflow.Sleep(ctx, time.Millisecond); serr != nil {
			return "", serr
		}
		workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	case "wait_requested":
		if err = workflow.RequestCancelExternalWorkflow(ctx, id, "").Get(ctx, nil); err == nil {
			err = temporal.NewCanceledError()
		}
	default:
		cancel()
		err = fut.Get(ctx, &res)
	}
	if temporal.IsCanceledError(err) {
		return "cancelled", nil
	}
	return res, err
}

// cancellableChild waits for "finish" or the cancellation; in wait_completed it ignores the
// cancellation and completes normally.
func cancellableChild(ctx workflow.Context, mode string) (string, error) {
	finished := false
	workflow.Go(ctx, func(ctx workflow.Context) {
		workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
		finished = true
	})
	err := workflow.Await(ctx, func() bool { return finished })
	if err == nil {
		return "finished", nil
	}
	if mode == "wait_completed" {
		return "child ignored cancellation", nil
	}
	return "", err
}

func addSignalsWorkflow(ctx workflow.Context, start int) (int, error) {
	total := start
	ch := workflow.GetSignalChannel(ctx, "add")
	for i := 0; i < 2; i++ {
		var v int
		ch.Receive(ctx, &v)
		total += v
	}
	return total, nil
}

func senderWorkflow(ctx workflow.Context, receiverID string) error {
	return workflow.SignalExternalWorkflow(ctx, receiverID, "", "my_signal", "hello from sender").Get(ctx, nil)
}

func receiverWorkflow(ctx workflow.Context) (string, error) {
	var s string
	workflow.GetSignalChannel(ctx, "my_signal").Receive(ctx, &s)
	return s, nil
}

// features/child_workflow/* and the signal features that need a second workflow
// (signal/child_workflow, signal/signal_with_start, signal/workflow_to_workflow). Issue 11: the
// C SDK has no child workflow or external signal API yet.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func init() {
	register(
		&Feature{Name: "child_workflow/result", Issue: 11, Source: "go", ExpectRunResult: "test"},
		&Feature{Name: "child_workflow/signal", Issue: 11, Source: "go", ExpectRunResult: "unblock"},
		&Feature{Name: "signal/child_workflow", Issue: 11, Source: "py", ExpectRunResult: "child-wf-arg signal-arg"},
		&Feature{Name: "child_workflow/start", Issue: 11, Source: "readme", CheckResult: checkChildStart},
		&Feature{Name: "child_workflow/handle", Issue: 11, Source: "readme", CheckResult: checkChildHandle},
		&Feature{Name: "child_workflow/retry", Issue: 11, Source: "readme", CheckResult: checkChildRetry},
		&Feature{
			Name: "child_workflow/throws_on_execute", Issue: 11, Source: "php", Workflow: "MainWorkflow",
			CheckResult: checkChildThrowsOnExecute,
		},
		&Feature{
			Name: "child_workflow/throws_on_start", Issue: 11, Source: "readme",
			ExpectRunResult: "second start: already started",
			CheckHistory: withReplay(func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
				return expectParentEvent(ctx, r, run, "StartChildWorkflowExecutionFailed(WORKFLOW_ALREADY_EXISTS)",
					func(ev *historypb.HistoryEvent) bool {
						return ev.GetStartChildWorkflowExecutionFailedEventAttributes().GetCause() ==
							enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS
					})
			}),
		},
		&Feature{
			Name: "child_workflow/throws_on_termination", Issue: 11, Source: "readme",
			Execute: executeChildTermination, ExpectRunResult: "terminated",
		},
		&Feature{
			Name: "child_workflow/throws_on_timeout", Issue: 11, Source: "readme", ExpectRunResult: "timeout",
			CheckHistory: withReplay(func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
				return expectParentEvent(ctx, r, run, "ChildWorkflowExecutionTimedOut", func(ev *historypb.HistoryEvent) bool {
					return ev.GetEventType() == enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT
				})
			}),
		},
		childCancelFeature("child_workflow/cancel_try_cancel", "php"),
		childCancelFeature("child_workflow/cancel_abandon", "php"),
		childCancelFeature("child_workflow/cancel_wait_completed", "readme"),
		childCancelFeature("child_workflow/cancel_wait_requested", "readme"),
		&Feature{
			Name: "signal/signal_with_start", Issue: 11, Source: "readme",
			Execute: executeSignalWithStart, ExpectRunResult: 111,
		},
		&Feature{
			Name: "signal/workflow_to_workflow", Issue: 11, Source: "readme",
			Execute: executeWorkflowToWorkflow, CheckResult: checkWorkflowToWorkflow,
		},
	)
}

// waitWorkflowExists waits until a workflow id is known to the server (a child the parent is
// still starting).
func waitWorkflowExists(ctx context.Context, r *Runner, id string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := r.Client.DescribeWorkflowExecution(ctx, id, "")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("workflow %s never started: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// childID is the workflow id the parents of these features give their child.
func childID(parentID string) string { return parentID + "-child" }

type childInfo struct {
	WorkflowID          string `json:"workflowId"`
	FirstExecutionRunID string `json:"firstExecutionRunId"`
	Result              string `json:"result,omitempty"`
}

func expectParentEvent(ctx context.Context, r *Runner, run client.WorkflowRun, what string,
	match func(*historypb.HistoryEvent) bool) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	for _, ev := range h.GetEvents() {
		if match(ev) {
			return nil
		}
	}
	return fmt.Errorf("no %s event in the parent's history", what)
}

// child_workflow/start: the parent returns the child's id and first run id right after the start
// (the child is abandoned on the parent's close); the harness reads the child's result.
func checkChildStart(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	var info childInfo
	if err := run.Get(ctx, &info); err != nil {
		return err
	}
	if err := expectEqual("child workflow id", childID(run.GetID()), info.WorkflowID); err != nil {
		return err
	}
	var res string
	if err := r.Client.GetWorkflow(ctx, info.WorkflowID, info.FirstExecutionRunID).Get(ctx, &res); err != nil {
		return fmt.Errorf("child result: %w", err)
	}
	if err := expectEqual("child result", "start", res); err != nil {
		return err
	}
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	i := indexOf(h, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, 0)
	return firstErr(
		expect(i > 0 && h.Events[i-1].GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
			"StartChildWorkflowExecutionInitiated does not follow a WorkflowTaskCompleted"),
		expect(indexOf(h, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, i) > i,
			"no ChildWorkflowExecutionStarted after the initiated event"))
}

// child_workflow/handle: the parent signals its child through the handle and returns the handle's
// workflow id and first run id with the child's result.
func checkChildHandle(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	var info childInfo
	if err := run.Get(ctx, &info); err != nil {
		return err
	}
	d, err := r.Client.DescribeWorkflowExecution(ctx, childID(run.GetID()), "")
	if err != nil {
		return fmt.Errorf("describing the child: %w", err)
	}
	return firstErr(
		expectEqual("handle workflow id", childID(run.GetID()), info.WorkflowID),
		expectEqual("handle first execution run id", d.GetWorkflowExecutionInfo().GetExecution().GetRunId(),
			info.FirstExecutionRunID),
		expectEqual("child result through the handle", "handle", info.Result))
}

// child_workflow/retry: a child that always fails, retried with maximum attempts 3, ran 3 times
// and its last failure reaches the parent.
func checkChildRetry(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	err := run.Get(ctx, nil)
	var childErr *temporal.ChildWorkflowExecutionError
	var appErr *temporal.ApplicationError
	if !errors.As(err, &childErr) || !errors.As(err, &appErr) {
		return fmt.Errorf("want a child workflow error caused by an application error, got %v", err)
	}
	if err := expectEqual("child failure", "child attempt 3 failed", appErr.Message()); err != nil {
		return err
	}
	query := fmt.Sprintf("WorkflowId = '%s'", childID(run.GetID()))
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := r.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: r.Namespace, Query: query,
		})
		if err != nil {
			return err
		}
		if n := len(resp.GetExecutions()); n == 3 || time.Now().After(deadline) {
			return expectEqual("child runs", 3, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// child_workflow/throws_on_execute (PHP): MainWorkflow fails with the child's failure:
// ChildWorkflowFailure(ChildWorkflow) caused by ApplicationFailure("Test message", "TestError",
// non-retryable, details [{"foo":"bar"}]).
func checkChildThrowsOnExecute(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	err := run.Get(ctx, nil)
	var wfErr *temporal.WorkflowExecutionError
	var childErr *temporal.ChildWorkflowExecutionError
	var appErr *temporal.ApplicationError
	if !errors.As(err, &wfErr) || !errors.As(err, &childErr) || !errors.As(err, &appErr) {
		return fmt.Errorf("want workflow <- child workflow <- application error, got %v", err)
	}
	var details map[string]string
	if derr := appErr.Details(&details); derr != nil {
		return fmt.Errorf("failure details: %w", derr)
	}
	return firstErr(
		expect(strings.Contains(wfErr.Error(), "type: MainWorkflow"), "workflow error: want type MainWorkflow in %q", wfErr.Error()),
		expect(strings.Contains(childErr.Error(), "type: ChildWorkflow"), "child error: want type ChildWorkflow in %q", childErr.Error()),
		expectEqual("child failure message", "Test message", appErr.Message()),
		expectEqual("child failure type", "TestError", appErr.Type()),
		expect(appErr.NonRetryable(), "child failure should be non-retryable"),
		expectEqual("child failure details", map[string]string{"foo": "bar"}, details))
}

// child_workflow/throws_on_termination: the parent answers the query "child" with the child's
// execution once started; the harness terminates the child; the parent sees the termination.
func executeChildTermination(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := r.ExecuteDefault(ctx)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := r.Client.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), "child")
		var info childInfo
		if err == nil && v.Get(&info) == nil && info.WorkflowID != "" {
			return run, r.Client.TerminateWorkflow(ctx, info.WorkflowID, info.FirstExecutionRunID, "feature")
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the parent never reported its started child (last: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The four child cancellation modes. The parent starts its child (parent close policy ABANDON,
// so the child outlives it), waits until it started, cancels it and returns what the child's
// future gave: "cancelled", or the child's result when the mode waits for it.
func childCancelFeature(name, source string) *Feature {
	mode := name[len("child_workflow/cancel_"):]
	want := "cancelled"
	if mode == "wait_completed" {
		want = "child ignored cancellation"
	}
	f := &Feature{
		Name: name, Issue: 11, Source: source, ExpectRunResult: want,
		CheckHistory: withReplay(func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
			return checkChildCancel(ctx, r, run, mode)
		}),
	}
	if mode == "try_cancel" {
		f.Execute = executeChildTryCancel
	}
	return f
}

// A try-cancel request is only delivered while the parent is open, so the parent waits for the
// signal "finish", which the harness sends once the child has been cancelled. To show the
// child's future resolved at once, the parent starts a 1 ms timer right after it resolved: the
// timer must be scheduled by the task that requested the cancellation.
func executeChildTryCancel(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := r.ExecuteDefault(ctx)
	if err != nil {
		return nil, err
	}
	if err := waitWorkflowExists(ctx, r, childID(run.GetID())); err != nil {
		return nil, err
	}
	var canceled *temporal.CanceledError
	if err := r.Client.GetWorkflow(ctx, childID(run.GetID()), "").Get(ctx, nil); !errors.As(err, &canceled) {
		return nil, fmt.Errorf("child: want cancelled, got %v", err)
	}
	return run, r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "finish", nil)
}

func checkChildCancel(ctx context.Context, r *Runner, run client.WorkflowRun, mode string) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	initiated := indexOf(h, enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, 0)
	requested := indexOf(h, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, 0)
	closed := indexOf(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, 0)
	childDone := indexOf(h, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, 0)
	closingTask := func() int64 {
		return h.Events[closed].GetWorkflowExecutionCompletedEventAttributes().GetWorkflowTaskCompletedEventId()
	}
	timer := indexOf(h, enumspb.EVENT_TYPE_TIMER_STARTED, 0)
	child := r.Client.GetWorkflow(ctx, childID(run.GetID()), "")
	switch mode {
	case "abandon":
		if err := expect(initiated < 0, "abandon mode sent a cancel request for the child"); err != nil {
			return err
		}
		d, err := r.Client.DescribeWorkflowExecution(ctx, child.GetID(), "")
		if err != nil {
			return err
		}
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return fmt.Errorf("abandoned child: want running, got %s", st)
		}
		if err := r.Client.SignalWorkflow(ctx, child.GetID(), "", "finish", nil); err != nil {
			return err
		}
		var res string
		if err := child.Get(ctx, &res); err != nil {
			return fmt.Errorf("abandoned child: %w", err)
		}
		return expectEqual("abandoned child result (no cancellation seen)", "finished", res)
	case "try_cancel":
		if err := expect(initiated >= 0, "no cancel request for the child"); err != nil {
			return err
		}
		if err := expect(timer >= 0 && h.Events[initiated].GetRequestCancelExternalWorkflowExecutionInitiatedEventAttributes().
			GetWorkflowTaskCompletedEventId() == h.Events[timer].GetTimerStartedEventAttributes().GetWorkflowTaskCompletedEventId(),
			"try-cancel: the child's future did not resolve in the task that cancelled the child"); err != nil {
			return err
		}
	case "wait_requested":
		if err := expect(requested >= 0, "no ExternalWorkflowExecutionCancelRequested event"); err != nil {
			return err
		}
		if err := expect(int(closingTask()) > int(h.Events[requested].GetEventId()),
			"wait-requested: the parent completed before the server recorded the cancel request"); err != nil {
			return err
		}
	case "wait_completed":
		if err := expect(initiated >= 0 && childDone > initiated && closed > childDone,
			"wait-completed: the parent did not wait for the child to complete after the cancel request"); err != nil {
			return err
		}
		return nil
	}
	err = child.Get(ctx, nil)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		return fmt.Errorf("child: want cancelled, got %v", err)
	}
	return nil
}

// signal/signal_with_start: SignalWithStart on a new id starts the run with the signal as its
// first event after the start; a second one on the same id signals the running run. The workflow
// returns its input plus the values of the two "add" signals.
func executeSignalWithStart(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	o := r.StartOptions()
	run, err := r.Client.SignalWithStartWorkflow(ctx, o.ID, "add", 10, o, r.Feature.workflowType(), 1)
	if err != nil {
		return nil, err
	}
	run2, err := r.Client.SignalWithStartWorkflow(ctx, o.ID, "add", 100, o, r.Feature.workflowType(), 1000)
	if err != nil {
		return nil, err
	}
	if run2.GetRunID() != run.GetRunID() {
		return nil, fmt.Errorf("second signal-with-start started a new run %s (first %s)", run2.GetRunID(), run.GetRunID())
	}
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return nil, err
	}
	if len(h.Events) < 2 || h.Events[1].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
		return nil, errors.New("the signal is not the first event after the start")
	}
	return run, nil
}

// signal/workflow_to_workflow: "Workflow" signals "ReceiverWorkflow" (started first) with
// SignalExternalWorkflow; the receiver returns what it got.
func executeWorkflowToWorkflow(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	so := r.StartOptions()
	ro := so
	ro.ID += "-receiver"
	if _, err := r.Client.ExecuteWorkflow(ctx, ro, "ReceiverWorkflow"); err != nil {
		return nil, err
	}
	return r.Client.ExecuteWorkflow(ctx, so, r.Feature.workflowType(), ro.ID)
}

func checkWorkflowToWorkflow(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	if err := run.Get(ctx, nil); err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	var got string
	if err := r.Client.GetWorkflow(ctx, run.GetID()+"-receiver", "").Get(ctx, &got); err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	if err := expectEqual("receiver result", "hello from sender", got); err != nil {
		return err
	}
	return expectParentEvent(ctx, r, run, "ExternalWorkflowExecutionSignaled", func(ev *historypb.HistoryEvent) bool {
		return ev.GetEventType() == enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED
	})
}

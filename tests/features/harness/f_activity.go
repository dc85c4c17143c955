// features/activity/*: starts, interactions and checks of the activity features.
package main

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

func init() {
	register(
		&Feature{
			Name: "activity/basic_no_workflow_timeout", Issue: 10, Source: "go",
			StartOptions: func(o *client.StartWorkflowOptions) { o.WorkflowExecutionTimeout = 0 },
			CheckResult:  checkBasicNoWorkflowTimeout,
		},
		&Feature{
			Name: "activity/retry_on_error", Issue: 10, Source: "go",
			ExpectActivityError: "activity attempt 5 failed",
		},
		&Feature{Name: "activity/cancel_try_cancel", Issue: 10, Source: "go"},
		&Feature{
			Name: "activity/cancel_wait_cancel", Issue: 10, Source: "readme",
			ExpectRunResult: "cancelled",
			CheckHistory:    withReplay(checkWaitCancelHistory),
		},
		&Feature{
			Name: "activity/cancel_abandon", Issue: 10, Source: "readme",
			ExpectRunResult: "not cancelled",
			CheckHistory:    withReplay(checkAbandonHistory),
		},
		&Feature{
			Name: "activity/heartbeating", Issue: 10, Source: "readme",
			ExpectRunResult: "resumed from 3; second activity: heartbeat timeout",
			CheckHistory:    withReplay(checkHeartbeatingHistory),
		},
		&Feature{
			Name: "activity/running_concurrently", Issue: 10, Source: "readme",
			ExpectRunResult: []string{"act-0", "act-1", "act-2", "act-3", "act-4"},
			CheckHistory:    withReplay(checkConcurrentHistory),
		},
	)
}

// withReplay runs a feature's own history check, then the default replay check.
func withReplay(check func(ctx context.Context, r *Runner, run client.WorkflowRun) error) func(
	ctx context.Context, r *Runner, run client.WorkflowRun) error {
	return func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
		if err := check(ctx, r, run); err != nil {
			return err
		}
		return r.CheckHistoryDefault(ctx, run)
	}
}

// Upstream only requires success; the README says the workflow returns the activity's result,
// and the point of the feature is that no execution timeout was set on the start.
func checkBasicNoWorkflowTimeout(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	var res string
	if err := run.Get(ctx, &res); err != nil {
		return fmt.Errorf("expected success, got: %w", err)
	}
	if err := expectEqual("run result", "echo", res); err != nil {
		return err
	}
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	started := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	if d := started.GetWorkflowExecutionTimeout(); d != nil && d.AsDuration() != 0 {
		return fmt.Errorf("workflow execution timeout should be unset, is %s", d.AsDuration())
	}
	sched := eventsOfType(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
	if len(sched) != 2 {
		return fmt.Errorf("want 2 activities scheduled, got %d", len(sched))
	}
	for _, ev := range sched {
		if t := ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName(); t != "Echo" {
			return fmt.Errorf("activity type: want Echo, got %s", t)
		}
	}
	return nil
}

// Wait-cancel: the activity's cancel acknowledgement is in history after the cancel request, and
// the workflow closed only after it (its result, checked above, proves it saw the activity's
// signal, which the activity sent before acknowledging).
func checkWaitCancelHistory(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	req := indexOf(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, 0)
	done := indexOf(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED, 0)
	closed := indexOf(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, 0)
	return firstErr(
		expect(req >= 0, "no ActivityTaskCancelRequested event"),
		expect(done > req, "no ActivityTaskCanceled event after the cancel request"),
		expect(closed > done, "workflow completed before the activity acknowledged its cancellation"),
	)
}

// Abandon: nothing is sent to the server, so no cancel request is in history.
func checkAbandonHistory(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	return firstErr(
		expect(indexOf(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 0) >= 0, "no activity scheduled"),
		expect(indexOf(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, 0) < 0,
			"abandon mode sent an activity cancel request to the server"),
	)
}

// Heartbeating: the first activity succeeded on its second attempt (having resumed from the
// details its first attempt heartbeated), the second timed out on its heartbeat timeout.
func checkHeartbeatingHistory(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	started := eventsOfType(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	timedOut := eventsOfType(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
	if err := expect(len(started) == 2, "want 2 activity started events, got %d", len(started)); err != nil {
		return err
	}
	if err := expect(len(timedOut) == 1, "want 1 activity timed out event, got %d", len(timedOut)); err != nil {
		return err
	}
	tt := timedOut[0].GetActivityTaskTimedOutEventAttributes().GetFailure().GetTimeoutFailureInfo().GetTimeoutType()
	return firstErr(
		expect(started[0].GetActivityTaskStartedEventAttributes().GetAttempt() == 2,
			"first activity: want success on attempt 2, got attempt %d", started[0].GetActivityTaskStartedEventAttributes().GetAttempt()),
		expect(tt == enumspb.TIMEOUT_TYPE_HEARTBEAT, "second activity: want a heartbeat timeout, got %s", tt),
	)
}

// Running concurrently: every activity was scheduled by the same workflow task completion.
func checkConcurrentHistory(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	sched := eventsOfType(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
	if len(sched) != 5 {
		return fmt.Errorf("want 5 activities scheduled, got %d", len(sched))
	}
	wft := sched[0].GetActivityTaskScheduledEventAttributes().GetWorkflowTaskCompletedEventId()
	for _, ev := range sched[1:] {
		if ev.GetActivityTaskScheduledEventAttributes().GetWorkflowTaskCompletedEventId() != wft {
			return errors.New("activities were scheduled by different workflow tasks, not concurrently")
		}
	}
	return nil
}

// Reference implementations of features/activity/*.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

var retryDisabled = &temporal.RetryPolicy{MaximumAttempts: 1}

// appErrorf is the upstream harness's error for a failed in-workflow check.
func appErrorf(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), "SdkFeaturesError")
}

func init() {
	register("activity/basic_no_workflow_timeout", &feature{
		workflows:  []namedWorkflow{{"Workflow", basicNoTimeoutWorkflow}},
		activities: []namedActivity{{"Echo", echoActivity}},
	})
	register("activity/retry_on_error", &feature{
		workflows:  []namedWorkflow{{"Workflow", retryOnErrorWorkflow}},
		activities: []namedActivity{{"AlwaysFailActivity", alwaysFailActivity}},
		broken:     true,
	})
	register("activity/cancel_try_cancel", &feature{
		workflows:  []namedWorkflow{{"Workflow", tryCancelWorkflow}},
		activities: []namedActivity{{"CancellableActivity", cancellableActivity}},
	})
	register("activity/cancel_wait_cancel", &feature{
		workflows:  []namedWorkflow{{"Workflow", waitCancelWorkflow}},
		activities: []namedActivity{{"CancellableActivity", ackCancelActivity}},
		broken:     true,
	})
	register("activity/cancel_abandon", &feature{
		workflows:  []namedWorkflow{{"Workflow", abandonWorkflow}},
		activities: []namedActivity{{"CancellableActivity", abandonedActivity}},
		broken:     true,
	})
	register("activity/heartbeating", &feature{
		workflows: []namedWorkflow{{"Workflow", heartbeatingWorkflow}},
		activities: []namedActivity{{"HeartbeatingActivity", heartbeatingActivity},
			{"NoHeartbeatActivity", noHeartbeatActivity}},
	})
	register("activity/running_concurrently", &feature{
		workflows:  []namedWorkflow{{"Workflow", concurrentWorkflow}},
		activities: []namedActivity{{"Echo", echoArgActivity}},
	})
}

func basicNoTimeoutWorkflow(ctx workflow.Context) (string, error) {
	var result string
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	if err := workflow.ExecuteActivity(actx, "Echo").Get(ctx, &result); err != nil {
		return "", err
	}
	actx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ScheduleToCloseTimeout: time.Minute})
	err := workflow.ExecuteActivity(actx, "Echo").Get(ctx, &result)
	return result, err
}

func echoActivity(context.Context) (string, error) { return "echo", nil }

func retryOnErrorWorkflow(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Nanosecond, BackoffCoefficient: 1, MaximumAttempts: 5,
		},
	})
	return workflow.ExecuteActivity(actx, "AlwaysFailActivity").Get(ctx, nil)
}

func alwaysFailActivity(ctx context.Context) error {
	attempt := activity.GetInfo(ctx).Attempt
	if broken {
		attempt--
	}
	return fmt.Errorf("activity attempt %v failed", attempt)
}

// heartbeatUntilCancelled heartbeats every second for up to a minute; it reports "cancelled" when
// the cancellation arrives (through a heartbeat response) and "timeout" otherwise.
func heartbeatUntilCancelled(ctx context.Context) string {
	for i := 0; i < 60; i++ {
		select {
		case <-time.After(time.Second):
			activity.RecordHeartbeat(ctx)
		case <-ctx.Done():
			return "cancelled"
		}
	}
	return "timeout"
}

func signalOwnWorkflow(ctx context.Context, name string, arg any) error {
	we := activity.GetInfo(ctx).WorkflowExecution
	return featureClient.SignalWorkflow(context.Background(), we.ID, we.RunID, name, arg)
}

func cancelActivityOptions(ctx workflow.Context, wait bool) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: time.Minute,
		HeartbeatTimeout:       5 * time.Second,
		RetryPolicy:            retryDisabled,
		WaitForCancellation:    wait,
	})
}

func tryCancelWorkflow(ctx workflow.Context) error {
	actx, cancel := workflow.WithCancel(cancelActivityOptions(ctx, false))
	fut := workflow.ExecuteActivity(actx, "CancellableActivity")
	if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
		return err
	}
	cancel()
	if err := fut.Get(ctx, nil); !temporal.IsCanceledError(err) {
		return appErrorf("expected activity cancel error, got: %v", err)
	}
	var result string
	workflow.GetSignalChannel(ctx, "activity-result").Receive(ctx, &result)
	if result != "cancelled" {
		return appErrorf("expected activity to get cancelled, got: %v", result)
	}
	return nil
}

func cancellableActivity(ctx context.Context) error {
	return signalOwnWorkflow(ctx, "activity-result", heartbeatUntilCancelled(ctx))
}

// Wait-cancel: the workflow resolves the activity only once the activity acknowledged the
// cancellation, so the signal the activity sent before acknowledging is already delivered: the
// workflow returns what it holds at that moment without waiting for more.
func waitCancelWorkflow(ctx workflow.Context) (string, error) {
	actx, cancel := workflow.WithCancel(cancelActivityOptions(ctx, !broken))
	fut := workflow.ExecuteActivity(actx, "CancellableActivity")
	if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
		return "", err
	}
	cancel()
	if err := fut.Get(ctx, nil); !temporal.IsCanceledError(err) {
		return "", appErrorf("expected activity cancel error, got: %v", err)
	}
	var result string
	workflow.GetSignalChannel(ctx, "activity-result").ReceiveAsync(&result)
	return result, nil
}

func ackCancelActivity(ctx context.Context) error {
	result := heartbeatUntilCancelled(ctx)
	if err := signalOwnWorkflow(ctx, "activity-result", result); err != nil {
		return err
	}
	if result == "cancelled" {
		return ctx.Err() // reported as the cancellation's acknowledgement
	}
	return nil
}

// Abandon: the Go SDK has no abandon mode, so the workflow abandons by itself: it stops waiting
// and treats the activity as cancelled, sending nothing to the server. --broken cancels for real.
func abandonWorkflow(ctx workflow.Context) (string, error) {
	issued := false
	if err := workflow.SetQueryHandler(ctx, "cancel-issued", func() (bool, error) { return issued, nil }); err != nil {
		return "", err
	}
	actx, cancel := workflow.WithCancel(cancelActivityOptions(ctx, false))
	fut := workflow.ExecuteActivity(actx, "CancellableActivity")
	if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
		return "", err
	}
	var err error
	if broken {
		cancel()
		err = fut.Get(ctx, nil)
	} else {
		err = temporal.NewCanceledError()
	}
	if !temporal.IsCanceledError(err) {
		return "", appErrorf("expected activity cancel error, got: %v", err)
	}
	issued = true
	var result string
	workflow.GetSignalChannel(ctx, "activity-result").Receive(ctx, &result)
	return result, nil
}

// abandonedActivity heartbeats every second; once its workflow says (query "cancel-issued") that
// it has cancelled the activity, three more heartbeats without a cancellation mean none is coming.
func abandonedActivity(ctx context.Context) error {
	result, after := "timeout", 0
	for i := 0; i < 60 && after < 3; i++ {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			result = "cancelled"
			break
		}
		activity.RecordHeartbeat(ctx)
		if after > 0 || cancelIssued(ctx) {
			after++
		}
	}
	if result != "cancelled" && after >= 3 {
		result = "not cancelled"
	}
	return signalOwnWorkflow(ctx, "activity-result", result)
}

func cancelIssued(ctx context.Context) bool {
	we := activity.GetInfo(ctx).WorkflowExecution
	v, err := featureClient.QueryWorkflow(context.Background(), we.ID, we.RunID, "cancel-issued")
	var issued bool
	return err == nil && v.Get(&issued) == nil && issued
}

// Heartbeating: the first activity's first attempt records progress 1..3 in heartbeat details
// and fails; its retry resumes from the recorded details. The second activity never heartbeats
// and outlives its heartbeat timeout.
func heartbeatingWorkflow(ctx workflow.Context) (string, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		HeartbeatTimeout:    5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Millisecond, BackoffCoefficient: 1, MaximumAttempts: 2},
	})
	var resumed int
	if err := workflow.ExecuteActivity(actx, "HeartbeatingActivity").Get(ctx, &resumed); err != nil {
		return "", err
	}
	actx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		HeartbeatTimeout:    time.Second,
		RetryPolicy:         retryDisabled,
	})
	err := workflow.ExecuteActivity(actx, "NoHeartbeatActivity").Get(ctx, nil)
	kind := "completed"
	var te *temporal.TimeoutError
	if errors.As(err, &te) && te.TimeoutType() == enumspb.TIMEOUT_TYPE_HEARTBEAT {
		kind = "heartbeat timeout"
	} else if err != nil {
		kind = err.Error()
	}
	return fmt.Sprintf("resumed from %d; second activity: %s", resumed, kind), nil
}

func heartbeatingActivity(ctx context.Context) (int, error) {
	start := 0
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &start); err != nil {
			return 0, err
		}
	}
	if activity.GetInfo(ctx).Attempt == 1 {
		for i := start + 1; i <= start+3; i++ {
			activity.RecordHeartbeat(ctx, i)
			time.Sleep(150 * time.Millisecond) // past the throttle, so each one is sent
		}
		return 0, errors.New("first attempt fails after recording its progress")
	}
	activity.RecordHeartbeat(ctx, start+1)
	return start, nil
}

func noHeartbeatActivity(context.Context) (string, error) {
	time.Sleep(3 * time.Second)
	return "late", nil
}

func concurrentWorkflow(ctx workflow.Context) ([]string, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	futs := make([]workflow.Future, 5)
	for i := range futs {
		futs[i] = workflow.ExecuteActivity(actx, "Echo", fmt.Sprintf("act-%d", i))
	}
	out := make([]string, len(futs))
	for i, f := range futs {
		if err := f.Get(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func echoArgActivity(_ context.Context, s string) (string, error) { return s, nil }

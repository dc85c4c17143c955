// Reference implementations of features/local_activity/* (README only upstream: the workflows
// are ours, docs/features.md lists them).
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func init() {
	la := func(name string, wf any, acts ...namedActivity) {
		register("local_activity/"+name, &feature{workflows: []namedWorkflow{{"Workflow", wf}}, activities: acts})
	}
	echo := namedActivity{"Echo", echoArgActivity}
	la("complete_immediately", func(ctx workflow.Context) (string, error) {
		var s string
		err := workflow.ExecuteLocalActivity(laOptions(ctx, nil), "Echo", "la-result").Get(ctx, &s)
		return s, err
	}, echo)
	la("complete_eventually", func(ctx workflow.Context) (string, error) {
		var s string
		err := workflow.ExecuteLocalActivity(laOptions(ctx, nil), "SlowActivity").Get(ctx, &s)
		return s, err
	}, namedActivity{"SlowActivity", func(context.Context) (string, error) {
		time.Sleep(3 * time.Second)
		return "done", nil
	}})
	la("concurrent", func(ctx workflow.Context) ([]string, error) { return laEchoes(ctx, 5, true) }, echo)
	la("serial", func(ctx workflow.Context) ([]string, error) { return laEchoes(ctx, 3, false) }, echo)
	la("retry_on_error", func(ctx workflow.Context) error {
		return workflow.ExecuteLocalActivity(laOptions(ctx, noBackoff(5)), "AlwaysFail").Get(ctx, nil)
	}, namedActivity{"AlwaysFail", func(ctx context.Context) error {
		return fmt.Errorf("local activity attempt %d failed", activity.GetInfo(ctx).Attempt)
	}})
	la("non_retryable_error_from_activity", func(ctx workflow.Context) error {
		return workflow.ExecuteLocalActivity(laOptions(ctx, noBackoff(5)), "FailActivity").Get(ctx, nil)
	}, namedActivity{"FailActivity", func(ctx context.Context) error {
		msg := fmt.Sprintf("local activity attempt %d failed", activity.GetInfo(ctx).Attempt)
		return temporal.NewNonRetryableApplicationError(msg, "NonRetryable", nil)
	}})
	la("non_retryable_error_in_options", func(ctx workflow.Context) error {
		rp := noBackoff(5)
		rp.NonRetryableErrorTypes = []string{"MyError"}
		return workflow.ExecuteLocalActivity(laOptions(ctx, rp), "FailActivity").Get(ctx, nil)
	}, namedActivity{"FailActivity", func(ctx context.Context) error {
		msg := fmt.Sprintf("local activity attempt %d failed", activity.GetInfo(ctx).Attempt)
		return temporal.NewApplicationError(msg, "MyError")
	}})
	la("one_success_one_fail", func(ctx workflow.Context) ([]string, error) {
		rp := &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1, MaximumAttempts: 3}
		a := workflow.ExecuteLocalActivity(laOptions(ctx, rp), "Succeed")
		b := workflow.ExecuteLocalActivity(laOptions(ctx, rp), "FailOnce")
		out := make([]string, 2)
		for i, f := range []workflow.Future{a, b} {
			if err := f.Get(ctx, &out[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}, namedActivity{"Succeed", func(context.Context) (string, error) { return "ok", nil }},
		namedActivity{"FailOnce", succeedOnAttempt(2)})
	// The Go SDK backs off on a server timer when the backoff exceeds the workflow task timeout
	// (1 s here), as other SDKs do beyond their local retry threshold.
	la("backoff_with_persistent_timer", func(ctx workflow.Context) (string, error) {
		rp := &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 1, MaximumAttempts: 3}
		var s string
		err := workflow.ExecuteLocalActivity(laOptions(ctx, rp), "FailTwice").Get(ctx, &s)
		return s, err
	}, namedActivity{"FailTwice", succeedOnAttempt(3)})
	la("cancel_try_cancel", func(ctx workflow.Context) (string, error) { return laCancel(ctx, "try") },
		namedActivity{"CancellableActivity", cancellableLocal(30 * time.Second)})
	la("cancel_wait_completed", func(ctx workflow.Context) (string, error) { return laCancel(ctx, "wait") },
		namedActivity{"CancellableActivity", cancellableLocal(30 * time.Second)})
	la("cancel_abandon", func(ctx workflow.Context) (string, error) { return laCancel(ctx, "abandon") },
		namedActivity{"CancellableActivity", cancellableLocal(2 * time.Second)})
	la("cancel_failing", laCancelFailing, namedActivity{"AlwaysFail", func(context.Context) error {
		return errors.New("always fails")
	}})
	register("local_activity/complete_after_shutdown", &feature{
		workflows: []namedWorkflow{{"Workflow", func(ctx workflow.Context) (string, error) {
			var s string
			err := workflow.ExecuteLocalActivity(laOptions(ctx, nil), "IgnoresShutdown").Get(ctx, &s)
			return s, err
		}}},
		activities: []namedActivity{{"IgnoresShutdown", func(ctx context.Context) (string, error) {
			if err := signalOwnWorkflow(ctx, "la-started", nil); err != nil {
				return "", err
			}
			time.Sleep(2 * time.Second)
			return "completed after shutdown", nil
		}}},
		options: func(o *worker.Options) { o.WorkerStopTimeout = 10 * time.Second },
	})
	register("local_activity/shutdown_sends_cancellation", &feature{
		workflows: []namedWorkflow{{"Workflow", func(ctx workflow.Context) (string, error) {
			var s string
			err := workflow.ExecuteLocalActivity(laOptions(ctx, nil), "WaitsForCancel").Get(ctx, &s)
			return s, err
		}}},
		activities: []namedActivity{{"WaitsForCancel", func(ctx context.Context) (string, error) {
			if err := signalOwnWorkflow(ctx, "la-started", nil); err != nil {
				return "", err
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(3 * time.Second):
				return "not cancelled", nil
			}
		}}},
	})
}

func noBackoff(attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: time.Millisecond, BackoffCoefficient: 1, MaximumAttempts: attempts}
}

func laOptions(ctx workflow.Context, rp *temporal.RetryPolicy) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: time.Minute, StartToCloseTimeout: 10 * time.Second, RetryPolicy: rp,
	})
}

func laEchoes(ctx workflow.Context, n int, concurrent bool) ([]string, error) {
	out := make([]string, n)
	futs := make([]workflow.Future, n)
	for i := range futs {
		futs[i] = workflow.ExecuteLocalActivity(laOptions(ctx, nil), "Echo", fmt.Sprintf("la-%d", i))
		if !concurrent {
			if err := futs[i].Get(ctx, &out[i]); err != nil {
				return nil, err
			}
		}
	}
	for i, f := range futs {
		if err := f.Get(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func succeedOnAttempt(n int32) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if a := activity.GetInfo(ctx).Attempt; a < n {
			return "", fmt.Errorf("attempt %d failed", a)
		}
		return fmt.Sprintf("succeeded on attempt %d", n), nil
	}
}

// cancellableLocal signals "la-started", waits up to limit for its cancellation and signals its
// workflow "activity-result": "cancelled" or "not cancelled".
func cancellableLocal(limit time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := signalOwnWorkflow(ctx, "la-started", nil); err != nil {
			return err
		}
		result := "not cancelled"
		select {
		case <-ctx.Done():
			result = "cancelled"
		case <-time.After(limit):
		}
		return signalOwnWorkflow(ctx, "activity-result", result)
	}
}

// laCancel: the Go SDK resolves a cancelled local activity at once (try-cancel); wait-cancel is
// done by waiting for the activity's own report before looking at the result, abandon by not
// cancelling and treating the activity as cancelled.
func laCancel(ctx workflow.Context, mode string) (string, error) {
	cctx, cancel := workflow.WithCancel(laOptions(ctx, &temporal.RetryPolicy{MaximumAttempts: 1}))
	fut := workflow.ExecuteLocalActivity(cctx, "CancellableActivity")
	// Cancel a running activity: wait for its "la-started" signal first.
	workflow.GetSignalChannel(ctx, "la-started").Receive(ctx, nil)
	results := workflow.GetSignalChannel(ctx, "activity-result")
	var result string
	var err error
	switch mode {
	case "abandon":
		err = temporal.NewCanceledError()
	case "wait":
		cancel()
		results.Receive(ctx, &result)
		err = fut.Get(ctx, nil)
	default:
		cancel()
		err = fut.Get(ctx, nil)
	}
	if !temporal.IsCanceledError(err) {
		return "", appErrorf("expected local activity cancel error, got: %v", err)
	}
	if result == "" {
		results.Receive(ctx, &result)
	}
	return result, nil
}

func laCancelFailing(ctx workflow.Context) (string, error) {
	cctx, cancel := workflow.WithCancel(laOptions(ctx,
		&temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 1, MaximumAttempts: 5}))
	fut := workflow.ExecuteLocalActivity(cctx, "AlwaysFail")
	workflow.GetSignalChannel(ctx, "cancel").Receive(ctx, nil)
	cancel()
	if err := fut.Get(ctx, nil); !temporal.IsCanceledError(err) {
		return "", appErrorf("expected local activity cancel error, got: %v", err)
	}
	return "cancelled", nil
}

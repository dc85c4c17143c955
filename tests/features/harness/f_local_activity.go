// features/local_activity/*: every folder has a README only; the workflows, names and checks are
// ours (docs/features.md). A local activity's result is a marker in history: "LocalActivity" in
// the Go SDK, "core_local_activity" in sdk-core based SDKs; both count. Issue 11: the C SDK has no
// local activities yet.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func init() {
	shortTask := func(o *client.StartWorkflowOptions) { o.WorkflowTaskTimeout = time.Second }
	register(
		laFeature("complete_immediately", "la-result", checkMarkers(1, true)),
		&Feature{
			Name: "local_activity/complete_eventually", Issue: 11, Source: "readme", StartOptions: shortTask,
			ExpectRunResult: "done", CheckHistory: withReplay(checkCompleteEventually),
		},
		laFeature("concurrent", []string{"la-0", "la-1", "la-2", "la-3", "la-4"}, checkMarkers(5, true)),
		laFeature("serial", []string{"la-0", "la-1", "la-2"}, checkMarkers(3, true)),
		&Feature{
			Name: "local_activity/retry_on_error", Issue: 11, Source: "readme",
			CheckResult: func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
				return checkLAFailure(ctx, run, "local activity attempt 5 failed", "", false)
			},
			CheckHistory: withReplay(checkMarkers(1, false)),
		},
		&Feature{
			Name: "local_activity/non_retryable_error_from_activity", Issue: 11, Source: "readme",
			CheckResult: func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
				return checkLAFailure(ctx, run, "local activity attempt 1 failed", "NonRetryable", true)
			},
			CheckHistory: withReplay(checkMarkers(1, false)),
		},
		&Feature{
			Name: "local_activity/non_retryable_error_in_options", Issue: 11, Source: "readme",
			CheckResult: func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
				return checkLAFailure(ctx, run, "local activity attempt 1 failed", "MyError", false)
			},
			CheckHistory: withReplay(checkMarkers(1, false)),
		},
		laFeature("one_success_one_fail", []string{"ok", "succeeded on attempt 2"}, checkMarkers(2, false)),
		&Feature{
			Name: "local_activity/backoff_with_persistent_timer", Issue: 11, Source: "readme",
			StartOptions: shortTask, ExpectRunResult: "succeeded on attempt 3",
			CheckHistory: withReplay(checkPersistentBackoff),
		},
		laShortTask(laFeature("cancel_try_cancel", "cancelled", checkNoActivityCommands)),
		laShortTask(laFeature("cancel_wait_completed", "cancelled", checkNoActivityCommands)),
		laShortTask(laFeature("cancel_abandon", "not cancelled", checkNoActivityCommands)),
		&Feature{
			Name: "local_activity/cancel_failing", Issue: 11, Source: "readme", StartOptions: shortTask,
			Execute: executeLACancelFailing, ExpectRunResult: "cancelled",
			CheckHistory: withReplay(func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
				h, err := r.History(ctx, run.GetID(), run.GetRunID())
				if err != nil {
					return err
				}
				return expect(indexOf(h, enumspb.EVENT_TYPE_TIMER_CANCELED, 0) >= 0,
					"the backoff timer of the cancelled local activity was not cancelled")
			}),
		},
		&Feature{
			Name: "local_activity/complete_after_shutdown", Issue: 11, Source: "readme", StartOptions: shortTask,
			Execute: executeLACompleteAfterShutdown, ExpectRunResult: "completed after shutdown",
			CheckHistory: withReplay(checkMarkers(1, false)),
		},
		&Feature{
			Name: "local_activity/shutdown_sends_cancellation", Issue: 11, Source: "readme", StartOptions: shortTask,
			Execute: executeLAShutdownCancels, ExpectRunResult: "not cancelled",
			CheckHistory: withReplay(checkMarkers(1, false)),
		},
	)
}

// laShortTask gives a feature's run a 1 s workflow task timeout: a task kept open by a running
// local activity is then completed ("heartbeated") within a second, which delivers the signals
// the activity sends while it runs.
func laShortTask(f *Feature) *Feature {
	f.StartOptions = func(o *client.StartWorkflowOptions) { o.WorkflowTaskTimeout = time.Second }
	return f
}

func laFeature(name string, want any, check func(ctx context.Context, r *Runner, run client.WorkflowRun) error) *Feature {
	return &Feature{
		Name: "local_activity/" + name, Issue: 11, Source: "readme", ExpectRunResult: want,
		CheckHistory: withReplay(check),
	}
}

func isLAMarker(ev *historypb.HistoryEvent) bool {
	n := ev.GetMarkerRecordedEventAttributes().GetMarkerName()
	return n == "LocalActivity" || n == "core_local_activity"
}

func laMarkers(h *historypb.History) []*historypb.HistoryEvent {
	var out []*historypb.HistoryEvent
	for _, ev := range h.GetEvents() {
		if isLAMarker(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// checkMarkers: n local activity markers, no activity task in history, and with sameTask all
// markers recorded by one workflow task completion.
func checkMarkers(n int, sameTask bool) func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	return func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
		h, err := r.History(ctx, run.GetID(), run.GetRunID())
		if err != nil {
			return err
		}
		ms := laMarkers(h)
		if err := firstErr(expectEqual("local activity markers", n, len(ms)), checkNoActivityEvents(h)); err != nil {
			return err
		}
		if sameTask {
			for _, m := range ms[1:] {
				if m.GetMarkerRecordedEventAttributes().GetWorkflowTaskCompletedEventId() !=
					ms[0].GetMarkerRecordedEventAttributes().GetWorkflowTaskCompletedEventId() {
					return errors.New("the markers were recorded by different workflow tasks")
				}
			}
		}
		return nil
	}
}

func checkNoActivityEvents(h *historypb.History) error {
	return expect(indexOf(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 0) < 0,
		"a local activity was scheduled as a regular activity")
}

func checkNoActivityCommands(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	return firstErr(checkNoActivityEvents(h),
		expect(indexOf(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, 0) < 0,
			"cancelling a local activity sent a command to the server"))
}

// complete_eventually: the local activity outlived the 1 s workflow task timeout; the SDK kept
// the task alive by completing it (a "heartbeat") before the timeout, so there are several
// completed workflow tasks before the marker and no timed-out one.
func checkCompleteEventually(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	ms := laMarkers(h)
	if len(ms) != 1 {
		return fmt.Errorf("want 1 local activity marker, got %d", len(ms))
	}
	before := 0
	for _, ev := range h.GetEvents() {
		if ev.GetEventId() >= ms[0].GetEventId() {
			break
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			before++
		}
	}
	return firstErr(
		expect(before >= 2, "want the workflow task heartbeated (>= 2 completions before the marker), got %d", before),
		expect(indexOf(h, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, 0) < 0, "a workflow task timed out"))
}

// checkLAFailure: the run failed with the local activity's application failure (sdk-core based
// SDKs wrap it in an activity failure, the Go SDK passes it on as is: both are accepted).
func checkLAFailure(ctx context.Context, run client.WorkflowRun, msg, typ string, nonRetryable bool) error {
	err := run.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return fmt.Errorf("want the local activity's application error, got %v", err)
	}
	return firstErr(expectEqual("failure message", msg, appErr.Message()),
		expectEqual("failure type", typ, appErr.Type()),
		expectEqual("failure non-retryable", nonRetryable, appErr.NonRetryable()))
}

// backoff_with_persistent_timer: a backoff longer than the local retry threshold is a server
// timer started in the same task as the marker of the failed attempt.
func checkPersistentBackoff(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	timers := eventsOfType(h, enumspb.EVENT_TYPE_TIMER_STARTED)
	if len(timers) != 2 {
		return fmt.Errorf("want 2 backoff timers (attempts 1 and 2 failed), got %d", len(timers))
	}
	byTask := map[int64]bool{}
	for _, m := range laMarkers(h) {
		byTask[m.GetMarkerRecordedEventAttributes().GetWorkflowTaskCompletedEventId()] = true
	}
	for _, t := range timers {
		if !byTask[t.GetTimerStartedEventAttributes().GetWorkflowTaskCompletedEventId()] {
			return errors.New("a backoff timer was not started with a local activity marker")
		}
	}
	return expectEqual("timers fired", 2, len(eventsOfType(h, enumspb.EVENT_TYPE_TIMER_FIRED)))
}

// cancel_failing: the harness signals "cancel" once the failing local activity is backing off on
// a server timer; the workflow cancels it.
func executeLACancelFailing(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := r.ExecuteDefault(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := r.WaitForEvent(ctx, run, "TimerStarted", func(ev *historypb.HistoryEvent) bool {
		return ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED
	}, 30*time.Second); err != nil {
		return nil, err
	}
	return run, r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "cancel", nil)
}

// laStarted waits for the local activity's "la-started" signal (its way to say it runs) to be
// in history n times.
func laStarted(ctx context.Context, r *Runner, run client.WorkflowRun, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := r.History(ctx, run.GetID(), run.GetRunID())
		if err == nil {
			seen := 0
			for _, ev := range eventsOfType(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) {
				if ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == "la-started" {
					seen++
				}
			}
			if seen >= n {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the local activity did not start (%d time(s))", n)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// complete_after_shutdown: the worker is asked to stop while the local activity runs; the activity
// (which ignores the cancellation shutdown brings) completes, and the workflow task completes with
// its marker before the worker exits.
func executeLACompleteAfterShutdown(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	return executeThenStopWorker(ctx, r)
}

// executeThenStopWorker starts the default workflow, waits until its local activity runs
// (attempt 1), then stops the worker.
func executeThenStopWorker(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := r.ExecuteDefault(ctx)
	if err != nil {
		return nil, err
	}
	if err := laStarted(ctx, r, run, 1); err != nil {
		return nil, err
	}
	if _, err := r.StopWorker(); err != nil {
		return nil, err
	}
	return run, nil
}

// shutdown_sends_cancellation: stopping the worker cancels the running local activity (it
// acknowledges), no marker is recorded for it, and a new worker runs it again from attempt 1
// (that time it is not cancelled).
func executeLAShutdownCancels(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := executeThenStopWorker(ctx, r)
	if err != nil {
		return nil, err
	}
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return nil, err
	}
	if n := len(laMarkers(h)); n != 0 {
		return nil, fmt.Errorf("a marker was recorded for the local activity cancelled by shutdown (%d)", n)
	}
	if err := r.StartWorker(ctx); err != nil {
		return nil, err
	}
	return run, nil
}

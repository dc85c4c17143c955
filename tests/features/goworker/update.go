// Reference implementations of features/update/*.
package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"ordersaga/tests/features/wire"
)

func init() {
	register("update/activities", &feature{
		workflows:  []namedWorkflow{{"Workflow", updateActivitiesWorkflow}},
		activities: []namedActivity{{"SomeActivity", func(context.Context) (int, error) { return 6, nil }}},
	})
	register("update/async_accepted", &feature{workflows: []namedWorkflow{{"Workflow", asyncAcceptedWorkflow}}})
	register("update/basic", &feature{workflows: []namedWorkflow{{"Workflow", updateBasicWorkflow}}})
	register("update/basic_async", &feature{workflows: []namedWorkflow{{"Workflow", updateBasicAsyncWorkflow}}})
	register("update/deduplication", &feature{workflows: []namedWorkflow{{"Count", countWorkflow}}})
	register("update/non_durable_reject", &feature{workflows: []namedWorkflow{{"NonDurableReject", nonDurableRejectWorkflow}}})
	register("update/self", &feature{
		workflows:  []namedWorkflow{{"SelfUpdateWorkflow", selfUpdateWorkflow}},
		activities: []namedActivity{{"SelfUpdateActivity", selfUpdateActivity}},
	})
	register("update/task_failure", &feature{
		workflows: []namedWorkflow{{"PanickyUpdates", panickyUpdatesWorkflow}},
		// A panic fails the workflow task (retried), not the workflow.
		options:      func(o *worker.Options) { o.WorkflowPanicPolicy = worker.BlockWorkflow },
		beforeReplay: func() { panicOnce.Store(true) }, // the live worker had panicked once
	})
	register("update/validation_replay", &feature{
		workflows:  []namedWorkflow{{"Workflow", validationReplayWorkflow}},
		activities: []namedActivity{{"TheActivity", func(context.Context) (int, error) { return 1, nil }}},
	})
	register("update/worker_restart", &feature{
		workflows:  []namedWorkflow{{"Workflow", workerRestartWorkflow}},
		activities: []namedActivity{{"Block", func(context.Context) error { return nil }}},
	})
}

func waitShutdown(ctx workflow.Context, name string) {
	workflow.GetSignalChannel(ctx, name).Receive(ctx, nil)
}

func updateActivitiesWorkflow(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandler(ctx, "updateActivity", func(ctx workflow.Context) (int, error) {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second})
		futs := make([]workflow.Future, 5)
		for i := range futs {
			futs[i] = workflow.ExecuteActivity(actx, "SomeActivity")
		}
		total := 0
		for _, f := range futs {
			var n int
			if err := f.Get(ctx, &n); err != nil {
				return 0, err
			}
			total += n
		}
		return total, nil
	}); err != nil {
		return err
	}
	waitShutdown(ctx, "shutdown_signal")
	return nil
}

func asyncAcceptedWorkflow(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandler(ctx, "theUpdate", func(ctx workflow.Context, d time.Duration, disp int) (int, error) {
		if disp == 1 {
			return 0, errors.New("I was told I should fail")
		}
		if err := workflow.Sleep(ctx, d); err != nil {
			return 0, err
		}
		return 123, nil
	}); err != nil {
		return err
	}
	waitShutdown(ctx, "shutdown_signal")
	return nil
}

func updateBasicWorkflow(ctx workflow.Context) (string, error) {
	result := ""
	if err := workflow.SetUpdateHandler(ctx, "my-update-name", func(ctx workflow.Context, arg string) (string, error) {
		result = arg
		return "update-result:" + arg, nil
	}); err != nil {
		return "", err
	}
	if err := workflow.Await(ctx, func() bool { return result != "" }); err != nil {
		return "", err
	}
	return "workflow-result:" + result, nil
}

func updateBasicAsyncWorkflow(ctx workflow.Context) (string, error) {
	state := ""
	if err := workflow.SetUpdateHandlerWithOptions(ctx, "my_update",
		func(ctx workflow.Context, arg string) (string, error) {
			state = arg
			return "update-result", nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, arg string) error {
			if arg == "bad-update-arg" {
				return errors.New("Invalid Update argument")
			}
			return nil
		}}); err != nil {
		return "", err
	}
	if err := workflow.Await(ctx, func() bool { return state != "" }); err != nil {
		return "", err
	}
	return state, nil
}

func countWorkflow(ctx workflow.Context) error {
	counter := 0
	if err := workflow.SetUpdateHandler(ctx, "incrementCount", func(ctx workflow.Context) (int, error) {
		counter++
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return counter, err
		}
		return counter, nil
	}); err != nil {
		return err
	}
	waitShutdown(ctx, "shutdown_signal")
	return nil
}

func nonDurableRejectWorkflow(ctx workflow.Context) (int, error) {
	counter := 0
	if err := workflow.SetUpdateHandlerWithOptions(ctx, "updateActivity",
		func(ctx workflow.Context, i int) (int, error) {
			counter += i
			return counter, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(i int) error {
			if i < 0 {
				return fmt.Errorf("expected non-negative value (%v)", i)
			}
			return nil
		}}); err != nil {
		return 0, err
	}
	waitShutdown(ctx, "shutdown_signal")
	return counter, nil
}

func selfUpdateWorkflow(ctx workflow.Context, cm wire.ConnMaterial) (string, error) {
	state := "not called"
	if err := workflow.SetUpdateHandler(ctx, "update!", func(ctx workflow.Context) error {
		state = "called"
		return nil
	}); err != nil {
		return "", err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{NonRetryableErrorTypes: []string{"PermissionDenied"}},
	})
	if err := workflow.ExecuteActivity(actx, "SelfUpdateActivity", cm).Get(ctx, nil); err != nil {
		return "", err
	}
	if state != "called" {
		return "", fmt.Errorf("expected state == %q but found %q", "called", state)
	}
	return state, nil
}

func selfUpdateActivity(ctx context.Context, cm wire.ConnMaterial) error {
	c, err := client.Dial(client.Options{HostPort: cm.HostPort, Namespace: cm.Namespace, Logger: activity.GetLogger(ctx)})
	if err != nil {
		return err
	}
	defer c.Close()
	we := activity.GetInfo(ctx).WorkflowExecution
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: we.ID, RunID: we.RunID, UpdateName: "update!", WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, nil)
}

const updatePanicMsg = "fear not, dear examiner of logs, for this panic was intentional"

// panicOnce is process state on purpose (as upstream's global): the handler panics on its
// first execution in this process only.
var panicOnce atomic.Bool

func panickyUpdatesWorkflow(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandler(ctx, "panic_from_exec", func(ctx workflow.Context) error {
		if panicOnce.CompareAndSwap(false, true) {
			panic(updatePanicMsg)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, "panic_from_validate",
		func(ctx workflow.Context) error { return nil },
		workflow.UpdateHandlerOptions{Validator: func() error { panic(updatePanicMsg) }}); err != nil {
		return err
	}
	waitShutdown(ctx, "shutdown!")
	return nil
}

// validations counts validator calls in this process on purpose: a second call (a replay that
// validates again) fails.
var validations atomic.Int32

func validationReplayWorkflow(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, "doSomeStuff",
		func(ctx workflow.Context) error {
			actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second})
			var n int
			return workflow.ExecuteActivity(actx, "TheActivity").Get(ctx, &n)
		},
		workflow.UpdateHandlerOptions{Validator: func() error {
			if validations.Add(1) > 1 {
				return errors.New("failing validation")
			}
			return nil
		}}); err != nil {
		return err
	}
	waitShutdown(ctx, "shutdown_signal")
	return nil
}

func workerRestartWorkflow(ctx workflow.Context) (int, error) {
	counter := 0
	if err := workflow.SetUpdateHandler(ctx, "fetchAndAdd", func(ctx workflow.Context, i int) (int, error) {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ScheduleToCloseTimeout: 10 * time.Second})
		if err := workflow.ExecuteActivity(actx, "Block").Get(ctx, nil); err != nil {
			return 0, err
		}
		tmp := counter
		counter += i
		return tmp, nil
	}); err != nil {
		return 0, err
	}
	waitShutdown(ctx, "shutdown_signal")
	return counter, nil
}

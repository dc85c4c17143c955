// Reference implementations of features/signal/* and features/query/*.
package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

func init() {
	register("signal/basic", &feature{workflows: []namedWorkflow{{"Workflow", signalBasicWorkflow}}})
	register("signal/activities", &feature{
		workflows:  []namedWorkflow{{"workflow", signalActivitiesWorkflow}},
		activities: []namedActivity{{"myActivity", myActivity}},
	})
	register("signal/prevent_close", &feature{
		workflows: []namedWorkflow{{"Workflow", preventCloseWorkflow}},
		broken:    true,
	})
	register("signal/external", &feature{
		workflows: []namedWorkflow{{"Workflow", signalExternalWorkflow}},
		broken:    true,
	})
	register("query/successful_query", &feature{
		workflows: []namedWorkflow{{"Workflow", successfulQueryWorkflow}},
		broken:    true,
	})
	register("query/unexpected_query_type_name", &feature{workflows: []namedWorkflow{{"Workflow", finishWorkflow}}})
	register("query/unexpected_arguments", &feature{workflows: []namedWorkflow{{"Workflow", unexpectedArgsWorkflow}}})
	register("query/timeout_due_to_no_active_workers", &feature{
		workflows: []namedWorkflow{{"Workflow", someQueryWorkflow}},
	})
}

func signalBasicWorkflow(ctx workflow.Context) (string, error) {
	state := ""
	ch := workflow.GetSignalChannel(ctx, "my_signal")
	for state == "" {
		ch.Receive(ctx, &state)
	}
	return state, nil
}

const (
	signalActivityCount  = 5
	signalActivityResult = 6
)

// The signal handler runs the activities; the main function waits for their total.
func signalActivitiesWorkflow(ctx workflow.Context) (int, error) {
	total := 0
	var handlerErr error
	workflow.Go(ctx, func(ctx workflow.Context) {
		workflow.GetSignalChannel(ctx, "mySignal").Receive(ctx, nil)
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second})
		futs := make([]workflow.Future, signalActivityCount)
		for i := range futs {
			futs[i] = workflow.ExecuteActivity(actx, "myActivity")
		}
		sum := 0
		for _, f := range futs {
			var n int
			if err := f.Get(ctx, &n); err != nil {
				handlerErr = err
				return
			}
			sum += n
		}
		total = sum
	})
	if err := workflow.Await(ctx, func() bool { return total > 0 || handlerErr != nil }); err != nil {
		return 0, err
	}
	return total, handlerErr
}

func myActivity(context.Context) (int, error) { return signalActivityResult, nil }

// Prevent close: returns [values, replaying-at-start]; every "add" signal delivered before the
// workflow closes is in values (--broken keeps only the first).
func preventCloseWorkflow(ctx workflow.Context) ([]any, error) {
	replay := workflow.IsReplaying(ctx)
	var values []int
	ch := workflow.GetSignalChannel(ctx, "add")
	var v int
	ch.Receive(ctx, &v)
	values = append(values, v)
	for !broken && ch.ReceiveAsync(&v) {
		values = append(values, v)
	}
	return []any{values, replay}, nil
}

func signalExternalWorkflow(ctx workflow.Context) (string, error) {
	var s string
	workflow.GetSignalChannel(ctx, "external_signal_channel").Receive(ctx, &s)
	if broken {
		s += "!"
	}
	return s, nil
}

func successfulQueryWorkflow(ctx workflow.Context) error {
	counter := 0
	if broken {
		counter = 1
	}
	if err := workflow.SetQueryHandler(ctx, "counterQ", func() (int, error) { return counter, nil }); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, "counterInc")
	for i := 0; i < 5; i++ {
		ch.Receive(ctx, nil)
		counter++
	}
	return nil
}

func finishWorkflow(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	return nil
}

func unexpectedArgsWorkflow(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, "theQuery", func(a int) (string, error) {
		return fmt.Sprintf("got %d", a), nil
	}); err != nil {
		return err
	}
	return finishWorkflow(ctx)
}

func someQueryWorkflow(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, "somequery", func() (bool, error) { return true, nil }); err != nil {
		return err
	}
	return finishWorkflow(ctx)
}

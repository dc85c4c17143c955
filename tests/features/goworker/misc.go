// Reference implementations of features/{continue_as_new, data_converter, search_attributes,
// worker_shutdown, bugs}/* required now.
package main

import (
	"context"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func init() {
	register("continue_as_new/continue_as_same", &feature{
		workflows: []namedWorkflow{{"Workflow", continueAsSameWorkflow}},
		broken:    true,
	})
	register("continue_as_new/signals_block_continue_as_new", &feature{
		workflows: []namedWorkflow{{"Workflow", signalsBlockCANWorkflow}},
	})
	register("data_converter/json", &feature{
		workflows: []namedWorkflow{{"Workflow", jsonEchoWorkflow}},
		broken:    true,
	})
	register("data_converter/empty", &feature{
		workflows:  []namedWorkflow{{"Workflow", emptyWorkflow}},
		activities: []namedActivity{{"Activity", nullInputActivity}},
	})
	register("search_attributes/set", &feature{workflows: []namedWorkflow{{"Workflow", infoSearchAttributes}}})
	register("search_attributes/upsert", &feature{workflows: []namedWorkflow{{"Workflow", upsertWorkflow}}})
	register("worker_shutdown/poll_complete_on_shutdown", &feature{
		workflows:  []namedWorkflow{{"Workflow", timerActivityLoop}},
		activities: []namedActivity{{"NoopActivity", func(context.Context) error { return nil }}},
		options:    func(o *worker.Options) { o.WorkerStopTimeout = 10 * time.Second },
	})
	register("bugs/go/activity_start_race", &feature{
		workflows:  []namedWorkflow{{"Workflow", activityStartRaceWorkflow}},
		activities: []namedActivity{{"SleepActivity", sleepActivity}},
	})
}

func continueAsSameWorkflow(ctx workflow.Context, input string) (string, error) {
	if broken || workflow.GetInfo(ctx).ContinuedExecutionRunID != "" {
		return input, nil
	}
	return "", workflow.NewContinueAsNewError(ctx, "Workflow", input)
}

type canState struct {
	Continued bool     `json:"continued"`
	Signals   []string `json:"signals"`
}

// Continues as new at once with the signals received so far (drained first, as the README
// advises for Go, which has no signal handlers).
func signalsBlockCANWorkflow(ctx workflow.Context, st canState) ([]string, error) {
	if st.Continued {
		return st.Signals, nil
	}
	ch := workflow.GetSignalChannel(ctx, "signal")
	var s string
	for ch.ReceiveAsync(&s) {
		st.Signals = append(st.Signals, s)
	}
	st.Continued = true
	return nil, workflow.NewContinueAsNewError(ctx, "Workflow", st)
}

type jsonMessage struct {
	Spec bool `json:"spec"`
}

func jsonEchoWorkflow(_ workflow.Context, m jsonMessage) (any, error) {
	if broken {
		return map[string]any{"spec": m.Spec, "extra": 1}, nil
	}
	return m, nil
}

func emptyWorkflow(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(actx, "Activity", nil).Get(ctx, nil)
}

func nullInputActivity(_ context.Context, input *string) error {
	if input != nil {
		return temporal.NewNonRetryableApplicationError("Activity input should be nil", "BadResult", nil)
	}
	return nil
}

// infoSearchAttributes returns the search attributes of the workflow's info, decoded.
func infoSearchAttributes(ctx workflow.Context) (map[string]any, error) {
	out := map[string]any{}
	dc := converter.GetDefaultDataConverter()
	for k, p := range workflow.GetInfo(ctx).SearchAttributes.GetIndexedFields() {
		var v any
		if err := dc.FromPayload(p, &v); err != nil {
			return nil, err
		}
		if v != nil {
			out[k] = v
		}
	}
	return out, nil
}

var saDate = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

func upsertWorkflow(ctx workflow.Context) (map[string]any, error) {
	intKey := temporal.NewSearchAttributeKeyInt64("CustomIntField")
	boolKey := temporal.NewSearchAttributeKeyBool("CustomBoolField")
	if err := workflow.UpsertTypedSearchAttributes(ctx, intKey.ValueSet(123), boolKey.ValueSet(true)); err != nil {
		return nil, err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		intKey.ValueUnset(),
		temporal.NewSearchAttributeKeyKeyword("CustomKeywordField").ValueSet("durable code"),
		temporal.NewSearchAttributeKeyString("CustomTextField").ValueSet("is useful"),
		temporal.NewSearchAttributeKeyTime("CustomDatetimeField").ValueSet(saDate),
		temporal.NewSearchAttributeKeyFloat64("CustomDoubleField").ValueSet(3.14),
	); err != nil {
		return nil, err
	}
	return infoSearchAttributes(ctx)
}

func timerActivityLoop(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Second,
		StartToCloseTimeout:    5 * time.Second,
		RetryPolicy:            retryDisabled,
	})
	for {
		if err := workflow.Sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
		if err := workflow.ExecuteActivity(actx, "NoopActivity").Get(ctx, nil); err != nil {
			return err
		}
	}
}

func activityStartRaceWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	resume := workflow.GetSignalChannel(ctx, "resume")
	for {
		workflow.ExecuteActivity(ctx, "SleepActivity")
		done := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(ctx.Done(), func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			done = true
		})
		sel.AddReceive(resume, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.Select(ctx)
		if done {
			return nil
		}
	}
}

func sleepActivity(context.Context) error {
	time.Sleep(200 * time.Millisecond)
	return nil
}

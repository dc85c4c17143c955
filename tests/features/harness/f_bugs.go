// features/bugs/go/activity_start_race: the upstream feature delays the worker's polls with a
// client interceptor so that an activity starts and completes before the workflow task that
// follows it is polled; here the harness's proxy holds the worker's polls the same way.
package main

import (
	"context"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
)

func init() {
	register(&Feature{
		Name: "bugs/go/activity_start_race", Issue: 10, Source: "go", Proxy: true,
		Execute: executeActivityStartRace,
	})
}

const raceActivitySleep = 200 * time.Millisecond

// Upstream replays a history it captured once (history.manual.json, not copied here); the default
// history check replays this run's own history instead.
func executeActivityStartRace(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	var wfGate, actGate Gate
	r.Proxy.SetHooks(ProxyHooks{Before: func(hctx context.Context, method string, _ []byte) error {
		switch {
		case strings.HasSuffix(method, "/PollWorkflowTaskQueue"):
			return wfGate.Wait(hctx)
		case strings.HasSuffix(method, "/PollActivityTaskQueue"):
			return actGate.Wait(hctx)
		}
		return nil
	}})
	defer wfGate.Open()
	defer actGate.Open()

	actGate.Close()
	run, err := r.ExecuteDefault(ctx)
	if err != nil {
		return nil, err
	}
	wfGate.Close()
	if err := r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "resume", nil); err != nil {
		return nil, err
	}
	time.Sleep(raceActivitySleep * 2)
	actGate.Open()
	time.Sleep(raceActivitySleep * 4)
	wfGate.Open()
	time.Sleep(raceActivitySleep * 2)
	return run, r.Client.CancelWorkflow(ctx, run.GetID(), run.GetRunID())
}

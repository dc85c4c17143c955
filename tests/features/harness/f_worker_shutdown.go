// features/worker_shutdown/poll_complete_on_shutdown: a worker stopped while polling exits
// promptly, and the server's poll-completion-on-shutdown setting decides whether workflow tasks
// may be lost to the stop (upstream's two run variants).
package main

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

func init() {
	register(&Feature{
		Name: "worker_shutdown/poll_complete_on_shutdown", Issue: 10, Source: "go",
		Run: runPollCompleteOnShutdown,
	})
}

const (
	shutdownWorkflows = 5
	shutdownLimit     = 5 * time.Second
	shutdownHistory   = 15 * time.Second
)

// Without --dev-server-cli only the connected server's variant runs (read from the namespace's
// capabilities); with it, both variants run on private dev servers, as upstream's config.json.
func runPollCompleteOnShutdown(ctx context.Context, cfg *Config, f *Feature) error {
	if cfg.DevServerCLI == "" {
		c, err := dial(ctx, cfg, cfg.Address)
		if err != nil {
			return err
		}
		defer c.Close()
		capable, err := pollCompleteCapability(ctx, c, cfg.Namespace)
		if err != nil {
			return err
		}
		return runStandard(ctx, cfg, pollCompleteVariant(f, capable), c)
	}
	for _, v := range []struct {
		name    string
		enabled bool
	}{{"cancel-worker-polls-enabled", true}, {"cancel-worker-polls-disabled", false}} {
		srv, c, err := StartDevServer(ctx, cfg, v.name,
			[]string{fmt.Sprintf("frontend.enableCancelWorkerPollsOnShutdown=%v", v.enabled)})
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		err = func() error {
			capable, err := pollCompleteCapability(ctx, c, cfg.Namespace)
			if err != nil {
				return err
			}
			if capable != v.enabled {
				return fmt.Errorf("namespace capability workerPollCompleteOnShutdown: want %v, got %v", v.enabled, capable)
			}
			sub := *cfg
			sub.Address = srv.Address
			return runStandard(ctx, &sub, pollCompleteVariant(f, capable), c)
		}()
		c.Close()
		srv.Stop()
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	return nil
}

func pollCompleteCapability(ctx context.Context, c client.Client, ns string) (bool, error) {
	d, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil {
		return false, err
	}
	return d.GetNamespaceInfo().GetCapabilities().GetWorkerPollCompleteOnShutdown(), nil
}

func pollCompleteVariant(f *Feature, capable bool) *Feature {
	v := *f
	v.Run = nil
	v.Execute = func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
		return executePollComplete(ctx, r, capable)
	}
	return &v
}

func executePollComplete(ctx context.Context, r *Runner, capable bool) (client.WorkflowRun, error) {
	runs := make([]client.WorkflowRun, 0, shutdownWorkflows)
	defer func() {
		for _, run := range runs {
			_ = r.Client.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "feature cleanup")
		}
	}()
	for i := 0; i < shutdownWorkflows; i++ {
		o := r.StartOptions()
		o.WorkflowTaskTimeout = 5 * time.Second
		run, err := r.Client.ExecuteWorkflow(ctx, o, r.Feature.workflowType())
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	for _, run := range runs {
		if _, err := r.WaitForEvent(ctx, run, "ActivityTaskScheduled", func(ev *historyEvent) bool {
			return ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
		}, 10*time.Second); err != nil {
			return nil, err
		}
	}
	elapsed, err := r.StopWorker()
	if err != nil {
		return nil, err
	}
	if elapsed > shutdownLimit {
		return nil, fmt.Errorf("worker shutdown took %s, expected <= %s", elapsed, shutdownLimit)
	}
	if capable {
		for _, run := range runs {
			bad, err := hasWorkflowTaskProblem(ctx, r, run)
			if err != nil {
				return nil, err
			}
			if bad {
				return nil, fmt.Errorf("unexpected workflow task problem in %s", run.GetID())
			}
		}
		return nil, nil
	}
	deadline := time.Now().Add(shutdownHistory)
	for {
		for _, run := range runs {
			bad, err := hasWorkflowTaskProblem(ctx, r, run)
			if err != nil {
				return nil, err
			}
			if bad {
				return nil, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("expected a workflow task failure or timeout within %s", shutdownHistory)
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func hasWorkflowTaskProblem(ctx context.Context, r *Runner, run client.WorkflowRun) (bool, error) {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return false, err
	}
	for _, ev := range h.GetEvents() {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			return true, nil
		}
	}
	return false, nil
}

// features/query/*: queries and their checks, as the upstream Go features make them.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

func init() {
	register(
		&Feature{Name: "query/successful_query", Issue: 10, Source: "go", CheckResult: checkSuccessfulQuery},
		&Feature{Name: "query/unexpected_query_type_name", Issue: 10, Source: "go", CheckResult: checkUnexpectedQueryType},
		&Feature{Name: "query/unexpected_arguments", Issue: 10, Source: "go", CheckResult: checkUnexpectedArguments},
		&Feature{Name: "query/timeout_due_to_no_active_workers", Issue: 10, Source: "go", CheckResult: checkQueryNoWorkers},
	)
}

func queryInt(ctx context.Context, r *Runner, run client.WorkflowRun, name string, args ...any) (int, error) {
	v, err := r.Client.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), name, args...)
	if err != nil {
		return 0, fmt.Errorf("query %s: %w", name, err)
	}
	var n int
	if err := v.Get(&n); err != nil {
		return 0, fmt.Errorf("query %s result: %w", name, err)
	}
	return n, nil
}

func queryString(ctx context.Context, r *Runner, run client.WorkflowRun, name string, args ...any) (string, error) {
	v, err := r.Client.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), name, args...)
	if err != nil {
		return "", fmt.Errorf("query %s%v: %w", name, args, err)
	}
	var s string
	if err := v.Get(&s); err != nil {
		return "", fmt.Errorf("query %s%v result: %w", name, args, err)
	}
	return s, nil
}

func signalN(ctx context.Context, r *Runner, run client.WorkflowRun, name string, n int) error {
	for i := 0; i < n; i++ {
		if err := r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), name, nil); err != nil {
			return fmt.Errorf("signal %s: %w", name, err)
		}
	}
	return nil
}

func checkSuccessfulQuery(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	for _, step := range []struct{ signals, want int }{{0, 0}, {1, 1}, {3, 4}} {
		if err := signalN(ctx, r, run, "counterInc", step.signals); err != nil {
			return err
		}
		n, err := queryInt(ctx, r, run, "counterQ")
		if err != nil {
			return err
		}
		if err := expectEqual("counterQ", step.want, n); err != nil {
			return err
		}
	}
	if err := signalN(ctx, r, run, "counterInc", 1); err != nil {
		return err
	}
	return r.CheckResultDefault(ctx, run)
}

func checkUnexpectedQueryType(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	_, err := r.Client.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), "nonexistent")
	var qf *serviceerror.QueryFailed
	if !errors.As(err, &qf) {
		return fmt.Errorf("query nonexistent: want QueryFailed, got %T %v", err, err)
	}
	if err := signalN(ctx, r, run, "finish", 1); err != nil {
		return err
	}
	return r.CheckResultDefault(ctx, run)
}

// Go does not reject anything: a wrong-typed argument is not possible to send from Go either,
// so the Go feature checks an int, an extra argument (dropped) and a missing one (zero value).
func checkUnexpectedArguments(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	for _, c := range []struct {
		args []any
		want string
	}{{[]any{123}, "got 123"}, {[]any{123, true}, "got 123"}, {nil, "got 0"}} {
		s, err := queryString(ctx, r, run, "theQuery", c.args...)
		if err != nil {
			return err
		}
		if err := expectEqual(fmt.Sprintf("theQuery%v", c.args), c.want, s); err != nil {
			return err
		}
	}
	if err := signalN(ctx, r, run, "finish", 1); err != nil {
		return err
	}
	return r.CheckResultDefault(ctx, run)
}

func checkQueryNoWorkers(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	if _, err := r.StopWorker(); err != nil {
		return err
	}
	oneSec, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := r.Client.QueryWorkflow(oneSec, run.GetID(), run.GetRunID(), "somequery")
	if _, ok := err.(*serviceerror.DeadlineExceeded); !ok {
		return fmt.Errorf("query with no worker: want DeadlineExceeded, got %T %v", err, err)
	}
	if err := r.StartWorker(ctx); err != nil {
		return err
	}
	if err := signalN(ctx, r, run, "finish", 1); err != nil {
		return err
	}
	return r.CheckResultDefault(ctx, run)
}

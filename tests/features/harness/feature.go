// What a feature is for this harness, and the small assertion and history helpers the feature
// checks share. Mirrors the fields of the upstream Go harness's Feature.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// Feature is one folder of temporalio/features.
type Feature struct {
	// Name is the folder under features/, e.g. "activity/cancel_try_cancel".
	Name string
	// Issue is the project issue that requires it: 10 (required now) or 11 (later).
	Issue int
	// Source says which upstream implementation gave the names and checks: "go", "py", "ts",
	// "php" or "readme" (the README only: names of our own, documented in docs/features.md).
	Source string
	// Workflow is the primary workflow type (default "Workflow").
	Workflow string
	// StartOptions changes the default start options (task queue, one-minute execution timeout).
	StartOptions func(*client.StartWorkflowOptions)
	// ExpectActivityError: the run must fail with an activity error whose cause reads exactly so.
	ExpectActivityError string
	// ExpectRunResult: the run must succeed with this value (decoded into its type).
	ExpectRunResult any
	// Execute starts the workflow and performs the interactions (default: ExecuteDefault). A nil
	// run skips the result and history checks, as upstream.
	Execute func(ctx context.Context, r *Runner) (client.WorkflowRun, error)
	// CheckResult checks the outcome (default: CheckResultDefault).
	CheckResult func(ctx context.Context, r *Runner, run client.WorkflowRun) error
	// CheckHistory checks the history (default: replay every run on the worker's code).
	CheckHistory func(ctx context.Context, r *Runner, run client.WorkflowRun) error
	// Proxy routes the worker's gRPC calls through the harness's proxy (Runner.Proxy).
	Proxy bool
	// WorkerEnv is added to the worker's environment.
	WorkerEnv []string
	// ClientOptions changes the harness client's options for this feature (a data converter the
	// worker uses too); the feature then gets a client of its own.
	ClientOptions func(*client.Options)
	// Prepare runs before the worker starts (it may add to Runner.Env or start helpers; cleanups
	// it registers with Runner.Defer run when the feature ends).
	Prepare func(ctx context.Context, r *Runner) error
	// Run replaces the whole start-worker / execute / check sequence (features that need servers
	// of their own or several workers).
	Run func(ctx context.Context, cfg *Config, f *Feature) error
	// NotUpstream names a feature of the project's list that has no folder at the features commit
	// read; it is reported SKIP with this reason.
	NotUpstream string
}

func (f *Feature) workflowType() string {
	if f.Workflow != "" {
		return f.Workflow
	}
	return "Workflow"
}

// Required says whether a failure fails the harness's exit code.
func (f *Feature) Required() bool { return f.Issue == 10 }

var registry = map[string]*Feature{}

func register(fs ...*Feature) {
	for _, f := range fs {
		if _, dup := registry[f.Name]; dup {
			panic("feature registered twice: " + f.Name)
		}
		registry[f.Name] = f
	}
}

func sortedFeatures() []*Feature {
	out := make([]*Feature, 0, len(registry))
	for _, f := range registry {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Issue != out[j].Issue {
			return out[i].Issue < out[j].Issue
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// NoHistoryCheck is for features whose upstream code turns the replay check off.
func NoHistoryCheck(context.Context, *Runner, client.WorkflowRun) error { return nil }

func shortID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func expectEqual(what string, want, got any) error {
	if !reflect.DeepEqual(want, got) {
		return fmt.Errorf("%s: want %#v, got %#v", what, want, got)
	}
	return nil
}

func expect(cond bool, format string, args ...any) error {
	if !cond {
		return fmt.Errorf(format, args...)
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// eventsOfType returns the events of one type, in history order.
func eventsOfType(h *historypb.History, t enumspb.EventType) []*historypb.HistoryEvent {
	var out []*historypb.HistoryEvent
	for _, ev := range h.GetEvents() {
		if ev.GetEventType() == t {
			out = append(out, ev)
		}
	}
	return out
}

// indexOf is the position of the first event of type t at or after from (-1 if none).
func indexOf(h *historypb.History, t enumspb.EventType, from int) int {
	for i := from; i < len(h.GetEvents()); i++ {
		if h.Events[i].GetEventType() == t {
			return i
		}
	}
	return -1
}

// skipError reports a feature the connected server cannot run (upstream's runner.Skip).
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

func skipf(format string, args ...any) error { return &skipError{fmt.Sprintf(format, args...)} }

type historyEvent = historypb.HistoryEvent

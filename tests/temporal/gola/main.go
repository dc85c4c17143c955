// gola: records the history of a workflow whose local activities ran on an official Go SDK
// worker, so the C runtime's replay of Go SDK local activity markers is tested on a real one
// (tests/temporal/fixtures/go_local.history.pb; replayed by test_temporal_local).
//
//	GoLocal: Echo("a"); Flaky (fails twice, retried locally); FlakyTimer (fails once with a
//	2 s backoff > the 1 s task timeout: a durable timer); Refuse (non-retryable, caught);
//	Echo("x") and Echo("y") at once. Returns "a|3|2|OutOfStock|x|y".
//
//	gola -address 127.0.0.1:21733 -out FILE    runs one GoLocal and writes its history
//	gola -replay FILE                          replays a GoLocal history (ours) on the Go SDK:
//	                                           exit 0 when it replays, 1 with the reason
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	historypb "go.temporal.io/api/history/v1"
)

func Echo(ctx context.Context, s string) (string, error) { return s, nil }

// Flaky fails until its given attempt, then returns the attempt number.
func Flaky(ctx context.Context, until int32) (int32, error) {
	if a := activity.GetInfo(ctx).Attempt; a < until {
		return 0, fmt.Errorf("attempt %d failed", a)
	}
	return activity.GetInfo(ctx).Attempt, nil
}

func Refuse(ctx context.Context) error {
	return temporal.NewNonRetryableApplicationError("no stock left", "OutOfStock", nil)
}

func GoLocal(ctx workflow.Context) (string, error) {
	lo := func(rp *temporal.RetryPolicy) workflow.Context {
		return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 10 * time.Second, RetryPolicy: rp})
	}
	var parts []string
	var s string
	if err := workflow.ExecuteLocalActivity(lo(nil), "Echo", "a").Get(ctx, &s); err != nil {
		return "", err
	}
	parts = append(parts, s)
	var n int32
	fast := &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond, BackoffCoefficient: 1}
	if err := workflow.ExecuteLocalActivity(lo(fast), "Flaky", int32(3)).Get(ctx, &n); err != nil {
		return "", err
	}
	parts = append(parts, fmt.Sprint(n))
	slow := &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 1}
	if err := workflow.ExecuteLocalActivity(lo(slow), "Flaky", int32(2)).Get(ctx, &n); err != nil {
		return "", err
	}
	parts = append(parts, fmt.Sprint(n))
	err := workflow.ExecuteLocalActivity(lo(nil), "Refuse").Get(ctx, nil)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return "", fmt.Errorf("want an application error, got %v", err)
	}
	parts = append(parts, app.Type())
	fx := workflow.ExecuteLocalActivity(lo(nil), "Echo", "x")
	fy := workflow.ExecuteLocalActivity(lo(nil), "Echo", "y")
	for _, f := range []workflow.Future{fx, fy} {
		if err := f.Get(ctx, &s); err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "|"), nil
}

func main() {
	address := flag.String("address", "127.0.0.1:21733", "frontend host:port")
	out := flag.String("out", "go_local.history.pb", "history file to write")
	replay := flag.String("replay", "", "history file to replay instead of running")
	flag.Parse()
	if *replay != "" {
		data, err := os.ReadFile(*replay)
		if err != nil {
			log.Fatal(err)
		}
		hist := &historypb.History{}
		if err := proto.Unmarshal(data, hist); err != nil {
			log.Fatal(err)
		}
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflow(GoLocal)
		if err := r.ReplayWorkflowHistory(nil, hist); err != nil {
			fmt.Fprintln(os.Stderr, "replay:", err)
			os.Exit(1)
		}
		fmt.Println("replayed")
		return
	}
	c, err := client.Dial(client.Options{HostPort: *address})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	queue := fmt.Sprintf("gola-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(GoLocal)
	w.RegisterActivityWithOptions(Echo, activity.RegisterOptions{Name: "Echo"})
	w.RegisterActivityWithOptions(Flaky, activity.RegisterOptions{Name: "Flaky"})
	w.RegisterActivityWithOptions(Refuse, activity.RegisterOptions{Name: "Refuse"})
	if err := w.Start(); err != nil {
		log.Fatal(err)
	}
	defer w.Stop()
	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: fmt.Sprintf("go-local-%d", time.Now().UnixNano()), TaskQueue: queue, WorkflowTaskTimeout: time.Second}, GoLocal)
	if err != nil {
		log.Fatal(err)
	}
	var result string
	if err := run.Get(ctx, &result); err != nil {
		log.Fatal(err)
	}
	fmt.Println(result)
	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, 0)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			log.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	data, err := proto.Marshal(hist)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatal(err)
	}
}

// gopeer: an official Go SDK worker for the C client's tests, so they exercise the client
// against runs of an official SDK (and do not depend on our own workflow runtime):
//
//	CanChain      continues as new n times, then returns "done after N runs"
//	TwoSignals    waits for two "go" signals and returns them as a JSON array
//	FailFirstRun  fails its first attempt (run), returns {"attempt":n} on the next one
//	GoGreet       activity Hello(name) -> "Hello, name!"
//	Mixed         timer, activity, local activity, side effect, search attribute and memo
//	              upserts, a child workflow, a signal, a failing activity, then fails: a
//	              history with many event types for the JSON history tests
//
//	gopeer -address 127.0.0.1:21733 -task-queue Q    poll Q until SIGTERM/SIGINT
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// ChainInput is CanChain's JSON argument: runs left before completing, and runs done so far.
type ChainInput struct {
	Left int `json:"left"`
	Done int `json:"done"`
}

// CanChain continues as new while Left > 0, then completes with "done after N runs".
func CanChain(ctx workflow.Context, in ChainInput) (string, error) {
	if in.Left > 0 {
		return "", workflow.NewContinueAsNewError(ctx, CanChain,
			ChainInput{Left: in.Left - 1, Done: in.Done + 1})
	}
	return fmt.Sprintf("done after %d runs", in.Done+1), nil
}

// TwoSignals returns the two "go" signals it receives, in order.
func TwoSignals(ctx workflow.Context) ([]interface{}, error) {
	ch := workflow.GetSignalChannel(ctx, "go")
	var a, b interface{}
	ch.Receive(ctx, &a)
	ch.Receive(ctx, &b)
	return []interface{}{a, b}, nil
}

// FailFirstRun fails (retryable) on attempt 1; with a workflow retry policy the server starts
// a second run of the chain, which completes.
func FailFirstRun(ctx workflow.Context) (map[string]int, error) {
	attempt := workflow.GetInfo(ctx).Attempt
	if attempt == 1 {
		return nil, temporal.NewApplicationError("the first run always fails", "FirstRunFails")
	}
	return map[string]int{"attempt": int(attempt)}, nil
}

// Hello greets.
func Hello(_ context.Context, name string) (string, error) {
	return "Hello, " + name + "!", nil
}

// Boom always fails, not retryably.
func Boom(_ context.Context, _ interface{}) error {
	return temporal.NewNonRetryableApplicationError("the activity refused \"politely\"", "Boom", nil)
}

// GoGreet runs Hello once.
func GoGreet(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, "Hello", name).Get(ctx, &out)
	return out, err
}

// Mixed makes a history with as many kinds of events as a short run can.
func Mixed(ctx workflow.Context, _ map[string]interface{}) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	if err := workflow.Sleep(ctx, 50*time.Millisecond); err != nil {
		return "", err
	}
	var hello string
	if err := workflow.ExecuteActivity(ctx, "Hello", "mixed ünïcode ✓").Get(ctx, &hello); err != nil {
		return "", err
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 5 * time.Second})
	if err := workflow.ExecuteLocalActivity(lctx, Hello, "local").Get(ctx, &hello); err != nil {
		return "", err
	}
	var n int
	if err := workflow.SideEffect(ctx, func(workflow.Context) interface{} { return 42 }).Get(&n); err != nil {
		return "", err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		temporal.NewSearchAttributeKeyKeyword("CustomKeywordField").ValueSet("upserted")); err != nil {
		return "", err
	}
	if err := workflow.UpsertMemo(ctx, map[string]interface{}{"step": "memo"}); err != nil {
		return "", err
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child",
	})
	var child string
	if err := workflow.ExecuteChildWorkflow(cctx, CanChain, ChainInput{}).Get(ctx, &child); err != nil {
		return "", err
	}
	var sig interface{}
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &sig)
	err := workflow.ExecuteActivity(ctx, "Boom", sig).Get(ctx, nil)
	return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("mixed done (%v)", err), "MixedDone", nil)
}

func main() {
	address := flag.String("address", "127.0.0.1:21733", "Temporal frontend host:port")
	queue := flag.String("task-queue", "", "task queue to poll (required)")
	flag.Parse()
	if *queue == "" {
		log.Fatal("-task-queue is required")
	}
	c, err := client.Dial(client.Options{HostPort: *address})
	if err != nil {
		log.Fatalf("dial: %v", err)
	}
	defer c.Close()
	w := worker.New(c, *queue, worker.Options{})
	w.RegisterWorkflowWithOptions(CanChain, workflow.RegisterOptions{Name: "CanChain"})
	w.RegisterWorkflowWithOptions(TwoSignals, workflow.RegisterOptions{Name: "TwoSignals"})
	w.RegisterWorkflowWithOptions(FailFirstRun, workflow.RegisterOptions{Name: "FailFirstRun"})
	w.RegisterWorkflowWithOptions(GoGreet, workflow.RegisterOptions{Name: "GoGreet"})
	w.RegisterWorkflowWithOptions(Mixed, workflow.RegisterOptions{Name: "Mixed"})
	w.RegisterActivityWithOptions(Hello, activity.RegisterOptions{Name: "Hello"})
	w.RegisterActivityWithOptions(Boom, activity.RegisterOptions{Name: "Boom"})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	if err := w.Start(); err != nil {
		log.Fatalf("worker: %v", err)
	}
	fmt.Println("ready")
	<-stop
	w.Stop()
}

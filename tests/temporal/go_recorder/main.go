// Command recorder runs reference workflows on the official Go SDK worker against a Temporal
// server and saves their histories (serialized temporal.api.history.v1.History, as
// tc_history_load reads them) for the C runtime's replay tests (test_temporal_goreplay).
// Each workflow has an equivalent C function there; change both together.
//
//	go run . -address 127.0.0.1:21733 -out ../fixtures/go
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
)

var actOpts = workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second}

// Activities: each returns its own name; Wait heartbeats until cancelled.
func A(ctx context.Context) (string, error)    { return "A", nil }
func B(ctx context.Context) (string, error)    { return "B", nil }
func Tick(ctx context.Context) (string, error) { return "Tick", nil }
func Undo(ctx context.Context) (string, error) { return "Undo", nil }
func Wait(ctx context.Context) (string, error) {
	for i := 0; i < 600; i++ {
		activityHeartbeat(ctx)
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "not cancelled", nil
}

// PatchV1: activity A. PatchV2: GetVersion("use-b") picks B on new runs.
func PatchV1(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, actOpts)
	var r string
	err := workflow.ExecuteActivity(ctx, A).Get(ctx, &r)
	return r, err
}

func PatchV2(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, actOpts)
	act := A
	if workflow.GetVersion(ctx, "use-b", workflow.DefaultVersion, 1) == 1 {
		act = B
	}
	var r string
	err := workflow.ExecuteActivity(ctx, act).Get(ctx, &r)
	return r, err
}

// Cancel: Wait until the run is cancelled, then Undo in a disconnected context; ends CANCELED.
func Cancel(ctx workflow.Context) (string, error) {
	ao := actOpts
	ao.StartToCloseTimeout = time.Minute
	ao.HeartbeatTimeout = 2 * time.Second
	ctx = workflow.WithActivityOptions(ctx, ao)
	var r string
	err := workflow.ExecuteActivity(ctx, Wait).Get(ctx, &r)
	if err == nil {
		return r, nil
	}
	if !temporal.IsCanceledError(err) {
		return "", err
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if err := workflow.ExecuteActivity(dctx, Undo).Get(dctx, nil); err != nil {
		return "", err
	}
	return "", ctx.Err()
}

// Count: Tick, then continue as new with n+1 until n reaches 2.
func Count(ctx workflow.Context, n int) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, actOpts)
	if err := workflow.ExecuteActivity(ctx, Tick).Get(ctx, nil); err != nil {
		return 0, err
	}
	if n >= 2 {
		return n, nil
	}
	return 0, workflow.NewContinueAsNewError(ctx, Count, n+1)
}

// Race: a timer of ms against signal "go"; the loser timer is cancelled.
func Race(ctx workflow.Context, ms int) (string, error) {
	tctx, cancelTimer := workflow.WithCancel(ctx)
	timer := workflow.NewTimer(tctx, time.Duration(ms)*time.Millisecond)
	winner := ""
	s := workflow.NewSelector(ctx)
	s.AddFuture(timer, func(workflow.Future) { winner = "timer" })
	s.AddReceive(workflow.GetSignalChannel(ctx, "go"), func(c workflow.ReceiveChannel, more bool) {
		var v int
		c.Receive(ctx, &v)
		winner = "signal"
	})
	s.Select(ctx)
	if winner == "signal" {
		cancelTimer()
	}
	return winner, nil
}

// Side: a side effect's value, returned.
func Side(ctx workflow.Context) (int, error) {
	var v int
	err := workflow.SideEffect(ctx, func(workflow.Context) any { return 42 }).Get(&v)
	return v, err
}

func save(c client.Client, wid, rid, dir, name string) {
	it := c.GetWorkflowHistory(context.Background(), wid, rid, false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			log.Fatalf("history of %s: %v", wid, err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := proto.Marshal(h)
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, name+".history.pb")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: %d events -> %s", wid, len(h.Events), path)
}

func run(c client.Client, queue, wf string, args ...any) client.WorkflowRun {
	id := fmt.Sprintf("go-%s-%d", wf, time.Now().UnixNano())
	r, err := c.ExecuteWorkflow(context.Background(),
		client.StartWorkflowOptions{ID: id, TaskQueue: queue}, wf, args...)
	if err != nil {
		log.Fatalf("start %s: %v", wf, err)
	}
	return r
}

func startWorker(c client.Client, queue string, patchV2 bool) worker.Worker {
	w := worker.New(c, queue, worker.Options{})
	if patchV2 {
		w.RegisterWorkflowWithOptions(PatchV2, workflow.RegisterOptions{Name: "Patch"})
	} else {
		w.RegisterWorkflowWithOptions(PatchV1, workflow.RegisterOptions{Name: "Patch"})
	}
	w.RegisterWorkflow(Cancel)
	w.RegisterWorkflow(Count)
	w.RegisterWorkflow(Race)
	w.RegisterWorkflow(Side)
	for _, a := range []any{A, B, Tick, Undo, Wait} {
		w.RegisterActivity(a)
	}
	if err := w.Start(); err != nil {
		log.Fatal(err)
	}
	return w
}

func main() {
	address := flag.String("address", "127.0.0.1:21733", "Temporal frontend")
	out := flag.String("out", "fixtures", "folder for the histories")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: *address})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	queue := fmt.Sprintf("go-recorder-%d", time.Now().UnixNano())

	// v1 code: the unpatched history.
	w := startWorker(c, queue, false)
	r := run(c, queue, "Patch")
	if err := r.Get(ctx, nil); err != nil {
		log.Fatal(err)
	}
	save(c, r.GetID(), r.GetRunID(), *out, "go_unpatched")
	w.Stop()

	// v2 code for everything else.
	w = startWorker(c, queue, true)
	defer w.Stop()
	r = run(c, queue, "Patch")
	if err := r.Get(ctx, nil); err != nil {
		log.Fatal(err)
	}
	save(c, r.GetID(), r.GetRunID(), *out, "go_patched")

	r = run(c, queue, "Cancel")
	for {
		d, err := c.DescribeWorkflowExecution(ctx, r.GetID(), r.GetRunID())
		if err != nil {
			log.Fatal(err)
		}
		if len(d.PendingActivities) > 0 && d.PendingActivities[0].GetLastStartedTime() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.CancelWorkflow(ctx, r.GetID(), r.GetRunID()); err != nil {
		log.Fatal(err)
	}
	if err := r.Get(ctx, nil); !temporal.IsCanceledError(err) {
		log.Fatalf("Cancel ended with %v, want canceled", err)
	}
	save(c, r.GetID(), r.GetRunID(), *out, "go_cancel")

	r = run(c, queue, "Count", 0)
	first := r.GetRunID()
	var n int
	if err := r.Get(ctx, &n); err != nil {
		log.Fatal(err)
	}
	save(c, r.GetID(), first, *out, "go_continue_first")
	save(c, r.GetID(), "", *out, "go_continue_last")

	r = run(c, queue, "Race", 30000)
	if err := c.SignalWorkflow(ctx, r.GetID(), r.GetRunID(), "go", 1); err != nil {
		log.Fatal(err)
	}
	var winner string
	if err := r.Get(ctx, &winner); err != nil || winner != "signal" {
		log.Fatalf("race: %q %v", winner, err)
	}
	save(c, r.GetID(), r.GetRunID(), *out, "go_race_signal")
	r = run(c, queue, "Race", 200)
	if err := r.Get(ctx, &winner); err != nil || winner != "timer" {
		log.Fatalf("race: %q %v", winner, err)
	}
	save(c, r.GetID(), r.GetRunID(), *out, "go_race_timer")

	r = run(c, queue, "Side")
	if err := r.Get(ctx, &n); err != nil || n != 42 {
		log.Fatalf("side: %d %v", n, err)
	}
	save(c, r.GetID(), r.GetRunID(), *out, "go_side_effect")
	if errors.Is(ctx.Err(), context.Canceled) {
		os.Exit(1)
	}
}

// goworker: the reference worker, written with the official Go SDK, that implements every
// feature the harness knows from the features' READMEs and behaviour. The harness must pass on
// it (proving each check can pass) and fail on it with --broken (proving the checks can fail).
// Same command line as the C features-worker:
//
//	goworker --list
//	goworker --feature NAME --address HOST:PORT --namespace NS --task-queue Q   (until SIGTERM)
//	goworker --feature NAME --replay HISTORY.pb --workflow-type T --workflow-id ID --run-id RUN
//	                                                                             (exit 0 = replays)
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
)

// namedWorkflow / namedActivity register a Go function under the feature's type name.
type namedWorkflow struct {
	name string
	fn   any
}

type namedActivity struct {
	name string
	fn   any
}

// feature is what one feature folder needs on the worker side.
type feature struct {
	workflows  []namedWorkflow
	activities []namedActivity
	options    func(*worker.Options)
	// broken marks the features whose --broken variant misbehaves on purpose.
	broken bool
	// client changes the worker's client options (data converter, metrics, dialer).
	client func(*client.Options)
	// afterStart runs once the worker has started (a feature whose worker starts the workflow).
	afterStart func(c client.Client, taskQueue string) error
	// beforeReplay sets up process state the live worker had when the run ended (a replay runs
	// in a fresh process, where upstream replays in the worker's own).
	beforeReplay func()
}

var (
	features = map[string]*feature{}
	// broken makes the marked features misbehave, so the harness self-check can see them fail.
	broken bool
	// featureClient is the worker's client, for activities that signal their workflow.
	featureClient client.Client
)

func register(name string, f *feature) {
	if _, dup := features[name]; dup {
		panic("feature registered twice: " + name)
	}
	features[name] = f
}

func main() {
	var name, address, namespace, taskQueue, replay, replayID, replayRunID string
	var list bool
	flag.StringVar(&name, "feature", "", "feature to serve")
	flag.StringVar(&address, "address", "127.0.0.1:7233", "server HOST:PORT")
	flag.StringVar(&namespace, "namespace", "default", "namespace")
	flag.StringVar(&taskQueue, "task-queue", "", "task queue")
	flag.StringVar(&replay, "replay", "", "replay this binary History file and exit")
	flag.String("workflow-type", "", "the replayed history's workflow type (the Go replayer finds it itself)")
	flag.StringVar(&replayID, "workflow-id", "", "the replayed run's workflow id")
	flag.StringVar(&replayRunID, "run-id", "", "the replayed run's run id")
	flag.BoolVar(&broken, "broken", false, "misbehave in the features marked broken")
	flag.BoolVar(&list, "list", false, "list implemented features")
	flag.Parse()

	if list {
		names := make([]string, 0, len(features))
		for n, f := range features {
			if !broken || f.broken {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Println(n)
		}
		return
	}
	f, ok := features[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "goworker: unknown feature %q\n", name)
		os.Exit(2)
	}
	if replay != "" {
		if err := replayFile(f, replay, replayID, replayRunID); err != nil {
			fmt.Fprintf(os.Stderr, "goworker: replay failed: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := serve(f, address, namespace, taskQueue); err != nil {
		fmt.Fprintf(os.Stderr, "goworker: %v\n", err)
		os.Exit(1)
	}
}

func registerAll(f *feature, r worker.Registry) {
	for _, w := range f.workflows {
		r.RegisterWorkflowWithOptions(w.fn, workflow.RegisterOptions{Name: w.name})
	}
	for _, a := range f.activities {
		r.RegisterActivityWithOptions(a.fn, activity.RegisterOptions{Name: a.name})
	}
}

func serve(f *feature, address, namespace, taskQueue string) error {
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr,
		&slog.HandlerOptions{Level: slog.LevelWarn})))
	copts := client.Options{HostPort: address, Namespace: namespace, Logger: logger}
	if f.client != nil {
		f.client(&copts)
	}
	c, err := client.Dial(copts)
	if err != nil {
		return err
	}
	defer c.Close()
	featureClient = c
	opts := worker.Options{
		// Heartbeats reach the server at once, as the C worker sends them, so cancellations are
		// seen within a heartbeat interval.
		MaxHeartbeatThrottleInterval: 100 * time.Millisecond,
		WorkflowPanicPolicy:          worker.FailWorkflow,
	}
	if f.options != nil {
		f.options(&opts)
	}
	w := worker.New(c, taskQueue, opts)
	registerAll(f, w)
	if err := w.Start(); err != nil {
		return err
	}
	if f.afterStart != nil {
		if err := f.afterStart(c, taskQueue); err != nil {
			w.Stop()
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	w.Stop()
	return nil
}

// replayFile replays the history twice in this process: a second replay catches state an SDK
// wrongly keeps or changes across replays (update/validation_replay relies on it).
func replayFile(f *feature, path, workflowID, runID string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var h historypb.History
	if err := proto.Unmarshal(data, &h); err != nil {
		return err
	}
	if f.beforeReplay != nil {
		f.beforeReplay()
	}
	var copts client.Options
	if f.client != nil {
		f.client(&copts)
	}
	rp, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter: copts.DataConverter, FailureConverter: copts.FailureConverter,
	})
	if err != nil {
		return err
	}
	for _, w := range f.workflows {
		rp.RegisterWorkflowWithOptions(w.fn, workflow.RegisterOptions{Name: w.name})
	}
	opts := worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: workflowID, RunID: runID},
	}
	for i := 0; i < 2; i++ {
		if err := rp.ReplayWorkflowHistoryWithOptions(nil, &h, opts); err != nil {
			return err
		}
	}
	return nil
}

// Runs one feature: its own task queue, its worker as a child process (the C features-worker or
// the Go reference worker), the feature's execute / result / history steps, and the worker's stop.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Runner holds what one feature run needs; features use it as the upstream harness's Runner.
type Runner struct {
	cfg       *Config
	Feature   *Feature
	Client    client.Client
	Namespace string
	TaskQueue string
	// Address is the server the worker dials (the proxy's when the feature uses one).
	Address    string
	Proxy      *Proxy
	CreateTime time.Time
	// Env is added to the worker's environment (after Feature.WorkerEnv).
	Env []string

	// State some features keep between their steps.
	resetOriginal string
	metricsAddr   string
	connect       *connectProxy

	mu          sync.Mutex
	worker      *workerProc
	seenPollers map[string]bool
	starts      int
	logPath     string
	// failCause cancels the feature's context when the worker dies on its own.
	failCause context.CancelCauseFunc
	cleanups  []func()
}

// Defer registers a cleanup run (last first) when the feature ends.
func (r *Runner) Defer(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *Runner) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

type workerProc struct {
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopping bool
}

func newRunner(cfg *Config, f *Feature, c client.Client, cancel context.CancelCauseFunc) *Runner {
	safe := strings.ReplaceAll(f.Name, "/", "-")
	return &Runner{
		cfg:         cfg,
		Feature:     f,
		Client:      c,
		Namespace:   cfg.Namespace,
		TaskQueue:   fmt.Sprintf("features-%s-%s", safe, shortID()),
		Address:     cfg.Address,
		CreateTime:  time.Now(),
		seenPollers: map[string]bool{},
		logPath:     filepath.Join(cfg.LogDir, safe+".log"),
		failCause:   cancel,
	}
}

// WorkerReport returns the value of the last "FEATURE-REPORT key=value" line the worker printed
// (features whose facts only the worker process knows report them this way), "" if none.
func (r *Runner) WorkerReport(key string) string {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return ""
	}
	val := ""
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "FEATURE-REPORT "+key+"="); ok {
			val = strings.TrimSpace(rest)
		}
	}
	return val
}

// LogPath is the file that collects the worker's stdout and stderr for this feature.
func (r *Runner) LogPath() string { return r.logPath }

// StartWorker starts the feature's worker process and waits until it polls the task queue.
func (r *Runner) StartWorker(ctx context.Context) error {
	r.mu.Lock()
	if r.worker != nil {
		r.mu.Unlock()
		return errors.New("worker already running")
	}
	r.mu.Unlock()
	args := append(append([]string{}, r.cfg.WorkerArgs...), "--feature", r.Feature.Name,
		"--address", r.Address, "--namespace", r.Namespace, "--task-queue", r.TaskQueue)
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== start %s %s\n", r.cfg.Worker, strings.Join(args, " "))
	cmd := exec.Command(r.cfg.Worker, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(append(os.Environ(), r.Feature.WorkerEnv...), r.Env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting worker: %w", err)
	}
	w := &workerProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		w.waitErr = cmd.Wait()
		logf.Close()
		close(w.done)
		r.mu.Lock()
		stopping := w.stopping
		r.mu.Unlock()
		if !stopping && r.failCause != nil {
			r.failCause(fmt.Errorf("worker exited on its own (%v); see %s", w.waitErr, r.logPath))
		}
	}()
	r.mu.Lock()
	r.worker = w
	r.starts++
	r.mu.Unlock()
	return r.waitPolling(ctx, w)
}

// waitPolling waits until a poller that was not there before shows up on the workflow task queue
// (the server lists pollers by identity), or the worker exits.
func (r *Runner) waitPolling(ctx context.Context, w *workerProc) error {
	for {
		resp, err := r.Client.DescribeTaskQueue(ctx, r.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil {
			fresh := ""
			for _, p := range resp.GetPollers() {
				if !r.seenPollers[p.GetIdentity()] {
					fresh = p.GetIdentity()
				}
			}
			if fresh != "" {
				for _, p := range resp.GetPollers() {
					r.seenPollers[p.GetIdentity()] = true
				}
				return nil
			}
		}
		select {
		case <-w.done:
			return fmt.Errorf("worker exited before polling (%v): %s", w.waitErr, tail(r.logPath))
		case <-ctx.Done():
			return fmt.Errorf("waiting for the worker to poll: %w", context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StopWorker sends SIGTERM and waits for a clean exit (status 0: a leak report or a crash in the
// worker fails the feature). It returns how long the stop took.
func (r *Runner) StopWorker() (time.Duration, error) {
	r.mu.Lock()
	w := r.worker
	r.worker = nil
	if w != nil {
		w.stopping = true
	}
	r.mu.Unlock()
	if w == nil {
		return 0, nil
	}
	start := time.Now()
	select {
	case <-w.done:
		return 0, fmt.Errorf("worker had already exited (%v): %s", w.waitErr, tail(r.logPath))
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(r.cfg.StopTimeout):
		_ = w.cmd.Process.Kill()
		<-w.done
		return time.Since(start), fmt.Errorf("worker did not exit within %s of SIGTERM", r.cfg.StopTimeout)
	}
	elapsed := time.Since(start)
	if w.waitErr != nil {
		return elapsed, fmt.Errorf("worker exited with %v after SIGTERM: %s", w.waitErr, tail(r.logPath))
	}
	return elapsed, nil
}

// WorkerPID is the running worker's process id (0 when none).
func (r *Runner) WorkerPID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.worker == nil {
		return 0
	}
	return r.worker.cmd.Process.Pid
}

// StartOptions are the upstream harness's defaults: the feature's task queue and a one-minute
// execution timeout, then the feature's own changes.
func (r *Runner) StartOptions() client.StartWorkflowOptions {
	o := client.StartWorkflowOptions{
		ID:                       fmt.Sprintf("%s-%s", r.Feature.Name, shortID()),
		TaskQueue:                r.TaskQueue,
		WorkflowExecutionTimeout: time.Minute,
	}
	if r.Feature.StartOptions != nil {
		r.Feature.StartOptions(&o)
	}
	return o
}

// ExecuteDefault starts the feature's workflow with no arguments.
func (r *Runner) ExecuteDefault(ctx context.Context) (client.WorkflowRun, error) {
	return r.Client.ExecuteWorkflow(ctx, r.StartOptions(), r.Feature.workflowType())
}

// ExecuteWithArgs starts the feature's workflow with the given arguments.
func (r *Runner) ExecuteWithArgs(ctx context.Context, args ...any) (client.WorkflowRun, error) {
	return r.Client.ExecuteWorkflow(ctx, r.StartOptions(), r.Feature.workflowType(), args...)
}

// CheckResultDefault waits for the run and checks it against ExpectActivityError /
// ExpectRunResult, as the upstream default does.
func (r *Runner) CheckResultDefault(ctx context.Context, run client.WorkflowRun) error {
	var actualPtr any
	if r.Feature.ExpectRunResult != nil {
		actualPtr = reflect.New(reflect.TypeOf(r.Feature.ExpectRunResult)).Interface()
	}
	err := run.Get(ctx, actualPtr)
	if r.Feature.ExpectActivityError != "" {
		var actErr *temporal.ActivityError
		if !errors.As(err, &actErr) {
			return fmt.Errorf("expected activity error, got: %v", err)
		}
		if got := errString(actErr.Unwrap()); got != r.Feature.ExpectActivityError {
			return fmt.Errorf("activity error string mismatch: want %q, got %q", r.Feature.ExpectActivityError, got)
		}
	} else if err != nil {
		return fmt.Errorf("expected success, got: %w", err)
	}
	if actualPtr != nil {
		return expectEqual("run result", r.Feature.ExpectRunResult, reflect.ValueOf(actualPtr).Elem().Interface())
	}
	return nil
}

// CheckHistoryDefault replays every workflow run of the feature's task queue on the worker's own
// code (`--replay`), as the upstream default replays on the SDK under test.
func (r *Runner) CheckHistoryDefault(ctx context.Context, _ client.WorkflowRun) error {
	execs, err := r.closedExecutions(ctx)
	if err != nil {
		return err
	}
	for i, e := range execs {
		hist, err := r.History(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId())
		if err != nil {
			return err
		}
		if err := r.Replay(ctx, hist, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(),
			fmt.Sprintf("run%d", i)); err != nil {
			return fmt.Errorf("replaying %s (run %s): %w", e.GetExecution().GetWorkflowId(),
				e.GetExecution().GetRunId(), err)
		}
	}
	return nil
}

// Replay writes a history as a binary temporal.api.history.v1.History file and replays it with
// `WORKER --feature NAME --replay FILE --workflow-type T --workflow-id ID --run-id RUN`; a non-zero
// exit is a replay failure.
func (r *Runner) Replay(ctx context.Context, hist *historypb.History, workflowID, runID, tag string) error {
	data, err := proto.Marshal(hist)
	if err != nil {
		return err
	}
	path := strings.TrimSuffix(r.logPath, ".log") + "." + tag + ".history.pb"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	wfType := ""
	if evs := hist.GetEvents(); len(evs) > 0 {
		wfType = evs[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
	}
	args := append(append([]string{}, r.cfg.WorkerArgs...), "--feature", r.Feature.Name, "--replay", path,
		"--workflow-type", wfType, "--workflow-id", workflowID, "--run-id", runID)
	cmd := exec.CommandContext(ctx, r.cfg.Worker, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(append(os.Environ(), r.Feature.WorkerEnv...), r.Env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, lastLines(out.String(), 6))
	}
	return nil
}

// closedExecutions lists the runs started on the feature's task queue, waiting (as upstream does)
// until none is still running.
func (r *Runner) closedExecutions(ctx context.Context) ([]*workflowpb.WorkflowExecutionInfo, error) {
	query := fmt.Sprintf("TaskQueue = '%s'", r.TaskQueue)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var execs []*workflowpb.WorkflowExecutionInfo
		var token []byte
		for {
			resp, err := r.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: r.Namespace, PageSize: 1000, NextPageToken: token, Query: query,
			})
			if err != nil {
				return nil, fmt.Errorf("listing workflows: %w", err)
			}
			execs = append(execs, resp.GetExecutions()...)
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
		running := 0
		for _, e := range execs {
			if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				running++
			}
		}
		if running == 0 && len(execs) > 0 {
			return execs, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("history check: %d run(s) listed, %d still running", len(execs), running)
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// History fetches a run's full history.
func (r *Runner) History(ctx context.Context, workflowID, runID string) (*historypb.History, error) {
	iter := r.Client.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("fetching history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}

// WaitForEvent polls a run's history until an event matches (the upstream helper).
func (r *Runner) WaitForEvent(ctx context.Context, run client.WorkflowRun, what string,
	match func(*historypb.HistoryEvent) bool, timeout time.Duration) (*historypb.HistoryEvent, error) {
	deadline := time.Now().Add(timeout)
	for {
		h, err := r.History(ctx, run.GetID(), run.GetRunID())
		if err == nil {
			for _, ev := range h.Events {
				if match(ev) {
					return ev, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no %s event in %s after %s", what, run.GetID(), timeout)
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// QueryUntil queries until the value equals want (queries that fail because the workflow has
// not run its first task yet are retried), as the upstream QueryUntilEventually.
func (r *Runner) QueryUntil(ctx context.Context, run client.WorkflowRun, query string, want any,
	timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		v, err := r.Client.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), query)
		if err == nil {
			got := reflect.New(reflect.TypeOf(want)).Interface()
			if err = v.Get(got); err == nil {
				if last = expectEqual("query "+query, want, reflect.ValueOf(got).Elem().Interface()); last == nil {
					return nil
				}
			} else {
				last = err
			}
		} else {
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("query %s never returned %v: %v", query, want, last)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DescribeQueue lists the pollers of one of the feature task queue's types.
func (r *Runner) DescribeQueue(ctx context.Context, t enumspb.TaskQueueType) ([]*taskqueuepb.PollerInfo, error) {
	resp, err := r.Client.DescribeTaskQueue(ctx, r.TaskQueue, t)
	if err != nil {
		return nil, err
	}
	return resp.GetPollers(), nil
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no worker log)"
	}
	return lastLines(string(b), 8)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// gosdk-worker: the official Go SDK's worker running the same OrderWorkflow and ten activities
// as orchestrator-temporal's embedded C worker, for benchmarks side by side (bench/gosdk).
//
//	gosdk-worker worker            poll TEMPORAL_TASK_QUEUE until SIGTERM/SIGINT
//	gosdk-worker run [-task-queue Q] [-id order-…] '{"customerId":1,…}'
//	                               start one OrderWorkflow with the Go SDK client, print its result
//
// Settings come from the same environment variables as orchestrator-temporal
// (docs/configuration.md): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE,
// ORDER_ACTIVITY_MODE (remote|local), ORDER_SERVICE_URL, INVENTORY_SERVICE_URL,
// PAYMENT_SERVICE_URL, ACTIVITY_START_TO_CLOSE_MS, SERVICE_CALL_TIMEOUT_MS,
// WORKER_WORKFLOW_POLLERS, WORKER_ACTIVITY_POLLERS, WORKER_MAX_ACTIVITIES, WORKER_STICKY_CACHE.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func env(name, dflt string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return dflt
}

// envInt reads an integer setting in [lo, hi]; anything else stops the program with a message.
func envInt(name string, dflt, lo, hi int) int {
	v := os.Getenv(name)
	if v == "" {
		return dflt
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		fatalf("%s=%q: expected an integer in %d..%d", name, v, lo, hi)
	}
	return n
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gosdk-worker: "+format+"\n", args...)
	os.Exit(2)
}

func dial() client.Client {
	level := slog.LevelWarn
	if env("LOG_LEVEL", "warn") == "debug" || env("LOG_LEVEL", "warn") == "info" {
		level = slog.LevelInfo
	}
	logger := tlog.NewStructuredLogger(slog.New(slog.NewJSONHandler(os.Stderr,
		&slog.HandlerOptions{Level: level})))
	c, err := client.Dial(client.Options{
		HostPort:  env("TEMPORAL_ADDRESS", "127.0.0.1:21733"),
		Namespace: env("TEMPORAL_NAMESPACE", "default"),
		Logger:    logger,
	})
	if err != nil {
		fatalf("temporal client: %v", err)
	}
	return c
}

func runWorker() int {
	switch mode := env("ORDER_ACTIVITY_MODE", "remote"); mode {
	case "remote":
	case "local":
		wfOpts.local = true
	default:
		fatalf("ORDER_ACTIVITY_MODE=%q: expected remote or local", mode)
	}
	wfOpts.activityTimeout = time.Duration(envInt("ACTIVITY_START_TO_CLOSE_MS", 30000, 1000,
		3600000)) * time.Millisecond
	wfOpts.concurrentConfirms = env("ORDER_CONCURRENT_CONFIRMS", "1") != "0"
	// The C worker's defaults, so both workers run with the same parallelism.
	worker.SetStickyWorkflowCacheSize(envInt("WORKER_STICKY_CACHE", 100, 0, 100000))
	acts := newActivities(env("ORDER_SERVICE_URL", "http://127.0.0.1:21082"),
		env("INVENTORY_SERVICE_URL", "http://127.0.0.1:21083"),
		env("PAYMENT_SERVICE_URL", "http://127.0.0.1:21084"),
		time.Duration(envInt("SERVICE_CALL_TIMEOUT_MS", 10000, 100, 600000))*time.Millisecond)
	queue := env("TEMPORAL_TASK_QUEUE", "order-task-queue")
	c := dial()
	defer c.Close()
	w := worker.New(c, queue, worker.Options{
		MaxConcurrentWorkflowTaskPollers:        envInt("WORKER_WORKFLOW_POLLERS", 4, 2, 64),
		MaxConcurrentActivityTaskPollers:        envInt("WORKER_ACTIVITY_POLLERS", 4, 1, 64),
		MaxConcurrentActivityExecutionSize:      envInt("WORKER_MAX_ACTIVITIES", 8, 1, 256),
		MaxConcurrentLocalActivityExecutionSize: envInt("WORKER_MAX_ACTIVITIES", 8, 1, 256),
		WorkerStopTimeout:                       10 * time.Second,
	})
	w.RegisterWorkflowWithOptions(OrderWorkflow, workflow.RegisterOptions{Name: "OrderWorkflow"})
	for _, name := range activityTypes() {
		w.RegisterActivityWithOptions(acts.handler(name), activity.RegisterOptions{Name: name})
	}
	if err := w.Start(); err != nil {
		fatalf("worker on %s: %v", queue, err)
	}
	fmt.Fprintf(os.Stderr, "gosdk-worker: polling %s (mode %s)\n", queue,
		env("ORDER_ACTIVITY_MODE", "remote"))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	w.Stop()
	return 0
}

func newWorkflowID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		fatalf("randomness: %v", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("order-%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// runOne starts one OrderWorkflow with the JSON input as is and prints its result.
func runOne(args []string) int {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	queue := fs.String("task-queue", env("TEMPORAL_TASK_QUEUE", "order-task-queue"), "task queue")
	id := fs.String("id", "", "workflow id (default order-<uuid>)")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the result")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		fatalf("run: one JSON order argument expected")
	}
	var input json.RawMessage
	if err := json.Unmarshal([]byte(fs.Arg(0)), &input); err != nil {
		fatalf("run: the order is not JSON: %v", err)
	}
	if *id == "" {
		*id = newWorkflowID()
	}
	c := dial()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: *id, TaskQueue: *queue},
		"OrderWorkflow", input)
	if err != nil {
		fatalf("start: %v", err)
	}
	var res OrderResult
	if err := run.Get(ctx, &res); err != nil {
		fatalf("run %s: %v", *id, err)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return 0
}

func main() {
	if len(os.Args) < 2 {
		fatalf("usage: gosdk-worker worker | run [-task-queue Q] [-id ID] '<order JSON>'")
	}
	switch os.Args[1] {
	case "worker":
		os.Exit(runWorker())
	case "run":
		os.Exit(runOne(os.Args[2:]))
	}
	fatalf("unknown command %q", os.Args[1])
}

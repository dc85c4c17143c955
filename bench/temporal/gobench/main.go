// gobench: the official Go SDK worker for bench_temporal's --go-worker, running the same
// workflow as the C worker it is compared with: Bench = K sequential Noop activities (remote or
// local), Noop returns its input, after one HTTP GET to a responder in this process with -http.
//
//	gobench -task-queue Q -activities K -mode remote|local -http true|false
//
// It polls until SIGTERM/SIGINT; bench_temporal reads its CPU and RSS from wait4.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

var (
	acts    = flag.Int("activities", 1, "activities per workflow")
	mode    = flag.String("mode", "remote", "remote or local activities")
	useHTTP = flag.Bool("http", false, "one HTTP GET per activity")
	url     string
	hc      = &http.Client{Timeout: 5 * time.Second}
)

// Noop returns its input, after one local HTTP round trip with -http (a saga step's call).
func Noop(ctx context.Context, in int) (int, error) {
	if *useHTTP {
		resp, err := hc.Get(url)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return in, nil
}

// Bench runs the activities one after the other and returns "ok".
func Bench(ctx workflow.Context) (string, error) {
	ao := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	lo := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for i := 0; i < *acts; i++ {
		var f workflow.Future
		if *mode == "local" {
			f = workflow.ExecuteLocalActivity(lo, "Noop", 1)
		} else {
			f = workflow.ExecuteActivity(ao, "Noop", 1)
		}
		if err := f.Get(ctx, nil); err != nil {
			return "", err
		}
	}
	return "ok", nil
}

func main() {
	address := flag.String("address", os.Getenv("TEMPORAL_ADDRESS"), "frontend host:port")
	queue := flag.String("task-queue", "", "task queue")
	flag.Parse()
	if *address == "" {
		*address = "127.0.0.1:21733"
	}
	if *useHTTP {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		url = fmt.Sprintf("http://%s/", ln.Addr())
		go func() {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte("{}"))
			}))
		}()
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := client.Dial(client.Options{HostPort: *address, Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, *queue, worker.Options{})
	w.RegisterWorkflowWithOptions(Bench, workflow.RegisterOptions{Name: "Bench"})
	w.RegisterActivityWithOptions(Noop, activity.RegisterOptions{Name: "Noop"})
	if err := w.Run(worker.InterruptCh()); err != nil {
		log.Fatal(err)
	}
}

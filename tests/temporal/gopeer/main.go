// gopeer: an official Go SDK worker for the C client's interop tests. It runs CanChain, a
// workflow that continues as new n times and then returns a text naming how many runs it took,
// so tc_workflow_result can be checked against a real continue-as-new chain.
//
//	gopeer -address 127.0.0.1:21733 -task-queue Q    poll Q until SIGTERM/SIGINT
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/client"
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
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	if err := w.Start(); err != nil {
		log.Fatalf("worker: %v", err)
	}
	fmt.Println("ready")
	<-stop
	w.Stop()
}

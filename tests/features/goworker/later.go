// Reference implementations of the other issue 11 features: eager workflow start and eager
// activities, reset, activity shutdown, the binary / codec / failure converters, schedules,
// metrics and the HTTP CONNECT proxy.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"

	"ordersaga/tests/features/wire"
)

func init() {
	register("eager_workflow/successful_start", &feature{
		workflows: []namedWorkflow{{"Workflow", func(workflow.Context) (string, error) { return "Hello World", nil }}},
		client:    eagerStartClient,
		afterStart: func(c client.Client, taskQueue string) error {
			id := os.Getenv("FEATURE_START_WORKFLOW_ID")
			_, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
				ID: id, TaskQueue: taskQueue, EnableEagerStart: true, WorkflowTaskTimeout: time.Hour,
				WorkflowExecutionTimeout: time.Minute,
			}, "Workflow")
			fmt.Printf("FEATURE-REPORT eager=%d\n", eagerStarts.Load())
			return err
		},
	})
	register("eager_activity/non_remote_activities_worker", &feature{
		workflows:  []namedWorkflow{{"Workflow", nonRemoteActivitiesWorkflow}},
		activities: []namedActivity{{"Dummy", func(context.Context) error { return nil }}},
		options:    func(o *worker.Options) { o.LocalActivityWorkerOnly = true },
	})
	register("reset/reset_and_delete", &feature{workflows: []namedWorkflow{{"Workflow", resetWorkflow}}})
	register("activity/shutdown", &feature{
		workflows: []namedWorkflow{{"Workflow", shutdownWorkflow}},
		activities: []namedActivity{
			{"CancelSuccess", func(ctx context.Context) error { <-activity.GetWorkerStopChannel(ctx); return nil }},
			{"CancelFailure", func(ctx context.Context) error {
				<-activity.GetWorkerStopChannel(ctx)
				return errors.New("worker is shutting down")
			}},
			{"CancelIgnore", func(context.Context) error { time.Sleep(15 * time.Second); return nil }},
		},
		options: func(o *worker.Options) { o.WorkerStopTimeout = time.Second },
	})
	register("data_converter/binary", &feature{
		workflows: []namedWorkflow{{"Workflow", func(_ workflow.Context, b []byte) ([]byte, error) { return b, nil }}},
	})
	register("data_converter/codec", &feature{
		workflows: []namedWorkflow{{"Workflow", jsonEchoWorkflow}},
		client: func(o *client.Options) {
			o.DataConverter = converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), wire.Base64{})
		},
	})
	register("data_converter/failure", &feature{
		workflows: []namedWorkflow{{"Workflow", func(workflow.Context) error {
			return temporal.NewApplicationErrorWithCause("main error", "customType", errors.New("cause error"))
		}}},
		client: func(o *client.Options) {
			o.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
				EncodeCommonAttributes: true,
			})
		},
	})
	echoArg := func(_ workflow.Context, s string) (string, error) { return s, nil }
	register("schedule/basic", &feature{workflows: []namedWorkflow{{"BasicScheduleWorkflow", echoArg}}})
	register("schedule/backfill", &feature{workflows: []namedWorkflow{{"Workflow", echoArg}}})
	register("schedule/pause", &feature{workflows: []namedWorkflow{{"Workflow", echoArg}}})
	register("schedule/trigger", &feature{workflows: []namedWorkflow{{"Workflow", echoArg}}})
	register("schedule/duplicate_error", &feature{workflows: []namedWorkflow{{"Workflow", func(workflow.Context) error { return nil }}}})
	register("schedule/cron", &feature{workflows: []namedWorkflow{{"Workflow", func(ctx workflow.Context) (string, error) {
		if workflow.GetInfo(ctx).CronSchedule != "@every 2s" {
			return "", errors.New("invalid cron schedule")
		}
		return "", nil
	}}}})
	register("telemetry/metrics", &feature{
		workflows:  []namedWorkflow{{"Workflow", metricsWorkflow}},
		activities: []namedActivity{{"CommaJoin", commaJoin}},
		client:     metricsClient,
	})
	for _, name := range []string{"client/http_proxy", "client/http_proxy_auth"} {
		register(name, &feature{
			workflows: []namedWorkflow{{"Workflow", func(workflow.Context) (string, error) { return "done", nil }}},
			client:    proxyDialer,
		})
	}
}

// ---- eager workflow start: count starts answered with their first workflow task.

var eagerStarts atomicCounter

type atomicCounter struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCounter) Add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *atomicCounter) Load() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func eagerStartClient(o *client.Options) {
	o.ConnectionOptions.DialOptions = append(o.ConnectionOptions.DialOptions, grpc.WithUnaryInterceptor(
		func(ctx context.Context, method string, req, resp any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			eager := false
			if r, ok := req.(*workflowservice.StartWorkflowExecutionRequest); ok {
				eager = r.GetRequestEagerExecution()
			}
			err := invoker(ctx, method, req, resp, cc, opts...)
			if r, ok := resp.(*workflowservice.StartWorkflowExecutionResponse); ok && err == nil && eager && r.GetEagerWorkflowTask() != nil {
				eagerStarts.Add()
			}
			return err
		}))
}

func nonRemoteActivitiesWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ScheduleToCloseTimeout: 3 * time.Second})
	err := workflow.ExecuteActivity(ctx, "Dummy").Get(ctx, nil)
	if err == nil {
		return errors.New("expected activity to time out")
	}
	var te *temporal.TimeoutError
	if !errors.As(err, &te) {
		return fmt.Errorf("expected a TimeoutError, got: %s", err)
	}
	if te.TimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
		return fmt.Errorf("expected SCHEDULE_TO_START timeout, got: %s", te.TimeoutType())
	}
	return nil
}

func resetWorkflow(ctx workflow.Context) (string, error) {
	ch := workflow.GetSignalChannel(ctx, "sig")
	for {
		var s string
		ch.Receive(ctx, &s)
		if s != "" {
			return "", nil
		}
	}
}

func shutdownWorkflow(ctx workflow.Context) (string, error) {
	graceful := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: 30 * time.Second, RetryPolicy: retryDisabled,
	})
	ignore := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: 300 * time.Millisecond, RetryPolicy: retryDisabled,
	})
	f0 := workflow.ExecuteActivity(graceful, "CancelSuccess")
	f1 := workflow.ExecuteActivity(graceful, "CancelFailure")
	f2 := workflow.ExecuteActivity(ignore, "CancelIgnore")
	if err := f0.Get(ctx, nil); err != nil {
		return "", fmt.Errorf("expected activity to succeed, got %v", err)
	}
	if err := f1.Get(ctx, nil); err == nil || !strings.Contains(err.Error(), "worker is shutting down") {
		return "", fmt.Errorf("expected activity to fail with 'worker is shutting down', got %v", err)
	}
	if err := f2.Get(ctx, nil); err == nil || !strings.Contains(err.Error(), "(type: ScheduleToClose)") {
		return "", fmt.Errorf("expected activity to fail with ScheduleToClose timeout, got %v", err)
	}
	return "done", nil
}

// ---- telemetry/metrics: an in-memory metrics handler served in the Prometheus text format on
// FEATURE_METRICS_ADDR.

type promRegistry struct {
	mu       sync.Mutex
	counters map[string]int64 // name{labels} -> value
}

type promHandler struct {
	reg  *promRegistry
	tags map[string]string
}

func (h promHandler) WithTags(t map[string]string) client.MetricsHandler {
	m := map[string]string{}
	for k, v := range h.tags {
		m[k] = v
	}
	for k, v := range t {
		m[k] = v
	}
	return promHandler{h.reg, m}
}

func (h promHandler) key(name string) string {
	keys := make([]string, 0, len(h.tags))
	for k := range h.tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, h.tags[k])
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

type promCounter struct {
	reg *promRegistry
	key string
}

func (c promCounter) Inc(n int64) {
	c.reg.mu.Lock()
	c.reg.counters[c.key] += n
	c.reg.mu.Unlock()
}

type nopGauge struct{}

func (nopGauge) Update(float64) {}

type nopTimer struct{}

func (nopTimer) Record(time.Duration) {}

func (h promHandler) Counter(name string) client.MetricsCounter {
	return promCounter{h.reg, h.key(name)}
}
func (h promHandler) Gauge(string) client.MetricsGauge { return nopGauge{} }
func (h promHandler) Timer(string) client.MetricsTimer { return nopTimer{} }

func (reg *promRegistry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	keys := make([]string, 0, len(reg.counters))
	for k := range reg.counters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bw := bufio.NewWriter(w)
	for _, k := range keys {
		fmt.Fprintf(bw, "%s %d\n", k, reg.counters[k])
	}
	_ = bw.Flush()
}

func metricsClient(o *client.Options) {
	addr := os.Getenv("FEATURE_METRICS_ADDR")
	if addr == "" {
		return // replay: no metrics to serve
	}
	reg := &promRegistry{counters: map[string]int64{}}
	o.MetricsHandler = promHandler{reg: reg}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "goworker: metrics listener: %v\n", err)
		return
	}
	go func() { _ = http.Serve(l, reg) }()
}

func metricsWorkflow(ctx workflow.Context) (string, error) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"mytag": "mytagvalue"}).Counter("my_workflow_counter").Inc(2)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ScheduleToCloseTimeout: time.Minute})
	var s string
	if err := workflow.ExecuteActivity(ctx, "CommaJoin", []string{"foo", "bar"}).Get(ctx, &s); err != nil {
		return "", err
	}
	if err := workflow.ExecuteActivity(ctx, "CommaJoin", []string{s, "baz"}).Get(ctx, &s); err != nil {
		return "", err
	}
	return s, nil
}

func commaJoin(ctx context.Context, strs []string) (string, error) {
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{"mytag": "mytagvalue"}).Counter("my_activity_counter").Inc(2)
	return strings.Join(strs, ", "), nil
}

// ---- client/http_proxy(_auth): dial the server through the HTTP CONNECT proxy in
// FEATURE_HTTP_PROXY (Go's own proxy support skips loopback servers, so the tunnel is made here).

func proxyDialer(o *client.Options) {
	u, err := url.Parse(os.Getenv("FEATURE_HTTP_PROXY"))
	if err != nil || u.Host == "" {
		return
	}
	o.ConnectionOptions.DialOptions = append(o.ConnectionOptions.DialOptions,
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", u.Host)
			if err != nil {
				return nil, err
			}
			req := fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\n", addr, addr)
			if u.User != nil {
				pw, _ := u.User.Password()
				req += "Proxy-Authorization: Basic " +
					base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)) + "\r\n"
			}
			if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
				conn.Close()
				return nil, err
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
			if err != nil {
				conn.Close()
				return nil, err
			}
			if resp.StatusCode != http.StatusOK {
				conn.Close()
				return nil, fmt.Errorf("proxy CONNECT: %s", resp.Status)
			}
			return conn, nil
		}))
}

// The other issue 11 features: eager workflow start and eager activities, reset, activity
// shutdown, the binary / codec / failure converters, schedules, metrics and the HTTP CONNECT
// proxy; and the features of the project's list that have no folder upstream.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"ordersaga/tests/features/wire"
)

func init() {
	register(
		&Feature{
			Name: "eager_workflow/successful_start", Issue: 11, Source: "go",
			Prepare:     prepareEagerStart,
			Execute:     executeEagerStart,
			CheckResult: checkEagerStart,
		},
		&Feature{Name: "eager_activity/non_remote_activities_worker", Issue: 11, Source: "go"},
		&Feature{
			Name: "reset/reset_and_delete", Issue: 11, Source: "go",
			Execute: executeReset, CheckResult: checkReset, CheckHistory: NoHistoryCheck,
		},
		&Feature{
			Name: "activity/shutdown", Issue: 11, Source: "go", ExpectRunResult: "done",
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				run, err := r.ExecuteDefault(ctx)
				if err != nil {
					return nil, err
				}
				if _, err := r.WaitForEvent(ctx, run, "ActivityTaskScheduled", func(ev *historyEvent) bool {
					return ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
				}, 5*time.Second); err != nil {
					return nil, err
				}
				if _, err := r.StopWorker(); err != nil {
					return nil, err
				}
				return run, r.StartWorker(ctx)
			},
		},
		&Feature{
			Name: "data_converter/binary", Issue: 11, Source: "go",
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				return r.ExecuteWithArgs(ctx, []byte{0xde, 0xad, 0xbe, 0xef})
			},
			CheckResult: checkBinary,
		},
		&Feature{
			Name: "data_converter/codec", Issue: 11, Source: "go",
			ClientOptions: func(o *client.Options) {
				o.DataConverter = converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), wire.Base64{})
			},
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				return r.ExecuteWithArgs(ctx, jsonMessage{Spec: true})
			},
			CheckResult: checkCodec,
		},
		&Feature{Name: "data_converter/failure", Issue: 11, Source: "go", CheckResult: checkEncodedFailure},
		&Feature{Name: "data_converter/compression", Issue: 11,
			NotUpstream: "not required yet (issue 11): no such folder in temporalio/features at the commit read"},
		&Feature{Name: "data_converter/encryption", Issue: 11,
			NotUpstream: "not required yet (issue 11): no such folder in temporalio/features at the commit read"},
		&Feature{Name: "grpc_retry/*", Issue: 11,
			NotUpstream: "not required yet (issue 11): no grpc_retry folder in temporalio/features at the commit read"},
		&Feature{Name: "schedule/basic", Issue: 11, Source: "go", Workflow: "BasicScheduleWorkflow", Execute: executeScheduleBasic},
		&Feature{Name: "schedule/backfill", Issue: 11, Source: "go", Execute: executeScheduleBackfill},
		&Feature{
			Name: "schedule/cron", Issue: 11, Source: "go",
			StartOptions: func(o *client.StartWorkflowOptions) { o.CronSchedule = "@every 2s" },
			CheckResult:  checkCron, CheckHistory: NoHistoryCheck,
		},
		&Feature{Name: "schedule/duplicate_error", Issue: 11, Source: "go", Execute: executeScheduleDuplicate},
		&Feature{Name: "schedule/pause", Issue: 11, Source: "go", Execute: executeSchedulePause},
		&Feature{Name: "schedule/trigger", Issue: 11, Source: "go", Execute: executeScheduleTrigger},
		&Feature{
			Name: "telemetry/metrics", Issue: 11, Source: "go", ExpectRunResult: "foo, bar, baz",
			Prepare: prepareMetrics, CheckResult: checkMetrics,
		},
		httpProxyFeature("client/http_proxy", false),
		httpProxyFeature("client/http_proxy_auth", true),
	)
}

// ---- eager_workflow/successful_start: eager start needs the starting client to own the worker,
// so the worker process starts the workflow (FEATURE_START_WORKFLOW_ID) with eager start and
// reports how many starts came back with their first workflow task ("FEATURE-REPORT eager=N").

func prepareEagerStart(_ context.Context, r *Runner) error {
	r.Env = append(r.Env, "FEATURE_START_WORKFLOW_ID="+r.TaskQueue+"-wf")
	return nil
}

func executeEagerStart(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	id := r.TaskQueue + "-wf"
	if err := waitWorkflowExists(ctx, r, id); err != nil {
		return nil, err
	}
	return r.Client.GetWorkflow(ctx, id, ""), nil
}

func checkEagerStart(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	var res string
	if err := run.Get(ctx, &res); err != nil {
		return err
	}
	if err := expectEqual("result", "Hello World", res); err != nil {
		return err
	}
	if n := r.WorkerReport("eager"); n != "1" {
		return skipf("enable dynamic config system.enableEagerWorkflowStart=true: eagerly started=%q", n)
	}
	return nil
}

// ---- reset/reset_and_delete

func executeReset(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	run, err := r.ExecuteDefault(ctx)
	if err != nil {
		return nil, err
	}
	r.resetOriginal = run.GetRunID()
	for i := 0; i < 5; i++ {
		if err := r.Client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "sig", ""); err != nil {
			return nil, err
		}
	}
	time.Sleep(time.Second)
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return nil, err
	}
	var second int64
	n := 0
	for _, ev := range h.GetEvents() {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			if n++; n == 2 {
				second = ev.GetEventId()
				break
			}
		}
	}
	if _, err := r.Client.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 r.Namespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()},
		Reason:                    "because I feel like it",
		WorkflowTaskFinishEventId: second,
		RequestId:                 uuid.NewString(),
	}); err != nil {
		return nil, err
	}
	newRun := r.Client.GetWorkflow(ctx, run.GetID(), "")
	for _, v := range []string{"", "finish"} {
		if err := r.Client.SignalWorkflow(ctx, run.GetID(), "", "sig", v); err != nil {
			return nil, err
		}
	}
	return newRun, nil
}

func checkReset(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	if err := r.CheckResultDefault(ctx, run); err != nil {
		return err
	}
	if err := eventually(ctx, time.Minute, time.Second, func() error {
		_, err := r.Client.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
			Namespace: r.Namespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()},
		})
		return err
	}); err != nil {
		return fmt.Errorf("deleting the reset run: %w", err)
	}
	if err := eventually(ctx, 3*time.Minute, time.Second, func() error {
		_, err := r.Client.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	}); err != nil {
		return err
	}
	h, err := r.History(ctx, run.GetID(), r.resetOriginal)
	if err != nil {
		return err
	}
	if last := h.Events[len(h.Events)-1].GetEventType(); last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED {
		return fmt.Errorf("original run: want its last event Terminated, got %s", last)
	}
	return eventually(ctx, time.Minute, 200*time.Millisecond, func() error {
		resp, err := r.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: r.Namespace, Query: "WorkflowId = '" + run.GetID() + "'",
		})
		if err != nil {
			return err
		}
		if len(resp.GetExecutions()) != 1 ||
			resp.GetExecutions()[0].GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
			return fmt.Errorf("visibility: want only the terminated original run, got %d run(s)", len(resp.GetExecutions()))
		}
		return nil
	})
}

// eventually retries f every interval until it returns nil or timeout passes.
func eventually(ctx context.Context, timeout, interval time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(interval):
		}
	}
}

// ---- data_converter/{binary,codec,failure}

func checkBinary(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	var res []byte
	if err := run.Get(ctx, &res); err != nil {
		return err
	}
	want := []byte{0xde, 0xad, 0xbe, 0xef}
	if err := expectEqual("result", want, res); err != nil {
		return err
	}
	payload, err := resultPayload(ctx, r, run)
	if err != nil {
		return err
	}
	// The upstream payload.json: encoding binary/plain, data 0xdeadbeef.
	expected := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: want}
	if !proto.Equal(expected, payload) {
		return fmt.Errorf("result payload: want %v, got %v", expected, payload)
	}
	return sameAsArgument(ctx, r, run, payload)
}

func sameAsArgument(ctx context.Context, r *Runner, run client.WorkflowRun, payload *commonpb.Payload) error {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	args := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(args) == 0 || !proto.Equal(payload, args[0]) {
		return errors.New("the result payload differs from the argument payload")
	}
	return nil
}

func checkCodec(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	var res jsonMessage
	if err := run.Get(ctx, &res); err != nil {
		return err
	}
	if err := expectEqual("result", jsonMessage{Spec: true}, res); err != nil {
		return err
	}
	payload, err := resultPayload(ctx, r, run)
	if err != nil {
		return err
	}
	if err := expectEqual("result encoding", "my-encoding", string(payload.GetMetadata()["encoding"])); err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(string(payload.GetData()))
	if err != nil {
		return fmt.Errorf("result data is not base64: %w", err)
	}
	var inner commonpb.Payload
	if err := proto.Unmarshal(raw, &inner); err != nil {
		return fmt.Errorf("result data is not a payload: %w", err)
	}
	if err := expectEqual("inner encoding", "json/plain", string(inner.GetMetadata()["encoding"])); err != nil {
		return err
	}
	var inHistory jsonMessage
	if err := json.Unmarshal(inner.GetData(), &inHistory); err != nil {
		return err
	}
	if err := expectEqual("result in history", res, inHistory); err != nil {
		return err
	}
	return sameAsArgument(ctx, r, run, payload)
}

// data_converter/failure: the worker's failure converter encodes the message and stack trace of
// each failure (and its cause) into encoded_attributes, leaving "Encoded failure" as message.
func checkEncodedFailure(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	if err := run.Get(ctx, nil); err == nil {
		return errors.New("expected the workflow to fail")
	}
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	evs := eventsOfType(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
	if len(evs) == 0 {
		return errors.New("could not locate WorkflowExecutionFailed event")
	}
	f := evs[0].GetWorkflowExecutionFailedEventAttributes().GetFailure()
	for _, c := range []struct {
		msg string
		f   interface {
			GetMessage() string
			GetStackTrace() string
			GetEncodedAttributes() *commonpb.Payload
		}
	}{{"main error", f}, {"cause error", f.GetCause()}} {
		if err := firstErr(expectEqual("failure message", "Encoded failure", c.f.GetMessage()),
			expectEqual("failure stack trace", "", c.f.GetStackTrace()),
			expectEqual("encoded attributes encoding", "json/plain",
				string(c.f.GetEncodedAttributes().GetMetadata()["encoding"]))); err != nil {
			return err
		}
		data := map[string]string{}
		_ = json.Unmarshal(c.f.GetEncodedAttributes().GetData(), &data)
		if err := firstErr(expectEqual("encoded message", c.msg, data["message"]),
			expectEqual("encoded stack trace", "", data["stack_trace"])); err != nil {
			return err
		}
	}
	return nil
}

// ---- schedule/* (client operations; the worker runs the scheduled workflows)

func createSchedule(ctx context.Context, r *Runner, o client.ScheduleOptions) (client.ScheduleHandle, error) {
	h, err := r.Client.ScheduleClient().Create(ctx, o)
	if err != nil {
		return nil, err
	}
	r.Defer(func() { _ = h.Delete(context.Background()) })
	return h, nil
}

func executeScheduleBasic(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	wid := uuid.NewString()
	h, err := createSchedule(ctx, r, client.ScheduleOptions{
		ID:      uuid.NewString(),
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 2 * time.Second}}},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
		Action: &client.ScheduleWorkflowAction{
			ID: wid, Workflow: "BasicScheduleWorkflow", Args: []any{"arg1"}, TaskQueue: r.TaskQueue,
		},
	})
	if err != nil {
		return nil, err
	}
	desc, err := h.Describe(ctx)
	if err != nil {
		return nil, err
	}
	if err := expectEqual("action workflow id", wid, desc.Schedule.Action.(*client.ScheduleWorkflowAction).ID); err != nil {
		return nil, err
	}
	if err := eventually(ctx, 10*time.Second, time.Second, func() error {
		iter, err := r.Client.ScheduleClient().List(ctx, client.ScheduleListOptions{})
		if err != nil {
			return err
		}
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return err
			}
			if e.ID == h.GetID() {
				return nil
			}
		}
		return errors.New("schedule not listed")
	}); err != nil {
		return nil, err
	}
	if err := waitScheduledResult(ctx, r, wid, "arg1"); err != nil {
		return nil, err
	}
	if err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		a := s.Action.(*client.ScheduleWorkflowAction)
		a.Args = []any{"arg2"}
		s.Action = a
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}}); err != nil {
		return nil, err
	}
	return nil, waitScheduledResult(ctx, r, wid, "arg2")
}

// waitScheduledResult waits up to 10 s for a completed scheduled run (id prefix) with that result.
func waitScheduledResult(ctx context.Context, r *Runner, id, want string) error {
	return eventually(ctx, 10*time.Second, time.Second, func() error {
		resp, err := r.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: r.Namespace, Query: "WorkflowType = 'BasicScheduleWorkflow'",
		})
		if err != nil {
			return err
		}
		for _, e := range resp.GetExecutions() {
			if !strings.HasPrefix(e.GetExecution().GetWorkflowId(), id) ||
				e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				continue
			}
			var res string
			if err := r.Client.GetWorkflow(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()).Get(ctx, &res); err != nil {
				return err
			}
			if res == want {
				return nil
			}
		}
		return fmt.Errorf("no scheduled run completed with %q", want)
	})
}

func pausedSchedule(ctx context.Context, r *Runner, extra func(*client.ScheduleOptions)) (client.ScheduleHandle, error) {
	o := client.ScheduleOptions{
		ID:   uuid.NewString(),
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Minute}}},
		Action: &client.ScheduleWorkflowAction{
			ID: uuid.NewString(), Workflow: "Workflow", Args: []any{"arg1"}, TaskQueue: r.TaskQueue,
		},
		Paused: true,
	}
	if extra != nil {
		extra(&o)
	}
	return createSchedule(ctx, r, o)
}

func executeScheduleBackfill(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	h, err := pausedSchedule(ctx, r, nil)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	threeYears := now.Add(-3 * 365 * 24 * time.Hour).Truncate(time.Minute)
	thirtyMin := now.Add(-30 * time.Minute).Truncate(time.Minute)
	if err := h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{
		{Start: threeYears.Add(-2 * time.Minute), End: threeYears, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
		{Start: thirtyMin.Add(-2 * time.Minute), End: thirtyMin, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
	}}); err != nil {
		return nil, err
	}
	return nil, eventually(ctx, 5*time.Second, time.Second, func() error {
		d, err := h.Describe(ctx)
		if err != nil {
			return err
		}
		if (d.Info.NumActions == 6 || d.Info.NumActions == 4) && len(d.Info.RunningWorkflows) == 0 {
			return nil
		}
		return fmt.Errorf("backfill: %d actions, %d running", d.Info.NumActions, len(d.Info.RunningWorkflows))
	})
}

func checkCron(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	defer func() { _ = r.Client.TerminateWorkflow(context.Background(), run.GetID(), "", "feature complete") }()
	return eventually(ctx, 10*time.Second, time.Second, func() error {
		resp, err := r.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: r.Namespace, Query: fmt.Sprintf("WorkflowId = '%v'", run.GetID()),
		})
		if err != nil {
			return err
		}
		completed := 0
		for _, e := range resp.GetExecutions() {
			switch e.GetStatus() {
			case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
				completed++
			case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			default:
				return fmt.Errorf("cron run ended %s", e.GetStatus())
			}
		}
		if completed >= 2 {
			return nil
		}
		return fmt.Errorf("expected >= 2 completed executions, got %d", completed)
	})
}

func executeScheduleDuplicate(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	o := client.ScheduleOptions{
		ID:     uuid.NewString(),
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: uuid.NewString(), Workflow: "Workflow", TaskQueue: r.TaskQueue},
		Paused: true,
	}
	if _, err := createSchedule(ctx, r, o); err != nil {
		return nil, err
	}
	_, err := r.Client.ScheduleClient().Create(ctx, o)
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil, fmt.Errorf("second create: want ErrScheduleAlreadyRunning, got %v", err)
	}
	return nil, nil
}

func executeSchedulePause(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	h, err := pausedSchedule(ctx, r, func(o *client.ScheduleOptions) { o.Note = "initial note" })
	if err != nil {
		return nil, err
	}
	state := func(paused bool, note string) error {
		d, err := h.Describe(ctx)
		if err != nil {
			return err
		}
		return firstErr(expectEqual("paused", paused, d.Schedule.State.Paused), expectEqual("note", note, d.Schedule.State.Note))
	}
	steps := []struct {
		do     func() error
		paused bool
		note   string
	}{
		{func() error { return nil }, true, "initial note"},
		{func() error { return h.Pause(ctx, client.SchedulePauseOptions{Note: "custom note1"}) }, true, "custom note1"},
		{func() error { return h.Unpause(ctx, client.ScheduleUnpauseOptions{}) }, false, "Unpaused via Go SDK"},
		{func() error { return h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "custom note2"}) }, false, "custom note2"},
		{func() error { return h.Pause(ctx, client.SchedulePauseOptions{}) }, true, "Paused via Go SDK"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return nil, err
		}
		if err := state(s.paused, s.note); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func executeScheduleTrigger(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	h, err := pausedSchedule(ctx, r, nil)
	if err != nil {
		return nil, err
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		return nil, err
	}
	time.Sleep(2 * time.Second)
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		return nil, err
	}
	return nil, eventually(ctx, 3*time.Second, 100*time.Millisecond, func() error {
		d, err := h.Describe(ctx)
		if err != nil {
			return err
		}
		return expectEqual("schedule actions", 2, d.Info.NumActions)
	})
}

// ---- telemetry/metrics: the worker serves its counters in the Prometheus text format on
// FEATURE_METRICS_ADDR (upstream reads its in-process tally scope).

func prepareMetrics(_ context.Context, r *Runner) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	r.metricsAddr = fmt.Sprintf("127.0.0.1:%d", port)
	r.Env = append(r.Env, "FEATURE_METRICS_ADDR="+r.metricsAddr)
	return nil
}

func checkMetrics(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	if err := r.CheckResultDefault(ctx, run); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		tags map[string]string
		want float64
	}{
		{"temporal_request", map[string]string{"operation": "RespondActivityTaskCompleted", "workflow_type": "Workflow"}, 2},
		{"my_workflow_counter", map[string]string{"mytag": "mytagvalue"}, 2},
		{"my_activity_counter", map[string]string{"mytag": "mytagvalue"}, 4},
	} {
		got, err := scrapeCounter(ctx, r.metricsAddr, c.name, c.tags)
		if err != nil {
			return err
		}
		if err := expectEqual("counter "+c.name, c.want, got); err != nil {
			return err
		}
	}
	return nil
}

// scrapeCounter sums the samples of a metric whose labels include tags.
func scrapeCounter(ctx context.Context, addr, name string, tags map[string]string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scraping the worker's metrics: %w", err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		metric, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		n, labels, _ := strings.Cut(metric, "{")
		if n != name {
			continue
		}
		match := true
		for k, v := range tags {
			if !strings.Contains(labels, fmt.Sprintf("%s=%q", k, v)) {
				match = false
			}
		}
		if match {
			f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				return 0, err
			}
			total += f
		}
	}
	return total, sc.Err()
}

// ---- client/http_proxy(_auth): the worker reaches the server through the harness's HTTP CONNECT
// proxy (FEATURE_HTTP_PROXY, a URL with proxy-user:proxy-pass for the auth variant); upstream
// counts the tunnels (config.json: one unauthenticated, or one authenticated).

type connectProxy struct {
	lis             net.Listener
	srv             *http.Server
	unauthed, authd atomic.Int32
}

func startConnectProxy() (*connectProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &connectProxy{lis: l}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.handle), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *connectProxy) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	authed := false
	if auth := r.Header.Get("Proxy-Authorization"); auth != "" {
		b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		if string(b) != "proxy-user:proxy-pass" {
			http.Error(w, "Auth failed", http.StatusProxyAuthRequired)
			return
		}
		authed = true
	}
	upstream, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "no hijack", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if authed {
		p.authd.Add(1)
	} else {
		p.unauthed.Add(1)
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	go func() {
		_, _ = io.Copy(upstream, buf)
		upstream.Close()
	}()
	go func() {
		_, _ = io.Copy(conn, upstream)
		conn.Close()
	}()
}

func httpProxyFeature(name string, auth bool) *Feature {
	return &Feature{
		Name: name, Issue: 11, Source: "go", ExpectRunResult: "done",
		Prepare: func(_ context.Context, r *Runner) error {
			p, err := startConnectProxy()
			if err != nil {
				return err
			}
			r.Defer(func() { _ = p.srv.Close() })
			u := "http://" + p.lis.Addr().String()
			if auth {
				u = "http://proxy-user:proxy-pass@" + p.lis.Addr().String()
			}
			r.Env = append(r.Env, "FEATURE_HTTP_PROXY="+u)
			r.connect = p
			return nil
		},
		CheckResult: func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
			if err := r.CheckResultDefault(ctx, run); err != nil {
				return err
			}
			wantAuthed, wantUnauthed := int32(0), int32(1)
			if auth {
				wantAuthed, wantUnauthed = 1, 0
			}
			return firstErr(expectEqual("authenticated tunnels", wantAuthed, r.connect.authd.Load()),
				expectEqual("unauthenticated tunnels", wantUnauthed, r.connect.unauthed.Load()))
		},
	}
}

// features/data_converter/{json,empty}: payload encodings as stored in history.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

func init() {
	register(
		&Feature{
			Name: "data_converter/json", Issue: 10, Source: "go",
			Execute: func(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
				return r.ExecuteWithArgs(ctx, jsonMessage{Spec: true})
			},
			CheckResult: checkDataConverterJSON,
		},
		&Feature{
			Name: "data_converter/empty", Issue: 10, Source: "go",
			CheckResult: checkDataConverterEmpty,
		},
	)
}

type jsonMessage struct {
	Spec bool `json:"spec"`
}

// resultPayload is the first payload of the run's WorkflowExecutionCompleted event.
func resultPayload(ctx context.Context, r *Runner, run client.WorkflowRun) (*commonpb.Payload, error) {
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return nil, err
	}
	evs := eventsOfType(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	if len(evs) == 0 {
		return nil, errors.New("missing WorkflowExecutionCompleted event")
	}
	ps := evs[0].GetWorkflowExecutionCompletedEventAttributes().GetResult().GetPayloads()
	if len(ps) == 0 {
		return nil, errors.New("the completed event has no result payload")
	}
	return ps[0], nil
}

func checkDataConverterJSON(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	var result jsonMessage
	if err := run.Get(ctx, &result); err != nil {
		return err
	}
	if err := expectEqual("result", jsonMessage{Spec: true}, result); err != nil {
		return err
	}
	payload, err := resultPayload(ctx, r, run)
	if err != nil {
		return err
	}
	if err := expectEqual("result encoding", "json/plain", string(payload.GetMetadata()["encoding"])); err != nil {
		return err
	}
	var inHistory jsonMessage
	if err := json.Unmarshal(payload.GetData(), &inHistory); err != nil {
		return fmt.Errorf("result payload data is not JSON: %w", err)
	}
	if err := expectEqual("result in history", result, inHistory); err != nil {
		return err
	}
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	args := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(args) == 0 {
		return errors.New("the started event has no input payload")
	}
	if !proto.Equal(payload, args[0]) {
		return fmt.Errorf("result payload %v differs from argument payload %v", payload, args[0])
	}
	return nil
}

// The expected activity input is the upstream feature's payload.json: metadata encoding
// "binary/null" and no data.
func checkDataConverterEmpty(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	var result any
	if err := run.Get(ctx, &result); err != nil {
		return err
	}
	if result != nil {
		return fmt.Errorf("result: want nil, got %#v", result)
	}
	h, err := r.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	evs := eventsOfType(h, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
	if len(evs) == 0 {
		return errors.New("could not locate ActivityTaskScheduled event")
	}
	ps := evs[0].GetActivityTaskScheduledEventAttributes().GetInput().GetPayloads()
	if len(ps) == 0 {
		return errors.New("the activity was scheduled with no input payload (want one binary/null payload)")
	}
	want := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}
	if !proto.Equal(want, ps[0]) {
		return fmt.Errorf("activity input payload: want %v, got %v", want, ps[0])
	}
	return nil
}

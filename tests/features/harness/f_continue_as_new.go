// features/continue_as_new/*: continue-as-new with memo, and a signal that must block it.
package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

func init() {
	register(
		&Feature{
			Name: "continue_as_new/continue_as_same", Issue: 10, Source: "go",
			Execute:     executeContinueAsSame,
			CheckResult: checkContinueAsSame,
		},
		&Feature{
			Name: "continue_as_new/signals_block_continue_as_new", Issue: 10, Source: "readme", Proxy: true,
			Execute:     executeSignalsBlockCAN,
			CheckResult: checkSignalsBlockCAN,
		},
	)
}

const (
	canInputData = "InputData"
	canMemoKey   = "MemoKey"
	canMemoValue = "MemoValue"
)

// The upstream workflow id is the constant "TestID"; it gets a unique suffix here so that runs of
// the harness against two workers on one server never collide.
func executeContinueAsSame(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	o := r.StartOptions()
	o.ID = "TestID-" + shortID()
	o.Memo = map[string]any{canMemoKey: canMemoValue}
	return r.Client.ExecuteWorkflow(ctx, o, r.Feature.workflowType(), canInputData)
}

func checkContinueAsSame(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	firstRunID := run.GetRunID()
	var result string
	if err := run.Get(ctx, &result); err != nil {
		return err
	}
	if err := expectEqual("result", canInputData, result); err != nil {
		return err
	}
	// Added to the upstream checks: the first run really continued as new (without this a
	// workflow that simply returned its input would pass).
	first, err := r.Client.DescribeWorkflowExecution(ctx, run.GetID(), firstRunID)
	if err != nil {
		return err
	}
	if st := first.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		return fmt.Errorf("first run status: want ContinuedAsNew, got %s", st)
	}
	// Upstream describes run.GetRunID() (the latest run once Get followed the chain); the memo
	// must be there, carried over by continue-as-new.
	for _, runID := range []string{run.GetRunID(), ""} {
		d, err := r.Client.DescribeWorkflowExecution(ctx, run.GetID(), runID)
		if err != nil {
			return err
		}
		if d.GetWorkflowExecutionInfo().GetExecution().GetRunId() == firstRunID {
			return errors.New("the run chain was not followed: latest run is the first run")
		}
		p, ok := d.GetWorkflowExecutionInfo().GetMemo().GetFields()[canMemoKey]
		if !ok {
			return fmt.Errorf("memo %s missing after continue-as-new", canMemoKey)
		}
		var v string
		if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
			return err
		}
		if err := expectEqual("memo", canMemoValue, v); err != nil {
			return err
		}
	}
	return nil
}

// canState is the signals_block_continue_as_new workflow's argument: whether this run is the one
// continued as new, and the signals the first run handled.
type canState struct {
	Continued bool     `json:"continued"`
	Signals   []string `json:"signals"`
}

// signals_block_continue_as_new: the workflow continues as new at once, passing on the signals
// it has received. The proxy holds its first continue-as-new completion until the harness's
// signal is durable, so the signal arrives while that task is in flight: the server must refuse
// the completion, the worker must retry the task, and the pre-continue-as-new run must handle the
// signal (its value comes back as the new run's result).
func executeSignalsBlockCAN(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	o := r.StartOptions()
	var once sync.Once
	signalled := make(chan error, 1)
	// Set before the start, so the worker's first completion cannot slip past the hook.
	r.Proxy.SetHooks(ProxyHooks{
		Before: func(hctx context.Context, method string, req []byte) error {
			if completes(method, req, enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION) {
				once.Do(func() {
					signalled <- r.Client.SignalWorkflow(hctx, o.ID, "", "signal", "held")
				})
			}
			return nil
		},
	})
	run, err := r.Client.ExecuteWorkflow(ctx, o, r.Feature.workflowType(), canState{Signals: []string{}})
	if err != nil {
		return nil, err
	}
	return &canRun{WorkflowRun: run, signalled: signalled}, nil
}

type canRun struct {
	client.WorkflowRun
	signalled chan error
}

func checkSignalsBlockCAN(ctx context.Context, r *Runner, run client.WorkflowRun) error {
	firstRunID := run.GetRunID()
	var result []string
	if err := run.Get(ctx, &result); err != nil {
		return err
	}
	select {
	case err := <-run.(*canRun).signalled:
		if err != nil {
			return fmt.Errorf("signal while the continue-as-new was held: %w", err)
		}
	default:
		return errors.New("the worker never completed a task with a continue-as-new command")
	}
	if err := expectEqual("result (signals the first run handled)", []string{"held"}, result); err != nil {
		return err
	}
	h, err := r.History(ctx, run.GetID(), firstRunID)
	if err != nil {
		return err
	}
	sig := indexOf(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 0)
	can := indexOf(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, 0)
	if err := expect(sig >= 0 && can > sig, "the signal is not in the first run's history before its continue-as-new"); err != nil {
		return err
	}
	return expectUnhandledCommandRetry(h)
}

// features/search_attributes/{set,upsert}: search attributes set on start or upserted by the
// workflow, as the workflow sees them in its info and as DescribeWorkflowExecution reports them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// saDate is the datetime both features use (the READMEs use "a date").
var saDate = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

func init() {
	register(
		&Feature{
			Name: "search_attributes/set", Issue: 10, Source: "readme",
			StartOptions: func(o *client.StartWorkflowOptions) {
				o.SearchAttributes = map[string]any{
					"CustomKeywordField":  "test-value",
					"CustomIntField":      1,
					"CustomBoolField":     true,
					"CustomDatetimeField": saDate,
				}
			},
			Execute: executeWithSearchAttributes,
			CheckResult: func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
				return checkSearchAttributes(ctx, r, run, map[string]any{
					"CustomKeywordField":  "test-value",
					"CustomIntField":      1,
					"CustomBoolField":     true,
					"CustomDatetimeField": saDate,
				}, nil)
			},
		},
		&Feature{
			Name: "search_attributes/upsert", Issue: 10, Source: "readme",
			Execute: executeWithSearchAttributes,
			CheckResult: func(ctx context.Context, r *Runner, run client.WorkflowRun) error {
				return checkSearchAttributes(ctx, r, run, map[string]any{
					"CustomBoolField":     true,
					"CustomKeywordField":  "durable code",
					"CustomTextField":     "is useful",
					"CustomDatetimeField": saDate,
					"CustomDoubleField":   3.14,
				}, []string{"CustomIntField"})
			},
		},
	)
}

// customSearchAttributes are the attributes the features use; the server images upstream runs
// on have them, a plain dev server does not, so the harness adds the missing ones.
var customSearchAttributes = map[string]enumspb.IndexedValueType{
	"CustomKeywordField":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"CustomIntField":      enumspb.INDEXED_VALUE_TYPE_INT,
	"CustomBoolField":     enumspb.INDEXED_VALUE_TYPE_BOOL,
	"CustomDatetimeField": enumspb.INDEXED_VALUE_TYPE_DATETIME,
	"CustomDoubleField":   enumspb.INDEXED_VALUE_TYPE_DOUBLE,
	"CustomTextField":     enumspb.INDEXED_VALUE_TYPE_TEXT,
}

// ensureSearchAttributes registers the missing custom attributes and waits until the namespace
// lists them all.
func ensureSearchAttributes(ctx context.Context, r *Runner) error {
	op := r.Client.OperatorService()
	for i := 0; ; i++ {
		have, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: r.Namespace})
		if err != nil {
			return fmt.Errorf("listing search attributes: %w", err)
		}
		missing := map[string]enumspb.IndexedValueType{}
		for k, t := range customSearchAttributes {
			if _, ok := have.GetCustomAttributes()[k]; !ok {
				missing[k] = t
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if i == 100 {
			return fmt.Errorf("search attributes still missing: %v", missing)
		}
		if i == 0 {
			_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
				Namespace: r.Namespace, SearchAttributes: missing,
			})
			var exists *serviceerror.AlreadyExists
			if err != nil && !errors.As(err, &exists) {
				return fmt.Errorf("adding search attributes: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func executeWithSearchAttributes(ctx context.Context, r *Runner) (client.WorkflowRun, error) {
	if err := ensureSearchAttributes(ctx, r); err != nil {
		return nil, err
	}
	return r.ExecuteDefault(ctx)
}

// normJSON turns a value into its JSON form decoded again, so numbers compare as float64 and
// times as their RFC 3339 text.
func normJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// sameSA compares one attribute, datetimes by instant (the server may rewrite their format).
func sameSA(want, got any) bool {
	w, g := normJSON(want), normJSON(got)
	ws, ok1 := w.(string)
	gs, ok2 := g.(string)
	if ok1 && ok2 {
		wt, err1 := time.Parse(time.RFC3339Nano, ws)
		gt, err2 := time.Parse(time.RFC3339Nano, gs)
		if err1 == nil && err2 == nil {
			return wt.Equal(gt)
		}
	}
	// A single value may come back as a one-element list from older encodings.
	if gl, ok := g.([]any); ok && len(gl) == 1 {
		if _, wl := w.([]any); !wl {
			return reflect.DeepEqual(w, gl[0]) || sameSA(want, gl[0])
		}
	}
	return reflect.DeepEqual(w, g)
}

func compareSAs(where string, want map[string]any, absent []string, got map[string]any) error {
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			return fmt.Errorf("%s: search attribute %s missing (have %v)", where, k, got)
		}
		if !sameSA(v, g) {
			return fmt.Errorf("%s: search attribute %s: want %v, got %v", where, k, normJSON(v), normJSON(g))
		}
	}
	for _, k := range absent {
		if g, ok := got[k]; ok {
			return fmt.Errorf("%s: search attribute %s should be removed, is %v", where, k, normJSON(g))
		}
	}
	return nil
}

// checkSearchAttributes: the workflow returns its info's search attributes as a JSON object
// (name -> value); the description must hold the same (the server may add its own, such as
// BinaryChecksums or BuildIds, which are not compared).
func checkSearchAttributes(ctx context.Context, r *Runner, run client.WorkflowRun, want map[string]any,
	absent []string) error {
	var info map[string]any
	if err := run.Get(ctx, &info); err != nil {
		return err
	}
	if err := compareSAs("workflow info", want, absent, info); err != nil {
		return err
	}
	d, err := r.Client.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return err
	}
	desc, err := decodeSAs(d.GetWorkflowExecutionInfo().GetSearchAttributes())
	if err != nil {
		return err
	}
	return compareSAs("description", want, absent, desc)
}

func decodeSAs(sa *commonpb.SearchAttributes) (map[string]any, error) {
	out := map[string]any{}
	dc := converter.GetDefaultDataConverter()
	for k, p := range sa.GetIndexedFields() {
		var v any
		if err := dc.FromPayload(p, &v); err != nil {
			return nil, fmt.Errorf("search attribute %s: %w", k, err)
		}
		if v != nil {
			out[k] = v
		}
	}
	return out, nil
}

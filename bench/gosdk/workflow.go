// OrderWorkflow of the Go SDK peer: the same saga as orchestrator-temporal/workflow.c (same
// input and result JSON, activity types and ids, retry policies, LIFO compensation, getState
// query), so a run started by our REST API, the temporal CLI or any SDK finishes the same way
// on either worker.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

const quantityMax = 1000000000 // SAGA_QUANTITY_MAX

// Order is the workflow input: exactly the REST body's fields.
type Order struct {
	CustomerID    int64  `json:"customerId"`
	ProductID     int64  `json:"productId"`
	Quantity      int64  `json:"quantity"`
	Amount        int64  `json:"amount"`
	PaymentMethod string `json:"paymentMethod"`
}

// OrderResult is the contract's result: {"success":true,"orderId","paymentId","workflowId"} or
// {"success":false,"error","workflowId"}.
type OrderResult struct {
	Success    bool   `json:"success"`
	OrderID    *int64 `json:"orderId,omitempty"`
	PaymentID  *int64 `json:"paymentId,omitempty"`
	Error      string `json:"error,omitempty"`
	WorkflowID string `json:"workflowId"`
}

// wfState is what the getState query reports, shaped as ot_query_state's answer.
type wfState struct {
	Step              *string  `json:"step"`
	Phase             string   `json:"phase"`
	CompensationStack []string `json:"compensationStack"`
	OrderID           *int64   `json:"orderId"`
	PaymentID         *int64   `json:"paymentId"`
	Error             string   `json:"error,omitempty"`
	Input             *Order   `json:"input,omitempty"`
}

// workflowOptions are fixed before the worker starts (never read from the environment inside
// the workflow: that would break replay).
type workflowOptions struct {
	local              bool          // ORDER_ACTIVITY_MODE=local: local activities
	activityTimeout    time.Duration // ACTIVITY_START_TO_CLOSE_MS
	concurrentConfirms bool          // run the three confirms after the pivot at the same time
}

var wfOpts = workflowOptions{activityTimeout: 30 * time.Second}

// DESIGN retry policy: initial 1 s, coefficient 2, max interval 10 s; forward steps up to the
// pivot 3 attempts; the confirms after the pivot and the compensations until they succeed.
func retryPolicy(attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2.0,
		MaximumInterval:        10 * time.Second,
		MaximumAttempts:        attempts,
		NonRetryableErrorTypes: nonRetryableTypes,
	}
}

// schedule starts one step (activity id = its key, as the C worker) and returns its future.
func schedule(ctx workflow.Context, activity string, attempts int32, in StepContext) workflow.Future {
	if wfOpts.local {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: wfOpts.activityTimeout,
			RetryPolicy:         retryPolicy(attempts),
		})
		return workflow.ExecuteLocalActivity(lctx, activity, in)
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          stepKey(activity),
		StartToCloseTimeout: wfOpts.activityTimeout,
		RetryPolicy:         retryPolicy(attempts),
	})
	return workflow.ExecuteActivity(actx, activity, in)
}

// failureText is the C workflow's "<type>: <message>": a business failure keeps its type, a
// step that ran out of attempts (retryable failures, timeouts) is RetriesExhausted.
func failureText(err error) (string, bool) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() && app.Type() != "" {
		return app.Type() + ": " + app.Message(), true
	}
	msg := err.Error()
	if errors.As(err, &app) {
		msg = app.Message()
	}
	return "RetriesExhausted: " + msg, false
}

// OrderWorkflow runs the saga: T1..T6 with each compensation registered before its step, and
// on a failure the registered compensations LIFO, each retried until it succeeds.
func OrderWorkflow(ctx workflow.Context, raw json.RawMessage) (OrderResult, error) {
	wid := workflow.GetInfo(ctx).WorkflowExecution.ID
	logger := workflow.GetLogger(ctx)
	st := wfState{Phase: "RUNNING", CompensationStack: []string{}}
	var comp []string
	if err := workflow.SetQueryHandler(ctx, "getState", func() (wfState, error) {
		st.CompensationStack = make([]string, 0, len(comp))
		for i := len(comp) - 1; i >= 0; i-- {
			st.CompensationStack = append(st.CompensationStack, comp[i])
		}
		return st, nil
	}); err != nil {
		return OrderResult{}, err
	}
	finish := func(c *StepContext, success bool, errText string) (OrderResult, error) {
		st.Step = nil
		r := OrderResult{Success: success, WorkflowID: wid}
		if success {
			st.Phase = "COMPLETED"
			r.OrderID, r.PaymentID = &c.OrderID, &c.PaymentID
		} else {
			st.Phase = "COMPENSATED"
			r.Error = errText
		}
		return r, nil
	}

	order, verr := parseOrder(raw)
	if verr != "" {
		// Bad input from a CLI or SDK client: a business failure with nothing to undo.
		st.Error = typeInvalidRequest + ": " + verr
		return finish(nil, false, st.Error)
	}
	st.Input = &order
	c := StepContext{SagaID: wid, CustomerID: order.CustomerID, ProductID: order.ProductID,
		Quantity: order.Quantity, Amount: order.Amount, PaymentMethod: order.PaymentMethod}
	learn := func(out StepContext) {
		if out.OrderID > 0 {
			c.OrderID = out.OrderID
			st.OrderID = &c.OrderID
		}
		if out.PaymentID > 0 {
			c.PaymentID = out.PaymentID
			st.PaymentID = &c.PaymentID
		}
	}
	runStep := func(activity string, attempts int32) error {
		name := activity
		st.Step = &name
		var out StepContext
		err := schedule(ctx, activity, attempts, c).Get(ctx, &out)
		if err == nil {
			learn(out)
		}
		return err
	}
	compensate := func(errText string) (OrderResult, error) {
		st.Phase = "COMPENSATING"
		st.Error = errText
		for len(comp) > 0 {
			a := comp[len(comp)-1]
			if err := runStep(a, 0); err != nil {
				logger.Error("compensation gave up", "activity", a, "error", err)
			}
			comp = comp[:len(comp)-1]
		}
		return finish(&c, false, errText)
	}

	for i, s := range forwardSteps {
		if i > pivotIndex && wfOpts.concurrentConfirms {
			break
		}
		if s.compensation != "" {
			comp = append(comp, s.compensation)
		}
		attempts := int32(3)
		if i > pivotIndex {
			attempts = 0
		}
		if err := runStep(s.activity, attempts); err != nil {
			text, _ := failureText(err)
			logger.Warn("step failed; compensating", "activity", s.activity, "error", text)
			return compensate(text)
		}
	}
	if wfOpts.concurrentConfirms {
		// After the pivot the confirms touch different services and commute: all at once.
		var futures []workflow.Future
		for _, s := range forwardSteps[pivotIndex+1:] {
			futures = append(futures, schedule(ctx, s.activity, 0, c))
		}
		var firstErr error
		for _, f := range futures {
			var out StepContext
			if err := f.Get(ctx, &out); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if firstErr != nil {
			text, _ := failureText(firstErr)
			return compensate(text)
		}
	}
	return finish(&c, true, "")
}

// parseOrder is saga_input_parse: a JSON object without duplicate keys whose customerId,
// productId, quantity (≤ 1e9) and amount are integers ≥ 1, paymentMethod optional (1..31
// printable ASCII, default CARD), other members ignored. Returns the reason on refusal.
func parseOrder(raw json.RawMessage) (Order, string) {
	o := Order{PaymentMethod: "CARD"}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return o, "workflow input is missing"
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]json.RawMessage
	if err := d.Decode(&m); err != nil || m == nil {
		return o, "request body must be a JSON object"
	}
	if dup := duplicateKey(raw); dup != "" {
		return o, "malformed JSON: duplicate object key '" + dup + "'"
	}
	ints := []struct {
		name string
		dst  *int64
		max  int64
	}{{"customerId", &o.CustomerID, 0}, {"productId", &o.ProductID, 0},
		{"quantity", &o.Quantity, quantityMax}, {"amount", &o.Amount, 0}}
	for _, f := range ints {
		v, ok := m[f.name]
		if !ok || string(v) == "null" {
			return o, fmt.Sprintf("'%s' is required", f.name)
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return o, fmt.Sprintf("'%s' must be an integer", f.name)
		}
		if n <= 0 {
			return o, fmt.Sprintf("'%s' must be a positive integer", f.name)
		}
		if f.max > 0 && n > f.max {
			return o, fmt.Sprintf("'%s' must be at most %d", f.name, f.max)
		}
		*f.dst = n
	}
	if v, ok := m["paymentMethod"]; ok && string(v) != "null" {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return o, "'paymentMethod' must be a string"
		}
		if len(s) == 0 || len(s) > 31 {
			return o, "'paymentMethod' must be 1..31 characters"
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				return o, "'paymentMethod' must be printable ASCII"
			}
		}
		o.PaymentMethod = s
	}
	return o, ""
}

// duplicateKey returns a key that appears twice in the top-level object, or "".
func duplicateKey(raw []byte) string {
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return ""
		}
		k, _ := t.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// validSagaID: 1..127 bytes of [A-Za-z0-9._:-] (saga ids go into URLs and keys).
func validSagaID(s string) bool {
	if len(s) == 0 || len(s) >= 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			ch == '-' || ch == '_' || ch == '.' || ch == ':') {
			return false
		}
	}
	return true
}

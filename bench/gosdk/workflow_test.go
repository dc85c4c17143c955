// Unit tests of the Go SDK peer without a server: the workflow in the SDK's test environment
// with scripted activities (order of steps, LIFO compensation, attempts per retry policy, the
// result texts), in both activity modes, and the pure helpers (input validation,
// classification of service answers).
package main

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// script makes every activity succeed (CreateOrder learns order 10, CreatePayment payment 7)
// unless fail names it: then it returns that error for its first `times` attempts (0: always).
type script struct {
	mu       sync.Mutex
	calls    []string
	inputs   map[string]StepContext
	attempts map[string]int
	fail     map[string]error
	times    map[string]int
}

func newScript() *script {
	return &script{inputs: map[string]StepContext{}, attempts: map[string]int{},
		fail: map[string]error{}, times: map[string]int{}}
}

func (s *script) register(env *testsuite.TestWorkflowEnvironment) {
	for _, name := range activityTypes() {
		name := name
		env.RegisterActivityWithOptions(func(ctx context.Context, in StepContext) (StepContext, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.calls = append(s.calls, name)
			s.inputs[name] = in
			s.attempts[name]++
			if err, ok := s.fail[name]; ok && (s.times[name] == 0 || s.attempts[name] <= s.times[name]) {
				return StepContext{}, err
			}
			switch name {
			case "CreateOrder":
				in.OrderID = 10
			case "CreatePayment":
				in.PaymentID = 7
			}
			return in, nil
		}, activity.RegisterOptions{Name: name})
	}
}

const order = `{"customerId":1,"productId":5,"quantity":2,"amount":20000}`

func run(t *testing.T, local bool, s *script, input string) (OrderResult, *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	wfOpts.local = local
	t.Cleanup(func() { wfOpts.local = false })
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "order-test-1"})
	s.register(env)
	env.ExecuteWorkflow(OrderWorkflow, []byte(input))
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res OrderResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res, env
}

var forward = []string{"CreateOrder", "ReserveStock", "CreatePayment", "ApprovePayment",
	"ConfirmOrder", "ConfirmReservation", "ConfirmPayment"}

func bothModes(t *testing.T, f func(t *testing.T, local bool)) {
	t.Run("remote", func(t *testing.T) { f(t, false) })
	t.Run("local", func(t *testing.T) { f(t, true) })
}

func TestSuccess(t *testing.T) {
	bothModes(t, func(t *testing.T, local bool) {
		s := newScript()
		res, env := run(t, local, s, order)
		if !reflect.DeepEqual(s.calls, forward) {
			t.Fatalf("calls %v", s.calls)
		}
		if !res.Success || *res.OrderID != 10 || *res.PaymentID != 7 || res.WorkflowID != "order-test-1" {
			t.Fatalf("result %+v", res)
		}
		want := StepContext{SagaID: "order-test-1", CustomerID: 1, ProductID: 5, Quantity: 2,
			Amount: 20000, PaymentMethod: "CARD", OrderID: 10, PaymentID: 7}
		if got := s.inputs["ConfirmPayment"]; got != want {
			t.Fatalf("ConfirmPayment input %+v", got)
		}
		v, err := env.QueryWorkflow("getState")
		if err != nil {
			t.Fatal(err)
		}
		var st wfState
		if err := v.Get(&st); err != nil || st.Phase != "COMPLETED" || st.Step != nil {
			t.Fatalf("getState %+v %v", st, err)
		}
	})
}

func TestBusinessFailureAtPivotCompensatesLIFO(t *testing.T) {
	bothModes(t, func(t *testing.T, local bool) {
		s := newScript()
		s.fail["ApprovePayment"] = temporal.NewNonRetryableApplicationError(
			"ApprovePayment POST HTTP 402 InsufficientBalance", typeInsufficientBalance, nil)
		res, _ := run(t, local, s, order)
		want := []string{"CreateOrder", "ReserveStock", "CreatePayment", "ApprovePayment",
			"RefundPayment", "CancelReservation", "CancelOrder"}
		if !reflect.DeepEqual(s.calls, want) {
			t.Fatalf("calls %v", s.calls)
		}
		if res.Success || res.Error != "InsufficientBalance: ApprovePayment POST HTTP 402 InsufficientBalance" ||
			res.OrderID != nil {
			t.Fatalf("result %+v", res)
		}
		if s.inputs["RefundPayment"].PaymentID != 7 {
			t.Fatalf("RefundPayment input %+v", s.inputs["RefundPayment"])
		}
	})
}

func TestRetryableForwardStepGivesUpAfterThreeAttempts(t *testing.T) {
	bothModes(t, func(t *testing.T, local bool) {
		s := newScript()
		s.fail["ReserveStock"] = temporal.NewApplicationError("ReserveStock POST HTTP 503", typeRetryable)
		res, _ := run(t, local, s, order)
		if s.attempts["ReserveStock"] != 3 {
			t.Fatalf("ReserveStock attempts %d", s.attempts["ReserveStock"])
		}
		tail := s.calls[len(s.calls)-2:]
		if !reflect.DeepEqual(tail, []string{"CancelReservation", "CancelOrder"}) {
			t.Fatalf("calls %v", s.calls)
		}
		if !strings.HasPrefix(res.Error, "RetriesExhausted: ReserveStock POST HTTP 503") {
			t.Fatalf("result %+v", res)
		}
	})
}

func TestCompensationAndConfirmsRetriedUntilTheySucceed(t *testing.T) {
	bothModes(t, func(t *testing.T, local bool) {
		s := newScript()
		s.fail["ConfirmOrder"] = temporal.NewApplicationError("down", typeRetryable)
		s.times["ConfirmOrder"] = 4 // beyond the forward steps' 3 attempts
		res, _ := run(t, local, s, order)
		if !res.Success || s.attempts["ConfirmOrder"] != 5 {
			t.Fatalf("result %+v, ConfirmOrder attempts %d", res, s.attempts["ConfirmOrder"])
		}
		s = newScript()
		s.fail["ReserveStock"] = temporal.NewNonRetryableApplicationError("no", typeOutOfStock, nil)
		s.fail["CancelOrder"] = temporal.NewApplicationError("down", typeRetryable)
		s.times["CancelOrder"] = 4
		res, _ = run(t, local, s, order)
		if res.Success || !strings.HasPrefix(res.Error, "OutOfStock: ") || s.attempts["CancelOrder"] != 5 {
			t.Fatalf("result %+v, CancelOrder attempts %d", res, s.attempts["CancelOrder"])
		}
	})
}

func TestBadInputRunsNoStep(t *testing.T) {
	s := newScript()
	res, _ := run(t, false, s, `{"customerId":1,"productId":5,"quantity":0,"amount":1}`)
	if len(s.calls) != 0 || res.Success ||
		res.Error != "InvalidRequest: 'quantity' must be a positive integer" {
		t.Fatalf("calls %v result %+v", s.calls, res)
	}
}

func TestParseOrder(t *testing.T) {
	cases := map[string]string{
		order: "",
		`{"customerId":1,"productId":5,"quantity":2,"amount":1,"paymentMethod":"BANK"}`: "",
		`{"customerId":1,"productId":"5","quantity":2,"amount":1}`:                      "'productId' must be an integer",
		`{"customerId":1,"productId":5,"quantity":2.0,"amount":1}`:                      "'quantity' must be an integer",
		`{"customerId":1,"productId":5,"quantity":2}`:                                   "'amount' is required",
		`{"customerId":1,"productId":5,"quantity":2000000000,"amount":1}`:               "'quantity' must be at most 1000000000",
		`{"customerId":1,"customerId":2,"productId":5,"quantity":2,"amount":1}`:         "malformed JSON: duplicate object key 'customerId'",
		`{"customerId":1,"productId":5,"quantity":2,"amount":1,"paymentMethod":""}`:     "'paymentMethod' must be 1..31 characters",
		`[1]`: "request body must be a JSON object",
		``:    "workflow input is missing",
	}
	for in, want := range cases {
		o, got := parseOrder([]byte(in))
		if got != want {
			t.Errorf("%s: got %q want %q", in, got, want)
		}
		if want == "" && o.PaymentMethod == "" {
			t.Errorf("%s: no payment method", in)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		status    int
		code      string
		retryable bool
		typ       string
	}{
		{0, "", true, typeRetryable}, {503, "", true, typeRetryable}, {429, "", true, typeRetryable},
		{408, "", true, typeRetryable}, {409, "IdempotencyInFlight", true, typeRetryable},
		{409, "OutOfStock", false, typeOutOfStock}, {402, "", false, typeInsufficientBalance},
		{409, "ReservationCancelled", false, typeReservationCancelled},
		{409, "", false, typeIllegalTransition}, {404, "NotFound", false, typeInvalidRequest},
		{422, "", false, typeInvalidRequest},
	}
	if classify(201, "") != nil {
		t.Fatal("2xx must be ok")
	}
	for _, c := range cases {
		e := classify(c.status, c.code)
		if e == nil || e.retryable != c.retryable || e.typ != c.typ {
			t.Errorf("%d %s: %+v", c.status, c.code, e)
		}
	}
	var app *temporal.ApplicationError
	if err := toFailure(classify(409, "OutOfStock")); !errors.As(err, &app) || !app.NonRetryable() ||
		app.Type() != typeOutOfStock {
		t.Errorf("business failure must be a non-retryable OutOfStock: %v", err)
	}
}

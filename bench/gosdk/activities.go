// The ten saga activities of the Go SDK peer: one attempt of one step per call, against the
// same three C services, with the same Idempotency-Key, the same answers classified the same way
// and the same JSON step context in and out as the C worker (saga/saga_steps.c, saga/saga.c).
// Retries belong to the workflow's retry policy, never to this file.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Business failure types (DESIGN): non-retryable; the workflow compensates.
const (
	typeInvalidRequest       = "InvalidRequest"
	typeOutOfStock           = "OutOfStock"
	typeInsufficientBalance  = "InsufficientBalance"
	typeIllegalTransition    = "IllegalTransition"
	typeReservationCancelled = "ReservationCancelled"
	typeRetryable            = "Retryable"
)

var nonRetryableTypes = []string{typeInvalidRequest, typeOutOfStock, typeInsufficientBalance,
	typeIllegalTransition, typeReservationCancelled}

// step is one row of the saga's step table: activity type, idempotency key suffix (also the
// activity id), and the compensation registered before it runs.
type step struct {
	activity     string
	key          string
	compensation string
}

// The forward steps in order; the pivot is ApprovePayment, the steps after it are confirms.
var forwardSteps = []step{
	{"CreateOrder", "createOrder", "CancelOrder"},
	{"ReserveStock", "reserveStock", "CancelReservation"},
	{"CreatePayment", "createPayment", "RefundPayment"},
	{"ApprovePayment", "approvePayment", ""},
	{"ConfirmOrder", "confirmOrder", ""},
	{"ConfirmReservation", "confirmReservation", ""},
	{"ConfirmPayment", "confirmPayment", ""},
}

const pivotIndex = 3 // ApprovePayment

var compensationKeys = map[string]string{
	"RefundPayment":     "refundPayment",
	"CancelReservation": "cancelReservation",
	"CancelOrder":       "cancelOrder",
}

// stepKey is the idempotency key suffix (and activity id) of an activity type.
func stepKey(activity string) string {
	for _, s := range forwardSteps {
		if s.activity == activity {
			return s.key
		}
	}
	return compensationKeys[activity]
}

// StepContext is the activity input and output, field for field the C worker's
// (saga_context_json): ids appear once known.
type StepContext struct {
	SagaID        string `json:"sagaId"`
	CustomerID    int64  `json:"customerId"`
	ProductID     int64  `json:"productId"`
	Quantity      int64  `json:"quantity"`
	Amount        int64  `json:"amount"`
	PaymentMethod string `json:"paymentMethod"`
	OrderID       int64  `json:"orderId,omitempty"`
	PaymentID     int64  `json:"paymentId,omitempty"`
}

// Activities holds the service base URLs, the service token our saga sends (the services refuse
// mutating calls without it, as they do for our C worker) and one keep-alive HTTP client.
type Activities struct {
	OrderURL, InventoryURL, PaymentURL string
	ServiceToken                       string
	Client                             *http.Client
}

func newActivities(orderURL, inventoryURL, paymentURL string, timeout time.Duration) *Activities {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
	return &Activities{
		OrderURL:     strings.TrimRight(orderURL, "/"),
		InventoryURL: strings.TrimRight(inventoryURL, "/"),
		PaymentURL:   strings.TrimRight(paymentURL, "/"),
		ServiceToken: os.Getenv("SERVICE_TOKEN"),
		Client:       &http.Client{Transport: tr, Timeout: timeout},
	}
}

// stepError is a classified failed call.
type stepError struct {
	retryable bool
	typ       string
	status    int
	msg       string
}

func (e *stepError) Error() string { return e.typ + ": " + e.msg }

// toFailure maps a step error onto the failure the workflow sees: business failures are
// non-retryable ApplicationErrors of their type, everything else type Retryable.
func toFailure(err error) error {
	se, ok := err.(*stepError)
	if !ok {
		return temporal.NewApplicationError(err.Error(), typeRetryable)
	}
	if se.retryable {
		return temporal.NewApplicationError(se.msg, typeRetryable)
	}
	return temporal.NewNonRetryableApplicationError(se.msg, se.typ, nil)
}

// classify is saga_classify: 2xx ok; transport errors, 408, 429, 5xx and 409
// IdempotencyInFlight retryable; problem codes and statuses map to business types.
func classify(status int, code string) *stepError {
	msg := fmt.Sprintf("HTTP %d %s", status, code)
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == 0:
		return &stepError{retryable: true, typ: typeRetryable, msg: "transport error"}
	case status == 429 || status >= 500 || status == 408:
		return &stepError{retryable: true, typ: typeRetryable, status: status, msg: msg}
	case status == 409 && code == "IdempotencyInFlight":
		return &stepError{retryable: true, typ: typeRetryable, status: status, msg: msg}
	case code == "OutOfStock":
		return &stepError{typ: typeOutOfStock, status: status, msg: msg}
	case code == "InsufficientBalance" || status == 402:
		return &stepError{typ: typeInsufficientBalance, status: status, msg: msg}
	case code == "ReservationCancelled":
		return &stepError{typ: typeReservationCancelled, status: status, msg: msg}
	case code == "IllegalTransition" || status == 409:
		return &stepError{typ: typeIllegalTransition, status: status, msg: msg}
	}
	return &stepError{typ: typeInvalidRequest, status: status, msg: msg}
}

// call sends one request with Idempotency-Key <sagaId>:<key> and classifies the answer. When
// idField is set, a 2xx answer must carry that id (or "id") as a positive integer.
func (a *Activities) call(ctx context.Context, activity, key, sagaID, method, url string,
	body any, idField string) (int64, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, &stepError{typ: typeInvalidRequest, msg: err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Idempotency-Key", sagaID+":"+key)
	if a.ServiceToken != "" {
		req.Header.Set("Authorization", "Bearer "+a.ServiceToken)
	}
	status := 0
	var answer map[string]any
	resp, err := a.Client.Do(req)
	if err == nil {
		raw, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil {
			status = resp.StatusCode
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			_ = d.Decode(&answer) // a body that is not JSON classifies by status alone
		}
	}
	code, _ := answer["code"].(string)
	if se := classify(status, code); se != nil {
		se.msg = activity + " " + method + " " + se.msg
		if detail, ok := answer["detail"].(string); ok {
			if len(detail) > 160 {
				detail = detail[:160]
			}
			se.msg += ": " + detail
		}
		return 0, se
	}
	if idField == "" {
		return 0, nil
	}
	for _, f := range []string{idField, "id"} {
		if n, ok := answer[f].(json.Number); ok {
			if id, err := strconv.ParseInt(string(n), 10, 64); err == nil && id > 0 {
				return id, nil
			}
		}
	}
	// A 2xx without the id is a service bug; retrying may give a proper answer.
	return 0, &stepError{retryable: true, typ: typeRetryable,
		msg: fmt.Sprintf("%s: answer without '%s'", activity, idField)}
}

func (a *Activities) createOrder(ctx context.Context, c *StepContext) error {
	body := map[string]any{"customerId": c.CustomerID, "productId": c.ProductID,
		"quantity": c.Quantity, "amount": c.Amount, "sagaId": c.SagaID}
	id, err := a.call(ctx, "CreateOrder", "createOrder", c.SagaID, "POST",
		a.OrderURL+"/api/orders", body, "orderId")
	if err == nil {
		c.OrderID = id
	}
	return err
}

func (a *Activities) createPayment(ctx context.Context, c *StepContext) error {
	body := map[string]any{"orderId": c.OrderID, "amount": c.Amount, "method": c.PaymentMethod,
		"sagaId": c.SagaID}
	id, err := a.call(ctx, "CreatePayment", "createPayment", c.SagaID, "POST",
		a.PaymentURL+"/api/payments", body, "paymentId")
	if err == nil {
		c.PaymentID = id
	}
	return err
}

func (a *Activities) inventory(ctx context.Context, activity, action string, c *StepContext) error {
	url := fmt.Sprintf("%s/api/inventory/%d/%s?qty=%d&sagaId=%s", a.InventoryURL, c.ProductID,
		action, c.Quantity, c.SagaID)
	_, err := a.call(ctx, activity, stepKey(activity), c.SagaID, "POST", url, nil, "")
	return err
}

func (a *Activities) byID(ctx context.Context, activity, method, base string, id int64,
	action string, c *StepContext) error {
	url := fmt.Sprintf("%s/%d/%s", base, id, action)
	_, err := a.call(ctx, activity, stepKey(activity), c.SagaID, method, url, nil, "")
	return err
}

func need(id int64, what, activity string) error {
	if id > 0 {
		return nil
	}
	return &stepError{typ: typeInvalidRequest, msg: activity + " needs " + what}
}

func isBusiness(err error) bool {
	se, ok := err.(*stepError)
	return ok && !se.retryable
}

// compensated: a compensation whose target is gone (404) has nothing left to undo.
func compensated(err error) error {
	if se, ok := err.(*stepError); ok && !se.retryable && se.status == 404 {
		return nil
	}
	return err
}

// run is saga_step_run for one activity type.
func (a *Activities) run(ctx context.Context, activity string, c *StepContext) error {
	switch activity {
	case "CreateOrder":
		return a.createOrder(ctx, c)
	case "ReserveStock":
		return a.inventory(ctx, activity, "reserve", c)
	case "CreatePayment":
		if err := need(c.OrderID, "orderId", activity); err != nil {
			return err
		}
		return a.createPayment(ctx, c)
	case "ApprovePayment":
		if err := need(c.PaymentID, "paymentId", activity); err != nil {
			return err
		}
		return a.byID(ctx, activity, "POST", a.PaymentURL+"/api/payments", c.PaymentID, "approve", c)
	case "ConfirmOrder":
		if err := need(c.OrderID, "orderId", activity); err != nil {
			return err
		}
		return a.byID(ctx, activity, "PATCH", a.OrderURL+"/api/orders", c.OrderID, "confirm", c)
	case "ConfirmReservation":
		return a.inventory(ctx, activity, "confirm", c)
	case "ConfirmPayment":
		if err := need(c.PaymentID, "paymentId", activity); err != nil {
			return err
		}
		return a.byID(ctx, activity, "POST", a.PaymentURL+"/api/payments", c.PaymentID, "confirm", c)
	case "RefundPayment":
		if c.PaymentID <= 0 {
			if c.OrderID <= 0 {
				return nil // no order, so no payment can exist
			}
			// Learn the id by replaying CreatePayment under its own key.
			if err := a.createPayment(ctx, c); err != nil {
				if isBusiness(err) {
					return nil
				}
				return err
			}
		}
		return compensated(a.byID(ctx, activity, "POST", a.PaymentURL+"/api/payments",
			c.PaymentID, "refund", c))
	case "CancelReservation":
		return compensated(a.inventory(ctx, activity, "cancel", c))
	case "CancelOrder":
		if c.OrderID <= 0 {
			if err := a.createOrder(ctx, c); err != nil {
				if isBusiness(err) {
					return nil
				}
				return err
			}
		}
		return compensated(a.byID(ctx, activity, "PATCH", a.OrderURL+"/api/orders", c.OrderID,
			"cancel", c))
	}
	return &stepError{typ: typeInvalidRequest, msg: "unknown step '" + activity + "'"}
}

// validContext is saga_context_parse's check of an activity input.
func validContext(c *StepContext) error {
	switch {
	case !validSagaID(c.SagaID):
		return &stepError{typ: typeInvalidRequest,
			msg: "'sagaId' must be a string of [A-Za-z0-9._:-], 1..127 chars"}
	case c.CustomerID <= 0 || c.ProductID <= 0 || c.Quantity <= 0 || c.Amount <= 0:
		return &stepError{typ: typeInvalidRequest,
			msg: "customerId, productId, quantity and amount must be positive integers"}
	case c.OrderID < 0 || c.PaymentID < 0:
		return &stepError{typ: typeInvalidRequest, msg: "ids must be non-negative integers"}
	}
	if c.PaymentMethod == "" {
		c.PaymentMethod = "CARD"
	}
	return nil
}

func (a *Activities) do(ctx context.Context, activity string, in StepContext) (StepContext, error) {
	if err := validContext(&in); err != nil {
		return StepContext{}, toFailure(err)
	}
	if err := a.run(ctx, activity, &in); err != nil {
		return StepContext{}, toFailure(err)
	}
	return in, nil
}

// handler is the activity registered under one activity type name (all ten share run).
func (a *Activities) handler(activity string) func(context.Context, StepContext) (StepContext, error) {
	return func(ctx context.Context, in StepContext) (StepContext, error) {
		return a.do(ctx, activity, in)
	}
}

// activityTypes are the ten names, as a Java SDK worker would register them.
func activityTypes() []string {
	names := make([]string, 0, 10)
	for _, s := range forwardSteps {
		names = append(names, s.activity)
	}
	return append(names, "RefundPayment", "CancelReservation", "CancelOrder")
}

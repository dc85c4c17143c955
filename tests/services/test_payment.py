"""service-payment end to end: create, approve through semaphore:pg and the fake gateway,
confirm, refund, every legal and illegal transition, InsufficientBalance, transient gateway
failures, Idempotency-Key, and the semaphore's limit measured inside the gateway."""
import json
import random
import re
import signal
import threading
import unittest

import harness
from svc_util import (PORTS, Service, ServiceCase, concurrently, drop_database,
                      private_database, relayed_events)

DB = "payment_db"


def pay_body(saga, amount=20000, **over):
    body = {"orderId": random.randint(1, 10**9), "amount": amount, "method": "CARD",
            "sagaId": saga}
    body.update(over)
    return body


def gauge(svc, name, labels=""):
    """Value of one series in /metrics (0 when a labelled series does not exist yet)."""
    st, _, text = svc.get("/metrics")
    assert st == 200, text
    sel = re.escape("{" + labels + "}") if labels else r"(?:\{\})?"
    m = re.search(rf"^{name}{sel} ([0-9.e+-]+)$", text, re.M)
    if not m and labels:
        return 0.0
    assert m, f"{name} missing from /metrics:\n{text}"
    return float(m.group(1))


class PaymentCase(ServiceCase):
    def create(self, saga=None, key=None, **kw):
        saga = saga or harness.uid("saga-")
        return self.svc.call("POST", "/api/payments", pay_body(saga, **kw), key=key)

    def new_payment(self, **kw):
        return self.assertOk(self.create(**kw), 201)["paymentId"]

    def do(self, pid, action, key=None):
        return self.svc.call("POST", f"/api/payments/{pid}/{action}", key=key)

    def status(self, pid):
        return self.assertOk(self.svc.get(f"/api/payments/{pid}"))["status"]

    def events(self, pid):
        return [r[0] for r in harness.sql(
            DB, "SELECT event_type FROM outbox_events WHERE aggregate_type = 'Payment' "
                f"AND aggregate_id = '{pid}' ORDER BY id")]


class PaymentServiceTest(PaymentCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service("service-payment", PORTS["payment"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def test_create_returns_201_and_is_readable(self):
        saga = harness.uid("saga-")
        st, headers, body = self.create(saga, method="BANK_TRANSFER")
        self.assertEqual(st, 201, body)
        self.assertEqual((body["status"], body["amount"], body["method"], body["sagaId"]),
                         ("CREATED", 20000, "BANK_TRANSFER", saga))
        self.assertIsNone(body["failureReason"])
        self.assertEqual(headers.get("location"), f"/api/payments/{body['paymentId']}")
        self.assertEqual(self.assertOk(self.svc.get(f"/api/payments/{body['paymentId']}")), body)
        self.assertEqual(self.events(body["paymentId"]), ["PaymentCreated"])

    def test_method_defaults_to_card(self):
        saga = harness.uid("saga-")
        body = {"orderId": 5, "amount": 100, "sagaId": saga}
        got = self.assertOk(self.svc.call("POST", "/api/payments", body), 201)
        self.assertEqual(got["method"], "CARD")

    def test_second_create_for_the_same_saga_returns_the_existing_payment(self):
        saga = harness.uid("saga-")
        first = self.assertOk(self.create(saga), 201)
        again = self.assertOk(self.create(saga, amount=5), 200)
        self.assertEqual(again["paymentId"], first["paymentId"])
        self.assertEqual(harness.sql_value(DB, "SELECT COUNT(*) FROM payments WHERE "
                                               f"saga_id = '{saga}'"), "1")

    def test_happy_path_approve_then_confirm(self):
        pid = self.new_payment()
        self.assertEqual(self.assertOk(self.do(pid, "approve"))["status"], "APPROVED")
        self.assertEqual(self.assertOk(self.do(pid, "approve"))["status"], "APPROVED")
        self.assertEqual(self.assertOk(self.do(pid, "confirm"))["status"], "CONFIRMED")
        self.assertEqual(self.assertOk(self.do(pid, "confirm"))["status"], "CONFIRMED")
        self.assertEqual(self.assertOk(self.do(pid, "approve"))["status"], "CONFIRMED")
        self.assertEqual(self.events(pid),
                         ["PaymentCreated", "PaymentApproved", "PaymentConfirmed"])

    def test_confirm_before_approve_is_refused(self):
        pid = self.new_payment()
        self.assertProblem(self.do(pid, "confirm"), 409, "IllegalTransition")
        self.assertEqual(self.status(pid), "CREATED")

    def test_amount_above_the_limit_fails_with_insufficient_balance(self):
        pid = self.new_payment(amount=1_000_001)
        body = self.assertProblem(self.do(pid, "approve"), 402, "InsufficientBalance")
        self.assertEqual((body["paymentId"], body["paymentStatus"]), (pid, "FAILED"))
        got = self.assertOk(self.svc.get(f"/api/payments/{pid}"))
        self.assertEqual(got["status"], "FAILED")
        self.assertIn("InsufficientBalance", got["failureReason"])
        # Retrying the approval gives the same refusal without another charge.
        self.assertProblem(self.do(pid, "approve"), 402, "InsufficientBalance")
        self.assertProblem(self.do(pid, "confirm"), 409, "IllegalTransition")
        self.assertEqual(self.assertOk(self.do(pid, "refund"))["status"], "REFUNDED")
        self.assertEqual(self.events(pid),
                         ["PaymentCreated", "PaymentFailed", "PaymentRefunded"])

    def test_amount_at_the_limit_is_approved(self):
        pid = self.new_payment(amount=1_000_000)
        self.assertEqual(self.assertOk(self.do(pid, "approve"))["status"], "APPROVED")

    def test_refund_of_approved_then_refund_again_is_a_noop(self):
        pid = self.new_payment()
        self.assertOk(self.do(pid, "approve"))
        body = self.assertOk(self.do(pid, "refund"))
        self.assertEqual((body["status"], body["version"]), ("REFUNDED", 2))
        body = self.assertOk(self.do(pid, "refund"))
        self.assertEqual((body["status"], body["version"]), ("REFUNDED", 2))
        self.assertProblem(self.do(pid, "confirm"), 409, "IllegalTransition")
        self.assertProblem(self.do(pid, "approve"), 409, "IllegalTransition")
        self.assertEqual(self.events(pid),
                         ["PaymentCreated", "PaymentApproved", "PaymentRefunded"])

    def test_refund_of_created_means_it_is_never_charged(self):
        pid = self.new_payment()
        self.assertEqual(self.assertOk(self.do(pid, "refund"))["status"], "REFUNDED")
        self.assertProblem(self.do(pid, "approve"), 409, "IllegalTransition")
        self.assertEqual(self.status(pid), "REFUNDED")

    def test_refund_of_confirmed_is_allowed(self):
        pid = self.new_payment()
        self.assertOk(self.do(pid, "approve"))
        self.assertOk(self.do(pid, "confirm"))
        self.assertEqual(self.assertOk(self.do(pid, "refund"))["status"], "REFUNDED")
        self.assertProblem(self.do(pid, "confirm"), 409, "IllegalTransition")

    def test_refund_of_an_unknown_payment_succeeds_without_effect(self):
        before = harness.sql_value(DB, "SELECT COUNT(*) FROM payments WHERE id = 987654321")
        body = self.assertOk(self.do(987654321, "refund"))
        self.assertEqual((body["paymentId"], body["status"], body["noop"]),
                         (987654321, None, True))
        self.assertEqual(harness.sql_value(DB, "SELECT COUNT(*) FROM payments WHERE "
                                               "id = 987654321"), before)
        self.assertEqual(self.events(987654321), [])

    def test_unknown_payment_is_404_for_the_other_actions(self):
        for method, path in (("GET", "/api/payments/987654321"),
                             ("POST", "/api/payments/987654321/approve"),
                             ("POST", "/api/payments/987654321/confirm")):
            self.assertProblem(self.svc.call(method, path), 404, "NotFound")

    def test_racing_refund_and_approve_never_leave_a_charge_behind(self):
        for _ in range(5):
            pid = self.new_payment()
            acts = ["approve", "refund"] * 4
            concurrently(len(acts), lambda i: self.do(pid, acts[i]))
            self.assertEqual(self.status(pid), "REFUNDED")
            evs = self.events(pid)
            self.assertEqual(evs[-1], "PaymentRefunded")
            self.assertEqual(evs.count("PaymentRefunded"), 1)

    def test_idempotency_key_replays_and_refuses_reuse(self):
        saga, key = harness.uid("saga-"), harness.uid("key-")
        body = pay_body(saga, amount=10)
        st1, _, first = self.svc.call("POST", "/api/payments", body, key=key)
        st2, headers, again = self.svc.call("POST", "/api/payments", body, key=key)
        self.assertEqual((st1, st2), (201, 201))
        self.assertEqual(first, again)
        self.assertEqual(headers.get("idempotent-replayed"), "true")
        self.assertEqual(headers.get("location"), f"/api/payments/{first['paymentId']}")
        self.assertProblem(self.svc.call("POST", "/api/payments", dict(body, amount=11), key=key),
                           422, "IdempotencyKeyReused")
        pid = first["paymentId"]
        key = harness.uid("key-")
        self.assertOk(self.do(pid, "approve", key=key))
        self.assertEqual(self.do(pid, "approve", key=key)[1].get("idempotent-replayed"), "true")

    def test_concurrent_same_key_creates_one_payment(self):
        saga, key = harness.uid("saga-"), harness.uid("key-")
        body = pay_body(saga)
        results = concurrently(10, lambda i: self.svc.call("POST", "/api/payments", body,
                                                           key=key))
        for st, _, b in results:
            if st != 201:
                self.assertEqual((st, b["code"]), (409, "IdempotencyInFlight"))
        self.assertIn(201, [r[0] for r in results])
        self.assertEqual(harness.sql_value(DB, "SELECT COUNT(*) FROM payments WHERE "
                                               f"saga_id = '{saga}'"), "1")


class PaymentSemaphoreTest(PaymentCase):
    """The gateway measures its own concurrency; semaphore:pg must cap it at PG_CONCURRENCY."""
    LIMIT = 3

    @classmethod
    def setUpClass(cls):
        cls.svc = Service("service-payment", PORTS["payment-semaphore"], env={
            "PG_CONCURRENCY": cls.LIMIT, "FAKE_PG_LATENCY_MS": 150, "PG_WAIT_MS": 60000,
            "HTTP_THREADS": 24}).start()

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def test_peak_concurrency_in_the_gateway_never_exceeds_the_limit(self):
        pids = [self.new_payment() for _ in range(20)]
        results = concurrently(20, lambda i: self.do(pids[i], "approve"))
        for st, _, body in results:
            self.assertEqual(st, 200, body)
        peak = gauge(self.svc, "fake_pg_inflight_peak")
        self.assertGreaterEqual(peak, 1)
        self.assertLessEqual(peak, self.LIMIT)
        for pid in pids:
            self.assertEqual(self.status(pid), "APPROVED")

    def test_racing_approvals_of_one_payment_charge_once(self):
        approved = 'outcome="approved"'
        pid = self.new_payment()
        before = gauge(self.svc, "fake_pg_charges_total", approved)
        results = concurrently(8, lambda i: self.do(pid, "approve"))
        for st, _, body in results:
            self.assertEqual((st, body["status"]), (200, "APPROVED"), body)
        self.assertEqual(gauge(self.svc, "fake_pg_charges_total", approved) - before, 1)
        self.assertEqual(self.events(pid), ["PaymentCreated", "PaymentApproved"])


class PaymentGatewayFaultTest(PaymentCase):
    """FAKE_PG_FAILURE_RATE=1: every charge fails transiently -> 503, nothing changes, and the
    Idempotency-Key is released so the retry runs again."""

    @classmethod
    def setUpClass(cls):
        cls.svc = Service("service-payment", PORTS["payment-faults"], env={
            "FAKE_PG_FAILURE_RATE": 1}).start()

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def test_transient_gateway_failure_is_503_and_retryable(self):
        pid = self.new_payment()
        key = harness.uid("key-")
        self.assertProblem(self.do(pid, "approve", key=key), 503, "Unavailable")
        st, headers, body = self.do(pid, "approve", key=key)
        self.assertEqual((st, body["code"]), (503, "Unavailable"))
        self.assertNotEqual(headers.get("idempotent-replayed"), "true")
        self.assertEqual(self.status(pid), "CREATED")
        self.assertEqual(self.events(pid), ["PaymentCreated"])
        self.assertEqual(self.assertOk(self.do(pid, "refund"))["status"], "REFUNDED")


class PaymentBusyTest(PaymentCase):
    """429 Busy is retryable: an Idempotency-Key must not pin it. The payment's approval lock
    is held by a stranger, so approve answers 429; once it is gone the retry with the same
    key runs and approves (it is not a replay of the 429)."""

    @classmethod
    def setUpClass(cls):
        cls.svc = Service("service-payment", PORTS["payment-busy"],
                          env={"PG_WAIT_MS": 0}).start()

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def test_busy_answer_is_not_replayed_to_the_retry(self):
        pid = self.new_payment()
        lock, key = f"lock:payment:{pid}", harness.uid("key-")
        harness.redis_cli("SET", lock, "stranger", "PX", "600000")
        self.addCleanup(harness.redis_cli, "DEL", lock)
        st, headers, body = self.do(pid, "approve", key=key)
        self.assertProblem((st, headers, body), 429, "Busy")
        self.assertEqual(headers.get("retry-after"), "1")
        self.assertEqual(self.status(pid), "CREATED")
        harness.redis_cli("DEL", lock)
        st, headers, body = self.do(pid, "approve", key=key)
        self.assertEqual((st, body.get("status")), (200, "APPROVED"), body)
        self.assertNotEqual(headers.get("idempotent-replayed"), "true")
        st, headers, again = self.do(pid, "approve", key=key)
        self.assertEqual((st, again), (200, body))
        self.assertEqual(headers.get("idempotent-replayed"), "true")


class PaymentDrainTest(PaymentCase):
    """SIGTERM while an approval is inside the gateway: the request finishes and is answered,
    its result is committed, and the daemon exits 0."""

    def test_sigterm_drains_an_approval_in_flight(self):
        self.svc = Service("service-payment", PORTS["payment-drain"],
                           env={"FAKE_PG_LATENCY_MS": 1500}).start()
        try:
            pid = self.new_payment()
            box = {}
            worker = threading.Thread(target=lambda: box.update(r=self.do(pid, "approve")))
            worker.start()
            harness.wait_until(lambda: gauge(self.svc, "fake_pg_inflight") == 1, 30,
                               what="approval inside the gateway")
            self.svc.proc.send_signal(signal.SIGTERM)
            worker.join()
        finally:
            self.svc.stop()
        st, _, body = box["r"]
        self.assertEqual((st, body["status"]), (200, "APPROVED"), body)
        self.assertEqual(harness.sql_value(DB, f"SELECT status FROM payments WHERE id = {pid}"),
                         "APPROVED")


class PaymentRelayTest(PaymentCase):
    """The daemon's outbox relay publishes its events (on a database of the test's own)."""

    def test_payment_events_reach_the_stream(self):
        db = private_database("payment_db")
        self.addCleanup(drop_database, db)
        self.svc = Service("service-payment", PORTS["payment-relay"],
                           env={"MYSQL_DATABASE": db}).start()
        self.addCleanup(self.svc.stop)
        saga = harness.uid("saga-")
        pid = self.new_payment(saga=saga, amount=2_000_000)
        self.assertProblem(self.do(pid, "approve"), 402, "InsufficientBalance")
        self.assertOk(self.do(pid, "refund"))
        events = relayed_events(self.svc, db, "Payment", pid, 3)
        self.assertEqual([e["eventType"] for e in events],
                         ["PaymentCreated", "PaymentFailed", "PaymentRefunded"])
        payload = json.loads(events[2]["payload"])
        self.assertEqual((payload["sagaId"], payload["paymentId"], payload["previousStatus"]),
                         (saga, pid, "FAILED"))


if __name__ == "__main__":
    unittest.main()

"""End-to-end tests of cancelling an order saga on orchestrator-temporal and of stuck steps made
visible (issue 12), on the real stack: MariaDB, Redis, the Temporal dev server and the CLI, the
three services and orchestrators of our own. A step is held by pausing its service (SIGSTOP).

Ports 24091-24098; a task queue of our own per run; product ids of our own. ORDER_ACTIVITY_MODE
in the environment (remote or local) picks the orchestrators' mode. No timed assertions: waits
poll for a state and fail only after a generous limit.
"""
import os
import random
import signal
import subprocess
import threading
import time
import unittest

import harness
import ot_e2e
from harness import Daemon, http, sql, temporal_cli, uid, wait_until

MODE = os.environ.get("ORDER_ACTIVITY_MODE", "remote")
SRC_DIR = os.environ.get("SAGA_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
ORCH, ORDER, INVENTORY, PAYMENT, SLOW_PAYMENT, SLOW_ORCH, STUCK_ORCH, FRONT = range(24091, 24099)
RUN = uid(f"ocancel-{MODE}-")
GATEWAY_MS = 3000  # the slow payment service holds ApprovePayment this long
STUCK_MS = 3000    # SAGA_STUCK_AFTER_MS of the stuck test's orchestrator
SVC = {}


def setUpModule():
    SVC.update(ot_e2e.start_services([
        ("service-order", ORDER, {}), ("service-inventory", INVENTORY, {}),
        ("service-payment", PAYMENT, {}),
        ("service-payment", SLOW_PAYMENT, {"FAKE_PG_LATENCY_MS": GATEWAY_MS})], "oc"))


def tearDownModule():
    for d in SVC.values():
        d.stop()


def orchestrator(port, queue, payment=PAYMENT, **env):
    e = {"ORDER_SERVICE_URL": f"http://127.0.0.1:{ORDER}",
         "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{INVENTORY}",
         "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{payment}",
         "TEMPORAL_TASK_QUEUE": queue, "ORDER_ACTIVITY_MODE": MODE,
         # a call to a paused service gives up after 2 s (an attempt that failed retryably)
         "SERVICE_CALL_TIMEOUT_MS": 2000, "ACTIVITY_START_TO_CLOSE_MS": GATEWAY_MS + 4000}
    if MODE == "local":
        # A held step holds the workflow task open; the worker answers it at 80 % of this (a
        # heartbeat), which is when a cancel gets in: well within a held step's three attempts.
        e["ORDER_TASK_TIMEOUT_MS"] = 3000
    e.update(env)
    return Daemon("orchestrator-temporal", port, env=e, log_name=f"oc-orchestrator-{port}")


def new_product(stock):
    return ot_e2e.new_product(INVENTORY, stock)


def stock(pid):
    return ot_e2e.stock(INVENTORY, pid)


def order(pid):
    return {"customerId": 1, "productId": pid, "quantity": 2, "amount": 20000}


rows = ot_e2e.saga_rows
events = ot_e2e.history


class Held:
    """Pauses a service (SIGSTOP) for a with-block: the step calling it hangs."""

    def __init__(self, daemon):
        self.d = daemon

    def __enter__(self):
        os.kill(self.d.proc.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        os.kill(self.d.proc.pid, signal.SIGCONT)


def event_types(wid):
    return [e["eventType"].replace("EVENT_TYPE_", "") for e in events(wid)]


class Api:
    """A test class with an orchestrator of its own: PORT, SUFFIX (of its task queue), ENV."""
    ENV = {}

    @classmethod
    def setUpClass(cls):
        cls.queue = RUN + "-" + cls.SUFFIX
        cls.orch = orchestrator(cls.PORT, cls.queue, **cls.ENV).start()

    @classmethod
    def tearDownClass(cls):
        cls.orch.stop()

    def post_async(self, pid):
        st, _, b = http("POST", self.orch.url + "/api/temporal/orders/async", order(pid))
        self.assertEqual(st, 202, b)
        return b["workflowId"]

    def get(self, wid):
        st, _, b = http("GET", f"{self.orch.url}/api/temporal/orders/{wid}")
        self.assertEqual(st, 200, b)
        return b

    def cancel(self, wid, body=None, raw=None, headers=None):
        return http("POST", f"{self.orch.url}/api/temporal/orders/{wid}/cancel", body,
                    raw=raw, headers=headers)

    def wait_step(self, wid, step, timeout=60):
        return wait_until(lambda: (lambda v: v if v.get("step") == step else None)(self.get(wid)),
                          timeout, 0.05, f"{wid} at {step}")

    def wait_closed(self, wid, timeout=120):
        return wait_until(lambda: (lambda v: v if v["status"] != "RUNNING" else None)(
            self.get(wid)), timeout, 0.2, f"{wid} to close")

    def assert_cancelled(self, wid, pid, payments=((), ("REFUNDED",))):
        view = self.wait_closed(wid)
        self.assertEqual(view["status"], "CANCELED", view)
        self.assertFalse(view["result"]["success"], view)
        self.assertTrue(view["result"]["error"].startswith("Cancelled: "), view)
        orders, pays, reservations = rows(wid)
        self.assertEqual(orders, ["CANCELLED"])
        self.assertIn(tuple(pays), payments)
        self.assertIn(reservations, ([], ["CANCELLED"]))
        self.assertEqual(stock(pid), (10, 0))
        types = event_types(wid)
        self.assertIn("WORKFLOW_EXECUTION_CANCEL_REQUESTED", types)
        self.assertEqual(types[-1], "WORKFLOW_EXECUTION_CANCELED")
        # The stuck timer: a local run's held task sent it with a heartbeat, so its end
        # cancels it (dropWatch); a remote run leaves it to be dropped with the run.
        self.assertEqual("TIMER_CANCELED" in types, MODE == "local", types)
        return view


class CancelTest(Api, unittest.TestCase):
    PORT, SUFFIX = ORCH, "cancel"

    def cancel_while_held(self, service_port, step, payments=((), ("REFUNDED",)), twice=False):
        pid = new_product(10)
        with Held(SVC[service_port]):
            wid = self.post_async(pid)
            view = self.wait_step(wid, step)
            self.assertTrue(view["cancellable"], view)
            st, _, b = self.cancel(wid)
            self.assertEqual(st, 202, b)
            self.assertEqual(b["workflowId"], wid)
            self.assertEqual(b["status"], "RUNNING")
            self.assertTrue(b["cancelRequested"], b)
            if twice:  # idempotent: the same answer, nothing more recorded
                st, _, b2 = self.cancel(wid)
                self.assertEqual(st, 202, b2)
                self.assertTrue(b2["cancelRequested"], b2)
        self.assert_cancelled(wid, pid, payments)
        if twice:
            self.assertEqual(event_types(wid).count("WORKFLOW_EXECUTION_CANCEL_REQUESTED"), 1)
            st, _, b = self.cancel(wid)  # ended: 409 with its real final state
            self.assertEqual(st, 409, b)
            self.assertEqual(b["code"], "IllegalTransition")
            self.assertEqual(b["order"]["status"], "CANCELED")
        return wid

    def test_cancel_during_create_order(self):
        self.cancel_while_held(ORDER, "CreateOrder", payments=((),))

    def test_cancel_during_reserve_stock_twice_then_409_once_ended(self):
        self.cancel_while_held(INVENTORY, "ReserveStock", payments=((),), twice=True)

    def test_cancel_during_create_payment(self):
        self.cancel_while_held(PAYMENT, "CreatePayment")

    def test_a_waiting_post_answers_the_cancelled_result(self):
        pid = new_product(10)
        answer = {}
        with Held(SVC[INVENTORY]):
            t = threading.Thread(target=lambda: answer.update(r=http(
                "POST", self.orch.url + "/api/temporal/orders", order(pid), timeout=120)))
            t.start()
            wid = wait_until(lambda: next((r[0] for r in sql(
                "order_db", f"SELECT saga_id FROM orders WHERE product_id={pid}")), None),
                60, 0.1, "the order row")
            self.wait_step(wid, "ReserveStock")
            st, _, b = self.cancel(wid)
            self.assertEqual(st, 202, b)
        t.join()
        st, _, res = answer["r"]
        self.assertEqual(st, 200, res)
        self.assertEqual(set(res), {"success", "error", "workflowId"})
        self.assertFalse(res["success"])
        self.assertTrue(res["error"].startswith("Cancelled: "), res)
        self.assert_cancelled(wid, pid, payments=((),))

    def test_cancel_from_the_temporal_cli(self):
        pid = new_product(10)
        with Held(SVC[INVENTORY]):
            wid = self.post_async(pid)
            self.wait_step(wid, "ReserveStock")
            cp = temporal_cli("workflow", "cancel", "-w", wid)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            wait_until(lambda: self.get(wid)["cancelRequested"], 30, 0.1, "cancel taken")
        self.assert_cancelled(wid, pid, payments=((),))

    def test_cancel_from_the_temporal_ui(self):
        # The UI's "Request Cancellation" button, pressed in headless Chromium (the browser
        # and playwright-core that tests/ship uses).
        ui = os.environ.get("TEMPORAL_UI_URL", "http://127.0.0.1:21088")
        modules = os.environ.get("SHIP_NODE_MODULES",
                                 os.path.join(SRC_DIR, "tests", "ship", "node_modules"))
        chromium = os.environ.get("SHIP_CHROMIUM", "/usr/bin/chromium")
        self.assertTrue(os.path.isdir(os.path.join(modules, "playwright-core")),
                        "playwright-core missing: run npm ci in tests/ship")
        self.assertTrue(os.access(chromium, os.X_OK), f"{chromium} missing (Debian chromium)")
        pid = new_product(10)
        with Held(SVC[INVENTORY]):
            wid = self.post_async(pid)
            self.wait_step(wid, "ReserveStock")
            cp = subprocess.run([os.environ.get("SHIP_NODE") or "node",
                                 os.path.join(os.path.dirname(__file__), "ui_cancel.js"), ui, wid,
                                 os.path.join(harness.LOG_DIR, "ui-cancel.png")],
                                capture_output=True, text=True, timeout=120,
                                env=dict(os.environ, NODE_PATH=modules, SHIP_CHROMIUM=chromium))
            self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
            wait_until(lambda: self.get(wid)["cancelRequested"], 30, 0.1, "cancel taken")
        self.assert_cancelled(wid, pid, payments=((),))

    def test_unknown_and_malformed_ids_and_bodies(self):
        st, h, b = self.cancel("order-" + uid("nope-"))
        self.assertEqual(st, 404, b)
        self.assertIn("application/problem+json", h["content-type"])
        for bad in ("a" * 128, "bad%20id", "bad%21"):
            st, _, b = self.cancel(bad)
            self.assertEqual(st, 400, (bad, b))
        pid = new_product(10)
        with Held(SVC[INVENTORY]):
            wid = self.post_async(pid)
            self.wait_step(wid, "ReserveStock")
            for raw in (b"{nope", b"[1,2]", b'"x"', b'{"reason": 5}', b'{"reason": ""}'):
                st, _, b = self.cancel(wid, raw=raw, headers={"Content-Type": "application/json"})
                self.assertEqual(st, 400, (raw, b))
                self.assertEqual(b["code"], "ValidationFailed")
            st, _, b = self.cancel(wid, raw=b"cancel", headers={"Content-Type": "text/plain"})
            self.assertEqual(st, 415, b)
            self.assertFalse(self.get(wid)["cancelRequested"])  # bad input changed nothing
            self.assertNotIn("WORKFLOW_EXECUTION_CANCEL_REQUESTED", event_types(wid))
            st, _, b = self.cancel(wid, {"reason": "changed my mind"})
            self.assertEqual(st, 202, b)
        self.assert_cancelled(wid, pid, payments=((),))
        req = [e for e in events(wid)
               if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED"][0]
        self.assertEqual(req["workflowExecutionCancelRequestedEventAttributes"]["cause"],
                         "changed my mind")

    def test_state_while_a_step_is_held_on_this_replica_and_another(self):
        # The replica whose worker drives the run answers from the worker's state with local
        # steps (a query would wait for the workflow task they hold open) and by the getState
        # query with remote ones; a replica without a worker queries too, or with local steps
        # replays the history recorded up to the task's last heartbeat. None waits for the step.
        front = orchestrator(FRONT, self.queue, TEMPORAL_WORKER="off").start()
        try:
            pid = new_product(10)
            with Held(SVC[INVENTORY]):
                wid = self.post_async(pid)
                here = self.wait_step(wid, "ReserveStock")
                self.assertEqual(here["stateSource"], "worker" if MODE == "local" else "query")
                there = wait_until(lambda: (lambda v: v if v.get("step") == "ReserveStock" else None)(
                    http("GET", f"{front.url}/api/temporal/orders/{wid}")[2]), 60, 0.1,
                    "the other replica to see ReserveStock")
                self.assertEqual(there["stateSource"], "history" if MODE == "local" else "query")
                for k in ("phase", "compensationStack", "orderId", "activityMode", "cancellable"):
                    self.assertEqual(there[k], here[k], k)
                self.assertEqual(there["compensationStack"], ["CancelReservation", "CancelOrder"])
                self.assertEqual(there["activityMode"], MODE)
                st, _, b = http("POST", f"{front.url}/api/temporal/orders/{wid}/cancel")
                self.assertEqual(st, 202, b)
        finally:
            front.stop()
        self.assert_cancelled(wid, pid, payments=((),))

    def test_cancel_racing_the_end_gives_the_real_final_state(self):
        # No step held: each cancel lands somewhere between the start and the end. Whatever it
        # meets, the answer and the data agree: 202 and a compensated saga, or 409 and a
        # confirmed (or ended) one - never a half-compensated saga.
        pid = new_product(100)
        answers = []
        for i in range(8):
            wid = self.post_async(pid)
            time.sleep(random.random() * 0.4)
            st, _, b = self.cancel(wid)
            self.assertIn(st, (202, 409), b)
            view = self.wait_closed(wid)
            orders, pays, reservations = rows(wid)
            if view["status"] == "CANCELED":
                self.assertEqual(st, 202, b)
                self.assertEqual(orders, ["CANCELLED"])
                self.assertIn(pays, ([], ["REFUNDED"]))
                self.assertIn(reservations, ([], ["CANCELLED"]))
            else:
                self.assertEqual(st, 409, b)
                self.assertEqual(view["status"], "COMPLETED", view)
                self.assertTrue(view["result"]["success"], view)
                self.assertEqual((orders, pays, reservations),
                                 (["CONFIRMED"], ["CONFIRMED"], ["CONFIRMED"]))
            answers.append(view["status"])
        confirmed = answers.count("COMPLETED")
        self.assertEqual(stock(pid), (100 - 2 * confirmed, 0))


class PivotTest(Api, unittest.TestCase):
    """ApprovePayment held by a slow gateway: a cancel before the pivot wins even if the
    approval succeeds (RefundPayment undoes it); after the pivot a cancel is 409, recorded by
    the server and ignored, and the order completes."""

    PORT, SUFFIX = SLOW_ORCH, "pivot"
    ENV = {"payment": SLOW_PAYMENT}

    def test_cancel_during_approve_payment_refunds(self):
        pid = new_product(10)
        wid = self.post_async(pid)
        self.wait_step(wid, "ApprovePayment")
        st, _, b = self.cancel(wid)
        self.assertEqual(st, 202, b)
        if b.get("status") == "CANCELED":
            # The run had closed by the time the answer was read: every compensation ran (local
            # activities are that quick); the answer is the closed run's view.
            self.assertEqual(MODE, "local", b)
        else:
            self.assertTrue(b["cancelRequested"], b)
            # Every compensation up to ApprovePayment's is registered and they run LIFO: the
            # answer shows what is left of that stack. RefundPayment may already be running (so
            # off the stack) when the cancel met the step between two attempts - its first call
            # outlasts SERVICE_CALL_TIMEOUT_MS - and the step ended at once; as local activities
            # the compensations may be further along by the time the answer is read.
            stack = ["RefundPayment", "CancelReservation", "CancelOrder"]
            left = b["compensationStack"]
            self.assertEqual(left, stack[len(stack) - len(left):], b)
            if len(left) < 2:
                self.assertEqual(MODE, "local", b)
        self.assert_cancelled(wid, pid, payments=(("REFUNDED",),))

    def test_cancel_after_the_pivot_is_409_and_the_order_completes(self):
        pid = new_product(10)
        wid = self.post_async(pid)
        self.wait_step(wid, "ApprovePayment")
        with Held(SVC[INVENTORY]):  # ConfirmReservation waits: the saga is past its pivot
            view = wait_until(lambda: (lambda v: v if v.get("phase") == "RUNNING" and v.get(
                "step") in ("ConfirmOrder", "ConfirmReservation", "ConfirmPayment") else None)(
                self.get(wid)), 60, 0.05, "confirms")
            self.assertFalse(view["cancellable"], view)
            st, h, b = self.cancel(wid)
            self.assertEqual(st, 409, b)
            self.assertIn("application/problem+json", h["content-type"])
            self.assertEqual(b["code"], "IllegalTransition")
            self.assertEqual(b["order"]["status"], "RUNNING")
            self.assertEqual(b["order"]["phase"], "RUNNING")
            # the CLI's cancel reaches the server; the workflow records it and goes on
            cp = temporal_cli("workflow", "cancel", "-w", wid)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            wait_until(lambda: self.get(wid)["cancelIgnored"], 30, 0.1, "cancel ignored")
        view = self.wait_closed(wid)
        self.assertEqual(view["status"], "COMPLETED", view)
        self.assertTrue(view["result"]["success"], view)
        self.assertEqual(rows(wid), (["CONFIRMED"], ["CONFIRMED"], ["CONFIRMED"]))
        self.assertEqual(stock(pid), (8, 0))
        self.assertIn("WORKFLOW_EXECUTION_CANCEL_REQUESTED", event_types(wid))


def metric(text, name, labels=""):
    """Value of one sample of the Prometheus text (0 when absent)."""
    want = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return 0.0


class StuckTest(Api, unittest.TestCase):
    """A compensation that keeps failing for longer than SAGA_STUCK_AFTER_MS shows in the stuck
    list, the gauges and the status endpoint (attempt, last error, since when), and disappears
    when its service is back."""

    PORT, SUFFIX = STUCK_ORCH, "stuck"
    ENV = {"SAGA_STUCK_AFTER_MS": STUCK_MS}

    def metrics(self):
        st, _, text = http("GET", self.orch.url + "/metrics")
        self.assertEqual(st, 200)
        return text

    def stuck_ids(self):
        st, _, b = http("GET", self.orch.url + "/api/temporal/orders?stuck=true")
        self.assertEqual(st, 200, b)
        self.assertEqual(b["stuckAfterMs"], STUCK_MS)
        return {o["workflowId"]: o for o in b["orders"]}

    def test_stuck_compensation_is_listed_gauged_described_and_cleared(self):
        for bad in ("maybe", "1"):
            st, _, b = http("GET", self.orch.url + f"/api/temporal/orders?stuck={bad}")
            self.assertEqual(st, 400, b)
        inv = SVC[INVENTORY]
        pid = new_product(10)
        inv.stop()  # ReserveStock fails until out of attempts; CancelReservation then retries
        try:
            wid = self.post_async(pid)
            view = wait_until(lambda: (lambda v: v if v.get("phase") == "COMPENSATING" and v.get(
                "step") == "CancelReservation" and v.get("attempt", 0) >= 2 else None)(
                self.get(wid)), 90, 0.2, "CancelReservation retrying")
            self.assertTrue(view["lastError"], view)
            self.assertIsNotNone(view["stepSince"], view)
            self.assertEqual(view["error"].split(":")[0], "RetriesExhausted")
            listed = wait_until(lambda: self.stuck_ids().get(wid), 60, 0.3, "stuck listing")
            self.assertEqual(listed["step"], "CancelReservation")
            self.assertTrue(listed["stuck"])
            view = self.get(wid)
            self.assertTrue(view["stuck"], view)
            m = self.metrics()
            self.assertEqual(metric(m, "saga_in_progress", 'phase="COMPENSATING"'), 1, m)
            self.assertGreater(metric(m, "saga_oldest_retry_seconds"), 0, m)
            self.assertGreater(metric(m, "saga_step_retries_total",
                                      'step="CancelReservation",outcome="transport"'), 0, m)
            self.assertIn(wid, {o["workflowId"] for o in http(
                "GET", self.orch.url + "/api/temporal/orders")[2]["orders"]})
        finally:
            inv.start()
        view = self.wait_closed(wid)
        self.assertEqual(view["status"], "COMPLETED")
        self.assertFalse(view["result"]["success"])
        self.assertEqual(rows(wid)[0], ["CANCELLED"])
        self.assertEqual(stock(pid), (10, 0))
        wait_until(lambda: wid not in self.stuck_ids(), 60, 0.3, "stuck flag cleared")
        # the gauges are refreshed once a second
        m = wait_until(lambda: (lambda t: t if metric(t, "saga_oldest_retry_seconds") == 0 and
                                metric(t, "saga_in_progress", 'phase="COMPENSATING"') == 0
                                else None)(self.metrics()), 10, 0.3, "gauges back to 0")
        self.assertEqual(metric(m, "saga_compensations_total",
                                'step="CancelReservation",outcome="done"'), 1, m)
        sa = [e["upsertWorkflowSearchAttributesEventAttributes"] for e in events(wid)
              if e["eventType"] == "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"]
        self.assertEqual(len(sa), 2, sa)  # stuck=true with the step, then false


if __name__ == "__main__":
    unittest.main(verbosity=2)

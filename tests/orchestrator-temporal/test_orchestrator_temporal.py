"""End-to-end tests of orchestrator-temporal: every process real (MariaDB, Redis, the Temporal dev
server, service-order/inventory/payment and the orchestrator with its embedded worker).

Ports 24080-24099 only; a task queue of our own per run; product ids of our own (> 100000).
No timed assertions: waits poll for a state and fail only after a generous limit.
"""
import base64
import http.server as httpserver
import json
import os
import signal
import socketserver
import subprocess
import threading
import unittest
import urllib.error
import urllib.request

import harness
import ot_e2e
from harness import Daemon, http, sql, sql_value, temporal_cli, uid, wait_until

ORDER_PORT, INVENTORY_PORT, PAYMENT_PORT = 24082, 24083, 24084
ORCH_PORT = 24081
SLOW_PAYMENT_PORT, PROXY_PORT, FAULT_ORCH_PORT = 24085, 24090, 24086

FORWARD = ["CreateOrder", "ReserveStock", "CreatePayment", "ApprovePayment", "ConfirmOrder",
           "ConfirmReservation", "ConfirmPayment"]
CONTEXT_FIELDS = {"sagaId", "customerId", "productId", "quantity", "amount", "paymentMethod",
                  "orderId", "paymentId"}
RUN = uid("otest-")
SERVICES = {}


def service_urls(payment_port=PAYMENT_PORT):
    return {
        "ORDER_SERVICE_URL": f"http://127.0.0.1:{ORDER_PORT}",
        "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{INVENTORY_PORT}",
        "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{payment_port}",
    }


def setUpModule():
    started = ot_e2e.start_services([(name, port, {}) for name, port in (
        ("service-order", ORDER_PORT), ("service-inventory", INVENTORY_PORT),
        ("service-payment", PAYMENT_PORT))], "ot")
    SERVICES.update(zip(("service-order", "service-inventory", "service-payment"),
                        (started[ORDER_PORT], started[INVENTORY_PORT], started[PAYMENT_PORT])))


def tearDownModule():
    for d in SERVICES.values():
        d.stop()


# ---- helpers ---------------------------------------------------------------------------------

def new_product(stock):
    return ot_e2e.new_product(INVENTORY_PORT, stock)


def stock(pid):
    return ot_e2e.stock(INVENTORY_PORT, pid)


def order_body(pid, quantity=2, amount=20000):
    return {"customerId": 1, "productId": pid, "quantity": quantity, "amount": amount,
            "paymentMethod": "CARD"}


history = ot_e2e.history


def decode_payload(p):
    meta = {k: base64.b64decode(v).decode() for k, v in p.get("metadata", {}).items()}
    return meta, json.loads(base64.b64decode(p["data"]))


scheduled_activities = ot_e2e.steps


def replay(wid):
    """Replays the run's history against OrderWorkflow (tests/orchestrator-temporal/ot_replay)."""
    exe = os.path.join(harness.BUILD_DIR, "tests", "orchestrator-temporal", "ot_replay")
    return subprocess.run([exe, wid], capture_output=True, text=True, timeout=60,
                          env=harness.base_env())


def rows(db, query):
    return sql(db, query)


saga_rows = ot_e2e.saga_rows


class OrchestratorMixin:
    """Helpers bound to one orchestrator (self.orch)."""

    def post(self, body, key=None, path="/api/temporal/orders", timeout=90):
        headers = {"Idempotency-Key": key} if key else {}
        return http("POST", self.orch.url + path, body, headers=headers, timeout=timeout)

    def get(self, wid):
        return http("GET", f"{self.orch.url}/api/temporal/orders/{wid}")

    def wait_closed(self, wid, timeout=120):
        def closed():
            st, _, b = self.get(wid)
            return b if st == 200 and b["status"] != "RUNNING" else None
        return wait_until(closed, timeout, interval=0.2, what=f"{wid} to close")

    def wait_state(self, wid, pred, what, timeout=60):
        def check():
            st, _, b = self.get(wid)
            return b if st == 200 and pred(b) else None
        return wait_until(check, timeout, interval=0.1, what=what)

    def assert_confirmed(self, wid, result):
        self.assertEqual(set(result), {"success", "orderId", "paymentId", "workflowId"}, result)
        self.assertTrue(result["success"], result)
        self.assertEqual(result["workflowId"], wid)
        self.assertEqual(saga_rows(wid), (["CONFIRMED"], ["CONFIRMED"], ["CONFIRMED"]))
        oid = sql_value("order_db", f"SELECT id FROM orders WHERE saga_id='{wid}'")
        pay = sql_value("payment_db", f"SELECT id FROM payments WHERE saga_id='{wid}'")
        self.assertEqual((int(oid), int(pay)), (result["orderId"], result["paymentId"]))


def start_orchestrator(port, queue, **env):
    e = dict(service_urls(), TEMPORAL_TASK_QUEUE=queue, ORDER_SYNC_TIMEOUT_MS=60000,
             ORDER_ACTIVITY_MODE=os.environ.get("ORDER_ACTIVITY_MODE", "remote"))
    e.update(env)
    return Daemon("orchestrator-temporal", port, env=e, log_name=f"ot-orchestrator-{port}")


# ---- the saga on a healthy suite -------------------------------------------------------------

class OrderSagaTest(OrchestratorMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.queue = RUN + "-main"
        cls.orch = start_orchestrator(ORCH_PORT, cls.queue).start()

    @classmethod
    def tearDownClass(cls):
        cls.orch.stop()

    def test_health_ready_and_unknown_route(self):
        self.assertEqual(http("GET", self.orch.url + "/health")[0], 200)
        st, _, b = http("GET", self.orch.url + "/ready")
        self.assertEqual(st, 200, b)  # Temporal answers
        st, h, b = http("GET", self.orch.url + "/api/temporal/nothing")
        self.assertEqual(st, 404, b)
        self.assertIn("application/problem+json", h["content-type"])
        st, h, b = http("DELETE", self.orch.url + "/api/temporal/orders")
        self.assertEqual(st, 405, b)

    def test_invalid_body_is_400_problem_and_starts_no_workflow(self):
        pid = new_product(5)
        for key, body, raw in ((uid("bad-"), order_body(pid, quantity=0), None),
                               (uid("bad-"), {"customerId": 1, "productId": pid}, None),
                               (uid("bad-"), None, b"{not json")):
            headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
            st, h, b = http("POST", self.orch.url + "/api/temporal/orders", body,
                            headers=headers, raw=raw)
            self.assertEqual(st, 400, b)
            self.assertIn("application/problem+json", h["content-type"])
            self.assertEqual(b["code"], "ValidationFailed")
            self.assertEqual(b["status"], 400)
            desc = temporal_cli("workflow", "describe", "-w", "order-" + key)
            self.assertNotEqual(desc.returncode, 0, "a workflow was started for a bad body")
        self.assertEqual(stock(pid), (5, 0))

    def test_happy_path_confirms_everything_and_history_shows_seven_activities(self):
        pid = new_product(10)
        st, _, res = self.post(order_body(pid))
        self.assertEqual(st, 200, res)
        wid = res["workflowId"]
        self.assertTrue(wid.startswith("order-"))
        self.assert_confirmed(wid, res)
        self.assertEqual(stock(pid), (8, 0))
        events = history(wid)
        self.assertTrue(ot_e2e.same_steps(scheduled_activities(events), FORWARD))
        # After the pivot the three confirms are scheduled by one workflow task, side by side:
        # nothing but their ActivityTaskScheduled events between the WorkflowTaskCompleted that
        # follows ApprovePayment's completion and the first confirm's start.
        types = [e["eventType"] for e in events]
        if ot_e2e.MODE == "remote":
            confirm_at = [i for i, e in enumerate(events)
                          if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED" and
                          e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
                          in FORWARD[4:]]
            self.assertEqual(confirm_at, list(range(confirm_at[0], confirm_at[0] + 3)), types)
            self.assertEqual(types[confirm_at[0] - 1], "EVENT_TYPE_WORKFLOW_TASK_COMPLETED")
        else:  # local: every step a marker in one workflow task, the run closed by the next
            self.assertEqual(types.count("EVENT_TYPE_WORKFLOW_TASK_COMPLETED"), 2, types)
            self.assertNotIn("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED", types)
            done = [i for i, t in enumerate(types) if t == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED"]
            self.assertEqual(types[done[1] + 1], "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", types)
            self.assertTrue(all(t == "EVENT_TYPE_MARKER_RECORDED"
                                for t in types[done[0] + 1:done[1] - 2]), types)
            # The stuck timer made and cancelled in the same task never reaches the server.
            self.assertNotIn("EVENT_TYPE_TIMER_STARTED", types)
        last = events[-1]
        self.assertEqual(last["eventType"], "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED")
        meta, result = decode_payload(
            last["workflowExecutionCompletedEventAttributes"]["result"]["payloads"][0])
        self.assertEqual(meta["encoding"], "json/plain")
        self.assertEqual(result, res)
        # Every activity argument and result is one json/plain payload with the context fields.
        payloads = ot_e2e.step_payloads(events)
        self.assertGreaterEqual(len(payloads), 7)
        for p in payloads:
            meta, ctx = decode_payload(p)
            self.assertEqual(meta["encoding"], "json/plain")
            self.assertLessEqual(set(ctx), CONTEXT_FIELDS)
            self.assertEqual(ctx["sagaId"], wid)
        # The history replays deterministically against the workflow code.
        rp = replay(wid)
        self.assertEqual(rp.returncode, 0, rp.stdout + rp.stderr)
        # /metrics counts the answered order and the activity attempts.
        st, _, text = http("GET", self.orch.url + "/metrics")
        self.assertEqual(st, 200)
        self.assertIn('orders_total{outcome="success"}', text)
        self.assertIn('saga_activities_total{activity="ConfirmPayment",outcome="ok"}', text)
        # ...followed by the embedded worker's own (tc_worker_metrics_text).
        self.assertIn('temporal_worker_start{namespace="default"', text)
        if ot_e2e.MODE == "remote":  # local activities answer inside the workflow task
            self.assertRegex(text, r'temporal_request\{operation="RespondActivityTaskCompleted",'
                                   r'[^}]*activity_type="ConfirmPayment",'
                                   r'workflow_type="OrderWorkflow"\} [1-9]')
        else:
            self.assertNotIn('operation="RespondActivityTaskCompleted"', text)
            self.assertRegex(text, r'temporal_local_activity_total\{[^}]*'
                                   r'activity_type="ConfirmPayment",'
                                   r'workflow_type="OrderWorkflow"\} [1-9]')
        self.assertIn('temporal_workflow_task_execution_latency_bucket{', text)
        self.assertIn('temporal_worker_task_slots_available{', text)
        # GET reports the closed run with its result.
        st, _, view = self.get(wid)
        self.assertEqual(st, 200)
        self.assertEqual(view["status"], "COMPLETED")
        self.assertEqual(view["result"], res)

    def test_twelve_sagas_held_at_one_step_are_all_in_progress_at_once(self):
        # With local activities a workflow task runs its whole saga on the poller that took
        # it, so the workflow pollers bound the sagas in progress: the local default must let a
        # dozen wait on a slow service side by side, none queued behind another's task.
        inv = SERVICES["service-inventory"]
        pid = new_product(100)
        wids = []
        os.kill(inv.proc.pid, signal.SIGSTOP)  # every ReserveStock hangs (10 s per attempt)
        try:
            for _ in range(12):
                st, _, b = self.post(order_body(pid), path="/api/temporal/orders/async")
                self.assertEqual(st, 202, b)
                wids.append(b["workflowId"])
            wait_until(lambda: all(self.get(w)[2].get("step") == "ReserveStock" for w in wids),
                       20, 0.2, "all twelve at ReserveStock")
        finally:
            os.kill(inv.proc.pid, signal.SIGCONT)
        for w in wids:
            self.assert_confirmed(w, self.wait_closed(w)["result"])

    def test_cancel_while_a_step_is_held_ends_canceled_with_the_data_restored(self):
        # Judged by the data and the run's end only, so it holds in both activity modes (with
        # local activities a query waits for the workflow task in flight, which holds the step).
        inv = SERVICES["service-inventory"]
        pid = new_product(10)
        os.kill(inv.proc.pid, signal.SIGSTOP)  # ReserveStock hangs
        try:
            st, _, b = self.post(order_body(pid), path="/api/temporal/orders/async")
            self.assertEqual(st, 202, b)
            wid = b["workflowId"]
            q = wid.replace("'", "''")
            wait_until(lambda: sql_value("order_db", f"SELECT COUNT(*) FROM orders "
                                         f"WHERE saga_id='{q}'") == "1", 60, 0.1, "CreateOrder")
            st, _, b = http("POST", f"{self.orch.url}/api/temporal/orders/{wid}/cancel", timeout=60)
            self.assertEqual(st, 202, b)
        finally:
            os.kill(inv.proc.pid, signal.SIGCONT)
        view = self.wait_closed(wid)
        self.assertEqual(view["status"], "CANCELED", view)
        self.assertTrue(view["result"]["error"].startswith("Cancelled: "), view)
        orders, payments, reservations = saga_rows(wid)
        self.assertEqual((orders, payments), (["CANCELLED"], []))
        self.assertIn(reservations, ([], ["CANCELLED"]))
        self.assertEqual(stock(pid), (10, 0))
        self.assertEqual(scheduled_activities(history(wid))[-2:],
                         ["CancelReservation", "CancelOrder"])

    def test_insufficient_balance_refunds_cancels_reservation_then_order(self):
        pid = new_product(10)
        st, _, res = self.post(order_body(pid, quantity=3, amount=2_000_000))
        self.assertEqual(st, 200, res)
        wid = res["workflowId"]
        self.assertEqual(set(res), {"success", "error", "workflowId"}, res)
        self.assertFalse(res["success"])
        self.assertIn("InsufficientBalance", res["error"])
        self.assertEqual(scheduled_activities(history(wid)),
                         FORWARD[:4] + ["RefundPayment", "CancelReservation", "CancelOrder"])
        orders, payments, reservations = saga_rows(wid)
        self.assertEqual((orders, payments), (["CANCELLED"], ["REFUNDED"]))
        self.assertEqual(reservations, ["CANCELLED"])
        self.assertEqual(stock(pid), (10, 0))
        rp = replay(wid)
        self.assertEqual(rp.returncode, 0, rp.stdout + rp.stderr)
        # The failing activity was not retried: business failures are non-retryable.
        self.assertEqual(set(ot_e2e.attempts(history(wid))), {1})

    def test_out_of_stock_cancels_reservation_and_order(self):
        pid = new_product(1)
        st, _, res = self.post(order_body(pid, quantity=5))
        self.assertEqual(st, 200, res)
        wid = res["workflowId"]
        self.assertFalse(res["success"])
        self.assertIn("OutOfStock", res["error"])
        self.assertEqual(scheduled_activities(history(wid)),
                         ["CreateOrder", "ReserveStock", "CancelReservation", "CancelOrder"])
        orders, payments, _ = saga_rows(wid)
        self.assertEqual((orders, payments), (["CANCELLED"], []))
        self.assertEqual(stock(pid), (1, 0))

    def test_repeated_post_with_idempotency_key_returns_the_same_run(self):
        pid = new_product(10)
        key = uid("key-")
        # While running (async start, then a synchronous POST attaches to that run) ...
        st, h, first = self.post(order_body(pid), key=key, path="/api/temporal/orders/async")
        self.assertEqual(st, 202, first)
        wid = first["workflowId"]
        self.assertEqual(wid, "order-" + key)
        st, _, second = self.post(order_body(pid), key=key)
        self.assertEqual(st, 200, second)
        self.assertEqual(second["workflowId"], wid)
        # ... and after it closed.
        st, _, third = self.post(order_body(pid), key=key)
        self.assertEqual((st, third), (200, second))
        self.assert_confirmed(wid, second)
        self.assertEqual(stock(pid), (8, 0))
        runs = temporal_cli("workflow", "count", "--query", f"WorkflowId='{wid}'")
        self.assertEqual(runs.returncode, 0, runs.stderr)
        self.assertIn("Total: 1", runs.stdout)
        # The same key for another order is refused.
        st, h, b = self.post(order_body(pid, quantity=1), key=key)
        self.assertEqual(st, 422, b)
        self.assertEqual(b["code"], "IdempotencyKeyReused")
        # An awkward key still maps to one stable, valid workflow id.
        odd = "k/" + uid() + ":with/slashes=and:colons"
        st, _, a = self.post(order_body(pid), key=odd)
        st2, _, b2 = self.post(order_body(pid), key=odd)
        self.assertEqual((st, st2), (200, 200))
        self.assertEqual(a, b2)
        self.assertRegex(a["workflowId"], r"^order-k[0-9a-f]{32}$")
        # A key that is not printable ASCII is refused before anything starts.
        st, _, b = self.post(order_body(pid), key="caf\u00e9-" + uid())
        self.assertEqual(st, 400, b)

    def test_concurrent_duplicates_of_one_key_share_one_run(self):
        pid = new_product(10)
        key = uid("dup-")
        results = [None] * 5

        def one(i):
            results[i] = self.post(order_body(pid), key=key, timeout=120)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual({r[0] for r in results}, {200}, results)
        self.assertEqual(len({json.dumps(r[2], sort_keys=True) for r in results}), 1, results)
        self.assert_confirmed("order-" + key, results[0][2])
        self.assertEqual(stock(pid), (8, 0))

    def test_async_post_answers_202_and_get_follows_the_run(self):
        pid = new_product(10)
        st, h, b = self.post(order_body(pid), path="/api/temporal/orders/async")
        self.assertEqual(st, 202, b)
        self.assertEqual(set(b), {"workflowId", "temporalUiUrl"})
        wid = b["workflowId"]
        self.assertEqual(h["location"], f"/api/temporal/orders/{wid}")
        self.assertTrue(b["temporalUiUrl"].endswith(f"/namespaces/default/workflows/{wid}"))
        view = self.wait_closed(wid)
        self.assertEqual(view["status"], "COMPLETED")
        self.assert_confirmed(wid, view["result"])
        st, _, b = self.get("order-" + uid("missing-"))
        self.assertEqual(st, 404, b)
        st, _, b = self.get("bad%20id")
        self.assertEqual(st, 400, b)

    def test_workflow_started_from_the_cli_completes_on_our_worker(self):
        pid = new_product(10)
        wid = "order-" + uid("cli-")
        inp = json.dumps(order_body(pid), separators=(",", ":"))
        cp = temporal_cli("workflow", "execute", "--type", "OrderWorkflow", "--task-queue",
                          self.queue, "--workflow-id", wid, "--input", inp, "-o", "json")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        out = json.loads(cp.stdout)
        self.assertEqual(out["status"], "COMPLETED", out)
        self.assertEqual(out["result"], {"success": True, "orderId": out["result"]["orderId"],
                                         "paymentId": out["result"]["paymentId"],
                                         "workflowId": wid})
        self.assert_confirmed(wid, out["result"])
        q = temporal_cli("workflow", "query", "-w", wid, "--type", "getState", "-o", "json")
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertIn('"phase": "COMPLETED"', q.stdout.replace('":"', '": "'))

    def test_get_state_query_reports_step_and_compensation_stack(self):
        pid = new_product(10)
        st, _, res = self.post(order_body(pid, amount=5_000_000))
        self.assertFalse(res["success"])
        q = temporal_cli("workflow", "query", "-w", res["workflowId"], "--type", "getState",
                         "-o", "json")
        self.assertEqual(q.returncode, 0, q.stderr)
        state = json.loads(q.stdout)
        state = state.get("queryResult", state)
        if isinstance(state, list):
            state = state[0]
        self.assertEqual(state["phase"], "COMPENSATED")
        self.assertFalse(state["compensationStack"])  # [] (the CLI shows an empty list as null)
        self.assertIsInstance(state["orderId"], int)
        self.assertIsInstance(state["paymentId"], int)
        self.assertIn("InsufficientBalance", state["error"])

    def test_twenty_concurrent_orders_all_end_consistent(self):
        pid = new_product(100)
        n = 20
        results = [None] * n

        def one(i):
            amount = 2_000_000 if i % 5 == 0 else 10_000 + i  # every 5th is refused
            st, h, res = self.post(order_body(pid, quantity=2, amount=amount), timeout=120)
            if st == 202:  # a loaded machine can outlast the sync wait: follow the run
                st, res = 200, self.wait_closed(res["workflowId"], timeout=300)["result"]
            results[i] = (st, h, res)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = 0
        for i, (st, _, res) in enumerate(results):
            self.assertEqual(st, 200, res)
            wid = res["workflowId"]
            if i % 5 == 0:
                self.assertFalse(res["success"], res)
                orders, payments, reservations = saga_rows(wid)
                self.assertEqual((orders, payments, reservations),
                                 (["CANCELLED"], ["REFUNDED"], ["CANCELLED"]))
            else:
                self.assert_confirmed(wid, res)
                ok += 1
        self.assertEqual(ok, 16)
        self.assertEqual(stock(pid), (100 - 2 * ok, 0))
        self.assertEqual(len({r[2]["workflowId"] for r in results}), n)

    def test_compensation_is_retried_while_a_service_is_down(self):
        inv = SERVICES["service-inventory"]
        pid = new_product(10)
        inv.stop()
        try:
            st, _, b = self.post(order_body(pid), path="/api/temporal/orders/async")
            self.assertEqual(st, 202, b)
            wid = b["workflowId"]
            # ReserveStock fails 3 times (transport errors), then CancelReservation is retried
            # without limit until inventory is back.
            self.wait_state(wid, lambda v: v.get("phase") == "COMPENSATING"
                            and v.get("step") == "CancelReservation",
                            "compensation waiting for inventory")
        finally:
            inv.start()
        view = self.wait_closed(wid)
        self.assertEqual(view["status"], "COMPLETED")
        res = view["result"]
        self.assertFalse(res["success"])
        self.assertTrue(res["error"].startswith("RetriesExhausted: "), res)
        orders, payments, reservations = saga_rows(wid)
        self.assertEqual((orders, payments), (["CANCELLED"], []))
        self.assertIn(reservations, ([], ["CANCELLED"]))
        self.assertEqual(stock(pid), (10, 0))
        events = history(wid)
        self.assertEqual(scheduled_activities(events),
                         ["CreateOrder", "ReserveStock", "CancelReservation", "CancelOrder"])
        self.assertGreater(max(ot_e2e.attempts(events)), 1)


class TemporalDownTest(unittest.TestCase):
    def test_without_temporal_health_is_up_ready_and_post_answer_503(self):
        # Nothing listens on 24099: the orchestrator starts, says it is not ready, refuses
        # orders with 503 (after the client's retries), still validates, and stops cleanly.
        orch = start_orchestrator(24088, RUN + "-down", TEMPORAL_ADDRESS="127.0.0.1:24099").start()
        try:
            st, _, b = http("GET", orch.url + "/ready")
            self.assertEqual(st, 503, b)
            st, h, b = http("POST", orch.url + "/api/temporal/orders", order_body(100001),
                            timeout=120)
            self.assertEqual(st, 503, b)
            self.assertEqual(b["code"], "Unavailable")
            st, _, b = http("POST", orch.url + "/api/temporal/orders",
                            order_body(100001, quantity=-1))
            self.assertEqual(st, 400, b)
        finally:
            orch.stop()


class ConfigTest(OrchestratorMixin, unittest.TestCase):
    PORT = 24089

    def run_refused(self, **env):
        e = harness.base_env(**dict(service_urls(), PORT=self.PORT,
                                    TEMPORAL_TASK_QUEUE=RUN + "-cfg", **env))
        return subprocess.run([harness.binary("orchestrator-temporal")], env=e,
                              capture_output=True, text=True, timeout=60)

    def test_unknown_switch_values_refuse_to_start(self):
        for env, words in (({"ORDER_ACTIVITY_MODE": "fast"},
                            "ORDER_ACTIVITY_MODE must be remote or local, not 'fast'"),
                           ({"TEMPORAL_WORKER": "maybe"}, "TEMPORAL_WORKER must be"),
                           ({"ORDER_EAGER_START": "2"}, "ORDER_EAGER_START must be")):
            cp = self.run_refused(**env)
            self.assertNotEqual(cp.returncode, 0, env)
            self.assertIn(words, cp.stdout + cp.stderr)

    def test_runs_get_the_configured_workflow_task_timeout(self):
        # ORDER_TASK_TIMEOUT_MS is each run's workflow task timeout; with local steps a task
        # held by a long step is answered and renewed at 80 % of it (when a cancel gets in).
        orch = start_orchestrator(self.PORT, RUN + "-tto", ORDER_TASK_TIMEOUT_MS=4000).start()
        try:
            st, _, res = http("POST", orch.url + "/api/temporal/orders",
                              order_body(new_product(10)), timeout=90)
            self.assertEqual(st, 200, res)
            started = history(res["workflowId"])[0]["workflowExecutionStartedEventAttributes"]
            self.assertEqual(started["workflowTaskTimeout"], "4s")
        finally:
            orch.stop()

    def worker_line(self, orch):
        with open(orch.log_path, errors="replace") as f:
            lines = [ln for ln in f if "worker stopped:" in ln]
        return lines[-1] if lines else ""

    def test_rest_orders_start_eagerly_on_the_embedded_worker(self):
        # The first workflow task comes back in the start response and runs on a slot of the
        # embedded worker (counted at stop); ORDER_EAGER_START=off asks for none.
        for eager, want in (("on", True), ("off", False)):
            orch = start_orchestrator(self.PORT, RUN + "-eager-" + eager,
                                      ORDER_EAGER_START=eager).start()
            try:
                st, _, res = http("POST", orch.url + "/api/temporal/orders",
                                  order_body(new_product(10)), timeout=90)
                self.assertEqual(st, 200, res)
                self.assert_confirmed(res["workflowId"], res)
            finally:
                orch.stop()
            line = self.worker_line(orch)
            tasks = int(line.split("eager_workflow_tasks=")[1].split()[0].rstrip('"}'))
            self.assertEqual(tasks >= 1, want, line)

    def test_without_the_embedded_worker_runs_wait_for_another_worker(self):
        queue = RUN + "-noworker"
        front = start_orchestrator(self.PORT, queue, TEMPORAL_WORKER="off").start()
        worker = None
        try:
            pid = new_product(10)
            st, _, b = http("POST", front.url + "/api/temporal/orders/async", order_body(pid))
            self.assertEqual(st, 202, b)
            wid = b["workflowId"]
            view = http("GET", f"{front.url}/api/temporal/orders/{wid}")[2]
            self.assertEqual(view["status"], "RUNNING")  # nobody polls the queue yet
            self.assertEqual(stock(pid), (10, 0))
            worker = start_orchestrator(24080, queue).start()  # a worker elsewhere takes it
            view = wait_until(lambda: (lambda v: v if v["status"] != "RUNNING" else None)(
                http("GET", f"{front.url}/api/temporal/orders/{wid}")[2]), 120, 0.2, "run")
            self.assert_confirmed(wid, view["result"])
        finally:
            front.stop()
            if worker is not None:
                worker.stop()


# ---- faults: a flaky link to payment, a slow gateway, a killed orchestrator ------------------

class FlakyProxy(socketserver.ThreadingMixIn, httpserver.HTTPServer):
    """Forwards to a payment service; answers the first `drop` calls whose path ends with
    `drop_suffix` itself with 503 Unavailable, as a load balancer does while the service behind
    it is down. (Closing the connection instead is not one failure per attempt: curl silently
    re-sends a request whose reused connection died.)"""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, target):
        super().__init__(("127.0.0.1", port), ProxyHandler)
        self.target = target
        self.lock = threading.Lock()
        self.drop = 0
        self.drop_suffix = "/approve"
        self.dropped = 0
        self.approves = 0


class ProxyHandler(httpserver.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        srv = self.server
        with srv.lock:
            if self.path.endswith("/approve"):
                srv.approves += 1
            if self.path.endswith(srv.drop_suffix):
                if srv.dropped < srv.drop:
                    srv.dropped += 1
                    data = json.dumps({"type": "/problems/Unavailable", "title": "Service "
                                       "Unavailable", "status": 503, "code": "Unavailable",
                                       "detail": "payment is down (test proxy)"}).encode()
                    self.send_response(503)
                    self.send_header("Content-Type", "application/problem+json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
        req = urllib.request.Request(srv.target + self.path, data=body, method=self.command)
        for k, v in self.headers.items():
            if k.lower() not in ("host", "content-length", "connection"):
                req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, hdrs, data = r.status, r.headers, r.read()
        except urllib.error.HTTPError as err:
            status, hdrs, data = err.code, err.headers, err.read()
        self.send_response(status)
        for k, v in hdrs.items():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date",
                                 "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the orchestrator was killed while waiting for this answer

    do_GET = do_POST = do_PATCH = do_PUT = _forward


class FaultTest(OrchestratorMixin, unittest.TestCase):
    GATEWAY_MS = 3000

    @classmethod
    def setUpClass(cls):
        cls.slow = Daemon("service-payment", SLOW_PAYMENT_PORT, log_name="ot-slow-payment",
                          env={"FAKE_PG_LATENCY_MS": cls.GATEWAY_MS}).start()
        cls.proxy = FlakyProxy(PROXY_PORT, cls.slow.url)
        threading.Thread(target=cls.proxy.serve_forever, daemon=True).start()
        cls.queue = RUN + "-fault"
        cls.env = dict(PAYMENT_SERVICE_URL=f"http://127.0.0.1:{PROXY_PORT}",
                       ACTIVITY_START_TO_CLOSE_MS=cls.GATEWAY_MS + 4000,
                       WORKER_STICKY_TIMEOUT_MS=2000,
                       # No sticky cache: every workflow task replays the full history.
                       WORKER_STICKY_CACHE=0)
        cls.orch = start_orchestrator(FAULT_ORCH_PORT, cls.queue, **cls.env).start()

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.orch.proc is not None:
                cls.orch.stop()
        finally:
            cls.proxy.shutdown()
            cls.proxy.server_close()
            cls.slow.stop()

    def test_sync_timeout_answers_202_with_location(self):
        # The gateway takes GATEWAY_MS; this orchestrator waits at most 1 s (the client rounds a
        # result wait up to 2 s), so the run outlives the wait and POST answers 202.
        env = dict(self.env, ORDER_SYNC_TIMEOUT_MS=1000)
        orch = start_orchestrator(24087, self.queue + "-t", **env).start()
        try:
            pid = new_product(10)
            st, h, b = http("POST", orch.url + "/api/temporal/orders", order_body(pid))
            self.assertEqual(st, 202, b)
            self.assertEqual(set(b), {"workflowId", "temporalUiUrl"})
            self.assertEqual(h["location"], f"/api/temporal/orders/{b['workflowId']}")
            view = wait_until(lambda: (lambda r: r[2] if r[2]["status"] != "RUNNING" else None)(
                http("GET", orch.url + h["location"])), 60, 0.2, "run to close")
            self.assert_confirmed(b["workflowId"], view["result"])
        finally:
            orch.stop()

    def test_forward_step_completes_after_retries_when_payment_comes_back(self):
        pid = new_product(10)
        with self.proxy.lock:
            self.proxy.drop, self.proxy.dropped, self.proxy.drop_suffix = 2, 0, "/approve"
        st, _, res = self.post(order_body(pid))
        self.assertEqual(st, 200, res)
        self.assertEqual(self.proxy.dropped, 2)
        wid = res["workflowId"]
        self.assert_confirmed(wid, res)
        # two failures, the third (last) attempt won
        self.assertEqual(ot_e2e.step_attempt(history(wid), "ApprovePayment"), 3)
        self.assertEqual(stock(pid), (8, 0))

    def test_step_after_the_pivot_is_retried_past_three_attempts_not_compensated(self):
        # ConfirmPayment follows ApprovePayment: compensating there would refund the payment of
        # a confirmed order, so it is retried until it succeeds (here: 3 failures, then ok).
        pid = new_product(10)
        with self.proxy.lock:
            self.proxy.drop, self.proxy.dropped, self.proxy.drop_suffix = 3, 0, "/confirm"
        try:
            st, _, res = self.post(order_body(pid))
        finally:
            with self.proxy.lock:
                dropped, self.proxy.drop = self.proxy.dropped, 0
        self.assertEqual(st, 200, res)
        self.assertEqual(dropped, 3)
        wid = res["workflowId"]
        self.assert_confirmed(wid, res)
        events = history(wid)
        self.assertTrue(ot_e2e.same_steps(scheduled_activities(events), FORWARD))
        self.assertEqual(ot_e2e.step_attempt(events, "ConfirmPayment"), 4)
        if ot_e2e.MODE == "local":
            # attempts 1-3 in the workflow task (backoffs 1 s, 2 s), then the 4 s backoff on a
            # durable timer: one failed round recorded before the attempt that won
            self.assertEqual(ot_e2e.retry_rounds(events, "ConfirmPayment"), 1)
        self.assertEqual(stock(pid), (8, 0))

    def test_a_cancel_while_the_last_confirm_retries_is_ignored_and_the_order_completes(self):
        # Past the pivot the API answers 409, but `temporal workflow cancel` reaches the run
        # anyway. It comes while ConfirmPayment is retried (two refusals: 1 s + 2 s of
        # backoff): with local steps that is inside the task that also ends the run. The
        # confirms' markers must come first in history and the cancel after them (ignored),
        # never the cancel before every step (a failed task, the saga replayed as cancelled
        # with its order already confirmed).
        pid = new_product(10)
        with self.proxy.lock:
            self.proxy.drop, self.proxy.dropped, self.proxy.drop_suffix = 2, 0, "/confirm"
        try:
            st, _, b = self.post(order_body(pid), path="/api/temporal/orders/async")
            self.assertEqual(st, 202, b)
            wid = b["workflowId"]
            wait_until(lambda: self.proxy.dropped >= 1, 60, 0.02, "ConfirmPayment refused")
            cp = temporal_cli("workflow", "cancel", "-w", wid)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            view = self.wait_closed(wid)
        finally:
            with self.proxy.lock:
                self.proxy.drop = 0
        self.assertEqual(view["status"], "COMPLETED", view)
        self.assert_confirmed(wid, view["result"])
        self.assertEqual(saga_rows(wid), (["CONFIRMED"], ["CONFIRMED"], ["CONFIRMED"]))
        types = [e["eventType"] for e in history(wid)]
        self.assertIn("EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED", types)
        self.assertNotIn("EVENT_TYPE_WORKFLOW_TASK_FAILED", types)
        self.assertEqual(stock(pid), (8, 0))

    def test_sigterm_mid_saga_answers_202_exits_0_and_the_run_finishes_after_restart(self):
        pid = new_product(10)
        with self.proxy.lock:
            self.proxy.drop = self.proxy.dropped = 0
            self.proxy.drop_suffix = "/approve"
            seen = self.proxy.approves
        answer = {}

        def post():
            answer["r"] = self.post(order_body(pid), timeout=120)

        t = threading.Thread(target=post)
        t.start()
        wait_until(lambda: self.proxy.approves > seen, 60, 0.05, "approve call to arrive")
        # The synchronous POST is waiting (ORDER_SYNC_TIMEOUT_MS is 60 s); SIGTERM makes it
        # answer 202 instead of holding the shutdown, and the process exits 0 (stop() checks).
        self.orch.stop()
        t.join()
        st, h, b = answer["r"]
        self.assertEqual(st, 202, b)
        wid = b["workflowId"]
        self.assertEqual(h["location"], f"/api/temporal/orders/{wid}")
        self.orch.start()
        view = self.wait_closed(wid, timeout=180)
        self.assert_confirmed(wid, view["result"])
        self.assertEqual(stock(pid), (8, 0))

    def test_orchestrator_killed_mid_saga_finishes_after_restart(self):
        pid = new_product(10)
        with self.proxy.lock:
            self.proxy.drop = self.proxy.dropped = 0
            self.proxy.drop_suffix = "/approve"
            seen = self.proxy.approves
        st, _, b = self.post(order_body(pid), path="/api/temporal/orders/async")
        self.assertEqual(st, 202, b)
        wid = b["workflowId"]
        # The gateway is charging (ApprovePayment in flight) when the orchestrator dies.
        wait_until(lambda: self.proxy.approves > seen, 60, 0.05, "approve call to arrive")
        # Meanwhile GET shows the step in flight and the compensations registered so far: the
        # getState query (remote), or the worker's own state while the workflow task running
        # the local steps is open (a query would wait for it to end).
        view = self.wait_state(wid, lambda v: v.get("step") == "ApprovePayment",
                               "getState to report ApprovePayment")
        self.assertEqual(view["status"], "RUNNING")
        self.assertEqual(view["phase"], "RUNNING")
        self.assertEqual(view["stateSource"], "worker" if ot_e2e.MODE == "local" else "query")
        self.assertEqual(view["activityMode"], ot_e2e.MODE)
        self.assertEqual(view["compensationStack"],
                         ["RefundPayment", "CancelReservation", "CancelOrder"])
        self.assertIsInstance(view["orderId"], int)
        self.assertIsInstance(view["paymentId"], int)
        self.orch.kill()
        self.orch.start()
        view = self.wait_closed(wid, timeout=180)
        self.assertEqual(view["status"], "COMPLETED", view)
        self.assert_confirmed(wid, view["result"])
        self.assertEqual(stock(pid), (8, 0))
        q = wid.replace("'", "''")
        self.assertEqual(sql_value("order_db", f"SELECT COUNT(*) FROM orders WHERE saga_id='{q}'"), "1")
        self.assertEqual(sql_value("payment_db", f"SELECT COUNT(*) FROM payments WHERE saga_id='{q}'"), "1")
        # The killed worker's ApprovePayment attempt timed out and a second attempt finished it.
        if ot_e2e.MODE == "remote":  # a local step runs again in the new task from attempt 1
            self.assertGreaterEqual(ot_e2e.step_attempt(history(wid), "ApprovePayment"), 2)
        self.assertTrue(ot_e2e.same_steps(scheduled_activities(history(wid)), FORWARD))
        rp = replay(wid)
        self.assertEqual(rp.returncode, 0, rp.stdout + rp.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

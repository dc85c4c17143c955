"""End-to-end tests of orchestrator-pure against real MariaDB, Redis and the three domain
services (started here on ports 23080-23083 and 23093-23097)."""
import concurrent.futures
import random
import time
import unittest

import harness as h

ORCH_PORT, ORDER_PORT, INV_PORT, PAY_PORT = 23080, 23081, 23082, 23083
SLOW_ORCH, SLOW_ORDER, SLOW_INV, SLOW_PAY = 23093, 23094, 23095, 23096
PG_LIMIT = 1000000
CONFIRMS = ["ConfirmOrder", "ConfirmPayment", "ConfirmReservation"]


def services(stream, order_port, inv_port, pay_port, **pay_env):
    common = {"ORDER_EVENTS_STREAM": stream}
    return [h.Daemon("service-order", order_port, dict(common)),
            h.Daemon("service-inventory", inv_port, dict(common)),
            h.Daemon("service-payment", pay_port,
                     dict(common, FAKE_PG_LIMIT=PG_LIMIT, **pay_env))]


def orch_env(order_port, inv_port, pay_port, **extra):
    env = {"ORDER_SERVICE_URL": f"http://127.0.0.1:{order_port}",
           "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{inv_port}",
           "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{pay_port}",
           "SAGA_RETRY_INITIAL_MS": 100, "SAGA_RETRY_MAX_MS": 1000,
           # A killed orchestrator's sagas are taken over once their lease runs out.
           "SAGA_LEASE_MS": 2000}
    env.update(extra)
    return env


def new_product(inv_url, available):
    pid = random.randint(10**8, 10**12)
    st, _, body = h.http("PUT", f"{inv_url}/api/inventory/{pid}", {"available": available})
    assert st == 200, (st, body)
    return pid


def order_body(pid, quantity=2, amount=20000, **extra):
    b = {"customerId": 1, "productId": pid, "quantity": quantity, "amount": amount}
    b.update(extra)
    return b


def saga_rows(saga_id):
    return (h.sql_value("order_db", f"SELECT COUNT(*) FROM orders WHERE saga_id='{saga_id}'"),
            h.sql_value("payment_db", f"SELECT COUNT(*) FROM payments WHERE saga_id='{saga_id}'"))


def statuses(saga_id):
    """(order, payment, reservation) status of one saga; None where it has no row."""
    return tuple(h.sql_value(db, f"SELECT status FROM {table} WHERE saga_id='{saga_id}'")
                 for db, table in (("order_db", "orders"), ("payment_db", "payments"),
                                   ("inventory_db", "inventory_reservations")))


def stock(inv_url, pid):
    _, _, b = h.http("GET", f"{inv_url}/api/inventory/{pid}")
    return b["available"], b["reserved"]


def step_log(saga_id):
    return h.sql("orchestrator_db",
                 f"SELECT step, event FROM saga_step_log WHERE saga_id='{saga_id}' ORDER BY id")


def wait_step(url, sid, step, timeout=30):
    """Waits until the orchestrator at url reports saga sid at `step` (its live step: the
    database records only the pivot, the decision to compensate, retries and the end)."""
    def at():
        st, _, b = h.http("GET", f"{url}/api/pure/orders/{sid}")
        return st == 200 and b["step"] == step
    h.wait_until(at, timeout=timeout, what=f"saga at {step}")


class Suite(unittest.TestCase):
    """Daemons a test class starts (cls.daemons, on stream cls.stream) and stops after it."""

    @classmethod
    def tearDownClass(cls):
        errors = h.stop_all(cls.daemons)
        h.redis_cli("DEL", cls.stream)
        if errors:
            raise errors[0]


class PureSagaTest(Suite):
    @classmethod
    def setUpClass(cls):
        cls.stream = h.uid("stream:test-pure-")
        cls.daemons = services(cls.stream, ORDER_PORT, INV_PORT, PAY_PORT)
        cls.daemons.append(h.Daemon("orchestrator-pure", ORCH_PORT,
                                    orch_env(ORDER_PORT, INV_PORT, PAY_PORT)))
        h.start_all(cls.daemons)
        cls.orch = cls.daemons[-1].url
        cls.inv = cls.daemons[1].url

    def post(self, body, key=None, path="/api/pure/orders"):
        headers = {"Idempotency-Key": key} if key else None
        return h.http("POST", self.orch + path, body, headers=headers)

    def stock(self, pid):
        return stock(self.inv, pid)

    def test_happy_path_confirms_order_reservation_and_payment(self):
        pid = new_product(self.inv, 10)
        st, _, r = self.post(order_body(pid))
        self.assertEqual(st, 200, r)
        self.assertTrue(r["success"], r)
        self.assertTrue(r["sagaId"].startswith("pure-"))
        self.assertEqual(statuses(r["sagaId"]), ("CONFIRMED",) * 3)
        self.assertEqual(self.stock(pid), (8, 0))
        self.assertEqual(saga_rows(r["sagaId"]), ("1", "1"))
        log = step_log(r["sagaId"])
        self.assertEqual(log[:4], [[s, "SUCCEEDED"] for s in ("CreateOrder", "ReserveStock",
                                                              "CreatePayment", "ApprovePayment")])
        self.assertEqual(sorted(log[4:]), [[c, "SUCCEEDED"] for c in CONFIRMS])
        # The three confirms run at once: each started before any of them had ended.
        spans = h.sql("orchestrator_db", "SELECT UNIX_TIMESTAMP(created_at) * 1000, duration_ms "
                      f"FROM saga_step_log WHERE saga_id='{r['sagaId']}' AND step LIKE 'Confirm%'")
        starts = [float(a) for a, _ in spans]
        ends = [float(a) + int(d) for a, d in spans]
        self.assertLessEqual(max(starts), min(ends) + 2, spans)  # created_at has ms precision
        # The fast path commits the creation, the pivot and the end: version 0, 1, 2.
        self.assertEqual(h.sql_value("orchestrator_db", "SELECT version FROM saga_instance "
                                     f"WHERE saga_id='{r['sagaId']}'"), "2")
        st, _, g = h.http("GET", f"{self.orch}/api/pure/orders/{r['sagaId']}")
        self.assertEqual(st, 200)
        self.assertEqual(g["status"], "COMPLETED")
        self.assertEqual(g["result"], r)
        _, _, metrics = h.http("GET", f"{self.orch}/metrics")
        self.assertIn('saga_finished_total{status="COMPLETED"}', metrics)
        self.assertIn('saga_duration_seconds_count{status="COMPLETED"}', metrics)

    def test_original_path_is_an_alias(self):
        pid = new_product(self.inv, 10)
        st, _, r = self.post(order_body(pid, paymentMethod="BANK"), path="/api/saga/order")
        self.assertEqual(st, 200, r)
        self.assertTrue(r["success"], r)
        self.assertEqual(h.sql_value("payment_db",
                                     f"SELECT method FROM payments WHERE id={r['paymentId']}"),
                         "BANK")

    def test_insufficient_balance_compensates_in_lifo_order(self):
        pid = new_product(self.inv, 10)
        st, _, r = self.post(order_body(pid, amount=PG_LIMIT + 1))
        self.assertEqual(st, 200, r)
        self.assertFalse(r["success"])
        self.assertEqual(r["errorType"], "InsufficientBalance")
        self.assertIn("InsufficientBalance", r["error"])
        sid = r["sagaId"]
        self.assertEqual(statuses(sid), ("CANCELLED", "REFUNDED", "CANCELLED"))
        self.assertEqual(self.stock(pid), (10, 0))
        comp = [s for s, e in step_log(sid) if e == "SUCCEEDED"][3:]
        self.assertEqual(comp, ["RefundPayment", "CancelReservation", "CancelOrder"])
        self.assertEqual(h.sql_value("orchestrator_db",
                                     f"SELECT status FROM saga_instance WHERE saga_id='{sid}'"),
                         "COMPENSATED")

    def test_out_of_stock_cancels_order_and_leaves_stock(self):
        pid = new_product(self.inv, 1)
        st, _, r = self.post(order_body(pid, quantity=2))
        self.assertEqual(st, 200, r)
        self.assertFalse(r["success"])
        self.assertEqual(r["errorType"], "OutOfStock")
        sid = r["sagaId"]
        self.assertEqual(statuses(sid), ("CANCELLED", None, "CANCELLED"))
        self.assertEqual(saga_rows(sid), ("1", "0"))
        self.assertEqual(self.stock(pid), (1, 0))
        comp = [s for s, e in step_log(sid) if e == "SUCCEEDED"][1:]
        self.assertEqual(comp, ["CancelReservation", "CancelOrder"])

    def test_bad_input_is_400_problem_and_nothing_is_persisted(self):
        bad = [b"", b"{", b"[]", b'{"customerId":1}',
               b'{"customerId":1,"productId":1,"quantity":0,"amount":5}',
               b'{"customerId":1,"productId":1,"quantity":2,"amount":-5}',
               b'{"customerId":"1","productId":1,"quantity":2,"amount":5}',
               b'{"customerId":1,"productId":1,"quantity":2.5,"amount":5}',
               b'{"customerId":1,"productId":1,"quantity":2,"amount":5,"paymentMethod":3}']
        for raw in bad:
            key = h.uid("bad-")
            st, hdrs, body = h.http("POST", self.orch + "/api/pure/orders", raw=raw,
                                    headers={"Content-Type": "application/json",
                                             "Idempotency-Key": key})
            self.assertEqual(st, 400, raw)
            self.assertIn("application/problem+json", hdrs["content-type"])
            self.assertEqual(body["code"], "ValidationFailed")
            self.assertEqual(h.sql_value("orchestrator_db", "SELECT COUNT(*) FROM saga_instance "
                                         f"WHERE saga_id='pure-{key}'"), "0")
        for bad_key in ("bad key/", "x" * 256, "caf\u00e9"):
            st, _, body = self.post(order_body(1), key=bad_key)
            self.assertEqual(st, 400, bad_key)
        # An empty key must not become the saga id "pure-" (left over by older builds).
        h.sql("orchestrator_db", "DELETE FROM saga_step_log WHERE saga_id='pure-'; "
                                 "DELETE FROM saga_instance WHERE saga_id='pure-'")
        st, _, body = h.http("POST", self.orch + "/api/pure/orders", order_body(1),
                             headers={"Idempotency-Key": ""})
        self.assertEqual(st, 400)
        self.assertEqual(h.sql_value("orchestrator_db", "SELECT COUNT(*) FROM saga_instance "
                                     "WHERE saga_id='pure-'"), "0")
        key = h.uid("txt-")
        st, _, body = h.http("POST", self.orch + "/api/pure/orders",
                             raw=b'{"customerId":1,"productId":1,"quantity":1,"amount":5}',
                             headers={"Content-Type": "text/plain", "Idempotency-Key": key})
        self.assertEqual(st, 415)
        self.assertEqual(h.sql_value("orchestrator_db", "SELECT COUNT(*) FROM saga_instance "
                                     f"WHERE saga_id='pure-{key}'"), "0")

    def test_repeated_post_with_same_key_attaches_to_the_same_saga(self):
        pid = new_product(self.inv, 10)
        key = h.uid("k-")
        st1, _, r1 = self.post(order_body(pid), key=key)
        st2, _, r2 = self.post(order_body(pid), key=key)
        self.assertEqual((st1, st2), (200, 200))
        self.assertEqual(r1, r2)
        self.assertEqual(r1["sagaId"], "pure-" + key)
        self.assertEqual(saga_rows(r1["sagaId"]), ("1", "1"))
        self.assertEqual(self.stock(pid), (8, 0))
        st, _, p = self.post(order_body(pid, quantity=3), key=key)
        self.assertEqual(st, 422)
        self.assertEqual(p["code"], "IdempotencyKeyReused")

    def test_concurrent_duplicates_run_one_saga(self):
        pid = new_product(self.inv, 10)
        key = h.uid("c-")
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            results = list(ex.map(lambda _: self.post(order_body(pid), key=key), range(8)))
        self.assertTrue(all(st == 200 for st, _, _ in results), results)
        self.assertEqual(len({str(r) for _, _, r in results}), 1)
        self.assertEqual(saga_rows("pure-" + key), ("1", "1"))
        self.assertEqual(self.stock(pid), (8, 0))

    def test_many_concurrent_sagas_all_complete(self):
        pid = new_product(self.inv, 100)
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            results = list(ex.map(lambda _: self.post(order_body(pid, quantity=1)), range(40)))
        self.assertTrue(all(st == 200 and r["success"] for st, _, r in results), results)
        self.assertEqual(self.stock(pid), (60, 0))

    def test_stale_transition_is_refused_and_rolled_back(self):
        pid = new_product(self.inv, 10)
        st, _, r = self.post(order_body(pid))
        sid = r["sagaId"]
        version, logs = h.sql("orchestrator_db", "SELECT version, (SELECT COUNT(*) FROM "
                              f"saga_step_log WHERE saga_id='{sid}') FROM saga_instance "
                              f"WHERE saga_id='{sid}'")[0]
        lease_version = int(h.sql_value("orchestrator_db", "SELECT lease_version FROM "
                                        f"saga_instance WHERE saga_id='{sid}'"))
        trail = '[{"s":"CreateOrder","e":"SUCCEEDED","a":1}]'
        # A stale version, and the right version with a lease version a takeover replaced:
        # both refused (fencing), nothing written.
        for v, lv in ((int(version) - 1, lease_version), (int(version), lease_version - 1)):
            call = (f"CALL saga_commit('{sid}', {v}, {lv}, 'someone', 'RUNNING', 'FORWARD', "
                    f"'ReserveStock', 1, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 2000, NULL, NULL, "
                    f"NULL, NULL, '{trail}')")
            with self.assertRaises(Exception) as ctx:
                h.sql("orchestrator_db", call)
            self.assertIn("stale version or lease", str(ctx.exception.stderr))
        self.assertEqual(h.sql("orchestrator_db", "SELECT status, version, (SELECT COUNT(*) FROM "
                               f"saga_step_log WHERE saga_id='{sid}') FROM saga_instance "
                               f"WHERE saga_id='{sid}'")[0], ["COMPLETED", version, logs])

    def test_unknown_saga_is_404(self):
        st, _, b = h.http("GET", f"{self.orch}/api/pure/orders/pure-nope{h.uid()}")
        self.assertEqual(st, 404)
        self.assertEqual(b["code"], "NotFound")
        st, _, b = h.http("POST", f"{self.orch}/api/pure/orders/pure-nope{h.uid()}/cancel")
        self.assertEqual(st, 404)
        self.assertEqual(b["code"], "NotFound")
        st, _, b = h.http("POST", f"{self.orch}/api/pure/orders/a$b/cancel")
        self.assertEqual(st, 400)

    def test_awkward_key_is_hashed_into_one_saga(self):
        pid = new_product(self.inv, 10)
        key = "order/" + h.uid() + "=="
        st1, _, r1 = self.post(order_body(pid), key=key)
        st2, _, r2 = self.post(order_body(pid), key=key)
        self.assertEqual((st1, st2), (200, 200))
        self.assertEqual(r1, r2)
        self.assertRegex(r1["sagaId"], r"^pure-k[0-9a-f]{32}$")
        self.assertEqual(saga_rows(r1["sagaId"]), ("1", "1"))

    def test_cancel_of_an_ended_saga_is_409_and_changes_nothing(self):
        pid = new_product(self.inv, 10)
        st, _, r = self.post(order_body(pid))
        self.assertTrue(r["success"], r)
        sid = r["sagaId"]
        before = h.sql("orchestrator_db", f"SELECT status, version FROM saga_instance "
                                          f"WHERE saga_id='{sid}'")
        st, _, b = h.http("POST", f"{self.orch}/api/pure/orders/{sid}/cancel")
        self.assertEqual(st, 409, b)
        self.assertEqual(b["code"], "IllegalTransition")
        self.assertEqual(h.sql("orchestrator_db", f"SELECT status, version FROM saga_instance "
                                                  f"WHERE saga_id='{sid}'"), before)
        self.assertIn(["ConfirmOrder", "SUCCEEDED"], step_log(sid))
        self.assertEqual(step_log(sid)[-1][1], "CANCEL_IGNORED")


class PureCrashTest(Suite):
    """Slow payment gateway so a saga can be caught mid-flight, then SIGKILL."""

    @classmethod
    def setUpClass(cls):
        cls.stream = h.uid("stream:test-pure-")
        cls.services = cls.daemons = h.start_all(services(cls.stream, SLOW_ORDER, SLOW_INV,
                                                          SLOW_PAY, FAKE_PG_LATENCY_MS=1500))
        cls.inv = cls.services[1].url

    def orchestrator(self):
        return h.Daemon("orchestrator-pure", SLOW_ORCH,
                        orch_env(SLOW_ORDER, SLOW_INV, SLOW_PAY, ORDER_SYNC_TIMEOUT_MS=100))

    def wait_terminal(self, url, sid):
        def done():
            st, _, b = h.http("GET", f"{url}/api/pure/orders/{sid}")
            return b if st == 200 and b["status"] in ("COMPLETED", "COMPENSATED", "FAILED") else None
        return h.wait_until(done, timeout=60, what="saga to finish")

    def test_slow_saga_answers_202_with_location(self):
        orch = self.orchestrator().start()
        try:
            pid = new_product(self.inv, 10)
            st, hdrs, b = h.http("POST", orch.url + "/api/pure/orders", order_body(pid))
            self.assertEqual(st, 202, b)
            self.assertEqual(hdrs["location"], f"/api/pure/orders/{b['sagaId']}")
            self.assertEqual(b["status"], "RUNNING")
            final = self.wait_terminal(orch.url, b["sagaId"])
            self.assertTrue(final["result"]["success"])
        finally:
            orch.stop()

    def killed_at_approve(self, **body):
        """A saga SIGKILLed while ApprovePayment runs; returns a fresh orchestrator that resumes
        it, the saga id and the product."""
        orch = self.orchestrator().start()
        pid = new_product(self.inv, 10)
        st, _, b = h.http("POST", orch.url + "/api/pure/orders", order_body(pid, **body))
        self.assertEqual(st, 202, b)
        wait_step(orch.url, b["sagaId"], "ApprovePayment")
        orch.kill()
        return self.orchestrator().start(), b["sagaId"], pid

    def test_sigkill_mid_saga_then_restart_finishes_with_one_order_and_payment(self):
        orch, sid, pid = self.killed_at_approve()
        try:
            final = self.wait_terminal(orch.url, sid)
            self.assertEqual(final["status"], "COMPLETED", final)
            self.assertEqual(saga_rows(sid), ("1", "1"))
            self.assertEqual(statuses(sid), ("CONFIRMED",) * 3)
            self.assertEqual(stock(self.inv, pid), (8, 0))
        finally:
            orch.stop()

    def test_sigkill_during_failing_step_then_restart_compensates(self):
        orch, sid, pid = self.killed_at_approve(amount=PG_LIMIT + 5)
        try:
            final = self.wait_terminal(orch.url, sid)
            self.assertEqual(final["status"], "COMPENSATED", final)
            self.assertEqual(final["result"]["errorType"], "InsufficientBalance")
            self.assertEqual(saga_rows(sid), ("1", "1"))
            self.assertEqual(statuses(sid), ("CANCELLED", "REFUNDED", "CANCELLED"))
            self.assertEqual(stock(self.inv, pid), (10, 0))
        finally:
            orch.stop()

    def test_sigkill_at_random_points_repeats_no_effect(self):
        pid = new_product(self.inv, 50)
        orch = self.orchestrator().start()
        sids = []
        for _ in range(5):
            st, _, b = h.http("POST", orch.url + "/api/pure/orders", order_body(pid, quantity=1))
            sids.append(b["sagaId"])
        for delay in (0.05, 0.3, 0.7, 1.1):
            time.sleep(delay)
            orch.kill()
            orch = self.orchestrator().start()
        try:
            for sid in sids:
                final = self.wait_terminal(orch.url, sid)
                self.assertEqual(final["status"], "COMPLETED", final)
                self.assertEqual(saga_rows(sid), ("1", "1"))
            self.assertEqual(stock(self.inv, pid), (45, 0))
        finally:
            orch.stop()

    def restart_inventory(self):
        self.services[1] = h.Daemon("service-inventory", SLOW_INV,
                                    {"ORDER_EVENTS_STREAM": self.stream})
        self.services[1].start()

    def test_compensation_is_retried_until_the_service_is_back(self):
        orch = self.orchestrator().start()
        try:
            pid = new_product(self.inv, 10)
            st, _, b = h.http("POST", orch.url + "/api/pure/orders",
                              order_body(pid, amount=PG_LIMIT + 7))
            sid = b["sagaId"]
            wait_step(orch.url, sid, "ApprovePayment")
            self.services[1].kill()  # inventory down while the saga compensates
            h.wait_until(lambda: h.sql_value(
                "orchestrator_db", "SELECT COUNT(*) FROM saga_step_log WHERE "
                f"saga_id='{sid}' AND step='CancelReservation' AND event='RETRY'") >= "3",
                timeout=30, what="CancelReservation retried")
            self.assertEqual(h.sql_value("orchestrator_db", "SELECT status FROM saga_instance "
                                         f"WHERE saga_id='{sid}'"), "COMPENSATING")
            self.restart_inventory()
            final = self.wait_terminal(orch.url, sid)
            self.assertEqual(final["status"], "COMPENSATED")
            self.assertEqual(final["result"]["errorType"], "InsufficientBalance")
            self.assertEqual(stock(self.inv, pid), (10, 0))
            self.assertEqual(statuses(sid), ("CANCELLED", "REFUNDED", "CANCELLED"))
        finally:
            orch.stop()
            if self.services[1].proc is None:
                self.restart_inventory()

    def test_cancel_before_the_pivot_compensates_and_ends_cancelled(self):
        orch = self.orchestrator().start()
        try:
            pid = new_product(self.inv, 10)
            st, _, b = h.http("POST", orch.url + "/api/pure/orders", order_body(pid))
            sid = b["sagaId"]
            wait_step(orch.url, sid, "ApprovePayment")  # the gateway takes 1.5 s
            st, _, c = h.http("POST", f"{orch.url}/api/pure/orders/{sid}/cancel")
            self.assertEqual(st, 202, c)
            self.assertTrue(c["cancelRequested"])
            self.assertEqual(c["status"], "RUNNING")
            st, _, again = h.http("POST", f"{orch.url}/api/pure/orders/{sid}/cancel")
            self.assertEqual(st, 202, again)
            final = self.wait_terminal(orch.url, sid)
            self.assertEqual(final["status"], "COMPENSATED", final)
            self.assertEqual(final["result"]["errorType"], "Cancelled")
            self.assertFalse(final["result"]["success"])
            log = step_log(sid)
            self.assertIn(["ApprovePayment", "CANCEL"], log)
            self.assertEqual([s for s, e in log if e == "SUCCEEDED"][4:],
                             ["RefundPayment", "CancelReservation", "CancelOrder"])
            self.assertFalse([s for s, e in log if s in CONFIRMS])
            self.assertEqual(statuses(sid), ("CANCELLED", "REFUNDED", "CANCELLED"))
            self.assertEqual(stock(self.inv, pid), (10, 0))
            st, _, b = h.http("POST", f"{orch.url}/api/pure/orders/{sid}/cancel")
            self.assertEqual(st, 409, b)  # ended
        finally:
            orch.stop()

    def test_step_after_the_pivot_is_retried_until_it_succeeds(self):
        """The confirms run side by side: ConfirmOrder and ConfirmPayment end while
        ConfirmReservation is retried; a cancel past the pivot is refused; a SIGKILL there
        resumes only the confirm that had not ended."""
        orch = self.orchestrator().start()
        try:
            pid = new_product(self.inv, 10)
            st, _, b = h.http("POST", orch.url + "/api/pure/orders", order_body(pid))
            sid = b["sagaId"]
            wait_step(orch.url, sid, "ApprovePayment")
            self.services[1].kill()  # inventory down for ConfirmReservation

            def retries():
                return int(h.sql_value("orchestrator_db", "SELECT COUNT(*) FROM saga_step_log "
                                       f"WHERE saga_id='{sid}' AND step='ConfirmReservation' "
                                       "AND event='RETRY'"))
            h.wait_until(lambda: retries() >= 5, timeout=30,
                         what="ConfirmReservation retried beyond the forward attempts")
            self.assertEqual(h.sql("orchestrator_db", "SELECT status, step, confirms_done FROM "
                                   f"saga_instance WHERE saga_id='{sid}'")[0],
                             ["RUNNING", "ConfirmReservation", str(16 | 64)])
            for other in ("ConfirmOrder", "ConfirmPayment"):
                self.assertEqual(step_log(sid).count([other, "SUCCEEDED"]), 1)
            st, _, c = h.http("POST", f"{orch.url}/api/pure/orders/{sid}/cancel")
            self.assertEqual(st, 409, c)
            self.assertEqual(c["code"], "IllegalTransition")
            orch.kill()
            seen = retries()
            orch = self.orchestrator().start()
            h.wait_until(lambda: retries() > seen, timeout=30, what="resumed ConfirmReservation")
            self.restart_inventory()
            final = self.wait_terminal(orch.url, sid)
            self.assertEqual(final["status"], "COMPLETED", final)
            self.assertEqual(statuses(sid), ("CONFIRMED",) * 3)
            log = step_log(sid)
            for other in ("ConfirmOrder", "ConfirmPayment"):  # not sent again after the kill
                self.assertEqual([e for s, e in log if s == other], ["SUCCEEDED"])
        finally:
            orch.stop()
            if self.services[1].proc is None:
                self.restart_inventory()

    def test_forward_step_out_of_retries_compensates(self):
        pid = new_product(self.inv, 10)
        orch = self.orchestrator().start()
        self.services[1].kill()
        try:
            st, _, b = h.http("POST", orch.url + "/api/pure/orders", order_body(pid))
            sid = b["sagaId"]
            # CreateOrder ran; ReserveStock fails 3 times; CancelReservation then waits for the
            # inventory, so bring it back once the forward step has given up.
            h.wait_until(lambda: h.sql_value(
                "orchestrator_db", "SELECT COUNT(*) FROM saga_step_log WHERE "
                f"saga_id='{sid}' AND step='ReserveStock' AND event='FAILED'") == "1",
                timeout=30, what="ReserveStock out of attempts")
            self.restart_inventory()
            final = self.wait_terminal(orch.url, sid)
            self.assertEqual(final["status"], "COMPENSATED")
            self.assertEqual(final["result"]["errorType"], "RetriesExhausted")
            self.assertEqual(statuses(sid)[0], "CANCELLED")
            self.assertEqual(stock(self.inv, pid), (10, 0))
        finally:
            orch.stop()
            if self.services[1].proc is None:
                self.restart_inventory()


if __name__ == "__main__":
    unittest.main()

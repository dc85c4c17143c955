"""orchestrator-pure replicas on one database: ownership by lease, takeover, fencing, attaching
to another replica's saga, cancel through another replica, the recovery points of the fewer
commits, and a stuck compensation made visible. Real MariaDB and Redis (scripts/stack), the
three services and two orchestrator-pure replicas started here: services 29182-29184,
replica 0 on 29180, replica 1 on 29280 (the test's own range, replica r on port + 100*r)."""
import concurrent.futures
import os
import random
import re
import signal
import time
import unittest

import harness as h

ORDER, INV, PAY = 29182, 29183, 29184
REPLICA = [29180, 29280]
LEASE_MS = 4000
GATEWAY_MS = 1000  # the fake gateway's latency: ApprovePayment is where a saga can be caught
PG_LIMIT = 1000000
TERMINAL = ("COMPLETED", "COMPENSATED", "FAILED")


def orch_env(**extra):
    env = {"ORDER_SERVICE_URL": f"http://127.0.0.1:{ORDER}",
           "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{INV}",
           "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{PAY}",
           "SAGA_RETRY_INITIAL_MS": 100, "SAGA_RETRY_MAX_MS": 1000,
           "SAGA_LEASE_MS": LEASE_MS, "ORDER_SYNC_TIMEOUT_MS": 100}
    env.update(extra)
    return env


def order_body(pid, **extra):
    b = {"customerId": 1, "productId": pid, "quantity": 2, "amount": 20000}
    b.update(extra)
    return b


def sql_rows(db, query):
    return h.sql(db, query)


def saga_row(sid, cols):
    return h.sql("orchestrator_db", f"SELECT {cols} FROM saga_instance WHERE saga_id='{sid}'")[0]


def statuses(sid):
    """(order, payment, reservation) status of one saga; None where it has no row."""
    return tuple(h.sql_value(db, f"SELECT status FROM {table} WHERE saga_id='{sid}'")
                 for db, table in (("order_db", "orders"), ("payment_db", "payments"),
                                   ("inventory_db", "inventory_reservations")))


def counts(sid):
    return (h.sql_value("order_db", f"SELECT COUNT(*) FROM orders WHERE saga_id='{sid}'"),
            h.sql_value("payment_db", f"SELECT COUNT(*) FROM payments WHERE saga_id='{sid}'"))


def metric(url, name, labels=""):
    """Sum of the samples of `name` whose labels contain `labels`, from url/metrics."""
    _, _, text = h.http("GET", url + "/metrics")
    total = 0.0
    for m in re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", text, re.M):
        if labels in (m.group(1) or ""):
            total += float(m.group(2))
    return total


class LogMark:
    """The lines a daemon wrote to its log since the mark was taken."""

    def __init__(self, daemon):
        self.path, self.offset = daemon.log_path, os.path.getsize(daemon.log_path)

    def text(self):
        with open(self.path, errors="replace") as f:
            f.seek(self.offset)
            return f.read()


class PureReplicasTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stream = h.uid("stream:test-pure-ha-")
        env = {"ORDER_EVENTS_STREAM": cls.stream}
        cls.services = [h.Daemon("service-order", ORDER, env),
                        h.Daemon("service-inventory", INV, env),
                        h.Daemon("service-payment", PAY, dict(env, FAKE_PG_LIMIT=PG_LIMIT,
                                                              FAKE_PG_LATENCY_MS=GATEWAY_MS))]
        h.start_all(cls.services)
        cls.inv = cls.services[1].url
        cls.pay = cls.services[2].url

    @classmethod
    def tearDownClass(cls):
        errors = h.stop_all(cls.services)
        h.redis_cli("DEL", cls.stream)
        if errors:
            raise errors[0]

    def setUp(self):
        self.replicas = []

    def tearDown(self):
        for r in self.replicas:
            if r.proc is not None and r.proc.poll() is None:
                r.proc.send_signal(signal.SIGCONT)
        for svc in self.services:  # a test that paused a service
            if svc.proc is not None:
                svc.proc.send_signal(signal.SIGCONT)
        errors = h.stop_all(self.replicas)
        if errors:
            raise errors[0]

    def replica(self, r, **extra):
        d = h.Daemon("orchestrator-pure", REPLICA[r], orch_env(**extra),
                     log_name=f"orchestrator-pure-ha{r}").start()
        self.replicas.append(d)
        return d

    def product(self, available=10):
        pid = random.randint(10**8, 10**12)
        st, _, b = h.http("PUT", f"{self.inv}/api/inventory/{pid}", {"available": available})
        self.assertEqual(st, 200, b)
        return pid

    def stock(self, pid):
        _, _, b = h.http("GET", f"{self.inv}/api/inventory/{pid}")
        return b["available"], b["reserved"]

    def start_saga(self, orch, pid, key=None, **body):
        headers = {"Idempotency-Key": key} if key else None
        st, _, b = h.http("POST", orch.url + "/api/pure/orders", order_body(pid, **body),
                          headers=headers)
        self.assertEqual(st, 202, b)
        return b["sagaId"]

    def view(self, orch, sid):
        st, _, b = h.http("GET", f"{orch.url}/api/pure/orders/{sid}")
        self.assertEqual(st, 200, b)
        return b

    def wait_step(self, orch, sid, step):
        h.wait_until(lambda: self.view(orch, sid)["step"] == step, 30, 0.05,
                     what=f"{sid} at {step}")

    def wait_end(self, orch, sid, timeout=60):
        return h.wait_until(lambda: (lambda b: b if b["status"] in TERMINAL else None)(
            self.view(orch, sid)), timeout, 0.1, what=f"{sid} to end")

    def owner_of(self, sid):
        return saga_row(sid, "owner_id")[0]

    # ---- takeover ---------------------------------------------------------------------------

    def test_killed_replica_sagas_finish_on_the_other_within_two_leases(self):
        a, b = self.replica(0), self.replica(1)
        pid = self.product(20)
        sids = [self.start_saga(a, pid) for _ in range(4)]
        for sid in sids:
            self.wait_step(a, sid, "ApprovePayment")
        owner_a = self.owner_of(sids[0])
        self.assertTrue(all(self.owner_of(s) == owner_a for s in sids))
        a.kill()
        killed = time.monotonic()
        ends = [self.wait_end(b, sid, timeout=4 * LEASE_MS / 1000) for sid in sids]
        took = time.monotonic() - killed
        print(f"takeover: {len(sids)} sagas of the killed replica ended on the other "
              f"{took:.2f} s after the SIGKILL (lease {LEASE_MS} ms)", flush=True)
        self.assertLessEqual(took, 2 * LEASE_MS / 1000, "not finished within 2x the lease")
        for sid, end in zip(sids, ends):
            self.assertEqual(end["status"], "COMPLETED", end)
            self.assertEqual(counts(sid), ("1", "1"))
            self.assertEqual(statuses(sid), ("CONFIRMED",) * 3)
            self.assertNotEqual(self.owner_of(sid), owner_a)
        self.assertEqual(self.stock(pid), (20 - 2 * len(sids), 0))
        self.assertGreaterEqual(metric(b.url, "saga_takeovers_total"), len(sids))

    def test_frozen_replica_cannot_commit_a_saga_taken_over(self):
        a, b = self.replica(0), self.replica(1)
        pid = self.product()
        charges = metric(self.pay, "fake_pg_charges_total")
        sid = self.start_saga(a, pid)
        self.wait_step(a, sid, "ApprovePayment")
        owner_a, lease_a = saga_row(sid, "owner_id, lease_version")
        mark = LogMark(a)
        a.proc.send_signal(signal.SIGSTOP)  # frozen past its lease: B takes the saga over
        end = self.wait_end(b, sid, timeout=6 * LEASE_MS / 1000)
        self.assertEqual(end["status"], "COMPLETED", end)
        final = saga_row(sid, "version, lease_version, owner_id")
        self.assertGreater(int(final[1]), int(lease_a))
        a.proc.send_signal(signal.SIGCONT)
        # A wakes up with the approval's answer and a saga it still thinks it drives: its
        # next transition (the pivot) must be refused.
        h.wait_until(lambda: "lease lost" in mark.text(), 30, 0.2,
                     what="the frozen replica to find its lease gone")
        self.assertEqual(saga_row(sid, "version, lease_version, owner_id"), final)
        log = sql_rows("orchestrator_db", "SELECT owner_id, lease_version FROM saga_step_log "
                       f"WHERE saga_id='{sid}' AND owner_id IS NOT NULL ORDER BY id")
        self.assertTrue(log)
        first_b = next(i for i, (o, _) in enumerate(log) if o != owner_a)
        self.assertFalse([r for r in log[first_b:] if r[0] == owner_a],
                         f"the frozen replica wrote after the takeover: {log}")
        self.assertEqual(counts(sid), ("1", "1"))
        self.assertEqual(statuses(sid), ("CONFIRMED",) * 3)
        self.assertEqual(self.stock(pid), (8, 0))
        self.assertEqual(metric(self.pay, "fake_pg_charges_total") - charges, 1,
                         "the payment was charged more than once")

    def test_repeated_post_on_another_replica_attaches_and_survives_the_owner_dying(self):
        a, b = self.replica(0), self.replica(1, ORDER_SYNC_TIMEOUT_MS=30000)
        pid = self.product()
        key = h.uid("ha-")
        sid = self.start_saga(a, pid, key=key)
        self.wait_step(a, sid, "ApprovePayment")
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            waiting = ex.submit(h.http, "POST", b.url + "/api/pure/orders", order_body(pid),
                                {"Idempotency-Key": key}, 60)
            time.sleep(0.3)
            self.assertFalse(waiting.done())
            a.kill()  # B's waiting request takes the saga over once A's lease runs out
            st, _, r = waiting.result()
        self.assertEqual(st, 200, r)
        self.assertTrue(r["success"], r)
        self.assertEqual(r["sagaId"], sid)
        self.assertEqual(counts(sid), ("1", "1"))
        self.assertEqual(statuses(sid), ("CONFIRMED",) * 3)
        # And a third POST with the key, on B, answers the same result at once.
        st, _, again = h.http("POST", b.url + "/api/pure/orders", order_body(pid),
                              headers={"Idempotency-Key": key})
        self.assertEqual((st, again), (200, r))

    def test_post_on_another_replica_waits_for_the_owner(self):
        a, b = self.replica(0), self.replica(1, ORDER_SYNC_TIMEOUT_MS=30000)
        pid = self.product()
        key = h.uid("ha-")
        sid = self.start_saga(a, pid, key=key)
        st, _, r = h.http("POST", b.url + "/api/pure/orders", order_body(pid),
                          headers={"Idempotency-Key": key}, timeout=60)
        self.assertEqual(st, 200, r)
        self.assertTrue(r["success"], r)
        owners = {o for (o,) in sql_rows("orchestrator_db", "SELECT DISTINCT owner_id FROM "
                                         f"saga_step_log WHERE saga_id='{sid}' AND owner_id IS NOT NULL")}
        self.assertEqual(owners, {self.owner_of(sid)}, "the saga was driven by both replicas")
        self.assertEqual(counts(sid), ("1", "1"))

    # ---- cancel ------------------------------------------------------------------------------

    def test_cancel_through_another_replica_compensates(self):
        a, b = self.replica(0), self.replica(1)
        pid = self.product()
        sid = self.start_saga(a, pid)
        self.wait_step(a, sid, "ApprovePayment")
        st, _, c = h.http("POST", f"{b.url}/api/pure/orders/{sid}/cancel")
        self.assertEqual(st, 202, c)
        self.assertTrue(c["cancelRequested"])
        end = self.wait_end(a, sid)
        self.assertEqual(end["status"], "COMPENSATED", end)
        self.assertEqual(end["result"]["errorType"], "Cancelled")
        self.assertEqual(statuses(sid), ("CANCELLED", "REFUNDED", "CANCELLED"))
        self.assertEqual(self.stock(pid), (10, 0))
        self.assertEqual({o for (o,) in sql_rows("orchestrator_db", "SELECT DISTINCT owner_id "
                          f"FROM saga_step_log WHERE saga_id='{sid}' AND event <> 'CANCEL'")},
                         {self.owner_of(sid)}, "the cancel moved the saga to the other replica")

    def test_cancel_contract(self):
        a = self.replica(0)
        pid = self.product()
        sid = self.start_saga(a, pid)
        self.wait_step(a, sid, "ApprovePayment")
        for raw, ctype in ((b"{", "application/json"), (b"[]", "application/json"),
                           (b"cancel", "text/plain"), (b"1", "application/json")):
            st, hdrs, p = h.http("POST", f"{a.url}/api/pure/orders/{sid}/cancel", raw=raw,
                                 headers={"Content-Type": ctype})
            self.assertIn(st, (400, 415), (raw, p))
            self.assertIn("application/problem+json", hdrs["content-type"])
        self.assertEqual(saga_row(sid, "cancel_requested")[0], "0", "a refused cancel took effect")
        st, _, c1 = h.http("POST", f"{a.url}/api/pure/orders/{sid}/cancel", {"reason": "changed mind"})
        self.assertEqual(st, 202, c1)
        self.assertEqual((c1["status"], c1["step"], c1["cancelRequested"]),
                         ("RUNNING", "ApprovePayment", True))
        st, _, c2 = h.http("POST", f"{a.url}/api/pure/orders/{sid}/cancel")
        self.assertEqual(st, 202, c2)  # idempotent
        end = self.wait_end(a, sid)
        self.assertEqual((end["status"], end["result"]["errorType"]), ("COMPENSATED", "Cancelled"))
        self.assertEqual(statuses(sid), ("CANCELLED", "REFUNDED", "CANCELLED"))
        self.assertEqual(self.stock(pid), (10, 0))
        st, _, p = h.http("POST", f"{a.url}/api/pure/orders/{sid}/cancel")
        self.assertEqual((st, p["code"], p["status"]), (409, "IllegalTransition", 409))
        st, _, p = h.http("POST", f"{a.url}/api/pure/orders/pure-{h.uid()}/cancel")
        self.assertEqual(st, 404, p)
        st, _, p = h.http("POST", f"{a.url}/api/pure/orders/bad%20id/cancel")
        self.assertEqual(st, 400, p)

    def test_cancel_after_the_pivot_is_409_and_the_order_completes(self):
        a = self.replica(0)
        pid = self.product()
        sid = self.start_saga(a, pid)
        h.wait_until(lambda: saga_row(sid, "phase")[0] in ("CONFIRMING", "COMPLETED"), 30, 0.02,
                     what="the pivot")
        st, _, p = h.http("POST", f"{a.url}/api/pure/orders/{sid}/cancel")
        self.assertEqual((st, p["code"]), (409, "IllegalTransition"))
        self.assertEqual(self.wait_end(a, sid)["status"], "COMPLETED")
        self.assertEqual(statuses(sid), ("CONFIRMED",) * 3)

    def test_cancel_racing_the_saga_end_answers_the_real_final_state(self):
        a = self.replica(0)
        pid = self.product(100)
        sids = [self.start_saga(a, pid, quantity=1) for _ in range(10)]

        def cancel(i):
            time.sleep(0.1 * i + random.random() * 0.9)  # around the pivot (gateway 1 s)
            return h.http("POST", f"{a.url}/api/pure/orders/{sids[i]}/cancel")[:3:2]
        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            answers = list(ex.map(cancel, range(10)))
        for sid, (st, body) in zip(sids, answers):
            end = self.wait_end(a, sid)
            if st == 202:
                self.assertEqual((end["status"], end["result"]["errorType"]),
                                 ("COMPENSATED", "Cancelled"), (st, body, end))
                self.assertEqual(statuses(sid)[0], "CANCELLED")
                self.assertIn(statuses(sid)[1], (None, "REFUNDED"))
            else:
                self.assertEqual(st, 409, body)
                self.assertEqual(end["status"], "COMPLETED", (body, end))
                self.assertEqual(statuses(sid), ("CONFIRMED",) * 3)
        done = sum(1 for st, _ in answers if st != 202)
        self.assertEqual(self.stock(pid), (100 - done, 0))

    # ---- recovery points of the fewer commits ------------------------------------------------

    def test_saga_cancelled_while_nobody_drives_it_undoes_every_step_it_may_have_run(self):
        """Killed at ApprovePayment, its last commit the creation: the cancel is recorded while
        no replica drives it; the replica that takes it over does not know how far it went,
        so it compensates every step up to the pivot, learning the order and payment ids."""
        a, b = self.replica(0), self.replica(1)
        pid = self.product()
        sid = self.start_saga(a, pid)
        self.wait_step(a, sid, "ApprovePayment")
        a.kill()
        self.assertEqual(saga_row(sid, "phase, last_forward, order_id")[:2], ["FORWARD", "0"])
        st, _, c = h.http("POST", f"{b.url}/api/pure/orders/{sid}/cancel")
        self.assertEqual(st, 202, c)
        end = self.wait_end(b, sid, timeout=30)
        self.assertEqual((end["status"], end["result"]["errorType"]), ("COMPENSATED", "Cancelled"))
        self.assertEqual(counts(sid), ("1", "1"))
        self.assertEqual(statuses(sid), ("CANCELLED", "REFUNDED", "CANCELLED"))
        self.assertEqual(self.stock(pid), (10, 0))

    def test_killed_while_compensating_repeats_no_compensation_effect(self):
        """Killed after the decision to compensate (its last commit), with RefundPayment done
        and CancelReservation held: the replica that takes it over runs the compensations
        again from the top; each changes its service once."""
        a = self.replica(0)
        inv = self.services[1]
        pid = self.product()
        sid = self.start_saga(a, pid, amount=PG_LIMIT + 1)  # the gateway refuses it
        self.wait_step(a, sid, "ApprovePayment")
        inv.proc.send_signal(signal.SIGSTOP)  # CancelReservation hangs
        h.wait_until(lambda: self.view(a, sid)["step"] == "CancelReservation", 30, 0.05,
                     what="compensating, at CancelReservation")
        self.assertEqual(saga_row(sid, "phase")[0], "COMPENSATING")
        a.kill()
        inv.proc.send_signal(signal.SIGCONT)
        b = self.replica(1)
        end = self.wait_end(b, sid, timeout=30)
        self.assertEqual((end["status"], end["result"]["errorType"]),
                         ("COMPENSATED", "InsufficientBalance"))
        self.assertEqual(counts(sid), ("1", "1"))
        self.assertEqual(statuses(sid), ("CANCELLED", "REFUNDED", "CANCELLED"))
        self.assertEqual(self.stock(pid), (10, 0))
        pay_id = h.sql_value("payment_db", f"SELECT id FROM payments WHERE saga_id='{sid}'")
        self.assertEqual(h.sql_value("payment_db", "SELECT COUNT(*) FROM outbox_events WHERE "
                                     f"aggregate_id='{pay_id}' AND event_type='PaymentRefunded'"),
                         "1", "refunded twice")

    # ---- a stuck compensation is visible -----------------------------------------------------

    def test_compensation_held_is_listed_stuck_with_its_attempts_until_the_service_is_back(self):
        stuck_ms = 2000
        a, b = self.replica(0, SAGA_STUCK_AFTER_MS=stuck_ms), self.replica(1, SAGA_STUCK_AFTER_MS=stuck_ms)
        pay = self.services[2]
        pid = self.product()
        sid = self.start_saga(a, pid)
        self.wait_step(a, sid, "ApprovePayment")
        pay.proc.send_signal(signal.SIGSTOP)  # the payment service hangs: calls time out
        st, _, c = h.http("POST", f"{a.url}/api/pure/orders/{sid}/cancel")
        self.assertEqual(st, 202, c)

        def stuck_on(orch):
            st, _, body = h.http("GET", f"{orch.url}/api/pure/sagas?stuck=true")
            self.assertEqual(st, 200, body)
            return [s for s in body["sagas"] if s["sagaId"] == sid]
        listed = h.wait_until(lambda: stuck_on(a), 90, 0.5, what="the saga listed as stuck")[0]
        self.assertEqual((listed["status"], listed["retry"]["step"]),
                         ("COMPENSATING", "RefundPayment"), listed)
        self.assertGreaterEqual(listed["retry"]["retryingMs"], stuck_ms)
        self.assertGreaterEqual(listed["retry"]["attempt"], 1)
        self.assertIn("transport", listed["retry"]["lastError"].lower())
        self.assertTrue(listed["retry"]["since"].endswith("Z"))
        self.assertTrue(stuck_on(b), "another replica does not list it")
        view = self.view(b, sid)
        self.assertEqual(view["retry"]["step"], "RefundPayment")
        h.wait_until(lambda: metric(a.url, "saga_oldest_retry_seconds") >= stuck_ms / 1000, 10,
                     0.2, what="the oldest-retry gauge")
        self.assertGreaterEqual(metric(a.url, "saga_in_progress", 'phase="COMPENSATING"'), 1)
        self.assertGreaterEqual(metric(a.url, "saga_step_retries_total", 'step="RefundPayment"'), 1)
        pay.proc.send_signal(signal.SIGCONT)
        end = self.wait_end(a, sid, timeout=60)
        self.assertEqual((end["status"], end["result"]["errorType"]), ("COMPENSATED", "Cancelled"))
        self.assertNotIn("retry", end)
        self.assertFalse(stuck_on(a))
        h.wait_until(lambda: metric(a.url, "saga_oldest_retry_seconds") == 0, 10, 0.2,
                     what="the oldest-retry gauge back to 0")
        self.assertEqual(metric(a.url, "saga_compensations_total",
                                'step="RefundPayment",outcome="done"'), 1)
        self.assertEqual(statuses(sid), ("CANCELLED", "REFUNDED", "CANCELLED"))
        self.assertEqual(self.stock(pid), (10, 0))

    def test_saga_list_refuses_bad_queries(self):
        a = self.replica(0)
        for q in ("stuck=yes", "stuck=", "limit=0", "limit=1001", "limit=x"):
            st, hdrs, p = h.http("GET", f"{a.url}/api/pure/sagas?{q}")
            self.assertEqual(st, 400, (q, p))
            self.assertIn("application/problem+json", hdrs["content-type"])
        st, _, body = h.http("GET", f"{a.url}/api/pure/sagas?stuck=false&limit=5")
        self.assertEqual(st, 200, body)
        self.assertLessEqual(body["count"], 5)


if __name__ == "__main__":
    unittest.main()

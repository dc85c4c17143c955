"""A SIGKILL of the real Temporal server under load, on the production profile: clients keep
placing async orders on orchestrator-temporal (28381, a task queue of its own; services on
28382-28384), retrying each with its Idempotency-Key while the server is down; the server is
killed once a share of them is in flight and brought back by `scripts/stack up --production`.
Every run must finish successfully, exactly once: one CONFIRMED order and payment per run, stock
moved by exactly the number of runs, nothing left reserved."""
import concurrent.futures
import datetime
import json
import os
import random
import signal
import threading
import time
import unittest

import harness as h
import prodlib as p

ORCH, ORDER, INV, PAY = 28381, 28382, 28383, 28384
ORDERS, CLIENTS, KILL_AFTER = 40, 4, 12


def close_time(wid):
    """The run's close time (Unix seconds) as the server recorded it."""
    cp = h.temporal_cli("workflow", "describe", "-w", wid, "-o", "json")
    assert cp.returncode == 0, cp.stderr
    text = json.loads(cp.stdout)["workflowExecutionInfo"]["closeTime"]
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class TemporalRestartTest(unittest.TestCase):
    def setUp(self):
        p.require_production(self)
        self.stream = h.uid("stream:test-restart-")
        env = {"ORDER_EVENTS_STREAM": self.stream}
        urls = {"ORDER_SERVICE_URL": f"http://127.0.0.1:{ORDER}",
                "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{INV}",
                "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{PAY}"}
        self.daemons = [h.Daemon("service-order", ORDER, env),
                        h.Daemon("service-inventory", INV, env),
                        h.Daemon("service-payment", PAY, env),
                        h.Daemon("orchestrator-temporal", ORCH, dict(
                            env, **urls, TEMPORAL_TASK_QUEUE=h.uid("test-restart-")))]
        h.start_all(self.daemons)
        self.pid = random.randint(10**8, 10**12)
        st, _, b = h.http("PUT", f"http://127.0.0.1:{INV}/api/inventory/{self.pid}",
                          {"available": 1000})
        self.assertEqual(st, 200, b)

    def tearDown(self):
        try:
            p.stop_all(self.daemons)
        finally:
            h.redis_cli("DEL", self.stream)
            # Whatever happened, leave the server running for the tests after this one.
            if p.stack_profile() == "production":
                p.script("stack", "up", "--production")

    def place(self, accepted, lock):
        """One order, retried with its key until orchestrator-temporal accepts it (202)."""
        key = h.uid("restart-")
        body = {"customerId": 1, "productId": self.pid, "quantity": 1, "amount": 1000}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                st, _, b = h.http("POST", f"http://127.0.0.1:{ORCH}/api/temporal/orders/async",
                                  body, headers={"Idempotency-Key": key}, timeout=30)
            except OSError:
                st, b = 0, None
            if st == 202:
                with lock:
                    accepted.append(b["workflowId"])
                return b["workflowId"]
            time.sleep(0.5)  # the server is down: 503; try again with the same key
        raise AssertionError(f"order {key} never accepted")

    def wait_closed(self, wid):
        def closed():
            st, _, b = h.http("GET", f"http://127.0.0.1:{ORCH}/api/temporal/orders/{wid}",
                              timeout=30)
            return b if st == 200 and b["status"] != "RUNNING" else None
        return h.wait_until(closed, timeout=300, interval=1.0, what=f"{wid} to close")

    def test_sigkill_of_the_server_under_load_every_run_finishes(self):
        accepted, lock = [], threading.Lock()
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(self.place, accepted, lock) for _ in range(ORDERS)]
            h.wait_until(lambda: len(accepted) >= KILL_AFTER, timeout=120, what="orders in flight")
            server = p.pid_file("temporal")
            with lock:
                before_kill = list(accepted)
            killed_at = time.time()
            os.kill(server, signal.SIGKILL)
            h.wait_until(lambda: not p.alive(server), timeout=10, what="the server to die")
            time.sleep(2)  # clients meet a dead server meanwhile
            cp = p.script("stack", "up", "--production")
            self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
            self.assertNotEqual(p.pid_file("temporal"), server)
            wids = [f.result() for f in futures]
        self.assertEqual(len(set(wids)), ORDERS)
        results = [self.wait_closed(w) for w in wids]
        # Not a vacuous kill: runs started before it were still open when it came.
        spanning = [w for w in before_kill if close_time(w) > killed_at]
        self.assertTrue(spanning, "every run had finished before the kill")
        for r in results:
            self.assertEqual(r["status"], "COMPLETED", r)
            self.assertTrue(r["result"]["success"], r)
        order_ids = {r["result"]["orderId"] for r in results}
        self.assertEqual(len(order_ids), ORDERS)
        for r in results:
            st, _, o = h.http("GET", f"http://127.0.0.1:{ORDER}/api/orders/{r['result']['orderId']}")
            self.assertEqual(o["status"], "CONFIRMED", o)
            st, _, pay = h.http("GET",
                                f"http://127.0.0.1:{PAY}/api/payments/{r['result']['paymentId']}")
            self.assertEqual(pay["status"], "CONFIRMED", pay)
        st, _, inv = h.http("GET", f"http://127.0.0.1:{INV}/api/inventory/{self.pid}")
        self.assertEqual((inv["available"], inv["reserved"]), (1000 - ORDERS, 0), inv)


if __name__ == "__main__":
    unittest.main()

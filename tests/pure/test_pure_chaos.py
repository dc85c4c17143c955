"""Chaos with two replicas of every daemon (DESIGN "Replicas", issue 13 "How it is proven"):
under load through both orchestrators, SIGKILL replica 1 of all six daemons and do not restart
them; clients retry their unanswered orders with their Idempotency-Key on replica 0. Every order
ends, stock moves by exactly the successes, nothing stays reserved, every successful order and
payment is CONFIRMED, no saga is driven by two replicas at once; the takeover time is printed.

Its own MariaDB, Redis and Temporal dev server (tests/faults/faultlib.py, on the ports the ctest
environment gives: 29406, 29479, 29833), never the shared stack; replica 0 of the daemons on
29580-29585, replica 1 on 29680-29685 (the test's own range, replica r on port + 100*r)."""
import json
import os
import random
import threading
import time
import unittest
import urllib.error

import faultlib as f
import harness as h

f.DATA_DIR = os.path.join(h.BUILD_DIR, "pure-chaos")  # not the fault tests' folder
BASE = {"orchestrator-pure": 29580, "orchestrator-temporal": 29581, "service-order": 29582,
        "service-inventory": 29583, "service-payment": 29584, "service-notification": 29585}
STEP = 100
f.PORTS.update(BASE)  # faultlib's checks read replica 0
LEASE_MS = 3000
PATHS = {"orchestrator-pure": ("/api/pure/orders", "sagaId"),
         "orchestrator-temporal": ("/api/temporal/orders", "workflowId")}
TERMINAL_TEMPORAL = ("COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT")


def url(name, r):
    return f"http://127.0.0.1:{BASE[name] + STEP * r}"


def url_list(name):
    return ",".join(url(name, r) for r in (0, 1))


class Client:
    """One closed-loop client of one orchestrator: it sends each order to the replica it is
    given and, when that gives no answer, retries with the same Idempotency-Key on replica 0;
    a 202 is followed on replica 0 until the order ends."""

    def __init__(self, orch, replica, pid, stop):
        self.orch, self.replica, self.pid, self.stop = orch, replica, pid, stop
        self.orders = []  # (key, saga/workflow id, final result)
        self.thread = threading.Thread(target=self.run, daemon=True)

    def post(self, r, key):
        path, _ = PATHS[self.orch]
        try:
            return h.http("POST", url(self.orch, r) + path, f.order_body(self.pid),
                          {"Idempotency-Key": key}, timeout=60)
        except (OSError, urllib.error.URLError):
            return 0, {}, None

    def final(self, sid):
        path, _ = PATHS[self.orch]
        try:
            st, _, b = h.http("GET", f"{url(self.orch, 0)}{path}/{sid}", timeout=30)
        except (OSError, urllib.error.URLError):
            return None
        if st != 200 or not isinstance(b, dict):
            return None
        done = b.get("status") in (("COMPLETED", "COMPENSATED", "FAILED") if self.orch == "orchestrator-pure"
                                   else TERMINAL_TEMPORAL)
        return b.get("result") or {"success": False, "status": b.get("status")} if done else None

    def one(self):
        key = h.uid("chaos-")
        r = self.replica
        for _ in range(400):
            st, _, b = self.post(r, key)
            if st in (200, 202) and isinstance(b, dict):
                sid = b[PATHS[self.orch][1]]
                result = b if st == 200 else None
                while result is None:
                    time.sleep(0.5)
                    result = self.final(sid)
                self.orders.append((key, sid, result))
                return
            r = 0  # unanswered (connection refused or reset, 5xx): replica 0, same key
            time.sleep(0.3)
        raise AssertionError(f"order {key} never answered")

    def run(self):
        while not self.stop.is_set():
            self.one()


class ChaosTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        f.raise_fd_limit()
        cls.servers = f.Servers(temporal=True).start()
        cls.daemons = {}
        queue = h.uid("chaos-")
        try:
            for r in (0, 1):
                for name in ("service-order", "service-inventory", "service-payment",
                             "service-notification"):
                    env = {"HTTP_THREADS": 16, "NOTIFICATION_CLAIM_IDLE_MS": 2000,
                           "NOTIFICATION_CLAIM_EVERY_MS": 1000}
                    if name == "service-payment":
                        env["FAKE_PG_LATENCY_MS"] = 150  # sagas in flight when the kill lands
                    cls.start(name, r, env)
                lists = {"ORDER_SERVICE_URL": url_list("service-order"),
                         "INVENTORY_SERVICE_URL": url_list("service-inventory"),
                         "PAYMENT_SERVICE_URL": url_list("service-payment"),
                         "SAGA_RETRY_INITIAL_MS": 200, "SAGA_RETRY_MAX_MS": 2000,
                         "ORDER_SYNC_TIMEOUT_MS": 20000}
                cls.start("orchestrator-pure", r, dict(lists, SAGA_LEASE_MS=LEASE_MS))
                cls.start("orchestrator-temporal", r, dict(lists, TEMPORAL_TASK_QUEUE=queue,
                                                           HTTP_THREADS=32))
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls, name, r, env):
        d = h.Daemon(name, BASE[name] + STEP * r, env, log_name=f"chaos-{name}-r{r}")
        cls.daemons[(name, r)] = d.start(60)

    @classmethod
    def tearDownClass(cls):
        try:
            for d in cls.daemons.values():
                if d.proc is not None:
                    d.stop(60)
        finally:
            cls.servers.stop()

    def product(self, stock):
        pid = random.randint(10**8, 10**12)
        st, _, b = h.http("PUT", f"{url('service-inventory', 0)}/api/inventory/{pid}",
                          {"available": stock})
        self.assertIn(st, (200, 201), b)
        return pid

    def test_replica_1_of_every_daemon_killed_under_load(self):
        stock = 100000
        pids = {"orchestrator-pure": self.product(stock),
                "orchestrator-temporal": self.product(stock)}
        stop = threading.Event()
        clients = [Client("orchestrator-pure", i % 2, pids["orchestrator-pure"], stop)
                   for i in range(8)]
        clients += [Client("orchestrator-temporal", i % 2, pids["orchestrator-temporal"], stop)
                    for i in range(2)]
        for c in clients:
            c.thread.start()
        time.sleep(8)
        r1_owner = "%:" + str(BASE["orchestrator-pure"] + STEP) + "/%"
        for name in BASE:
            self.daemons[(name, 1)].kill()
        killed = time.monotonic()
        held = [s for (s,) in h.sql("orchestrator_db", "SELECT saga_id FROM saga_instance WHERE "
                                    f"lease_until IS NOT NULL AND owner_id LIKE '{r1_owner}'")]

        def r1_holds():
            return int(h.sql_value("orchestrator_db", "SELECT COUNT(*) FROM saga_instance WHERE "
                                   f"lease_until IS NOT NULL AND owner_id LIKE '{r1_owner}'"))
        h.wait_until(lambda: r1_holds() == 0, 4 * LEASE_MS / 1000 + 30, 0.1,
                     what="replica 0 to take over every saga of replica 1")
        taken = time.monotonic() - killed

        def held_ended():
            left = h.sql_value("orchestrator_db", "SELECT COUNT(*) FROM saga_instance WHERE "
                               "lease_until IS NOT NULL AND saga_id IN ('" +
                               "','".join(held or ["-"]) + "')")
            return left == "0"
        h.wait_until(held_ended, 120, 0.1, what="replica 1's sagas to end on replica 0")
        ended = time.monotonic() - killed
        time.sleep(6)
        stop.set()
        for c in clients:
            c.thread.join(300)
            self.assertFalse(c.thread.is_alive(), "a client never got its order answered")
        print(json.dumps({"measure": "chaos: replica 1 of every daemon SIGKILLed",
                          "lease_ms": LEASE_MS, "pure_sagas_replica_1_held": len(held),
                          "all_taken_over_s": round(taken, 2),
                          "all_ended_s": round(ended, 2)}), flush=True)
        self.check(clients, pids, stock)

    def check(self, clients, pids, stock):
        for orch, pid in pids.items():
            orders = [o for c in clients if c.orch == orch for o in c.orders]
            self.assertGreater(len(orders), 4, f"{orch}: too few orders")
            by_saga = f.check_saga_data(self, pid, stock)  # consistent per saga; stock adds up
            ok = [(k, s, r) for k, s, r in orders if r.get("success") is True]
            for _, sid, r in ok:
                self.assertEqual(by_saga.get(sid), "CONFIRMED", (sid, r))
                st, _, p = h.http("GET", f"{url('service-payment', 0)}/api/payments/{r['paymentId']}")
                self.assertEqual((st, p.get("status")), (200, "CONFIRMED"), (sid, p))
            self.assertEqual(len({s for _, s, _ in orders}), len(orders), "two orders, one saga")
            self.assertEqual(set(by_saga), {s for _, s, _ in orders},
                             f"{orch}: orders without a client, or clients without an order")
            _, _, inv = h.http("GET", f"{url('service-inventory', 0)}/api/inventory/{pid}")
            self.assertEqual((inv["available"], inv["reserved"]), (stock - len(ok), 0))
            print(f"{orch}: {len(orders)} orders, {len(ok)} succeeded", flush=True)
        self.check_driven_once()
        self.assertEqual(h.sql_value("orchestrator_db", "SELECT COUNT(*) FROM saga_instance "
                                     "WHERE status IN ('RUNNING', 'COMPENSATING')"), "0")

    def check_driven_once(self):
        """Each lease version of a saga wrote with one owner, and never after a newer one."""
        rows = h.sql("orchestrator_db", "SELECT saga_id, owner_id, lease_version FROM "
                     "saga_step_log WHERE owner_id IS NOT NULL ORDER BY saga_id, id")
        last = {}
        owners = {}
        for sid, owner, lv in rows:
            lv = int(lv)
            self.assertGreaterEqual(lv, last.get(sid, lv), f"{sid}: an older lease wrote later")
            last[sid] = lv
            self.assertEqual(owners.setdefault((sid, lv), owner), owner,
                             f"{sid}: two owners under lease version {lv}")


if __name__ == "__main__":
    unittest.main()

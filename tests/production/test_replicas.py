"""Replicas behind URL lists, end to end: two replicas of service-order, -inventory and -payment
(ports 28082-28084 and 28182-28184), orchestrator-pure (28080) and orchestrator-temporal (28081,
a task queue of its own) given both replicas of each service in ORDER_SERVICE_URL,
INVENTORY_SERVICE_URL and PAYMENT_SERVICE_URL. Needs MariaDB, Redis and Temporal (any profile).

Proves: calls spread over both replicas; with replica 1 of every service SIGKILLed, orders on
both orchestrators still succeed through replica 0, with no saga step needing a second attempt
(the client fails over within the call), every order and payment CONFIRMED and stock moved by
exactly the orders; a malformed list stops a daemon at start with a
message naming the entry."""
import json
import random
import re
import subprocess
import unittest

import harness as h
import prodlib as p

PURE, TEMPORAL = 28080, 28081
SERVICES = {"service-order": 28082, "service-inventory": 28083, "service-payment": 28084}
REPLICA_STEP = 100  # replica r of a service on its port + 100*r (the test's own range)


def url_list(name):
    return ",".join(f"http://127.0.0.1:{SERVICES[name] + REPLICA_STEP * r}" for r in (0, 1))


def post_requests(url):
    """POST requests a daemon has answered, from its /metrics."""
    st, _, text = h.http("GET", url + "/metrics")
    assert st == 200, st
    return sum(float(m.group(1)) for m in
               re.finditer(r'^http_requests_total\{.*method="POST".*\} (\S+)$', text, re.M))


class ReplicasTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env = {"ORDER_EVENTS_STREAM": h.uid("stream:test-replicas-")}
        cls.stream = env["ORDER_EVENTS_STREAM"]
        cls.replicas = {name: [h.Daemon(name, port + REPLICA_STEP * r, env) for r in (0, 1)]
                        for name, port in SERVICES.items()}
        lists = {"ORDER_SERVICE_URL": url_list("service-order"),
                 "INVENTORY_SERVICE_URL": url_list("service-inventory"),
                 "PAYMENT_SERVICE_URL": url_list("service-payment"),
                 "SAGA_RETRY_INITIAL_MS": 100, "SAGA_RETRY_MAX_MS": 1000}
        cls.pure = h.Daemon("orchestrator-pure", PURE, dict(env, **lists))
        cls.temporal = h.Daemon("orchestrator-temporal", TEMPORAL, dict(
            env, **lists, TEMPORAL_TASK_QUEUE=h.uid("test-replicas-"),
            ORDER_SYNC_TIMEOUT_MS=90000))
        cls.all = [d for pair in cls.replicas.values() for d in pair] + [cls.pure, cls.temporal]
        h.start_all(cls.all)
        cls.inv = cls.replicas["service-inventory"][0].url
        cls.pid = random.randint(10**8, 10**12)
        st, _, b = h.http("PUT", f"{cls.inv}/api/inventory/{cls.pid}", {"available": 1000})
        assert st == 200, (st, b)

    @classmethod
    def tearDownClass(cls):
        try:
            p.stop_all(cls.all)
        finally:
            h.redis_cli("DEL", cls.stream)

    def orders(self, count):
        """`count` orders on each orchestrator; returns the answers."""
        body = {"customerId": 1, "productId": self.pid, "quantity": 1, "amount": 1000,
                "paymentMethod": "CARD"}
        answers = []
        for orch, path in ((self.pure, "/api/pure/orders"), (self.temporal, "/api/temporal/orders")):
            for _ in range(count):
                st, _, r = h.http("POST", orch.url + path, body,
                                  headers={"Idempotency-Key": h.uid("replicas-")}, timeout=120)
                self.assertEqual(st, 200, r)
                self.assertTrue(r["success"], r)
                answers.append(r)
        return answers

    def assert_confirmed(self, answers):
        order, pay = (self.replicas["service-order"][0].url, self.replicas["service-payment"][0].url)
        for r in answers:
            st, _, o = h.http("GET", f"{order}/api/orders/{r['orderId']}")
            self.assertEqual((st, o["status"]), (200, "CONFIRMED"), o)
            st, _, p = h.http("GET", f"{pay}/api/payments/{r['paymentId']}")
            self.assertEqual((st, p["status"]), (200, "CONFIRMED"), p)

    def assert_no_step_retried(self, answers):
        """Failover happens inside one call: no saga step needed a second attempt."""
        for r in answers:
            if "sagaId" in r:
                retries = h.sql_value("orchestrator_db", "SELECT COUNT(*) FROM saga_step_log "
                                      f"WHERE saga_id='{r['sagaId']}' AND event='RETRY'")
                self.assertEqual(retries, "0", r)
            else:
                cp = h.temporal_cli("workflow", "show", "-w", r["workflowId"], "-o", "json")
                self.assertEqual(cp.returncode, 0, cp.stderr)
                attempts = [e["activityTaskStartedEventAttributes"].get("attempt", 1)
                            for e in json.loads(cp.stdout)["events"]
                            if "activityTaskStartedEventAttributes" in e]
                self.assertTrue(attempts, r)
                self.assertEqual(set(attempts), {1}, r)

    def stock(self):
        st, _, b = h.http("GET", f"{self.inv}/api/inventory/{self.pid}")
        self.assertEqual(st, 200, b)
        return b["available"], b["reserved"]

    def test_1_calls_are_spread_over_both_replicas(self):
        before = {n: [post_requests(d.url) for d in pair] for n, pair in self.replicas.items()}
        answers = self.orders(6)
        self.assert_confirmed(answers)
        self.assert_no_step_retried(answers)
        for name, pair in self.replicas.items():
            for r, d in enumerate(pair):
                self.assertGreater(post_requests(d.url), before[name][r],
                                   f"{name} replica {r} got no POST")

    def test_2_a_killed_replica_of_every_service_loses_no_order(self):
        available, reserved = self.stock()
        for pair in self.replicas.values():
            pair[1].kill()  # SIGKILL, not restarted
        answers = self.orders(5)
        self.assert_confirmed(answers)
        self.assert_no_step_retried(answers)
        self.assertEqual(self.stock(), (available - len(answers), reserved))

    def test_3_malformed_url_list_is_refused_at_start(self):
        for name, var in (("orchestrator-pure", "ORDER_SERVICE_URL"),
                          ("orchestrator-temporal", "PAYMENT_SERVICE_URL")):
            env = h.base_env(PORT=28090, **{var: "http://127.0.0.1:28082,htp://x:1"})
            cp = subprocess.run([h.binary(name)], env=env, capture_output=True, text=True,
                                timeout=60, stdin=subprocess.DEVNULL)
            self.assertNotEqual(cp.returncode, 0, f"{name} started with a malformed list")
            self.assertIn("entry 2 'htp://x:1': not an http:// or https:// URL",
                          cp.stdout + cp.stderr)
            self.assertFalse(h.port_open(28090))


if __name__ == "__main__":
    unittest.main()

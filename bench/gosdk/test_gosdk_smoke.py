"""Smoke test of the Go SDK peer (bench/gosdk), so it cannot silently rot: builds it offline
from the module cache, and runs orders end to end against the real services and dev server:

- through orchestrator-temporal's REST API (TEMPORAL_WORKER=off) on the Go worker: a success
  (order, reservation and payment confirmed) and an out-of-stock failure (compensated, stock
  unchanged), and GET of the finished run (getState answered by the Go worker);
- the Go SDK client on our C worker's queue: its result decodes in the Go SDK;
- one order on a Go worker in local-activity mode.
Ports 27210-27214. Figures are not checked here: bench/compare/workers.py measures.
"""
import json
import os
import random
import sys
import unittest

import harness as h

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gosdk  # noqa: E402

ORDER, INV, PAY, FRONT, OT = 27210, 27211, 27212, 27213, 27214


class GoSdkPeer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        gosdk.build()
        cls.env = {"LOG_LEVEL": "warn", "ORDER_EVENTS_STREAM": h.uid("stream:gosdk-smoke-"),
                   "ORDER_SERVICE_URL": f"http://127.0.0.1:{ORDER}",
                   "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{INV}",
                   "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{PAY}",
                   "ORDER_SYNC_TIMEOUT_MS": 60000}
        cls.go_queue, cls.c_queue = h.uid("gosdk-smoke-go-"), h.uid("gosdk-smoke-c-")
        cls.local_queue = h.uid("gosdk-smoke-local-")
        cls.procs = []
        try:
            for name, port in (("service-order", ORDER), ("service-inventory", INV),
                               ("service-payment", PAY)):
                cls.procs.append(h.Daemon(name, port, cls.env, log_name="gosdk-smoke-" + name))
                cls.procs[-1].start()
            cls.procs.append(gosdk.Worker(cls.go_queue, "remote", cls.env,
                                          log_name="gosdk-smoke-worker").start())
            cls.procs.append(gosdk.Worker(cls.local_queue, "local", cls.env,
                                          log_name="gosdk-smoke-worker").start())
            cls.front = gosdk.Front(FRONT, dict(cls.env, TEMPORAL_TASK_QUEUE=cls.go_queue),
                                    log_name="gosdk-smoke-front")
            cls.procs.append(cls.front.start())
            cls.procs.append(h.Daemon("orchestrator-temporal", OT,
                                      dict(cls.env, TEMPORAL_TASK_QUEUE=cls.c_queue),
                                      log_name="gosdk-smoke-orchestrator").start())
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in reversed(cls.procs):
            p.stop(timeout=60)
        h.redis_cli("DEL", cls.env["ORDER_EVENTS_STREAM"])

    def product(self, stock):
        pid = random.randint(10**8, 10**12)
        st, _, _ = h.http("PUT", f"http://127.0.0.1:{INV}/api/inventory/{pid}",
                          {"available": stock})
        self.assertIn(st, (200, 201))
        return pid

    def stock(self, pid):
        return h.http("GET", f"http://127.0.0.1:{INV}/api/inventory/{pid}")[2]

    def test_rest_order_on_go_worker(self):
        pid = self.product(5)
        st, _, res = h.http("POST", self.front.url + "/api/temporal/orders",
                            {"customerId": 1, "productId": pid, "quantity": 2, "amount": 20000},
                            timeout=90)
        self.assertEqual(st, 200, res)
        self.assertTrue(res["success"], res)
        self.assertEqual(sorted(res), ["orderId", "paymentId", "success", "workflowId"])
        order = h.http("GET", f"http://127.0.0.1:{ORDER}/api/orders/{res['orderId']}")[2]
        payment = h.http("GET", f"http://127.0.0.1:{PAY}/api/payments/{res['paymentId']}")[2]
        self.assertEqual(order["status"], "CONFIRMED")
        self.assertEqual(payment["status"], "CONFIRMED")
        self.assertEqual((self.stock(pid)["available"], self.stock(pid)["reserved"]), (3, 0))
        st, _, got = h.http("GET", f"{self.front.url}/api/temporal/orders/{res['workflowId']}")
        self.assertEqual(st, 200, got)
        self.assertEqual(got["status"], "COMPLETED")
        self.assertEqual(got["result"], res)

    def test_rest_out_of_stock_on_go_worker_compensates(self):
        pid = self.product(5)
        st, _, res = h.http("POST", self.front.url + "/api/temporal/orders",
                            {"customerId": 1, "productId": pid, "quantity": 9, "amount": 900},
                            timeout=90)
        self.assertEqual(st, 200, res)
        self.assertFalse(res["success"], res)
        self.assertTrue(res["error"].startswith("OutOfStock: ReserveStock POST HTTP 409"), res)
        self.assertEqual((self.stock(pid)["available"], self.stock(pid)["reserved"]), (5, 0))

    def test_go_client_on_c_worker(self):
        pid = self.product(5)
        res = json.loads(gosdk.run_order(self.c_queue, json.dumps(
            {"customerId": 1, "productId": pid, "quantity": 1, "amount": 100})))
        self.assertTrue(res["success"], res)
        self.assertGreater(res["orderId"], 0)
        self.assertEqual(self.stock(pid)["available"], 4)

    def test_local_mode(self):
        pid = self.product(5)
        res = json.loads(gosdk.run_order(self.local_queue, json.dumps(
            {"customerId": 1, "productId": pid, "quantity": 1, "amount": 100})))
        self.assertTrue(res["success"], res)
        self.assertEqual(self.stock(pid)["available"], 4)


if __name__ == "__main__":
    unittest.main()

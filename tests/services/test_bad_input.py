"""Bad input for each service: malformed JSON, missing or wrongly typed fields, zero or
negative quantities and amounts, ids that are not numbers, a 10 MB body, unknown routes and
wrong methods are answered 4xx application/problem+json, and the database is unchanged."""
import json
import random
import socket
import subprocess
import unittest

import harness
from svc_util import PORTS, Service, ServiceCase, raw_request

JSON = {"Content-Type": "application/json"}
TEN_MB = b"{\"pad\":\"" + b"x" * (10 * 1024 * 1024) + b"\"}"


def js(value):
    return json.dumps(value).encode()


class BadInputCase(ServiceCase):
    """Subclasses set NAME, PORT_KEY and CASES: (label, method, path, body bytes, headers,
    status, code)."""
    NAME = None

    @classmethod
    def setUpClass(cls):
        cls.svc = Service(cls.NAME, PORTS[cls.PORT_KEY]).start()

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def run_table(self, cases):
        for label, method, path, body, headers, status, code in cases:
            with self.subTest(label):
                resp = raw_request(self.svc.port, method, path, body, headers)
                problem = self.assertProblem(resp, status, code)
                self.assertTrue(problem["detail"], problem)
                if status == 405:
                    self.assertTrue(resp[1].get("allow"), resp[1])
        self.assertEqual(harness.http("GET", self.svc.url + "/health")[0], 200)


def order_body(saga, **over):
    body = {"customerId": 1, "productId": 2, "quantity": 3, "amount": 4000, "sagaId": saga}
    body.update(over)
    for k, v in list(body.items()):
        if v is None:
            del body[k]
    return js(body)


class OrderBadInputTest(BadInputCase):
    NAME, PORT_KEY = "service-order", "order-bad"

    def test_bad_requests_are_refused_and_nothing_is_written(self):
        saga = harness.uid("bad-saga-")
        before = harness.sql_value("order_db", "SELECT COUNT(*) FROM orders WHERE saga_id "
                                               f"LIKE '{saga}%'")
        V = (400, "ValidationFailed")
        cases = [
            ("malformed JSON", b"{\"customerId\":", JSON, *V),
            ("not an object", b"[1,2,3]", JSON, *V),
            ("empty body", b"", {}, *V),
            ("trailing garbage", order_body(saga) + b"x", JSON, *V),
            ("duplicate key", b"{\"quantity\":1,\"quantity\":2}", JSON, *V),
            ("missing customerId", order_body(saga, customerId=None), JSON, *V),
            ("missing sagaId", order_body(saga, sagaId=None), JSON, *V),
            ("customerId string", order_body(saga, customerId="1"), JSON, *V),
            ("productId real", order_body(saga, productId=2.5), JSON, *V),
            ("amount bool", order_body(saga, amount=True), JSON, *V),
            ("sagaId number", order_body(saga, sagaId=5), JSON, *V),
            ("quantity zero", order_body(saga, quantity=0), JSON, *V),
            ("quantity negative", order_body(saga, quantity=-2), JSON, *V),
            ("amount zero", order_body(saga, amount=0), JSON, *V),
            ("amount negative", order_body(saga, amount=-1), JSON, *V),
            ("sagaId empty", order_body(saga, sagaId=""), JSON, *V),
            ("sagaId with space", order_body(saga, sagaId=saga + " x"), JSON, *V),
            ("sagaId too long", order_body(saga, sagaId=saga + "x" * 200), JSON, *V),
            ("not JSON", order_body(saga), {"Content-Type": "text/plain"}, 415,
             "UnsupportedMediaType"),
            ("10 MB body", TEN_MB, JSON, 413, "PayloadTooLarge"),
        ]
        table = [(label, "POST", "/api/orders", body, hdrs, st, code)
                 for label, body, hdrs, st, code in cases]
        for bad_id in ("abc", "0", "-1", "1.5", "99999999999999999999", "1e3"):
            table += [(f"GET id {bad_id}", "GET", f"/api/orders/{bad_id}", b"", {}, *V),
                      (f"confirm id {bad_id}", "PATCH", f"/api/orders/{bad_id}/confirm", b"",
                       {}, *V),
                      (f"cancel id {bad_id}", "PATCH", f"/api/orders/{bad_id}/cancel", b"", {},
                       *V)]
        table += [
            ("unknown route", "GET", "/api/nope", b"", {}, 404, "NotFound"),
            ("unknown sub-route", "PATCH", "/api/orders/1/ship", b"", {}, 404, "NotFound"),
            ("DELETE order", "DELETE", "/api/orders/1", b"", {}, 405, "MethodNotAllowed"),
            ("GET collection", "GET", "/api/orders", b"", {}, 405, "MethodNotAllowed"),
            ("POST confirm", "POST", "/api/orders/1/confirm", b"", {}, 405,
             "MethodNotAllowed"),
        ]
        self.run_table(table)
        self.assertEqual(harness.sql_value("order_db", "SELECT COUNT(*) FROM orders WHERE "
                                                       f"saga_id LIKE '{saga}%'"), before)
        self.assertEqual(before, "0")


class InventoryBadInputTest(BadInputCase):
    NAME, PORT_KEY = "service-inventory", "inventory-bad"

    def test_bad_requests_are_refused_and_nothing_is_written(self):
        pid = random.randint(1_000_000, 900_000_000)
        self.assertOk(harness.http("PUT", f"{self.svc.url}/api/inventory/{pid}",
                                   {"available": 5}))
        saga = harness.uid("bad-saga-")
        V = (400, "ValidationFailed")
        put = f"/api/inventory/{pid}"
        table = [
            ("PUT malformed", "PUT", put, b"{\"available\":", JSON, *V),
            ("PUT empty", "PUT", put, b"", {}, *V),
            ("PUT missing", "PUT", put, js({"stock": 3}), JSON, *V),
            ("PUT negative", "PUT", put, js({"available": -1}), JSON, *V),
            ("PUT string", "PUT", put, js({"available": "5"}), JSON, *V),
            ("PUT real", "PUT", put, js({"available": 1.5}), JSON, *V),
            ("PUT null", "PUT", put, js({"available": None}), JSON, *V),
            ("PUT not JSON", "PUT", put, b"available=3", {"Content-Type":
                                                          "application/x-www-form-urlencoded"},
             415, "UnsupportedMediaType"),
            ("PUT 10 MB", "PUT", put, TEN_MB, JSON, 413, "PayloadTooLarge"),
            ("PUT bad id", "PUT", "/api/inventory/abc", js({"available": 1}), JSON, *V),
        ]
        for action in ("reserve", "confirm", "cancel"):
            base = f"/api/inventory/{pid}/{action}"
            for label, query in (("qty zero", f"qty=0&sagaId={saga}"),
                                 ("qty negative", f"qty=-1&sagaId={saga}"),
                                 ("qty text", f"qty=abc&sagaId={saga}"),
                                 ("qty real", f"qty=1.5&sagaId={saga}"),
                                 ("qty huge", f"qty=99999999999&sagaId={saga}"),
                                 ("qty missing", f"sagaId={saga}"),
                                 ("sagaId missing", "qty=1"),
                                 ("sagaId empty", "qty=1&sagaId="),
                                 ("sagaId with space", f"qty=1&sagaId={saga}%20x")):
                table.append((f"{action} {label}", "POST", f"{base}?{query}", b"", {}, *V))
            table.append((f"{action} bad product", "POST",
                          f"/api/inventory/x1/{action}?qty=1&sagaId={saga}", b"", {}, *V))
            table.append((f"{action} 10 MB", "POST", f"{base}?qty=1&sagaId={saga}", TEN_MB,
                          JSON, 413, "PayloadTooLarge"))
            table.append((f"{action} GET", "GET", f"{base}?qty=1&sagaId={saga}", b"", {}, 405,
                          "MethodNotAllowed"))
        table += [
            ("GET bad id", "GET", "/api/inventory/-4", b"", {}, *V),
            ("GET zero id", "GET", "/api/inventory/0", b"", {}, *V),
            ("unknown route", "GET", "/api/inventory", b"", {}, 404, "NotFound"),
            ("unknown action", "POST", f"/api/inventory/{pid}/steal?qty=1&sagaId={saga}", b"",
             {}, 404, "NotFound"),
            ("DELETE product", "DELETE", put, b"", {}, 405, "MethodNotAllowed"),
        ]
        self.run_table(table)
        s = self.assertOk(harness.http("GET", f"{self.svc.url}/api/inventory/{pid}"))
        self.assertEqual((s["available"], s["reserved"], s["confirmed"], s["version"]),
                         (5, 0, 0, 0))
        self.assertEqual(harness.sql_value("inventory_db", "SELECT COUNT(*) FROM "
                                           f"inventory_reservations WHERE product_id = {pid}"),
                         "0")
        self.assertEqual(harness.sql_value("inventory_db", "SELECT COUNT(*) FROM outbox_events "
                                           f"WHERE aggregate_id = '{pid}'"), "1")


class PaymentBadInputTest(BadInputCase):
    NAME, PORT_KEY = "service-payment", "payment-bad"

    def test_bad_requests_are_refused_and_nothing_is_written(self):
        saga = harness.uid("bad-saga-")
        good = self.assertOk(harness.http("POST", f"{self.svc.url}/api/payments",
                                          {"orderId": 1, "amount": 10, "sagaId": saga}), 201)
        pid = good["paymentId"]

        def body(**over):
            b = {"orderId": 1, "amount": 10, "method": "CARD", "sagaId": saga + "-2"}
            b.update(over)
            return js({k: v for k, v in b.items() if v is not None})

        V = (400, "ValidationFailed")
        cases = [
            ("malformed JSON", b"{\"orderId\":1,", JSON, *V),
            ("empty body", b"", {}, *V),
            ("array", b"[]", JSON, *V),
            ("missing orderId", body(orderId=None), JSON, *V),
            ("missing amount", body(amount=None), JSON, *V),
            ("missing sagaId", body(sagaId=None), JSON, *V),
            ("orderId string", body(orderId="1"), JSON, *V),
            ("orderId real", body(orderId=1.5), JSON, *V),
            ("amount zero", body(amount=0), JSON, *V),
            ("amount negative", body(amount=-100), JSON, *V),
            ("amount string", body(amount="10"), JSON, *V),
            ("method number", body(method=7), JSON, *V),
            ("method empty", body(method=""), JSON, *V),
            ("method too long", body(method="X" * 40), JSON, *V),
            ("sagaId space", body(sagaId="a b"), JSON, *V),
            ("not JSON", body(), {"Content-Type": "text/plain"}, 415, "UnsupportedMediaType"),
            ("10 MB body", TEN_MB, JSON, 413, "PayloadTooLarge"),
        ]
        table = [(label, "POST", "/api/payments", b, h, st, code)
                 for label, b, h, st, code in cases]
        for bad_id in ("abc", "0", "-3", "2.0", "123456789012345678901"):
            table.append((f"GET {bad_id}", "GET", f"/api/payments/{bad_id}", b"", {}, *V))
            for action in ("approve", "confirm", "refund"):
                table.append((f"{action} {bad_id}", "POST", f"/api/payments/{bad_id}/{action}",
                              b"", {}, *V))
        table += [
            ("unknown route", "GET", "/api/pay", b"", {}, 404, "NotFound"),
            ("unknown action", "POST", f"/api/payments/{pid}/capture", b"", {}, 404,
             "NotFound"),
            ("GET approve", "GET", f"/api/payments/{pid}/approve", b"", {}, 405,
             "MethodNotAllowed"),
            ("DELETE payment", "DELETE", f"/api/payments/{pid}", b"", {}, 405,
             "MethodNotAllowed"),
            ("approve 10 MB", "POST", f"/api/payments/{pid}/approve", TEN_MB, JSON, 413,
             "PayloadTooLarge"),
        ]
        self.run_table(table)
        self.assertEqual(harness.sql_value("payment_db", "SELECT COUNT(*) FROM payments WHERE "
                                                         f"saga_id LIKE '{saga}%'"), "1")
        self.assertEqual(harness.sql("payment_db", "SELECT status, version FROM payments "
                                                   f"WHERE id = {pid}"), [["CREATED", "0"]])
        self.assertEqual(harness.sql_value("payment_db", "SELECT COUNT(*) FROM outbox_events "
                                           f"WHERE aggregate_id = '{pid}'"), "1")


class StartupFailureTest(unittest.TestCase):
    """A daemon whose port is taken exits 1 at once, cleanly: common's app_run stops the
    relay thread (started before the server) exactly once, before the pools are freed; a
    second stop in the daemon would be a use-after-free that ASan reports."""

    def test_port_in_use_exits_nonzero_cleanly(self):
        port = PORTS["busy-port"]
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen()
            for name in ("service-order", "service-inventory", "service-payment"):
                with self.subTest(name):
                    run = subprocess.run([harness.binary(name)],
                                         env=harness.base_env(PORT=port),
                                         capture_output=True, text=True, timeout=60)
                    for mark in harness.SANITIZER_MARKS:
                        self.assertNotIn(mark, run.stderr)
                    self.assertEqual(run.returncode, 1, run.stderr)
                    self.assertIn(f"cannot listen on 127.0.0.1:{port}", run.stderr)
                    # The server binds its own socket: the reason is in the JSON log line, and
                    # nothing (libmicrohttpd's messages included) is printed outside it.
                    self.assertIn("Address already in use", run.stderr)
                    for line in run.stderr.splitlines():
                        self.assertTrue(line.startswith('{"ts":'), line)
                    self.assertNotIn("not the first option", run.stderr)


if __name__ == "__main__":
    unittest.main()

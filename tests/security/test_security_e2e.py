"""The six daemons on the security test ports (27090-27095) with databases, a stream and a task
queue of their own: every protected route without a token, with a wrong one, with the token
it does not take and with the right one; the public order API without any token (so the
orchestrators sign their service calls); bad Authorization headers; an orchestrator whose token
the services refuse retries until the tokens agree; and problem details that name no address or
library error but carry the request id of the log lines that do."""
import json
import re
import time
import unittest

import harness as h
import sec_util as U

ORDER_BODY = {"customerId": 1, "quantity": 1, "amount": 1000, "paymentMethod": "CARD"}
INTERNALS = re.compile(r"127\.0\.0\.1|ipv4|:\d{4,5}\b|Failed to connect|Can't connect|"
                       r"Connection refused|errno|MariaDB|MySQL server|grpc|GRPC|CM_ERR|"
                       r"SELECT|INSERT|UPDATE ", re.I)


class SecuredSuite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dbs = U.fresh_databases("sec_e2e_")
        cls.stream = h.uid("test:sec-events:")
        cls.queue = h.uid("sec-queue-")
        urls = {"ORDER_SERVICE_URL": f"http://127.0.0.1:{U.ORDER}",
                "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{U.INV}",
                "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{U.PAY}"}
        common = {"ORDER_EVENTS_STREAM": cls.stream, "HTTP_THREADS": 4, "MYSQL_POOL_SIZE": 4,
                  "TEMPORAL_TASK_QUEUE": cls.queue, **urls}

        def daemon(name, port, db=None, **extra):
            env = dict(common, **extra)
            if db:
                env["MYSQL_DATABASE"] = cls.dbs[db]
            return h.Daemon(name, port, env=env, log_name=f"sec-{name}")

        cls.order = daemon("service-order", U.ORDER, "order_db")
        cls.inv = daemon("service-inventory", U.INV, "inventory_db")
        cls.pay = daemon("service-payment", U.PAY, "payment_db", FAKE_PG_LIMIT=1000000)
        cls.notif = daemon("service-notification", U.NOTIF, "notification_db")
        cls.pure = daemon("orchestrator-pure", U.PURE, "orchestrator_db",
                          SAGA_RETRY_INITIAL_MS=100, SAGA_RETRY_MAX_MS=500)
        cls.temporal = daemon("orchestrator-temporal", U.TEMPORAL)
        cls.daemons = [cls.order, cls.inv, cls.pay, cls.notif, cls.pure, cls.temporal]
        started = []
        try:
            for d in cls.daemons:
                d.start(timeout=60)
                started.append(d)
        except BaseException:
            for d in reversed(started):
                d.kill()
            U.drop_databases(cls.dbs)
            raise
        cls.pid = int(time.time() * 1000) % 10**9 + 10**9
        st, _, body = h.http("PUT", f"{cls.inv.url}/api/inventory/{cls.pid}", {"available": 1000},
                             headers=h.bearer(h.ADMIN_TOKEN))
        assert st == 200, body

    @classmethod
    def tearDownClass(cls):
        errors = h.stop_all(cls.daemons)
        h.redis_cli("DEL", cls.stream)
        U.drop_databases(cls.dbs)
        if errors:
            raise errors[0]

    # ---- helpers ----

    def assertRefused(self, resp, status, code, challenge):
        st, hdrs, body = resp
        self.assertEqual(st, status, body)
        self.assertIn("application/problem+json", hdrs.get("content-type", ""))
        self.assertEqual(body["code"], code, body)
        self.assertEqual(body["status"], status)
        self.assertTrue(hdrs.get("www-authenticate", "").startswith("Bearer"), hdrs)
        if challenge:
            self.assertIn(challenge, hdrs["www-authenticate"])
        self.assertEqual(body["requestId"], hdrs.get("x-request-id"), body)
        self.assertIn("token", body["detail"])  # says which token to send
        for token in (h.SERVICE_TOKEN, h.ADMIN_TOKEN):
            self.assertFalse(token in json.dumps(body), "the answer echoes a token")

    def stock(self):
        st, _, body = h.http("GET", f"{self.inv.url}/api/inventory/{self.pid}")
        self.assertEqual(st, 200, body)
        return body

    def make_order(self, saga):
        body = dict(ORDER_BODY, productId=self.pid, sagaId=saga)
        st, _, o = h.http("POST", f"{self.order.url}/api/orders", body)
        self.assertEqual(st, 201, o)
        return o["orderId"]

    def make_payment(self, saga, order_id):
        st, _, p = h.http("POST", f"{self.pay.url}/api/payments",
                          {"orderId": order_id, "amount": 1000, "sagaId": saga})
        self.assertEqual(st, 201, p)
        return p["paymentId"]

    # ---- every protected route ----

    def routes(self):
        """(label, url, method, body, accepted tokens) for every route of the four services."""
        s1, s2, s3 = h.uid("sec-a-"), h.uid("sec-b-"), h.uid("sec-c-")
        o1, o2 = self.make_order(s1), self.make_order(s2)
        p1 = self.make_payment(s1, o1)
        p2 = self.make_payment(s2, o2)
        inv = f"{self.inv.url}/api/inventory/{self.pid}"
        S, A, R = {"service"}, {"admin"}, {"service", "admin"}
        return [
            ("create order", f"{self.order.url}/api/orders", "POST",
             dict(ORDER_BODY, productId=self.pid, sagaId=s3), S),
            ("read order", f"{self.order.url}/api/orders/{o1}", "GET", None, R),
            ("confirm order", f"{self.order.url}/api/orders/{o1}/confirm", "PATCH", None, S),
            ("cancel order", f"{self.order.url}/api/orders/{o2}/cancel", "PATCH", None, S),
            ("read stock", inv, "GET", None, R),
            ("set stock", inv, "PUT", {"available": 1000}, A),
            ("reserve", f"{inv}/reserve?qty=1&sagaId={s1}", "POST", None, S),
            ("confirm reservation", f"{inv}/confirm?qty=1&sagaId={s1}", "POST", None, S),
            ("cancel reservation", f"{inv}/cancel?qty=1&sagaId={s2}", "POST", None, S),
            ("create payment", f"{self.pay.url}/api/payments", "POST",
             {"orderId": o1, "amount": 1000, "sagaId": s3}, S),
            ("read payment", f"{self.pay.url}/api/payments/{p1}", "GET", None, R),
            ("approve payment", f"{self.pay.url}/api/payments/{p1}/approve", "POST", None, S),
            ("confirm payment", f"{self.pay.url}/api/payments/{p1}/confirm", "POST", None, S),
            ("refund payment", f"{self.pay.url}/api/payments/{p2}/refund", "POST", None, S),
            ("read notifications", f"{self.notif.url}/api/notifications?orderId={o1}", "GET",
             None, R),
        ]

    def test_each_protected_route_without_a_wrong_and_the_right_token(self):
        tokens = {"service": h.SERVICE_TOKEN, "admin": h.ADMIN_TOKEN}
        for label, url, method, body, accepted in self.routes():
            with self.subTest(route=label):
                self.assertRefused(h.http(method, url, body, auth=False),
                                   401, "Unauthorized", None)
                self.assertEqual(h.http(method, url, body, auth=False)[1]["www-authenticate"],
                                 "Bearer")
                self.assertRefused(h.http(method, url, body, headers=h.bearer(U.WRONG_TOKEN)),
                                   401, "Unauthorized", 'error="invalid_token"')
                for who in {"service", "admin"} - accepted:
                    self.assertRefused(h.http(method, url, body, headers=h.bearer(tokens[who])),
                                       403, "Forbidden", 'error="insufficient_scope"')
                for who in accepted:
                    st, _, answer = h.http(method, url, body, headers=h.bearer(tokens[who]))
                    self.assertIn(st, (200, 201), f"{who} token: {answer}")

    def test_a_refused_write_changes_nothing_and_claims_no_idempotency_key(self):
        before = self.stock()
        url = f"{self.inv.url}/api/inventory/{self.pid}"
        for hdrs in ({}, h.bearer(U.WRONG_TOKEN), h.bearer(h.SERVICE_TOKEN)):
            st, _, _ = h.http("PUT", url, {"available": 7}, headers=hdrs, auth=bool(hdrs))
            self.assertIn(st, (401, 403))
        self.assertEqual(self.stock(), before)
        saga, key = h.uid("sec-idem-"), h.uid("sec-key-")
        body = dict(ORDER_BODY, productId=self.pid, sagaId=saga)
        st, _, _ = h.http("POST", f"{self.order.url}/api/orders", body,
                          headers={"Idempotency-Key": key}, auth=False)
        self.assertEqual(st, 401)
        self.assertEqual(h.sql_value(self.dbs["order_db"],
                                     f"SELECT COUNT(*) FROM orders WHERE saga_id='{saga}'"), "0")
        # Had the refused call recorded the key, another body under it would be 422.
        other = dict(body, amount=2000)
        st, _, o = h.http("POST", f"{self.order.url}/api/orders", other,
                          headers={"Idempotency-Key": key})
        self.assertEqual(st, 201, o)
        self.assertEqual(o["amount"], 2000)

    def test_refusals_are_counted_in_metrics(self):
        h.http("GET", f"{self.order.url}/api/orders/1", auth=False)
        h.http("GET", f"{self.order.url}/api/orders/1", headers=h.bearer(U.WRONG_TOKEN))
        _, _, text = h.http("GET", f"{self.order.url}/metrics", auth=False)
        self.assertRegex(text, r'auth_refused_total\{reason="missing"\} [1-9]')
        self.assertRegex(text, r'auth_refused_total\{reason="wrong"\} [1-9]')

    # ---- the public API ----

    def test_the_public_order_api_needs_no_token(self):
        for d in self.daemons:
            for path in ("/health", "/ready", "/metrics"):
                with self.subTest(daemon=d.name, path=path):
                    self.assertEqual(h.http("GET", d.url + path, auth=False)[0], 200)
        order = dict(ORDER_BODY, productId=self.pid)
        # The orchestrators sign every service call themselves: the sagas succeed.
        for url in (f"{self.pure.url}/api/pure/orders", f"{self.pure.url}/api/saga/order"):
            with self.subTest(url=url):
                st, _, r = h.http("POST", url, order, auth=False, timeout=60)
                self.assertEqual(st, 200, r)
                self.assertTrue(r["success"], r)
                st, _, s = h.http("GET", f"{self.pure.url}/api/pure/orders/{r['sagaId']}",
                                  auth=False)
                self.assertEqual((st, s["status"]), (200, "COMPLETED"), s)
        st, _, r = h.http("POST", f"{self.temporal.url}/api/temporal/orders", order, auth=False,
                          timeout=60)
        self.assertEqual(st, 200, r)
        self.assertTrue(r["success"], r)
        st, _, a = h.http("POST", f"{self.temporal.url}/api/temporal/orders/async", order,
                          auth=False)
        self.assertEqual(st, 202, a)
        st, _, g = h.http("GET", f"{self.temporal.url}/api/temporal/orders/{r['workflowId']}",
                          auth=False)
        self.assertEqual((st, g["status"]), (200, "COMPLETED"), g)
        # A failed saga compensates through the same signed calls.
        st, _, r = h.http("POST", f"{self.pure.url}/api/pure/orders",
                          dict(order, amount=2000000), auth=False, timeout=60)
        self.assertEqual((st, r["success"], r.get("errorType")),
                         (200, False, "InsufficientBalance"), r)
        st, _, p = h.http("GET", f"{self.pay.url}/api/payments/{r['paymentId']}")
        self.assertEqual(p["status"], "REFUNDED", p)

    # ---- bad Authorization headers ----

    def test_bad_authorization_headers_are_refused_fast(self):
        before = self.stock()
        path = f"/api/inventory/{self.pid}"
        body = b'{"available":3}'
        adm = h.ADMIN_TOKEN.encode()
        cases = [
            # libmicrohttpd ends a header value at a NUL: what follows is never compared.
            ("NUL inside the token", [b"Authorization: Bearer " + adm[:20] + b"\x00" + adm[20:]]),
            ("the token after a NUL", [b"Authorization: Bearer " + U.WRONG_TOKEN.encode() + b"\x00"
                                       + adm]),
            ("NUL before the token", [b"Authorization: Bearer \x00" + adm]),
            ("non-ASCII bytes", [b"Authorization: Bearer \xff\xfe" + adm]),
            ("UTF-8 after the token", [b"Authorization: Bearer " + adm + "é".encode()]),
            ("Basic scheme", [b"Authorization: Basic " + adm]),
            ("no scheme", [b"Authorization: " + adm]),
            ("scheme only", [b"Authorization: Bearer"]),
            ("two tokens", [b"Authorization: Bearer " + adm + b" " + adm]),
            ("two headers", [b"Authorization: Bearer " + adm,
                             b"Authorization: Bearer " + U.WRONG_TOKEN.encode()]),
            ("token as a prefix", [b"Authorization: Bearer " + adm + b"0"]),
            ("10 kB header", [b"Authorization: Bearer " + adm + b"A" * 10000]),
        ]
        for label, lines in cases:
            with self.subTest(case=label):
                st, hdrs, raw, took = U.raw_request(U.INV, "PUT", path, lines, body)
                self.assertEqual(st, 401, raw[:300])
                self.assertIn("application/problem+json", hdrs.get("content-type", ""))
                self.assertTrue(hdrs.get("www-authenticate", "").startswith("Bearer"))
                self.assertEqual(json.loads(raw)["code"], "Unauthorized")
                self.assertFalse(adm in raw, "the answer echoes the token")
                self.assertLess(took, 2.0)
        # 100 kB: beyond what libmicrohttpd buffers for a request's headers. It refuses it
        # itself (431, its own HTML body) before any handler runs.
        st, hdrs, raw, took = U.raw_request(
            U.INV, "PUT", path, [b"Authorization: Bearer " + adm + b"A" * 100000], body)
        self.assertIn(st, (400, 401, 431), raw[:300])
        self.assertFalse(adm in raw, "the answer echoes the token")
        self.assertLess(took, 2.0)
        self.assertEqual(self.stock(), before, "a refused PUT changed the stock")
        # The scheme is case-insensitive (RFC 9110 11.1), and spaces around the token are fine.
        st, _, raw, _ = U.raw_request(U.INV, "PUT", path,
                                      [b"Authorization: bEaReR   " + adm + b"  "], body)
        self.assertEqual(st, 200, raw[:300])
        self.assertEqual(self.stock()["available"], 3)
        h.http("PUT", f"{self.inv.url}{path}", {"available": 1000})
        self.assertEqual(h.http("GET", self.inv.url + "/health")[0], 200)
        self.assertEqual(U.log_lines_with([self.inv.log_path], h.secret_values()), [],
                         "a token reached the log")

    # ---- tokens that disagree ----

    def test_an_orchestrator_with_a_wrong_token_retries_until_the_tokens_agree(self):
        dbs = U.fresh_databases("sec_retry_")
        env = {"MYSQL_DATABASE": dbs["orchestrator_db"], "ORDER_SYNC_TIMEOUT_MS": 1500,
               "SAGA_FORWARD_ATTEMPTS": 1000, "SAGA_RETRY_INITIAL_MS": 100,
               "SAGA_RETRY_MAX_MS": 300,
               "ORDER_SERVICE_URL": self.order.url, "INVENTORY_SERVICE_URL": self.inv.url,
               "PAYMENT_SERVICE_URL": self.pay.url}
        try:
            wrong = h.Daemon("orchestrator-pure", U.SCRATCH, dict(env, SERVICE_TOKEN=U.WRONG_TOKEN),
                             log_name="sec-wrong-token")
            with wrong:
                st, _, r = h.http("POST", f"{wrong.url}/api/pure/orders",
                                  dict(ORDER_BODY, productId=self.pid), auth=False)
                self.assertEqual(st, 202, r)  # still retrying the first step
                saga = r["sagaId"]
                time.sleep(1)
                _, _, s = h.http("GET", f"{wrong.url}/api/pure/orders/{saga}", auth=False)
                self.assertEqual(s["status"], "RUNNING", s)
                self.assertIsNone(s.get("orderId"), s)
            right = h.Daemon("orchestrator-pure", U.SCRATCH, env, log_name="sec-right-token")
            with right:
                def finished():
                    _, _, s = h.http("GET", f"{right.url}/api/pure/orders/{saga}", auth=False)
                    return s if s["status"] == "COMPLETED" else None

                s = h.wait_until(finished, timeout=30,
                                 what="the saga to finish once the tokens agree")
                self.assertTrue(s["result"]["success"], s)
        finally:
            U.drop_databases(dbs)

    # ---- problem details ----

    def assertNoInternals(self, resp, log_path):
        st, hdrs, body = resp
        self.assertGreaterEqual(st, 500, body)
        self.assertIn("application/problem+json", hdrs.get("content-type", ""))
        self.assertIsNone(INTERNALS.search(body["detail"]), body["detail"])
        rid = body["requestId"]
        self.assertEqual(rid, hdrs["x-request-id"])
        with open(log_path, errors="replace") as f:
            lines = [json.loads(line) for line in f if f'"request_id":"{rid}"' in line]
        self.assertTrue(any(line["level"] in ("warn", "error") and INTERNALS.search(line["msg"])
                            for line in lines),
                        f"the cause is not logged under request id {rid}: {lines}")
        return body

    def test_problem_details_name_no_address_but_carry_the_request_id(self):
        dead = f"127.0.0.1:{U.DEAD}"
        t = h.Daemon("orchestrator-temporal", U.SCRATCH2,
                     {"TEMPORAL_ADDRESS": dead, "TEMPORAL_TASK_QUEUE": self.queue},
                     log_name="sec-dead-temporal")
        with t:
            self.assertNoInternals(h.http("POST", f"{t.url}/api/temporal/orders",
                                          dict(ORDER_BODY, productId=self.pid), auth=False),
                                   t.log_path)
            self.assertNoInternals(h.http("GET", f"{t.url}/api/temporal/orders/order-x",
                                          auth=False), t.log_path)
            st, _, body = h.http("GET", f"{t.url}/ready", auth=False)
            self.assertEqual((st, body["detail"]), (503, "temporal unreachable"))
        o = h.Daemon("service-order", U.SCRATCH2, {"MYSQL_PORT": U.DEAD},
                     log_name="sec-dead-mysql")
        with o:
            body = self.assertNoInternals(h.http("GET", f"{o.url}/api/orders/1"), o.log_path)
            self.assertEqual(body["status"], 503)
            st, _, body = h.http("GET", f"{o.url}/ready", auth=False)
            self.assertEqual((st, body["detail"]), (503, "mysql unreachable"))


if __name__ == "__main__":
    unittest.main(verbosity=2)

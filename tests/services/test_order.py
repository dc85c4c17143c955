"""service-order end to end: create, read, every legal and illegal transition, saga-id
dedup, Idempotency-Key semantics and the outbox relay, against the real MariaDB and Redis."""
import json
import unittest

import harness
from svc_util import (PORTS, Service, ServiceCase, concurrently, drop_database,
                      private_database, stream_events)

DB = "order_db"


def order_body(saga, **over):
    body = {"customerId": 7, "productId": 3, "quantity": 2, "amount": 20000, "sagaId": saga}
    body.update(over)
    return body


class OrderServiceTest(ServiceCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service("service-order", PORTS["order"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def create(self, saga=None, key=None, **over):
        saga = saga or harness.uid("saga-")
        return self.svc.call("POST", "/api/orders", order_body(saga, **over), key=key)

    def rows(self, saga):
        return harness.sql(DB, f"SELECT id, status, version FROM orders WHERE saga_id = '{saga}'")

    def events(self, order_id):
        return [r[0] for r in harness.sql(
            DB, f"SELECT event_type FROM outbox_events WHERE aggregate_type = 'Order' "
                f"AND aggregate_id = '{order_id}' ORDER BY id")]

    def test_create_returns_201_and_the_order_is_readable(self):
        saga = harness.uid("saga-")
        st, headers, body = self.create(saga)
        self.assertEqual(st, 201, body)
        self.assertEqual(body["status"], "CREATED")
        self.assertEqual(body["sagaId"], saga)
        self.assertEqual((body["customerId"], body["productId"], body["quantity"],
                          body["amount"]), (7, 3, 2, 20000))
        self.assertEqual(headers.get("location"), f"/api/orders/{body['orderId']}")
        got = self.assertOk(self.svc.get(f"/api/orders/{body['orderId']}"))
        self.assertEqual(got, body)
        self.assertEqual(self.rows(saga), [[str(body["orderId"]), "CREATED", "0"]])
        self.assertEqual(self.events(body["orderId"]), ["OrderCreated"])

    def test_second_create_for_the_same_saga_returns_the_existing_order(self):
        saga = harness.uid("saga-")
        first = self.assertOk(self.create(saga), 201)
        again = self.assertOk(self.create(saga, amount=99), 200)
        self.assertEqual(again["orderId"], first["orderId"])
        self.assertEqual(again["amount"], 20000)
        self.assertEqual(len(self.rows(saga)), 1)
        self.assertEqual(self.events(first["orderId"]), ["OrderCreated"])

    def test_concurrent_creates_for_one_saga_make_one_order(self):
        saga = harness.uid("saga-")
        results = concurrently(12, lambda i: self.create(saga))
        statuses = sorted(r[0] for r in results)
        self.assertEqual(statuses.count(201), 1, statuses)
        self.assertEqual(set(statuses), {200, 201}, statuses)
        self.assertEqual(len({r[2]["orderId"] for r in results}), 1)
        self.assertEqual(len(self.rows(saga)), 1)

    def test_confirm_created_then_confirm_again_is_a_noop(self):
        oid = self.assertOk(self.create(), 201)["orderId"]
        body = self.assertOk(self.svc.call("PATCH", f"/api/orders/{oid}/confirm"))
        self.assertEqual((body["status"], body["version"]), ("CONFIRMED", 1))
        body = self.assertOk(self.svc.call("PATCH", f"/api/orders/{oid}/confirm"))
        self.assertEqual((body["status"], body["version"]), ("CONFIRMED", 1))
        self.assertEqual(self.events(oid), ["OrderCreated", "OrderConfirmed"])

    def test_cancel_of_a_confirmed_order_is_refused(self):
        oid = self.assertOk(self.create(), 201)["orderId"]
        self.assertOk(self.svc.call("PATCH", f"/api/orders/{oid}/confirm"))
        self.assertProblem(self.svc.call("PATCH", f"/api/orders/{oid}/cancel"), 409,
                           "IllegalTransition")
        self.assertEqual(self.assertOk(self.svc.get(f"/api/orders/{oid}"))["status"],
                         "CONFIRMED")
        self.assertEqual(self.events(oid), ["OrderCreated", "OrderConfirmed"])

    def test_cancel_created_then_cancel_again_is_a_noop(self):
        oid = self.assertOk(self.create(), 201)["orderId"]
        body = self.assertOk(self.svc.call("PATCH", f"/api/orders/{oid}/cancel"))
        self.assertEqual(body["status"], "CANCELLED")
        body = self.assertOk(self.svc.call("PATCH", f"/api/orders/{oid}/cancel"))
        self.assertEqual((body["status"], body["version"]), ("CANCELLED", 1))
        self.assertEqual(self.events(oid), ["OrderCreated", "OrderCancelled"])

    def test_confirm_of_a_cancelled_order_is_refused(self):
        oid = self.assertOk(self.create(), 201)["orderId"]
        self.assertOk(self.svc.call("PATCH", f"/api/orders/{oid}/cancel"))
        self.assertProblem(self.svc.call("PATCH", f"/api/orders/{oid}/confirm"), 409,
                           "IllegalTransition")
        self.assertEqual(self.events(oid), ["OrderCreated", "OrderCancelled"])

    def test_racing_confirm_and_cancel_leave_one_winner(self):
        oid = self.assertOk(self.create(), 201)["orderId"]
        paths = [f"/api/orders/{oid}/confirm", f"/api/orders/{oid}/cancel"] * 6
        results = concurrently(len(paths), lambda i: self.svc.call("PATCH", paths[i]))
        final = self.assertOk(self.svc.get(f"/api/orders/{oid}"))["status"]
        for path, (st, _, body) in zip(paths, results):
            wanted = "confirm" if path.endswith("confirm") else "cancel"
            if (wanted == "confirm") == (final == "CONFIRMED"):
                self.assertEqual(st, 200, body)
            else:
                self.assertEqual((st, body["code"]), (409, "IllegalTransition"), body)
        self.assertEqual(len(self.events(oid)), 2)

    def test_operations_endpoints_answer(self):
        self.assertEqual(self.svc.get("/health")[0], 200)
        self.assertEqual(self.svc.get("/ready")[0], 200)
        self.assertOk(self.create(), 201)
        st, _, text = self.svc.get("/metrics")
        self.assertEqual(st, 200)
        self.assertIn('route="/api/orders"', text)

    def test_unknown_order_is_404(self):
        for method, path in (("GET", "/api/orders/999999999"),
                             ("PATCH", "/api/orders/999999999/confirm"),
                             ("PATCH", "/api/orders/999999999/cancel")):
            self.assertProblem(self.svc.call(method, path), 404, "NotFound")

    def test_same_idempotency_key_replays_the_answer(self):
        saga, key = harness.uid("saga-"), harness.uid("key-")
        st1, _, first = self.create(saga, key=key)
        st2, headers, second = self.create(saga, key=key)
        self.assertEqual((st1, st2), (201, 201))
        self.assertEqual(first, second)
        self.assertEqual(headers.get("idempotent-replayed"), "true")
        # The replay is the whole answer: a client following Location gets there again.
        self.assertEqual(headers.get("location"), f"/api/orders/{first['orderId']}")
        self.assertEqual(len(self.rows(saga)), 1)

    def test_same_idempotency_key_with_another_body_is_422(self):
        saga, key = harness.uid("saga-"), harness.uid("key-")
        self.assertOk(self.create(saga, key=key), 201)
        self.assertProblem(self.create(saga, key=key, quantity=5), 422, "IdempotencyKeyReused")
        self.assertEqual(len(self.rows(saga)), 1)

    def test_concurrent_requests_with_one_key_have_one_winner(self):
        key = harness.uid("key-")
        sagas = [harness.uid("saga-")]
        # Same key, same body: one runs, the rest replay it or are told it is in flight.
        results = concurrently(10, lambda i: self.create(sagas[0], key=key))
        codes = [r[0] for r in results]
        self.assertIn(201, codes)
        for st, _, body in results:
            if st == 409:
                self.assertEqual(body["code"], "IdempotencyInFlight")
            else:
                self.assertEqual(st, 201, body)
        self.assertEqual(len(self.rows(sagas[0])), 1)
        # Same key, different bodies: exactly one order is created.
        key = harness.uid("key-")
        others = [harness.uid("saga-") for _ in range(10)]
        results = concurrently(10, lambda i: self.create(others[i], key=key))
        self.assertEqual(sum(1 for r in results if r[0] == 201), 1, [r[0] for r in results])
        self.assertEqual(sum(len(self.rows(s)) for s in others), 1)
        for st, _, body in results:
            if st != 201:
                self.assertIn(body["code"], ("IdempotencyInFlight", "IdempotencyKeyReused"))

    def test_transitions_honour_the_idempotency_key(self):
        oid = self.assertOk(self.create(), 201)["orderId"]
        key = harness.uid("key-")
        first = self.svc.call("PATCH", f"/api/orders/{oid}/confirm", key=key)
        again = self.svc.call("PATCH", f"/api/orders/{oid}/confirm", key=key)
        self.assertEqual(first[2], again[2])
        self.assertEqual(again[1].get("idempotent-replayed"), "true")
        self.assertProblem(self.svc.call("PATCH", f"/api/orders/{oid}/cancel", key=key), 422,
                           "IdempotencyKeyReused")


class OrderRelayTest(ServiceCase):
    """The outbox relay, on a database of the test's own: any daemon's relay publishes every
    row of its database, so on the shared order_db another suite's daemon could take ours."""

    def setUp(self):
        self.db = private_database("order_db")
        self.addCleanup(drop_database, self.db)

    def daemon(self, port_key, stream=None):
        return Service("service-order", PORTS[port_key], stream=stream,
                       env={"MYSQL_DATABASE": self.db})

    def rows(self, saga):
        return harness.sql(self.db, f"SELECT id FROM orders WHERE saga_id = '{saga}'")

    def test_relay_publishes_each_event_once_and_marks_it(self):
        saga = harness.uid("saga-")
        svc = self.daemon("order-relay-a").start()
        self.addCleanup(svc.stop)
        oid = self.assertOk(svc.call("POST", "/api/orders", order_body(saga)), 201)["orderId"]
        self.assertOk(svc.call("PATCH", f"/api/orders/{oid}/cancel"))

        def published():
            return harness.sql_value(
                self.db, "SELECT COUNT(*) FROM outbox_events WHERE aggregate_type = 'Order' "
                         f"AND aggregate_id = '{oid}' AND published_at IS NULL") == "0"

        harness.wait_until(published, 30, what="outbox rows published")
        mine = [f for _, f in stream_events(svc.stream)
                if f.get("aggregateType") == "Order" and f.get("aggregateId") == str(oid)]
        self.assertEqual([f["eventType"] for f in mine], ["OrderCreated", "OrderCancelled"])
        self.assertEqual(len({f["eventId"] for f in mine}), 2)
        for f in mine:
            self.assertTrue(f["eventId"].startswith("service-order:"), f)
            payload = json.loads(f["payload"])
            self.assertEqual(payload["sagaId"], saga)
            self.assertEqual(payload["orderId"], oid)

    def test_two_relays_publish_each_event_once(self):
        """Two replicas share the database and one stream: each row is published once."""
        stream = harness.uid("test:svc-events:")
        a = self.daemon("order-relay-a", stream).start()
        try:
            b = self.daemon("order-relay-b", stream).start()
            try:
                sagas = [harness.uid("saga-") for _ in range(40)]
                svcs = [a, b]
                results = concurrently(40, lambda i: svcs[i % 2].call(
                    "POST", "/api/orders", order_body(sagas[i])))
                ids = {str(r[2]["orderId"]) for r in results}
                self.assertEqual(len(ids), 40)
                in_list = ",".join(f"'{i}'" for i in ids)

                def all_published():
                    return harness.sql_value(
                        self.db, "SELECT COUNT(*) FROM outbox_events WHERE aggregate_type = "
                                 f"'Order' AND aggregate_id IN ({in_list}) "
                                 "AND published_at IS NULL") == "0"

                harness.wait_until(all_published, 30, what="both relays publishing")
            finally:
                b.stop()
        finally:
            a.stop()
        mine = [f for _, f in stream_events(stream) if f.get("aggregateId") in ids]
        self.assertEqual(len(mine), 40)
        self.assertEqual(len({f["eventId"] for f in mine}), 40)


if __name__ == "__main__":
    unittest.main()

"""service-inventory end to end: stock reads and PUT, reserve / confirm / cancel with every
legal and illegal transition, tombstones, Idempotency-Key, and concurrent reserves that never
oversell, with and without the Redis lock."""
import json
import random
import threading
import unittest

import harness
from svc_util import (PORTS, Service, ServiceCase, concurrently, drop_database,
                      private_database, relayed_events)

DB = "inventory_db"


def new_product():
    return random.randint(1_000_000, 900_000_000)


class InventoryServiceTest(ServiceCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service("service-inventory", PORTS["inventory"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def put(self, pid, available, key=None):
        return self.svc.call("PUT", f"/api/inventory/{pid}", {"available": available}, key=key)

    def stock(self, pid):
        return self.assertOk(self.svc.get(f"/api/inventory/{pid}"))

    def act(self, pid, action, saga, qty, key=None):
        return self.svc.call("POST", f"/api/inventory/{pid}/{action}?qty={qty}&sagaId={saga}",
                             key=key)

    def reservation(self, pid, saga):
        return harness.sql(DB, "SELECT status, quantity FROM inventory_reservations "
                               f"WHERE product_id = {pid} AND saga_id = '{saga}'")

    def events(self, pid):
        return [r[0] for r in harness.sql(
            DB, "SELECT event_type FROM outbox_events WHERE aggregate_type = 'Inventory' "
                f"AND aggregate_id = '{pid}' ORDER BY id")]

    def product(self, available):
        pid = new_product()
        self.assertOk(self.put(pid, available))
        return pid

    def assertStock(self, pid, available, reserved, confirmed):
        s = self.stock(pid)
        self.assertEqual((s["available"], s["reserved"], s["confirmed"]),
                         (available, reserved, confirmed), s)

    def test_put_creates_then_sets_stock(self):
        pid = new_product()
        self.assertProblem(self.svc.get(f"/api/inventory/{pid}"), 404, "NotFound")
        body = self.assertOk(self.put(pid, 7))
        self.assertEqual((body["productId"], body["available"], body["reserved"]), (pid, 7, 0))
        self.assertOk(self.put(pid, 3))
        self.assertStock(pid, 3, 0, 0)
        self.assertEqual(self.events(pid), ["StockSet", "StockSet"])

    def test_seeded_products_exist(self):
        for pid in range(1, 11):
            self.assertEqual(self.stock(pid)["productId"], pid)

    def test_reserve_moves_stock_to_reserved(self):
        pid, saga = self.product(10), harness.uid("saga-")
        body = self.assertOk(self.act(pid, "reserve", saga, 3))
        self.assertEqual((body["status"], body["quantity"], body["sagaId"]),
                         ("RESERVED", 3, saga))
        self.assertEqual((body["available"], body["reserved"]), (7, 3))
        self.assertStock(pid, 7, 3, 0)
        self.assertEqual(self.reservation(pid, saga), [["RESERVED", "3"]])
        self.assertEqual(self.events(pid), ["StockSet", "StockReserved"])

    def test_reserving_twice_for_one_saga_reserves_once(self):
        pid, saga = self.product(10), harness.uid("saga-")
        self.assertOk(self.act(pid, "reserve", saga, 3))
        body = self.assertOk(self.act(pid, "reserve", saga, 3))
        self.assertEqual(body["status"], "RESERVED")
        self.assertStock(pid, 7, 3, 0)
        self.assertProblem(self.act(pid, "reserve", saga, 4), 409, "IllegalTransition")
        self.assertStock(pid, 7, 3, 0)
        self.assertEqual(self.events(pid), ["StockSet", "StockReserved"])

    def test_confirm_moves_reserved_to_confirmed_once(self):
        pid, saga = self.product(10), harness.uid("saga-")
        self.assertOk(self.act(pid, "reserve", saga, 4))
        body = self.assertOk(self.act(pid, "confirm", saga, 4))
        self.assertEqual(body["status"], "CONFIRMED")
        self.assertStock(pid, 6, 0, 4)
        self.assertOk(self.act(pid, "confirm", saga, 4))
        self.assertStock(pid, 6, 0, 4)
        # A confirmed reservation is neither cancelled nor reserved again.
        self.assertProblem(self.act(pid, "cancel", saga, 4), 409, "IllegalTransition")
        self.assertOk(self.act(pid, "reserve", saga, 4))
        self.assertStock(pid, 6, 0, 4)
        self.assertEqual(self.reservation(pid, saga), [["CONFIRMED", "4"]])
        self.assertEqual(self.events(pid),
                         ["StockSet", "StockReserved", "StockReservationConfirmed"])

    def test_answers_carry_the_stock_and_reservation_as_written(self):
        pid, saga = self.product(10), harness.uid("saga-")
        v = self.stock(pid)["version"]
        def counters(b):
            return (b["available"], b["reserved"], b["confirmed"], b["version"], b["quantity"])
        body = self.assertOk(self.act(pid, "reserve", saga, 3))
        self.assertEqual(counters(body), (7, 3, 0, v + 1, 3))
        self.assertEqual(self.stock(pid)["version"], v + 1)
        body = self.assertOk(self.act(pid, "confirm", saga, 3))
        self.assertEqual(counters(body), (7, 0, 3, v + 2, 3))
        other = harness.uid("saga-")
        self.assertOk(self.act(pid, "reserve", other, 2))
        body = self.assertOk(self.act(pid, "cancel", other, 2))
        self.assertEqual(counters(body), (7, 0, 3, v + 4, 2))
        self.assertEqual(self.stock(pid)["version"], v + 4)

    def test_confirm_without_reservation_is_404(self):
        pid = self.product(10)
        self.assertProblem(self.act(pid, "confirm", harness.uid("saga-"), 1), 404, "NotFound")
        self.assertStock(pid, 10, 0, 0)

    def test_cancel_returns_stock_and_is_idempotent(self):
        pid, saga = self.product(10), harness.uid("saga-")
        self.assertOk(self.act(pid, "reserve", saga, 4))
        body = self.assertOk(self.act(pid, "cancel", saga, 4))
        self.assertEqual(body["status"], "CANCELLED")
        self.assertStock(pid, 10, 0, 0)
        self.assertOk(self.act(pid, "cancel", saga, 4))
        self.assertStock(pid, 10, 0, 0)
        self.assertProblem(self.act(pid, "confirm", saga, 4), 409, "IllegalTransition")
        self.assertProblem(self.act(pid, "reserve", saga, 4), 409, "ReservationCancelled")
        self.assertStock(pid, 10, 0, 0)
        self.assertEqual(self.events(pid),
                         ["StockSet", "StockReserved", "StockReservationCancelled"])

    def test_cancel_before_reserve_leaves_a_tombstone_that_refuses_the_late_reserve(self):
        pid, saga = self.product(10), harness.uid("saga-")
        body = self.assertOk(self.act(pid, "cancel", saga, 2))
        self.assertEqual(body["status"], "CANCELLED")
        self.assertEqual(self.reservation(pid, saga), [["CANCELLED", "2"]])
        self.assertStock(pid, 10, 0, 0)
        self.assertProblem(self.act(pid, "reserve", saga, 2), 409, "ReservationCancelled")
        self.assertStock(pid, 10, 0, 0)
        self.assertEqual(self.events(pid), ["StockSet", "StockReservationCancelled"])

    def test_cancel_of_an_unknown_product_still_records_the_tombstone(self):
        pid, saga = new_product(), harness.uid("saga-")
        self.assertOk(self.act(pid, "cancel", saga, 1))
        self.assertEqual(self.reservation(pid, saga), [["CANCELLED", "1"]])

    def test_cancel_racing_its_reserve_always_ends_cancelled_with_stock_back(self):
        pid = self.product(10)
        sagas = [harness.uid("saga-") for _ in range(10)]
        ops = [(a, s) for s in sagas for a in ("reserve", "cancel")]
        random.shuffle(ops)
        results = concurrently(len(ops), lambda i: self.act(pid, ops[i][0], ops[i][1], 1))
        for (action, _), (st, _, body) in zip(ops, results):
            if action == "cancel":
                self.assertEqual(st, 200, body)
            elif st != 200:
                self.assertEqual((st, body["code"]), (409, "ReservationCancelled"), body)
        rows = harness.sql(DB, "SELECT status, COUNT(*) FROM inventory_reservations "
                               f"WHERE product_id = {pid} GROUP BY status")
        self.assertEqual(rows, [["CANCELLED", "10"]])
        self.assertStock(pid, 10, 0, 0)

    def test_reserve_of_an_unknown_product_is_404(self):
        pid, saga = new_product(), harness.uid("saga-")
        self.assertProblem(self.act(pid, "reserve", saga, 1), 404, "NotFound")
        self.assertEqual(self.reservation(pid, saga), [])

    def test_reserve_beyond_stock_is_out_of_stock_and_changes_nothing(self):
        pid, saga = self.product(2), harness.uid("saga-")
        body = self.assertProblem(self.act(pid, "reserve", saga, 3), 409, "OutOfStock")
        self.assertEqual((body["available"], body["requested"]), (2, 3))
        self.assertStock(pid, 2, 0, 0)
        self.assertEqual(self.reservation(pid, saga), [])
        self.assertEqual(self.events(pid), ["StockSet"])

    def test_idempotency_key_replays_and_refuses_reuse(self):
        pid, saga, key = self.product(10), harness.uid("saga-"), harness.uid("key-")
        first = self.act(pid, "reserve", saga, 2, key=key)
        again = self.act(pid, "reserve", saga, 2, key=key)
        self.assertEqual(first[2], again[2])
        self.assertEqual(again[1].get("idempotent-replayed"), "true")
        self.assertProblem(self.act(pid, "reserve", saga, 3, key=key), 422,
                           "IdempotencyKeyReused")
        self.assertStock(pid, 8, 2, 0)
        key = harness.uid("key-")
        self.assertOk(self.put(pid, 50, key=key))
        self.assertProblem(self.put(pid, 51, key=key), 422, "IdempotencyKeyReused")
        self.assertEqual(self.stock(pid)["available"], 50)

    def test_concurrent_same_key_reserves_once(self):
        pid, saga, key = self.product(10), harness.uid("saga-"), harness.uid("key-")
        results = concurrently(10, lambda i: self.act(pid, "reserve", saga, 1, key=key))
        for st, _, body in results:
            if st != 200:
                self.assertEqual((st, body["code"]), (409, "IdempotencyInFlight"))
        self.assertIn(200, [r[0] for r in results])
        self.assertStock(pid, 9, 1, 0)

    def fifty_reserves_on_ten(self):
        """50 sagas reserve 1 each of a stock of 10 at once; a sampler watches the stock."""
        pid = self.product(10)
        sagas = [harness.uid("saga-") for _ in range(50)]
        seen, stop = [], threading.Event()

        def sample():
            while not stop.is_set():
                s = harness.sql(DB, "SELECT available, reserved, confirmed FROM inventory "
                                    f"WHERE product_id = {pid}")[0]
                seen.append(tuple(int(x) for x in s))

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            results = concurrently(50, lambda i: self.act(pid, "reserve", sagas[i], 1))
        finally:
            stop.set()
            sampler.join()
        codes = [r[0] for r in results]
        self.assertEqual(codes.count(200), 10, codes)
        for st, _, body in results:
            if st != 200:
                self.assertEqual((st, body["code"]), (409, "OutOfStock"), body)
        self.assertStock(pid, 0, 10, 0)
        won = [s for s, r in zip(sagas, results) if r[0] == 200]
        rows = harness.sql(DB, "SELECT saga_id, status, quantity FROM inventory_reservations "
                               f"WHERE product_id = {pid}")
        self.assertEqual(sorted(r[0] for r in rows), sorted(won))
        for a, r, c in seen:
            self.assertGreaterEqual(a, 0)
            self.assertEqual(a + r + c, 10)
        # Settle half, release the other half: still conserved.
        for i, saga in enumerate(won):
            self.assertOk(self.act(pid, "confirm" if i % 2 else "cancel", saga, 1))
        self.assertStock(pid, 5, 0, 5)
        return pid

    def test_fifty_concurrent_reserves_of_one_on_a_stock_of_ten(self):
        self.fifty_reserves_on_ten()

    def test_stock_is_conserved_under_concurrent_mixed_operations(self):
        pid = self.product(20)
        sagas = [harness.uid("saga-") for _ in range(30)]
        ops = []
        for i, s in enumerate(sagas):
            ops += [("reserve", s), ("cancel" if i % 3 == 0 else "confirm", s)]
        random.shuffle(ops)
        concurrently(len(ops), lambda i: self.act(pid, ops[i][0], ops[i][1], 1))
        s = self.stock(pid)
        self.assertGreaterEqual(s["available"], 0)
        self.assertEqual(s["available"] + s["reserved"] + s["confirmed"], 20, s)
        rows = harness.sql(DB, "SELECT status, COUNT(*), COALESCE(SUM(quantity), 0) FROM "
                               f"inventory_reservations WHERE product_id = {pid} GROUP BY status")
        by = {r[0]: int(r[2]) for r in rows}
        self.assertEqual(by.get("RESERVED", 0), s["reserved"])
        self.assertEqual(by.get("CONFIRMED", 0), s["confirmed"])


class InventoryWithoutLockTest(InventoryServiceTest):
    """Correctness must come from MySQL: every product lock is held by a stranger, so each
    request waits out its (shortened) lock wait and proceeds unlocked."""

    @classmethod
    def setUpClass(cls):
        cls.svc = Service("service-inventory", PORTS["inventory-nolock"],
                          env={"INVENTORY_LOCK_WAIT_MS": 50}).start()

    def product(self, available):
        pid = super().product(available)
        harness.redis_cli("SET", f"lock:inventory:{pid}", "stranger", "PX", "600000")
        self.addCleanup(harness.redis_cli, "DEL", f"lock:inventory:{pid}")
        return pid

    def test_fifty_concurrent_reserves_of_one_on_a_stock_of_ten(self):
        pid = self.fifty_reserves_on_ten()
        self.assertEqual(harness.redis_cli("GET", f"lock:inventory:{pid}"), "stranger")


class InventoryRelayTest(ServiceCase):
    """The daemon's outbox relay publishes its events (on a database of the test's own, so no
    other suite's relay can take them)."""

    def test_stock_events_reach_the_stream(self):
        db = private_database("inventory_db")
        self.addCleanup(drop_database, db)
        svc = Service("service-inventory", PORTS["inventory-relay"],
                      env={"MYSQL_DATABASE": db}).start()
        self.addCleanup(svc.stop)
        pid, saga = new_product(), harness.uid("saga-")
        self.assertOk(svc.call("PUT", f"/api/inventory/{pid}", {"available": 4}))
        self.assertOk(svc.call("POST", f"/api/inventory/{pid}/reserve?qty=3&sagaId={saga}"))
        self.assertOk(svc.call("POST", f"/api/inventory/{pid}/cancel?qty=3&sagaId={saga}"))
        events = relayed_events(svc, db, "Inventory", pid, 3)
        self.assertEqual([e["eventType"] for e in events],
                         ["StockSet", "StockReserved", "StockReservationCancelled"])
        for e in events:
            self.assertTrue(e["eventId"].startswith("service-inventory:"), e)
        payload = json.loads(events[1]["payload"])
        self.assertEqual((payload["sagaId"], payload["productId"], payload["quantity"]),
                         (saga, pid, 3))


def load_tests(loader, tests, pattern):
    # The unlocked variant reruns the concurrency cases.
    suite = unittest.TestSuite()
    suite.addTests(loader.loadTestsFromTestCase(InventoryServiceTest))
    suite.addTests(loader.loadTestsFromTestCase(InventoryRelayTest))
    for name in ("test_fifty_concurrent_reserves_of_one_on_a_stock_of_ten",
                 "test_stock_is_conserved_under_concurrent_mixed_operations",
                 "test_cancel_racing_its_reserve_always_ends_cancelled_with_stock_back"):
        suite.addTest(InventoryWithoutLockTest(name))
    return suite


if __name__ == "__main__":
    unittest.main()

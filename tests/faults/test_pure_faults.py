"""orchestrator-pure under faults: MariaDB and Redis SIGKILLed and restarted under load,
service-inventory frozen with SIGSTOP, and sagas nobody drives (a creation that committed although its request saw a database error).
Own MariaDB and Redis (faultlib); daemons on 29080-29086."""
import threading
import time
import unittest

import faultlib as f
import harness as h

SERVERS = None
SUITE = None
SECOND_ORCH_PORT = 29086


def setUpModule():
    global SERVERS, SUITE
    SERVERS, SUITE = f.world("pure", ["service-order", "service-inventory", "service-payment",
                                      "service-notification", "orchestrator-pure"],
                             temporal=False, SAGA_LEASE_MS=2000,
                             # Short synchronous waits keep the clients creating sagas while a
                             # server is down, so a kill can land between a create's COMMIT and
                             # its answer.
                             ORDER_SYNC_TIMEOUT_MS=1500)


def tearDownModule():
    f.world_stop(SERVERS, SUITE)


def create_orphan(saga_id, pid, age_s=60):
    """A saga committed as orchestrator-pure's create does, that no process drives, its lease
    run out: what a request left behind when the database failed between the create's COMMIT
    and its answer, once the lease of the replica that created it ran out."""
    h.sql("orchestrator_db",
          f"CALL saga_create('{saga_id}', 'RUNNING', 'CreateOrder', 0, 0, 7, {pid}, 1, 10000, "
          f"'CARD'); UPDATE saga_instance SET updated_at = CURRENT_TIMESTAMP(3) - INTERVAL "
          f"{age_s} SECOND WHERE saga_id = '{saga_id}'")


def saga_status(saga_id):
    return h.sql_value("orchestrator_db",
                       f"SELECT status FROM saga_instance WHERE saga_id = '{saga_id}'")


class OrphanSagaTest(unittest.TestCase):
    def test_orphan_saga_is_driven_by_the_live_process_without_a_restart(self):
        pid = f.new_product(10)
        saga = h.uid("pure-orphan-")
        create_orphan(saga, pid)
        h.wait_until(lambda: saga_status(saga) == "COMPLETED", 60, 0.5,
                     what="the orphan saga to be picked up and completed")
        self.assertEqual(h.sql_value("order_db", f"SELECT status FROM orders WHERE saga_id='{saga}'"),
                         "CONFIRMED")

    def test_repeated_post_drives_an_orphan_saga_and_answers_its_result(self):
        # A second replica: the repeated POST takes the saga over, or attaches to the replica
        # that did, and answers its result.
        env = dict(SUITE.urls, SAGA_LEASE_MS=2000, ORDER_SYNC_TIMEOUT_MS=15000,
                   SAGA_RETRY_INITIAL_MS=200, SAGA_RETRY_MAX_MS=2000)
        with h.Daemon("orchestrator-pure", SECOND_ORCH_PORT, env, log_name="faults-pure-nosweep") as d:
            pid = f.new_product(10)
            key = h.uid("orphan-")
            create_orphan("pure-" + key, pid)
            st, hdrs, body = h.http("POST", d.url + "/api/pure/orders", f.order_body(pid),
                                    {"Idempotency-Key": key}, timeout=60)
            self.assertEqual(st, 200, body)
            self.assertIs(body["success"], True, body)
            self.assertEqual(saga_status("pure-" + key), "COMPLETED")


class KillTest(unittest.TestCase):
    """SIGKILL one server under load (16 clients, every second one without an Idempotency-Key),
    restart it, and check that every order ended, nothing is doubled or lost, and the daemons
    recovered by themselves."""

    def kill_under_load(self, server, down_s=5):
        orch = f.Orchestrator("pure")
        stock = 100000
        pid = f.new_product(stock)
        probe_pid = f.new_product(stock)
        load = f.Load(orch, pid, threads=16, keyless_every=2).start()
        time.sleep(4)
        server.kill()
        killed = time.monotonic()
        time.sleep(down_s)
        server.start()
        restarted = time.monotonic()
        probe = f.Probe(orch, probe_pid).start(restarted)
        recover = probe.recovered_after()
        time.sleep(6)
        requests = load.stop()
        probe.stop()
        f.report(f"orchestrator-pure {server.name} restart -> first new order succeeds", recover)
        load.settle(120)

        # Truthful answers: a 5xx only for an order that does not exist, and no order without
        # an answer that names it.
        answered = {r.saga_id for r in requests if r.saga_id}
        refused = [r for r in requests if not r.saga_id]
        for r in refused:
            st, body = r.answers[-1]
            self.assertNotIn(st, (200, 202), r)
            if isinstance(body, dict) and body.get("sagaId"):
                self.assertIsNone(saga_status(body["sagaId"]),
                                  f"answered {st} for saga {body['sagaId']} that exists: {r}")
        stored = {s for (s,) in h.sql("orchestrator_db",
                                      f"SELECT saga_id FROM saga_instance WHERE product_id={pid}")}
        self.assertEqual(stored - answered, set(), "sagas created for requests answered 5xx")
        self.assertGreater(len(answered), 16)
        # No saga left unfinished (the load's sagas and the probe's).
        h.wait_until(lambda: h.sql_value("orchestrator_db", "SELECT COUNT(*) FROM saga_instance "
                                         "WHERE status IN ('RUNNING','COMPENSATING')") == "0",
                     120, 1.0, what="no saga unfinished")
        for r in requests:
            if r.saga_id:
                self.assertIn(r.result.get("success"), (True, False), r)
        orders = f.check_saga_data(self, pid, stock)
        self.assertEqual(set(orders), answered, "orders without a saga or sagas without an order")
        f.check_notifications_once(self)
        f.check_recovered(self, SUITE)
        print(f"{server.name}: {len(requests)} requests, {len(refused)} refused, "
              f"killed {restarted - killed:.1f} s", flush=True)

    def test_mariadb_killed_under_load(self):
        self.kill_under_load(SERVERS.mariadb)

    def test_redis_killed_under_load(self):
        self.kill_under_load(SERVERS.redis)

    def test_service_inventory_paused_under_load(self):
        self.kill_under_load(f.Paused(SUITE.daemons["service-inventory"]))


if __name__ == "__main__":
    unittest.main()

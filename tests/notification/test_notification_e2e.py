"""End-to-end tests of service-notification: exactly-once storage under redelivery, a consumer
killed mid-stream, Redis restarted, and two outbox relays of one service. Ports 23084-23091;
the Redis restart test runs its own redis-server on 23091."""
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import unittest

import harness as h

ORCH, NOTIF, NOTIF_B, ORDER, ORDER_B, INV, PAY, OWN_REDIS = range(23084, 23092)
SQL_DIR = os.path.join(h.SOURCE_DIR, "sql")
GROUP = "notification-service"


def stored(db, where="1=1"):
    return int(h.sql_value(db, f"SELECT COUNT(*) FROM notifications WHERE {where}"))


def pending(stream, port=None):
    out = h.redis_cli("XPENDING", stream, GROUP, port=port)
    return int(out.splitlines()[0]) if out else 0


def xadd_many(stream, entries, port=None):
    """XADDs many entries through one redis-cli pipe."""
    lines = []
    for fields in entries:
        parts = ["XADD", stream, "*"]
        for k, v in fields.items():
            parts += [k, v]
        lines.append(" ".join(json.dumps(p) for p in parts))
    subprocess.run(h.redis_cli_args(port), input="\n".join(lines) + "\n",
                   check=True, capture_output=True, text=True, env=h.redis_env())


def event(i, order_id, prefix):
    return {"eventId": f"{prefix}:{i}", "eventType": "OrderCreated", "aggregateType": "Order",
            "aggregateId": str(order_id), "service": "test",
            "payload": json.dumps({"orderId": order_id, "seq": i})}


def start_own_redis(port, directory):
    """A Redis of the test's own on port, persisting (AOF) in directory, up when this
    returns; the same password as the stack's Redis, given as config on stdin ("-"), not in
    argv."""
    redis = subprocess.Popen(
        ["redis-server", "-", "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
         "--appendonly", "yes", "--save", "", "--daemonize", "no"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis.stdin.write(f"requirepass {h.REDIS_PASSWORD}\n".encode() if h.REDIS_PASSWORD else b"")
    redis.stdin.close()
    h.wait_until(lambda: h.redis_cli("PING", port=port) == "PONG", what="own redis")
    return redis


def stop_own_redis(redis, port, timeout):
    """SHUTDOWN for a start_own_redis process still running; killed if it has not exited
    within timeout seconds. None ok."""
    if redis is not None and redis.poll() is None:
        subprocess.run(h.redis_cli_args(port) + ["SHUTDOWN"], capture_output=True,
                       env=h.redis_env())
        try:
            redis.wait(timeout)
        except subprocess.TimeoutExpired:
            redis.kill()
            redis.wait()


def fresh_database(name, schema_dir):
    """Drops and re-creates `name` with the migrations of sql/<schema_dir>."""
    h.sql("mysql", f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` "
                   "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    for f in sorted(os.listdir(os.path.join(SQL_DIR, schema_dir))):
        if f.endswith(".sql"):
            with open(os.path.join(SQL_DIR, schema_dir, f)) as fh:
                subprocess.run(h.mariadb_args() + [name], stdin=fh, check=True,
                               env=h.mariadb_env())


class StreamConsumerTest(unittest.TestCase):
    """Synthetic events on a stream of our own in the shared Redis."""

    def setUp(self):
        self.db = "nt_notification_db_a"
        fresh_database(self.db, "notification_db")
        self.stream = h.uid("stream:test-notif-")
        self.env = {"MYSQL_DATABASE": self.db, "ORDER_EVENTS_STREAM": self.stream,
                    "NOTIFICATION_CLAIM_IDLE_MS": 500, "NOTIFICATION_CLAIM_EVERY_MS": 200,
                    "NOTIFICATION_BLOCK_MS": 200}

    def tearDown(self):
        h.redis_cli("DEL", self.stream)

    def daemon(self, **extra):
        return h.Daemon("service-notification", NOTIF, dict(self.env, **extra))

    def test_each_event_is_stored_once_and_acknowledged(self):
        prefix = h.uid("ev-")
        events = [event(i, 1000 + i % 5, prefix) for i in range(50)]
        xadd_many(self.stream, events + events[:10])  # 10 redeliveries of the same events
        with self.daemon() as d:
            h.wait_until(lambda: stored(self.db) == 50 and pending(self.stream) == 0,
                         what="50 notifications and nothing pending")
            time.sleep(0.5)
            self.assertEqual(stored(self.db), 50)
            st, _, body = h.http("GET", f"{d.url}/api/notifications?orderId=1002")
            self.assertEqual(st, 200)
            self.assertEqual(sorted(n["eventId"] for n in body),
                             sorted(f"{prefix}:{i}" for i in range(2, 50, 5)))
            self.assertEqual(body[0]["orderId"], 1002)
            self.assertEqual(body[0]["eventType"], "OrderCreated")
            self.assertEqual(body[0]["payload"]["orderId"], 1002)

    def test_query_needs_exactly_one_of_order_id_or_saga_id(self):
        with self.daemon() as d:
            for q in ("", "?orderId=abc", "?orderId=0", "?orderId=1&sagaId=x"):
                st, _, body = h.http("GET", f"{d.url}/api/notifications{q}")
                self.assertEqual(st, 400, q)
                self.assertEqual(body["code"], "ValidationFailed")
            st, _, body = h.http("GET", f"{d.url}/api/notifications?sagaId=none")
            self.assertEqual((st, body), (200, []))

    def test_consumer_killed_mid_stream_then_restarted_stores_every_event_once(self):
        prefix = h.uid("ev-")
        total = 3000
        xadd_many(self.stream, [event(i, 2000 + i % 7, prefix) for i in range(total)])
        d = self.daemon(NOTIFICATION_BATCH=5).start()
        h.wait_until(lambda: stored(self.db) >= 200, what="some notifications")
        d.kill()
        self.assertLess(stored(self.db), total, "consumer finished before it could be killed")
        with self.daemon():
            h.wait_until(lambda: stored(self.db) == total and pending(self.stream) == 0,
                         timeout=60, what="every event stored, nothing pending")
            # The dead consumer's name is removed from the group once it holds nothing.
            h.wait_until(lambda: h.redis_cli("XINFO", "CONSUMERS", self.stream, GROUP)
                         .splitlines().count("name") == 1, what="only the live consumer left")
        self.assertEqual(int(h.sql_value(self.db, "SELECT COUNT(DISTINCT event_id) FROM "
                                         "notifications")), total)

    def test_entries_pending_in_a_dead_consumer_are_claimed(self):
        prefix = h.uid("ev-")
        xadd_many(self.stream, [event(i, 3000, prefix) for i in range(20)])
        # A consumer that reads and dies without acknowledging.
        h.redis_cli("XGROUP", "CREATE", self.stream, GROUP, "0", "MKSTREAM")
        h.redis_cli("XREADGROUP", "GROUP", GROUP, "dead-consumer", "COUNT", "20", "STREAMS",
                    self.stream, ">")
        self.assertEqual(pending(self.stream), 20)
        with self.daemon():
            h.wait_until(lambda: stored(self.db) == 20 and pending(self.stream) == 0,
                         what="claimed entries stored")


class SagaEventsTest(unittest.TestCase):
    """Real sagas through the services (two order replicas = two relays) on our own Redis and
    databases, with the notification service and Redis restarted mid-stream."""

    @classmethod
    def setUpClass(cls):
        cls.dbs = {"order": "nt_order_db", "inventory": "nt_inventory_db",
                   "payment": "nt_payment_db", "notification": "nt_notification_db",
                   "orchestrator": "nt_orchestrator_db"}
        for schema, name in cls.dbs.items():
            fresh_database(name, f"{schema}_db")
        cls.redis_dir = tempfile.mkdtemp(prefix="nt-redis-")
        cls.redis = None
        cls.start_redis()
        cls.stream = "stream:order-events"
        base = {"REDIS_PORT": OWN_REDIS, "ORDER_EVENTS_STREAM": cls.stream}

        def svc(name, port, db, **extra):
            return h.Daemon(name, port, dict(base, MYSQL_DATABASE=db, **extra))

        cls.order_a = svc("service-order", ORDER, cls.dbs["order"])
        cls.order_b = svc("service-order", ORDER_B, cls.dbs["order"])
        cls.inv = svc("service-inventory", INV, cls.dbs["inventory"])
        cls.pay = svc("service-payment", PAY, cls.dbs["payment"], FAKE_PG_LIMIT=1000000)
        cls.orch = svc("orchestrator-pure", ORCH, cls.dbs["orchestrator"],
                       ORDER_SERVICE_URL=f"http://127.0.0.1:{ORDER}",
                       INVENTORY_SERVICE_URL=f"http://127.0.0.1:{INV}",
                       PAYMENT_SERVICE_URL=f"http://127.0.0.1:{PAY}",
                       SAGA_RETRY_INITIAL_MS=200, SAGA_RETRY_MAX_MS=1000,
                       SAGA_FORWARD_ATTEMPTS=10)
        cls.notif_env = dict(base, MYSQL_DATABASE=cls.dbs["notification"],
                             NOTIFICATION_CLAIM_IDLE_MS=500, NOTIFICATION_CLAIM_EVERY_MS=200,
                             NOTIFICATION_BLOCK_MS=200)
        cls.notif = h.Daemon("service-notification", NOTIF, cls.notif_env)
        cls.daemons = [cls.order_a, cls.order_b, cls.inv, cls.pay, cls.orch, cls.notif]
        try:
            h.start_all(cls.daemons)
        except Exception:
            cls.stop_redis()
            raise
        cls.pid = random.randint(10**8, 10**12)
        st, _, b = h.http("PUT", f"{cls.inv.url}/api/inventory/{cls.pid}", {"available": 1000})
        assert st == 200, b

    @classmethod
    def tearDownClass(cls):
        errors = h.stop_all(cls.daemons)
        cls.stop_redis()
        shutil.rmtree(cls.redis_dir, ignore_errors=True)
        if errors:
            raise errors[0]

    @classmethod
    def start_redis(cls):
        cls.redis = start_own_redis(OWN_REDIS, cls.redis_dir)

    @classmethod
    def stop_redis(cls):
        stop_own_redis(cls.redis, OWN_REDIS, 15)
        cls.redis = None

    def sagas(self, n, fail_every=3):
        for i in range(n):
            amount = 2000000 if i % fail_every == 0 else 1000
            body = {"customerId": 1, "productId": self.pid, "quantity": 1, "amount": amount}
            st, _, r = h.http("POST", f"{self.orch.url}/api/pure/orders", body)
            self.assertEqual(st, 200, r)
            self.assertEqual(r["success"], amount == 1000, r)

    def outbox_ids(self):
        ids = set()
        for svc in ("order", "inventory", "payment"):
            for (rid,) in h.sql(self.dbs[svc], "SELECT id FROM outbox_events"):
                ids.add(f"service-{svc}:{rid}")
        return ids

    def unpublished(self):
        return sum(int(h.sql_value(self.dbs[s], "SELECT COUNT(*) FROM outbox_events WHERE "
                                   "published_at IS NULL")) for s in ("order", "inventory", "payment"))

    def stream_event_ids(self):
        out = subprocess.run(h.redis_cli_args(OWN_REDIS) + ["--no-raw", "XRANGE", self.stream,
                                                             "-", "+"],
                             capture_output=True, text=True, check=True,
                             env=h.redis_env()).stdout
        ids, lines = [], out.splitlines()
        for i, line in enumerate(lines):
            if line.strip().endswith('"eventId"'):
                ids.append(lines[i + 1].split('"')[1])
        return ids

    def notified_ids(self):
        return [r[0] for r in h.sql(self.dbs["notification"],
                                    "SELECT event_id FROM notifications")]

    def wait_all_delivered(self):
        def done():
            return (self.unpublished() == 0
                    and set(self.notified_ids()) == self.outbox_ids()
                    and pending(self.stream, OWN_REDIS) == 0)
        h.wait_until(done, timeout=90, what="every outbox event stored as a notification")

    def test_1_two_relays_of_one_service_publish_each_event_once(self):
        self.sagas(6)
        # Orders created through the second replica as well, so both relays have work.
        for i in range(10):
            st, _, _ = h.http("POST", f"{self.order_b.url}/api/orders",
                              {"customerId": 1, "productId": self.pid, "quantity": 1,
                               "amount": 10, "sagaId": h.uid("direct-")})
            self.assertIn(st, (200, 201))
        self.wait_all_delivered()
        ids = self.stream_event_ids()
        self.assertEqual(len(ids), len(set(ids)), "an event was published twice")
        self.assertEqual(set(ids), self.outbox_ids())

    def test_2_every_saga_event_arrives_once_across_consumer_kill_and_redis_restart(self):
        self.sagas(6)
        self.notif.kill()
        self.sagas(6)
        self.__class__.notif = h.Daemon("service-notification", NOTIF, self.notif_env)
        self.daemons[-1] = self.notif
        self.notif.start()
        self.sagas(3)
        self.stop_redis()
        self.start_redis()
        self.sagas(6)
        self.wait_all_delivered()
        notified = self.notified_ids()
        self.assertEqual(len(notified), len(set(notified)))
        self.assertEqual(set(notified), self.outbox_ids())
        # The relay publishes at least once: a Redis shut down while a pipelined XADD batch is
        # in flight may keep an XADD whose reply never reached the relay, which then publishes
        # that event again. The stream holds every event; the consumer stores each once (above).
        ids = self.stream_event_ids()
        self.assertEqual(set(ids), self.outbox_ids())
        self.assertLessEqual(len(ids) - len(set(ids)), 64, "more re-published than one batch")
        # Per saga: every event of the saga is in notifications exactly once.
        sid = h.sql_value(self.dbs["orchestrator"], "SELECT saga_id FROM saga_instance "
                          "ORDER BY created_at DESC LIMIT 1")
        st, _, body = h.http("GET", f"{self.notif.url}/api/notifications?sagaId={sid}")
        self.assertEqual(st, 200)
        per_saga = [n["eventId"] for n in body]
        self.assertEqual(len(per_saga), len(set(per_saga)))
        self.assertGreaterEqual(len(per_saga), 4)
        # ?orderId= finds the same events, inventory's (which carry only the saga id) included.
        order_id = h.sql_value(self.dbs["orchestrator"], "SELECT order_id FROM saga_instance "
                               f"WHERE saga_id='{sid}'")
        st, _, by_order = h.http("GET", f"{self.notif.url}/api/notifications?orderId={order_id}")
        self.assertEqual(sorted(n["eventId"] for n in by_order), sorted(per_saga))
        self.assertIn("service-inventory", {n["service"] for n in by_order})


if __name__ == "__main__":
    unittest.main()

"""The running production profile (scripts/stack up --production) is what it claims: the real
Temporal server on PostgreSQL with 4 or more history shards and the schema its version needs,
eager activity dispatch on as on the dev server, the custom search attributes registered, the
`temporal` role logging in with its password only, and the Temporal UI server in front of it.
orchestrator-temporal runs here on port 28281 with a task queue of its own."""
import json
import os
import random
import re
import subprocess
import unittest

import harness as h
import prodlib as p

PG_PORT = int(os.environ.get("TEMPORAL_PG_PORT", "21432"))
PG_USER = os.environ.get("TEMPORAL_PG_USER", "temporal")
# scripts/stack generates the role's password into the stack's secrets file.
PG_PASSWORD = (os.environ.get("TEMPORAL_PG_PASSWORD")
               or h.read_secrets().get("TEMPORAL_PG_PASSWORD", ""))
UI_PORT = int(os.environ.get("TEMPORAL_UI_PORT", "21088"))
ORDER, INV, PAY, ORCH = 28282, 28283, 28284, 28281


def psql(sql, password=PG_PASSWORD, db="temporal"):
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
    return subprocess.run(["psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U",
                           PG_USER, "-d", db, "-c", sql], env=env, capture_output=True,
                          text=True, timeout=30)


def search_attributes_of_stack():
    """TEMPORAL_SEARCH_ATTRIBUTES of scripts/stack, as {name: type}."""
    with open(os.path.join(p.SCRIPTS, "stack")) as f:
        m = re.search(r"^TEMPORAL_SEARCH_ATTRIBUTES=\(([^)]*)\)", f.read(), re.M)  # may span lines
    assert m, "TEMPORAL_SEARCH_ATTRIBUTES not found in scripts/stack"
    return dict(kv.split("=", 1) for kv in m.group(1).split())


class ProductionStackTest(unittest.TestCase):
    def setUp(self):
        p.require_production(self)

    def test_real_server_on_postgresql_with_four_or_more_shards(self):
        cp = h.temporal_cli("operator", "cluster", "describe", "-o", "json")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        info = json.loads(cp.stdout)
        self.assertTrue(info["serverVersion"].startswith("1.32."), info)
        self.assertEqual(info["persistenceStore"], "postgres12")
        self.assertEqual(info["visibilityStore"], "postgres12")
        self.assertGreaterEqual(info["historyShardCount"], 4)
        self.assertEqual(int(psql("SELECT COUNT(*) FROM shards").stdout.strip()),
                         info["historyShardCount"])

    def test_schema_is_the_version_the_server_needs(self):
        dirs = dict(line.split("=", 1) for line in subprocess.run(
            [os.path.join(p.SCRIPTS, "temporal-build"), "--print-dirs"], capture_output=True,
            text=True, check=True).stdout.split())
        with open(os.path.join(dirs["SERVER_DIR"].strip("'"), "schema-versions")) as f:
            want = dict(line.strip().split("=") for line in f if line.strip())
        for db in ("temporal", "temporal_visibility"):
            cp = psql("SELECT curr_version FROM schema_version WHERE version_partition = 0 "
                      f"AND db_name = '{db}'", db=db)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            self.assertEqual(cp.stdout.strip(), want[db])

    def test_temporal_role_logs_in_with_its_password_only(self):
        self.assertEqual(psql("SELECT 1").stdout.strip(), "1")
        cp = psql("SELECT 1", password=PG_PASSWORD + "-wrong")
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("password authentication failed", cp.stderr)

    def test_custom_search_attributes_are_registered(self):
        cp = h.temporal_cli("operator", "search-attribute", "list", "--namespace", "default",
                            "-o", "json")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        listed = json.loads(cp.stdout)
        custom = listed.get("customAttributes", {})
        want = search_attributes_of_stack()
        self.assertEqual(set(custom), set(want))
        for name, typ in want.items():
            self.assertEqual(custom[name], "INDEXED_VALUE_TYPE_" +
                             re.sub(r"(?<!^)(?=[A-Z])", "_", typ).upper(), name)

    def test_ui_server_shows_the_namespace_through_the_frontend(self):
        base = f"http://127.0.0.1:{UI_PORT}"
        st, _, page = h.http("GET", base + "/")
        self.assertEqual(st, 200)
        self.assertIn("<html", page.lower())
        st, _, settings = h.http("GET", base + "/api/v1/settings")
        self.assertEqual((st, settings["DefaultNamespace"]), (200, "default"), settings)
        st, _, ns = h.http("GET", base + "/api/v1/namespaces/default")
        self.assertEqual(st, 200, ns)
        self.assertEqual(ns["namespaceInfo"]["name"], "default")

    def test_activities_are_dispatched_eagerly(self):
        stream, queue = h.uid("stream:test-prod-"), h.uid("test-prod-eager-")
        env = {"ORDER_EVENTS_STREAM": stream}
        urls = {"ORDER_SERVICE_URL": f"http://127.0.0.1:{ORDER}",
                "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{INV}",
                "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{PAY}"}
        daemons = [h.Daemon("service-order", ORDER, env), h.Daemon("service-inventory", INV, env),
                   h.Daemon("service-payment", PAY, env),
                   h.Daemon("orchestrator-temporal", ORCH,
                            dict(env, **urls, TEMPORAL_TASK_QUEUE=queue))]
        h.start_all(daemons)
        try:
            pid = random.randint(10**8, 10**12)
            st, _, b = h.http("PUT", f"http://127.0.0.1:{INV}/api/inventory/{pid}",
                              {"available": 10})
            self.assertEqual(st, 200, b)
            st, _, r = h.http("POST", f"http://127.0.0.1:{ORCH}/api/temporal/orders",
                              {"customerId": 1, "productId": pid, "quantity": 1, "amount": 100},
                              timeout=90)
            self.assertEqual(st, 200, r)
            self.assertTrue(r["success"], r)
            # Seven activities, scheduled from workflow tasks: the server hands back at least
            # one with a completion when eager dispatch is on (it is off by default). The
            # server publishes its counters every few seconds.
            label = queue.replace("-", "_")  # Prometheus labels carry no '-'
            h.wait_until(lambda: p.server_metric("activity_eager_execution", taskqueue=label) >= 1,
                         timeout=30, interval=0.5, what="an eagerly dispatched activity")
        finally:
            try:
                p.stop_all(daemons)
            finally:
                h.redis_cli("DEL", stream)


if __name__ == "__main__":
    unittest.main()

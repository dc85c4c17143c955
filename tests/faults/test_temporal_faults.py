"""orchestrator-temporal under faults: the Temporal dev server, MariaDB and Redis SIGKILLed and
restarted under load. Own servers (faultlib); daemons on 29081-29085."""
import json
import os
import re
import time
import unittest

import faultlib as f
import harness as h

SERVERS = None
SUITE = None
START_FAILED = "Temporal is unreachable: whether order"


def setUpModule():
    global SERVERS, SUITE
    SERVERS, SUITE = f.world("temporal", ["service-order", "service-inventory", "service-payment",
                                          "service-notification", "orchestrator-temporal"],
                             temporal=True, HTTP_THREADS=32)


def tearDownModule():
    f.world_stop(SERVERS, SUITE)


def open_runs(queue):
    out = h.temporal_cli("workflow", "count", "--query",
                         f"TaskQueue='{queue}' AND ExecutionStatus='Running'")
    m = re.search(r"(\d+)", out.stdout)
    return int(m.group(1)) if out.returncode == 0 and m else None


def run_exists(wid):
    st, _, _ = h.http("GET", f"{f.url('orchestrator-temporal')}/api/temporal/orders/{wid}",
                      timeout=30)
    assert st in (200, 404), st
    return st == 200


class KillTest(unittest.TestCase):
    """SIGKILL one server while 8 clients (every second one without an Idempotency-Key) wait for
    their orders, restart it, and check every order's end and the data."""

    def kill_under_load(self, server, down_s=5):
        orch = f.Orchestrator("temporal")
        stock = 100000
        pid = f.new_product(stock)
        probe_pid = f.new_product(stock)
        load = f.Load(orch, pid, threads=8, keyless_every=2, timeout=70).start()
        time.sleep(5)
        server.kill()
        time.sleep(down_s)
        server.start()
        restarted = time.monotonic()
        probe = f.Probe(orch, probe_pid).start(restarted)
        recover = probe.recovered_after(180)
        time.sleep(5)
        requests = load.stop()
        probe.stop()
        f.report(f"orchestrator-temporal {server.name} restart -> first new order succeeds",
                 recover)
        load.settle(180)

        answered = {r.saga_id for r in requests if r.saga_id}
        self.assertGreater(len(answered), 8)
        for r in requests:
            for st, body in r.answers:
                detail = body.get("detail", "") if isinstance(body, dict) else ""
                # A run that was started is never answered "retry later": the only 503 is for
                # a start whose outcome is unknown, and it names the key to retry with.
                if st == 503:
                    self.assertTrue(detail.startswith(START_FAILED), r)
                    self.assertTrue(body.get("idempotencyKey"), r)
            if not r.saga_id:
                st, body = r.answers[-1]
                wid = body.get("workflowId") if isinstance(body, dict) else None
                if st == 503 and wid:
                    self.assertFalse(run_exists(wid), f"answered {st} for run {wid}, which exists: {r}")
        h.wait_until(lambda: open_runs(SUITE.queue) == 0, 120, 1.0, what="no run left open")
        for r in requests:
            if r.saga_id:
                self.assertIn(r.result.get("success"), (True, False), r)
        orders = f.check_saga_data(self, pid, stock)
        self.assertEqual(set(orders) - answered, set(),
                         "orders placed for requests that were not answered with their run")
        f.check_notifications_once(self)
        f.check_recovered(self, SUITE, timeout=120)

    def test_temporal_server_killed_under_load(self):
        d = SUITE.daemons["orchestrator-temporal"]
        since = os.path.getsize(d.log_path)  # the log is appended to across runs
        self.kill_under_load(SERVERS.temporal)
        # Logs stay one JSON object per line through the outage: the Temporal library's lines
        # (pollers failing, activity answers lost) come through common's logger.
        library = 0
        with open(d.log_path, errors="replace") as log:
            log.seek(since)
            for line in log:
                if re.match(r"==\d+==WARNING: ASan ", line):
                    continue  # the sanitizer runtime's own note (debug builds only)
                try:
                    rec = json.loads(line)
                except ValueError:
                    self.fail(f"not a JSON log line: {line[:200]!r}")
                if rec.get("msg", "").startswith("temporal: ") and rec.get("level") == "warn":
                    library += 1
        self.assertGreater(library, 0, "no line of the Temporal library during the outage")

    def test_mariadb_killed_under_load(self):
        self.kill_under_load(SERVERS.mariadb)

    def test_redis_killed_under_load(self):
        self.kill_under_load(SERVERS.redis)


if __name__ == "__main__":
    unittest.main()

"""scripts/demo --replicas 2 on the running stack (either profile; the demo is told which):
two replicas of each of the six daemons on the default ports (2108x, 2208x) from this build
tree, with pid files and logs in a directory of the test's own. The demo's orders go through
both replicas of both orchestrators and succeed; `scripts/suite down` stops every replica."""
import os
import re
import shutil
import tempfile
import unittest

import harness as h
import prodlib as p

ORCHESTRATORS = {"orchestrator-pure": 21080, "orchestrator-temporal": 21081}
ALL_PORTS = [base + 1000 * r for base in range(21080, 21086) for r in (0, 1)]


def posts(port):
    st, _, text = h.http("GET", f"http://127.0.0.1:{port}/metrics")
    assert st == 200, st
    return sum(float(m.group(1)) for m in re.finditer(
        r'^http_requests_total\{.*method="POST".*\} (\S+)$', text, re.M))


class DemoReplicasTest(unittest.TestCase):
    def setUp(self):
        busy = [port for port in ALL_PORTS if h.port_open(port)]
        if busy:
            self.fail(f"ports {busy} in use (a demo running?): stop it to run this test")
        self.dir = tempfile.mkdtemp(prefix="saga-demo-")
        self.env = {"SUITE_DIR": self.dir, "BUILD_DIR": h.BUILD_DIR}

    def tearDown(self):
        cp = p.script("suite", "down", env=self.env)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.assertEqual(cp.returncode, 0, cp.stderr)

    def test_two_replicas_take_orders_on_both_orchestrators(self):
        args = ["--replicas", "2"]
        if p.stack_profile() == "production":
            args.append("--production")
        cp = p.script("demo", *args, env=self.env, timeout=900)
        self.assertEqual(cp.returncode, 0, cp.stdout[-3000:] + cp.stderr[-3000:])
        self.assertIn("== Replica 1 of each orchestrator ==", cp.stdout)
        # Replica 0: one order that succeeds and one refused per orchestrator; replica 1: one
        # that succeeds per orchestrator.
        answers = re.findall(r'^\{"success":(true|false)', cp.stdout, re.M)
        self.assertEqual(sorted(answers), ["false"] * 2 + ["true"] * 4, cp.stdout)
        for name, port in ORCHESTRATORS.items():
            for r in (0, 1):
                self.assertGreaterEqual(posts(port + 1000 * r), 1, f"{name} replica {r}")
        status = p.script("suite", "status", env=self.env).stdout
        for r in (0, 1):
            for name in ("service-order", "orchestrator-temporal", "service-notification"):
                me = name if r == 0 else f"{name}-r{r}"
                self.assertIn(f"{me}: running", status)
        # Chaos hook: SIGKILL replica 1 of every daemon; replica 0 keeps serving.
        cp = p.script("suite", "kill", "--replica", "1", env=self.env)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        h.wait_until(lambda: not any(h.port_open(b + 1000) for b in range(21080, 21086)),
                     timeout=10, what="replica 1 of every daemon to be gone")
        self.assertTrue(all(h.port_open(b) for b in range(21080, 21086)))
        self.assertEqual(p.script("suite", "down", env=self.env).returncode, 0)
        self.assertEqual([port for port in ALL_PORTS if h.port_open(port)], [])


if __name__ == "__main__":
    unittest.main()

"""scripts/test against stand-ins: a `scripts/stack` and `scripts/fuzz` that record what they are
asked to do, and `cmake`/`ctest` that do nothing. scripts/test must stop the stack afterwards
only when it started it, however slowly `scripts/stack status` writes its lines, and must run
the fuzz targets."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.environ.get("SAGA_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# The stand-in stack prints its status the way scripts/stack does, one line per server, with a
# pause between lines (the real one probes a port per line), so a reader that stops early
# makes the writer die of SIGPIPE.
FAKE_STACK = """#!/usr/bin/env bash
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "$1" >>"$here/../calls"
case "$1" in
  status)
    while read -r line; do echo "$line"; sleep 0.3; done <"$here/../status"
    ;;
esac
"""


def executable(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class ScriptTestStack(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="saga-scripts-")
        os.makedirs(os.path.join(self.root, "scripts"))
        os.makedirs(os.path.join(self.root, "bin"))
        shutil.copy(os.path.join(SOURCE_DIR, "scripts", "test"),
                    os.path.join(self.root, "scripts", "test"))
        executable(os.path.join(self.root, "scripts", "setup"), "#!/bin/sh\nexit 0\n")
        executable(os.path.join(self.root, "scripts", "stack"), FAKE_STACK)
        executable(os.path.join(self.root, "scripts", "fuzz"),
                   '#!/bin/sh\necho "fuzz $*" >>"$(dirname "$0")/../calls"\n')
        for tool in ("cmake", "ctest"):
            executable(os.path.join(self.root, "bin", tool), "#!/bin/sh\nexit 0\n")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def run_script(self, status_lines):
        with open(os.path.join(self.root, "status"), "w") as f:
            f.write("\n".join(status_lines) + "\n")
        env = dict(os.environ, PATH=os.path.join(self.root, "bin") + os.pathsep + os.environ["PATH"])
        env.pop("BUILD_DIR", None)
        env.pop("FUZZ_SECONDS", None)
        env["SAGA_TEST_PRODUCTION"] = "0"  # the dev pass only: no production stack here
        out = subprocess.run(["bash", os.path.join(self.root, "scripts", "test")], env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(os.path.join(self.root, "calls")) as f:
            return [c.strip() for c in f if c.strip()]

    def test_a_stack_the_demo_started_keeps_running(self):
        calls = self.run_script(["mariadb: running (pid 11, port 21306)",
                                 "redis: running (pid 12, port 21379)",
                                 "temporal: running (pid 13, port 21733)"])
        self.assertIn("up", calls)
        self.assertNotIn("down", calls)

    def test_servers_of_another_process_are_left_alone(self):
        calls = self.run_script(["mariadb: port 21306 served by another process",
                                 "redis: stopped",
                                 "temporal: stopped"])
        self.assertNotIn("down", calls)

    def test_a_stack_the_tests_started_is_stopped(self):
        calls = self.run_script(["mariadb: stopped", "redis: stopped", "temporal: stopped"])
        self.assertEqual(calls[-1], "down")

    def test_every_fuzz_target_runs_briefly_after_the_tests(self):
        calls = self.run_script(["mariadb: stopped", "redis: stopped", "temporal: stopped"])
        self.assertIn("fuzz all 25", calls)
        self.assertLess(calls.index("up"), calls.index("fuzz all 25"))


class TestsLeaveTheDemoAlone(unittest.TestCase):
    """Daemons started by tests never take the demo's ports or use its databases."""

    def setUp(self):
        sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
        import harness
        self.h = harness

    def test_a_daemon_on_a_demo_port_is_refused(self):
        for port in (21080, 21083, 21085):
            with self.assertRaises(AssertionError):
                self.h.Daemon("service-inventory", port)

    def test_daemons_use_test_databases_unless_a_test_names_one(self):
        for name, db in self.h.DAEMON_DATABASES.items():
            d = self.h.Daemon(name, 22999)
            self.assertEqual(d.env["MYSQL_DATABASE"], "test_" + db)
        d = self.h.Daemon("service-order", 22999, {"MYSQL_DATABASE": "mine"})
        self.assertEqual(d.env["MYSQL_DATABASE"], "mine")
        self.assertEqual(self.h.db_for_tests("order_db"), "test_order_db")
        self.assertEqual(self.h.db_for_tests("mysql"), "mysql")


if __name__ == "__main__":
    unittest.main()

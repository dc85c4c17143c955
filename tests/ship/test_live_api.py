"""schemathesis against each of the six running daemons, every operation of its tag in
docs/openapi.yaml, valid and invalid inputs (examples, coverage and fuzzing phases): no 5xx, and
every answer conforms to the document (status, content type, headers, body schema), and invalid
input is refused. The daemons run on their own databases (migrated under MySQL 8's sql_mode),
stream and task queue, so random ids never touch another test's data."""
import os
import subprocess
import sys
import time
import unittest

import shiplib as S
import livelib as L

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance,negative_data_rejection")
MAX_EXAMPLES = int(os.environ.get("SHIP_FUZZ_EXAMPLES", "12"))
SEED = os.environ.get("SHIP_FUZZ_SEED", "20261125")


class LiveApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = S.tool("st", "SCHEMATHESIS")
        if not cls.st:
            raise AssertionError("schemathesis (st) not found: pip install -r scripts/requirements-ship.txt")
        cls.suite = L.Suite(25080, "fuzz", extra_env={"ORDER_SYNC_TIMEOUT_MS": 15000,
                                                       "FAKE_PG_LIMIT": 1000000}).start()

    @classmethod
    def tearDownClass(cls):
        cls.suite.stop()

    def test_schemathesis_every_daemon(self):
        out_dir = os.path.join(os.environ.get("SHIP_OUT_DIR", S.BUILD_DIR), "schemathesis")
        os.makedirs(out_dir, exist_ok=True)
        procs = {}
        for name in L.Suite.ORDER:
            log = open(os.path.join(out_dir, f"{name}.log"), "w")
            cmd = [self.st, "run", S.src("docs", "openapi.yaml"), "--url", self.suite.url[name],
                   "--include-tag", name, "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
                   "--max-examples", str(MAX_EXAMPLES), "--seed", SEED, "--workers", "1",
                   "--request-timeout", "30", "--no-shrink", "--warnings", "off",
                   "--report", "junit", "--report-junit-path", os.path.join(out_dir, f"{name}.xml")]
            procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                            env=dict(os.environ, NO_COLOR="1")), log)
        deadline = time.monotonic() + 200
        failures = []
        for name, (p, log) in procs.items():
            try:
                rc = p.wait(max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                rc = "timeout"
            log.close()
            with open(log.name) as f:
                text = f.read()
            print(f"--- schemathesis {name}: exit {rc}\n{text[-1500:]}", file=sys.stderr)
            with self.subTest(daemon=name):
                if rc != 0:
                    failures.append(name)
                self.assertEqual(rc, 0, f"schemathesis found problems on {name}:\n{text[-6000:]}")
                self.assertNotIn("No operations", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)

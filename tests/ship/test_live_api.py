"""schemathesis against each of the six running daemons, every operation of its tag in
docs/openapi.yaml, valid and invalid inputs (examples, coverage and fuzzing phases): no 5xx, and
every answer conforms to the document (status, content type, headers, body schema), and invalid
input is refused. Requests carry the token each operation's security scheme names (a
schemathesis.toml maps serviceToken / adminToken to the suite's tokens), and `ignored_auth`
checks that every protected operation refuses a request without or with a wrong token. The daemons run on their own databases (migrated under MySQL 8's sql_mode),
stream and task queue, so random ids never touch another test's data."""
import os
import re
import subprocess
import sys
import time
import unittest

import shiplib as S
import livelib as L

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance,negative_data_rejection,"
          "unsupported_method,allow_header_conformance,missing_required_header,ignored_auth")
# Fuzzing-phase examples per operation (the coverage phase adds its boundary and invalid cases
# regardless). A valid order runs a whole saga, so the orchestrators get fewer.
MAX_EXAMPLES = {"orchestrator-pure": 5, "orchestrator-temporal": 4}
DEFAULT_EXAMPLES = int(os.environ.get("SHIP_FUZZ_EXAMPLES", "10"))
SEED = os.environ.get("SHIP_FUZZ_SEED", "20261125")
# Failures accepted on purpose, each with an issue reported to the daemon's owner (see the file).
BASELINE = S.src("tests", "ship", "schemathesis-baseline.json")


class LiveApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = S.tool("st", "SCHEMATHESIS")
        if not cls.st:
            raise AssertionError("schemathesis (st) not found: pip install -r scripts/requirements-ship.txt")
        cls.suite = L.Suite(25080, "fuzz", extra_env={"ORDER_SYNC_TIMEOUT_MS": 3000,
                                                       "FAKE_PG_LIMIT": 1000000}).start()

    @classmethod
    def tearDownClass(cls):
        cls.suite.stop()

    def test_schemathesis_every_daemon(self):
        out_dir = os.path.join(os.environ.get("SHIP_OUT_DIR", S.BUILD_DIR), "schemathesis")
        os.makedirs(out_dir, exist_ok=True)
        procs = {}
        # Tokens by security scheme; the values stay in the environment, not in the file.
        config = os.path.join(out_dir, "schemathesis.toml")
        with open(config, "w") as f:
            f.write('[auth.openapi.serviceToken]\nbearer = "${SERVICE_TOKEN}"\n'
                    '[auth.openapi.adminToken]\nbearer = "${ADMIN_TOKEN}"\n')
        st_env = dict(os.environ, NO_COLOR="1", SERVICE_TOKEN=L.H.SERVICE_TOKEN,
                      ADMIN_TOKEN=L.H.ADMIN_TOKEN)
        # SHIP_FUZZ_ONLY=daemon-or-run,... narrows a manual run (e.g. to refresh the baseline with
        # SHIP_FUZZ_EXTRA=--baseline-update, one run at a time).
        only = [x for x in os.environ.get("SHIP_FUZZ_ONLY", "").split(",") if x]
        jobs = []  # (label, daemon, extra arguments)
        for name in L.Suite.ORDER:
            if name.startswith("orchestrator"):
                # A valid order runs a whole saga: boundary-valid coverage cases would start
                # hundreds of them. Invalid input gets every phase; valid input the examples
                # and a few fuzzed cases.
                jobs.append((f"{name}-negative", name, ["--mode", "negative", "--phases",
                                                        "coverage,fuzzing", "--max-examples", "10"]))
                jobs.append((f"{name}-positive", name, ["--mode", "positive", "--phases",
                                                        "examples,fuzzing", "--max-examples",
                                                        str(MAX_EXAMPLES[name])]))
            else:
                jobs.append((name, name, ["--phases", "examples,coverage,fuzzing",
                                          "--max-examples", str(DEFAULT_EXAMPLES)]))
        jobs = [j for j in jobs if not only or j[0] in only or j[1] in only]
        jobs_daemon = {label: name for label, name, _ in jobs}
        for label, name, extra in jobs:
            log = open(os.path.join(out_dir, f"{label}.log"), "w")
            cmd = [self.st, "--config-file", config, "run", S.src("docs", "openapi.yaml"),
                   "--url", self.suite.url[name],
                   "--include-tag", name, "--checks", CHECKS, *extra, "--seed", SEED,
                   "--workers", "1", "--request-timeout", "30", "--no-shrink", "--warnings", "off",
                   "--report", "junit", "--report-junit-path", os.path.join(out_dir, f"{label}.xml")]
            if os.path.exists(BASELINE):
                cmd += ["--baseline", BASELINE]
            cmd += os.environ.get("SHIP_FUZZ_EXTRA", "").split()
            procs[label] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                             env=st_env), log)
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
            with self.subTest(run=name):
                if rc != 0:
                    failures.append(name)
                self.assertEqual(rc, 0, f"schemathesis found problems on {name}:\n{text[-6000:]}")
                self.assertNotIn("No operations", text)
                want = sum(1 for op in S.spec_operations(S.load_spec()).values()
                           if jobs_daemon[name] in op.get("tags", []))
                m = re.search(r"Selected:\s*(\d+)/\d+\s+Tested:\s*(\d+)", text)
                self.assertIsNotNone(m, "no operation summary in the schemathesis output")
                self.assertEqual((int(m.group(1)), int(m.group(2))), (want, want),
                                 "every operation of the daemon must be tested")


if __name__ == "__main__":
    unittest.main(verbosity=2)

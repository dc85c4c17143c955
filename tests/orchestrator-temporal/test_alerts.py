"""docs/alerts/saga-alerts.yml, group `temporal`: every rule is well formed (alert, expr, severity,
a runbook anchor that exists in docs/operations.md), every metric it names is one that
orchestrator-temporal exports (read from its source), and, when promtool is on the PATH,
`promtool check rules` accepts the file. No server needed."""
import os
import re
import shutil
import subprocess
import unittest

import yaml

SRC = os.environ.get("SAGA_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
RULES = os.path.join(SRC, "docs", "alerts", "saga-alerts.yml")
OPS = os.path.join(SRC, "docs", "operations.md")
# common's calls, and workflow.c's count(ctx, "name", ...) wrapper
METRIC_CALL = re.compile(r'(?:metrics_(?:counter_add|gauge_set|histogram_observe)|\bcount)'
                         r'\(\s*[^,]+,\s*"(\w+)"')


def exported():
    names = {"up"}
    for d in ("orchestrator-temporal", os.path.join("common", "src")):
        for root, _, files in os.walk(os.path.join(SRC, d)):
            for f in files:
                if f.endswith(".c"):
                    with open(os.path.join(root, f)) as fh:
                        names |= set(METRIC_CALL.findall(fh.read()))
    return names


def anchors():
    with open(OPS) as f:
        heads = [ln.lstrip("#").strip() for ln in f if ln.startswith("#")]
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in heads}


class TemporalAlerts(unittest.TestCase):
    def setUp(self):
        with open(RULES) as f:
            doc = yaml.safe_load(f)
        groups = {g["name"]: g for g in doc["groups"]}
        self.assertIn("temporal", groups)
        self.rules = groups["temporal"]["rules"]

    def test_rules_are_well_formed_and_documented(self):
        self.assertGreaterEqual(len(self.rules), 5)
        known = anchors()
        for r in self.rules:
            with self.subTest(alert=r.get("alert")):
                self.assertRegex(r["alert"], r"^Temporal[A-Za-z]+$")
                self.assertIn(r["labels"]["severity"], ("warning", "critical"))
                self.assertTrue(r["annotations"]["summary"])
                anchor = r["annotations"]["runbook"].split("#", 1)[1]
                self.assertIn(anchor, known, "runbook anchor missing in operations.md")
                self.assertIn('job="orchestrator-temporal"', r["expr"])

    def test_every_metric_named_is_exported_by_orchestrator_temporal(self):
        have = exported()
        for r in self.rules:
            for name in re.findall(r"\b([a-z_]+)\{", r["expr"]):
                with self.subTest(alert=r["alert"], metric=name):
                    self.assertIn(name, have)

    @unittest.skipUnless(shutil.which("promtool"), "promtool not installed")
    def test_promtool_accepts_the_file(self):
        cp = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

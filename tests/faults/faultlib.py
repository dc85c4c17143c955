"""Fault tests' own world: a private MariaDB, Redis and Temporal dev server (ports 29306, 29379,
29733), the six daemons on 29080-29085, a closed-loop order load, and the invariants every
order must satisfy after a fault. Nothing here touches the shared stack of `scripts/stack up`:
the ctest environment points MYSQL_PORT, REDIS_PORT and TEMPORAL_ADDRESS at the private servers.

Standard library only; daemons are started through tests/support/harness.py.
"""
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import threading
import time
import urllib.error

import harness as h

MYSQL_PORT = int(h.MYSQL["port"])
REDIS_PORT = int(h.REDIS_PORT)
TEMPORAL_PORT = int(h.TEMPORAL_ADDRESS.rsplit(":", 1)[1])
if {MYSQL_PORT, REDIS_PORT, TEMPORAL_PORT} & {21306, 21379, 21733}:
    raise SystemExit("fault tests must run against their own servers (see tests/faults/CMakeLists.txt)")

PORTS = {"orchestrator-pure": 29080, "orchestrator-temporal": 29081, "service-order": 29082,
         "service-inventory": 29083, "service-payment": 29084, "service-notification": 29085}
DATA_DIR = os.path.join(h.BUILD_DIR, "faults")
TERMINAL_PURE = ("COMPLETED", "COMPENSATED")


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def url(name):
    return f"http://127.0.0.1:{PORTS[name]}"


# ---- servers ----------------------------------------------------------------------------------

class Server:
    """One server process of our own; kill() is the SIGKILL a fault test is about."""

    def __init__(self, name, argv, ready, timeout=90, config=b""):
        self.name, self.argv, self.ready, self.timeout = name, argv, ready, timeout
        self.config = config  # written to its stdin (secrets stay out of argv)
        self.proc = None
        self.log_path = os.path.join(DATA_DIR, "logs", f"{name}.log")

    def start(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.PIPE, start_new_session=True)
        self.proc.stdin.write(self.config)
        self.proc.stdin.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            return self.ready()
        h.wait_until(up, self.timeout, 0.2, what=f"{self.name} ready")
        return self

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


class Paused:
    """A daemon frozen with SIGSTOP instead of killed: kill() stops it, start() resumes it
    (SIGCONT). Connections to it stay open and silent meanwhile, the nastiest outage a caller
    sees."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.name = daemon.name + "-paused"

    def kill(self):
        self.daemon.proc.send_signal(signal.SIGSTOP)

    def start(self):
        self.daemon.proc.send_signal(signal.SIGCONT)
        return self


def _quiet(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


class Servers:
    """MariaDB, Redis and the Temporal dev server of the fault tests, with fresh data."""

    def __init__(self, temporal=True):
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        os.makedirs(os.path.join(DATA_DIR, "logs"))
        self.sock = os.path.join(DATA_DIR, "mariadb.sock")
        user = ["--user=root"] if os.getuid() == 0 else []
        mdir = os.path.join(DATA_DIR, "mariadb")
        out = _quiet(["mariadb-install-db", "--no-defaults", f"--datadir={mdir}", *user,
                      "--auth-root-authentication-method=socket", "--skip-test-db"])
        if out.returncode != 0:
            raise AssertionError("mariadb-install-db failed:\n" + out.stdout + out.stderr)
        self.mariadb = Server("mariadb", [
            "mariadbd", "--no-defaults", f"--datadir={mdir}", *user, f"--port={MYSQL_PORT}",
            "--bind-address=127.0.0.1", f"--socket={self.sock}",
            f"--log-error={os.path.join(DATA_DIR, 'logs', 'mariadb-error.log')}",
            "--skip-name-resolve", "--max-connections=1000", "--innodb-buffer-pool-size=64M",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"],
            lambda: _quiet(["mariadb-admin", "--no-defaults", f"--socket={self.sock}", "-uroot",
                            "ping"]).returncode == 0)
        rdir = os.path.join(DATA_DIR, "redis")
        os.makedirs(rdir)
        # The stack's password (as config on stdin: "-"), so the daemons' settings fit.
        self.redis = Server("redis", [
            "redis-server", "-", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--dir", rdir,
            "--appendonly", "yes", "--save", "", "--daemonize", "no"],
            lambda: h.redis_cli("PING") == "PONG",
            config=f"requirepass {h.REDIS_PASSWORD}\n".encode() if h.REDIS_PASSWORD else b"")
        self.temporal = None
        if temporal:
            self.temporal = Server("temporal", [
                h.TEMPORAL_CLI, "server", "start-dev", "--ip", "127.0.0.1",
                "--port", str(TEMPORAL_PORT), "--headless",
                "--db-filename", os.path.join(DATA_DIR, "temporal.db"), "--log-level", "warn",
                "--dynamic-config-value", "system.enableActivityEagerExecution=true"],
                lambda: _quiet([h.TEMPORAL_CLI, "operator", "namespace", "describe", "--namespace",
                                "default", "--address", h.TEMPORAL_ADDRESS]).returncode == 0)

    def start(self):
        self.mariadb.start()
        pw = h.MYSQL["password"].replace("\\", "\\\\").replace("'", "\\'")
        self.root_sql(f"CREATE USER IF NOT EXISTS '{h.MYSQL['user']}'@'%' IDENTIFIED BY '{pw}';"
                      f"GRANT ALL PRIVILEGES ON *.* TO '{h.MYSQL['user']}'@'%'; FLUSH PRIVILEGES;")
        h.ensure_test_databases()  # the databases harness gives the daemons
        self.redis.start()
        if self.temporal:
            self.temporal.start()
        return self

    def root_sql(self, text, db=None):
        out = _quiet(["mariadb", "--no-defaults", f"--socket={self.sock}", "-uroot"]
                     + ([db] if db else []), input=text)
        if out.returncode != 0:
            raise AssertionError(f"SQL failed: {out.stderr}")

    def stop(self):
        for s in (self.temporal, self.redis, self.mariadb):
            if s is not None:
                s.stop()


# ---- daemons ----------------------------------------------------------------------------------

class Suite:
    """The daemons a test needs, started against the private servers."""

    def __init__(self, tag, names, **env):
        self.queue = h.uid("faults-")
        self.urls = {"ORDER_SERVICE_URL": url("service-order"),
                     "INVENTORY_SERVICE_URL": url("service-inventory"),
                     "PAYMENT_SERVICE_URL": url("service-payment")}
        common = {"HTTP_THREADS": 8, "SAGA_RETRY_INITIAL_MS": 200, "SAGA_RETRY_MAX_MS": 2000,
                  "TEMPORAL_TASK_QUEUE": self.queue, "NOTIFICATION_CLAIM_IDLE_MS": 2000,
                  "NOTIFICATION_CLAIM_EVERY_MS": 1000}
        common.update(env)
        self.daemons = {}
        for n in names:
            e = dict(common)
            if n.startswith("orchestrator"):
                e.update(self.urls)
            if n == "orchestrator-pure":
                e.setdefault("HTTP_THREADS", 64)
            self.daemons[n] = h.Daemon(n, PORTS[n], e, log_name=f"faults-{tag}-{n}")

    def start(self):
        try:
            for d in self.daemons.values():
                d.start(60)
        except Exception:
            for d in self.daemons.values():
                d.kill()
            raise
        return self

    def alive(self):
        """Names of the daemons whose process has exited."""
        return [n for n, d in self.daemons.items() if d.proc is None or d.proc.poll() is not None]

    def ready(self):
        return all(h.http("GET", d.url + "/ready", timeout=5)[0] == 200
                   for d in self.daemons.values())

    def stop(self):
        errors = []
        for d in reversed(list(self.daemons.values())):
            try:
                d.stop(60)
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            raise AssertionError("; ".join(errors))


def world(tag, names, temporal, **env):
    """Servers and daemons of one test module: (servers, suite), both started."""
    raise_fd_limit()
    servers = Servers(temporal=temporal).start()
    try:
        return servers, Suite(tag, names, **env).start()
    except Exception:
        servers.stop()
        raise


def world_stop(servers, suite):
    try:
        if suite:
            suite.stop()
    finally:
        if servers:
            servers.stop()


def new_product(stock):
    pid = random.randint(10**8, 10**12)
    st, _, body = h.http("PUT", f"{url('service-inventory')}/api/inventory/{pid}",
                         {"available": stock})
    assert st in (200, 201), (st, body)
    return pid


def order_body(pid, quantity=1, amount=10000):
    return {"customerId": 7, "productId": pid, "quantity": quantity, "amount": amount,
            "paymentMethod": "CARD"}


# ---- load -------------------------------------------------------------------------------------

class Orchestrator:
    """What differs between the two orchestrators for a client."""

    def __init__(self, kind):
        self.kind = kind
        if kind == "pure":
            self.post = url("orchestrator-pure") + "/api/pure/orders"
            self.id_field = "sagaId"
        else:
            self.post = url("orchestrator-temporal") + "/api/temporal/orders"
            self.id_field = "workflowId"

    def saga_id(self, key):
        return ("pure-" + key) if self.kind == "pure" else None

    def final(self, saga_id):
        """The order's final result, or None while it runs (or cannot be read)."""
        try:
            st, _, body = h.http("GET", f"{self.post}/{saga_id}", timeout=10)
        except (OSError, urllib.error.URLError):
            return None
        if st != 200 or not isinstance(body, dict):
            return None
        if self.kind == "pure":
            return body.get("result") if body.get("status") in TERMINAL_PURE else None
        return body.get("result") if body.get("status") not in ("RUNNING", None) else None


class Request:
    def __init__(self, key):
        self.key = key          # None: the client sends no Idempotency-Key
        self.answers = []       # (status, body) of every POST, in order
        self.saga_id = None
        self.result = None      # the final {"success": ...}

    def __repr__(self):
        return f"Request(key={self.key}, saga={self.saga_id}, answers={self.answers[-3:]})"


class Load:
    """`threads` clients placing orders in a closed loop until stop(). A keyed client retries
    a 409/429/5xx or a lost connection with the same key until it gets 200 or 202; a client
    without a key retries only when the answer hands it a key to retry with (otherwise it
    cannot do so safely) and records what it got."""

    def __init__(self, orch, pid, threads, keyless_every=0, timeout=45):
        self.orch, self.pid, self.threads = orch, pid, threads
        self.keyless_every, self.timeout = keyless_every, timeout
        self.requests, self.lock = [], threading.Lock()
        self.stopping = threading.Event()
        self.workers = []

    def start(self):
        for i in range(self.threads):
            keyless = self.keyless_every and i % self.keyless_every == self.keyless_every - 1
            t = threading.Thread(target=self.client, args=(not keyless,), daemon=True)
            t.start()
            self.workers.append(t)
        return self

    def client(self, keyed):
        while not self.stopping.is_set():
            r = Request(h.uid("flt-") if keyed else None)
            with self.lock:
                self.requests.append(r)
            while True:
                hdrs = {"Idempotency-Key": r.key} if r.key else {}
                try:
                    st, _, body = h.http("POST", self.orch.post, order_body(self.pid), hdrs,
                                         timeout=self.timeout)
                except (OSError, urllib.error.URLError) as e:
                    st, body = 0, str(e)
                r.answers.append((st, body))
                if st in (200, 202):
                    r.saga_id = body.get(self.orch.id_field) if isinstance(body, dict) else None
                    if st == 200:
                        r.result = body
                    break
                if not r.key and st == 503 and isinstance(body, dict) and body.get("idempotencyKey"):
                    # "not known whether it was created; retry with this key": a careful client
                    # without a key of its own does exactly that.
                    r.key = body["idempotencyKey"]
                if not r.key or st not in (0, 409, 429, 500, 502, 503, 504):
                    if st not in (200, 202):
                        time.sleep(0.2)  # a refused client comes back a little later
                    break
                time.sleep(0.5)

    def stop(self):
        self.stopping.set()
        for t in self.workers:
            t.join(120)
        return self.requests

    def settle(self, timeout=120):
        """Polls every accepted order until it ends; fails after `timeout` s."""
        def open_ones():
            left = [r for r in self.requests if r.saga_id and r.result is None]
            for r in left:
                r.result = self.orch.final(r.saga_id)
            return [r for r in left if r.result is None]
        h.wait_until(lambda: not open_ones(), timeout, 1.0, what="every accepted order to end")


class Probe:
    """Places one fresh order every `every` s from `start()`; `first_success` is the time of the
    first order that succeeded after `since` (time to recover)."""

    def __init__(self, orch, pid, every=0.5):
        self.orch, self.pid, self.every = orch, pid, every
        self.first_success = None
        self.since = None
        self.stopping = threading.Event()
        self.thread = None

    def start(self, since):
        self.since = since
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self):
        while not self.stopping.is_set() and self.first_success is None:
            try:
                st, _, body = h.http("POST", self.orch.post, order_body(self.pid),
                                     {"Idempotency-Key": h.uid("probe-")}, timeout=60)
                if st == 200 and body.get("success") is True:
                    self.first_success = time.monotonic()
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(self.every)

    def recovered_after(self, timeout=120):
        h.wait_until(lambda: self.first_success is not None, timeout, 0.5,
                     what="a new order to succeed after the restart")
        return self.first_success - self.since

    def stop(self):
        self.stopping.set()
        if self.thread:
            self.thread.join(70)


# ---- invariants -------------------------------------------------------------------------------

def rows(db, query):
    return h.sql(db, query)


def check_saga_data(test, pid, start_stock):
    """Each saga of product `pid` ended consistently in every service, and stock adds up."""
    orders = {s: st for s, st in rows("order_db",
                                      f"SELECT saga_id, status FROM orders WHERE product_id={pid}")}
    pays = {}
    for s, st in rows("payment_db", "SELECT p.saga_id, p.status FROM payments p"):
        pays.setdefault(s, []).append(st)
    res = {s: (st, int(q)) for s, st, q in rows(
        "inventory_db", "SELECT saga_id, status, quantity FROM inventory_reservations "
        f"WHERE product_id={pid}")}
    confirmed_qty = 0
    for saga, st in orders.items():
        p = pays.get(saga, [])
        r = res.get(saga)
        test.assertLessEqual(len(p), 1, f"{saga}: {len(p)} payments")
        if st == "CONFIRMED":
            test.assertEqual(p, ["CONFIRMED"], f"{saga}: order CONFIRMED, payment {p}")
            test.assertEqual(r and r[0], "CONFIRMED", f"{saga}: order CONFIRMED, reservation {r}")
        else:
            test.assertEqual(st, "CANCELLED", f"{saga}: order left {st}")
            test.assertIn(p, ([], ["REFUNDED"], ["FAILED"]), f"{saga}: order CANCELLED, payment {p}")
            test.assertIn(r and r[0], (None, "CANCELLED"), f"{saga}: order CANCELLED, reservation {r}")
    for saga, (st, q) in res.items():
        test.assertIn(st, ("CONFIRMED", "CANCELLED"), f"{saga}: reservation left {st}")
        if st == "CONFIRMED":
            test.assertEqual(orders.get(saga), "CONFIRMED", f"{saga}: stock taken without an order")
            confirmed_qty += q
    st, _, inv = h.http("GET", f"{url('service-inventory')}/api/inventory/{pid}")
    test.assertEqual(st, 200)
    test.assertEqual(inv["reserved"], 0, "stock still reserved")
    test.assertEqual(inv["available"], start_stock - confirmed_qty, "stock does not add up")
    return orders


def outbox_event_ids():
    ids = set()
    for db, svc in (("order_db", "service-order"), ("inventory_db", "service-inventory"),
                    ("payment_db", "service-payment")):
        ids |= {f"{svc}:{i}" for (i,) in rows(db, "SELECT id FROM outbox_events")}
    return ids


def check_notifications_once(test, timeout=120):
    """Every outbox event of the services is published and stored as a notification exactly
    once (the UNIQUE event id makes a second copy impossible; this finds a lost one)."""
    def done():
        unpublished = sum(int(h.sql_value(db, "SELECT COUNT(*) FROM outbox_events WHERE "
                                              "published_at IS NULL"))
                          for db in ("order_db", "inventory_db", "payment_db"))
        stored = {e for (e,) in rows("notification_db", "SELECT event_id FROM notifications")}
        return unpublished == 0 and outbox_event_ids() <= stored
    h.wait_until(done, timeout, 1.0, what="every outbox event stored as a notification")
    n = int(h.sql_value("notification_db", "SELECT COUNT(*) FROM notifications"))
    d = int(h.sql_value("notification_db", "SELECT COUNT(DISTINCT event_id) FROM notifications"))
    test.assertEqual(n, d, "an event was stored twice")


def check_recovered(test, suite, timeout=60):
    """The daemons survived the fault without a restart and report ready again."""
    test.assertEqual(suite.alive(), [], "a daemon exited during the fault")
    h.wait_until(suite.ready, timeout, 0.5, what="every daemon /ready again")


def report(name, seconds):
    """Prints a measurement line the docs quote (docs/operations.md, time to recover)."""
    print(json.dumps({"measure": name, "seconds": round(seconds, 1)}), flush=True)

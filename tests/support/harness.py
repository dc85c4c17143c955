"""End-to-end test support: start daemons from the build tree, talk HTTP, read MySQL.

Standard library only. Daemons run as child processes with the environment a test gives them;
their output goes to <build>/test-logs/. Sanitizer reports in a daemon's log fail the test that
stopped it.

Credentials come the way scripts/suite gets them: from the environment if set, else from the
stack's secrets file ($STACK_DIR/secrets.env, default <source>/.stack/secrets.env) that
scripts/stack up writes. Daemons get SERVICE_TOKEN, ADMIN_TOKEN, REDIS_PASSWORD and
MYSQL_PASSWORD in their environment; http() signs requests like the orchestrators and an
operator do (see default_token), mariadb and redis-cli get their passwords through the
environment (MYSQL_PWD, REDISCLI_AUTH), never on a command line.
"""
import fcntl
import glob
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid

BUILD_DIR = os.environ.get("SAGA_BUILD_DIR", os.path.join(os.getcwd(), "build"))
SOURCE_DIR = os.environ.get("SAGA_SOURCE_DIR", os.getcwd())
LOG_DIR = os.path.join(BUILD_DIR, "test-logs")
STACK_DIR = os.environ.get("STACK_DIR") or os.path.join(SOURCE_DIR, ".stack")
SECRETS_FILE = os.path.join(STACK_DIR, "secrets.env")


def read_secrets(path=SECRETS_FILE):
    """KEY=value lines of a secrets file (scripts/stack's format) as a dict; {} if absent."""
    out = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    out[k.strip()] = v.strip()
    except FileNotFoundError:
        pass
    return out


_STACK_SECRETS = read_secrets()


def _secret(name, generate=False):
    value = os.environ.get(name) or _STACK_SECRETS.get(name)
    if not value and generate:
        value = secrets.token_hex(32)
    return value or ""


# Tokens of the daemons the tests start (generated per test process when the stack has none).
SERVICE_TOKEN = _secret("SERVICE_TOKEN", generate=True)
ADMIN_TOKEN = _secret("ADMIN_TOKEN", generate=True)
REDIS_USERNAME = _secret("REDIS_USERNAME")
REDIS_PASSWORD = _secret("REDIS_PASSWORD")

MYSQL = {
    "host": os.environ.get("MYSQL_HOST", "127.0.0.1"),
    "port": os.environ.get("MYSQL_PORT", "21306"),
    "user": os.environ.get("MYSQL_USER", "saga"),
    "password": _secret("MYSQL_PASSWORD"),
}
REDIS_PORT = os.environ.get("REDIS_PORT", "21379")


def secret_values():
    """Every credential a test run uses: no log line may contain one of them."""
    return {k: v for k, v in {"SERVICE_TOKEN": SERVICE_TOKEN, "ADMIN_TOKEN": ADMIN_TOKEN,
                              "REDIS_PASSWORD": REDIS_PASSWORD,
                              "MYSQL_PASSWORD": MYSQL["password"]}.items() if v}


# Routes only an operator may call (docs/security.md); every other service route takes the
# service token, reads take either.
ADMIN_ROUTES = [("PUT", re.compile(r"^/api/inventory/[^/]+/?$"))]
# Ports of the services (service-*) started by Daemon: only they get a token by default, so the
# order API is called as the public calls it and no token goes to any other server.
SERVICE_PORTS = set()


def default_token(method, url):
    """The token http() sends to `url` when a test gives none: None unless it is a service a
    Daemon of this process runs; then the admin token on admin routes, the service token
    elsewhere."""
    m = re.match(r"^[a-z]+://[^/:]+:(\d+)(/[^?]*)?", url)
    if not m or int(m.group(1)) not in SERVICE_PORTS:
        return None
    path = m.group(2) or "/"
    for meth, rx in ADMIN_ROUTES:
        if meth == method.upper() and rx.match(path):
            return ADMIN_TOKEN
    return SERVICE_TOKEN


def bearer(token):
    """{"Authorization": "Bearer <token>"} for a headers argument."""
    return {"Authorization": f"Bearer {token}"}
TEMPORAL_ADDRESS = os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:21733")
TEMPORAL_CLI = os.environ.get("SAGA_TEMPORAL_CLI", os.path.join(SOURCE_DIR, ".venv", "bin", "temporal"))

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ERROR: UndefinedBehaviorSanitizer")


def uid(prefix=""):
    """A fresh unique id for saga ids, keys and names."""
    return prefix + uuid.uuid4().hex[:16]


def binary(name):
    """Path of a daemon built from the folder `name` (e.g. "service-order")."""
    return os.path.join(BUILD_DIR, name, name)


def wait_until(check, timeout=30.0, interval=0.1, what="condition"):
    """Polls check() until it returns a truthy value, which is returned; fails after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # a daemon still starting refuses connections
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# Databases. A daemon a test starts uses test_<database> (the same migrations) unless the test
# names a database itself, and sql() reads those: a suite started by scripts/demo on the same
# MariaDB keeps its data (no test rows in its tables, no test relay draining its outbox to a
# test stream, no test saga its orchestrator-pure would pick up as stalled).
DAEMON_DATABASES = {"service-order": "order_db", "service-inventory": "inventory_db",
                    "service-payment": "payment_db", "service-notification": "notification_db",
                    "orchestrator-pure": "orchestrator_db"}
TEST_DB_PREFIX = "test_"
DEMO_PORTS = (21080, 21089)  # the daemons of scripts/demo (2108x, replica 0)
_test_dbs_ready = False


def db_for_tests(db):
    """The database the tests use in place of a daemon's default one (others unchanged)."""
    return TEST_DB_PREFIX + db if db in DAEMON_DATABASES.values() else db


def ensure_test_databases():
    """Creates the test databases and applies the migrations they lack (as scripts/stack
    migrate does), once per process; a file lock orders processes that start together."""
    global _test_dbs_ready
    if _test_dbs_ready:
        return
    os.makedirs(BUILD_DIR, exist_ok=True)
    with open(os.path.join(BUILD_DIR, "test-databases.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for schema in sorted(set(DAEMON_DATABASES.values())):
            db = db_for_tests(schema)
            _mysql(["-e", f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4 COLLATE "
                          "utf8mb4_unicode_ci; CREATE TABLE IF NOT EXISTS "
                          f"`{db}`.schema_migrations (version VARCHAR(191) NOT NULL PRIMARY KEY, "
                          "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"])
            done = set(_mysql(["-N", "-B", db, "-e", "SELECT version FROM schema_migrations"])
                       .split())
            for path in sorted(glob.glob(os.path.join(SOURCE_DIR, "sql", schema, "*.sql"))):
                name = os.path.basename(path)
                if name not in done:
                    with open(path, "rb") as f:
                        _mysql([db], stdin=f)
                    _mysql([db, "-e", f"INSERT INTO schema_migrations(version) VALUES ('{name}')"])
    _test_dbs_ready = True


def _mysql(args, stdin=None):
    return subprocess.run(mariadb_args() + args, check=True, stdin=stdin, capture_output=True,
                          env=mariadb_env()).stdout.decode()


def base_env(**extra):
    """Environment for a daemon: shared MySQL/Redis/Temporal settings plus `extra`."""
    env = dict(os.environ)
    env.update({
        "MYSQL_HOST": MYSQL["host"], "MYSQL_PORT": str(MYSQL["port"]),
        "MYSQL_USER": MYSQL["user"], "MYSQL_PASSWORD": MYSQL["password"],
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(REDIS_PORT),
        "REDIS_USERNAME": REDIS_USERNAME, "REDIS_PASSWORD": REDIS_PASSWORD,
        "SERVICE_TOKEN": SERVICE_TOKEN, "ADMIN_TOKEN": ADMIN_TOKEN,
        "TEMPORAL_ADDRESS": TEMPORAL_ADDRESS,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "info"),
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Daemon:
    """One daemon process. start() waits for GET /health; stop() sends SIGTERM and expects exit 0."""

    def __init__(self, name, port, env=None, args=(), log_name=None):
        self.name = name
        self.port = int(port)
        self.url = f"http://127.0.0.1:{self.port}"
        if DEMO_PORTS[0] <= self.port <= DEMO_PORTS[1]:
            raise AssertionError(f"port {self.port} belongs to a suite scripts/demo may run: "
                                 "tests use their own ranges (docs/development.md)")
        self.env = base_env(PORT=self.port, **(env or {}))
        if name in DAEMON_DATABASES and not (env or {}).get("MYSQL_DATABASE"):
            self.env["MYSQL_DATABASE"] = db_for_tests(DAEMON_DATABASES[name])
        if name.startswith("service-"):
            SERVICE_PORTS.add(self.port)
        self.args = list(args)
        self.proc = None
        os.makedirs(LOG_DIR, exist_ok=True)
        self.log_path = os.path.join(LOG_DIR, f"{log_name or name}-{self.port}.log")
        self._log = None

    def start(self, timeout=30.0):
        if self.env.get("MYSQL_DATABASE", "").startswith(TEST_DB_PREFIX):
            ensure_test_databases()
        if port_open(self.port):
            raise AssertionError(f"port {self.port} is already in use before starting {self.name}")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([binary(self.name)] + self.args, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            return http("GET", self.url + "/health", timeout=2)[0] == 200

        wait_until(healthy, timeout, what=f"{self.name} /health on {self.port}")
        return self

    def stop(self, timeout=30.0):
        """SIGTERM, wait, and check a clean exit (0) and a sanitizer-clean log."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not exit within {timeout}s of SIGTERM")
        code = self.proc.returncode
        self.proc = None
        self._close_log()
        self.check_log()
        if code != 0:
            raise AssertionError(f"{self.name} exited with {code} after SIGTERM; see {self.log_path}")

    def kill(self):
        """SIGKILL: the crash a test wants to survive."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self._close_log()

    def check_log(self):
        with open(self.log_path, "r", errors="replace") as f:
            text = f.read()
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise AssertionError(f"{self.name}: sanitizer report in {self.log_path}:\n"
                                     + text[text.index(mark) - 200 if text.index(mark) > 200 else 0:][:4000])

    def _close_log(self):
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def start_all(daemons):
    """Starts the daemons in order; if one fails, kills those started and re-raises."""
    started = []
    try:
        for d in daemons:
            d.start()
            started.append(d)
    except Exception:
        for d in reversed(started):
            d.kill()
        raise
    return daemons


def stop_all(daemons):
    """Stops daemons in reverse order (each one even when an earlier stop failed); returns the
    AssertionErrors of the stops that failed (unclean exit, sanitizer report)."""
    errors = []
    for d in reversed(list(daemons)):
        try:
            d.stop()
        except AssertionError as err:
            errors.append(err)
    return errors


def http(method, url, body=None, headers=None, timeout=30.0, raw=None, auth=True):
    """Sends one request. body: a JSON-able value (sent as JSON) or None; raw: bytes sent as is.
    auth: True sends default_token() (if any) unless headers carry an Authorization; False
    sends none.
    Returns (status, headers dict with lower-case names, parsed JSON or text or None)."""
    data = raw
    hdrs = dict(headers or {})
    token = default_token(method, url) if auth else None
    if token and not any(k.lower() == "authorization" for k in hdrs):
        hdrs.update(bearer(token))
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, rh, payload = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, rh, payload = err.code, err.headers, err.read()
    rh = {k.lower(): v for k, v in rh.items()}
    ctype = rh.get("content-type", "")
    if payload and "json" in ctype:
        return status, rh, json.loads(payload)
    return status, rh, (payload.decode(errors="replace") if payload else None)


def sql(db, query):
    """Runs SQL in database `db` (a daemon's default database means its test database, see
    db_for_tests) with the mariadb client; returns rows as lists of strings (NULL as None)."""
    if db_for_tests(db) != db:
        ensure_test_databases()
        db = db_for_tests(db)
    out = subprocess.run(
        mariadb_args() + ["-N", "-B", db, "-e", query],
        check=True, capture_output=True, text=True, env=mariadb_env()).stdout
    rows = []
    for line in out.splitlines():
        rows.append([None if c == "NULL" else c for c in line.split("\t")])
    return rows


def sql_value(db, query):
    """The first column of the first row, or None."""
    rows = sql(db, query)
    return rows[0][0] if rows else None


def mariadb_args():
    """The mariadb client's command line for the test server (the password is in mariadb_env)."""
    return ["mariadb", "--no-defaults", "-h", MYSQL["host"], "-P", str(MYSQL["port"]),
            "-u", MYSQL["user"]]


def mariadb_env():
    """Environment for the mariadb client: the password as MYSQL_PWD, not in argv."""
    return dict(os.environ, MYSQL_PWD=MYSQL["password"])


def redis_cli_args(port=None):
    """redis-cli's command line for the test Redis (the password is in redis_env)."""
    args = ["redis-cli", "-p", str(port or REDIS_PORT)]
    if REDIS_USERNAME:
        args += ["--user", REDIS_USERNAME]
    return args


def redis_env(password=None):
    """Environment for redis-cli: the password as REDISCLI_AUTH, not in argv."""
    env = dict(os.environ)
    env.pop("REDISCLI_AUTH", None)
    pw = REDIS_PASSWORD if password is None else password
    if pw:
        env["REDISCLI_AUTH"] = pw
    return env


def redis_cli(*args, port=None):
    """Runs one redis-cli command; returns its stdout stripped."""
    return subprocess.run(redis_cli_args(port) + [str(a) for a in args],
                          check=True, capture_output=True, text=True,
                          env=redis_env()).stdout.strip()


def temporal_cli(*args, timeout=120):
    """Runs the temporal CLI against the test server; returns CompletedProcess (text)."""
    return subprocess.run([TEMPORAL_CLI] + list(args) + ["--address", TEMPORAL_ADDRESS],
                          capture_output=True, text=True, timeout=timeout)

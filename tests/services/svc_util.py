"""Helpers shared by the service end-to-end tests: daemons on the services' test ports, raw
HTTP for inputs urllib refuses to send (huge bodies, odd methods), problem+json checks."""
import glob
import http.client
import json
import os
import subprocess
import socket
import threading
import unittest

import harness

# Test ports for this area: 22080-22099 (docs/development.md).
PORTS = {
    "order": 22082, "inventory": 22083, "payment": 22084,
    "payment-semaphore": 22085, "payment-faults": 22086,
    "order-bad": 22087, "inventory-bad": 22088, "payment-bad": 22089,
    "inventory-nolock": 22090, "order-relay-a": 22091, "order-relay-b": 22092,
    "inventory-relay": 22093, "payment-relay": 22094, "payment-drain": 22095,
    "busy-port": 22096, "payment-busy": 22097,
}


class Service(harness.Daemon):
    def __init__(self, name, port, env=None, stream=None):
        env = dict(env or {})
        # Our own stream so events from parallel tests never mix with ours.
        env.setdefault("ORDER_EVENTS_STREAM", stream or harness.uid("test:svc-events:"))
        env.setdefault("HTTP_THREADS", "16")
        super().__init__(name, port, env=env, log_name=f"{name}-svc")
        self.stream = env["ORDER_EVENTS_STREAM"]
        if not os.path.exists(harness.binary(name)):
            raise unittest.SkipTest(f"{harness.binary(name)} is not built")

    def get(self, path, **kw):
        return harness.http("GET", self.url + path, **kw)

    def call(self, method, path, body=None, key=None, headers=None):
        hdrs = dict(headers or {})
        if key:
            hdrs["Idempotency-Key"] = key
        return harness.http(method, self.url + path, body=body, headers=hdrs)


def _mariadb(args, stdin=None):
    subprocess.run(harness.mariadb_args() + args, check=True, stdin=stdin, capture_output=True,
                   env=harness.mariadb_env())


def private_database(schema):
    """A fresh database with the migrations of sql/<schema>/ applied, for tests that must not
    share outbox rows with other daemons (every relay on a database publishes all of its
    rows). Returns its name; drop it with drop_database."""
    name = harness.uid(f"t_{schema}_")
    _mariadb(["-e", f"CREATE DATABASE `{name}`"])
    for path in sorted(glob.glob(os.path.join(harness.SOURCE_DIR, "sql", schema, "*.sql"))):
        with open(path, "rb") as f:
            _mariadb([name], stdin=f)
    return name


def drop_database(name):
    _mariadb(["-e", f"DROP DATABASE IF EXISTS `{name}`"])


def relayed_events(svc, db, aggregate_type, aggregate_id, count):
    """Waits until the outbox rows of one aggregate are published, then returns the stream
    entries (field dicts) the daemon's relay wrote for it, oldest first."""
    def published():
        return harness.sql_value(
            db, "SELECT COUNT(*) FROM outbox_events WHERE aggregate_type = "
                f"'{aggregate_type}' AND aggregate_id = '{aggregate_id}' "
                "AND published_at IS NULL") == "0"

    harness.wait_until(published, 30, what=f"{aggregate_type} {aggregate_id} published")
    entries = [f for _, f in stream_events(svc.stream)
               if f.get("aggregateType") == aggregate_type
               and f.get("aggregateId") == str(aggregate_id)]
    assert len(entries) == count, entries
    return entries


def raw_request(port, method, path, body=b"", headers=None, timeout=30, auth=True):
    """Sends one request with http.client; tolerates the server answering before the whole
    body was sent (413). auth as in harness.http. Returns (status, headers dict lower-case,
    parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    hdrs = {"Content-Length": str(len(body))}
    token = harness.default_token(method, f"http://127.0.0.1:{port}{path}") if auth else None
    if token and not any(k.lower() == "authorization" for k in (headers or {})):
        hdrs.update(harness.bearer(token))
    hdrs.update(headers or {})
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        try:
            view = memoryview(body)
            for off in range(0, len(body), 65536):
                conn.sock.sendall(view[off:off + 65536])
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass  # the server already answered and closed; read what it said
        resp = conn.getresponse()
        data = resp.read()
        rh = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    ctype = rh.get("content-type", "")
    if data and "json" in ctype:
        return resp.status, rh, json.loads(data)
    return resp.status, rh, data.decode(errors="replace") if data else None


def concurrently(n, fn):
    """Runs fn(i) for i in range(n) on n threads started together; returns results in order.
    An exception in a thread is re-raised."""
    results = [None] * n
    errors = []
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def stream_events(stream):
    """Entries of a Redis stream as (id, {field: value}) pairs, oldest first."""
    out = harness.redis_cli("--json", "XRANGE", stream, "-", "+")
    entries = []
    for entry_id, flat in json.loads(out or "[]"):
        entries.append((entry_id, dict(zip(flat[0::2], flat[1::2]))))
    return entries


class ServiceCase(unittest.TestCase):
    """Assertions every service test uses."""

    def assertProblem(self, resp, status, code):
        st, headers, body = resp
        self.assertEqual(st, status, f"expected {status} {code}, got {st}: {body}")
        self.assertIn("application/problem+json", headers.get("content-type", ""), body)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(body.get("code"), code, body)
        self.assertEqual(body.get("status"), status, body)
        for member in ("type", "title", "detail"):
            self.assertIn(member, body)
        return body

    def assertOk(self, resp, status=200):
        st, _, body = resp
        self.assertEqual(st, status, body)
        return body

"""Helpers of the security tests: their ports (27090-27099), databases of their own, raw HTTP
for headers urllib refuses to send, problem+json checks, and log scans for secrets."""
import glob
import http.client
import json
import os
import socket
import subprocess
import time

import harness as h

# docs/development.md: security 27090-27099.
ORDER, INV, PAY, NOTIF, PURE, TEMPORAL, SCRATCH, OWN_REDIS, SCRATCH2, DEAD = range(27090, 27100)

WRONG_TOKEN = "f" * 64  # well-formed, neither configured token


def fresh_databases(prefix):
    """A new database per sql/<database>/ (named prefix + database) with its migrations applied.
    Returns {database: name}."""
    out = {}
    for d in sorted(glob.glob(os.path.join(h.SOURCE_DIR, "sql", "*"))):
        db = os.path.basename(d)
        name = prefix + db
        h.sql("information_schema", f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` "
                                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        for f in sorted(glob.glob(os.path.join(d, "*.sql"))):
            with open(f, "rb") as fh:
                subprocess.run(h.mariadb_args() + [name], stdin=fh, check=True,
                               capture_output=True, env=h.mariadb_env())
        out[db] = name
    return out


def drop_databases(dbs):
    for name in dbs.values():
        h.sql("information_schema", f"DROP DATABASE IF EXISTS `{name}`")


def raw(port, request, timeout=10):
    """Sends raw request bytes, reads until the server closes. Returns (status, headers dict
    lower-case, body bytes, seconds taken)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    took = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body, took


def raw_request(port, method, path, header_lines=(), body=b""):
    """A request with the given raw header lines (bytes), Connection: close."""
    req = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    for line in header_lines:
        req += line + b"\r\n"
    if body:
        req += b"Content-Type: application/json\r\n"
    req += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
    return raw(port, req)


def problem_body(body):
    return json.loads(body) if body else None


def log_lines_with(paths, needles):
    """[(path, line number, needle name)] of every line of the files that contains one of the
    needles ({name: value}); the value itself is never returned."""
    hits = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                for n, line in enumerate(f, 1):
                    for name, value in needles.items():
                        if value and value.encode() in line:
                            hits.append((path, n, name))
        except (FileNotFoundError, IsADirectoryError):
            continue
    return hits


def start_failing(name, port, env, timeout=20):
    """Starts a daemon expected to refuse to start. Returns (exit code, log text); fails if it
    is still running after `timeout` or ever listens."""
    log_path = os.path.join(h.LOG_DIR, f"sec-refused-{name}-{port}.log")
    os.makedirs(h.LOG_DIR, exist_ok=True)
    with open(log_path, "wb") as log:
        p = subprocess.Popen([h.binary(name)], env=h.base_env(PORT=port, **env), stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            code = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError(f"{name} did not exit within {timeout}s; see {log_path}")
    with open(log_path, errors="replace") as f:
        return code, f.read()

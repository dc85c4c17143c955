"""orchestrator-temporal under the same load on both Temporal profiles, alternated.

For each round, brings up a private stack (its own directory and ports: MariaDB 27306, Redis
27379, Temporal 27733 with UI 27088, PostgreSQL 27432) once with the Temporal CLI dev server
(SQLite, one history shard) and once with the production profile (the real Temporal server,
4 history shards, on PostgreSQL 15), starts service-order/-inventory/-payment and
orchestrator-temporal from a build tree on ports 27080-27084, and drives
POST /api/temporal/orders with the closed-loop client bench/pure/bench_pure (N clients, one
keep-alive connection each, synchronous orders, a product per client). Reports orders/s,
latency, and CPU per order of the Temporal server process, of PostgreSQL (the postmaster and
its backends) and of the whole suite, read from /proc/<pid>/stat. A benchmark, not a test: it
prints figures and asserts nothing. It stops its stack at the end.

Usage (from the source tree, a Release build, the production parts built by
scripts/temporal-build; ports 27xxx free):
    SAGA_BUILD_DIR=build-rel PYTHONPATH=tests/support python3 bench/production/servers.py \\
        [--seconds 30] [--concurrency 8] [--rounds 2]
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import tempfile

import harness as h

ORCH, ORDER, INV, PAY = 27081, 27082, 27083, 27084
STACK_ENV = {"MYSQL_PORT": "27306", "REDIS_PORT": "27379", "TEMPORAL_PORT": "27733",
             "TEMPORAL_UI_PORT": "27088", "TEMPORAL_PG_PORT": "27432"}
TICKS = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_s(pid, children=False):
    """utime + stime of a process (and, with children, of its reaped children) in seconds."""
    f = stat(pid)
    t = int(f[11]) + int(f[12])
    if children:
        t += int(f[13]) + int(f[14])
    return t / TICKS


def tree_cpu_s(root):
    """CPU of a process, its reaped children and its live children (PostgreSQL: the
    postmaster, the backends that ended and those still serving)."""
    total = cpu_s(root, children=True)
    for d in os.listdir("/proc"):
        if d.isdigit() and d != str(root):
            try:
                f = stat(int(d))
                if int(f[1]) == root:
                    total += (int(f[11]) + int(f[12])) / TICKS
            except (OSError, IndexError):
                pass
    return total


def stack(stack_dir, *args):
    env = dict(os.environ, STACK_DIR=stack_dir, **STACK_ENV)
    subprocess.run([os.path.join(h.SOURCE_DIR, "scripts", "stack")] + list(args), env=env,
                   check=True, stdout=subprocess.DEVNULL)


def pid_of(stack_dir, name):
    try:
        with open(os.path.join(stack_dir, f"{name}.pid")) as f:
            return int(f.read().strip())
    except OSError:
        return None


def measure(profile, stack_dir, conc, secs, tool):
    stack(stack_dir, "up", *(["--production"] if profile == "production" else []))
    # The private stack's own passwords; the tokens the harness signs its requests with.
    secrets = h.read_secrets(os.path.join(stack_dir, "secrets.env"))
    env = {"ORDER_EVENTS_STREAM": h.uid("stream:bench-servers-"), "LOG_LEVEL": "warn",
           "MYSQL_PORT": STACK_ENV["MYSQL_PORT"], "REDIS_PORT": STACK_ENV["REDIS_PORT"],
           "MYSQL_PASSWORD": secrets["MYSQL_PASSWORD"],
           "REDIS_PASSWORD": secrets["REDIS_PASSWORD"],
           "SERVICE_TOKEN": h.SERVICE_TOKEN, "ADMIN_TOKEN": h.ADMIN_TOKEN,
           "TEMPORAL_ADDRESS": "127.0.0.1:" + STACK_ENV["TEMPORAL_PORT"]}
    urls = {"ORDER_SERVICE_URL": f"http://127.0.0.1:{ORDER}",
            "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{INV}",
            "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{PAY}"}
    daemons = [h.Daemon("service-order", ORDER, env), h.Daemon("service-inventory", INV, env),
               h.Daemon("service-payment", PAY, dict(env, PG_CONCURRENCY=64)),
               h.Daemon("orchestrator-temporal", ORCH, dict(
                   env, **urls, TEMPORAL_TASK_QUEUE=h.uid("bench-servers-"),
                   ORDER_SYNC_TIMEOUT_MS=120000))]
    h.start_all(daemons)
    try:
        base = random.randint(10**8, 10**12)
        for i in range(conc):
            h.http("PUT", f"http://127.0.0.1:{INV}/api/inventory/{base + i}", {"available": 10**9})
        url = f"http://127.0.0.1:{ORCH}/api/temporal/orders"
        subprocess.run([tool, url, "4", "5", str(base), "4"], check=True, capture_output=True)
        temporal, pg = pid_of(stack_dir, "temporal"), pid_of(stack_dir, "postgresql")
        procs = {d.name: d.proc.pid for d in daemons}
        procs.update({n: pid_of(stack_dir, n) for n in ("mariadb", "redis")})
        before = {n: cpu_s(p) for n, p in procs.items()}
        t0, pg0 = cpu_s(temporal), tree_cpu_s(pg) if pg else 0.0
        load = os.getloadavg()[0]
        out = subprocess.run([tool, url, str(conc), str(secs), str(base), str(conc)], check=True,
                             capture_output=True, text=True).stdout
        t1, pg1 = cpu_s(temporal), tree_cpu_s(pg) if pg else 0.0
        after = {n: cpu_s(p) for n, p in procs.items()}
        row = json.loads(out)
        done = max(row["completed"], 1)
        server_ms = (t1 - t0) * 1000 / done
        pg_ms = (pg1 - pg0) * 1000 / done
        rest_ms = sum(after[n] - before[n] for n in procs) * 1000 / done
        return {"profile": profile, "in_flight": conc, "orders_per_s": row["orders_per_s"],
                "p50_ms": row["p50_ms"], "p99_ms": row["p99_ms"], "completed": row["completed"],
                "failed": row.get("failed", 0),
                "temporal_server_cpu_ms_per_order": round(server_ms, 1),
                "postgresql_cpu_ms_per_order": round(pg_ms, 1),
                "suite_cpu_ms_per_order": round(server_ms + pg_ms + rest_ms, 1),
                "loadavg_1m": [round(load, 2), round(os.getloadavg()[0], 2)]}
    finally:
        h.stop_all(daemons)
        stack(stack_dir, "down")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    tool = os.path.join(h.BUILD_DIR, "bench", "pure", "bench_pure")
    stack_dir = tempfile.mkdtemp(prefix="saga-bench-servers-")
    os.chmod(stack_dir, 0o755)  # PostgreSQL runs as its own user below it
    print("| Temporal | in flight | orders/s | p50 ms | p99 ms | Temporal server CPU ms/order"
          " | PostgreSQL CPU ms/order | suite CPU ms/order | load avg |")
    print("|---|---|---|---|---|---|---|---|---|")
    try:
        for _ in range(args.rounds):
            for profile in ("dev", "production"):
                r = measure(profile, stack_dir, args.concurrency, args.seconds, tool)
                name = ("dev server (SQLite, 1 shard)" if profile == "dev"
                        else "production (PostgreSQL, 4 shards)")
                print(f"| {name} | {r['in_flight']} | {r['orders_per_s']} | {r['p50_ms']} "
                      f"| {r['p99_ms']} | {r['temporal_server_cpu_ms_per_order']} "
                      f"| {r['postgresql_cpu_ms_per_order']} | {r['suite_cpu_ms_per_order']} "
                      f"| {r['loadavg_1m'][0]}-{r['loadavg_1m'][1]} |", flush=True)
                print("<!-- " + json.dumps(r) + " -->", flush=True)
    finally:
        subprocess.run([os.path.join(h.SOURCE_DIR, "scripts", "stack"), "down"],
                       env=dict(os.environ, STACK_DIR=stack_dir, **STACK_ENV),
                       stdout=subprocess.DEVNULL, check=False)
        shutil.rmtree(stack_dir, ignore_errors=True)
        shutil.rmtree(stack_dir + ".postgresql", ignore_errors=True)  # PostgreSQL's, beside it


if __name__ == "__main__":
    main()

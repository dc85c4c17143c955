"""Both orchestrators under the same load, side by side.

Starts service-order/-inventory/-payment, orchestrator-pure and orchestrator-temporal (a task
queue of its own) from a build tree on ports 27080-27084, gives each client its own product with
plenty of stock, and drives POST /api/pure/orders and POST /api/temporal/orders with the same
closed-loop load generator (bench/pure/bench_pure: N clients, keep-alive, fixed duration). For
each run it reports orders/s, latency percentiles, and CPU per order of the orchestrator alone and
of the whole suite (the five daemons plus MariaDB, Redis and the Temporal server, read from
/proc/<pid>/stat). A benchmark, not a test: it prints figures and asserts nothing.

Usage (from the source tree, `scripts/stack up` running, a Release build):
    SAGA_BUILD_DIR=build-rel PYTHONPATH=tests/support python3 bench/compare/compare.py \
        [--seconds 20] [--concurrency 8 32]
"""
import argparse
import json
import os
import random
import subprocess

import harness as h

ORCH_PURE, ORCH_TEMPORAL, ORDER, INV, PAY = 27080, 27081, 27082, 27083, 27084
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """utime + stime of a process in seconds (what getrusage reports for it)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def stack_pids():
    """MariaDB, Redis and Temporal pids from scripts/stack's pid files (those it started)."""
    d = os.environ.get("STACK_DIR", os.path.join(h.SOURCE_DIR, ".stack"))
    pids = {}
    for name in ("mariadb", "redis", "temporal"):
        try:
            with open(os.path.join(d, f"{name}.pid")) as f:
                pid = int(f.read().strip())
            cpu_s(pid)
            pids[name] = pid
        except (OSError, ValueError):
            pass
    return pids


def run(tool, url, conc, secs, product, pids, orch):
    before = {k: cpu_s(p) for k, p in pids.items()}
    load = os.getloadavg()[0]
    out = subprocess.run([tool, url, str(conc), str(secs), str(product), str(conc)], check=True,
                         capture_output=True, text=True).stdout
    after = {k: cpu_s(p) for k, p in pids.items()}
    row = json.loads(out)
    done = max(row["completed"], 1)
    used = {k: (after[k] - before[k]) * 1000.0 / done for k in pids}
    row["orchestrator_cpu_ms_per_order"] = round(used[orch], 2)
    row["suite_cpu_ms_per_order"] = round(sum(used.values()), 2)
    row["cpu_ms_per_order"] = {k: round(v, 2) for k, v in used.items()}
    row["loadavg_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    args = ap.parse_args()
    env = {"ORDER_EVENTS_STREAM": h.uid("stream:bench-compare-"), "LOG_LEVEL": "warn"}
    urls = {"ORDER_SERVICE_URL": f"http://127.0.0.1:{ORDER}",
            "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{INV}",
            "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{PAY}"}
    daemons = {
        "service-order": h.Daemon("service-order", ORDER, env),
        "service-inventory": h.Daemon("service-inventory", INV, env),
        "service-payment": h.Daemon("service-payment", PAY, dict(env, PG_CONCURRENCY=64)),
        "orchestrator-pure": h.Daemon("orchestrator-pure", ORCH_PURE, dict(env, **urls)),
        "orchestrator-temporal": h.Daemon("orchestrator-temporal", ORCH_TEMPORAL, dict(
            env, **urls, TEMPORAL_TASK_QUEUE=h.uid("bench-compare-"),
            ORDER_SYNC_TIMEOUT_MS=120000)),
    }
    tool = os.path.join(h.BUILD_DIR, "bench", "pure", "bench_pure")
    try:
        for d in daemons.values():
            d.start()
        pids = {name: d.proc.pid for name, d in daemons.items()}
        pids.update(stack_pids())
        base = random.randint(10**8, 10**12)
        for i in range(max(args.concurrency)):
            h.http("PUT", f"http://127.0.0.1:{INV}/api/inventory/{base + i}",
                   {"available": 10**9})
        targets = (("orchestrator-pure", f"http://127.0.0.1:{ORCH_PURE}/api/pure/orders"),
                   ("orchestrator-temporal",
                    f"http://127.0.0.1:{ORCH_TEMPORAL}/api/temporal/orders"))
        for orch, url in targets:  # warm-up: connections, caches, the worker's pollers
            subprocess.run([tool, url, "4", "3", str(base), "4"], check=True, capture_output=True)
        print("| orchestrator | in flight | orders/s | p50 ms | p99 ms | orchestrator CPU ms/order"
              " | suite CPU ms/order | load avg |")
        print("|---|---|---|---|---|---|---|---|")
        for conc in args.concurrency:
            for orch, url in targets:
                r = run(tool, url, conc, args.seconds, base, pids, orch)
                print(f"| {orch} | {conc} | {r['orders_per_s']} | {r['p50_ms']} | {r['p99_ms']} "
                      f"| {r['orchestrator_cpu_ms_per_order']} | {r['suite_cpu_ms_per_order']} "
                      f"| {r['loadavg_1m'][0]}-{r['loadavg_1m'][1]} |", flush=True)
                print("<!-- " + json.dumps(r) + " -->", flush=True)
    finally:
        for d in reversed(list(daemons.values())):
            d.stop(timeout=60)
        h.redis_cli("DEL", env["ORDER_EVENTS_STREAM"])


if __name__ == "__main__":
    main()

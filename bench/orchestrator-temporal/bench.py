#!/usr/bin/env python3
"""Benchmark of orchestrator-temporal's embedded worker: CPU time per OrderWorkflow (including
the activities' HTTP calls), peak RSS, and orders per second, against the real services and the
Temporal dev server. Not a test: it prints figures (docs/bench-orchestrator-temporal.md).

CPU is read from /proc/<pid>/stat (utime + stime, the same accounting getrusage reports) of the
orchestrator process before and after the measured orders; peak RSS is VmHWM of
/proc/<pid>/status. Usage (from the source tree, after `scripts/stack up`):

    SAGA_BUILD_DIR=build-release PYTHONPATH=tests/support \
        python3 bench/orchestrator-temporal/bench.py --orders 200 --concurrency 8
"""
import argparse
import json
import os
import random
import sys
import threading
import time

import harness
from harness import Daemon, http, uid

PORTS = {"orchestrator-temporal": 24091, "service-order": 24092, "service-inventory": 24093,
         "service-payment": 24094}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_orders(url, pid, n, concurrency):
    """n synchronous POSTs from `concurrency` threads; returns (seconds, failures)."""
    lock = threading.Lock()
    left = [n]
    bad = []

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            body = {"customerId": 1, "productId": pid, "quantity": 1, "amount": 1000,
                    "paymentMethod": "CARD"}
            st, _, res = http("POST", url + "/api/temporal/orders", body, timeout=620)
            if st != 200 or not res.get("success"):
                with lock:
                    bad.append((st, res))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--sticky-cache", type=int, default=100,
                    help="WORKER_STICKY_CACHE (0 = off: full history on every task)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra orchestrator environment (e.g. WORKER_WORKFLOW_POLLERS=8)")
    args = ap.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.env)

    queue = uid("obench-")
    urls = {
        "ORDER_SERVICE_URL": f"http://127.0.0.1:{PORTS['service-order']}",
        "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{PORTS['service-inventory']}",
        "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{PORTS['service-payment']}",
    }
    daemons = []
    try:
        for name in ("service-order", "service-inventory", "service-payment"):
            daemons.append(Daemon(name, PORTS[name], log_name=f"bench-{name}",
                                  env={"LOG_LEVEL": "warn"}).start())
        orch = Daemon("orchestrator-temporal", PORTS["orchestrator-temporal"],
                      log_name="bench-orchestrator-temporal",
                      env=dict(urls, TEMPORAL_TASK_QUEUE=queue, LOG_LEVEL="warn",
                               # never answer 202: every order is measured to its end
                               ORDER_SYNC_TIMEOUT_MS=600000,
                               WORKER_STICKY_CACHE=args.sticky_cache, **extra)).start()
        daemons.append(orch)
        pid = random.randint(100001, 2_000_000_000)
        st, _, _ = http("PUT", f"{urls['INVENTORY_SERVICE_URL']}/api/inventory/{pid}",
                        {"available": args.orders + args.warmup + 10})
        assert st in (200, 201), st
        _, bad = run_orders(orch.url, pid, args.warmup, args.concurrency)
        assert not bad, bad[:3]
        ppid = orch.proc.pid
        cpu0 = cpu_seconds(ppid)
        secs, bad = run_orders(orch.url, pid, args.orders, args.concurrency)
        cpu1 = cpu_seconds(ppid)
        with open(f"/proc/{ppid}/status") as f:
            anon = [int(l.split()[1]) for l in f if l.startswith("RssAnon:")][0]
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        result = {
            "orders": args.orders,
            "concurrency": args.concurrency,
            "sticky_cache": args.sticky_cache,
            "env": extra,
            "failures": len(bad),
            "wall_s": round(secs, 2),
            "orders_per_s": round(args.orders / secs, 2),
            "worker_cpu_ms_per_order": round((cpu1 - cpu0) * 1000 / args.orders, 2),
            "peak_rss_mib": round(vm_hwm_kib(ppid) / 1024, 1),
            "rss_anon_mib_at_end": round(anon / 1024, 1),
            "loadavg_1m_at_end": load,
            "build": harness.BUILD_DIR,
        }
        print(json.dumps(result, indent=2))
        for st, res in bad[:5]:
            print("failure:", st, json.dumps(res)[:300], file=sys.stderr)
        return 1 if bad else 0
    finally:
        for d in reversed(daemons):
            d.stop()


if __name__ == "__main__":
    sys.exit(main())

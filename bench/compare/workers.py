"""Our C worker against the official Go SDK worker: the same OrderWorkflow, the same REST front,
the same services and dev server, the same closed-loop load, runs interleaved.

Each variant is a worker kind and an activity mode (`c:remote`, `go:remote`, `go:local`,
`c:local`), optionally with environment of its own (`c:remote/ORDER_EAGER_START=off`). Every variant gets its own task queue, its own REST front and its own worker
process, all started once and kept up:

- front: orchestrator-temporal with TEMPORAL_WORKER=off, its REST API without a worker
  (POST /api/temporal/orders starts OrderWorkflow on the variant's queue and waits for its
  result); `--front embedded` drives the C variants through the REST API of the daemon that
  runs the worker instead (its CPU then includes the REST and client side, and eager
  workflow start applies);
- worker: orchestrator-temporal (its embedded C worker; its REST idle) or `gosdk-worker
  worker` (bench/gosdk, built here from the module cache), with ORDER_ACTIVITY_MODE=<mode>.

For each in-flight level and each pair, every variant runs the same `--seconds` of closed-loop
load (bench/pure/bench_pure: N clients, one order each at a time, keep-alive) in turn: A, B,
A, B ... Per run: orders/s, p50/p99 latency, CPU per saga (utime + stime from /proc/<pid>/stat)
of the worker process, of the Temporal server, of the front, and of the whole suite (services,
MariaDB, Redis, Temporal, the variant's front and worker), and the machine's load averages.
After the runs, one finished history per variant is read back to report the mode the server
actually saw (activity tasks scheduled vs local-activity markers per saga). A benchmark, not a
test: it prints figures and asserts nothing about them.

Usage (from the source tree, `scripts/stack up` running, a Release build, scripts/setup run):
    SAGA_BUILD_DIR=build-rel PYTHONPATH=tests/support python3 bench/compare/workers.py \\
        [--variants c:remote go:remote] [--pairs 3] [--seconds 20] [--concurrency 1 8 32]
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

import harness as h

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gosdk"))
import gosdk  # noqa: E402
from compare import cpu_s, stack_pids  # noqa: E402

ORDER, INV, PAY = 27182, 27183, 27184
FRONT_BASE, WORKER_BASE = 27190, 27200  # + variant index


class Variant:
    def __init__(self, index, spec, front_mode, env):
        base, _, extra = spec.partition("/")  # c:remote/ORDER_EAGER_START=off,NAME=VALUE
        kind, _, mode = base.partition(":")
        if kind not in ("c", "go") or mode not in ("remote", "local"):
            raise SystemExit(f"bad variant {spec!r}: expected c|go:remote|local[/NAME=VALUE,...]")
        env = dict(env, **dict(kv.split("=", 1) for kv in extra.split(",") if kv))
        self.name, self.kind, self.mode = spec, kind, mode
        self.queue = h.uid(f"bench-{kind}-{mode}-")
        self.front = self.worker = None
        self.embedded = kind == "c" and front_mode == "embedded"
        self.env = env
        self.index = index
        self.product = random.randint(10**8, 10**12)

    def start(self, urls):
        common = dict(self.env, **urls, TEMPORAL_TASK_QUEUE=self.queue,
                      ORDER_SYNC_TIMEOUT_MS=120000)
        if self.kind == "c":
            self.worker = h.Daemon("orchestrator-temporal", WORKER_BASE + self.index,
                                   dict(common, ORDER_ACTIVITY_MODE=self.mode),
                                   log_name=f"bench-workers-{self.index}")
            self.worker.start()
            self.worker_pid = self.worker.proc.pid
        else:
            self.worker = gosdk.Worker(self.queue, self.mode, env=common,
                                       log_name="bench-workers-go").start()
            self.worker_pid = self.worker.proc.pid
        if self.embedded:
            self.url = self.worker.url + "/api/temporal/orders"
            self.front_pid = None
        else:
            self.front = gosdk.Front(FRONT_BASE + self.index, common,
                                     log_name=f"bench-front-{self.index}")
            self.front.start()
            self.front_pid = self.front.proc.pid
            self.url = self.front.url + "/api/temporal/orders"

    def pids(self):
        p = {"worker": self.worker_pid}
        if self.front_pid:
            p["front"] = self.front_pid
        return p

    def stop(self):
        for d in (self.front, self.worker):
            if d is not None:
                d.stop(timeout=60)


def history_mode(queue):
    """Activity tasks scheduled and markers recorded in one finished run on `queue`."""
    cli = [h.TEMPORAL_CLI, "--address", h.TEMPORAL_ADDRESS]
    try:
        out = subprocess.run(cli + ["workflow", "list", "--query",
                                    f"TaskQueue='{queue}' AND ExecutionStatus='Completed'",
                                    "--limit", "1", "-o", "json"],
                             capture_output=True, text=True, timeout=30).stdout
        runs = json.loads(out) if out.strip().startswith("[") else [json.loads(out)]
        wid = runs[0]["execution"]["workflowId"]
        out = subprocess.run(cli + ["workflow", "show", "-w", wid, "-o", "json"],
                             capture_output=True, text=True, timeout=30).stdout
        events = json.loads(out)["events"]
    except (ValueError, KeyError, IndexError, subprocess.SubprocessError) as exc:
        return {"error": str(exc)[:200]}
    kinds = [e.get("eventType", "") for e in events]
    count = lambda k: sum(1 for t in kinds if k in t)  # noqa: E731
    return {"events": len(events), "activities_scheduled": count("ACTIVITY_TASK_SCHEDULED"),
            "markers": count("MARKER_RECORDED"), "workflow_tasks": count("WORKFLOW_TASK_STARTED")}


def one_run(tool, v, conc, secs, shared):
    pids = dict(shared, **v.pids())
    load0 = os.getloadavg()
    before = {k: cpu_s(p) for k, p in pids.items()}
    out = subprocess.run([tool, v.url, str(conc), str(secs), str(v.product), str(conc)],
                         check=True, capture_output=True, text=True).stdout
    after = {k: cpu_s(p) for k, p in pids.items()}
    load1 = os.getloadavg()
    row = json.loads(out)
    done = max(row["completed"], 1)
    per = {k: (after[k] - before[k]) * 1000.0 / done for k in pids}
    row.update(variant=v.name, in_flight=conc,
               worker_cpu_ms=round(per["worker"], 2),
               server_cpu_ms=round(per.get("temporal", float("nan")), 2),
               front_cpu_ms=round(per.get("front", 0.0), 2),
               suite_cpu_ms=round(sum(per.values()), 2),
               cpu_ms_per_saga={k: round(x, 2) for k, x in per.items()},
               loadavg=[round(x, 2) for x in load0] + [round(x, 2) for x in load1])
    return row


def print_row(r):
    la = r["loadavg"]
    print(f"| {r['variant']} | {r['in_flight']} | {r['orders_per_s']} | {r['p50_ms']:.0f} "
          f"| {r['p99_ms']:.0f} | {r['worker_cpu_ms']} | {r['server_cpu_ms']} "
          f"| {r['front_cpu_ms']} | {r['suite_cpu_ms']} | {la[0]}→{la[3]} ({la[1]}, {la[2]}) "
          f"| {r['failed'] + r['errors']} |", flush=True)
    print("<!-- " + json.dumps(r) + " -->", flush=True)


def summary(rows, variants, levels):
    """Medians per variant and level, and the first variant against the second."""
    med = {}
    for v in variants:
        for c in levels:
            rs = [r for r in rows if r["variant"] == v.name and r["in_flight"] == c]
            if rs:
                med[v.name, c] = {k: statistics.median(r[k] for r in rs)
                                  for k in ("orders_per_s", "p50_ms", "p99_ms", "worker_cpu_ms",
                                            "server_cpu_ms", "suite_cpu_ms")}
    print("\nMedians over the pairs:\n")
    print("| variant | in flight | orders/s | p50 ms | p99 ms | worker CPU ms/saga "
          "| server CPU ms/saga | suite CPU ms/saga |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, c), m in med.items():
        print(f"| {name} | {c} | {m['orders_per_s']:.1f} | {m['p50_ms']:.0f} | {m['p99_ms']:.0f} "
              f"| {m['worker_cpu_ms']:.2f} | {m['server_cpu_ms']:.1f} | {m['suite_cpu_ms']:.1f} |")
    if len(variants) >= 2:
        a, b = variants[0].name, variants[1].name
        print(f"\n{a} / {b} (medians):\n")
        print("| in flight | orders/s ratio | worker CPU ratio | server CPU ratio | p50 ratio |")
        print("|---|---|---|---|---|")
        for c in levels:
            if (a, c) in med and (b, c) in med:
                x, y = med[a, c], med[b, c]
                q = lambda k: x[k] / y[k] if y[k] else float("nan")  # noqa: E731
                print(f"| {c} | {q('orders_per_s'):.2f} | {q('worker_cpu_ms'):.2f} "
                      f"| {q('server_cpu_ms'):.2f} | {q('p50_ms'):.2f} |")


def idle(variants, secs):
    """Prints each variant's worker (and front) CPU per second of idleness: long polls, timers
    and housekeeping, which a low order rate divides among few sagas."""
    time.sleep(2)  # the warm-up's last answers
    pids = {(v.name, k): p for v in variants for k, p in v.pids().items()}
    before = {k: cpu_s(p) for k, p in pids.items()}
    time.sleep(secs)
    after = {k: cpu_s(p) for k, p in pids.items()}
    print(f"Idle for {secs:g} s, CPU ms per second:\n")
    print("| variant | process | idle CPU ms/s |\n|---|---|---|")
    for (name, proc), b in before.items():
        print(f"| {name} | {proc} | {(after[(name, proc)] - b) * 1000.0 / secs:.2f} |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", nargs="+", default=["c:remote", "go:remote"],
                    help="kind:mode, kind c or go, mode remote or local (c:local needs "
                         "orchestrator-temporal's ORDER_ACTIVITY_MODE=local)")
    ap.add_argument("--mode", choices=("remote", "local"),
                    help="shorthand: --variants c:MODE go:MODE")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--warmup", type=float, default=3, help="seconds at 4 in flight per variant")
    ap.add_argument("--front", choices=("separate", "embedded"), default="separate")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for fronts and workers (e.g. WORKER_STICKY_CACHE=0)")
    ap.add_argument("--json", metavar="FILE", help="write every run's row to FILE")
    ap.add_argument("--idle", type=float, default=0, metavar="SECONDS",
                    help="after the warm-up, measure each worker's (and front's) CPU while no "
                         "order runs, for SECONDS: what it costs per second just to be up")
    args = ap.parse_args()
    if args.mode:
        args.variants = [f"c:{args.mode}", f"go:{args.mode}"]
    env = dict(kv.split("=", 1) for kv in args.env)
    env.setdefault("LOG_LEVEL", "warn")
    env.setdefault("ORDER_EVENTS_STREAM", h.uid("stream:bench-workers-"))

    gosdk.build()
    urls = {"ORDER_SERVICE_URL": f"http://127.0.0.1:{ORDER}",
            "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{INV}",
            "PAYMENT_SERVICE_URL": f"http://127.0.0.1:{PAY}"}
    services = [h.Daemon("service-order", ORDER, env, log_name="bench-workers-order"),
                h.Daemon("service-inventory", INV, env, log_name="bench-workers-inventory"),
                h.Daemon("service-payment", PAY, dict(env, PG_CONCURRENCY=64),
                         log_name="bench-workers-payment")]
    variants = [Variant(i, s, args.front, env) for i, s in enumerate(args.variants)]
    tool = os.path.join(h.BUILD_DIR, "bench", "pure", "bench_pure")
    rows = []
    try:
        for d in services:
            d.start()
        shared = {d.name: d.proc.pid for d in services}
        shared.update(stack_pids())
        for v in variants:
            v.start(urls)
            for i in range(max(args.concurrency + [4])):
                h.http("PUT", f"http://127.0.0.1:{INV}/api/inventory/{v.product + i}",
                       {"available": 10**9})
        for v in variants:  # connections, caches, pollers
            subprocess.run([tool, v.url, "4", str(args.warmup), str(v.product), "4"], check=True,
                           capture_output=True)
        print(f"variants {' '.join(args.variants)}, front {args.front}, {args.pairs} pairs of "
              f"{args.seconds:g} s, nproc {os.cpu_count()}\n")
        if args.idle > 0:
            idle(variants, args.idle)
        print("| variant | in flight | orders/s | p50 ms | p99 ms | worker CPU ms/saga "
              "| server CPU ms/saga | front CPU ms/saga | suite CPU ms/saga "
              "| load 1m start→end (5m, 15m) | failed |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for conc in args.concurrency:
            for _ in range(args.pairs):
                for v in variants:
                    r = one_run(tool, v, conc, args.seconds, shared)
                    rows.append(r)
                    print_row(r)
        summary(rows, variants, args.concurrency)
        print("\nHistory of one finished run per variant (what the server saw):\n")
        for v in variants:
            seen = history_mode(v.queue)
            note = ""
            if v.mode == "local" and seen.get("activities_scheduled", 0) > 0:
                note = " - NOT local: this worker ignored ORDER_ACTIVITY_MODE=local"
            print(f"- {v.name}: {json.dumps(seen)}{note}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
    finally:
        for v in reversed(variants):
            v.stop()
        for d in reversed(services):
            d.stop(timeout=60)
        h.redis_cli("DEL", env["ORDER_EVENTS_STREAM"])


if __name__ == "__main__":
    main()

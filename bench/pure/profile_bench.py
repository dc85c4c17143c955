"""Runs bench_pure once against freshly started daemons and reports where the cost goes:
CPU per saga of each process (utime+stime from /proc/<pid>/stat before and after the run),
MariaDB statements per saga (SHOW GLOBAL STATUS Questions / Com_* deltas) and the load
average. Usage (from the source tree):
    SAGA_BUILD_DIR=<release build> PYTHONPATH=tests/support \
        python3 bench/pure/profile_bench.py CONCURRENCY SECONDS [PRODUCTS]
MariaDB and Redis are found by the pid files of scripts/stack (STACK_DIR, default .stack).
"""
import json
import os
import random
import subprocess
import sys
import time

import bench_daemons
import harness as h

ORCH, ORDER, INV, PAY = 23087, 23088, 23089, 23086
TICK = os.sysconf("SC_CLK_TCK")


def cpu_us(pid):
    """(user, system) CPU seconds of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def cpu_s(pid):
    return sum(cpu_us(pid))


def stack_pid(name):
    if os.environ.get(f"BENCH_{name.upper()}_PID"):  # a server not started by scripts/stack
        return int(os.environ[f"BENCH_{name.upper()}_PID"])
    d = os.environ.get("STACK_DIR", os.path.join(os.getcwd(), ".stack"))
    for cand in (os.path.join(d, f"{name}.pid"), os.path.join(d, name, f"{name}.pid")):
        if os.path.exists(cand):
            return int(open(cand).read().split()[0])
    out = subprocess.run(["pgrep", "-o", "-x", {"mariadb": "mariadbd", "redis": "redis-server"}[name]],
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def status():
    rows = h.sql("orchestrator_db", "SHOW GLOBAL STATUS WHERE Variable_name IN ("
                 "'Questions','Com_stmt_execute','Com_stmt_prepare','Com_stmt_close',"
                 "'Com_commit','Com_begin','Com_call_procedure','Com_select','Com_insert',"
                 "'Com_update','Com_delete','Com_rollback','Com_set_option',"
                 "'Innodb_log_writes','Innodb_os_log_fsyncs','Com_admin_commands','Innodb_row_lock_waits','Innodb_row_lock_time')")
    return {r[0]: int(r[1]) for r in rows}


def redis_cmds():
    """Calls per Redis command (INFO commandstats; commands run inside scripts count too)."""
    out = h.redis_cli("INFO", "commandstats")
    calls = {}
    for line in (out if isinstance(out, str) else out.decode()).splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[8:].split(":", 1)
            calls[name] = int(rest.split("calls=")[1].split(",")[0])
    return calls


def main():
    wrap = os.environ.get("BENCH_ORCH_BINARY")  # e.g. a script running it under callgrind
    if wrap:
        real = h.binary
        h.binary = lambda name: wrap if name == "orchestrator-pure" else real(name)
    conc = sys.argv[1] if len(sys.argv) > 1 else "8"
    secs = sys.argv[2] if len(sys.argv) > 2 else "10"
    products = sys.argv[3] if len(sys.argv) > 3 else conc
    extra = json.loads(os.environ.get("BENCH_ORCH_ENV", "{}"))  # e.g. {"SAGA_WORKERS": "32"}
    svc_env = json.loads(os.environ.get("BENCH_SVC_ENV", "{}"))  # every daemon
    with bench_daemons.running(ORCH, ORDER, INV, PAY, svc_env, extra) as daemons:
        pid = random.randint(10**8, 10**12)
        for i in range(int(products)):
            h.http("PUT", f"{daemons[1].url}/api/inventory/{pid + i}", {"available": 10**9})
        tool = os.path.join(h.BUILD_DIR, "bench", "pure", "bench_pure")
        url = f"http://127.0.0.1:{ORCH}/api/pure/orders"
        subprocess.run([tool, url, conc, "3", str(pid), products], check=True,
                       capture_output=True)  # warm-up
        pids = {d.name: d.proc.pid for d in daemons}
        pids["mariadb"] = stack_pid("mariadb")
        pids["redis"] = stack_pid("redis")
        before = {n: cpu_us(p) for n, p in pids.items() if p}
        st0, r0, l0 = status(), redis_cmds(), os.getloadavg()
        t0 = time.monotonic()
        bench = subprocess.Popen([tool, url, conc, secs, str(pid), products],
                                 stdout=subprocess.PIPE, text=True)
        bench_cpu = 0.0
        while bench.poll() is None:
            try:
                bench_cpu = cpu_s(bench.pid)
            except OSError:
                pass
            time.sleep(0.2)
        out = bench.stdout.read()
        wall = time.monotonic() - t0
        after = {n: cpu_us(p) for n, p in pids.items() if p}
        st1, r1, l1 = status(), redis_cmds(), os.getloadavg()
        res = json.loads(out)
        n = max(1, res.get("completed", 0) + res.get("failed", 0))
        report = {
            "bench": res, "wall_s": round(wall, 1), "sagas": n,
            "loadavg_before": l0, "loadavg_after": l1,
            "cpu_ms_per_saga": {k: round((sum(after[k]) - sum(before[k])) * 1000 / n, 2)
                                for k in before},
            "sys_ms_per_saga": {k: round((after[k][1] - before[k][1]) * 1000 / n, 2)
                                for k in before},
            "bench_client_cpu_ms_per_saga": round(bench_cpu * 1000 / n, 2),
            "mariadb_per_saga": {k: round((st1[k] - st0[k]) / n, 2) for k in st0},
            "redis_cmds_per_saga": {k: round((r1[k] - r0.get(k, 0)) / n, 2) for k in r1
                                    if r1[k] != r0.get(k, 0)},
        }
        report["cpu_ms_per_saga"]["total"] = round(sum(report["cpu_ms_per_saga"].values()) +
                                                    report["bench_client_cpu_ms_per_saga"], 2)
        print(json.dumps(report, indent=1), flush=True)


if __name__ == "__main__":
    main()

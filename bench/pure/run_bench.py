"""Starts service-order/inventory/payment and orchestrator-pure from a build tree on ports
23092-23099 (test range of orchestrator-pure), gives a product plenty of stock, and runs
bench_pure at 32 and 8 orders in flight. Usage (from the source tree):
    SAGA_BUILD_DIR=<release build> PYTHONPATH=tests/support python3 bench/pure/run_bench.py [SECONDS]
"""
import json
import os
import random
import subprocess
import sys

import bench_daemons
import harness as h

ORCH, ORDER, INV, PAY = 23097, 23098, 23099, 23092


def main():
    secs = sys.argv[1] if len(sys.argv) > 1 else "20"
    with bench_daemons.running(ORCH, ORDER, INV, PAY) as daemons:
        pid = random.randint(10**8, 10**12)
        for i in range(32):
            h.http("PUT", f"{daemons[1].url}/api/inventory/{pid + i}", {"available": 10**9})
        tool = os.path.join(h.BUILD_DIR, "bench", "pure", "bench_pure")
        url = f"http://127.0.0.1:{ORCH}/api/pure/orders"
        subprocess.run([tool, url, "8", "3", str(pid), "8"], check=True,
                       capture_output=True)  # warm-up
        # One product per client (orders spread over products), then every client on one
        # product (the inventory lock serialises them: a contention figure, not a target).
        for conc, products in (("32", "32"), ("8", "8"), ("32", "1"), ("8", "1")):
            load_before = os.getloadavg()[0]
            out = subprocess.run([tool, url, conc, secs, str(pid), products], check=True,
                                 capture_output=True, text=True).stdout
            row = json.loads(out)
            # The machine is shared: the figures follow its load, so each row carries it.
            row["loadavg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

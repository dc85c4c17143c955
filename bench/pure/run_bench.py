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

import harness as h

ORCH, ORDER, INV, PAY = 23097, 23098, 23099, 23092


def main():
    secs = sys.argv[1] if len(sys.argv) > 1 else "20"
    stream = h.uid("stream:bench-pure-")
    env = {"ORDER_EVENTS_STREAM": stream, "LOG_LEVEL": "warn"}
    daemons = [h.Daemon("service-order", ORDER, env), h.Daemon("service-inventory", INV, env),
               h.Daemon("service-payment", PAY, dict(env, PG_CONCURRENCY=64)),
               h.Daemon("orchestrator-pure", ORCH, dict(
                   env, ORDER_SERVICE_URL=f"http://127.0.0.1:{ORDER}",
                   INVENTORY_SERVICE_URL=f"http://127.0.0.1:{INV}",
                   PAYMENT_SERVICE_URL=f"http://127.0.0.1:{PAY}"))]
    try:
        for d in daemons:
            d.start()
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
    finally:
        for d in reversed(daemons):
            d.stop(timeout=60)
        h.redis_cli("DEL", stream)


if __name__ == "__main__":
    main()

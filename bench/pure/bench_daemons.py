"""The daemons a bench of orchestrator-pure runs against, for run_bench.py and profile_bench.py:
service-order, -inventory, -payment and orchestrator-pure on the ports given, on an order-events
stream of their own that is deleted when they stop."""
import contextlib

import harness as h


@contextlib.contextmanager
def running(orch, order, inv, pay, svc_env=None, orch_env=None):
    """Starts the four daemons (svc_env for every one, orch_env for orchestrator-pure only) and
    yields them as [order, inventory, payment, orchestrator]; stops them, last started first."""
    stream = h.uid("stream:bench-pure-")
    env = dict({"ORDER_EVENTS_STREAM": stream, "LOG_LEVEL": "warn"}, **(svc_env or {}))
    daemons = [h.Daemon("service-order", order, env), h.Daemon("service-inventory", inv, env),
               h.Daemon("service-payment", pay, dict(env, PG_CONCURRENCY=64)),
               h.Daemon("orchestrator-pure", orch, dict(
                   env, ORDER_SERVICE_URL=f"http://127.0.0.1:{order}",
                   INVENTORY_SERVICE_URL=f"http://127.0.0.1:{inv}",
                   PAYMENT_SERVICE_URL=f"http://127.0.0.1:{pay}", **(orch_env or {})))]
    try:
        for d in daemons:
            d.start()
        yield daemons
    finally:
        for d in reversed(daemons):
            d.stop(timeout=60)
        h.redis_cli("DEL", stream)

"""Helpers the orchestrator-temporal end-to-end modules share: starting services, products of
their own, stock, a saga's rows in the three databases, a run's history through the CLI."""
import json
import random

from harness import Daemon, http, sql, temporal_cli


def start_services(specs, log_prefix):
    """specs: (daemon name, port, env) each; returns {port: Daemon}, all started or none."""
    started = {}
    try:
        for name, port, env in specs:
            started[port] = Daemon(name, port, env=env, log_name=f"{log_prefix}-{name}").start()
    except Exception:
        for d in started.values():
            d.kill()
        raise
    return started


def new_product(inventory_port, stock):
    pid = random.randint(100001, 2_000_000_000)
    st, _, body = http("PUT", f"http://127.0.0.1:{inventory_port}/api/inventory/{pid}",
                       {"available": stock})
    assert st in (200, 201), (st, body)
    return pid


def stock(inventory_port, pid):
    st, _, body = http("GET", f"http://127.0.0.1:{inventory_port}/api/inventory/{pid}")
    assert st == 200, (st, body)
    return body["available"], body["reserved"]


def saga_rows(wid):
    """(order rows, payment rows, reservation rows) of one saga as lists of status strings."""
    q = wid.replace("'", "''")
    return ([r[0] for r in sql("order_db", f"SELECT status FROM orders WHERE saga_id='{q}'")],
            [r[0] for r in sql("payment_db", f"SELECT status FROM payments WHERE saga_id='{q}'")],
            [r[0] for r in sql("inventory_db",
                               f"SELECT status FROM inventory_reservations WHERE saga_id='{q}'")])


def history(wid):
    cp = temporal_cli("workflow", "show", "-w", wid, "-o", "json")
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout)["events"]

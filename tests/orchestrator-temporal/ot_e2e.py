"""Helpers the orchestrator-temporal end-to-end modules share: starting services, products of
their own, stock, a saga's rows in the three databases, a run's history through the CLI."""
import base64
import json
import os
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


# ---- a run's steps as history records them, in either activity mode ------------------------

MODE = os.environ.get("ORDER_ACTIVITY_MODE", "remote")


def _payload_json(p):
    return json.loads(base64.b64decode(p["data"]))


def _markers(events):
    """(activity type, attempt, backoff ns, result payloads) of each LocalActivity marker, in
    order. A backoff > 0 marks a failed round followed by a durable timer, not the step's end."""
    out = []
    for e in events:
        a = e.get("markerRecordedEventAttributes")
        if not a or a.get("markerName") != "LocalActivity":
            continue
        data = _payload_json(a["details"]["data"]["payloads"][0])
        result = a.get("details", {}).get("result", {}).get("payloads", [])
        out.append((data["ActivityType"], data.get("Attempt", 1), int(data.get("Backoff", 0)),
                    result))
    return out


def _local_markers(events):
    """(activity type, final attempt, result payloads) of each step's last marker, in order."""
    return [(t, n, r) for t, n, b, r in _markers(events) if b == 0]


def retry_rounds(events, step):
    """Local mode: how many failed rounds of `step` waited on a durable timer."""
    return sum(1 for t, _, b, _ in _markers(events) if t == step and b > 0)


def steps(events):
    """The steps the run executed, in order: ActivityTaskScheduled events (remote) or
    LocalActivity markers (local; recorded as they end, so the three concurrent confirms come
    in the order they finished - compare them as a set)."""
    if MODE == "local":
        return [t for t, _, _ in _local_markers(events)]
    return [e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
            for e in events if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"]


def attempts(events):
    """The attempt each step ended on, in the order of steps()."""
    if MODE == "local":
        return [n for _, n, _ in _local_markers(events)]
    started = {e["activityTaskStartedEventAttributes"]["scheduledEventId"]:
               e["activityTaskStartedEventAttributes"]["attempt"]
               for e in events if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_STARTED"}
    return [started.get(e["eventId"], 0) for e in events
            if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"]


def step_payloads(events):
    """Every step argument and result payload the history holds (local markers keep results)."""
    if MODE == "local":
        return [p for _, _, ps in _local_markers(events) for p in ps]
    out = []
    for e in events:
        attrs = (e.get("activityTaskScheduledEventAttributes", {}).get("input")
                 or e.get("activityTaskCompletedEventAttributes", {}).get("result"))
        if attrs:
            out.extend(attrs["payloads"])
    return out


def step_attempt(events, step):
    """The attempt `step` ended on."""
    return dict(zip(steps(events), attempts(events)))[step]


def same_steps(got, want):
    """got and want agree, the confirms (run side by side) in any order."""
    confirms = {"ConfirmOrder", "ConfirmReservation", "ConfirmPayment"}
    key = lambda xs: ([x for x in xs if x not in confirms], sorted(x for x in xs if x in confirms))  # noqa: E731
    return key(got) == key(want)

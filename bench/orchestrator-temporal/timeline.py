#!/usr/bin/env python3
"""Where the time of one OrderWorkflow run goes, from its history's event times: for each step,
how long the activity waited to be dispatched (scheduled -> started: matching, or 0 with eager
dispatch), ran (started -> completed: the service call) and how long the workflow took to
schedule the next step (completed -> next scheduled: a workflow task round trip through the
server). Also the start: workflow started -> first activity scheduled, and the end. Not a
test; it prints one table per run (docs/bench-orchestrator-temporal.md).

Usage (from the source tree, `scripts/stack up` running):
    PYTHONPATH=tests/support python3 bench/orchestrator-temporal/timeline.py <workflowId>...
"""
import json
import subprocess
import sys
from datetime import datetime

import harness as h


def ts(e):
    t = e["eventTime"].rstrip("Z")
    head, _, frac = t.partition(".")
    return datetime.fromisoformat(head).timestamp() + float("0." + (frac or "0"))


def events(wid):
    out = subprocess.run([h.TEMPORAL_CLI, "--address", h.TEMPORAL_ADDRESS, "workflow", "show",
                          "-w", wid, "-o", "json"], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return json.loads(out)["events"]


def timeline(wid):
    ev = events(wid)
    t0 = ts(ev[0])
    rows, sched = [], {}
    for e in ev:
        kind = e["eventType"].replace("EVENT_TYPE_", "")
        if kind == "ACTIVITY_TASK_SCHEDULED":
            a = e["activityTaskScheduledEventAttributes"]
            sched[int(e["eventId"])] = {"step": a["activityType"]["name"], "sched": ts(e)}
        elif kind in ("ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED",
                      "ACTIVITY_TASK_FAILED"):
            attrs = next(v for k, v in e.items() if k.endswith("EventAttributes"))
            s = sched[int(attrs["scheduledEventId"])]
            s["started" if kind.endswith("STARTED") else "ended"] = ts(e)
    steps = sorted(sched.values(), key=lambda s: s["sched"])
    end = ts(ev[-1])
    print(f"\n{wid}: {len(ev)} events, {end - t0:.3f} s from start to close")
    print("| step | scheduled at ms | dispatch ms | run ms | to next schedule ms |")
    print("|---|---|---|---|---|")
    for i, s in enumerate(steps):
        nxt = next((x["sched"] for x in steps[i + 1:] if x["sched"] > s.get("ended", 0)), end)
        print(f"| {s['step']} | {1000 * (s['sched'] - t0):.0f} "
              f"| {1000 * (s.get('started', s['sched']) - s['sched']):.0f} "
              f"| {1000 * (s.get('ended', end) - s.get('started', s['sched'])):.0f} "
              f"| {1000 * (nxt - s.get('ended', end)):.0f} |")
    return steps


if __name__ == "__main__":
    for w in sys.argv[1:]:
        timeline(w)

"""The Temporal UI in a real browser: orders are placed through POST /api/temporal/orders on an
orchestrator-temporal of this build (its own task queue, ports 25092-25097); headless Chromium
opens the UI (TEMPORAL_UI_URL, default port 21088), finds each OrderWorkflow run in the workflow
list, opens it, and checks that the activities' inputs and results show as readable JSON. The
screenshots land in the test's build folder (docs/images/ keeps one)."""
import os
import random
import subprocess
import unittest

import shiplib as S
import livelib as L

H = L.H
FORWARD = ["CreateOrder", "ReserveStock", "CreatePayment", "ApprovePayment", "ConfirmOrder",
           "ConfirmReservation", "ConfirmPayment"]
COMPENSATED = ["CreateOrder", "ReserveStock", "CreatePayment", "ApprovePayment",
               "RefundPayment", "CancelReservation", "CancelOrder"]


class TemporalUi(unittest.TestCase):
    def test_runs_show_readable_activity_payloads(self):
        ui = os.environ.get("TEMPORAL_UI_URL", "http://127.0.0.1:21088")
        node = os.environ.get("SHIP_NODE") or "node"
        modules = os.environ.get("SHIP_NODE_MODULES", S.src("tests", "ship", "node_modules"))
        self.assertTrue(os.path.isdir(os.path.join(modules, "playwright-core")),
                        "playwright-core missing: run npm ci in tests/ship")
        chromium = os.environ.get("SHIP_CHROMIUM", "/usr/bin/chromium")
        self.assertTrue(os.access(chromium, os.X_OK), f"{chromium} missing (Debian chromium)")
        status = H.http("GET", ui + "/", timeout=10)[0]
        self.assertEqual(status, 200, f"Temporal UI not answering at {ui} (scripts/stack up)")

        suite = L.Suite(25092, "ui", daemons=["service-order", "service-inventory",
                                              "service-payment", "orchestrator-temporal"],
                        extra_env={"FAKE_PG_LIMIT": 1000000}).start()
        try:
            product = random.randint(2 * 10**9, 3 * 10**9)
            st, _, body = H.http("PUT", f"{suite.url['service-inventory']}/api/inventory/{product}",
                                 {"available": 100})
            self.assertEqual(st, 200, body)
            order = {"customerId": 7, "productId": product, "quantity": 2, "amount": 20000}
            url = suite.url["orchestrator-temporal"] + "/api/temporal/orders"
            st, _, ok = H.http("POST", url, order, timeout=60)
            self.assertEqual(st, 200, ok)
            self.assertTrue(ok["success"], ok)
            st, _, bad = H.http("POST", url, dict(order, amount=5000000), timeout=60)
            self.assertEqual(st, 200, bad)
            self.assertFalse(bad["success"], bad)
            out_dir = os.environ.get("SHIP_OUT_DIR", S.BUILD_DIR)
            res = subprocess.run(
                [node, S.src("tests", "ship", "temporal_ui.js"), ui, out_dir,
                 f"{ok['workflowId']}:{','.join(FORWARD)}",
                 f"{bad['workflowId']}:{','.join(COMPENSATED)}"],
                capture_output=True, text=True, timeout=150,
                env=dict(os.environ, NODE_PATH=modules, SHIP_CHROMIUM=chromium))
            print(res.stdout, res.stderr)
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            self.assertIn('"ok":true', res.stdout)
            for i in range(2):
                self.assertTrue(os.path.getsize(os.path.join(out_dir, f"temporal-ui-{i}.png")) > 10000)
        finally:
            suite.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)

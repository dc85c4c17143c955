"""Runs the Postman collection of docs/postman/ with newman against the six daemons started
from this build (ports 25086-25091): orders on both orchestrators, read back from the services,
compensated orders on both, notifications, problem+json errors, a service refusing a call
without a token. The tokens are the suite's, given as --env-var (the committed environment has
empty ones). The environment's base URLs and
product id are overridden so the run touches only its own data."""
import os
import random
import subprocess
import unittest

import shiplib as S
import livelib as L


class PostmanNewman(unittest.TestCase):
    def test_collection_passes_against_the_suite(self):
        node = os.environ.get("SHIP_NODE") or "node"
        newman = os.path.join(os.environ.get("SHIP_NODE_MODULES", S.src("tests", "ship", "node_modules")),
                              "newman", "bin", "newman.js")
        self.assertTrue(os.path.exists(newman), f"{newman} missing: run npm ci in tests/ship")
        suite = L.Suite(25086, "newman", extra_env={"FAKE_PG_LIMIT": 1000000}).start()
        try:
            product = random.randint(10**9, 2 * 10**9)
            overrides = {f"{v}": suite.url[d] for v, d in {
                "pureBaseUrl": "orchestrator-pure", "temporalBaseUrl": "orchestrator-temporal",
                "orderBaseUrl": "service-order", "inventoryBaseUrl": "service-inventory",
                "paymentBaseUrl": "service-payment", "notificationBaseUrl": "service-notification"}.items()}
            overrides.update(productId=product, failAmount=2000000, initialStock=100000,
                             serviceToken=L.H.SERVICE_TOKEN, adminToken=L.H.ADMIN_TOKEN)
            cmd = [node, newman, "run", S.src("docs", "postman", "order-saga.postman_collection.json"),
                   "-e", S.src("docs", "postman", "order-saga-local.postman_environment.json"),
                   "--timeout-request", "60000", "--color", "off", "--disable-unicode"]
            for k, v in overrides.items():
                cmd += ["--env-var", f"{k}={v}"]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
            out_dir = os.environ.get("SHIP_OUT_DIR", S.BUILD_DIR)
            with open(os.path.join(out_dir, "newman.log"), "w") as f:
                f.write(res.stdout + res.stderr)
            print(res.stdout[-4000:])
            self.assertEqual(res.returncode, 0, res.stdout[-8000:] + res.stderr[-2000:])
            self.assertRegex(res.stdout, r"assertions\s*│\s*\d+\s*│\s*0\s*│"
                             if "│" in res.stdout else r"assertions\s*\|\s*\d+\s*\|\s*0\s*\|")
        finally:
            suite.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)

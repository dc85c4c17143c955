"""docs/postman/: the collection parses, every request in it is an operation of
docs/openapi.yaml served by the daemon whose base-URL variable it uses, and the environment
points each base URL at that daemon's default port."""
import json
import re
import unittest
from urllib.parse import urlparse

import shiplib as S

BASE_VARS = {"pureBaseUrl": "orchestrator-pure", "temporalBaseUrl": "orchestrator-temporal",
             "orderBaseUrl": "service-order", "inventoryBaseUrl": "service-inventory",
             "paymentBaseUrl": "service-payment", "notificationBaseUrl": "service-notification"}


def requests(items):
    for it in items:
        if "item" in it:
            yield from requests(it["item"])
        else:
            yield it


def load(name):
    with open(S.src("docs", "postman", name), encoding="utf-8") as f:
        return json.load(f)


class PostmanStatic(unittest.TestCase):
    def test_environment_has_default_ports(self):
        env = {v["key"]: v["value"] for v in load("order-saga-local.postman_environment.json")["values"]}
        for var, daemon in BASE_VARS.items():
            with self.subTest(var=var):
                u = urlparse(env[var])
                self.assertEqual(u.port, S.DAEMONS[daemon])

    def test_every_request_is_a_documented_operation_of_its_daemon(self):
        coll = load("order-saga.postman_collection.json")
        self.assertIn("v2.1.0", coll["info"]["schema"])
        ops = S.spec_operations(S.load_spec())
        patterns = {}
        for (method, path), op in ops.items():
            rx = "^" + re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(path)) + "$"
            patterns[(method, rx)] = set(op.get("tags", []))
        reqs = list(requests(coll["item"]))
        self.assertGreater(len(reqs), 10)
        for r in reqs:
            raw = r["request"]["url"]["raw"]
            m = re.match(r"^\{\{(\w+)\}\}(/[^?]*)", raw)
            with self.subTest(request=r["name"]):
                self.assertIsNotNone(m, f"URL must start with a base-URL variable: {raw}")
                var, path = m.group(1), m.group(2)
                self.assertIn(var, BASE_VARS)
                path = re.sub(r"\{\{\w+\}\}", "x", path)
                tags = [t for (meth, rx), t in patterns.items()
                        if meth == r["request"]["method"] and re.match(rx, path)]
                self.assertTrue(tags, f"{r['request']['method']} {path} is not in docs/openapi.yaml")
                self.assertIn(BASE_VARS[var], set().union(*tags))

    def test_tokens_are_variables_and_the_order_api_is_called_without_one(self):
        env = {v["key"]: v for v in load("order-saga-local.postman_environment.json")["values"]}
        for var in ("serviceToken", "adminToken"):
            self.assertEqual((env[var]["value"], env[var]["type"]), ("", "secret"),
                             "no token value is committed")
        coll = load("order-saga.postman_collection.json")
        self.assertEqual(coll["auth"]["type"], "bearer")
        self.assertEqual(coll["auth"]["bearer"][0]["value"], "{{serviceToken}}")
        for r in requests(coll["item"]):
            var = re.match(r"^\{\{(\w+)\}\}", r["request"]["url"]["raw"]).group(1)
            auth = r["request"].get("auth", {"type": "inherited"})
            with self.subTest(request=r["name"]):
                if BASE_VARS[var].startswith("orchestrator") or r["name"].endswith("/health"):
                    self.assertEqual(auth["type"], "noauth", "the public API needs no token")
                elif r["request"]["method"] == "PUT" and "403" not in json.dumps(r["event"]):
                    self.assertEqual(auth["bearer"][0]["value"], "{{adminToken}}")

    def test_covers_both_orchestrators_and_compensation(self):
        coll = json.dumps(load("order-saga.postman_collection.json"))
        for needle in ("/api/pure/orders", "/api/temporal/orders", "REFUNDED", "CANCELLED",
                       "InsufficientBalance", "OutOfStock"):
            self.assertIn(needle, coll)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""No log line of a test run holds a credential. ctest runs this after every other test
(security_log_audit DEPENDS on all of them): it first provokes a daemon started with the run's
tokens and passwords (wrong tokens that contain the right one, malformed headers around it,
Redis and MySQL passwords that are the right one plus a character), then greps every daemon log
of the run (<build>/test-logs/) and the stack's logs ($STACK_DIR/logs/: MariaDB, Redis, Temporal,
the demo's daemons) for SERVICE_TOKEN, ADMIN_TOKEN, REDIS_PASSWORD and MYSQL_PASSWORD."""
import glob
import os
import unittest

import harness as h
import sec_util as U


class LogAudit(unittest.TestCase):
    def provoke(self):
        """A daemon that sees the secrets in every shape a careless log line could echo."""
        tok, adm = h.SERVICE_TOKEN.encode(), h.ADMIN_TOKEN.encode()
        d = h.Daemon("service-inventory", U.SCRATCH, {"ORDER_EVENTS_STREAM": h.uid("test:audit:")},
                     log_name="sec-audit")
        with d:
            for line in (b"Authorization: Bearer " + adm + b"x",
                         b"Authorization: Bearer x" + tok,
                         b"Authorization: Basic " + adm,
                         b"Authorization: Bearer " + tok + b" " + adm,
                         b"Authorization: Bearer " + adm + b"\xff",
                         b"Authorization: Bearer " + adm + b"A" * 5000,
                         b"Authorization: Bearer " + tok + b"A" * 100000):
                U.raw_request(U.SCRATCH, "PUT", "/api/inventory/1", [line], b'{"available":1}')
            h.http("GET", f"{d.url}/api/inventory/1", headers=h.bearer(h.ADMIN_TOKEN))
        # Passwords one character off: the refusals are logged, the passwords must not be.
        off = {"REDIS_PASSWORD": (h.REDIS_PASSWORD or "r" * 32) + "x",
               "MYSQL_PASSWORD": (h.MYSQL["password"] or "m" * 32) + "x"}
        bad = h.Daemon("service-inventory", U.SCRATCH, off, log_name="sec-audit-passwords")
        with bad:
            self.assertEqual(h.http("GET", bad.url + "/ready", auth=False)[0], 503)
            h.http("GET", f"{bad.url}/api/inventory/1")
        return [d.log_path, bad.log_path]

    def test_no_log_line_of_the_run_holds_a_credential(self):
        own = self.provoke()
        secrets = h.secret_values()
        for name in ("SERVICE_TOKEN", "ADMIN_TOKEN"):
            self.assertIn(name, secrets)
        for name, value in secrets.items():
            self.assertGreaterEqual(len(value), 16, f"{name} is too short to search for")
        files = sorted(set(glob.glob(os.path.join(h.LOG_DIR, "*")) +
                           glob.glob(os.path.join(h.STACK_DIR, "logs", "*")) + own))
        self.assertTrue(set(own) <= set(files))
        hits = U.log_lines_with(files, secrets)
        self.assertEqual(hits, [], "credentials in logs (file, line, which):\n" +
                         "\n".join(f"{p}:{n}: {k}" for p, n, k in hits[:50]))
        print(f"audited {len(files)} log files for {sorted(secrets)}")


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Credentials at start and in the stack: every daemon refuses to start without its tokens (or
with malformed or equal ones) and starts with AUTH_DISABLED=1 plus a warning; the stack's Redis
refuses commands without its password and MySQL refuses the saga user without its password; a
daemon with a wrong Redis password is not ready and says so without the password; an ACL user
(REDIS_USERNAME) works. Ports 27096-27099."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness as h
import sec_util as U

SERVICES = ["service-order", "service-inventory", "service-payment", "service-notification"]
ORCHESTRATORS = ["orchestrator-pure", "orchestrator-temporal"]


def warn_lines(text, needle):
    out = []
    for line in text.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("level") == "warn" and needle in j.get("msg", ""):
            out.append(j)
    return out


class DaemonsNeedTheirTokens(unittest.TestCase):
    def refused(self, name, env, needle):
        code, log = U.start_failing(name, U.SCRATCH, env)
        self.assertNotEqual(code, 0, log[-2000:])
        self.assertIn(needle, log)
        self.assertFalse(h.port_open(U.SCRATCH), "it must not have listened")
        for value in env.values():
            if value and len(value) >= 8:
                self.assertFalse(value in log, "the refused value was echoed")
        return log

    def test_every_daemon_refuses_to_start_without_the_service_token(self):
        for name in SERVICES + ORCHESTRATORS:
            with self.subTest(daemon=name):
                log = self.refused(name, {"SERVICE_TOKEN": ""}, "SERVICE_TOKEN is not set")
                self.assertIn("AUTH_DISABLED=1", log)  # says what else can be done

    def test_every_service_refuses_to_start_without_the_admin_token(self):
        for name in SERVICES:
            with self.subTest(daemon=name):
                self.refused(name, {"ADMIN_TOKEN": ""}, "ADMIN_TOKEN is not set")

    def test_malformed_equal_or_ambiguous_settings_are_refused(self):
        cases = [
            ({"SERVICE_TOKEN": "tooShortXq9"}, "SERVICE_TOKEN is malformed"),
            ({"SERVICE_TOKEN": "has spaces in it, 0123456789"}, "SERVICE_TOKEN is malformed"),
            ({"ADMIN_TOKEN": h.SERVICE_TOKEN}, "must differ"),
            ({"AUTH_DISABLED": "yes"}, "AUTH_DISABLED must be 0 or 1"),
        ]
        for env, needle in cases:
            with self.subTest(env=sorted(env)):
                self.refused("service-inventory", env, needle)

    def test_auth_disabled_starts_without_tokens_and_warns(self):
        env = {"SERVICE_TOKEN": "", "ADMIN_TOKEN": "", "AUTH_DISABLED": "1"}
        d = h.Daemon("service-order", U.SCRATCH, env, log_name="sec-auth-disabled")
        with d:
            st, _, body = h.http("GET", f"{d.url}/api/orders/999999999999", auth=False)
            self.assertEqual(st, 404, body)  # reached the handler: no 401
        with open(d.log_path, errors="replace") as f:
            self.assertTrue(warn_lines(f.read(), "AUTH_DISABLED=1"), "no warning at start")
        o = h.Daemon("orchestrator-pure", U.SCRATCH, env, log_name="sec-auth-disabled-orch")
        with o:
            self.assertEqual(h.http("GET", o.url + "/health", auth=False)[0], 200)
        with open(o.log_path, errors="replace") as f:
            self.assertTrue(warn_lines(f.read(), "AUTH_DISABLED=1"))


class StackNeedsPasswords(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not h.REDIS_PASSWORD or not h.MYSQL["password"]:
            raise AssertionError("the stack has no Redis or MySQL password: start it with "
                                 "scripts/stack up (it generates them into secrets.env)")

    def cli(self, *args, password=None):
        return subprocess.run(h.redis_cli_args() + list(args), capture_output=True, text=True,
                              env=h.redis_env(password if password is not None else ""),
                              timeout=10)

    def test_redis_refuses_commands_without_the_password(self):
        for args in (["PING"], ["SET", "test:sec:probe", "1"], ["KEYS", "*"]):
            with self.subTest(command=args[0], password="none"):
                out = self.cli(*args)
                self.assertIn("NOAUTH", out.stdout + out.stderr)
            with self.subTest(command=args[0], password="wrong"):
                out = self.cli(*args, password=U.WRONG_TOKEN)
                self.assertRegex(out.stdout + out.stderr, "WRONGPASS|invalid")
        self.assertEqual(self.cli("PING", password=h.REDIS_PASSWORD).stdout.strip(), "PONG")
        self.assertEqual(h.redis_cli("EXISTS", "test:sec:probe"), "0", "a refused SET wrote")

    def test_mysql_refuses_the_saga_user_without_its_password(self):
        for label, env in (("none", dict(os.environ, MYSQL_PWD="")),
                           ("wrong", dict(os.environ, MYSQL_PWD=U.WRONG_TOKEN))):
            with self.subTest(password=label):
                out = subprocess.run(h.mariadb_args() + ["-e", "SELECT 1"], capture_output=True,
                                     text=True, env=env, timeout=10)
                self.assertNotEqual(out.returncode, 0)
                self.assertIn("Access denied", out.stderr)
        self.assertEqual(h.sql_value("information_schema", "SELECT 1"), "1")

    def test_a_daemon_with_a_wrong_redis_password_is_not_ready_and_says_why(self):
        wrong = "wrong-redis-password-" + h.uid()
        d = h.Daemon("service-order", U.SCRATCH2, {"REDIS_PASSWORD": wrong},
                     log_name="sec-wrong-redis")
        with d:
            st, _, body = h.http("GET", d.url + "/ready", auth=False)
            self.assertEqual((st, body["detail"]), (503, "redis unreachable"), body)
        with open(d.log_path, errors="replace") as f:
            log = f.read()
        self.assertIn("refused REDIS_USERNAME/REDIS_PASSWORD", log)
        self.assertFalse(wrong in log, "the password was logged")


class SecretsStayPrivate(unittest.TestCase):
    def test_the_stack_keeps_its_secrets_in_files_only_we_can_read(self):
        if not os.path.exists(h.SECRETS_FILE):
            self.skipTest("credentials come from the environment, not from a stack of ours")
        self.assertEqual(os.stat(h.SECRETS_FILE).st_mode & 0o077, 0, "secrets.env must be 0600")
        self.assertEqual(os.stat(h.STACK_DIR).st_mode & 0o077, 0, "the stack dir must be 0700")
        conf = os.path.join(h.STACK_DIR, "redis", "auth.conf")
        if os.path.exists(conf):
            self.assertEqual(os.stat(conf).st_mode & 0o077, 0)

    def test_no_running_process_has_a_credential_on_its_command_line(self):
        """Other users of the machine see every command line (ps): the stack, the demo's daemons
        and the tests pass secrets through the environment, stdin or 0600 files instead."""
        secrets = h.secret_values()
        seen = 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ")
            except OSError:
                continue
            seen += 1
            for name, value in secrets.items():
                with self.subTest(pid=pid, secret=name):
                    # assertFalse: a failure must not print the secret it found
                    self.assertFalse(value.encode() in cmdline,
                                     f"{name} on the command line of pid {pid}")
        self.assertGreater(seen, 3)


class RedisAclUser(unittest.TestCase):
    """A Redis of our own whose default user is off and whose only user is an ACL user."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sec-redis-")
        cls.user, cls.password = "saga-" + h.uid(), h.uid() + h.uid()
        cls.redis = subprocess.Popen(
            ["redis-server", "-", "--port", str(U.OWN_REDIS), "--bind", "127.0.0.1", "--dir",
             cls.dir, "--save", "", "--appendonly", "no"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.redis.stdin.write(f"user default off\nuser {cls.user} on >{cls.password} ~* &* +@all\n"
                              .encode())
        cls.redis.stdin.close()
        h.wait_until(lambda: h.port_open(U.OWN_REDIS), what="own redis")

    @classmethod
    def tearDownClass(cls):
        cls.redis.terminate()
        cls.redis.wait(15)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_a_daemon_works_as_an_acl_user_and_not_as_another(self):
        env = {"REDIS_PORT": U.OWN_REDIS, "REDIS_USERNAME": self.user,
               "REDIS_PASSWORD": self.password, "ORDER_EVENTS_STREAM": h.uid("test:sec-acl:")}
        d = h.Daemon("service-inventory", U.SCRATCH2, env, log_name="sec-acl")
        pid = 900000000 + os.getpid() % 100000
        with d:
            self.assertEqual(h.http("GET", d.url + "/ready", auth=False)[0], 200)
            # PUT takes the product's Redis lock and records its Idempotency-Key in Redis.
            key = h.uid("sec-acl-")
            st, hdrs, body = h.http("PUT", f"{d.url}/api/inventory/{pid}", {"available": 5},
                                    headers={"Idempotency-Key": key})
            self.assertEqual(st, 200, body)
            st, hdrs, _ = h.http("PUT", f"{d.url}/api/inventory/{pid}", {"available": 5},
                                 headers={"Idempotency-Key": key})
            self.assertEqual((st, hdrs.get("idempotent-replayed")), (200, "true"))
        with open(d.log_path, errors="replace") as f:
            self.assertFalse(self.password in f.read(), "the password was logged")
        other = h.Daemon("service-inventory", U.SCRATCH2, dict(env, REDIS_USERNAME="nobody"),
                         log_name="sec-acl-other")
        with other:
            self.assertEqual(h.http("GET", other.url + "/ready", auth=False)[0], 503)
        with open(other.log_path, errors="replace") as f:
            log = f.read()
        self.assertIn("refused REDIS_USERNAME/REDIS_PASSWORD", log)
        self.assertFalse(self.password in log, "the password was logged")


if __name__ == "__main__":
    unittest.main(verbosity=2)

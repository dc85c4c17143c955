"""scripts/stack, scripts/suite and scripts/demo refuse what cannot work with a clear message and
a non-zero exit, and leave nothing running that they started: a replica count off the port
range, a port taken, a build that fails, PostgreSQL unreachable or refusing the password, a
Temporal schema at another version than the server needs (and --upgrade-schema upgrading an
older one), a history shard count the database was not created with. As root, a stack folder
the `postgres` user cannot reach keeps PostgreSQL's data in /tmp instead. Also: the stack's custom search attributes reach the dev and the production server.

Each case runs scripts/stack on a stack directory of its own with ports of its own (Temporal
28733 and neighbours, UI 28388, PostgreSQL 28432) and reuses the MariaDB and Redis already
running (a port served by another process is used, not started). Needs the Temporal server
built (label production: scripts/test --production)."""
import glob
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

import harness as h
import prodlib as p

T_PORT, UI_PORT, PG_PORT = 28733, 28388, 28432
T_PORTS = [T_PORT + d for d in (0, 1, 2, 6, 7, 10, 200, 201, 202, 206)]


class ScriptsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="saga-prod-scripts-")
        os.chmod(cls.tmp, 0o755)  # PostgreSQL runs as its own user below it

    @classmethod
    def tearDownClass(cls):
        p.script("stack", "down", env=cls.env(cls, "stack"))
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self, name, **extra):
        d = os.path.join(self.tmp, name)
        env = {"STACK_DIR": d, "SUITE_DIR": d, "TEMPORAL_PORT": T_PORT,
               "TEMPORAL_UI_PORT": UI_PORT, "TEMPORAL_PG_PORT": PG_PORT}
        env.update(extra)
        return env

    def assert_refused(self, cp, *phrases):
        out = cp.stdout + cp.stderr
        self.assertNotEqual(cp.returncode, 0, out)
        for phrase in phrases:
            self.assertIn(phrase, out)

    def assert_nothing_running(self, env, ports=tuple(T_PORTS + [UI_PORT, PG_PORT])):
        """No process of the stack directory alive, none of its ports open."""
        for f in glob.glob(os.path.join(env["STACK_DIR"], "*.pid")):
            with open(f) as fh:
                self.assertFalse(p.alive(int(fh.read().strip())), f"{f} still alive")
        for port in ports:
            self.assertFalse(h.port_open(port), f"port {port} left open")

    # ---- replicas ----------------------------------------------------------------------------

    def test_replica_count_off_the_port_range_is_refused(self):
        env = self.env("suite")
        for bad, phrase in (("0", "positive integer"), ("x", "positive integer"),
                            ("46", "does not fit the port range"),
                            ("100000", "does not fit the port range")):
            self.assert_refused(p.script("suite", "check-replicas", bad, env=env), phrase)
            self.assert_refused(p.script("suite", "up", "--replicas", bad, env=env), phrase)
            self.assert_refused(p.script("demo", "--replicas", bad, env=env), phrase)
        self.assertEqual(p.script("suite", "check-replicas", "45", env=env).returncode, 0)
        self.assertEqual(glob.glob(os.path.join(env["SUITE_DIR"], "*.pid")), [])

    def test_suite_refuses_a_taken_port_before_starting_anything(self):
        env = self.env("suite-port", BUILD_DIR=h.BUILD_DIR)
        with socket.socket() as s:  # replica 1 of orchestrator-temporal: 22081
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 22081))
            s.listen()
            self.assert_refused(p.script("suite", "up", "--replicas", "2", env=env),
                                "port 22081 (orchestrator-temporal-r1) is taken")
        self.assertEqual(glob.glob(os.path.join(env["SUITE_DIR"], "*.pid")), [])
        self.assertFalse(h.port_open(21082))

    # ---- production profile ------------------------------------------------------------------

    def test_a_taken_port_is_refused_before_anything_starts(self):
        env = self.env("port")
        for port, what in ((T_PORT + 1, "Temporal history gRPC"), (UI_PORT, "Temporal UI")):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                s.listen()
                self.assert_refused(p.script("stack", "up", "--production", env=env),
                                    f"port {port} ({what}) is taken", "nothing was started")
            self.assert_nothing_running(env)

    def test_a_failed_build_is_refused_before_anything_starts(self):
        env = self.env("build", ORDER_SAGA_CACHE=os.path.join(self.tmp, "empty-cache"),
                       GOPROXY="off")
        self.assert_refused(p.script("stack", "up", "--production", env=env),
                            "building the Temporal server / UI server failed")
        self.assert_nothing_running(env)

    def test_unreachable_postgresql_is_refused(self):
        env = self.env("unreachable", TEMPORAL_PG_HOST="127.0.0.2", TEMPORAL_PG_PORT="28439")
        self.assert_refused(p.script("stack", "up", "--production", env=env),
                            "PostgreSQL at 127.0.0.2:28439 unreachable")
        self.assert_nothing_running(env)

    def test_password_and_schema_version_are_checked_at_every_start(self):
        env = self.env("stack")
        self.addCleanup(p.script, "stack", "down", env=env)
        cp = p.script("stack", "up", "--production", env=env)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertEqual(p.stack_profile(env), "production")
        # Another stack directory on the same PostgreSQL port: that server is not its own, so
        # the role keeps its password, and the other stack's (generated apart) is refused.
        other = self.env("other", TEMPORAL_PORT=T_PORT + 100, TEMPORAL_UI_PORT=UI_PORT + 1)
        self.assert_refused(p.script("stack", "up", "--production", env=other),
                            f"PostgreSQL at 127.0.0.1:{PG_PORT} refused the password of role "
                            "'temporal'")
        self.assert_nothing_running(other, ports=[port + 100 for port in T_PORTS] + [UI_PORT + 1])
        self.assertEqual(p.script("stack", "down", env=env).returncode, 0)
        self.assert_nothing_running(env)

        # The shard count is the database's once the server has run on it.
        self.assert_refused(p.script("stack", "up", "--production", env=dict(
            env, TEMPORAL_HISTORY_SHARDS="8")),
            "database temporal holds 4 history shards; TEMPORAL_HISTORY_SHARDS=8 cannot change")
        self.assert_nothing_running(env)

        # An older schema is refused, and upgraded on request.
        self.set_schema(env, "temporal_visibility", "1.13")
        self.assert_refused(p.script("stack", "up", "--production", env=env),
                            "database temporal_visibility has Temporal schema 1.13",
                            "--upgrade-schema")
        self.assert_nothing_running(env)
        cp = p.script("stack", "up", "--production", "--upgrade-schema", env=env)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("upgrading database temporal_visibility from schema 1.13", cp.stdout)

        # A newer one (written by a later server) is refused.
        self.set_schema(env, "temporal", "99.0", running=True)
        self.assertEqual(p.script("stack", "down", env=env).returncode, 0)
        self.assert_refused(p.script("stack", "up", "--production", env=env),
                            "database temporal has Temporal schema 99.0, newer than")
        self.assert_nothing_running(env)

    def test_a_stack_folder_postgres_cannot_reach_keeps_its_database_in_tmp(self):
        """As root, PostgreSQL runs as `postgres`: a stack folder inside a directory of mode 0700
        (a clone in a mktemp -d, a home) cannot hold its data, so scripts/stack puts it in
        /tmp/order-saga-pg-<hash of STACK_DIR>; the profile starts and stops as anywhere."""
        outer = tempfile.mkdtemp(prefix="saga-prod-private-")  # mode 0700
        self.addCleanup(shutil.rmtree, outer, ignore_errors=True)
        env = dict(self.env("private"), STACK_DIR=os.path.join(outer, "stack"))
        beside = env["STACK_DIR"] + ".postgresql"
        in_tmp = os.path.join(tempfile.gettempdir(), "order-saga-pg-" + hashlib.sha256(
            env["STACK_DIR"].encode()).hexdigest()[:16])
        self.addCleanup(shutil.rmtree, in_tmp, ignore_errors=True)
        self.addCleanup(p.script, "stack", "down", env=env)
        cp = p.script("stack", "up", "--production", env=env)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertEqual(p.stack_profile(env), "production")
        data = in_tmp if os.geteuid() == 0 else beside  # not root: the server runs as us
        self.assertTrue(os.path.isfile(os.path.join(data, "data", "PG_VERSION")), cp.stdout)
        if os.geteuid() == 0:
            self.assertFalse(os.path.exists(beside))
        self.assertEqual(p.script("stack", "down", env=env).returncode, 0)
        self.assert_nothing_running(env)

    def test_custom_search_attributes_reach_both_profiles(self):
        """TEMPORAL_SEARCH_ATTRIBUTES of scripts/stack (a copy of the script with two entries):
        the dev server gets them with --search-attribute, the production server through
        `temporal operator search-attribute create`."""
        fake_root = os.path.join(self.tmp, "sa-root")
        os.makedirs(os.path.join(fake_root, "scripts"))
        with open(os.path.join(p.SCRIPTS, "stack")) as f:
            text = f.read()
        text, n = re.subn(r"^TEMPORAL_SEARCH_ATTRIBUTES=\([^)]*\)",
                          "TEMPORAL_SEARCH_ATTRIBUTES=(SagaTestKeyword=Keyword SagaTestInt=Int)",
                          text, flags=re.M)
        self.assertEqual(n, 1)
        stack = os.path.join(fake_root, "scripts", "stack")
        with open(stack, "w") as f:
            f.write(text)
        os.chmod(stack, 0o755)
        os.symlink(os.path.join(p.SCRIPTS, "temporal-build"),
                   os.path.join(fake_root, "scripts", "temporal-build"))
        env = dict(os.environ, **{k: str(v) for k, v in self.env("sa").items()},
                   TEMPORAL_CLI=h.TEMPORAL_CLI)
        for profile in ([], ["--production"]):
            with self.subTest(profile=profile or "dev"):
                cp = subprocess.run([stack, "up"] + profile, env=env, capture_output=True,
                                    text=True, timeout=600)
                try:
                    self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
                    out = subprocess.run(
                        [h.TEMPORAL_CLI, "operator", "search-attribute", "list", "--address",
                         f"127.0.0.1:{T_PORT}", "-o", "json"],
                        capture_output=True, text=True, timeout=60)
                    self.assertEqual(out.returncode, 0, out.stderr)
                    custom = json.loads(out.stdout).get("customAttributes", {})
                    self.assertEqual(custom, {"SagaTestKeyword": "INDEXED_VALUE_TYPE_KEYWORD",
                                              "SagaTestInt": "INDEXED_VALUE_TYPE_INT"})
                finally:
                    subprocess.run([stack, "down"], env=env, capture_output=True, timeout=300)
        self.assert_nothing_running(self.env("sa"))

    def set_schema(self, env, db, version, running=False):
        """Sets the recorded schema version of db, starting the stack first if need be."""
        if not running:
            cp = p.script("stack", "up", "--production", env=env)
            self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        cp = subprocess.run(
            ["psql", "-X", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "temporal", "-d", db,
             "-c", f"UPDATE schema_version SET curr_version = '{version}' "
                   f"WHERE version_partition = 0 AND db_name = '{db}'"],
            env=dict(os.environ, PGPASSWORD=h.read_secrets(
                os.path.join(env["STACK_DIR"], "secrets.env"))["TEMPORAL_PG_PASSWORD"]),
            capture_output=True, text=True)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        if not running:
            self.assertEqual(p.script("stack", "down", env=env).returncode, 0)


if __name__ == "__main__":
    unittest.main()

"""docker-compose.yml: accepted by docker-compose, and every daemon, port and setting of
DESIGN.md / docs/development.md is in it, wired to the containers by name. Secrets: every
password and token comes from .env (the file has no literal one, compose refuses to start
without them, .env.example lists them all and its one-liner makes a working .env), and no
infrastructure port or service port is published on all interfaces. Also runs the MySQL init
script of docker/ against a recording stand-in for the mysql client."""
import os
import re
import subprocess
import tempfile
import unittest
from urllib.parse import urlparse

import yaml

import shiplib as S

DAEMON_VARS = {"PORT", "HTTP_THREADS", "LOG_LEVEL", "REDIS_HOST", "REDIS_PORT"}
MYSQL_VARS = {"MYSQL_HOST", "MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE",
              "MYSQL_POOL_SIZE"}
URL_VARS = {"ORDER_SERVICE_URL": "service-order", "INVENTORY_SERVICE_URL": "service-inventory",
            "PAYMENT_SERVICE_URL": "service-payment"}


# Containers a user never needs to reach from another machine: loopback only. The
# orchestrators (the public order API) may listen on every interface.
INFRASTRUCTURE = ("mysql", "redis", "postgresql", "temporal", "temporal-ui")
LOOPBACK_ONLY = INFRASTRUCTURE + ("service-order", "service-inventory", "service-payment",
                                  "service-notification")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|PWD|REDISCLI_AUTH")
ENV_REF = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?[?-][^}]*)?\}$")


def published(svc):
    """{published: target} of a service's ports (docker-compose config normal form)."""
    return {p: t for p, (t, _) in ports(svc).items()}


def ports(svc):
    """{published: (target, host ip or "" for all interfaces)} of a service's ports."""
    out = {}
    for p in svc.get("ports", []):
        if isinstance(p, dict):
            out[int(p["published"])] = (int(p["target"]), p.get("host_ip", ""))
        else:
            parts = str(p).split(":")
            host = parts[-3] if len(parts) >= 3 else ""
            out[int(parts[-2])] = (int(parts[-1].split("/")[0]), host)
    return out


def env_example():
    """{NAME: value} of .env.example and the one-liner it documents (a shell command)."""
    with open(S.src(".env.example"), encoding="utf-8") as f:
        text = f.read()
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.M))
    one_liner = re.search(r"^#\s+(for k in .*)$", text, re.M)
    return values, one_liner.group(1) if one_liner else None


def compose_config(env_file):
    """(returncode, stdout, stderr) of `docker-compose config` with that env file."""
    exe = S.tool("docker-compose", "DOCKER_COMPOSE")
    if not exe:
        raise AssertionError("docker-compose not found (Debian package docker-compose)")
    res = subprocess.run([exe, "--env-file", env_file, "-f", S.src("docker-compose.yml"),
                          "config"], cwd=S.SOURCE_DIR, capture_output=True, text=True,
                         timeout=120)
    return res.returncode, res.stdout, res.stderr


class ComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        values, one_liner = env_example()
        if not one_liner:
            raise AssertionError(".env.example must document a one-liner that writes .env")
        # The documented one-liner, run where a user runs it, makes the .env compose reads.
        subprocess.run(["bash", "-c", one_liner], cwd=cls.tmp.name, check=True, timeout=30)
        cls.env_file = os.path.join(cls.tmp.name, ".env")
        with open(cls.env_file, encoding="utf-8") as f:
            cls.secrets = dict(line.strip().split("=", 1) for line in f if "=" in line)
        rc, out, err = compose_config(cls.env_file)
        if rc != 0:
            raise AssertionError(f"docker-compose config refused the file:\n{err}")
        cls.cfg = yaml.safe_load(out)
        cls.services = cls.cfg["services"]
        with open(S.src("docker-compose.yml"), encoding="utf-8") as f:
            cls.raw_text = f.read()
        cls.raw = yaml.safe_load(cls.raw_text)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def env(self, name):
        return {k: str(v) for k, v in (self.services[name].get("environment") or {}).items()}

    def replicas_of(self, name):
        """The compose services that are replicas of daemon `name` (name, name-r1, ...)."""
        return sorted(s for s in self.services if re.fullmatch(re.escape(name) + r"(-r\d+)?", s))

    def test_every_daemon_has_replicas_on_port_plus_1000_r(self):
        """DESIGN: replica r of a daemon on its port + 1000*r; the same image, command and
        settings (inside its container each listens on the daemon's own port)."""
        for name, port in S.DAEMONS.items():
            replicas = self.replicas_of(name)
            with self.subTest(daemon=name):
                self.assertGreaterEqual(len(replicas), 2, f"{name}: one replica only")
                for rep in replicas:
                    r = int(rep.rsplit("-r", 1)[1]) if rep != name else 0
                    svc = self.services[rep]
                    self.assertEqual(published(svc), {port + 1000 * r: port}, rep)
                    self.assertEqual(svc.get("command"), [name])
                    self.assertEqual(svc.get("image"), self.services[name].get("image"))
                    self.assertEqual(self.env(rep), self.env(name), rep)
                    self.assertTrue((svc.get("healthcheck") or {}).get("test"), rep)
        # One task queue for the orchestrator-temporal replicas, one consumer group (the
        # daemon's default, not overridden per replica) for the notification replicas.
        queues = {self.env(r)["TEMPORAL_TASK_QUEUE"] for r in self.replicas_of("orchestrator-temporal")}
        self.assertEqual(queues, {"order-task-queue"})
        groups = {self.env(r).get("NOTIFICATION_GROUP") for r in self.replicas_of("service-notification")}
        self.assertEqual(len(groups), 1)

    def test_every_daemon_has_its_port_health_and_image(self):
        images = set()
        for name, port in S.DAEMONS.items():
            with self.subTest(daemon=name):
                self.assertIn(name, self.services)
                svc = self.services[name]
                self.assertEqual(published(svc), {port: port})
                self.assertEqual(self.env(name).get("PORT"), str(port))
                self.assertEqual(svc.get("command"), [name])
                hc = svc.get("healthcheck") or {}
                self.assertTrue(hc.get("test"), "no healthcheck")
                self.assertIn("build", svc)
                self.assertEqual(os.path.normpath(svc["build"]["context"]),
                                 os.path.normpath(S.SOURCE_DIR))
                images.add(svc.get("image"))
                self.assertEqual(self.env(name).get("BIND_ADDR"), "0.0.0.0",
                                 "a daemon in a container must listen on all interfaces")
        self.assertEqual(len(images), 1, f"one image for all daemons, got {images}")

    def test_port_table_matches_design(self):
        """The daemon and infrastructure ports used here are DESIGN.md's (when the shared
        folder with DESIGN.md sits beside the repository, as on the team's machines and CI)."""
        design = os.path.join(S.SOURCE_DIR, "..", "shared", "DESIGN.md")
        if not os.path.exists(design):
            self.skipTest("DESIGN.md not beside the repository")
        with open(design, encoding="utf-8") as f:
            text = f.read()
        rows = dict(re.findall(r"^\|\s*([^|]+?)\s*\|\s*(\d{5})\s*\|", text, re.M))
        for name, port in S.DAEMONS.items():
            self.assertEqual(int(rows[name]), port, name)
        design_ports = {int(p) for p in rows.values()}
        self.assertEqual(design_ports, set(S.DAEMONS.values()) | set(S.INFRA_PORTS.values()))

    def test_infrastructure_images_and_ports(self):
        want = {"mysql": ("mysql:8.0", 3306), "redis": ("redis:7", 6379),
                "postgresql": ("postgres:15", 5432), "temporal": ("temporalio/auto-setup:", 7233),
                "temporal-ui": ("temporalio/ui:", 8080)}
        for name, (image, target) in want.items():
            with self.subTest(service=name):
                svc = self.services[name]
                self.assertTrue(svc["image"].startswith(image), svc["image"])
                self.assertEqual(published(svc), {S.INFRA_PORTS[name]: target})

    def test_no_infrastructure_or_service_port_is_bound_to_all_interfaces(self):
        for name in LOOPBACK_ONLY:
            for port, (_, host) in ports(self.services[name]).items():
                with self.subTest(service=name, port=port):
                    self.assertEqual(host, "127.0.0.1",
                                     f"{name} publishes {port} on every interface")
        for name, svc in self.services.items():
            daemon = re.sub(r"-r\d+$", "", name)  # replica r of a daemon: <daemon>-r<r>
            for port, (_, host) in ports(svc).items():
                with self.subTest(service=name, port=port):
                    self.assertTrue(daemon in S.DAEMONS and daemon.startswith("orchestrator")
                                    or host == "127.0.0.1",
                                    "only the public order API may be reachable from outside")

    def test_no_secret_literal_in_the_compose_file(self):
        """Every password/token setting is a ${VAR} reference, no command carries one, and
        after interpolation the generated values appear only in environment settings."""
        checked = 0
        for name, svc in self.raw["services"].items():
            env = svc.get("environment") or {}
            for key, value in (env.items() if isinstance(env, dict) else []):
                if SECRET_NAME.search(key):
                    checked += 1
                    with self.subTest(service=name, variable=key):
                        self.assertRegex(str(value), ENV_REF, "a secret must come from .env")
        for key, anchor in self.raw.items():
            if key.startswith("x-") and isinstance(anchor, dict):
                for var, value in anchor.items():
                    if SECRET_NAME.search(str(var)):
                        checked += 1
                        with self.subTest(anchor=key, variable=var):
                            self.assertRegex(str(value), ENV_REF, "a secret must come from .env")
        self.assertGreaterEqual(checked, 8)
        for pattern in (r"\s-p\S", r"--requirepass", r"IDENTIFIED BY", r"saga-root",
                        r"PASSWORD:\s*[a-z]"):
            with self.subTest(pattern=pattern):
                self.assertIsNone(re.search(pattern, self.raw_text), "a literal secret")

        def walk(node, path):
            if isinstance(node, dict):
                for k, v in node.items():
                    yield from walk(v, path + [str(k)])
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    yield from walk(v, path + [str(i)])
            else:
                yield path, str(node)

        values = [v for v in self.secrets.values() if v]
        for path, text in walk(self.cfg, []):
            for v in values:
                if v in text:
                    with self.subTest(setting="/".join(path)):
                        self.assertIn("environment", path, "a secret outside the environment")

    def test_compose_refuses_to_start_without_the_secrets(self):
        empty = os.path.join(self.tmp.name, "empty.env")
        open(empty, "w").close()
        rc, _, err = compose_config(empty)
        self.assertNotEqual(rc, 0, "compose must not start with default or empty secrets")
        self.assertRegex(err, r"set [A-Z_]+ in \.env")

    def test_env_example_lists_every_variable_and_commits_no_value(self):
        values, _ = env_example()
        referenced = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", self.raw_text))
        self.assertEqual(set(values), referenced, ".env.example and docker-compose.yml differ")
        for k, v in values.items():
            with self.subTest(variable=k):
                self.assertEqual(v, "", "no value in the example: the one-liner makes them")
        required = {k for k in referenced
                    if re.search(r"\$\{" + k + r":\?", self.raw_text)}
        self.assertEqual(required, {k for k in self.secrets}, "the one-liner makes every secret")
        for v in self.secrets.values():
            self.assertRegex(v, r"^[0-9a-f]{64}$")
        for ignore in (".gitignore", ".dockerignore"):
            with open(S.src(ignore), encoding="utf-8") as f:
                self.assertIn(".env", f.read().split(), f".env must be in {ignore}")

    def test_depends_on_waits_for_healthy(self):
        for name, svc in self.services.items():
            deps = svc.get("depends_on") or {}
            for dep, cond in (deps.items() if isinstance(deps, dict) else []):
                with self.subTest(service=name, dependency=dep):
                    self.assertEqual(cond.get("condition"), "service_healthy")
                    self.assertTrue(self.services[dep].get("healthcheck", {}).get("test"),
                                    f"{dep} has no healthcheck to wait for")
        needs = {d: {"mysql", "redis"} for d in S.DATABASES}
        needs["orchestrator-temporal"] = {"temporal", "redis"}
        for orch in ("orchestrator-pure", "orchestrator-temporal"):
            needs[orch] |= {"service-order", "service-inventory", "service-payment"}
        needs["temporal"] = {"postgresql"}
        needs["temporal-ui"] = {"temporal"}
        for name, deps in needs.items():
            with self.subTest(service=name):
                self.assertTrue(deps <= set(self.services[name].get("depends_on") or {}),
                                f"{name} must wait for {sorted(deps)}")

    def test_every_setting_of_the_configuration_table_is_set(self):
        table = S.config_table()
        self.assertGreater(len(table), 15, "configuration table of docs/development.md not found")
        seen = set()
        for name in S.DAEMONS:
            seen |= set(self.env(name))
        missing = sorted(set(table) - seen)
        self.assertFalse(missing, f"settings of docs/development.md missing from compose: {missing}")

    def test_settings_point_at_the_containers(self):
        for name in S.DAEMONS:
            env = self.env(name)
            with self.subTest(daemon=name):
                self.assertTrue(DAEMON_VARS <= set(env), sorted(DAEMON_VARS - set(env)))
                self.assertEqual(env["REDIS_HOST"], "redis")
                self.assertEqual(env["REDIS_PORT"], "6379")
                if name in S.DATABASES:
                    self.assertTrue(MYSQL_VARS <= set(env), sorted(MYSQL_VARS - set(env)))
                    self.assertEqual(env["MYSQL_HOST"], "mysql")
                    self.assertEqual(env["MYSQL_PORT"], "3306")
                    self.assertEqual(env["MYSQL_DATABASE"], S.DATABASES[name])
        for orch in self.replicas_of("orchestrator-pure") + self.replicas_of("orchestrator-temporal"):
            env = self.env(orch)
            for var, target in URL_VARS.items():
                with self.subTest(daemon=orch, var=var):
                    urls = [urlparse(u) for u in env[var].split(",")]
                    self.assertEqual(sorted(u.hostname for u in urls), self.replicas_of(target),
                                     f"{var} must list every replica of {target}")
                    self.assertEqual({u.port for u in urls}, {S.DAEMONS[target]})
        t = self.env("orchestrator-temporal")
        self.assertEqual(t["TEMPORAL_ADDRESS"], "temporal:7233")
        self.assertEqual(t["TEMPORAL_NAMESPACE"], "default")
        self.assertEqual(t["TEMPORAL_TASK_QUEUE"], "order-task-queue")
        self.assertEqual(urlparse(t["TEMPORAL_UI_URL"]).port, S.INFRA_PORTS["temporal-ui"])
        self.assertEqual(self.env("temporal-ui")["TEMPORAL_ADDRESS"], "temporal:7233")
        tmp = self.env("temporal")
        self.assertEqual(tmp["POSTGRES_SEEDS"], "postgresql")

    def test_mysql_gets_sql_and_init_script(self):
        vols = self.services["mysql"].get("volumes", [])
        norm = []
        for v in vols:
            if isinstance(v, dict):
                norm.append((v.get("source", ""), v["target"]))
            else:
                parts = v.split(":")
                norm.append((parts[0], parts[1]))
        targets = {t: os.path.normpath(s) for s, t in norm}
        self.assertEqual(targets.get("/docker-entrypoint-initdb.d"),
                         os.path.normpath(S.src("docker", "mysql-init")))
        sql_target = self.env("mysql").get("SAGA_SQL_DIR", "/saga-sql")
        self.assertEqual(targets.get(sql_target), os.path.normpath(S.src("sql")))


class MysqlInitScript(unittest.TestCase):
    """Runs docker/mysql-init/*.sh with a stand-in `mysql` that records every call, and checks
    it creates each database and the user, and applies every sql/ file in order, once."""

    def test_applies_every_migration_in_order(self):
        scripts = sorted(f for f in os.listdir(S.src("docker", "mysql-init")) if f.endswith(".sh"))
        self.assertTrue(scripts)
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "calls.log")
            stub = os.path.join(tmp, "mysql")
            with open(stub, "w") as f:
                f.write('#!/bin/bash\n{ printf "CALL %s\\n" "$*"; '
                        'if [ ! -t 0 ]; then cat; fi; echo; } >>"$MYSQL_STUB_LOG"\n')
            os.chmod(stub, 0o755)
            env = dict(os.environ, PATH=tmp + os.pathsep + os.environ["PATH"],
                       MYSQL_STUB_LOG=log, MYSQL_ROOT_PASSWORD="root-pw-7f3a",
                       SAGA_SQL_DIR=S.src("sql"), SAGA_DB_USER="saga",
                       SAGA_DB_PASSWORD="app-pw-91c2")
            for sc in scripts:
                res = subprocess.run(["bash", S.src("docker", "mysql-init", sc)], env=env,
                                     capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                     timeout=60)
                self.assertEqual(res.returncode, 0, res.stderr)
            with open(log) as fh:
                calls = fh.read()
        for db in set(S.DATABASES.values()):
            self.assertIn(f"CREATE DATABASE IF NOT EXISTS `{db}`", calls)
        self.assertRegex(calls, r"CREATE USER IF NOT EXISTS 'saga'@'%' IDENTIFIED WITH "
                                r"mysql_native_password BY 'app-pw-91c2'")
        # Neither password is on a mysql command line (the stub logs argv as CALL lines).
        for line in calls.splitlines():
            if line.startswith("CALL "):
                self.assertNotIn("root-pw-7f3a", line)
                self.assertNotIn("app-pw-91c2", line)
        pos = -1
        for db in sorted(os.listdir(S.src("sql"))):
            files = sorted(f for f in os.listdir(S.src("sql", db)) if f.endswith(".sql"))
            last = -1
            for f in files:
                with open(S.src("sql", db, f), encoding="utf-8") as fh:
                    body = fh.read().strip()
                i = calls.find(body)
                self.assertGreaterEqual(i, 0, f"{db}/{f} not applied")
                self.assertGreater(i, last, f"{db}/{f} applied out of order")
                self.assertEqual(calls.count(body), 1, f"{db}/{f} applied more than once")
                self.assertIn(f"INSERT INTO schema_migrations(version) VALUES ('{f}')", calls)
                last = i
            pos = max(pos, last)
        self.assertGreater(pos, 0, "no migration found in sql/")


if __name__ == "__main__":
    unittest.main(verbosity=2)

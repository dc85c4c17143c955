"""Live shipping checks: start the six daemons from the build tree on ports of the shipping
range (25080-25099) with databases, a stream and a Temporal task queue of their own."""
import glob
import os
import sys

import shiplib as S

sys.path.insert(0, S.src("tests", "support"))
import harness as H  # noqa: E402

# MySQL 8.0's default sql_mode: the migrations are applied under it (MariaDB accepts the mode).
MYSQL8_SQL_MODE = ("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                   "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION")


def fresh_databases(prefix):
    """Drops and recreates <prefix><database> for every sql/<database>/ and applies its
    migrations in order under MySQL 8's sql_mode. Returns {database: scratch name}."""
    out = {}
    for d in sorted(glob.glob(S.src("sql", "*"))):
        db = os.path.basename(d)
        name = prefix + db
        H.sql("information_schema", f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` "
                                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        for f in sorted(glob.glob(os.path.join(d, "*.sql"))):
            with open(f, encoding="utf-8") as fh:
                H.sql(name, f"SET SESSION sql_mode='{MYSQL8_SQL_MODE}';\n" + fh.read())
        out[db] = name
    return out


class Suite:
    """The six daemons on consecutive ports from `base`, wired to each other."""

    ORDER = ["service-order", "service-inventory", "service-payment", "service-notification",
             "orchestrator-pure", "orchestrator-temporal"]

    def __init__(self, base, tag, extra_env=None, daemons=None):
        self.tag = tag
        self.dbs = fresh_databases(f"ship_{tag}_")
        self.ports = {name: base + i for i, name in enumerate(self.ORDER)}
        self.url = {n: f"http://127.0.0.1:{p}" for n, p in self.ports.items()}
        self.task_queue = f"ship-{tag}-{H.uid()}"
        self.stream = f"ship:{tag}:order-events:{H.uid()}"
        common = {"ORDER_EVENTS_STREAM": self.stream, "HTTP_THREADS": 4, "MYSQL_POOL_SIZE": 4,
                  "ORDER_SERVICE_URL": self.url["service-order"],
                  "INVENTORY_SERVICE_URL": self.url["service-inventory"],
                  "PAYMENT_SERVICE_URL": self.url["service-payment"],
                  "TEMPORAL_TASK_QUEUE": self.task_queue,
                  "TEMPORAL_UI_URL": os.environ.get("TEMPORAL_UI_URL", "http://127.0.0.1:21088")}
        common.update(extra_env or {})
        dbname = {n: self.dbs.get(db) for n, db in S.DATABASES.items()}
        self.daemons = []
        for name in (daemons or self.ORDER):
            env = dict(common)
            if dbname.get(name):
                env["MYSQL_DATABASE"] = dbname[name]
            self.daemons.append(H.Daemon(name, self.ports[name], env=env,
                                         log_name=f"ship-{tag}-{name}"))

    def start(self):
        try:
            for d in self.daemons:
                d.start(timeout=60)
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def stop(self, check=True):
        errors = []
        for d in reversed(self.daemons):
            try:
                d.stop()
            except AssertionError as err:
                errors.append(str(err))
        if check and errors:
            raise AssertionError("\n".join(errors))

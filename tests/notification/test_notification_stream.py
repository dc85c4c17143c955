"""service-notification keeps the event stream bounded without losing an entry: it trims below
what every consumer group has read and acknowledged, never while a group still needs an entry,
and keeps the retention window; and it corrects the phantom lag XINFO GROUPS shows after an AOF
rewrite and a Redis restart. Ports 23098 (daemon) and 23099 (a Redis of our own)."""
import shutil
import subprocess
import tempfile
import time
import unittest

import harness as h
from test_notification_e2e import event, fresh_database, stored, xadd_many

NOTIF, OWN_REDIS = 23098, 23099


def ids(stream, port=None, start="-"):
    out = h.redis_cli("XRANGE", stream, start, "+", port=port)
    return [line for line in out.splitlines() if line and line[0].isdigit() and "-" in line
            and line.replace("-", "").isdigit()]


def xlen(stream, port=None):
    return int(h.redis_cli("XLEN", stream, port=port))


def group_info(stream, group, port=None):
    lines = h.redis_cli("XINFO", "GROUPS", stream, port=port).splitlines()
    for i in range(0, len(lines) - 1):
        if lines[i] == "name" and lines[i + 1] == group:
            rec = lines[i:i + 12]
            return dict(zip(rec[0::2], rec[1::2]))
    return None


class TrimTest(unittest.TestCase):
    def setUp(self):
        self.db = "nt_notification_db_trim"
        fresh_database(self.db, "notification_db")
        self.stream = h.uid("stream:test-trim-")
        self.prefix = h.uid("ev-")
        xadd_many(self.stream, [event(i, 3000 + i % 3, self.prefix) for i in range(600)])
        self.all_ids = ids(self.stream)
        self.assertEqual(len(self.all_ids), 600)

    def tearDown(self):
        h.redis_cli("DEL", self.stream)

    def daemon(self, **extra):
        env = {"MYSQL_DATABASE": self.db, "ORDER_EVENTS_STREAM": self.stream,
               "NOTIFICATION_BLOCK_MS": 200, "ORDER_EVENTS_TRIM_MS": 300,
               "ORDER_EVENTS_RETAIN_MS": 0}
        env.update(extra)
        return h.Daemon("service-notification", NOTIF, env)

    def test_consumed_entries_are_trimmed_and_entries_another_group_needs_are_kept(self):
        # A second group has read 300 entries and acknowledged the first 150.
        h.redis_cli("XGROUP", "CREATE", self.stream, "laggard", "0")
        h.redis_cli("XREADGROUP", "GROUP", "laggard", "c1", "COUNT", "300", "STREAMS",
                    self.stream, ">")
        h.redis_cli("XACK", self.stream, "laggard", *self.all_ids[:150])
        with self.daemon():
            h.wait_until(lambda: stored(self.db) == 600, what="every event stored")
            h.wait_until(lambda: xlen(self.stream) < 600, what="the stream trimmed")
            self.assertEqual(ids(self.stream, start=self.all_ids[150]), self.all_ids[150:],
                             "an entry the other group still needs was trimmed")
            # Once the other group has read and acknowledged everything, the rest goes too.
            h.redis_cli("XREADGROUP", "GROUP", "laggard", "c1", "COUNT", "1000", "STREAMS",
                        self.stream, ">")
            h.redis_cli("XACK", self.stream, "laggard", *self.all_ids[150:])
            h.wait_until(lambda: xlen(self.stream) < 200, what="the consumed rest trimmed")
            left = ids(self.stream)
            self.assertEqual(left, self.all_ids[-len(left):])

    def test_nothing_is_trimmed_while_a_group_has_not_read_it(self):
        h.redis_cli("XGROUP", "CREATE", self.stream, "fresh", "0")
        with self.daemon():
            h.wait_until(lambda: stored(self.db) == 600, what="every event stored")
            time.sleep(2)  # several trim passes
            self.assertEqual(xlen(self.stream), 600)

    def test_entries_within_the_retention_window_are_kept(self):
        with self.daemon(ORDER_EVENTS_RETAIN_MS=3600000):
            h.wait_until(lambda: stored(self.db) == 600, what="every event stored")
            time.sleep(2)
            self.assertEqual(xlen(self.stream), 600)


class PhantomLagTest(unittest.TestCase):
    """Redis < 7.2.4 does not persist a group's entries-read with XREADGROUP: after an AOF
    rewrite and a restart, XINFO GROUPS reports as lag every entry read since the rewrite."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nt-lag-")
        self.redis = None
        self.start_redis()
        self.db = "nt_notification_db_lag"
        fresh_database(self.db, "notification_db")
        self.stream = "stream:order-events"

    def tearDown(self):
        self.stop_redis()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_redis(self):
        # Same password as the stack's Redis, given as config on stdin ("-"), not in argv.
        self.redis = subprocess.Popen(
            ["redis-server", "-", "--port", str(OWN_REDIS), "--bind", "127.0.0.1", "--dir",
             self.dir, "--appendonly", "yes", "--save", "", "--daemonize", "no"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.redis.stdin.write(f"requirepass {h.REDIS_PASSWORD}\n".encode() if h.REDIS_PASSWORD
                               else b"")
        self.redis.stdin.close()
        h.wait_until(lambda: h.redis_cli("PING", port=OWN_REDIS) == "PONG", what="own redis")

    def stop_redis(self):
        if self.redis and self.redis.poll() is None:
            subprocess.run(h.redis_cli_args(OWN_REDIS) + ["SHUTDOWN"], capture_output=True,
                           env=h.redis_env())
            self.redis.wait(30)

    def test_lag_after_an_aof_rewrite_and_a_restart_is_corrected(self):
        prefix = h.uid("ev-")
        env = {"MYSQL_DATABASE": self.db, "REDIS_PORT": OWN_REDIS, "NOTIFICATION_BLOCK_MS": 200,
               "ORDER_EVENTS_TRIM_MS": 300, "ORDER_EVENTS_RETAIN_MS": 3600000}
        with h.Daemon("service-notification", NOTIF, env):
            xadd_many(self.stream, [event(i, 1, prefix) for i in range(20)], port=OWN_REDIS)
            h.wait_until(lambda: stored(self.db) == 20, what="20 stored")
            h.redis_cli("BGREWRITEAOF", port=OWN_REDIS)
            h.wait_until(lambda: "aof_rewrite_in_progress:0" in h.redis_cli(
                "INFO", "persistence", port=OWN_REDIS), what="the rewrite done")
            xadd_many(self.stream, [event(i, 1, prefix) for i in range(20, 30)], port=OWN_REDIS)
            h.wait_until(lambda: stored(self.db) == 30, what="30 stored")
            self.stop_redis()
            self.start_redis()
            g = group_info(self.stream, "notification-service", port=OWN_REDIS)
            print("right after the restart:", g, flush=True)
            h.wait_until(lambda: group_info(self.stream, "notification-service",
                                            port=OWN_REDIS)["lag"] == "0",
                         what="XINFO GROUPS lag back to 0")
            g = group_info(self.stream, "notification-service", port=OWN_REDIS)
            self.assertEqual((g["pending"], g["entries-read"]), ("0", "30"))


if __name__ == "__main__":
    unittest.main()

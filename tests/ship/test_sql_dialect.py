"""sql/: every migration uses only syntax MySQL 8 and MariaDB 10.11 share.

What this proves and what it does not (docs/docker.md, "SQL for MySQL 8 and MariaDB"):
- sqlglot parses every statement with its MySQL grammar, in strict mode, into a known statement
  (no fallback to an opaque Command): the file is MySQL syntax as far as sqlglot knows it.
- sqlglot is lenient (it also accepts some MariaDB extensions), so the parsed tree is walked for
  constructs one of the two servers lacks: MariaDB-only (CREATE OR REPLACE, IF [NOT] EXISTS on
  ALTER columns, SEQUENCE, RETURNING, system versioning, INET4/INET6/UUID types, uca1400
  collations, unparenthesised expression defaults) and MySQL-8-only (utf8mb4_0900_* collations,
  INVISIBLE indexes, NOT ENFORCED checks). The checker is itself tested on known-bad statements.
- MariaDB really applies the files: scripts/stack does on every `up`, and the live shipping test
  (test_live_api) applies them again to its own databases under MySQL 8's default sql_mode.
- Not proven: that MySQL 8 executes them (no MySQL server here); semantic differences (e.g. JSON
  is LONGTEXT with a json_valid CHECK in MariaDB) are out of scope.
"""
import glob
import os
import re
import unittest

import sqlglot
from sqlglot import exp

import shiplib as S

SHARED_TYPES = {
    "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "UTINYINT", "USMALLINT", "UMEDIUMINT",
    "UINT", "UBIGINT", "DECIMAL", "DOUBLE", "FLOAT", "BOOLEAN", "BIT", "CHAR", "VARCHAR",
    "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT", "BINARY", "VARBINARY", "BLOB", "TINYBLOB",
    "MEDIUMBLOB", "LONGBLOB", "JSON", "DATE", "DATETIME", "DATETIME64", "TIMESTAMP", "TIME",
    "YEAR", "ENUM", "SET", "TIMESTAMPTZ",  # sqlglot names MySQL TIMESTAMP so
}
ALLOWED_STATEMENTS = (exp.Create, exp.Insert, exp.Update, exp.Delete, exp.Alter, exp.Drop,
                      exp.Set, exp.Select)
KEYWORDS = [  # (regex on comment-stripped SQL, why)
    (r"\bOR\s+REPLACE\b", "CREATE OR REPLACE is MariaDB-only for tables"),
    (r"\bSEQUENCE\b|\bNEXTVAL\b|\bLASTVAL\b", "sequences are MariaDB-only"),
    (r"\bSYSTEM\s+VERSIONING\b", "system-versioned tables are MariaDB-only"),
    (r"\bRETURNING\b", "RETURNING is MariaDB-only"),
    (r"\bINET[46]\b", "INET4/INET6 types are MariaDB-only"),
    (r"uca1400", "uca1400 collations are MariaDB-only"),
    (r"_0900_", "utf8mb4_0900_* collations are MySQL-8-only"),
    (r"\bNOT\s+ENFORCED\b", "NOT ENFORCED checks are MySQL-only"),
    (r"\bINVISIBLE\b|\bIGNORED\b", "invisible / ignored indexes differ between the two"),
    (r"\bDELIMITER\b", "DELIMITER is a client command; keep migrations to plain statements"),
    (r"(ADD|DROP|MODIFY|CHANGE)\s+(COLUMN\s+)?IF\s+(NOT\s+)?EXISTS",
     "IF [NOT] EXISTS on ALTER columns is MariaDB-only"),
]


def strip_comments(sql):
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    sql = re.sub(r"--[^\n]*", " ", sql)
    return re.sub(r"#[^\n]*", " ", sql)


def problems(sql_text):
    """List of reasons `sql_text` is not in the MySQL 8 / MariaDB common subset ([] if fine)."""
    out = []
    code = strip_comments(sql_text)
    for rx, why in KEYWORDS:
        if re.search(rx, code, re.I):
            out.append(why)
    try:
        stmts = sqlglot.parse(sql_text, read="mysql", error_level=sqlglot.ErrorLevel.RAISE)
    except Exception as err:  # sqlglot.errors.ParseError, TokenError
        return out + [f"MySQL grammar refuses it: {str(err).splitlines()[0]}"]
    for st in stmts:
        if st is None:
            continue
        if isinstance(st, exp.Command) or list(st.find_all(exp.Command)):
            out.append(f"not parsed by the MySQL grammar: {st.sql()[:80]}")
            continue
        if not isinstance(st, ALLOWED_STATEMENTS):
            out.append(f"unexpected statement {type(st).__name__}: {st.sql()[:60]}")
        if isinstance(st, exp.Create):
            if st.args.get("replace"):
                out.append("CREATE OR REPLACE is MariaDB-only for tables")
            if str(st.args.get("kind", "")).upper() not in ("TABLE", "INDEX", "VIEW"):
                out.append(f"CREATE {st.args.get('kind')} is not shared")
        if st.args.get("returning"):
            out.append("RETURNING is MariaDB-only")
        for dt in st.find_all(exp.DataType):
            name = dt.this.name if hasattr(dt.this, "name") else str(dt.this)
            if name not in SHARED_TYPES:
                out.append(f"column type {name} is not in the shared subset")
        for cd in st.find_all(exp.ColumnDef):
            if cd.args.get("exists"):
                out.append("IF NOT EXISTS on a column is MariaDB-only")
        for d in st.find_all(exp.DefaultColumnConstraint):
            v = d.this
            ok = isinstance(v, (exp.Literal, exp.Null, exp.Paren, exp.Boolean,
                                exp.CurrentTimestamp)) or (
                isinstance(v, exp.Neg) and isinstance(v.this, exp.Literal))
            if isinstance(v, exp.Anonymous) and v.name.upper() in ("CURRENT_TIMESTAMP", "NOW"):
                ok = True
            if not ok:
                out.append(f"expression default needs parentheses in MySQL 8: {v.sql('mysql')}")
    return out


class SqlDialect(unittest.TestCase):
    def test_checker_rejects_known_non_shared_syntax(self):
        bad = [
            "CREATE OR REPLACE TABLE t (a INT)",
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS b INT",
            "CREATE SEQUENCE s",
            "INSERT INTO t (a) VALUES (1) RETURNING a",
            "CREATE TABLE t (a INET6)",
            "CREATE TABLE t (a UUID)",
            "CREATE TABLE t (a INT DEFAULT RAND())",
            "CREATE TABLE t (a VARCHAR(3)) COLLATE utf8mb4_0900_ai_ci",
            "CREATE TABLE t (a INT, CHECK (a > 0) NOT ENFORCED)",
            "CREATE TABLE t (a INT, KEY k (a) INVISIBLE)",
            "CREATE TABLE t (a INT) WITH SYSTEM VERSIONING",
            "CREATE TABEL t (a INT)",
            "SELEC 1",
        ]
        for sql in bad:
            with self.subTest(sql=sql):
                self.assertTrue(problems(sql), "checker accepted non-shared syntax")
        good = ("CREATE TABLE t (a BIGINT NOT NULL AUTO_INCREMENT, b JSON NOT NULL, "
                "c TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE "
                "CURRENT_TIMESTAMP(3), d JSON DEFAULT (JSON_OBJECT()), PRIMARY KEY (a), "
                "CONSTRAINT ck CHECK (a > 0)) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4")
        self.assertEqual(problems(good), [])

    def test_every_migration_is_in_the_shared_subset(self):
        files = sorted(glob.glob(S.src("sql", "*", "*.sql")))
        self.assertTrue(files, "no migration in sql/")
        for f in files:
            with self.subTest(file=os.path.relpath(f, S.SOURCE_DIR)):
                with open(f, encoding="utf-8") as fh:
                    self.assertEqual(problems(fh.read()), [])

    def test_migration_names(self):
        for f in glob.glob(S.src("sql", "*", "*")):
            with self.subTest(file=os.path.relpath(f, S.SOURCE_DIR)):
                self.assertRegex(os.path.basename(f), r"^\d{3}_[a-z0-9_]+\.sql$")
                self.assertIn(os.path.basename(os.path.dirname(f)), set(S.DATABASES.values()))


if __name__ == "__main__":
    unittest.main(verbosity=2)

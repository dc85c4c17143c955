"""sql/: every migration uses only syntax MySQL 8 and MariaDB 10.11 share.

What this proves and what it does not (docs/docker.md, "SQL for MySQL 8 and MariaDB"):
- sqlglot parses every statement with its MySQL grammar, in strict mode, into a known statement
  (no fallback to an opaque Command): the file is MySQL syntax as far as sqlglot knows it.
  Stored routines (between DELIMITER lines, which both command-line clients understand) are
  split: parameter types must be shared, SQL statements in the body are parsed the same way,
  and procedural statements must be of the kinds both servers have.
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
    (r"\bFOR\s+\w+\s+IN\b", "FOR ... IN loops are MariaDB-only"),
    (r"\bCREATE\s+(DEFINER\s*=\s*\S+\s+)?PACKAGE\b", "packages are MariaDB-only"),
    (r"(ADD|DROP|MODIFY|CHANGE)\s+(COLUMN\s+)?IF\s+(NOT\s+)?EXISTS",
     "IF [NOT] EXISTS on ALTER columns is MariaDB-only"),
]


def strip_comments(sql):
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    sql = re.sub(r"--[^\n]*", " ", sql)
    return re.sub(r"#[^\n]*", " ", sql)


ROUTINE_RE = re.compile(r"^\s*CREATE\s+(?:DEFINER\s*=\s*\S+\s+)?(PROCEDURE|FUNCTION|TRIGGER)\s+"
                        r"`?(\w+)`?", re.I)
PROCEDURAL = ("DECLARE", "BEGIN", "END", "IF", "ELSEIF", "ELSE", "SIGNAL", "RESIGNAL", "START",
              "COMMIT", "ROLLBACK", "LEAVE", "ITERATE", "WHILE", "REPEAT", "LOOP", "SET", "CALL",
              "RETURN", "UNTIL", "OPEN", "CLOSE", "FETCH")
DML = ("SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE")


def client_statements(text):
    """Statements as the mysql / mariadb command-line clients send them: DELIMITER (a client
    command both clients share, used around stored routines) changes the terminator."""
    delim, buf, out = ";", [], []
    for line in strip_comments(text).splitlines():
        m = re.match(r"^\s*DELIMITER\s+(\S+)\s*$", line, re.I)
        if m:
            delim = m.group(1)
            continue
        buf.append(line)
        joined = "\n".join(buf).rstrip()
        if joined.endswith(delim):
            stmt = joined[: -len(delim)].strip()
            if stmt:
                out.append(stmt)
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        out.append(rest)
    return out


def routine_problems(stmt):
    """A stored routine: its parameter types and the SQL statements of its body are checked;
    the procedural statements must be of the kind both servers share."""
    out = []
    head, _, body = stmt.partition("BEGIN") if "BEGIN" in stmt else (stmt, "", "")
    for t in re.findall(r"\b(?:IN|OUT|INOUT)\s+\w+\s+([A-Za-z]+)", head, re.I):
        if t.upper() not in SHARED_TYPES:
            out.append(f"routine parameter type {t} is not in the shared subset")
    if not body:
        return out + ["routine without a BEGIN ... END body"]
    for piece in body.split(";"):
        p = piece.strip()
        while True:  # peel leading control-flow words to reach a statement
            m = re.match(r"^(BEGIN|END\s+IF|END\s+WHILE|END\s+LOOP|END|ELSE|"
                         r"(?:IF|ELSEIF|WHILE)\b.*?\b(?:THEN|DO))\s*", p, re.I | re.S)
            if not m or not m.group(0):
                break
            p = p[m.end():]
        if not p:
            continue
        word = re.match(r"^(\w+)", p).group(1).upper()
        if word in DML:
            out += [f"in routine: {x}" for x in problems(p)]
        elif word not in PROCEDURAL:
            out.append(f"routine statement {word} is not in the shared procedural subset")
    return out


def problems(sql_text):
    """List of reasons `sql_text` is not in the MySQL 8 / MariaDB common subset ([] if fine)."""
    out = []
    code = strip_comments(sql_text)
    for rx, why in KEYWORDS:
        if re.search(rx, code, re.I):
            out.append(why)
    if re.search(r"^\s*DELIMITER\s", code, re.I | re.M) or ROUTINE_RE.match(code):
        for stmt in client_statements(sql_text):
            if ROUTINE_RE.match(stmt):
                out += routine_problems(stmt)
            else:
                out += [x for x in problems(stmt) if x not in out]
        return out
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
            "DELIMITER //\nCREATE PROCEDURE p(IN a UUID)\nBEGIN\n  SELECT 1;\nEND//\nDELIMITER ;",
            "DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  FOR i IN 1..3 DO SELECT i; END FOR;\nEND//\nDELIMITER ;",
            "DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t (a) VALUES (1) RETURNING a;\nEND//\nDELIMITER ;",
            "DELIMITER //\nCREATE OR REPLACE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND//\nDELIMITER ;",
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
        routine = ("DROP PROCEDURE IF EXISTS p;\nDELIMITER //\nCREATE PROCEDURE p(IN a BIGINT, "
                   "IN b VARCHAR(16))\nBEGIN\n  DECLARE EXIT HANDLER FOR SQLEXCEPTION\n  BEGIN\n"
                   "    ROLLBACK;\n    RESIGNAL;\n  END;\n  START TRANSACTION;\n  UPDATE t SET b = b "
                   "WHERE a = a;\n  IF ROW_COUNT() <> 1 THEN\n    SIGNAL SQLSTATE '45000' SET "
                   "MESSAGE_TEXT = 'x';\n  END IF;\n  COMMIT;\nEND//\nDELIMITER ;")
        self.assertEqual(problems(routine), [])

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

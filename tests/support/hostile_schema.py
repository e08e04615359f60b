"""hostile_schema.py -- write a database file whose schema calls a daglib
function, as someone could hand one over.

    hostile_schema.py DATABASE KIND CALL

KIND is one of the names in KINDS below; CALL an SQL expression such as
daglib_drop('/some/dir').  The daglib functions do not exist where the
file is written, so same-named deterministic stubs stand in for them
(deterministic, so that generated columns and index expressions accept
them).  Every schema has a table t(x, ...) and most a view v, so that one
list of ordinary statements exercises each kind.
"""
import sqlite3
import sys

KINDS = {
    "check": "CREATE TABLE t(x, CHECK (typeof({call}) IS NOT NULL));",
    "column_check": "CREATE TABLE t(x CHECK (typeof({call}) IS NOT NULL));",
    "default": "CREATE TABLE t(x, y DEFAULT ({call}));",
    "virtual_column": "CREATE TABLE t(x, y AS ({call}) VIRTUAL);",
    "stored_column": "CREATE TABLE t(x, y AS ({call}) STORED);",
    "index_expression": "CREATE TABLE t(x); CREATE INDEX i ON t((x || {call}));",
    "partial_index": "CREATE TABLE t(x); "
                     "CREATE INDEX i ON t(x) WHERE ({call}) IS NOT NULL;",
    "view": "CREATE TABLE t(x); CREATE VIEW v AS SELECT {call} AS r;",
    "view_of_table": "CREATE TABLE t(x); CREATE VIEW v AS SELECT x, {call} AS r FROM t;",
    "trigger": "CREATE TABLE t(x); CREATE TRIGGER tr AFTER INSERT ON t "
               "BEGIN SELECT {call}; END;",
    "update_trigger": "CREATE TABLE t(x); CREATE TABLE log(y); "
                      "CREATE TRIGGER tr BEFORE UPDATE ON t "
                      "BEGIN INSERT INTO log VALUES ({call}); END;",
    "profiling_argument": "CREATE TABLE t(x); "
                          "CREATE VIEW v AS SELECT * FROM profiling({call});",
}


def main():
    path, kind, call = sys.argv[1:4]
    db = sqlite3.connect(path)
    for name in ("daglib_drop", "daglib_meta_dir"):
        for narg in (0, 1):
            db.create_function(name, narg, lambda *args: 0, deterministic=True)
    db.executescript(KINDS[kind].format(call=call))
    db.commit()
    db.close()


if __name__ == "__main__":
    main()

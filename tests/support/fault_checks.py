#!/usr/bin/python3
"""fault_checks.py -- the Python side of tests/suites/faults.sh.

    /usr/bin/python3 tests/support/fault_checks.py queries ROOT DAG TASKS STOP
        query ROOT in a loop, through Python's sqlite3 with ./daglib_sqlite,
        until the file STOP exists; then print
        "queries Q failed F invented I shrank S rows R"
    /usr/bin/python3 tests/support/fault_checks.py files ROOT FULL PATH...
        each PATH (a file under ROOT) against an independent reading of its
        whole blocks (reference_avro.py): the SQL row count and
        profiling_files.records must equal the records of its whole blocks;
        the first FULL files with records are compared row by row; prints
        "files N rows R compared C mismatched M"

A query fails when it raises.  A row is invented when it is not one the
writer could have written: DAG DAG, task t<i> with i < TASKS and
description d<i>, status ok, one attempt, no error, worker 0 or 1, and no
task twice in a run.  The total shrank when a query counted fewer rows
than the one before it (files only grow and only appear).
"""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_avro  # noqa: E402

COUNT = """
SELECT count(*),
       sum(NOT (dag_name = :dag AND task_name GLOB 't[0-9]*'
                AND CAST(substr(task_name, 2) AS INTEGER) < :tasks
                AND task_description = 'd' || substr(task_name, 2)
                AND status = 'ok' AND attempts = 1 AND error IS NULL
                AND worker IN (0, 1) AND task_runtime >= 0))
FROM profiling(:root)"""
TWICE = """
SELECT count(*) FROM (SELECT run_id, task_name FROM profiling(:root)
                      GROUP BY 1, 2 HAVING count(*) > 1)"""
FILES = "SELECT count(*), sum(records) FROM profiling_files(:root)"


def connect():
    con = sqlite3.connect(":memory:")
    con.enable_load_extension(True)
    con.load_extension(os.path.join(os.getcwd(), "daglib_sqlite"))
    return con


def queries(root, dag, tasks, stop):
    con = connect()
    args = {"root": root, "dag": dag, "tasks": int(tasks)}
    done = failed = invented = shrank = last = 0
    n = 0
    while not os.path.exists(stop) or n == 0:
        n += 1
        try:
            if n % 5 == 0:
                invented += con.execute(TWICE, args).fetchone()[0]
            elif n % 5 == 1:
                con.execute(FILES, args).fetchone()
            else:
                rows, bad = con.execute(COUNT, args).fetchone()
                invented += bad or 0
                if rows < last:
                    shrank += 1
                last = rows
            done += 1
        except sqlite3.Error as e:
            failed += 1
            print("query failed: %s" % e, file=sys.stderr)
            time.sleep(0.01)
    print("queries %d failed %d invented %d shrank %d rows %d"
          % (done, failed, invented, shrank, last))
    return 0 if failed == invented == shrank == 0 else 1


def run_id_of(path):
    return os.path.basename(path)[:-len(".avro")]


def files(root, full, paths):
    con = connect()
    con.text_factory = bytes
    listed = {p.decode(): r for p, r in con.execute(
        "SELECT path, records FROM profiling_files(?)", (root,))}
    rows = compared = mismatched = 0
    left = int(full)  # files still to compare row by row
    for path in paths:
        data = open(path, "rb").read()
        walk = reference_avro.walk(data, decode=False)
        whole = left > 0 and len(walk.records) > 0
        if whole:
            left -= 1
            walk = reference_avro.walk(data)
        sql = [reference_avro.sql_row(r) for r in con.execute(
            "SELECT %s FROM profiling(?) WHERE run_id = ?" %
            ", ".join(reference_avro.COLUMNS), (root, run_id_of(path)))]
        rows += len(sql)
        ok = len(sql) == len(walk.records) == listed.get(path)
        if ok and whole:
            ok = sql == [reference_avro.expected_row(r) for r in walk.records]
            compared += len(sql)
        if not ok:
            mismatched += 1
            print("%s: %d rows, profiling_files %r, whole blocks %d (%s)" % (
                path, len(sql), listed.get(path), len(walk.records),
                walk.failure), file=sys.stderr)
    print("files %d rows %d compared %d mismatched %d"
          % (len(paths), rows, compared, mismatched))
    return 1 if mismatched else 0


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "queries":
        sys.exit(queries(*sys.argv[2:]))
    if len(sys.argv) >= 4 and sys.argv[1] == "files":
        sys.exit(files(sys.argv[2], sys.argv[3], sys.argv[4:]))
    raise SystemExit(__doc__)


if __name__ == "__main__":
    main()

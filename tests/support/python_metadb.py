#!/usr/bin/python3
"""python_metadb.py -- the profiling page's MetaDB, from Python and pandas.

    cd DIR && /usr/bin/python3 .../python_metadb.py TEST

DIR holds a link daglib_sqlite.so to the extension, a link sql to sql/, and
the trees of tests/support/sql_fixtures.py: meta (the page's tree),
example2-runs and stats.  Each TEST is one story, run in a fresh process
by tests/suites/python.sh; it exits 0 when it holds, else prints why.
The page's MetaDB().query(sql) is pandas.read_sql(sql, conn) on a sqlite3
connection that loaded ./daglib_sqlite.
"""
import math
import os
import shutil
import sqlite3
import sys

import pandas

PAGE_COLUMNS = ["dag_name", "dag_description", "run_id", "task_name",
                "task_description", "task_runtime"]


def metadb():
    """What MetaDB() is here: a connection with the extension loaded."""
    conn = sqlite3.connect(":memory:")
    conn.enable_load_extension(True)
    conn.load_extension("./daglib_sqlite")
    conn.enable_load_extension(False)
    return conn


def query(conn, sql, params=None):
    return pandas.read_sql(sql, conn, params=params)


def expect(what, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def expect_close(what, got, want):
    if not math.isclose(got, want, rel_tol=0, abs_tol=1e-12):
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def test_select_star_is_the_page_table():
    df = query(metadb(), """
SELECT *
FROM profiling
""")
    expect("columns", list(df.columns), PAGE_COLUMNS)
    expect("rows", len(df), 2)
    df = df.sort_values("task_name").reset_index(drop=True)
    for column, want in [
            ("dag_name", ["example", "example"]),
            ("dag_description", ["This is an example DAG"] * 2),
            ("run_id", ["run_5d508d060"] * 2),
            ("task_name", ["task_1", "task_2"]),
            ("task_description", ["Do some stuff", "Do some other stuff"])]:
        expect(column, list(df[column]), want)
    expect("task_runtime dtype", str(df["task_runtime"].dtype), "float64")
    expect_close("task_1 runtime", df["task_runtime"][0], 1.005017)
    expect_close("task_2 runtime", df["task_runtime"][1], 0.000002)
    expect("printed runtimes", df["task_runtime"].map("{:.6f}".format).tolist(),
           ["1.005017", "0.000002"])


def test_drop_leaves_an_empty_frame_with_the_same_columns():
    db = metadb()
    removed = query(db, "SELECT daglib_drop() AS removed")
    expect("entries removed", int(removed["removed"][0]), 3)
    expect("files left", [p for _, _, files in os.walk("meta") for p in files], [])
    df = query(db, """
SELECT *
FROM profiling
""")
    expect("columns", list(df.columns), PAGE_COLUMNS)
    expect("rows", len(df), 0)
    expect("empty", df.empty, True)


def test_average_of_the_five_runs_after_the_drop():
    db = metadb()
    query(db, "SELECT daglib_drop()")
    # The page's loop: five runs of example2 finish after the drop.
    shutil.copytree("example2-runs/profiling", "meta/profiling",
                    dirs_exist_ok=True)
    df = query(db, """
SELECT AVG(task_runtime) AS avg_task_runtime
FROM profiling
""")
    expect("columns", list(df.columns), ["avg_task_runtime"])
    expect("rows", len(df), 1)
    # task_1 slept 2, 1, 3, 1 and 3 s (+125 us each), task_2 took 3 us.
    expect_close("average", df["avg_task_runtime"][0], 1.000064)


def test_hidden_columns_come_when_named():
    df = query(metadb(), """
SELECT task_name, started_at, ended_at, status, attempts, worker, error
FROM profiling ORDER BY task_name
""")
    expect("columns", list(df.columns),
           ["task_name", "started_at", "ended_at", "status", "attempts",
            "worker", "error"])
    expect("status", list(df["status"]), ["ok", "ok"])
    expect("attempts", list(df["attempts"]), [1, 1])
    expect("attempts dtype", str(df["attempts"].dtype), "int64")
    expect("error", list(df["error"]), [None, None])
    started = pandas.to_datetime(df["started_at"], utc=True)
    ended = pandas.to_datetime(df["ended_at"], utc=True)
    expect("task_1 start", str(started[0]), "2024-05-01 12:00:00+00:00")
    expect("task_1 wall time", (ended[0] - started[0]).total_seconds(),
           1.005017)


def test_bound_parameters_and_another_root():
    db = metadb()
    df = query(db, "SELECT task_name FROM profiling WHERE run_id = ?",
               params=("run_5d508d060",))
    expect("rows of the run", sorted(df["task_name"]), ["task_1", "task_2"])
    df = query(db, "SELECT count(*) AS n FROM profiling WHERE dag_name = ?",
               params=("nothing",))
    expect("rows of no DAG", int(df["n"][0]), 0)
    df = query(db, "SELECT dag_name, count(*) AS n FROM profiling(?) "
                   "GROUP BY 1 ORDER BY 1", params=("stats",))
    expect("stats tree", list(zip(df["dag_name"], df["n"])),
           [("etl", 12), ("legacy", 2), ("nightly", 40)])


def test_views_of_sql_dir_from_pandas():
    db = metadb()
    db.execute("SELECT daglib_meta_dir('stats')")
    with open("sql/views.sql") as f:
        db.executescript(f.read())
    df = query(db, "SELECT task, count, median_s, p95_s FROM task_stats "
                   "WHERE dag_name = 'nightly' ORDER BY task")
    expect("nightly stats", df.values.tolist(),
           [["extract", 20, 10.5, 19.0], ["load", 20, 0.5, 0.5]])
    df = query(db, "SELECT run_id, wall_s, status FROM runs "
                   "WHERE dag_name = 'etl' ORDER BY run_id")
    expect("etl runs", df.values.tolist(),
           [["run_200000001", 4.0, "ok"], ["run_200000002", 2.0, "failed"],
            ["run_200000003", 5.0, "ok"]])


def main():
    tests = {name[5:]: fn for name, fn in globals().items()
             if name.startswith("test_")}
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        raise SystemExit("usage: python_metadb.py TEST\ntests: " +
                         " ".join(tests))
    try:
        tests[sys.argv[1]]()
    except (AssertionError, sqlite3.Error, pandas.errors.DatabaseError) as e:
        print("%s: %s" % (sys.argv[1], e))
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""sql_fixtures.py -- metadata trees with known values, for the SQL tests.

    /usr/bin/python3 tests/support/sql_fixtures.py DIR

Real runs have runtimes and timestamps that differ every time; these trees
hold fixed ones, so that every query over them has one right answer, kept
in tests/sql/*.expected.  Debian's python3-avro writes the files with the
daglib schema (the JSON of src/profile/profile_schema.c, defaults included), so
the extension reads files that libdaglib did not write.  Under DIR:

  page/        the profiling page's tree: one run of `example`, its two
               tasks with the page's runtimes
  example2-runs/  a root holding the page's five runs of `example2`, to
               be copied into a root after daglib_drop(), as the page does
  stats/       DAGs whose statistics are known by construction:
                 nightly  20 runs; extract takes 1..20 s (each once, in a
                          shuffled order), load 0.5 s; 0.25 s between them
                 etl      3 runs on two workers: run_200000001 succeeds,
                          run_200000002 fails (extract_b, 3 tries) and skips
                          the rest, run_200000003 retries extract_a once
                 legacy   one run in the Python original's layout: six
                          fields, task_runtime a float, a block per record
  drift/       ingest: 8 daily runs where parse is twice as slow from the
               sixth on; other: a steady DAG with a task of the same name
  broken/      profiling/good: one clean file, one truncated inside its
               last block, 1000 random bytes, an empty file; profiling/empty:
               a DAG directory with no file
"""
import datetime
import json
import os
import random
import sys

import avro.schema
from avro.datafile import DataFileWriter
from avro.io import DatumWriter

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
SECOND = 1000000  # microseconds

# The schema of the first daglib files in C (the field table of
# src/profile/profile_schema.h up to error), defaults included: files written
# before a field was added, which every reader must go on reading.
TIMESTAMP = {"type": "long", "logicalType": "timestamp-micros"}
FIELDS = [
    {"name": "dag_name", "type": "string"},
    {"name": "dag_description", "type": "string"},
    {"name": "run_id", "type": "string"},
    {"name": "task_name", "type": "string"},
    {"name": "task_description", "type": "string"},
    {"name": "task_runtime", "type": "double"},
    {"name": "started_at", "type": ["null", TIMESTAMP], "default": None},
    {"name": "ended_at", "type": ["null", TIMESTAMP], "default": None},
    {"name": "status",
     "type": {"type": "enum", "name": "task_status",
              "symbols": ["ok", "failed", "skipped"], "default": "ok"},
     "default": "ok"},
    {"name": "attempts", "type": "int", "default": 1},
    {"name": "worker", "type": ["null", "int"], "default": None},
    {"name": "error", "type": ["null", "string"], "default": None},
]
# The Python original's layout.
LEGACY_FIELDS = FIELDS[:5] + [{"name": "task_runtime", "type": "float"}]


def schema_of(fields):
    return avro.schema.parse(json.dumps({
        "type": "record", "name": "tprofile",
        "namespace": "daglib.profiling", "fields": fields}))


SCHEMA = schema_of(FIELDS)
LEGACY_SCHEMA = schema_of(LEGACY_FIELDS)


def utc(text):
    """Microseconds since the epoch of 'YYYY-MM-DDTHH:MM:SSZ'."""
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    t = t.replace(tzinfo=datetime.timezone.utc)
    return (t - EPOCH) // datetime.timedelta(microseconds=1)


def as_datetime(us):
    return None if us is None else EPOCH + datetime.timedelta(microseconds=us)


class Run:
    """One run's records, written as <root>/profiling/<dag>/<run_id>.avro."""

    def __init__(self, dag, description, run_id, start_us):
        self.dag, self.description = dag, description
        self.run_id, self.start_us = run_id, start_us
        self.records = []

    def task(self, name, description, runtime, start_s=None, end_s=None,
             status="ok", attempts=1, worker=0, error=None):
        """start_s/end_s: seconds from the run's start (None: never ran)."""
        at = (lambda s: None if s is None
              else self.start_us + round(s * SECOND))
        self.records.append({
            "dag_name": self.dag, "dag_description": self.description,
            "run_id": self.run_id, "task_name": name,
            "task_description": description, "task_runtime": runtime,
            "started_at": as_datetime(at(start_s)),
            "ended_at": as_datetime(at(end_s)),
            "status": status, "attempts": attempts, "worker": worker,
            "error": error})
        return self

    def skipped(self, name, description):
        return self.task(name, description, 0.0, status="skipped",
                         attempts=0, worker=None)

    def path(self, root):
        return os.path.join(root, "profiling", self.dag, self.run_id + ".avro")

    def write(self, root, codec="null", block_per_record=False):
        path = self.path(root)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with DataFileWriter(open(path, "wb"), DatumWriter(), SCHEMA,
                            codec=codec) as w:
            for rec in self.records:
                w.append(rec)
                if block_per_record:
                    w.flush()
        return path


def page_tree(root):
    """The page's first example: task_1 sleeps a second, task_2 doubles."""
    run = Run("example", "This is an example DAG", "run_5d508d060",
              utc("2024-05-01T12:00:00Z"))
    run.task("task_1", "Do some stuff", 1.005017, 0, 1.005017)
    run.task("task_2", "Do some other stuff", 0.000002, 1.005112, 1.005114)
    run.write(root)


def example2_runs(root):
    """The page's analytics loop: five runs, task_1 sleeping 1 to 3 s."""
    sleeps = [2, 1, 3, 1, 3]
    for i, sleep in enumerate(sleeps):
        run = Run("example2", "This is another example DAG",
                  "run_e%08x" % (i + 1), utc("2024-05-02T09:00:00Z") + i * 60 * SECOND)
        task_1 = sleep + 0.000125
        run.task("task_1", "Do some stuff", task_1, 0, task_1, worker=0)
        run.task("task_2", "Do some other stuff", 0.000003,
                 task_1 + 0.0001, task_1 + 0.000103, worker=1)
        run.write(root)


def stats_tree(root):
    # nightly: extract takes (7 * i) % 20 + 1 seconds in night i, a
    # permutation of 1..20: mean and median 10.5, nearest-rank p95 19.
    for i in range(20):
        extract = float((7 * i) % 20 + 1)
        run = Run("nightly", "Twenty nights of loads", "run_1%08d" % (i + 1),
                  utc("2024-03-01T02:00:00Z") + i * 86400 * SECOND)
        run.task("extract", "Pull the day's rows", extract, 0, extract)
        run.task("load", "Write them out", 0.5, extract + 0.25,
                 extract + 0.75)
        run.write(root, codec="deflate" if i % 2 else "null")

    a, b = "Read source A", "Read source B"
    t, l = "Join A and B", "Store the result"
    base = utc("2024-04-10T08:00:00Z")
    Run("etl", "Extract, transform, load", "run_200000001", base) \
        .task("extract_a", a, 1.5, 0, 1.5, worker=0) \
        .task("extract_b", b, 1.0, 0.00001, 1.00001, worker=1) \
        .task("transform", t, 2.25, 1.5, 3.75, worker=0) \
        .task("load", l, 0.25, 3.75, 4.0, worker=1) \
        .write(root)
    Run("etl", "Extract, transform, load", "run_200000002",
        base + 3600 * SECOND) \
        .task("extract_a", a, 1.25, 0, 1.25, worker=0) \
        .task("extract_b", b, 0.75, 0, 2.0, status="failed", attempts=3,
              worker=1, error="connection refused") \
        .skipped("transform", t) \
        .skipped("load", l) \
        .write(root, block_per_record=True)
    Run("etl", "Extract, transform, load", "run_200000003",
        base + 7200 * SECOND) \
        .task("extract_a", a, 2.0, 0, 2.5, attempts=2, worker=1,
              error="timeout") \
        .task("extract_b", b, 1.0, 0, 1.0, worker=0) \
        .task("transform", t, 2.0, 2.5, 4.5, worker=0) \
        .task("load", l, 0.5, 4.5, 5.0, worker=1) \
        .write(root, codec="deflate")

    # The Python original appended one record per open of the file.
    path = os.path.join(root, "profiling", "legacy", "run_300000001.avro")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for i, (name, runtime) in enumerate([("task_1", 1.5), ("task_2", 0.25)]):
        rec = {"dag_name": "legacy", "dag_description": "Written by daglib",
               "run_id": "run_300000001", "task_name": name,
               "task_description": "Legacy task %d" % (i + 1),
               "task_runtime": runtime}
        if i == 0:
            with DataFileWriter(open(path, "wb"), DatumWriter(),
                                LEGACY_SCHEMA) as w:
                w.append(rec)
        else:
            with DataFileWriter(open(path, "a+b"), DatumWriter()) as w:
                w.append(rec)


def drift_tree(root):
    """Eight daily runs of `ingest`, where parse doubles from the sixth
    on (1.0, 1.1, 0.9, 1.0, 1.05, then 2.5, 2.6, 2.4 s), load stays at
    0.5 s, fetch was slow once (3 s in the seventh run) but is back, and
    audit is new in the last run; `other` has a parse of its own that
    never changes, and a notify that failed once with a 400-character
    error."""
    parse = [1.0, 1.1, 0.9, 1.0, 1.05, 2.5, 2.6, 2.4]
    fetch = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 1.0]
    for i in range(8):
        run = Run("ingest", "Daily ingest", "run_5%08d" % (i + 1),
                  utc("2024-07-01T06:00:00Z") + i * 86400 * SECOND)
        run.task("fetch", "Download", fetch[i], 0, fetch[i])
        run.task("parse", "Parse", parse[i], fetch[i], fetch[i] + parse[i])
        end = fetch[i] + parse[i]
        run.task("load", "Load", 0.5, end, end + 0.5)
        if i == 7:
            run.task("audit", "Audit", 0.1, end + 0.5, end + 0.6)
        run.write(root)
    for i in range(3):
        run = Run("other", "Another DAG", "run_6%08d" % (i + 1),
                  utc("2024-07-01T07:00:00Z") + i * 86400 * SECOND)
        run.task("parse", "Parse", 4.0, 0, 4.0)
        if i == 2:  # an error longer than any VARCHAR an ODBC client sizes
            run.task("notify", "Tell the team", 0.25, 4.0, 4.25,
                     status="failed", attempts=1, error=LONG_ERROR)
        run.write(root)


LONG_ERROR = ("smtp: 421 service not available, closing transmission "
              "channel; " + "retried and gave up; " * 18).strip()


def broken_tree(root):
    def three(run_id, tasks):
        run = Run("good", "Some files are not", run_id,
                  utc("2024-06-01T00:00:00Z"))
        for n in range(tasks):
            run.task("task_%d" % (n + 1), "Task %d" % (n + 1), n + 1.0,
                     n, n + 1.0)
        return run

    three("run_400000001", 3).write(root, block_per_record=True)
    # Four records, a block each; the file ends inside the fourth record.
    path = three("run_400000002", 4).write(root, block_per_record=True)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 16 - 30)  # the sync marker and part of the record
    noise = random.Random(42).randbytes(1000)
    good = os.path.dirname(path)
    with open(os.path.join(good, "run_400000003.avro"), "wb") as f:
        f.write(noise)
    open(os.path.join(good, "run_400000004.avro"), "wb").close()
    os.makedirs(os.path.join(root, "profiling", "empty"))


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    page_tree(os.path.join(out, "page"))
    example2_runs(os.path.join(out, "example2-runs"))
    stats_tree(os.path.join(out, "stats"))
    broken_tree(os.path.join(out, "broken"))
    drift_tree(os.path.join(out, "drift"))


if __name__ == "__main__":
    main()

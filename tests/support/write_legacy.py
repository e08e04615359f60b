#!/usr/bin/python3
"""write_legacy.py -- profiling files written by an independent writer.

    /usr/bin/python3 tests/support/write_legacy.py KIND PATH [COUNT]

Debian's python3-avro writes them, not libdaglib, so the C reader is tested
against files it did not produce.  Record i of every kind holds the values
of expected() below; tests/test_profile_reader.c computes the same values
and checks every row.

KIND is one of:
  legacy     the Python original's layout: record daglib.profiling.tprofile,
             the first six fields only, task_runtime a "float", and ONE
             record appended per open of the file, as the original did (so
             one record per block)
  partial    the six fields plus started_at, ended_at and status: a writer
             older than attempts, worker and error (one record per open)
  extra      all twelve fields with unknown fields of every scalar type
             between them (boolean, int, long, float, double, bytes, fixed,
             enum, a union, a string) -- the block decoder skips them
  nested     all twelve fields plus a nested record field: the block
             decoder does not decode records and hands the file to avro-c
  array      all twelve fields plus an array and a map field (avro-c too)
  reordered  all twelve fields in reverse order, task_runtime a "long"
             holding whole seconds: matching is by name, not position
  deflate    all twelve fields, deflate codec, many records per block
  full       all twelve fields, null codec, many records per block
  other      an Avro file of another schema: the five string fields but no
             task_runtime
  unusable   task_runtime is a string: a daglib name with an unusable type
  scalar     the schema is "string", not a record
"""
import datetime
import json
import os
import sys

import avro.schema
from avro.datafile import DataFileWriter
from avro.io import DatumWriter

STATUSES = ["ok", "failed", "skipped"]
BASE_US = 1700000000000000
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

SIX = [
    {"name": "dag_name", "type": "string"},
    {"name": "dag_description", "type": "string"},
    {"name": "run_id", "type": "string"},
    {"name": "task_name", "type": "string"},
    {"name": "task_description", "type": "string"},
]
TIMESTAMP = {"type": "long", "logicalType": "timestamp-micros"}
LATER = [
    {"name": "started_at", "type": ["null", TIMESTAMP], "default": None},
    {"name": "ended_at", "type": ["null", TIMESTAMP], "default": None},
    {"name": "status",
     "type": {"type": "enum", "name": "task_status",
              "symbols": STATUSES, "default": "ok"},
     "default": "ok"},
    {"name": "attempts", "type": "int", "default": 1},
    {"name": "worker", "type": ["null", "int"], "default": None},
    {"name": "error", "type": ["null", "string"], "default": None},
]
DOUBLE_RUNTIME = {"name": "task_runtime", "type": "double"}
FLOAT_RUNTIME = {"name": "task_runtime", "type": "float"}

EXTRAS = [
    {"name": "x_flag", "type": "boolean"},
    {"name": "x_int", "type": "int"},
    {"name": "x_long", "type": "long"},
    {"name": "x_float", "type": "float"},
    {"name": "x_double", "type": "double"},
    {"name": "x_bytes", "type": "bytes"},
    {"name": "x_fixed", "type": {"type": "fixed", "name": "x_fixed_t",
                                 "size": 5}},
    {"name": "x_enum", "type": {"type": "enum", "name": "x_enum_t",
                                "symbols": ["red", "green", "blue"]}},
    {"name": "x_union", "type": ["null", "long", "string"]},
    {"name": "x_string", "type": "string"},
]


def record_schema(fields):
    return {"type": "record", "name": "tprofile",
            "namespace": "daglib.profiling", "fields": fields}


def expected(i, kind):
    """Record i; keep in step with expect_row() in test_profile_reader.c."""
    runtime = 0.25 * i if i % 3 != 1 else i + 0.1
    rec = {
        "dag_name": "py_" + kind,
        "dag_description": "Written by Python's avro",
        "run_id": "run_0a1b2c3d4",
        "task_name": "task %d" % i,
        "task_description": "Task number %d \u2713" % i,
        "task_runtime": runtime,
        "started_at": None if i % 4 == 3 else BASE_US + i * 1000000,
        "ended_at": None if i % 4 == 3 else BASE_US + i * 1000000 + i * 1000,
        "status": STATUSES[i % 3],
        "attempts": i % 3 + 1,
        "worker": None if i % 5 == 0 else i % 2,
        "error": None if i % 3 == 0 else "boom %d" % i,
    }
    return rec


def extra_values(i):
    return {"x_flag": i % 2 == 1, "x_int": -i, "x_long": i * 10**12,
            "x_float": 1.5, "x_double": -2.25, "x_bytes": b"\x00\xff" * i,
            "x_fixed": b"fixed", "x_enum": ["red", "green", "blue"][i % 3],
            "x_union": [None, i, "u%d" % i][i % 3],
            "x_string": "extra \u00e9 %d" % i}


def layout(kind):
    """(fields, codec, one record per open, record maker)."""
    full = SIX + [DOUBLE_RUNTIME] + LATER
    if kind == "legacy":
        return SIX + [FLOAT_RUNTIME], "null", True, None
    if kind == "partial":
        return SIX + [DOUBLE_RUNTIME] + LATER[:3], "null", True, None
    if kind == "extra":
        # An unknown field first, then one after each of the next nine.
        fields = [EXTRAS[-1]]
        for n, f in enumerate(full):
            fields.append(f)
            if n < len(EXTRAS) - 1:
                fields.append(EXTRAS[n])
        return fields, "null", False, extra_values
    if kind == "nested":
        inner = {"name": "x_host", "type": {
            "type": "record", "name": "host",
            "fields": [{"name": "name", "type": "string"},
                       {"name": "cpus", "type": "int"}]}}
        return (full[:6] + [inner] + full[6:], "null", False,
                lambda i: {"x_host": {"name": "h%d" % i, "cpus": i}})
    if kind == "array":
        return (full + [{"name": "x_tags",
                         "type": {"type": "array", "items": "string"}},
                        {"name": "x_env",
                         "type": {"type": "map", "values": "long"}}],
                "null", False,
                lambda i: {"x_tags": ["t%d" % j for j in range(i % 4)],
                           "x_env": {"k%d" % j: j for j in range(i % 3)}})
    if kind == "reordered":
        fields = [dict(f) for f in reversed(full)]
        for f in fields:
            if f["name"] == "task_runtime":
                f["type"] = "long"
        return fields, "null", False, None
    if kind == "deflate":
        return full, "deflate", False, None
    if kind == "full":
        return full, "null", False, None
    if kind == "other":
        return SIX + [{"name": "rows", "type": "long"}], "null", False, \
            lambda i: {"rows": i}
    if kind == "unusable":
        fields = [dict(f) for f in full]
        fields[5] = {"name": "task_runtime", "type": "string"}
        return fields, "null", False, None
    raise SystemExit("unknown kind %r" % kind)


def make_record(i, kind, fields, more):
    rec = expected(i, kind)
    if kind == "reordered":
        rec["task_runtime"] = i
    elif kind == "unusable":
        rec["task_runtime"] = "%g s" % rec["task_runtime"]
    for key in ("started_at", "ended_at"):  # the writer wants datetimes
        if rec[key] is not None:
            rec[key] = EPOCH + datetime.timedelta(microseconds=rec[key])
    if more is not None:
        rec.update(more(i))
    names = {f["name"] for f in fields}
    return {k: v for k, v in rec.items() if k in names}


def write_scalar_file(path, count):
    schema = avro.schema.parse('"string"')
    with DataFileWriter(open(path, "wb"), DatumWriter(), schema) as w:
        for i in range(count):
            w.append("not a record %d" % i)


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    kind, path = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) == 4 else 10
    if kind == "scalar":
        write_scalar_file(path, count)
        return
    fields, codec, per_open, more = layout(kind)
    schema = avro.schema.parse(json.dumps(record_schema(fields)))
    if os.path.exists(path):
        os.unlink(path)
    if not per_open:
        with DataFileWriter(open(path, "wb"), DatumWriter(), schema,
                            codec=codec) as w:
            for i in range(count):
                w.append(make_record(i, kind, fields, more))
                if i % 500 == 499:
                    w.flush()  # a new block every 500 records
        return
    for i in range(count):
        rec = make_record(i, kind, fields, more)
        if i == 0:
            with DataFileWriter(open(path, "wb"), DatumWriter(), schema,
                                codec=codec) as w:
                w.append(rec)
        else:
            # What the original did for every finished task: open the file
            # again, let the writer read the schema back from its header,
            # append one record, close (one block).
            with DataFileWriter(open(path, "a+b"), DatumWriter()) as w:
                w.append(rec)


if __name__ == "__main__":
    main()

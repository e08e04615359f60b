#!/usr/bin/python3
"""read_avro.py -- print an Avro file as Debian's python3-avro reads it.

    /usr/bin/python3 tests/support/read_avro.py PATH [READER_SCHEMA_FILE]

The first line is the writer schema from the file's header, the next lines
one record each; all as JSON with sorted keys, UTF-8, datetimes as epoch
microseconds and bytes as lists of numbers, so a C test can compare lines.

With READER_SCHEMA_FILE, the records are resolved against the schema in
that Avro file's header, as Spark or Hive do when they take the newest
file's schema for a whole tree: fields PATH lacks get the reader's
defaults, or the read fails when there are none.

Exit status 1, with the error on stderr, when the file does not read.
"""
import datetime
import json
import sys

import avro.schema
from avro.datafile import DataFileReader
from avro.io import DatumReader

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(value):
    if isinstance(value, datetime.datetime):
        delta = value - EPOCH
        return (delta.days * 86400 + delta.seconds) * 1000000 + \
            delta.microseconds
    if isinstance(value, bytes):
        return list(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def header_schema(path):
    with open(path, "rb") as f:
        reader = DataFileReader(f, DatumReader())
        text = reader.meta["avro.schema"].decode("utf-8")
        reader.close()
    return text


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    path = sys.argv[1]
    readers_schema = None
    if len(sys.argv) == 3:
        readers_schema = avro.schema.parse(header_schema(sys.argv[2]))
    out = sys.stdout
    out.reconfigure(encoding="utf-8")
    try:
        with open(path, "rb") as f:
            reader = DataFileReader(f, DatumReader(readers_schema=readers_schema))
            schema = reader.meta["avro.schema"].decode("utf-8")
            out.write(json.dumps(json.loads(schema), sort_keys=True,
                                 ensure_ascii=False) + "\n")
            for record in reader:
                out.write(json.dumps(plain(record), sort_keys=True,
                                     ensure_ascii=False) + "\n")
            reader.close()
    except Exception as e:  # any failure is the test's to report
        sys.stderr.write("read_avro.py: %s: %s: %s\n" %
                         (path, type(e).__name__, e))
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""reference_avro.py -- an independent reading of profiling files, compared
with what the `profiling` and `profiling_files` tables give.

    /usr/bin/python3 tests/support/reference_avro.py check SOURCE FAMILY WORK
    /usr/bin/python3 tests/support/reference_avro.py count PATH...

The reference is Debian's python3-avro, a separate implementation: this
script walks the container itself (magic, metadata, sync marker; then each
block's count, size, bytes and sync marker, the codec's bytes decompressed
here: zlib for deflate, a snappy decoder below with the block's CRC-32) and
hands each block's bytes to avro.io's DatumReader.  Nothing of the C code
is used.  A block counts only once its sync marker has been read and
matched and every one of its records decodes, using exactly its bytes.
The walk stops at the first block that does not: the file's answer is
the records of the blocks before it, plus, apart, the records Python
decoded from that block before it failed (`partial`).

python3-avro is held to the Avro specification's limits where it is
lenient: a long of at most ten bytes, its bits past 64 dropped (as Java's
decoder does; Python would return a larger number), an int within 32
bits, no negative union branch or enum index (Python would index from the
end).
Strings are compared as bytes, timestamps as the table's UTC text, NaN as
SQL NULL (SQLite stores no NaN).

check: SOURCE (a whole, clean profiling file) and variants of one FAMILY
are copied under WORK/<family>/profiling/<dag>/ and read by SQL through
Python's sqlite3 with ./daglib_sqlite loaded; rows are compared file by
file:
  whole   the file itself
  cuts    the file cut at block boundaries (and one byte either side, and
          inside the sync marker) and at random offsets, header included
  tails   zeros after the file or after a block cut half way (a power
          loss), random bytes, a repeated half block, a repeated last
          block, every block again
  flips   one byte changed (one bit, or a random value) anywhere from the
          header's sync marker on; 150 files, or $REFERENCE_FLIPS
For every family `profiling_files.records` is the row count of the file,
and no query fails.  `count(*)` reads no record: it counts each whole
block's records from its header.  So for whole, cuts and tails, whose
blocks are whole or cut, it is the row count; for flips it is at least
the row count and at most what the headers of the blocks the walk finds
whole claim, and the row count when the walk reads the file to its end.  For whole, cuts and tails the rows are exactly the
reference's records and `error` is set exactly when the walk stopped early.
A flipped byte may still decode (the null codec has no checksum), as the
same wrong value in both readers; so for flips: the rows begin with the
reference's records, any further rows begin the reference's `partial`
ones, and `error` is set exactly when the walk stopped early.  (Either way
`error` is also set when a record names another DAG than its directory.)

count: the records of each file's whole blocks, one number a line (what
tests/suites/faults.sh compares with SQL after each kill).
"""
import io
import json
import math
import os
import random
import shutil
import sqlite3
import struct
import sys
import zlib

import avro.errors
import avro.io
import avro.schema

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
COLUMNS = ["dag_name", "dag_description", "run_id", "task_name",
           "task_description", "task_runtime", "started_at", "ended_at",
           "status", "attempts", "worker", "error", "host", "task",
           "instance"]


class Stop(Exception):
    """Why the walk stops at this block."""


# ---- python3-avro, held to the specification -------------------------------

class SpecDecoder(avro.io.BinaryDecoder):
    def read_long(self):
        n = shift = 0
        for _ in range(10):
            b = self.read(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        else:
            raise avro.errors.InvalidAvroBinaryEncoding("varint over 10 bytes")
        n &= (1 << 64) - 1  # as Java's decoder: bits past 64 are dropped
        return (n >> 1) ^ -(n & 1)

    def read_int(self):
        v = self.read_long()
        if not INT32_MIN <= v <= INT32_MAX:
            raise avro.errors.InvalidAvroBinaryEncoding("int over 32 bits")
        return v

    def read_utf8(self):
        return self.read_bytes()


class SpecDatumReader(avro.io.DatumReader):
    def read_union(self, writers_schema, readers_schema, decoder):
        here = decoder.reader.tell()
        if decoder.read_long() < 0:
            raise avro.errors.InvalidAvroBinaryEncoding("negative branch")
        decoder.reader.seek(here)
        return super().read_union(writers_schema, readers_schema, decoder)

    def read_enum(self, writers_schema, readers_schema, decoder):
        here = decoder.reader.tell()
        if decoder.read_long() < 0:
            raise avro.errors.InvalidAvroBinaryEncoding("negative enum index")
        decoder.reader.seek(here)
        return super().read_enum(writers_schema, readers_schema, decoder)


def without_logical_types(node):
    """Timestamps stay longs: the comparison formats them itself."""
    if isinstance(node, dict):
        return {k: without_logical_types(v) for k, v in node.items()
                if k != "logicalType"}
    if isinstance(node, list):
        return [without_logical_types(v) for v in node]
    return node


# ---- the container -------------------------------------------------------------

def varint(data, pos):
    n = shift = 0
    for _ in range(10):
        if pos >= len(data):
            raise Stop("cut inside a varint")
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            n &= (1 << 64) - 1
            return (n >> 1) ^ -(n & 1), pos
    raise Stop("varint over 10 bytes")


def blob(data, pos):
    n, pos = varint(data, pos)
    if n < 0 or pos + n > len(data):
        raise Stop("bad or cut length in the header")
    return data[pos:pos + n], pos + n


def header(data):
    """(metadata, sync marker, offset of the first block)."""
    if data[:4] != b"Obj\x01":
        raise Stop("not an Avro container")
    pos, meta = 4, {}
    while True:
        count, pos = varint(data, pos)
        if count == 0:
            break
        if count < 0:
            count = -count
            _, pos = varint(data, pos)
        for _ in range(count):
            key, pos = blob(data, pos)
            value, pos = blob(data, pos)
            meta[key.decode("utf-8", "replace")] = value
    if pos + 16 > len(data):
        raise Stop("cut inside the header's sync marker")
    return meta, data[pos:pos + 16], pos + 16


def unsnappy(raw):
    """Raw snappy (the format's description, not a library), then the CRC."""
    if len(raw) < 4:
        raise Stop("snappy block shorter than its CRC")
    crc, raw = struct.unpack(">I", raw[-4:])[0], raw[:-4]
    n, pos, shift = 0, 0, 0
    while True:
        if pos >= len(raw) or shift > 28:
            raise Stop("bad snappy length")
        b = raw[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    out = bytearray()
    while pos < len(raw):
        tag = raw[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(raw[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > len(raw):
                raise Stop("snappy literal past the end")
            out += raw[pos:pos + length]
            pos += length
            continue
        if kind == 1:
            length = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | raw[pos] if pos < len(raw) else -1
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            length = (tag >> 2) + 1
            offset = int.from_bytes(raw[pos:pos + width], "little") \
                if pos + width <= len(raw) else -1
            pos += width
        if offset <= 0 or offset > len(out):
            raise Stop("bad snappy copy")
        for _ in range(length):
            out.append(out[-offset])
    if len(out) != n:
        raise Stop("snappy length mismatch")
    if zlib.crc32(out) != crc:
        raise Stop("snappy CRC mismatch")
    return bytes(out)


def inflate(raw):
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(raw)
    except zlib.error as e:
        raise Stop("deflate: %s" % e)
    if not d.eof:  # bytes after the end are ignored, as python3-avro does
        raise Stop("deflate stream cut short")
    return out


class Walk:
    def __init__(self):
        self.records = []   # of the whole blocks, in order
        self.partial = []   # decoded from the block that stopped the walk
        self.failure = None  # why the walk stopped before the end
        self.blocks = []    # (offset, end offset) of each whole block
        self.header_end = None


def decode_block(schema, payload, count):
    decoder = SpecDecoder(io.BytesIO(payload))
    reader = SpecDatumReader(schema)
    records = []
    for i in range(count):
        try:
            records.append(reader.read(decoder))
        except Exception as e:  # any failure of python3-avro stops the walk
            return records, "record %d: %s: %s" % (
                i, type(e).__name__, str(e).split("\n")[0])
    if decoder.reader.tell() != len(payload):
        return records, "bytes left after the last record"
    return records, None


def walk(data, decode=True, cache=None):
    w = Walk()
    try:
        meta, sync, w.header_end = header(data)
        codec = meta.get("avro.codec", b"null").decode()
        if codec not in ("null", "deflate", "snappy"):
            raise Stop("codec %s" % codec)
        schema = None
        if decode:
            text = json.loads(meta["avro.schema"].decode("utf-8"))
            schema = avro.schema.parse(json.dumps(without_logical_types(text)))
    except Exception as e:
        w.failure = "header: %s" % e
        return w
    pos = w.header_end
    while pos < len(data):
        start = pos
        try:
            count, pos = varint(data, pos)
            size, pos = varint(data, pos)
            if count < 0 or size < 0:
                raise Stop("negative count or size")
            if pos + size + 16 > len(data):
                raise Stop("cut block")
            raw = data[pos:pos + size]
            if data[pos + size:pos + size + 16] != sync:
                raise Stop("sync marker mismatch")
            pos += size + 16
            if not decode:
                w.records.extend([None] * count)
                w.blocks.append((start, pos))
                continue
            key = (count, raw)
            if cache is not None and key in cache:
                records, why = cache[key]
            else:
                payload = raw if codec == "null" else \
                    inflate(raw) if codec == "deflate" else unsnappy(raw)
                records, why = decode_block(schema, payload, count)
                if cache is not None:
                    cache[key] = (records, why)
            if why is not None:
                w.partial = records
                raise Stop(why)
        except Stop as e:
            w.failure = "block at %d: %s" % (start, e)
            return w
        w.records.extend(records)
        w.blocks.append((start, pos))
    return w


# ---- the table's view of a record ----------------------------------------------

def civil(days):
    """Proleptic Gregorian (year, month, day) of a day number from
    1970-01-01, shifted by whole 400-year cycles into datetime's range."""
    import datetime
    cycles = 0
    ordinal = days + 719163  # datetime's ordinal of 1970-01-01
    while ordinal < 1:
        ordinal += 146097
        cycles -= 1
    while ordinal > 3652059:
        ordinal -= 146097
        cycles += 1
    d = datetime.date.fromordinal(ordinal)
    return d.year + 400 * cycles, d.month, d.day


def timestamp(us):
    if us is None:
        return None
    secs, micros = divmod(us, 1000000)
    days, day_secs = divmod(secs, 86400)
    y, m, d = civil(days)
    year = "%04d" % y if y >= 0 else "-%03d" % -y
    return ("%s-%02d-%02dT%02d:%02d:%02d.%06dZ" % (
        year, m, d, day_secs // 3600, day_secs // 60 % 60, day_secs % 60,
        micros)).encode()


def real(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def expected_row(rec):
    g = rec.get
    status = g("status", "ok")
    return (g("dag_name"), g("dag_description"), g("run_id"), g("task_name"),
            g("task_description"), real(g("task_runtime")),
            timestamp(g("started_at")), timestamp(g("ended_at")),
            status.encode() if isinstance(status, str) else status,
            g("attempts", 1), g("worker"), g("error"), g("host", b""),
            # a file without task gives its task_name
            g("task") if "task" in rec else g("task_name"), g("instance"))


def sql_row(row):
    row = list(row)
    row[5] = real(row[5])
    return tuple(row)


# ---- the variants -----------------------------------------------------------------

def variants(family, data, w, rng):
    """(name, bytes) pairs."""
    hdr = w.header_end
    bounds = [s for s, _ in w.blocks] + [len(data)]
    last_start, last_end = w.blocks[-1]
    mid_last = (last_start + last_end) // 2
    if family == "whole":
        return [("whole", data)]
    if family == "cuts":
        offs = {0, 1, 4, 5, hdr - 17, hdr - 16, hdr - 1, hdr, hdr + 1}
        for b in bounds:
            offs.update([b - 16, b - 15, b - 8, b - 1, b, b + 1, b + 2])
        offs.update(rng.randrange(len(data)) for _ in range(60))
        offs = sorted(o for o in offs if 0 <= o < len(data))
        return [("cut-%d" % o, data[:o]) for o in offs]
    if family == "tails":
        half = data[last_start:mid_last]
        out = [("zeros-1", data + b"\0"), ("zeros-17", data + b"\0" * 17),
               ("zeros-4096", data + b"\0" * 4096),
               ("power-loss", data[:mid_last] + b"\0" * (len(data) - mid_last)),
               ("cut-then-zeros", data[:mid_last] + b"\0" * 4096),
               ("half-block-again", data + half),
               ("half-block-twice", data + half + half),
               ("cut-then-last-block", data[:mid_last] + data[last_start:]),
               ("last-block-again", data + data[last_start:]),
               ("all-blocks-again", data + data[hdr:]),
               ("last-block-counted-zero",
                data + b"\0" + data[varint(data, last_start)[1]:last_end])]
        for n in (1, 2, 16, 33, 700, 5000):
            for k in range(2):
                out.append(("random-%d-%d" % (n, k),
                            data + bytes(rng.randrange(256) for _ in range(n))))
        return out
    if family == "flips":
        out = []
        for k in range(int(os.environ.get("REFERENCE_FLIPS", 150))):
            at = rng.randrange(hdr - 16, len(data))
            mask = 1 << rng.randrange(8) if k % 2 else rng.randrange(1, 256)
            flipped = bytearray(data)
            flipped[at] ^= mask
            out.append(("flip-%d-%d" % (at, mask), bytes(flipped)))
        return out
    raise SystemExit("unknown family %r" % family)


def connect():
    con = sqlite3.connect(":memory:")
    con.text_factory = bytes
    con.enable_load_extension(True)
    con.load_extension(os.path.join(os.getcwd(), "daglib_sqlite"))
    return con


def check(source, family, work):
    data = open(source, "rb").read()
    cache = {}
    w = walk(data, cache=cache)
    if w.failure is not None or not w.records:
        print("the source itself does not read cleanly: %s" % w.failure)
        return 1
    dag = w.records[0]["dag_name"].decode()
    root = os.path.join(work, family)
    shutil.rmtree(root, ignore_errors=True)
    dag_dir = os.path.join(root, "profiling", dag)
    os.makedirs(dag_dir)
    rng = random.Random("%s %s" % (os.path.basename(source), family))
    expected, framed = {}, {}
    for name, variant in variants(family, data, w, rng):
        path = os.path.join(dag_dir, name + ".avro")
        with open(path, "wb") as f:
            f.write(variant)
        expected[path.encode()] = walk(variant, cache=cache)
        framed[path.encode()] = len(walk(variant, decode=False).records)

    con = connect()
    got = {p: [] for p in expected}
    for row in con.execute("SELECT path, %s FROM profiling(?)" %
                           ", ".join(COLUMNS), (root,)):
        got.setdefault(row[0], []).append(sql_row(row[1:]))
    files = {row[0]: (row[1], row[2]) for row in con.execute(
        "SELECT path, records, error FROM profiling_files(?)", (root,))}
    # No field used: the table counts records from block headers.
    counted = dict(con.execute(
        "SELECT path, count(*) FROM profiling(?) GROUP BY path", (root,)))
    total = con.execute("SELECT count(*) FROM profiling(?)", (root,)).fetchone()[0]
    con.close()

    problems, rows, stopped = [], 0, 0
    for path, ref in expected.items():
        want = [expected_row(r) for r in ref.records]
        partial = [expected_row(r) for r in ref.partial]
        have = got.get(path, [])
        records, error = files.get(path, (None, b"not listed"))
        rows += len(have)
        name = os.path.basename(path).decode()
        if records != len(have):
            problems.append("%s: profiling_files.records %r, %d rows"
                            % (name, records, len(have)))
        count = counted.get(path, 0)
        if family != "flips" or ref.failure is None:
            count_ok = count == len(have)
        else:
            count_ok = len(have) <= count <= framed[path]
        if not count_ok:
            problems.append("%s: count(*) %r, %d rows, %d claimed by whole "
                            "blocks" % (name, count, len(have), framed[path]))
        if family == "flips":
            same = have[:len(want)] == want and \
                have[len(want):] == partial[:len(have) - len(want)]
        else:
            same = have == want
        if not same:
            first = next((i for i, (a, b) in enumerate(zip(have, want + partial))
                          if a != b), min(len(have), len(want + partial)))
            problems.append(
                "%s: %d rows, reference %d whole + %d partial (%s); first "
                "difference at row %d: %r != %r" % (
                    name, len(have), len(want), len(partial), ref.failure,
                    first, have[first] if first < len(have) else None,
                    (want + partial)[first] if first < len(want + partial)
                    else None))
        other_dag = any(r[0] != dag.encode() for r in have)
        if (error is not None) != (ref.failure is not None or other_dag):
            problems.append("%s: error %r, reference %r" %
                            (name, error, ref.failure))
        stopped += ref.failure is not None
    if total != sum(counted.values()):
        problems.append("count(*) %d, %d counted file by file" %
                        (total, sum(counted.values())))
    print("%s %s: %d files (%d stopped early), %d rows compared, %d problems"
          % (os.path.basename(source), family, len(expected), stopped, rows,
             len(problems)))
    for p in problems[:10]:
        print("  " + p)
    return 1 if problems else 0


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
    if len(sys.argv) >= 2 and sys.argv[1] == "count":
        for path in sys.argv[2:]:
            with open(path, "rb") as f:
                print(len(walk(f.read(), decode=False).records))
        return
    raise SystemExit(__doc__)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# faults.sh -- profiled runs killed, starved of disk and run side by side,
# with queries running all the while: no query fails, no row is invented,
# and every file reads as exactly the records of its whole blocks, as an
# independent reader (python3-avro, tests/support/reference_avro.py) finds
# them.  The figures (kills, queries, rows) are printed for the record.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/support/suite.sh
. tests/support/suite.sh

python=/usr/bin/python3
writer=$PWD/build/tests/fault_writer
checks=tests/support/fault_checks.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" -c 'import sqlite3, avro.io' 2>/dev/null ||
    give_up "Debian's python3-avro is missing: scripts/deps.sh test"
[ -e daglib_sqlite.so ] || give_up "./daglib_sqlite.so is missing: run make"
[ -x "$writer" ] || give_up "$writer is missing: run make tests"

KILLS=${FAULT_KILLS:-25}
WRITERS=${FAULT_WRITERS:-4}
READERS=${FAULT_READERS:-2}
SECONDS_SIDE_BY_SIDE=${FAULT_SECONDS:-15}

# ---- kill -9 during profiled runs, a query loop running throughout --------

wait_for_file() { # wait_for_file DIR N: until DIR holds N files
    local tries
    for ((tries = 0; tries < 3000; tries++)); do
        [ "$(find "$1" -name '*.avro' 2>/dev/null | wc -l)" -ge "$2" ] &&
            return 0
        sleep 0.01
    done
    echo "no file $2 in $1"
    return 1
}

killed_runs_leave_their_whole_blocks() {
    local root=$work/killed stop=$work/killed.stop
    mkdir -p "$root"
    "$python" $checks queries "$root" killed 1000000 "$stop" \
        >"$work/killed.queries" &
    local queries=$!
    local k pid spin pause
    for ((k = 0; k < KILLS; k++)); do
        # Fast tasks fill 1 MiB blocks several times a second; slow ones
        # leave blocks flushed by time.  The kill lands anywhere.
        spin=$((k % 2 ? 200 : 20))
        pause=0.$((RANDOM % 90 + 5))
        "$writer" run "$root" killed 300000 "$spin" &
        pid=$!
        wait_for_file "$root/profiling/killed" $((k + 1)) || return 1
        sleep "$pause"
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null
    done
    touch "$stop"
    wait "$queries"
    local status=$?
    cat "$work/killed.queries"
    local files=("$root"/profiling/killed/*.avro)
    echo "kills $KILLS files ${#files[@]}"
    [ $status -eq 0 ] || return 1
    # Every kill left a file (each run outlives its pause: 300000 tasks
    # take seconds).
    [ "${#files[@]}" -eq "$KILLS" ] || return 1
    "$python" $checks files "$root" 3 "${files[@]}"
}

# ---- writers and readers side by side -------------------------------------

side_by_side_runs_count_exactly() {
    local root=$work/shared stop=$work/shared.stop
    mkdir -p "$root"
    local w r pids=() readers=()
    for ((r = 0; r < READERS; r++)); do
        "$python" $checks queries "$root" shared 500 "$stop" \
            >"$work/reader.$r" &
        readers+=($!)
    done
    for ((w = 0; w < WRITERS; w++)); do
        "$writer" runs "$root" shared "$SECONDS_SIDE_BY_SIDE" 500 5 \
            >"$work/writer.$w" &
        pids+=($!)
    done
    local failed=0
    for pid in "${pids[@]}"; do
        wait "$pid" || failed=1
    done
    touch "$stop"
    for pid in "${readers[@]}"; do
        wait "$pid" || failed=1
    done
    cat "$work"/reader.*
    local runs records
    runs=$(awk '{ s += $1 } END { print s + 0 }' "$work"/writer.*)
    records=$(awk '{ s += $2 } END { print s + 0 }' "$work"/writer.*)
    echo "writers $WRITERS readers $READERS seconds $SECONDS_SIDE_BY_SIDE" \
        "runs $runs records written $records"
    [ $failed -eq 0 ] || return 1
    local got
    got=$("$python" - "$root" <<'PY'
import os, sqlite3, sys
con = sqlite3.connect(":memory:")
con.enable_load_extension(True)
con.load_extension(os.path.join(os.getcwd(), "daglib_sqlite"))
root = sys.argv[1]
rows, runs = con.execute("SELECT count(*), count(DISTINCT run_id) "
                         "FROM profiling(?)", (root,)).fetchone()
files, records, errors = con.execute(
    "SELECT count(*), sum(records), count(error) FROM profiling_files(?)",
    (root,)).fetchone()
print(rows, runs, files, records, errors)
PY
    ) || return 1
    echo "rows, run ids, files, records, errors: $got"
    [ "$got" = "$records $runs $runs $records 0" ]
}

# ---- a full disk and a file size limit -------------------------------------

# starved_run ROOT: after a run refused its writes, the file holds whole
# blocks only, reads without error, and holds at least one.
starved_file_reads_cleanly() {
    local root=$1
    local files=("$root"/profiling/starved/*.avro)
    [ "${#files[@]}" -eq 1 ] || { echo "files: ${files[*]}"; return 1; }
    "$python" $checks files "$root" 1 "${files[0]}" || return 1
    local got
    got=$("$python" - "$root" <<'PY'
import os, sqlite3, sys
con = sqlite3.connect(":memory:")
con.enable_load_extension(True)
con.load_extension(os.path.join(os.getcwd(), "daglib_sqlite"))
print(*con.execute("SELECT records > 0, error IS NULL FROM profiling_files(?)",
                   (sys.argv[1],)).fetchone())
PY
    )
    [ "$got" = "1 1" ] || { echo "records > 0, no error: $got"; return 1; }
}

file_size_limit_leaves_whole_blocks() {
    local root=$work/fsize
    # 2 MiB: room for a 1 MiB block and part of the next.  SIGXFSZ
    # ignored, so the write fails with EFBIG instead of killing the run.
    (trap '' XFSZ && ulimit -f 2048 &&
        exec "$writer" run "$root" starved 200000 0) 2>"$work/fsize.err"
    local status=$?
    echo "run status $status: $(head -c 200 "$work/fsize.err")"
    [ $status -ne 0 ] || return 1
    starved_file_reads_cleanly "$root"
}

full_disk_leaves_whole_blocks() {
    local root=$work/full
    mkdir -p "$root"
    # A 3 MiB tmpfs in a private mount namespace (root only): the file is
    # copied out before the namespace goes away.
    if ! unshare -m true 2>/dev/null; then
        echo "no private mount namespace here: skipped"
        return 0
    fi
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    unshare -m sh -c '
        mount -t tmpfs -o size=3m tmpfs "$1" || exit 3
        "$2" run "$1/meta" starved 400000 0 2>"$1/../full.err"
        echo $? >"$1/../full.status"
        mkdir -p "$1/../copy" && cp -R "$1/meta" "$1/../copy/"
    ' sh "$root" "$writer"
    [ -e "$work/full.status" ] || { echo "no tmpfs here: skipped"; return 0; }
    echo "run status $(cat "$work/full.status"): $(head -c 200 "$work/full.err")"
    [ "$(cat "$work/full.status")" -ne 0 ] || return 1
    starved_file_reads_cleanly "$work/copy/meta"
}

check killed_runs_leave_their_whole_blocks killed_runs_leave_their_whole_blocks
check side_by_side_runs_count_exactly side_by_side_runs_count_exactly
check file_size_limit_leaves_whole_blocks file_size_limit_leaves_whole_blocks
check full_disk_leaves_whole_blocks full_disk_leaves_whole_blocks

finish

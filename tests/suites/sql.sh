#!/usr/bin/env bash
# sql.sh -- the SQL surface through the real sqlite3 shell.
#
# Each tests/sql/NAME.sql is fed to `sqlite3 -batch :memory:` and its
# output (stdout and stderr: errors are part of what a test expects) must
# equal tests/sql/NAME.expected.  A test runs in a working directory of
# its own holding:
#   daglib_sqlite.so  a link to the extension, so `.load ./daglib_sqlite`
#                     works as it does from the repository root
#   sql               a link to sql/, for `.read sql/views.sql`
#   page stats broken example2-runs
#                     copies of the fixture trees that
#                     tests/support/sql_fixtures.py writes with fixed values
#   meta              the default metadata root: a copy of the fixture the
#                     test names in a `-- fixture: NAME` line, else absent
# Each script runs twice: as is, and under valgrind (same output, no
# memory error or leak in the extension or the shell).
# A line `-- env: VAR=value` sets an environment variable for the shell
# (DAGLIB_META_DIR is unset otherwise).  The working directory's path is
# printed as <cwd> so that expected files do not depend on it.
#
# UPDATE_EXPECTED=1 tests/suites/sql.sh rewrites the .expected files from
# the current output (check the diff before committing it).
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/support/suite.sh
. tests/support/suite.sh

root=$PWD
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A fresh working directory for one test: links, fixture copies, meta.
prepare_dir() { # prepare_dir DIR [FIXTURE]
    local dir=$1 fixture=${2:-}
    mkdir -p "$dir"
    ln -s "$root/daglib_sqlite.so" "$dir/daglib_sqlite.so"
    ln -s "$root/sql" "$dir/sql"
    cp -R "$work/fixtures/." "$dir/"
    if [ -n "$fixture" ]; then
        [ -d "$work/fixtures/$fixture" ] || { echo "no fixture '$fixture'"; return 1; }
        cp -R "$work/fixtures/$fixture" "$dir/meta"
    fi
}

# shell_output FILE.sql DIR [WRAPPER...]: what the shell prints for the
# script (run under WRAPPER, e.g. valgrind, when given), paths under DIR
# shown as <cwd>.
shell_output() {
    local sql=$1 dir=$2 fixture envs=()
    shift 2
    fixture=$(sed -n 's/^-- fixture: *//p' "$sql" | head -n 1)
    while IFS= read -r line; do
        envs+=("$line")
    done < <(sed -n 's/^-- env: *//p' "$sql")
    prepare_dir "$dir" "$fixture" || return 1
    local out status
    out=$(cd "$dir" && env -u DAGLIB_META_DIR "${envs[@]}" \
        "$@" sqlite3 -batch -init /dev/null :memory: <"$sql" 2>&1)
    status=$?
    printf '%s\n' "${out//$dir/<cwd>}"
    return $status
}

sql_test() { # sql_test NAME: tests/sql/NAME.sql gives NAME.expected
    local name=$1
    local sql=$root/tests/sql/$name.sql expected=$root/tests/sql/$name.expected
    # The shell's exit status is 1 after any error, and some tests expect
    # errors: the output decides.
    shell_output "$sql" "$work/t/$name" >"$work/$name.out"
    if [ "${UPDATE_EXPECTED:-}" = 1 ]; then
        cp "$work/$name.out" "$expected"
        echo "   wrote tests/sql/$name.expected"
        return 0
    fi
    [ -f "$expected" ] || { echo "tests/sql/$name.expected is missing"; cat "$work/$name.out"; return 1; }
    diff -u --label "expected: tests/sql/$name.expected" --label "got" \
        "$expected" "$work/$name.out"
}

# The same script under valgrind: the same output, no memory error, no
# leak (valgrind's own report would show in the output and break the diff;
# its exit status 99 says so too).
sql_test_under_valgrind() { # sql_test_under_valgrind NAME
    local name=$1
    local sql=$root/tests/sql/$name.sql expected=$root/tests/sql/$name.expected
    shell_output "$sql" "$work/vg/$name" "${VALGRIND_CLEAN[@]}" \
        >"$work/$name.vg.out"
    [ $? -ne 99 ] || { echo "valgrind found errors:"; cat "$work/$name.vg.out"; return 1; }
    diff -u --label "expected: tests/sql/$name.expected" --label "got under valgrind" \
        "$expected" "$work/$name.vg.out" || return 1
}

# The trace of run_200000003 (four tasks on two workers), parsed by
# Python's json module as Perfetto would: its structure and times.
chrome_trace_parses_as_a_trace_of_the_run() {
    local dir=$work/t/chrome_trace_json
    prepare_dir "$dir" stats || return 1
    (cd "$dir" && env -u DAGLIB_META_DIR sqlite3 -batch -init /dev/null \
        -cmd '.load ./daglib_sqlite' -cmd '.read sql/views.sql' \
        -cmd ".parameter set \$run_id 'run_200000003'" \
        :memory: '.read sql/chrome_trace.sql') >"$work/trace.json" || return 1
    "$python" - "$work/trace.json" <<'EOF'
import json, sys
trace = json.load(open(sys.argv[1]))
assert trace["displayTimeUnit"] == "ms", trace
events = trace["traceEvents"]
meta = sorted((e["name"], e.get("tid"), e["args"]["name"])
              for e in events if e["ph"] == "M")
assert meta == [("process_name", None, "etl run_200000003"),
                ("thread_name", 0, "worker 0"),
                ("thread_name", 1, "worker 1")], meta
tasks = sorted((e["ts"], e["tid"], e["name"], e["dur"], e["args"]["status"],
                e["args"]["attempts"], e["args"]["error"])
               for e in events if e["ph"] == "X")
want = [(0, 0, "extract_b", 1000000, "ok", 1, None),
        (0, 1, "extract_a", 2500000, "ok", 2, "timeout"),
        (2500000, 0, "transform", 2000000, "ok", 1, None),
        (4500000, 1, "load", 500000, "ok", 1, None)]
assert tasks == want, tasks
assert all(e["pid"] == 1 and e["cat"] == "etl" for e in events
           if e["ph"] == "X"), events
assert len(events) == 3 + 4, len(events)
EOF
}

# `WHERE dag_name = ...` on a view reaches the profiling table, so that
# only that DAG's directory is opened: bit 0x02 of the plan's idxNum
# (ext/profiling_vtab.c: "dag_name = ?") in EXPLAIN QUERY PLAN.
# (slowest_tasks ranks over every DAG, so a filter cannot go down there.)
views_filtered_by_dag_read_one_directory() {
    local view plan idx bad=""
    for view in task_stats runs failures timeline; do
        plan=$(env -u DAGLIB_META_DIR sqlite3 -batch -init /dev/null \
            -cmd '.load ./daglib_sqlite' -cmd '.read sql/views.sql' :memory: \
            "EXPLAIN QUERY PLAN SELECT * FROM $view WHERE dag_name = 'etl'") || return 1
        idx=$(sed -n 's/.*SCAN profiling VIRTUAL TABLE INDEX \([0-9]*\):.*/\1/p' <<<"$plan")
        if [ -z "$idx" ] || [ $((idx & 2)) -eq 0 ]; then
            bad="$bad $view"
            printf '%s:\n%s\n' "$view" "$plan"
        fi
    done
    [ -z "$bad" ] || { echo "dag_name is not pushed down through:$bad"; return 1; }
}

# chrome_trace.sql with $run_id: the run's branch gives the profiling
# table run_id = ? (bit 0x08), so only that run's file is read.
chrome_trace_of_a_run_reads_one_file() {
    local plan idx
    plan=$(env -u DAGLIB_META_DIR sqlite3 -batch -init /dev/null \
        -cmd '.load ./daglib_sqlite' -cmd '.read sql/views.sql' \
        -cmd ".parameter set \$run_id 'run_200000003'" -cmd '.eqp on' \
        :memory: '.read sql/chrome_trace.sql') || return 1
    idx=$(sed -n 's/.*SCAN profiling VIRTUAL TABLE INDEX \([0-9]*\):.*/\1/p' <<<"$plan" |
        head -n 1)
    if [ -z "$idx" ] || [ $((idx & 8)) -eq 0 ]; then
        echo "run_id is not pushed down:"
        echo "$plan"
        return 1
    fi
}

# Every view views.sql creates is queried by some tests/sql/*.sql.
every_view_has_a_test() {
    local view missing=""
    while read -r view; do
        grep -lqw "$view" tests/sql/*.sql || missing="$missing $view"
    done < <(sed -n 's/^CREATE TEMP VIEW \([a-z_]*\) AS$/\1/p' sql/views.sql)
    [ -z "$missing" ] || { echo "views without a test:$missing"; return 1; }
    [ "$(grep -c '^CREATE TEMP VIEW' sql/views.sql)" -ge 5 ] ||
        { echo "views.sql defines fewer views than expected"; return 1; }
}


"$python" -c 'import avro.datafile' 2>/dev/null ||
    give_up "Debian's python3-avro is missing: scripts/deps.sh test"
[ -e daglib_sqlite.so ] || give_up "./daglib_sqlite.so is missing: run make"
"$python" tests/support/sql_fixtures.py "$work/fixtures" ||
    give_up "cannot write the fixtures"

for sql in tests/sql/*.sql; do
    name=$(basename "$sql" .sql)
    check "sql_$name" sql_test "$name"
done
for sql in tests/sql/*.sql; do
    name=$(basename "$sql" .sql)
    check "sql_${name}_under_valgrind" sql_test_under_valgrind "$name"
done
check chrome_trace_parses_as_a_trace_of_the_run chrome_trace_parses_as_a_trace_of_the_run
check views_filtered_by_dag_read_one_directory views_filtered_by_dag_read_one_directory
check chrome_trace_of_a_run_reads_one_file chrome_trace_of_a_run_reads_one_file
check every_view_has_a_test every_view_has_a_test

finish

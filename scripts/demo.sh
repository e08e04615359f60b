#!/bin/sh
# demo.sh -- the profiling page, end to end, from the repository root:
# run the profiled example, find its file, query it with the sqlite3 shell,
# drop the data, then the analytics loop and its average; and last the
# example again, which the README's next queries read.
set -eu
cd "$(dirname "$0")/.."

root=${DAGLIB_META_DIR:-meta}
query() {
    echo "sqlite> $1"
    sqlite3 -header -column -cmd '.load ./daglib_sqlite' :memory: "$1"
    echo
}
say() { printf '\n$ %s\n' "$*"; }

say examples/profiling
examples/profiling

say "find $root/profiling -name '*.avro'"
find "$root/profiling" -name '*.avro'

say "sqlite3 -cmd '.load ./daglib_sqlite'"
query "SELECT * FROM profiling"

query "SELECT daglib_drop() AS removed"
query "SELECT * FROM profiling"

say examples/analytics
examples/analytics

say "sqlite3 -cmd '.load ./daglib_sqlite'"
query "SELECT AVG(task_runtime) AS avg_task_runtime FROM profiling"
query "SELECT daglib_drop() AS removed"

# The page ends with a drop; run its example once more so that the tree
# is not left empty for the queries the README suggests next.
say examples/profiling
examples/profiling
query "SELECT dag_name, run_id, task_name, task_runtime FROM profiling"

#!/usr/bin/env bash
# odbc.sh -- the profiling page's queries from an ODBC client: unixODBC's
# isql with the SQLite3 ODBC driver (Debian's libsqliteodbc), which loads
# the extension through the DSN option LoadExt=, with its default entry
# point.  Also what an ODBC client is told of the columns' types: text
# columns must be plain VARCHAR, since many BI tools will not group by a
# LONGVARCHAR ("memo") column.
#
# The driver and DSN files are private (ODBCSYSINI, ODBCINI in a temp
# directory); /etc/odbc*.ini are never read or written.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/support/suite.sh
. tests/support/suite.sh

root=$PWD
python=/usr/bin/python3
driver=$(find /usr/lib -path '*/odbc/libsqlite3odbc.so' 2>/dev/null | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT


command -v isql >/dev/null || give_up "isql is missing (unixodbc): scripts/deps.sh test"
[ -n "$driver" ] || give_up "the SQLite3 ODBC driver is missing (libsqliteodbc): scripts/deps.sh test"
[ -e /usr/include/sql.h ] || give_up "unixodbc-dev is missing: scripts/deps.sh test"
[ -e daglib_sqlite.so ] || give_up "./daglib_sqlite.so is missing: run make"
"$python" tests/support/sql_fixtures.py "$work/fixtures" || give_up "cannot write the fixtures"
cc -std=c11 -Wall -Wextra -Werror -o "$work/odbc_columns" \
    tests/support/odbc_columns.c -lodbc || give_up "cannot build tests/support/odbc_columns.c"
cc -std=c11 -Wall -Wextra -Werror -o "$work/odbc_fetch" \
    tests/support/odbc_fetch.c -lodbc || give_up "cannot build tests/support/odbc_fetch.c"

# The client's working directory: the page's tree as meta/, the others.
client=$work/client
mkdir -p "$client"
cp -R "$work/fixtures/." "$client/"
cp -R "$work/fixtures/page" "$client/meta"

# A database file with a stored view over profiling: what a BI tool's
# table list shows (the driver lists sqlite_master, where an eponymous
# virtual table never appears).
sqlite3 -batch -init /dev/null -cmd ".load $root/daglib_sqlite" "$work/views.db" \
    "CREATE VIEW profiling_view AS
     SELECT *, started_at, ended_at, status, attempts, worker, error, path
     FROM profiling" || give_up "cannot create $work/views.db"

export ODBCSYSINI=$work ODBCINI=$work/odbc.ini
cat >"$work/odbcinst.ini" <<EOF
[SQLite3]
Description=SQLite3 ODBC Driver
Driver=$driver
EOF
cat >"$work/odbc.ini" <<EOF
[daglib]
Description=MetaDB: an in-memory database with daglib_sqlite loaded
Driver=SQLite3
Database=:memory:
LoadExt=$root/daglib_sqlite.so

[daglib_views]
Description=A database file holding a view over profiling
Driver=SQLite3
Database=$work/views.db
LoadExt=$root/daglib_sqlite.so
EOF

# isql_output DSN: run stdin's statements (one a line) in one session from
# the client's directory; stdout, then stderr (empty unless an error).
isql_output() {
    (cd "$client" && env -u DAGLIB_META_DIR isql -b -d'|' -c "$1" \
        >"$work/isql.out" 2>"$work/isql.err")
    cat "$work/isql.out" "$work/isql.err"
}

expect_output() { # expect_output WANT GOT
    [ "$1" = "$2" ] && return 0
    diff -u --label expected --label got <(printf '%s\n' "$1") <(printf '%s\n' "$2")
    return 1
}

select_star_gives_the_page_table() {
    local got
    got=$(isql_output daglib <<<"SELECT * FROM profiling")
    expect_output "dag_name|dag_description|run_id|task_name|task_description|task_runtime
example|This is an example DAG|run_5d508d060|task_1|Do some stuff|1.005017
example|This is an example DAG|run_5d508d060|task_2|Do some other stuff|2.0e-06" "$got"
}

average_of_the_page_run() {
    local got
    got=$(isql_output daglib <<<"SELECT AVG(task_runtime) AS avg_task_runtime FROM profiling")
    expect_output "avg_task_runtime
0.5025095" "$got"
}

drop_then_the_five_runs() {
    local got
    got=$(isql_output daglib <<<"SELECT daglib_drop() AS removed
SELECT * FROM profiling
SELECT count(*) AS files FROM profiling_files WHERE dag_name IS NOT NULL")
    expect_output "removed
3
dag_name|dag_description|run_id|task_name|task_description|task_runtime
files
0" "$got" || return 1
    cp -R "$client/example2-runs/profiling" "$client/meta/"
    got=$(isql_output daglib <<<"SELECT AVG(task_runtime) AS avg_task_runtime FROM profiling")
    expect_output "avg_task_runtime
1.000064" "$got"
}

# A GUI or ODBC client's working directory is rarely the project's: the
# root is set from SQL, once, for the connection.
root_set_from_sql() {
    local got
    got=$(isql_output daglib <<<"SELECT daglib_meta_dir('$client/stats') = '$client/stats' AS root_set
SELECT dag_name, count(*) AS n FROM profiling GROUP BY dag_name ORDER BY dag_name")
    expect_output "root_set
1
dag_name|n
etl|12
legacy|2
nightly|40" "$got"
}

# What SQLDescribeCol says of a query's columns, and SQLColumns of a
# stored view's: what a report groups by is VARCHAR (never a memo type),
# free text is LONGVARCHAR (never cut), the times are TIMESTAMP (a BI tool
# plots over them), the runtime DOUBLE, the counts INTEGER.
column_types_want="dag_name|VARCHAR
dag_description|LONGVARCHAR
run_id|VARCHAR
task_name|VARCHAR
task_description|LONGVARCHAR
task_runtime|DOUBLE
started_at|TIMESTAMP
ended_at|TIMESTAMP
status|VARCHAR
attempts|INTEGER
worker|INTEGER
error|LONGVARCHAR
path|LONGVARCHAR"

query_columns_are_varchar_not_memo() {
    local got
    (cd "$client" && "$work/odbc_columns" daglib profiling \
        "SELECT *, started_at, ended_at, status, attempts, worker, error, path FROM profiling") \
        >"$work/describe.out" || return 1
    got=$(sed -n '/^--$/,$p' "$work/describe.out" | sed 1d | cut -d'|' -f1,2)
    expect_output "$column_types_want" "$got" ||
        { echo "(SQLDescribeCol, with sizes:)"; cat "$work/describe.out"; return 1; }
}

catalog_columns_are_varchar_not_memo() {
    local got
    (cd "$client" && "$work/odbc_columns" daglib_views profiling_view) \
        >"$work/catalog.out" || return 1
    got=$(cut -d'|' -f1,2 "$work/catalog.out")
    expect_output "$column_types_want" "$got" ||
        { echo "(SQLColumns, with sizes:)"; cat "$work/catalog.out"; return 1; }
}

# A client that binds each column by the type and size the driver reports:
# the times arrive as SQL_C_TYPE_TIMESTAMP, microseconds included, and a
# 440-character error whole (a cut value fails odbc_fetch with 01004).
timestamps_and_long_text_fetch_as_reported() {
    local got
    got=$(cd "$client" && "$work/odbc_fetch" daglib \
        "SELECT task_name, started_at, ended_at, length(error), error
         FROM profiling('drift') WHERE error IS NOT NULL") || return 1
    local want_error
    want_error=$("$python" -c 'import sys; sys.path.insert(0, "tests/support")
import sql_fixtures; print(sql_fixtures.LONG_ERROR)')
    expect_output "notify|2024-07-03 07:00:04.000000|2024-07-03 07:00:04.250000|440|$want_error" "$got"
}

check select_star_gives_the_page_table select_star_gives_the_page_table
check average_of_the_page_run average_of_the_page_run
check drop_then_the_five_runs drop_then_the_five_runs
check root_set_from_sql root_set_from_sql
check query_columns_are_varchar_not_memo query_columns_are_varchar_not_memo
check catalog_columns_are_varchar_not_memo catalog_columns_are_varchar_not_memo
check timestamps_and_long_text_fetch_as_reported timestamps_and_long_text_fetch_as_reported

finish

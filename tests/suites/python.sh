#!/usr/bin/env bash
# python.sh -- the profiling page's queries from Python: Debian's
# /usr/bin/python3 loads ./daglib_sqlite into its sqlite3 module and runs
# them with pandas.read_sql, as the page's MetaDB().query() did.
#
# Each test_* function of tests/support/python_metadb.py is one check, run
# in a fresh working directory (links to the extension and sql/, a copy of
# the fixture trees of tests/support/sql_fixtures.py, meta = the page's).
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/support/suite.sh
. tests/support/suite.sh

root=$PWD
python=/usr/bin/python3
script=$root/tests/support/python_metadb.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python_test() { # python_test NAME: test_NAME of python_metadb.py holds
    local dir=$work/t/$1
    mkdir -p "$dir"
    ln -s "$root/daglib_sqlite.so" "$dir/daglib_sqlite.so"
    ln -s "$root/sql" "$dir/sql"
    cp -R "$work/fixtures/." "$dir/"
    cp -R "$work/fixtures/page" "$dir/meta"
    (cd "$dir" && env -u DAGLIB_META_DIR "$python" "$script" "$1")
}


"$python" -c 'import sqlite3, pandas, avro.datafile' 2>/dev/null ||
    give_up "Debian's python3-pandas or python3-avro is missing: scripts/deps.sh test"
[ -e daglib_sqlite.so ] || give_up "./daglib_sqlite.so is missing: run make"
"$python" tests/support/sql_fixtures.py "$work/fixtures" ||
    give_up "cannot write the fixtures"

# The README's one-line check that a Python can load extensions: it says
# "ok" for the Python the README recommends.
readme_check_accepts_debians_python() {
    local line out
    line=$(grep -m 1 "^python3 -c 'import sqlite3;.*enable_load_extension" README.md) ||
        { echo "no check command in the README"; return 1; }
    out=$(bash -c "${line/#python3/$python}") || return 1
    [ "$out" = ok ] || { echo "got: $out"; return 1; }
}
check readme_check_accepts_debians_python readme_check_accepts_debians_python

tests=$(sed -n 's/^def test_\([a-z0-9_]*\)().*/\1/p' "$script")
[ -n "$tests" ] || give_up "no test in $script"
for name in $tests; do
    check "python_$name" python_test "$name"
done

finish

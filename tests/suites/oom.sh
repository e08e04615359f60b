#!/usr/bin/env bash
# oom.sh -- out of memory, one allocation at a time: every allocation of a
# small query, and of a small profiled run, is failed in turn (SQLite's own
# practice), each in a fresh process.  Each run must end with the full
# result or a clean SQLITE_NOMEM / DAGLIB_NOMEM: never a success with rows
# missing, never a crash.  tests/support/oom_sweep.c drives it;
# tests/support/failmalloc.c is the preloaded malloc that fails.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/support/suite.sh
. tests/support/suite.sh

sweep=build/tests/oom_sweep
shim=$PWD/build/tests/failmalloc.so
[ -x "$sweep" ] && [ -e "$shim" ] && [ -e daglib_sqlite.so ] ||
    give_up "build first: make all tests"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The fixture: 8 small files, 4 with the null codec and 4 deflated.
"$sweep" files "$work/meta" || give_up "cannot write the fixture"

swept() { # swept ARGS...: the sweep passes; its tally goes to the log
    LD_PRELOAD=$shim "$sweep" "$@"
}

check "a query over profiling fails cleanly at every allocation" \
    swept query ./daglib_sqlite.so "$work/meta"
check "a query over profiling_files fails cleanly at every allocation" \
    swept files-query ./daglib_sqlite.so "$work/meta"
mkdir "$work/runs"
check "a profiled run and its MetaDB query fail cleanly at every allocation" \
    swept library "$work/runs"

finish

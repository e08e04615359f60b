#!/usr/bin/env bash
# examples.sh -- the example programs print what the page shows, write
# their files where the contract says, and leak nothing under valgrind.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/support/suite.sh
. tests/support/suite.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

valgrind_clean() { # valgrind_clean PROGRAM: no error, no leak
    "${VALGRIND_CLEAN[@]}" \
        "$@" >"$work/valgrind.out" 2>"$work/valgrind.err"
    local status=$?
    [ $status -eq 0 ] || { cat "$work/valgrind.err"; return 1; }
}

profiling_prints_the_page_result() {
    local out
    out=$(DAGLIB_META_DIR="$work/m1" examples/profiling) || return 1
    [ "$out" = "[2, 4, 6]" ] || { echo "printed: $out"; return 1; }
}

analytics_prints_five_scaled_lists() {
    local out
    out=$(DAGLIB_META_DIR="$work/m2" examples/analytics) || return 1
    [ "$(echo "$out" | wc -l)" -eq 5 ] || { echo "$out"; return 1; }
    while read -r line; do
        [[ "$line" =~ ^\[([0-9]+),\ ([0-9]+),\ ([0-9]+)\]$ ]] || { echo "bad line: $line"; return 1; }
        local a=${BASH_REMATCH[1]} b=${BASH_REMATCH[2]} c=${BASH_REMATCH[3]}
        ((a >= 1 && a <= 10 && b % 2 == 0 && b >= 2 && b <= 20 &&
            c % 3 == 0 && c >= 3 && c <= 30)) || { echo "out of range: $line"; return 1; }
    done <<<"$out"
    [ "$(find "$work/m2/profiling/example2" -name 'run_*.avro' | wc -l)" -eq 5 ]
}

profiling_is_clean_under_valgrind() {
    DAGLIB_META_DIR="$work/m3" valgrind_clean examples/profiling
}

analytics_is_clean_under_valgrind() {
    DAGLIB_META_DIR="$work/m4" valgrind_clean examples/analytics
}

root=$PWD
cwd_run() { (mkdir -p "$work/cwd" && cd "$work/cwd" && "$root/examples/profiling" >/dev/null); }
profiling_writes_its_file_where_the_page_says() {
    cwd_run || return 1
    local files
    files=$(cd "$work/cwd" && find meta/profiling -name '*.avro')
    [[ "$files" =~ ^meta/profiling/example/run_[0-9a-f]{9}\.avro$ ]] ||
        { echo "files: $files"; return 1; }
}

check profiling_prints_the_page_result profiling_prints_the_page_result
check profiling_writes_its_file_where_the_page_says profiling_writes_its_file_where_the_page_says
check analytics_prints_five_scaled_lists analytics_prints_five_scaled_lists
check profiling_is_clean_under_valgrind profiling_is_clean_under_valgrind
check analytics_is_clean_under_valgrind analytics_is_clean_under_valgrind

finish

#!/usr/bin/env bash
# run-tests.sh -- run every test suite, then print the total.
#
# Each suite ends with its own "N passed, N failed" line; a suite that dies
# before printing one counts as one failure.  Logs: build/test-logs/.
# Called by `make test` once everything is built.
set -u
cd "$(dirname "$0")/.." || exit 1

export DAGLIB_SOURCE_DIR=$PWD
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# Tests that start threads or read files written concurrently: TSan's share.
TSAN_TOPICS="scheduler_ failure_ kinds_ profiling_ profile_reader_ vtab_"

mkdir -p build/test-logs
total_passed=0
total_failed=0
summary=()

run_suite() { # run_suite NAME COMMAND...
    local name=$1
    shift
    local log=build/test-logs/$name.log
    echo "== $name: $*"
    "$@" 2>&1 | tee "$log"
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "!! $name ended without a result line: counted as one failure"
        line="0 passed, 1 failed"
    fi
    local passed=${line%% passed*}
    local failed=${line#*, }
    failed=${failed%% failed*}
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summary+=("$(printf '%-12s %s' "$name" "$line")")
}

run_suite unit build/tests/run
run_suite asan+ubsan build/asan/tests/run
# shellcheck disable=SC2086
run_suite tsan build/tsan/tests/run $TSAN_TOPICS
for suite in tests/suites/*.sh; do
    [ -e "$suite" ] || continue
    name=$(basename "$suite" .sh)
    run_suite "$name" "$suite"
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]

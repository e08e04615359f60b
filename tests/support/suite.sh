#!/usr/bin/env bash
# suite.sh -- what every tests/suites/*.sh shares; sourced, never run.
#
#   check NAME COMMAND...   one test: passes when COMMAND succeeds
#   give_up MESSAGE         the suite cannot run at all: one failure
#   finish                  the closing "N passed, N failed" line and status
#   VALGRIND_CLEAN          valgrind's options for "no error, no leak"
#
# scripts/run-tests.sh reads each suite's closing line.

passed=0
failed=0

check() {
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok $((passed + failed)) $name"
    else
        failed=$((failed + 1))
        echo "not ok $((passed + failed)) $name"
    fi
}

give_up() {
    echo "$1"
    echo "0 passed, 1 failed"
    exit 1
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# shellcheck disable=SC2034,SC2054 # used by the suites; commas are valgrind's
VALGRIND_CLEAN=(valgrind --quiet --leak-check=full
    --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99)

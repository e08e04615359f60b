#!/usr/bin/env bash
# chapters.sh -- the example program of each chapter of the original
# documentation prints exactly the results that chapter shows
# (tests/expected/chapters/<program>.out), writes no file (profiling is
# off in all of them), and leaks nothing under valgrind; the visualizing
# chapter's DOT renders with Graphviz, and labels its nodes with the
# runtimes of a profiled run when asked.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/support/suite.sh
. tests/support/suite.sh

root=$PWD
expected=$root/tests/expected/chapters
programs="getting_started task_types testing retries assets larger_projects visualizing"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run_in PROGRAM ARGS...: run examples/PROGRAM from a working directory of
# its own, with a metadata root of its own, so that nothing it might write
# lands in the repository.
run_in() {
    local program=$1
    shift
    [ -x "$root/examples/$program" ] ||
        { echo "examples/$program is missing: run make examples"; return 1; }
    mkdir -p "$work/cwd-$program"
    (cd "$work/cwd-$program" &&
        DAGLIB_META_DIR="$work/meta-$program" "$root/examples/$program" "$@")
}

prints_the_chapter_results() { # PROGRAM
    run_in "$1" >"$work/$1.out" || { echo "examples/$1 failed"; return 1; }
    diff -u "$expected/$1.out" "$work/$1.out"
}

writes_no_file() { # PROGRAM: run before, by prints_the_chapter_results
    local left
    left=$(find "$work/cwd-$1" "$work/meta-$1" -mindepth 1 2>/dev/null)
    [ -z "$left" ] || { echo "examples/$1 wrote: $left"; return 1; }
}

valgrind_clean() { # valgrind_clean PROGRAM ARGS...: no error, no leak
    [ -x "examples/$1" ] || { echo "examples/$1 is missing"; return 1; }
    DAGLIB_META_DIR="$work/meta-valgrind" \
        "${VALGRIND_CLEAN[@]}" \
        "examples/$1" "${@:2}" >"$work/valgrind.out" 2>"$work/valgrind.err"
    local status=$?
    [ $status -eq 0 ] || { cat "$work/valgrind.err"; return 1; }
}

is_clean_under_valgrind() { # PROGRAM
    valgrind_clean "$1" || return 1
    # Under valgrind's scheduling too, the same results.
    diff -u "$expected/$1.out" "$work/valgrind.out"
}

# The first drawing the program prints: the whole DAG.
whole_drawing() {
    run_in visualizing | sed -n '/^digraph/,/^}/p' | sed '/^}/q'
}

visualizing_renders_with_graphviz() {
    local dot_text
    dot_text=$(whole_drawing) || return 1
    echo "$dot_text" | dot -Tsvg >"$work/graph.svg" || return 1
    grep -q '<svg' "$work/graph.svg" || { echo "no <svg> element"; return 1; }
    local name
    for name in "add_two 0" "add_two 2" "multiply_by_3 1" "sum_all" "report"; do
        grep -q ">$name<" "$work/graph.svg" ||
            { echo "the SVG lacks a node labelled $name"; return 1; }
    done
}

visualizing_writes_graph_svg_when_asked() {
    rm -rf "$work/cwd-visualizing"
    run_in visualizing --svg >/dev/null || return 1
    grep -q '<svg' "$work/cwd-visualizing/graph.svg" ||
        { echo "no graph.svg with an <svg> element"; return 1; }
    grep -q '>sum_all<' "$work/cwd-visualizing/graph.svg"
}

# --runtimes: a profiled run, then every node labelled with its runtime in
# that run, read back from the run's file.
visualizing_labels_nodes_with_a_runs_runtimes() {
    local meta=$work/meta-runtimes out
    out=$(cd "$work" && DAGLIB_META_DIR="$meta" "$root/examples/visualizing" --runtimes) ||
        return 1
    [ "$(head -n 1 <<<"$out")" = "result: 36" ] || { echo "$out"; return 1; }
    local labelled
    labelled=$(grep -cE '\[label="[a-z_0-9 ]+\\n[0-9.]+ (ns|µs|ms|s)"' <<<"$out")
    [ "$labelled" -eq 8 ] || { echo "$labelled of 8 nodes labelled:"; echo "$out"; return 1; }
    local files
    files=$(find "$meta/profiling/visualizing" -name 'run_*.avro' | wc -l)
    [ "$files" -eq 1 ] || { echo "$files profiling files"; return 1; }
}

visualizing_with_runtimes_is_clean_under_valgrind() {
    valgrind_clean visualizing --runtimes
}

visualizing_refuses_unknown_arguments() {
    run_in visualizing --bogus >/dev/null 2>"$work/usage.err"
    [ $? -eq 2 ] && grep -q usage "$work/usage.err"
}

for program in $programs; do
    check "${program}_prints_the_chapter_results" prints_the_chapter_results "$program"
    check "${program}_writes_no_file" writes_no_file "$program"
done
for program in $programs; do
    check "${program}_is_clean_under_valgrind" is_clean_under_valgrind "$program"
done
check visualizing_renders_with_graphviz visualizing_renders_with_graphviz
check visualizing_writes_graph_svg_when_asked visualizing_writes_graph_svg_when_asked
check visualizing_labels_nodes_with_a_runs_runtimes visualizing_labels_nodes_with_a_runs_runtimes
check visualizing_with_runtimes_is_clean_under_valgrind visualizing_with_runtimes_is_clean_under_valgrind
check visualizing_refuses_unknown_arguments visualizing_refuses_unknown_arguments

finish

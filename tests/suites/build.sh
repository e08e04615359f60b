#!/usr/bin/env bash
# build.sh -- what the build hands out: the loadable extension exports
# its entry point and nothing else, never carries its own SQLite, and
# `make install` gives a header, libraries, the extension and a daglib.pc
# that a program builds and runs with, statically and dynamically; and
# neither library exports a name but daglib_*.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/support/suite.sh
. tests/support/suite.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

extension_exports_only_its_entry_point() {
    local exported
    exported=$(nm -D --defined-only daglib_sqlite.so | awk '$2 == "T" { print $3 }')
    [ "$exported" = "sqlite3_daglibsqlite_init" ] || { echo "exports: $exported"; return 1; }
}

extension_uses_the_hosts_sqlite() {
    ! readelf -d daglib_sqlite.so | grep -q 'NEEDED.*libsqlite3' || { echo "links libsqlite3"; return 1; }
    ! nm --defined-only daglib_sqlite.so | grep -q ' sqlite3_prepare' || { echo "has its own SQLite"; return 1; }
}

install_gives_what_pkg_config_names() {
    make --no-print-directory install PREFIX="$work/prefix" >"$work/install.log" 2>&1 ||
        { cat "$work/install.log"; return 1; }
    local f
    for f in include/daglib.h lib/libdaglib.a lib/libdaglib.so lib/libdaglib.so.0 \
        lib/daglib/daglib_sqlite.so lib/pkgconfig/daglib.pc; do
        [ -e "$work/prefix/$f" ] || { echo "missing $f"; return 1; }
    done
}

second_install_elsewhere_names_its_own_prefix() {
    make --no-print-directory install PREFIX="$work/other" >"$work/install2.log" 2>&1 ||
        { cat "$work/install2.log"; return 1; }
    grep -qx "prefix=$work/other" "$work/other/lib/pkgconfig/daglib.pc" ||
        { cat "$work/other/lib/pkgconfig/daglib.pc"; return 1; }
}

pc() { PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config "$@" daglib; }

installed_library_builds_the_page_example() {
    local flags
    flags=$(pc --cflags --libs) || return 1
    # shellcheck disable=SC2086 # pkg-config output is a list of words
    cc -std=c11 -Wall -Wextra -Werror -o "$work/dynamic" examples/profiling.c $flags \
        -Wl,-rpath,"$work/prefix/lib" || return 1
    [ "$(cd "$work" && ./dynamic)" = "[2, 4, 6]" ]
}

installed_static_library_links_with_its_private_deps() {
    local flags
    flags=$(pc --static --cflags --libs) || return 1
    flags=${flags/-ldaglib/-l:libdaglib.a}
    # shellcheck disable=SC2086
    cc -std=c11 -Wall -Wextra -Werror -o "$work/static" examples/profiling.c $flags || return 1
    ! readelf -d "$work/static" | grep -q 'NEEDED.*libdaglib' || return 1
    [ "$(cd "$work" && ./static)" = "[2, 4, 6]" ]
}

installed_sql_is_where_pkg_config_says() {
    local dir
    dir=$(pc --variable=sqldir) || return 1
    [ "$dir" = "$work/prefix/share/daglib/sql" ] || { echo "sqldir: $dir"; return 1; }
    cmp -s sql/views.sql "$dir/views.sql" || { echo "no views.sql in $dir"; return 1; }
    local out
    out=$(sqlite3 -cmd ".load $work/prefix/lib/daglib/daglib_sqlite" \
        -cmd ".read $dir/views.sql" :memory: 'SELECT count(*) FROM task_stats') ||
        return 1
    [ "$out" = 0 ] || { echo "task_stats: $out"; return 1; }
}

# Every C block of the README, as printed, built against the installed
# copy with nothing but pkg-config's flags and the project's warnings, and
# run: the page's example first, so that the MetaDB one has a run to read.
readme_c_examples_build_and_run_as_printed() {
    local dir=$work/readme n=0 flags
    mkdir -p "$dir"
    awk -v dir="$dir" '/^```c$/ { n++; f = dir "/example" n ".c"; next }
                       /^```/ { f = "" }
                       f != "" { print > f }' README.md
    flags=$(pc --cflags --libs) || return 1
    for src in "$dir"/example*.c; do
        n=$((n + 1))
        # shellcheck disable=SC2086 # pkg-config output is a list of words
        cc -std=c11 -Wall -Wextra -Werror -o "${src%.c}" "$src" $flags \
            -Wl,-rpath,"$work/prefix/lib" || { echo "in $src:"; cat -n "$src"; return 1; }
        (cd "$dir" && "${src%.c}") >"${src%.c}.out" || { echo "$src failed"; return 1; }
    done
    [ "$n" -ge 2 ] || { echo "$n C blocks in the README"; return 1; }
}

library_exports_only_daglib_names() {
    local bad
    bad=$(nm -g --defined-only build/libdaglib.a | awk 'NF == 3 && $3 !~ /^daglib_/ { print $3 }')
    [ -z "$bad" ] || { echo "libdaglib.a exports:" $bad; return 1; }
    bad=$(nm -D --defined-only build/libdaglib.so | awk 'NF == 3 && $3 !~ /^daglib_/ { print $3 }')
    [ -z "$bad" ] || { echo "libdaglib.so exports:" $bad; return 1; }
    [ "$(nm -g --defined-only build/libdaglib.a | grep -c ' T daglib_')" -ge 50 ] ||
        { echo "too few daglib_ functions in libdaglib.a"; return 1; }
}

# A program that defines, as its own, every name the library uses inside
# (error_set, arena_alloc, plan_compile, ...) links against the installed
# static library and runs a profiled DAG.
program_with_the_librarys_internal_names_links() {
    local names src=$work/own_names.c flags
    names=$(nm -g --defined-only build/libdaglib-internal.a |
        awk 'NF == 3 && $3 !~ /^daglib_/ && $3 !~ /^sqlite3_/ { print $3 }' | sort -u)
    [ "$(wc -l <<<"$names")" -ge 50 ] || { echo "only these internal names: $names"; return 1; }
    {
        echo '#include <daglib.h>'
        echo '#include <stdio.h>'
        for n in $names; do echo "int $n(void); int $n(void) { return 1; }"; done
        cat <<'EOF'
static void one(daglib_context *ctx, int argc, const daglib_value *const *argv)
{
    (void)argc, (void)argv;
    daglib_result_int(ctx, 1);
}

int main(void)
{
    daglib_dag *dag = daglib_dag_new("own_names", NULL, DAGLIB_PROFILE);
    daglib_task_set_final(daglib_task_add(dag, "one", NULL, one, NULL));
    daglib_value *result = NULL;
    int rc = daglib_run(dag, &result);
    if (rc == DAGLIB_OK)
        daglib_value_print(result, stdout);
    daglib_value_free(result);
    daglib_dag_free(dag);
    return rc;
}
EOF
    } >"$src"
    flags=$(pc --static --cflags --libs) || return 1
    flags=${flags/-ldaglib/-l:libdaglib.a}
    # shellcheck disable=SC2086
    cc -std=c11 -Wall -Wextra -Werror -o "$work/own_names" "$src" $flags || return 1
    [ "$(cd "$work" && ./own_names)" = 1 ]
}

installed_extension_loads_by_its_path() {
    local out
    out=$(sqlite3 -cmd ".load $work/prefix/lib/daglib/daglib_sqlite" :memory: \
        'SELECT daglib_version()') || return 1
    [ "$out" = "$(pc --modversion)" ] || { echo "version: $out"; return 1; }
}

check extension_exports_only_its_entry_point extension_exports_only_its_entry_point
check extension_uses_the_hosts_sqlite extension_uses_the_hosts_sqlite
check install_gives_what_pkg_config_names install_gives_what_pkg_config_names
check second_install_elsewhere_names_its_own_prefix second_install_elsewhere_names_its_own_prefix
check installed_library_builds_the_page_example installed_library_builds_the_page_example
check installed_static_library_links_with_its_private_deps installed_static_library_links_with_its_private_deps
check installed_extension_loads_by_its_path installed_extension_loads_by_its_path
check library_exports_only_daglib_names library_exports_only_daglib_names
check program_with_the_librarys_internal_names_links program_with_the_librarys_internal_names_links
check installed_sql_is_where_pkg_config_says installed_sql_is_where_pkg_config_says
check readme_c_examples_build_and_run_as_printed readme_c_examples_build_and_run_as_printed
finish

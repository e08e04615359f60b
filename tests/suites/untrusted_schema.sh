#!/usr/bin/env bash
# untrusted_schema.sh -- a database file someone hands you can never make
# daglib touch the filesystem or move the metadata root, on every SQLite
# the extension accepts; and a load that fails leaves nothing behind.
#
# Run against the system's SQLite and against amalgamations of the
# oldest, a middle and the newest SQLite that npm's better-sqlite3
# packages bundle (fetched once into build/sqlite-versions/, checked
# against the sha256 below, compiled once; the registry must be
# reachable, or the suite fails).  tests/support/sqlite_driver.c stands
# in for the shell, which amalgamations lack.
#
# The matrix: for each SQLite, each kind of schema object of
# tests/support/hostile_schema.py (CHECK, DEFAULT, generated columns,
# index expressions, partial indexes, views, triggers, a profiling()
# argument) and each call (daglib_drop of another directory, of the
# connection's root, daglib_meta_dir of another directory), a hostile
# file is used in the natural ways (INSERT, UPDATE, SELECT, REINDEX,
# VACUUM, DELETE) with PRAGMA trusted_schema on and off, the file opened
# after the extension was loaded, before it (schema already read), and
# attached.  Each time the other directory and the root must be intact
# and the root unchanged.  A control run shows that the harness sees a
# drop when the connection's owner asks for one.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/support/suite.sh
. tests/support/suite.sh

root=$PWD
python=/usr/bin/python3
cache=$root/build/sqlite-versions
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# SQLite version, the better-sqlite3 package that bundles it, its sha256.
versions=(
    "3.31.1 7.0.0 47e9b65aa697626114d7e2f0d8a1e9423a41fcf16ee07dbf742195109dd5cf87"
    "3.43.2 9.0.0 951f7f9bf66112eace3f69e0ed437ce0ea3b2fd90b02f362777c4d7dcc0ec81a"
    "3.54.1 13.2.0 40487589df3496f2ee0079d22b73c63fccebe7db0e8ee9a2c42421861e321e0b"
)
registry=https://registry.npmjs.org/better-sqlite3/-/better-sqlite3

# Fetch and compile one amalgamation into $cache/VERSION/sqlite3.o.
build_sqlite() { # build_sqlite VERSION PACKAGE SHA256
    local version=$1 package=$2 sha=$3 dir=$cache/$1
    [ -f "$dir/sqlite3.o" ] && return 0
    mkdir -p "$dir"
    local tgz=$dir/better-sqlite3-$package.tgz
    if ! curl -fsSL --retry 2 -o "$tgz.part" "$registry-$package.tgz"; then
        echo "cannot fetch better-sqlite3 $package (SQLite $version) from the npm registry"
        return 1
    fi
    if ! echo "$sha  $tgz.part" | sha256sum -c --quiet -; then
        echo "better-sqlite3-$package.tgz does not have the expected sha256"
        return 1
    fi
    mv "$tgz.part" "$tgz"
    local src=$dir/src
    rm -rf "$src" && mkdir -p "$src"
    tar -xzf "$tgz" -C "$src" || return 1
    # Newer packages carry the amalgamation, older ones a tarball of it.
    if [ -f "$src/package/deps/sqlite3.tar.gz" ]; then
        tar -xzf "$src/package/deps/sqlite3.tar.gz" -C "$src" || return 1
    fi
    local c
    c=$(find "$src" -name sqlite3.c | head -n 1)
    [ -n "$c" ] || { echo "no sqlite3.c in better-sqlite3 $package"; return 1; }
    grep -q "#define SQLITE_VERSION  *\"$version\"" "$(dirname "$c")/sqlite3.h" ||
        { echo "better-sqlite3 $package does not bundle SQLite $version"; return 1; }
    cp "$c" "$(dirname "$c")/sqlite3.h" "$dir/" || return 1
    rm -rf "$src"
    cc -O1 -w -DSQLITE_THREADSAFE=1 -DSQLITE_ENABLE_STAT4 -c "$dir/sqlite3.c" \
        -o "$dir/sqlite3.o.part" && mv "$dir/sqlite3.o.part" "$dir/sqlite3.o"
}

# ---- set-up ---------------------------------------------------------------

[ -e daglib_sqlite.so ] || give_up "./daglib_sqlite.so is missing: run make"
[ -x examples/profiling ] || give_up "examples/profiling is missing: run make"
command -v curl >/dev/null || give_up "curl is missing: apt-get install curl ca-certificates"

pids=()
for v in "${versions[@]}"; do
    # shellcheck disable=SC2086
    build_sqlite $v >"$work/build-${v%% *}.log" 2>&1 &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        cat "$work/build-${versions[$i]%% *}.log"
        give_up "cannot build SQLite ${versions[$i]%% *} (above)"
    fi
done

# One driver per SQLite: the system's, then each amalgamation.
mkdir -p "$work/drivers"
drivers=()
cc -std=c11 -Wall -Wextra -Werror -o "$work/drivers/system" \
    tests/support/sqlite_driver.c -lsqlite3 ||
    give_up "cannot build tests/support/sqlite_driver.c"
drivers+=("$work/drivers/system")
for v in "${versions[@]}"; do
    version=${v%% *}
    cc -std=c11 -Wall -Wextra -Werror -I"$cache/$version" \
        -o "$work/drivers/$version" tests/support/sqlite_driver.c \
        "$cache/$version/sqlite3.o" -lpthread -ldl -lm ||
        give_up "cannot build the driver for SQLite $version"
    drivers+=("$work/drivers/$version")
done

# A metadata root with one run in it (2 records), kept as a pristine copy.
mkdir -p "$work/fixture"
(cd "$work/fixture" && env -u DAGLIB_META_DIR "$root/examples/profiling" >/dev/null) ||
    give_up "examples/profiling failed"

run=$work/run       # the working directory: its meta is the default root
victim=$work/victim # a directory the hostile files name

fresh_dirs() {
    rm -rf "$run" "$victim"
    mkdir -p "$run" "$victim/keep/deeper"
    cp -R "$work/fixture/meta" "$run/meta"
    echo precious >"$victim/keep/deeper/file"
    echo precious >"$victim/file"
}
entries() { find "$1" | wc -l; }
victim_entries=5 # the directory, keep, keep/deeper and two files
root_entries=4   # meta, profiling, the DAG's directory, the run's file

# The hostile files, written once: one per kind and call.
calls=("daglib_drop('$victim')" "daglib_drop()" "daglib_meta_dir('$victim')")
kinds=$("$python" -c 'import sys; sys.path.insert(0, "tests/support")
import hostile_schema; print(" ".join(hostile_schema.KINDS))') ||
    give_up "cannot read tests/support/hostile_schema.py"
mkdir -p "$work/hostile"
for kind in $kinds; do
    for i in "${!calls[@]}"; do
        "$python" tests/support/hostile_schema.py "$work/hostile/$kind-$i.db" \
            "$kind" "${calls[$i]}" || give_up "cannot write a $kind schema"
    done
done

# ---- the attacks ----------------------------------------------------------

# attack DRIVER DB ORDER TRUST: open the file the ORDER way, use it with
# trusted_schema TRUST; passes when nothing outside SQLite changed.
attack() {
    local driver=$1 db=$2 order=$3 trust=$4
    fresh_dirs
    cp "$db" "$run/x.db"
    local ext=$root/daglib_sqlite p="" open=x.db
    local before=(.load "$ext" "PRAGMA trusted_schema=$trust")
    case $order in
    schema-first) before=("PRAGMA trusted_schema=$trust"
                          "SELECT count(*) FROM sqlite_master" .load "$ext") ;;
    attached) open=:memory: p=h.
              before+=("ATTACH 'x.db' AS h") ;;
    esac
    local vacuum=VACUUM
    [ "$order" = attached ] && vacuum="VACUUM h"
    local out
    out=$(cd "$run" && env -u DAGLIB_META_DIR "$driver" "$open" "${before[@]}" \
        "INSERT INTO ${p}t(x) VALUES (1)" "UPDATE ${p}t SET x = 2" \
        "SELECT * FROM ${p}t" "SELECT * FROM ${p}v" "REINDEX" "$vacuum" \
        "INSERT INTO ${p}t(x) VALUES (3)" "SELECT * FROM ${p}t" \
        "DELETE FROM ${p}t" \
        "SELECT 'root=' || daglib_meta_dir()" 2>&1)
    local status=$? problems=""
    [ $status -eq 0 ] || problems+=" the driver exited with $status;"
    [ "$(entries "$victim")" -eq $victim_entries ] || problems+=" the other directory changed;"
    [ "$(entries "$run/meta")" -eq $root_entries ] || problems+=" the root changed;"
    grep -qxF "root=$run/meta" <<<"$out" || problems+=" the root moved;"
    grep -qxF "closed: 0" <<<"$out" || problems+=" the connection did not close;"
    if [ -n "$problems" ]; then
        echo "   $order, trusted_schema=$trust:$problems"
        printf '     | %s\n' "${out//$'\n'/$'\n'     | }"
        return 1
    fi
}

attack_all_ways() { # attack_all_ways DRIVER DB
    local order trust ok=0
    for order in extension-first schema-first attached; do
        for trust in ON OFF; do
            attack "$1" "$2" "$order" "$trust" || ok=1
        done
    done
    return $ok
}

# The control: the owner's own call does reach the other directory.
owner_drop_is_seen() { # owner_drop_is_seen DRIVER
    fresh_dirs
    (cd "$run" && "$1" :memory: .load "$root/daglib_sqlite" \
        "SELECT daglib_drop('$victim')" >/dev/null) || return 1
    [ "$(entries "$victim")" -eq 1 ]
}

# A stored view of profiling still reads with trusted_schema on (what
# the README tells BI users), and SQLite keeps it out with it off.
stored_view_reads() { # stored_view_reads DRIVER
    fresh_dirs
    rm -f "$run/p.db"
    "$python" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE VIEW p AS SELECT * FROM profiling")
db.execute("CREATE VIEW q AS SELECT * FROM profiling(%r)" % sys.argv[2])
db.commit()' "$run/p.db" "$run/meta" || return 1
    local out expected
    out=$(cd "$run" && env -u DAGLIB_META_DIR "$1" p.db .load "$root/daglib_sqlite" \
        "SELECT count(*) FROM p" "SELECT count(*) FROM q" \
        "PRAGMA trusted_schema=OFF" "SELECT count(*) FROM p" 2>&1)
    expected=$'2\n2\nerror: unsafe use of virtual table "profiling"\nclosed: 0'
    [ "$out" = "$expected" ] || { printf '   got:\n%s\n' "$out"; return 1; }
}

# ---- a failed load leaves nothing behind ----------------------------------

# Issue 7's reproduction: an active statement, a function named
# daglib_drop, then SELECT load_extension(...): the load fails cleanly,
# and the connection works and closes.
refused_load_leaves_nothing() { # refused_load_leaves_nothing DRIVER [WRAPPER...]
    local driver=$1
    shift
    fresh_dirs
    local out expected
    out=$(cd "$run" && "$@" "$driver" :memory: .stub daglib_drop 0 \
        .hold "SELECT 1 UNION ALL SELECT 2" \
        "SELECT load_extension('$root/daglib_sqlite')" .release \
        "SELECT 42" "SELECT count(*) FROM profiling" \
        "SELECT daglib_meta_dir()" "SELECT daglib_version()" 2>&1) || return 1
    expected="error: error during initialization: daglib_sqlite: cannot register while a statement runs: a function named daglib_drop, daglib_meta_dir or daglib_version exists already (load the extension with sqlite3_load_extension() or the shell's .load, with no statement running)
42
error: no such table: profiling
error: no such function: daglib_meta_dir
error: no such function: daglib_version
closed: 0"
    [ "$out" = "$expected" ] || { printf '   got:\n%s\n' "$out"; return 1; }
}

# Loading twice from SQL: the second load is refused, the first stays.
second_sql_load_keeps_the_first() { # second_sql_load_keeps_the_first DRIVER [WRAPPER...]
    local driver=$1
    shift
    fresh_dirs
    local out
    out=$(cd "$run" && env -u DAGLIB_META_DIR "$@" "$driver" :memory: \
        "SELECT load_extension('$root/daglib_sqlite')" \
        "SELECT load_extension('$root/daglib_sqlite')" \
        "SELECT count(*) FROM profiling" "SELECT daglib_version() IS NOT NULL" 2>&1) ||
        return 1
    local expected
    expected="
error: error during initialization: daglib_sqlite: cannot register while a statement runs: a function named daglib_drop, daglib_meta_dir or daglib_version exists already (load the extension with sqlite3_load_extension() or the shell's .load, with no statement running)
2
1
closed: 0"
    [ "$out" = "$expected" ] || { printf '   got:\n%s\n' "$out"; return 1; }
}

# SELECT load_extension(...) failing at each of its last allocations, the
# extension's registration steps among them, with a statement running:
# SQLite then refuses to remove what was registered before the failure,
# so the library must stay loaded, and the connection work and close.
late_allocation_failures_never_crash() { # ... DRIVER
    local driver=$1 load="SELECT load_extension('$root/daglib_sqlite')"
    fresh_dirs
    local lo=1 hi=100000 mid n out
    while [ $lo -lt $hi ]; do # the number of allocations the load makes
        mid=$(((lo + hi) / 2))
        out=$(cd "$run" && "$driver" :memory: .hold "SELECT 1 UNION ALL SELECT 2" \
            .fail-allocation $mid "$load" 2>&1) || return 1
        if grep -qx "allocation failed" <<<"$out"; then
            lo=$((mid + 1))
        else
            hi=$mid
        fi
    done
    [ $lo -gt 30 ] || { echo "   the load makes only $lo allocations"; return 1; }
    for n in $(seq $((lo - 30)) $((lo - 1))); do
        out=$(cd "$run" && "$driver" :memory: .hold "SELECT 1 UNION ALL SELECT 2" \
            .fail-allocation "$n" "$load" .release "SELECT 6 * 7" \
            "SELECT count(*) FROM profiling" "SELECT daglib_drop('$victim/none')" 2>&1)
        local status=$?
        if [ $status -ne 0 ] || ! grep -qx 42 <<<"$out" ||
            ! grep -qxF "closed: 0" <<<"$out"; then
            printf '   allocation %s of %s, exit status %s:\n%s\n' "$n" "$lo" "$status" "$out"
            return 1
        fi
    done
}

# ---- the checks -------------------------------------------------------------

for driver in "${drivers[@]}"; do
    label=$(basename "$driver")
    version=$("$driver" :memory: "SELECT sqlite_version()" | head -n 1)
    [ "$label" = system ] && label="system-$version"
    check "sqlite_${label}_is_$version" test -n "$version"
    check "sqlite_${label}_control_owner_drop_reaches_the_directory" \
        owner_drop_is_seen "$driver"
    for kind in $kinds; do
        for i in "${!calls[@]}"; do
            name=${calls[$i]%%(*}
            [ "${calls[$i]}" = "daglib_drop()" ] && name=daglib_drop_of_the_root
            check "sqlite_${label}_${kind}_cannot_call_$name" \
                attack_all_ways "$driver" "$work/hostile/$kind-$i.db"
        done
    done
    check "sqlite_${label}_stored_view_of_profiling_reads_when_trusted" \
        stored_view_reads "$driver"
    check "sqlite_${label}_refused_load_leaves_nothing" \
        refused_load_leaves_nothing "$driver"
    check "sqlite_${label}_second_sql_load_keeps_the_first" \
        second_sql_load_keeps_the_first "$driver"
    check "sqlite_${label}_load_failing_at_any_late_allocation_never_crashes" \
        late_allocation_failures_never_crash "$driver"
done
check "system_refused_load_leaves_nothing_under_valgrind" \
    refused_load_leaves_nothing "$work/drivers/system" "${VALGRIND_CLEAN[@]}"
check "system_second_sql_load_keeps_the_first_under_valgrind" \
    second_sql_load_keeps_the_first "$work/drivers/system" "${VALGRIND_CLEAN[@]}"
finish

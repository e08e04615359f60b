#!/bin/sh
# deps.sh PROFILE -- make sure the Debian packages PROFILE needs are present.
#
# PROFILE is build, test or bench.  Missing packages are installed when
# running as root; otherwise the script stops at once and prints the exact
# command to run.
set -eu

profile=${1:-build}

missing=""
need() { # need PACKAGE TEST-COMMAND...
    pkg=$1
    shift
    if ! "$@" >/dev/null 2>&1; then
        missing="$missing $pkg"
    fi
}
# shellcheck disable=SC2317 # called through need()
have_file() { test -e "$1"; }
# shellcheck disable=SC2317
have_cmd() { command -v "$1"; }

need make have_cmd make
need gcc have_cmd gcc
need libavro-dev have_file /usr/include/avro.h
need libsqlite3-dev have_file /usr/include/sqlite3.h
need sqlite3 have_cmd sqlite3
need zlib1g-dev have_file /usr/include/zlib.h
need libsnappy-dev have_file /usr/include/snappy-c.h
need libdeflate-dev have_file /usr/include/libdeflate.h
need libjansson-dev have_file /usr/include/jansson.h

if [ "$profile" = test ] || [ "$profile" = bench ]; then
    need clang have_cmd clang
    need libclang-rt-14-dev sh -c 'ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.tsan-*.a'
    need valgrind have_cmd valgrind
    need python3-avro /usr/bin/python3 -c 'import avro.datafile'
    need python3-pandas /usr/bin/python3 -c 'import pandas'
    need unixodbc have_cmd isql
    need unixodbc-dev have_file /usr/include/sql.h
    need libsqliteodbc sh -c 'ls /usr/lib/*/odbc/libsqlite3odbc.so'
    need graphviz have_cmd dot
    need avro-bin have_cmd avrocat
    need locales have_file /usr/share/i18n/locales/de_DE
    need pkg-config have_cmd pkg-config
    # tests/suites/untrusted_schema.sh fetches other SQLite versions from npm.
    need curl have_cmd curl
    need ca-certificates have_file /etc/ssl/certs/ca-certificates.crt
fi
if [ "$profile" = bench ]; then
    need g++ have_cmd g++
    need libtbb-dev have_file /usr/include/tbb/flow_graph.h
fi

[ -z "$missing" ] && exit 0

command="apt-get update && apt-get install -y$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing missing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -q $missing >/dev/null
    exit 0
fi
echo "Missing Debian packages:$missing" >&2
echo "Install them with:" >&2
echo "    sudo sh -c '$command'" >&2
exit 1

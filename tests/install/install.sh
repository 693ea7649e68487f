#!/bin/sh
# SPDX-License-Identifier: MIT
# install.sh BUILD_DIR SOURCE_DIR [subdir] - use libipcmark as a program outside the tree
# would. Installs BUILD_DIR into a scratch prefix, then builds tests/install/consumer (a C
# program and a C++ one) with pkg-config (shared, static), with `-lipcmark` alone, and
# with find_package (shared, static, then again after the prefix moved: also `ipcmark
# plot` from there, which must find its plot.gp), and runs each:
# it must print the expected line and nothing on stderr (no setup asked of the program).
# With "subdir": the same programs through add_subdirectory(SOURCE_DIR) instead.
# IPCM_SANITIZE (a sanitizer build): the consumers are built with the same -fsanitize.
set -eu
san=${IPCM_SANITIZE:+-fsanitize=$IPCM_SANITIZE}
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
mode=${3:-install}
here=$src/tests/install/consumer
tmp=$(mktemp -d /tmp/ipcm-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "install.sh: $*" >&2
    exit 1
}
want_c="C pipe ipcmark 0.1.0: 100 messages, sum 4950"
want_cpp="C++ pipe ipcmark 0.1.0: 0 1 4 9 16 25 36 49 64 81"
# run WANT PROGRAM...: stdout is exactly WANT, stderr is empty, exit 0.
run() {
    want=$1
    shift
    "$@" >"$tmp/out" 2>"$tmp/err" || fail "$* exited $? ($(cat "$tmp/err"))"
    [ "$(cat "$tmp/out")" = "$want" ] || fail "$*: printed '$(cat "$tmp/out")', want '$want'"
    [ ! -s "$tmp/err" ] || fail "$*: wrote to stderr unasked: $(head -3 "$tmp/err")"
    echo "ok: $want"
}
cmake_consumer() { # cmake_consumer DIR ARGS...: configure and build the consumer project
    dir=$1
    shift
    cmake -S "$here" -B "$dir" -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" "$@" \
        >"$tmp/cmake.log" 2>&1 &&
        cmake --build "$dir" -j2 --target consumer_c consumer_cpp consumer_static \
            >>"$tmp/cmake.log" 2>&1 || {
        tail -30 "$tmp/cmake.log" >&2
        fail "the consumer project did not build ($*)"
    }
}

if [ "$mode" = subdir ]; then
    cmake_consumer "$tmp/sub" -DIPCMARK_SOURCE_DIR="$src"
    run "$want_c" "$tmp/sub/consumer_c"
    run "$want_cpp" "$tmp/sub/consumer_cpp"
    run "$want_c" "$tmp/sub/consumer_static"
    exit 0
fi

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
libdir=$(dirname "$(find "$prefix" -name ipcmark.pc)")/..
libdir=$(cd "$libdir" && pwd)
export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --modversion ipcmark)" = 0.1.0 ] || fail "pkg-config --modversion ipcmark"
cflags=$(pkg-config --cflags ipcmark)
libs=$(pkg-config --libs ipcmark)
echo "pkg-config --cflags --libs ipcmark: $cflags $libs"
cc $san -Wall -Werror $cflags "$here/consumer.c" $libs -o "$tmp/c_pc"
c++ $san -Wall -Werror $cflags "$here/consumer.cpp" $libs -o "$tmp/cpp_pc"
# The link trap of old: -lipcmark alone, no libbsd, no libbsd-ctor, no -pthread.
cc $san -I"$prefix/include" "$here/consumer.c" -L"$libdir" -lipcmark -o "$tmp/c_alone"
# Static: the archive with what `pkg-config --static` adds; no libipcmark.so needed.
static_libs=$(pkg-config --static --libs ipcmark | sed 's/-lipcmark//')
cc $san $cflags "$here/consumer.c" -Wl,-Bstatic -lipcmark -Wl,-Bdynamic $static_libs \
    -L"$libdir" -o "$tmp/c_static"
! readelf -d "$tmp/c_static" | grep -q 'libipcmark' || fail "c_static needs libipcmark.so"
export LD_LIBRARY_PATH="$libdir"
run "$want_c" "$tmp/c_pc"
run "$want_cpp" "$tmp/cpp_pc"
run "$want_c" "$tmp/c_alone"
run "$want_c" "$tmp/c_static"
unset LD_LIBRARY_PATH

# `man ipcmark` and `man libipcmark` work from the prefix (ipcmark(1) needs help2man).
for page in libipcmark $( [ -f "$build/man/ipcmark.1" ] && echo ipcmark); do
    MANWIDTH=80 man -M "$prefix/share/man" "$page" 2>/dev/null | grep -qi "^NAME" ||
        fail "man -M $prefix/share/man $page: no page"
    echo "ok: man $page"
done

# The installed JSON Schema validates what the installed binary writes.
[ -f "$prefix/share/ipcmark/ipcmark-results-1.schema.json" ] || fail "the results schema is not installed"
if python3 -c 'import jsonschema' 2>/dev/null; then
    "$prefix/bin/ipcmark" bench -b pipe --messages 200 --repeat 2 --warmup 0 --json - \
        >"$tmp/run.json" 2>/dev/null || fail "the installed ipcmark bench failed"
    python3 "$src/tests/schema/validate.py" "$prefix/share/ipcmark/ipcmark-results-1.schema.json" \
        "$tmp/run.json" >/dev/null || fail "a result of the installed binary breaks the installed schema"
    echo "ok: the installed schema validates the installed binary's result"
fi

# The installed shared library exports the public API and nothing else.
sh "$src/tests/layering/exports.sh" "$(readlink -f "$libdir/libipcmark.so")" \
    "$src/harness/lib/ipcmark.h" "$src/backends/include/ipcmark_types.h" \
    "$src/backends/include/ipcmark_backend.h"

# find_package, from where the prefix was installed and from where it was moved.
for p in "$prefix" "$tmp/moved"; do
    if [ "$p" != "$prefix" ]; then
        mv "$prefix" "$p"
        rm -rf "$tmp/cm"
    fi
    cmake_consumer "$tmp/cm" -DCMAKE_PREFIX_PATH="$p"
    run "$want_c" "$tmp/cm/consumer_c"
    run "$want_cpp" "$tmp/cm/consumer_cpp"
    run "$want_c" "$tmp/cm/consumer_static"
    # The installed binary finds its plot.gp relative to itself, wherever the prefix is.
    if command -v gnuplot >/dev/null; then
        rm -rf "$tmp/plots"
        env -u IPCMARK_PLOT_GP "$p/bin/ipcmark" plot "$src/tests/data/synthetic_base.json" \
            -o "$tmp/plots" >"$tmp/plot.log" 2>&1 || fail "$p/bin/ipcmark plot: $(cat "$tmp/plot.log")"
        ls "$tmp/plots"/*.svg >/dev/null 2>&1 || fail "$p/bin/ipcmark plot drew nothing"
        echo "ok: $p/bin/ipcmark plot drew $(ls "$tmp/plots"/*.svg | wc -l) SVG plots"
        # and only that one: without it, exit 3 naming where it looked (not the source tree).
        mv "$p/share/ipcmark/plot.gp" "$tmp/plot.gp"
        st=0
        env -u IPCMARK_PLOT_GP "$p/bin/ipcmark" plot "$src/tests/data/synthetic_base.json" \
            -o "$tmp/plots" >"$tmp/plot.log" 2>&1 || st=$?
        [ $st -eq 3 ] && grep -q "plot.gp not found (looked at $p/bin/../share/ipcmark/plot.gp" \
            "$tmp/plot.log" || fail "no plot.gp: exit $st, $(cat "$tmp/plot.log")"
        mv "$tmp/plot.gp" "$p/share/ipcmark/plot.gp"
    else
        echo "note: gnuplot is not installed; the moved binary's plot.gp lookup is untested"
    fi
done

#!/bin/sh
# SPDX-License-Identifier: MIT
# check.sh - run the four tutorial programs of examples/ and compare their output line by
# line with what the Python originals print (docs/from-python.md).
#   check.sh run BINDIR EXAMPLE BACKEND   one program on one backend
#   check.sh usage BINDIR                 bad input: exit 2 and one line on stderr
#   check.sh installed BUILD SOURCE       install BUILD into a scratch prefix, build the
#                                         four there with pkg-config, run each as above
set -eu
tmp=$(mktemp -d /tmp/ipcm-examples.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "check.sh: $*" >&2
    exit 1
}
# expect WANT PROGRAM...: exit 0, stdout exactly WANT, nothing on stderr.
expect() {
    want=$1
    shift
    "$@" >"$tmp/out" 2>"$tmp/err" || fail "$* exited $? ($(head -3 "$tmp/err"))"
    [ ! -s "$tmp/err" ] || fail "$*: stderr: $(head -3 "$tmp/err")"
    printf '%s\n' "$want" >"$tmp/want"
    diff -u "$tmp/want" "$tmp/out" >&2 || fail "$*: printed something else (diff above)"
    echo "ok: $*"
}
# process_args NAME...: each child's hello (any order: they run at once) names the pid the
# parent reports for it; the parent's lines come in argument order; a --crash child is
# reported as killed by SIGABRT, exitcode -6, and the parent still exits 0.
process_args() {
    bin=$1
    shift
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err" || fail "process_args $* exited $?"
    [ ! -s "$tmp/err" ] || fail "process_args $*: stderr: $(head -3 "$tmp/err")"
    : >"$tmp/want"
    crash=0
    n=0
    for a in "$@"; do
        [ "$a" = --crash ] && { crash=1; continue; }
        n=$((n + 1))
        pid=$(sed -n "s/^Hello $a from pid \([0-9]*\)\$/\1/p" "$tmp/out")
        [ "$(echo "$pid" | wc -w)" = 1 ] || fail "process_args: 'Hello $a' printed $(echo $pid | wc -w) times"
        if [ $crash = 1 ]; then
            echo "$a (pid $pid): exitcode -6, killed by SIGABRT" >>"$tmp/want"
        else
            echo "$a (pid $pid): exitcode 0, exit 0" >>"$tmp/want"
        fi
        crash=0
    done
    [ "$(grep -c '^Hello ' "$tmp/out")" = $n ] || fail "process_args: not $n hellos"
    grep -v '^Hello ' "$tmp/out" | diff -u "$tmp/want" - >&2 || fail "process_args $*: the parent's report differs"
    echo "ok: process_args $*"
}
run() { # run BINDIR EXAMPLE BACKEND
    case $2 in
    process_args)
        process_args "$1/process_args" Bob Alice Eve
        process_args "$1/process_args" Ann --crash Eve Bob ;;
    pool_map)
        expect "['Hello Bob', 'Hello Alice', 'Hello Eve']" "$1/pool_map" -b "$3"
        expect "['Hello Zed', 'Hello Ann', 'Hello Al', 'Hello Bo', 'Hello Cy', 'Hello Di', 'Hello Ed']" \
            "$1/pool_map" -b "$3" Zed Ann Al Bo Cy Di Ed ;;
    queue) expect "$(printf "42\n'hello'\nPoint(x=3, y=4)")" "$1/queue" -b "$3" ;;
    pipe)
        expect "$(printf "['Sending something into the pipe !!!!!!!!']\nchild got: 'Thank you'")" \
            "$1/pipe" -b "$3" ;;
    exec_worker) # exec_worker_parent starts the separate program exec_worker (execve)
        expect "$(printf "worker says: 'hello' from the pid spawn returned\nsquares: 1 4 9 16 25 36 49 64 81 100")" \
            "$1/exec_worker_parent" -b "$3" "$1/exec_worker" ;;
    *) fail "no example $2" ;;
    esac
}
# bad PROGRAM...: exit 2, exactly one line on stderr, nothing on stdout.
bad() {
    st=0
    "$@" >"$tmp/out" 2>"$tmp/err" || st=$?
    [ $st = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -s "$tmp/out" ] ||
        fail "$*: exit $st, stderr '$(cat "$tmp/err")'"
    echo "ok: $* -> 2: $(cat "$tmp/err")"
}
case $1 in
run) run "$2" "$3" "$4" ;;
usage)
    for ex in pool_map queue pipe; do
        bad "$2/$ex" -b nosuch
        bad "$2/$ex" -x
        bad "$2/$ex" -b
    done
    bad "$2/queue" extra
    bad "$2/pipe" extra
    bad "$2/process_args" --crash
    bad "$2/process_args" -x ;;
installed)
    build=$(cd "$2" && pwd)
    src=$(cd "$3" && pwd)
    san=${IPCM_SANITIZE:+-fsanitize=$IPCM_SANITIZE}
    cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
    pc=$(dirname "$(find "$tmp/prefix" -name ipcmark.pc)")
    export PKG_CONFIG_PATH="$pc"
    mkdir "$tmp/bin"
    for ex in process_args pool_map queue pipe exec_worker exec_worker_parent; do
        # as an outside user builds: the installed header and library, nothing of the tree
        cc $san -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(pkg-config --cflags ipcmark) \
            "$src/examples/$ex.c" $(pkg-config --libs ipcmark) -o "$tmp/bin/$ex" ||
            fail "$ex.c did not build against the installed library"
    done
    export LD_LIBRARY_PATH="$pc/.."
    for ex in process_args pool_map queue pipe exec_worker; do
        run "$tmp/bin" $ex pipe
    done ;;
*) fail "usage: check.sh run|usage|installed ..." ;;
esac

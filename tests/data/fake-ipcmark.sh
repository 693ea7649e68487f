#!/bin/sh
# SPDX-License-Identifier: MIT
# fake-ipcmark.sh - stands in for a broken ipcmark build in the `ipcmark ab` CLI tests.
# FAKE_MODE=schema2: says it is ipcmark, but its bench writes results schema ipcmark-results/2.
# FAKE_MODE=crash: runs the real build ($FAKE_REAL) for the probes and the first
#   $FAKE_RUNS bench runs (counted in the file $FAKE_STATE), then dies of SIGSEGV.
# FAKE_MODE=argv: appends each bench command line to $FAKE_STATE, then runs the real build.
case "${FAKE_MODE:-}:${1:-}" in
schema2:--version) echo "ipcmark 9.0.0"; exit 0 ;;
schema2:bench) echo "      --json FILE       write the results (schema ipcmark-results/2)"; exit 0 ;;
crash:bench)
    case " $* " in *" --help "*) exec "$FAKE_REAL" "$@" ;; esac
    n=$(cat "$FAKE_STATE" 2>/dev/null || echo 0)
    echo $((n + 1)) >"$FAKE_STATE"
    if [ "$n" -ge "${FAKE_RUNS:-1}" ]; then
        kill -SEGV $$
    fi
    exec "$FAKE_REAL" "$@" ;;
argv:bench)
    echo "$*" >>"$FAKE_STATE"
    exec "$FAKE_REAL" "$@" ;;
*) exec "$FAKE_REAL" "$@" ;;
esac

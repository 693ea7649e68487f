#!/bin/sh
# SPDX-License-Identifier: MIT
# shm_plugin.sh IPCMARK PLUGIN BINDIR - the in-tree shm built as a plugin runs the quick
# conformance through the loader, as itself (a note says so); beside the built-in shm
# in one run it is refused (RULINGS 5).
set -u
ipcmark=$1 so=$2
out=$(mktemp "${TMPDIR:-/tmp}/ipcm-shmplug.XXXXXX") || exit 1
trap 'rm -f "$out" "$out.err"' EXIT
"$ipcmark" check --quick -b "$so" >"$out" 2>"$out.err"
rc=$?
cat "$out" "$out.err"
[ $rc = 0 ] || { echo "FAIL: check through the loader exited $rc"; exit 1; }
grep -q ' passed, 0 failed' "$out" || { echo "FAIL: no summary"; exit 1; }
grep -q "note: backend 'shm' is the plugin " "$out.err" || { echo "FAIL: no note"; exit 1; }
"$ipcmark" check -b "$so,shm" 2>"$out.err"
rc=$?
[ $rc = 2 ] && grep -q "both named 'shm'" "$out.err" ||
    { echo "FAIL: plugin beside built-in shm: rc $rc"; cat "$out.err"; exit 1; }
echo "shm plugin: ok"

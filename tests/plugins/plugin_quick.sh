#!/bin/sh
# SPDX-License-Identifier: MIT
# plugin_quick.sh IPCMARK NAME PLUGIN - an outside plugin (zmq, nng) runs the whole quick
# catalogue through the loader and exits 0: every case passes, or is n/a for a property
# the plugin does not declare (RULINGS 1). Skips (77) with the reason when the plugin was
# not built here (its library is absent). Afterwards no helper process of the plugin and
# no endpoint folder of it is left.
set -u
ipcmark=$1 name=$2 so=$3
if [ ! -f "$so" ]; then
    echo "SKIP: $name plugin not built ($so missing: not enabled at configure, or its library was not found)"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipcm-plugtest.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
TMPDIR=$tmp "$ipcmark" check --quick -b "$so" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ $rc = 0 ] || { echo "FAIL: check --quick -b $so exited $rc"; exit 1; }
grep -Eq ' passed, 0 failed, [0-9]+ n/a' "$tmp/out" || { echo "FAIL: no clean summary"; exit 1; }
# Every n/a says why; a disclaimed property says what was observed.
if grep -E '^  [a-z_.]+ \['"$name"'\]: *$' "$tmp/out"; then
    echo "FAIL: an n/a without a reason"; exit 1
fi
# Helpers outlive their last end by moments only: give them 5 s, then look.
i=0
while [ $i -lt 50 ] && ls -d "$tmp"/ipcm-"$name".* >/dev/null 2>&1; do
    sleep 0.1; i=$((i + 1))
done
if ls -d "$tmp"/ipcm-"$name".* 2>/dev/null; then
    echo "FAIL: endpoint folders left"; exit 1
fi
echo "$name plugin: ok"

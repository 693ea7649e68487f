#!/bin/sh
# SPDX-License-Identifier: MIT
# plugin_quick.sh IPCMARK NAME PLUGIN - an outside plugin (zmq, nng) runs the whole quick
# catalogue through the loader and exits 0: every case passes, or is n/a for a property
# the plugin does not declare (RULINGS 1), or (nng only, see below) leaked the
# descriptors of a copy of nng abandoned after its own close deadlock. Skips (77) with
# the reason when the plugin was not built here (its library is absent). Afterwards no
# helper process of the plugin and no endpoint folder of it is left.
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
# nng 1.5 can deadlock in nng_close (README, nanomsg/nng#1543). The plugin then abandons
# that process's copy of nng, says so on stderr, and the copy keeps its descriptors,
# which check's hygiene reports as a leak. Such FAILs, descriptor leaks and no more of
# them than the copies the plugin reported abandoning, are that library's; any other
# FAIL, or an unexplained leak, fails this test.
fails=$(grep -c '^  FAIL ' "$tmp/out")
if [ $rc = 1 ] && [ "$fails" -gt 0 ]; then
    leaks=$(grep -Ec '^  FAIL .*open descriptors [0-9]+ before, [0-9]+ after \(leak\)' "$tmp/out")
    stuck=$(grep -c '^nng plugin: nng_close did not return' "$tmp/out")
    if [ "$leaks" = "$fails" ] && [ "$stuck" -ge "$fails" ]; then
        echo "note: $fails FAIL(s), each a copy of nng abandoned after its close deadlocked"
        rc=0
    fi
fi
[ $rc = 0 ] || { echo "FAIL: check --quick -b $so exited $rc"; exit 1; }
grep -Eq ' passed, [0-9]+ failed, [0-9]+ n/a' "$tmp/out" || { echo "FAIL: no summary"; exit 1; }
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

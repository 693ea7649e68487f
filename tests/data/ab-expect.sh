#!/bin/sh
# SPDX-License-Identifier: MIT
# ab-expect.sh IPCMARK WANT PHRASE STATE ARGS... - run `IPCMARK ab ARGS -b pipe` and
# require exit status WANT, exactly one "ipcmark ab:" line on stderr matching PHRASE
# (a grep pattern, warnings aside), and no verdict on stdout. STATE is reset first.
ipcmark=$1 want=$2 phrase=$3 state=$4
shift 4
rm -f "$state"
out=$("$ipcmark" ab "$@" -b pipe --duration 0.02 2>&1 >"$state.stdout")
rc=$?
echo "exit $rc: $out"
lines=$(echo "$out" | grep -v 'warning:' | grep -c '^ipcmark ab:')
test "$rc" -eq "$want" || { echo "want exit $want"; exit 1; }
echo "$out" | grep -q -e "$phrase" || { echo "want '$phrase'"; exit 1; }
test "$lines" -eq 1 || { echo "want one line, got $lines"; exit 1; }
if grep -q '^result:' "$state.stdout"; then
    echo "a verdict was printed"
    exit 1
fi
rm -f "$state" "$state.stdout"

#!/bin/sh
# SPDX-License-Identifier: MIT
# qvp.sh SCRIPT IPCMARK - scripts/py-queue-vs-pipe runs: a Python row per size and an
# ipcmark row per backend and size, each with a ratio and its interval; bad input exits 2.
# Skipped (77) without python3. Asserts the table is complete, never a speed.
set -eu
command -v python3 >/dev/null || { echo "python3 is not installed: skipped"; exit 77; }
out=$(mktemp /tmp/ipcm-qvp.XXXXXX)
trap 'rm -f "$out"' EXIT
python3 "$1" --ipcmark "$2" --sizes 64,4K --messages 300 --repeat 1 --rounds 1 >"$out"
cat "$out"
ratio='[0-9.]*x  *[0-9.]*\.\.[0-9.]*'
[ "$(grep -c "^  *\(64\|4096\) .* $ratio" "$out")" = 2 ] || { echo "qvp.sh: no Python rows"; exit 1; }
n=$(grep -c "^[a-z]\{2,\}  *\(64\|4096\) .* $ratio" "$out")
nbe=$("$2" list | awk 'NR > 1 && /^$/ {exit} NR > 1' | wc -l) # the backends' table only
[ "$n" = $((2 * nbe)) ] || { echo "qvp.sh: $n ipcmark rows, want $((2 * nbe))"; exit 1; }
for bad in "--nosuch" "--sizes 4" "--repeat" "--rounds 0" "--ipcmark /nonexistent"; do
    st=0
    # shellcheck disable=SC2086
    python3 "$1" $bad >/dev/null 2>"$out" || st=$?
    [ $st = 2 ] && [ "$(wc -l <"$out")" = 1 ] || { echo "qvp.sh: $bad: exit $st"; exit 1; }
done
echo "ok"

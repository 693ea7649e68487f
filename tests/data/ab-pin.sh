#!/bin/sh
# SPDX-License-Identifier: MIT
# ab-pin.sh IPCMARK FAKE STATE - ab pins every bench run to the first CPU it may run on
# unless the user gives --pin, and then passes the user's --pin alone.
ipcmark=$1 fake=$2 state=$3
first=$(taskset -pc $$ | sed 's/.*: *//; s/[-,].*//')
run() { # run [--pin LIST]: the measured rounds' bench command lines, in $state
    rm -f "$state"
    FAKE_MODE=argv FAKE_REAL=$ipcmark FAKE_STATE=$state \
        "$ipcmark" ab --baseline "$fake" --budget 3 --max-rounds 8 -b pipe --mode throughput \
        --sizes 64 --duration 0.02 "$@" >/dev/null 2>&1
    grep -- '--json' "$state" || { echo "no bench run recorded"; exit 1; }
}
run
grep -- '--json' "$state" | grep -v -q -- "--pin $first " && { echo "want --pin $first"; exit 1; }
run --pin 0,1
grep -- '--json' "$state" | grep -v -q -- '--pin 0,1' && { echo "want the given --pin 0,1"; exit 1; }
test "$(grep -- '--json' "$state" | grep -o -- '--pin' | wc -l)" -eq "$(grep -c -- '--json' "$state")" ||
    { echo "want one --pin per run"; exit 1; }
rm -f "$state"
echo ok

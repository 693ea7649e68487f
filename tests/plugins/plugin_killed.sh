#!/bin/sh
# SPDX-License-Identifier: MIT
# plugin_killed.sh IPCMARK NAME PLUGIN - a `check` of an outside plugin (zmq, nng) that is
# ended mid-run leaves no endpoint folder and no process, in the two ways a user ends one:
#   runner: SIGTERM to the runner alone (its cases die with it, PR_SET_PDEATHSIG);
#   all:    SIGTERM to every process of the run, as `pkill -f "ipcmark check"` sends it.
#           The plugin's helpers are forks of the runner, so they match and are killed
#           too; each must remove its folder on the way out.
# Skips (77) with the reason when the plugin was not built here or pkill is missing.
set -u
ipcmark=$1 name=$2 so=$3
if [ ! -f "$so" ]; then
    echo "SKIP: $name plugin not built ($so missing: not enabled at configure, or its library was not found)"
    exit 77
fi
if ! command -v pkill >/dev/null 2>&1; then
    echo "SKIP: pkill missing (Debian procps)"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipcm-plugkill.XXXXXX") || exit 1
trap 'pkill -KILL -f -- "seed $marker" 2>/dev/null; rm -rf "$tmp"' EXIT
marker=0
folders() { ls -d "$tmp"/ipcm-"$name".* 2>/dev/null; }

for how in runner all; do
    # A seed no other run uses marks this run's processes on their command lines.
    marker=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
    TMPDIR=$tmp "$ipcmark" check -b "$so" --seed "$marker" >"$tmp/out" 2>&1 &
    runner=$!
    i=0 # until a case has made a link (its folder), then a moment into the run
    while [ $i -lt 100 ] && [ -z "$(folders)" ]; do sleep 0.1; i=$((i + 1)); done
    if [ -z "$(folders)" ]; then
        cat "$tmp/out"; echo "FAIL ($how): no endpoint folder within 10 s"; exit 1
    fi
    sleep 2
    if [ $how = runner ]; then
        kill -TERM $runner
    else
        pkill -TERM -f -- "seed $marker"
    fi
    wait $runner 2>/dev/null
    # Helpers see their ends' life pipes close a moment later: give them 5 s, then look.
    i=0
    while [ $i -lt 50 ] && { [ -n "$(folders)" ] || pgrep -f -- "seed $marker" >/dev/null; }; do
        sleep 0.1; i=$((i + 1))
    done
    if [ -n "$(folders)" ]; then
        folders; echo "FAIL ($how): endpoint folders left"; exit 1
    fi
    if pgrep -a -f -- "seed $marker"; then
        echo "FAIL ($how): processes of the run left"; exit 1
    fi
    echo "$how: SIGTERM mid-run left no folder and no process"
done
echo "$name plugin: ok"

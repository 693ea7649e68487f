#!/bin/sh
# SPDX-License-Identifier: MIT
# advise.sh IPCMARK DIR CASE - `ipcmark advise`: its decision on a fixed fake result set
# (fake.json: shm fastest but 2 CPUs busy, socketpair lowest p99, pipe cheapest after
# shm, mqueue skipped for its size limit, a tcp case of another workload), bad input
# (one line, exit 2), and a short real sweep.
set -eu
ipcmark=$1
dir=$2
case=$3
tmp=$(mktemp -d /tmp/ipcm-advise.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "advise.sh $case: $*" >&2
    exit 1
}
adv() { "$ipcmark" advise --size 4K --producers 3 --consumers 2 --from "$dir/fake.json" "$@"; }
has() { grep -qF -- "$1" "$tmp/out" || fail "no '$1' in: $(cat "$tmp/out")"; }
bad() { # bad ARGS... : exit 2, one line on stderr naming the problem ($want)
    st=0
    "$ipcmark" advise "$@" >"$tmp/out" 2>"$tmp/err" || st=$?
    [ $st -eq 2 ] || fail "$*: exit $st, want 2"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$*: want one line, got: $(cat "$tmp/err")"
    grep -qF -- "$want" "$tmp/err" || fail "$*: no '$want' in: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "$*: stdout not empty"
}
case $case in
throughput)
    adv >"$tmp/out" || fail "exit $?"
    has "Recommendation: shm, 2 Mmsg/s: 2.5x the throughput of socketpair (runner-up)"
    has "separation: clear"
    has "CPU: shm 500 ns/msg, 2 CPUs busy; socketpair 2.5 us/msg, 1.2 CPUs busy"
    has "mqueue ruled out: skipped: a 4096 B message needs msgsize 4096; fs.mqueue.msgsize_max"
    has "shm spins before it sleeps"
    grep -q "^  [0-9]\. tcp" "$tmp/out" && fail "a case of another workload was ranked"
    [ "$(grep -c '^  [0-9]\.' "$tmp/out")" -eq 3 ] || fail "want 3 ranked rows"
    ;;
max_cpus)
    adv --max-cpus 1.5 >"$tmp/out" || fail "exit $?"
    has "Recommendation: socketpair"
    has "shm ruled out: keeps 2 CPUs busy, over --max-cpus 1.5"
    adv --max-cpus 0.5 >"$tmp/out" || fail "exit $?"
    has "Recommendation: none of the 4 backends fits"
    ;;
latency)
    adv --goal latency >"$tmp/out" || fail "exit $?"
    has "Recommendation: socketpair, p99 20 us: 2x lower p99 than shm (runner-up)"
    ;;
cpu)
    adv --goal cpu >"$tmp/out" || fail "exit $?"
    has "Recommendation: shm, CPU per message 500 ns: 4x less CPU per message than pipe"
    ;;
rate)
    # Closed-loop throughput under the rate: saturated, ruled out.
    adv --rate 790k/s >"$tmp/out" || fail "exit $?"
    has "pipe ruled out: saturates"
    has "socketpair" && has "--rate: one producer sent at 790000/s open loop"
    ;;
json)
    adv --json "$tmp/a.json" >"$tmp/out" || fail "exit $?"
    python3 - "$tmp/a.json" <<'PY' || fail "bad JSON"
import json, sys
d = json.load(open(sys.argv[1]))
a = d["advice"]
assert d["schema"] == "ipcmark-results/1"
assert a["winner"] == "shm" and a["runner_up"] == "socketpair", a
assert abs(a["ratio"] - 2.5) < 0.01 and a["clear"] is True, a
assert [r["backend"] for r in a["ranked"]] == ["shm", "socketpair", "pipe"], a
assert a["ruled_out"][0]["backend"] == "mqueue", a
PY
    ;;
bad_input)
    want="--size '0'"; bad --size 0 --producers 1 --consumers 1
    want="--producers '0'"; bad --size 64 --producers 0 --consumers 1
    want="unknown goal 'fast'"; bad --size 64 --producers 1 --consumers 1 --goal fast
    want="too small to run a repetition"; bad --size 64 --producers 1 --consumers 1 --budget 0.5
    want="are required"; bad --size 64
    want="unknown backend 'nope'"; bad --size 64 --producers 1 --consumers 1 -b nope
    ;;
run)
    # A real sweep, small: every backend named gets a row or a reason; CPU shown.
    "$ipcmark" advise --size 64 --producers 2 --consumers 1 -b pipe,shm --budget 6 \
        --json "$tmp/r.json" >"$tmp/out" || fail "exit $?"
    has "Recommendation: "
    has "CPU"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["cases"]; assert len(c)==2 and all(x["status"]=="ok" and x["cpu_ns_per_msg"]["median"]>0 for x in c), c' "$tmp/r.json" ||
        fail "JSON cases lack CPU figures"
    ;;
*) fail "unknown case" ;;
esac

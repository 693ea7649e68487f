#!/bin/sh
# SPDX-License-Identifier: MIT
# advise.sh IPCMARK DIR CASE - `ipcmark advise`: its decision on a fixed fake result set
# (fake.json: shm fastest but 2 CPUs busy, socketpair lowest p99, pipe cheapest after
# shm, mqueue skipped for its size limit, a tcp case of another workload), bad input
# (one line, exit 2), the adaptive sweep's decision (more repetitions of exactly the two
# leaders while their intervals overlap; a property test on random fake sets), and a
# short real sweep.
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
adaptive)
    # The adaptive sweep's decision on fixed fake samples: with the leaders' intervals
    # overlapping it asks for more repetitions of exactly the two leaders; apart, it
    # stops. The overlapping pair here: socketpair and pipe once shm is ruled out.
    adv --max-cpus 1.5 --json "$tmp/o.json" >"$tmp/out" || fail "exit $?"
    has "separation: NOT clear"
    has "would repeat only socketpair and pipe"
    adv --json "$tmp/c.json" >"$tmp/out" || fail "exit $?"
    has "separation: clear"
    python3 - "$tmp/o.json" "$tmp/c.json" <<'PY' || fail "bad advice rounds"
import json, sys
o = json.load(open(sys.argv[1]))["advice"]
c = json.load(open(sys.argv[2]))["advice"]
assert o["next_round"] == ["socketpair", "pipe"] and o["separation"] == "not clear", o
assert c["next_round"] == [] and c["separation"] == "clear", c
assert o["rounds"] == 0 and all(r["repetitions"] == 5 for r in o["ranked"]), o
PY
    # Property: on random fake result sets the leaders asked for are exactly the top two
    # by median, and only when their 95% intervals of the median (order statistics, as
    # harness/stats) overlap.
    python3 - "$ipcmark" "$dir/fake.json" "$tmp" <<'PY' || fail "property"
import json, math, random, statistics, subprocess, sys
ipcmark, fake, tmp = sys.argv[1:4]
base = json.load(open(fake))
tpl = next(c for c in base["cases"] if c["backend"] == "pipe")
names = ["fifo", "pipe", "shm", "socketpair", "sysvmq", "tcp", "unix"]
def ci(x):  # the median's interval at 0.95: [x_(k), x_(n-k+1)], largest k that covers
    x, n, k = sorted(x), len(x), 1
    cover = lambda k: 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n
    while k + 1 <= n // 2 and cover(k + 1) >= 0.95:
        k += 1
    return x[k - 1], x[n - k]
rng = random.Random(16)
seen = {True: 0, False: 0}
for trial in range(40):
    cands = rng.sample(names, rng.randint(2, 5))
    cases, samples = [], {}
    for b in cands:
        centre, spread = rng.uniform(1e5, 3e5), rng.uniform(0.01, 0.3)
        x = [centre * (1 + rng.uniform(-spread, spread)) for _ in range(rng.randint(5, 12))]
        samples[b] = x
        c = json.loads(json.dumps(tpl))
        c["backend"], c["repetitions"] = b, len(x)
        c["msgs_per_s"] = {"median": statistics.median(x), "min": min(x), "max": max(x),
                           "samples": x}
        cases.append(c)
    d = dict(base, cases=cases)
    f = f"{tmp}/p{trial}.json"
    json.dump(d, open(f, "w"))
    out = subprocess.run([ipcmark, "advise", "--size", "4K", "--producers", "3",
                          "--consumers", "2", "--from", f, "--json", f + ".out"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    a = json.load(open(f + ".out"))["advice"]
    top = sorted(cands, key=lambda b: -statistics.median(samples[b]))[:2]
    (wl, wh), (rl, rh) = ci(samples[top[0]]), ci(samples[top[1]])
    clear = wl > rh
    seen[clear] += 1
    assert [r["backend"] for r in a["ranked"]][:2] == top, (trial, a["ranked"], top)
    want = [] if clear else top
    assert a["next_round"] == want, (trial, a["next_round"], want, samples)
    assert a["separation"] == ("clear" if clear else "not clear"), (trial, a)
assert seen[True] and seen[False], seen  # both branches were exercised
print("property held on", seen)
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
    # The adaptive record: at least the first round; 5 repetitions for every backend in
    # it, 5 more for each round a leader ran in; the separation says how it ended.
    python3 - "$tmp/r.json" <<'PY' || fail "bad adaptive record: $(cat "$tmp/out")"
import json, sys
a = json.load(open(sys.argv[1]))["advice"]
assert a["rounds"] >= 1 and a["separation"] in ("clear", "not separated within budget",
                                                "not separated within the round limit"), a
for r in a["ranked"]:
    assert 1 <= r["rounds"] <= a["rounds"] and r["repetitions"] == 5 * r["rounds"], a
if a["separation"] == "clear":
    assert a["next_round"] == [], a
else:
    assert a["next_round"] == [r["backend"] for r in a["ranked"][:2]], a
PY
    ;;
*) fail "unknown case" ;;
esac

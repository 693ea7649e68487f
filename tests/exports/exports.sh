#!/bin/sh
# SPDX-License-Identifier: MIT
# exports.sh IPCMARK CASE - the exports as their formats' own tools read them:
#   gbench_compare_py  two real runs exported with `compare --export gbench`; Google
#                      Benchmark's tools/compare.py (Debian: libbenchmark-tools, with
#                      python3-scipy) compares them, exits 0 and names our benchmarks;
#                      the entries are the repetitions (iterations = the messages of a
#                      repetition, cpu_time measured, not real_time) and the mean,
#                      median, stddev and cv aggregates. Skipped (77) without the tool.
#   bencher_bmf        `--export bencher -`: Bencher Metric Format, {name: {measure:
#                      {value, lower_value, upper_value}}}, with lower/upper the lowest
#                      and highest repetition for every measure
#   check_json_stdout  `check --json -` (--junit -): the report alone on stdout, the table
#                      on stderr; both '-' is a usage error (exit 2)
#   csv_units          the CSV header names carry units (msgs_per_s_min, lat_p50_ns,
#                      lost_messages, size_bytes, ...)
set -eu
ipcmark=$1
case=$2
tmp=$(mktemp -d /tmp/ipcm-exports.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() {
    echo "exports.sh $case: $*" >&2
    exit 1
}
# Debian's python3 has python3-scipy; a python3 earlier on PATH (pyenv, venv) may not.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
# Fixed message counts, so every repetition moves the same number ("iterations").
small="bench -b pipe --sizes 64 --messages 2000 --repeat 4 --warmup 0"
run() { # run NAME: a small real run and both exports of it
    "$ipcmark" $small --mode "${2:-throughput}" --json "$1.json" >"$1.out" 2>&1 ||
        fail "bench: exit $?: $(tail -5 "$1.out")"
    for k in gbench bencher; do
        # compare's own verdict does not matter here (exit 0 or 1); the export does.
        "$ipcmark" compare "$1.json" "$1.json" --export $k "$1.$k.json" >/dev/null 2>&1 || :
        [ -s "$1.$k.json" ] || fail "compare --export $k wrote nothing"
    done
}
case $case in
gbench_compare_py)
    cmp=/usr/share/benchmark/compare.py
    if [ ! -f $cmp ]; then
        echo "SKIP: $cmp is absent (apt-get install libbenchmark-tools python3-scipy)"
        exit 77
    fi
    if ! $py -c 'import scipy' 2>/dev/null; then
        echo "SKIP: $py has no scipy (apt-get install python3-scipy)"
        exit 77
    fi
    run a
    run b
    $py - a.gbench.json 2000 <<'PY' || fail "gbench structure"
import json, sys
d = json.load(open(sys.argv[1]))
want_iter = int(sys.argv[2])
ctx = d["context"]
assert ctx["executable"] == "ipcmark" and ctx["num_cpus"] >= 1 and ctx["date"], ctx
b = d["benchmarks"]
name = "throughput/pipe/queue/64/1x1/w0/unpinned"
its = [e for e in b if e["run_type"] == "iteration"]
aggs = [e for e in b if e["run_type"] == "aggregate"]
assert len(its) == 4, its
assert [e["repetition_index"] for e in its] == [0, 1, 2, 3]
for e in its:
    assert e["name"] == name and e["run_name"] == name and e["repetitions"] == 4
    assert e["iterations"] == want_iter, e
    assert e["time_unit"] == "ns" and e["real_time"] > 0 and e["cpu_time"] > 0
    # real_time is ns of wall time per message, from items_per_second.
    assert abs(e["real_time"] - 1e9 / e["items_per_second"]) < 1e-3 * e["real_time"]
assert any(e["cpu_time"] != e["real_time"] for e in its), "cpu_time copies real_time"
assert [e["aggregate_name"] for e in aggs] == ["mean", "median", "stddev", "cv"], aggs
for e in aggs:
    assert e["run_name"] == name and e["name"] == name + "_" + e["aggregate_name"]
    assert e["iterations"] == 4
    assert e["aggregate_unit"] == ("percentage" if e["aggregate_name"] == "cv" else "time")
real = sorted(e["real_time"] for e in its)
mean = sum(real) / 4
assert abs(aggs[0]["real_time"] - mean) < 1e-6 * mean
assert abs(aggs[1]["real_time"] - (real[1] + real[2]) / 2) < 1e-6 * mean
sd = (sum((x - mean) ** 2 for x in real) / 3) ** 0.5
assert abs(aggs[2]["real_time"] - sd) <= 1e-6 * mean
assert abs(aggs[3]["real_time"] - sd / mean) < 1e-6
PY
    st=0
    $py $cmp benchmarks a.gbench.json b.gbench.json >cmp.out 2>&1 || st=$?
    cat cmp.out
    [ $st -eq 0 ] || fail "compare.py exit $st"
    grep -q 'throughput/pipe/queue/64/1x1/w0/unpinned_median' cmp.out ||
        fail "compare.py does not list our benchmarks"
    grep -q 'OVERALL_GEOMEAN' cmp.out || fail "compare.py printed no summary"
    ;;
bencher_bmf)
    run a
    run l latency
    for f in a l; do
        "$ipcmark" compare $f.json $f.json --export bencher - >bmf.json 2>err || :
        $py - bmf.json $f.json <<'PY' || fail "$f: Bencher Metric Format: $(head -c 400 bmf.json)"
import json, sys
bmf = json.load(open(sys.argv[1]))
res = json.load(open(sys.argv[2]))
assert isinstance(bmf, dict) and bmf, bmf
cases = {}
for c in res["cases"]:
    if c["status"] == "ok":
        key = "%s/%s/%s/%d/%dx%d/w%d/%s" % (c["mode"], c["backend"], c["shape"], c["size"],
                                           c["producers"], c["consumers"], c["workers"],
                                           c["placement"])
        cases[key] = c
n = 0
for name, measures in bmf.items():
    assert isinstance(name, str) and isinstance(measures, dict) and measures
    for slug, m in measures.items():
        assert set(m) == {"value", "lower_value", "upper_value"}, (name, slug, m)
        assert all(isinstance(v, (int, float)) for v in m.values())
        assert m["lower_value"] <= m["value"] <= m["upper_value"], (name, slug, m)
        n += 1
    c = cases[name]
    # lower/upper are the lowest and highest repetition, for every measure.
    if "throughput" in measures:
        s = c["msgs_per_s"]["samples"]
        assert measures["throughput"]["lower_value"] == min(s)
        assert measures["throughput"]["upper_value"] == max(s)
    if "latency" in measures:
        s = c["latency_ns"]["p50_samples"]
        assert measures["latency"]["lower_value"] == min(s), (measures, s)
        assert measures["latency"]["upper_value"] == max(s), (measures, s)
    if "latency-p99" in measures:
        s = c["latency_ns"]["p99_samples"]
        assert measures["latency-p99"]["lower_value"] == min(s)
        assert measures["latency-p99"]["upper_value"] == max(s)
assert n > 0
PY
    done
    ;;
check_json_stdout)
    for k in json junit; do
        "$ipcmark" check -b pipe --quick --$k - >out 2>err || fail "check --$k -: exit $?: $(tail -5 err)"
        if [ $k = json ]; then
            $py -c 'import json; d = json.load(open("out")); assert d["schema"] == "ipcmark-check/1"' ||
                fail "stdout is not the JSON alone: $(head -c 300 out)"
        else
            $py -c 'import xml.dom.minidom as m; m.parse("out")' ||
                fail "stdout is not the JUnit XML alone: $(head -c 300 out)"
        fi
        grep -q '^delivery.roundtrip_sizes  *pass' err || fail "no table on stderr: $(head -c 300 err)"
        grep -q 'passed, 0 failed' err || fail "no summary on stderr: $(tail -3 err)"
        [ ! -e ./- ] || fail "created a file named '-'"
    done
    st=0
    "$ipcmark" check -b pipe --quick --json - --junit - >out 2>err || st=$?
    [ $st -eq 2 ] || fail "--json - --junit -: exit $st, want 2"
    grep -q 'at most one output may be stdout' err || fail "stderr: $(cat err)"
    [ ! -s out ] || fail "wrote to stdout: $(head -c 200 out)"
    ;;
csv_units)
    "$ipcmark" bench -b pipe --sizes 64 --messages 500 --repeat 2 --warmup 0 --csv - >out 2>/dev/null ||
        fail "bench --csv -: exit $?"
    head -1 out | tr ',' '\n' >cols
    for c in size_bytes msgs_per_s msgs_per_s_min msgs_per_s_ci_hi bytes_per_s_max \
        tasks_per_s_mad lat_p50_ns lost_messages cpu_ns_per_msg cpu_ns_per_msg_max; do
        grep -qx "$c" cols || fail "no column $c in $(head -1 out)"
    done
    # The names before units were added are gone.
    for c in size msgs_min bytes_max tasks_mad cpu_ns_min lost corrupt; do
        ! grep -qx "$c" cols || fail "column $c has no unit in its name"
    done
    [ "$(head -1 out | tr ',' '\n' | wc -l)" -eq "$(sed -n 2p out | tr ',' '\n' | wc -l)" ] ||
        fail "the row and the header differ in columns"
    ;;
*)
    fail "unknown case"
    ;;
esac

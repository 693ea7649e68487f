#!/bin/sh
# SPDX-License-Identifier: MIT
# outputs.sh IPCMARK DATA_DIR CASE - what the command line writes where (RULINGS 8):
#   bench_json, bench_csv  `--json -` / `--csv -`: the data alone on stdout (it parses),
#                          the table on stderr, no file named '-'
#   bench_two_dashes       both '-': exit 2 before any work
#   export_stdout          compare --export bencher|gbench -: stdout is the export alone
#   export_unwritable      compare --export K /no/such/dir/f: exit 2, nothing on stdout
#   mode_list              --mode latency,throughput: both in one file, the ranking as
#                          ratios; a bad list is one line and exit 2
#   plugin_build           compare notes a backend built from another plugin file (or
#                          built in on one side) as a different build (RULINGS 5)
#   ab_plugins             ab --baseline-plugin/--current-plugin: two builds of one
#                          backend compared; bad pairs refused with one line
#   no_calibrate           bench --no-calibrate: no calibration, said, null in the file
#   sync_impls             -b on sync modes names lock implementations
#   repeat_one             --repeat 1 prints +-n/a for the spread, not +-0.0%
#   fail_on_missing        a baseline case absent now: exit 0 and listed; with
#                          --fail-on-missing exit 1 and said so (table, markdown, json)
set -eu
ipcmark=$1
data=$2
tmp=$(mktemp -d /tmp/ipcm-outputs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() {
    echo "outputs.sh $case: $*" >&2
    exit 1
}
case=$3
small="bench -b pipe --messages 500 --repeat 2 --warmup 0"
case $case in
bench_json)
    "$ipcmark" $small --json - >out 2>err || fail "exit $?: $(cat err)"
    python3 -c 'import json, sys; d = json.load(open("out")); assert d["schema"] == "ipcmark-results/1" and d["cases"][0]["backend"] == "pipe"' ||
        fail "stdout is not the results JSON alone: $(head -c 300 out)"
    grep -q 'pipe' err || fail "no table on stderr"
    ;;
bench_csv)
    "$ipcmark" $small --csv - >out 2>err || fail "exit $?: $(cat err)"
    head -1 out | grep -q '^mode,backend,' || fail "stdout does not start with the CSV header"
    [ "$(wc -l <out)" -eq 2 ] || fail "want a header and one row on stdout, got $(wc -l <out) lines"
    grep -q 'pipe' err || fail "no table on stderr"
    ;;
bench_two_dashes)
    st=0
    "$ipcmark" $small --json - --csv - >out 2>err || st=$?
    [ $st -eq 2 ] || fail "exit $st, want 2"
    grep -q 'at most one output may be stdout' err || fail "stderr: $(cat err)"
    [ ! -s out ] || fail "wrote to stdout: $(head -c 200 out)"
    ;;
export_stdout)
    for k in bencher gbench; do
        "$ipcmark" compare "$data/synthetic_base.json" "$data/synthetic_same.json" \
            --export $k - >out 2>err || fail "$k: exit $?: $(cat err)"
        python3 -c 'import json; json.load(open("out"))' ||
            fail "$k: stdout is not the export alone: $(head -c 300 out)"
        grep -q 'result: no regression' err || fail "$k: the report is not on stderr"
    done
    ;;
export_unwritable)
    st=0
    "$ipcmark" compare "$data/synthetic_base.json" "$data/synthetic_same.json" \
        --export bencher /nonexistent/dir/b.json >out 2>err || st=$?
    [ $st -eq 2 ] || fail "exit $st, want 2"
    grep -q 'cannot write --export /nonexistent/dir/b.json' err || fail "stderr: $(cat err)"
    [ ! -s out ] || fail "the comparison ran: $(head -c 200 out)"
    ;;
fail_on_missing)
    # The current file without the baseline's first case.
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["cases"] = d["cases"][1:]; json.dump(d, open("cur.json", "w"))' \
        "$data/synthetic_same.json"
    "$ipcmark" compare "$data/synthetic_base.json" cur.json >out 2>err ||
        fail "without --fail-on-missing: exit $?, want 0: $(tail -3 out)"
    grep -q '^missing: ' out || fail "the missing case is not listed"
    for fmt in table markdown json; do
        st=0
        "$ipcmark" compare "$data/synthetic_base.json" cur.json --fail-on-missing \
            --format $fmt >out 2>err || st=$?
        [ $st -eq 1 ] || fail "--fail-on-missing --format $fmt: exit $st, want 1"
        case $fmt in
        table) grep -q 'result: FAILED: cases of the baseline are missing' out ;;
        markdown) grep -q ':x: baseline cases missing' out ;;
        json) python3 -c 'import json; d = json.load(open("out")); assert d["regression"] and d["fail_on_missing"] and len(d["missing"]) == 1' ;;
        esac || fail "--format $fmt does not say why: $(head -c 400 out)"
    done
    ;;
repeat_one)
    # One repetition has no spread: the table says n/a, never a "+-0.0%".
    for mode in throughput latency; do
        "$ipcmark" bench -b pipe --mode $mode --messages 300 --repeat 1 --warmup 0 >out 2>err ||
            fail "$mode: exit $?: $(cat err)"
        grep -q '+-n/a' out || fail "$mode: no +-n/a: $(cat out)"
        ! grep -q '+-0\.0%' out || fail "$mode: a +-0.0% spread from one repetition"
    done
    ;;
mode_list)
    # --mode a,b runs both into one record and ends with the ranking, as ratios.
    "$ipcmark" bench -b pipe,socketpair --mode latency,throughput --messages 300 --repeat 2 \
        --warmup 0 --json - >out 2>err || fail "exit $?: $(cat err)"
    python3 -c 'import json; d = json.load(open("out")); m = sorted({c["mode"] for c in d["cases"]}); assert m == ["latency", "throughput"], m; assert d["config"]["modes"] == ["latency", "throughput"]' ||
        fail "want latency and throughput cases in one file: $(head -c 300 out)"
    grep -q 'best backend on this host' err || fail "no ranking after the table"
    grep -Eq '[0-9]\.[0-9]{2}× (the rate of|lower than) ' err || fail "the ranking is not a ratio: $(grep -A6 'best backend' err)"
    ! grep -q '% ahead of' err || fail "the ranking still says '% ahead'"
    for bad in 'latency,,throughput' 'latency,latency' 'latency,pingpong' ','; do
        st=0
        "$ipcmark" bench -b pipe --mode "$bad" >out 2>err || st=$?
        [ $st -eq 2 ] || fail "--mode '$bad': exit $st, want 2"
        [ "$(wc -l <err)" -eq 1 ] || fail "--mode '$bad': want one line: $(cat err)"
    done
    ;;
plugin_build)
    # RULINGS 5: one backend name from two plugin files, or from a plugin and the built-in,
    # is "a different build" in compare's warnings; the same file is not. $4: the shm plugin.
    plug=$4
    run="bench --mode throughput --messages 300 --repeat 3 --warmup 0"
    "$ipcmark" $run -b "$plug" --json a.json >/dev/null 2>err || fail "bench a: $(cat err)"
    cp "$plug" ./libipcm_shm.so && printf 'x' >>./libipcm_shm.so # same code, other hash
    "$ipcmark" $run -b ./libipcm_shm.so --json b.json >/dev/null 2>err || fail "bench b: $(cat err)"
    "$ipcmark" $run -b shm --json c.json >/dev/null 2>err || fail "bench c: $(cat err)"
    "$ipcmark" compare a.json a.json >same.txt 2>&1 || true
    ! grep -q 'different build' same.txt || fail "the same plugin file read as a different build"
    "$ipcmark" compare a.json b.json >ab.txt 2>&1 || true
    grep -q "backend 'shm' is a different build: baseline .*libipcm_shm.so (xxh3 [0-9a-f]*), current .*/ipcm-outputs.*/libipcm_shm.so (xxh3" ab.txt ||
        fail "two plugin files: no different-build note: $(cat ab.txt)"
    "$ipcmark" compare a.json c.json --format markdown >ac.txt 2>&1 || true
    grep -q "backend 'shm' is a different build: baseline .*, current built in" ac.txt ||
        fail "plugin vs built-in: no note: $(cat ac.txt)"
    ;;
ab_plugins)
    # ab between two plugin files of one backend; refused (one line, no verdict) when
    # they are two backends, missing, unloadable, or mixed with -b. $4: the shm plugin,
    # $5: a well-formed plugin of another name, $6: a plugin from a future ABI.
    shm=$4 other=$5 future=$6
    cp "$shm" ./libipcm_shm.so && printf 'x' >>./libipcm_shm.so
    st=0
    "$ipcmark" ab --baseline-plugin "$shm" --current-plugin ./libipcm_shm.so --sizes 64 \
        --duration 0.02 --budget 4 >out 2>err || st=$?
    [ $st -le 1 ] || fail "A/B of one plugin: exit $st: $(cat err)"
    grep -q "^baseline: .* with -b $shm" out || fail "no baseline plugin label: $(head -3 out)"
    grep -q '^throughput/shm/' out || fail "no shm case: $(cat out)"
    expect() { # WANT PHRASE ARGS...: exit WANT, one "ipcmark ab:" line with PHRASE
        want=$1 phrase=$2
        shift 2
        st=0
        "$ipcmark" ab "$@" --sizes 64 --duration 0.02 --budget 4 >out 2>err || st=$?
        [ $st -eq "$want" ] || fail "ab $*: exit $st, want $want: $(cat err)"
        [ "$(grep -c '^ipcmark ab:' err)" -eq 1 ] && grep -q -e "$phrase" err ||
            fail "ab $*: want one line with '$phrase': $(cat err)"
        ! grep -q '^result:' out || fail "ab $*: a verdict was printed"
    }
    expect 2 "is backend 'shm' and --current-plugin .* is 'stub'" \
        --baseline-plugin "$shm" --current-plugin "$other"
    expect 2 "no/such.so: No such file" --baseline-plugin "$shm" --current-plugin /no/such.so
    expect 3 "newer than this ipcmark" --baseline-plugin "$shm" --current-plugin "$future"
    expect 2 "exclude each other" --baseline-plugin "$shm" --current-plugin "$shm" -b pipe
    expect 2 "go together" --baseline-plugin "$shm"
    ;;
no_calibrate)
    # --no-calibrate (ab's rounds): no calibration measured, said so, null in the file.
    "$ipcmark" bench -b pipe --messages 300 --repeat 2 --warmup 0 --no-calibrate --json r.json \
        >out 2>err || fail "exit $?: $(cat err)"
    grep -q '^host calibration: skipped (--no-calibrate)' out || fail "not said: $(cat out)"
    python3 -c 'import json; c = json.load(open("r.json"))["host"]["calibration"]; assert c["line_rtt_ns"] == [None, None] and c["memcpy_64k_gbs"] == [None, None], c' ||
        fail "host.calibration is not empty"
    ;;
sync_impls)
    # With sync modes only, -b names lock implementations: those run, and no other.
    "$ipcmark" bench --mode sync -b pthread --messages 200 --repeat 2 --warmup 0 --json - \
        >out 2>err || fail "exit $?: $(cat err)"
    python3 -c 'import json; b = {c["backend"] for c in json.load(open("out"))["cases"]}; assert b == {"pthread"}, b' ||
        fail "want pthread cases only"
    # The raw futex ping-pong is the hand-off's floor, measured in the same run.
    "$ipcmark" bench --mode sync -b futex,futex-raw --messages 200 --repeat 2 --warmup 0 \
        --json - >out 2>err || fail "futex-raw: exit $?: $(cat err)"
    python3 -c 'import json; c = json.load(open("out"))["cases"]; b = {x["backend"] for x in c}; assert b == {"futex", "futex-raw"} and all(x["status"] == "ok" for x in c), b' ||
        fail "want futex and futex-raw cases, all ok"
    st=0
    "$ipcmark" bench --mode sync -b pipe >out 2>err || st=$?
    [ $st -eq 2 ] && grep -q "unknown lock implementation 'pipe' for --mode sync (valid: futex" err ||
        fail "-b pipe on --mode sync: exit $st: $(cat err)"
    ;;
*) fail "unknown case" ;;
esac
echo "ok: $case"

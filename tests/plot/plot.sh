#!/bin/sh
# SPDX-License-Identifier: MIT
# plot.sh IPCMARK DATA_DIR OUT CASE - `ipcmark plot` draws what a design document needs:
#   synthetic  the synthetic sweep (tests/data): tput_size, tput_gbs, latency, tput_pxc,
#              pool (with the python-mp reference), tput_cpu where the file has CPU
#   real       small real runs of every mode: throughput (sizes, P x C), latency, pool,
#              sync, sync-contended, sync-barrier; all nine plots
# Each drawn plot: gnuplot exits 0 (plot exits 0), PNG and SVG exist and are not empty,
# and the SVG's axis text says whether higher or lower is better. No pixel is checked.
# Without gnuplot: skipped (77); cli.plot.no_gnuplot covers that path.
set -eu
ipcmark=$1
data=$2
out=$3
case=$4
fail() {
    echo "plot.sh $case: $*" >&2
    exit 1
}
command -v gnuplot >/dev/null 2>&1 || { echo "SKIP: gnuplot is not installed"; exit 77; }
rm -rf "$out"
mkdir -p "$out"
drawn() { # drawn PLOT...: each one's images exist, are not empty, and name their better
    for p in "$@"; do
        for e in png svg; do
            [ -s "$out/$p.$e" ] || fail "no $p.$e (plot said: $(cat "$out/log"))"
        done
        grep -q 'is better' "$out/$p.svg" || fail "$p.svg: no axis says higher or lower is better"
        grep -q "$out/$p.png" "$out/log" || fail "$p not listed as drawn"
    done
}
case $case in
synthetic)
    "$ipcmark" plot "$data/synthetic_base.json" -o "$out" >"$out/log" 2>&1 ||
        fail "exit $?: $(cat "$out/log")"
    drawn tput_size tput_gbs latency tput_pxc pool
    # Latency: no empty percentile column; legend "pipe, across CPUs", not "pipe,cross-cpu".
    grep -q '^latency_xmax = ' "$out/params.gp" || fail "no latency_xmax"
    grep -q 'pipe, across CPUs' "$out/latency.svg" || fail "latency legend is not readable"
    # P x C are categories, named on the axis.
    grep -q '>2x2<' "$out/tput_pxc.svg" || fail "tput_pxc has no 2x2 category"
    # The pool plot names the python-mp reference's date.
    grep -q "^pool_note = .*python-mp reference measured 2026-12-01" "$out/params.gp" ||
        fail "pool note: $(grep pool_note "$out/params.gp")"
    ;;
real)
    q="--messages 300 --repeat 2 --warmup 0"
    b="$ipcmark bench"
    # Keys must not repeat across the files: sizes at 1x1 here, P x C at 64 B below.
    $b -b pipe,mqueue --sizes 4K,64K $q --json "$out/sizes.json" >"$out/run.log" 2>&1 &&
        $b -b pipe --sizes 64 --pairs 1,2 $q --json "$out/pxc.json" >>"$out/run.log" 2>&1 &&
        $b -b pipe --mode latency $q --json "$out/lat.json" >>"$out/run.log" 2>&1 &&
        $b -b pipe --mode pool --workers 1,2 $q --json "$out/pool.json" >>"$out/run.log" 2>&1 &&
        $b --mode sync $q --json "$out/sync.json" >>"$out/run.log" 2>&1 &&
        $b --mode sync-contended --workers 1,2 $q --json "$out/sc.json" >>"$out/run.log" 2>&1 &&
        $b --mode sync-barrier --workers 2,3 $q --json "$out/sb.json" >>"$out/run.log" 2>&1 ||
        fail "bench: $(tail -5 "$out/run.log")"
    "$ipcmark" plot "$out/sizes.json" "$out/pxc.json" "$out/lat.json" "$out/pool.json" \
        "$out/sync.json" "$out/sc.json" "$out/sb.json" -o "$out" >"$out/log" 2>&1 ||
        fail "exit $?: $(cat "$out/log")"
    drawn tput_size tput_gbs latency tput_pxc pool tput_cpu sync_handoff sync_contended \
        sync_barrier
    grep -q "^pool_note = .*chunk as CPython" "$out/params.gp" ||
        fail "pool note: $(grep pool_note "$out/params.gp")"
    # A case that did not run (mqueue above fs.mqueue.msgsize_max) is explained in the plot.
    if grep -q '"status": "skipped"' "$out/sizes.json"; then
        grep -q "^tput_size_skip_t1 = 'mqueue, 64 KiB: skipped: " "$out/params.gp" ||
            fail "skipped case not noted: $(grep skip "$out/params.gp")"
        grep -q 'mqueue, 64 KiB: skipped' "$out/tput_size.svg" || fail "reason not in the plot"
    fi
    ;;
*)
    fail "unknown case"
    ;;
esac

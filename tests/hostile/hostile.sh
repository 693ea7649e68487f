#!/bin/sh
# SPDX-License-Identifier: MIT
# hostile.sh IPCMARK CASE - the tool in an environment CI runners and sandboxes really
# have: a file-size limit, closed standard descriptors, unwritable output paths, low
# rlimits (descriptors, message-queue bytes, processes, address space) and edge cases of
# the command line. Each case asserts the exit code, a one-line error naming the real
# cause (the limit, with `check` reporting `env`, never FAIL), that an old result file
# survives, and that no named IPC object or temporary file is left.
set -u
ipcmark=$1
case_name=$2
sanitize=${3:-}
data=$(cd "$(dirname "$0")/../data" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
objects() { ls /dev/shm /dev/mqueue 2>/dev/null | grep -c '^ipcmark' ; }
before=$(objects)
fail() { echo "hostile.$case_name: $*"; exit 1; }
failures() { echo "$1" | grep -A5 '^failures'; }
quick_bench="bench -b pipe --sizes 64 --repeat 1 --duration 0.05 --warmup 0"

case $case_name in
fsize_selftest)
    # Before: SIGXFSZ from the shm ring's ftruncate killed the run silently (exit 153).
    out=$( (ulimit -f 4096; "$ipcmark" selftest) 2>&1); rc=$?
    [ $rc -eq 3 ] || fail "exit $rc, want 3 (the environment could not run shm)"
    echo "$out" | grep -q 'RLIMIT_FSIZE' || fail "no line names RLIMIT_FSIZE: $out"
    echo "$out" | grep -q 'FAIL' && fail "a limit of the environment reported as FAIL: $out"
    ;;
fsize_result_kept)
    # A result file that cannot be written whole leaves the old one in place.
    echo old >keep.json
    out=$( (ulimit -f 1; "$ipcmark" $quick_bench --json keep.json >/dev/null) 2>&1); rc=$?
    [ $rc -eq 3 ] || fail "exit $rc, want 3"
    [ "$(cat keep.json)" = old ] || fail "the old result was destroyed"
    echo "$out" | grep -q 'cannot write keep.json: .*RLIMIT_FSIZE' || fail "cause not named: $out"
    [ "$(ls -A | wc -l)" -eq 1 ] || fail "temporary files left: $(ls -A)"
    ;;
stdout_closed)
    # Before: fd 1 was reused by a channel and the table went into a socketpair.
    "$ipcmark" selftest >&- 2>/dev/null; rc=$?
    [ $rc -eq 0 ] || fail "exit $rc with stdout closed, want 0"
    "$ipcmark" selftest <&- 2>&- >/dev/null; rc=$?
    [ $rc -eq 0 ] || fail "exit $rc with stdin and stderr closed, want 0"
    ;;
output_missing_dir)
    start=$(date +%s)
    out=$("$ipcmark" $quick_bench --json nodir/r.json 2>&1 >stdout.txt); rc=$?
    [ $rc -eq 2 ] || fail "exit $rc, want 2"
    [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "not one line: $out"
    echo "$out" | grep -q 'cannot write --json nodir/r.json: No such file or directory' ||
        fail "cause not named: $out"
    [ -s stdout.txt ] && fail "the run started before the path was tried"
    ;;
output_is_dir)
    mkdir d
    out=$("$ipcmark" $quick_bench --csv d 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "exit $rc, want 2"
    echo "$out" | grep -q 'cannot write --csv d: Is a directory' || fail "cause not named: $out"
    ;;
output_not_dir)
    # A file standing in for a folder (as a read-only folder would, for root).
    touch file
    out=$("$ipcmark" check --quick -b pipe --junit file/r.xml 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "exit $rc, want 2"
    echo "$out" | grep -q 'cannot write --junit file/r.xml: Not a directory' ||
        fail "cause not named: $out"
    ;;
stray_argument)
    out=$("$ipcmark" selftest extra 2>&1); rc=$?
    [ $rc -eq 2 ] || fail "exit $rc, want 2"
    echo "$out" | grep -q "unexpected argument 'extra'" || fail "not named: $out"
    ;;
compare_fifo)
    # Before: compare blocked forever opening a FIFO nobody writes to.
    mkfifo f
    out=$(timeout 20 "$ipcmark" compare f f 2>&1); rc=$?
    [ $rc -eq 2 ] || fail "exit $rc, want 2 (124 means it hung)"
    echo "$out" | grep -q 'not a regular file' || fail "cause not named: $out"
    ;;
compare_nothing_judged)
    # Before: a current file with every case skipped passed the gate ("no regression").
    python3 - "$data/synthetic_base.json" skipped.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["cases"]:
    c["status"] = "skipped"
    c["reason"] = "host limit"
json.dump(d, open(sys.argv[2], "w"))
PY
    out=$("$ipcmark" compare "$data/synthetic_base.json" skipped.json 2>&1); rc=$?
    [ $rc -eq 1 ] || fail "exit $rc, want 1"
    echo "$out" | grep -q 'insufficient data' || fail "verdict not given: $out"
    ;;
check_nofile)
    # Before: RLIMIT_NOFILE 16 gave 38 FAILs and exit 1, as if the backends were broken.
    out=$(prlimit --nofile=16 "$ipcmark" check --quick --json c.json 2>&1); rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 3 ] || fail "exit $rc, want 0 or 3: $(failures "$out")"
    echo "$out" | grep -q ' FAIL ' && fail "a limit of the environment reported as FAIL: $out"
    echo "$out" | grep -q 'RLIMIT_NOFILE is used up' || fail "RLIMIT_NOFILE not named: $out"
    python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["summary"]
assert s["failed"] == 0 and s["environment"] > 0, s' c.json || fail "c.json summary"
    ;;
check_msgqueue_zero)
    # Before: RLIMIT_MSGQUEUE 0 gave 78 FAILs, each blaming RLIMIT_NOFILE.
    out=$(prlimit --msgqueue=0 "$ipcmark" check --quick -b mqueue 2>&1); rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 3 ] || fail "exit $rc, want 0 or 3: $(failures "$out")"
    echo "$out" | grep -q 'RLIMIT_NOFILE' && fail "a case blames RLIMIT_NOFILE: $out"
    echo "$out" | grep -q 'RLIMIT_MSGQUEUE is used up' || fail "RLIMIT_MSGQUEUE not named: $out"
    ;;
bench_pool_msgqueue)
    # Before: "too many open files (RLIMIT_NOFILE)" while descriptors were plenty.
    out=$(prlimit --msgqueue=819200 "$ipcmark" bench --mode pool --workers 100 -b mqueue \
          --repeat 1 --duration 0.05 --warmup 0 2>&1)
    echo "$out" | grep -q 'RLIMIT_MSGQUEUE is used up' || fail "RLIMIT_MSGQUEUE not named: $out"
    echo "$out" | grep -q 'RLIMIT_NOFILE' && fail "RLIMIT_NOFILE blamed: $out"
    ;;
check_nproc)
    # RLIMIT_NPROC binds no privileged process (RULINGS 10): run as nobody.
    [ "$(id -u)" -eq 0 ] || { echo "hostile.$case_name: skipped: needs root to become nobody"; exit 77; }
    chmod 755 "$dir"
    nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
    nobody test -x "$ipcmark" || { echo "hostile.$case_name: skipped: nobody cannot run $ipcmark"; exit 77; }
    out=$(nobody prlimit --nproc=6 "$ipcmark" check --quick -b pipe 2>&1); rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 3 ] || fail "exit $rc, want 0 or 3: $(failures "$out")"
    echo "$out" | grep -q ' FAIL ' && fail "a refused fork reported as FAIL: $out"
    echo "$out" | grep -q 'RLIMIT_NPROC is used up' || fail "RLIMIT_NPROC not named: $out"
    ;;
check_address_space)
    # Sanitizers reserve terabytes of address space: no RLIMIT_AS under them (RULINGS 10).
    [ -z "$sanitize" ] || { echo "hostile.$case_name: skipped: sanitizer build ($sanitize)"; exit 77; }
    out=$(prlimit --as=209715200 "$ipcmark" check --quick -b shm 2>&1); rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 3 ] || fail "exit $rc, want 0 or 3: $(failures "$out")"
    echo "$out" | grep -q ' FAIL ' && fail "a limit of the environment reported as FAIL: $out"
    echo "$out" | grep -q 'RLIMIT_AS' || fail "RLIMIT_AS not named: $out"
    ;;
sizes_rejected)
    for sizes in 0 64,,4K 64, ,64; do
        out=$("$ipcmark" bench -b pipe --sizes "$sizes" --repeat 1 --duration 0.01 2>&1 >stdout.txt)
        rc=$?
        [ $rc -eq 2 ] || fail "--sizes '$sizes': exit $rc, want 2"
        [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "--sizes '$sizes': not one line: $out"
        echo "$out" | grep -q -- '--sizes' || fail "--sizes '$sizes': option not named: $out"
        [ -s stdout.txt ] && fail "--sizes '$sizes': the run started"
    done
    ;;
backends_once)
    out=$("$ipcmark" $quick_bench -b pipe,pipe 2>err.txt); rc=$?
    [ $rc -eq 0 ] || fail "exit $rc"
    [ "$(echo "$out" | grep -c '^throughput *pipe ')" -eq 1 ] || fail "pipe ran twice: $out"
    grep -q "backend 'pipe' named more than once" err.txt || fail "no note: $(cat err.txt)"
    ;;
size_units)
    out=$("$ipcmark" bench -b pipe --sizes 1G,1536 --repeat 1 --messages 1 --warmup 0 2>&1)
    echo "$out" | grep -q '^throughput *pipe *1G ' || fail "1G not printed as 1G: $out"
    echo "$out" | grep -q '^throughput *pipe *1536 ' || fail "1536 not printed as 1536: $out"
    ;;
default_plots)
    # Before: every default run wrote results/plots/, over the previous run's plots.
    "$ipcmark" >out.txt 2>&1
    ls -d results/ipcmark-*-plots >/dev/null 2>&1 || fail "no per-run plot folder: $(ls results)"
    [ -e results/plots ] && fail "results/plots/ is still shared by every run"
    ;;
sysv_tree_killed)
    # RULINGS 11: a SIGKILL of the whole ipcmark tree (what timeout -s KILL does) leaves
    # no System V queue: the journal's guard, in a session of its own, removes them. In a
    # private IPC namespace, so that ipcs counts ours only (root: else skipped, 77).
    unshare --ipc true 2>/dev/null || { echo "hostile.$case_name: skipped: no unshare --ipc"; exit 77; }
    unshare --ipc sh "$0" "$ipcmark" sysv_tree_killed_inside
    exit $?
    ;;
sysv_tree_killed_inside)
    queues() { ipcs -q | awk '$1 ~ /^0x/' | wc -l; }
    # setsid: its own process group, to kill as timeout(1) does; the case keeps queues open.
    setsid "$ipcmark" check -b sysvmq --case 'delivery.*,blocking.*' >/dev/null 2>&1 &
    pid=$!
    # Count once per look: queues come and go with the cases, so a second count could
    # miss the ones the first saw.
    i=0
    seen=0
    while [ "$seen" -eq 0 ] && [ $i -lt 1000 ]; do
        seen=$(queues)
        [ "$seen" -gt 0 ] || sleep 0.01
        i=$((i + 1))
    done
    [ "$seen" -gt 0 ] || fail "no queue seen while the run was alive (the test saw nothing)"
    kill -9 "-$pid" || fail "could not kill the run's process group"
    wait $pid 2>/dev/null
    i=0
    left=$(queues)
    while [ "$left" -gt 0 ] && [ $i -lt 1000 ]; do
        sleep 0.01
        left=$(queues)
        i=$((i + 1))
    done
    [ "$left" -eq 0 ] || fail "$left System V queue(s) left 10 s after the kill: $(ipcs -q)"
    ;;
*)
    fail "unknown case"
    ;;
esac
after=$(objects)
[ "$after" -le "$before" ] || fail "named IPC objects left behind ($before -> $after)"
echo "hostile.$case_name: ok"

#!/bin/sh
# SPDX-License-Identifier: MIT
# bad_plugins.sh IPCMARK BINDIR BAD.so... - every broken plugin gets exit 3 and one line
# naming the file and its flaw, while pipe, named in the same run, still runs its case.
set -u
ipcmark=$1 bindir=$2
shift 2
work=$(mktemp -d "${TMPDIR:-/tmp}/ipcm-plugins.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
fails=0
case_id=delivery.zero_length

# expect NAME RC PATTERN ARGS...: exit RC, stderr one line (or a note) matching PATTERN.
expect() {
    name=$1 want=$2 pat=$3
    shift 3
    "$@" >"$work/out" 2>"$work/err"
    rc=$?
    errs=$(grep -vc ': note: ' "$work/err")
    if [ "$rc" != "$want" ] || { [ -n "$pat" ] && ! grep -q -- "$pat" "$work/err"; } ||
        [ "$errs" -gt "$([ -n "$pat" ] && echo 1 || echo 0)" ]; then
        echo "FAIL $name: rc $rc (want $want), stderr:"; cat "$work/err"
        fails=$((fails + 1))
    else
        echo "ok   $name: $(grep -v ': note: ' "$work/err")"
    fi
}
# pipe_ran NAME: the pipe case of the same run passed.
pipe_ran() {
    if ! grep -q '^1 passed, 0 failed' "$work/out"; then
        echo "FAIL $1: pipe did not run beside the bad plugin:"; cat "$work/out"
        fails=$((fails + 1))
    fi
}

for so in "$@"; do
    base=$(basename "$so" .so)
    case $base in
        bad_abi_future) pat="ABI $((1 + 1)) is newer than" ;;
        bad_abi_past) pat="ABI 0 is older than" ;;
        bad_small) pat="table of 16 bytes, smaller than" ;;
        bad_null_name) pat="backend name NULL" ;;
        bad_missing_op) pat="leaves op pollfd (caps: pollfd) NULL" ;;
        bad_no_entry) pat="no entry point ipcm_backend_plugin_v1" ;;
        bad_refuse) pat="refused to load: needs a device this host lacks" ;;
        bad_none) cp "$so" "$work/libipcm_stub.so"; cp "$so" "$work/copy.so"; continue ;;
        *) echo "FAIL unknown plugin $so"; fails=$((fails + 1)); continue ;;
    esac
    expect "$base" 3 "$so: .*$pat" "$ipcmark" check --case $case_id -b "$so,pipe"
    pipe_ran "$base"
done

echo 'not an ELF file' >"$work/text.so"
expect not_a_so 3 "$work/text.so: not a loadable shared object" \
    "$ipcmark" check --case $case_id -b "$work/text.so,pipe"
pipe_ran not_a_so
expect duplicate 3 "$work/copy.so: backend name 'stub' is already loaded from $work/libipcm_stub.so" \
    "$ipcmark" check --case $case_id -b "$work/libipcm_stub.so,$work/copy.so,pipe"
# Only a bad plugin asked for: still 3 (RULINGS 2), not a usage error.
expect only_bad 3 "bad_small.so: backend table" "$ipcmark" check --case $case_id \
    -b "$bindir/bad/bad_small.so"
expect missing 2 "plugin '$work/none.so' does not exist" "$ipcmark" check -b "$work/none.so"
# By name on IPCMARK_PLUGIN_PATH; a relative folder (the current directory) is never searched.
expect by_name 0 "" env IPCMARK_PLUGIN_PATH="$work" "$ipcmark" check --case $case_id -b stub
expect cwd_never 2 "unknown backend 'stub'" \
    sh -c "cd '$work' && IPCMARK_PLUGIN_PATH=.:: exec '$ipcmark' check -b stub"
expect list 0 "" env IPCMARK_PLUGIN_PATH="$work" "$ipcmark" list
grep -q "plugin $work/libipcm_stub.so (xxh3 [0-9a-f]\{16\})" "$work/out" ||
    { echo "FAIL list: no plugin row"; cat "$work/out"; fails=$((fails + 1)); }
[ "$fails" = 0 ] && echo "all plugin-loader cases passed"
exit $((fails > 0))

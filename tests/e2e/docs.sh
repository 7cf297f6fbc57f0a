#!/bin/sh
# Runs every ```sh block of docs/getting-started.md and README.md as written (but the `make`
# lines that install and build), with the build's bin/ first on PATH, in a scratch folder where
# models/ and tests/ are the repository's (so out/ stays out of the source tree): the docs stay
# true. Blocks meant only to be read are ```text.
set -eu
. "$(dirname "$0")/lib/common.sh"
PATH=$(cd "$BUILD/bin" && pwd):$PATH
export PATH
awk '/^```sh$/ {on=1; next} /^```/ {on=0} on && !/^make /' docs/getting-started.md README.md >"$T/blocks.sh"
[ -s "$T/blocks.sh" ] || { echo "FAIL: no sh blocks found"; exit 1; }
n=0
ln -s "$(pwd)/models" "$T/models"
ln -s "$(pwd)/tests" "$T/tests"
cd "$T"
while IFS= read -r line; do
    [ -n "$line" ] || continue
    n=$((n + 1))
    echo "\$ $line"
    set +e
    sh -c "$line" >"$T/o" 2>&1
    rc=$?
    set -e
    # `check` reports violations with exit 1 by design; everything else must succeed.
    case "$line" in *" check "*) ok=1 ;; *) ok=0 ;; esac
    if [ "$rc" -ne 0 ] && [ "$rc" -ne "$ok" ]; then
        cat "$T/o"
        echo "FAIL: exit $rc"
        exit 1
    fi
done <"$T/blocks.sh"
[ -s "$T/out/layers.svg" ] || { echo "FAIL: the plot was not written"; exit 1; }
echo "docs: $n commands ran"

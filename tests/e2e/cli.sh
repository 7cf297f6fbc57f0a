#!/bin/sh
# The command line's manners: --help and `help CMD` for every subcommand (exit 0), misspelt
# commands, options and family names get exit 2 and the nearest valid spelling, and every
# option a subcommand's source parses is known to the flag table (tools/help.c).
set -eu
. "$(dirname "$0")/lib/common.sh"

"$AF" --version | grep -q '^aneforge [0-9]' || fail "--version"
"$AF" --help | grep -q 'usage: aneforge <command>' || fail "--help"
set +e; "$AF" >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "no arguments should exit 2, got $rc"

# command → the source files whose option strings it accepts
for spec in convert:convert.c,compress_flags.c run:run.c inspect:inspect.c validate:validate.c \
            bench:bench.c check:check.c estimate:estimate.c targets:targets.c \
            sd-trajectory:sd_trajectory.c; do
    cmd=${spec%%:*}
    files=${spec#*:}
    "$AF" "$cmd" --help >"$T/h" || fail "$cmd --help exit $?"
    grep -q "^usage:" "$T/h" && grep -q "^examples:" "$T/h" || fail "$cmd --help text"
    "$AF" help "$cmd" | cmp -s - "$T/h" || fail "help $cmd differs from $cmd --help"
    for f in $(echo "$files" | tr , ' '); do
        for opt in $(grep -oE '"--[a-z][a-z0-9-]*"' "tools/$f" | tr -d '"' | sort -u); do
            set +e
            "$AF" "$cmd" "$opt" >/dev/null 2>"$T/e"
            set -e
            if grep -q "unknown option" "$T/e"; then fail "$cmd: '$opt' is parsed in tools/$f but not in tools/help.c"; fi
        done
    done
done

expect_hint() { # expect_hint HINT -- CMD...
    hint=$1
    shift 2
    set +e
    "$@" >/dev/null 2>"$T/e"
    rc=$?
    set -e
    [ "$rc" -eq 2 ] && grep -q "$hint" "$T/e" && [ "$(wc -l <"$T/e")" -eq 1 ] ||
        { fail "$* -> exit $rc: $(cat "$T/e") (want: $hint)"; return 0; }
    echo "ok: $(cat "$T/e")"
}
expect_hint "did you mean 'convert'" -- "$AF" conver x.onnx
expect_hint "did you mean '--compress'" -- "$AF" convert x.onnx -o y.afb --compres int8
expect_hint "did you mean '--inputs'" -- "$AF" run y.afb --input in
expect_hint "did you mean 'h14'" -- "$AF" check models/small_cnn/model.onnx --target h41
expect_hint "needs a value" -- "$AF" run y.afb --inputs

echo "cli: $fails failures"
[ "$fails" -eq 0 ]

#!/bin/sh
# tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS [NAME...] — runs every harness BUILD_DIR/fuzz/fuzz_NAME
# (or the NAMEs given) for SECONDS each, one after the other, on a corpus seeded by seeds.sh
# and kept in BUILD_DIR/fuzz/corpus/NAME (it grows across runs). Uses tests/fuzz/NAME.dict when
# present (onnx.dict for fuzz_convert). Crash inputs land in BUILD_DIR/fuzz/artifacts/.
# Prints one summary line per harness ("fuzz_onnx: 60 s, 123456 execs, 0 crashes") and exits 1
# if any harness found a crash.
set -eu
BUILD=${1:?usage: run_fuzz.sh BUILD_DIR SECONDS [NAME...]}
SECS=${2:?}
shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
if [ $# -eq 0 ]; then
    for h in "$BUILD"/fuzz/fuzz_*; do [ -x "$h" ] && set -- "$@" "${h##*/fuzz_}"; done
fi
[ $# -gt 0 ] || { echo "run_fuzz.sh: no harnesses in $BUILD/fuzz" >&2; exit 2; }
# Leaks are reported at exit by LeakSanitizer; the allocator returns NULL instead of dying
# on an impossible request so the library's own out-of-memory path is exercised.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
mkdir -p "$BUILD/fuzz/artifacts"
for name in "$@"; do
    exe=$BUILD/fuzz/fuzz_$name
    corpus=$BUILD/fuzz/corpus/$name
    seeds=$BUILD/fuzz/seeds/$name
    log=$BUILD/fuzz/$name.log
    mkdir -p "$corpus"
    rm -rf "$seeds"
    sh "$ROOT/tests/fuzz/seeds.sh" "$BUILD" "$name" "$seeds" >/dev/null
    dict=
    d=$name
    [ "$name" = convert ] && d=onnx # fuzz_convert reads ONNX
    [ "$name" = onnx_describe ] && d=onnx # --freeze and model description
    [ -f "$ROOT/tests/fuzz/$d.dict" ] && dict="-dict=$ROOT/tests/fuzz/$d.dict"
    rc=0
    # -rss_limit_mb / -malloc_limit_mb: a parser that allocates what the file cannot back
    # shows up as an out-of-memory "crash" (the seeds are all far below these limits).
    "$exe" $dict -max_total_time="$SECS" -max_len=131072 -timeout=30 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$BUILD/fuzz/artifacts/$name-" \
        "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    crashes=0
    if [ "$rc" -ne 0 ]; then
        crashes=1
        failed=1
    fi
    echo "fuzz_$name: ${secs:-?} s, ${execs:-?} execs, $crashes crashes, corpus $(ls "$corpus" | wc -l) files (log $log)"
    if [ "$rc" -ne 0 ]; then grep -m 5 -E 'ERROR|SUMMARY|Test unit written' "$log" >&2 || true; fi
done
exit $failed

#!/bin/sh
# End to end for the ANE family table, the preflight (check, convert --target, the partition in
# inspect), fp16 divergence flags and the cost model, on models/fp16_overflow (built to go wrong
# in fp16, with one Sin that h13 lacks) and models/small_cnn. No timing assertions: estimates are
# compared with each other only (same model, faster family → not slower).
set -eu
. "$(dirname "$0")/lib/common.sh"
M=models/fp16_overflow/model.onnx

expect_rc() { # expect_rc CODE CMD... (stdout+stderr to $T/out)
    want=$1; shift
    set +e; "$@" >"$T/out" 2>&1; rc=$?; set -e
    if [ "$rc" -ne "$want" ]; then echo "FAIL: exit $rc (want $want): $*"; cat "$T/out"; exit 1; fi
}
expect_out() { grep -q -- "$1" "$T/out" || { echo "FAIL: no '$1' in output of the last command"; cat "$T/out"; exit 1; }; }

# the table, with provenance
expect_rc 0 "$AF" targets
for f in "h13 (m1)" "h14 (m2)" "h15 (m3)" "h16 (m4)" "h17s (m5)" "Apple" "assumed"; do expect_out "$f"; done
expect_rc 0 "$AF" targets --json
expect_out '"name":"h17s"'
expect_out '"source":'

# unknown family names are refused up front with the known names, by every command
expect_rc 2 "$AF" check "$M" --target h12
expect_out "unknown target 'h12'; did you mean 'h13', 'h14' or 'h15'? (known: h13 (m1), h14 (m2), h15 (m3), h16 (m4), h17s (m5); chips a11 ... a19pro, m1 ... m5max"
expect_rc 2 "$AF" estimate "$M" --target M1
expect_rc 2 "$AF" convert "$M" -o "$T/x.afb" --target gpu
[ ! -e "$T/x.afb" ] || { echo "FAIL: a bundle was written for an unknown family"; exit 1; }

# preflight: the Sin is below h13's floor only
expect_rc 1 "$AF" check "$M" --target m1
expect_out "node 'wave' (sin): missing_op"
expect_out "6 of 7 nodes run on the ANE, 1 off it"
expect_rc 0 "$AF" check "$M" --target h14
# small_cnn's side branch pools with stride 4: off the ANE on every family
expect_rc 1 "$AF" check models/small_cnn/model.onnx --target h17s
expect_out "node '/side_pool/AveragePool' (pool): pool_stride: pooling stride 4 > 2"

# convert refuses a violating model unless --allow-fallback, which records the partition
expect_rc 3 "$AF" convert "$M" -o "$T/m1.afb" --target h13
expect_out "allow-fallback"
[ ! -e "$T/m1.afb" ] || { echo "FAIL: refused conversion left a bundle"; exit 1; }
expect_rc 0 "$AF" convert "$M" -o "$T/m1.afb" --target h13 --allow-fallback
expect_out "6 of 7 nodes on the ANE, 1 on the CPU"
expect_rc 0 "$AF" inspect "$T/m1.afb"
expect_out "partition: 6 nodes on the ANE, 1 on the CPU: wave"
expect_out '"device":"cpu"'
expect_rc 0 "$AF" convert "$M" -o "$T/m2.afb" --target m2
expect_rc 0 "$AF" inspect "$T/m2.afb"
expect_out "partition: 7 nodes on the ANE, 0 on the CPU"
# the bundle still runs everywhere (placement is advice for the ANE backend)
expect_rc 0 "$AF" run "$T/m1.afb" --inputs models/fp16_overflow/inputs --outputs "$T/m1.out"

# fp16 divergence: each flag with node, range and why
expect_rc 1 "$AF" check "$M" --fp16 --calib models/fp16_overflow/inputs
expect_out "fp16 overflow: tensor 'big' from node 'big_matmul' (matmul), range \["
expect_out "fp16 precision: tensor 'tiny' from node 'tiny_scale' (mul)"
expect_out "fp16 cancellation: tensor 'cancel' from node 'cancel_sub' (sub)"
expect_out "3 of "
expect_rc 0 "$AF" check models/small_cnn/model.onnx --fp16 --calib models/small_cnn/inputs

# estimates: same model, faster family → not slower; h17s below h13
prev=1e30
for f in h13 h14 h15 h16 h17s; do
    expect_rc 0 "$AF" estimate models/small_cnn/model.onnx --target "$f" --json
    t=$(sed -n 's/.*"time_ms":\([0-9.e+-]*\).*/\1/p' "$T/out")
    awk -v a="$t" -v b="$prev" 'BEGIN { exit !(a <= b) }' || { echo "FAIL: $f $t ms > previous $prev ms"; exit 1; }
    [ "$f" = h13 ] && first=$t
    prev=$t
done
awk -v a="$prev" -v b="$first" 'BEGIN { exit !(a < b) }' || { echo "FAIL: h17s $prev not below h13 $first"; exit 1; }
echo "estimates: h13 $first ms ... h17s $prev ms"
expect_rc 2 "$AF" estimate models/small_cnn/model.onnx --target h14 --assume-weights int3
expect_rc 0 "$AF" estimate models/small_cnn/model.onnx --target h14 --assume-weights int4
expect_out "weights .* MB read (int4)"
# host: probe + measured run (printed for docs/targets.md, never asserted)
"$AF" convert models/small_cnn/model.onnx -o "$T/cnn.afb" -q
expect_rc 0 "$AF" estimate "$T/cnn.afb" --target host --measure --runs 5
expect_out "measured: median"
expect_rc 2 "$AF" estimate models/small_cnn/model.onnx --target host --measure
echo "targets: ok"

#!/bin/sh
# A model from the wild with an `If` on a scalar input (an audio front end's sample-rate branch):
# `convert` refuses it while the condition depends on a graph input, proposing --freeze; frozen
# at 16000 and at 44100 each bundle runs the branch ONNX Runtime takes for that input.
# fp32 bundles vs ONNX Runtime: >= 80 dB (both compute the same f32 convs; measured > 120 dB).
set -eu
. "$(dirname "$0")/lib/common.sh"
have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
"$PY" tests/data/wild/make_if_model.py "$T/m" >/dev/null
M=$T/m/if_sample_rate.onnx
expect 3 "--freeze sample_rate=" -- "$AF" convert "$M" -o "$T/unfrozen.afb"
[ ! -e "$T/unfrozen.afb" ] || fail "a refused conversion left $T/unfrozen.afb"
for sr in 16000 44100; do
    node "$ORACLE" "$M" "$T/m/inputs_$sr" "$T/ref_$sr"
    "$AF" convert "$M" -o "$T/if_$sr.afb" --compress fp32 -q --freeze "sample_rate=$T/m/inputs_$sr/sample_rate.npy"
    "$AF" run "$T/if_$sr.afb" --inputs "$T/m/inputs_$sr" --outputs "$T/out_$sr"
    printf 'if sample_rate=%s: ' "$sr"
    "$CMP" "$T/ref_$sr" "$T/out_$sr" --min-psnr 80 || fail "sample_rate=$sr"
done
# The two frozen bundles hold different branches (3x3 conv + relu vs 1x1 conv + sigmoid).
"$AF" inspect "$T/if_16000.afb" | grep -q conv || fail "16000 bundle has no conv"
[ "$fails" -eq 0 ]

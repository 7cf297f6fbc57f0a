#!/bin/sh
# Pre-quantized ONNX models as quantization tools write them (models/make_quant_models.py):
# ONNX Runtime's dynamic form of a CNN and of a transformer-style MLP (DynamicQuantizeLinear +
# ConvInteger / MatMulInteger + Cast + Mul + Add), a static QDQ CNN (per-channel int8 weights,
# per-tensor uint8 activations) and the same CNN in QLinearConv / QLinearMatMul form, each
# converted and run against ONNX Runtime; a torch-style QDQ graph (qdq_int) whose integer groups
# must come out bit-identical; plus malformed quantization parameters (exit 3).
# Skipped (exit 77) when torch or the ONNX Runtime oracle are not installed.
#
# Thresholds. fp32 >= 80 dB: the integer parts are exact on both sides (int32 accumulation,
# round-half-to-even requantization in f32 as ONNX Runtime does it), and the dynamic and QLinear
# models come out bit-identical to ONNX Runtime; in the QDQ CNN both sides run the convs as
# integer convs (DQ -> Conv -> Relu -> Q groups, lowering/fuse_qdq.c), but its GlobalAveragePool
# (no Q right after it) and its classifier Gemm (float output, which ONNX Runtime runs as an
# integer QGemm with a float epilogue) stay f32 in aneforge: they differ by f32 rounding only
# (about 145 dB measured).
# fp16 (the default) >= 50 dB as for the float CNNs: float biases and weights round to fp16,
# while the pre-quantized weights keep the model's own int8 codes and scales, and quantization
# scales, zero points and int32 (QDQ) biases stay exact; so the QDQ CNN must still reach 80 dB.
set -eu
. "$(dirname "$0")/lib/common.sh"
have_torch || { echo "skip: python3-torch not installed"; exit $SKIP; }
have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
H=$(cksum models/make_quant_models.py | cut -d' ' -f1)
CACHE=$BUILD/models-cache/quant-$H
if [ ! -f "$CACHE/.done" ]; then
    "$PY" models/make_quant_models.py "$CACHE" >/dev/null
    for m in qdyn_cnn qdyn_mlp qdq_cnn qlinear_cnn qdq_int qdq_pairs; do
        node "$ORACLE" "$CACHE/$m/model.onnx" "$CACHE/$m/inputs" "$CACHE/$m/reference"
    done
    touch "$CACHE/.done"
fi
for m in qdyn_cnn qdyn_mlp qdq_cnn qlinear_cnn; do
    convert_run_compare "$CACHE/$m" "$m" fp32 80 "$CACHE/$m/reference"
    # the QDQ CNN has no float constant left to round: its fp16 bundle is its fp32 bundle
    min16=50; [ "$m" = qdq_cnn ] && min16=80
    convert_run_compare "$CACHE/$m" "$m" fp16 "$min16" "$CACHE/$m/reference"
done

# QDQ weights keep the model's int8 whatever --compress says, and inspect tells how they came in:
# the convs' as the int8 codes of their qlinear_conv, the Gemm's (float output, not fused) as a
# pre-quantized int8 weight.
convert_run_compare "$CACHE/qdq_cnn" qdq_cnn int4 80 "$CACHE/qdq_cnn/reference"
"$AF" inspect "$T/qdq_cnn.int4.afb" >"$T/inspect"
grep -q "ops: .*qlinear_conv×2" "$T/inspect" || fail "the QDQ convs are not qlinear_conv"
n=$(grep -c "pre-quantized: int8, per-axis 0 ([0-9]* scales), with zero points" "$T/inspect" || true)
[ "$n" -eq 1 ] || fail "inspect shows $n pre-quantized weights, want 1: $(cat "$T/inspect")"
grep -q "int8 .*fc_W" "$T/inspect" || fail "fc_W is not stored as int8"
"$AF" inspect "$T/qdq_cnn.int4.afb" --json >"$T/inspect.json"
grep -q '"pre_quantized":\[{"tensor":"fc_W","codes":"int8","granularity":"per-axis","axis":0,"scales":10,"zero_points":1' \
    "$T/inspect.json" || fail "metadata has no pre_quantized entry for fc_W"

# QDQ groups are ONNX Runtime's integer ops on both sides (lowering/fuse_qdq.c): every output,
# the uint8 codes of each group included, must be bit-identical to ONNX Runtime's. qdq_int:
# torch-style Conv[-Relu], GlobalAveragePool, Gemm, Add and Mul groups (the f32 ops flipped 5 of
# its 62720 conv codes) and MaxPools between equal DQ / Q parameters (pooled on the codes); qdq_pairs: every pair of codes through an Add and a Mul whose scales
# make ONNX Runtime's QLinearAdd / QLinearMul formulas differ from the plain QDQ ones.
for m in qdq_int qdq_pairs; do
    outs="add_q mul_q"
    [ "$m" = qdq_int ] && outs="relu1_q conv2_q gap_q add_q se_q mp2_q mp3_q output"
    for c in fp32 fp16; do
        "$AF" convert "$CACHE/$m/model.onnx" -o "$T/$m.$c.afb" --compress "$c" -q
        "$AF" run "$T/$m.$c.afb" --inputs "$CACHE/$m/inputs" --outputs "$T/$m.$c.out"
        printf '%s %s: ' "$m" "$c"
        "$PY" -c 'import sys, numpy as np
for n in sys.argv[3].split():
    a, r = (np.load(f"{d}/{n}.npy") for d in sys.argv[1:3])
    if a.dtype != r.dtype or a.shape != r.shape or (a != r).any():
        sys.exit(f"{n}: {int((a != r).sum())} of {r.size} values differ from ONNX Runtime")
print("bit-identical to ONNX Runtime")' "$T/$m.$c.out" "$CACHE/$m/reference" "$outs" ||
            fail "$m $c differs from ONNX Runtime"
    done
done
"$AF" inspect "$T/qdq_int.fp32.afb" | grep "ops:" >"$T/ops"
for op in qlinear_conv×2 qlinear_global_avgpool×1 qlinear_matmul×1 qlinear_binary×2; do
    grep -q " $op" "$T/ops" || fail "qdq_int: no $op among the integer ops: $(cat "$T/ops")"
done
grep -q " conv×\| gemm×\| add×\| mul×" "$T/ops" && fail "qdq_int: f32 ops left: $(cat "$T/ops")"
# the two max pools between equal parameters pool the codes: no QuantizeLinear after them (4 left:
# the input, the pool with zero point 37, the gate and the flattened pool's)
grep -q " quantize×4 " "$T/ops" || fail "qdq_int: the max pools' Q/DQ were not dropped: $(cat "$T/ops")"

# Malformed quantization parameters: exit 3, one line naming the node.
expect 3 "node 'conv1_W_DequantizeLinear' (dequantize): scale \[5\] must be one value or one per element of axis 0" \
    -- "$AF" convert "$CACHE/bad_scale_shape/model.onnx" -o "$T/bad.afb"
expect 3 "node 'conv1_W_DequantizeLinear' (dequantize): scale 'conv1_W_scale' is 0 at index 3" \
    -- "$AF" convert "$CACHE/bad_zero_scale/model.onnx" -o "$T/bad.afb"
[ "$fails" -eq 0 ]

#!/bin/sh
# Pre-quantized ONNX models as quantization tools write them (models/make_quant_models.py):
# ONNX Runtime's dynamic form of a CNN and of a transformer-style MLP (DynamicQuantizeLinear +
# ConvInteger / MatMulInteger + Cast + Mul + Add), a static QDQ CNN (per-channel int8 weights,
# per-tensor uint8 activations) and the same CNN in QLinearConv / QLinearMatMul form, each
# converted and run against ONNX Runtime; plus malformed quantization parameters (exit 3).
# Skipped (exit 77) when torch or the ONNX Runtime oracle are not installed.
#
# Thresholds. fp32 >= 80 dB: the integer parts are exact on both sides (int32 accumulation,
# round-half-to-even requantization in f32 as ONNX Runtime does it), and the dynamic and QLinear
# models come out bit-identical to ONNX Runtime; in the QDQ CNN, ONNX Runtime fuses
# DQ -> Conv -> Q into an integer conv while aneforge runs the f32 conv of the dequantized
# values, so the two differ by f32 summation order only (about 147 dB measured); a quantization
# tie flipped by that would cost one code in one element, far above 80 dB in these sizes.
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
    for m in qdyn_cnn qdyn_mlp qdq_cnn qlinear_cnn; do
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

# QDQ weights keep the model's int8 whatever --compress says, and inspect tells how they came in.
convert_run_compare "$CACHE/qdq_cnn" qdq_cnn int4 80 "$CACHE/qdq_cnn/reference"
"$AF" inspect "$T/qdq_cnn.int4.afb" >"$T/inspect"
n=$(grep -c "pre-quantized: int8, per-axis 0 ([0-9]* scales), with zero points" "$T/inspect" || true)
[ "$n" -eq 3 ] || fail "inspect shows $n pre-quantized weights, want 3: $(cat "$T/inspect")"
grep -q "int8 .*conv1_W" "$T/inspect" || fail "conv1_W is not stored as int8"
"$AF" inspect "$T/qdq_cnn.int4.afb" --json >"$T/inspect.json"
grep -q '"pre_quantized":\[{"tensor":"conv1_W","codes":"int8","granularity":"per-axis","axis":0,"scales":8,"zero_points":1' \
    "$T/inspect.json" || fail "metadata has no pre_quantized entry for conv1_W"

# Malformed quantization parameters: exit 3, one line naming the node.
expect 3 "node 'conv1_W_DequantizeLinear' (dequantize): scale \[5\] must be one value or one per element of axis 0" \
    -- "$AF" convert "$CACHE/bad_scale_shape/model.onnx" -o "$T/bad.afb"
expect 3 "node 'conv1_W_DequantizeLinear' (dequantize): scale 'conv1_W_scale' is 0 at index 3" \
    -- "$AF" convert "$CACHE/bad_zero_scale/model.onnx" -o "$T/bad.afb"
[ "$fails" -eq 0 ]

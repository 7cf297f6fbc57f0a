#!/bin/sh
# FLOAT16 graphs (models/make_fp16_cnn.py): torchvision resnet18 (seeded random weights,
# 1x3x64x64) converted to fp16 with onnx.helper as fp16 converters write it, run against ONNX
# Runtime running the same fp16 graph, plus a rounding-sensitive fp16 chain against numpy's
# float16 arithmetic.
#  - keepio: fp32 input/output kept through Casts, which the converter-style file appends at the
#    END of the node list (keepio_unsorted: the import sorts it, as ONNX Runtime does).
#  - pure: f16 input and output ('<f2' .npy in and out; inspect shows f16 I/O).
#  - transformer: a torch TransformerEncoderLayer (LayerNormalization, Erf, Softmax) in fp16.
#  ≥ 60 dB against ONNX Runtime (measured ~70 dB: ONNX Runtime's CPU provider has no fp16 Conv/
#  BatchNormalization/Add kernels and drops the half rounding between the f32 ops it substitutes,
#  while the bundle rounds where the graph produces fp16 values; the fp32 graph itself is also
#  ~70 dB from that reference, so the gate is what the issue asks, not tighter).
#  - ops: the bundle must equal numpy's float16 result exactly (every op rounded to half, which
#    ONNX Runtime does not do here: it is ~48 dB off); default fp16 weights and --compress fp32
#    must give byte-identical outputs (weights stored in FLOAT16 are kept exactly by both).
set -eu
. "$(dirname "$0")/lib/common.sh"
have_torch || { echo "skip: python3-torch/python3-torchvision not installed"; exit $SKIP; }
have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
KEEPIO=keepio_unsorted
C=$BUILD/models-cache/fp16_cnn
if [ ! -f "$C/.done3" ]; then
    "$PY" models/make_fp16_cnn.py "$C"
    for m in keepio_unsorted pure transformer; do node "$ORACLE" "$C/$m/model.onnx" "$C/$m/inputs" "$C/$m/reference"; done
    touch "$C/.done3"
fi
for m in "$KEEPIO" pure transformer; do
    convert_run_compare "$C/$m" "$m" fp16 60 "$C/$m/reference"
    convert_run_compare "$C/$m" "$m" fp32 60 "$C/$m/reference"
done
# rounding is deferred past Relu and a Conv's BatchNormalization: every BN folds, the 9
# Conv → BN → Relu fuse, the 11 other Convs take their rounding as epilogue (the 8 Relus after
# a residual Add stay: the Conv output is rounded before the Add, as the graph says, so the
# residual fusion does not apply)
"$AF" convert "$C/pure/model.onnx" -o "$T/pure.check.afb" >"$T/convert"
grep -q "20 batchnorms folded, 20 activations fused" "$T/convert" ||
    fail "pure: fusions lost: $(cat "$T/convert")"
"$AF" inspect "$T/pure.fp16.afb" >"$T/inspect"
grep -q "input   input: f16\[1,3,64,64\]" "$T/inspect" || fail "pure: input is not f16: $(cat "$T/inspect")"
grep -q "output  output: f16\[1,1000\]" "$T/inspect" || fail "pure: output is not f16"
head -c 64 "$T/pure.fp16.out/output.npy" | grep -q "'<f2'" || fail "pure: output .npy is not <f2"
head -c 64 "$T/$KEEPIO.fp16.out/output.npy" | grep -q "'<f4'" || fail "keepio: output .npy is not <f4"
for c in fp16 fp32; do convert_run_compare "$C/ops" ops "$c" 200 "$C/ops/reference"; done
cmp -s "$T/ops.fp16.out/y.npy" "$T/ops.fp32.out/y.npy" || fail "ops: fp16 and fp32 bundles differ"
[ "$fails" -eq 0 ]

#!/bin/sh
# make demo: convert a shipped model, run it on a shipped input, and compare with the shipped
# ONNX Runtime reference.
set -eu
BUILD=${1:-build}
AF=$BUILD/bin/aneforge
M=models/small_cnn
OUT=$BUILD/demo
mkdir -p "$OUT"
echo "== the model"
"$AF" inspect "$M/model.onnx"
echo
echo "== convert (fp16 weights, the default)"
"$AF" convert "$M/model.onnx" -o "$OUT/small_cnn.afb"
echo
echo "== the bundle"
"$AF" inspect "$OUT/small_cnn.afb"
echo
echo "== run on $M/inputs"
"$AF" run "$OUT/small_cnn.afb" --inputs "$M/inputs"
"$AF" run "$OUT/small_cnn.afb" --inputs "$M/inputs" --outputs "$OUT/outputs"
echo
echo "== agreement with ONNX Runtime ($M/reference)"
"$BUILD/tests/af_npycmp" "$M/reference" "$OUT/outputs" --min-psnr 50

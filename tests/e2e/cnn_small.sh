#!/bin/sh
# End to end on the committed small models: ONNX → bundle → runtime, compared with the
# committed ONNX Runtime outputs.
# Thresholds: fp32 bundles differ from ONNX Runtime only in summation order (relative error
# ~1e-6, i.e. PSNR well above 100 dB), so 80 dB leaves a wide margin yet fails on any real bug.
# fp16 bundles round every weight to 11 significant bits (relative error ≤ 2^-11 ≈ 4.9e-4
# per weight, ~66 dB for one layer, a few dB lost through depth); the issue's bar is 50 dB.
set -eu
. "$(dirname "$0")/lib/common.sh"
for m in small_cnn tiny_mlp; do
    convert_run_compare "models/$m" "$m" fp32 80 "models/$m/reference"
    convert_run_compare "models/$m" "$m" fp16 50 "models/$m/reference"
done
# Conversion is deterministic: the same model and flags give a byte-identical bundle.
"$AF" convert models/small_cnn/model.onnx -o "$T/again.afb" --compress fp16 -q
cmp "$T/small_cnn.fp16.afb" "$T/again.afb"
echo "deterministic: ok"

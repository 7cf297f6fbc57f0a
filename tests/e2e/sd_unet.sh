#!/bin/sh
# The whole SD-1.5-topology UNet (UNet2DConditionModel: time embedding from a float timestep,
# down/mid/up blocks with skip concatenations, cross-attention on a context), reduced size
# (block channels 32/64/64/64, 16×16 latent, context 8×32): generated on demand by
# models/make_sd_blocks.py sd_unet into $BUILD/models-cache/sd_unet (too large to commit),
# referenced by ONNX Runtime, converted as fp32 and fp16 bundles. Thresholds as in sd_blocks.sh:
# fp32 ≥ 80 dB, fp16 ≥ 50 dB. The full size runs with `SD_BLOCKS=sd_unet` in sd_full.sh.
# Skipped (exit 77) without torch or the ONNX Runtime oracle.
set -eu
. "$(dirname "$0")/lib/common.sh"
have_torch || { echo "skip: python3-torch not installed"; exit $SKIP; }
have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
CACHE=$BUILD/models-cache
m=sd_unet
if [ ! -f "$CACHE/$m/reference/.done" ]; then
    "$PY" models/make_sd_blocks.py "$CACHE" "$m" 2>/dev/null | cut -c1-200
    node "$ORACLE" "$CACHE/$m/model.onnx" "$CACHE/$m/inputs" "$CACHE/$m/reference" --threads 1
    touch "$CACHE/$m/reference/.done"
fi
convert_run_compare "$CACHE/$m" "$m" fp32 80 "$CACHE/$m/reference"
convert_run_compare "$CACHE/$m" "$m" fp16 50 "$CACHE/$m/reference"

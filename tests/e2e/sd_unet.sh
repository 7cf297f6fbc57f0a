#!/bin/sh
# The whole SD-1.5-topology UNet (UNet2DConditionModel: time embedding from a float timestep,
# down/mid/up blocks with skip concatenations, cross-attention on a context), reduced size
# (block channels 32/64/64/64, 16×16 latent, context 8×32): generated on demand by
# models/make_sd_blocks.py sd_unet into $BUILD/models-cache/sd_unet (too large to commit;
# sd_unet_model in lib/common.sh), referenced by ONNX Runtime, converted as fp32 and fp16
# bundles. Thresholds as in sd_blocks.sh: fp32 ≥ 80 dB, fp16 ≥ 50 dB. The full size runs with
# `SD_BLOCKS=sd_unet` in sd_full.sh. Skipped (exit 77) without torch or the ONNX Runtime oracle.
set -eu
. "$(dirname "$0")/lib/common.sh"
have_torch || { echo "skip: python3-torch not installed"; exit $SKIP; }
have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
m=sd_unet
U=$(sd_unet_model)
if [ ! -f "$U/reference/.done" ]; then
    node "$ORACLE" "$U/model.onnx" "$U/inputs" "$U/reference" --threads 1
    touch "$U/reference/.done"
fi
convert_run_compare "$U" "$m" fp32 80 "$U/reference"
convert_run_compare "$U" "$m" fp16 50 "$U/reference"

#!/bin/sh
# Stable Diffusion 1.5 blocks at full size (labelled slow: skipped by `make check`; run with
# `ctest -L slow -R sd_full`): generated on demand by models/make_sd_blocks.py --full into
# $BUILD/models-cache/sd_full, referenced by ONNX Runtime, converted as fp32 and fp16 bundles.
# Thresholds as in sd_blocks.sh: fp32 ≥ 80 dB, fp16 ≥ 50 dB. Also prints the peak resident set
# of `aneforge run` on the 320×64×64 Transformer2D (from /usr/bin/time -v; reported, not
# asserted: no timing or memory assertions in tests) and checks the fused ops with inspect.
# Skipped (exit 77) without torch or the ONNX Runtime oracle.
set -eu
. "$(dirname "$0")/lib/common.sh"
have_torch || { echo "skip: python3-torch not installed"; exit $SKIP; }
have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
CACHE=$BUILD/models-cache/sd_full
for m in ${SD_BLOCKS:-sd_resnet sd_resnet_shortcut sd_transformer sd_transformer_1280 sd_down \
                       sd_upsample sd_vae_mid}; do
    if [ ! -f "$CACHE/$m/reference/.done" ]; then
        "$PY" models/make_sd_blocks.py --full "$CACHE" "$m" 2>/dev/null | cut -c1-200
        node "$ORACLE" "$CACHE/$m/model.onnx" "$CACHE/$m/inputs" "$CACHE/$m/reference" --threads 2
        touch "$CACHE/$m/reference/.done"
    fi
    convert_run_compare "$CACHE/$m" "$m" fp32 80 "$CACHE/$m/reference"
    convert_run_compare "$CACHE/$m" "$m" fp16 50 "$CACHE/$m/reference"
    rm -f "$T/$m.fp16.afb"
done
b="$T/sd_transformer.fp32.afb"
if [ -f "$b" ]; then
    "$AF" inspect "$b" | grep 'ops:'
    for op in softmax erf sqrt pow; do
        ! "$AF" inspect "$b" | grep 'ops:' | grep -q "[ ]$op×" || { echo "FAIL: $op left"; exit 1; }
    done
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$AF" run "$b" --inputs "$CACHE/sd_transformer/inputs" \
            --outputs "$T/rss.out" 2>"$T/time.txt"
        echo "sd_transformer 320x64x64 fp32: peak RSS $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time.txt") kB"
    fi
fi

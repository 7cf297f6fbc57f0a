#!/bin/sh
# bench/compression.sh — the compression table of docs/compression.md: bundle size relative to
# the fp32 ONNX file and output PSNR against the fp32 bundle, per model and encoding.
#
#   bench/compression.sh BUILD_DIR MODELS_DIR
#
# MODELS_DIR holds <model>/model.onnx and <model>/inputs/*.npy, made by
#   /usr/bin/python3 models/export_torchvision.py MODELS_DIR resnet18 mobilenet_v2
#   /usr/bin/python3 models/make_sd_blocks.py --full MODELS_DIR sd_resnet
# auto is run WITHOUT --calib (seeded random inputs) and judged on the models' real inputs, so
# the PSNR column is not measured on the data the gate saw.
set -eu
BUILD=${1:?usage: bench/compression.sh BUILD_DIR MODELS_DIR}
MODELS=${2:?usage: bench/compression.sh BUILD_DIR MODELS_DIR}
AF=$BUILD/bin/aneforge
CMP=$BUILD/tests/af_npycmp
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

psnr() { # REF_DIR OUT_DIR -> lowest PSNR over the outputs
    "$CMP" "$1" "$2" 2>&1 | sed -n 's/.*PSNR \([^ ]*\) dB.*/\1/p' | sort -g | head -1
}

echo "| model | encoding | bundle / fp32 ONNX | output PSNR vs fp32 bundle (dB) | convert s |"
echo "|---|---|---|---|---|"
for m in resnet18 mobilenet_v2 sd_resnet; do
    [ -f "$MODELS/$m/model.onnx" ] || { echo "| $m | (model missing) | | | |"; continue; }
    onnx_bytes=$(stat -c %s "$MODELS/$m/model.onnx")
    "$AF" convert "$MODELS/$m/model.onnx" -o "$OUT/$m.fp32.afb" --compress fp32 -q
    "$AF" run "$OUT/$m.fp32.afb" --inputs "$MODELS/$m/inputs" --outputs "$OUT/$m.fp32" >/dev/null
    for spec in fp16 int8 int4 blockwise "blockwise --block-bits 8" "sparse --sparsity 0.5" \
                "auto --target h14" "auto --target h13"; do
        tag=$(echo "$spec" | tr ' ' '_')
        t0=$(date +%s.%N)
        # shellcheck disable=SC2086 # spec is a list of flags
        "$AF" convert "$MODELS/$m/model.onnx" -o "$OUT/$m.$tag.afb" --compress $spec -q \
            --allow-fallback 2>/dev/null || "$AF" convert "$MODELS/$m/model.onnx" \
            -o "$OUT/$m.$tag.afb" --compress $spec -q 2>/dev/null
        t1=$(date +%s.%N)
        "$AF" run "$OUT/$m.$tag.afb" --inputs "$MODELS/$m/inputs" --outputs "$OUT/$m.$tag" >/dev/null
        bytes=$(stat -c %s "$OUT/$m.$tag.afb")
        printf '| %s | %s | %.3f | %s | %.1f |\n' "$m" "$spec" \
            "$(echo "$bytes / $onnx_bytes" | bc -l)" "$(psnr "$OUT/$m.fp32" "$OUT/$m.$tag")" \
            "$(echo "$t1 - $t0" | bc -l)"
    done
done

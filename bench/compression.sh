#!/bin/sh
# bench/compression.sh — the compression tables of docs/compression.md: bundle size relative to
# the fp32 ONNX file, output PSNR and cosine against the fp32 bundle, per model and encoding;
# then, for each auto run, the weight bytes by stored encoding.
#
#   bench/compression.sh BUILD_DIR MODELS_DIR
#
# MODELS_DIR holds <model>/model.onnx and <model>/inputs/*.npy, made by
#   /usr/bin/python3 models/export_torchvision.py MODELS_DIR resnet18 mobilenet_v2
#   /usr/bin/python3 models/make_sd_blocks.py --full MODELS_DIR sd_resnet
# Rows without --calib are data-free (auto then judges on seeded random inputs); rows with
# --calib use 4 sets of seeded N(0,1) inputs made here (not the exported input, on which every
# row is measured). MODELS_LIST: the models to run (default "resnet18 mobilenet_v2 sd_resnet");
# other models need fixed input shapes. Needs /usr/bin/python3 with numpy for the sets.
set -eu
BUILD=${1:?usage: bench/compression.sh BUILD_DIR MODELS_DIR}
MODELS=${2:?usage: bench/compression.sh BUILD_DIR MODELS_DIR}
AF=$BUILD/bin/aneforge
CMP=$BUILD/tests/af_npycmp
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

worst() { # REF_DIR OUT_DIR -> "PSNR cosine" of the output with the lowest PSNR
    "$CMP" "$1" "$2" 2>&1 | sed -n 's/.*PSNR \([^ ]*\) dB.*cosine \([^,]*\),.*/\1 \2/p' |
        sort -g | head -1
}

SPECS='fp16
int8
int4 --palette-scale none
int4
int4 --group-size 4
int4 --palette-scale none --group-size 1
palette --palette-bits 6
palette --palette-bits 8
palette --palette-bits 3
palette --palette-bits 2
blockwise
blockwise --block-bits 8
sparse --sparsity 0.5
auto --target h14
auto --target h13
int4 --calib
int4 --palette-scale none --calib
palette --palette-bits 6 --calib
auto --target h14 --calib
auto --target h13 --calib'

calib_sets() { # MODEL_DIR OUT_DIR: 4 sets of seeded N(0,1) inputs shaped like MODEL_DIR/inputs
    /usr/bin/python3 - "$1/inputs" "$2" <<'PY'
import os, sys
import numpy as np
src, out = sys.argv[1], sys.argv[2]
for k in range(4):
    os.makedirs(os.path.join(out, "set%d" % k), exist_ok=True)
    for f in sorted(os.listdir(src)):
        x = np.load(os.path.join(src, f))
        r = np.random.default_rng(1000 + k).standard_normal(x.shape).astype(x.dtype)
        np.save(os.path.join(out, "set%d" % k, f), r)
PY
}

echo "| model | encoding | bundle / fp32 ONNX | output PSNR vs fp32 bundle (dB) | cosine | convert s |"
echo "|---|---|---|---|---|---|"
for m in ${MODELS_LIST:-resnet18 mobilenet_v2 sd_resnet}; do
    [ -f "$MODELS/$m/model.onnx" ] || { echo "| $m | (model missing) | | | | |"; continue; }
    onnx_bytes=$(stat -c %s "$MODELS/$m/model.onnx")
    "$AF" convert "$MODELS/$m/model.onnx" -o "$OUT/$m.fp32.afb" --compress fp32 -q
    "$AF" run "$OUT/$m.fp32.afb" --inputs "$MODELS/$m/inputs" --outputs "$OUT/$m.fp32" >/dev/null
    calib_sets "$MODELS/$m" "$OUT/$m.calib"
    echo "$SPECS" | while read -r spec; do
        tag=$(echo "$spec" | tr ' ' '_')
        spec=$(echo "$spec" | sed "s|--calib|--calib $OUT/$m.calib|")
        t0=$(date +%s.%N)
        # shellcheck disable=SC2086 # spec is a list of flags
        "$AF" convert "$MODELS/$m/model.onnx" -o "$OUT/$m.$tag.afb" --compress $spec -q \
            --allow-fallback 2>/dev/null || "$AF" convert "$MODELS/$m/model.onnx" \
            -o "$OUT/$m.$tag.afb" --compress $spec -q 2>/dev/null
        t1=$(date +%s.%N)
        "$AF" run "$OUT/$m.$tag.afb" --inputs "$MODELS/$m/inputs" --outputs "$OUT/$m.$tag" >/dev/null
        bytes=$(stat -c %s "$OUT/$m.$tag.afb")
        set -- $(worst "$OUT/$m.fp32" "$OUT/$m.$tag")
        printf '| %s | %s | %.3f | %s | %s | %.1f |\n' "$m" "$(echo "$spec" | sed 's| /[^ ]*||')" \
            "$(echo "$bytes / $onnx_bytes" | bc -l)" "$1" "$2" "$(echo "$t1 - $t0" | bc -l)"
    done
done

echo
echo "| model | auto run | weights by stored encoding (aneforge inspect) |"
echo "|---|---|---|"
for f in "$OUT"/*.auto_*.afb; do
    [ -f "$f" ] || continue
    b=$(basename "$f" .afb)
    w=$("$AF" inspect "$f" | sed -n 's/^  weights: //p' | sed 's/;$//')
    printf '| %s | %s | %s |\n' "${b%%.*}" "$(echo "${b#*.}" | tr '_' ' ' | sed 's| --calib$| --calib|')" "$w"
done

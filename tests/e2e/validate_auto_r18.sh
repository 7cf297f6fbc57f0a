#!/bin/sh
# Issue #8 on ResNet-18 (label slow: `ctest -L slow -R validate_auto_r18`): int8 weights, fp16
# activations, a per-layer table of >= 20 layers whose worst layer is the first layer
# `--compress auto --target h14 --min-psnr 45` keeps larger; the SVG renders. The same argument
# and margins as validate_auto.sh, measured (docs/validation.md): layer gate 50 dB vs int8 layer
# PSNRs 54.3-64.4 dB and int4/blockwise-int4 far below; int8 model 43.9 dB < 45; worst layer
# 54.32 dB vs the next 55.64 dB. Uses the torchvision test's model cache when present, else
# exports ResNet-18 (seeded weights) into a temporary folder; skipped without torch.
set -eu
. "$(dirname "$0")/lib/common.sh"
D=$BUILD/models-cache/resnet18
if [ ! -f "$D/model.onnx" ] || [ ! -f "$D/inputs/input.npy" ]; then
    have_torch || { echo "skip: no ResNet-18 cache and no python3-torch to export it"; exit $SKIP; }
    "$PY" models/export_torchvision.py "$T/m" resnet18 >/dev/null
    D=$T/m/resnet18
fi
"$AF" convert "$D/model.onnx" -o "$T/r8.afb" --compress int8 -q
"$AF" convert "$D/model.onnx" -o "$T/ra.afb" --compress auto --target h14 --min-psnr 45 \
    --calib "$D/inputs" --data-free -q
"$AF" validate "$D/model.onnx" "$T/r8.afb" --inputs "$D/inputs" --fp16 --per-layer \
    --min-psnr 30 --top 22 --plot "$T/r8.svg" >"$T/r8.txt"
"$AF" validate "$D/model.onnx" "$T/ra.afb" --inputs "$D/inputs" --fp16 --per-layer \
    --top 5 --plot "$T/ra.svg" >"$T/ra.txt"
cat "$T/r8.txt" "$T/ra.txt"
n=$(sed -n 's/^per layer: r8.afb — \([0-9]*\) tensors compared.*/\1/p' "$T/r8.txt")
[ "$n" -ge 20 ]
worst=$(sed -n "s/^worst layer: r8.afb: '\([^']*\)'.*/\1/p" "$T/r8.txt")
first=$(sed -n "s/^auto promoted first: ra.afb: '\([^']*\)'.*/\1/p" "$T/ra.txt")
echo "int8 worst of $n layers: '$worst'; auto promoted first: '$first'"
[ -n "$worst" ] && [ "$worst" = "$first" ]
if command -v rsvg-convert >/dev/null; then
    for s in r8 ra; do
        rsvg-convert -o "$T/$s.png" "$T/$s.svg"
        [ "$(head -c 8 "$T/$s.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
    done
    echo "svg renders: ok"
fi
echo "resnet18 auto vs validate: ok"

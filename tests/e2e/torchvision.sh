#!/bin/sh
# ResNet-18, MobileNetV2 and SqueezeNet 1.1 from torchvision (seeded random weights, random
# BatchNorm statistics), exported by torch.onnx at opset 13, referenced by ONNX Runtime.
# Skipped (exit 77) when torch/torchvision or the ONNX Runtime oracle are not installed.
# Thresholds as in cnn_small.sh: fp32 ≥ 80 dB, fp16 ≥ 50 dB.
set -eu
. "$(dirname "$0")/lib/common.sh"
have_torch || { echo "skip: python3-torch/python3-torchvision not installed"; exit $SKIP; }
have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
CACHE=$BUILD/models-cache
for m in resnet18 mobilenet_v2 squeezenet1_1; do
    if [ ! -f "$CACHE/$m/reference/.done" ]; then
        "$PY" models/export_torchvision.py "$CACHE" "$m"
        node "$ORACLE" "$CACHE/$m/model.onnx" "$CACHE/$m/inputs" "$CACHE/$m/reference"
        touch "$CACHE/$m/reference/.done"
    fi
    convert_run_compare "$CACHE/$m" "$m" fp32 80 "$CACHE/$m/reference"
    convert_run_compare "$CACHE/$m" "$m" fp16 50 "$CACHE/$m/reference"
done

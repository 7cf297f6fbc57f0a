#!/bin/sh
# 2-layer bidirectional torch LSTM and GRU models (with and without initial states as graph
# inputs; models/export_rnn.py), exported by torch.onnx at opset 14, referenced by ONNX Runtime:
# fp32 bundles ≥ 80 dB PSNR on every output (Y through a Linear head, Y_h, Y_c). The recurrent
# ops run in f32 on the CPU with the same gate order and activations, so only summation order
# differs (measured ~140 dB). Exports are cached under $BUILD/models-cache/rnn.
# Skipped (exit 77) when the cache is empty and torch or the ONNX Runtime oracle are missing.
set -eu
. "$(dirname "$0")/lib/common.sh"
CACHE=$BUILD/models-cache/rnn
for m in lstm lstm_state gru gru_state; do
    if [ ! -f "$CACHE/$m/reference/.done" ]; then
        have_torch || { echo "skip: python3-torch/python3-torchvision not installed"; exit $SKIP; }
        have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
        "$PY" models/export_rnn.py "$CACHE" "$m" >/dev/null 2>&1
        node "$ORACLE" "$CACHE/$m/model.onnx" "$CACHE/$m/inputs" "$CACHE/$m/reference"
        touch "$CACHE/$m/reference/.done"
    fi
    convert_run_compare "$CACHE/$m" "$m" fp32 80 "$CACHE/$m/reference"
done
# Placement: the recurrent nodes stay on the CPU for every ANE family (check exits 1).
for fam in h13 h14 h15 h16 h17s; do
    for m in lstm gru; do
        n=$("$AF" check "$CACHE/$m/model.onnx" --target "$fam" 2>&1 | grep -c "never_ane: '$m'" || true)
        [ "$n" -eq 2 ] || fail "$fam: $n of 2 $m nodes placed off the ANE"
    done
done
[ "$fails" -eq 0 ]

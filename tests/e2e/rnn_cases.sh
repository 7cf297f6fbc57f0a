#!/bin/sh
# Single-node LSTM/GRU/RNN models for the attributes torch does not export (models/
# make_rnn_cases.py: clip, peepholes, unequal sequence_lens, input_forget, linear_before_reset 0
# and 1, reverse/bidirectional, activations with alpha/beta, omitted Y / Y_c), referenced by ONNX
# Runtime: fp32 ≥ 80 dB (f32 on both sides, measured ≥ 140 dB). layout 1 is not here (ONNX
# Runtime refuses it); the backend's *_batchwise cases and test_rnn cover it. Then malformed
# nodes: convert exits 3 with one line naming the node. Skipped (exit 77) when the cache is
# empty and python3-onnx or the ONNX Runtime oracle are missing.
set -eu
. "$(dirname "$0")/lib/common.sh"
CACHE=$BUILD/models-cache/rnn_cases
if [ ! -f "$CACHE/.done" ] || [ models/make_rnn_cases.py -nt "$CACHE/.done" ]; then
    "$PY" -c "import onnx, numpy" 2>/dev/null || { echo "skip: python3-onnx not installed"; exit $SKIP; }
    have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
    rm -rf "$CACHE"
    "$PY" models/make_rnn_cases.py "$CACHE"
    for d in "$CACHE"/*/; do
        [ -f "$d/model.onnx" ] && node "$ORACLE" "$d/model.onnx" "$d/inputs" "$d/reference"
    done
    touch "$CACHE/.done"
fi
for d in "$CACHE"/*/; do
    [ -f "$d/model.onnx" ] || continue
    m=$(basename "$d")
    convert_run_compare "$CACHE/$m" "$m" fp32 80 "$CACHE/$m/reference" || fail "$m"
done
expect 3 "node 'lstm_bad_w' (lstm): W 'W' is \[1,16,6\], expected \[1,16,5\]" -- \
    "$AF" convert "$CACHE/bad/lstm_bad_w.onnx" -o "$T/x.afb"
expect 3 "node 'gru_bad_b' (gru): B 'B' is \[1,12\], expected \[1,24\]" -- \
    "$AF" convert "$CACHE/bad/gru_bad_b.onnx" -o "$T/x.afb"
expect 3 "node 'gru_bad_act' (GRU): unknown activation 'Swish'" -- \
    "$AF" convert "$CACHE/bad/gru_bad_act.onnx" -o "$T/x.afb"
expect 3 "node 'rnn_hidden_mismatch' (rnn): hidden_size 5 does not match R" -- \
    "$AF" convert "$CACHE/bad/rnn_hidden_mismatch.onnx" -o "$T/x.afb"
expect 3 "node 'lstm_act_count' (LSTM): 3 activations given, expected 6" -- \
    "$AF" convert "$CACHE/bad/lstm_act_count.onnx" -o "$T/x.afb"
expect 3 "node 'lstm_bad_direction' (LSTM): unknown direction 'sideways'" -- \
    "$AF" convert "$CACHE/bad/lstm_bad_direction.onnx" -o "$T/x.afb"
[ "$fails" -eq 0 ]

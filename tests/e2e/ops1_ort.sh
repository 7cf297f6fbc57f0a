#!/bin/sh
# Issue 15's first op group through the user's path against ONNX Runtime: models made by
# tests/tools/ops1_models.py (SoftmaxCrossEntropyLoss with weights/ignore_index/log_prob, N-d
# NegativeLogLikelihoodLoss, the trig/hyperbolic functions, Shrink, IsNaN/IsInf, Hardmax,
# MeanVarianceNormalization, Det, EyeLike, constant-size windows, BitShift on uint8), converted
# to fp32 bundles, run with the CLI and compared with ONNX Runtime's outputs (floats within
# rtol 1e-3 / atol 1e-5 as in the conformance runner; integers and bools exactly).
set -eu
. "$(dirname "$0")/lib/common.sh"
"$PY" -c "import onnx, numpy" 2>/dev/null || exit $SKIP
have_oracle || exit $SKIP
"$PY" tests/tools/ops1_models.py make "$T/cases"
for d in "$T"/cases/*; do
    node "$ORACLE" "$d/model.onnx" "$d/inputs" "$d/ort"
    "$AF" convert "$d/model.onnx" -o "$d/m.afb" --compress fp32 -q
    "$AF" run "$d/m.afb" --inputs "$d/inputs" --outputs "$d/ours" >/dev/null
done
"$PY" tests/tools/ops1_models.py check "$T/cases"

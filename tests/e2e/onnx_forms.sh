#!/bin/sh
# ONNX op forms the backend test data covers thinly (Einsum diagonals / ellipses / products,
# LayerNormalization's Mean and InvStdDev, MaxPool's Indices with storage_order 0/1 and MaxPool
# on uint8/int8): models and numpy references made by tests/tools/onnx_forms.py, converted to
# fp32 bundles, run, and compared (floats within rtol 1e-4 / atol 1e-5: f32 kernels against
# f64 numpy differ only in summation order; integers exactly).
set -eu
. "$(dirname "$0")/lib/common.sh"
"$PY" -c "import onnx, numpy" 2>/dev/null || exit $SKIP
"$PY" tests/tools/onnx_forms.py make "$T/cases"
for d in "$T"/cases/*; do
    "$AF" convert "$d/model.onnx" -o "$d/m.afb" --compress fp32 -q
    "$AF" run "$d/m.afb" --inputs "$d/inputs" --outputs "$d/outputs" >/dev/null
done
"$PY" tests/tools/onnx_forms.py check "$T/cases"

#!/bin/sh
# Indexing and selection ops: TopK ties, ScatterND / ScatterElements duplicates under
# every reduction, GatherND batch_dims, OneHot float and negative indices, ReverseSequence,
# MaxUnpool with output_shape. Models and numpy references from tests/tools/indexing_cases.py,
# converted to fp32 bundles through the CLI, run, and compared (floats within rtol 1e-6: the
# kernels copy values or do the same single f32 operation in the same order as numpy;
# integers exactly). With AF_E2E_ORT=1 and ONNX Runtime installed, ONNX Runtime is checked
# against the same references too (one process per case: slow, so not by default), except
# MaxUnpool with a larger output_shape, where it departs from ONNX's reference.
set -eu
. "$(dirname "$0")/lib/common.sh"
"$PY" -c "import onnx, numpy" 2>/dev/null || exit $SKIP
"$PY" tests/tools/indexing_cases.py make "$T/cases"
for d in "$T"/cases/*; do
    "$AF" convert "$d/model.onnx" -o "$d/m.afb" --compress fp32 -q
    "$AF" run "$d/m.afb" --inputs "$d/inputs" --outputs "$d/outputs" >/dev/null
done
"$PY" tests/tools/indexing_cases.py check "$T/cases"
# Malformed uses: exit 3, one line naming the node and the problem.
"$PY" tests/tools/indexing_cases.py bad "$T"
for case in "topk_k|node 'tk' (topk): k = 9 does not fit axis 1" \
    "scatternd_shape|node 'snd' (scatter_nd): data \\[4,3\\], indices \\[2,1\\] and updates" \
    "gathernd_batch|node 'gnd' (gather_nd): indices \\[3,1\\] do not fit data" \
    "unpool_kernel|node 'up' (MaxUnpool): kernel_shape must list" \
    "scatter_reduction|node 'se' (ScatterElements): reduction 'sub' is not supported"; do
    expect 3 "${case#*|}" -- "$AF" convert "$T/bad/${case%%|*}.onnx" -o "$T/bad.afb"
done
[ "$fails" -eq 0 ]
if [ "${AF_E2E_ORT:-0}" = 1 ] && have_oracle; then
    for d in "$T"/cases/*; do
        [ -f "$d/ort_differs" ] || node "$ORACLE" "$d/model.onnx" "$d/inputs" "$d/ort"
    done
    "$PY" tests/tools/indexing_cases.py check "$T/cases" ort
fi

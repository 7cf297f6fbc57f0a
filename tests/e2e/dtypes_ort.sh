#!/bin/sh
# Issue 15's integer dtypes (INT16, UINT16, UINT32, UINT64) through the user's path against
# ONNX Runtime: models made by tests/tools/dtypes_models.py (Cast between every integer type
# and float with out-of-range values, u64 above 2^63 through Max/Min/comparisons/Where/moves,
# int16 arithmetic sign rules, a uint16 image -> Cast -> Conv model), converted to fp32
# bundles, run with the CLI and compared with ONNX Runtime (integers exactly; see the script).
set -eu
. "$(dirname "$0")/lib/common.sh"
"$PY" -c "import onnx, numpy" 2>/dev/null || exit $SKIP
have_oracle || exit $SKIP
"$PY" tests/tools/dtypes_models.py make "$T/cases"
for d in "$T"/cases/*; do
    node "$ORACLE" "$d/model.onnx" "$d/inputs" "$d/ort"
    "$AF" convert "$d/model.onnx" -o "$d/m.afb" --compress fp32 -q
    "$AF" run "$d/m.afb" --inputs "$d/inputs" --outputs "$d/ours" >/dev/null
done
"$PY" tests/tools/dtypes_models.py check "$T/cases"

#!/bin/sh
# In-place Concat (lowering/memplan.h): a model with Concats the plan writes in place (a fire
# module, a chain of two Concats, a Flatten after pooling) and ones it must refuse (a graph
# input, the same tensor twice, outer extent > 1, a part that is a graph output, a part read
# after its Concat), made by tests/tools/concat_inplace.py. Outputs must be byte-identical to
# the copying path (--no-inplace-concat) at 1 and 2 threads, and convert --json must report the
# 4 parts planned in place (c1's two parts, and c1 and e3 inside c2).
set -eu
. "$(dirname "$0")/lib/common.sh"
"$PY" -c "import onnx, numpy" 2>/dev/null || exit $SKIP
"$PY" tests/tools/concat_inplace.py "$T/m"
json=$("$AF" convert "$T/m/model.onnx" -o "$T/in.afb" --compress fp32 --json)
echo "$json" | grep -q '"concat_inplace": *4[,}]' || { echo "expected 4 parts in place: $json"; exit 1; }
"$AF" convert "$T/m/model.onnx" -o "$T/copy.afb" --compress fp32 --no-inplace-concat -q
"$AF" run "$T/copy.afb" --inputs "$T/m/inputs" --outputs "$T/copy" --threads 1 >/dev/null
for n in 1 2; do
    "$AF" run "$T/in.afb" --inputs "$T/m/inputs" --outputs "$T/in$n" --threads "$n" >/dev/null
    for f in "$T/copy"/*.npy; do cmp "$f" "$T/in$n/$(basename "$f")"; done
done
echo "concat in place: $(ls "$T/copy" | wc -l) outputs byte-identical to the copying path at 1 and 2 threads"

#!/bin/sh
# Data-dependent row counts flowing through a graph (docs/dynamic-shapes.md): the crafted
# tests/data/dynamic models (dyn_topk: NonZero -> Gather -> elementwise -> TopK with
# k = min(5, rows) from Shape -> Gather; dyn_if: an If on "no rows left?" whose else branch
# Gathers the kept rows; dyn_range: Range(0, rows) and Range(1, rows, 2) run at run time,
# indexing the kept rows as Mask R-CNN does, and a Pad of those rows; dyn_loop: a Loop whose
# trip count is the number of kept rows, unrolled to its capacity, with a loop-carried sum
# and a scan output; dyn_paste: Mask R-CNN's mask paste inside such a Loop, a Resize, Slices
# and ConstantOfShapes sized by a kept row's values clipped to the image, read on every run at
# capacities their bounds give) converted once each, run on inputs giving 0, 3, 5 and 20 rows, each
# run compared with ONNX Runtime: the same output shapes, integers equal, floats within 1e-6
# relative (the same single f32 operations). Several runs of one session are
# tests/unit/test_dyn_session.c. An op without a rule for such rows (CumSum) is refused in one
# line naming the node, and so are a Range whose step would make its capacity wrong and a
# Loop body that reads the kept rows other than row by row, and a Resize sized by a kept row's
# values without an upper bound (none, or Max(box, 0) only); a Loop count above its capacity
# fails the run naming it. A legacy bundle with NMS rows as
# its output still runs.
set -eu
. "$(dirname "$0")/lib/common.sh"
have_oracle || { echo "skip: onnxruntime-node oracle not installed"; exit $SKIP; }
"$PY" -c "import onnx, numpy" 2>/dev/null || exit $SKIP
G=tests/data/dynamic/make_dynamic_models.py
"$PY" "$G" inputs "$T/in"
for name in dyn_topk dyn_if dyn_range dyn_loop dyn_paste; do
    M=tests/data/dynamic/$name.onnx
    "$AF" convert "$M" -o "$T/$name.afb" --compress fp32 -q
    for d in "$T"/in/*; do
        c=$(basename "$d")
        node "$ORACLE" "$M" "$d" "$T/ref_${name}_$c"
        "$AF" run "$T/$name.afb" --inputs "$d" --outputs "$T/out_${name}_$c" >/dev/null
        echo "$name $c:"
        "$PY" "$G" check "$T/ref_${name}_$c" "$T/out_${name}_$c" || fail "$name $c"
    done
done
# A bundle written before data-dependent axes were recorded (NMS rows as a graph output only)
# still runs and reports its rows.
L=tests/data/legacy/nms_rows
node "$ORACLE" tests/data/onnx/nms.onnx "$L/inputs" "$T/ref_legacy"
"$AF" run "$L/nms_rows.afb" --inputs "$L/inputs" --outputs "$T/out_legacy" >/dev/null
echo "legacy nms_rows:"
"$PY" "$G" check "$T/ref_legacy" "$T/out_legacy" || fail "legacy nms_rows"
expect 3 "node 'cumsum' (cumsum): input 'nz' has a data-dependent extent on axis 1 (at most 64)" \
    -- "$AF" convert tests/data/dynamic/dyn_refused.onnx -o "$T/refused.afb"
[ ! -e "$T/refused.afb" ] || fail "a refused conversion left $T/refused.afb"
expect 3 "node 'range_rows' (range): a limit that depends on a data-dependent extent needs a positive delta" \
    -- "$AF" convert tests/data/dynamic/dyn_range_refused.onnx -o "$T/refused.afb"
expect 3 "node 'per_row' (Loop): its trip count is known at run time only: its body may read 'b'" \
    -- "$AF" convert tests/data/dynamic/dyn_loop_refused.onnx -o "$T/refused.afb"
# a Resize sized by a kept row's values with no upper bound on the way (no Clip) has no
# capacity: refused, naming the rows its sizes come from instead of advising --freeze of the
# image (ONNX Runtime runs it)
expect 3 "node 'paste_resize__it0' (resize): the sizes input 'sizes__it0' is not a constant; it is computed from the values of 'b' (rows of a data-dependent extent) with no upper bound on the way" \
    -- "$AF" convert tests/data/dynamic/dyn_resize_refused.onnx -o "$T/refused.afb"
# dyn_paste with its boxes bounded from below only (Max(box, 0), no Clip to the image): the
# same refusal, naming the boxes
expect 3 "node 'paste_resize__it0' (resize): the sizes input 'sizes__it0' is not a constant; it is computed from the values of 'box' (rows of a data-dependent extent) with no upper bound on the way" \
    -- "$AF" convert tests/data/dynamic/dyn_paste_unbounded.onnx -o "$T/refused.afb"
# a trip count above the capacity the loop was unrolled to fails the run, naming the count
"$AF" convert tests/data/dynamic/dyn_loop_capacity.onnx -o "$T/loop_cap.afb" -q
expect 3 "node 'per_row_count' (range): output 0 axis 0: extent 62 this run, capacity 1" \
    -- "$AF" run "$T/loop_cap.afb" --inputs "$T/in/rows3"
"$AF" convert tests/data/dynamic/dyn_loop_capacity0.onnx -o "$T/loop_cap0.afb" -q
expect 3 "node 'per_row_count' (range): output 0 axis 0: extent 61 this run, capacity 0" \
    -- "$AF" run "$T/loop_cap0.afb" --inputs "$T/in/rows3"
[ "$fails" -eq 0 ]

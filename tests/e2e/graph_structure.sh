#!/bin/sh
# Graph structure at import: nodes out of order (an fp16-converter-style input Cast
# appended last), an If on a sample rate frozen as an initializer (the untaken branch reshapes
# to another shape and is never imported), and a Loop with a constant trip count whose body
# branches on the iteration number, a while loop whose condition folds per iteration, a
# reverse Scan along axis 1, and opset-21 forms (GroupNormalization-21 per-channel
# scale, Pad 'wrap', AveragePool dilations) — each converted to an fp32 bundle, run, and compared with
# ONNX Runtime (>= 80 dB: the same f32 ops in the same order, so only rounding differs). Then
# a cycle, an undefined input, a data-dependent If and malformed subgraphs each exit 3 with one
# line naming the node and the tensor. Models: tests/data/onnx/make_graph_models.py.
set -eu
. "$(dirname "$0")/lib/common.sh"
D=tests/data/onnx

for case in \
    "cyclic.onnx|node 'relu' (Relu): input 'a' depends on the node's own output" \
    "undefined_input.onnx|node 'add' (Add): input 'nowhere' is not defined" \
    "if_input.onnx|node 'pick' (If): condition 'hi' is not a constant.*'sample_rate'" \
    "loop_input.onnx|node 'loop' (Loop): trip count 'trip' is not a constant" \
    "if_undefined.onnx|node 'pick' (If): its subgraph reads 'ghost', which is not defined" \
    "if_no_else.onnx|node 'pick' (If): attribute 'else_branch' (a graph) is missing" \
    "resize_symmetric.onnx|node 'resize' (Resize): coordinate_transformation_mode 'half_pixel_symmetric' is not supported"; do
    expect 3 "${case#*|}" -- "$AF" convert "$D/${case%%|*}" -o "$T/bad.afb"
    [ ! -e "$T/bad.afb" ] || fail "${case%%|*} left a bundle behind"
done
# fuzz_convert found a Loop running past the unroll limit in quadratic time: now quick, exit 3
expect 3 "node 'loop' (Loop): runs more than 4096 iterations" -- \
    "$AF" convert tests/fuzz/corpus/onnx/regress_loop_unroll_limit.onnx -o "$T/bad.afb"

if have_oracle && [ -x "$PY" ] && "$PY" -c "import numpy" 2>/dev/null; then
    mkdir -p "$T/in4" "$T/in6" "$T/in21" "$T/ins"
    "$PY" -c "import numpy as np, sys
r = np.random.default_rng(5)
np.save(sys.argv[1] + '/x.npy', np.array([[0.5, -1.0, 2.0, -0.25]], np.float32))
np.save(sys.argv[2] + '/x.npy', np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5)
np.save(sys.argv[3] + '/x.npy', r.standard_normal((1, 4, 5, 5)).astype(np.float32))
np.save(sys.argv[4] + '/s0.npy', r.standard_normal(2).astype(np.float32))
np.save(sys.argv[4] + '/x.npy', r.standard_normal((2, 3)).astype(np.float32))" \
        "$T/in4" "$T/in6" "$T/in21" "$T/ins"
    for case in unsorted:in6 if_init:in4 loop_if:in4 while_loop:in4 scan_rev:ins opset21:in21; do
        m=${case%%:*}
        in=$T/${case#*:}
        node "$ORACLE" "$D/$m.onnx" "$in" "$T/$m.ort"
        "$AF" convert "$D/$m.onnx" -o "$T/$m.afb" --compress fp32 -q
        "$AF" run "$T/$m.afb" --inputs "$in" --outputs "$T/$m.out" >/dev/null
        # integer outputs (the while loop's counter) exactly, then the f32 ones
        "$PY" -c "import numpy as np, os, sys
for f in sorted(os.listdir(sys.argv[1])):
    a, b = np.load(sys.argv[1] + '/' + f), np.load(sys.argv[2] + '/' + f)
    if a.dtype.kind in 'iub':
        assert a.dtype == b.dtype and a.shape == b.shape and (a == b).all(), f
        print('%s: %s exact' % (sys.argv[3], f))
        os.remove(sys.argv[1] + '/' + f); os.remove(sys.argv[2] + '/' + f)" \
            "$T/$m.ort" "$T/$m.out" "$m" || fail "$m: integer output differs"
        printf '%s: ' "$m"
        "$CMP" "$T/$m.ort" "$T/$m.out" --min-psnr 80 || fail "$m differs from ONNX Runtime"
    done
else
    echo "skip: ONNX Runtime comparisons (no oracle or numpy)"
fi
[ "$fails" -eq 0 ]

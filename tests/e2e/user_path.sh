#!/bin/sh
# The user's path: convert --freeze (and the error that proposes it), inputs named by
# their exact tensor name, '<f8' inputs narrowed with a warning, inspect of a model that does not
# import. Models are written with onnx.helper; expected values with numpy (the
# graph is a Reshape and an Add in f32: exact, compared bit for bit). Skipped without Debian's
# numpy/onnx.
set -eu
. "$(dirname "$0")/lib/common.sh"
"$PY" -c "import numpy, onnx" 2>/dev/null || { echo "skip: /usr/bin/python3 has no numpy/onnx"; exit $SKIP; }
"$PY" - "$T" <<'EOP'
import os, sys
import numpy as np
import onnx
from onnx import helper as h, TensorProto as TP
t = sys.argv[1]
# y = Reshape(x:0, Add(s, one)) + 1: the Reshape target is computed from graph input 's'
g = h.make_graph(
    [h.make_node("Add", ["s", "one"], ["s1"]), h.make_node("Reshape", ["x:0", "s1"], ["r"]),
     h.make_node("Add", ["r", "c"], ["y"])], "g",
    [h.make_tensor_value_info("x:0", TP.FLOAT, [2, 6]),
     h.make_tensor_value_info("s", TP.INT64, [2])],
    [h.make_tensor_value_info("y", TP.FLOAT, None)],
    [h.make_tensor("one", TP.INT64, [2], [1, 1]), h.make_tensor("c", TP.FLOAT, [], [1.0])])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), os.path.join(t, "m.onnx"))
x = np.arange(12, dtype=np.float64).reshape(2, 6) / 7
os.makedirs(os.path.join(t, "in"))
np.save(os.path.join(t, "in", "x:0.npy"), x)  # exact name, float64
np.save(os.path.join(t, "s_bad.npy"), np.array([2, 2], np.int32))
np.save(os.path.join(t, "want.npy"), (x.astype(np.float32).reshape(3, 4) + np.float32(1)))
# an If on a scalar input with an op of a foreign domain in a branch (never supported, so the
# test does not depend on which ops the importer maps): inspect lists its node
then = h.make_graph([h.make_node("Frobnicate", ["b", "sc"], ["k"], name="frob",
                                 domain="com.example")], "then",
                    [], [h.make_tensor_value_info("k", TP.INT64, None)])
other = h.make_graph([h.make_node("Constant", [], ["e"], value=h.make_tensor("v", TP.INT64, [1, 3],
                                                                            [0, 0, 0]))],
                     "else", [], [h.make_tensor_value_info("e", TP.INT64, None)])
g2 = h.make_graph([h.make_node("If", ["cond"], ["out"], name="branch", then_branch=then,
                               else_branch=other)], "g2",
                  [h.make_tensor_value_info("cond", TP.BOOL, []),
                   h.make_tensor_value_info("b", TP.FLOAT, ["N", 4, 4]),
                   h.make_tensor_value_info("sc", TP.FLOAT, ["N", 1, 4])],
                  [h.make_tensor_value_info("out", TP.INT64, None)])
onnx.save(h.make_model(g2, opset_imports=[h.make_opsetid("", 13),
                                          h.make_opsetid("com.example", 1)]),
          os.path.join(t, "if.onnx"))
EOP
"$PY" -c "import numpy as np, sys; np.save(sys.argv[1], np.array([2, 3], np.int64))" "$T/s.npy" # +1: [3,4]

expect 3 "the shape input 's1' is not a constant; it is computed from graph input 's'; fix it with --freeze s=FILE.npy" -- "$AF" convert "$T/m.onnx" -o "$T/m.afb"
expect 2 "--freeze names 'z', which is not an input" -- "$AF" convert "$T/m.onnx" -o "$T/m.afb" --freeze z="$T/s.npy"
expect 3 "nope.npy: cannot open" -- "$AF" convert "$T/m.onnx" -o "$T/m.afb" --freeze s="$T/nope.npy"
expect 3 "--freeze s: the input is i64\[2\], the file holds i32\[2\]" -- "$AF" convert "$T/m.onnx" -o "$T/m.afb" --freeze s="$T/s_bad.npy"
expect 2 "bad --freeze 's' (want NAME=FILE.npy)" -- "$AF" convert "$T/m.onnx" -o "$T/m.afb" --freeze s
[ ! -e "$T/m.afb" ] || fail "a failed convert left $T/m.afb"
"$AF" convert "$T/m.onnx" -o "$T/m.afb" --freeze s="$T/s.npy" --compress fp32 -q
"$AF" inspect "$T/m.afb" | grep -q "input   x:0: f32\[2,6\]" || fail "the frozen input is still an input"
"$AF" inspect "$T/m.afb" | grep -q "input   s:" && fail "s is still an input"
# x:0 is read from in/x:0.npy (exact name; no in/x_0.npy), float64 narrowed with one warning
"$AF" run "$T/m.afb" --inputs "$T/in" --outputs "$T/res" 2>"$T/warn"
grep -q "^aneforge: warning: .*x:0.npy: float64 input narrowed to float32" "$T/warn" || fail "no f64 warning: $(cat "$T/warn")"
[ "$(wc -l <"$T/warn")" -eq 1 ] || fail "more than one warning line: $(cat "$T/warn")"
"$PY" -c "
import numpy as np, sys
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.dtype == b.dtype and a.shape == b.shape and (a == b).all(), (a, b)
" "$T/want.npy" "$T/res/y.npy" || fail "output differs from numpy"
"$AF" validate "$T/m.onnx" "$T/m.afb" --inputs "$T/in" --freeze s="$T/s.npy" --min-psnr 200 >/dev/null 2>&1 || fail "validate --freeze"
"$AF" bench "$T/m.afb" --inputs "$T/in" --runs 1 >/dev/null 2>&1 || fail "bench does not read in/x:0.npy"
# inspect describes a model that cannot convert (exit 0): every op, every unsupported node, also
# inside an If branch (the branch is imported only once its condition folds)
"$AF" inspect "$T/if.onnx" >"$T/if.txt" || fail "inspect if.onnx failed"
cat "$T/if.txt"
grep -q "opsets: ai.onnx 13 com.example 1" "$T/if.txt" || fail "inspect: opsets"
grep -q "input   b: f32\[N,4,4\]" "$T/if.txt" || fail "inspect: input b"
grep -q "onnx ops: If×1 Constant×1 com.example.Frobnicate×1" "$T/if.txt" || fail "inspect: op counts"
grep -q "dtypes: .*INT64 .*BOOL" "$T/if.txt" || fail "inspect: dtypes"
grep -q "com.example.Frobnicate×1: branch/then_branch/frob" "$T/if.txt" || fail "inspect: unsupported node"
"$AF" inspect "$T/if.onnx" --json | "$PY" -c "
import json, sys
j = json.load(sys.stdin)
bad = {o['op']: o['nodes'] for o in j['onnx_ops'] if not o['supported']}
assert bad.get('Frobnicate') == ['branch/then_branch/frob'], bad
assert j['unsupported_nodes'] == 1 and j['subgraph_nodes'] == 2, j
assert j['inputs'][1]['shape'] == [-1, 4, 4] and j['inputs'][1]['shape_text'] == '[N,4,4]', j
" || fail "inspect --json"
[ "$fails" -eq 0 ]

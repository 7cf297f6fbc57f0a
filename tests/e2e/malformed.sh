#!/bin/sh
# Malformed graphs of the newer op families: each `convert` exits 3 with exactly one stderr line
# "aneforge: error: ..." naming the node (and the tensor or parameter at fault), and leaves no
# output. The models are tests/data/malformed/*.onnx, written by make_malformed.py (onnx.helper).
# The If cases are converted with their condition frozen to true (the then branch is checked
# once the condition folds; a non-constant condition is its own error, see graph_structure.sh).
set -eu
. "$(dirname "$0")/lib/common.sh"
D=tests/data/malformed
for case in \
    "quantize_scale_shape|node 'q_bad' (quantize): scale \[3\] must be one value or one per element of axis 1" \
    "quantize_zero_scale|node 'q_bad' (quantize): scale 's' is 0 at index 1" \
    "dequantize_scale_shape|node 'q_bad' (dequantize): scale \[3\] must be one value or one per element of axis 1" \
    "dequantize_zero_scale|node 'q_bad' (dequantize): scale 's' is 0 at index 2" \
    "qlinearconv_zero_point|node 'qconv_bad_zp' (qlinear_conv): w_zero_point \[3\] must be one value or 4" \
    "lstm_bad_w|node 'lstm_bad_w' (lstm): W 'W' is \[1,16,6\], expected \[1,16,5\]" \
    "cycle|node '\(relu_b\|add_a\)'.*'\(a\|b\)'" \
    "undefined_input|node '\(relu_y\|add_ghost\)'.*'\(a\|ghost\)'"; do
    model=${case%%|*}
    frag=${case#*|}
    expect 3 "$frag" -- "$AF" convert "$D/$model.onnx" -o "$T/new.afb"
    [ ! -e "$T/new.afb" ] || fail "$model left $T/new.afb behind"
done
"$PY" -c "import numpy as np, sys; np.save(sys.argv[1], np.array(True))" "$T/true.npy"
for case in \
    "if_branch_outputs|node 'if_bad' (If): its then branch has 2 outputs, the node 1" \
    "if_undefined_name|node 'if_bad' (If): its subgraph reads 'nowhere', which is not defined"; do
    model=${case%%|*}
    frag=${case#*|}
    expect 3 "$frag" -- "$AF" convert "$D/$model.onnx" -o "$T/new.afb" --freeze c="$T/true.npy"
    [ ! -e "$T/new.afb" ] || fail "$model left $T/new.afb behind"
done
# 5000 nested subgraphs (protobuf-c recursed into a stack overflow): refused before unpacking
N=tests/fuzz/corpus/onnx/regress_deep_nesting.onnx
expect 3 "its messages nest deeper than 100 levels" -- "$AF" convert "$N" -o "$T/new.afb"
expect 3 "its messages nest deeper than 100 levels" -- "$AF" inspect "$N"
echo "malformed: $fails failures"
[ "$fails" -eq 0 ]

#!/bin/sh
# Bad input gets a clear error and loses nothing: for each malformed or unsupported model,
# `convert` exits 3 with exactly one stderr line "aneforge: error: ..." that names the file and
# the problem, and leaves no output file (an existing output stays byte-identical).
set -eu
. "$(dirname "$0")/lib/common.sh"
D=tests/data/onnx

printf 'previous bundle\n' >"$T/keep.afb"
for case in \
    "truncated.onnx|truncated.onnx is not a valid ONNX model" \
    "text.onnx|text.onnx is not a valid ONNX model" \
    "empty.onnx|empty.onnx is not a valid ONNX model" \
    "unsupported_op.onnx|node 'uniq' uses unsupported op 'Unique'" \
    "custom_domain.onnx|domain 'com.microsoft'" \
    "init_short.onnx|tensor 'w' (FLOAT): raw_data has 15 bytes" \
    "ext/ext_abs.onnx|is absolute" \
    "ext/ext_dotdot.onnx|'../tiny_cnn.onnx' leaves the model's folder" \
    "ext/ext_sub_dotdot.onnx|leaves the model's folder" \
    "ext/ext_missing.onnx|cannot open external data file" \
    "ext/ext_offset.onnx|does not hold the 24 bytes needed" \
    "dynamic_batch.onnx|input 'x' has an unknown dimension 0 ('N')"; do
    model=${case%%|*}
    frag=${case#*|}
    expect 3 "$frag" -- "$AF" convert "$D/$model" -o "$T/new.afb"
    [ ! -e "$T/new.afb" ] || { echo "FAIL: $model left $T/new.afb behind"; fails=$((fails + 1)); }
    expect 3 "$frag" -- "$AF" convert "$D/$model" -o "$T/keep.afb"
    grep -q '^previous bundle$' "$T/keep.afb" || { echo "FAIL: $model clobbered an existing output"; fails=$((fails + 1)); }
done
expect 3 "No such file" -- "$AF" convert "$T/does-not-exist.onnx" -o "$T/new.afb"
leftovers=$(ls -A "$T" | grep -v -e '^out$' -e '^err$' -e '^keep.afb$' || true)
[ -z "$leftovers" ] || { echo "FAIL: temporary files left behind: $leftovers"; fails=$((fails + 1)); }

# The dynamic dimension is fine once fixed.
"$AF" convert "$D/dynamic_batch.onnx" -o "$T/dyn.afb" --input-shape x=2,3,8,8 -q

# Bad bundles and bad .npy inputs for `run`.
"$AF" convert models/tiny_mlp/model.onnx -o "$T/mlp.afb" --compress fp32 -q
head -c 100 "$T/mlp.afb" >"$T/cut.afb"
expect 3 "cut.afb" -- "$AF" run "$T/cut.afb" --inputs models/tiny_mlp/inputs
expect 3 "not an aneforge bundle" -- "$AF" run models/tiny_mlp/model.onnx --inputs models/tiny_mlp/inputs
mkdir "$T/badin"
cp tests/data/npy/bad_data_short.npy "$T/badin/input.npy"
expect 3 "badin/input.npy" -- "$AF" run "$T/mlp.afb" --inputs "$T/badin"
expect 3 "input.npy" -- "$AF" run "$T/mlp.afb" --inputs "$T/no-such-dir"
rm -rf "$T/badin" "$T/mlp.afb" "$T/cut.afb" "$T/dyn.afb"

# Usage errors exit 2.
expect 2 "unknown command 'frobnicate'" -- "$AF" frobnicate
expect 2 "unknown option '--bogus'" -- "$AF" convert "$D/tiny_cnn.onnx" -o "$T/x.afb" --bogus
expect 2 "unknown --compress 'int3'" -- "$AF" convert "$D/tiny_cnn.onnx" -o "$T/x.afb" --compress int3
expect 2 "bad --input-shape" -- "$AF" convert "$D/tiny_cnn.onnx" -o "$T/x.afb" --input-shape x=1,a
expect 2 "usage: aneforge convert" -- "$AF" convert "$D/tiny_cnn.onnx"
expect 2 "bad --threads" -- "$AF" run x.afb --inputs . --threads 0
expect 2 "not an input" -- "$AF" convert "$D/tiny_cnn.onnx" -o "$T/x.afb" --input-shape nope=1,2
[ ! -e "$T/x.afb" ] || { echo "FAIL: usage error left output"; fails=$((fails + 1)); }

echo "bad_inputs: $fails failures"
[ "$fails" -eq 0 ]

#!/bin/sh
# Reliability through the CLI (docs/reliability.md). Every malformed-input case checks the
# exit code AND the one-line message, not only "did not crash":
#   1. damaged bundles (truncated, a flipped byte in PROG / WGHT) → run/inspect exit 3,
#      "corrupt bundle";
#   2. ONNX external data: a symlinked file or folder leading out of the model's folder,
#      external data shorter than the declared shape → convert exits 3 with the reason;
#   3. sizes the file cannot back (2^40 elements in a 130-byte file, raw, typed or external;
#      dims whose product overflows) → exit 3 with the reason, fast, nothing allocated;
#   4. output safety: SIGINT before and during the write of a large bundle → exit 130, the
#      previous output byte-identical, no temporary file left;
#   5. determinism: two conversions with the same flags are byte-identical, for every
#      --compress encoding this build knows; `run --threads 1` and `--threads 2` write
#      byte-identical outputs.
set -eu
. "$(dirname "$0")/lib/common.sh"
R=tests/data/reliability
SRC=$(pwd)
case $AF in /*) AFABS=$AF ;; *) AFABS=$SRC/$AF ;; esac


# ---- 1. damaged bundles -----------------------------------------------------------------
"$AF" convert models/tiny_mlp/model.onnx -o "$T/mlp.afb" -q
size=$(wc -c <"$T/mlp.afb")
for cut in 0 7 31 100 $((size / 2)) $((size - 1)); do
    head -c "$cut" "$T/mlp.afb" >"$T/cut.afb"
    expect 3 "cut.afb: corrupt bundle: " -- "$AF" run "$T/cut.afb" --inputs models/tiny_mlp/inputs
done
expect 3 "cut.afb: corrupt bundle: " -- "$AF" inspect "$T/cut.afb"
# flip one byte in PROG (offset 128, just after the 32-byte header and 3 directory entries
# rounded up to 64) and one in the last (WGHT) byte
flip() { # FILE OFFSET OUT
    cp "$1" "$3"
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $(((b ^ 0x5a) & 255)))" |
        dd of="$3" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
flip "$T/mlp.afb" 128 "$T/flip.afb"
expect 3 "flip.afb: corrupt bundle: section PROG: CRC mismatch" -- \
    "$AF" run "$T/flip.afb" --inputs models/tiny_mlp/inputs
flip "$T/mlp.afb" $((size - 1)) "$T/flip.afb"
expect 3 "flip.afb: corrupt bundle: " -- "$AF" run "$T/flip.afb" --inputs models/tiny_mlp/inputs

# ---- 2. external data confined to the model's folder, and complete ------------------------
mkdir -p "$T/m" "$T/outside"
cp "$R/link_ext.onnx" "$R/linkdir_ext.onnx" "$R/short_ext.onnx" "$R/short.bin" "$T/m/"
cp "$R/small.bin" "$T/outside/w.bin"
ln -s ../outside/w.bin "$T/m/link.bin"
ln -s ../outside "$T/m/linkdir"
expect 3 "external data path 'link.bin' resolves to '.*', outside the model's folder" -- \
    "$AF" convert "$T/m/link_ext.onnx" -o "$T/x.afb"
expect 3 "external data path 'linkdir/w.bin' resolves to '.*', outside the model's folder" -- \
    "$AF" convert "$T/m/linkdir_ext.onnx" -o "$T/x.afb"
expect 3 "tensor 'w': external data 'short.bin' (offset 0, length -1) does not hold the 16 bytes needed (file has 12)" -- \
    "$AF" convert "$T/m/short_ext.onnx" -o "$T/x.afb"
# the same symlink pointing inside the folder is fine
rm "$T/m/link.bin"
cp "$R/small.bin" "$T/m/real.bin"
ln -s real.bin "$T/m/link.bin"
"$AF" convert "$T/m/link_ext.onnx" -o "$T/x.afb" -q || fail "symlink inside the folder refused"
[ ! -e "$T/x.afb" ] || rm "$T/x.afb"

# ---- 3. sizes the file cannot back ------------------------------------------------------
expect 3 "huge_raw.onnx: tensor 'w' (FLOAT): raw_data has 16 bytes, its dims need 4398046511104" -- \
    "$AF" convert "$R/huge_raw.onnx" -o "$T/x.afb"
expect 3 "huge_typed.onnx: tensor 'w' (FLOAT) holds 1 values, its dims give 1099511627776" -- \
    "$AF" convert "$R/huge_typed.onnx" -o "$T/x.afb"
expect 3 "overflow_dims.onnx: tensor 'w' is impossibly large" -- \
    "$AF" convert "$R/overflow_dims.onnx" -o "$T/x.afb"
expect 3 "does not hold the 4398046511104 bytes needed (file has 16)" -- \
    "$AF" convert "$R/huge_ext.onnx" -o "$T/x.afb"
mkdir -p "$T/hugein"
cp tests/data/npy/bad_huge_dims.npy "$T/hugein/input.npy"
expect 3 "hugein/input.npy: " -- "$AF" run "$T/mlp.afb" --inputs "$T/hugein"
[ ! -e "$T/x.afb" ] || fail "a refused model left $T/x.afb"

# ---- 4. SIGINT leaves the previous output untouched and no temporary ----------------------
# A ~200 MB model (one 7168x7168 Gemm weight) takes long enough to write that the signal
# lands while the temporary file exists; the loop polls for it.
if "$PY" -c "import onnx, numpy" 2>/dev/null; then
    "$PY" - "$T/big.onnx" <<'EOF'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
n = 7168
w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((n, n), np.float32), "w")
g = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)], "big",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])], [w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
EOF
    printf 'previous bundle\n' >"$T/keep.afb"
    for when in early write; do
        "$AF" convert "$T/big.onnx" -o "$T/keep.afb" --compress fp32 -q &
        pid=$!
        if [ "$when" = write ]; then
            i=0
            while [ $i -lt 3000 ] && ! ls "$T"/keep.afb.tmp.* >/dev/null 2>&1 && kill -0 $pid 2>/dev/null; do
                sleep 0.01
                i=$((i + 1))
            done
            ls "$T"/keep.afb.tmp.* >/dev/null 2>&1 || echo "note: temporary file not seen before the signal"
        else
            sleep 0.2
        fi
        kill -INT $pid 2>/dev/null || true
        rc=0
        wait $pid || rc=$?
        if [ $rc -eq 130 ]; then echo "ok: SIGINT ($when) -> exit 130"
        elif [ $rc -eq 0 ]; then echo "note: conversion finished before SIGINT ($when)"
        else fail "SIGINT ($when): exit $rc, want 130"; fi
        if [ $rc -eq 130 ]; then
            grep -q '^previous bundle$' "$T/keep.afb" || fail "SIGINT ($when) clobbered the previous output"
        fi
        leftover=$(ls "$T" | grep '\.tmp\.' || true)
        [ -z "$leftover" ] || fail "SIGINT ($when) left $leftover"
        printf 'previous bundle\n' >"$T/keep.afb"
    done
    rm -f "$T/big.onnx" "$T/keep.afb"
else
    echo "note: no python3 onnx: SIGINT test skipped"
fi

# ---- 5. determinism ---------------------------------------------------------------------
n_enc=0
for enc in fp32 fp16 int8 int4 sparse blockwise palette auto; do
    set +e
    "$AF" convert models/small_cnn/model.onnx -o "$T/a.afb" --compress "$enc" -q 2>"$T/err"
    rc=$?
    set -e
    if [ $rc -eq 2 ] && grep -q "unknown --compress" "$T/err"; then continue; fi
    [ $rc -eq 0 ] || { fail "convert --compress $enc: exit $rc: $(cat "$T/err")"; continue; }
    # the second conversion runs from another folder into another output name
    mkdir -p "$T/elsewhere"
    (cd "$T/elsewhere" && "$AFABS" convert "$SRC/models/small_cnn/model.onnx" -o b.afb \
        --compress "$enc" -q)
    cmp -s "$T/a.afb" "$T/elsewhere/b.afb" || fail "--compress $enc: two conversions differ"
    n_enc=$((n_enc + 1))
    for th in 1 2; do
        "$AF" run "$T/a.afb" --inputs models/small_cnn/inputs --outputs "$T/out$th" --threads $th
    done
    for f in "$T"/out1/*.npy; do
        cmp -s "$f" "$T/out2/${f##*/}" || fail "--compress $enc: --threads 1 and 2 differ in ${f##*/}"
    done
    echo "ok: --compress $enc: byte-identical bundles; --threads 1/2 outputs identical"
    rm -rf "$T/a.afb" "$T/elsewhere" "$T/out1" "$T/out2"
done
[ $n_enc -ge 2 ] || fail "only $n_enc encodings converted"

echo "reliability: $fails failures"
[ "$fails" -eq 0 ]

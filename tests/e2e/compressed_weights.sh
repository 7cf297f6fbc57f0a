#!/bin/sh
# Compressed weights at run time: int8, palette, blockwise and sparse conv, MatMul and Gemm
# weights stay compressed (packed as compressed panels, decoded inside the packed GEMM). Their outputs
# must be byte-identical to the decode-at-open path (--expand-weights) wherever both run the same conv algorithm, and
# byte-identical across 1, 2 and 3 threads. The committed small models' 3x3 convs keep
# Winograd both ways (their transformed weights are small), their other convs run on
# compressed panels, so bytes must match; with torch, MobileNetV2 (no Winograd: every conv on
# compressed panels) too. Also checks what inspect and bench --json report (resident weight
# bytes below the expanded ones; a wrong code, scale, table or panel offset changes bytes).
set -eu
. "$(dirname "$0")/lib/common.sh"
check() { # DIR NAME COMPRESS-ARGS... ; sets $T/$NAME.{c1,c2,c3,e1}
    d=$1 n=$2
    shift 2
    "$AF" convert "$d/model.onnx" -o "$T/$n.afb" -q "$@"
    for k in 1 2 3; do
        "$AF" run "$T/$n.afb" --inputs "$d/inputs" --outputs "$T/$n.c$k" --threads "$k"
    done
    "$AF" run "$T/$n.afb" --inputs "$d/inputs" --outputs "$T/$n.e1" --expand-weights
    for f in "$T/$n.c1"/*.npy; do
        b=$(basename "$f")
        cmp "$f" "$T/$n.c2/$b" && cmp "$f" "$T/$n.c3/$b" || fail "$n: threads differ ($b)"
    done
}
wbytes() { "$AF" bench "$@" --runs 1 --json | sed 's/.*"weight_bytes": \([0-9]*\).*/\1/'; }
same() { # NAME: compressed == expanded, byte for byte
    for f in "$T/$1.c1"/*.npy; do
        cmp "$f" "$T/$1.e1/$(basename "$f")" || fail "$1: compressed panels differ from expanded"
    done
    echo "$1: compressed == expanded (bytes), 1/2/3 threads identical"
}
for c in int8 int4 blockwise; do
    check models/small_cnn "small_$c" --compress "$c"
    same "small_$c"
done
check models/small_cnn small_lut4 --compress int4 --palette-scale none
same small_lut4

# inspect names the form of each compressed weight; bench reports resident weight bytes
"$AF" inspect "$T/small_int8.afb" >"$T/insp"
grep -q "runs compressed on this CPU" "$T/insp" || { echo "inspect: no compressed weight"; cat "$T/insp"; exit 1; }
"$AF" inspect "$T/small_int8.afb" --json | grep -q '"weight_forms":\[{"tensor"' ||
    fail "inspect --json lacks weight_forms"
# palettes of other widths run compressed too (1..3-bit codes held as nibbles, 5..8 as bytes)
for pb in 2 3 6 8; do
    check models/small_cnn "small_p$pb" --compress palette --palette-bits "$pb"
    same "small_p$pb"
done
"$AF" inspect "$T/small_p6.afb" | grep -q "runs compressed on this CPU" ||
    fail "inspect: 6-bit palette weights should run compressed"
# sparse weights too: the mask cut into the panels, each panel's non-zeros expanded into it
check models/small_cnn small_sp --compress sparse --sparsity 0.5
same small_sp
"$AF" inspect "$T/small_sp.afb" >"$T/insp_sp"
grep -q "runs expanded on this CPU: sparse" "$T/insp_sp" &&
    { cat "$T/insp_sp"; fail "inspect: a sparse weight runs expanded"; }
grep -q "runs compressed on this CPU" "$T/insp_sp" ||
    { cat "$T/insp_sp"; fail "inspect: sparse weights should run compressed"; }
w_c=$(wbytes "$T/small_sp.afb") w_e=$(wbytes "$T/small_sp.afb" --expand-weights)
echo "small_cnn sparse 0.5: resident weights $w_c bytes (expanded: $w_e)"
[ "$w_c" -lt "$w_e" ] || fail "sparse: compressed resident weights $w_c >= expanded $w_e"

check models/sd_resnet sd_int4 --compress int4
same sd_int4
# MatMul weights (the Transformer2D block's projections and feed-forward) run as compressed B
# panels through the same packed GEMM: bytes must match, every weight must run compressed
for c in int8 int4 blockwise "sparse --sparsity 0.5"; do
    m=$(echo "$c" | cut -d' ' -f1)
    # shellcheck disable=SC2086 # "sparse --sparsity 0.5": the mode and its option
    check models/sd_transformer "tr_$m" --compress $c
    same "tr_$m"
done
"$AF" inspect "$T/tr_sparse.afb" | grep -q "runs expanded on this CPU: sparse" &&
    fail "sd_transformer: a sparse weight runs expanded"
"$AF" inspect "$T/tr_int4.afb" >"$T/insp_tr"
grep -q "runs expanded" "$T/insp_tr" && { cat "$T/insp_tr"; fail "sd_transformer: a weight runs expanded"; }
grep -q "runs compressed on this CPU" "$T/insp_tr" || fail "sd_transformer: no compressed weight"
# One output row (a batch-1 classifier head): the GEMV reads the weights as compressed rows,
# decoded a piece at a time into the f32 GEMV's very sums (AVX-512; with the AVX2 GEMM both
# paths take the packed GEMM): bytes must match, every weight must run compressed
if "$PY" -c "import onnx, numpy" 2>/dev/null; then
    "$PY" tests/tools/classifier_head.py "$T/head"
    for c in int8 int4 blockwise "sparse --sparsity 0.5"; do
        m=$(echo "$c" | cut -d' ' -f1)
        # shellcheck disable=SC2086 # the mode and its option
        check "$T/head" "head_$m" --compress $c
        same "head_$m"
    done
    "$AF" inspect "$T/head_int4.afb" >"$T/insp_head"
    grep -q "runs expanded" "$T/insp_head" && { cat "$T/insp_head"; fail "head: a weight runs expanded"; }
    [ "$(grep -c "runs compressed on this CPU" "$T/insp_head")" -eq 3 ] ||
        { cat "$T/insp_head"; fail "head: not all 3 weights run compressed"; }
    "$AF" inspect "$T/head_sparse.afb" >"$T/insp_head_sp"
    [ "$(grep -c "runs compressed on this CPU" "$T/insp_head_sp")" -eq 3 ] ||
        { cat "$T/insp_head_sp"; fail "head: not all 3 sparse weights run compressed"; }
fi
w_c=$(wbytes "$T/small_int8.afb") w_e=$(wbytes "$T/small_int8.afb" --expand-weights)
echo "small_cnn int8: resident weights $w_c bytes (expanded: $w_e)"
[ "$w_c" -lt "$w_e" ] || fail "compressed resident weights $w_c >= expanded $w_e"
if have_torch; then # MobileNetV2: no Winograd either way, so every conv must match in bytes
    "$PY" models/export_torchvision.py "$T/tv" mobilenet_v2 >/dev/null
    check "$T/tv/mobilenet_v2" mnv2_int4 --compress int4
    same mnv2_int4
    w_c=$(wbytes "$T/mnv2_int4.afb") w_e=$(wbytes "$T/mnv2_int4.afb" --expand-weights)
    size=$(wc -c <"$T/mnv2_int4.afb")
    echo "mobilenet_v2 int4: bundle $size bytes, resident weights $w_c (expanded: $w_e)"
    # compressed: the codes (the 1280x1000 classifier's too: compressed rows for the GEMV), f32
    # row parameters and tables, plus the depthwise weights in f32 (~0.26 MB: decoded at open);
    # measured 0.24 MB above the bundle. Expanded: all f32
    [ "$w_c" -lt $((size + 400000)) ] || fail "compressed resident weights $w_c too large"
    [ "$w_e" -gt $((size * 5)) ] || fail "expanded resident weights $w_e too small"
    check "$T/tv/mobilenet_v2" mnv2_sparse --compress sparse --sparsity 0.5
    same mnv2_sparse
fi
[ "$fails" -eq 0 ]

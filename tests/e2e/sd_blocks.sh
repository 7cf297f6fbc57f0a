#!/bin/sh
# Stable Diffusion blocks, reduced sizes (models/sd_*, made by models/make_sd_blocks.py and
# models/make_sd_norm_ops.py, referenced by ONNX Runtime): ONNX → bundle → runtime.
# Thresholds as in cnn_small.sh: fp32 bundles differ from ONNX Runtime only in summation order
# (measured 137-152 dB), so 80 dB fails on any real bug; fp16 rounds every weight to 11
# significant bits (~66 dB per layer), the issue's bar is 50 dB.
# Also checks that the fused ops appear and the decomposed chains are gone (aneforge inspect),
# and that chains which must not fuse (sd_norm_ops) stay unfused and still match.
set -eu
. "$(dirname "$0")/lib/common.sh"
for m in sd_resnet sd_resnet_shortcut sd_transformer sd_transformer_1280 sd_down sd_upsample \
         sd_vae_mid sd_norm_ops; do
    convert_run_compare "models/$m" "$m" fp32 80 "models/$m/reference"
    convert_run_compare "models/$m" "$m" fp16 50 "models/$m/reference"
done

# ops_of BUNDLE: the "ops:" line of inspect, one op name per line
ops_of() { "$AF" inspect "$1" | sed -n 's/^ *ops: //p' | tr ' ' '\n' | sed 's/×.*//'; }
need() { ops_of "$1" | grep -qx "$2" || { echo "FAIL: $1 has no $2 op"; exit 1; }; }
lacks() { ! ops_of "$1" | grep -qx "$2" || { echo "FAIL: $1 still has a $2 op"; exit 1; }; }

for m in sd_transformer sd_transformer_1280 sd_down; do
    b="$T/$m.fp32.afb"
    # GEGLU's Slice, Slice, GELU and Mul are one geglu node
    for op in group_norm layer_norm geglu attention; do need "$b" "$op"; done
    for op in softmax reduce sub pow sqrt div erf instance_norm sigmoid slice gelu; do lacks "$b" "$op"; done
done
# SiLU after GroupNorm goes into the norm's epilogue: no separate sigmoid/mul/silu on that path.
for m in sd_resnet sd_vae_mid; do
    need "$T/$m.fp32.afb" group_norm
    for op in instance_norm sigmoid mul; do lacks "$T/$m.fp32.afb" "$op"; done
done
need "$T/sd_vae_mid.fp32.afb" attention
# The head split (Reshape → Transpose) of q, k, v and the merge of the output go into the
# attention's strides (params heads): only the (N,C,H,W) <-> (N,HW,C) transposes remain.
count_of() { "$AF" inspect "$1" | sed -n 's/^ *ops: //p' | tr ' ' '\n' | sed -n "s/^$2×//p"; }
for m in sd_transformer:2 sd_transformer_1280:2 sd_down:4; do
    n=$(count_of "$T/${m%:*}.fp32.afb" transpose)
    [ "$n" = "${m#*:}" ] || { echo "FAIL: ${m%:*} has ${n:-no} transposes, want ${m#*:}"; exit 1; }
done
# A bundle written before attention's params grew (8 bytes: no heads) still opens and runs as
# one converted now.
L=tests/data/legacy/attention8
"$AF" convert "$L/model.onnx" -o "$T/attention8.afb" --compress fp32 -q
"$AF" run "$L/attention8.afb" --inputs "$L/inputs" --outputs "$T/legacy.out"
"$AF" run "$T/attention8.afb" --inputs "$L/inputs" --outputs "$T/now.out"
cmp "$T/legacy.out/out.npy" "$T/now.out/out.npy" || { echo "FAIL: legacy attention bundle"; exit 1; }
# sd_norm_ops: GroupNormalization-18, LayerNormalization-17 and the tanh GELU fuse (the GELU then
# goes into the layer_norm's epilogue); the softmax over a non-last axis and the
# non-per-channel Mul after a GroupNorm frame stay as they are.
b="$T/sd_norm_ops.fp32.afb"
for op in group_norm instance_norm layer_norm softmax matmul mul; do need "$b" "$op"; done
for op in tanh pow attention; do lacks "$b" "$op"; done
echo "fusion: ok"

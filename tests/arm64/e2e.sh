#!/bin/sh
# make check-arm64, end to end: bundles converted on the host (x86 build), run by the aarch64
# CLI under qemu-aarch64 and by the x86 CLI, outputs compared.
#   tests/arm64/e2e.sh HOST_BUILD ARM64_BUILD
# Bars (issue 21): the aarch64 outputs within >= 120 dB PSNR of the x86 ones (the two differ
# only in summation order and FMA rounding: NEON 12x8 tiles vs AVX-512 14x32, Winograd tiles
# chosen by each CPU's cost rule, polynomial activations; measured 130-150 dB; a wrong tile, weight or epilogue gives < 60 dB), and
# byte-identical across --threads 1 and 2 (tasks are cut by shape alone). Also >= 80 dB against
# the committed ONNX Runtime references (the bar of tests/e2e/cnn_small.sh).
set -eu
HOST=${1:?usage: $0 HOST_BUILD ARM64_BUILD}
ARM=${2:?usage: $0 HOST_BUILD ARM64_BUILD}
QEMU=${QEMU:-qemu-aarch64 -L /usr/aarch64-linux-gnu} # the programs are static; -L for any that are not
CMP=$HOST/tests/af_npycmp
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# MODEL_DIR NAME COMPRESS [CONVERT-OPTION...]
check() {
    d=$1 nm=$2 c=$3
    shift 3
    b=$T/$nm.$c.afb
    "$HOST/bin/aneforge" convert "$d/model.onnx" -o "$b" --compress "$c" -q "$@"
    "$HOST/bin/aneforge" run "$b" --inputs "$d/inputs" --outputs "$T/$nm.$c.x86" --threads 1
    for n in 1 2; do
        $QEMU "$ARM/bin/aneforge" run "$b" --inputs "$d/inputs" --outputs "$T/$nm.$c.arm$n" --threads "$n"
    done
    for f in "$T/$nm.$c.arm1"/*.npy; do cmp "$f" "$T/$nm.$c.arm2/$(basename "$f")"; done
    printf '%s %s, aarch64 vs x86: ' "$nm" "$c"
    "$CMP" "$T/$nm.$c.x86" "$T/$nm.$c.arm1" --min-psnr 120
    if [ "$c" = fp32 ]; then
        printf '%s %s, aarch64 vs ONNX Runtime: ' "$nm" "$c"
        "$CMP" "$d/reference" "$T/$nm.$c.arm1" --min-psnr 80
    fi
}

for m in small_cnn tiny_mlp sd_resnet sd_down sd_transformer; do
    check "models/$m" "$m" fp32
done
# the weight decoders (halves, int8, int4 tables, palettes, sparse, blockwise) on the small CNN
for c in fp16 int8 int4 palette sparse blockwise; do check models/small_cnn small_cnn "$c"; done
# sparse panels with half of every weight pruned (the plain sparse bundle above keeps fp16 where
# a weight has no zeros of its own): conv A panels, MatMul B panels
check models/small_cnn small_cnn_sp50 sparse --sparsity 0.5
check models/sd_transformer sd_transformer_sp50 sparse --sparsity 0.5
# inspect reads the same bundle bytes on both (but for its lines about how this CPU runs a
# weight: each CPU's kernels and cost rules choose Winograd, compressed panels or f32 panels)
"$HOST/bin/aneforge" inspect "$T/small_cnn.int8.afb" | grep -v "on this CPU" >"$T/inspect.x86"
$QEMU "$ARM/bin/aneforge" inspect "$T/small_cnn.int8.afb" | grep -v "on this CPU" >"$T/inspect.arm"
cmp "$T/inspect.x86" "$T/inspect.arm"
$QEMU "$ARM/bin/aneforge" bench "$T/small_cnn.fp32.afb" --runs 2 >/dev/null
echo "arm64 e2e: ok (threads 1 and 2 byte-identical, >= 120 dB of x86)"

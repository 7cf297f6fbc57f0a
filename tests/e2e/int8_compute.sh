#!/bin/sh
# int8 compute (run/bench --int8-compute, af_session_options.int8_compute): the int8 bundles of
# the committed small CNN and SD ResnetBlock2D run their GEMM convs as int8 x uint8 dot products.
# Checks, through the CLI: the same output bytes for 1, 2 and 3 threads; against f32 compute on
# the same bundle PSNR >= 30 dB (8-bit activations per k block of each im2col column: 62-67 dB
# measured on both; 30 is a gate for gross errors — a wrong zero point or scale gives < 20); that int8 compute was taken at all
# where the CPU has AVX512-VNNI (outputs differ from f32 compute) and is a no-op elsewhere and on
# an fp32 bundle (same bytes); what bench --int8-compute reports (PSNR, cosine); and
# validate --int8-compute against the fp32 model.
set -eu
. "$(dirname "$0")/lib/common.sh"
vnni=0
grep -q avx512_vnni /proc/cpuinfo 2>/dev/null && vnni=1
one() { # DIR NAME COMPRESS
    "$AF" convert "$1/model.onnx" -o "$T/$2.afb" -q --compress "$3"
    "$AF" run "$T/$2.afb" --inputs "$1/inputs" --outputs "$T/$2.f32"
    for k in 1 2 3; do
        "$AF" run "$T/$2.afb" --inputs "$1/inputs" --outputs "$T/$2.q$k" --threads "$k" --int8-compute
    done
    for f in "$T/$2.q1"/*.npy; do
        b=$(basename "$f")
        cmp "$f" "$T/$2.q2/$b" && cmp "$f" "$T/$2.q3/$b" || fail "$2: threads differ ($b)"
        if [ "$3" = fp32 ] || [ "$vnni" = 0 ]; then
            cmp "$f" "$T/$2.f32/$b" || fail "$2: --int8-compute changed bytes without int8 weights or VNNI"
        elif cmp -s "$f" "$T/$2.f32/$b"; then
            fail "$2: --int8-compute gave the f32 bytes (int8 path not taken)"
        fi
    done
    printf '%s int8 compute vs f32 compute: ' "$2"
    "$CMP" "$T/$2.f32" "$T/$2.q1" --min-psnr 30 || fail "$2: int8 compute below 30 dB"
}
one models/small_cnn small_int8 int8
one models/sd_resnet sd_int8 int8
one models/small_cnn small_fp32 fp32

"$AF" bench "$T/small_int8.afb" --runs 2 --int8-compute --json >"$T/bj"
cat "$T/bj"
grep -q '"int8_compute": true, "int8_vs_f32": \[{"output": "[^"]*", "psnr": [0-9.]*, "cosine": 0\.9' "$T/bj" ||
    fail "bench --json lacks int8_vs_f32"
"$AF" bench "$T/small_int8.afb" --runs 2 --int8-compute >"$T/bt"
grep -q "int8 compute against f32 compute:" "$T/bt" && grep -q "PSNR .* dB  cosine" "$T/bt" ||
    { cat "$T/bt"; fail "bench --int8-compute: no accuracy lines"; }
# validate --int8-compute: the whole cost (int8 weights + int8 compute) against the fp32 model;
# int8 weights alone score 39.98 dB here, so 35 dB bounds what int8 compute may add
"$AF" validate models/small_cnn/model.onnx "$T/small_int8.afb" --inputs models/small_cnn/inputs \
    --int8-compute --min-psnr 35 --json "$T/v.json" >"$T/vt" || { cat "$T/vt"; fail "validate --int8-compute"; }
grep -q "(bundle with int8 compute)" "$T/vt" || fail "validate text does not say int8 compute"
grep -q '"int8_compute":1' "$T/v.json" || fail "validate --json lacks int8_compute"
[ "$fails" -eq 0 ]

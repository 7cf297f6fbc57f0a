#!/bin/sh
# Residual-add fusion (lowering/fuse.c) end to end on the committed small CNN (two residual
# blocks): the converter reports the fused adds, inspect lists them as conv+add, the fused
# bundle gives the same outputs as the unfused one (--no-fuse), and 1 and 3 threads give the
# same bytes.
set -eu
. "$(dirname "$0")/lib/common.sh"
M=models/small_cnn
"$AF" convert "$M/model.onnx" -o "$T/fused.afb" --compress fp32 --json >"$T/convert.json"
grep -q '"residual_fused":2' "$T/convert.json" || fail "expected 2 residual adds fused: $(cat "$T/convert.json")"
"$AF" inspect "$T/fused.afb" >"$T/inspect.txt"
grep -q 'conv+add×2' "$T/inspect.txt" || fail "inspect does not list conv+add×2: $(grep ops "$T/inspect.txt")"
"$AF" convert "$M/model.onnx" -o "$T/plain.afb" --compress fp32 --no-fuse -q
"$AF" run "$T/plain.afb" --inputs "$M/inputs" --outputs "$T/plain" >/dev/null
"$AF" run "$T/fused.afb" --inputs "$M/inputs" --outputs "$T/t1" --threads 1 >/dev/null
"$AF" run "$T/fused.afb" --inputs "$M/inputs" --outputs "$T/t3" --threads 3 >/dev/null
# Fusion changes the order of nothing: conv + bias, then + residual, then the activation, the
# same fp32 operations as the separate ops (BatchNorm folding, also skipped by --no-fuse, does
# round differently: ~1e-7 relative, far above 120 dB).
printf 'fused vs --no-fuse: '
"$CMP" "$T/plain" "$T/t1" --min-psnr 120 || fail "fused output differs from the unfused one"
for f in "$T"/t1/*.npy; do
    cmp -s "$f" "$T/t3/$(basename "$f")" || fail "$(basename "$f"): 3 threads differ from 1"
done
printf 'vs reference: '
"$CMP" "$M/reference" "$T/t1" --min-psnr 80 || fail "fused output vs the ONNX Runtime reference"
[ "$fails" -eq 0 ]

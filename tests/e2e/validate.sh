#!/bin/sh
# aneforge validate on the committed models: per output and per layer against the model's fp32
# program, the fp16 activation emulation naming the overflowing layer, --reference, --manifest,
# --json, --plot (rendered to PNG by rsvg-convert when installed), --min-psnr exit codes.
# Thresholds: an fp16-weight bundle of small_cnn is ~64 dB from its fp32 program (11-bit
# weights, see cnn_small.sh), so 40 dB passes with margin and 200 dB must fail.
set -eu
. "$(dirname "$0")/lib/common.sh"
M=models/small_cnn
"$AF" convert $M/model.onnx -o "$T/s16.afb" -q

# per layer, JSON, SVG; every output above 40 dB -> exit 0
"$AF" validate $M/model.onnx "$T/s16.afb" --inputs $M/inputs --reference $M/reference \
    --per-layer --min-psnr 40 --json "$T/s.json" --plot "$T/s.svg" >"$T/s.txt"
grep -q "^per layer: s16.afb — 2[0-9] tensors compared" "$T/s.txt"
grep -q "^worst layer: s16.afb: " "$T/s.txt"
grep -q '"worst_layer":"' "$T/s.json"
grep -q '"expected_vs_fp32_program":{"psnr_db":' "$T/s.json"
grep -q '</svg>' "$T/s.svg"
if command -v rsvg-convert >/dev/null; then
    rsvg-convert -o "$T/s.png" "$T/s.svg"
    [ "$(head -c 8 "$T/s.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
    echo "svg renders: ok"
else
    echo "note: rsvg-convert not installed (scripts/install-deps.sh), SVG not rendered"
fi
echo "per layer, json, svg: ok"

# an impossible threshold -> exit 1 and FAIL
rc=0
"$AF" validate $M/model.onnx "$T/s16.afb" --seed 2 --fp16 --min-psnr 200 >"$T/f.txt" || rc=$?
[ $rc -eq 1 ] && grep -q "^FAIL" "$T/f.txt"
echo "min-psnr failure: ok"

# overflow: 'hidden' exceeds 65504; with --fp16 the output goes non-finite and the layer is named
O=models/overflow_mlp
"$AF" convert $O/model.onnx -o "$T/ov.afb" -q
rc=0
"$AF" validate $O/model.onnx "$T/ov.afb" --inputs $O/inputs --fp16 --min-psnr 30 >"$T/o.txt" || rc=$?
cat "$T/o.txt"
[ $rc -eq 1 ]
grep -q "^fp16 overflow: ov.afb: tensor 'hidden' of node 'fc1' (gemm) holds 8 values" "$T/o.txt"
grep -q "^non-finite: ov.afb: the bundle (fp16 activations) first holds Inf/NaN" "$T/o.txt"
# without fp16 activations the fp32-accumulating host run passes, but the risk is still reported
"$AF" validate $O/model.onnx "$T/ov.afb" --inputs $O/inputs --min-psnr 30 >"$T/o2.txt"
grep -q "^fp16 overflow: ov.afb: tensor 'hidden'" "$T/o2.txt"
echo "fp16 overflow: ok"

# manifest: two components, one table
"$AF" convert models/tiny_mlp/model.onnx -o "$T/mlp.afb" -q
cat >"$T/components.txt" <<EOM
# name model bundle [inputs] [reference]
cnn  $PWD/$M/model.onnx  s16.afb  $PWD/$M/inputs  $PWD/$M/reference
mlp  $PWD/models/tiny_mlp/model.onnx  mlp.afb  -
EOM
"$AF" validate --manifest "$T/components.txt" --min-psnr 40 --json "$T/m.json" >"$T/m.txt"
cat "$T/m.txt"
grep -q "^cnn: " "$T/m.txt" && grep -q "^mlp: " "$T/m.txt" && grep -q "^PASS" "$T/m.txt"
grep -q '"name":"mlp"' "$T/m.json"
echo "manifest: ok"

# usage and bad input
rc=0; "$AF" validate $M/model.onnx 2>/dev/null || rc=$?; [ $rc -eq 2 ]
rc=0; "$AF" validate $M/model.onnx "$T/s16.afb" --bogus 2>/dev/null || rc=$?; [ $rc -eq 2 ]
printf 'only two\n' >"$T/bad.txt"
rc=0; "$AF" validate --manifest "$T/bad.txt" 2>"$T/e.txt" || rc=$?; [ $rc -eq 3 ]
grep -q "^aneforge: error: .*bad.txt:1: want NAME MODEL BUNDLE" "$T/e.txt"
rc=0; "$AF" validate models/tiny_mlp/model.onnx "$T/s16.afb" 2>/dev/null || rc=$?; [ $rc -eq 3 ]
echo "errors: ok"

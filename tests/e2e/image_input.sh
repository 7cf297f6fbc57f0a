#!/bin/sh
# convert --image-input: the input becomes uint8 and is dequantised inside the program
# (x·scale + bias per channel, Cast → Mul → Add in f32). Running the bundle on 8 random uint8
# images must give byte-identical outputs to running the plain bundle on the same images
# dequantised on the host in f32 (numpy: x.astype(f32) * scale + bias, the same two roundings).
# (With --fp16 activations the in-program dequantisation is rounded to half after the Mul, as on
# the ANE, so only the f32 path is byte-identical.) Skipped without Debian's numpy.
set -eu
. "$(dirname "$0")/lib/common.sh"
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: /usr/bin/python3 has no numpy"; exit $SKIP; }
M=models/small_cnn
S=0.017124754,0.017507003,0.017429194
B=-2.117904,-2.0357141,-1.8044444
"$AF" convert $M/model.onnx -o "$T/u8.afb" --image-input "input:scale=$S,bias=$B" -q
"$AF" convert $M/model.onnx -o "$T/f32in.afb" -q
"$AF" inspect "$T/u8.afb" | grep -q "input   input: u8\[1,3,64,64\]"
"$PY" - "$T" "$S" "$B" <<'EOP'
import os, sys
import numpy as np
t, s, b = sys.argv[1], sys.argv[2], sys.argv[3]
s = np.array([np.float32(v) for v in s.split(",")], np.float32).reshape(1, 3, 1, 1)
b = np.array([np.float32(v) for v in b.split(",")], np.float32).reshape(1, 3, 1, 1)
rng = np.random.default_rng(2024)
for i in range(8):
    x = rng.integers(0, 256, size=(1, 3, 64, 64), dtype=np.uint8)
    for d in ("u%d" % i, "f%d" % i):
        os.makedirs(os.path.join(t, d), exist_ok=True)
    np.save(os.path.join(t, "u%d" % i, "input.npy"), x)
    np.save(os.path.join(t, "f%d" % i, "input.npy"), x.astype(np.float32) * s + b)
EOP
for i in 0 1 2 3 4 5 6 7; do
    "$AF" run "$T/u8.afb" --inputs "$T/u$i" --outputs "$T/uo$i"
    "$AF" run "$T/f32in.afb" --inputs "$T/f$i" --outputs "$T/fo$i"
    cmp "$T/uo$i/output.npy" "$T/fo$i/output.npy"
done
echo "8 images, byte-identical outputs: ok"
# a float image for a uint8 input is refused with exit 3
rc=0; "$AF" run "$T/u8.afb" --inputs "$T/f0" 2>/dev/null || rc=$?; [ $rc -eq 3 ]
# validate builds the reference with the same front end
"$AF" validate $M/model.onnx "$T/u8.afb" --image-input "input:scale=$S,bias=$B" --inputs "$T/u0" \
    --min-psnr 40 | grep -q "^PASS"
# bad specs are usage errors
rc=0; "$AF" convert $M/model.onnx -o "$T/x.afb" --image-input "nope:scale=1" 2>/dev/null || rc=$?; [ $rc -eq 2 ]
rc=0; "$AF" convert $M/model.onnx -o "$T/x.afb" --image-input "input:bias=1,2" 2>/dev/null || rc=$?; [ $rc -eq 2 ]
echo "image input: ok"

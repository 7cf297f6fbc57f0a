#!/usr/bin/env python3
"""The README's CLI walkthrough — convert, compress, check, estimate, validate, run — in Python.

    python3 examples/python/walkthrough.py OUT_DIR      (from the repository root)

Every file it writes is byte-identical to what the CLI commands in the comments write
(python/tests/test_examples.py checks it). Needs the aneforge package on PYTHONPATH (python/)
and libaneforge (ANEFORGE_LIBRARY, or the build tree)."""
import os
import sys
import warnings

import numpy as np

import aneforge as af

out = sys.argv[1] if len(sys.argv) > 1 else "out"
os.makedirs(out, exist_ok=True)
model = "models/small_cnn/model.onnx"
inputs = "models/small_cnn/inputs"

# aneforge convert models/small_cnn/model.onnx -o out/m.afb
m = af.convert(model, f"{out}/m.afb")
print(f"m.afb: {m.conversion['file_bytes']} bytes, inputs {m.inputs}, outputs {m.outputs}")

# aneforge convert models/small_cnn/model.onnx -o out/i8.afb --compress int8
i8 = af.convert(model, f"{out}/i8.afb", compress="int8")
c = i8.conversion
print(f"i8.afb: weights {c['weight_bytes'] / c['weight_bytes_fp32']:.3f} of fp32")

# aneforge check models/small_cnn/model.onnx --target m2
print("check m2:", af.cross_compile_check(model, "m2") or "every node runs on the ANE")
# aneforge check models/fp16_overflow/model.onnx --target h14 --fp16 --calib models/fp16_overflow/inputs
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    findings = af.predict_fp16_divergence("models/fp16_overflow/model.onnx",
                                          calib="models/fp16_overflow/inputs")
for f in findings:
    print(f"fp16 {f.kind}: tensor '{f.tensor}': {f.why}")
print("warned:", [w.category.__name__ for w in caught])

# aneforge convert models/small_cnn/model.onnx -o out/h13.afb --target h13 --allow-fallback
h13 = af.convert(model, f"{out}/h13.afb", target="h13", allow_fallback=True)
# aneforge estimate out/h13.afb --target h16 --assume-weights int4
est = af.estimate(h13, target="h16", assume_weights="int4")
print(f"estimate on h16: {est.total_ms:.3f} ms; slowest: {est.top(1)[0].node}")

# aneforge validate models/small_cnn/model.onnx out/i8.afb --inputs models/small_cnn/inputs \
#     --fp16 --per-layer --min-psnr 35 --plot out/m.svg --json out/validate.json
report = af.validate(model, i8, inputs=inputs, fp16=True, per_layer=True, min_psnr=35)
report.plot(f"{out}/m.svg")
with open(f"{out}/validate.json", "w") as f:
    f.write(report.to_json())
print(f"validate: output PSNR {report.outputs[0]['psnr_db']:.1f} dB, worst layer "
      f"{report.worst_layers(1)[0]['tensor']}, passed {report.passed}")

# aneforge run out/i8.afb --inputs models/small_cnn/inputs --outputs out/y --threads 2
x = np.load(f"{inputs}/input.npy")
y = i8.session(threads=2).run({"input": x})
os.makedirs(f"{out}/y", exist_ok=True)
for name, value in y.items():
    np.save(f"{out}/y/{name}.npy", value)
print("run: top class", int(y["output"].argmax()))

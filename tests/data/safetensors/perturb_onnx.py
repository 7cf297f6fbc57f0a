#!/usr/bin/python3
"""For the --weights end-to-end test (tests/e2e/safetensors.sh):

  /usr/bin/python3 tests/data/safetensors/perturb_onnx.py MODEL.onnx OUT.onnx WEIGHTS.npz

writes every initializer of MODEL.onnx to WEIGHTS.npz (the values to bind back) and OUT.onnx,
the same model with every floating-point initializer multiplied element-wise by seeded
U(0.5, 1.5) factors (so BatchNorm variances stay positive and every value changes).
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main(src, dst, npz):
    m = onnx.load(src)
    rng = np.random.default_rng(5)
    orig = {}
    for init in m.graph.initializer:
        a = numpy_helper.to_array(init)
        orig[init.name] = a
        if a.dtype.kind == "f":
            p = (a * rng.uniform(0.5, 1.5, a.shape)).astype(a.dtype)
            init.CopyFrom(numpy_helper.from_array(p, init.name))
    np.savez(npz, **orig)
    onnx.save(m, dst)


if __name__ == "__main__":
    main(*sys.argv[1:4])

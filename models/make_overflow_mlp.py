#!/usr/bin/python3
"""A tiny MLP whose hidden layer exceeds the fp16 range while its output does not, for
`aneforge validate --fp16` (issue #8: the overflow must be reported with the layer's name).

  /usr/bin/python3 models/make_overflow_mlp.py [OUTDIR]      (default: models/)

writes OUTDIR/overflow_mlp/model.onnx (opset 13, onnx.helper, no torch) and
OUTDIR/overflow_mlp/inputs/input.npy: input (1,16) float32, seeded U(0.5, 1.5) (positive, so the
overflow below does not depend on luck).
  fc1      Gemm  input @ W1 + b1, W1 (16,32): columns 0..7 ~ U(4000, 6000), the rest N(0, 0.5)
                 -> 'hidden'   columns 0..7 are ≈ 16 · 1 · 5000 = 80000 > 65504 (fp16 max)
  act      Relu  -> 'hidden_relu'
  shrink   Mul   × 1e-3 -> 'shrunk'  (back to ~80: fine in fp16 if the hidden layer were)
  fc2      Gemm  @ W2 (32,4) ~ N(0, 0.2) + b2 -> 'output' (1,4), |output| ~ 10² in fp32
In fp32 every value is finite; with fp16 activations 'hidden' becomes ±Inf and so does
'output'. Then run models/make_references.sh models/overflow_mlp for the ONNX Runtime reference.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build():
    rng = np.random.default_rng(11)
    w1 = rng.normal(0, 0.5, size=(16, 32)).astype(np.float32)
    w1[:, :8] = rng.uniform(4000, 6000, size=(16, 8)).astype(np.float32)
    b1 = rng.normal(0, 0.05, size=(32,)).astype(np.float32)
    w2 = rng.normal(0, 0.2, size=(32, 4)).astype(np.float32)
    b2 = rng.normal(0, 0.05, size=(4,)).astype(np.float32)
    inits = [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(b1, "b1"),
             numpy_helper.from_array(w2, "W2"), numpy_helper.from_array(b2, "b2"),
             numpy_helper.from_array(np.array(1e-3, np.float32), "k_shrink")]
    nodes = [
        helper.make_node("Gemm", ["input", "W1", "b1"], ["hidden"], name="fc1"),
        helper.make_node("Relu", ["hidden"], ["hidden_relu"], name="act"),
        helper.make_node("Mul", ["hidden_relu", "k_shrink"], ["shrunk"], name="shrink"),
        helper.make_node("Gemm", ["shrunk", "W2", "b2"], ["output"], name="fc2"),
    ]
    f = TensorProto.FLOAT
    graph = helper.make_graph(nodes, "overflow_mlp",
                              [helper.make_tensor_value_info("input", f, [1, 16])],
                              [helper.make_tensor_value_info("output", f, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="aneforge models/make_overflow_mlp.py")
    model.ir_version = 7
    onnx.checker.check_model(model)
    x = np.random.default_rng(12).uniform(0.5, 1.5, size=(1, 16)).astype(np.float32)
    return model, x


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    d = os.path.join(out, "overflow_mlp")
    os.makedirs(os.path.join(d, "inputs"), exist_ok=True)
    model, x = build()
    onnx.save(model, os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "inputs", "input.npy"), x)
    print(d + ": model.onnx, inputs/input.npy")


if __name__ == "__main__":
    main()

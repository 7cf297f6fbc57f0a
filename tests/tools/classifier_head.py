#!/usr/bin/python3
"""Makes tests/e2e/compressed_weights.sh's batch-1 head: MatMul and Gemm weights with one output
row, the GEMV's case (runtime/kernels/sgemm.c). Usage: classifier_head.py OUT_DIR ->
OUT_DIR/model.onnx and OUT_DIR/inputs/x.npy.

  x (1,300) @ W1 (300,601) -> Relu                      MatMul, B (K,N): rows of 601 columns
  Gemm(h, W2 (200,601), b2, transB=1) -> Relu           B (N,K): the classifier layout
  Gemm(h, W3 (200,81), b3, alpha=0.5, beta=1) -> y      B (K,N), alpha and a broadcast C
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(11)


def arr(name, shape, scale):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def main(out):
    inits = [arr("W1", (300, 601), 300 ** -0.5), arr("W2", (200, 601), 601 ** -0.5),
             arr("b2", (200,), 0.1), arr("W3", (200, 81), 200 ** -0.5), arr("b3", (81,), 0.1)]
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["m1"], name="mm1"),
             helper.make_node("Relu", ["m1"], ["h1"], name="relu1"),
             helper.make_node("Gemm", ["h1", "W2", "b2"], ["g2"], name="fc2", transB=1),
             helper.make_node("Relu", ["g2"], ["h2"], name="relu2"),
             helper.make_node("Gemm", ["h2", "W3", "b3"], ["y"], name="fc3", alpha=0.5,
                              beta=1.0)]
    g = helper.make_graph(nodes, "classifier_head",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 300])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 81])],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    os.makedirs(os.path.join(out, "inputs"), exist_ok=True)
    onnx.save(m, os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "inputs", "x.npy"), rng.standard_normal((1, 300)).astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/python3
"""Writes if_sample_rate.onnx: an `If` on a scalar graph input, as audio front ends branch on
their sample rate. Run with Debian's python (onnx 1.12, numpy):

    /usr/bin/python3 tests/data/wild/make_if_model.py OUT_DIR

x (1,3,16,16) float, sample_rate () int64.
  cond = Greater(sample_rate, 16000)
  If(cond) then: Relu(Conv3x3(x, w1))      (reads x and w1 from the outer scope)
           else: Sigmoid(Conv1x1(x, w2))
  y = If(...) * gain                        (1,8,16,16)
The branch bodies read outer-scope tensors (x, w1, w2), as ONNX's lexical scoping allows.
Seeded: the same file every run.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(15)


def main(out_dir):
    w1 = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.standard_normal((8, 3, 1, 1)).astype(np.float32), "w2")
    thr = numpy_helper.from_array(np.array(16000, dtype=np.int64), "thr")
    gain = numpy_helper.from_array(np.full((1, 8, 1, 1), 0.5, dtype=np.float32), "gain")
    yv = helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 8, 16, 16])
    then_g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv3x3"),
         helper.make_node("Relu", ["c1"], ["b"], name="relu")], "then", [], [yv])
    else_g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w2"], ["c2"], name="conv1x1"),
         helper.make_node("Sigmoid", ["c2"], ["b"], name="sigmoid")], "else", [], [yv])
    nodes = [
        helper.make_node("Greater", ["sample_rate", "thr"], ["cond"], name="is_hi_rate"),
        helper.make_node("If", ["cond"], ["branch"], name="rate_branch",
                         then_branch=then_g, else_branch=else_g),
        helper.make_node("Mul", ["branch", "gain"], ["y"], name="scale"),
    ]
    g = helper.make_graph(
        nodes, "if_sample_rate",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16]),
         helper.make_tensor_value_info("sample_rate", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])],
        initializer=[w1, w2, thr, gain])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    os.makedirs(out_dir, exist_ok=True)
    onnx.save(m, os.path.join(out_dir, "if_sample_rate.onnx"))
    for sr in (16000, 44100):
        d = os.path.join(out_dir, "inputs_%d" % sr)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "x.npy"), rng.standard_normal((1, 3, 16, 16)).astype(np.float32))
        np.save(os.path.join(d, "sample_rate.npy"), np.array(sr, dtype=np.int64))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

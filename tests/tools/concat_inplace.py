#!/usr/bin/python3
"""Makes tests/e2e/concat_inplace.sh's model: Concats the memory plan may (and may not) write
in place (lowering/memplan.h). Usage: concat_inplace.py OUT_DIR -> OUT_DIR/model.onnx and
OUT_DIR/inputs/x.npy.

  x (1,8,12,12) -> squeeze conv1x1+Relu s
  fire:   e1 = conv1x1(s)+Relu, e2 = conv3x3(s)+Relu, c1 = Concat(e1, e2) axis 1   (in place)
  nested: e3 = conv1x1(c1), c2 = Concat(c1, e3) axis 1                           (chain)
  refused: Concat(x, e4, e4) (graph input, same tensor twice), Concat(e5, ...) axis 2
           (outer extent 8 > 1), e6 a graph output and a Concat part, e7 read after its Concat
  pooling: MaxPool 3x3 s2 ceil_mode on c2 (odd and even widths), Flatten (in-place reshape)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
inits, nodes = [], []


def conv(name, x, cin, cout, k, relu=True):
    w = numpy_helper.from_array(rng.standard_normal((cout, cin, k, k)).astype(np.float32) * 0.3,
                                name + "_w")
    b = numpy_helper.from_array(rng.standard_normal(cout).astype(np.float32) * 0.1, name + "_b")
    inits.extend([w, b])
    out = name if not relu else name + "_pre"
    nodes.append(helper.make_node("Conv", [x, w.name, b.name], [out], name=name + "_conv",
                                  pads=[k // 2] * 4, kernel_shape=[k, k]))
    if relu:
        nodes.append(helper.make_node("Relu", [out], [name], name=name + "_relu"))
    return name


def concat(name, parts, axis):
    nodes.append(helper.make_node("Concat", parts, [name], name=name, axis=axis))
    return name


s = conv("s", "x", 8, 4, 1)
e1, e2 = conv("e1", s, 4, 8, 1), conv("e2", s, 4, 8, 3)
c1 = concat("c1", [e1, e2], 1)
e3 = conv("e3", c1, 16, 8, 1)
c2 = concat("c2", [c1, e3], 1)                       # (1,24,12,12)
e4 = conv("e4", s, 4, 4, 1)
c3 = concat("c3", ["x", e4, e4], 1)                  # (1,16,12,12)
e5 = conv("e5", s, 4, 8, 1)
c4 = concat("c4", [e5, conv("e5b", s, 4, 8, 3)], 2)  # (1,8,24,12), axis 2
e6 = conv("e6", s, 4, 4, 1)
e7 = conv("e7", s, 4, 4, 1)
c5 = concat("c5", [e6, e7], 1)
nodes.append(helper.make_node("Add", [c5, c5], ["c5x"], name="c5x"))
nodes.append(helper.make_node("Mul", [e7, e7], ["e7sq"], name="e7sq"))
nodes.append(helper.make_node("MaxPool", [c2], ["p"], name="pool", kernel_shape=[3, 3],
                              strides=[2, 2], ceil_mode=1))           # 12 -> 6
nodes.append(helper.make_node("MaxPool", [c4], ["p4"], name="pool4", kernel_shape=[3, 3],
                              strides=[2, 2], ceil_mode=1))           # (24,12) -> (12,6)
nodes.append(helper.make_node("Flatten", ["p"], ["flat"], name="flat", axis=1))
outs = [("flat", [1, 24 * 36]), (c3, [1, 16, 12, 12]), ("p4", [1, 8, 12, 6]), (e6, [1, 4, 12, 12]),
        ("c5x", [1, 8, 12, 12]), ("e7sq", [1, 4, 12, 12])]
graph = helper.make_graph(
    nodes, "concat_inplace",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 12, 12])],
    [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in outs], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
out = sys.argv[1]
os.makedirs(os.path.join(out, "inputs"), exist_ok=True)
onnx.save(model, os.path.join(out, "model.onnx"))
np.save(os.path.join(out, "inputs", "x.npy"), rng.standard_normal((1, 8, 12, 12)).astype(np.float32))

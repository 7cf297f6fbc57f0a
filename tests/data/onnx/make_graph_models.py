#!/usr/bin/python3
"""Makes the small ONNX models of tests/unit/test_onnx_graph.c (node order, cycles, control
flow). Run with Debian's python (onnx 1.12, numpy):
    /usr/bin/python3 tests/data/onnx/make_graph_models.py
Every file is written next to this script; outputs are deterministic.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F = TensorProto.FLOAT


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def save(m, name, check=True):
    if check:
        onnx.checker.check_model(m)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(m.SerializeToString())


def model(nodes, inputs, outputs, inits=(), opset=13):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def order():
    """fp16-converter style: the input Cast is appended after the nodes that read it."""
    nodes = [
        helper.make_node("Relu", ["xc"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "xc"], ["a"], name="add"),
        helper.make_node("Cast", ["a"], ["y"], name="cast_out", to=F),
        helper.make_node("Cast", ["x"], ["xc"], name="cast_in", to=F),
    ]
    io = ([vi("x", F, [2, 3])], [vi("y", F, [2, 3])])
    save(model(nodes, *io), "unsorted.onnx", check=False)
    cyc = [
        helper.make_node("Add", ["x", "b"], ["a"], name="add"),
        helper.make_node("Relu", ["a"], ["b"], name="relu"),
        helper.make_node("Identity", ["a"], ["y"], name="out"),
    ]
    save(model(cyc, *io), "cyclic.onnx", check=False)
    undef = [helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")]
    save(model(undef, *io), "undefined_input.onnx", check=False)


if __name__ == "__main__":
    order()

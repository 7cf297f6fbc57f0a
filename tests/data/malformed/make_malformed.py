#!/usr/bin/python3
"""Malformed models for tests/e2e/malformed.sh: each must make `aneforge convert`
exit 3 with one stderr line naming the node. Written with onnx.helper only (Debian's
python3-onnx); run `/usr/bin/python3 tests/data/malformed/make_malformed.py [OUT_DIR]` to
regenerate the committed .onnx files (they are also fuzz seeds, see tests/fuzz/seeds.sh)."""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F, U8, I8, B = TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT8, TensorProto.BOOL


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "malformed", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def if_model(then_outputs, else_reads):
    """If on a bool input; the then branch has then_outputs outputs, the else branch reads
    else_reads (an outer or an undefined name)."""
    then_nodes = [helper.make_node("Relu", ["x"], ["t%d" % i]) for i in range(then_outputs)]
    then_g = helper.make_graph(then_nodes, "then", [],
                               [vi("t%d" % i, F, [2, 3]) for i in range(then_outputs)])
    else_g = helper.make_graph([helper.make_node("Neg", [else_reads], ["e0"])], "else", [],
                               [vi("e0", F, [2, 3])])
    node = helper.make_node("If", ["c"], ["y"], name="if_bad", then_branch=then_g,
                            else_branch=else_g)
    return model([node], [vi("c", B, []), vi("x", F, [2, 3])], [vi("y", F, [2, 3])])


def quant(op, scale, zp):
    """op in {QuantizeLinear, DequantizeLinear} on a (1,4,2,2) activation, axis 1."""
    xt = F if op == "QuantizeLinear" else U8
    yt = U8 if op == "QuantizeLinear" else F
    node = helper.make_node(op, ["x", "s", "z"], ["y"], name="q_bad", axis=1)
    inits = [const("s", np.array(scale, np.float32)), const("z", np.array(zp, np.uint8))]
    return model([node], [vi("x", xt, [1, 4, 2, 2])], [vi("y", yt, [1, 4, 2, 2])], inits)


def qlinearconv_bad_zp():
    """w_zero_point holds 3 values for 4 output channels."""
    names = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    node = helper.make_node("QLinearConv", names, ["y"], name="qconv_bad_zp")
    inits = [const("xs", np.float32(0.1)), const("xz", np.uint8(128)),
             const("w", np.ones((4, 2, 1, 1), np.uint8)), const("ws", np.float32(0.05)),
             const("wz", np.array([1, 2, 3], np.uint8)), const("ys", np.float32(0.2)),
             const("yz", np.uint8(100))]
    return model([node], [vi("x", U8, [1, 2, 3, 3])], [vi("y", U8, [1, 4, 3, 3])], inits)


def lstm_bad_w():
    """W is [1,16,6] for an input of size 5 (hidden 4)."""
    node = helper.make_node("LSTM", ["x", "W", "R"], ["Y"], name="lstm_bad_w", hidden_size=4)
    inits = [const("W", np.zeros((1, 16, 6), np.float32)),
             const("R", np.zeros((1, 16, 4), np.float32))]
    return model([node], [vi("x", F, [3, 1, 5])], [vi("Y", F, [3, 1, 1, 4])], inits)


def cycle():
    """Unsorted (the consumer comes first) and cyclic: a = Add(x, b), b = Relu(a)."""
    nodes = [helper.make_node("Relu", ["a"], ["b"], name="relu_b"),
             helper.make_node("Add", ["x", "b"], ["a"], name="add_a")]
    return model(nodes, [vi("x", F, [2])], [vi("a", F, [2])])


def undefined_input():
    """Unsorted, and one node reads a name nothing defines."""
    nodes = [helper.make_node("Relu", ["a"], ["y"], name="relu_y"),
             helper.make_node("Add", ["x", "ghost"], ["a"], name="add_ghost")]
    return model(nodes, [vi("x", F, [2])], [vi("y", F, [2])])


CASES = {
    "if_branch_outputs": lambda: if_model(2, "x"),
    "if_undefined_name": lambda: if_model(1, "nowhere"),
    "quantize_scale_shape": lambda: quant("QuantizeLinear", [0.1, 0.2, 0.3], [0, 0, 0]),
    "quantize_zero_scale": lambda: quant("QuantizeLinear", [0.1, 0.0, 0.3, 0.4], [0] * 4),
    "dequantize_scale_shape": lambda: quant("DequantizeLinear", [0.1, 0.2, 0.3], [0, 0, 0]),
    "dequantize_zero_scale": lambda: quant("DequantizeLinear", [0.1, 0.2, 0.0, 0.4], [0] * 4),
    "qlinearconv_zero_point": qlinearconv_bad_zp,
    "lstm_bad_w": lstm_bad_w,
    "cycle": cycle,
    "undefined_input": undefined_input,
}

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    for name, make in CASES.items():
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(make().SerializeToString())

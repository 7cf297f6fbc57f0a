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
    # an If before the node whose output its branch reads: the sort moves the reader after it
    c = numpy_helper.from_array(np.array(True), "c")
    then_g = helper.make_graph([helper.make_node("Neg", ["r"], ["t"], name="neg")], "then", [],
                               [vi("t", F, [2, 3])])
    else_g = helper.make_graph([helper.make_node("Identity", ["x"], ["e"], name="id")], "else",
                               [], [vi("e", F, [2, 3])])
    nodes = [helper.make_node("If", ["c"], ["y"], name="pick", then_branch=then_g,
                              else_branch=else_g),
             helper.make_node("Relu", ["x"], ["r"], name="relu")]
    save(model(nodes, *io, [c]), "if_unsorted.onnx", check=False)
    undef = [helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")]
    save(model(undef, *io), "undefined_input.onnx", check=False)


def branch(name, nodes, outputs, inits=()):
    return helper.make_graph(nodes, name, [], outputs, initializer=list(inits))


def if_models():
    """An If on sample_rate > 16000 (the issue's example): the then branch scales x by an
    outer-scope initializer, the else branch reshapes it to another shape (never imported
    when not taken). sample_rate is a graph input (if_input.onnx: must be frozen) or an
    initializer (if_init.onnx: the frozen form)."""
    w = numpy_helper.from_array(np.array([1.5, -2.0, 0.5, 3.0], np.float32), "w")
    sr_init = numpy_helper.from_array(np.array(22050, np.int64), "sample_rate")
    k = numpy_helper.from_array(np.array(16000, np.int64), "k")
    then_g = branch("then", [helper.make_node("Mul", ["x", "w"], ["t_y"], name="then_mul")],
                    [vi("t_y", F, [1, 4])])
    shape = numpy_helper.from_array(np.array([2, 2], np.int64), "e_shape")
    else_g = branch("else", [helper.make_node("Reshape", ["x", "e_shape"], ["e_y"],
                                              name="else_reshape")],
                    [vi("e_y", F, [2, 2])], inits=[shape])
    nodes = [
        helper.make_node("Greater", ["sample_rate", "k"], ["hi"], name="gt"),
        helper.make_node("If", ["hi"], ["y0"], name="pick", then_branch=then_g,
                         else_branch=else_g),
        helper.make_node("Relu", ["y0"], ["y"], name="relu"),
    ]
    x = vi("x", F, [1, 4])
    out = vi("y", F, ["a", "b"])
    save(model(nodes, [x], [out], [w, sr_init, k]), "if_init.onnx")
    sr = vi("sample_rate", TensorProto.INT64, [])
    save(model(nodes, [x, sr], [out], [w, k]), "if_input.onnx")


def loop_model():
    """Loop with a constant trip count 3 over acc (1,4); the body branches on the iteration
    number (an If whose condition folds per iteration) and emits a scan output."""
    one = helper.make_tensor("one", TensorProto.INT64, [], [1])
    then_g = branch("dbl", [helper.make_node("Mul", ["acc", "two"], ["d"], name="dbl")],
                    [vi("d", F, [1, 4])])
    else_g = branch("addx", [helper.make_node("Add", ["acc", "x"], ["s"], name="addx")],
                    [vi("s", F, [1, 4])])
    body = helper.make_graph([
        helper.make_node("Constant", [], ["one_c"], value=one),
        helper.make_node("Equal", ["i", "one_c"], ["is1"]),
        helper.make_node("If", ["is1"], ["nxt"], name="step", then_branch=then_g,
                         else_branch=else_g),
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        helper.make_node("Tanh", ["nxt"], ["scan"]),
    ], "body", [vi("i", TensorProto.INT64, []), vi("cond_in", TensorProto.BOOL, []),
                vi("acc", F, [1, 4])],
        [vi("cond_out", TensorProto.BOOL, []), vi("nxt", F, [1, 4]), vi("scan", F, [1, 4])])
    inits = [numpy_helper.from_array(np.array(3, np.int64), "trip"),
             numpy_helper.from_array(np.array(2.0, np.float32), "two")]
    nodes = [helper.make_node("Loop", ["trip", "", "x"], ["acc_out", "scans"], name="loop",
                              body=body)]
    save(model(nodes, [vi("x", F, [1, 4])], [vi("acc_out", F, [1, 4]), vi("scans", F, [3, 1, 4])],
               inits), "loop_if.onnx")


def bad_subgraphs():
    """If branches that read an undefined name or lack the else branch: format errors."""
    then_g = branch("then", [helper.make_node("Add", ["x", "ghost"], ["t"], name="t")],
                    [vi("t", F, [1, 4])])
    else_g = branch("else", [helper.make_node("Identity", ["x"], ["e"], name="e")],
                    [vi("e", F, [1, 4])])
    c = numpy_helper.from_array(np.array(True), "c")
    io = ([vi("x", F, [1, 4])], [vi("y", F, [1, 4])])
    nodes = [helper.make_node("If", ["c"], ["y"], name="pick", then_branch=then_g,
                              else_branch=else_g)]
    save(model(nodes, *io, [c]), "if_undefined.onnx", check=False)
    nodes = [helper.make_node("If", ["c"], ["y"], name="pick", then_branch=else_g)]
    save(model(nodes, *io, [c]), "if_no_else.onnx", check=False)


def scoping():
    """Lexical scoping: the then branch defines its own 'x' (shadowing the graph input x) and
    reads 'w' from the outer scope: y = w*2 + 1, a constant (not x + 1)."""
    w = numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "w")
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    c = numpy_helper.from_array(np.array(True), "c")
    then_g = branch("then", [helper.make_node("Mul", ["w", "two"], ["x"], name="shadow"),
                             helper.make_node("Add", ["x", "one"], ["t"], name="t_add")],
                    [vi("t", F, [2])])
    else_g = branch("else", [helper.make_node("Identity", ["x"], ["e"], name="e")],
                    [vi("e", F, [2])])
    nodes = [helper.make_node("If", ["c"], ["y0"], name="pick", then_branch=then_g,
                              else_branch=else_g),
             helper.make_node("Identity", ["y0"], ["y"], name="out")]
    save(model(nodes, [vi("x", F, [2])], [vi("y", F, [2])], [w, two, one, c]), "if_scoping.onnx",
         check=False)


def opset21():
    """Default-domain opset 21 forms of supported ops (written without the checker: Debian's
    onnx 1.12 knows opsets <= 17): GroupNormalization-21 (scale/bias per channel, C != G),
    Pad-19 mode 'wrap', AveragePool-19 dilations; and Resize-19's new half_pixel_symmetric
    mode, which is refused."""
    rng = np.random.default_rng(21)
    scale = numpy_helper.from_array(rng.uniform(0.5, 1.5, 4).astype(np.float32), "scale")
    bias = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "bias")
    pads = numpy_helper.from_array(np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64), "pads")
    nodes = [
        helper.make_node("GroupNormalization", ["x", "scale", "bias"], ["gn"], name="gn",
                         num_groups=2, epsilon=1e-5),
        helper.make_node("Pad", ["gn", "pads"], ["pd"], name="pad", mode="wrap"),
        helper.make_node("AveragePool", ["pd"], ["y"], name="pool", kernel_shape=[2, 2],
                         dilations=[2, 2], strides=[1, 1]),
    ]
    save(model(nodes, [vi("x", F, [1, 4, 5, 5])], [vi("y", F, [1, 4, 6, 6])],
               [scale, bias, pads], opset=21), "opset21.onnx", check=False)
    sizes = numpy_helper.from_array(np.array([1, 4, 7, 7], np.int64), "sizes")
    nodes = [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], name="resize",
                              mode="linear",
                              coordinate_transformation_mode="half_pixel_symmetric")]
    save(model(nodes, [vi("x", F, [1, 4, 5, 5])], [vi("y", F, [1, 4, 7, 7])], [sizes],
               opset=19), "resize_symmetric.onnx", check=False)


def more_loops():
    """A while loop (no trip count) whose condition, computed by the body from a counter,
    folds each iteration; a reverse Scan along axis 1 with its outputs stacked on axis 1 in
    reverse; and the Loop of loop_if.onnx with the trip count as a graph input (refused)."""
    i64, b = TensorProto.INT64, TensorProto.BOOL
    body = helper.make_graph([
        helper.make_node("Add", ["cnt", "one"], ["cnt1"]),
        helper.make_node("Less", ["cnt1", "three"], ["go"]),
        helper.make_node("Mul", ["y", "k"], ["ym"]),
        helper.make_node("Add", ["ym", "x"], ["y1"]),
    ], "body", [vi("i", i64, []), vi("c", b, []), vi("cnt", i64, []), vi("y", F, [1, 4])],
        [vi("go", b, []), vi("cnt1", i64, []), vi("y1", F, [1, 4])])
    inits = [numpy_helper.from_array(np.array(True), "yes"),
             numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array(1, np.int64), "one"),
             numpy_helper.from_array(np.array(3, np.int64), "three"),
             numpy_helper.from_array(np.array(1.5, np.float32), "k")]
    nodes = [helper.make_node("Loop", ["", "yes", "zero", "x"], ["n", "y"], name="while",
                              body=body)]
    save(model(nodes, [vi("x", F, [1, 4])], [vi("n", i64, []), vi("y", F, [1, 4])], inits),
         "while_loop.onnx")

    sbody = helper.make_graph([
        helper.make_node("Mul", ["xt", "two"], ["x2"]),
        helper.make_node("Add", ["s", "x2"], ["s1"]),
        helper.make_node("Tanh", ["s1"], ["o"]),
    ], "sbody", [vi("s", F, [2]), vi("xt", F, [2])], [vi("s1", F, [2]), vi("o", F, [2])])
    nodes = [helper.make_node("Scan", ["s0", "x"], ["s", "o"], name="scan", body=sbody,
                              num_scan_inputs=1, scan_input_axes=[1],
                              scan_input_directions=[1], scan_output_axes=[1],
                              scan_output_directions=[1])]
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    save(model(nodes, [vi("s0", F, [2]), vi("x", F, [2, 3])],
               [vi("s", F, [2]), vi("o", F, [2, 3])], [two], opset=11), "scan_rev.onnx")

    m = onnx.load(os.path.join(HERE, "loop_if.onnx"))
    g = m.graph
    keep = [t for t in g.initializer if t.name != "trip"]
    del g.initializer[:]
    g.initializer.extend(keep)
    g.input.append(vi("trip", i64, []))
    save(m, "loop_input.onnx")


if __name__ == "__main__":
    opset21()
    scoping()
    order()
    if_models()
    loop_model()
    bad_subgraphs()
    more_loops()

#!/usr/bin/python3
"""Makes the small ONNX models used by tests/unit/test_onnx_import.c.

Run from anywhere with Debian's python (onnx 1.12, numpy):
    /usr/bin/python3 tests/data/onnx/make_test_models.py
Every file is written next to this script; outputs are deterministic.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(1234)


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def save(model, name, check=True):
    if check:
        onnx.checker.check_model(model)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(model.SerializeToString())


def model(nodes, inputs, outputs, inits=(), opset=13, name="g"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def f32(shape):
    return rng.standard_normal(shape).astype(np.float32)


def tiny_cnn():
    """x (1,3,8,8) -> Conv 3x3 pad 1 -> BN -> Relu -> MaxPool 2 -> Flatten -> Gemm -> y (1,10)."""
    inits = [
        numpy_helper.from_array(f32((4, 3, 3, 3)), "conv.w"),
        numpy_helper.from_array(f32((4,)), "conv.b"),
        numpy_helper.from_array(np.abs(f32((4,))) + 0.5, "bn.scale"),
        numpy_helper.from_array(f32((4,)), "bn.bias"),
        numpy_helper.from_array(f32((4,)), "bn.mean"),
        numpy_helper.from_array(np.abs(f32((4,))) + 0.5, "bn.var"),
        numpy_helper.from_array(f32((10, 64)), "fc.w"),
        numpy_helper.from_array(f32((10,)), "fc.b"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
                         ["b"], name="bn", epsilon=1e-3),
        helper.make_node("Relu", ["b"], ["r"]),  # unnamed: becomes Relu_2
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flat", axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["y"], name="fc", transB=1),
    ]
    save(model(nodes, [vi("x", TensorProto.FLOAT, [1, 3, 8, 8])],
               [vi("y", TensorProto.FLOAT, [1, 10])], inits), "tiny_cnn.onnx")


def constants():
    t = numpy_helper.from_array(np.array([[1, 2], [3, 4]], np.float32), "ignored")
    nodes = [
        helper.make_node("Constant", [], ["c_tensor"], value=t),
        helper.make_node("Constant", [], ["c_float"], value_float=2.5),
        helper.make_node("Constant", [], ["c_floats"], value_floats=[1.0, -1.0, 0.5]),
        helper.make_node("Constant", [], ["c_int"], value_int=7),
        helper.make_node("Constant", [], ["c_ints"], value_ints=[3, -4]),
        helper.make_node("Add", ["x", "c_tensor"], ["y"], name="add"),
    ]
    outs = [vi("y", TensorProto.FLOAT, [2, 2]), vi("c_float", TensorProto.FLOAT, []),
            vi("c_floats", TensorProto.FLOAT, [3]), vi("c_int", TensorProto.INT64, []),
            vi("c_ints", TensorProto.INT64, [2])]
    save(model(nodes, [vi("x", TensorProto.FLOAT, [2, 2])], outs), "constants.onnx")
    # Constant with a string value: unsupported
    nodes = [helper.make_node("Constant", [], ["s"], name="str_const", value_string="hi"),
             helper.make_node("Identity", ["x"], ["y"])]
    save(model(nodes, [vi("x", TensorProto.FLOAT, [1])], [vi("y", TensorProto.FLOAT, [1])]),
         "constant_string.onnx")


def initializers():
    """Typed fields (float_data, int64_data, int32_data for f16/bool/int8, double_data) and the
    same values again with raw_data."""
    w = np.array([0.5, -1.5, 2.0, 3.25], np.float32)
    shape = np.array([2, 2], np.int64)
    h = np.array([1.0, -2.0, 0.099975586], np.float16)
    bools = np.array([True, False, True])
    i8 = np.array([-128, 5, 127], np.int8)
    dbl = np.array([0.1, 1e10], np.float64)

    def typed():
        ts = [helper.make_tensor("w", TensorProto.FLOAT, [4], w.tolist()),
              helper.make_tensor("shape", TensorProto.INT64, [2], shape.tolist())]
        t = TensorProto(name="h", data_type=TensorProto.FLOAT16, dims=[3])
        t.int32_data.extend(h.view(np.uint16).astype(np.int32).tolist())
        ts.append(t)
        ts.append(helper.make_tensor("bools", TensorProto.BOOL, [3], bools.tolist()))
        ts.append(helper.make_tensor("i8", TensorProto.INT8, [3], i8.tolist()))
        ts.append(helper.make_tensor("dbl", TensorProto.DOUBLE, [2], dbl.tolist()))
        return ts

    def raw():
        return [numpy_helper.from_array(a, n) for a, n in
                [(w, "w"), (shape, "shape"), (h, "h"), (bools, "bools"), (i8, "i8"),
                 (dbl, "dbl")]]

    nodes = [helper.make_node("Add", ["x", "w"], ["s"], name="add"),
             helper.make_node("Reshape", ["s", "shape"], ["y"], name="reshape")]
    for name, inits in (("init_typed.onnx", typed()), ("init_raw.onnx", raw())):
        for t in inits:
            assert (t.HasField("raw_data")) == (name == "init_raw.onnx"), t.name
        save(model(nodes, [vi("x", TensorProto.FLOAT, [4])], [vi("y", TensorProto.FLOAT, [2, 2])],
                   inits), name)
    # raw_data one byte short
    bad = numpy_helper.from_array(w, "w")
    bad.raw_data = bad.raw_data[:-1]
    save(model(nodes[:1], [vi("x", TensorProto.FLOAT, [4])], [vi("s", TensorProto.FLOAT, [4])],
               [bad]), "init_short.onnx", check=False)
    # a string initializer: unsupported
    st = helper.make_tensor("names", TensorProto.STRING, [1], [b"a"])
    save(model([helper.make_node("Identity", ["x"], ["y"])], [vi("x", TensorProto.FLOAT, [1])],
               [vi("y", TensorProto.FLOAT, [1])], [st]), "init_string.onnx")


def init_as_input():
    w = numpy_helper.from_array(np.array([1, 2, 3], np.float32), "w")
    nodes = [helper.make_node("Mul", ["x", "w"], ["y"], name="mul")]
    save(model(nodes, [vi("x", TensorProto.FLOAT, [3]), vi("w", TensorProto.FLOAT, [3])],
               [vi("y", TensorProto.FLOAT, [3])], [w]), "init_as_input.onnx")


def external():
    """ext/*.onnx with weights in ext/weights.bin: 16 junk bytes, then w (6 floats)."""
    w = np.arange(6, dtype=np.float32) * 0.5
    with open(os.path.join(HERE, "ext", "weights.bin"), "wb") as f:
        f.write(b"\xAB" * 16 + w.tobytes())

    def ext_model(location, offset=16, length=24):
        t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 3])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
            e = t.external_data.add()
            e.key, e.value = k, v
        nodes = [helper.make_node("Add", ["x", "w"], ["y"], name="add")]
        return model(nodes, [vi("x", TensorProto.FLOAT, [2, 3])],
                     [vi("y", TensorProto.FLOAT, [2, 3])], [t])

    for name, args in (("ext_good", ("weights.bin",)), ("ext_dotdot", ("../tiny_cnn.onnx",)),
                       ("ext_abs", ("/etc/hostname",)), ("ext_missing", ("nope.bin",)),
                       ("ext_offset", ("weights.bin", 32, 24)),
                       ("ext_sub_dotdot", ("sub/../../tiny_cnn.onnx",))):
        save(ext_model(*args), os.path.join("ext", name + ".onnx"), check=False)


def unsupported():
    nodes = [helper.make_node("Unique", ["x"], ["y"], name="uniq")]
    save(model(nodes, [vi("x", TensorProto.FLOAT, [4])],
               [vi("y", TensorProto.FLOAT, [None])]), "unsupported_op.onnx")
    nodes = [helper.make_node("Gelu", ["x"], ["y"], name="ms_gelu", domain="com.microsoft")]
    m = model(nodes, [vi("x", TensorProto.FLOAT, [2])], [vi("y", TensorProto.FLOAT, [2])])
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    save(m, "custom_domain.onnx", check=False)
    # MaxPool whose Indices output is used (supported: a second POOL output)
    nodes = [helper.make_node("MaxPool", ["x"], ["y", "idx"], name="mp", kernel_shape=[2, 2])]
    save(model(nodes, [vi("x", TensorProto.FLOAT, [1, 1, 4, 4])],
               [vi("y", TensorProto.FLOAT, [1, 1, 3, 3]), vi("idx", TensorProto.INT64, [1, 1, 3, 3])]),
         "maxpool_indices.onnx")
    # BatchNormalization-9 whose running-mean output is used: unsupported
    c = [numpy_helper.from_array(np.ones(2, np.float32), n) for n in ("s", "b", "m", "v")]
    nodes = [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "bn_mean", "bn_var", "bn_smean", "bn_svar"],
                              name="bn")]
    save(model(nodes, [vi("x", TensorProto.FLOAT, [1, 2, 3])],
               [vi("y", TensorProto.FLOAT, [1, 2, 3]), vi("bn_mean", TensorProto.FLOAT, [2])],
               inits=c, opset=9), "bn_stats_output.onnx")


def dynamic_batch():
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    save(model(nodes, [vi("x", TensorProto.FLOAT, ["N", 3, 4, 4])],
               [vi("y", TensorProto.FLOAT, ["N", 3, 4, 4])]), "dynamic_batch.onnx")


def torch_reshape():
    """The torch.onnx pattern x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat ->
    Reshape."""
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "axes0"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1")]
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape"),
    ]
    save(model(nodes, [vi("x", TensorProto.FLOAT, [2, 3, 4])], [vi("y", TensorProto.FLOAT, [2, 12])],
               inits), "torch_reshape.onnx")


def old_opset():
    """Opset 9 attribute forms: Clip min/max, Pad pads/value, Slice starts/ends/axes, Squeeze and
    Unsqueeze axes, ReduceMean axes, Split split, Upsample scales input, legacy Softmax."""
    inits = [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "up_scales")]
    nodes = [
        helper.make_node("Clip", ["x"], ["c"], name="clip", min=0.0, max=6.0),
        helper.make_node("Pad", ["c"], ["p"], name="pad", pads=[0, 0, 1, 1, 0, 0, 1, 1],
                         value=0.5),
        helper.make_node("Slice", ["p"], ["s"], name="slice", starts=[1, -3], ends=[100, -1],
                         axes=[2, 3]),
        helper.make_node("Upsample", ["s", "up_scales"], ["u"], name="up", mode="nearest"),
        helper.make_node("Split", ["u"], ["u0", "u1"], name="split", axis=1, split=[1, 2]),
        helper.make_node("ReduceMean", ["u1"], ["m"], name="rmean", axes=[2, 3], keepdims=1),
        helper.make_node("Squeeze", ["m"], ["sq"], name="squeeze", axes=[2, 3]),
        helper.make_node("Unsqueeze", ["sq"], ["us"], name="unsqueeze", axes=[0]),
        helper.make_node("Softmax", ["us"], ["y"], name="softmax"),
        helper.make_node("Identity", ["u0"], ["z"], name="ident"),
    ]
    save(model(nodes, [vi("x", TensorProto.FLOAT, [1, 3, 4, 4])],
               [vi("y", TensorProto.FLOAT, [1, 1, 2]), vi("z", TensorProto.FLOAT, [1, 1, 4, 4])],
               inits, opset=9), "old_opset.onnx")


def misc():
    """Variadic ops, ArgMax, ignored unused extra outputs (MaxPool Indices, Dropout mask)."""
    nodes = [
        helper.make_node("Sum", ["a", "b", "c"], ["s"], name="sum3"),
        helper.make_node("Mean", ["a", "b"], ["m"], name="mean2"),
        helper.make_node("Max", ["s"], ["mx"], name="max1"),
        helper.make_node("ArgMax", ["mx"], ["am"], name="argmax", axis=-1, keepdims=0),
        helper.make_node("MaxPool", ["a"], ["mp", "mp_idx"], name="mp", kernel_shape=[1, 2]),
        helper.make_node("Dropout", ["mp"], ["d", "d_mask"], name="drop"),
    ]
    ins = [vi(n, TensorProto.FLOAT, [1, 2, 3, 4]) for n in "abc"]
    outs = [vi("m", TensorProto.FLOAT, [1, 2, 3, 4]), vi("am", TensorProto.INT64, [1, 2, 3]),
            vi("d", TensorProto.FLOAT, [1, 2, 3, 3])]
    save(model(nodes, ins, outs), "misc.onnx")


def bad_files():
    with open(os.path.join(HERE, "tiny_cnn.onnx"), "rb") as f:
        data = f.read()
    with open(os.path.join(HERE, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(HERE, "text.onnx"), "w") as f:
        f.write("this is a text file, not an ONNX model\n")
    open(os.path.join(HERE, "empty.onnx"), "wb").close()


def nms():
    """NonMaxSuppression whose selected rows depend on the data (2 boxes per class at
    most, 1 batch, 2 classes, 4 boxes: capacity 4 rows), and one whose output feeds a node."""
    inits = [numpy_helper.from_array(np.array([2], np.int64), "mx"),
             numpy_helper.from_array(np.array([0.5], np.float32), "iou"),
             numpy_helper.from_array(np.array([0.1], np.float32), "sthr")]
    ins = [vi("boxes", TensorProto.FLOAT, [1, 4, 4]), vi("scores", TensorProto.FLOAT, [1, 2, 4])]
    nodes = [helper.make_node("NonMaxSuppression", ["boxes", "scores", "mx", "iou", "sthr"],
                              ["sel"], name="nms")]
    save(model(nodes, ins, [vi("sel", TensorProto.INT64, [None, 3])], inits, opset=11),
         "nms.onnx")
    nodes.append(helper.make_node("Cast", ["sel"], ["self"], name="cast_sel", to=1))
    save(model(nodes, ins, [vi("self", TensorProto.FLOAT, [None, 3])], inits, opset=11),
         "nms_consumed.onnx")


if __name__ == "__main__":
    tiny_cnn()
    constants()
    initializers()
    init_as_input()
    external()
    unsupported()
    dynamic_batch()
    torch_reshape()
    old_opset()
    misc()
    bad_files()
    nms()

#!/usr/bin/python3
"""A CNN converted to fp16 the way fp16 converters write it, for tests/e2e/fp16_graphs.sh.

  /usr/bin/python3 models/make_fp16_cnn.py OUTDIR

exports torchvision's resnet18 (seeded random weights, random BatchNorm statistics, 1x3x64x64
input, BatchNormalization kept) at opset 13, then rewrites it with onnx.helper only (Debian has
no onnxconverter-common) into three FLOAT16 graphs:

  OUTDIR/keepio_unsorted/model.onnx  fp32 input/output kept: every initializer and activation is
      FLOAT16, Cast(to=FLOAT16) after the input and Cast(to=FLOAT) before the output, and both
      Casts APPENDED AT THE END of the node list, as converters with keep_io_types write them
      (not in topological order: ONNX Runtime sorts such graphs itself);
  OUTDIR/keepio_sorted/model.onnx    the same graph with the input Cast first (sorted);
  OUTDIR/pure/model.onnx             FLOAT16 input and output, no Casts;
  OUTDIR/ops/model.onnx              a small rounding-sensitive fp16 chain (Add 1024, Sub 1024,
      Mul, Relu, Div, Add) with fp32 I/O, and OUTDIR/ops/reference/y.npy computed by numpy in
      float16 (every op rounded to half);
  OUTDIR/transformer/model.onnx      a torch TransformerEncoderLayer in fp16 with f16 I/O.

`make_fp16_cnn.py --seeds DIR` writes the tiny fp16/bf16 graphs of tests/fuzz/corpus/onnx.

Each folder gets inputs/input.npy: seeded N(0,1), float32 for keepio_*, the same values rounded
to float16 ('<f2') for pure.
"""
import os
import sys

import numpy as np
import onnx
import torch
import torchvision
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

F32, F16 = TensorProto.FLOAT, TensorProto.FLOAT16


def export_fp32(path):
    torch.manual_seed(11)
    model = torchvision.models.resnet18(weights=None, num_classes=1000)
    common.randomize_batchnorm(model, 111)
    common.randomize_biases(model, 311)
    model.eval()
    x = np.random.default_rng(211).standard_normal((1, 3, 64, 64)).astype(np.float32)
    common.export(model, torch.from_numpy(x), path, keep_batchnorm=True)
    return x


def to_fp16(m):
    """Every FLOAT initializer, Constant value, Cast target and value type becomes FLOAT16."""
    g = m.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == F32:
            a = numpy_helper.to_array(t).astype(np.float16)
            g.initializer[i].CopyFrom(numpy_helper.from_array(a, t.name))
    for n in g.node:
        for a in n.attribute:
            if n.op_type == "Constant" and a.name == "value" and a.t.data_type == F32:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16)))
            if n.op_type == "Cast" and a.name == "to" and a.i == F32:
                a.i = F16
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == F32:
            vi.type.tensor_type.elem_type = F16


def keep_io(m, sorted_graph):
    """fp32 graph inputs/outputs around the fp16 graph, through two Casts."""
    g = m.graph
    (inp,), (out,) = g.input, g.output
    name_in, name_out = inp.name + "_fp16", out.name + "_fp16"
    for n in g.node:
        n.input[:] = [name_in if s == inp.name else s for s in n.input]
        n.output[:] = [name_out if s == out.name else s for s in n.output]
    cin = helper.make_node("Cast", [inp.name], [name_in], name="graph_input_cast0", to=F16)
    cout = helper.make_node("Cast", [name_out], [out.name], name="graph_output_cast0", to=F32)
    nodes = list(g.node)
    nodes = [cin] + nodes + [cout] if sorted_graph else nodes + [cout, cin]
    del g.node[:]
    g.node.extend(nodes)
    inp.type.tensor_type.elem_type = F32
    out.type.tensor_type.elem_type = F32


def save(m, outdir, name, x, input_name="input"):
    d = os.path.join(outdir, name)
    os.makedirs(os.path.join(d, "inputs"), exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "inputs", input_name + ".npy"), x, allow_pickle=False)


def ops_model(outdir):
    """A rounding-sensitive fp16 graph and its numpy float16 reference (numpy rounds every
    float16 op's result to half, which is what the graph means). ONNX Runtime's CPU provider
    has no fp16 kernels for these ops and computes the chain in f32 without the intermediate
    roundings, so it is not the oracle here."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((1, 4096)) * 4).astype(np.float32)
    w = rng.uniform(-3, 3, (1, 4096)).astype(np.float16)
    dv = rng.uniform(0.5, 2, (1, 4096)).astype(np.float16)
    k = np.array(1024, np.float16)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(dv, "dv"),
             numpy_helper.from_array(k, "k")]
    nodes = [helper.make_node("Cast", ["x"], ["h"], to=F16),
             helper.make_node("Add", ["h", "k"], ["a"]),      # |h| < 16: ulp 1 at 1024
             helper.make_node("Sub", ["a", "k"], ["s"]),
             helper.make_node("Mul", ["s", "w"], ["m"]),
             helper.make_node("Relu", ["m"], ["r"]),
             helper.make_node("Div", ["r", "dv"], ["q"]),
             helper.make_node("Add", ["q", "h"], ["o"]),
             helper.make_node("Cast", ["o"], ["y"], to=F32)]
    g = helper.make_graph(nodes, "fp16_ops", [helper.make_tensor_value_info("x", F32, [1, 4096])],
                          [helper.make_tensor_value_info("y", F32, [1, 4096])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    save(m, outdir, "ops", x, "x")
    h = x.astype(np.float16)
    s = (h + k) - k
    y = ((np.maximum(s * w, np.float16(0)) / dv) + h).astype(np.float32)
    os.makedirs(os.path.join(outdir, "ops", "reference"), exist_ok=True)
    np.save(os.path.join(outdir, "ops", "reference", "y.npy"), y, allow_pickle=False)


def transformer_model(outdir):
    """A torch TransformerEncoderLayer (d 64, 4 heads, GELU, opset 17: LayerNormalization, Erf,
    Softmax, MatMul) converted to fp16 with f16 I/O."""
    torch.manual_seed(4)
    layer = torch.nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, activation="gelu",
                                             batch_first=True).eval()
    x = np.random.default_rng(2).standard_normal((1, 16, 64)).astype(np.float32)
    src = os.path.join(outdir, "transformer_fp32.onnx")
    torch.onnx.export(layer, torch.from_numpy(x), src, opset_version=17, input_names=["input"],
                      output_names=["output"])
    m = onnx.load(src)
    to_fp16(m)
    save(m, outdir, "transformer", x.astype(np.float16))


def tiny_cnn(in_type, out_type, append_casts, half=F16):
    """Conv → BatchNormalization → Relu → Add(·, x) in `half`, with Casts from/to FLOAT when the
    I/O types are FLOAT (appended at the end of the node list when append_casts)."""
    rng = np.random.default_rng(9)
    npt = np.float16 if half == F16 else np.float32

    def init(name, shape, lo=-1.0, hi=1.0):
        t = numpy_helper.from_array(rng.uniform(lo, hi, shape).astype(npt), name)
        if half == TensorProto.BFLOAT16:  # numpy has no bfloat16: the top halves of f32
            a = rng.uniform(lo, hi, shape).astype(np.float32).view(np.uint32) >> 16
            t = helper.make_tensor(name, half, shape, a.astype(np.uint16).tobytes(), raw=True)
        return t
    inits = [init("W", (2, 2, 3, 3)), init("B", (2,)), init("scale", (2,), 0.5, 1.5),
             init("bias", (2,)), init("mean", (2,)), init("var", (2,), 0.5, 1.5)]
    x, y = "x", "y"
    head = [helper.make_node("Cast", ["x"], ["xh"], to=half)] if in_type != half else []
    tail = [helper.make_node("Cast", ["yh"], ["y"], to=F32)] if out_type != half else []
    xi, yo = ("xh" if head else x), ("yh" if tail else y)
    body = [helper.make_node("Conv", [xi, "W", "B"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["b"]),
            helper.make_node("Relu", ["b"], ["r"]),
            helper.make_node("Add", ["r", xi], [yo])]
    nodes = body + tail + head if append_casts else head + body + tail
    g = helper.make_graph(nodes, "tiny_fp16", [helper.make_tensor_value_info(x, in_type, [1, 2, 4, 4])],
                          [helper.make_tensor_value_info(y, out_type, [1, 2, 4, 4])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def seeds(outdir):
    """Small FLOAT16/BFLOAT16 graphs for the fuzzers' seed corpus (tests/fuzz/corpus/onnx)."""
    os.makedirs(outdir, exist_ok=True)
    onnx.save(tiny_cnn(F32, F32, True), os.path.join(outdir, "fp16_keepio_unsorted.onnx"))
    onnx.save(tiny_cnn(F32, F32, False), os.path.join(outdir, "fp16_keepio_sorted.onnx"))
    onnx.save(tiny_cnn(F16, F16, False), os.path.join(outdir, "fp16_pure.onnx"))
    bf = TensorProto.BFLOAT16
    onnx.save(tiny_cnn(bf, bf, False, bf), os.path.join(outdir, "bf16_pure.onnx"))


def main(argv):
    if len(argv) == 2 and argv[0] == "--seeds":
        return seeds(argv[1])
    if len(argv) != 1:
        sys.exit("usage: make_fp16_cnn.py OUTDIR | --seeds DIR")
    outdir = argv[0]
    os.makedirs(outdir, exist_ok=True)
    src = os.path.join(outdir, "fp32.onnx")
    x = export_fp32(src)
    for name, sorted_graph in (("keepio_unsorted", False), ("keepio_sorted", True)):
        m = onnx.load(src)
        to_fp16(m)
        keep_io(m, sorted_graph)
        save(m, outdir, name, x)
    m = onnx.load(src)
    to_fp16(m)
    onnx.checker.check_model(m)
    save(m, outdir, "pure", x.astype(np.float16))
    ops_model(outdir)
    transformer_model(outdir)
    print(f"make_fp16_cnn: {outdir}/{{keepio_unsorted,keepio_sorted,pure}} ops "
          f"{common.op_histogram(os.path.join(outdir, 'pure', 'model.onnx'))}")


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/python3
"""A small opset-18 model (built with onnx.helper) for the normalisation ops and the patterns
torch 1.13 does not emit, plus chains that must NOT fuse:

  /usr/bin/python3 models/make_sd_norm_ops.py [OUTDIR]     (default: models/)

writes OUTDIR/sd_norm_ops/{model.onnx, inputs/x.npy}; references: models/make_references.sh.

  x (1,64,8,8)
   -> GroupNormalization-18 (32 groups, per-group scale/bias, eps 1e-5)
   -> InstanceNormalization (per-channel scale/bias)
   -> Reshape (1,64,64) -> LayerNormalization-17 (axis -1)
   -> GELU, tanh form, decomposed: 0.5*x*(1+Tanh(sqrt(2/pi)*(x+0.044715*Pow(x,3))))   [fuses]
   -> "attn": MatMul(a, aT) -> Div by 8 -> Softmax(axis=1, not last) -> MatMul(., a)  [no fuse]
   -> GroupNorm decomposition whose Mul constant is (1,64,64) (not per channel)       [no fuse]
   -> y (1,64,64)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main(argv):
    outdir = argv[0] if argv else os.path.dirname(os.path.abspath(__file__))
    d = os.path.join(outdir, "sd_norm_ops")
    os.makedirs(os.path.join(d, "inputs"), exist_ok=True)
    rng = np.random.default_rng(7)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)
    u = lambda *s: (rng.random(s) + 0.5).astype(np.float32)
    inits = {
        "gn_scale": u(32), "gn_bias": f(32) * 0.1, "in_scale": u(64), "in_bias": f(64) * 0.1,
        "shape3": np.array([1, 64, 64], np.int64), "ln_scale": u(64), "ln_bias": f(64) * 0.1,
        "three": np.array(3.0, np.float32), "kappa": np.array(0.044715, np.float32),
        "beta": np.array(np.sqrt(2 / np.pi), np.float32), "one": np.array(1.0, np.float32),
        "half": np.array(0.5, np.float32), "eight": np.array(8.0, np.float32),
        "shape_g": np.array([1, 32, -1], np.int64), "ones32": np.ones(32, np.float32),
        "zeros32": np.zeros(32, np.float32), "full_mul": u(1, 64, 64), "chan_add": f(64, 1) * 0.1,
    }
    N = helper.make_node
    nodes = [
        N("GroupNormalization", ["x", "gn_scale", "gn_bias"], ["g"], num_groups=32, epsilon=1e-5),
        N("InstanceNormalization", ["g", "in_scale", "in_bias"], ["i"], epsilon=1e-5),
        N("Reshape", ["i", "shape3"], ["r"]),
        N("LayerNormalization", ["r", "ln_scale", "ln_bias"], ["l"], axis=-1, epsilon=1e-5),
        N("Pow", ["l", "three"], ["cube"]),
        N("Mul", ["kappa", "cube"], ["kc"]),
        N("Add", ["l", "kc"], ["s"]),
        N("Mul", ["beta", "s"], ["bs"]),
        N("Tanh", ["bs"], ["t"]),
        N("Add", ["one", "t"], ["a1"]),
        N("Mul", ["l", "a1"], ["xa"]),
        N("Mul", ["half", "xa"], ["gelu"]),
        N("Transpose", ["gelu"], ["gT"], perm=[0, 2, 1]),
        N("MatMul", ["gelu", "gT"], ["sc"]),
        N("Div", ["sc", "eight"], ["scs"]),
        N("Softmax", ["scs"], ["p"], axis=1),
        N("MatMul", ["p", "gelu"], ["att"]),
        N("Reshape", ["att", "shape_g"], ["gr"]),
        N("InstanceNormalization", ["gr", "ones32", "zeros32"], ["gi"], epsilon=1e-6),
        N("Reshape", ["gi", "shape3"], ["gb"]),
        N("Mul", ["gb", "full_mul"], ["gm"]),
        N("Add", ["gm", "chan_add"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "sd_norm_ops", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 64])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    # onnx 1.12 knows opsets up to 17 only: the opset-18 model is written without its checker.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8,
                              producer_name="make_sd_norm_ops.py")
    path = os.path.join(d, "model.onnx")
    onnx.save(model, path)
    np.save(os.path.join(d, "inputs", "x.npy"), f(1, 64, 8, 8), allow_pickle=False)
    print(f"sd_norm_ops: {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/python3
"""Makes tests/e2e/calib_convt.sh's model: a decoder-style upsampling ConvTranspose whose input
channels are strongly correlated, as a real feature map's are (issue 18: the worst layer of a
pretrained text detector under int4 was its ConvTranspose, which calibration did not see).

  x (1,C,H,W) -> ConvTranspose W (C,M,2,2), stride 2, bias -> y (1,M,2H,2W)

x = mix · z + 0.05·noise with z (1,R,H,W) ~ N(0,1), R = 4 latent factors and mix (C,R) fixed:
the C input channels span ~R directions, so the inputs' second moments H are far from a
multiple of the identity and an encoder that knows H can put the rounding error where x has no
energy. Usage: convt_calib.py OUT_DIR -> OUT_DIR/model.onnx, OUT_DIR/inputs/x.npy (evaluation)
and OUT_DIR/calib/set{0,1,2}/x.npy (held out, other seeds).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

C, M, R, H, W = 64, 32, 4, 16, 16
rng = np.random.default_rng(11)
mix = rng.standard_normal((C, R)).astype(np.float32)
w = (rng.standard_normal((C, M, 2, 2)) / np.sqrt(C)).astype(np.float32)
b = (0.1 * rng.standard_normal(M)).astype(np.float32)


def sample(seed):
    r = np.random.default_rng(seed)
    z = r.standard_normal((R, H * W)).astype(np.float32)
    x = mix @ z + 0.05 * r.standard_normal((C, H * W)).astype(np.float32)
    return x.reshape(1, C, H, W).astype(np.float32)


graph = helper.make_graph(
    [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="up", strides=[2, 2])],
    "convt_calib", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, H, W])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, M, 2 * H, 2 * W])],
    [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 7
onnx.checker.check_model(model)
out = sys.argv[1]
os.makedirs(os.path.join(out, "inputs"), exist_ok=True)
onnx.save(model, os.path.join(out, "model.onnx"))
np.save(os.path.join(out, "inputs", "x.npy"), sample(100))
for s in range(3):
    os.makedirs(os.path.join(out, "calib", "set%d" % s), exist_ok=True)
    np.save(os.path.join(out, "calib", "set%d" % s, "x.npy"), sample(200 + s))

#!/usr/bin/python3
"""A crafted case for classifier-free guidance under fp16 (docs/sd-fp16.md, tests/e2e/cfg.sh):
the conditional and unconditional outputs each pass a PSNR gate under fp16 emulation, their
difference does not survive it, and keeping two nodes fp32 fixes the guided output.

  /usr/bin/python3 models/make_cfg_cancel.py [OUTDIR]      (default: models/)

writes OUTDIR/cfg_cancel/model.onnx (opset 13, onnx.helper) and the input sets
OUTDIR/cfg_cancel/cfg/cond/*.npy and OUTDIR/cfg_cancel/cfg/uncond/*.npy:
  x        (1,64) f32, seeded N(0,1), the same in both sets (the latent)
  e        (1,16) f32, seeded N(0,1) for cond, another seed for uncond (the text embedding)
  h = x @ W1 (64,256)                 ~ N(0,1) per element, identical in c and u
  k = (e @ W2 (16,256)) * 0.004       the conditioning: a small fraction of h
  z = h + k                           stored in fp16 it loses most of k: |k| / |h| ~ 4e-3,
                                      while a half keeps 11 bits (relative step 2^-11 ~ 4.9e-4)
  out = z @ W3 (256,64)               'output' (1,64)
d = c − u is about 0.4 % of c, so the guided output u + 7.5·(c − u) carries the rounding of z
(and of the output) amplified about 7.5·√2 times; keeping z's writer and reader fp32 (the Add
and the last MatMul) removes it.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build():
    rng = np.random.default_rng(20)
    w1 = (rng.standard_normal((64, 256)) / 8).astype(np.float32)
    w2 = (rng.standard_normal((16, 256)) / 4).astype(np.float32)
    w3 = (rng.standard_normal((256, 64)) / 16).astype(np.float32)
    inits = [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2"),
             numpy_helper.from_array(w3, "W3"),
             numpy_helper.from_array(np.array([0.004], np.float32), "kscale")]
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h"], name="mm_h"),
        helper.make_node("MatMul", ["e", "W2"], ["k0"], name="mm_k"),
        helper.make_node("Mul", ["k0", "kscale"], ["k"], name="scale_k"),
        helper.make_node("Add", ["h", "k"], ["z"], name="add_z"),
        helper.make_node("MatMul", ["z", "W3"], ["output"], name="mm_out"),
    ]
    g = helper.make_graph(nodes, "cfg_cancel",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64]),
                           helper.make_tensor_value_info("e", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 64])],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def main(argv):
    out = os.path.join(argv[0] if argv else os.path.dirname(os.path.abspath(__file__)), "cfg_cancel")
    for k in ("cond", "uncond"):
        os.makedirs(os.path.join(out, "cfg", k), exist_ok=True)
    onnx.save(build(), os.path.join(out, "model.onnx"))
    x = np.random.default_rng(1).standard_normal((1, 64)).astype(np.float32)
    for k, seed in (("cond", 2), ("uncond", 3)):
        np.save(os.path.join(out, "cfg", k, "x.npy"), x)
        e = np.random.default_rng(seed).standard_normal((1, 16)).astype(np.float32)
        np.save(os.path.join(out, "cfg", k, "e.npy"), e)


if __name__ == "__main__":
    main(sys.argv[1:])

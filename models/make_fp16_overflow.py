#!/usr/bin/python3
"""A tiny model built to go wrong in fp16, for `aneforge check --fp16` and the targets tests.

  /usr/bin/python3 models/make_fp16_overflow.py [OUTDIR]      (default: models/)

writes OUTDIR/fp16_overflow/model.onnx (opset 13, onnx.helper, no torch) and
OUTDIR/fp16_overflow/inputs/input.npy: input (1,16) float32, seeded N(0,1).
  square      x * x                              -> 'sq'      (fine: chi-square values)
  big_matmul  sq @ W, W (16,8) ~ U(20000, 30000) -> 'big'     ~16 * 25000 = 4e5 > 65504: overflow
  tiny_scale  x * 1e-7                           -> 'tiny'    all below 6.1e-5: precision
  shift_up    x + 1000                           -> 'shifted' (fine: ~1000)
  cancel_sub  shifted - 1000                     -> 'cancel'  |a-b| ~ 1e-3 max(|a|,|b|): cancellation
  wave        sin(x)                             -> 'wave'    fine in fp16; below h13's floor (no trig)
  ok_relu     relu(x)                            -> 'ok'      nothing to flag
Then run models/make_references.sh models/fp16_overflow for the ONNX Runtime reference.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build():
    rng = np.random.default_rng(7)
    w = rng.uniform(20000, 30000, size=(16, 8)).astype(np.float32)
    inits = [
        numpy_helper.from_array(w, "W_big"),
        numpy_helper.from_array(np.array(1e-7, np.float32), "tiny_k"),
        numpy_helper.from_array(np.array(1000.0, np.float32), "thousand"),
    ]
    nodes = [
        helper.make_node("Mul", ["input", "input"], ["sq"], name="square"),
        helper.make_node("MatMul", ["sq", "W_big"], ["big"], name="big_matmul"),
        helper.make_node("Mul", ["input", "tiny_k"], ["tiny"], name="tiny_scale"),
        helper.make_node("Add", ["input", "thousand"], ["shifted"], name="shift_up"),
        helper.make_node("Sub", ["shifted", "thousand"], ["cancel"], name="cancel_sub"),
        helper.make_node("Sin", ["input"], ["wave"], name="wave"),
        helper.make_node("Relu", ["input"], ["ok"], name="ok_relu"),
    ]
    f = TensorProto.FLOAT
    outs = [helper.make_tensor_value_info("big", f, [1, 8])] + [
        helper.make_tensor_value_info(n, f, [1, 16]) for n in ("tiny", "cancel", "wave", "ok")]
    graph = helper.make_graph(nodes, "fp16_overflow",
                              [helper.make_tensor_value_info("input", f, [1, 16])], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="aneforge models/make_fp16_overflow.py")
    model.ir_version = 7
    onnx.checker.check_model(model)
    x = np.random.default_rng(8).standard_normal((1, 16)).astype(np.float32)
    return model, x


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    d = os.path.join(out, "fp16_overflow")
    os.makedirs(os.path.join(d, "inputs"), exist_ok=True)
    model, x = build()
    onnx.save(model, os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "inputs", "input.npy"), x)
    print(d + ": model.onnx, inputs/input.npy")


if __name__ == "__main__":
    main()

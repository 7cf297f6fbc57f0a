#!/usr/bin/python3
"""Makes tests/e2e/validate_gates.sh's model: a classifier whose softmax is nearly flat, so
weight compression flips decisions while the peak-normalised PSNR of the probabilities stays
high (issue 18: a text recognizer passed a 35 dB gate with 72.5 % argmax agreement).

  x (1,T,D) -> MatMul W1 (D,C) -> Mul 0.05 -> Softmax(-1) -> probs (1,T,C)     C = 1024 classes
  x         -> MatMul W2 (D,M) -> Sigmoid                 -> mask  (1,T,M)     a probability map

The logits have unit spread before the 0.05 temperature, so every probability is within ~20 %
of 1/C: the per-element error of compressed weights is tiny against max|p|, but the gaps between
the top classes are tiny too. Usage: task_gates.py OUT_DIR -> OUT_DIR/model.onnx and
OUT_DIR/inputs/x.npy (N(0,1), seed 3).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T, D, C, M = 256, 64, 1024, 64
rng = np.random.default_rng(3)
w1 = (rng.standard_normal((D, C)) / np.sqrt(D)).astype(np.float32)
w2 = (rng.standard_normal((D, M)) / np.sqrt(D)).astype(np.float32)
inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
         numpy_helper.from_array(np.array(0.05, np.float32), "temp")]
nodes = [
    helper.make_node("MatMul", ["x", "w1"], ["logits"], name="cls"),
    helper.make_node("Mul", ["logits", "temp"], ["scaled"], name="temperature"),
    helper.make_node("Softmax", ["scaled"], ["probs"], name="softmax", axis=-1),
    helper.make_node("MatMul", ["x", "w2"], ["mask_logits"], name="seg"),
    helper.make_node("Sigmoid", ["mask_logits"], ["mask"], name="sigmoid"),
]
graph = helper.make_graph(
    nodes, "task_gates", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, D])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, T, C]),
     helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, T, M])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 7
onnx.checker.check_model(model)
out = sys.argv[1]
os.makedirs(os.path.join(out, "inputs"), exist_ok=True)
onnx.save(model, os.path.join(out, "model.onnx"))
np.save(os.path.join(out, "inputs", "x.npy"), rng.standard_normal((1, T, D)).astype(np.float32))

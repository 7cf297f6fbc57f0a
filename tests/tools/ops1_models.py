#!/usr/bin/python3
"""tests/tools/ops1_models.py — models for the losses, trigonometry and small-op group, made with onnx.helper,
for tests/e2e/ops1_ort.sh (ONNX Runtime is the reference).

  ops1_models.py make DIR    writes DIR/<case>/{model.onnx, inputs/*.npy}
  ops1_models.py check DIR   compares DIR/<case>/{ours,ort}/*.npy: floats within rtol 1e-3 /
                             atol 1e-5 (the conformance rule), integers and bools exactly

Cases: SoftmaxCrossEntropyLoss with weights, ignore_index and log_prob (mean and none), N-d
NegativeLogLikelihoodLoss (sum, ignore_index, weight input), the trigonometric/hyperbolic
functions, Shrink, IsNaN/IsInf, Hardmax, MeanVarianceNormalization, Det, EyeLike, the window
functions with a constant size, BitShift on uint8.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper as oh
from onnx import numpy_helper as nh

rng = np.random.default_rng(15)


def vi(name, t, shape):
    return oh.make_tensor_value_info(name, t, shape)


def save(d, name, nodes, ins, outs, feeds, inits=(), opset=17):
    os.makedirs(f"{d}/{name}/inputs", exist_ok=True)
    g = oh.make_graph(nodes, name, ins, outs, initializer=list(inits))
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, f"{d}/{name}/model.onnx")
    for k, v in feeds.items():
        np.save(f"{d}/{name}/inputs/{k}.npy", v)


def f32(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def make(d):
    # SCE: scores (4,5,3,2), labels with ignored samples, constant weights, log_prob kept
    labels = rng.integers(0, 5, (4, 3, 2)).astype(np.int64)
    labels[0, 1, 0] = labels[2, 2, 1] = -1
    w = nh.from_array(np.array([0.5, 1.0, 2.0, 0.25, 1.5], np.float32), "w")
    for red in ("mean", "none"):
        node = oh.make_node("SoftmaxCrossEntropyLoss", ["s", "l", "w"], ["loss", "logp"],
                            reduction=red, ignore_index=-1)
        shape = [] if red == "mean" else [4, 3, 2]
        save(d, f"sce_{red}", [node],
             [vi("s", TP.FLOAT, [4, 5, 3, 2]), vi("l", TP.INT64, [4, 3, 2])],
             [vi("loss", TP.FLOAT, shape), vi("logp", TP.FLOAT, [4, 5, 3, 2])],
             {"s": f32(4, 5, 3, 2, lo=-3, hi=3), "l": labels}, [w])
    # NLL: N-d, weight as an input, sum, ignore_index inside [0, C)
    t = rng.integers(0, 4, (2, 3, 5)).astype(np.int64)
    node = oh.make_node("NegativeLogLikelihoodLoss", ["x", "t", "wt"], ["y"], reduction="sum",
                        ignore_index=2)
    save(d, "nll_sum", [node],
         [vi("x", TP.FLOAT, [2, 4, 3, 5]), vi("t", TP.INT64, [2, 3, 5]), vi("wt", TP.FLOAT, [4])],
         [vi("y", TP.FLOAT, [])],
         {"x": f32(2, 4, 3, 5, lo=-4, hi=0), "t": t, "wt": f32(4, lo=0.1, hi=2)})
    # elementwise: every function on a domain where it is defined
    fns = ["Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Atanh"]
    nodes = [oh.make_node(f, ["x"], [f.lower()]) for f in fns]
    one = nh.from_array(np.array(1.0, np.float32), "one")
    nodes += [oh.make_node("Abs", ["x"], ["ax"]), oh.make_node("Add", ["ax", "one"], ["ax1"]),
              oh.make_node("Acosh", ["ax1"], ["acosh"]),
              oh.make_node("Shrink", ["x"], ["shrink"], lambd=0.3, bias=0.1),
              oh.make_node("IsNaN", ["z"], ["isnan"]),
              oh.make_node("IsInf", ["z"], ["isinf"]),
              oh.make_node("IsInf", ["z"], ["isneginf"], detect_positive=0),
              oh.make_node("Hardmax", ["x"], ["hardmax"], axis=1)]
    outs = [vi(f.lower(), TP.FLOAT, [3, 4, 5]) for f in fns + ["Acosh", "Shrink", "Hardmax"]]
    outs += [vi(n, TP.BOOL, [6]) for n in ("isnan", "isinf", "isneginf")]
    z = np.array([1, -np.inf, np.nan, np.inf, 0, -2], np.float32)
    x = f32(3, 4, 5, lo=-0.95, hi=0.95)
    x[1, :, 2] = x[1, 0, 2]  # ties for Hardmax along axis 1
    save(d, "eltwise", nodes, [vi("x", TP.FLOAT, [3, 4, 5]), vi("z", TP.FLOAT, [6])], outs,
         {"x": x, "z": z}, [one])
    # MVN (default axes), Det, EyeLike, constant-size windows
    size8 = nh.from_array(np.array(8, np.int64), "n8")
    size7 = nh.from_array(np.array(7, np.int32), "n7")
    nodes = [oh.make_node("MeanVarianceNormalization", ["m"], ["mvn"]),
             oh.make_node("Det", ["a"], ["det"]),
             oh.make_node("EyeLike", ["e"], ["eye"], k=1, dtype=TP.FLOAT),
             oh.make_node("HannWindow", ["n8"], ["hann"]),
             oh.make_node("HammingWindow", ["n8"], ["hamming"], periodic=0),
             oh.make_node("BlackmanWindow", ["n7"], ["blackman"], periodic=0)]
    a = f32(2, 3, 3, 3, lo=-2, hi=2)
    a[1, 0, 0] = 0  # a zero leading pivot
    save(d, "misc", nodes,
         [vi("m", TP.FLOAT, [2, 3, 4, 5]), vi("a", TP.FLOAT, [2, 3, 3, 3]),
          vi("e", TP.FLOAT, [3, 5])],
         [vi("mvn", TP.FLOAT, [2, 3, 4, 5]), vi("det", TP.FLOAT, [2, 3]),
          vi("eye", TP.FLOAT, [3, 5]), vi("hann", TP.FLOAT, [8]), vi("hamming", TP.FLOAT, [8]),
          vi("blackman", TP.FLOAT, [7])],
         {"m": f32(2, 3, 4, 5, lo=-3, hi=5), "a": a, "e": f32(3, 5)}, [size8, size7])
    # BitShift on uint8 (the IR's only unsigned type)
    nodes = [oh.make_node("BitShift", ["p", "q"], ["left"], direction="LEFT"),
             oh.make_node("BitShift", ["p", "q"], ["right"], direction="RIGHT")]
    save(d, "bitshift", nodes, [vi("p", TP.UINT8, [8]), vi("q", TP.UINT8, [8])],
         [vi("left", TP.UINT8, [8]), vi("right", TP.UINT8, [8])],
         {"p": np.array([0, 1, 3, 77, 128, 200, 255, 9], np.uint8),
          "q": np.array([0, 1, 7, 2, 1, 3, 4, 0], np.uint8)})


def check(d):
    bad = 0
    for case in sorted(os.listdir(d)):
        ref = f"{d}/{case}/ort"
        for f in sorted(os.listdir(ref)):
            e, a = np.load(f"{ref}/{f}"), np.load(f"{d}/{case}/ours/{f}")
            if e.dtype.kind == "f":
                ok = a.shape == e.shape and np.allclose(a, e, rtol=1e-3, atol=1e-5, equal_nan=True)
            else:
                ok = a.shape == e.shape and a.dtype == e.dtype and (a == e).all()
            worst = float(np.max(np.abs(a.astype(np.float64) - e))) if ok and e.size else 0.0
            print(f"{'ok' if ok else 'FAIL'}: {case}/{f} {e.dtype}{list(e.shape)} max|diff| {worst:.3g}")
            bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        sys.exit(__doc__)
    sys.exit(make(sys.argv[2]) if sys.argv[1] == "make" else check(sys.argv[2]))

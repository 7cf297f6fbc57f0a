#!/usr/bin/python3
"""Pre-quantized ONNX models written the way quantization tools ship them, for the
end-to-end test tests/e2e/quantized.sh (which compares aneforge with ONNX Runtime).

  /usr/bin/python3 models/make_quant_models.py OUTDIR [NAME...]

writes OUTDIR/NAME/model.onnx and OUTDIR/NAME/inputs/input.npy (seeded N(0,1)) for:

  qdyn_cnn   ONNX Runtime's quantize_dynamic form of a small CNN: every Conv becomes
             DynamicQuantizeLinear -> ConvInteger (uint8 weights, asymmetric, per tensor) ->
             Cast(float) -> Mul(x_scale * w_scale) -> Add(bias); the classifier MatMul the same
             with MatMulInteger (int8 symmetric weights). Input (1,3,16,16), output (1,10).
  qdyn_mlp   a transformer-style MLP block the same way: LayerNormalization, MatMulInteger
             up-projection (32 -> 64) + bias, GELU (erf form), MatMulInteger down-projection
             (64 -> 32) + bias, residual Add. Input (1,8,32), output (1,8,32). Opset 17.
  qdq_cnn    a statically QDQ-quantized CNN (the QDQ format of ONNX Runtime's quantize_static):
             per-tensor uint8 QuantizeLinear/DequantizeLinear around every activation,
             per-channel (axis 0) int8 weights (7-bit range, see QW) with zero zero points, int32 biases with scale
             x_scale * w_scale through DequantizeLinear, Conv-Relu x2, GlobalAveragePool, Gemm.
  qlinear_cnn the same CNN in the QOperator form: QuantizeLinear, QLinearConv (per-channel int8
             weights, int32 bias, ReLU folded into the output range), DequantizeLinear,
             GlobalAveragePool, QuantizeLinear, QLinearMatMul, DequantizeLinear.
  qdq_int    a QDQ graph the way torch exports quantized models (fused groups, no QDQ between
             Conv and its Relu): Q -> DQ -> Conv(64 -> 64, 3x3, per-tensor int8 weight, int32
             bias) -> Relu -> Q -> DQ -> Conv(3x3 s2, per-channel weight) -> Q (zero point 128)
             -> DQ -> GlobalAveragePool -> Q -> DQ -> Flatten -> Q -> DQ -> Gemm(per-row int8 weight,
             int32 bias) -> Q -> DQ,
             plus MaxPool -> Q (zero point 37) -> DQ, Add of it and conv2's codes -> Q (90), and
             that times a HardSigmoid gate (1,64,1,1) of the pool -> Q, and two MaxPools (3x3
             pad 1; 3x3 s2 ceil_mode) of relu1 -> Q with relu1's scale and zero point, weights
             from numpy draws. Input (1,64,28,28); outputs the final (1,10) and the uint8 codes of
             both convs, the pool, the Add, the Mul and the max pools, which ONNX Runtime computes
             with its integer kernels (QDQ fusions: QLinearConv, QLinearGlobalAveragePool, QGemm,
             QLinearAdd, QLinearMul, MaxPool on the codes) and aneforge must give bit for bit.
  qdq_pairs  every pair of uint8 codes (a, b) (input (1,2,256,256) written to hit them exactly)
             through Q(Add(DQ a, DQ b)) and Q(Mul(DQ a, DQ b)), with scales and zero points
             (seeded search) for which ONNX Runtime's QLinearAdd / QLinearMul formulas give
             other codes than the plain QDQ ones on at least 4 pairs each.
  bad_scale_shape, bad_zero_scale   malformed QDQ weights (a per-channel scale with 5 values
             for 8 channels; a scale holding 0): the converter must refuse them (exit 3).

Weights are torch's seeded He-normal draws (models/common.py), activation ranges come from a
float forward pass on a seeded calibration batch. Everything is seeded and deterministic.
"""
import os
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto as TP
from onnx import helper as oh
from onnx import numpy_helper as nph

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

F = TP.FLOAT


def init(name, arr):
    return nph.from_array(np.asarray(arr), name)


def weights(seed):
    """Conv 3->8 3x3 p1, Conv 8->16 3x3 s2 p1, Linear 16->10, He-normal, seeded biases."""
    torch.manual_seed(seed)
    m = torch.nn.ModuleList([torch.nn.Conv2d(3, 8, 3, 1, 1), torch.nn.Conv2d(8, 16, 3, 2, 1),
                             torch.nn.Linear(16, 10)])
    common.kaiming_weights(m, seed)
    common.randomize_biases(m, seed + 1)
    return [(l.weight.detach().numpy().astype(np.float32), l.bias.detach().numpy().astype(np.float32))
            for l in m]


def float_cnn(x, ws):
    """Float forward, returning the activations a static quantizer calibrates on."""
    t = torch.from_numpy(x)
    (w1, b1), (w2, b2), (w3, b3) = [(torch.from_numpy(w), torch.from_numpy(b)) for w, b in ws]
    a1 = torch.relu(torch.nn.functional.conv2d(t, w1, b1, 1, 1))
    a2 = torch.relu(torch.nn.functional.conv2d(a1, w2, b2, 2, 1))
    p = a2.mean(dim=(2, 3))
    y = p @ w3.T + b3
    return [a.numpy() for a in (t, a1, a2, p, y)]


def u8_params(a):
    """Asymmetric uint8 (scale, zero point) of a range that includes 0 (ORT's MinMax rule)."""
    lo, hi = min(float(a.min()), 0.0), max(float(a.max()), 0.0)
    s = np.float32((hi - lo) / 255.0 if hi > lo else 1.0)
    return s, np.uint8(np.clip(np.round(-lo / s), 0, 255))


# Static weights use ONNX Runtime's reduce_range (7-bit codes, [-63, 63]): on x86 CPUs without
# VNNI, ORT's uint8 x int8 kernels add pairs of products in saturating int16 (pmaddubsw), so
# full-range int8 weights against uint8 activations are not computed exactly by ORT itself
# (255 * 127 * 2 > 32767); with 7-bit weights the pairs fit (255 * 63 * 2 = 32130) and ORT's
# integer results are exact, which is what the comparison needs.
QW = 63


def s8_per_channel(w, axis=0):
    """Symmetric 7-bit per channel along axis: scale = max|w| / QW, zero points 0."""
    red = tuple(i for i in range(w.ndim) if i != axis)
    s = (np.abs(w).max(axis=red) / QW).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / s.reshape(shape)), -QW, QW).astype(np.int8)
    return q, s


def model(nodes, inits, x_shape, y_shape, opset=13, name="g"):
    g = oh.make_graph(nodes, name, [oh.make_tensor_value_info("input", F, x_shape)],
                      [oh.make_tensor_value_info("output", F, y_shape)], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)], producer_name="aneforge-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


# ---- dynamic quantization (ORT quantize_dynamic) ----------------------------------------------

def dyn_conv(nodes, inits, x, w, b, name, stride, weight_u8=True):
    """x -> DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul(scales) -> Add(bias)."""
    lo, hi = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
    ws = np.float32((hi - lo) / 255.0)
    wz = np.uint8(np.clip(np.round(-lo / ws), 0, 255))
    wq = np.clip(np.round(w / ws) + wz, 0, 255).astype(np.uint8)
    inits += [init(name + "_W_quantized", wq), init(name + "_W_scale", ws),
              init(name + "_W_zero_point", wz),
              init(name + "_bias", b.reshape(1, -1, 1, 1))]
    nodes += [
        oh.make_node("DynamicQuantizeLinear", [x], [x + "_q", x + "_scale", x + "_zp"],
                     name=x + "_QuantizeLinear"),
        oh.make_node("ConvInteger", [x + "_q", name + "_W_quantized", x + "_zp",
                                     name + "_W_zero_point"], [name + "_i32"], name=name + "_quant",
                     pads=[1, 1, 1, 1], strides=[stride, stride], kernel_shape=[3, 3]),
        oh.make_node("Cast", [name + "_i32"], [name + "_f"], to=F, name=name + "_cast"),
        oh.make_node("Mul", [x + "_scale", name + "_W_scale"], [name + "_s"], name=name + "_scales"),
        oh.make_node("Mul", [name + "_f", name + "_s"], [name + "_m"], name=name + "_mul"),
        oh.make_node("Add", [name + "_m", name + "_bias"], [name + "_out"], name=name + "_bias_add"),
    ]
    return name + "_out"


def dyn_matmul(nodes, inits, x, w, b, name, out=None):
    """x -> DynamicQuantizeLinear -> MatMulInteger (int8 symmetric W (K,N)) -> Cast -> Mul -> Add."""
    ws = np.float32(np.abs(w).max() / 127.0)
    wq = np.clip(np.round(w / ws), -127, 127).astype(np.int8)
    out = out or name + "_out"
    inits += [init(name + "_W_quantized", wq), init(name + "_W_scale", ws),
              init(name + "_W_zero_point", np.int8(0)), init(name + "_bias", b)]
    nodes += [
        oh.make_node("DynamicQuantizeLinear", [x], [x + "_q", x + "_scale", x + "_zp"],
                     name=x + "_QuantizeLinear"),
        oh.make_node("MatMulInteger", [x + "_q", name + "_W_quantized", x + "_zp",
                                       name + "_W_zero_point"], [name + "_i32"], name=name + "_quant"),
        oh.make_node("Cast", [name + "_i32"], [name + "_f"], to=F, name=name + "_cast"),
        oh.make_node("Mul", [x + "_scale", name + "_W_scale"], [name + "_s"], name=name + "_scales"),
        oh.make_node("Mul", [name + "_f", name + "_s"], [name + "_m"], name=name + "_mul"),
        oh.make_node("Add", [name + "_m", name + "_bias"], [out], name=name + "_bias_add"),
    ]
    return out


def make_qdyn_cnn():
    (w1, b1), (w2, b2), (w3, b3) = weights(11)
    nodes, inits = [], []
    a = dyn_conv(nodes, inits, "input", w1, b1, "conv1", 1)
    nodes.append(oh.make_node("Relu", [a], ["relu1"], name="relu1"))
    a = dyn_conv(nodes, inits, "relu1", w2, b2, "conv2", 2)
    nodes += [oh.make_node("Relu", [a], ["relu2"], name="relu2"),
              oh.make_node("GlobalAveragePool", ["relu2"], ["gap"], name="gap"),
              oh.make_node("Flatten", ["gap"], ["flat"], name="flatten")]
    dyn_matmul(nodes, inits, "flat", w3.T.copy(), b3, "fc", out="output")
    return model(nodes, inits, [1, 3, 16, 16], [1, 10])


def make_qdyn_mlp():
    g = torch.Generator().manual_seed(21)
    d, h = 32, 64
    w1 = (torch.randn(d, h, generator=g) * (2.0 / d) ** 0.5).numpy()
    w2 = (torch.randn(h, d, generator=g) * (2.0 / h) ** 0.5).numpy()
    b1 = (torch.randn(h, generator=g) * 0.05).numpy()
    b2 = (torch.randn(d, generator=g) * 0.05).numpy()
    gamma = (torch.rand(d, generator=g) + 0.5).numpy()
    beta = (torch.randn(d, generator=g) * 0.1).numpy()
    nodes, inits = [], [init("ln_gamma", gamma), init("ln_beta", beta),
                        init("half", np.float32(0.5)), init("one", np.float32(1.0)),
                        init("inv_sqrt2", np.float32(1 / np.sqrt(2)))]
    nodes.append(oh.make_node("LayerNormalization", ["input", "ln_gamma", "ln_beta"], ["ln"],
                              name="ln", axis=-1, epsilon=1e-5))
    u = dyn_matmul(nodes, inits, "ln", w1, b1, "up")
    nodes += [oh.make_node("Mul", [u, "inv_sqrt2"], ["g0"], name="gelu_div"),
              oh.make_node("Erf", ["g0"], ["g1"], name="gelu_erf"),
              oh.make_node("Add", ["g1", "one"], ["g2"], name="gelu_add"),
              oh.make_node("Mul", [u, "g2"], ["g3"], name="gelu_mul"),
              oh.make_node("Mul", ["g3", "half"], ["gelu"], name="gelu_half")]
    dn = dyn_matmul(nodes, inits, "gelu", w2, b2, "down")
    nodes.append(oh.make_node("Add", ["input", dn], ["output"], name="residual"))
    return model(nodes, inits, [1, 8, d], [1, 8, d], opset=17)


# ---- static quantization: QDQ and QOperator forms ---------------------------------------------

def calibrate(ws):
    x = np.random.default_rng(99).standard_normal((4, 3, 16, 16)).astype(np.float32)
    return [u8_params(a) for a in float_cnn(x, ws)]


def qdq(nodes, inits, x, sz, name):
    """x -> QuantizeLinear(u8, per tensor) -> DequantizeLinear."""
    s, z = sz
    inits += [init(name + "_scale", s), init(name + "_zero_point", z)]
    nodes += [oh.make_node("QuantizeLinear", [x, name + "_scale", name + "_zero_point"],
                           [name + "_q"], name=name + "_QuantizeLinear"),
              oh.make_node("DequantizeLinear", [name + "_q", name + "_scale", name + "_zero_point"],
                           [name + "_dq"], name=name + "_DequantizeLinear")]
    return name + "_dq"


def dq_weight(nodes, inits, w, b, x_scale, name, axis=0, bad=None):
    """Per-channel int8 weight and int32 bias (scale x_scale * w_scale) through DequantizeLinear."""
    q, s = s8_per_channel(w, axis)
    bs = (np.float32(x_scale) * s).astype(np.float32)
    bq = np.round(b / bs).astype(np.int32)
    if bad == "shape":
        s = s[:5]
    elif bad == "zero":
        s = s.copy()
        s[3] = 0
    inits += [init(name + "_W_q", q), init(name + "_W_scale", s),
              init(name + "_W_zp", np.zeros(s.shape, np.int8)),
              init(name + "_B_q", bq), init(name + "_B_scale", bs),
              init(name + "_B_zp", np.zeros(bs.shape, np.int32))]
    nodes += [oh.make_node("DequantizeLinear", [name + "_W_q", name + "_W_scale", name + "_W_zp"],
                           [name + "_W"], name=name + "_W_DequantizeLinear", axis=axis),
              oh.make_node("DequantizeLinear", [name + "_B_q", name + "_B_scale", name + "_B_zp"],
                           [name + "_B"], name=name + "_B_DequantizeLinear", axis=0)]
    return name + "_W", name + "_B"


def make_qdq_cnn(bad=None):
    ws = weights(31)
    cal = calibrate(ws)
    (w1, b1), (w2, b2), (w3, b3) = ws
    nodes, inits = [], []
    a = qdq(nodes, inits, "input", cal[0], "input")
    W, B = dq_weight(nodes, inits, w1, b1, cal[0][0], "conv1", bad=bad)
    nodes += [oh.make_node("Conv", [a, W, B], ["conv1_out"], name="conv1", pads=[1, 1, 1, 1]),
              oh.make_node("Relu", ["conv1_out"], ["relu1"], name="relu1")]
    a = qdq(nodes, inits, "relu1", cal[1], "relu1")
    W, B = dq_weight(nodes, inits, w2, b2, cal[1][0], "conv2")
    nodes += [oh.make_node("Conv", [a, W, B], ["conv2_out"], name="conv2", pads=[1, 1, 1, 1],
                           strides=[2, 2]),
              oh.make_node("Relu", ["conv2_out"], ["relu2"], name="relu2")]
    a = qdq(nodes, inits, "relu2", cal[2], "relu2")
    nodes += [oh.make_node("GlobalAveragePool", [a], ["gap"], name="gap"),
              oh.make_node("Flatten", ["gap"], ["flat"], name="flatten")]
    a = qdq(nodes, inits, "flat", cal[3], "flat")
    W, B = dq_weight(nodes, inits, w3, b3, cal[3][0], "fc")
    nodes.append(oh.make_node("Gemm", [a, W, B], ["output"], name="fc", transB=1))
    return model(nodes, inits, [1, 3, 16, 16], [1, 10])


def make_qlinear_cnn():
    ws = weights(31)
    cal = calibrate(ws)
    (w1, b1), (w2, b2), (w3, b3) = ws
    nodes, inits = [], []
    for i, (s, z) in enumerate(cal):
        inits += [init("a%d_scale" % i, s), init("a%d_zp" % i, z)]

    def qconv(x, ai, ao, w, b, name, stride):
        q, s = s8_per_channel(w)
        xs = cal[ai][0]
        bq = np.round(b / (np.float32(xs) * s)).astype(np.int32)
        inits.extend([init(name + "_W_q", q), init(name + "_W_scale", s),
                      init(name + "_W_zp", np.zeros(s.shape, np.int8)), init(name + "_B_q", bq)])
        nodes.append(oh.make_node(
            "QLinearConv", [x, "a%d_scale" % ai, "a%d_zp" % ai, name + "_W_q", name + "_W_scale",
                            name + "_W_zp", "a%d_scale" % ao, "a%d_zp" % ao, name + "_B_q"],
            [name + "_q"], name=name, pads=[1, 1, 1, 1], strides=[stride, stride]))
        return name + "_q"

    nodes.append(oh.make_node("QuantizeLinear", ["input", "a0_scale", "a0_zp"], ["input_q"],
                              name="input_QuantizeLinear"))
    a = qconv("input_q", 0, 1, w1, b1, "conv1", 1)  # relu: a1's range starts at 0
    a = qconv(a, 1, 2, w2, b2, "conv2", 2)
    q3, s3 = s8_per_channel(w3.T.copy(), axis=1)
    s3 = np.float32(s3.max())  # per-tensor b_scale for QLinearMatMul
    q3 = np.clip(np.round(w3.T / s3), -QW, QW).astype(np.int8)
    inits += [init("fc_W_q", q3), init("fc_W_scale", s3), init("fc_W_zp", np.int8(0)),
              init("fc_B", b3)]
    nodes += [oh.make_node("DequantizeLinear", [a, "a2_scale", "a2_zp"], ["relu2"], name="relu2_dq"),
              oh.make_node("GlobalAveragePool", ["relu2"], ["gap"], name="gap"),
              oh.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
              oh.make_node("QuantizeLinear", ["flat", "a3_scale", "a3_zp"], ["flat_q"], name="flat_q"),
              oh.make_node("QLinearMatMul", ["flat_q", "a3_scale", "a3_zp", "fc_W_q", "fc_W_scale",
                                             "fc_W_zp", "a4_scale", "a4_zp"], ["fc_q"], name="fc"),
              oh.make_node("DequantizeLinear", ["fc_q", "a4_scale", "a4_zp"], ["fc_f"], name="fc_dq"),
              oh.make_node("Add", ["fc_f", "fc_B"], ["output"], name="fc_bias")]
    return model(nodes, inits, [1, 3, 16, 16], [1, 10])


def make_qdq_int():
    rng = np.random.default_rng(5)
    c, hw = 64, 28
    x = rng.standard_normal((1, c, hw, hw)).astype(np.float32)
    ws = [(rng.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32),
          (rng.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32),
          (rng.standard_normal((10, c)) * np.sqrt(1 / c)).astype(np.float32)]
    bs = [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in (c, c, 10)]
    # calibration: the float forward on the input itself
    t = torch.from_numpy(x)
    a1 = torch.relu(torch.nn.functional.conv2d(t, torch.from_numpy(ws[0]), torch.from_numpy(bs[0]),
                                               1, 1))
    a2 = torch.nn.functional.conv2d(a1, torch.from_numpy(ws[1]), torch.from_numpy(bs[1]), 2, 1)
    p = a2.mean(dim=(2, 3))
    y = p @ torch.from_numpy(ws[2]).T + torch.from_numpy(bs[2])
    cal = [u8_params(a.numpy()) for a in (t, a1, a2, p, y)]
    mid = float(np.abs(a2.numpy()).max()) / 127.0
    cal[2] = (np.float32(mid), np.uint8(128))  # symmetric around 128: no Relu, zero point 128
    nodes, inits = [], []

    def qdq_pair(xname, sz, name):
        return qdq(nodes, inits, xname, sz, name)

    def weight(i, name, per_channel):
        w, b, xs = ws[i], bs[i], cal[i + (i == 2)][0]  # the fc reads the flattened pool
        if per_channel:
            return dq_weight(nodes, inits, w, b, xs, name)
        s = np.float32(np.abs(w).max() / QW)
        q = np.clip(np.round(w / s), -QW, QW).astype(np.int8)
        bsc = np.float32(xs) * s
        inits.extend([init(name + "_W_q", q), init(name + "_W_scale", s),
                      init(name + "_W_zp", np.int8(0)),
                      init(name + "_B_q", np.round(b / bsc).astype(np.int32)),
                      init(name + "_B_scale", np.float32(bsc)), init(name + "_B_zp", np.int32(0))])
        for k in ("W", "B"):
            nodes.append(oh.make_node("DequantizeLinear", [f"{name}_{k}_q", f"{name}_{k}_scale",
                                                           f"{name}_{k}_zp"], [f"{name}_{k}"],
                                      name=f"{name}_{k}_DequantizeLinear"))
        return name + "_W", name + "_B"

    a = qdq_pair("input", cal[0], "input")
    W, B = weight(0, "conv1", False)
    nodes += [oh.make_node("Conv", [a, W, B], ["conv1_out"], name="conv1", pads=[1, 1, 1, 1]),
              oh.make_node("Relu", ["conv1_out"], ["relu1"], name="relu1")]
    a = qdq_pair("relu1", cal[1], "relu1")
    W, B = weight(1, "conv2", True)
    nodes.append(oh.make_node("Conv", [a, W, B], ["conv2_out"], name="conv2", pads=[1, 1, 1, 1],
                              strides=[2, 2]))
    a = qdq_pair("conv2_out", cal[2], "conv2")
    nodes.append(oh.make_node("GlobalAveragePool", [a], ["gap"], name="gap"))
    a = qdq_pair("gap", cal[3], "gap")
    nodes.append(oh.make_node("Flatten", [a], ["flat"], name="flatten"))
    a = qdq_pair("flat", cal[3], "flat")
    W, B = weight(2, "fc", True)
    nodes.append(oh.make_node("Gemm", [a, W, B], ["fc_out"], name="fc", transB=1))
    a = qdq_pair("fc_out", cal[4], "fc")
    nodes.append(oh.make_node("Identity", [a], ["output"], name="out"))
    # a residual Add of two codes with non-zero zero points (conv2's and a max pool's), and a
    # squeeze-excitation Mul by a (1,C,1,1) gate
    mp = torch.nn.functional.max_pool2d(a1, 2).numpy()
    s_mp = np.float32(mp.max() / 200.0)
    s_add = np.float32(np.abs(a2.numpy() + mp).max() / 160.0)
    nodes.append(oh.make_node("MaxPool", ["relu1_dq"], ["mp"], name="mp", kernel_shape=[2, 2],
                              strides=[2, 2]))
    a = qdq_pair("mp", (s_mp, np.uint8(37)), "mp")
    nodes.append(oh.make_node("Add", ["conv2_dq", a], ["add"], name="add"))
    a = qdq_pair("add", (s_add, np.uint8(90)), "add")
    # max pools whose Q repeats their DQ's scale and zero point: pooled on the codes
    nodes.append(oh.make_node("MaxPool", ["relu1_dq"], ["mp2"], name="mp2", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]))
    qdq_pair("mp2", cal[1], "mp2")
    nodes.append(oh.make_node("MaxPool", ["relu1_dq"], ["mp3"], name="mp3", kernel_shape=[3, 3],
                              strides=[2, 2], ceil_mode=1))
    qdq_pair("mp3", cal[1], "mp3")
    nodes.append(oh.make_node("HardSigmoid", ["gap_dq"], ["gate"], name="gate"))
    g = qdq_pair("gate", (np.float32(1 / 255), np.uint8(0)), "gate")
    nodes.append(oh.make_node("Mul", [a, g], ["se"], name="se"))
    qdq_pair("se", (s_add, np.uint8(90)), "se")
    m = model(nodes, inits, [1, c, hw, hw], [1, 10])
    U8, h = TP.UINT8, hw // 2
    m.graph.output.extend([oh.make_tensor_value_info("relu1_q", U8, [1, c, hw, hw]),
                           oh.make_tensor_value_info("conv2_q", U8, [1, c, h, h]),
                           oh.make_tensor_value_info("gap_q", U8, [1, c, 1, 1]),
                           oh.make_tensor_value_info("add_q", U8, [1, c, h, h]),
                           oh.make_tensor_value_info("se_q", U8, [1, c, h, h]),
                           oh.make_tensor_value_info("mp2_q", U8, [1, c, hw, hw]),
                           oh.make_tensor_value_info("mp3_q", U8, [1, c, h, h])])
    onnx.checker.check_model(m)
    return m


def _fma(a, b, c):
    """f32 fused multiply-add (the float64 product of two floats is exact)."""
    return (a.astype(np.float64) * np.float64(b) + c).astype(np.float32)


def _ort_add(qa, qb, sa, za, sb, zb, sc, zc):
    """ONNX Runtime's x86 (AVX2) QLinearAdd: fma of the raw codes with the scale ratios."""
    f = np.float32
    ra, rb = f(sa / sc), f(sb / sc)
    c0 = f(f(zc) - f(f(ra * f(za)) + f(rb * f(zb))))
    v = _fma(qa.astype(f), ra, _fma(qb.astype(f), rb, np.full(qa.shape, c0, f)))
    return np.clip(np.rint(v), 0, 255)


def _spec(qa, qb, sa, za, sb, zb, sc, zc, op):
    """DequantizeLinear, the f32 op, QuantizeLinear: the ONNX semantics of the QDQ group."""
    a, b = (qa - za).astype(np.float32) * sa, (qb - zb).astype(np.float32) * sb
    return np.clip(np.rint(op(a, b) / sc) + zc, 0, 255)


def make_qdq_pairs():
    """Every pair of uint8 codes through QLinearAdd and QLinearMul groups, with scales (seeded
    search) for which ONNX Runtime's formulas and the plain QDQ ones give different codes."""
    qa, qb = (g.astype(np.int32) for g in np.meshgrid(np.arange(256), np.arange(256),
                                                       indexing="ij"))
    rng = np.random.default_rng(11)
    f = np.float32
    while True:
        sa, sb, sc, sm = (f(np.exp(rng.uniform(-5, -2))) for _ in range(4))
        za, zb, zc, zm = (int(v) for v in rng.integers(1, 255, 4))
        add_ort = _ort_add(qa, qb, sa, za, sb, zb, sc, zc)
        add_spec = _spec(qa, qb, sa, za, sb, zb, sc, zc, np.add)
        mul_ort = np.clip(np.rint(((qa - za) * (qb - zb)).astype(f) * f(f(sa * sb) / sm) + f(zm)),
                          0, 255)
        mul_spec = _spec(qa, qb, sa, za, sb, zb, sm, zm, np.multiply)
        if (add_ort != add_spec).sum() >= 4 and (mul_ort != mul_spec).sum() >= 4:
            break
    x = np.stack([(qa - za).astype(f) * sa, (qb - zb).astype(f) * sb])[None]
    nodes, inits = [], []
    nodes.append(oh.make_node("Split", ["input"], ["xa", "xb"], name="split", axis=1))
    a = qdq(nodes, inits, "xa", (sa, np.uint8(za)), "a")
    b = qdq(nodes, inits, "xb", (sb, np.uint8(zb)), "b")
    nodes += [oh.make_node("Add", [a, b], ["sum"], name="add"),
              oh.make_node("Mul", [a, b], ["prod"], name="mul")]
    inits += [init("sum_scale", sc), init("sum_zero_point", np.uint8(zc)),
              init("prod_scale", sm), init("prod_zero_point", np.uint8(zm))]
    nodes += [oh.make_node("QuantizeLinear", ["sum", "sum_scale", "sum_zero_point"], ["add_q"],
                           name="add_q"),
              oh.make_node("QuantizeLinear", ["prod", "prod_scale", "prod_zero_point"], ["mul_q"],
                           name="mul_q")]
    U8 = TP.UINT8
    g = oh.make_graph(nodes, "pairs", [oh.make_tensor_value_info("input", F, [1, 2, 256, 256])],
                      [oh.make_tensor_value_info("add_q", U8, [1, 1, 256, 256]),
                       oh.make_tensor_value_info("mul_q", U8, [1, 1, 256, 256])], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)], producer_name="aneforge-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m, x


MODELS = {
    "qdyn_cnn": (make_qdyn_cnn, (1, 3, 16, 16)),
    "qdyn_mlp": (make_qdyn_mlp, (1, 8, 32)),
    "qdq_cnn": (make_qdq_cnn, (1, 3, 16, 16)),
    "qlinear_cnn": (make_qlinear_cnn, (1, 3, 16, 16)),
    "qdq_int": (make_qdq_int, (1, 64, 28, 28)),
    "qdq_pairs": (make_qdq_pairs, (1, 2, 256, 256)),
    "bad_scale_shape": (lambda: make_qdq_cnn(bad="shape"), (1, 3, 16, 16)),
    "bad_zero_scale": (lambda: make_qdq_cnn(bad="zero"), (1, 3, 16, 16)),
}


def main():
    out = sys.argv[1]
    for name in sys.argv[2:] or list(MODELS):
        make, shape = MODELS[name]
        m, x = make(), None
        if isinstance(m, tuple):  # a model with its own input
            m, x = m
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        onnx.save(m, os.path.join(d, "model.onnx"))
        if x is None:
            common.save_input(os.path.join(d, "inputs", "input.npy"), shape, 7)
        else:
            os.makedirs(os.path.join(d, "inputs"), exist_ok=True)
            np.save(os.path.join(d, "inputs", "input.npy"), x, allow_pickle=False)
        print(name, common.op_histogram(os.path.join(d, "model.onnx")))


if __name__ == "__main__":
    main()

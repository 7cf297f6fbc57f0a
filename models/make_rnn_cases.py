#!/usr/bin/python3
"""Writes single-node LSTM / GRU / RNN models (onnx.helper, opset 14) covering the attributes
torch does not export, and malformed ones.

  /usr/bin/python3 models/make_rnn_cases.py OUTDIR

Good cases: OUTDIR/<name>/model.onnx with W, R, B, P as initializers and OUTDIR/<name>/inputs/
(X, and sequence_lens / initial_h / initial_c where the case has them as graph inputs); tests
run ONNX Runtime on them for the reference. Malformed cases: OUTDIR/bad/<name>.onnx, each with
one node named after the problem. Everything is seeded.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

S, B, I = 6, 3, 5
rng = np.random.default_rng(31)


def rand(shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def gates(op):
    return {"LSTM": 4, "GRU": 3, "RNN": 1}[op]


def build(op, H, attrs, dirs=1, layout=0, bias=True, seq=None, init=False, peep=False,
          outputs=("Y", "Y_h", "Y_c"), name="rnn", w_shape=None, b_shape=None):
    """One node; returns (model, inputs dict). outputs: names, "" for an omitted one."""
    G = gates(op)
    xs = (B, S, I) if layout else (S, B, I)
    st = (B, dirs, H) if layout else (dirs, B, H)
    inits = [numpy_helper.from_array(rand(w_shape or (dirs, G * H, I), 1 / np.sqrt(I)), "W"),
             numpy_helper.from_array(rand((dirs, G * H, H), 1 / np.sqrt(H)), "R")]
    names = ["X", "W", "R"]
    feeds = {"X": rand(xs)}
    ins = [helper.make_tensor_value_info("X", TensorProto.FLOAT, xs)]
    if bias:
        inits.append(numpy_helper.from_array(rand(b_shape or (dirs, 2 * G * H), 0.3), "B"))
    names.append("B" if bias else "")
    if seq is not None:
        feeds["sequence_lens"] = np.array(seq, np.int32)
        ins.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, (B,)))
    names.append("sequence_lens" if seq is not None else "")
    if init:
        feeds["initial_h"] = rand(st, 0.5)
        ins.append(helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, st))
        if op == "LSTM":
            feeds["initial_c"] = rand(st, 0.5)
            ins.append(helper.make_tensor_value_info("initial_c", TensorProto.FLOAT, st))
    names.append("initial_h" if init else "")
    if op == "LSTM":
        names.append("initial_c" if init else "")
        if peep:
            inits.append(numpy_helper.from_array(rand((dirs, 3 * H), 0.5), "P"))
        names.append("P" if peep else "")
    while names and names[-1] == "":
        names.pop()
    outs = list(outputs)[: 3 if op == "LSTM" else 2]
    ys = (B, S, dirs, H) if layout else (S, dirs, B, H)
    vis = [helper.make_tensor_value_info(o, TensorProto.FLOAT, ys if k == 0 else st)
           for k, o in enumerate(outs) if o]
    node = helper.make_node(op, names, outs, name=name, hidden_size=H, layout=layout, **attrs)
    g = helper.make_graph([node], name, ins, vis, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    return m, feeds


GOOD = {
    # clip, peepholes, unequal sequence_lens, initial states as inputs, all three outputs
    "lstm_clip_peep": ("LSTM", 4, dict(clip=0.7), dict(seq=[6, 3, 5], init=True, peep=True)),
    # bidirectional, input_forget, non-default activations with alpha/beta; only Y_h and Y_c
    "lstm_bidir_acts": ("LSTM", 5, dict(direction="bidirectional", input_forget=1,
                        activations=["HardSigmoid", "Softsign", "Tanh", "Sigmoid", "ScaledTanh", "Elu"],
                        activation_alpha=[0.3, 0.8, 0.9], activation_beta=[0.45, 1.2]),
                        dict(dirs=2, init=True, outputs=("", "Y_h", "Y_c"))),
    "lstm_reverse_yonly": ("LSTM", 4, dict(direction="reverse"), dict(bias=False, outputs=("Y",))),
    "gru_lbr0_bidir": ("GRU", 4, dict(direction="bidirectional", clip=0.9),
                       dict(dirs=2, seq=[4, 6, 2], init=True)),
    "gru_lbr1_reverse": ("GRU", 5, dict(direction="reverse", linear_before_reset=1),
                         dict(init=True, outputs=("", "Y_h"))),
    "gru_acts": ("GRU", 3, dict(activations=["HardSigmoid", "LeakyRelu"], activation_alpha=[0.25, 0.1],
                 activation_beta=[0.4]), dict()),
    "rnn_bidir_relu": ("RNN", 4, dict(direction="bidirectional", activations=["Relu", "Tanh"], clip=2.0),
                       dict(dirs=2, seq=[5, 6, 1], init=True)),
    "rnn_affine": ("RNN", 3, dict(activations=["Affine"], activation_alpha=[0.5], activation_beta=[0.1]),
                   dict(bias=False)),
}

BAD = {
    "lstm_bad_w": ("LSTM", 4, dict(), dict(w_shape=(1, 16, I + 1))),
    "gru_bad_b": ("GRU", 4, dict(), dict(b_shape=(1, 12))),
    "gru_bad_act": ("GRU", 4, dict(activations=["Sigmoid", "Swish"]), dict()),
    "rnn_hidden_mismatch": ("RNN", 4, dict(), dict(w_shape=(1, 4, I))),
    "lstm_act_count": ("LSTM", 4, dict(direction="bidirectional", activations=["Sigmoid", "Tanh", "Tanh"]),
                       dict(dirs=2)),
    "lstm_bad_direction": ("LSTM", 4, dict(direction="sideways"), dict()),
}


def main(argv):
    if len(argv) != 1:
        sys.exit("usage: make_rnn_cases.py OUTDIR")
    out = argv[0]
    for name, (op, H, attrs, kw) in GOOD.items():
        m, feeds = build(op, H, attrs, name=name, **kw)
        onnx.checker.check_model(m)
        d = os.path.join(out, name)
        os.makedirs(os.path.join(d, "inputs"), exist_ok=True)
        onnx.save(m, os.path.join(d, "model.onnx"))
        for k, v in feeds.items():
            np.save(os.path.join(d, "inputs", k + ".npy"), v, allow_pickle=False)
    os.makedirs(os.path.join(out, "bad"), exist_ok=True)
    for name, (op, H, attrs, kw) in BAD.items():
        m, _ = build(op, H, attrs, name=name, **kw)
        if name == "rnn_hidden_mismatch":  # R and W agree with each other, hidden_size does not
            next(a for a in m.graph.node[0].attribute if a.name == "hidden_size").i = 5
        onnx.save(m, os.path.join(out, "bad", name + ".onnx"))


if __name__ == "__main__":
    main(sys.argv[1:])

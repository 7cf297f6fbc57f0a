#!/usr/bin/python3
"""Exports small recurrent models (the shape of speech, wake-word and VAD networks) to ONNX.

  /usr/bin/python3 models/export_rnn.py OUTDIR [lstm lstm_state gru gru_state]

Each is a 2-layer bidirectional torch.nn.LSTM / GRU (input 20, hidden 32; sequence 12, batch 3)
followed by a Linear head, exported by torch.onnx at opset 14 with static shapes:
  lstm        seq-first LSTM, input 'x' (12,3,20); zero initial states (torch's default)
  lstm_state  the same with the initial states as graph inputs 'h0', 'c0' (4,3,32)
  gru         batch-first GRU, input 'x' (3,12,20); zero initial state
  gru_state   the same with 'h0' (4,3,32) as a graph input
Outputs: 'y' (the head applied to every step of the last layer), 'hn' (and 'cn' for the LSTMs):
the final states of every layer and direction. Writes OUTDIR/<name>/model.onnx and
OUTDIR/<name>/inputs/*.npy (seeded N(0,1); states scaled by 0.5). Weights: torch's own
initialisation under torch.manual_seed, so every run gives the same files.
"""
import os
import sys

import numpy as np
import torch

SEQ, BATCH, IN, HID, LAYERS = 12, 3, 20, 32, 2


class Net(torch.nn.Module):
    def __init__(self, kind, batch_first):
        super().__init__()
        cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
        self.kind = kind
        self.rnn = cls(IN, HID, num_layers=LAYERS, bidirectional=True, batch_first=batch_first)
        self.head = torch.nn.Linear(2 * HID, 8)

    def forward(self, x, *state):
        if self.kind == "lstm":
            y, (hn, cn) = self.rnn(x, tuple(state) if state else None)
            return self.head(y), hn, cn
        y, hn = self.rnn(x, state[0] if state else None)
        return self.head(y), hn


def make(name, outdir):
    kind = "lstm" if name.startswith("lstm") else "gru"
    with_state = name.endswith("_state")
    batch_first = kind == "gru"
    torch.manual_seed(11 if kind == "lstm" else 12)
    net = Net(kind, batch_first).eval()
    rng = np.random.default_rng(21 if kind == "lstm" else 22)
    xs = (BATCH, SEQ, IN) if batch_first else (SEQ, BATCH, IN)
    inputs = {"x": rng.standard_normal(xs).astype(np.float32)}
    if with_state:
        st = (2 * LAYERS, BATCH, HID)
        inputs["h0"] = (0.5 * rng.standard_normal(st)).astype(np.float32)
        if kind == "lstm":
            inputs["c0"] = (0.5 * rng.standard_normal(st)).astype(np.float32)
    d = os.path.join(outdir, name)
    os.makedirs(os.path.join(d, "inputs"), exist_ok=True)
    for k, v in inputs.items():
        np.save(os.path.join(d, "inputs", k + ".npy"), v, allow_pickle=False)
    outs = ["y", "hn", "cn"] if kind == "lstm" else ["y", "hn"]
    args = tuple(torch.from_numpy(v) for v in inputs.values())
    path = os.path.join(d, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(net, args, path, opset_version=14, input_names=list(inputs),
                          output_names=outs, do_constant_folding=True)
    print(f"{name}: {path} ({os.path.getsize(path)} bytes)")


def main(argv):
    names = argv[1:] or ["lstm", "lstm_state", "gru", "gru_state"]
    if len(argv) < 1 or any(n not in ("lstm", "lstm_state", "gru", "gru_state") for n in names):
        sys.exit("usage: export_rnn.py OUTDIR [lstm lstm_state gru gru_state]")
    for n in names:
        make(n, argv[0])


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/python3
"""A tiny MLP for quick tests: Gemm, MatMul, Add, Mul, Tanh, Sigmoid, Softmax, two outputs.

  /usr/bin/python3 models/make_tiny_mlp.py [OUTDIR]      (default: models/)

writes OUTDIR/tiny_mlp/model.onnx (opset 13) and OUTDIR/tiny_mlp/inputs/input.npy.
  input     (2,16) float32, seeded N(0,1)
  fc1       Linear(16,32) -> Tanh                       Gemm Tanh
  proj      x @ W (32,24) + b -> Sigmoid                MatMul Add Sigmoid
  fc2       Linear(24,8) * 4  -> 'logits:0' (2,8)       Gemm Mul
  softmax   over the last axis -> 'output' (2,8)        Softmax
The output name 'logits:0' is deliberate: its file is logits_0.npy (the .npy naming rule of docs/cli.md).
Then run models/make_references.sh models/tiny_mlp for the ONNX Runtime reference.
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


class TinyMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.w = nn.Parameter(torch.randn(32, 24) * (1 / 32) ** 0.5)
        self.b = nn.Parameter(torch.randn(24) * 0.1)
        self.fc2 = nn.Linear(24, 8)

    def forward(self, x):
        h = torch.tanh(self.fc1(x))
        h = torch.sigmoid(torch.matmul(h, self.w) + self.b)
        logits = self.fc2(h) * 4.0
        return torch.softmax(logits, dim=-1), logits


def main(argv):
    outdir = argv[0] if argv else os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    model = TinyMLP()
    common.randomize_biases(model, 300)
    model.eval()
    d = os.path.join(outdir, "tiny_mlp")
    x = common.save_input(os.path.join(d, "inputs", "input.npy"), (2, 16), 200)
    path = os.path.join(d, "model.onnx")
    common.export(model, torch.from_numpy(x), path, output_names=("output", "logits:0"))
    print(f"tiny_mlp: {path} ({os.path.getsize(path)} bytes) ops {common.op_histogram(path)}")


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/python3
"""A small CNN with the op mix of ResNet-18, MobileNetV2 and SqueezeNet 1.1, for fast end-to-end
tests (committed; a few hundred KB at most).

  /usr/bin/python3 models/make_small_cnn.py [OUTDIR]      (default: models/)

writes OUTDIR/small_cnn/model.onnx (opset 13, input 'input' (1,3,64,64) float32, output 'output'
(1,10)) and OUTDIR/small_cnn/inputs/input.npy (seeded N(0,1)). Then run
models/make_references.sh models/small_cnn for the ONNX Runtime reference.

Layers (shapes for the (1,3,64,64) input) and the ONNX ops they export to:
  stem       Conv 3x3 s2 + BN + ReLU                         -> (1,16,32,32)  Conv BatchNormalization Relu
  basic      ResNet basic block: conv-BN-ReLU-conv-BN + x, ReLU                Add
  inverted   MobileNetV2 block: 1x1 expand + BN + ReLU6, depthwise 3x3 (groups=C) + BN + ReLU6,
             1x1 project + BN, + x                                           Clip (ReLU6)
  pool       MaxPool 3x3 s2 ceil_mode=True (SqueezeNet)      -> (1,16,16,16)  MaxPool
  fire       SqueezeNet fire: 1x1 squeeze, 1x1 and 3x3 expand, Concat        -> (1,32,16,16)  Concat
  up         nearest 2x upsample                             -> (1,32,32,32)  Resize
  mix        Conv 3x3 + BN + ReLU, AvgPool 3x3 s2 p1         -> (1,24,16,16)  AveragePool
  down       Conv 3x3 s2 + ReLU                              -> (1,48,8,8)
  head a     AdaptiveAvgPool2d(1), torch.flatten(x, 1)       -> (1,48)        GlobalAveragePool Flatten
  head b     1x1 conv to 4 ch, AvgPool 4x4, x.view(x.size(0), -1) -> (1,16)   Shape Gather Unsqueeze Concat Reshape
  classifier cat(a, b) -> Linear(64, 32) + ReLU -> Linear(32, 10)            Concat Gemm
Weights: He-normal Conv/Linear weights, seeded BN statistics and biases (common.py); the
input is seeded N(0,1). Changing the input changes every output (checked by this script).
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def conv_bn(cin, cout, k=3, stride=1, groups=1, act=nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = conv_bn(c, c)
        self.b = conv_bn(c, c, act=None)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.b(self.a(x)) + x)


class InvertedResidual(nn.Module):
    def __init__(self, c, expand=2):
        super().__init__()
        h = c * expand
        self.body = nn.Sequential(conv_bn(c, h, 1, act=nn.ReLU6), conv_bn(h, h, 3, groups=h, act=nn.ReLU6),
                                  conv_bn(h, c, 1, act=None))

    def forward(self, x):
        return x + self.body(x)


class Fire(nn.Module):
    def __init__(self, cin, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU(inplace=True))
        self.e1 = nn.Sequential(nn.Conv2d(squeeze, e1, 1), nn.ReLU(inplace=True))
        self.e3 = nn.Sequential(nn.Conv2d(squeeze, e3, 3, padding=1), nn.ReLU(inplace=True))

    def forward(self, x):
        s = self.squeeze(x)
        return torch.cat([self.e1(s), self.e3(s)], 1)


class SmallCNN(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = conv_bn(3, 16, stride=2)
        self.basic = BasicBlock(16)
        self.inverted = InvertedResidual(16)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.fire = Fire(16, 8, 16, 16)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.mix = conv_bn(32, 24)
        self.avg = nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)
        self.down = nn.Sequential(nn.Conv2d(24, 48, 3, 2, 1), nn.ReLU(inplace=True))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.side = nn.Conv2d(48, 4, 1)
        self.side_pool = nn.AvgPool2d(4, count_include_pad=False)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, classes)

    def forward(self, x):
        x = self.pool(self.inverted(self.basic(self.stem(x))))
        x = self.avg(self.mix(self.up(self.fire(x))))
        x = self.down(x)
        a = torch.flatten(self.gap(x), 1)
        b = self.side_pool(self.side(x))
        b = b.view(b.size(0), -1)
        return self.fc2(torch.relu(self.fc1(torch.cat([a, b], 1))))


def main(argv):
    outdir = argv[0] if argv else os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    model = SmallCNN()
    common.kaiming_weights(model, 400)
    common.randomize_batchnorm(model, 100)
    common.randomize_biases(model, 300)
    model.eval()
    d = os.path.join(outdir, "small_cnn")
    x = common.save_input(os.path.join(d, "inputs", "input.npy"), (1, 3, 64, 64), 200)
    path = os.path.join(d, "model.onnx")
    common.export(model, torch.from_numpy(x), path, shape_chain=True)
    with torch.no_grad():
        y = model(torch.from_numpy(x))
        y0 = model(torch.zeros_like(torch.from_numpy(x)))
    spread = (y - y0).abs().min().item()
    if spread < 1e-3 * y.abs().max().item():
        sys.exit(f"make_small_cnn.py: output barely depends on the input ({spread:.3g})")
    print(f"small_cnn: {path} ({os.path.getsize(path)} bytes) output |max| {y.abs().max().item():.4g} "
          f"ops {common.op_histogram(path)}")


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/python3
"""Exports torchvision classifiers with seeded random weights (no download: no internet) to ONNX.

  /usr/bin/python3 models/export_torchvision.py OUTDIR [resnet18 mobilenet_v2 squeezenet1_1
      resnet50 efficientnet_b0] [--fold-bn]

writes OUTDIR/<name>/model.onnx (opset 13, input 'input' (1,3,224,224) float32, output 'output'
(1,1000)) and OUTDIR/<name>/inputs/input.npy (seeded N(0,1) float32). Weights: torchvision's own
initialisation under torch.manual_seed, then every BatchNorm gets non-trivial seeded statistics
(common.randomize_batchnorm) and every Conv/Linear bias N(0, 0.05) (common.randomize_biases).
BatchNormalization nodes are kept unless --fold-bn.
These models are large and are not committed; tests make them in the build folder when torch is
installed, and make_references.sh produces their ONNX Runtime outputs.
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

MODELS = {
    "resnet18": (torchvision.models.resnet18, 1),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, 2),
    "squeezenet1_1": (torchvision.models.squeezenet1_1, 3),
    "resnet50": (torchvision.models.resnet50, 4),
    "efficientnet_b0": (torchvision.models.efficientnet_b0, 5),
}


def make(name, outdir, keep_batchnorm):
    ctor, seed = MODELS[name]
    torch.manual_seed(seed)
    model = ctor(weights=None, num_classes=1000)
    common.randomize_batchnorm(model, seed + 100)
    common.randomize_biases(model, seed + 300)
    model.eval()
    d = os.path.join(outdir, name)
    x = common.save_input(os.path.join(d, "inputs", "input.npy"), (1, 3, 224, 224), seed + 200)
    path = os.path.join(d, "model.onnx")
    common.export(model, torch.from_numpy(x), path, keep_batchnorm=keep_batchnorm)
    with torch.no_grad():
        y = model(torch.from_numpy(x))
    print(f"{name}: {path} ({os.path.getsize(path)} bytes) output |max| {y.abs().max().item():.4g} "
          f"ops {common.op_histogram(path)}")


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = [a for a in argv if a.startswith("--")]
    if not args or any(f != "--fold-bn" for f in flags):
        sys.exit("usage: export_torchvision.py OUTDIR [resnet18 mobilenet_v2 squeezenet1_1] [--fold-bn]")
    names = args[1:] or list(MODELS)
    for n in names:
        if n not in MODELS:
            sys.exit(f"export_torchvision.py: unknown model '{n}' (have: {' '.join(MODELS)})")
    for n in names:
        make(n, args[0], keep_batchnorm="--fold-bn" not in flags)


if __name__ == "__main__":
    main(sys.argv[1:])

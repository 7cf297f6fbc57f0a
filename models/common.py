"""Shared helpers for the model-making scripts in models/ (run them with /usr/bin/python3:
Debian's torch 1.13, torchvision 0.14, onnx 1.12, numpy 1.24).

Everything is seeded: the same script and library versions give the same weights, inputs and
(torch's exporter being deterministic) the same model.onnx bytes.
"""
import os
import warnings

import numpy as np
import torch

OPSET = 13


def randomize_batchnorm(model, seed):
    """Gives every BatchNorm non-trivial, seeded statistics so that BN folding and BN kernels
    are really exercised: mean ~ N(0, 0.1), var ~ U(0.5, 1.5), weight ~ U(0.5, 1.5),
    bias ~ N(0, 0.1)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)


def kaiming_weights(model, seed):
    """Re-draws every Conv/Linear weight from N(0, 2/fan_in) (He init), which keeps activations at
    a steady scale through the network, so the output depends on the input and not only on the
    last biases (torch's default init shrinks the signal by about 3x in variance per layer)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = m.weight[0].numel()
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)


def randomize_biases(model, seed):
    """Sets every Conv/Linear bias to seeded N(0, 0.05) values. torchvision initialises many
    biases to exactly 0, which would leave bias handling untested (and makes torch's exporter
    de-duplicate the equal initializers into Identity nodes)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
            with torch.no_grad():
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.05)


def unit_variance(model, inputs):
    """Layer-sequential unit variance (Mishkin & Matas, "All you need is a good init", ICLR 2016),
    in one forward pass on INPUTS: each Conv/Linear, the first time it runs, has its weight and
    bias divided by the standard deviation of its output, and the rescaled output goes on.
    Random weights otherwise grow or shrink the signal layer by layer, so a detector's scores
    stop depending on the image: every one of RetinaNet's 300 kept scores was exactly 1.0, which
    leaves the kept set to the implementation's tie order. Returns the number of layers scaled."""
    done, hooks = set(), []

    def scale(mod, args, out):
        if mod in done or not torch.is_tensor(out) or out.numel() < 2:
            return None
        done.add(mod)
        s = float(out.std())
        if not s > 0 or s == float("inf"):
            return None
        with torch.no_grad():
            mod.weight.div_(s)
            if mod.bias is not None:
                mod.bias.div_(s)
        return out / s

    kinds = (torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.ConvTranspose2d, torch.nn.Linear)
    for m in model.modules():
        if isinstance(m, kinds):
            hooks.append(m.register_forward_hook(scale))
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()
    return len(done)


def save_input(path, shape, seed):
    """A seeded N(0, 1) float32 input (the scale of a normalized image) written with np.save."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    np.save(path, x, allow_pickle=False)
    return x


def export(model, example, path, keep_batchnorm=True, shape_chain=False,
           input_names=("input",), output_names=("output",)):
    """torch.onnx.export at opset 13 with static shapes. keep_batchnorm=True exports with
    TrainingMode.PRESERVE (the model is in eval mode), which skips torch's Conv+BN fusion so the
    file keeps its BatchNormalization nodes, as many published ONNX models do; False lets torch
    fold BN into the convolutions (its default, TrainingMode.EVAL).

    shape_chain=True keeps shape arithmetic such as x.view(x.size(0), -1) in the file as
    Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as dynamic-batch exports have it: with a
    static input torch 1.13 replaces x.size(0) by a constant, so the model is exported with a
    dynamic batch axis and then pinned back to batch 1 in the graph's inputs, outputs and
    value_info (pin_batch), which leaves those nodes in place for the converter to fold."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.eval()
    mode = torch.onnx.TrainingMode.PRESERVE if keep_batchnorm else torch.onnx.TrainingMode.EVAL
    with torch.no_grad(), warnings.catch_warnings():
        # torch warns about constant folding in PRESERVE mode even when, as here, the model is
        # in eval mode (nothing trainable to mutate): silence that one warning only.
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
        dynamic = {n: {0: "batch"} for n in list(input_names) + list(output_names)} if shape_chain else None
        torch.onnx.export(model, example, path, opset_version=OPSET, input_names=list(input_names),
                          output_names=list(output_names), training=mode, do_constant_folding=True,
                          dynamic_axes=dynamic)
    if shape_chain:
        pin_batch(path, "batch", example.shape[0])


def pin_batch(path, dim_name, value):
    """Rewrites every dimension named dim_name to the fixed value (inputs, outputs, value_info)."""
    import onnx
    m = onnx.load(path)
    g = m.graph
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_param") and d.dim_param == dim_name:
                d.Clear()
                d.dim_value = value
    onnx.checker.check_model(m)
    onnx.save(m, path)


def op_histogram(path):
    import onnx
    m = onnx.load(path, load_external_data=False)
    hist = {}
    for n in m.graph.node:
        hist[n.op_type] = hist.get(n.op_type, 0) + 1
    return dict(sorted(hist.items()))

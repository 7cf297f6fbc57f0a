#!/usr/bin/python3
"""GridSample, RoiAlign, DFT, STFT and MelWeightMatrix forms beyond the backend test data
(tests/e2e/sample_signal.sh).

    sample_signal.py make DIR    writes DIR/<case>/{model.onnx, inputs/*.npy, reference/*.npy}
    sample_signal.py bad DIR     writes DIR/bad/*.onnx: models convert must refuse (exit 3)
    sample_signal.py check DIR   compares DIR/<case>/outputs with reference/ and, where present,
                                 with ort/ (ONNX Runtime's outputs for the same model)

Forms: GridSample every mode x padding x align_corners (grids reaching outside [-1, 1]); RoiAlign avg (half_pixel / output_half_pixel, sampling_ratio 0 = adaptive
and 2, spatial_scale, several images, ROIs partly outside the map) and max; DFT real and complex,
axes (0 included), onesided, inverse, dft_length padding and truncation; STFT with and
without a window, onesided 0/1, a complex signal; MelWeightMatrix with its edges as graph inputs;
and three models as found in the wild (see wild_cases), judged by PSNR.
References: torch.nn.functional.grid_sample, torchvision.ops.roi_align, numpy.fft and a numpy
transcription of the MelWeightMatrix definition, all independent of the C code. RoiAlign max has
no torch/numpy counterpart: its only reference is ONNX Runtime (ort/, written by the e2e script).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(15)
NP2ONNX = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64, np.int32: TensorProto.INT32}


def vi(name, arr):
    return helper.make_tensor_value_info(name, NP2ONNX[arr.dtype.type], list(arr.shape))


def save_case(root, name, node, inputs, outputs, opset, inits=(), ort_only=False):
    d = os.path.join(root, name)
    for sub in ("inputs", "reference"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    graph = helper.make_graph([node], name, [vi(k, v) for k, v in inputs.items()],
                              [vi(k, v) for k, v in outputs.items()],
                              initializer=[numpy_helper.from_array(v, k) for k, v in inits])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "model.onnx"))
    for k, v in inputs.items():
        np.save(os.path.join(d, "inputs", k + ".npy"), v)
    if not ort_only:
        for k, v in outputs.items():
            np.save(os.path.join(d, "reference", k + ".npy"), v)


def grid_sample_cases(root):
    import torch
    import torch.nn.functional as F
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    grid = rng.uniform(-1.4, 1.4, (2, 4, 6, 2)).astype(np.float32)
    forms = [(m, p, a, 16) for m in ("bilinear", "nearest", "bicubic")
             for p in ("zeros", "border", "reflection") for a in (0, 1)]
    for mode, pad, align, opset in forms:
        tmode = {"linear": "bilinear", "cubic": "bicubic"}.get(mode, mode)
        y = F.grid_sample(torch.from_numpy(x), torch.from_numpy(grid), mode=tmode,
                          padding_mode=pad, align_corners=bool(align)).numpy()
        node = helper.make_node("GridSample", ["X", "grid"], ["Y"], mode=mode, padding_mode=pad,
                                align_corners=align)
        save_case(root, f"gridsample_{mode}_{pad}_{align}", node, {"X": x, "grid": grid},
                  {"Y": y}, opset)


def roi_align_cases(root):
    import torch
    import torchvision
    x = rng.standard_normal((2, 3, 12, 10)).astype(np.float32)
    rois = np.array([[0, 0, 19, 23], [2.5, 3, 9, 8.5], [10, 12, 30, 30], [4, 4, 4.6, 5],
                     [-3, -2, 6, 7]], np.float32)  # in image pixels; spatial_scale 0.5
    bidx = np.array([0, 1, 1, 0, 1], np.int64)
    boxes = torch.from_numpy(np.concatenate([bidx[:, None].astype(np.float32), rois], 1))
    for ctm in ("half_pixel", "output_half_pixel"):
        for sr in (0, 2):
            y = torchvision.ops.roi_align(torch.from_numpy(x), boxes, output_size=(3, 4),
                                          spatial_scale=0.5, sampling_ratio=sr,
                                          aligned=ctm == "half_pixel").numpy()
            node = helper.make_node("RoiAlign", ["X", "rois", "batch_indices"], ["Y"],
                                    coordinate_transformation_mode=ctm, output_height=3,
                                    output_width=4, sampling_ratio=sr, spatial_scale=0.5)
            save_case(root, f"roialign_avg_{ctm}_{sr}", node,
                      {"X": x, "rois": rois, "batch_indices": bidx}, {"Y": y}, 16)
    for sr in (0, 2):
        node = helper.make_node("RoiAlign", ["X", "rois", "batch_indices"], ["Y"], mode="max",
                                output_height=3, output_width=4, sampling_ratio=sr,
                                spatial_scale=0.5)
        y = np.zeros((5, 3, 3, 4), np.float32)  # shape only: ONNX Runtime is the reference
        save_case(root, f"roialign_max_{sr}", node, {"X": x, "rois": rois, "batch_indices": bidx},
                  {"Y": y}, 16, ort_only=True)


def as_pairs(z):
    return np.stack([z.real, z.imag], -1).astype(np.float32)


def dft_cases(root):
    real = rng.standard_normal((2, 6, 5, 1)).astype(np.float32)
    cplx = rng.standard_normal((2, 6, 5, 2)).astype(np.float32)
    forms = [  # name, input, axis, onesided, inverse, dft_length
        ("real_axis1", real, 1, 0, 0, None), ("real_axis2_onesided", real, 2, 1, 0, None),
        ("real_pad8_onesided", real, 1, 1, 0, 8), ("real_trunc4", real, 1, 0, 0, 4),
        ("complex_axis2", cplx, 2, 0, 0, None), ("complex_inverse_axis1", cplx, 1, 0, 1, None),
        ("complex_inverse_pad7", cplx, 2, 0, 1, 7), ("real_axis0", real, 0, 0, 0, None)]
    for name, x, axis, onesided, inverse, n in forms:
        z = x[..., 0] + (1j * x[..., 1] if x.shape[-1] == 2 else 0)
        f = (np.fft.ifft if inverse else np.fft.fft)(z.astype(np.complex128), n=n, axis=axis)
        if onesided:
            f = np.take(f, np.arange(f.shape[axis] // 2 + 1), axis=axis)
        ins, inits = ["x"], []
        if n is not None:
            ins.append("dft_length")
            inits.append(("dft_length", np.array(n, np.int64)))
        node = helper.make_node("DFT", ins, ["y"], axis=axis, onesided=onesided, inverse=inverse)
        save_case(root, f"dft_{name}", node, {"x": x}, {"y": as_pairs(f)}, 17, inits)


def stft_ref(sig, step, length, window, onesided):
    z = sig[..., 0] + (1j * sig[..., 1] if sig.shape[-1] == 2 else 0)
    frames = 1 + (z.shape[1] - length) // step
    w = np.ones(length) if window is None else window.astype(np.float64)
    out = np.stack([np.fft.fft(z[:, f * step:f * step + length] * w, axis=1)
                    for f in range(frames)], 1)
    return as_pairs(out[:, :, :length // 2 + 1] if onesided else out)


def stft_cases(root):
    sig = rng.standard_normal((2, 64, 1)).astype(np.float32)
    hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(16) / 16)).astype(np.float32)
    for onesided in (1, 0):
        node = helper.make_node("STFT", ["signal", "frame_step", "window", "frame_length"],
                                ["y"], onesided=onesided)
        save_case(root, f"stft_window_onesided{onesided}", node, {"signal": sig},
                  {"y": stft_ref(sig, 5, 16, hann, onesided)}, 17,
                  [("frame_step", np.array(5, np.int64)), ("window", hann),
                   ("frame_length", np.array(16, np.int64))])
    csig = rng.standard_normal((1, 40, 2)).astype(np.float32)
    node = helper.make_node("STFT", ["signal", "frame_step", "", "frame_length"], ["y"],
                            onesided=0)
    save_case(root, "stft_complex_no_window", node, {"signal": csig},
              {"y": stft_ref(csig, 3, 8, None, 0)}, 17,
              [("frame_step", np.array(3, np.int64)), ("frame_length", np.array(8, np.int64))])


def mel_ref(bins, dft_length, rate, lo, hi):
    """The MelWeightMatrix definition: num_mel_bins + 2 edges evenly spaced in mel over
    [lo, hi] (step (hi - lo) / (bins + 2)), mapped to spectrogram bins
    floor((dft_length + 1) * hz / rate); triangles with peak 1."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    step = (mel(hi) - mel(lo)) / (bins + 2)
    edges = np.floor((dft_length + 1) * 700 * (10 ** ((np.arange(bins + 2) * step + mel(lo))
                                                      / 2595) - 1) / rate).astype(int)
    out = np.zeros((dft_length // 2 + 1, bins))
    for i in range(bins):
        a, b, c = edges[i:i + 3]
        if b == a:
            out[b, i] = 1
        for j in range(a, b + 1 if b > a else a):
            out[j, i] = (j - a) / (b - a)
        for j in range(b, c):
            out[j, i] = (c - j) / (c - b)
    return out.astype(np.float32)


def mel_cases(root):
    lo, hi = np.array(20, np.float32), np.array(7600, np.float32)
    node = helper.make_node("MelWeightMatrix", ["n", "len", "rate", "lo", "hi"], ["w"])
    save_case(root, "melweightmatrix_runtime_edges", node, {"lo": lo, "hi": hi},
              {"w": mel_ref(10, 64, 16000, float(lo), float(hi))}, 17,
              [("n", np.array(10, np.int64)), ("len", np.array(64, np.int64)),
               ("rate", np.array(16000, np.int64))])


def wild_cases(root):
    """Models built the way they are found: a flow-warp net exported by torch (Conv -> offsets
    -> GridSample), a torchvision roi_align head exported by torch, and a log-mel front end
    (STFT -> power -> MatMul with MelWeightMatrix -> Log). Judged by PSNR >= 80 dB against
    torch / float64 numpy. The log-mel model is not compared with ONNX Runtime: its f32 FFT
    leaves ~1e-7-relative noise in the empty bands that the log turns into 45 dB."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
    torch.manual_seed(0)

    class Warp(nn.Module):
        def __init__(self):
            super().__init__()
            self.flow = nn.Conv2d(3, 2, 3, padding=1)
            ys, xs = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 40),
                                    indexing="ij")
            self.register_buffer("base", torch.stack([xs, ys], -1)[None])

        def forward(self, x):
            g = self.base + 0.1 * torch.tanh(self.flow(x)).permute(0, 2, 3, 1)
            return F.grid_sample(x, g, padding_mode="border", align_corners=False)

    class Roi(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(3, 8, 3, stride=2, padding=1)

        def forward(self, x, boxes):
            return torchvision.ops.roi_align(torch.relu(self.c(x)), boxes, output_size=(7, 7),
                                             spatial_scale=0.5, sampling_ratio=0, aligned=True)

    boxes = torch.tensor([[0, 1., 2, 20, 25], [1, 5, 5, 30, 31], [0, 0, 0, 31, 31]])
    for name, m, args, names in [("warp", Warp(), (torch.randn(1, 3, 32, 40),), ["x"]),
                                 ("roi", Roi(), (torch.randn(2, 3, 32, 32), boxes), ["x", "boxes"])]:
        d = os.path.join(root, "wild_" + name)
        for sub in ("inputs", "reference"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        torch.onnx.export(m.eval(), args, os.path.join(d, "model.onnx"), opset_version=16,
                          input_names=names, output_names=["y"])
        for k, a in zip(names, args):
            np.save(os.path.join(d, "inputs", k + ".npy"), a.numpy())
        with torch.no_grad():
            np.save(os.path.join(d, "reference", "y.npy"), m(*args).numpy())
        open(os.path.join(d, "min_psnr"), "w").write("80\n")
    log_mel_case(root)


def log_mel_case(root):
    n, fl, step, mels = 4000, 400, 160, 40
    hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(fl) / fl)).astype(np.float32)
    consts = [("axis2", np.array([2], np.int64)), ("step", np.array(step, np.int64)),
              ("win", hann), ("fl", np.array(fl, np.int64)), ("nmel", np.array(mels, np.int64)),
              ("rate", np.array(16000, np.int64)), ("lo", np.array(20, np.float32)),
              ("hi", np.array(8000, np.float32)), ("last", np.array([-1], np.int64)),
              ("eps", np.array(1e-6, np.float32))]
    nodes = [helper.make_node("Unsqueeze", ["x", "axis2"], ["x3"]),
             helper.make_node("STFT", ["x3", "step", "win", "fl"], ["spec"]),
             helper.make_node("Mul", ["spec", "spec"], ["sq"]),
             helper.make_node("ReduceSum", ["sq", "last"], ["pow"], keepdims=0),
             helper.make_node("MelWeightMatrix", ["nmel", "fl", "rate", "lo", "hi"], ["melw"]),
             helper.make_node("MatMul", ["pow", "melw"], ["mel"]),
             helper.make_node("Add", ["mel", "eps"], ["mel_e"]),
             helper.make_node("Log", ["mel_e"], ["y"])]
    t = np.arange(n) / 16000
    x = np.stack([np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(n),
                  np.sin(2 * np.pi * 1000 * t * (1 + t))]).astype(np.float32)
    frames = 1 + (n - fl) // step
    pw = np.sum(stft_ref(x[:, :, None], step, fl, hann, 1).astype(np.float64) ** 2, -1)
    y = np.log(pw @ mel_ref(mels, fl, 16000, 20.0, 8000.0).astype(np.float64) + np.float32(1e-6))
    d = os.path.join(root, "wild_log_mel")
    graph = helper.make_graph(nodes, "log_mel", [vi("x", x)], [vi("y", y.astype(np.float32))],
                              initializer=[numpy_helper.from_array(v, k) for k, v in consts])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    for sub in ("inputs", "reference"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "inputs", "x.npy"), x)
    np.save(os.path.join(d, "reference", "y.npy"), y.astype(np.float32))
    open(os.path.join(d, "min_psnr"), "w").write("80\n")
    open(os.path.join(d, "no_ort"), "w").write("f32 FFT noise in empty bands, see wild_cases\n")


def bad_models(root):
    """Models convert must refuse with exit 3 and one line naming the node (bad/<name>.onnx)."""
    os.makedirs(os.path.join(root, "bad"), exist_ok=True)
    x = np.zeros((1, 1, 4, 4), np.float32)
    grid = np.zeros((1, 2, 2, 2), np.float32)
    sig = np.zeros((1, 64, 1), np.float32)
    step = np.array(8, np.int64)
    models = {
        "gridsample_area": ([helper.make_node("GridSample", ["x", "g"], ["y"], mode="area",
                                              name="gs")], [vi("x", x), vi("g", grid)], x, 16),
        "dft_onesided_inverse": ([helper.make_node("DFT", ["s"], ["y"], onesided=1, inverse=1,
                                                   name="dft")], [vi("s", sig)], sig, 17),
        "stft_step_input": ([helper.make_node("STFT", ["s", "step", "", "fl"], ["y"], name="stft")],
                            [vi("s", sig), vi("step", step)], sig, 17),
    }
    for name, (nodes, ins, y, opset) in models.items():
        g = helper.make_graph(nodes, name, ins, [vi("y", y)],
                              initializer=[numpy_helper.from_array(np.array(16, np.int64), "fl")])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        onnx.save(m, os.path.join(root, "bad", name + ".onnx"))


def psnr(o, r):
    mse = float(np.mean((o.astype(np.float64) - r) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(float(np.max(np.abs(r))) ** 2 / mse)


def compare(o, r):
    # f32 kernels against f64 / f32 references: a few ulps of summation order and coordinate
    # rounding (torch and ONNX Runtime compute coordinates in f32 too). The largest difference
    # seen is 4e-6 (a DFT bin of magnitude ~10 against ONNX Runtime's f32 FFT).
    return r.shape == o.shape and np.allclose(o, r, rtol=1e-4, atol=1e-5)


def check(root):
    bad = 0
    for name in sorted(os.listdir(root)):
        case = os.path.join(root, name)
        min_psnr = None
        if os.path.exists(os.path.join(case, "min_psnr")):
            min_psnr = float(open(os.path.join(case, "min_psnr")).read())
        for ref in ("reference", "ort"):
            ref_dir = os.path.join(case, ref)
            if not os.path.isdir(ref_dir) or (ref == "ort" and os.path.exists(os.path.join(case, "no_ort"))):
                continue
            for f in sorted(os.listdir(ref_dir)):
                r = np.load(os.path.join(ref_dir, f))
                o = np.load(os.path.join(case, "outputs", f))
                if o.shape != r.shape:
                    ok, what = False, f"shape {o.shape} != {r.shape}"
                elif min_psnr is not None:
                    p = psnr(o, r)
                    ok, what = p >= min_psnr, f"PSNR {p:.1f} dB, want >= {min_psnr:g}"
                else:
                    ok, what = compare(o, r), f"max |diff| {float(np.max(np.abs(o - r))):.2g}"
                print(f"{name}/{f} vs {ref}: {'ok' if ok else 'MISMATCH'} ({what})")
                bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check", "bad"):
        sys.exit("usage: sample_signal.py make|check|bad DIR")
    if sys.argv[1] == "bad":
        sys.exit(bad_models(sys.argv[2]))
    if sys.argv[1] == "make":
        grid_sample_cases(sys.argv[2])
        roi_align_cases(sys.argv[2])
        dft_cases(sys.argv[2])
        stft_cases(sys.argv[2])
        mel_cases(sys.argv[2])
        wild_cases(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))

"""ONNX → bundle conversion (include/aneforge/converter.h), as `aneforge convert` does it."""
import ctypes
import math
import os
import tempfile

import numpy as np

from . import _lib
from ._util import NpyFolder, check, fspath, npy_file_name, shape_specs
from .errors import UsageError
from .runtime import Bundle
from .targets import _family

COMPRESS_MODES = ("fp32", "fp16", "int8", "int4", "palette", "sparse", "blockwise", "auto")

# convert() keyword options that map 1:1 onto af_convert_options fields (the CLI's flags).
_INT_OPTIONS = ("group_size", "palette_bits", "block_size", "block_bits")
_FLAG_OPTIONS = ("int8_asymmetric", "int8_per_tensor", "data_free", "no_fuse",
                 "no_inplace_concat", "allow_partial")
_NUM_OPTIONS = ("sparsity", "max_size", "min_cosine", "min_topk", "min_argmax", "min_iou")
_STR_OPTIONS = ("palette_scale", "weight_map")
_TASK_OPTIONS = {"topk": 1, "argmax_axis": 2, "iou": 3}


class ImageInput:
    """`--image-input NAME:scale=S,bias=B0,B1,B2`: the input becomes uint8 and the program starts
    with x·scale + bias per channel (scale and bias: one value or one per channel)."""

    def __init__(self, name, scale=1.0, bias=0.0):
        self.name = name
        self.scale = [float(s) for s in np.atleast_1d(scale)]
        self.bias = [float(b) for b in np.atleast_1d(bias)]
        self.spec = self._parse()

    def __str__(self):
        fmt = lambda v: ",".join(repr(x) for x in v)  # noqa: E731 (repr: exact round trip)
        return f"{self.name}:scale={fmt(self.scale)},bias={fmt(self.bias)}"

    def _parse(self):
        spec = _lib.ImageInputSpec()
        msg = _lib.msg_buffer()
        st = _lib.lib.af_image_input_parse(str(self).encode(), ctypes.byref(spec), msg, len(msg))
        check(st, msg)
        return spec

    def __repr__(self):
        return f"image_input({self.name!r}, scale={self.scale}, bias={self.bias})"


def image_input(name, scale=1.0, bias=0.0):
    """An image input for ``convert(image_inputs=[...])`` and ``validate``."""
    return ImageInput(name, scale=scale, bias=bias)


def image_specs(image_inputs):
    if not image_inputs:
        return None, 0
    items = [i if isinstance(i, ImageInput) else _from_string(i) for i in image_inputs]
    arr = (_lib.ImageInputSpec * len(items))(*[i.spec for i in items])
    return arr, len(items)


def _from_string(s):
    if not isinstance(s, str):
        raise UsageError(f"image_inputs: want image_input(...) or 'NAME:scale=..,bias=..', got {s!r}")
    spec = _lib.ImageInputSpec()
    msg = _lib.msg_buffer()
    check(_lib.lib.af_image_input_parse(s.encode(), ctypes.byref(spec), msg, len(msg)), msg)
    obj = ImageInput.__new__(ImageInput)
    obj.name, obj.spec = spec.name.decode(), spec
    obj.scale = list(spec.scale[:spec.n_scale])
    obj.bias = list(spec.bias[:spec.n_bias])
    return obj


class _Freeze:
    """freeze={name: path or ndarray} → af_freeze_spec[] (arrays saved to a temporary folder)."""

    def __init__(self, freeze):
        self.tmp = None
        self.keep = []
        self.arr, self.n = None, 0
        if not freeze:
            return
        if not isinstance(freeze, dict):
            raise UsageError("freeze: want a dict {input name: .npy path or ndarray}")
        self.arr = (_lib.FreezeSpec * len(freeze))()
        for k, (name, value) in enumerate(freeze.items()):
            if isinstance(value, np.ndarray) or np.isscalar(value):
                if self.tmp is None:
                    self.tmp = tempfile.TemporaryDirectory(prefix="aneforge-")
                path = os.path.join(self.tmp.name, npy_file_name(name))
                np.save(path, np.asarray(value))
                value = path
            self.keep += [name.encode(), fspath(value, "freeze")]
            self.arr[k].name, self.arr[k].path = self.keep[-2], self.keep[-1]
        self.n = len(freeze)

    def close(self):
        if self.tmp:
            self.tmp.cleanup()


def _tasks(options, keep):
    specs = []
    for key, kind in _TASK_OPTIONS.items():
        if key not in options:
            continue
        values = options.pop(key)
        for v in values if isinstance(values, (list, tuple)) else [values]:
            spec = _lib.TaskSpec()
            buf = ctypes.create_string_buffer(str(v).encode())
            keep.append(buf)
            msg = _lib.msg_buffer()
            check(_lib.lib.af_task_spec_parse(buf, kind, ctypes.byref(spec), msg, len(msg)), msg)
            specs.append(spec)
    return ((_lib.TaskSpec * len(specs))(*specs), len(specs)) if specs else (None, 0)


def _set_options(o, options, keep):
    o.tasks, o.n_tasks = _tasks(options, keep)
    for key, value in options.items():
        if key in _INT_OPTIONS:
            n = int(value)
            setattr(o, key, -1 if key == "group_size" and n == 0 else n)  # as the CLI: 0 = per tensor
        elif key in _FLAG_OPTIONS:
            setattr(o, key, 1 if value else 0)
        elif key in _NUM_OPTIONS:
            setattr(o, key, float(value))
        elif key in _STR_OPTIONS:
            keep.append(str(value).encode())
            setattr(o, key, keep[-1])
        else:
            raise UsageError(f"convert: unknown option '{key}'")


def _report(o, r):
    """The CLI's `convert --json` fields."""
    d = {k: getattr(r, k) for k in ("opset", "nodes_imported", "nodes_lowered", "folded",
                                    "removed", "bn_folded", "act_fused", "residual_fused",
                                    "weight_bytes", "weight_bytes_fp32", "arena_bytes",
                                    "concat_inplace", "file_bytes", "weights_compressed")}
    d["arena_bytes_without_reuse"] = r.naive_arena_bytes
    d["model"], d["bundle"] = _lib.text(o.model_path), _lib.text(o.out_path)
    d["compress"], d["target"] = _lib.text(o.compress), _lib.text(o.target)
    if o.target:
        d["target_nodes"], d["target_cpu_nodes"] = r.target_nodes, r.target_cpu_nodes
    if r.decided_by:
        d["auto"] = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in (
            ("model_psnr_db", r.model_psnr_db), ("promotions", r.promotions),
            ("decided_by", _lib.text(r.decided_by)), ("gates_met", r.gates_met),
            ("model_cosine", r.model_cosine), ("model_top1", r.model_top1),
            ("model_topk", r.model_topk), ("model_argmax", r.model_argmax),
            ("model_iou", r.model_iou))}
    d["warnings"] = [w for w in (_lib.text(r.compress_warning), _lib.text(r.weights_note)) if w]
    return d


def convert(model, out=None, *, target=None, compress=None, calib=None, min_psnr=35,
            input_shapes=None, weights=None, freeze=None, image_inputs=None,
            allow_fallback=False, stream_weights=False, **options):
    """Converts an ONNX model into a bundle and opens it. ``out`` defaults to the model's path
    with ``.afb``. The write is atomic (temporary file, fsync, rename): the bundle appears whole
    or not at all. ``compress=None`` is the CLI's default, fp16 (byte-identical bundles).
    Further keywords are the CLI's flags with '_' for '-': group_size, palette_bits,
    palette_scale, block_size, block_bits, sparsity, int8_asymmetric, int8_per_tensor,
    data_free, max_size, min_cosine, min_topk, min_argmax, min_iou, topk, argmax_axis, iou,
    weight_map, allow_partial, no_fuse, no_inplace_concat. Returns the opened Bundle, its
    ``conversion`` attribute holding the CLI's ``--json`` report."""
    model_b = fspath(model, "convert")
    if out is None:
        out = os.path.splitext(os.fsdecode(model_b))[0] + ".afb"
    keep = []
    o = _lib.ConvertOptions()
    o.model_path, o.out_path = model_b, fspath(out, "convert: out")
    compress = "fp16" if compress is None else compress
    if compress not in COMPRESS_MODES:
        raise UsageError(f"unknown --compress mode '{compress}' (want {', '.join(COMPRESS_MODES)})")
    o.compress = compress.encode()
    if target is not None:
        _family(target)  # unknown → TargetError before any work, as the CLI does
        o.target = target.encode()
    elif allow_fallback:
        raise UsageError("--allow-fallback needs --target")
    o.allow_fallback = 1 if allow_fallback else 0
    if min_psnr is None or not min_psnr > 0:
        raise UsageError(f"--min-psnr {min_psnr}: want a positive value in dB")
    o.min_psnr = float(min_psnr)
    o.shapes, o.n_shapes, k = shape_specs(input_shapes)
    keep.append(k)
    o.image_inputs, o.n_image_inputs = image_specs(image_inputs)
    if weights is not None:
        ws = [weights] if isinstance(weights, (str, bytes, os.PathLike)) else list(weights)
        arr = (ctypes.c_char_p * len(ws))(*[fspath(w, "weights") for w in ws])
        keep.append(arr)
        o.weights, o.n_weights = arr, len(ws)
    _set_options(o, dict(options), keep)
    if (o.weight_map or o.allow_partial) and not o.n_weights:
        raise UsageError("--weight-map and --allow-partial need --weights")
    fr = _Freeze(freeze)
    o.freeze, o.n_freeze = fr.arr, fr.n
    cal = NpyFolder(calib, "calib")
    o.calib_dir = cal.path
    r = _lib.ConvertReport()
    msg = _lib.msg_buffer()
    try:
        check(_lib.lib.af_convert(ctypes.byref(o), ctypes.byref(r), msg, len(msg)), msg)
    finally:
        cal.close()
        fr.close()
    b = Bundle(out, stream_weights=stream_weights)
    b.conversion = _report(o, r)
    return b


compile = convert  # noqa: A001 (the frontend's name)

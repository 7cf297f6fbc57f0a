"""What conversion and compression did to accuracy (include/aneforge/validate.h), with the
figures of ``aneforge validate``: PSNR, max abs error, relative L2, cosine per output and layer."""
import ctypes
import json
import math

from . import _lib
from ._util import NpyFolder, check, fspath, shape_specs
from .convert import _Freeze, image_specs
from .errors import CheckFailedError, UsageError


def _rank_psnr(layer):
    """The PSNR layers are ranked by: own (isolated) when measured, else as deployed; NaN lowest."""
    m = layer.get("own") or layer
    p = m.get("psnr_db")
    p = float(p) if p is not None else math.nan
    return -math.inf if math.isnan(p) else p


class Report:
    """A validation report. ``outputs`` and ``layers`` are the JSON records (dicts with psnr_db,
    max_abs, rel_l2, cosine, ...); ``passed`` says whether every output met ``min_psnr``."""

    def __init__(self, text, passed, handle, min_psnr):
        self._text = text
        self._h = handle
        self.passed = passed
        self.min_psnr = min_psnr
        doc = json.loads(text)
        self.document = doc
        comp = doc["components"][0]
        self.outputs = comp["outputs"]
        self.layers = comp["layers"]
        self.fp16_overflow_layers = comp["fp16_overflow_layers"]
        self.first_nonfinite_tensor = comp["first_nonfinite_tensor"]

    def to_json(self):
        """The document ``aneforge validate --json FILE`` writes, byte for byte."""
        return self._text

    def worst_layers(self, n=10):
        """The n layers with the lowest PSNR (their own error when per_layer measured it)."""
        return sorted(self.layers, key=_rank_psnr)[:n]

    def plot(self, path):
        """Writes the per-layer PSNR plot (SVG) ``validate --plot`` draws."""
        msg = _lib.msg_buffer()
        check(_lib.lib.af_validation_write_svg(self._h, fspath(path, "plot"), msg, len(msg)), msg)

    def check(self):
        """Raises CheckFailedError (exit code 1 in the CLI) when an output is below min_psnr."""
        if not self.passed:
            bad = [o["name"] for o in self.outputs if not o["pass"]]
            raise CheckFailedError(f"validate: output(s) {', '.join(bad)} below "
                                   f"--min-psnr {self.min_psnr:g} dB")
        return self

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.lib.af_validation_free(self._h)
            self._h = None

    def __repr__(self):
        psnr = ", ".join(f"{o['name']}: {o['psnr_db']} dB" for o in self.outputs)
        return f"Report({psnr}; {len(self.layers)} layers; passed={self.passed})"


def validate(model, bundle, inputs=None, per_layer=False, fp16=False, *, min_psnr=None,
             seed=1, threads=1, input_shapes=None, image_inputs=None, freeze=None,
             int8_compute=False):
    """Measures a bundle against the model's fp32 program on the same inputs (a folder of
    <input>.npy, a dict of arrays, or seeded random inputs without), as ``aneforge validate``.
    ``per_layer`` measures every layer (deployed and isolated); ``fp16`` runs the bundle with
    the ANE's fp16 activations; ``int8_compute`` with int8 compute (``--int8-compute``);
    ``min_psnr`` is the gate ``Report.passed`` and ``check()``
    judge. The bundle may be a path or a Bundle."""
    if min_psnr is not None and (not isinstance(min_psnr, (int, float)) or math.isnan(min_psnr)
                                 or min_psnr == 0):
        raise UsageError(f"bad --min-psnr '{min_psnr}'")
    if not isinstance(seed, int) or seed < 1:
        raise UsageError(f"bad --seed '{seed}' (want an integer >= 1)")
    if not isinstance(threads, int) or not 1 <= threads <= 256:
        raise UsageError(f"bad threads {threads!r} (want 1..256)")
    o = _lib.ValidateOptions()
    o.model_path, o.bundle_path = fspath(model, "validate"), fspath(bundle, "validate")
    o.seed, o.fp16, o.per_layer, o.n_threads = seed, int(bool(fp16)), int(bool(per_layer)), threads
    o.min_psnr = float(min_psnr) if min_psnr is not None else 0.0
    o.int8_compute = int(bool(int8_compute))
    o.shapes, o.n_shapes, keep = shape_specs(input_shapes)
    o.image_inputs, o.n_image_inputs = image_specs(image_inputs)
    fr = _Freeze(freeze)
    o.freeze, o.n_freeze = fr.arr, fr.n
    h = ctypes.c_void_p()
    msg = _lib.msg_buffer()
    try:
        with NpyFolder(inputs, "inputs") as folder:
            o.inputs_dir = folder.path
            check(_lib.lib.af_validate(ctypes.byref(o), ctypes.byref(h), msg, len(msg)), msg)
    finally:
        fr.close()
    del keep
    text = _lib.text(_lib.lib.af_validation_json(h))
    return Report(text, bool(_lib.lib.af_validation_passed(h)), h, min_psnr)

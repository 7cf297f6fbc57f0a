"""aneforge: convert ONNX models into ANE-ready bundles, run them, check, estimate and validate
them from Python and numpy. A pure-Python package over the C libraries (ctypes); see
docs/python.md.

    import aneforge as af
    b = af.convert("model.onnx", "model.afb", compress="int8")
    y = b.session(threads=2).run({"input": x})["output"]
"""
from .convert import COMPRESS_MODES, ImageInput, compile, convert, image_input  # noqa: A004
from .errors import (AneforgeError, BadInputError, CheckFailedError, CrossChipFP16Warning,
                     InternalError, TargetError, UsageError)
from .runtime import Bundle, Session, TensorSpec
from .targets import (Device, Estimate, Family, Figure, Fp16Finding, OpEstimate, Violation,
                      cross_compile_check, detect, detect_family, devices, estimate,
                      estimate_provenance, families, predict_fp16_divergence, project_peak,
                      target, targets, targets_json)
from .validate import Report, validate
from . import _lib

__version__ = "0.1.0"
library_path = _lib.path  # the libaneforge that was loaded

__all__ = [
    "convert", "compile", "image_input", "ImageInput", "COMPRESS_MODES", "Bundle", "Session",
    "TensorSpec", "targets", "families", "devices", "targets_json", "target", "project_peak",
    "estimate_provenance", "estimate", "cross_compile_check", "predict_fp16_divergence",
    "detect_family", "detect", "validate", "Report", "Estimate", "Family", "Device", "Figure",
    "Fp16Finding", "OpEstimate", "Violation", "AneforgeError", "UsageError", "BadInputError",
    "CheckFailedError", "InternalError", "TargetError", "CrossChipFP16Warning",
]

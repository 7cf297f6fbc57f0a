"""The C libraries through ctypes: finding libaneforge, the struct mirrors of the public headers
(include/aneforge/*.h) and the function prototypes.

The library is loaded with ctypes.CDLL, which releases the GIL for the duration of every call:
a session's run lets other Python threads go on (see docs/python.md).

Where the library is looked for, first match wins:
  1. $ANEFORGE_LIBRARY: the path of libaneforge.so(.0), or a folder holding it;
  2. next to this package (a copy placed beside it), or the folder recorded at `cmake --install`;
  3. the build tree this package sits in (python/aneforge -> build/, $ANEFORGE_BUILD_DIR);
  4. the dynamic linker's search path (libaneforge.so.0, e.g. after `cmake --install` to /usr).
"""
import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int,
                    c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)

AF_MAX_RANK = 8
AF_IMAGE_MAX_CHANNELS = 16
AF_WENC_COUNT = 7
_NAMES = ("libaneforge.so.0", "libaneforge.so")
_RT_NAMES = ("libaneforge_rt.so.0", "libaneforge_rt.so")


# ---- include/aneforge/runtime.h ----------------------------------------------------------------
class TensorInfo(Structure):
    _fields_ = [("name", c_char_p), ("dtype", c_int), ("rank", c_int),
                ("dims", c_int64 * AF_MAX_RANK), ("nbytes", c_size_t)]


class SessionOptions(Structure):
    _fields_ = [("n_threads", c_int), ("fp16", c_int), ("node_precision", POINTER(c_uint8)),
                ("fp16_weights", c_int), ("int8_compute", c_int)]


class BundleOptions(Structure):
    _fields_ = [("stream_weights", c_int), ("expand_weights", c_int)]


class NodeEvent(Structure):
    _fields_ = [("node_index", c_int), ("node", c_char_p), ("op", c_char_p),
                ("output_index", c_int), ("info", TensorInfo), ("data", c_void_p),
                ("rounding", c_int)]


OBSERVER = CFUNCTYPE(None, c_void_p, POINTER(NodeEvent))


# ---- include/aneforge/converter.h ----------------------------------------------------------------
class ShapeSpec(Structure):
    _fields_ = [("name", c_char_p), ("rank", c_int), ("dims", c_int64 * AF_MAX_RANK)]


class TaskSpec(Structure):
    _fields_ = [("output", c_char_p), ("kind", c_int), ("k", c_int), ("axis", c_int),
                ("threshold", c_double)]


class FreezeSpec(Structure):
    _fields_ = [("name", c_char_p), ("path", c_char_p)]


class ImageInputSpec(Structure):
    _fields_ = [("name", c_char * 256), ("n_scale", c_int), ("n_bias", c_int),
                ("scale", c_float * AF_IMAGE_MAX_CHANNELS), ("bias", c_float * AF_IMAGE_MAX_CHANNELS)]


class ConvertOptions(Structure):
    _fields_ = [
        ("model_path", c_char_p), ("out_path", c_char_p), ("compress", c_char_p),
        ("target", c_char_p), ("shapes", POINTER(ShapeSpec)), ("n_shapes", c_int),
        ("no_fuse", c_int), ("image_inputs", POINTER(ImageInputSpec)), ("n_image_inputs", c_int),
        ("weights", POINTER(c_char_p)), ("n_weights", c_int), ("weight_map", c_char_p),
        ("allow_partial", c_int), ("allow_fallback", c_int), ("group_size", c_int),
        ("palette_bits", c_int), ("palette_scale", c_char_p), ("block_size", c_int),
        ("block_bits", c_int), ("sparsity", c_double), ("int8_asymmetric", c_int),
        ("int8_per_tensor", c_int), ("calib_dir", c_char_p), ("min_psnr", c_double),
        ("progress", c_void_p), ("progress_user", c_void_p), ("no_inplace_concat", c_int),
        ("freeze", POINTER(FreezeSpec)), ("n_freeze", c_int), ("min_cosine", c_double),
        ("min_topk", c_double), ("min_argmax", c_double), ("min_iou", c_double),
        ("tasks", POINTER(TaskSpec)), ("n_tasks", c_int), ("data_free", c_int),
        ("max_size", c_double), ("keep_fp32", c_char_p), ("paired_fp16", c_char_p),
        ("cfg_calib_dir", c_char_p), ("min_cfg_psnr", c_double), ("cfg_scale", c_double)]


class ConvertReport(Structure):
    _fields_ = [
        ("opset", c_int), ("nodes_imported", c_int), ("nodes_lowered", c_int), ("folded", c_int),
        ("removed", c_int), ("bn_folded", c_int), ("act_fused", c_int),
        ("weight_bytes_fp32", c_uint64), ("weight_bytes", c_uint64), ("arena_bytes", c_uint64),
        ("naive_arena_bytes", c_uint64), ("file_bytes", c_uint64), ("weights_files", c_int),
        ("weights_bound", c_int), ("weights_converted", c_int), ("weights_unmatched", c_int),
        ("weights_uncovered", c_int), ("weights_note", c_char * 512), ("target_nodes", c_int),
        ("target_cpu_nodes", c_int), ("weights_compressed", c_int), ("model_psnr_db", c_double),
        ("promotions", c_int), ("compress_warning", c_char * 320), ("concat_inplace", c_int),
        ("residual_fused", c_int), ("decided_by", c_char * 48), ("gates_met", c_int),
        ("model_cosine", c_double), ("model_top1", c_double), ("model_topk", c_double),
        ("model_argmax", c_double), ("model_iou", c_double), ("fp32_nodes", c_int),
        ("paired_nodes", c_int), ("cfg_psnr_fp16", c_double), ("cfg_psnr_placed", c_double),
        ("cpu_time_share", c_double), ("paired_time_extra", c_double),
        ("cost_family", c_char * 16)]


# ---- include/aneforge/targets.h -----------------------------------------------------------------
class Figure_(Structure):
    _fields_ = [("value", c_double), ("source", c_char_p), ("assumed", c_int)]


class WencInfo(Structure):
    _fields_ = [("name", c_char_p), ("bits_per_weight", c_double), ("bundle_encoding", c_int)]


FAMILY_FIGURES = ("peak_fp16_tops", "gemm_half", "vector_tops", "special_gops", "tap_gops",
                  "dram_gbps", "weight_gbps", "op_floor_us", "act_bytes", "decompressed_bits")
FAMILY_CAPS = ("max_dim", "max_rank", "pool_kernel_max", "pool_stride_max", "upsample_max",
               "dilation_max")


class TargetFamily(Structure):
    _fields_ = ([("name", c_char_p), ("alias", c_char_p), ("chip", c_char_p)]
                + [(f, Figure_) for f in FAMILY_FIGURES]
                + [("native_streams", c_uint32), ("native_streams_source", c_char_p)]
                + [(f, Figure_) for f in FAMILY_CAPS]
                + [("missing_ops", c_char_p), ("missing_ops_source", c_char_p)])


class TargetDevice(Structure):
    _fields_ = [("name", c_char_p), ("chip", c_char_p), ("generation", c_char_p),
                ("family", c_char_p), ("family_source", c_char_p), ("extrapolated", c_int),
                ("year", c_int), ("public_tops", Figure_), ("peak_fp16_tops", Figure_),
                ("dram_gbps", Figure_), ("ane_cores", Figure_), ("aliases", c_char_p),
                ("note", c_char_p)]


class Target(Structure):
    _fields_ = [("name", c_char_p), ("family", POINTER(TargetFamily)),
                ("device", POINTER(TargetDevice)), ("figures", TargetFamily)]


AF_TARGET_N_FIGURES = 12


class TargetFigureRow(Structure):
    _fields_ = [("key", c_char_p), ("unit", c_char_p), ("fig", Figure_), ("row", c_char_p)]


class TargetProvenanceInfo(Structure):
    _fields_ = [("name", c_char_p), ("chip", c_char_p), ("generation", c_char_p),
                ("family", c_char_p), ("extrapolated", c_int), ("family_source", c_char_p),
                ("note", c_char_p), ("n_sourced", c_int), ("n_assumed", c_int), ("n", c_int),
                ("figures", TargetFigureRow * AF_TARGET_N_FIGURES)]


class DetectResult(Structure):
    _fields_ = [("has_ane", c_int), ("device", c_char * 32), ("chip", c_char * 64),
                ("generation", c_char * 16), ("family", c_char * 16), ("extrapolated", c_int),
                ("why", c_char * 256)]


class TargetViolation(Structure):
    _fields_ = [("node", c_char * 128), ("op", c_char * 32), ("cap", c_char * 32),
                ("detail", c_char * 192)]


class TargetCheckResult(Structure):
    _fields_ = [("v", POINTER(TargetViolation)), ("n", c_int), ("cap", c_int),
                ("n_nodes", c_int), ("n_cpu_nodes", c_int)]


class Fp16Flag(Structure):
    _fields_ = [("tensor", c_char * 128), ("node", c_char * 128), ("op", c_char * 32),
                ("kind", c_int), ("min", c_double), ("max", c_double), ("fraction", c_double),
                ("why", c_char * 192)]


class Fp16Report(Structure):
    _fields_ = [("flags", POINTER(Fp16Flag)), ("n", c_int), ("cap", c_int), ("n_tensors", c_int)]


class OpCost(Structure):
    _fields_ = [("node", c_char * 128), ("op", c_char * 32), ("macs", c_double),
                ("ops", c_double), ("special", c_double), ("taps", c_double),
                ("act_bytes", c_double), ("weight_bytes", c_double), ("time_us", c_double),
                ("memory_bound", c_int)]


class CostReport(Structure):
    _fields_ = [("ops", POINTER(OpCost)), ("n", c_int), ("cap", c_int), ("macs", c_double),
                ("act_bytes", c_double), ("weight_bytes", c_double), ("time_us", c_double),
                ("floor_us", c_double)]


class EstimateOptions(Structure):
    _fields_ = [("shapes", POINTER(ShapeSpec)), ("n_shapes", c_int), ("assume_weights", c_int)]


# ---- include/aneforge/validate.h ----------------------------------------------------------------
class ValidateOptions(Structure):
    _fields_ = [("model_path", c_char_p), ("bundle_path", c_char_p), ("inputs_dir", c_char_p),
                ("seed", c_uint64), ("fp16", c_int), ("per_layer", c_int), ("n_threads", c_int),
                ("min_psnr", c_double), ("shapes", POINTER(ShapeSpec)), ("n_shapes", c_int),
                ("image_inputs", POINTER(ImageInputSpec)), ("n_image_inputs", c_int),
                ("freeze", POINTER(FreezeSpec)), ("n_freeze", c_int), ("cond_dir", c_char_p),
                ("uncond_dir", c_char_p), ("cfg_scale", c_double), ("int8_compute", c_int)]


# Every mirrored struct, by its C name (python/tests/test_abi.py checks sizes and offsets).
STRUCTS = {
    "af_tensor_info": TensorInfo, "af_session_options": SessionOptions,
    "af_bundle_options": BundleOptions, "af_node_event": NodeEvent, "af_shape_spec": ShapeSpec,
    "af_task_spec": TaskSpec, "af_freeze_spec": FreezeSpec,
    "af_image_input_spec": ImageInputSpec, "af_convert_options": ConvertOptions,
    "af_convert_report": ConvertReport, "af_figure": Figure_, "af_wenc_info": WencInfo,
    "af_target_family": TargetFamily, "af_target_device": TargetDevice, "af_target": Target,
    "af_target_figure_row": TargetFigureRow,
    "af_target_provenance_info": TargetProvenanceInfo, "af_detect_result": DetectResult,
    "af_target_violation": TargetViolation,
    "af_target_check_result": TargetCheckResult, "af_fp16_flag": Fp16Flag,
    "af_fp16_report": Fp16Report, "af_op_cost": OpCost, "af_cost_report": CostReport,
    "af_estimate_options": EstimateOptions, "af_validate_options": ValidateOptions,
}

_MSG = c_char_p  # char *msg (a ctypes string buffer is passed)
_PROTOTYPES = {
    # runtime.h
    "af_status_str": (c_char_p, [c_int]),
    "af_bundle_open_ex": (c_int, [c_char_p, POINTER(BundleOptions), POINTER(c_void_p), _MSG, c_size_t]),
    "af_bundle_close": (None, [c_void_p]),
    "af_bundle_input_count": (c_int, [c_void_p]),
    "af_bundle_output_count": (c_int, [c_void_p]),
    "af_bundle_input_info": (c_int, [c_void_p, c_int, POINTER(TensorInfo)]),
    "af_bundle_output_info": (c_int, [c_void_p, c_int, POINTER(TensorInfo)]),
    "af_bundle_metadata": (c_void_p, [c_void_p, POINTER(c_size_t)]),
    "af_session_create": (c_int, [c_void_p, POINTER(SessionOptions), POINTER(c_void_p), _MSG, c_size_t]),
    "af_session_free": (None, [c_void_p]),
    "af_session_set_input": (c_int, [c_void_p, c_int, c_void_p, c_size_t]),
    "af_session_run": (c_int, [c_void_p]),
    "af_session_get_output": (c_int, [c_void_p, c_int, POINTER(c_void_p), POINTER(TensorInfo)]),
    "af_session_set_observer": (c_int, [c_void_p, c_void_p, c_void_p]),
    "af_session_arena_bytes": (c_size_t, [c_void_p]),
    "af_session_weight_bytes": (c_size_t, [c_void_p]),
    "af_bundle_weight_form": (c_char_p, [c_void_p, c_char_p, POINTER(c_char_p)]),
    "af_session_error": (c_char_p, [c_void_p]),
    # converter.h
    "af_convert": (c_int, [POINTER(ConvertOptions), POINTER(ConvertReport), _MSG, c_size_t]),
    "af_image_input_parse": (c_int, [c_char_p, POINTER(ImageInputSpec), _MSG, c_size_t]),
    "af_task_spec_parse": (c_int, [c_char_p, c_int, POINTER(TaskSpec), _MSG, c_size_t]),
    # targets.h
    "af_target_count": (c_int, []),
    "af_target_at": (POINTER(TargetFamily), [c_int]),
    "af_target_device_count": (c_int, []),
    "af_target_device_at": (POINTER(TargetDevice), [c_int]),
    "af_target_resolve": (c_int, [c_char_p, POINTER(Target), _MSG, c_size_t]),
    "af_target_peak": (c_int, [c_char_p, POINTER(Figure_), POINTER(Figure_), _MSG, c_size_t]),
    "af_target_provenance": (c_int, [c_char_p, POINTER(TargetProvenanceInfo), _MSG, c_size_t]),
    "af_detect_family": (c_int, [c_char_p, c_char_p, POINTER(DetectResult)]),
    "af_detect_host": (c_int, [POINTER(DetectResult), _MSG, c_size_t]),
    "af_target_known_names": (c_char_p, [c_char_p, c_size_t]),
    "af_target_host_probe": (c_int, [POINTER(TargetFamily), _MSG, c_size_t]),
    "af_target_check_file": (c_int, [c_char_p, POINTER(ShapeSpec), c_int, POINTER(TargetFamily),
                                     POINTER(TargetCheckResult), _MSG, c_size_t]),
    "af_target_check_free": (None, [POINTER(TargetCheckResult)]),
    "af_fp16_predict_file": (c_int, [c_char_p, POINTER(ShapeSpec), c_int, c_char_p,
                                     POINTER(Fp16Report), _MSG, c_size_t]),
    "af_fp16_report_free": (None, [POINTER(Fp16Report)]),
    "af_fp16_kind_name": (c_char_p, [c_int]),
    "af_wenc_from_name": (c_int, [c_char_p]),
    "af_estimate_file": (c_int, [c_char_p, POINTER(TargetFamily), POINTER(EstimateOptions),
                                 POINTER(CostReport), _MSG, c_size_t]),
    "af_cost_report_free": (None, [POINTER(CostReport)]),
    # validate.h
    "af_validate": (c_int, [POINTER(ValidateOptions), POINTER(c_void_p), _MSG, c_size_t]),
    "af_validation_json": (c_char_p, [c_void_p]),
    "af_validation_passed": (c_int, [c_void_p]),
    "af_validation_write_svg": (c_int, [c_void_p, c_char_p, _MSG, c_size_t]),
    "af_validation_free": (None, [c_void_p]),
}

_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("ANEFORGE_LIBRARY")
    if env:  # explicit: nothing else is tried
        return [os.path.join(env, n) for n in _NAMES] if os.path.isdir(env) else [env]
    dirs = [_HERE]
    try:
        from . import _install  # written by `cmake --install`
        dirs.append(os.path.normpath(os.path.join(_HERE, _install.LIBDIR)))
    except ImportError:
        pass
    build = os.environ.get("ANEFORGE_BUILD_DIR")
    if build:
        dirs.append(build)
    dirs.append(os.path.normpath(os.path.join(_HERE, "..", "..", "build")))
    found = [os.path.join(d, n) for d in dirs for n in _NAMES if os.path.exists(os.path.join(d, n))]
    return found + list(_NAMES)  # the linker's search path last


def _load():
    errors = []
    for path in _candidates():
        # libaneforge needs libaneforge_rt: load the one beside it first, so that a prefix
        # outside the linker's search path works without LD_LIBRARY_PATH.
        folder = os.path.dirname(path)
        for rt in _RT_NAMES:
            if folder and os.path.exists(os.path.join(folder, rt)):
                try:
                    ctypes.CDLL(os.path.join(folder, rt), mode=ctypes.RTLD_GLOBAL)
                except OSError:
                    pass
                break
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append(str(e))
    raise ImportError("aneforge: cannot load libaneforge (set ANEFORGE_LIBRARY to its path): "
                      + "; ".join(errors[-2:]))


lib, path = _load()
for _name, (_res, _args) in _PROTOTYPES.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
wenc_table = (WencInfo * AF_WENC_COUNT).in_dll(lib, "af_wenc_table")
# const char *const globals of targets.h (every family: never on the ANE, non-float activations)
never_ops = c_char_p.in_dll(lib, "af_target_never_ops").value
never_ops_source = c_char_p.in_dll(lib, "af_target_never_ops_source").value
dtype_source = c_char_p.in_dll(lib, "af_target_dtype_source").value


def msg_buffer():
    return ctypes.create_string_buffer(1024)


def text(b):
    """bytes (or None) from C → str."""
    return None if b is None else b.decode("utf-8", "replace")

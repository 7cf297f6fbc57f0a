"""Bundles and sessions over libaneforge_rt (include/aneforge/runtime.h)."""
import ctypes
import json
import os
import threading

import numpy as np

from . import _lib
from ._util import check, fspath
from .errors import BadInputError, UsageError
from .targets import target

# af_dtype (include/aneforge/types.h) → numpy; BF16 has no numpy type (its bits as uint16).
_DTYPES = {0: np.float32, 1: np.float16, 2: np.uint16, 3: np.int8, 4: np.uint8, 5: np.int32,
           6: np.int64, 7: np.bool_, 8: np.int16, 9: np.uint16, 10: np.uint32, 11: np.uint64}
_DTYPE_NAMES = {0: "f32", 1: "f16", 2: "bf16", 3: "i8", 4: "u8", 5: "i32", 6: "i64", 7: "bool",
                8: "i16", 9: "u16", 10: "u32", 11: "u64"}


class TensorSpec:
    """A bundle input or output: name, numpy dtype, shape (and the bundle's dtype name)."""

    def __init__(self, info):
        self.name = _lib.text(info.name)
        self.dtype = np.dtype(_DTYPES[info.dtype])
        self.dtype_name = _DTYPE_NAMES[info.dtype]
        self.shape = tuple(int(info.dims[k]) for k in range(info.rank))
        self.nbytes = int(info.nbytes)

    def __repr__(self):
        return f"TensorSpec({self.name!r}, {self.dtype_name}{list(self.shape)})"


class Bundle:
    """An opened .afb bundle (memory-mapped and verified). Several sessions, on several threads,
    may share it. ``stream_weights=True`` keeps encoded weights in the mmap and decodes each
    layer's per run; ``expand_weights=True`` widens every compressed weight to f32 (by default
    int8, 4-bit palette and blockwise conv, MatMul and Gemm weights run compressed)."""

    def __init__(self, path, stream_weights=False, expand_weights=False):
        self.path = os.fsdecode(fspath(path, "Bundle"))
        self._h = ctypes.c_void_p()
        self._sessions = 0
        self._lock = threading.Lock()
        opt = _lib.BundleOptions(stream_weights=1 if stream_weights else 0,
                                 expand_weights=1 if expand_weights else 0)
        msg = _lib.msg_buffer()
        check(_lib.lib.af_bundle_open_ex(os.fsencode(self.path), ctypes.byref(opt),
                                         ctypes.byref(self._h), msg, len(msg)), msg)
        self.inputs = [self._info(_lib.lib.af_bundle_input_info, i)
                       for i in range(_lib.lib.af_bundle_input_count(self._h))]
        self.outputs = [self._info(_lib.lib.af_bundle_output_info, i)
                        for i in range(_lib.lib.af_bundle_output_count(self._h))]
        n = ctypes.c_size_t()
        p = _lib.lib.af_bundle_metadata(self._h, ctypes.byref(n))
        raw = ctypes.string_at(p, n.value).decode("utf-8", "replace") if p and n.value else ""
        self.metadata = json.loads(raw) if raw.strip() else {}
        self.conversion = None  # what convert() reported, for bundles it wrote

    @property
    def target(self):
        """The target the bundle was converted for (``convert --target``), resolved as
        ``af.target`` resolves it: the family row with the chip's own figures (``.device``,
        ``.target``), or None when none is recorded. Reads "target_device" (the chip), else
        "target" (the family, or the name as typed in bundles written before target_device);
        a name this build does not know raises TargetError."""
        name = self.metadata.get("target_device") or self.metadata.get("target")
        return target(name) if isinstance(name, str) and name else None

    def weight_form(self, tensor):
        """How constant ``tensor`` runs on this CPU: (form, why) — form "compressed", "halves",
        "expanded", "streamed" or "raw"; None for a name that is not a constant."""
        why = ctypes.c_char_p()
        form = _lib.lib.af_bundle_weight_form(self._h, tensor.encode(), ctypes.byref(why))
        if form is None:
            return None
        return form.decode(), (why.value or b"").decode()

    def _info(self, fn, i):
        info = _lib.TensorInfo()
        fn(self._h, i, ctypes.byref(info))
        return TensorSpec(info)

    def _handle(self):
        if not self._h:
            raise UsageError(f"{self.path}: the bundle is closed")
        return self._h

    def session(self, threads=1, fp16=False, int8_compute=False):
        """A session: one activation arena, weights packed once. ``threads`` kernel threads
        (outputs are bit-identical for any count); ``fp16`` emulates the ANE's fp16 dataplane;
        ``int8_compute`` multiplies int8 weights in int8 (see Session)."""
        return Session(self, threads, fp16, int8_compute)

    def close(self):
        """Unmaps the bundle; it must have no open session."""
        with self._lock:
            if self._sessions:
                raise UsageError(f"{self.path}: {self._sessions} session(s) still open")
            if self._h:
                _lib.lib.af_bundle_close(self._h)
                self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None) and not self._sessions:
            _lib.lib.af_bundle_close(self._h)

    def __repr__(self):
        return f"Bundle({self.path!r}, inputs={self.inputs}, outputs={self.outputs})"


class Session:
    """Runs a bundle. One session is used by one thread at a time (a lock makes concurrent calls
    wait); give each thread its own session over the same Bundle to run in parallel: the GIL is
    released while the C runtime works. ``int8_compute=True``: convolutions whose weight is
    stored int8 multiply in int8 on CPUs with AVX512-VNNI (faster, not exact; `aneforge bench
    --int8-compute` reports the accuracy cost, docs/compression.md "int8 compute")."""

    def __init__(self, bundle, threads=1, fp16=False, int8_compute=False):
        if not isinstance(bundle, Bundle):
            raise UsageError("Session: want a Bundle")
        if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= 256:
            raise UsageError(f"bad threads {threads!r} (want 1..256)")
        self.bundle = bundle
        self.threads = threads
        self.fp16 = bool(fp16)
        self._lock = threading.Lock()
        self._h = ctypes.c_void_p()
        opt = _lib.SessionOptions(n_threads=threads, fp16=1 if fp16 else 0,
                                  int8_compute=1 if int8_compute else 0)
        msg = _lib.msg_buffer()
        with bundle._lock:
            st = _lib.lib.af_session_create(bundle._handle(), ctypes.byref(opt),
                                            ctypes.byref(self._h), msg, len(msg))
            check(st, f"{bundle.path}: {_lib.text(msg.value)}")  # as `aneforge run` words it
            bundle._sessions += 1
        self._observer = None

    def _checked_input(self, spec, value):
        arr = np.asarray(value)
        if arr.dtype != spec.dtype or arr.shape != spec.shape:
            raise BadInputError(f"input '{spec.name}' must be {spec.dtype_name}{list(spec.shape)} "
                                f"({spec.dtype}), got {arr.dtype}{list(arr.shape)}")
        return np.ascontiguousarray(arr)

    def _set_inputs(self, feeds):
        if not isinstance(feeds, dict):
            raise UsageError("run: want a dict {input name: ndarray}")
        names = [s.name for s in self.bundle.inputs]
        unknown = [k for k in feeds if k not in names]
        if unknown:
            raise UsageError(f"run: unknown input '{unknown[0]}' (inputs: {', '.join(names)})")
        missing = [n for n in names if n not in feeds]
        if missing:
            raise UsageError(f"run: missing input '{missing[0]}' (inputs: {', '.join(names)})")
        for i, spec in enumerate(self.bundle.inputs):
            arr = self._checked_input(spec, feeds[spec.name])
            self._status(_lib.lib.af_session_set_input(self._h, i, arr.ctypes.data, arr.nbytes))

    def _status(self, st):
        if st != 0:
            check(st, f"{self.bundle.path}: {_lib.text(_lib.lib.af_session_error(self._h))}")

    def _output(self, i, copy):
        data = ctypes.c_void_p()
        info = _lib.TensorInfo()
        self._status(_lib.lib.af_session_get_output(self._h, i, ctypes.byref(data),
                                                    ctypes.byref(info)))
        spec = TensorSpec(info)
        n = info.nbytes // spec.dtype.itemsize
        if n == 0:
            return np.empty(spec.shape, spec.dtype)
        buf = (ctypes.c_char * info.nbytes).from_address(data.value)
        view = np.frombuffer(buf, dtype=spec.dtype, count=n).reshape(spec.shape)
        if copy:
            return view.copy()
        view.flags.writeable = False
        return view

    def run(self, feeds, copy=True):
        """feeds: {input name: ndarray of the input's dtype and shape} → {output name: ndarray}.
        ``copy=False`` returns read-only views into the session's arena, valid until the next
        run or close."""
        with self._lock:
            if not self._h:
                raise UsageError("run: the session is closed")
            self._set_inputs(feeds)
            self._status(_lib.lib.af_session_run(self._h))  # GIL released (ctypes.CDLL)
            return {s.name: self._output(i, copy) for i, s in enumerate(self.bundle.outputs)}

    @property
    def arena_bytes(self):
        return int(_lib.lib.af_session_arena_bytes(self._h)) if self._h else 0

    @property
    def weight_bytes(self):
        """Bytes of weights the session keeps resident (af_session_weight_bytes)."""
        return int(_lib.lib.af_session_weight_bytes(self._h)) if self._h else 0

    def _set_observer(self, fn_ptr, user):
        """Test hook: a C observer (function pointer, user pointer) called after every node."""
        self._status(_lib.lib.af_session_set_observer(self._h, fn_ptr, user))

    def close(self):
        with self._lock:
            if self._h:
                _lib.lib.af_session_free(self._h)
                self._h = ctypes.c_void_p()
                with self.bundle._lock:
                    self.bundle._sessions -= 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

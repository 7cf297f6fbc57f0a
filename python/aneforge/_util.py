"""Small helpers shared by the modules: status checks, paths, .npy folders for the C side."""
import os
import re
import shutil
import tempfile

import numpy as np

from . import _lib
from .errors import UsageError, from_status


def check(status, msg):
    """Raises the exception for a non-zero af_status with the C message."""
    if status != 0:
        m = msg.value.decode("utf-8", "replace") if hasattr(msg, "value") else str(msg)  # buffer or str
        raise from_status(status, m or _lib.text(_lib.lib.af_status_str(status)))


def fspath(p, what):
    if isinstance(p, (str, bytes, os.PathLike)):
        return os.fsencode(p)
    path = getattr(p, "path", None)  # a Bundle
    if path is not None:
        return os.fsencode(path)
    raise UsageError(f"{what}: want a path, got {type(p).__name__}")


def npy_file_name(name):
    """The CLI's file naming rule (docs/cli.md): bytes outside [A-Za-z0-9_.-] become '_'."""
    return re.sub(rb"[^A-Za-z0-9_.-]", b"_", name.encode()).decode() + ".npy"


class NpyFolder:
    """A folder of <name>.npy files for the C side: a path is used as it is, a dict of arrays is
    written to a temporary folder removed on close()."""

    def __init__(self, value, what):
        self._tmp = None
        if value is None:
            self.path = None
        elif isinstance(value, dict):
            self._tmp = tempfile.mkdtemp(prefix="aneforge-")
            for name, arr in value.items():
                np.save(os.path.join(self._tmp, npy_file_name(str(name))), np.asarray(arr))
            self.path = os.fsencode(self._tmp)
        else:
            self.path = fspath(value, what)

    def close(self):
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def shape_specs(input_shapes):
    """{name: dims} → (ShapeSpec array or None, count, keep-alive list)."""
    if not input_shapes:
        return None, 0, []
    if not isinstance(input_shapes, dict):
        raise UsageError("input_shapes: want a dict {input name: shape}")
    arr = (_lib.ShapeSpec * len(input_shapes))()
    keep = []
    for k, (name, dims) in enumerate(input_shapes.items()):
        dims = tuple(int(d) for d in dims)
        if not 0 <= len(dims) <= _lib.AF_MAX_RANK or any(d <= 0 for d in dims):
            raise UsageError(f"bad input shape {name}={','.join(map(str, dims))}")
        b = name.encode()
        keep.append(b)
        arr[k].name = b
        arr[k].rank = len(dims)
        for i, d in enumerate(dims):
            arr[k].dims[i] = d
    return arr, len(input_shapes), keep

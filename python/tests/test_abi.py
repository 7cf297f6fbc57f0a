"""The ctypes mirrors of python/aneforge/_lib.py against the C headers: every struct's size and
every field's offset as the C compiler lays them out (python/tests/hooks.c)."""
import ctypes
import os

import pytest

from aneforge import _lib


def c_layout():
    path = os.environ.get("AF_PYHOOKS")
    if not path or not os.path.exists(path):
        pytest.skip("AF_PYHOOKS (the build's libaf_pyhooks.so) not set")
    hooks = ctypes.CDLL(path)
    hooks.af_pyhooks_layout.restype = ctypes.c_char_p
    return dict(line.rsplit(" ", 1) for line in hooks.af_pyhooks_layout().decode().splitlines())


def test_struct_layouts_match_the_headers():
    layout = c_layout()
    bad = []
    for cname, cls in _lib.STRUCTS.items():
        if int(layout[cname]) != ctypes.sizeof(cls):
            bad.append(f"sizeof({cname}) C {layout[cname]} != ctypes {ctypes.sizeof(cls)}")
        for f in cls._fields_:
            c_off, py_off = int(layout[f"{cname}.{f[0]}"]), getattr(cls, f[0]).offset
            if c_off != py_off:
                bad.append(f"{cname}.{f[0]}: C offset {c_off} != ctypes {py_off}")
    assert not bad, "\n".join(bad)
    assert len(layout) == sum(1 + len(c._fields_) for c in _lib.STRUCTS.values())


def test_the_library_is_a_cdll_so_calls_release_the_gil():
    # ctypes.PyDLL keeps the GIL during calls; CDLL releases it (test_threads.py shows it).
    assert type(_lib.lib) is ctypes.CDLL

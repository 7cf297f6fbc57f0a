#!/usr/bin/python3
"""Makes the .npy fixtures for tests/unit/test_npy.c (run: /usr/bin/python3 make_npy.py [OUTDIR]).

valid_*.npy    written by numpy itself (np.save / np.lib.format.write_array), so the C reader is
               checked against the reference writer; test_npy.c holds the expected values.
hand_*.npy     valid files with headers numpy would not write but a Python dict literal allows.
bad_*.npy      malformed or unsupported files; the expected af_status is in test_npy.c.
Deterministic: no random data, so re-running gives byte-identical files (numpy 1.24.2).
"""
import io
import os
import struct
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def save(name, arr):
    np.save(os.path.join(OUT, name), arr, allow_pickle=False)


def save_version(name, arr, version):
    with open(os.path.join(OUT, name), "wb") as f:
        np.lib.format.write_array(f, arr, version=version, allow_pickle=False)


def raw(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def npy_bytes(arr):
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=False)
    return b.getvalue()


def v1(header, data=b"", pad=True):
    """A version 1.0 file with the given header text (padded like numpy when pad)."""
    h = header.encode("latin1")
    if pad:
        total = 10 + len(h) + 1
        h += b" " * ((64 - total % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data


def main():
    # ---- valid, written by numpy
    save("valid_f32_2x3.npy", (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3))
    save("valid_f16_4.npy", np.array([1.0, -2.0, 0.5, 65504.0], dtype=np.float16))
    save("valid_u8_2x2.npy", np.array([[0, 1], [128, 255]], dtype=np.uint8))
    save("valid_i8_5.npy", np.array([-128, -1, 0, 1, 127], dtype=np.int8))
    save("valid_i32_3.npy", np.array([-2147483648, 0, 2147483647], dtype=np.int32))
    save("valid_i64_1x2x2.npy", np.array([[[-(2**63), -1], [0, 2**63 - 1]]], dtype=np.int64))
    save("valid_bool_4.npy", np.array([True, False, False, True]))
    save("valid_f32_scalar.npy", np.float32(3.25).reshape(()))
    save("valid_f32_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    save_version("valid_v2_f32_2x3.npy", (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3), (2, 0))
    save_version("valid_v3_i64_2.npy", np.array([7, -7], dtype=np.int64), (3, 0))

    # ---- valid, hand-written headers (any key order, double quotes, no trailing comma, '<u1')
    raw("hand_keys_reordered.npy",
        v1('{"shape": ( 2 , 2 ), "fortran_order":False,"descr":"<u1"}', bytes([1, 2, 3, 4])))
    raw("hand_no_padding.npy",
        v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", struct.pack("<f", 1.5), pad=False))
    raw("hand_be_mark_i1.npy", v1("{'descr': '>i1', 'fortran_order': False, 'shape': (2,)}", bytes([255, 1])))

    good = npy_bytes(np.arange(6, dtype=np.float32).reshape(2, 3))
    f4 = np.arange(6, dtype=np.float32).tobytes()
    # ---- malformed (AF_ERR_FORMAT)
    raw("bad_magic.npy", b"\x93NUMPX" + good[6:])
    raw("bad_truncated_header.npy", good[:9])
    raw("bad_header_len_beyond.npy", good[:8] + struct.pack("<H", 60000) + good[10:])
    raw("bad_missing_descr.npy", v1("{'fortran_order': False, 'shape': (2, 3), }", f4))
    raw("bad_missing_shape.npy", v1("{'descr': '<f4', 'fortran_order': False, }", f4))
    raw("bad_missing_fortran.npy", v1("{'descr': '<f4', 'shape': (2, 3), }", f4))
    raw("bad_extra_key.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1, }", f4))
    raw("bad_duplicate_key.npy", v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4))
    raw("bad_shape_not_tuple.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", f4))
    raw("bad_shape_list.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", f4))
    raw("bad_shape_unclosed.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, }", f4))
    raw("bad_shape_float.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3), }", f4))
    raw("bad_negative_dim.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", f4))
    raw("bad_huge_dims.npy",
        v1("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", f4))
    raw("bad_dim_over_int64.npy",
        v1("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", f4))
    raw("bad_fortran_value.npy", v1("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", f4))
    raw("bad_unterminated_string.npy", v1("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }", f4))
    raw("bad_not_a_dict.npy", v1("('descr', '<f4')", f4))
    raw("bad_trailing_garbage.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", f4))
    raw("bad_data_short.npy", good[:-1])
    raw("bad_data_long.npy", good + b"\0")
    # ---- unsupported (AF_ERR_UNSUPPORTED): valid numpy files we do not read
    save("bad_fortran_order.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    save("bad_big_endian_f4.npy", np.arange(3, dtype=">f4"))
    save("bad_f8.npy", np.arange(3, dtype=np.float64))
    save("bad_structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
    save("bad_rank9.npy", np.zeros((1,) * 9, dtype=np.float32))
    raw("bad_version_4.npy", b"\x93NUMPY\x04\x00" + good[8:])


if __name__ == "__main__":
    main()

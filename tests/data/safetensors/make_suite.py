#!/usr/bin/python3
"""Writes the safetensors test suite next to this script (standard library only, so the files do
not depend on any safetensors implementation):

  python3 tests/data/safetensors/make_suite.py

  valid_*.safetensors  files every reader must accept
  bad_*.safetensors    files that break one rule each; expected.txt maps each file to the
                       st_status name (importers/safetensors/safetensors.h) it must be refused
                       with. `aneforge inspect` must exit 3 and print that name in brackets.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
F32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)  # 24 bytes: an F32 (2,3) tensor


def pack(header, data=b"", pad=True):
    """header: bytes or str (the JSON text, as is) or dict (dumped). Pads with spaces to 8."""
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    if isinstance(header, str):
        header = header.encode("utf-8")
    if pad:
        header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


def t(dtype, shape, b, e):
    return {"dtype": dtype, "shape": shape, "data_offsets": [b, e]}


def good():
    h = {"__metadata__": {"format": "pt", "note": "caf\u00e9"},
         "w": t("F32", [2, 3], 0, 24), "b": t("F16", [2], 24, 28)}
    return pack(h, F32 + b"\x00\x3c\x00\x40")


def valid_files():
    allt, data, at = {}, b"", 0
    sizes = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
             "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
    for name, sz in sizes.items():
        allt["t_" + name] = t(name, [3], at, at + 3 * sz)
        data += bytes(range(3 * sz))
        at += 3 * sz
    return {
        "valid_basic": good(),
        "valid_empty": pack("{}"),
        "valid_no_padding": pack('{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x07", pad=False),
        "valid_all_dtypes": pack(allt, data),
        # zero-sized and scalar tensors; header order differs from data order; escapes in names
        "valid_unordered": pack('{"s\\u00e9\\ud83d\\ude00\\n": {"dtype":"I64","shape":[],"data_offsets":[8,16]},'
                                ' "z": {"data_offsets":[8,8],"shape":[0,5],"dtype":"F32"},'
                                ' "a": {"dtype":"I32","shape":[2],"data_offsets":[0,8]}}',
                                struct.pack("<2iq", -1, 2, 1 << 40)),
    }


def bad_files():
    gh = good()
    return {
        "bad_empty": (b"", "too_small"),
        "bad_too_small": (b"\x08\x00\x00", "too_small"),
        "bad_header_too_large": (struct.pack("<Q", 100_000_001) + b"{}", "header_too_large"),
        "bad_header_len_all_ones": (b"\xff" * 8 + b"{}", "header_too_large"),
        "bad_header_beyond_file": (struct.pack("<Q", 1000) + b'{"a":1}', "header_beyond_file"),
        "bad_truncated_header": (gh[:40], "header_beyond_file"),
        "bad_truncated_data": (gh[:-3], "data_beyond_file"),
        "bad_header_zero_len": (struct.pack("<Q", 0) + F32, "header_start"),
        "bad_header_start": (pack('["w"]'), "header_start"),
        "bad_header_leading_space": (pack(' {}'), "header_start"),
        "bad_utf8": (pack(b'{"w\xff":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"), "utf8"),
        "bad_utf8_overlong": (pack(b'{"\xc0\xaf":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"), "utf8"),
        "bad_utf8_surrogate": (pack(b'{"\xed\xa0\x80":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"), "utf8"),
        "bad_json_missing_colon": (pack('{"w" {"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"), "json"),
        "bad_json_trailing_comma": (pack('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},}', b"\x00"), "json"),
        "bad_json_after_object": (pack('{}x'), "json"),
        "bad_json_nul_padding": (pack(b'{}\x00\x00\x00\x00\x00\x00', pad=False), "json"),
        "bad_json_leading_zero": (pack('{"w":{"dtype":"U8","shape":[01],"data_offsets":[0,1]}}', b"\x00"), "json"),
        "bad_json_unclosed": (pack('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'), "json"),
        "bad_string_control": (pack('{"a\nb":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"), "json_string"),
        "bad_string_escape": (pack('{"a\\qb":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"), "json_string"),
        "bad_string_lone_surrogate": (pack('{"a\\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"), "json_string"),
        "bad_string_nul_escape": (pack('{"a\\u0000":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"), "json_string"),
        "bad_string_unterminated": (pack(b'{"abc', pad=False), "json_string"),
        "bad_duplicate_tensor": (pack('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                      '"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\x00\x01"), "duplicate_key"),
        "bad_duplicate_field": (pack('{"w":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}', b"\x00"), "duplicate_key"),
        "bad_duplicate_metadata_key": (pack('{"__metadata__":{"k":"a","k":"b"}}'), "duplicate_key"),
        "bad_duplicate_metadata": (pack('{"__metadata__":{},"__metadata__":{}}'), "duplicate_key"),
        "bad_metadata_not_object": (pack('{"__metadata__":"pt"}'), "metadata"),
        "bad_metadata_value_number": (pack('{"__metadata__":{"epoch":3}}'), "metadata"),
        "bad_metadata_null": (pack('{"__metadata__":null}'), "metadata"),
        "bad_tensor_not_object": (pack('{"w":[0,1]}'), "tensor_entry"),
        "bad_missing_dtype": (pack('{"w":{"shape":[1],"data_offsets":[0,1]}}', b"\x00"), "missing_field"),
        "bad_missing_offsets": (pack('{"w":{"dtype":"U8","shape":[1]}}', b"\x00"), "missing_field"),
        "bad_unknown_field": (pack('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"stride":[1]}}', b"\x00"), "unknown_field"),
        "bad_dtype_unknown": (pack({"w": t("F128", [1], 0, 16)}, bytes(16)), "dtype"),
        "bad_dtype_lowercase": (pack({"w": t("f32", [1], 0, 4)}, bytes(4)), "dtype"),
        "bad_dtype_not_string": (pack('{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}', bytes(4)), "dtype"),
        "bad_shape_negative": (pack('{"w":{"dtype":"U8","shape":[-1,2],"data_offsets":[0,2]}}', b"\x00\x00"), "shape"),
        "bad_shape_float": (pack('{"w":{"dtype":"U8","shape":[2.0],"data_offsets":[0,2]}}', b"\x00\x00"), "shape"),
        "bad_shape_not_array": (pack('{"w":{"dtype":"U8","shape":"2","data_offsets":[0,2]}}', b"\x00\x00"), "shape"),
        "bad_shape_string_dim": (pack('{"w":{"dtype":"U8","shape":["2"],"data_offsets":[0,2]}}', b"\x00\x00"), "shape"),
        "bad_rank_17": (pack({"w": t("U8", [1] * 17, 0, 1)}, b"\x00"), "rank"),
        "bad_offsets_reversed": (pack({"w": t("U8", [1], 1, 0)}, b"\x00"), "offsets"),
        "bad_offsets_three": (pack('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,1]}}', b"\x00"), "offsets"),
        "bad_offsets_one": (pack('{"w":{"dtype":"U8","shape":[1],"data_offsets":[1]}}', b"\x00"), "offsets"),
        "bad_offsets_negative": (pack('{"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}', b"\x00"), "offsets"),
        "bad_int_range_dim": (pack('{"w":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,1]}}', b"\x00"), "int_range"),
        "bad_int_range_offset": (pack('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551616]}}', b"\x00"), "int_range"),
        "bad_numel_overflow": (pack({"w": t("U8", [4294967296, 4294967296], 0, 1)}, b"\x00"), "numel_overflow"),
        "bad_numel_bytes_overflow": (pack({"w": t("F64", [1 << 61], 0, 8)}, bytes(8)), "numel_overflow"),
        "bad_size_mismatch": (pack({"w": t("F32", [2, 3], 0, 20)}, F32[:20]), "size_mismatch"),
        "bad_size_mismatch_dtype": (pack({"w": t("F16", [2, 3], 0, 24)}, F32), "size_mismatch"),
        "bad_data_beyond_file": (pack({"w": t("F32", [2, 3], 0, 24)}, F32[:16]), "data_beyond_file"),
        "bad_data_huge_offsets": (pack({"w": t("U8", [1], 1 << 62, (1 << 62) + 1)}, b"\x00"), "data_beyond_file"),
        "bad_offset_hole_start": (pack({"w": t("F32", [2, 3], 4, 28)}, bytes(4) + F32), "offset_hole"),
        "bad_offset_hole_middle": (pack({"a": t("U8", [2], 0, 2), "b": t("U8", [2], 3, 5)}, bytes(5)), "offset_hole"),
        "bad_offset_overlap": (pack({"a": t("U8", [4], 0, 4), "b": t("U8", [4], 2, 6)}, bytes(6)), "offset_overlap"),
        "bad_offset_same": (pack({"a": t("U8", [4], 0, 4), "b": t("U8", [4], 0, 4)}, bytes(4)), "offset_overlap"),
        "bad_trailing_bytes": (good() + b"\x00", "trailing_bytes"),
        "bad_trailing_bytes_no_tensors": (pack("{}", b"junk"), "trailing_bytes"),
        "bad_empty_name": (pack({"": t("U8", [1], 0, 1)}, b"\x00"), "empty_name"),
    }


def main():
    for f in os.listdir(HERE):
        if f.endswith(".safetensors"):
            os.remove(os.path.join(HERE, f))
    for name, blob in valid_files().items():
        with open(os.path.join(HERE, name + ".safetensors"), "wb") as fh:
            fh.write(blob)
    lines = []
    for name, (blob, status) in sorted(bad_files().items()):
        with open(os.path.join(HERE, name + ".safetensors"), "wb") as fh:
            fh.write(blob)
        lines.append(f"{name}.safetensors {status}\n")
    with open(os.path.join(HERE, "expected.txt"), "w") as fh:
        fh.write("# file  st_status name it must be refused with (written by make_suite.py)\n")
        fh.writelines(lines)


if __name__ == "__main__":
    main()

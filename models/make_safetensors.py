#!/usr/bin/python3
"""An independent safetensors writer (numpy only), written from the format description, so the
converter's reader is tested against files it did not write:

  /usr/bin/python3 models/make_safetensors.py WEIGHTS.npz OUT.safetensors
        [--dtype keep|f32|f16|bf16|f64] [--prefix P] [--drop NAME]... [--shards K]
        [--metadata KEY=VALUE]... [--rename OLD=NEW]...

Every array of WEIGHTS.npz becomes a tensor named P + its npz key (in key order), cast to
--dtype (bf16: round to nearest even from float32); --rename gives npz key OLD the name NEW
instead (as an exporter's renaming would). --drop leaves a tensor out. --shards K > 1
writes OUT-0000i-of-0000K.safetensors (tensors dealt round-robin) and OUT.index.json
({"metadata": {"total_size": N}, "weight_map": {name: shard file}}) instead of OUT.

Layout: u64 little-endian header length N, N bytes of JSON (padded with spaces to a multiple
of 8), then the tensors' little-endian bytes back to back in header order.
"""
import argparse
import json
import os
import struct

import numpy as np

DTYPES = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("float64"): "F64",
          np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("int8"): "I8",
          np.dtype("uint8"): "U8", np.dtype("bool"): "BOOL"}


def to_bf16_bytes(a):
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
    return r.tobytes()


def encode(a, dtype):
    """(safetensors dtype name, little-endian bytes) of array a cast to dtype."""
    if dtype == "keep" or a.dtype.kind not in "f":
        return DTYPES[a.dtype], np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
    if dtype == "bf16":
        return "BF16", to_bf16_bytes(a.astype(np.float32))
    np_t = {"f32": "<f4", "f16": "<f2", "f64": "<f8"}[dtype]
    b = np.ascontiguousarray(a.astype(np_t))
    return DTYPES[b.dtype.newbyteorder("=")], b.tobytes()


def write(path, items, metadata):
    header, blobs, at = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dt, shape, blob) in items:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [at, at + len(blob)]}
        blobs.append(blob)
        at += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("npz")
    ap.add_argument("out")
    ap.add_argument("--dtype", default="keep", choices=["keep", "f32", "f16", "bf16", "f64"])
    ap.add_argument("--prefix", default="")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--metadata", action="append", default=[])
    ap.add_argument("--rename", action="append", default=[])
    a = ap.parse_args()
    weights = np.load(a.npz)
    renames = dict(kv.split("=", 1) for kv in a.rename)
    items = []
    for key in sorted(weights.files):
        if key in a.drop:
            continue
        arr = weights[key]
        dt, blob = encode(arr, a.dtype)
        items.append((a.prefix + renames.get(key, key), (dt, arr.shape, blob)))
    meta = dict(kv.split("=", 1) for kv in a.metadata)
    if a.shards <= 1:
        write(a.out, items, meta)
        return
    stem = a.out[:-len(".safetensors")] if a.out.endswith(".safetensors") else a.out
    wmap, total = {}, 0
    for s in range(a.shards):
        name = f"{os.path.basename(stem)}-{s + 1:05d}-of-{a.shards:05d}.safetensors"
        part = items[s::a.shards]
        total += write(os.path.join(os.path.dirname(a.out), name), part, meta)
        for n, _ in part:
            wmap[n] = name
    with open(stem + ".safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wmap}, f, indent=2)


if __name__ == "__main__":
    main()

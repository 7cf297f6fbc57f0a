#!/usr/bin/python3
"""Crafted ONNX files for tests/e2e/reliability.sh: tensors that claim far more data than the
file (or its external data) can back. Each model is y = x + w with one initializer w.
Run with Debian's python3 (onnx 1.12); writes next to this script; deterministic."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
HUGE = [1 << 20, 1 << 20]  # 2^40 elements: 4 TiB as float32


def model(w, name):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")],
                          name, [x], [y], [w])
    m = helper.make_model(g, producer_name="aneforge-tests",
                          opset_imports=[helper.make_opsetid("", 13)])
    with open(os.path.join(HERE, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def raw(dims, nbytes):
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=dims)
    t.raw_data = bytes(nbytes)
    return t


def main():
    # 2^40 floats declared, 16 bytes of raw_data present
    model(raw(HUGE, 16), "huge_raw")
    # 2^40 floats declared, one float_data value present
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=HUGE)
    t.float_data.append(1.0)
    model(t, "huge_typed")
    # dims whose product overflows int64
    model(raw([1 << 40, 1 << 40], 16), "overflow_dims")
    # 2^40 floats declared in external data of 16 bytes
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=HUGE)
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "small.bin"
    model(t, "huge_ext")
    # [1, 4] floats (16 bytes) declared, external file holds 12 bytes
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 4])
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "short.bin"
    model(t, "short_ext")
    # external data through a path that tests/e2e/reliability.sh turns into a symlink
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 4])
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "link.bin"
    model(t, "link_ext")
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 4])
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "linkdir/w.bin"
    model(t, "linkdir_ext")
    with open(os.path.join(HERE, "small.bin"), "wb") as f:
        f.write(np.arange(4, dtype="<f4").tobytes())
    with open(os.path.join(HERE, "short.bin"), "wb") as f:
        f.write(np.arange(3, dtype="<f4").tobytes())


if __name__ == "__main__":
    main()

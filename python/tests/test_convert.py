"""convert/compile: bundles byte-identical to the CLI's for the same options, atomic writes,
and bad arguments raising the CLI's message and category."""
import os

import numpy as np
import pytest

import aneforge as af
from conftest import ROOT, SMALL_CNN, SMALL_INPUTS

DYNAMIC = os.path.join(ROOT, "tests", "data", "onnx", "dynamic_batch.onnx")
TRUNCATED = os.path.join(ROOT, "tests", "data", "onnx", "truncated.onnx")


def same_as_cli(tmp_path, cli, name, cli_flags, **kwargs):
    mine, theirs = tmp_path / f"{name}.py.afb", tmp_path / f"{name}.cli.afb"
    model = kwargs.pop("model", SMALL_CNN)
    b = af.convert(model, mine, **kwargs)
    cli("convert", model, "-o", theirs, "-q", *cli_flags)
    assert mine.read_bytes() == theirs.read_bytes(), name
    return b


def test_default_is_fp16_and_compile_is_convert(tmp_path, cli):
    b = same_as_cli(tmp_path, cli, "default", [])
    assert b.conversion["compress"] == "fp16"
    af.compile(SMALL_CNN, tmp_path / "fp16.afb", compress="fp16")
    assert (tmp_path / "fp16.afb").read_bytes() == (tmp_path / "default.py.afb").read_bytes()
    assert af.compile is af.convert


@pytest.mark.parametrize("mode,flags,kwargs", [
    ("fp32", [], {}),
    ("int8", [], {}),
    ("int4", ["--group-size", "8"], {"group_size": 8}),
    ("palette", ["--palette-bits", "3"], {"palette_bits": 3}),
    ("sparse", ["--sparsity", "0.5"], {"sparsity": 0.5}),
    ("blockwise", ["--block-size", "16", "--block-bits", "8"], {"block_size": 16, "block_bits": 8}),
])
def test_compress_modes_match_the_cli(tmp_path, cli, mode, flags, kwargs):
    b = same_as_cli(tmp_path, cli, mode, ["--compress", mode, *flags], compress=mode, **kwargs)
    assert b.conversion["compress"] == mode
    if mode != "fp32":
        assert b.conversion["weight_bytes"] < b.conversion["weight_bytes_fp32"]


def test_calibration_as_a_folder_or_arrays(tmp_path, cli, small_input):
    same_as_cli(tmp_path, cli, "calib", ["--compress", "int8", "--calib", SMALL_INPUTS],
                compress="int8", calib=SMALL_INPUTS)
    af.convert(SMALL_CNN, tmp_path / "arrays.afb", compress="int8", calib={"input": small_input})
    assert (tmp_path / "arrays.afb").read_bytes() == (tmp_path / "calib.cli.afb").read_bytes()


def test_target_shapes_and_image_inputs(tmp_path, cli):
    b = same_as_cli(tmp_path, cli, "h13", ["--target", "h13", "--allow-fallback"], target="h13",
                    allow_fallback=True)
    assert b.conversion["target_nodes"] > 0
    same_as_cli(tmp_path, cli, "dyn", ["--input-shape", "x=8,3,4,4"], model=DYNAMIC,
                input_shapes={"x": (8, 3, 4, 4)})
    img = af.image_input("input", scale=1 / 255, bias=[0.1, 0.2, 0.3])
    b = same_as_cli(tmp_path, cli, "img", ["--image-input", str(img)], image_inputs=[img])
    assert b.inputs[0].dtype == np.uint8
    x = np.arange(3 * 64 * 64, dtype=np.uint8).reshape(1, 3, 64, 64)
    assert b.session().run({"input": x})["output"].shape == (1, 10)


def test_freeze_with_an_array(tmp_path, cli):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto as TP
    from onnx import helper as h
    g = h.make_graph(
        [h.make_node("Add", ["s", "one"], ["s1"]), h.make_node("Reshape", ["x:0", "s1"], ["y"])],
        "g", [h.make_tensor_value_info("x:0", TP.FLOAT, [2, 6]),
              h.make_tensor_value_info("s", TP.INT64, [2])],
        [h.make_tensor_value_info("y", TP.FLOAT, None)],
        [h.make_tensor("one", TP.INT64, [2], [1, 1])])
    model = tmp_path / "m.onnx"
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), model)
    with pytest.raises(af.BadInputError, match="fix it with --freeze s=FILE.npy"):
        af.convert(model, tmp_path / "nofreeze.afb")
    s = np.array([2, 3], np.int64)
    np.save(tmp_path / "s.npy", s)
    b = same_as_cli(tmp_path, cli, "frozen", ["--freeze", f"s={tmp_path / 's.npy'}"], model=model,
                    freeze={"s": s})
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    y = b.session().run({"x:0": x})["y"]
    assert y.tobytes() == x.reshape(3, 4).tobytes()


def test_out_defaults_next_to_the_model(tmp_path):
    model = tmp_path / "net.onnx"
    model.write_bytes(open(SMALL_CNN, "rb").read())
    b = af.convert(model)
    assert b.path == str(tmp_path / "net.afb") and os.path.exists(b.path)


def test_failed_conversion_leaves_the_destination_untouched(tmp_path, cli):
    out = tmp_path / "keep.afb"
    out.write_bytes(b"previous contents")
    r = cli("convert", TRUNCATED, "-o", out, check=False)
    with pytest.raises(af.BadInputError) as e:
        af.convert(TRUNCATED, out)
    assert r.returncode == e.value.exit_code == 3
    assert r.stderr.strip() == "aneforge: error: " + e.value.message
    assert out.read_bytes() == b"previous contents"
    assert sorted(os.listdir(tmp_path)) == ["keep.afb"]  # no temporary left behind


def test_bad_arguments(tmp_path, cli):
    out = tmp_path / "x.afb"
    with pytest.raises(af.UsageError, match="unknown --compress mode 'int3'"):
        af.convert(SMALL_CNN, out, compress="int3")
    with pytest.raises(af.TargetError) as e:
        af.convert(SMALL_CNN, out, target="h99")
    assert "h13 (m1)" in e.value.message and e.value.families[0] == "h13"
    assert e.value.exit_code == 2 and isinstance(e.value, af.UsageError)
    r = cli("convert", SMALL_CNN, "-o", out, "--target", "h99", check=False)
    assert r.stderr.strip() == "aneforge: error: " + e.value.message
    with pytest.raises(af.UsageError, match="--allow-fallback needs --target"):
        af.convert(SMALL_CNN, out, allow_fallback=True)
    with pytest.raises(af.UsageError, match="min-psnr"):
        af.convert(SMALL_CNN, out, min_psnr=0)
    with pytest.raises(af.UsageError, match="unknown option 'colour'"):
        af.convert(SMALL_CNN, out, colour=1)
    with pytest.raises(af.UsageError):
        af.convert(SMALL_CNN, out, input_shapes={"input": (1, 0, 2)})
    with pytest.raises(af.BadInputError, match="no/such.onnx"):
        af.convert("no/such.onnx", out)
    with pytest.raises(af.UsageError):
        af.image_input("input", scale=[1.0] * 17)
    assert not out.exists()

"""Bundles and sessions: outputs bit-identical to the CLI's `run`, accuracy against ONNX Runtime,
and every bad input raising the right exception with the CLI's message."""
import os
import shutil
import subprocess

import numpy as np
import pytest

import aneforge as af
from conftest import MODELS, ROOT, SMALL_CNN, SMALL_INPUTS


def psnr(ref, out):
    """20*log10(max|ref| / RMSE) (the project's accuracy name)."""
    ref, out = ref.astype(np.float64), out.astype(np.float64)
    rmse = np.sqrt(np.mean((ref - out) ** 2))
    return np.inf if rmse == 0 else 20 * np.log10(np.abs(ref).max() / rmse)


def test_inputs_outputs_metadata(small_bundle):
    b = small_bundle
    assert [(s.name, s.dtype, s.shape) for s in b.inputs] == [("input", np.float32, (1, 3, 64, 64))]
    assert [(s.name, s.dtype, s.shape) for s in b.outputs] == [("output", np.float32, (1, 10))]
    assert isinstance(b.metadata, dict) and b.metadata  # the META section, parsed


@pytest.mark.parametrize("threads,fp16,stream", [(1, False, False), (2, False, False),
                                                 (1, True, False), (2, False, True)])
def test_run_matches_cli_bit_for_bit(tmp_path, small_bundle, small_input, cli, threads, fp16,
                                     stream):
    args = ["run", small_bundle.path, "--inputs", SMALL_INPUTS, "--outputs", tmp_path,
            "--threads", threads] + (["--fp16"] if fp16 else []) + (["--stream-weights"] if stream else [])
    cli(*args)
    b = af.Bundle(small_bundle.path, stream_weights=stream) if stream else small_bundle
    y = b.session(threads=threads, fp16=fp16).run({"input": small_input})["output"]
    ref = np.load(tmp_path / "output.npy")
    assert y.dtype == ref.dtype and y.shape == ref.shape
    assert y.tobytes() == ref.tobytes()


@pytest.mark.parametrize("model", ["small_cnn", "tiny_mlp"])
def test_accuracy_against_onnx_runtime_references(tmp_path, model):
    # The committed references are ONNX Runtime's outputs (models/README.md). Thresholds as
    # tests/e2e/cnn_small.sh: fp32 bundles differ from ONNX Runtime only in summation order
    # (PSNR far above 100 dB), 80 dB catches any real bug; fp16 weights round to 11 significant
    # bits (~66 dB for one layer, a few dB lost through depth), the bar is 50 dB.
    d = os.path.join(MODELS, model)
    for compress, floor in (("fp32", 80), ("fp16", 50)):
        b = af.convert(os.path.join(d, "model.onnx"), tmp_path / f"{compress}.afb", compress=compress)
        feeds = {s.name: np.load(os.path.join(d, "inputs", af._util.npy_file_name(s.name)))
                 for s in b.inputs}
        outs = b.session().run(feeds)
        for s in b.outputs:
            ref = np.load(os.path.join(d, "reference", af._util.npy_file_name(s.name)))
            assert psnr(ref, outs[s.name]) >= floor, (model, compress, s.name)


def test_accuracy_against_onnx_runtime_live(tmp_path, small_input):
    """ONNX Runtime run now (npm onnxruntime-node, tests/oracle) on an input it has not seen."""
    oracle = os.path.join(ROOT, "tests", "oracle", "run_ort.js")
    if not shutil.which("node") or not os.path.isdir(os.path.join(ROOT, "tests", "oracle",
                                                                   "node_modules", "onnxruntime-node")):
        pytest.skip("ONNX Runtime oracle not installed (scripts/install-deps.sh)")
    x = np.random.default_rng(7).standard_normal(small_input.shape).astype(np.float32)
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "input.npy", x)
    subprocess.run(["node", oracle, SMALL_CNN, tmp_path / "in", tmp_path / "ort"], check=True,
                   capture_output=True)
    ref = np.load(tmp_path / "ort" / "output.npy")
    y = af.convert(SMALL_CNN, tmp_path / "m.afb", compress="fp32").session().run({"input": x})
    assert psnr(ref, y["output"]) >= 80  # fp32: summation order only (see above)


def test_copy_false_gives_read_only_views_valid_until_the_next_run(small_bundle, small_input):
    s = small_bundle.session()
    view = s.run({"input": small_input}, copy=False)["output"]
    kept = view.copy()
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0, 0] = 1
    copied = s.run({"input": small_input})["output"]
    assert copied.tobytes() == kept.tobytes() and copied.flags.writeable


def test_bad_feeds(small_bundle, small_input):
    s = small_bundle.session()
    with pytest.raises(af.BadInputError, match=r"input 'input' must be f32\[1, 3, 64, 64\].*float64"):
        s.run({"input": small_input.astype(np.float64)})
    with pytest.raises(af.BadInputError, match=r"got float32\[1, 3, 32, 32\]"):
        s.run({"input": np.zeros((1, 3, 32, 32), np.float32)})
    with pytest.raises(af.UsageError, match="missing input 'input'"):
        s.run({})
    with pytest.raises(af.UsageError, match="unknown input 'x'"):
        s.run({"input": small_input, "x": small_input})
    with pytest.raises(af.UsageError):
        s.run([small_input])
    e = pytest.raises(af.BadInputError, s.run, {"input": small_input[..., :32]}).value
    assert e.category == "bad input" and e.exit_code == 3
    # non-contiguous arrays of the right dtype and shape are accepted (copied)
    t = np.asfortranarray(small_input)
    assert s.run({"input": t})["output"].tobytes() == s.run({"input": small_input})["output"].tobytes()


def test_bad_bundles(tmp_path, cli):
    with pytest.raises(af.BadInputError, match="no/such.afb") as e:
        af.Bundle("no/such.afb")
    assert e.value.exit_code == 3
    bad = tmp_path / "bad.afb"
    bad.write_bytes(b"AFB1" + bytes(200))
    msg = cli("run", bad, "--inputs", SMALL_INPUTS, check=False).stderr.strip()
    with pytest.raises(af.BadInputError) as e:
        af.Bundle(bad)
    assert msg == "aneforge: error: " + e.value.message  # the CLI's line, word for word
    with pytest.raises(af.UsageError):
        af.Bundle(42)


def test_sessions_and_bundle_lifetime(tmp_path):
    b = af.convert(SMALL_CNN, tmp_path / "m.afb")
    s = b.session()
    with pytest.raises(af.UsageError, match="session"):
        b.close()  # a session is open
    s.close()
    b.close()
    with pytest.raises(af.UsageError, match="closed"):
        b.session()
    with pytest.raises(af.UsageError):
        af.Bundle(tmp_path / "m.afb").session(threads=0)


def test_compressed_weights_forms_and_bytes(tmp_path, small_input, cli):
    # int8 conv weights run compressed by default: the same output bytes as expand_weights
    # (both take the same conv paths on small_cnn, tests/e2e/compressed_weights.sh), fewer
    # resident weight bytes, and weight_form says which ran how
    path = tmp_path / "i8.afb"
    cli("convert", SMALL_CNN, "-o", path, "--compress", "int8", "-q")
    with af.Bundle(path) as b, af.Bundle(path, expand_weights=True) as e:
        names = [t["tensor"] for t in b.metadata["compression"]["tensors"]]
        assert ("compressed", "") in [b.weight_form(n) for n in names]
        assert e.weight_form(names[0]) == ("expanded", "expand_weights")
        assert b.weight_form("no such tensor") is None
        sb, se = b.session(), e.session()
        yb = sb.run({"input": small_input})["output"]
        ye = se.run({"input": small_input})["output"]
        assert yb.tobytes() == ye.tobytes()
        assert 0 < sb.weight_bytes < se.weight_bytes
        sb.close(), se.close()


def test_int8_compute(tmp_path, small_input, cli):
    # int8_compute: int8 x uint8 dot products where the CPU has AVX512-VNNI (else the f32 path):
    # close to f32 compute (8-bit activations: ~40 dB here, 30 dB gated as in
    # tests/e2e/int8_compute.sh), the same bytes for 1 and 2 threads
    path = tmp_path / "i8.afb"
    cli("convert", SMALL_CNN, "-o", path, "--compress", "int8", "-q")
    with af.Bundle(path) as b:
        outs = []
        for kw in ({}, {"int8_compute": True}, {"int8_compute": True, "threads": 2}):
            with b.session(**kw) as s:
                outs.append(s.run({"input": small_input})["output"])
        assert outs[1].tobytes() == outs[2].tobytes()
        err = np.sqrt(np.mean((outs[1] - outs[0]) ** 2))
        assert err == 0 or 20 * np.log10(np.abs(outs[0]).max() / err) >= 30

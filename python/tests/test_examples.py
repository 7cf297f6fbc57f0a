"""examples/python/walkthrough.py (the README's CLI walkthrough in Python) writes the same bytes
as the CLI commands it mirrors: bundles, the validation JSON and plot, the run's outputs."""
import os
import subprocess
import sys

from conftest import ROOT, run_cli

CLI_STEPS = [
    ["convert", "models/small_cnn/model.onnx", "-o", "out/m.afb", "-q"],
    ["convert", "models/small_cnn/model.onnx", "-o", "out/i8.afb", "--compress", "int8", "-q"],
    ["convert", "models/small_cnn/model.onnx", "-o", "out/h13.afb", "--target", "h13",
     "--allow-fallback", "-q"],
    ["validate", "models/small_cnn/model.onnx", "out/i8.afb", "--inputs", "models/small_cnn/inputs",
     "--fp16", "--per-layer", "--min-psnr", "35", "--plot", "out/m.svg", "--json", "out/validate.json"],
    ["run", "out/i8.afb", "--inputs", "models/small_cnn/inputs", "--outputs", "out/y", "--threads", "2"],
]


def workdir(path):
    path.mkdir()
    os.symlink(os.path.join(ROOT, "models"), path / "models")
    return path


def test_walkthrough_matches_the_cli(tmp_path, monkeypatch):
    py, cli = workdir(tmp_path / "py"), workdir(tmp_path / "cli")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "walkthrough.py"),
                        "out"], cwd=py, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "warned: ['CrossChipFP16Warning']" in r.stdout
    (cli / "out").mkdir()
    monkeypatch.chdir(cli)
    for step in CLI_STEPS:
        run_cli(*step)
    for f in ("m.afb", "i8.afb", "h13.afb", "validate.json", "m.svg", "y/output.npy"):
        assert (py / "out" / f).read_bytes() == (cli / "out" / f).read_bytes(), f

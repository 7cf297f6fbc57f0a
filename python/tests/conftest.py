"""Fixtures for the aneforge package tests. CTest (tests/CMakeLists.txt, test `python`) sets
ANEFORGE_LIBRARY (the build's libaneforge), AF_CLI (the aneforge CLI) and AF_PYHOOKS (the
test-only hooks library); run by hand from the repository root:
    ANEFORGE_LIBRARY=build/libaneforge.so AF_CLI=build/bin/aneforge \
    AF_PYHOOKS=build/tests/libaf_pyhooks.so python3 -m pytest python/tests
"""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import aneforge as af  # noqa: E402

MODELS = os.path.join(ROOT, "models")
SMALL_CNN = os.path.join(MODELS, "small_cnn", "model.onnx")
SMALL_INPUTS = os.path.join(MODELS, "small_cnn", "inputs")


def cli_path():
    p = os.environ.get("AF_CLI") or os.path.join(ROOT, "build", "bin", "aneforge")
    if not os.path.exists(p):
        pytest.skip(f"no aneforge CLI at {p} (set AF_CLI)")
    return p


def run_cli(*args, check=True):
    """Runs the CLI; returns the CompletedProcess (text)."""
    r = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"aneforge {' '.join(map(str, args))}: exit {r.returncode}: {r.stderr}")
    return r


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory):
    """small_cnn converted with the defaults (fp16), by the package."""
    out = tmp_path_factory.mktemp("bundles") / "small.afb"
    return af.convert(SMALL_CNN, out)


@pytest.fixture(scope="session")
def small_input():
    return np.load(os.path.join(SMALL_INPUTS, "input.npy"))

"""validate: the report is the CLI's --json document byte for byte; gates, plots, errors."""
import json

import numpy as np
import pytest

import aneforge as af
from conftest import SMALL_CNN, SMALL_INPUTS


@pytest.mark.parametrize("per_layer,fp16", [(False, False), (True, True)])
def test_report_is_the_cli_json(tmp_path, cli, small_bundle, per_layer, fp16):
    flags = (["--per-layer"] if per_layer else []) + (["--fp16"] if fp16 else [])
    cli("validate", SMALL_CNN, small_bundle.path, "--inputs", SMALL_INPUTS, "--min-psnr", 35,
        "--json", tmp_path / "cli.json", *flags)
    r = af.validate(SMALL_CNN, small_bundle.path, inputs=SMALL_INPUTS, per_layer=per_layer,
                    fp16=fp16, min_psnr=35)
    assert r.to_json() == (tmp_path / "cli.json").read_text()
    assert r.passed and r.outputs[0]["name"] == "output" and r.outputs[0]["psnr_db"] > 35
    assert bool(r.layers) == per_layer
    r.check()


def test_inputs_as_arrays_and_random(small_bundle, small_input):
    from_dir = af.validate(SMALL_CNN, small_bundle, inputs=SMALL_INPUTS)
    from_arrays = af.validate(SMALL_CNN, small_bundle, inputs={"input": small_input})
    assert from_dir.outputs == from_arrays.outputs
    seeded = af.validate(SMALL_CNN, small_bundle, seed=5)
    assert seeded.document["components"][0]["random_inputs"] == 1


def test_worst_layers_plot_and_gate(tmp_path, small_bundle):
    r = af.validate(SMALL_CNN, small_bundle, inputs=SMALL_INPUTS, per_layer=True, min_psnr=1000)
    worst = r.worst_layers(3)
    own = [float(l["own"]["psnr_db"]) for l in r.layers]  # "inf" for an exact layer
    assert len(worst) == 3 and float(worst[0]["own"]["psnr_db"]) == min(own)
    assert worst[0]["tensor"] == r.document["components"][0]["worst_layer"]
    r.plot(tmp_path / "p.svg")
    assert (tmp_path / "p.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert not r.passed
    with pytest.raises(af.CheckFailedError, match="output") as e:
        r.check()
    assert e.value.exit_code == 1 and e.value.category == "check failed"


def test_validate_errors(cli, small_bundle, small_input):
    r = cli("validate", SMALL_CNN, "no/such.afb", check=False)
    with pytest.raises(af.BadInputError) as e:
        af.validate(SMALL_CNN, "no/such.afb")
    assert r.stderr.strip() == "aneforge: error: " + e.value.message
    with pytest.raises(af.BadInputError):
        af.validate(SMALL_CNN, small_bundle, inputs={"input": small_input[:, :2]})
    with pytest.raises(af.UsageError):
        af.validate(SMALL_CNN, small_bundle, min_psnr=float("nan"))
    with pytest.raises(af.UsageError):
        af.validate(SMALL_CNN, small_bundle, seed=0)

"""The family table, the preflight, fp16 prediction and the estimate: the same data as the
CLI's --json output."""
import json
import os
import warnings

import pytest

import aneforge as af
from aneforge.targets import PEAK_FIGURES
from conftest import MODELS, SMALL_CNN

OVERFLOW = os.path.join(MODELS, "fp16_overflow", "model.onnx")
OVERFLOW_INPUTS = os.path.join(MODELS, "fp16_overflow", "inputs")


def test_targets_match_the_cli(cli):
    doc = json.loads(cli("targets", "--json").stdout)
    mine = [f.to_dict() for f in af.targets()]
    assert mine == doc["families"]
    assert [f.alias for f in af.targets()] == [d["alias"] for d in doc["families"]]
    assert af.target("m2").name == "h14"


def test_project_peak_and_provenance():
    peak = af.project_peak("m2")
    assert tuple(peak) == PEAK_FIGURES
    assert peak["peak_fp16_tops"].value == af.target("h14").peak_fp16_tops.value > 0
    assert peak["peak_fp16_tops"].source and not peak["peak_fp16_tops"].assumed
    prov = af.estimate_provenance("h14")
    fam = af.target("h14")
    for name, f in fam.figures.items():
        assert prov["assumed" if f.assumed else "sourced"][name] == f.source
    assert all(s.startswith("assumed") for s in prov["assumed"].values())
    assert prov["assumed"], "the table marks unpublished figures as assumed"
    with pytest.raises(af.TargetError):
        af.project_peak("nope")
    with pytest.raises(af.TargetError):
        af.estimate_provenance("nope")


def test_cross_compile_check_matches_the_cli(cli):
    doc = json.loads(cli("check", OVERFLOW, "--target", "h13", "--json", check=False).stdout)
    v = af.cross_compile_check(OVERFLOW, "h13")
    assert [x._asdict() for x in v] == doc["violations"] and v  # Sin is below h13's floor
    assert af.cross_compile_check(OVERFLOW, "h16") == []
    with pytest.raises(af.TargetError) as e:
        af.cross_compile_check(OVERFLOW, "m9")
    assert e.value.families == [f.name for f in af.targets()]
    assert "known: h13 (m1)" in e.value.message
    with pytest.raises(af.BadInputError, match="no/such.onnx"):
        af.cross_compile_check("no/such.onnx", "h13")


def test_predict_fp16_divergence_warns_and_matches_the_cli(cli):
    doc = json.loads(cli("check", OVERFLOW, "--fp16", "--calib", OVERFLOW_INPUTS, "--json",
                         check=False).stdout)
    with pytest.warns(af.CrossChipFP16Warning, match="overflow"):
        found = af.predict_fp16_divergence(OVERFLOW, calib=OVERFLOW_INPUTS)
    want = [{k: d[k] for k in ("tensor", "node", "op", "kind", "why")} for d in doc["fp16"]]
    assert [{k: getattr(f, k) for k in ("tensor", "node", "op", "kind", "why")} for f in found] == want
    for f, d in zip(found, doc["fp16"]):  # the CLI prints %.9g-ish JSON numbers
        assert f.min == pytest.approx(d["min"], rel=1e-6) and f.max == pytest.approx(d["max"], rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean model warns nothing
        assert af.predict_fp16_divergence(SMALL_CNN) == []
        assert af.predict_fp16_divergence(OVERFLOW, warn=False)


def test_estimate_matches_the_cli(cli, small_bundle):
    for path, assume in ((small_bundle.path, None), (small_bundle.path, "int4"), (SMALL_CNN, None)):
        flags = ["--assume-weights", assume] if assume else []
        doc = json.loads(cli("estimate", path, "--target", "h16", "--json", *flags).stdout)
        e = af.estimate(path, target="h16", assume_weights=assume)
        mine = e.to_dict()
        assert [r["node"] for r in mine["ops"]] == [r["node"] for r in doc["ops"]]
        for a, b in zip(mine["ops"], doc["ops"]):
            assert a["time_us"] == pytest.approx(b["time_us"], rel=1e-6)
            assert a["macs"] == pytest.approx(b["macs"], rel=1e-6)
        assert e.total_ms == pytest.approx(doc["time_ms"], rel=1e-6)
        assert e.total_ms * 1e3 == pytest.approx(sum(r.time_us for r in e.rows), rel=1e-9)
        assert mine["family"] == doc["family"] and mine["assume_weights"] == doc["assume_weights"]
    assert af.estimate(small_bundle, target="m4").rows  # a Bundle is accepted
    with pytest.raises(af.UsageError, match="unknown --assume-weights 'int3'"):
        af.estimate(small_bundle, target="h16", assume_weights="int3")
    with pytest.raises(af.TargetError):
        af.estimate(small_bundle, target="h99")


def test_estimate_on_the_host_probe(small_bundle):
    e = af.estimate(small_bundle, target="host")
    assert e.family.name == "host" and e.total_ms > 0
    assert "measured" in e.family.peak_fp16_tops.source


def test_detect_family():
    # None on any machine without an ANE (this test's machines); a family name on Apple silicon.
    d = af.detect_family()
    assert d is None or d in [f.name for f in af.targets()]

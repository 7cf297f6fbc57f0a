"""The family table, the preflight, fp16 prediction and the estimate: the same data as the
CLI's --json output."""
import json
import os
import warnings

import pytest

import aneforge as af
from conftest import MODELS, SMALL_CNN

OVERFLOW = os.path.join(MODELS, "fp16_overflow", "model.onnx")
OVERFLOW_INPUTS = os.path.join(MODELS, "fp16_overflow", "inputs")


# A family, two chips (one-die and two-die) and a device alias (iphone13 = a15).
NAMES = ("h14", "a15", "m2ultra", "iphone13")


def same(a, b, path="$"):
    """a == b, floats to 1e-8 relative: the CLI prints JSON numbers with %.9g, so a rate derived
    from the peak (vector_tops x peak ratio) may differ from the double in its last digits."""
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-8, abs=1e-12), path
    elif isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)} items"
        for k, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{k}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_targets_match_the_cli(cli):
    doc = json.loads(cli("targets", "--json").stdout)
    same(af.targets_json(), doc)
    mine = af.targets()
    assert [t.to_dict() for t in mine if t.kind == "family"] == doc["families"]
    assert [t.to_dict() for t in mine if t.kind == "device"] == doc["devices"]
    assert [f.name for f in af.families()] == [d["name"] for d in doc["families"]]
    assert len(af.devices()) == len(doc["devices"]) > 20
    assert af.target("m2").name == "h14" and af.target("m2").target == "m2"


def test_target_resolves_chips_and_aliases():
    a15, iphone, h14 = af.target("a15"), af.target("iphone13"), af.target("h14")
    assert a15.name == iphone.name == h14.name == "h14"  # the family row
    assert a15.target == iphone.target == "a15" and iphone.device.chip == "A15 Bionic"
    assert h14.device is None and h14.target == "h14"
    # the A15's own bandwidth (assumed LPDDR4X), not the M2's: the bug this guards against
    assert a15.dram_gbps.value < h14.dram_gbps.value and a15.dram_gbps.assumed
    assert a15.peak_fp16_tops.value == iphone.device.peak_fp16_tops.value
    ultra = af.target("m2ultra")
    assert ultra.device.ane_cores.value == 32 and ultra.peak_fp16_tops.value > h14.peak_fp16_tops.value
    for bad in ("iphone99", "macstudio"):  # unknown; a product line with several chips
        with pytest.raises(af.TargetError) as e:
            af.target(bad)
        assert e.value.families == [f.name for f in af.families()]
    assert "ambiguous target 'macstudio'" in e.value.message


def test_project_peak_matches_the_cli(cli):
    doc = json.loads(cli("targets", "--peak", "--json").stdout)["peak"]
    same(af.project_peak(), doc)
    rows = {r["target"]: r for r in doc}
    for name in NAMES:
        mine = af.project_peak(name)
        want = dict(rows["m2" if name == "h14" else "a15" if name == "iphone13" else name])
        if name == "h14":  # a family: its anchor chip (m2) under its own name; fp16: its row's
            want["target"] = "h14"
            want["peak_fp16_tops"] = af.families()[1].peak_fp16_tops._asdict()
            assert want["peak_fp16_tops"]["value"] == rows["m2"]["peak_fp16_tops"]["value"]
        same(mine, want)
        assert mine["peak_fp16_tops"]["value"] == af.target(name).peak_fp16_tops.value
    assert af.project_peak("m2ultra")["public_tops"]["value"] == 31.6
    with pytest.raises(af.TargetError):
        af.project_peak("nope")


def test_estimate_provenance_matches_the_cli(cli):
    for name in NAMES:
        doc = json.loads(cli("targets", "--provenance", name, "--json").stdout)
        prov = af.estimate_provenance(name)
        same(prov, doc)
        assert prov["sourced"] + prov["assumed"] == len(prov["figures"])
        assert all(f["source"].startswith("assumed") == f["assumed"] for f in prov["figures"])
    assert af.estimate_provenance("iphone13")["target"] == "a15"
    assert af.estimate_provenance("a11")["extrapolated"]
    with pytest.raises(af.TargetError):
        af.estimate_provenance("nope")


# Recorded sysctl strings (hw.model / hw.machine, machdep.cpu.brand_string) as the CLI test uses.
DETECT = (("Mac14,2", "Apple M2"), ("iPhone14,2", None), ("Mac16,7", "Apple M4 Pro"),
          ("MacBookPro16,1", "Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz"))


def test_detect_matches_the_cli(cli):
    same(af.detect(), json.loads(cli("targets", "--detect", "--json").stdout))
    for model, brand in DETECT:
        args = ["--hw-model", model] + (["--brand", brand] if brand else [])
        doc = json.loads(cli("targets", "--detect", *args, "--json").stdout)
        same(af.detect(hw_model=model, brand=brand), doc)
    assert af.detect(hw_model="Mac14,2", brand="Apple M2")["family"] == "h14"
    assert not af.detect(hw_model="MacBookPro16,1")["has_ane"]


def test_cross_compile_check_matches_the_cli(cli):
    doc = json.loads(cli("check", OVERFLOW, "--target", "h13", "--json", check=False).stdout)
    v = af.cross_compile_check(OVERFLOW, "h13")
    assert [x._asdict() for x in v] == doc["violations"] and v  # Sin is below h13's floor
    assert af.cross_compile_check(OVERFLOW, "h16") == []
    with pytest.raises(af.TargetError) as e:
        af.cross_compile_check(OVERFLOW, "m9")
    assert e.value.families == [f.name for f in af.families()]
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
        same(e.to_dict(), doc)
        assert e.total_ms * 1e3 == pytest.approx(sum(r.time_us for r in e.rows), rel=1e-9)
    assert af.estimate(small_bundle, target="m4").rows  # a Bundle is accepted
    with pytest.raises(af.UsageError, match="unknown --assume-weights 'int3'"):
        af.estimate(small_bundle, target="h16", assume_weights="int3")
    with pytest.raises(af.TargetError):
        af.estimate(small_bundle, target="h99")


def test_estimate_on_chips_matches_the_cli(cli, small_bundle):
    est = {}
    for name in NAMES:
        doc = json.loads(cli("estimate", small_bundle.path, "--target", name, "--json").stdout)
        est[name] = af.estimate(small_bundle, target=name)
        same(est[name].to_dict(), doc)
    assert est["iphone13"].target == est["a15"].target == "a15"
    assert est["iphone13"].total_ms == est["a15"].total_ms
    # the A15's own bandwidth makes it slower than the h14 row (the M2); two dies, faster
    assert est["a15"].total_ms > est["h14"].total_ms > est["m2ultra"].total_ms
    assert est["a15"].provenance["figures"][0]["row"] == "a15"


def test_estimate_on_the_host_probe(small_bundle):
    e = af.estimate(small_bundle, target="host")
    assert e.family.name == "host" and e.total_ms > 0
    assert "measured" in e.family.peak_fp16_tops.source


def test_detect_family():
    # None on any machine without an ANE (this test's machines); a family name on Apple silicon.
    d = af.detect_family()
    assert d is None or d in [f.name for f in af.families()]
    assert (d is None) == (not af.detect()["has_ane"])


def test_convert_records_the_resolved_target(cli, tmp_path):
    # iphone13 is typed; the bundle records the family whose caps placed the nodes and the chip
    b = af.convert(SMALL_CNN, tmp_path / "ip13.afb", target="iphone13", allow_fallback=True)
    assert b.metadata["target"] == "h14" and b.metadata["target_device"] == "a15"
    assert b.target.target == "a15" and b.target.name == "h14"
    doc = json.loads(cli("inspect", b.path, "--json").stdout)
    assert doc["metadata"] == b.metadata
    assert doc["target"] == {"recorded": "a15", "family": "h14", "device": "a15",
                             "chip": "A15 Bionic"}
    # a family named: no device; without --target: nothing recorded
    fam = af.convert(SMALL_CNN, tmp_path / "h15.afb", target="h15", allow_fallback=True)
    assert fam.metadata["target"] == "h15" and "target_device" not in fam.metadata
    assert fam.target.target == "h15" and fam.target.device is None
    plain = af.convert(SMALL_CNN, tmp_path / "plain.afb")
    assert plain.metadata["target"] is None and plain.target is None
    assert json.loads(cli("inspect", plain.path, "--json").stdout)["target"] is None
    # estimate without a target: the recorded one, as the CLI
    same(af.estimate(b).to_dict(), json.loads(cli("estimate", b.path, "--json").stdout))
    assert af.estimate(b.path).target == "a15"
    with pytest.raises(af.UsageError, match="records no target"):
        af.estimate(plain)
    assert cli("estimate", plain.path, check=False).returncode == 2

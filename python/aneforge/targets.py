"""ANE families, the static preflight, fp16 divergence prediction and the roofline estimate
(include/aneforge/targets.h). Every figure carries its source; a figure nobody published is
marked assumed (docs/targets.md)."""
import ctypes
import warnings
from collections import namedtuple

from . import _lib
from ._util import NpyFolder, check, fspath, shape_specs
from .errors import CrossChipFP16Warning, TargetError, UsageError

Figure = namedtuple("Figure", "value source assumed")
Figure.__doc__ = "A figure of the family table: value, where it comes from, assumed (not published)."

Violation = namedtuple("Violation", "node op cap detail")
Fp16Finding = namedtuple("Fp16Finding", "tensor node op kind min max fraction why")
OpEstimate = namedtuple("OpEstimate", "node op macs ops special taps act_bytes weight_bytes "
                                      "time_us bound")


# The figures of a device row, in the header's order.
DEVICE_FIGURES = ("public_tops", "peak_fp16_tops", "dram_gbps", "ane_cores")


def _figure(f):
    return Figure(f.value, _lib.text(f.source), bool(f.assumed))


def _streams(mask):
    return [_lib.text(_lib.wenc_table[e].name) for e in range(_lib.AF_WENC_COUNT) if mask >> e & 1]


class Family:
    """One row of the family table (``aneforge targets``): name, alias, chip, ``figures``
    {name: Figure} (throughput, bandwidth, floors and caps), native weight streams, ops below the
    family's floor. From ``af.target(chip)``: the family row with the chip's own figures put in
    (``chip`` names it, ``device`` is its Device, ``target`` the canonical name, "a15")."""

    kind = "family"

    def __init__(self, row, target=None, device=None, keep=None):
        self.name, self.alias, self.chip = _lib.text(row.name), _lib.text(row.alias), _lib.text(row.chip)
        self.figures = {k: _figure(getattr(row, k)) for k in _lib.FAMILY_FIGURES + _lib.FAMILY_CAPS}
        self.native_streams = _streams(row.native_streams)
        self.native_streams_source = _lib.text(row.native_streams_source)
        ops = _lib.text(row.missing_ops) or ""
        self.missing_ops = [o for o in ops.split(",") if o]
        self.missing_ops_source = _lib.text(row.missing_ops_source)
        self.target = target or self.name
        self.device = device
        self._row, self._keep = row, keep  # keep: the af_target the row lives in

    def __getattr__(self, key):
        figs = self.__dict__.get("figures", {})
        if key in figs:
            return figs[key]
        raise AttributeError(key)

    def to_dict(self):
        """The CLI's ``targets --json`` entry."""
        d = {"name": self.name, "alias": self.alias, "chip": self.chip}  # the CLI's key order
        d.update({k: self.figures[k]._asdict() for k in _lib.FAMILY_FIGURES})
        d["native_streams"] = ", ".join(self.native_streams)
        d["native_streams_source"] = self.native_streams_source
        d.update({k: self.figures[k]._asdict() for k in _lib.FAMILY_CAPS})
        d["missing_ops"] = ",".join(self.missing_ops)
        d["missing_ops_source"] = self.missing_ops_source
        return d

    def __repr__(self):
        on = f", target={self.target!r}" if self.target != self.name else ""
        return f"Family({self.name!r}, alias={self.alias!r}, chip={self.chip!r}{on})"


class Device:
    """One row of the device table (``aneforge targets``: A-series and M-series chips): name
    (the ``--target`` spelling, "a15"), chip, generation, the family row it maps to (its anchor
    when ``extrapolated``), year, ``figures`` {public_tops, peak_fp16_tops, dram_gbps,
    ane_cores: Figure}, aliases (device names such as "iphone13") and a note."""

    kind = "device"

    def __init__(self, row):
        for k in ("name", "chip", "generation", "family", "family_source", "note"):
            setattr(self, k, _lib.text(getattr(row, k)))
        self.extrapolated, self.year = bool(row.extrapolated), row.year
        self.figures = {k: _figure(getattr(row, k)) for k in DEVICE_FIGURES}
        self.aliases = [a for a in (_lib.text(row.aliases) or "").split(",") if a]

    def __getattr__(self, key):
        figs = self.__dict__.get("figures", {})
        if key in figs:
            return figs[key]
        raise AttributeError(key)

    def to_dict(self):
        """The CLI's ``targets --json`` "devices" entry."""
        d = {"name": self.name, "chip": self.chip, "generation": self.generation,
             "family": self.family, "family_source": self.family_source,
             "extrapolated": self.extrapolated, "year": self.year}
        d.update({k: f._asdict() for k, f in self.figures.items()})
        d["aliases"], d["note"] = ",".join(self.aliases), self.note
        return d

    def __repr__(self):
        return f"Device({self.name!r}, chip={self.chip!r}, family={self.family!r})"


def family_names():
    buf = ctypes.create_string_buffer(1024)
    return _lib.text(_lib.lib.af_target_known_names(buf, len(buf)))


def _error(message):
    return TargetError(message, [f.name for f in families()])


def _name(name):
    if isinstance(name, (Family, Device)):
        return (name.target if isinstance(name, Family) else name.name).encode()
    if not isinstance(name, str):
        raise _error(f"target: want a family, chip or device name, got {type(name).__name__}")
    return name.encode()


def _resolve(name):
    """af_target_resolve: a family ("h14", "m2"), a chip ("a15", "m2ultra") or a device alias
    ("iphone13") → the af_target (family row, device, the figures an estimate uses);
    TargetError listing the known families otherwise."""
    t = _lib.Target()
    msg = _lib.msg_buffer()
    if _lib.lib.af_target_resolve(_name(name), ctypes.byref(t), msg, len(msg)) != 0:
        raise _error(_lib.text(msg.value))
    return t


def _family(name):
    """The family table row whose caps a target runs under (check, convert's preflight)."""
    if isinstance(name, Family) and name.target == "host":
        return name._row
    return _resolve(name).family.contents


def _figures(name):
    """The figures an estimate for a target uses, as a Family (``"host"`` probes this machine)."""
    if isinstance(name, Family) and name.target == "host":
        return name
    if name == "host":
        row = _lib.TargetFamily()
        msg = _lib.msg_buffer()
        check(_lib.lib.af_target_host_probe(ctypes.byref(row), msg, len(msg)), msg)
        return Family(row, target="host")
    t = _resolve(name)
    return Family(t.figures, target=_lib.text(t.name),
                  device=Device(t.device.contents) if t.device else None, keep=t)


def families():
    """Every ANE family of the table (h13 .. h17s, aliases m1 .. m5), in order."""
    return [Family(_lib.lib.af_target_at(i).contents) for i in range(_lib.lib.af_target_count())]


def devices():
    """Every device row (A11 .. A19 Pro, M1 .. M5 Max with Pro, Max and Ultra), in table order."""
    return [Device(_lib.lib.af_target_device_at(i).contents)
            for i in range(_lib.lib.af_target_device_count())]


def targets():
    """Every target the table knows: the families (Family, ``kind == "family"``) then the
    devices (Device, ``kind == "device"``), as ``aneforge targets`` lists them."""
    return families() + devices()


def targets_json():
    """The CLI's ``targets --json`` document: {"families", "devices", "never_ane",
    "never_ane_source", "dtype_source"}."""
    return {"families": [f.to_dict() for f in families()],
            "devices": [d.to_dict() for d in devices()],
            "never_ane": _lib.text(_lib.never_ops),
            "never_ane_source": _lib.text(_lib.never_ops_source),
            "dtype_source": _lib.text(_lib.dtype_source)}


def target(name):
    """The figures an estimate on a target uses, as a Family: a family ("h14" or "m2") gives its
    row; a chip ("a15", "m2ultra") or device alias ("iphone13") its family row with the chip's
    own peak, bandwidth and the rates derived from the peak (``.device`` the Device,
    ``.target`` the canonical name); "host" measures this machine (~0.5 s)."""
    return _figures(name)


def _peak_row(p, public, fp16):
    return {"target": _lib.text(p.name), "chip": _lib.text(p.chip),
            "generation": _lib.text(p.generation), "family": _lib.text(p.family),
            "extrapolated": bool(p.extrapolated),
            "public_tops": _figure(public)._asdict(), "peak_fp16_tops": _figure(fp16)._asdict()}


def _provenance(name):
    p = _lib.TargetProvenanceInfo()
    msg = _lib.msg_buffer()
    if _lib.lib.af_target_provenance(_name(name), ctypes.byref(p), msg, len(msg)) != 0:
        raise _error(_lib.text(msg.value))
    return p


def project_peak(arch=None):
    """The generational peak of a target (af_target_peak): {"target", "chip", "generation",
    "family", "extrapolated", "public_tops": Apple's headline figure, "peak_fp16_tops": the fp16
    peak estimates use}, figures as {"value", "source", "assumed"}: the chip's row of
    ``aneforge targets --peak --json`` (a family name gives its anchor chip's figures under its
    own name). Without ``arch``: the whole table, every device by generation (the CLI's "peak")."""
    if arch is None:
        devs = sorted(devices(), key=lambda d: int(d.generation[1:]))  # stable: table order
        return [project_peak(d.name) for d in devs]
    public, fp16 = _lib.Figure_(), _lib.Figure_()
    msg = _lib.msg_buffer()
    if _lib.lib.af_target_peak(_name(arch), ctypes.byref(public), ctypes.byref(fp16), msg,
                               len(msg)) != 0:
        raise _error(_lib.text(msg.value))
    return _peak_row(_provenance(arch), public, fp16)


def _provenance_dict(p):
    """A provenance as the CLI's ``targets --provenance T --json`` document."""
    rows = [{"key": _lib.text(r.key), "unit": _lib.text(r.unit), "value": r.fig.value,
             "source": _lib.text(r.fig.source), "assumed": bool(r.fig.assumed),
             "row": _lib.text(r.row)} for r in p.figures[:p.n]]
    return {"target": _lib.text(p.name), "chip": _lib.text(p.chip),
            "generation": _lib.text(p.generation), "family": _lib.text(p.family),
            "extrapolated": bool(p.extrapolated), "anchor": _lib.text(p.family),
            "family_source": _lib.text(p.family_source), "note": _lib.text(p.note),
            "sourced": p.n_sourced, "assumed": p.n_assumed, "figures": rows}


def estimate_provenance(arch):
    """Where each figure an estimate on a target uses comes from (af_target_provenance), as
    ``aneforge targets --provenance T --json``: the canonical target, chip, generation, family
    (= "anchor"; ``extrapolated`` when the chip's generation has no row of its own), why that
    family, a note, the counts of "sourced" and "assumed" figures and "figures": [{"key",
    "unit", "value", "source", "assumed", "row"}] (row: the device or family row read)."""
    return _provenance_dict(_provenance(arch))


def _detect_dict(r):
    return {"has_ane": bool(r.has_ane), "device": _lib.text(r.device), "chip": _lib.text(r.chip),
            "generation": _lib.text(r.generation), "family": _lib.text(r.family),
            "extrapolated": bool(r.extrapolated), "why": _lib.text(r.why)}


def detect(hw_model=None, brand=None):
    """This machine's chip (af_detect_host: sysctl on Apple platforms), or, given recorded
    sysctl strings (``hw.model`` / iOS ``hw.machine``, ``machdep.cpu.brand_string``), theirs
    (af_detect_family), as ``aneforge targets --detect --json``: {"has_ane", "device", "chip",
    "generation", "family", "extrapolated", "why"}."""
    r = _lib.DetectResult()
    if hw_model is not None or brand is not None:
        enc = [None if v is None else str(v).encode() for v in (hw_model, brand)]
        st = _lib.lib.af_detect_family(enc[0], enc[1], ctypes.byref(r))
        check(st, _lib.msg_buffer())
    else:
        msg = _lib.msg_buffer()
        check(_lib.lib.af_detect_host(ctypes.byref(r), msg, len(msg)), msg)
    return _detect_dict(r)


def detect_family():
    """The ANE family of this machine ("h14"), or None without an ANE (anything but Apple
    silicon): ``detect()["family"]``."""
    d = detect()
    return d["family"] if d["has_ane"] and d["family"] else None


def cross_compile_check(model, target, input_shapes=None):
    """The static preflight ``convert --target`` runs: every node breaking one of the family's
    caps (``aneforge check MODEL --target F``). Returns a list of Violation(node, op, cap,
    detail); empty when every node runs on the ANE. Unknown family: TargetError."""
    fam = _family(target)
    shapes, n, keep = shape_specs(input_shapes)
    r = _lib.TargetCheckResult()
    msg = _lib.msg_buffer()
    check(_lib.lib.af_target_check_file(fspath(model, "cross_compile_check"), shapes, n,
                                        ctypes.byref(fam), ctypes.byref(r), msg, len(msg)), msg)
    try:
        out = [Violation(_lib.text(v.node), _lib.text(v.op), _lib.text(v.cap), _lib.text(v.detail))
               for v in r.v[:r.n]]
    finally:
        _lib.lib.af_target_check_free(ctypes.byref(r))
    del keep
    return out


def predict_fp16_divergence(model, calib=None, input_shapes=None, warn=True):
    """Runs the model's fp32 program on calibration inputs (a folder of <input>.npy or a dict of
    arrays; seeded N(0,1) without) and flags tensors fp16 will hurt (overflow, precision,
    cancellation), as ``aneforge check --fp16``. Returns a list of Fp16Finding and, when it
    is not empty, emits one CrossChipFP16Warning summarising it (``warn=False``: silent)."""
    shapes, n, keep = shape_specs(input_shapes)
    r = _lib.Fp16Report()
    msg = _lib.msg_buffer()
    with NpyFolder(calib, "calib") as cal:
        check(_lib.lib.af_fp16_predict_file(fspath(model, "predict_fp16_divergence"), shapes, n,
                                            cal.path, ctypes.byref(r), msg, len(msg)), msg)
    try:
        out = [Fp16Finding(_lib.text(f.tensor), _lib.text(f.node), _lib.text(f.op),
                           _lib.text(_lib.lib.af_fp16_kind_name(f.kind)), f.min, f.max, f.fraction,
                           _lib.text(f.why)) for f in r.flags[:r.n]]
    finally:
        _lib.lib.af_fp16_report_free(ctypes.byref(r))
    del keep
    if out and warn:
        kinds = sorted({f.kind for f in out})
        warnings.warn(f"{len(out)} tensor(s) will diverge in fp16 ({', '.join(kinds)}); first: "
                      f"'{out[0].tensor}': {out[0].why}", CrossChipFP16Warning, stacklevel=2)
    return out


class Estimate:
    """A roofline estimate: ``rows`` (OpEstimate per op, program order), ``total_ms``,
    ``floor_ms``, ``macs``, ``weight_bytes``, ``act_bytes``, the ``family`` figures used (a
    chip's own peak and bandwidth on its family row), the canonical ``target`` ("a15") and the
    ``provenance`` of the figures (``estimate_provenance``; None for "host")."""

    def __init__(self, path, fam, assume, r, provenance):
        self.file, self.family, self.assume_weights = path, fam, assume
        self.target, self.provenance = fam.target, provenance
        self.rows = [OpEstimate(_lib.text(c.node), _lib.text(c.op), c.macs, c.ops, c.special,
                                c.taps, c.act_bytes, c.weight_bytes, c.time_us,
                                "memory" if c.memory_bound else "compute") for c in r.ops[:r.n]]
        self.total_ms, self.floor_ms = r.time_us / 1e3, r.floor_us / 1e3
        self.macs, self.weight_bytes, self.act_bytes = r.macs, r.weight_bytes, r.act_bytes

    def top(self, n=10):
        """The n slowest ops (ties keep program order), as ``estimate --top N``."""
        return sorted(self.rows, key=lambda c: -c.time_us)[:n]

    def to_dict(self):
        """The CLI's ``estimate --json`` document (without --measure)."""
        d = {"file": self.file, "target": self.target, "target_family": self.family.name,
             "assume_weights": self.assume_weights, "time_ms": self.total_ms,
             "floor_ms": self.floor_ms, "macs": self.macs, "weight_bytes": self.weight_bytes,
             "act_bytes": self.act_bytes, "family": self.family.to_dict()}
        if self.provenance is not None:
            d["provenance"] = self.provenance
        d["ops"] = [r._asdict() for r in self.rows]
        return d

    def __repr__(self):
        return f"Estimate({self.file!r} on {self.target}: {self.total_ms:.3f} ms, {len(self.rows)} ops)"


def _recorded_target(bundle_or_model, path):
    from .runtime import Bundle  # runtime imports this module
    if not path.endswith(b".afb"):
        raise UsageError("estimate: a model needs a target (only a bundle records one)")
    b = bundle_or_model if isinstance(bundle_or_model, Bundle) else Bundle(path)
    fam = b.target
    if fam is None:
        raise UsageError(f"estimate: {path.decode()} records no target (converted without "
                         "--target): pass target=")
    return fam.target


def estimate(bundle_or_model, target=None, assume_weights=None, input_shapes=None):
    """Estimated latency of a bundle (.afb) or model (.onnx) on a target, per op and in total,
    as ``aneforge estimate``: a family, a chip ("a15", "m2ultra": its own peak and bandwidth on
    its family row) or a device alias ("iphone13"); "host" measures this machine.
    ``assume_weights`` ("fp16", "int8", "int4", ...) costs the weights as if stored that way.
    Without ``target``, a bundle is estimated on the target its metadata records."""
    path = fspath(bundle_or_model, "estimate")
    if target is None:
        target = _recorded_target(bundle_or_model, path)
    fam = _figures(target)
    prov = None if fam.target == "host" else estimate_provenance(fam.target)
    assume = -1
    if assume_weights is not None:
        assume = _lib.lib.af_wenc_from_name(str(assume_weights).encode())
        if assume < 0:
            names = ", ".join(_lib.text(w.name) for w in _lib.wenc_table)
            raise UsageError(f"unknown --assume-weights '{assume_weights}' (known: {names})")
    shapes, n, keep = shape_specs(input_shapes)
    o = _lib.EstimateOptions(shapes, n, assume)
    r = _lib.CostReport()
    msg = _lib.msg_buffer()
    check(_lib.lib.af_estimate_file(path, ctypes.byref(fam._row), ctypes.byref(o),
                                    ctypes.byref(r), msg, len(msg)), msg)
    try:
        return Estimate(path.decode(), fam, None if assume < 0 else assume_weights, r, prov)
    finally:
        _lib.lib.af_cost_report_free(ctypes.byref(r))
        del keep

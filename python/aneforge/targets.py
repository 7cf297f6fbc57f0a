"""ANE families, the static preflight, fp16 divergence prediction and the roofline estimate
(include/aneforge/targets.h). Every figure carries its source; a figure nobody published is
marked assumed (docs/targets.md)."""
import ctypes
import platform
import subprocess
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

# The throughput figures the cost model uses ("peak" of a family), in table order.
PEAK_FIGURES = ("peak_fp16_tops", "gemm_half", "vector_tops", "special_gops", "tap_gops",
                "dram_gbps", "weight_gbps", "op_floor_us")


def _figure(f):
    return Figure(f.value, _lib.text(f.source), bool(f.assumed))


def _streams(mask):
    return [_lib.text(_lib.wenc_table[e].name) for e in range(_lib.AF_WENC_COUNT) if mask >> e & 1]


class Family:
    """One row of the family table (``aneforge targets``): name, alias, chip, ``figures``
    {name: Figure} (throughput, bandwidth, floors and caps), native weight streams, ops below the
    family's floor."""

    def __init__(self, row):
        self.name, self.alias, self.chip = _lib.text(row.name), _lib.text(row.alias), _lib.text(row.chip)
        self.figures = {k: _figure(getattr(row, k)) for k in _lib.FAMILY_FIGURES + _lib.FAMILY_CAPS}
        self.native_streams = _streams(row.native_streams)
        self.native_streams_source = _lib.text(row.native_streams_source)
        ops = _lib.text(row.missing_ops) or ""
        self.missing_ops = [o for o in ops.split(",") if o]
        self.missing_ops_source = _lib.text(row.missing_ops_source)
        self._row = row  # a copy for "host", the table's own row otherwise

    def __getattr__(self, key):
        figs = self.__dict__.get("figures", {})
        if key in figs:
            return figs[key]
        raise AttributeError(key)

    def to_dict(self):
        """The CLI's ``targets --json`` entry."""
        d = {"name": self.name, "alias": self.alias, "chip": self.chip}
        d.update({k: f._asdict() for k, f in self.figures.items()})
        d["native_streams"] = ", ".join(self.native_streams)
        d["native_streams_source"] = self.native_streams_source
        d["missing_ops"] = ",".join(self.missing_ops)
        d["missing_ops_source"] = self.missing_ops_source
        return d

    def __repr__(self):
        return f"Family({self.name!r}, alias={self.alias!r}, chip={self.chip!r})"


def family_names():
    buf = ctypes.create_string_buffer(1024)
    return _lib.text(_lib.lib.af_target_known_names(buf, len(buf)))


def _family(name):
    """The table row for a family name or alias; TargetError listing the known families."""
    if isinstance(name, Family):
        return name._row
    if not isinstance(name, str):
        raise TargetError(f"target: want a family name, got {type(name).__name__}",
                          [f.name for f in targets()])
    p = ctypes.POINTER(_lib.TargetFamily)()
    msg = _lib.msg_buffer()
    if _lib.lib.af_target_lookup(name.encode(), ctypes.byref(p), msg, len(msg)) != 0:
        raise TargetError(_lib.text(msg.value), [f.name for f in targets()])
    return p.contents


def _family_or_host(name):
    if name == "host":
        row = _lib.TargetFamily()
        msg = _lib.msg_buffer()
        check(_lib.lib.af_target_host_probe(ctypes.byref(row), msg, len(msg)), msg)
        return row
    return _family(name)


def targets():
    """Every ANE family of the table (h13 .. h17s, aliases m1 .. m5), in order."""
    return [Family(_lib.lib.af_target_at(i).contents) for i in range(_lib.lib.af_target_count())]


def target(name):
    """One family by name or alias ("h14" or "m2"); "host" measures this machine (~0.5 s)."""
    return Family(_family_or_host(name))


def project_peak(arch):
    """The throughput figures the cost model projects for a family: {name: Figure} for the
    dense fp16 peak (TOPS), the GEMM size at half peak, elementwise TOPS, exp-like and
    indexed-tap rates, DRAM and weight bandwidth (GB/s) and the per-op floor (us)."""
    fam = target(arch)
    return {k: fam.figures[k] for k in PEAK_FIGURES}


def estimate_provenance(arch):
    """Which figures of a family are sourced and which assumed: {"sourced": {name: source},
    "assumed": {name: source}} over every figure of its row (throughput, caps), plus the native
    weight streams and the op floor as sourced text."""
    fam = target(arch)
    out = {"sourced": {}, "assumed": {}}
    for k, f in fam.figures.items():
        out["assumed" if f.assumed else "sourced"][k] = f.source
    for k, src in (("native_streams", fam.native_streams_source),
                   ("missing_ops", fam.missing_ops_source)):
        if src:
            out["assumed" if src.startswith("assumed") else "sourced"][k] = src
    return out


def detect_family():
    """The ANE family of this machine, or None without an ANE (any machine but an Apple silicon
    Mac). Matches the CPU's brand ("Apple M2 Pro") against the table's chips."""
    if platform.system() != "Darwin" or platform.machine() != "arm64":
        return None
    try:
        brand = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                               text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    words = brand.split()
    chip = words[1] if len(words) > 1 and words[0] == "Apple" else None
    for fam in targets():
        if chip and fam.chip.split()[0] == chip:
            return fam.name
    return None


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
    ``floor_ms``, ``macs``, ``weight_bytes``, ``act_bytes``, the ``family`` used."""

    def __init__(self, path, fam, assume, r):
        self.file, self.family, self.assume_weights = path, fam, assume
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
        return {"file": self.file, "target": self.family.name,
                "assume_weights": self.assume_weights, "time_ms": self.total_ms,
                "floor_ms": self.floor_ms, "macs": self.macs, "weight_bytes": self.weight_bytes,
                "act_bytes": self.act_bytes, "family": self.family.to_dict(),
                "ops": [r._asdict() for r in self.rows]}

    def __repr__(self):
        return f"Estimate({self.file!r} on {self.family.name}: {self.total_ms:.3f} ms, {len(self.rows)} ops)"


def estimate(bundle_or_model, target, assume_weights=None, input_shapes=None):
    """Estimated latency of a bundle (.afb) or model (.onnx) on a family ("host" measures this
    machine), per op and in total, as ``aneforge estimate``. ``assume_weights`` ("fp16", "int8",
    "int4", ...) costs the weights as if stored that way."""
    path = fspath(bundle_or_model, "estimate")
    row = _family_or_host(target)
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
    check(_lib.lib.af_estimate_file(path, ctypes.byref(row), ctypes.byref(o), ctypes.byref(r),
                                    msg, len(msg)), msg)
    try:
        return Estimate(path.decode(), Family(row), None if assume < 0 else assume_weights, r)
    finally:
        _lib.lib.af_cost_report_free(ctypes.byref(r))
        del keep

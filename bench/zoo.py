#!/usr/bin/env python3
"""Model zoo: every torchvision architecture exported, converted by aneforge, checked and timed
against ONNX Runtime.

  python3 bench/zoo.py [--build build] [--work /tmp/af-zoo] [--families classification,...]
                       [--models a,b,...] [--threads 1,2] [--rounds 3] [--runs 10]
                       [--budget MIN] [--no-time] [--max-params M] [--run-all]
                       [--cached-only] [--doc docs/model-zoo.md]
  python3 bench/zoo.py --self-check [WORK]   (the detection metric on broken detections)

Models: torchvision.models.list_models() (torchvision 0.14, Debian's python3-torchvision), split
by family: classification, segmentation, detection, keypoint, video, optical_flow, quantized.
Each model is exported by /usr/bin/python3 (this script with --export-one, one process per model
so a crash or a 2 GB protobuf limit only fails that model) with seeded random weights: torch's
own initialisation under a seed derived from the name, every BatchNorm given non-trivial seeded
statistics and every Conv/Linear bias N(0, 0.05), detectors' layers then scaled to unit output
variance on their input (models/common.py unit_variance), BatchNormalization kept in
the file (TrainingMode.PRESERVE), opset 13 (16 for optical flow: GridSample). Fixed inputs
(batch 1, seeded N(0,1) images unless noted), documented in FAMILY_INPUTS / INPUTS below.

For each model that exports: ONNX Runtime's outputs on the seeded input are the reference (run
once and cached in WORK/NAME/ref), aneforge converts the model with --compress fp32 and
--compress fp16 (a failure is listed with its first error line), runs both bundles on the same
input and is compared with the reference: PSNR = 20*log10(max|ref|/RMSE) over every float output
(the lowest), max abs error; integer outputs must be equal. Detectors (detection, keypoint)
are also compared as sets of detections (see "detections as matched sets" below, the bars and
the evidence for them in DET_BASELINE_DOC): each reference detection matched one-to-one to one
of aneforge's with the same label and every box coordinate within 1 px, the matched fraction and
the PSNR over the matched pairs (scores, boxes, keypoints, masks); a detector passes at 99%
matched and matched PSNR at the fp32 / fp16 bars, is "undecided" where ONNX Runtime against
itself (graph optimizations off for fp32; its weights rounded to half for fp16) fails the same
bar, and fails otherwise. `python3 bench/zoo.py --self-check [WORK]` shows the metric failing
deliberately broken detections (ctest zoo_det_metric). Then both sides are timed with
bench/compare.py's alternating method (its functions are imported, not copied): --rounds rounds
of one `aneforge bench --json` process and one `run_ort.js --bench --json` process taking turns
at going first, each timing --runs runs after a warm-up. Heavy models (ONNX Runtime above
--heavy-ms per run at 1 thread) get one round and 3 runs. Latency ratio = median over rounds of
each side's median run, aneforge / ONNX Runtime; the min-of-min ratio is shown next to it.
Peak RSS = each process's getrusage max RSS (ONNX Runtime's includes node, ~45 MiB), fp32 bundle.

Not run unless --run-all (listed as "not run" with the reason): models with more than --max-params
million parameters (default 250: ViT-L, ViT-H, RegNetY-128GF) or an export too large for the
machine (EXPORT_TOO_LARGE: MViT). --cached-only runs nothing and
reports (and writes --doc from) the cached results.

Results are cached per model in WORK/results/NAME.json (or --results DIR) with --label (default:
the git commit) and reused unless --redo; bench/zoo-results/ keeps the ones docs/model-zoo.md
was written from, so the doc can be written again without the exports (--results
bench/zoo-results --cached-only --doc docs/model-zoo.md); bundles are deleted after each model
unless --keep-bundles (fp32 bundles of the large models are GBs). --budget MIN stops starting new models after MIN minutes
(those keep their cached rows, or are listed as not yet measured). On a busy machine the checks
and the timing can run as two processes: one with --no-time, one with --time-only (it times
each model the first has checked, and waits for more until the budget is spent), and
`/usr/bin/python3 bench/zoo.py --export-ahead WORK [FAMILIES] [TIMEOUT_S]` exports in one torch
process ahead of them (export.lock per model: a checking run waits for it). --doc writes the Markdown table (docs/model-zoo.md) from every cached result.
Standard library only for the driver (torch only in the export processes).
"""
import argparse
import array
import ast
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
import types
import warnings
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare as C  # noqa: E402  (sh, convert, measure, read_npy_f32, med, thread_counts)

ROOT = C.ROOT
TORCH_PY = C.TORCH_PY
FAMILIES = ["classification", "segmentation", "detection", "keypoint", "video", "optical_flow",
            "quantized"]
# Input shapes per family (batch 1). Detection/keypoint models get images in [0, 1) (their own
# transform normalises) and are built with min_size = max_size = 320 where the builder has them.
FAMILY_INPUTS = {
    "classification": [(1, 3, 224, 224)],
    "segmentation": [(1, 3, 224, 224)],
    "detection": [(3, 320, 320)],
    "keypoint": [(3, 320, 320)],
    "video": [(1, 3, 16, 112, 112)],
    "optical_flow": [(1, 3, 128, 128), (1, 3, 128, 128)],
    "quantized": [(1, 3, 224, 224)],
}
# Per-model exceptions: the sizes the architectures are defined for.
INPUTS = {
    "inception_v3": [(1, 3, 299, 299)],
    "quantized_inception_v3": [(1, 3, 299, 299)],
    "s3d": [(1, 3, 16, 224, 224)],
    "mvit_v1_b": [(1, 3, 16, 224, 224)],
    "mvit_v2_s": [(1, 3, 16, 224, 224)],
}
OPSET = {"optical_flow": 16}
# Larger models (millions of parameters, torchvision's weight metadata) are not run unless
# --max-params says otherwise: ViT-L (1.2 GB of fp32 weights), ViT-H and RegNetY-128GF (2.5 GB,
# past protobuf's 2 GB) cost many minutes and several GB of RAM per export on a shared machine.
MAX_PARAMS_M = 250
# Models whose export alone is too large for this machine (not run unless --run-all): MViT at its
# 16x224x224 input went past 20 GB of RAM in torch's exporter with grad (OOM-killed) and hit
# std::bad_alloc under a 10 GB address-space limit without.
EXPORT_TOO_LARGE = {
    n: "size (torch's export at 16×224×224 needs over 10 GB of RAM)" for n in ("mvit_v1_b", "mvit_v2_s")}
# Families not run unless --run-all (their cached results, if any, are still listed). None
# since data-dependent row counts (docs/dynamic-shapes.md) let detection and keypoint models in.
NOT_RUN_FAMILIES = {}
# One small member of each architecture, measured first (then the rest, classification first):
# on a busy 2-core machine the whole list takes hours, and a budget should end with every
# architecture covered rather than every ResNet.
CORE = {"alexnet", "convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_s",
        "googlenet", "inception_v3", "maxvit_t", "mnasnet1_0", "mobilenet_v2",
        "mobilenet_v3_large", "mobilenet_v3_small", "regnet_x_400mf", "regnet_y_400mf",
        "resnet18", "resnet50", "resnext50_32x4d", "shufflenet_v2_x1_0", "squeezenet1_1",
        "swin_t", "swin_v2_t", "vgg11", "vit_b_32", "wide_resnet50_2",
        "lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "fcn_resnet50",
        "ssdlite320_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn",
        "retinanet_resnet50_fpn", "fcos_resnet50_fpn", "maskrcnn_resnet50_fpn",
        "keypointrcnn_resnet50_fpn", "r3d_18", "s3d", "mvit_v2_s", "raft_small",
        "quantized_mobilenet_v2", "quantized_resnet18", "quantized_shufflenet_v2_x1_0"}


def input_shapes(name, family):
    return INPUTS.get(name, FAMILY_INPUTS[family])


# ------------------------------------------------------------------ export (runs under torch)

def export_one(name, family, outdir):
    """Builds NAME with seeded random weights and writes outdir/model.onnx and outdir/inputs."""
    import numpy as np
    import torch
    import torchvision.models as M
    sys.path.insert(0, os.path.join(ROOT, "models"))
    import common

    seed = zlib.crc32(name.encode()) % 100000
    torch.manual_seed(seed)
    kw = {"weights": None}
    if family in ("segmentation", "detection", "keypoint"):
        kw["weights_backbone"] = None
    if family in ("detection", "keypoint") and not name.startswith("ssd"):
        kw.update(min_size=320, max_size=320)
    if name in ("googlenet", "inception_v3"):
        kw["aux_logits"] = False
        kw["init_weights"] = True
    if family == "quantized":
        kw["quantize"] = False
    model = M.get_model(name, **kw)
    common.randomize_batchnorm(model, seed + 100)
    common.randomize_biases(model, seed + 300)
    model.eval()
    if family == "quantized":
        # the builder's own path for quantize=True, calibrated on one random batch: fbgemm, or
        # qnnpack where torch was built without it (Debian's 1.13 has qnnpack and onednn)
        from torchvision.models.quantization.utils import quantize_model
        engines = torch.backends.quantized.supported_engines
        backend = "fbgemm" if "fbgemm" in engines else "qnnpack"
        torch.backends.quantized.engine = backend
        quantize_model(model, backend)
    rng = np.random.default_rng(seed + 200)
    shapes = input_shapes(name, family)
    if family in ("detection", "keypoint"):
        xs = [rng.random(s, dtype=np.float32) for s in shapes]
    else:
        xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    in_names = ["input"] if len(xs) == 1 else [f"input{i}" for i in range(len(xs))]
    os.makedirs(os.path.join(outdir, "inputs"), exist_ok=True)
    for n, x in zip(in_names, xs):
        np.save(os.path.join(outdir, "inputs", n + ".npy"), x, allow_pickle=False)
    ts = [torch.from_numpy(x) for x in xs]
    if family in ("detection", "keypoint"):
        common.unit_variance(model, (ts,))

    class Wrap(torch.nn.Module):
        """Plain tensor outputs: segmentation's dict -> 'out', RAFT's list -> the last flow."""
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *a):
            y = self.m(*a)
            if family == "segmentation":
                return y["out"]
            if family == "optical_flow":
                return y[-1]
            return y

    if family in ("detection", "keypoint"):
        net, example = model, (ts,)
    else:
        net, example = Wrap(model), tuple(ts)
    path = os.path.join(outdir, "model.onnx")
    # torch 1.13's exporter has no symbolic for aten::zero (Swin-V2 zeroes the middle third of a
    # cloned qkv bias in place): zeros of the same shape, folded with the bias
    torch.onnx.register_custom_op_symbolic(
        "aten::zero", lambda g, x: g.op("ConstantOfShape", g.op("Shape", x),
                                        value_t=torch.tensor([0.0])), 9)
    # grad left enabled only for models with nn.MultiheadAttention: under no_grad it takes its
    # fused fast path (aten::_native_multi_head_attention), which torch 1.13 cannot export (ViT).
    # Elsewhere no_grad: the trace then keeps no activations for backward (MViT-V2-S at
    # 16x224x224 went past 20 GB with grad).
    mha = any(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules())
    with warnings.catch_warnings(), torch.set_grad_enabled(mha):
        warnings.filterwarnings("ignore")
        # written aside and renamed: a reader never sees half a file
        torch.onnx.export(net, example, path + ".tmp", opset_version=OPSET.get(family, common.OPSET),
                          input_names=in_names, training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=True)
    os.replace(path + ".tmp", path)
    print(f"{name}: {os.path.getsize(path)} bytes", flush=True)


def export_ahead(work, families, timeout):
    """Exports every model of the list in one torch process (one import instead of one per
    model), ahead of a checking run: each under WORK/NAME/export.lock, failures in export.err."""
    import signal
    import torch
    torch.set_num_threads(1)

    def alarm(signum, frame):
        raise TimeoutError(f"export took more than {timeout} s")

    signal.signal(signal.SIGALRM, alarm)
    params = list_cache(work)[1]
    defaults = types.SimpleNamespace(run_all=False, max_params=MAX_PARAMS_M)
    for name, family in zoo_list(work):
        d = os.path.join(work, name)
        if family not in families or not_run_reason(name, family, params, defaults) or \
                os.path.exists(os.path.join(d, "model.onnx")) or \
                os.path.exists(os.path.join(d, "export.err")) or not take_lock(d):
            continue
        try:
            signal.alarm(timeout)
            export_one(name, family, d)
        except Exception as e:  # noqa: BLE001 - any failure is the model's row
            with open(os.path.join(d, "export.err"), "w") as f:
                f.write(first_line(f"{type(e).__name__}: {e}") + "\n")
            print(f"{name}: export failed", flush=True)
        finally:
            signal.alarm(0)
            os.remove(os.path.join(d, "export.lock"))


def take_lock(d):
    """1 if this process now holds d/export.lock (a lock of a dead process is taken over)."""
    os.makedirs(d, exist_ok=True)
    lock = os.path.join(d, "export.lock")
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return 1
        except FileExistsError:
            try:
                with open(lock) as f:
                    os.kill(int(f.read() or 0), 0)
                return 0  # its holder is alive
            except (OSError, ValueError):
                os.remove(lock)  # stale
    return 0


def list_models_torch():
    """Prints {name: family} and, on a second line, {name: parameter count} (from torchvision's
    weight metadata, so that no model is built to learn its size)."""
    import torchvision.models as M
    fam = {}
    for f, mod in (("segmentation", M.segmentation), ("detection", M.detection),
                   ("video", M.video), ("optical_flow", M.optical_flow),
                   ("quantized", M.quantization)):
        for n in M.list_models(module=mod):
            fam[n] = "keypoint" if f == "detection" and "keypoint" in n else f
    for n in M.list_models():
        fam.setdefault(n, "classification")
    params = {}
    for n in fam:
        try:
            params[n] = M.get_model_weights(n).DEFAULT.meta["num_params"]
        except (ValueError, AttributeError, KeyError):
            pass
    print(json.dumps(fam))
    print(json.dumps(params))


# ------------------------------------------------------------------ driver (standard library)

def first_line(text, fallback="failed"):
    """The line that says what went wrong: a Python traceback's last line, else the first line
    naming an error, else the last line."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if any(ln.startswith("Traceback") for ln in lines):
        lines = [lines[-1]]
    err = [ln for ln in lines if "error" in ln.lower()]
    return (err[0] if err else lines[-1] if lines else fallback)[:160]


def list_cache(work, results=None):
    """(families, parameter counts) of every model, listed by torch once and cached in work (or
    read from results, which keeps a copy beside the results it holds)."""
    cache, pcache = os.path.join(work, "list.json"), os.path.join(work, "params.json")
    if results and os.path.exists(os.path.join(results, "list.json")) and \
            os.path.exists(os.path.join(results, "params.json")):
        cache, pcache = os.path.join(results, "list.json"), os.path.join(results, "params.json")
    if not os.path.exists(cache) or not os.path.exists(pcache):
        lines = C.sh([TORCH_PY, os.path.abspath(__file__), "--list-torch"]).strip().splitlines()
        for path, text in ((cache, lines[-2]), (pcache, lines[-1])):
            with open(path, "w") as f:
                f.write(text)
    with open(cache) as f, open(pcache) as g:
        return json.load(f), json.load(g)


def not_run_reason(name, family, params, args):
    """Why NAME is not exported or checked (None: it is): its family needs an op that is not
    supported yet, or it is too large for a cheap check (export, reference and two bundles)."""
    if args.run_all:
        return None
    if family in NOT_RUN_FAMILIES:
        return NOT_RUN_FAMILIES[family]
    if name in EXPORT_TOO_LARGE:
        return EXPORT_TOO_LARGE[name]
    n = params.get(name, 0)
    if args.max_params and n > args.max_params * 1e6:
        return f"size ({n / 1e6:.0f} M parameters, over --max-params {args.max_params:g} M)"
    return None


def zoo_list(work, results=None):
    fam, _ = list_cache(work, results)
    order = {f: i for i, f in enumerate(FAMILIES)}
    return sorted(fam.items(), key=lambda kv: (kv[0] not in CORE, order[kv[1]], kv[0]))


def ensure_export(work, name, family, timeout):
    """(model dir, None) or (None, reason); failures are cached in export.err."""
    d = os.path.join(work, name)
    model, err = os.path.join(d, "model.onnx"), os.path.join(d, "export.err")
    if os.path.exists(model):
        return d, None
    if os.path.exists(err):
        with open(err) as f:
            return None, f.read().strip()
    if not take_lock(d):  # an --export-ahead process has it: wait for its result
        t0 = time.time()
        while os.path.exists(os.path.join(d, "export.lock")) and time.time() - t0 < timeout:
            time.sleep(5)
        if os.path.exists(os.path.join(d, "export.lock")):
            return None, "export still running in another process"
        return ensure_export(work, name, family, timeout)
    try:
        p = subprocess.run(["nice", "-n", "5", TORCH_PY, os.path.abspath(__file__), "--export-one",
                            name, family, d], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        reason = None if p.returncode == 0 and os.path.exists(model) else \
            first_line(p.stderr, f"exit {p.returncode}")
    except subprocess.TimeoutExpired:
        reason = f"export took more than {timeout} s"
    finally:
        os.remove(os.path.join(d, "export.lock"))
    if reason:
        if os.path.exists(model):
            os.remove(model)
        with open(err, "w") as f:
            f.write(reason + "\n")
        return None, reason
    return d, None


def ensure_reference(d):
    """ONNX Runtime's outputs in d/ref and its 1-thread run time (ms); raises on failure."""
    ref, meta = os.path.join(d, "ref"), os.path.join(d, "ref.json")
    if os.path.exists(meta):
        with open(meta) as f:
            return ref, json.load(f)["run_ms"]
    shutil.rmtree(ref, ignore_errors=True)
    out = C.sh(["node", os.path.join(ROOT, "tests/oracle/run_ort.js"), os.path.join(d, "model.onnx"),
                os.path.join(d, "inputs"), ref, "--threads", "1", "--bench", "1", "--json"])
    ms = json.loads(out.strip().splitlines()[-1])["run_ms_median"]
    with open(meta, "w") as f:
        json.dump({"run_ms": ms}, f)
    return ref, ms


def read_npy(path):
    """(descr, values) of a .npy file: floats as array('f'), other dtypes as raw bytes."""
    a = C.read_npy_f32(path)
    if a is not None:
        return "f4", a
    with open(path, "rb") as f:
        return "raw", f.read()


def npy_parts(path):
    """(header bytes, descr, shape, data bytes) of a .npy file (versions 1-3, C order)."""
    with open(path, "rb") as f:
        data = f.read()
    n = 10 if data[6] == 1 else 12
    hlen = int.from_bytes(data[8:n], "little")
    h = ast.literal_eval(data[n:n + hlen].decode("latin1"))
    return data[:n + hlen], h["descr"], tuple(h["shape"]), data[n + hlen:]


def detection_rows(d):
    """(n, files with n rows, scores, per-row keys) of a detector's outputs in d: one row per
    detection (their leading extent n; the scores, the first 1-D float output of n) and as key
    of each row its values in the other small outputs (labels, boxes); None without any."""
    parts = {f: npy_parts(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".npy")}
    first = [f for f, (_, t, sh, _) in parts.items() if t in ("<f4", "=f4") and len(sh) == 1]
    if not first or parts[first[0]][2][0] == 0:
        return None  # no detections: nothing to order
    n = parts[first[0]][2][0]
    rows = [f for f, p in parts.items() if p[2][:1] == (n,)]
    keys, scores = [[] for _ in range(n)], None
    for f in rows:
        _, t, sh, raw = parts[f]
        if len(raw) // n > 64 * 8 or t[1:] not in ("f4", "i8"):
            continue  # masks and the like are permuted, not keys
        vals = array.array("f" if t[1:] == "f4" else "q")
        vals.frombytes(raw)
        if f == first[0]:
            scores = list(vals)
            continue
        k = len(vals) // n
        for i in range(n):
            keys[i] += vals[i * k:(i + 1) * k]
    return n, rows, scores, keys


def match_detections(ref_dir, out_dir):
    """The order of out_dir's detections that best matches ref_dir's: ONNX leaves the order of
    equal-scored detections to the implementation (NonMaxSuppression), so within each run of
    the reference's scores equal up to 1e-6 (relative) the output's rows at those positions are
    matched greedily to the reference's, nearest first (sum of |differences| of labels and
    boxes). None when the outputs hold no detections or differ in count."""
    a, b = detection_rows(ref_dir), detection_rows(out_dir)
    if a is None or b is None or a[0] != b[0]:
        return None
    n, _, sa, ka = a
    _, rows, _, kb = b
    perm, start = [], 0
    while start < n:
        end = start + 1
        while end < n and abs(sa[end] - sa[start]) <= 1e-6 * abs(sa[start]):
            end += 1
        free = list(range(start, end))
        for i in range(start, end):
            j = min(free, key=lambda c: sum(abs(x - y) for x, y in zip(ka[i], kb[c])))
            free.remove(j)
            perm.append(j)
        start = end
    return n, rows, perm


def compare_detections(ref_dir, out_dir, work):
    """compare_outputs with out_dir's detections in the order matching ref_dir's
    (match_detections)."""
    m = match_detections(ref_dir, out_dir)
    if m is None:
        return compare_outputs(ref_dir, out_dir)
    n, rows, perm = m
    dst = os.path.join(work, "matched_out")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    for f in os.listdir(out_dir):
        if not f.endswith(".npy"):
            continue
        head, _, _, raw = npy_parts(os.path.join(out_dir, f))
        if f in rows:
            per = len(raw) // n
            raw = b"".join(raw[i * per:(i + 1) * per] for i in perm)
        with open(os.path.join(dst, f), "wb") as g:
            g.write(head + raw)
    res = compare_outputs(ref_dir, dst)
    shutil.rmtree(dst, ignore_errors=True)
    return res


# ------------------------------------------------------------------ detections as matched sets

# A detector's outputs are a set of detections, not a tensor: ONNX leaves the order of equal
# scores to the implementation, and a rounding that moves a score across another, across the
# score threshold or across the top-k cut reorders, adds or drops a detection without anything
# being wrong with the rest. The raw element-wise PSNR (compare_detections) is kept, and next to
# it the detections are compared as a detection user judges "same detections": each reference
# detection is matched one-to-one to an output detection with the same label and every box
# coordinate within DET_BOX_TOL pixels (the input image's own resolution: a box that moves by less
# than one input pixel marks the same object; boxes are in input pixels, 320x320 here). A
# maximum matching (augmenting paths, nearest box first) decides which pairs; then
#   matched fraction = pairs / max(reference detections, output detections)
#   matched PSNR     = lowest over the float per-detection outputs (scores, boxes, keypoints,
#                      keypoint scores, masks) of 20*log10(max|ref| / RMSE over the matched rows),
#                      max|ref| over all of the reference's rows as in the raw PSNR.
# Bars (DET_MIN_MATCHED, BAR_FP32 / BAR_FP16 on the matched PSNR) and the evidence for them:
# ONNX Runtime against itself in DET_BASELINE_DOC (bench/zoo.py --det-baseline).
DET_BOX_TOL = 1.0
DET_MIN_MATCHED = 0.99
# Tied candidates exchanged (det_exchange_rel, shown in a failing cell): every unmatched output
# score within this relative distance of an unmatched, exactly tied reference score. fp32:
# aneforge computed SSDlite's exact ties up to 2e-6 (relative) apart (ten times that, ~80 ulp;
# measured on torch's own initialisation, before unit_variance); fp16: twice half's relative
# step (2^-10).
DET_TIE_REL = {"fp32": 1e-5, "fp16": 1e-3}
# The evidence, measured on the zoo's seeded models (bench/zoo.py --run-all --families
# detection,keypoint --no-time keeps ONNX Runtime's baseline outputs in WORK/NAME/ref_noopt, ref_w16;
# the perturbations are `bench/zoo.py --self-check WORK`). Written into docs/model-zoo.md.
DET_BASELINE_DOC = """ONNX Runtime against itself, as matched sets
(pairs/detections at the matched PSNR in dB). With graph optimizations disabled (against enabled,
the reference) every detector holds the fp32 bar: FCOS 100/100 at 129.1, RetinaNet 300/300 at
129.8, RetinaNet v2 300/300 at 125.1, SSD300 200/200 at 126.4, SSDlite 300/300 at 122.9, the
four Faster R-CNN 100/100 at 106.7-116.8, Mask R-CNN 100/100 at 116.8, Mask R-CNN v2 100/100 at
114.8, Keypoint R-CNN 100/100 at 125.0. With its weights rounded to half (what `--compress fp16`
stores): FCOS 99/100 at 74.3, RetinaNet 297/300 at 68.9, SSD300 199/200 at 69.4, SSDlite 297/300
at 52.6: up to 1% of the detections change (a score crossing another, the threshold or the cut)
and the matched values stay above 50 dB, so the fp16 bar is 99% and 50 dB (aneforge rounds the
weights after folding BatchNorm, so not to the same values); RetinaNet v2 294/300 at 68.0, the
two-stage models (Faster R-CNN MobileNetV3-320 65/100 at 47.5, MobileNetV3 77/100 at 40.2, R50
94/100 at 59.1, R50 v2 97/100 at 51.5, Mask R-CNN 97/100 at 45.9, v2 97/100 at 39.6, Keypoint
R-CNN 99/100 at 38.6: half weights move their proposals, and the boxes, keypoints and masks
pooled from them) say that their fp16 checks cannot be decided on random weights. The 1 px box
tolerance: within a matched pair, boxes move at most 0.98 px for aneforge fp16 (RetinaNet v2;
0.93 px for ONNX Runtime with half weights; at 4 px both would match 297/300, so 1 px is tight
for fp16 there), 0.25 px on FCOS and 0.11 px on SSD300; at 0.25 px pairs start to drop
(RetinaNet v2 265/300). The metric fails broken outputs: every box moved
2 px (0 pairs), 5% of the detections dropped (95%), labels permuted among the detections (2-50%
matched) or shifted by one, and scores 1% off (all pairs, 40-48 dB), on two synthetic sets of
120 detections with keypoints (one with detections stacked three to a box, as boxes clipped to
the image edge are) and on each reference above (ctest zoo_det_metric runs the synthetic ones);
identical and 1e-6-noisy copies pass."""


def det_outputs(d):
    """A detector's outputs in d as {'n', 'labels', 'boxes', 'float': {file: (per-row values,
    row length)}}: labels the 1-D integer output, boxes the float (n, 4) one, every float output
    with leading extent n (scores, boxes, keypoints, masks) in 'float'. None when the outputs are
    not one such set (no labels or boxes, or two candidates for either)."""
    parts = {f: npy_parts(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".npy")}
    ints = [f for f, p in parts.items() if p[1][1:] in ("i8", "i4") and len(p[2]) == 1]
    boxes = [f for f, p in parts.items() if p[1][1:] == "f4" and len(p[2]) == 2 and p[2][1] == 4]
    if len(ints) != 1 or len(boxes) != 1:
        return None
    n = parts[boxes[0]][2][0]
    if parts[ints[0]][2][0] != n:
        return None
    labels = array.array("q" if parts[ints[0]][1][1:] == "i8" else "i")
    labels.frombytes(parts[ints[0]][3])
    out = {"n": n, "labels": list(labels), "boxes": boxes[0], "float": {}}
    for f, (_, t, sh, raw) in parts.items():
        if t[1:] == "f4" and sh[:1] == (n,):
            vals = array.array("f")
            vals.frombytes(raw)
            out["float"][f] = (vals, len(vals) // n if n else 0)
    return out


def det_match(a, b, tol=DET_BOX_TOL):
    """[(i, j)]: a maximum one-to-one matching of a's detections to b's with the same label and
    every box coordinate within tol. The nearest pairs (box distance, then score) are taken
    first, greedily; augmenting paths (candidates nearest first) then only add pairs. Nearest
    first matters where boxes of one label lie within tol of each other (small boxes NMS keeps
    apart): pairing them crosswise would report two right detections as two wrong values."""
    ba, bb = a["float"][a["boxes"]][0], b["float"][b["boxes"]][0]
    scores = [f for f, (_, k) in a["float"].items() if k == 1 and f in b["float"]]
    sa = a["float"][scores[0]][0] if len(scores) == 1 else None
    sb = b["float"][scores[0]][0] if len(scores) == 1 else None
    by_label = {}
    for j, lab in enumerate(b["labels"]):
        by_label.setdefault(lab, []).append(j)
    cand, edges = [], []
    for i, lab in enumerate(a["labels"]):
        c = []
        for j in by_label.get(lab, ()):
            dist = max(abs(ba[4 * i + k] - bb[4 * j + k]) for k in range(4))
            if dist <= tol:
                c.append((dist, abs(sa[i] - sb[j]) if sa is not None else 0.0, j))
        c.sort()
        cand.append([j for _, _, j in c])
        edges += [(dist, ds, i, j) for dist, ds, j in c]
    owner = [-1] * b["n"]
    taken = [False] * a["n"]
    for _, _, i, j in sorted(edges):
        if not taken[i] and owner[j] < 0:
            taken[i], owner[j] = True, i

    def augment(i, seen):
        for j in cand[i]:
            if j in seen:
                continue
            seen.add(j)
            if owner[j] < 0 or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(a["n"]):
        if not taken[i]:
            augment(i, set())
    return sorted((i, j) for j, i in enumerate(owner) if i >= 0)


def det_compare_sets(a, b):
    """{'ref', 'out', 'pairs', 'frac', 'psnr', 'worst'}: detections a (reference) and b as
    matched sets (det_match); psnr the lowest over a's float outputs on the matched rows (None
    without pairs), worst the output that has it."""
    pairs = det_match(a, b)
    n = max(a["n"], b["n"])
    res = {"ref": a["n"], "out": b["n"], "pairs": len(pairs), "frac": len(pairs) / n if n else 1.0,
           "psnr": None, "worst": "", "exchange_rel": det_exchange_rel(a, b, pairs)}
    for f, (ra, k) in a["float"].items():
        if f not in b["float"] or b["float"][f][1] != k or not pairs or not k:
            continue
        rb = b["float"][f][0]
        peak = max(abs(v) for v in ra)
        se = 0.0
        for i, j in pairs:
            for t in range(k):
                e = ra[i * k + t] - rb[j * k + t]
                se += e * e
        mse = se / (len(pairs) * k)
        db = math.inf if mse == 0 else (20 * math.log10(peak / math.sqrt(mse)) if peak else -math.inf)
        if res["psnr"] is None or db < res["psnr"]:
            res["psnr"], res["worst"] = db, f[:-4]
    return res


def det_compare(ref_dir, out_dir):
    """det_compare_sets of two output directories; None when either is not a detection set."""
    a, b = det_outputs(ref_dir), det_outputs(out_dir)
    if a is None or b is None or set(a["float"]) != set(b["float"]):
        return None
    res = det_compare_sets(a, b)
    res["tied_at_cut"] = det_tied_at_cut(a)
    return res


def det_exchange_rel(a, b, pairs):
    """When the detections left unmatched look like tied candidates exchanged (as many on each
    side, every unmatched reference detection's score equal, 1e-6 relative, to another
    reference detection's, as ONNX Runtime computes ties exactly): the largest relative
    distance of an unmatched output score to the nearest unmatched reference score. None
    otherwise (nothing unmatched, a count that differs, an untied detection lost)."""
    scores = [f for f, (_, k) in a["float"].items() if k == 1]
    ua = sorted(set(range(a["n"])) - {i for i, _ in pairs})
    ub = sorted(set(range(b["n"])) - {j for _, j in pairs})
    if len(scores) != 1 or not ua or len(ua) != len(ub):
        return None
    sa, sb = a["float"][scores[0]][0], b["float"][scores[0]][0]
    for i in ua:
        if not any(j != i and abs(sa[j] - sa[i]) <= 1e-6 * abs(sa[i]) for j in range(a["n"])):
            return None
    return max(min(abs(sb[j] - sa[i]) / max(abs(sa[i]), 1e-30) for i in ua) for j in ub)


def det_tied_at_cut(a):
    """How many of a's detections have a score tied (1e-6 relative) with its lowest one: which of
    those a top-k cut keeps is the implementation's choice (shown next to the matched count)."""
    scores = [f for f, (_, k) in a["float"].items() if k == 1]
    if len(scores) != 1 or not a["n"]:
        return 0
    vals = a["float"][scores[0]][0]
    lo = min(vals)
    return sum(1 for v in vals if abs(v - lo) <= 1e-6 * abs(lo))


def det_ok(m, bar):
    """The detection pass bar: DET_MIN_MATCHED of the detections matched and the matched PSNR at
    or above bar (None, no float values to compare, passes: both sides without detections)."""
    return m is not None and m["frac"] >= DET_MIN_MATCHED and (m["psnr"] is None or m["psnr"] >= bar)


def ensure_det_baseline(d):
    """ONNX Runtime's own spread on a detector (cached in d): its outputs with graph
    optimizations disabled (d/ref_noopt, the fp32 baseline) and with every float initializer of
    16+ values rounded to IEEE half and back (d/ref_w16, the fp16 baseline: what rounding the
    weights alone does), each as {'fp32'|'fp16': det_compare against d/ref}. The outputs are
    cached, the comparisons made again each time (the result keeps them as r['ort_self'])."""
    ort = os.path.join(ROOT, "tests/oracle/run_ort.js")
    inputs, ref = os.path.join(d, "inputs"), os.path.join(d, "ref")
    noopt, w16 = os.path.join(d, "ref_noopt"), os.path.join(d, "ref_w16")
    if not os.path.isdir(noopt):
        C.sh(["node", ort, os.path.join(d, "model.onnx"), inputs, noopt + ".tmp",
              "--graph-opt", "disabled"])
        os.replace(noopt + ".tmp", noopt)
    if not os.path.isdir(w16):
        model16 = os.path.join(d, "model_w16.onnx")
        C.sh(["nice", "-n", "5", TORCH_PY, os.path.abspath(__file__), "--round-fp16",
              os.path.join(d, "model.onnx"), model16])
        try:
            C.sh(["node", ort, model16, inputs, w16 + ".tmp"])
        finally:
            os.remove(model16)
        os.replace(w16 + ".tmp", w16)
    return {"fp32": det_compare(ref, noopt), "fp16": det_compare(ref, w16)}


def round_fp16(src, dst):
    """Writes src with every float initializer of 16+ values (weights, not scalar constants such
    as thresholds) rounded to IEEE half and back, in every graph and subgraph (runs under torch's
    Python, which has numpy and onnx)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    def walk(g):
        for t in g.initializer:
            if t.data_type == onnx.TensorProto.FLOAT:
                a = numpy_helper.to_array(t)
                if a.size >= 16:
                    t.CopyFrom(numpy_helper.from_array(a.astype(np.float16).astype(np.float32), t.name))
        for node in g.node:
            for at in node.attribute:
                if at.type == onnx.AttributeProto.GRAPH:
                    walk(at.g)

    m = onnx.load(src)
    walk(m.graph)
    onnx.save(m, dst)


def det_rows(a, keep):
    """a with only the detections keep (indices, in that order)."""
    out = {"n": len(keep), "labels": [a["labels"][i] for i in keep], "boxes": a["boxes"], "float": {}}
    for f, (v, k) in a["float"].items():
        out["float"][f] = (array.array("f", [v[i * k + t] for i in keep for t in range(k)]), k)
    return out


def det_perturbed(a, kind, rng):
    """A copy of detections a broken (or not) the way kind says, for det_self_check."""
    b = det_rows(a, range(a["n"]))
    boxes, scores = b["float"][b["boxes"]][0], [f for f, (_, k) in b["float"].items() if k == 1]
    if kind == "shift 2 px":  # every box 2 px to the right
        for i in range(0, len(boxes), 2):
            boxes[i] += 2.0
    elif kind == "drop 5%":
        gone = set(rng.sample(range(a["n"]), max(1, math.ceil(0.05 * a["n"]))))
        b = det_rows(a, [i for i in range(a["n"]) if i not in gone])
    elif kind == "labels permuted":
        rng.shuffle(b["labels"])
    elif kind == "labels + 1":
        b["labels"] = [lab + 1 for lab in b["labels"]]
    elif kind == "scores 1% off":
        for f in scores:
            v = b["float"][f][0]
            for i in range(len(v)):
                v[i] *= 1.01
    elif kind == "noise 1e-6":  # float noise far below any bar: must pass
        for f, (v, _) in b["float"].items():
            peak = max((abs(x) for x in v), default=0.0)
            for i in range(len(v)):
                v[i] += rng.uniform(-1e-6, 1e-6) * peak
    return b


DET_SELF_CHECKS = [("identical", True), ("noise 1e-6", True), ("shift 2 px", False),
                   ("drop 5%", False), ("labels permuted", False), ("labels + 1", False),
                   ("scores 1% off", False)]


def det_synthetic(rng, n=120, kpts=17, stacked=False):
    """n random detections in a 320x320 image with keypoints (labels 1-90, scores descending).
    stacked: the detections come in threes with one box and one label (boxes clipped to the
    image edge coincide so), which only their scores and keypoints tell apart."""
    boxes, kp = array.array("f"), array.array("f")
    for i in range(n):
        x, y = rng.uniform(0, 280), rng.uniform(0, 280)
        if stacked and i % 3:
            boxes.extend(boxes[-4:])
        else:
            boxes.extend([x, y, x + rng.uniform(4, 40), y + rng.uniform(4, 40)])
        for _ in range(kpts):
            kp.extend([rng.uniform(0, 320), rng.uniform(0, 320), 1.0])
    scores = array.array("f", sorted((rng.uniform(0.05, 1) for _ in range(n)), reverse=True))
    labels = [rng.randint(1, 90) for _ in range(n)]
    if stacked:
        labels = [labels[i - i % 3] for i in range(n)]
    return {"n": n, "labels": labels, "boxes": "boxes.npy",
            "float": {"boxes.npy": (boxes, 4), "scores.npy": (scores, 1), "keypoints.npy": (kp, 3 * kpts)}}


def det_self_check(work=None):
    """The matched-set metric against deliberately perturbed detections: a synthetic set and,
    with work, every cached detection reference in it. Identical and 1e-6-noisy copies must pass
    the fp32 bar; boxes shifted 2 px, 5% of the detections dropped, labels permuted or shifted
    and scores 1% off must fail it (a permutation that changes under 2% of the labels, as in a
    set of one class, is not a perturbation and is skipped). Prints one line per case; returns
    the number of wrong verdicts."""
    import random
    rng = random.Random(16)
    sets = [("synthetic", det_synthetic(rng)), ("stacked", det_synthetic(rng, stacked=True))]
    for name in sorted(os.listdir(work)) if work else []:
        ref = os.path.join(work, name, "ref")
        a = det_outputs(ref) if os.path.isdir(ref) else None
        if a is not None and a["n"]:
            sets.append((name, a))
    wrong = 0
    for name, a in sets:
        for kind, should_pass in DET_SELF_CHECKS:
            b = det_perturbed(a, kind, rng)
            if kind == "labels permuted" and \
                    sum(x != y for x, y in zip(a["labels"], b["labels"])) < 0.02 * a["n"]:
                print(f"{name}: {kind}: skipped (under 2% of the labels change)")
                continue
            m = det_compare_sets(a, b)
            ok = det_ok(m, BAR_FP32)
            wrong += ok != should_pass
            print(f"{name}: {kind}: {fmt_matched(m)} ({m['frac']:.3f}): {'pass' if ok else 'fail'}"
                  + ("" if ok == should_pass else "  <-- WRONG"))
    return wrong


def compare_outputs(ref_dir, out_dir):
    """{'psnr': lowest dB over float outputs, 'max_err': largest |a-b|, 'note': ...}."""
    worst, max_err, notes = None, 0.0, []
    for name in sorted(os.listdir(ref_dir)):
        if not name.endswith(".npy"):
            continue
        got = os.path.join(out_dir, name)
        if not os.path.exists(got):
            notes.append(f"{name} missing")
            continue
        (kr, r), (kg, g) = read_npy(os.path.join(ref_dir, name)), read_npy(got)
        if kr != kg or len(r) != len(g):
            notes.append(f"{name[:-4]} differs in type or size")
            continue
        if kr == "raw":
            if r != g:
                notes.append(f"{name[:-4]} (non-float) differs")
            continue
        if not r:
            continue
        peak = max(abs(v) for v in r)
        se, me = 0.0, 0.0
        for a, b in zip(r, g):
            e = abs(a - b)
            se += e * e
            me = e if e > me else me
        mse = se / len(r)
        db = math.inf if mse == 0 else (20 * math.log10(peak / math.sqrt(mse)) if peak else -math.inf)
        worst = db if worst is None else min(worst, db)
        max_err = max(max_err, me)
    return {"psnr": worst, "max_err": max_err, "note": "; ".join(notes)}


def af_env():
    return dict(os.environ, OPENBLAS_NUM_THREADS="1")


def check_bundle(af, d, name, compress, work, ref, family=None):
    try:
        bundle = C.convert(af, d, name, compress, work)
    except subprocess.CalledProcessError as e:
        return None, {"error": first_line(e.stderr)}
    out = os.path.join(work, "af_out", f"{name}.{compress}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    try:
        subprocess.run([af, "run", bundle, "--inputs", os.path.join(d, "inputs"), "--outputs", out,
                        "--threads", "1"], check=True, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=af_env())
    except subprocess.CalledProcessError as e:
        return bundle, {"error": "run: " + first_line(e.stderr)}
    if family in ("detection", "keypoint"):
        res = compare_detections(ref, out, os.path.join(work, "af_out"))
        res["matched"] = det_compare(ref, out)
        return bundle, res
    return bundle, compare_outputs(ref, out)


def time_model(af, bundle, d, args, est_ms):
    heavy = est_ms > args.heavy_ms
    ns = types.SimpleNamespace(rounds=1 if heavy else args.rounds,
                               runs=3 if heavy else max(3, min(args.runs, int(2000 / max(est_ms, 1)))),
                               work=args.work)
    res = {"rounds": ns.rounds, "runs": ns.runs}
    for t in args.threads:
        rows = C.measure(af, bundle, d, ns, t)
        a, o = rows["af"], rows["ort"]
        res[str(t)] = {
            "af_ms": C.med(a, "run_ms_median"), "ort_ms": C.med(o, "run_ms_median"),
            "af_min": min(r["run_ms_min"] for r in a), "ort_min": min(r["run_ms_min"] for r in o),
            "af_rss": C.med(a, "peak_rss_kb"), "ort_rss": C.med(o, "peak_rss_kb")}
    return res


def load_result(args, name):
    path = os.path.join(args.results, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def save_result(args, r):
    path = os.path.join(args.results, r["name"] + ".json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(r, f, indent=1)
    os.replace(path + ".tmp", path)


def drop_bundles(args, name):
    for c in ("fp32", "fp16"):
        b = os.path.join(args.work, f"{name}.{c}.afb")
        if not args.keep_bundles and os.path.exists(b):
            os.remove(b)


def check_model(af, name, family, args):
    """Export, ONNX Runtime reference, fp32 and fp16 conversion and accuracy: a result dict."""
    r = {"name": name, "family": family, "inputs": input_shapes(name, family),
         "label": args.label, "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    d, why = ensure_export(args.work, name, family, args.export_timeout)
    if d is None:
        r.update(status="export", error=why)
        return r
    try:
        ref, est = ensure_reference(d)
    except subprocess.CalledProcessError as e:
        r.update(status="ort", error=first_line(e.stderr))
        return r
    _, r["fp32"] = check_bundle(af, d, name, "fp32", args.work, ref, family)
    _, r["fp16"] = check_bundle(af, d, name, "fp16", args.work, ref, family)
    if family in ("detection", "keypoint") and "error" not in r["fp32"]:
        try:
            r["ort_self"] = ensure_det_baseline(d)
        except (subprocess.CalledProcessError, OSError) as e:
            r["ort_self_error"] = first_line(getattr(e, "stderr", "") or str(e))
    err = r["fp32"].get("error", "")
    r["status"] = "ok" if not err else "run" if err.startswith("run: ") else "convert"
    r["ort_ms_est"] = est
    return r


def time_result(af, r, args):
    """Adds the alternating timing to a checked result (the fp32 bundle made again if gone)."""
    d = os.path.join(args.work, r["name"])
    try:
        bundle = C.convert(af, d, r["name"], "fp32", args.work)
        r["timing"] = time_model(af, bundle, d, args, r["ort_ms_est"])
        r["timing_label"] = args.label
    except (subprocess.CalledProcessError, OSError) as e:
        r["timing_error"] = first_line(getattr(e, "stderr", "") or str(e))


def process(af, name, family, args, deadline):
    """The model's result: cached, or made now (checked unless --time-only; timed unless
    --no-time), and whether it was made now. None when there is nothing yet and no time or
    nothing to do."""
    old = None if args.redo else load_result(args, name)
    if old is None and args.not_run.get(name):
        return {"name": name, "family": family, "inputs": input_shapes(name, family),
                "status": "skip", "error": args.not_run[name]}, False
    if args.cached_only:
        return old, False
    stale = old and args.retime and old.get("timing_label", old.get("label")) != args.label
    if old and (args.no_time or (old.get("timing") and not stale) or old.get("status") != "ok"):
        return old, False
    if time.time() > deadline or (args.time_only and not old):
        return old, False
    r = old or check_model(af, name, family, args)
    if r["status"] == "ok" and not args.no_time:
        time_result(af, r, args)
    drop_bundles(args, name)
    save_result(args, r)
    return r, True


# ------------------------------------------------------------------ Markdown

def fmt_db(c):
    if not c:
        return "—"
    if "error" in c:
        return "fails"
    if c.get("note"):
        return c["note"]
    p = c["psnr"]
    return "—" if p is None else ("exact" if p == math.inf else f"{p:.1f}")


def fmt_matched(m):
    """'pairs/detections at PSNR' of a det_compare result."""
    if m is None:
        return "not a detection set"
    if not m["ref"] and not m["out"]:
        return "no detections (0 = 0)"
    p = m["psnr"]
    return (f"{m['pairs']}/{max(m['ref'], m['out'])} at "
            + ("—" if p is None else "exact" if p == math.inf else f"{p:.1f}"))


def det_verdict(r, key):
    """'pass', 'FAIL' or 'undecided' for a detector's fp32 or fp16 check: undecided when it
    fails the bar and ONNX Runtime against itself (its r['ort_self'] baseline) fails it too.
    Tied candidates exchanged (det_exchange_rel) are shown, not excused: on a reference whose
    scores all tie (Keypoint R-CNN's three of 1.0) broken boxes would look the same."""
    c, bar = r.get(key), BAR_FP32 if key == "fp32" else BAR_FP16
    if not c or "error" in c:
        return "FAIL"
    if det_ok(c.get("matched"), bar):
        return "pass"
    base = (r.get("ort_self") or {}).get(key)
    return "undecided" if base is not None and not det_ok(base, bar) else "FAIL"


def fmt_det(r, key):
    """A detector's cell: raw element-wise PSNR (or what differs), the matched-set figures, the
    verdict, and for an undecided one ONNX Runtime's own figures."""
    c = r.get(key)
    if not c or "error" in c or "matched" not in c:
        return fmt_db(c)
    note = c.get("note", "")
    raw = ("count differs" if "type or size" in note else "labels differ" if "non-float" in note
           else note) if note else fmt_db(c)
    v = det_verdict(r, key)
    m = c["matched"]
    tied = f", {m['tied_at_cut']} tied at the cut" if m and m.get("tied_at_cut", 0) > 1 else ""
    cell = f"raw {raw}; matched {fmt_matched(m)}{tied}: **{v}**"
    x = m.get("exchange_rel") if m else None
    if v == "undecided":
        cell += f" (ORT vs itself {fmt_matched(r['ort_self'][key])})"
    elif x is not None and x <= DET_TIE_REL[key]:
        cell += (f" (the {max(m['ref'], m['out']) - m['pairs']} unmatched look like exactly tied "
                 f"candidates exchanged: scores within {x:.0e})")
    return cell


def ratio(t, k):
    if not t or k not in t:
        return None
    return t[k]["af_ms"] / t[k]["ort_ms"]


def row(r, threads):
    name = r["name"]
    shape = "+".join("×".join(map(str, s)) for s in r["inputs"])
    if r["status"] == "skip":
        return f"| {name} | {shape} | not run: {r['error']} | — | — | — |" + " — |" * (len(threads) + 1)
    if r["status"] == "export":
        return f"| {name} | {shape} | no: {r['error']} | — | — | — |" + " — |" * (len(threads) + 1)
    if r["status"] == "ort":
        return f"| {name} | {shape} | yes (ONNX Runtime fails: {r['error']}) | — | — | — |" + \
            " — |" * (len(threads) + 1)
    if r["status"] == "convert":
        return f"| {name} | {shape} | yes | no: {r['fp32']['error']} | — | — |" + " — |" * (len(threads) + 1)
    if r["status"] == "run":
        return f"| {name} | {shape} | yes | yes, but {r['fp32']['error']} | — | — |" + " — |" * (len(threads) + 1)
    t = r.get("timing")
    fmt = fmt_det if r["family"] in ("detection", "keypoint") else lambda r, k: fmt_db(r[k])
    cells = [name, shape, "yes", "yes", fmt(r, "fp32"), fmt(r, "fp16")]
    if not t and r.get("timing_error"):
        cells.append(f"timing failed: {r['timing_error']}")
        cells += ["—"] * len(threads)
        return "| " + " | ".join(cells) + " |"
    if not t:
        return "| " + " | ".join(cells + ["not timed"] * (len(threads) + 1)) + " |"
    for k in map(str, threads):
        if k not in t:
            cells.append("—")
            continue
        x = t[k]
        cells.append(f"**{x['af_ms'] / x['ort_ms']:.2f}** ({x['af_ms']:.1f}/{x['ort_ms']:.1f}; "
                     f"min {x['af_min'] / x['ort_min']:.2f})")
    k = str(threads[0])
    cells.append(f"{t[k]['af_rss'] / t[k]['ort_rss']:.2f}" if t and k in t else "—")
    return "| " + " | ".join(cells) + " |"


BAR_FP32, BAR_FP16 = 80.0, 50.0  # issue 16's accuracy bars against ONNX Runtime


def meets_bars(r):
    """fp32 and fp16 PSNR at or above the bars (exact counts; integer-only outputs must match);
    detectors: the matched-set bars (det_verdict)."""
    if r["status"] == "ok" and "matched" in r.get("fp32", {}):
        return det_verdict(r, "fp32") == "pass" and det_verdict(r, "fp16") == "pass"

    def ok(c, bar):
        return c and "error" not in c and not c.get("note") and \
            (c.get("psnr") is None or c["psnr"] >= bar)
    return r["status"] == "ok" and ok(r.get("fp32"), BAR_FP32) and ok(r.get("fp16"), BAR_FP16)


def gm(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summary(results, threads):
    lines = []
    conv = [r for r in results if r["status"] == "ok"]
    runs = [r for r in results if r["status"] == "run"]
    skipped = [r for r in results if r["status"] == "skip"]
    exported = [r for r in results if r["status"] not in ("export", "skip")]
    good = [r for r in conv if meets_bars(r)]
    lines.append(f"- {len(results)} models, {len(skipped)} not run (size or unsupported family, "
                 f"see the tables): {len(exported)} export, {len(conv)} convert "
                 f"(fp32), {len(runs)} convert but fail to run, {sum(1 for r in exported if r['status'] == 'ort')} that ONNX Runtime "
                 f"cannot run; {len(good)} meet fp32 ≥ {BAR_FP32:g} dB and fp16 ≥ {BAR_FP16:g} dB; "
                 f"{sum(1 for r in conv if r.get('timing'))} timed.")
    for fam in FAMILIES:
        fr = [r for r in results if r["family"] == fam]
        if not fr:
            continue
        ex = [r for r in fr if r["status"] not in ("export", "skip")]
        ok = [r for r in fr if r["status"] == "ok"]
        nr = sum(1 for r in fr if r["status"] == "skip")
        p32 = [r["fp32"]["psnr"] for r in ok if r["fp32"].get("psnr") is not None]
        p16 = [r["fp16"]["psnr"] for r in ok if r["fp16"].get("psnr") is not None]
        lines.append(f"- {fam}: {len(fr)} models" + (f", {nr} not run" if nr else "")
                     + f", {len(ex)} export, {len(ok)} convert, "
                     f"{sum(1 for r in ok if meets_bars(r))} meet the bars"
                     + (f" ({sum(1 for r in ok if not meets_bars(r) and 'FAIL' not in (det_verdict(r, 'fp32'), det_verdict(r, 'fp16')))} "
                        "more undecided: ONNX Runtime differs from itself as much)"
                        if fam in ("detection", "keypoint") else "")
                     + (f"; lowest PSNR fp32 {db(min(p32))}" if p32 else "")
                     + (f", fp16 {db(min(p16))}" if p16 else "") + ".")
    for k in map(str, threads):
        rs = [(ratio(r.get("timing"), k), r["name"]) for r in conv if ratio(r.get("timing"), k)]
        mins = [(r["timing"][k]["af_min"] / r["timing"][k]["ort_min"], r["name"]) for r in conv
                if r.get("timing") and k in r["timing"]]
        if rs:
            worst, wmin = max(rs), max(mins)
            lines.append(f"- latency ratio at {k} thread(s), geometric mean over {len(rs)} timed "
                         f"models: **{gm([x for x, _ in rs]):.2f}** (medians), worst "
                         f"**{worst[0]:.2f}** ({worst[1]}), best {min(rs)[0]:.2f} ({min(rs)[1]}); "
                         f"{sum(1 for x, _ in rs if x > 1.3)} above 1.3. Fastest runs: geometric "
                         f"mean {gm([x for x, _ in mins]):.2f}, worst {wmin[0]:.2f} ({wmin[1]}).")
    k = str(threads[0])
    rss = [(r["timing"][k]["af_rss"] / r["timing"][k]["ort_rss"], r["name"]) for r in conv
           if r.get("timing") and k in r["timing"]]
    if rss:
        lines.append(f"- peak RSS ratio (fp32 bundles, {k} thread): geometric mean "
                     f"{gm([x for x, _ in rss]):.2f}, worst {max(rss)[0]:.2f} ({max(rss)[1]}); "
                     f"{sum(1 for x, _ in rss if x > 1)} above 1.")
    return lines


def machine():
    """This machine as /proc/cpuinfo names it: cores, model name, family/model, SIMD flags."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return "unknown"
    def field(k):
        for line in info.splitlines():
            if line.split(":")[0].strip() == k:
                return line.split(":", 1)[1].strip()
        return "?"
    flags = set(field("flags").split())
    simd = [n for f, n in (("avx512f", "AVX-512"), ("avx512_vnni", "VNNI"), ("avx512_fp16", "AVX512-FP16"),
                           ("amx_tile", "AMX"), ("avx2", "AVX2"), ("fma", "FMA"), ("f16c", "F16C"),
                           ("asimd", "NEON")) if f in flags]
    cores = info.count("processor\t:") or os.cpu_count()
    return (f"{cores}-core {field('model name')} (family {field('cpu family')} model "
            f"{field('model')}; {', '.join(simd)})")


def db(x):
    """A PSNR for the summary: "exact" when the outputs were equal (infinite)."""
    return "exact" if math.isinf(x) else f"{x:.1f} dB"


def write_doc(path, results, args, started):
    threads = args.threads
    head = ("| model | input | exports | converts | fp32 PSNR dB | fp16 PSNR dB | "
            + " | ".join(f"latency {t} thr (af/ORT ms)" for t in threads) + " | peak RSS ratio |")
    with open(path, "w") as f:
        cmd = args.doc_note or "`" + " ".join(["python3", "bench/zoo.py"] + sys.argv[1:]) + "`"
        f.write(DOC_HEAD.format(cmd=cmd, date=started, machine=machine(),
                                det_evidence=DET_BASELINE_DOC.replace("\n", "\n  ")))
        labels = sorted({r["label"] for r in results if r.get("label")})
        f.write("Measured with aneforge " + ", ".join(f"`{x}`" for x in labels) + " (per model: "
                "the results' `label`).\n\n")
        f.write("## Summary\n\n" + "\n".join(summary(results, threads)) + "\n\n")
        for fam in FAMILIES:
            fr = sorted((r for r in results if r["family"] == fam), key=lambda r: r["name"])
            if not fr:
                continue
            f.write(f"## {fam.replace('_', ' ').capitalize()}\n\n{head}\n|---|---|---|---|---:|---:|"
                    + "---:|" * (len(threads) + 1) + "\n")
            for r in fr:
                f.write(row(r, threads) + "\n")
            f.write("\n")
        missing = [n for n, _ in args.all_models if n not in {r["name"] for r in results}]
        if missing:
            f.write("Not yet measured (time budget): " + ", ".join(missing) + ".\n")


DOC_HEAD = """# Model zoo: torchvision's architectures against ONNX Runtime

Generated by `bench/zoo.py` (do not edit by hand): every architecture torchvision 0.14's
`list_models()` offers, exported with seeded random weights (non-trivial BatchNorm statistics,
BatchNormalization kept in the file; detectors' layers scaled to unit output variance on their
input, so that their scores depend on the image), converted by aneforge with `--compress fp32` and `fp16`,
run on the same seeded input as ONNX Runtime 1.30 (npm `onnxruntime-node`, the reference) and
timed side by side with the alternating method of `bench/compare.py`
([performance.md](performance.md)). How each figure is made is in the script's docstring.

- **exports**: torch 1.13's ONNX exporter (opset 13; 16 for optical flow) made a file; else its
  first error line. **converts**: `aneforge convert --compress fp32` succeeded; else its first
  error line.
- **PSNR** = 20·log10(max|ref|/RMSE) of aneforge's output against ONNX Runtime's, the lowest over
  float outputs ("exact" when equal); integer outputs must be equal.
- **Detection and keypoint** cells: "raw" is that element-wise PSNR (with equal-scored
  detections put in the reference's order), or what differs ("labels differ", "count differs").
  A detector's outputs are a set, so they are also compared as one: each of ONNX Runtime's
  detections matched one-to-one to one of aneforge's with the same label and every box
  coordinate within 1 px (the input's pixel; boxes are in input pixels), "matched P/N at D" =
  P pairs of N = the larger count, D the lowest PSNR over the matched pairs of scores, boxes,
  keypoints and masks. **pass**: P/N ≥ 99% and D ≥ 80 dB (fp32) / 50 dB (fp16); **undecided**:
  it misses that and so does ONNX Runtime against itself (fp32: graph optimizations disabled;
  fp16: its weights rounded to half, what `--compress fp16` stores), figures in brackets: where
  scores lie close together, which candidates survive NMS and the top-k cut moves with the
  rounding, and which ones then is not a fault; "N tied at the cut" counts reference detections
  whose score equals the lowest kept one (torch's own initialisation, before the unit-variance
  scaling, made RetinaNet's 300 kept scores all exactly 1.0). **FAIL** otherwise; a FAIL whose unmatched detections look like exactly
  tied candidates exchanged (as many each side, the reference's scores tied, aneforge's within
  1e-5 of them) says so, without excusing it (on a reference whose scores all tie, broken
  boxes would look the same). Why these bars, and the metric failing boxes moved 2 px,
  5% of the detections dropped or labels permuted: {det_evidence}
- **latency**: aneforge / ONNX Runtime, median over the alternating rounds of each process's
  median run (below 1: aneforge faster); in brackets both medians in ms and the ratio of the
  fastest runs. Heavy models (ONNX Runtime above 500 ms per run) were timed with one round of
  3 runs. **peak RSS ratio**: process peak RSS, aneforge (fp32 bundle) / ONNX Runtime (node
  included, ~45 MiB).
- **not run**: not exported nor checked, with the reason: models above 250 M parameters (the cost of
  one export on the shared machine) and MViT (torch's export needs over 10 GB of RAM). **not timed**: checked, not yet timed.
- torchvision zero-initialises some classifier heads (ViT's): with the seeded biases their
  output does not depend on the input, so their PSNR can be exact; the timing is unaffected.
- Inputs (batch 1): classification, segmentation and quantized 3×224×224 (Inception-v3 299),
  detection and keypoint one 3×320×320 image in [0, 1) (models built with min/max size 320),
  video 3×16×112×112 (S3D and MViT 3×16×224×224), optical flow two 3×128×128 images.

Machine: {machine}, shared with other jobs, so single figures are noisy; the alternating rounds
keep ratios fair. Written {date}.

{cmd}

"""


def report(r, args):
    t = r.get("timing", {}).get(str(args.threads[0]))
    print(f"{r['name']} [{r['family']}]: {r['status']}"
          + (f" {r['error']}" if r.get("error") else "")
          + (f" fp32 {fmt_db(r['fp32'])} fp16 {fmt_db(r['fp16'])}" if "fp32" in r else "")
          + (f" | fp32 {fmt_det(r, 'fp32')} | fp16 {fmt_det(r, 'fp16')}"
             if "matched" in r.get("fp32", {}) else "")
          + (f" ratio {t['af_ms'] / t['ort_ms']:.2f}" if t else ""), flush=True)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--export-one":
        export_one(*sys.argv[2:5])
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "--export-ahead":
        export_ahead(sys.argv[2], sys.argv[3].split(",") if len(sys.argv) > 3 else FAMILIES,
                     int(sys.argv[4]) if len(sys.argv) > 4 else 900)
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "--self-check":
        sys.exit(1 if det_self_check(sys.argv[2] if len(sys.argv) > 2 else None) else 0)
    if len(sys.argv) >= 2 and sys.argv[1] == "--round-fp16":
        round_fp16(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "--list-torch":
        list_models_torch()
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default="/tmp/af-zoo")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--models", default="", help="comma-separated names (default: all)")
    ap.add_argument("--threads", type=C.thread_counts, default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--heavy-ms", type=float, default=500.0)
    ap.add_argument("--budget", type=float, default=0, help="minutes; 0: no limit")
    ap.add_argument("--export-timeout", type=int, default=900)
    ap.add_argument("--no-time", action="store_true", help="export, convert and check only")
    ap.add_argument("--time-only", action="store_true",
                    help="only time models a --no-time run has checked (waits for them)")
    ap.add_argument("--doc", default="", help="write the Markdown table here")
    ap.add_argument("--redo", action="store_true", help="measure again models with a result")
    ap.add_argument("--retime", action="store_true",
                    help="time again models timed with another --label (checks kept)")
    ap.add_argument("--keep-bundles", action="store_true", help="keep WORK/NAME.*.afb")
    ap.add_argument("--max-params", type=float, default=MAX_PARAMS_M,
                    help="millions; larger models are listed as not run (0: no limit)")
    ap.add_argument("--run-all", action="store_true",
                    help="also run the not-run families (detection, keypoint) and large models")
    ap.add_argument("--cached-only", action="store_true",
                    help="run nothing: report (and --doc) the cached results")
    ap.add_argument("--results", default="",
                    help="the per-model results (default: WORK/results); bench/zoo-results holds "
                         "those docs/model-zoo.md was written from")
    ap.add_argument("--label", default="", help="what was measured (default: git HEAD)")
    ap.add_argument("--doc-note", default="", help="Markdown for the doc's how-it-was-run line")
    args = ap.parse_args()
    af = os.path.join(args.build, "bin", "aneforge")
    if not args.label:
        args.label = C.sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    os.makedirs(args.work, exist_ok=True)
    args.results = args.results or os.path.join(args.work, "results")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    deadline = time.time() + args.budget * 60 if args.budget > 0 else math.inf
    fams = args.families.split(",")
    want = set(args.models.split(",")) if args.models else None
    args.all_models = [(n, f) for n, f in zoo_list(args.work, args.results)
                       if f in fams and (want is None or n in want)]
    params = list_cache(args.work, args.results)[1]
    args.not_run = {n: not_run_reason(n, f, params, args) for n, f in args.all_models}
    results = []
    while True:
        results, waiting = [], 0
        for name, family in args.all_models:
            r, fresh = process(af, name, family, args, deadline)
            waiting += args.time_only and (r is None or (r["status"] == "ok" and (
                "timing" not in r or (args.retime and r.get("timing_label") != args.label))))
            if r is not None:
                results.append(r)
            if fresh:
                report(r, args)
        # --time-only follows a --no-time run in another process: wait for its results
        if not (args.time_only and waiting and time.time() < deadline):
            break
        time.sleep(30)
    if args.doc:
        write_doc(args.doc, results, args, started)
    for line in summary(results, args.threads):
        print(line)


if __name__ == "__main__":
    main()

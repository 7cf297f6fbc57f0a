#!/usr/bin/env python3
"""aneforge vs ONNX Runtime, side by side on the same models, inputs and thread count.

  python3 bench/compare.py [--build build] [--work /tmp/af-bench] [--threads 1] [--rounds 5]
                           [--runs 10] [--compress fp32] [--models resnet18,...] [--no-rss]

For each model: export it if missing (torchvision classifiers via models/export_torchvision.py,
the SD ResnetBlock2D 320x64x64 via models/make_sd_blocks.py --full; both need Debian's
python3-torch), convert it, then for --rounds rounds run `aneforge bench --json` and
`node tests/oracle/run_ort.js --bench --json` (onnxruntime-node, npm install --ignore-scripts),
alternating which goes first. Each run is a fresh process: it times open -> ready (aneforge:
bundle open + session create; ONNX Runtime: InferenceSession.create), one warm-up run, then
--runs timed runs (median), and reports its peak RSS. The table shows the median over rounds of
each figure and the ratio aneforge / ONNX Runtime (< 1: aneforge is faster / smaller).
Then the footprint row: ResNet-50 as an int4 bundle run with --stream-weights, against ONNX
Runtime's peak RSS on the fp32 model.
Standard library only; prints Markdown (docs/performance.md holds a copy of a run).
"""
import argparse
import json
import math
import os
import statistics
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PY = "/usr/bin/python3"
TORCHVISION = ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "squeezenet1_1"]
SD = {"sd_resnet": "ResnetBlock2D 320x64x64"}
DEFAULT_MODELS = TORCHVISION + list(SD)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw).stdout


def ensure_model(work, name):
    """Exports the model into work/name (model.onnx, inputs/) unless it is there."""
    d = os.path.join(work, name)
    if os.path.exists(os.path.join(d, "model.onnx")):
        return d
    if name in SD:
        sh([TORCH_PY, os.path.join(ROOT, "models/make_sd_blocks.py"), "--full", work, name])
    else:
        sh([TORCH_PY, os.path.join(ROOT, "models/export_torchvision.py"), work, name])
    return d


def convert(af, d, name, compress, work):
    out = os.path.join(work, f"{name}.{compress}.afb")
    # made again whenever the converter is newer: lowering changes what a bundle holds
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(af):
        sh([af, "convert", os.path.join(d, "model.onnx"), "-o", out, "--compress", compress, "-q"])
    return out


def run_af(af, bundle, inputs, threads, runs, stream=False):
    cmd = [af, "bench", bundle, "--inputs", inputs, "--threads", str(threads), "--runs",
           str(runs), "--json"] + (["--stream-weights"] if stream else [])
    # The runtime keeps BLAS on one thread anyway; without this, the worker OpenBLAS starts at
    # load spins (sched_yield) for ~0.1 s and takes the core our own pool needs.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return json.loads(sh(cmd, env=env))


def run_ort(model_dir, threads, runs, work):
    out = os.path.join(work, "ort_out")
    cmd = ["node", os.path.join(ROOT, "tests/oracle/run_ort.js"),
           os.path.join(model_dir, "model.onnx"), os.path.join(model_dir, "inputs"), out,
           "--threads", str(threads), "--bench", str(runs), "--json"]
    return json.loads(sh(cmd).strip().splitlines()[-1])


def measure(af, bundle, model_dir, args, stream=False):
    """Alternating rounds; returns per-side lists of the per-process figures."""
    rows = {"af": [], "ort": []}
    inputs = os.path.join(model_dir, "inputs")
    for r in range(args.rounds):
        order = ("af", "ort") if r % 2 == 0 else ("ort", "af")
        for side in order:
            if side == "af":
                rows["af"].append(run_af(af, bundle, inputs, args.threads, args.runs, stream))
            else:
                rows["ort"].append(run_ort(model_dir, args.threads, args.runs, args.work))
    return rows


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def stripped_size(build):
    """Bytes of the stripped shared runtime library (libaneforge_rt.so), or None."""
    lib = os.path.join(build, "libaneforge_rt.so")
    if not os.path.exists(lib) or not shutil.which("strip"):
        return None
    with tempfile.TemporaryDirectory() as t:
        copy = os.path.join(t, "rt.so")
        shutil.copy(os.path.realpath(lib), copy)
        sh(["strip", copy])
        return os.path.getsize(copy)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default="/tmp/af-bench")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--compress", default="fp32")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--no-rss", action="store_true", help="skip the int4 streamed ResNet-50 row")
    args = ap.parse_args()
    af = os.path.join(args.build, "bin", "aneforge")
    os.makedirs(args.work, exist_ok=True)

    print(f"threads {args.threads}, {args.rounds} alternating rounds x {args.runs} timed runs, "
          f"aneforge bundles --compress {args.compress}\n")
    print("| model | aneforge ms | ORT ms | latency ratio | aneforge open→ready ms | "
          "ORT session ms | cold-start ratio | aneforge RSS MiB | ORT RSS MiB | RSS ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for name in args.models.split(","):
        try:
            d = ensure_model(args.work, name)
            bundle = convert(af, d, name, args.compress, args.work)
            rows = measure(af, bundle, d, args)
        except (subprocess.CalledProcessError, OSError) as e:
            err = getattr(e, "stderr", "") or str(e)
            print(f"| {name} | pending: {err.strip().splitlines()[-1] if err.strip() else e} |")
            continue
        a, o = rows["af"], rows["ort"]
        lat = med(a, "run_ms_median") / med(o, "run_ms_median")
        ratios.append(lat)
        label = f"{name} ({SD[name]})" if name in SD else name
        print(f"| {label} | {med(a, 'run_ms_median'):.2f} | {med(o, 'run_ms_median'):.2f} | "
              f"**{lat:.2f}** | {med(a, 'load_ms'):.1f} | {med(o, 'load_ms'):.1f} | "
              f"{med(a, 'load_ms') / med(o, 'load_ms'):.3f} | {med(a, 'peak_rss_kb') / 1024:.0f} | "
              f"{med(o, 'peak_rss_kb') / 1024:.0f} | "
              f"{med(a, 'peak_rss_kb') / med(o, 'peak_rss_kb'):.2f} |")
        sys.stdout.flush()
    if ratios:
        gm = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"\nlatency ratio, geometric mean over {len(ratios)} models: **{gm:.2f}** "
              f"(max {max(ratios):.2f})")
    size = stripped_size(args.build)
    if size:
        blas = "yes" if "openblas" in sh(["ldd", os.path.join(args.build, "libaneforge_rt.so")]) else "no"
        print(f"\nlibaneforge_rt.so stripped: {size / 1024:.0f} KiB (links OpenBLAS: {blas})")
    if args.no_rss:
        return
    try:
        d = ensure_model(args.work, "resnet50")
        bundle = convert(af, d, "resnet50", "int4", args.work)
        rows = measure(af, bundle, d, args, stream=True)
    except (subprocess.CalledProcessError, OSError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"\nint4 --stream-weights ResNet-50: pending ({err.strip()})")
        return
    a, o = rows["af"], rows["ort"]
    print(f"\nResNet-50, int4 bundle ({os.path.getsize(bundle) / 2**20:.1f} MiB) with "
          f"--stream-weights: peak RSS {med(a, 'peak_rss_kb') / 1024:.0f} MiB vs ONNX Runtime "
          f"{med(o, 'peak_rss_kb') / 1024:.0f} MiB: ratio **{med(a, 'peak_rss_kb') / med(o, 'peak_rss_kb'):.2f}**"
          f" (latency {med(a, 'run_ms_median'):.1f} ms vs {med(o, 'run_ms_median'):.1f} ms)")


if __name__ == "__main__":
    main()
